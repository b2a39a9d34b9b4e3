//! OT Security end to end against the simulator: API-key and robot (mutual TLS) syncs store
//! exact ground-truth counts; enrollment (cert → robot create → sync); every TLS and auth
//! failure a distinct one-line error; pinning and `ca_file` (a CA:TRUE server certificate
//! too); paging 1/3/200; a GraphQL error mid-paging; changed data between runs; a CONNECT
//! proxy in the middle of mutual TLS.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tenax_source::retry::RetryPolicy;
use tenax_source::secret::{ExposeSecret, SecretString};
use tenax_source_ot::enroll::{self, RobotRequest, Role};
use tenax_source_ot::{ASSETS_KEY, EVENTS_KEY, OtConfig, OtSource};
use tenax_store::{AssetFilter, EventFilter, FindingFilter, RunMode, RunStatus, SqliteStore};
use tenax_sync::AnySource;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Env;

async fn ot_env(assets: usize, faults: &str, cert: tenax_sim::ServerCertMode) -> (Env, PathBuf) {
    env_with(tenax_sim::SimConfig {
        seed: 5,
        assets: 10,
        faults: faults.parse().expect("valid fault spec"),
        ot: tenax_sim::OtOptions {
            assets,
            server_cert: cert,
            ..tenax_sim::OtOptions::default()
        },
        ..tenax_sim::SimConfig::default()
    })
    .await
}

/// A simulator with this configuration, a fresh store and the OT CA written to a file.
pub(crate) async fn env_with(cfg: tenax_sim::SimConfig) -> (Env, PathBuf) {
    let sim = tenax_sim::Sim::start(cfg).await.expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path(&dir.path().join("t.db")).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ot_ca_pem()).unwrap();
    (
        Env {
            sim,
            store: Some(Box::new(store)),
            _dir: dir,
        },
        ca,
    )
}

pub(crate) fn api_cfg(e: &Env, ca: &Path) -> OtConfig {
    let mut c = OtConfig::new("plant-a", &e.sim.ot_url());
    c.api_key = Some(e.sim.ot_api_key().as_str().into());
    c.ca_file = Some(ca.to_owned());
    c.timeout_secs = 30;
    c
}

pub(crate) fn source(c: &OtConfig) -> Result<AnySource, String> {
    let s = c.resolve()?;
    Ok(AnySource::Ot(
        OtSource::new(s)
            .map_err(|e| e.to_string())?
            .with_retry(RetryPolicy::fast()),
    ))
}

async fn check(c: &OtConfig) -> Result<Vec<String>, String> {
    source(c)?.check().await.map_err(|e| e.to_string())
}

fn stored(e: &Env) -> (u64, u64, u64) {
    let s = e.store();
    let src = vec!["plant-a".to_owned()];
    (
        s.count_assets(&AssetFilter {
            sources: src.clone(),
            ..AssetFilter::default()
        })
        .unwrap(),
        s.count_findings(&FindingFilter {
            sources: src.clone(),
            ..FindingFilter::default()
        })
        .unwrap(),
        s.count_events(&EventFilter {
            sources: src,
            ..EventFilter::default()
        })
        .unwrap(),
    )
}

/// A robot's cert.pem + key.pem written by the enrollment code (`tenax ot cert`).
fn robot_files(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let w = enroll::write_cert(&dir.join(name), 30, name).unwrap();
    (w.cert_file, w.key_file)
}

async fn register(e: &Env, ca: &Path, name: &str, cert: &Path, key: &Path) -> String {
    enroll::create_robot(&RobotRequest {
        url: e.sim.ot_url(),
        token: SecretString::from(e.sim.ot_support_token()),
        name: name.into(),
        role: Role::Reader,
        cert_file: cert.to_owned(),
        key_file: Some(key.to_owned()),
        ca_file: Some(ca.to_owned()),
        server_cert_sha256: None,
        insecure: false,
        proxy: None,
    })
    .await
    .unwrap()
}

