use serde_json::{Value, json};
use tenax_sim::VmRole;

use crate::{Client, cfg, start};

#[tokio::test]
async fn missing_and_wrong_keys_are_401() {
    let sim = start(cfg(1, 20)).await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/server/properties", sim.vm_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v,
        json!({"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"})
    );

    let bad = Client::with_keys(&sim, "accessKey=nope; secretKey=nope;");
    let (code, v) = bad.get_json("/vulns/export/status").await;
    assert_eq!(code, 401);
    assert_eq!(
        v,
        json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid credentials."})
    );
    let (a, _) = sim.vm_keys();
    let wrong_secret = Client::with_keys(&sim, &format!("accessKey={a}; secretKey=x"));
    assert_eq!(wrong_secret.get_json("/server/properties").await.0, 401);

    // /server/status needs no key.
    let r = http
        .get(format!("{}/server/status", sim.vm_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"code": 200, "status": "ready"})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn header_parsing_is_lenient() {
    let sim = start(cfg(1, 20)).await;
    let (a, s) = sim.vm_keys();
    for header in [
        format!("accessKey={a}; secretKey={s};"),
        format!("accessKey={a};secretKey={s}"),
        format!("  secretKey = {s} ;; accessKey={a}  "),
    ] {
        let c = Client::with_keys(&sim, &header);
        let (code, v) = c.get_json("/server/properties").await;
        assert_eq!(code, 200, "{header}");
        assert!(v["server_version"].is_string());
        assert!(v["license"].is_object());
    }
    // Header name is case-insensitive.
    let r = reqwest::Client::new()
        .get(format!("{}/session", sim.vm_url()))
        .header("x-apikeys", format!("accessKey={a}; secretKey={s}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.expect("json")["permissions"], 64);
    sim.shutdown().await;
}

#[tokio::test]
async fn roles() {
    let sim = start(cfg(1, 20)).await;
    sim.add_vm_key("basic-a", "basic-s", VmRole::Basic);
    sim.add_vm_key("ro-a", "ro-s", VmRole::NoExport);
    let basic = Client::with_keys(&sim, "accessKey=basic-a; secretKey=basic-s");
    assert_eq!(basic.get_json("/session").await.1["permissions"], 16);
    assert_eq!(basic.get_json("/vulns/export/status").await.0, 200);
    basic.create("vulns", &json!({})).await;

    let ro = Client::with_keys(&sim, "accessKey=ro-a; secretKey=ro-s");
    assert_eq!(ro.get_json("/server/properties").await.0, 200);
    let forbidden =
        json!({"statusCode": 403, "error": "Forbidden", "message": "Insufficient scope"});
    for path in ["/vulns/export/status", "/assets/export/status"] {
        assert_eq!(ro.get_json(path).await, (403, forbidden.clone()), "{path}");
    }
    let r = ro.post("/vulns/export", &json!({})).await;
    assert_eq!(r.status(), 403);
    let r = ro.post("/assets/export", &json!({"chunk_size": 100})).await;
    assert_eq!(r.status(), 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_bodies_are_400_json() {
    let sim = start(cfg(1, 20)).await;
    let c = Client::new(&sim);
    let r = c
        .http
        .post(format!("{}/vulns/export", c.base))
        .header("X-ApiKeys", &c.keys)
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("json error body");
    assert_eq!(v["statusCode"], 400);
    for body in [
        json!({"filters": {"state": ["BOGUS"]}}),
        json!({"num_assets": "many"}),
        json!({"filters": {"since": "yesterday"}}),
        json!([1, 2]),
    ] {
        let r = c.post("/vulns/export", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert!(r.json::<Value>().await.expect("json")["message"].is_string());
    }
    for size in [json!(99), json!(10_001), json!("x"), Value::Null] {
        let r = c.post("/assets/export", &json!({"chunk_size": size})).await;
        assert_eq!(r.status(), 400, "{size}");
        assert_eq!(
            r.json::<Value>().await.expect("json")["error"],
            "Bad Request"
        );
    }
    // Unknown paths and ids are JSON 404s.
    assert_eq!(c.get_json("/nope").await.0, 404);
    assert_eq!(c.get_json("/vulns/export/not-a-uuid/status").await.0, 404);
    let r = c.get("/vulns/export/not-a-uuid/chunks/abc").await;
    assert_eq!(r.status(), 404);
    sim.shutdown().await;
}
