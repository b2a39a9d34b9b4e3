//! TLS against a stand-in appliance: pinning (a CA:TRUE self-signed server certificate too),
//! `ca_file`, robot mutual TLS (with and without a pin, and through an HTTP CONNECT proxy),
//! and each failure as its own one-line message without key material.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tenax_source::SourceError;
use tenax_source_ot::{OtConfig, OtSource, PROBE_QUERY};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::appliance::{self, Rules, ca_and_leaf, self_signed};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

/// A robot's key pair written to `dir` (by the enrollment code, like `tenax ot cert`).
fn robot_files(dir: &Path, days_valid: i64) -> (PathBuf, PathBuf, tenax_source_ot::Fingerprint) {
    let now = chrono::Utc::now().timestamp();
    let g = if days_valid > 0 {
        tenax_source_ot::enroll::generate("robot1", now - 60, now + days_valid * 86_400).unwrap()
    } else {
        tenax_source_ot::enroll::generate("robot1", now - 10 * 86_400, now - 86_400).unwrap()
    };
    use tenax_source::secret::ExposeSecret;
    let sub = dir.join(format!("robot{days_valid}"));
    std::fs::create_dir_all(&sub).unwrap();
    (
        write(&sub, "cert.pem", &g.cert_pem),
        write(&sub, "key.pem", g.key_pem.expose_secret()),
        g.fingerprint,
    )
}

fn api_cfg(url: &str) -> OtConfig {
    let mut c = OtConfig::new("plant-a", url);
    c.api_key = Some("SECRETapikey".into());
    c.timeout_secs = 20;
    c
}

fn robot_cfg(url: &str, cert: &Path, key: &Path) -> OtConfig {
    let mut c = OtConfig::new("plant-a", url);
    c.robot = Some("robot1".into());
    c.cert_file = Some(cert.to_owned());
    c.key_file = Some(key.to_owned());
    c.timeout_secs = 20;
    c
}

async fn probe(c: &OtConfig) -> Result<usize, String> {
    let s = c.resolve()?;
    let src = OtSource::new(s)
        .map_err(|e| e.to_string())?
        .with_retry(tenax_source::retry::RetryPolicy::fast());
    let page = src
        .client()
        .graphql("assets", PROBE_QUERY, json!({}))
        .await
        .map_err(|e| SourceError::from(e).to_string())?;
    Ok(page.connection().map_err(|e| e.to_string())?.nodes.len())
}

fn api_rules() -> Rules {
    Rules {
        api_key: Some("SECRETapikey".into()),
        ..Rules::default()
    }
}

fn assert_clean(msg: &str, key_pem: Option<&str>) {
    assert!(!msg.contains('\n'), "{msg}");
    assert!(!msg.contains("SECRET"), "{msg}");
    if let Some(k) = key_pem {
        let frag = &k.lines().nth(2).unwrap()[..30];
        assert!(!msg.contains(frag), "{msg}");
    }
}

#[tokio::test]
async fn pin_accepts_a_ca_true_self_signed_appliance_certificate() {
    let server = self_signed(true);
    let app = appliance::start(&server, api_rules(), appliance::data(3)).await;
    let mut c = api_cfg(&app.url());
    // With verification and no CA: refused, with the advice to pin.
    let e = probe(&c).await.unwrap_err();
    assert!(
        e.starts_with("POST /graphql: server certificate not trusted: the appliance presents a self-signed certificate marked CA:TRUE"),
        "{e}"
    );
    assert!(
        e.contains("server_cert_sha256") && e.contains("CaUsedAsEndEntity"),
        "{e}"
    );
    assert_clean(&e, None);
    // ca_file cannot help a CA:TRUE end-entity certificate: the message says to pin.
    let dir = tempfile::tempdir().unwrap();
    c.ca_file = Some(write(dir.path(), "self.pem", &server.cert_pem));
    let e = probe(&c).await.unwrap_err();
    assert!(
        e.contains("CaUsedAsEndEntity") && e.contains("pin it"),
        "{e}"
    );
    // The pin (any spelling) is accepted.
    c.ca_file = None;
    c.server_cert_sha256 = Some(server.fingerprint().to_string().to_lowercase());
    assert_eq!(probe(&c).await.unwrap(), 1);
    c.server_cert_sha256 = Some(server.fingerprint().to_string().replace(':', ""));
    assert_eq!(probe(&c).await.unwrap(), 1);
    // Another certificate's pin: both fingerprints in the message.
    let other = self_signed(false);
    c.server_cert_sha256 = Some(other.fingerprint().to_string());
    let e = probe(&c).await.unwrap_err();
    assert_eq!(
        e,
        format!(
            "POST /graphql: server certificate does not match server_cert_sha256: expected {}, \
             the appliance presented {} (if the appliance's certificate was renewed, pin the new \
             one)",
            other.fingerprint(),
            server.fingerprint()
        )
    );
    let seen = app.seen();
    assert!(
        seen.iter()
            .all(|s| s.api_key.as_deref() == Some("key=SECRETapikey"))
    );
}

