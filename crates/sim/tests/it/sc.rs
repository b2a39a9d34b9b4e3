//! Security Center (`/rest`) simulator: envelope, auth, paging, filters, truth, mutation,
//! file data sets, determinism and SC faults.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tenax_sim::{Faults, ScOptions, Sim, SimConfig};

use crate::start;

const ANCHOR_S: i64 = 1_780_000_000 - 1_780_000_000 % 86_400;

fn anchor() -> DateTime<Utc> {
    DateTime::from_timestamp(ANCHOR_S, 0).expect("anchor")
}

/// A small SC data set (VM kept tiny too).
fn sc_cfg(seed: u64, hosts: usize) -> SimConfig {
    SimConfig {
        seed,
        assets: 5,
        anchor: Some(anchor()),
        sc: ScOptions {
            hosts,
            ..ScOptions::default()
        },
        ..SimConfig::default()
    }
}

fn sc_testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/sc")
        .join(name)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// How a test client authenticates.
#[derive(Clone)]
enum Auth {
    None,
    Keys(String),
    Session { token: String, cookie: String },
}

struct Sc {
    http: reqwest::Client,
    base: String,
    auth: Auth,
}

impl Sc {
    fn keys(sim: &Sim) -> Sc {
        Sc::with(sim, Auth::Keys(sim.sc_api_keys()))
    }

