//! The SC connector against the simulator, through the sync engine: exact counts, paging,
//! the overlap window after changes, every auth/error code, session login and logout.

use std::collections::BTreeMap;

use serde_json::json;
use tenax_model::{Asset, Finding, FindingState};
use tenax_sim::{DEFAULT_SC_PASSWORD, DEFAULT_SC_USERNAME, ScOptions, Sim, SimConfig};
use tenax_source::retry::RetryPolicy;
use tenax_source_sc::{ScConfig, ScSource};
use tenax_store::{AssetFilter, FindingFilter, RunMode, RunStatus, SqliteStore, Store};
use tenax_sync::{AnySource, RunOptions, RunSummary, run_source};

pub(crate) struct Env {
    pub(crate) sim: Sim,
    store: Option<Box<dyn Store>>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn env_with(sc: ScOptions, faults: &str) -> Env {
    let cfg = SimConfig {
        seed: 11,
        assets: 10,
        faults: faults.parse().expect("valid fault spec"),
        sc,
        ..SimConfig::default()
    };
    let sim = Sim::start(cfg).await.expect("simulator starts");
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_path(&dir.path().join("t.db")).unwrap();
    Env {
        sim,
        store: Some(Box::new(store)),
        _dir: dir,
    }
}

pub(crate) fn opts(hosts: usize) -> ScOptions {
    ScOptions {
        hosts,
        ..ScOptions::default()
    }
}

pub(crate) fn source(cfg: &ScConfig) -> ScSource {
    ScSource::new(cfg.resolve().unwrap())
        .unwrap()
        .with_retry(RetryPolicy::fast())
}

pub(crate) fn keys_config(sim: &Sim, page_size: u32) -> ScConfig {
    let mut c = ScConfig::new("onprem", &sim.sc_url(), &sim.sc_api_keys());
    c.page_size = page_size;
    c
}

pub(crate) fn session_config(sim: &Sim, password: &str) -> ScConfig {
    let mut c = ScConfig::new("onprem", &sim.sc_url(), "");
    c.api_keys = None;
    c.username = Some(DEFAULT_SC_USERNAME.into());
    c.password = Some(password.into());
    c
}

impl Env {
    pub(crate) async fn sync(&mut self, src: &ScSource, full: bool) -> RunSummary {
        let store = self.store.take().unwrap();
        let opts = RunOptions {
            full,
            ..RunOptions::default()
        };
        let (store, r) = run_source(store, &AnySource::Sc(src.clone()), &opts).await;
        self.store = Some(store);
        r.expect("the store works")
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_deref().unwrap()
    }

    pub(crate) fn count(&self, states: &[FindingState]) -> u64 {
        self.store()
            .count_findings(&FindingFilter {
                states: states.to_vec(),
                ..FindingFilter::default()
            })
            .unwrap()
    }

    pub(crate) fn findings(&self) -> BTreeMap<String, Finding> {
        let mut out = BTreeMap::new();
        self.store()
            .for_each_finding(&FindingFilter::default(), &mut |f: Finding| {
                out.insert(f.id.clone(), f);
                Ok(())
            })
            .unwrap();
        out
    }

    /// Every stored asset by id.
    pub(crate) fn assets(&self) -> BTreeMap<String, Asset> {
        let mut out = BTreeMap::new();
        self.store()
            .for_each_asset(&AssetFilter::default(), &mut |a: Asset| {
                out.insert(a.id.clone(), a);
                Ok(())
            })
            .unwrap();
        out
    }

