//! OT Security: HTTPS with the test CA, API key, GraphQL paging/projection/errors, robots
//! over mutual TLS, plugin_hits, faults, mutation, recorded files. Driven with plain
//! reqwest as a user would.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::{Value, json};
use tenax_sim::{OtOptions, ServerCertMode, Sim, SimConfig};

fn ot_cfg(seed: u64, ot: OtOptions) -> SimConfig {
    SimConfig {
        seed,
        assets: 10,
        ot,
        ..SimConfig::default()
    }
}

async fn start_ot(ot: OtOptions) -> Sim {
    Sim::start(ot_cfg(11, ot)).await.expect("simulator starts")
}

fn builder(sim: &Sim) -> reqwest::ClientBuilder {
    let ca = reqwest::Certificate::from_pem(sim.ot_ca_pem().as_bytes()).expect("CA PEM");
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .tls_certs_only([ca])
}

fn client(sim: &Sim) -> reqwest::Client {
    builder(sim).build().expect("client")
}

/// A robot key pair and self-signed certificate marked CA:TRUE, as `openssl req -x509`
/// makes; `expired` puts notAfter in the past.
fn robot_cert(cn: &str, expired: bool) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    } else {
        p.not_before = rcgen::date_time_ymd(2024, 1, 1);
        p.not_after = rcgen::date_time_ymd(2099, 1, 1);
    }
    let cert = p.self_signed(&key).expect("self-signed");
    (cert.pem(), key.serialize_pem())
}

fn mtls_client(sim: &Sim, cert: &str, key: &str) -> reqwest::Client {
    let id = reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).expect("identity");
    builder(sim).identity(id).build().expect("client")
}

async fn gql(sim: &Sim, http: &reqwest::Client, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut rq = http.post(format!("{}/graphql", sim.ot_url())).json(body);
    if let Some(k) = key {
        rq = rq.header("X-APIKeys", format!("key={k}"));
    }
    let r = rq.send().await.expect("request sent");
    let status = r.status().as_u16();
    (status, r.json().await.expect("JSON body"))
}

const ASSETS_Q: &str = "query A($filter: AssetExpressionsParams, $sort: [AssetSortParams!], $first: Int, $after: String) { assets(filter: $filter, sort: $sort, first: $first, after: $after) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } } nodes { id hidden } totalCount } }";

fn cursor(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("arrayconnection:{offset}"))
}

fn visible_filter() -> Value {
    json!({"op": "Equal", "field": "hidden", "values": "false"})
}