    fn with(sim: &Sim, auth: Auth) -> Sc {
        Sc {
            http: http(),
            base: format!("{}/rest", sim.sc_url()),
            auth,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => r,
            Auth::Keys(k) => r.header("x-apikey", k),
            Auth::Session { token, cookie } => r
                .header("X-SecurityCenter", token)
                .header("Cookie", format!("TNS_SESSIONID={cookie}")),
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = rb.send().await.expect("sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.req(reqwest::Method::GET, path)).await
    }

    async fn analysis(&self, body: &Value) -> (u16, Value) {
        self.send(self.req(reqwest::Method::POST, "/analysis").json(body))
            .await
    }

    /// Every row of a query, paging with `page` rows per request (offsets in `query`, or at
    /// the root when `root`), checking each page's bookkeeping.
    async fn all(
        &self,
        source: &str,
        tool: &str,
        filters: &Value,
        page: i64,
        root: bool,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let mut offset = 0i64;
        loop {
            let mut body = json!({"type": "vuln", "sourceType": source,
                "query": {"type": "vuln", "tool": tool, "filters": filters}});
            let target = if root { &mut body } else { &mut body["query"] };
            target["startOffset"] = json!(offset);
            target["endOffset"] = json!(offset + page);
            let (s, v) = self.analysis(&body).await;
            assert_eq!(s, 200, "{v}");
            let r = &v["response"];
            let total: i64 = r["totalRecords"]
                .as_str()
                .expect("string total")
                .parse()
                .expect("int");
            let results = r["results"].as_array().expect("results").clone();
            assert_eq!(r["returnedRecords"].as_u64(), Some(results.len() as u64));
            assert_eq!(r["startOffset"], offset.to_string());
            assert_eq!(r["endOffset"], (offset + page).to_string());
            assert_eq!(results.len() as i64, (total - offset).clamp(0, page));
            offset += results.len() as i64;
            out.extend(results);
            if offset >= total || out.is_empty() {
                return out;
            }
        }
    }
}

fn filter(name: &str, value: impl Into<Value>) -> Value {
    json!({"filterName": name, "operator": "=", "value": value.into()})
}

fn row_key(r: &Value) -> String {
    format!(
        "{}:{}:{}:{}:{}",
        r["repository"]["id"].as_str().unwrap_or("?"),
        r["ip"].as_str().unwrap_or("?"),
        r["port"].as_str().unwrap_or("?"),
        r["protocol"].as_str().unwrap_or("?"),
        r["pluginID"].as_str().unwrap_or("?")
    )
}

fn assert_envelope(v: &Value, code: i64) {
    assert_eq!(v["type"], "regular", "{v}");
    assert_eq!(v["error_code"].as_i64(), Some(code), "{v}");
    assert!(v["error_msg"].is_string(), "{v}");
    assert_eq!(v["warnings"], json!([]), "{v}");
    assert!(v["timestamp"].is_i64(), "{v}");
    if code == 0 {
        assert_eq!(v["error_msg"], "");
    } else {
        assert!(!v["error_msg"].as_str().unwrap_or_default().is_empty());
    }
}

#[tokio::test]
async fn envelope_and_string_numbers() {
    let sim = start(sc_cfg(3, 12)).await;
    let c = Sc::keys(&sim);
    let (s, v) = c.get("/system").await;
    assert_eq!(s, 200);
    assert_envelope(&v, 0);
    assert_eq!(v["response"]["version"], "6.4.0");
    assert_eq!(v["response"]["sessionTimeout"], "3600");
    let (s, v) = c.get("/currentUser").await;
    assert_eq!(s, 200);
    assert_envelope(&v, 0);
    assert_eq!(v["response"]["id"], "1");

    let body = json!({"type":"vuln","sourceType":"cumulative","query":{"type":"vuln","tool":"vulndetails","filters":[],"startOffset":0,"endOffset":3}});
    let (s, v) = c.analysis(&body).await;
    assert_eq!(s, 200);
    assert_envelope(&v, 0);
    let r = &v["response"];
    assert!(r["totalRecords"].is_string() && r["startOffset"] == "0" && r["endOffset"] == "3");
    assert_eq!(r["returnedRecords"], 3);
    assert_eq!(r["matchingDataElementCount"], "-1");
    // Every field of the recorded SC 5.8 row is there, with the same JSON type.
    let text = std::fs::read_to_string(sc_testdata("test_analysis_vulns_vulndetails_tool.json"))
        .expect("cassette");
    let cas: Value = serde_json::from_str(&text).expect("json");
    let real = &cas[0]["response"]["body"]["response"]["results"][0];
    let ours = &r["results"][0];
    for (k, rv) in real.as_object().expect("object") {
        let ov = &ours[k];
        assert!(!ov.is_null(), "missing {k}");
        assert_eq!(
            std::mem::discriminant(rv),
            std::mem::discriminant(ov),
            "type of {k}: {rv} vs {ov}"
        );
    }
    for k in [
        "pluginID",
        "port",
        "firstSeen",
        "lastSeen",
        "hasBeenMitigated",
        "lastMitigated",
    ] {
        assert!(ours[k].is_string(), "{k}: {}", ours[k]);
    }
    for k in [
        "hostUUID",
        "hostUniqueness",
        "vulnUUID",
        "vulnUniqueness",
        "operatingSystem",
        "vprScore",
    ] {
        assert!(ours[k].is_string(), "{k}");
    }
    assert!(ours["severity"]["id"].is_string() && ours["repository"]["id"].is_string());
    assert!(
        ["None", "Low", "Medium", "High", "Critical"]
            .contains(&ours["riskFactor"].as_str().unwrap_or_default())
    );
    // sumip rows too.
    let body = json!({"type":"vuln","sourceType":"cumulative","query":{"type":"vuln","tool":"sumip","filters":[],"startOffset":0,"endOffset":2}});
    let (_, v) = c.analysis(&body).await;
    let text = std::fs::read_to_string(sc_testdata("test_analysis_vulns_sumip_tool.json"))
        .expect("cassette");
    let cas: Value = serde_json::from_str(&text).expect("json");
    let real = &cas[0]["response"]["body"]["response"]["results"][0];
    let ours = &v["response"]["results"][0];
    for (k, rv) in real.as_object().expect("object") {
        assert_eq!(
            std::mem::discriminant(rv),
            std::mem::discriminant(&ours[k]),
            "sumip {k}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_modes_and_error_codes() {
    let sim = start(sc_cfg(4, 5)).await;
    let opts = ScOptions::default();
    let (a, s) = (&opts.access_key, &opts.secret_key);
    assert_eq!(sim.sc_api_keys(), format!("accesskey={a}; secretkey={s};"));
    // Key names case-insensitive, trailing ';' optional.
    for hdr in [
        sim.sc_api_keys(),
        format!("accessKey={a}; secretKey={s}"),
        format!("ACCESSKEY={a};SECRETKEY={s};"),
    ] {
        let (st, v) = Sc::with(&sim, Auth::Keys(hdr.clone()))
            .get("/currentUser")
            .await;
        assert_eq!(st, 200, "{hdr}: {v}");
    }
    // Bad keys.
    let (st, v) = Sc::with(&sim, Auth::Keys(format!("accesskey={a}; secretkey=nope;")))
        .get("/currentUser")
        .await;
    assert_eq!(st, 403);
    assert_envelope(&v, 74);
    // No credentials on a protected endpoint.
    let anon = Sc::with(&sim, Auth::None);
    let (st, v) = anon.get("/currentUser").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 12);
    assert_eq!(v["error_msg"], "This request contains an invalid token.");
    // Session login.
    let h = http();
    let url = format!("{}/rest/token", sim.sc_url());
    let bad = h
        .post(&url)
        .json(&json!({"username": opts.username, "password": "wrong", "releaseSession": false}))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status().as_u16(), 403);
    let v: Value = bad.json().await.expect("json");
    assert_envelope(&v, 161);
    let resp = h
        .post(&url)
        .json(
            &json!({"username": opts.username, "password": opts.password, "releaseSession": false}),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_string();
    assert!(
        cookie.starts_with("TNS_SESSIONID=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let cookie = cookie["TNS_SESSIONID=".len()..]
        .split(';')
        .next()
        .expect("value")
        .to_string();
    assert_eq!(cookie.len(), 32);
    let v: Value = resp.json().await.expect("json");
    assert_envelope(&v, 0);
    let token = v["response"]["token"]
        .as_u64()
        .expect("numeric token")
        .to_string();
    let sess = Sc::with(
        &sim,
        Auth::Session {
            token: token.clone(),
            cookie: cookie.clone(),
        },
    );
    assert_eq!(sess.get("/currentUser").await.0, 200);
    // Token without the right cookie, unknown token.
    let (st, v) = Sc::with(
        &sim,
        Auth::Session {
            token: token.clone(),
            cookie: "0".repeat(32),
        },
    )
    .get("/currentUser")
    .await;
    assert_eq!(st, 403);
    assert_envelope(&v, 12);
    let (st, v) = Sc::with(
        &sim,
        Auth::Session {
            token: "12345".into(),
            cookie: cookie.clone(),
        },
    )
    .get("/currentUser")
    .await;
    assert_eq!(st, 403);
    assert_envelope(&v, 12);
    // Both methods at once.
    let (st, v) = sess
        .send(
            sess.req(reqwest::Method::GET, "/currentUser")
                .header("x-apikey", sim.sc_api_keys()),
        )
        .await;
    assert_eq!(st, 400);
    assert_envelope(&v, 73);
    // Logout, then the token is invalid.
    let (st, v) = sess.send(sess.req(reqwest::Method::DELETE, "/token")).await;
    assert_eq!(st, 200);
    assert_envelope(&v, 0);
    assert_eq!(v["response"], "");
    let (st, v) = sess.get("/currentUser").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 12);
    sim.shutdown().await;

    // API keys disabled by the administrator.
    let mut cfg = sc_cfg(4, 5);
    cfg.sc.api_keys_enabled = false;
    let sim = start(cfg).await;
    let (st, v) = Sc::keys(&sim).get("/currentUser").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 75);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap_or_default()
            .contains("disabled")
    );
    sim.shutdown().await;

    // Too old for API keys; session login still works.
    let mut cfg = sc_cfg(4, 5);
    cfg.sc.version = "5.12.0".into();
    let sim = start(cfg).await;
    let (st, v) = Sc::keys(&sim).get("/currentUser").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 76);
    assert!(v["error_msg"].as_str().unwrap_or_default().contains("5.13"));
    let resp = http()
        .post(format!("{}/rest/token", sim.sc_url()))
        .json(&json!({"username": opts.username, "password": opts.password}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn version_switch() {
    for (version, anon_has_version) in [("6.4.0", false), ("5.20.0", false), ("5.12.0", true)] {
        let mut cfg = sc_cfg(5, 3);
        cfg.sc.version = version.into();
        let sim = start(cfg).await;
        let (st, v) = Sc::with(&sim, Auth::None).get("/system").await;
        assert_eq!(st, 200);
        assert_eq!(
            v["response"].get("version").is_some(),
            anon_has_version,
            "{version}"
        );
        if version != "5.12.0" {
            let (_, v) = Sc::keys(&sim).get("/system").await;
            assert_eq!(v["response"]["version"], version);
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn paging_returns_every_row_once() {
    let sim = start(sc_cfg(6, 40)).await;
    let truth = sim.sc_truth();
    assert!(truth.cumulative > 100 && truth.patched > 10, "{truth:?}");
    let c = Sc::keys(&sim);
    let mut reference: Option<Vec<Value>> = None;
    for (page, root) in [(1, false), (7, true), (1000, false)] {
        let rows = c
            .all("cumulative", "vulndetails", &json!([]), page, root)
            .await;
        assert_eq!(rows.len() as u64, truth.cumulative, "page {page}");
        let keys: HashSet<String> = rows.iter().map(row_key).collect();
        assert_eq!(keys.len(), rows.len(), "duplicates with page {page}");
        match &reference {
            None => reference = Some(rows),
            Some(r) => assert_eq!(r, &rows, "order differs with page {page}"),
        }
    }
    let patched = c.all("patched", "vulndetails", &json!([]), 7, false).await;
    assert_eq!(patched.len() as u64, truth.patched);
    let hosts = c.all("cumulative", "sumip", &json!([]), 7, false).await;
    assert_eq!(hosts.len() as u64, truth.hosts);
    assert_eq!(truth.hosts, 40);
    let total: u64 = hosts
        .iter()
        .map(|h| h["total"].as_str().expect("s").parse::<u64>().expect("n"))
        .sum();
    assert_eq!(total, truth.cumulative);
    // A window past the end is empty; the root offsets win over the query's.
    let (_, v) = c
        .analysis(
            &json!({"type":"vuln","sourceType":"cumulative","startOffset":0,"endOffset":2,
        "query":{"type":"vuln","tool":"vulndetails","filters":[],"startOffset":0,"endOffset":50}}),
        )
        .await;
    assert_eq!(v["response"]["returnedRecords"], 2);
    let start = truth.cumulative + 5;
    let (_, v) = c.analysis(&json!({"type":"vuln","sourceType":"cumulative",
        "query":{"type":"vuln","tool":"vulndetails","filters":[],"startOffset":start,"endOffset":start + 10}})).await;
    assert_eq!(v["response"]["returnedRecords"], 0);
    // Sorting is stable and honoured.
    let (_, v) = c.analysis(&json!({"type":"vuln","sourceType":"cumulative","sortField":"severity","sortDir":"DESC",
        "query":{"type":"vuln","tool":"vulndetails","filters":[],"startOffset":0,"endOffset":1000}})).await;
    let sev: Vec<u64> = v["response"]["results"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["severity"]["id"].as_str().expect("s").parse().expect("n"))
        .collect();
    assert!(sev.windows(2).all(|w| w[0] >= w[1]));
    sim.shutdown().await;
}

#[tokio::test]
async fn cumulative_patched_and_filters() {
    let sim = start(sc_cfg(7, 30)).await;
    let truth = sim.sc_truth();
    let c = Sc::keys(&sim);
    let cum = c
        .all("cumulative", "vulndetails", &json!([]), 1000, false)
        .await;
    let reopened = cum.iter().filter(|r| r["hasBeenMitigated"] == "1").count() as u64;
    assert_eq!(reopened, truth.reopened);
    assert_eq!(cum.len() as u64 - reopened, truth.open);
    assert!(
        cum.iter()
            .filter(|r| r["hasBeenMitigated"] == "0")
            .all(|r| r["lastMitigated"] == "-1")
    );
    let patched = c
        .all("patched", "vulndetails", &json!([]), 1000, false)
        .await;
    assert!(
        patched
            .iter()
            .all(|r| r["lastMitigated"].as_str().is_some_and(|m| m != "-1"))
    );
    let repos: HashSet<&str> = cum
        .iter()
        .map(|r| r["repository"]["id"].as_str().expect("id"))
        .collect();
    assert_eq!(repos.len() as u64, truth.repositories);
    assert!(cum.iter().any(|r| r["hostUUID"] == "") && cum.iter().any(|r| r["hostUUID"] != ""));

    let count = |rows: &[Value], f: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| f(r)).count();
    let n = |v: &Value, k: &str| {
        v[k].as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    // severity
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("severity", "3,4")]),
            50,
            false,
        )
        .await;
    assert_eq!(
        got.len(),
        count(&cum, &|r| matches!(
            r["severity"]["id"].as_str(),
            Some("3" | "4")
        ))
    );
    // lastSeen epoch range and days range
    let mid = ANCHOR_S - 100 * 86_400;
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("lastSeen", format!("{mid}-{ANCHOR_S}"))]),
            50,
            false,
        )
        .await;
    assert_eq!(got.len(), count(&cum, &|r| n(r, "lastSeen") >= mid));
    assert!(!got.is_empty() && got.len() < cum.len());
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("lastSeen", "0:1")]),
            50,
            false,
        )
        .await;
    assert!(got.is_empty());
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("lastSeen", "0:100000")]),
            1000,
            false,
        )
        .await;
    assert_eq!(got.len(), cum.len());
    // lastMitigated on patched
    let got = c
        .all(
            "patched",
            "vulndetails",
            &json!([filter("lastMitigated", format!("{mid}-{ANCHOR_S}"))]),
            50,
            false,
        )
        .await;
    assert_eq!(
        got.len(),
        count(&patched, &|r| n(r, "lastMitigated") >= mid)
    );
    // pluginID, repositoryIDs, ip
    let pid = cum[0]["pluginID"].as_str().expect("id").to_string();
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("pluginID", pid.as_str())]),
            50,
            false,
        )
        .await;
    assert_eq!(got.len(), count(&cum, &|r| r["pluginID"] == pid.as_str()));
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("repositoryIDs", "1,3")]),
            50,
            false,
        )
        .await;
    assert_eq!(
        got.len(),
        count(&cum, &|r| matches!(
            r["repository"]["id"].as_str(),
            Some("1" | "3")
        ))
    );
    let ip = cum[0]["ip"].as_str().expect("ip").to_string();
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("ip", ip.as_str())]),
            50,
            false,
        )
        .await;
    assert_eq!(got.len(), count(&cum, &|r| r["ip"] == ip.as_str()));
    let got = c
        .all(
            "cumulative",
            "sumip",
            &json!([filter("ip", ip.as_str())]),
            50,
            false,
        )
        .await;
    assert_eq!(got.len(), 1);
    // pyTenable's wasVuln filter is accepted.
    let got = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("wasVuln", "excludeWas")]),
            1000,
            false,
        )
        .await;
    assert_eq!(got.len(), cum.len());
    // Unknown filter → 403 / 146 with the list of valid filters.
    let (st, v) = c.analysis(&json!({"type":"vuln","sourceType":"cumulative","query":{"type":"vuln","tool":"vulndetails",
        "filters":[filter("something", "1")],"startOffset":0,"endOffset":5}})).await;
    assert_eq!(st, 403);
    assert_envelope(&v, 146);
    let msg = v["error_msg"].as_str().expect("msg");
    assert!(
        msg.contains("'something' is invalid")
            && msg.contains("valid filters: ")
            && msg.contains("lastSeen"),
        "{msg}"
    );
    // A bad time value is 146 too.
    let (st, v) = c.analysis(&json!({"type":"vuln","sourceType":"cumulative","query":{"type":"vuln","tool":"vulndetails",
        "filters":[filter("lastSeen", "yesterday")]}})).await;
    assert_eq!(st, 403);
    assert_envelope(&v, 146);
    sim.shutdown().await;
}