    /// The `details` of the latest run.
    pub(crate) fn last_details(&self) -> serde_json::Value {
        self.store().list_runs(None, 1).unwrap()[0].details.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_counts_match_truth_for_every_page_size() {
    for page_size in [1, 7, 1000] {
        let mut e = env_with(opts(8), "").await;
        let t = e.sim.sc_truth();
        assert!(t.open > 0 && t.reopened > 0 && t.patched > 0, "{t:?}");
        let src = source(&keys_config(&e.sim, page_size));
        let r = e.sync(&src, false).await;
        assert_eq!(r.status, RunStatus::Succeeded, "{page_size}: {}", r.message);
        assert_eq!(r.mode, RunMode::Full);
        assert_eq!(r.findings.expected, Some(t.cumulative + t.patched));
        assert_eq!(r.findings.stored, t.cumulative + t.patched);
        assert_eq!(r.assets.expected, Some(t.hosts));
        assert_eq!(r.assets.stored, t.hosts);
        assert_eq!(e.count(&[FindingState::Open]), t.open, "{page_size}");
        assert_eq!(e.count(&[FindingState::Reopened]), t.reopened);
        assert_eq!(e.count(&[FindingState::Fixed]), t.patched);
        assert_eq!(
            e.store().count_assets(&AssetFilter::default()).unwrap(),
            t.hosts
        );
        // A second full run stores the same rows again: no duplicates.
        let r = e.sync(&src, true).await;
        assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
        assert_eq!(e.count(&[]), t.cumulative + t.patched);
        e.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_page_is_asked_again() {
    let mut e = env_with(opts(6), "sc-short:page=2").await;
    let t = e.sim.sc_truth();
    let src = source(&keys_config(&e.sim, 5));
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.findings.stored, t.cumulative + t.patched);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_after_changes_stores_them_without_duplicates() {
    let mut e = env_with(opts(40), "").await;
    let src = source(&keys_config(&e.sim, 50));
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    let before = e.findings();
    let m = e.sim.sc_mutate(60);
    assert!(m.fixed + m.reopened + m.new > 0, "{m:?}");
    let t = e.sim.sc_truth();
    let r = e.sync(&src, false).await;
    assert_eq!(r.mode, RunMode::Incremental);
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    let changed = m.reopened + m.new + m.changed + m.fixed;
    assert_eq!(r.findings.expected, Some(changed));
    assert_eq!(r.findings.stored, changed);
    assert_eq!(e.count(&[FindingState::Fixed]), t.patched);
    let after = e.findings();
    // Findings of hosts with a uuid keep their id when a DHCP host changes IP; only the new
    // vulnerabilities (and rows of IP-only hosts that moved) add ids.
    let new_ids: Vec<&Finding> = after
        .values()
        .filter(|f| !before.contains_key(&f.id))
        .collect();
    let uuid_new = new_ids.iter().filter(|f| !f.asset_id.contains(':')).count() as u64;
    assert!(uuid_new <= m.new, "{uuid_new} > {}", m.new);
    assert!(new_ids.len() as u64 >= m.new);
    let stale_ip_only = new_ids.len() as u64 - m.new;
    assert_eq!(
        e.count(&[FindingState::Open, FindingState::Reopened]),
        t.cumulative + stale_ip_only
    );
    // A finding that kept its id across an IP change belongs to a host with a uuid (IP-only
    // hosts get new ids instead, counted in `stale_ip_only`); and moved hosts show up as one or
    // the other.
    let kept_across_move: Vec<&Finding> = after
        .values()
        .filter(|f| before.get(&f.id).is_some_and(|b| b.ipv4 != f.ipv4))
        .collect();
    for f in &kept_across_move {
        assert!(
            !f.asset_id.contains(':'),
            "{} kept its id without a host uuid",
            f.id
        );
    }
    assert_eq!(
        m.moved_hosts > 0,
        !kept_across_move.is_empty() || stale_ip_only > 0,
        "moved hosts: {}, kept ids: {}, stale rows: {stale_ip_only}",
        m.moved_hosts,
        kept_across_move.len()
    );
    // A third run without changes stores nothing new.
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(e.findings().len(), after.len());
}

async fn check_err(sc: ScOptions, cfg: impl FnOnce(&Sim) -> ScConfig) -> String {
    let e = env_with(sc, "").await;
    let src = source(&cfg(&e.sim));
    let err = src.check().await.expect_err("check fails");
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_errors_are_one_line_with_what_to_change() {
    let disabled = ScOptions {
        api_keys_enabled: false,
        ..opts(2)
    };
    let e = check_err(disabled, |s| keys_config(s, 1000)).await;
    assert_eq!(
        e,
        "GET /rest/system: keys rejected (HTTP 403): API keys are disabled: an administrator \
         must enable System → Configuration → Security → Allow API Keys (or log in with \
         username and password)"
    );

    let old = ScOptions {
        version: "5.12.0".into(),
        ..opts(2)
    };
    let e = check_err(old, |s| keys_config(s, 1000)).await;
    assert!(
        e.starts_with(
            "GET /rest/system: keys rejected (HTTP 403): API keys need Security Center 5.13 or \
             later: log in with username and password instead (Security Center says: API key \
             authentication is not supported"
        ),
        "{e}"
    );

    let e = check_err(opts(2), |s| {
        ScConfig::new(
            "onprem",
            &s.sc_url(),
            "accesskey=00000000000000000000000000000000; secretkey=11111111111111111111111111111111;",
        )
    })
    .await;
    assert_eq!(
        e,
        "GET /rest/system: keys rejected (HTTP 403): check api_keys (the access key and secret \
         key as Security Center displays them) (Security Center says: Invalid API key: the \
         access key or secret key is not valid.)"
    );

    let e = check_err(opts(2), |s| session_config(s, "wrong-password")).await;
    assert_eq!(
        e,
        "POST /rest/token: keys rejected (HTTP 403): bad username or password: check username \
         and password (Security Center says: Invalid login credentials)"
    );

    // An expired/unknown session token is replaced by one new login.
    let sim = env_with(opts(2), "").await.sim;
    let src = source(&session_config(&sim, DEFAULT_SC_PASSWORD));
    src.client().use_session("123456789", Some("00"));
    src.client().system().await.expect("logged in again");
    assert_eq!(sim.sc_sessions().logins, 1);
    // A token that expires at once, again after the new login: the second refusal is the
    // error.
    let dead = env_with(opts(2), "sc-expire:after=0").await.sim;
    let src = source(&session_config(&dead, DEFAULT_SC_PASSWORD));
    let e = src.client().system().await.unwrap_err().to_string();
    assert_eq!(
        e,
        "GET /rest/system: keys rejected (HTTP 403): the session token is invalid or expired: \
         check username and password (Security Center says: This request contains an invalid \
         token.)"
    );
    let n = dead.sc_sessions();
    assert_eq!((n.logins, n.expired, n.open), (2, 2, 0));

    // A session token and API keys together.
    let src = source(&keys_config(&sim, 1000));
    src.client().use_session("123456789", None);
    let e = src.client().system().await.unwrap_err().to_string();
    assert_eq!(
        e,
        "GET /rest/system: keys rejected (HTTP 400): both a session token and API keys were \
         sent: keep one way to log in (Security Center says: Both a session token and API keys \
         were provided. Use only one authentication method.)"
    );

    // A bad filter: SC's message is quoted.
    let src = source(&keys_config(&sim, 1000));
    let body = json!({"type": "vuln", "sourceType": "cumulative", "query": {"type": "vuln", "tool": "vulndetails", "filters": [{"filterName": "bogus", "operator": "=", "value": "1"}]}});
    let e = src
        .client()
        .response(reqwest::Method::POST, "/rest/analysis", Some(&body))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(
            "POST /rest/analysis: HTTP 403: invalid query parameters: Invalid parameters \
             specified for vuln query. The filter 'bogus' is invalid"
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_host_source_and_the_asset_lists() {
    let e = env_with(opts(9), "").await;
    let t = e.sim.sc_truth();
    let lines = source(&keys_config(&e.sim, 1000)).check().await.unwrap();
    assert_eq!(
        lines,
        [
            "reachable over plain HTTP (loopback), API keys accepted (Security Center 6.4.0)"
                .to_owned(),
            "user tenax (role Administrator, organization Simulated Org)".into(),
            format!(
                "vulnerability analysis permitted ({} current vulnerabilities)",
                t.cumulative
            ),
            format!(
                "hosts from the host inventory, GET /rest/hosts ({} hosts)",
                t.hosts
            ),
            "asset lists readable (6)".into(),
        ]
    );
    // A server that does not say its version and has no inventory.
    let e = env_with(
        ScOptions {
            version: "unknown".into(),
            ..opts(2)
        },
        "",
    )
    .await;
    let lines = source(&session_config(&e.sim, DEFAULT_SC_PASSWORD))
        .check()
        .await
        .unwrap();
    assert_eq!(
        lines[3],
        "hosts from the sumip tool: GET /rest/hosts answered HTTP 404"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_versions_refuse_api_keys_and_accept_a_session() {
    let old = ScOptions {
        version: "5.12.0".into(),
        ..opts(4)
    };
    let mut e = env_with(old, "").await;
    let src = source(&session_config(&e.sim, DEFAULT_SC_PASSWORD));
    let lines = src.check().await.expect("session check works");
    assert_eq!(
        lines[0],
        "reachable over plain HTTP (loopback), session login accepted (Security Center 5.12.0)"
    );
    assert!(lines[1].starts_with("user tenax (role "), "{lines:?}");
    let t = e.sim.sc_truth();
    assert_eq!(
        lines[2..],
        [
            format!(
                "vulnerability analysis permitted ({} current vulnerabilities)",
                t.cumulative
            ),
            "hosts from the sumip tool (the host inventory needs Security Center 6.0)".into(),
            "asset lists readable (6)".into(),
        ]
    );
    assert!(!src.client().logged_in(), "check logs out");

    // The sync logs in, uses the session and logs out: the token is dead afterwards.
    src.client().login().await.unwrap();
    let (token, cookie) = src.client().session().expect("a session");
    let t = e.sim.sc_truth();
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.findings.stored, t.cumulative + t.patched);
    assert!(!src.client().logged_in());
    assert_eq!(e.sim.sc_sessions().open, 0, "logged out");
    // The old token is dead: a client holding it logs in again (one new login).
    let logins = e.sim.sc_sessions().logins;
    let again = source(&session_config(&e.sim, DEFAULT_SC_PASSWORD));
    again.client().use_session(&token, cookie.as_deref());
    again.client().system().await.expect("logged in again");
    assert_ne!(again.client().session().map(|s| s.0), Some(token));
    assert_eq!(e.sim.sc_sessions().logins, logins + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_of_an_expired_session_share_one_new_login() {
    let e = env_with(opts(2), "").await;
    let src = source(&session_config(&e.sim, DEFAULT_SC_PASSWORD));
    src.client().login().await.unwrap();
    let (old, _) = src.client().session().expect("a session");
    assert_eq!(e.sim.sc_expire_sessions(), 1);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = src.client().clone();
            tokio::spawn(async move { c.current_user().await })
        })
        .collect();
    for c in calls {
        let user = c.await.unwrap().expect("renewed");
        assert_eq!(user["username"], DEFAULT_SC_USERNAME);
    }
    assert_ne!(src.client().session().map(|s| s.0), Some(old));
    let n = e.sim.sc_sessions();
    assert_eq!((n.logins, n.open, n.expired), (2, 1, 1), "{n:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_renewed_once_mid_run() {
    // Each session token serves 10 requests: a sync of many small pages outlives several
    // (more than the 4 asset lists read at once, so a renewed session is never used up
    // before the repeated request reaches it).
    let mut e = env_with(opts(8), "sc-expire:after=10").await;
    let t = e.sim.sc_truth();
    let mut cfg = session_config(&e.sim, DEFAULT_SC_PASSWORD);
    cfg.page_size = 2;
    let src = source(&cfg);
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.findings.stored, t.cumulative + t.patched);
    assert_eq!(r.assets.stored, t.hosts);
    assert_eq!(e.count(&[FindingState::Open]), t.open);
    assert_eq!(e.count(&[FindingState::Fixed]), t.patched);
    let n = e.sim.sc_sessions();
    assert!(n.expired >= 3, "{n:?}");
    // One new login per expired token, never two: every session ended expired except the
    // last, which was logged out (or expired on the logout itself).
    assert_eq!(n.logins, n.expired + n.logouts, "{n:?}");
    assert!(n.logouts <= 1, "{n:?}");
    assert_eq!(n.open, 0, "{n:?}");

    // Tokens that die on first use: the run fails after one new login, naming the cause.
    let mut e = env_with(opts(3), "sc-expire:after=0").await;
    let src = source(&session_config(&e.sim, DEFAULT_SC_PASSWORD));
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Failed, "{}", r.message);
    assert!(
        r.message
            .contains("the session token is invalid or expired"),
        "{}",
        r.message
    );
    let n = e.sim.sc_sessions();
    assert_eq!((n.logins, n.expired), (2, 2), "{n:?}");
}
