//! Bad input gives one line naming source and cause, the right exit code, no panic, no secret.

use crate::{Cmd, sim, stderr, stdout, vm_config};

const SECRET: &str = "SEKRETxyz0123456789";

/// Runs and asserts: exit code, exactly one stderr line starting `tenax: ` containing `want`,
/// and no secret anywhere in the output.
async fn fails(c: &Cmd, args: &[&str], code: i32, want: &str) {
    let o = c.run(args).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line expected, got: {err}");
    assert!(lines[0].starts_with("tenax: "), "{err}");
    assert!(lines[0].contains(want), "{args:?}: `{want}` not in: {err}");
    assert!(
        !err.contains(SECRET) && !stdout(&o).contains(SECRET),
        "secret leaked: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn missing_config_file() {
    let c = Cmd::new();
    fails(&c, &["sync"], 2, "tenax.toml: no such config file").await;
    fails(&c, &["check"], 2, "no such config file").await;
}

#[tokio::test]
async fn unknown_config_key_names_line_and_key() {
    let c = Cmd::new();
    c.config(&vm_config("https://h", "a", SECRET, "acess_key = \"x\""));
    fails(&c, &["sync"], 2, "tenax.toml:7: unknown field `acess_key`").await;
}

#[tokio::test]
async fn bad_urls() {
    let c = Cmd::new();
    c.config(&vm_config("not a url", "a", SECRET, ""));
    fails(
        &c,
        &["check"],
        2,
        "source cloud (vm): url `not a url` is not a valid URL",
    )
    .await;
    c.config(&vm_config("http://tenable.example.com", "a", SECRET, ""));
    fails(&c, &["sync"], 2, "uses http:// to a non-loopback host").await;
}

#[tokio::test]
async fn empty_and_unset_keys() {
    let c = Cmd::new();
    c.config(&vm_config("https://h", "", SECRET, ""));
    fails(
        &c,
        &["check"],
        2,
        "source cloud (vm): `access_key` is empty",
    )
    .await;
    c.config("[[sources]]\nname = \"cloud\"\nkind = \"vm\"\n");
    fails(
        &c,
        &["sync"],
        2,
        "`access_key`: environment variable TIO_ACCESS_KEY is not set",
    )
    .await;
}

#[tokio::test]
async fn world_readable_literal_secret_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let c = Cmd::new();
    let p = c.config(&vm_config("https://h", "a", SECRET, ""));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    fails(&c, &["sync"], 2, "readable by group/others").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_keys_and_missing_permission() {
    let s = sim(10, "", 2).await;
    let c = Cmd::new();
    c.config(&vm_config(&s.vm_url(), "nobody", SECRET, ""));
    fails(
        &c,
        &["check"],
        2,
        "source cloud (vm): GET /server/properties: keys rejected (HTTP 401)",
    )
    .await;
    fails(&c, &["sync"], 2, "keys rejected (HTTP 401)").await;

    s.add_vm_key("reader", SECRET, tenax_sim::VmRole::NoExport);
    c.config(&vm_config(&s.vm_url(), "reader", SECRET, ""));
    fails(
        &c,
        &["check"],
        2,
        "GET /vulns/export/status: permission denied (HTTP 403)",
    )
    .await;
    fails(&c, &["sync"], 2, "give the API user the Basic role").await;
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let c = Cmd::new();
    fails(
        &c,
        &["findings", "--severity", "urgent", "--db", &c.db()],
        2,
        "--severity: unknown severity `urgent`",
    )
    .await;
    fails(&c, &["findings", "--db", "mysql://x"], 2, "mysql").await;
}

#[tokio::test]
async fn serve_refuses_a_public_address_without_a_token() {
    let c = Cmd::new();
    let db = c.db();
    let mut cmd = c.command(&["serve", "--listen", "0.0.0.0:0", "--db", &db]);
    cmd.env_remove("TENAX_API_TOKEN");
    let o = cmd.output().await.unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tenax: --listen 0.0.0.0:0: refusing") && err.contains("TENAX_API_TOKEN"),
        "{err}"
    );
}

#[tokio::test]
async fn serve_refuses_a_bad_sync_every() {
    let c = Cmd::new();
    c.config(&vm_config(
        "https://h",
        "a",
        SECRET,
        "sync_every = \"often\"",
    ));
    let db = c.db();
    fails(
        &c,
        &["serve", "--listen", "127.0.0.1:0", "--db", &db],
        2,
        "sync_every: `often` is not a duration",
    )
    .await;
}