#[tokio::test]
async fn mutation_counts_are_exact() {
    let sim = start(sc_cfg(8, 40)).await;
    let c = Sc::keys(&sim);
    let before = sim.sc_truth();
    let hosts_before: HashSet<String> = c
        .all("cumulative", "sumip", &json!([]), 1000, false)
        .await
        .iter()
        .map(|h| h["ip"].as_str().unwrap_or_default().to_string())
        .collect();
    let m = sim.sc_mutate(80);
    assert!(
        m.fixed > 0 && m.reopened > 0 && m.new > 0 && m.moved_hosts > 0 && m.changed > 0,
        "{m:?}"
    );
    let after = sim.sc_truth();
    assert_eq!(
        after.cumulative,
        before.cumulative - m.fixed + m.reopened + m.new
    );
    assert_eq!(after.patched, before.patched + m.fixed - m.reopened);
    assert_eq!(after.open + after.reopened, after.cumulative);
    assert_eq!(after.hosts, before.hosts);
    let now = Utc::now().timestamp() + 5;
    let since = format!("{ANCHOR_S}-{now}");
    let seen = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("lastSeen", since.as_str())]),
            7,
            false,
        )
        .await;
    assert_eq!(seen.len() as u64, m.reopened + m.new + m.changed);
    let fixed = c
        .all(
            "patched",
            "vulndetails",
            &json!([filter("lastMitigated", since.as_str())]),
            7,
            false,
        )
        .await;
    assert_eq!(fixed.len() as u64, m.fixed);
    let total = c
        .all("cumulative", "vulndetails", &json!([]), 1000, false)
        .await;
    assert_eq!(total.len() as u64, after.cumulative);
    let hosts_after: HashSet<String> = c
        .all("cumulative", "sumip", &json!([]), 1000, false)
        .await
        .iter()
        .map(|h| h["ip"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        hosts_after.difference(&hosts_before).count() as u64,
        m.moved_hosts
    );
    // Same seed, same calls → same counts.
    let other = start(sc_cfg(8, 40)).await;
    assert_eq!(other.sc_mutate(80), m);
    other.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn recorded_vulndetails_file_is_served() {
    let mut cfg = sc_cfg(9, 3);
    cfg.sc.vulndetails_file = Some(sc_testdata("test_analysis_vulns_vulndetails_tool.json"));
    let sim = start(cfg).await;
    let text = std::fs::read_to_string(sc_testdata("test_analysis_vulns_vulndetails_tool.json"))
        .expect("cassette");
    let cas: Vec<Value> = serde_json::from_str(&text).expect("json");
    let recorded: Vec<Value> = cas
        .iter()
        .flat_map(|i| {
            i["response"]["body"]["response"]["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let truth = sim.sc_truth();
    assert_eq!(truth.cumulative, recorded.len() as u64);
    assert_eq!(truth.patched, 0);
    let c = Sc::keys(&sim);
    let rows = c
        .all("cumulative", "vulndetails", &json!([]), 3, false)
        .await;
    assert_eq!(rows, recorded);
    let info = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("severity", "0")]),
            3,
            false,
        )
        .await;
    assert_eq!(
        info.len(),
        recorded
            .iter()
            .filter(|r| r["severity"]["id"] == "0")
            .count()
    );
    let hosts = c.all("cumulative", "sumip", &json!([]), 3, false).await;
    assert_eq!(hosts.len() as u64, truth.hosts);
    assert_eq!(sim.sc_mutate(10), tenax_sim::ScMutation::default());
    sim.shutdown().await;

    // The recorded sumip rows are served as-is; a bad file fails the start.
    let mut cfg = sc_cfg(9, 3);
    cfg.sc.sumip_file = Some(sc_testdata("test_analysis_vulns_sumip_tool.json"));
    let sim = start(cfg).await;
    let rows = Sc::keys(&sim)
        .all("cumulative", "sumip", &json!([]), 2, false)
        .await;
    assert_eq!(rows.len(), 10);
    assert_eq!(
        rows[0]["policyName"],
        "3ae050e2-486c-5c1a-a6a5-45305557cec3-621/Full Safe Scan"
    );
    sim.shutdown().await;
    let mut cfg = sc_cfg(9, 3);
    cfg.sc.vulndetails_file = Some(sc_testdata("does-not-exist.json"));
    assert!(Sim::start(cfg).await.is_err());
}

#[tokio::test]
async fn generation_is_deterministic() {
    let a = start(sc_cfg(10, 15)).await;
    let b = start(sc_cfg(10, 15)).await;
    let d = start(sc_cfg(11, 15)).await;
    assert_eq!(a.sc_truth(), b.sc_truth());
    let rows = |s: &Sim| {
        let c = Sc::keys(s);
        async move {
            c.all("cumulative", "vulndetails", &json!([]), 1000, false)
                .await
        }
    };
    let (ra, rb, rd) = (rows(&a).await, rows(&b).await, rows(&d).await);
    assert_eq!(ra, rb);
    assert_ne!(ra, rd);
    for s in [a, b, d] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn sc_faults() {
    let mut cfg = sc_cfg(12, 10);
    cfg.faults = "sc-short:page=2,sc-slow:ms=1"
        .parse::<Faults>()
        .expect("spec");
    let sim = start(cfg).await;
    let c = Sc::keys(&sim);
    let body = json!({"type":"vuln","sourceType":"cumulative","query":{"type":"vuln","tool":"vulndetails","filters":[],"startOffset":0,"endOffset":5}});
    let n = |v: &Value| v["response"]["results"].as_array().map_or(0, Vec::len);
    let (_, v1) = c.analysis(&body).await;
    let (_, v2) = c.analysis(&body).await;
    let (_, v3) = c.analysis(&body).await;
    assert_eq!((n(&v1), n(&v2), n(&v3)), (5, 4, 5));
    assert_eq!(v2["response"]["returnedRecords"], 4);
    assert_eq!(
        v2["response"]["totalRecords"],
        v1["response"]["totalRecords"]
    );
    sim.shutdown().await;

    let mut cfg = sc_cfg(12, 3);
    cfg.faults = "sc-5xx:p=1".parse::<Faults>().expect("spec");
    let sim = start(cfg).await;
    let resp = http()
        .get(format!("{}/rest/system", sim.sc_url()))
        .send()
        .await
        .expect("sent");
    assert!(resp.status().is_server_error());
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    // VM paths are untouched by sc- faults.
    let resp = http()
        .get(format!("{}/server/status", sim.vm_url()))
        .send()
        .await
        .expect("sent");
    assert!(!resp.status().is_server_error());
    assert!(sim.stats().server_errors >= 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn hosts_inventory() {
    let sim = start(sc_cfg(13, 20)).await;
    let truth = sim.sc_truth();
    let c = Sc::keys(&sim);
    // Plain list: an array of the default fields.
    let (st, v) = c.get("/hosts").await;
    assert_eq!(st, 200, "{v}");
    let all = v["response"].as_array().expect("array").clone();
    assert_eq!(all.len() as u64, truth.hosts);
    assert!(
        all.iter()
            .all(|h| h["id"].is_string() && h["ipAddress"].is_string() && h["uuid"].is_string())
    );
    // `uuid` is the rows' hostUUID (empty for IP-only hosts); tenableUUID is always set.
    let uuids: HashSet<&str> = all
        .iter()
        .map(|h| h["uuid"].as_str().expect("uuid"))
        .filter(|u| !u.is_empty())
        .collect();
    let hosts = sim.sc_hosts();
    let want: HashSet<&str> = hosts
        .iter()
        .map(|h| h.host_uuid.as_str())
        .filter(|u| !u.is_empty())
        .collect();
    assert_eq!(uuids, want);
    assert!(want.len() < hosts.len(), "some hosts are IP-only");
    let tenable: HashSet<&str> = all
        .iter()
        .map(|h| h["tenableUUID"].as_str().expect("tenableUUID"))
        .filter(|u| !u.is_empty())
        .collect();
    assert_eq!(tenable.len(), all.len());
    // Paginated shape, windows and fields.
    let (_, v) = c
        .get("/hosts?pagination=true&startOffset=5&endOffset=12&fields=ipAddress,repository")
        .await;
    let r = &v["response"];
    assert_eq!(r["totalRecords"], truth.hosts.to_string());
    assert_eq!(r["returnedRecords"], 7);
    assert_eq!(r["results"][0]["ipAddress"], all[5]["ipAddress"]);
    assert!(r["results"][0]["repository"]["id"].is_string() && r["results"][0].get("os").is_none());
    // Search by IP.
    let ip = all[3]["ipAddress"].as_str().expect("ip");
    let mut plain = sc_cfg(13, 20);
    plain.sc.hosts_plain_array = true;
    let plain = start(plain).await;
    let (_, v) = Sc::keys(&plain)
        .get("/hosts?pagination=true&startOffset=5&endOffset=12")
        .await;
    let page = v["response"].as_array().expect("a plain array");
    assert_eq!(page.len(), 7);
    assert_eq!(page[0]["ipAddress"], all[5]["ipAddress"]);
    plain.shutdown().await;
    let (st, v) = c
        .send(c.req(reqwest::Method::POST, "/hosts/search?pagination=true").json(
            &json!({"filters": {"and": [{"property": "ip", "operator": "eq", "value": ip}]}}),
        ))
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["response"]["totalRecords"], "1");
    assert_eq!(v["response"]["results"][0]["uuid"], all[3]["uuid"]);
    sim.shutdown().await;
    // Not there before 6.0.
    let mut cfg = sc_cfg(13, 3);
    cfg.sc.version = "5.20.0".into();
    let sim = start(cfg).await;
    let (st, v) = Sc::keys(&sim).get("/hosts").await;
    assert_eq!(st, 404);
    assert_envelope(&v, 147);
    sim.shutdown().await;
}

/// Expands an `ipList` (`a`, `a-b`, one per line or comma-separated) into addresses.
fn expand_ip_list(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    for item in list
        .split(['\n', ','])
        .map(str::trim)
        .filter(|x| !x.is_empty())
    {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let a: std::net::Ipv4Addr = a.trim().parse().expect("ip");
        let b: std::net::Ipv4Addr = b.trim().parse().expect("ip");
        for n in u32::from(a)..=u32::from(b) {
            out.push(std::net::Ipv4Addr::from(n).to_string());
        }
    }
    out
}

#[tokio::test]
async fn asset_lists_and_membership() {
    let sim = start(sc_cfg(17, 60)).await;
    let c = Sc::keys(&sim);
    let hosts = sim.sc_hosts();
    assert_eq!(hosts.len(), 60);
    // The list of lists: usable and manageable, default fields.
    let (st, v) = c.get("/asset").await;
    assert_eq!(st, 200, "{v}");
    assert_envelope(&v, 0);
    let ids = |key: &str, v: &Value| -> Vec<String> {
        v["response"][key]
            .as_array()
            .expect(key)
            .iter()
            .map(|a| a["id"].as_str().expect("id").to_string())
            .collect()
    };
    assert_eq!(ids("usable", &v), ["0", "1", "2", "3", "4", "5"]);
    assert_eq!(ids("manageable", &v), ["1", "2", "3", "4", "5", "6"]);
    let first = v["response"]["usable"][1].as_object().expect("row");
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["description", "id", "name", "status", "type"]);
    let (_, v) = c
        .get("/asset?fields=id,name,type&excludeAllDefined=true&usable=true")
        .await;
    assert_eq!(ids("usable", &v), ["1", "2", "3", "4", "5"]);
    assert!(v["response"].get("manageable").is_none());
    assert_eq!(v["response"]["usable"][0]["type"], "dynamic");
    assert!(v["response"]["usable"][0]["uuid"].is_string());
    // Each list's viewableIPs, expanded, is exactly the ground truth (per repository).
    let mut non_empty = 0;
    for id in 1..=6 {
        let (st, v) = c
            .get(&format!("/asset/{id}?fields=id,name,type,viewableIPs"))
            .await;
        assert_eq!(st, 200, "{v}");
        let name = v["response"]["name"].as_str().expect("name").to_string();
        let mut got: Vec<(String, String)> = Vec::new();
        for entry in v["response"]["viewableIPs"]
            .as_array()
            .expect("viewableIPs")
        {
            let repo = entry["repository"]["id"].as_str().expect("repository id");
            let ips = expand_ip_list(entry["ipList"].as_str().expect("ipList"));
            assert_eq!(entry["ipCount"], ips.len().to_string());
            got.extend(ips.into_iter().map(|ip| (repo.to_string(), ip)));
        }
        got.sort();
        let mut want: Vec<(String, String)> = hosts
            .iter()
            .filter(|h| h.asset_lists.contains(&name))
            .map(|h| (h.repository_id.clone(), h.ip.clone()))
            .collect();
        want.sort();
        want.dedup();
        assert_eq!(got, want, "list {id} {name}");
        if !want.is_empty() {
            non_empty += 1;
        }
    }
    assert!(non_empty >= 4, "most lists have members");
    assert!(
        hosts
            .iter()
            .all(|h| !h.asset_lists.iter().any(|n| n == "All Defined Ranges"))
    );
    // Unknown id.
    let (st, v) = c.get("/asset/99").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 147);
    // Unauthenticated.
    let (st, v) = Sc::with(&sim, Auth::None).get("/asset").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 12);
    sim.shutdown().await;
}

