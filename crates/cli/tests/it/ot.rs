//! `tenax ot cert`, `tenax ot robot create` input checks, and OT source configuration errors:
//! one line, the right exit code, no key material.

use crate::{Cmd, stderr, stdout};

async fn one_line_failure(c: &Cmd, args: &[&str], code: i32, want: &str) -> String {
    let o = c.run(args).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: {err}");
    assert!(
        lines[0].starts_with("tenax: ") && lines[0].contains(want),
        "{args:?}: {err}"
    );
    assert!(
        !err.contains("PRIVATE KEY") && !err.contains("panicked"),
        "{err}"
    );
    err
}

#[tokio::test]
async fn ot_cert_writes_a_pair_once() {
    let c = Cmd::new();
    let o = c
        .run(&[
            "ot",
            "cert",
            "--out-dir",
            "robot",
            "--days",
            "30",
            "--cn",
            "robot1",
        ])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("wrote ") && out.contains("RSA-2048") && out.contains("sha256"));
    assert!(!out.contains("PRIVATE"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(c.path("robot/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(c.path("robot/cert.pem").exists());
    one_line_failure(
        &c,
        &["ot", "cert", "--out-dir", "robot"],
        2,
        "already exists",
    )
    .await;
}

#[tokio::test]
async fn ot_robot_create_needs_the_token_variable() {
    let c = Cmd::new();
    let o = c.run(&["ot", "cert", "--out-dir", "r"]).await;
    assert_eq!(o.status.code(), Some(0));
    let mut cmd = c.command(&[
        "ot",
        "robot",
        "create",
        "--url",
        "https://127.0.0.1:1",
        "--token-env",
        "TENAX_TEST_OT_TOKEN",
        "--name",
        "robot1",
        "--cert",
        "r/cert.pem",
    ]);
    cmd.env_remove("TENAX_TEST_OT_TOKEN");
    let o = cmd.output().await.unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "tenax: --token-env TENAX_TEST_OT_TOKEN: the environment variable is not set (export \
         the support-issued token in it)"
    );
    // A key that is not the certificate's: refused before anything is sent.
    let o = c.run(&["ot", "cert", "--out-dir", "other"]).await;
    assert_eq!(o.status.code(), Some(0));
    let mut cmd = c.command(&[
        "ot",
        "robot",
        "create",
        "--url",
        "https://127.0.0.1:1",
        "--token-env",
        "TENAX_TEST_OT_TOKEN",
        "--name",
        "robot1",
        "--cert",
        "r/cert.pem",
        "--key",
        "other/key.pem",
        "--insecure",
    ]);
    cmd.env("TENAX_TEST_OT_TOKEN", "SEKRETtoken");
    let o = cmd.output().await.unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("key_file other/key.pem does not belong to cert_file r/cert.pem"),
        "{err}"
    );
    assert!(!err.contains("SEKRET"));
}

#[tokio::test]
async fn ot_source_config_errors_exit_2_naming_source_and_file() {
    let c = Cmd::new();
    c.config(
        "[[sources]]\nname = \"plant-a\"\nkind = \"ot\"\nurl = \"https://10.20.30.40\"\nrobot = \"robot1\"\ncert_file = \"missing.pem\"\nkey_file = \"key.pem\"\n",
    );
    one_line_failure(
        &c,
        &["check"],
        2,
        "source plant-a (ot): cert_file missing.pem: cannot read: no such file",
    )
    .await;
    c.config(
        "[[sources]]\nname = \"plant-a\"\nkind = \"ot\"\nurl = \"https://10.20.30.40\"\napi_key = \"${TOT_API_KEY}\"\nrobot = \"r\"\n",
    );
    one_line_failure(
        &c,
        &["sync"],
        2,
        "api_key and robot/cert_file/key_file are both set",
    )
    .await;
    c.config(
        "[[sources]]\nname = \"plant-a\"\nkind = \"ot\"\nurl = \"https://10.20.30.40\"\napi_key = \"k\"\nserver_cert_sha256 = \"xyz\"\n",
    );
    one_line_failure(
        &c,
        &["check"],
        2,
        "server_cert_sha256 `xyz`: not a SHA-256 fingerprint",
    )
    .await;
}

/// The issue's flow, as a user types it: `tenax ot cert` → `tenax ot robot create` →
/// `tenax check` → `tenax sync` over mutual TLS, exact ground truth in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_then_robot_create_then_check_and_sync_over_mutual_tls() {
    let s = crate::sim(10, "", 2).await;
    let c = Cmd::new();
    std::fs::write(c.path("ca.pem"), s.ot_ca_pem()).unwrap();
    let o = c.run(&["ot", "cert", "--out-dir", "robot"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut cmd = c.command(&[
        "ot",
        "robot",
        "create",
        "--url",
        &s.ot_url(),
        "--token-env",
        "TENAX_TEST_OT_TOKEN",
        "--name",
        "robot1",
        "--cert",
        "robot/cert.pem",
        "--key",
        "robot/key.pem",
        "--ca-file",
        "ca.pem",
    ]);
    cmd.env("TENAX_TEST_OT_TOKEN", s.ot_support_token());
    let o = cmd.output().await.unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("robot `robot1` registered as ReaderRole"),
        "{out}"
    );
    assert!(out.contains("read over mutual TLS works"), "{out}");
    assert!(!out.contains(&s.ot_support_token()) && !stderr(&o).contains(&s.ot_support_token()));

    c.config(&format!(
        "[[sources]]\nname = \"plant-a\"\nkind = \"ot\"\nurl = \"{}\"\nrobot = \"robot1\"\ncert_file = \"robot/cert.pem\"\nkey_file = \"robot/key.pem\"\nca_file = \"ca.pem\"\n",
        s.ot_url()
    ));
    let o = c.run(&["check"]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.starts_with("plant-a (ot): ok\n"), "{out}");
    assert!(
        out.contains("robot `robot1` accepted over mutual TLS"),
        "{out}"
    );
    assert!(
        out.contains("server certificate verified with ca.pem"),
        "{out}"
    );

    let db = c.db();
    let o = c.run(&["--db", &db, "--no-progress", "sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let truth = s.ot_truth();
    let store = crate::open(&c.path("t.db"));
    let src = vec!["plant-a".to_owned()];
    assert_eq!(
        store
            .count_assets(&tenax_store::AssetFilter {
                sources: src.clone(),
                ..Default::default()
            })
            .unwrap(),
        truth.assets
    );
    assert_eq!(
        store
            .count_findings(&tenax_store::FindingFilter {
                sources: src.clone(),
                ..Default::default()
            })
            .unwrap(),
        truth.findings
    );
    assert_eq!(
        store
            .count_events(&tenax_store::EventFilter {
                sources: src,
                ..Default::default()
            })
            .unwrap(),
        truth.events
    );
}