/// Pages through visible assets like pyTenable (until an empty page); checks cursors.
async fn page_all(sim: &Sim, http: &reqwest::Client, first: usize) -> Vec<String> {
    let key = sim.ot_api_key();
    let mut after: Option<String> = None;
    let mut ids = Vec::new();
    let mut offset = 0;
    for _ in 0..10_000 {
        let body = json!({"query": ASSETS_Q, "variables": {
            "filter": visible_filter(),
            "sort": [{"field": "id", "direction": "AscNullLast"}],
            "first": first, "after": after}});
        let (status, v) = gql(sim, http, Some(&key), &body).await;
        assert_eq!(status, 200, "{v}");
        let c = &v["data"]["assets"];
        let nodes = c["nodes"].as_array().expect("nodes");
        let edges = c["edges"].as_array().expect("edges");
        assert_eq!(nodes.len(), edges.len());
        let pi = &c["pageInfo"];
        assert_eq!(pi["hasPreviousPage"], false);
        if nodes.is_empty() {
            assert_eq!(pi["endCursor"], Value::Null);
            assert_eq!(pi["startCursor"], Value::Null);
            assert_eq!(pi["hasNextPage"], false);
            return ids;
        }
        for (i, (n, e)) in nodes.iter().zip(edges).enumerate() {
            assert_eq!(n["hidden"], false);
            assert_eq!(e["node"]["id"], n["id"]);
            assert_eq!(e["cursor"], json!(cursor(offset + i)));
            ids.push(n["id"].as_str().expect("id").to_string());
        }
        assert_eq!(pi["startCursor"], json!(cursor(offset)));
        assert_eq!(pi["endCursor"], json!(cursor(offset + nodes.len() - 1)));
        offset += nodes.len();
        assert_eq!(
            pi["hasNextPage"],
            json!(offset < c["totalCount"].as_u64().expect("totalCount") as usize)
        );
        after = pi["endCursor"].as_str().map(str::to_string);
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn https_with_the_test_ca_and_api_key() {
    let sim = start_ot(OtOptions::default()).await;
    assert!(sim.ot_url().starts_with("https://127.0.0.1:"));
    let http = client(&sim);
    let body = json!({"query": "{ assets(first: 1) { nodes { id } } }"});
    let (s, v) = gql(&sim, &http, Some(&sim.ot_api_key()), &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["data"]["assets"]["nodes"].as_array().map(Vec::len),
        Some(1)
    );
    // Header name in any case.
    let r = http
        .post(format!("{}/graphql", sim.ot_url()))
        .header("x-apikeys", format!("key={}", sim.ot_api_key()))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(
        r.headers()["etag"]
            .to_str()
            .expect("etag")
            .starts_with("W/\"")
    );
    for key in [None, Some("wrong")] {
        let (s, v) = gql(&sim, &http, key, &body).await;
        assert_eq!(s, 401, "{v}");
        assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        assert!(v["errors"][0]["message"].is_string());
    }
    // Without the CA the certificate is not trusted.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .tls_certs_only(Vec::<reqwest::Certificate>::new())
        .build()
        .expect("client");
    assert!(
        plain
            .post(format!("{}/graphql", sim.ot_url()))
            .send()
            .await
            .is_err()
    );
    // REST routes: version.
    let r = http
        .get(format!("{}/v1/version", sim.ot_url()))
        .header("X-APIKeys", format!("key={}", sim.ot_api_key()))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["Version"], "4.1.25");
    sim.shutdown().await;
}

#[tokio::test]
async fn self_signed_ca_server_certificate_like_appliances() {
    let sim = start_ot(OtOptions {
        server_cert: ServerCertMode::SelfSignedCa,
        ..OtOptions::default()
    })
    .await;
    assert_eq!(sim.ot_ca_pem(), sim.ot_server_cert_pem());
    // rustls refuses a CA certificate as the end entity, even when trusted.
    let strict = client(&sim);
    let body = json!({"query": "{ plugins(first: 1) { nodes { id } } }"});
    let err = strict
        .post(format!("{}/graphql", sim.ot_url()))
        .json(&body)
        .send()
        .await
        .expect_err("CaUsedAsEndEntity");
    let chain = format!("{err:?}");
    assert!(chain.contains("CaUsedAsEndEntity"), "{chain}");
    // Pinning (here: verification off, then compare the fingerprint) works.
    let lax = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .expect("client");
    let r = lax
        .post(format!("{}/graphql", sim.ot_url()))
        .header("X-APIKeys", format!("key={}", sim.ot_api_key()))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let der = r
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .expect("peer certificate")
        .to_vec();
    let (_, cert) = x509_parser::parse_x509_certificate(&der).expect("x509");
    assert!(cert.is_ca());
    let fp: String = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(fp, sim.ot_server_cert_sha256());
    sim.shutdown().await;
}

#[tokio::test]
async fn paging_returns_every_visible_asset_once_with_relay_cursors() {
    let sim = start_ot(OtOptions::default()).await;
    let truth = sim.ot_truth();
    assert!(truth.hidden_assets > 0, "the data set has hidden assets");
    assert_eq!(truth.assets + truth.hidden_assets, 200);
    let http = client(&sim);
    for first in [1, 3, 200] {
        let ids = page_all(&sim, &http, first).await;
        let set: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(set.len(), ids.len(), "no duplicates at page size {first}");
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "sorted by id");
        assert_eq!(ids, truth.asset_ids, "page size {first}");
    }
    // `after` far past the end.
    let (_, v) = gql(
        &sim,
        &http,
        Some(&sim.ot_api_key()),
        &json!({"query": ASSETS_Q, "variables": {"first": 5, "after": cursor(100_000)}}),
    )
    .await;
    assert_eq!(v["data"]["assets"]["nodes"], json!([]));
    assert_eq!(v["data"]["assets"]["pageInfo"]["endCursor"], Value::Null);
    assert_eq!(v["data"]["assets"]["pageInfo"]["hasNextPage"], false);
    // Backplane modules share one IP; the truth names them.
    let (ip, ids) = truth.shared_ips.iter().next().expect("a shared IP");
    let q = json!({"query": format!(
        "{{ assets(filter: {{field: \"ips\", op: Equal, values: \"{ip}\"}}) {{ nodes {{ id slot backplane {{ id name size }} ips {{ nodes }} directIps {{ nodes }} }} }} }}"
    )});
    let (s, v) = gql(&sim, &http, Some(&sim.ot_api_key()), &q).await;
    assert_eq!(s, 200, "{v}");
    let nodes = v["data"]["assets"]["nodes"].as_array().expect("nodes");
    let mut got: Vec<String> = nodes
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect();
    got.sort();
    assert_eq!(&got, ids);
    let backplanes: BTreeSet<String> = nodes
        .iter()
        .map(|n| n["backplane"]["id"].to_string())
        .collect();
    assert_eq!(backplanes.len(), 1, "one backplane");
    assert_eq!(
        nodes
            .iter()
            .filter(|n| n["directIps"]["nodes"] == json!([ip]))
            .count(),
        1,
        "only the adapter owns the IP directly"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn variables_as_string_or_object_and_projection() {
    let sim = start_ot(OtOptions::default()).await;
    let http = client(&sim);
    let key = sim.ot_api_key();
    let q = "query P($sort: [PluginSortParams!]!, $limit: Int, $startAt: String) { plugins(sort: $sort, first: $limit, after: $startAt) { pageInfo { endCursor } nodes { id name severity details { refs { name value url } cvssBaseScore } } } }";
    let vars = json!({"sort": [{"field": "id", "direction": "DescNullLast"}], "limit": 5, "startAt": null});
    let (s1, a) = gql(
        &sim,
        &http,
        Some(&key),
        &json!({"query": q, "variables": vars}),
    )
    .await;
    let (s2, b) = gql(
        &sim,
        &http,
        Some(&key),
        &json!({"query": q, "variables": vars.to_string()}),
    )
    .await;
    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a, b, "string and object variables give the same answer");
    let nodes = a["data"]["plugins"]["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 5);
    let ids: Vec<i64> = nodes
        .iter()
        .map(|n| n["id"].as_i64().expect("Int id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "DescNullLast: {ids:?}");
    for n in nodes {
        let keys: BTreeSet<&str> = n
            .as_object()
            .expect("obj")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["id", "name", "severity", "details"]));
        let d: BTreeSet<&str> = n["details"]
            .as_object()
            .expect("details")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(d, BTreeSet::from(["refs", "cvssBaseScore"]));
        assert!(
            n["details"]["cvssBaseScore"].is_string() || n["details"]["cvssBaseScore"].is_null()
        );
    }
    assert_eq!(
        a["data"]["plugins"]
            .as_object()
            .expect("conn")
            .keys()
            .collect::<Vec<_>>(),
        vec!["nodes", "pageInfo"]
    );
    // Nested connections, references, aliases, fragments.
    let q = "query { findings(first: 3, sort: [{field: \"findingId\", direction: AscNullLast}]) { nodes { ...F } } } fragment F on Finding { id status a: asset { id name ips { nodes } } plugin { id severity } }";
    let (s, v) = gql(&sim, &http, Some(&key), &json!({"query": q})).await;
    assert_eq!(s, 200, "{v}");
    for n in v["data"]["findings"]["nodes"].as_array().expect("nodes") {
        assert_eq!(n["id"].as_str().map(str::len), Some(64));
        let keys: Vec<&String> = n.as_object().expect("obj").keys().collect();
        assert_eq!(keys.len(), 4, "{n}");
        assert!(n["a"]["ips"]["nodes"].is_array() && n["a"]["name"].is_string());
        assert_eq!(n["a"].as_object().map(|o| o.len()), Some(3));
        assert!(n["plugin"]["id"].is_i64());
    }
    // `asset(id:)`.
    let id = sim.ot_truth().asset_ids[0].clone();
    let q = json!({"query": "query One($id: ID!) { asset(id: $id) { id name backplane { name } } missing: asset(id: \"nope\") { id } }", "variables": {"id": id}});
    let (s, v) = gql(&sim, &http, Some(&key), &q).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["asset"]["id"], json!(id));
    assert_eq!(v["data"]["asset"].as_object().map(|o| o.len()), Some(3));
    assert_eq!(v["data"]["missing"], Value::Null);
    sim.shutdown().await;
}

#[tokio::test]
async fn graphql_errors_are_apollo_style() {
    let sim = start_ot(OtOptions {
        findings_query: false,
        ..OtOptions::default()
    })
    .await;
    let http = client(&sim);
    let key = sim.ot_api_key();
    let (s, v) = gql(
        &sim,
        &http,
        Some(&key),
        &json!({"query": "{ assets { nodes { id "}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .expect("msg")
            .starts_with("Syntax Error")
    );
    for q in [
        "{ assets { nodes { id bogus } } }",
        "{ nope { nodes { id } } }",
        "{ findings { nodes { id } } }",
        "{ assets { nodes { risk } } }",
        "{ assets(colour: 1) { nodes { id } } }",
    ] {
        let (s, v) = gql(&sim, &http, Some(&key), &json!({"query": q})).await;
        assert_eq!(s, 400, "{q}");
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{q}: {v}"
        );
        assert!(v["errors"][0]["locations"][0]["line"].is_u64());
    }
    let q = "query assets($sort: [AssetSortParams!]!, $limit: Int) { assets(sort: $sort, first: $limit) { nodes { id } } }";
    let (s, v) = gql(
        &sim,
        &http,
        Some(&key),
        &json!({"query": q, "variables": "{\"limit\": 2}"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        v["errors"][0]["message"],
        "Variable \"$sort\" of required type \"[AssetSortParams!]!\" was not provided."
    );
    // Hostile documents: deep nesting, fragment cycles and fan-out answer 400, no crash.
    let deep = format!("{}{}", "{ assets { nodes ".repeat(5000), "}".repeat(10_000));
    let (s, v) = gql(&sim, &http, Some(&key), &json!({"query": deep})).await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"][0]["extensions"]["code"], "GRAPHQL_PARSE_FAILED");
    let cyclic = "{ assets { nodes { ...A } } } fragment A on Asset { id ...B } fragment B on Asset { name ...A }";
    let (s, v) = gql(&sim, &http, Some(&key), &json!({"query": cyclic})).await;
    assert_eq!(s, 400);
    assert_eq!(
        v["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let mut fan = String::from("{ assets { nodes { ...F0 } } }");
    for i in 0..40 {
        fan.push_str(&format!(
            " fragment F{i} on Asset {{ id ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    fan.push_str(" fragment F40 on Asset { id }");
    let (s, v) = gql(&sim, &http, Some(&key), &json!({"query": fan})).await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"][0]["message"], "Query is too complex.");
    // Bad JSON and bad variables: 400, no panic.
    let r = http
        .post(format!("{}/graphql", sim.ot_url()))
        .header("X-APIKeys", format!("key={key}"))
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 400);
    let (s, _) = gql(
        &sim,
        &http,
        Some(&key),
        &json!({"query": "{ assets { totalCount } }", "variables": 7}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, v) = gql(
        &sim,
        &http,
        Some(&key),
        &json!({"query": "{ assets(filter: {field: \"nope\", op: Equal, values: 1}) { totalCount } }"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    sim.shutdown().await;
}

#[tokio::test]
async fn robots_register_and_call_over_mutual_tls() {
    let sim = start_ot(OtOptions::default()).await;
    let http = client(&sim);
    let (cert, key) = robot_cert("robot1", false);
    let url = format!("{}/v1/robots", sim.ot_url());
    let body = json!({"name": "robot1", "role": "ReaderRole", "cert": cert});
    // Bad token, bad PEM, bad role.
    let r = http
        .post(&url)
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 401);
    for bad in [
        json!({"name": "r", "role": "ReaderRole", "cert": "garbage"}),
        json!({"name": "r", "role": "GodRole", "cert": cert}),
        json!({"name": "", "role": "ReaderRole", "cert": cert}),
        json!([1, 2]),
    ] {
        let r = http
            .post(&url)
            .bearer_auth(sim.ot_support_token())
            .json(&bad)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 400, "{bad}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }
    let r = http
        .post(&url)
        .bearer_auth(sim.ot_support_token())
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["name"], "robot1");
    assert_eq!(v["role"], "ReaderRole");
    assert!(v["id"].is_string());
    let robots = sim.ot_robots();
    assert_eq!(robots.len(), 1);
    assert_eq!(robots[0].sha256.len(), 64);
    // Same name again: 409.
    let r = http
        .post(&url)
        .bearer_auth(sim.ot_support_token())
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 409);

    let q = json!({"query": "{ assets(first: 2) { nodes { id } } }"});
    let robot = mtls_client(&sim, &cert, &key);
    let (s, v) = gql(&sim, &robot, None, &q).await;
    assert_eq!(s, 200, "{v}");
    let r = robot
        .post(format!("{}/graphql", sim.ot_url()))
        .header("X-Robot-Name", "robot1")
        .json(&q)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let r = robot
        .post(format!("{}/graphql", sim.ot_url()))
        .header("X-Robot-Name", "robot2")
        .json(&q)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    let msg = v["errors"][0]["message"].as_str().expect("msg");
    assert!(msg.contains("robot2") && msg.contains("robot1"), "{msg}");
    let r = robot
        .get(format!("{}/v1/version", sim.ot_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);

    // An RSA-2048 robot (what `openssl req -x509 -newkey rsa:2048` makes), name from the
    // literal-`\n` PEM form of the issue.
    let rsa = KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .expect("RSA key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, "robot-rsa");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let rsa_cert = p.self_signed(&rsa).expect("cert").pem();
    let r = http
        .post(&url)
        .bearer_auth(sim.ot_support_token())
        .json(&json!({"name": "robot-rsa", "role": "AdminRole", "cert": rsa_cert.replace('\n', "\\n")}))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 201);
    let rsa_client = mtls_client(&sim, &rsa_cert, &rsa.serialize_pem());
    let r = rsa_client
        .post(format!("{}/graphql", sim.ot_url()))
        .header("X-Robot-Name", "robot-rsa")
        .json(&q)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    assert_eq!(sim.ot_robots()[1].role, "AdminRole");

    // An unregistered certificate: accepted by TLS, refused by HTTP.
    let (other, other_key) = robot_cert("robot9", false);
    let (s, v) = gql(&sim, &mtls_client(&sim, &other, &other_key), None, &q).await;
    assert_eq!(s, 401);
    assert_eq!(v["errors"][0]["message"], "unknown robot certificate");
    // An expired certificate: refused in the handshake.
    let (old, old_key) = robot_cert("robot1", true);
    let err = mtls_client(&sim, &old, &old_key)
        .post(format!("{}/graphql", sim.ot_url()))
        .json(&q)
        .send()
        .await
        .expect_err("expired client certificate is refused in the TLS handshake");
    let chain = format!("{err:?}");
    assert!(chain.contains("CertificateExpired"), "{chain}");
    // No certificate, no key.
    let (s, _) = gql(&sim, &http, None, &q).await;
    assert_eq!(s, 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn plugin_hits_match_findings() {
    let sim = start_ot(OtOptions::default()).await;
    let http = client(&sim);
    let key = sim.ot_api_key();
    let q = "{ findings(first: 1) { nodes { asset { id } } } }";
    let (_, v) = gql(&sim, &http, Some(&key), &json!({"query": q})).await;
    let asset = v["data"]["findings"]["nodes"][0]["asset"]["id"]
        .as_str()
        .expect("asset id")
        .to_string();
    let q = format!(
        "{{ findings(filter: {{field: \"assetId\", op: Equal, values: \"{asset}\"}}) {{ totalCount nodes {{ id plugin {{ id }} }} }} }}"
    );
    let (s, v) = gql(&sim, &http, Some(&key), &json!({"query": q})).await;
    assert_eq!(s, 200, "{v}");
    let want: BTreeSet<String> = v["data"]["findings"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect();
    let r = http
        .get(format!("{}/v1/assets/{asset}/plugin_hits", sim.ot_url()))
        .header("X-APIKeys", format!("key={key}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let hits: Vec<Value> = r.json().await.expect("array");
    let got: BTreeSet<String> = hits
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect();
    assert_eq!(got, want);
    for h in &hits {
        assert_eq!(h["assetId"], json!(asset));
        assert!(h["pluginId"].is_i64() && h["severity"].is_string() && h["time"].is_string());
    }
    let r = http
        .get(format!(
            "{}/v1/assets/00000000-0000-4000-8000-000000000000/plugin_hits",
            sim.ot_url()
        ))
        .header("X-APIKeys", format!("key={key}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn ot_faults_error_page_and_rate_limit() {
    let sim = Sim::start(SimConfig {
        faults: "ot-error:page=2,ot-429:every=5:after=0"
            .parse()
            .expect("faults"),
        ..ot_cfg(3, OtOptions::default())
    })
    .await
    .expect("starts");
    let http = client(&sim);
    let key = sim.ot_api_key();
    let q = json!({"query": "{ assets(first: 2) { nodes { id } } plugins(first: 1) { nodes { id } } }"});
    let (s, v) = gql(&sim, &http, Some(&key), &q).await;
    assert_eq!(s, 200);
    assert!(v.get("errors").is_none());
    let (s, v) = gql(&sim, &http, Some(&key), &q).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    assert_eq!(v["errors"][0]["path"], json!(["assets"]));
    assert_eq!(v["data"]["assets"], Value::Null);
    assert!(v["data"]["plugins"]["nodes"].is_array(), "partial data");
    let mut limited = 0;
    for _ in 0..3 {
        let r = http
            .post(format!("{}/graphql", sim.ot_url()))
            .header("X-APIKeys", format!("key={key}"))
            .json(&q)
            .send()
            .await
            .expect("sent");
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "0");
            limited += 1;
        } else {
            let v: Value = r.json().await.expect("json");
            assert!(v.get("errors").is_none(), "ot-error fires once");
        }
    }
    assert_eq!(limited, 1, "the 5th OT request is limited");
    let st = sim.ot_stats();
    assert_eq!((st.requests, st.rate_limited, st.graphql_pages), (5, 1, 4));
    sim.shutdown().await;
}

async fn count(sim: &Sim, http: &reqwest::Client, root: &str, filter: Value) -> u64 {
    let q = format!("query C($f: JSON) {{ {root}(filter: $f) {{ totalCount }} }}");
    let (s, v) = gql(
        sim,
        http,
        Some(&sim.ot_api_key()),
        &json!({"query": q, "variables": {"f": filter}}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["data"][root]["totalCount"].as_u64().expect("count")
}

#[tokio::test]
async fn mutation_changes_exactly_what_it_reports() {
    let sim = start_ot(OtOptions::default()).await;
    let http = client(&sim);
    let before = sim.ot_truth();
    let since = sim
        .anchor()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let recent = |field: &str| json!({"op": "And", "expressions": [visible_filter(), {"field": field, "op": "GreaterEqual", "values": since}]});
    assert_eq!(count(&sim, &http, "assets", recent("lastUpdate")).await, 0);
    let m = sim.ot_mutate(12);
    assert_eq!(m.changed_assets, 12);
    assert_eq!(m.new_assets, 1);
    let after = sim.ot_truth();
    assert_eq!(after.assets, before.assets + 1);
    assert_eq!(after.events, before.events + m.new_events);
    assert_eq!(after.findings, before.findings + m.new_findings);
    assert_eq!(
        after.resolved_findings,
        before.resolved_findings + m.resolved_findings
    );
    assert_eq!(
        after.resolved_events,
        before.resolved_events + m.resolved_events
    );
    assert!(m.new_findings > 0 && m.resolved_findings > 0 && m.resolved_events > 0);
    assert_eq!(
        count(&sim, &http, "assets", recent("lastUpdate")).await,
        m.changed_assets + m.new_assets
    );
    let time = json!({"field": "time", "op": "GreaterEqual", "values": since});
    assert_eq!(count(&sim, &http, "events", time).await, m.new_events);
    let hit = json!({"field": "lastHit", "op": "GreaterEqual", "values": since});
    assert_eq!(count(&sim, &http, "findings", hit).await, m.new_findings);
    let fixed = json!({"field": "fixedAt", "op": "GreaterEqual", "values": since});
    assert_eq!(
        count(&sim, &http, "findings", fixed).await,
        m.resolved_findings
    );
    assert_eq!(
        count(&sim, &http, "assets", visible_filter()).await,
        after.assets
    );
    sim.shutdown().await;
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/ot")
        .join(name)
}

#[tokio::test]
async fn recorded_pages_are_servable() {
    let sim = start_ot(OtOptions {
        assets_file: Some(fixture("assets_page1_response.recorded.json")),
        plugins_file: Some(fixture("plugins_page1_response.recorded.json")),
        events_file: Some(fixture("events_page1_response.recorded.json")),
        ..OtOptions::default()
    })
    .await;
    let truth = sim.ot_truth();
    assert_eq!((truth.assets, truth.plugins, truth.events), (2, 2, 2));
    let http = client(&sim);
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("assets_page1_request.recorded.json")).expect("read"),
    )
    .expect("json");
    // The recorded pyTenable request itself (variables as a JSON string).
    let (s, v) = gql(&sim, &http, Some(&sim.ot_api_key()), &recorded["body"]).await;
    assert_eq!(s, 200, "{v}");
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("assets_page1_response.recorded.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(v, want, "the recorded page comes back as recorded");
    for name in ["events", "plugins"] {
        let rq: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}_page1_request.recorded.json")))
                .expect("read"),
        )
        .expect("json");
        let (s, v) = gql(&sim, &http, Some(&sim.ot_api_key()), &rq["body"]).await;
        assert_eq!(s, 200, "{v}");
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}_page1_response.recorded.json")))
                .expect("read"),
        )
        .expect("json");
        assert_eq!(v, want, "{name}");
    }
    sim.shutdown().await;
}

/// Differences of key structure and value types between two JSON values (nulls and empty
/// arrays match anything).
fn shape_diff(path: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(g), Value::Object(w)) => {
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing"));
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{k}: extra"));
            }
            for (k, wv) in w {
                if let Some(gv) = g.get(k) {
                    shape_diff(&format!("{path}.{k}"), gv, wv, out);
                }
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            if let (Some(gv), Some(wv)) = (g.first(), w.first()) {
                shape_diff(&format!("{path}[0]"), gv, wv, out);
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            if g.is_f64() != w.is_f64() && !(g.is_f64() && w.as_f64().is_some()) {
                out.push(format!("{path}: number kind {g} vs {w}"));
            }
        }
        (g, w) => {
            if std::mem::discriminant(g) != std::mem::discriminant(w) {
                out.push(format!("{path}: {g} vs recorded {w}"));
            }
        }
    }
}

#[tokio::test]
async fn generated_answers_have_the_recorded_shape() {
    let sim = start_ot(OtOptions::default()).await;
    let http = client(&sim);
    for name in ["assets", "events", "plugins"] {
        let rq: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}_page1_request.recorded.json")))
                .expect("read"),
        )
        .expect("json");
        let want: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{name}_page1_response.recorded.json")))
                .expect("read"),
        )
        .expect("json");
        let (s, got) = gql(&sim, &http, Some(&sim.ot_api_key()), &rq["body"]).await;
        assert_eq!(s, 200, "{got}");
        let mut diffs = Vec::new();
        shape_diff(name, &got, &want, &mut diffs);
        // `details` is free-form JSON: only its common keys are compared above.
        diffs.retain(|d| {
            !(d.contains(".details.") && (d.ends_with("missing") || d.ends_with("extra")))
        });
        assert!(diffs.is_empty(), "{name}: {diffs:#?}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn ot_node_error_nulls_one_os_details_and_keeps_the_page() {
    let sim = Sim::start(SimConfig {
        faults: "ot-node-error:page=1,ot-node-error:page=2"
            .parse()
            .expect("faults"),
        ..ot_cfg(5, OtOptions::default())
    })
    .await
    .expect("starts");
    let http = client(&sim);
    let key = sim.ot_api_key();
    let q = json!({"query": "{ assets(first: 3, sort: [{field: \"type\", direction: DescNullLast}]) { pageInfo { endCursor } nodes { id os: osDetails { name } } } }"});
    let (s, v) = gql(&sim, &http, Some(&key), &q).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["errors"][0]["extensions"]["code"],
        "INTERNAL_SERVER_ERROR"
    );
    assert_eq!(v["errors"][0]["path"], json!(["assets", "nodes", 0, "os"]));
    let nodes = v["data"]["assets"]["nodes"]
        .as_array()
        .expect("partial data");
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0]["os"], Value::Null);
    assert!(nodes[0]["id"].is_string());
    assert!(v["data"]["assets"]["pageInfo"]["endCursor"].is_string());
    // Without osDetails in the selection: the root field fails.
    let q = json!({"query": "{ assets(first: 3) { nodes { id } } }"});
    let (_, v) = gql(&sim, &http, Some(&key), &q).await;
    assert_eq!(v["errors"][0]["path"], json!(["assets"]));
    assert_eq!(v["data"]["assets"], Value::Null);
    let (_, v) = gql(&sim, &http, Some(&key), &q).await;
    assert!(v.get("errors").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_answers() {
    let anchor = chrono::DateTime::parse_from_rfc3339("2026-01-15T00:00:00Z")
        .expect("anchor")
        .with_timezone(&chrono::Utc);
    let q = json!({"query": "{ assets(first: 20) { nodes { id name ips { nodes } lastUpdate plugins { nodes { id } } } } events(first: 5) { nodes { id logId time srcAssets { nodes { id } } } } findings(first: 5) { nodes { id lastHit } } }"});
    let mut answers = Vec::new();
    for _ in 0..2 {
        let sim = Sim::start(SimConfig {
            anchor: Some(anchor),
            ..ot_cfg(21, OtOptions::default())
        })
        .await
        .expect("starts");
        let (s, v) = gql(&sim, &client(&sim), Some(&sim.ot_api_key()), &q).await;
        assert_eq!(s, 200, "{v}");
        answers.push((sim.ot_truth(), v));
        sim.shutdown().await;
    }
    assert_eq!(answers[0], answers[1]);
    let other = Sim::start(SimConfig {
        anchor: Some(anchor),
        ..ot_cfg(22, OtOptions::default())
    })
    .await
    .expect("starts");
    assert_ne!(other.ot_truth().asset_ids, answers[0].0.asset_ids);
    other.shutdown().await;
}