#[tokio::test]
async fn recorded_asset_lists_are_served() {
    let mut cfg = sc_cfg(3, 5);
    cfg.sc.asset_lists_file = Some(sc_testdata("test_asset_lists_list_success.json"));
    let sim = start(cfg).await;
    let c = Sc::keys(&sim);
    let (st, v) = c.get("/asset?fields=id,name,type").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["response"]["usable"].as_array().expect("usable").len(),
        37
    );
    assert_eq!(
        v["response"]["manageable"]
            .as_array()
            .expect("manageable")
            .len(),
        36
    );
    assert_eq!(v["response"]["usable"][3]["name"], "Windows Hosts");
    let (st, v) = c.get("/asset/3?fields=id,name,viewableIPs").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["response"]["viewableIPs"], json!([]));
    sim.shutdown().await;
    let mut cfg = sc_cfg(3, 5);
    cfg.sc.asset_lists_file = Some(sc_testdata("test_analysis_vulns_sumip_tool.json"));
    let err = Sim::start(cfg).await.expect_err("not an asset-list file");
    assert!(
        err.to_string().contains("no GET /rest/asset answer"),
        "{err}"
    );
}

async fn login(sim: &Sim) -> Sc {
    let resp = http()
        .post(format!("{}/rest/token", sim.sc_url()))
        .json(&json!({"username": tenax_sim::DEFAULT_SC_USERNAME, "password": tenax_sim::DEFAULT_SC_PASSWORD, "releaseSession": false}))
        .send()
        .await
        .expect("sent");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("TNS_SESSIONID="))
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_string();
    let v: Value = resp.json().await.expect("json");
    let token = v["response"]["token"].as_u64().expect("token").to_string();
    Sc::with(sim, Auth::Session { token, cookie })
}