#[tokio::test]
async fn ca_file_trusts_the_appliance_ca_and_verify_ssl_false_skips_checks() {
    let (ca, leaf) = ca_and_leaf();
    let app = appliance::start(&leaf, api_rules(), appliance::data(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut c = api_cfg(&app.url());
    // Without the CA: not trusted, saying what to set.
    let e = probe(&c).await.unwrap_err();
    assert!(
        e.starts_with(
            "POST /graphql: server certificate not trusted (issuer unknown): set ca_file"
        ),
        "{e}"
    );
    assert!(
        e.contains("server_cert_sha256") && e.contains("CA:TRUE"),
        "{e}"
    );
    c.ca_file = Some(write(dir.path(), "ca.pem", &ca.cert_pem));
    assert_eq!(probe(&c).await.unwrap(), 1);
    let mut c = api_cfg(&app.url());
    c.verify_ssl = false;
    assert_eq!(probe(&c).await.unwrap(), 1);
    // A wrong API key: 401, one line naming the setting, never the key.
    c.api_key = Some("SECRETwrong".into());
    let e = probe(&c).await.unwrap_err();
    assert!(
        e.starts_with("POST /graphql: keys rejected (HTTP 401): the appliance refused the API key (X-APIKeys): check api_key"),
        "{e}"
    );
    assert_clean(&e, None);
}

#[tokio::test]
async fn robot_mutual_tls_with_and_without_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fp) = robot_files(dir.path(), 30);
    let key_pem = std::fs::read_to_string(&key).unwrap();
    let (ca, leaf) = ca_and_leaf();
    let rules = Rules {
        client_cert: true,
        mandatory: true,
        robots: vec![("robot1".into(), fp)],
        ..Rules::default()
    };
    let app = appliance::start(&leaf, rules, appliance::data(2)).await;
    let ca_file = write(dir.path(), "ca.pem", &ca.cert_pem);

    // reqwest's identity path (ca_file).
    let mut c = robot_cfg(&app.url(), &cert, &key);
    c.ca_file = Some(ca_file.clone());
    assert_eq!(probe(&c).await.unwrap(), 1);
    // The preconfigured rustls path (pin + client certificate).
    let mut p = robot_cfg(&app.url(), &cert, &key);
    p.server_cert_sha256 = Some(leaf.fingerprint().to_string());
    assert_eq!(probe(&p).await.unwrap(), 1);
    let seen = app.seen();
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s.client_cert, Some(fp));
        assert_eq!(s.robot.as_deref(), Some("robot1"));
        assert_eq!(s.api_key, None);
    }

    // Wrong robot name: the appliance's 401, naming the robot.
    c.robot = Some("robot2".into());
    let wrong_name = probe(&c).await.unwrap_err();
    assert!(
        wrong_name.starts_with("POST /graphql: keys rejected (HTTP 401): the appliance refused robot `robot2` with this client certificate"),
        "{wrong_name}"
    );

    // A certificate the appliance does not know.
    let (other_cert, other_key, _) = robot_files(dir.path(), 31);
    let mut c = robot_cfg(&app.url(), &other_cert, &other_key);
    c.ca_file = Some(ca_file.clone());
    let unknown = probe(&c).await.unwrap_err();
    assert!(
        unknown.starts_with("POST /graphql: client certificate of robot `robot1` rejected by the appliance (TLS alert unknown_ca)"),
        "{unknown}"
    );

    // An expired certificate.
    let (old_cert, old_key, _) = robot_files(dir.path(), -1);
    let mut c = robot_cfg(&app.url(), &old_cert, &old_key);
    c.ca_file = Some(ca_file.clone());
    let expired = probe(&c).await.unwrap_err();
    assert!(
        expired.starts_with("POST /graphql: client certificate of robot `robot1` rejected as expired (TLS alert certificate_expired)"),
        "{expired}"
    );

    // No certificate at all (API-key mode against an appliance that demands one).
    let mut c = api_cfg(&app.url());
    c.ca_file = Some(ca_file.clone());
    let none = probe(&c).await.unwrap_err();
    assert!(
        none.starts_with("POST /graphql: no client certificate: the appliance requires one"),
        "{none}"
    );

    let all = [&wrong_name, &unknown, &expired, &none];
    for (i, a) in all.iter().enumerate() {
        assert_clean(a, Some(&key_pem));
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
}