fn robot_cfg(e: &Env, ca: &Path, robot: &str, cert: &Path, key: &Path) -> OtConfig {
    let mut c = OtConfig::new("plant-a", &e.sim.ot_url());
    c.robot = Some(robot.into());
    c.cert_file = Some(cert.to_owned());
    c.key_file = Some(key.to_owned());
    c.ca_file = Some(ca.to_owned());
    c.timeout_secs = 30;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_sync_stores_exact_ground_truth() {
    let (mut e, ca) = ot_env(60, "", tenax_sim::ServerCertMode::CaSigned).await;
    let truth = e.sim.ot_truth();
    assert!(truth.assets > 0 && truth.findings > 0 && truth.events > 0 && truth.hidden_assets > 0);
    let src = source(&api_cfg(&e, &ca)).unwrap();
    let lines = src.check().await.unwrap();
    assert!(lines[0].contains("API key accepted"), "{lines:?}");
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.mode, RunMode::Full);
    assert_eq!(r.assets.expected, Some(truth.assets));
    assert_eq!(r.findings.expected, Some(truth.findings));
    assert_eq!(r.events.expected, Some(truth.events));
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
    // Hidden assets are not read.
    let s = e.store();
    let ids: Vec<String> = {
        let mut v = Vec::new();
        s.for_each_asset(&AssetFilter::default(), &mut |a| {
            v.push(a.id);
            Ok(())
        })
        .unwrap();
        v.sort();
        v
    };
    assert_eq!(ids, truth.asset_ids);
    // The windows hold the newest lastUpdate / time seen.
    let w = s.checkpoint("plant-a", ASSETS_KEY).unwrap().unwrap();
    let newest = tenax_model::parse_timestamp(&truth.max_last_update)
        .unwrap()
        .timestamp();
    assert_eq!(w["since"], newest);
    assert!(s.checkpoint("plant-a", EVENTS_KEY).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_enrollment_then_mutual_tls_sync() {
    let (mut e, ca) = ot_env(30, "", tenax_sim::ServerCertMode::CaSigned).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = robot_files(dir.path(), "robot1");
    let line = register(&e, &ca, "robot1", &cert, &key).await;
    assert!(
        line.starts_with("robot `robot1` registered as ReaderRole on https://")
            && line.ends_with("read over mutual TLS works (assets are readable)"),
        "{line}"
    );
    let fp = tenax_source_ot::tls::load_identity(&cert, &key)
        .unwrap()
        .fingerprint();
    let robots = e.sim.ot_robots();
    assert_eq!(robots.len(), 1);
    assert_eq!(robots[0].role, "ReaderRole");
    assert_eq!(
        tenax_source_ot::Fingerprint::parse(&robots[0].sha256).unwrap(),
        fp
    );
    let c = robot_cfg(&e, &ca, "robot1", &cert, &key);
    let lines = check(&c).await.unwrap();
    assert!(
        lines[0].contains("robot `robot1` accepted over mutual TLS"),
        "{lines:?}"
    );
    let truth = e.sim.ot_truth();
    let r = e.sync(&source(&c).unwrap(), false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
    // Registering the same name again: the appliance's 409 as one line.
    let again = enroll::create_robot(&RobotRequest {
        url: e.sim.ot_url(),
        token: SecretString::from(e.sim.ot_support_token()),
        name: "robot1".into(),
        role: Role::Reader,
        cert_file: cert.clone(),
        key_file: None,
        ca_file: Some(ca.clone()),
        server_cert_sha256: None,
        insecure: false,
        proxy: None,
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        again.starts_with("POST /v1/robots: HTTP 409: a robot named `robot1` already exists"),
        "{again}"
    );
    // A wrong support token.
    let bad = enroll::create_robot(&RobotRequest {
        url: e.sim.ot_url(),
        token: SecretString::from("SEKRETwrongtoken".to_owned()),
        name: "robot9".into(),
        role: Role::Admin,
        cert_file: cert.clone(),
        key_file: None,
        ca_file: Some(ca.clone()),
        server_cert_sha256: None,
        insecure: false,
        proxy: None,
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("refused the support token") && !bad.contains("SEKRET"),
        "{bad}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_and_tls_failure_is_its_own_line() {
    let (e, ca) = ot_env(10, "", tenax_sim::ServerCertMode::CaSigned).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = robot_files(dir.path(), "robot1");
    register(&e, &ca, "robot1", &cert, &key).await;
    let key_pem = std::fs::read_to_string(&key).unwrap();
    let fragment = key_pem.lines().nth(3).unwrap()[..32].to_owned();

    // A certificate the appliance never registered.
    let (other_cert, other_key) = robot_files(dir.path(), "other");
    let wrong_cert = check(&robot_cfg(&e, &ca, "robot1", &other_cert, &other_key))
        .await
        .unwrap_err();
    // An expired certificate.
    let now = chrono::Utc::now().timestamp();
    let old = enroll::generate("robot1", now - 40 * 86_400, now - 86_400).unwrap();
    let old_dir = dir.path().join("old");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::write(old_dir.join("cert.pem"), &old.cert_pem).unwrap();
    std::fs::write(old_dir.join("key.pem"), old.key_pem.expose_secret()).unwrap();
    let expired = check(&robot_cfg(
        &e,
        &ca,
        "robot1",
        &old_dir.join("cert.pem"),
        &old_dir.join("key.pem"),
    ))
    .await
    .unwrap_err();
    // With TLS 1.3 the appliance's verdict arrives after the client's handshake is done and
    // can race the request: the message must not depend on who wins.
    for _ in 0..10 {
        let again = check(&robot_cfg(
            &e,
            &ca,
            "robot1",
            &old_dir.join("cert.pem"),
            &old_dir.join("key.pem"),
        ))
        .await
        .unwrap_err();
        assert_eq!(again, expired);
    }
    // The right certificate, the wrong robot name.
    let wrong_name = check(&robot_cfg(&e, &ca, "robot2", &cert, &key))
        .await
        .unwrap_err();
    // A wrong API key.
    let mut c = api_cfg(&e, &ca);
    c.api_key = Some("SEKRETnotthekey".into());
    let wrong_key = check(&c).await.unwrap_err();
    // The appliance's CA not trusted.
    let mut c = api_cfg(&e, &ca);
    c.ca_file = None;
    let untrusted = check(&c).await.unwrap_err();
    // A pin of another certificate.
    let mut c = api_cfg(&e, &ca);
    c.ca_file = None;
    c.server_cert_sha256 = Some("00".repeat(32));
    let pin_mismatch = check(&c).await.unwrap_err();

    let all = [
        ("wrong cert", &wrong_cert),
        ("expired", &expired),
        ("wrong name", &wrong_name),
        ("wrong key", &wrong_key),
        ("untrusted", &untrusted),
        ("pin", &pin_mismatch),
    ];
    for (i, (what, msg)) in all.iter().enumerate() {
        assert!(!msg.contains('\n'), "{what}: {msg}");
        assert!(
            !msg.contains("SEKRET") && !msg.contains(&fragment),
            "{what}: {msg}"
        );
        assert!(!msg.contains(&e.sim.ot_api_key()), "{what}: {msg}");
        for (other, m) in &all[i + 1..] {
            assert_ne!(msg, m, "{what} and {other} read the same");
        }
    }
    assert!(
        wrong_cert.contains("robot `robot1`")
            && wrong_cert.ends_with("(appliance: unknown robot certificate)"),
        "{wrong_cert}"
    );
    assert!(expired.contains("expired"), "{expired}");
    assert!(
        wrong_name.contains("robot `robot2`") && wrong_name.contains("robot name mismatch"),
        "{wrong_name}"
    );
    assert!(wrong_key.contains("refused the API key"), "{wrong_key}");
    assert!(
        untrusted.contains("server certificate not trusted (issuer unknown): set ca_file"),
        "{untrusted}"
    );
    assert!(
        pin_mismatch.contains(&format!("expected {}", "00:".repeat(31) + "00"))
            && pin_mismatch.contains(&format!(
                "presented {}",
                tenax_source_ot::Fingerprint::parse(&e.sim.ot_server_cert_sha256()).unwrap()
            )),
        "{pin_mismatch}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_true_self_signed_appliance_needs_the_pin() {
    let (mut e, self_pem) = ot_env(20, "", tenax_sim::ServerCertMode::SelfSignedCa).await;
    let mut c = api_cfg(&e, &self_pem);
    c.ca_file = None;
    let no_ca = check(&c).await.unwrap_err();
    assert!(
        no_ca.contains("CA:TRUE") && no_ca.contains("server_cert_sha256"),
        "{no_ca}"
    );
    c.ca_file = Some(self_pem.clone());
    let with_ca = check(&c).await.unwrap_err();
    assert!(
        with_ca.contains("CaUsedAsEndEntity") && with_ca.contains("pin it"),
        "{with_ca}"
    );
    c.ca_file = None;
    c.server_cert_sha256 = Some(e.sim.ot_server_cert_sha256());
    let lines = check(&c).await.unwrap();
    assert!(
        lines[1].starts_with("server certificate pinned"),
        "{lines:?}"
    );
    let truth = e.sim.ot_truth();
    let r = e.sync(&source(&c).unwrap(), false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
    // Robot mode with the pin: the preconfigured rustls path with the client certificate.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = robot_files(dir.path(), "robot1");
    let line = enroll::create_robot(&RobotRequest {
        url: e.sim.ot_url(),
        token: SecretString::from(e.sim.ot_support_token()),
        name: "robot1".into(),
        role: Role::Reader,
        cert_file: cert.clone(),
        key_file: Some(key.clone()),
        ca_file: None,
        server_cert_sha256: Some(e.sim.ot_server_cert_sha256()),
        insecure: false,
        proxy: None,
    })
    .await
    .unwrap();
    assert!(
        line.ends_with("read over mutual TLS works (assets are readable)"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_sizes_1_3_and_200_store_the_same_truth() {
    for ps in [1u32, 3, 200] {
        let (mut e, ca) = ot_env(12, "", tenax_sim::ServerCertMode::CaSigned).await;
        let truth = e.sim.ot_truth();
        let mut c = api_cfg(&e, &ca);
        c.page_size = ps;
        let r = e.sync(&source(&c).unwrap(), false).await;
        assert_eq!(
            r.status,
            RunStatus::Succeeded,
            "page size {ps}: {}",
            r.message
        );
        assert_eq!(
            stored(&e),
            (truth.assets, truth.findings, truth.events),
            "page size {ps}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_come_from_plugin_hits_on_older_appliances() {
    let cfg = tenax_sim::SimConfig {
        seed: 9,
        assets: 10,
        ot: tenax_sim::OtOptions {
            assets: 25,
            findings_query: false,
            ..tenax_sim::OtOptions::default()
        },
        ..tenax_sim::SimConfig::default()
    };
    let sim = tenax_sim::Sim::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ot_ca_pem()).unwrap();
    let mut e = Env {
        sim,
        store: Some(Box::new(
            SqliteStore::open_path(&dir.path().join("t.db")).unwrap(),
        )),
        _dir: dir,
    };
    let truth = e.sim.ot_truth();
    let src = source(&api_cfg(&e, &ca)).unwrap();
    let lines = src.check().await.unwrap();
    assert!(lines.iter().any(|l| l.contains("plugin_hits")), "{lines:?}");
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_error_mid_paging_is_partial_and_keeps_the_window() {
    let (mut e, ca) = ot_env(30, "ot-error:page=3", tenax_sim::ServerCertMode::CaSigned).await;
    let mut c = api_cfg(&e, &ca);
    c.page_size = 5;
    let src = source(&c).unwrap();
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Partial, "{}", r.message);
    assert!(
        r.message.contains("INTERNAL_SERVER_ERROR") && r.message.contains("graphql `assets`"),
        "{}",
        r.message
    );
    assert!(!r.message.contains('\n'));
    assert_eq!(e.store().checkpoint("plant-a", ASSETS_KEY).unwrap(), None);
    // The next run reads the whole window again and succeeds.
    let truth = e.sim.ot_truth();
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.mode, RunMode::Full);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_data_between_runs_no_duplicates_no_misses() {
    let (mut e, ca) = ot_env(40, "", tenax_sim::ServerCertMode::CaSigned).await;
    let mut c = api_cfg(&e, &ca);
    c.page_size = 7;
    let src = source(&c).unwrap();
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    let m = e.sim.ot_mutate(6);
    assert!(m.changed_assets + m.new_assets > 0 && m.new_events > 0);
    let truth = e.sim.ot_truth();
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.mode, RunMode::Incremental);
    // The window (with its overlap) holds at least what changed; nothing is duplicated.
    assert!(r.assets.stored >= m.changed_assets + m.new_assets);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
    let mut fixed = 0;
    e.store()
        .for_each_finding(&FindingFilter::default(), &mut |f| {
            if f.state == tenax_model::FindingState::Fixed {
                fixed += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(fixed, truth.resolved_findings);
}

/// An HTTP CONNECT proxy that tunnels bytes and records each target.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let t = targets.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let t = t.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut b).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&b[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head).to_string();
                let mut parts = text.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                t.lock().unwrap().push(target.to_owned());
                let Ok(mut up) = tokio::net::TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                }
            });
        }
    });
    (format!("http://{addr}"), targets, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_sync_through_a_connect_proxy() {
    let (mut e, ca) = ot_env(15, "", tenax_sim::ServerCertMode::CaSigned).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = robot_files(dir.path(), "robot1");
    register(&e, &ca, "robot1", &cert, &key).await;
    let (proxy, targets, task) = connect_proxy().await;
    let mut c = robot_cfg(&e, &ca, "robot1", &cert, &key);
    c.proxy = Some(tenax_source::http::ProxyUrl(proxy));
    let truth = e.sim.ot_truth();
    let r = e.sync(&source(&c).unwrap(), false).await;
    task.abort();
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
    let host = e.sim.ot_url().trim_start_matches("https://").to_owned();
    let t = targets.lock().unwrap().clone();
    assert!(!t.is_empty() && t.iter().all(|x| *x == host), "{t:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_appliance_pages_served_by_the_simulator_sync_as_recorded() {
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/ot");
    let cfg = tenax_sim::SimConfig {
        seed: 3,
        assets: 10,
        ot: tenax_sim::OtOptions {
            assets_file: Some(testdata.join("assets_page1_response.recorded.json")),
            plugins_file: Some(testdata.join("plugins_page1_response.recorded.json")),
            events_file: Some(testdata.join("events_page1_response.recorded.json")),
            ..tenax_sim::OtOptions::default()
        },
        ..tenax_sim::SimConfig::default()
    };
    let sim = tenax_sim::Sim::start(cfg).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sim.ot_ca_pem()).unwrap();
    let mut e = Env {
        sim,
        store: Some(Box::new(
            SqliteStore::open_path(&dir.path().join("t.db")).unwrap(),
        )),
        _dir: dir,
    };
    let mut c = api_cfg(&e, &ca);
    // Recorded in January 2023: reach back far enough for the first run.
    c.lookback_days = 3650;
    c.page_size = 1;
    let r = e.sync(&source(&c).unwrap(), false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(stored(&e), (2, 0, 2));
    let mut assets = Vec::new();
    e.store()
        .for_each_asset(&AssetFilter::default(), &mut |a| {
            assets.push(a);
            Ok(())
        })
        .unwrap();
    assets.sort_by(|a, b| a.name.cmp(&b.name));
    let plc = assets
        .iter()
        .find(|a| a.name.as_deref() == Some("Sith"))
        .unwrap();
    assert_eq!(plc.id, "ffa38748-e7a1-4374-b6e0-4c4d79b19138");
    assert_eq!(plc.ipv4s, ["10.100.101.152"]);
    assert_eq!(plc.asset_type.as_deref(), Some("plc"));
    assert_eq!(plc.firmware.as_deref(), Some("13.071"));
    // The simulator re-serializes recorded numbers (serde_json without `float_roundtrip`
    // may move the last digit); the connector's own parse is exact (see source-ot's tests).
    assert!((plc.risk.unwrap() - 53.134920602608716).abs() < 1e-9);
    assert_eq!(
        plc.tags.get("backplane").map(String::as_str),
        Some("Backplane #17")
    );
    // The window stands at the newest recorded lastUpdate.
    let w = e
        .store()
        .checkpoint("plant-a", ASSETS_KEY)
        .unwrap()
        .unwrap();
    assert_eq!(
        w["since"],
        tenax_model::parse_timestamp("2023-01-19T05:47:28Z")
            .unwrap()
            .timestamp()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_server_errors_are_retried_to_exact_counts() {
    let (mut e, ca) = ot_env(
        40,
        "ot-429:every=4:after=0,ot-5xx:p=0.2",
        tenax_sim::ServerCertMode::CaSigned,
    )
    .await;
    let mut c = api_cfg(&e, &ca);
    c.page_size = 9;
    c.findings = tenax_source_ot::FindingsMode::PluginHits;
    let truth = e.sim.ot_truth();
    let r = e.sync(&source(&c).unwrap(), false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(stored(&e), (truth.assets, truth.findings, truth.events));
}