#[tokio::test]
async fn session_tokens_expire_after_n_requests() {
    let mut cfg = sc_cfg(5, 3);
    cfg.faults = "sc-expire:after=2".parse().expect("spec");
    let sim = start(cfg).await;
    let s = login(&sim).await;
    assert_eq!(s.get("/currentUser").await.0, 200);
    assert_eq!(s.get("/system").await.0, 200);
    let (st, v) = s.get("/currentUser").await;
    assert_eq!(st, 403);
    assert_envelope(&v, 12);
    let (st, _) = s.get("/currentUser").await;
    assert_eq!(st, 403, "an expired token stays dead");
    let n = sim.sc_sessions();
    assert_eq!((n.logins, n.open, n.expired), (1, 0, 1));
    // API keys are not sessions: they never expire.
    let k = Sc::keys(&sim);
    for _ in 0..4 {
        assert_eq!(k.get("/currentUser").await.0, 200);
    }
    // A fresh login works again; logout closes it.
    let s = login(&sim).await;
    assert_eq!(s.get("/currentUser").await.0, 200);
    assert_eq!(
        s.send(s.req(reqwest::Method::DELETE, "/token")).await.0,
        200
    );
    let n = sim.sc_sessions();
    assert_eq!((n.logins, n.open, n.expired, n.logouts), (2, 0, 1, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_moved_host_answers_on_its_new_address() {
    let sim = start(sc_cfg(19, 30)).await;
    let c = Sc::keys(&sim);
    let before = sim.sc_hosts();
    let h = before.iter().find(|h| h.dhcp).expect("a DHCP host").clone();
    let m = sim.sc_move_host(&h.ip).expect("moved");
    assert_eq!(m.old_ip, h.ip);
    assert!(m.new_ip.starts_with("172.20."), "{m:?}");
    assert_eq!(m.cumulative, h.cumulative);
    assert!(sim.sc_move_host("192.0.2.254").is_none());
    let after = sim.sc_hosts();
    let moved: Vec<_> = after.iter().filter(|x| x.ip == m.new_ip).collect();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].host_uuid, h.host_uuid);
    assert!(after.iter().all(|x| x.ip != m.old_ip));
    let rows = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("ip", m.new_ip.as_str())]),
            50,
            false,
        )
        .await;
    assert_eq!(rows.len() as u64, m.cumulative);
    let old = c
        .all(
            "cumulative",
            "vulndetails",
            &json!([filter("ip", m.old_ip.as_str())]),
            50,
            false,
        )
        .await;
    assert!(old.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn asset_list_rows_have_the_recorded_key_structure() {
    let text = std::fs::read_to_string(sc_testdata("test_asset_lists_list_success.json"))
        .expect("recording");
    let rec: Value = serde_json::from_str(&text).expect("json");
    let shape = |rows: &Value| -> std::collections::BTreeSet<(String, &'static str)> {
        rows.as_array()
            .expect("rows")
            .iter()
            .flat_map(|r| r.as_object().expect("row").iter())
            .map(|(k, v)| {
                let t = match v {
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    _ => "other",
                };
                (k.clone(), t)
            })
            .collect()
    };
    let real = &rec[0]["response"]["body"]["response"];
    let sim = start(sc_cfg(23, 10)).await;
    let (_, v) = Sc::keys(&sim).get("/asset").await;
    for key in ["usable", "manageable"] {
        assert_eq!(shape(&v["response"][key]), shape(&real[key]), "{key}");
    }
    sim.shutdown().await;
}