/// An HTTP CONNECT proxy: tunnels bytes, records each CONNECT target.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let t = targets.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let t = t.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut b = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut b).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let mut parts = head.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
                    let _ = client
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                };
                t.lock().unwrap().push(target.to_owned());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                if client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), targets, task)
}

#[tokio::test]
async fn robot_mutual_tls_runs_end_to_end_through_a_connect_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fp) = robot_files(dir.path(), 30);
    let server = self_signed(true);
    let rules = Rules {
        client_cert: true,
        mandatory: true,
        robots: vec![("robot1".into(), fp)],
        ..Rules::default()
    };
    let app = appliance::start(&server, rules, appliance::data(2)).await;
    let (proxy, targets, task) = connect_proxy().await;
    for pinned in [true, false] {
        let mut c = robot_cfg(&app.url(), &cert, &key);
        c.proxy = Some(tenax_source::http::ProxyUrl(proxy.clone()));
        if pinned {
            c.server_cert_sha256 = Some(server.fingerprint().to_string());
        } else {
            c.verify_ssl = false;
        }
        assert_eq!(probe(&c).await.unwrap(), 1, "pinned: {pinned}");
    }
    task.abort();
    let targets = targets.lock().unwrap().clone();
    assert_eq!(targets, [app.addr.to_string(), app.addr.to_string()]);
    // The appliance saw the robot's certificate: TLS ran end to end through the tunnel.
    assert!(app.seen().iter().all(|s| s.client_cert == Some(fp)));
}

#[tokio::test]
async fn check_shows_the_presented_certificate_when_it_is_not_trusted() {
    let server = self_signed(true);
    let app = appliance::start(&server, api_rules(), appliance::data(1)).await;
    let c = api_cfg(&app.url());
    let src = OtSource::new(c.resolve().unwrap()).unwrap();
    let e = src.check().await.unwrap_err().to_string();
    assert!(
        e.contains(&format!(
            "(the appliance presented sha256 {}: compare it with the appliance's own \
             certificate before pinning it)",
            server.fingerprint()
        )),
        "{e}"
    );
    assert_clean(&e, None);
    // Capturing the certificate sent no request: the appliance saw none.
    assert!(app.seen().is_empty());
    // Pinned, check proves the rest, line by line.
    let mut c = api_cfg(&app.url());
    c.server_cert_sha256 = Some(server.fingerprint().to_string());
    let lines = OtSource::new(c.resolve().unwrap())
        .unwrap()
        .check()
        .await
        .unwrap();
    assert_eq!(
        lines,
        [
            "GraphQL answers, API key accepted; assets are readable".to_owned(),
            format!(
                "server certificate pinned (sha256 {})",
                server.fingerprint()
            ),
            "no GET /v1/version on this appliance (fine on 4.x)".to_owned(),
            "findings from GET /v1/assets/{id}/plugin_hits (no GraphQL `findings` here)".to_owned(),
        ]
    );
}

#[tokio::test]
async fn a_dropped_mutual_tls_connection_is_diagnosed_by_a_bare_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, fp) = robot_files(dir.path(), 30);
    let (old_cert, old_key, _) = robot_files(dir.path(), -1);
    let server = self_signed(true);
    let rules = Rules {
        client_cert: true,
        mandatory: true,
        robots: vec![("robot1".into(), fp)],
        ..Rules::default()
    };
    let app = appliance::start(&server, rules, appliance::data(1)).await;
    let url = reqwest::Url::parse(&app.url()).unwrap();
    let (proxy, _targets, task) = connect_proxy().await;
    for via in [None, Some(proxy.as_str())] {
        let expired = robot_cfg(&app.url(), &old_cert, &old_key);
        let s = expired.resolve().unwrap();
        let why = tenax_source_ot::tls::diagnose_handshake(&s.tls, &url, via).await;
        assert!(
            why.as_deref()
                .is_some_and(|w| w.contains("CertificateExpired")),
            "{via:?}: {why:?}"
        );
        let good = robot_cfg(&app.url(), &cert, &key).resolve().unwrap();
        assert_eq!(
            tenax_source_ot::tls::diagnose_handshake(&good.tls, &url, via).await,
            None
        );
    }
    task.abort();
    // The handshakes sent no request.
    assert!(app.seen().is_empty());
}
