//! The dashboard in a real browser: the simulator's three products synced into a temporary
//! SQLite store and correlated, the server on a loopback port, and headless Chromium loading
//! each page. Every page must finish rendering (`data-ready="1"`) with no caught error
//! (`data-errors="0"`) and no console message at all (a failed request, a CSP violation or an
//! exception all print one); the overview's numbers must equal `/api/v1/stats`; a search for a
//! stored hostname must list that asset. The overview screenshot is kept as
//! `target/dashboard-overview.png` (CI uploads it).
//!
//! Chromium: `/usr/bin/chromium` (`scripts/install-deps.sh` installs it), or `TENAX_CHROMIUM`.
//! `TENAX_SKIP_BROWSER=1` skips the browser test.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use tenax_model::SourceKind;
use tenax_source::retry::RetryPolicy;
use tenax_source_ot::{OtConfig, OtSource};
use tenax_source_sc::ScConfig;
use tenax_source_vm::{VmConfig, VmSource};
use tenax_store::{RunStatus, SqliteStore, Store};
use tenax_sync::{AnySource, RunOptions, SourceConfig, correlate_store, run_source};

const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// The simulator, the store file its three products were synced into, and the directory
/// holding both.
struct Synced {
    sim: tenax_sim::Sim,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

/// VM, SC and OT synced (full), then changed and synced again (so there are fixed findings and
/// history), then correlated.
async fn synced_store() -> Synced {
    let mut cfg = tenax_sim::SimConfig {
        seed: 11,
        assets: 60,
        ot: tenax_sim::OtOptions {
            assets: 12,
            ..tenax_sim::OtOptions::default()
        },
        ..tenax_sim::SimConfig::default()
    };
    cfg.vm.chunk_interval = Duration::from_millis(2);
    let sim = tenax_sim::Sim::start(cfg).await.expect("simulator starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("tenax.db");
    let ca = dir.path().join("ot-ca.pem");
    std::fs::write(&ca, sim.ot_ca_pem()).expect("CA written");

    let (ak, sk) = sim.vm_keys();
    let mut vm = VmConfig::new("cloud", &sim.vm_url(), &ak, &sk);
    vm.num_assets = 50;
    vm.asset_chunk_size = 100;
    let vm = AnySource::Vm(
        VmSource::new(vm.resolve().expect("VM config"))
            .expect("VM source")
            .with_retry(RetryPolicy::fast())
            .with_poll_initial(Duration::from_millis(5)),
    );
    let sc = AnySource::build(&SourceConfig::Sc(ScConfig::new(
        "sc-prod",
        &sim.sc_url(),
        &sim.sc_api_keys(),
    )))
    .expect("SC source");
    let mut ot = OtConfig::new("ot-plant", &sim.ot_url());
    ot.api_key = Some(sim.ot_api_key().as_str().into());
    ot.ca_file = Some(ca);
    let ot = AnySource::Ot(
        OtSource::new(ot.resolve().expect("OT config"))
            .expect("OT source")
            .with_retry(RetryPolicy::fast()),
    );

    let mut store: Box<dyn Store> = Box::new(SqliteStore::open_path(&db).expect("store opens"));
    let sync = async |store: Box<dyn Store>, src: &AnySource, full: bool| {
        let opts = RunOptions {
            full,
            ..RunOptions::default()
        };
        let (store, r) = run_source(store, src, &opts).await;
        let r = r.expect("the store works");
        assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
        store
    };
    for src in [&vm, &sc, &ot] {
        store = sync(store, src, true).await;
    }
    // A second day: some findings fixed, reopened or new, so history and trend are not flat.
    std::thread::sleep(Duration::from_millis(1100));
    sim.vm_mutate(8);
    sim.sc_mutate(8);
    for src in [&vm, &sc] {
        store = sync(store, src, false).await;
    }
    correlate_store(store.as_mut()).expect("correlation");
    drop(store);
    Synced { sim, db, _dir: dir }
}

/// The server on a loopback port over the store file; stopped when dropped.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start_server(db: &Path) -> Server {
    start_server_with(db, None).await
}

async fn start_server_with(db: &Path, token: Option<&str>) -> Server {
    let mut cfg = tenax_server::ServerConfig::new(&format!("sqlite://{}", db.display()));
    cfg.sources = [
        ("cloud", SourceKind::Vm),
        ("sc-prod", SourceKind::Sc),
        ("ot-plant", SourceKind::Ot),
    ]
    .into_iter()
    .map(|(name, kind)| tenax_server::ConfiguredSource {
        name: name.to_owned(),
        kind,
        sync_every: None,
    })
    .collect();
    cfg.token = token.map(|t| tenax_server::ApiToken::new(t).expect("a valid token"));
    let state = tenax_server::AppState::new(cfg).expect("server state over the store");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tenax_server::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Server {
        base: format!("http://{addr}"),
        stop: Some(stop),
    }
}

/// Where CI picks up artifacts: `$CARGO_TARGET_DIR` (relative to the workspace when
/// relative), else the workspace's `target/`.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("TENAX_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM));
    path.exists().then_some(path)
}

/// One page as headless Chromium rendered it.
struct Rendered {
    url: String,
    dom: String,
    /// Console messages (Chromium logs every level of them as `…:CONSOLE…` lines).
    console: Vec<String>,
}

impl Rendered {
    /// The page finished rendering with no caught error and a silent console.
    fn assert_clean(&self) {
        assert!(
            self.dom.contains(r#"data-ready="1""#),
            "{}: the page never finished rendering (no data-ready=\"1\")\n{}",
            self.url,
            excerpt(&self.dom)
        );
        assert!(
            self.dom.contains(r#"data-errors="0""#),
            "{}: the page caught errors: {:?}\n{}",
            self.url,
            self.console,
            excerpt(&self.dom)
        );
        assert!(
            self.console.is_empty(),
            "{}: console messages: {:#?}",
            self.url,
            self.console
        );
    }

    /// The `value` attribute of the first element whose `key` attribute is `key_value`.
    fn attr(&self, key: &str, key_value: &str, value: &str) -> Option<String> {
        let needle = format!(r#"{key}="{}""#, escape_attr(key_value));
        let at = self.dom.find(&needle)?;
        let start = self.dom[..at].rfind('<')?;
        let end = at + self.dom[at..].find('>')?;
        let tag = &self.dom[start..end];
        let prefix = format!(r#" {value}=""#);
        let v = &tag[tag.find(&prefix)? + prefix.len()..];
        Some(v[..v.find('"')?].to_owned())
    }

    /// The number an element marked `key="key_value"` shows (its `data-value`).
    fn number(&self, key: &str, key_value: &str) -> u64 {
        let v = self
            .attr(key, key_value, "data-value")
            .unwrap_or_else(|| panic!("{}: no element with {key}=\"{key_value}\"", self.url));
        v.parse()
            .unwrap_or_else(|_| panic!("{}: {key}=\"{key_value}\" shows {v:?}", self.url))
    }

    fn count(&self, needle: &str) -> usize {
        self.dom.matches(needle).count()
    }
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

fn excerpt(dom: &str) -> &str {
    let start = dom.find("<main").unwrap_or(0);
    let end = (start + 3000).min(dom.len());
    dom.get(start..end).unwrap_or(dom)
}

/// Loads `url` in a fresh headless Chromium, dumps the DOM once the page settled and, when
/// asked, saves a 1400×1000 screenshot.
async fn render(chromium: &Path, url: &str, screenshot: Option<&Path>) -> Rendered {
    // Virtual time waits for the page's requests; a slow machine gets a second, longer try.
    let mut last = None;
    for budget in [10_000, 30_000] {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut cmd = tokio::process::Command::new(chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            "--mute-audio",
            "--window-size=1400,1000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--virtual-time-budget={budget}"))
        .kill_on_drop(true);
        if let Some(path) = screenshot {
            cmd.arg(format!("--screenshot={}", path.display()));
        }
        cmd.arg(url);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{url}: Chromium did not finish within 60 s"))
            .expect("Chromium runs");
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        let console = String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect();
        let page = Rendered {
            url: url.to_owned(),
            dom,
            console,
        };
        if page.dom.contains(r#"data-ready="1""#) {
            return page;
        }
        last = Some(page);
    }
    last.expect("at least one try")
}

async fn get(client: &reqwest::Client, base: &str, path: &str) -> Value {
    let r = client
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    r.json().await.expect("JSON")
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_files_are_embedded_with_types_and_a_strict_csp() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("empty.db");
    drop(SqliteStore::open_path(&db).expect("store opens"));
    let server = start_server(&db).await;
    let client = reqwest::Client::new();
    for (path, ty) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/style.css", "text/css"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let r = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        let header = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert!(
            header("content-type").starts_with(ty),
            "{path}: {}",
            header("content-type")
        );
        let csp = header("content-security-policy");
        assert!(csp.starts_with("default-src 'self'"), "{path}: CSP {csp:?}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("cache-control"), "no-cache", "{path}");
        let etag = header("etag");
        assert!(etag.starts_with('"'), "{path}: ETag {etag:?}");
        let again = client
            .get(format!("{}{path}", server.base))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            again.status(),
            304,
            "{path}: an unchanged file is not sent again"
        );
        // Nothing may load from elsewhere: no absolute URL in any file (the SVG namespace is a
        // name, not a request).
        let body = r
            .text()
            .await
            .unwrap()
            .replace("http://www.w3.org/2000/svg", "");
        for bad in [
            "http://",
            "https://",
            "//cdn",
            "@import",
            "url(",
            "fonts.googleapis",
        ] {
            assert!(!body.contains(bad), "{path} references {bad}");
        }
    }
    // The page never assigns HTML from data.
    let js = include_str!("../../assets/app.js");
    assert!(
        !js.contains("innerHTML")
            && !js.contains("outerHTML")
            && !js.contains("insertAdjacentHTML")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_render_in_headless_chromium() {
    if std::env::var("TENAX_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("TENAX_SKIP_BROWSER=1: the dashboard browser test is skipped");
        return;
    }
    let Some(chromium) = chromium() else {
        panic!(
            "Chromium not found at {DEFAULT_CHROMIUM} (or $TENAX_CHROMIUM): run \
             scripts/install-deps.sh, or set TENAX_SKIP_BROWSER=1 to skip this test"
        );
    };
    let started = Instant::now();
    let synced = synced_store().await;
    let server = start_server(&synced.db).await;
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let target = target_dir();
    std::fs::create_dir_all(&target).expect("target dir");
    eprintln!("synced and serving in {:?}", started.elapsed());

    // ---- overview: every number equals /api/v1/stats
    let stats = get(&client, &base, "/api/v1/stats").await;
    let shot = target.join("dashboard-overview.png");
    let page = render(&chromium, &format!("{base}/"), Some(&shot)).await;
    page.assert_clean();
    assert!(shot.exists(), "the overview screenshot is written");
    let totals = &stats["totals"];
    for key in [
        "assets",
        "unified_assets",
        "findings_open",
        "findings_fixed",
        "events",
    ] {
        assert_eq!(
            page.number("data-metric", key),
            n(&totals[key]),
            "totals.{key}"
        );
    }
    assert!(
        n(&totals["findings_open"]) > 0,
        "the simulator's findings are open"
    );
    let cells = stats["by_severity"].as_array().expect("by_severity");
    assert!(!cells.is_empty());
    for c in cells {
        let (src, sev) = (
            c["source"].as_str().unwrap(),
            c["severity"].as_str().unwrap(),
        );
        for state in ["open", "fixed"] {
            let key = format!("{src}:{sev}:{state}");
            assert_eq!(
                page.number("data-cell", &key),
                n(&c[state]),
                "by_severity {key}"
            );
        }
    }
    let sla = stats["sla"].as_array().expect("sla");
    let past: u64 = sla.iter().map(|r| n(&r["past_sla"])).sum();
    assert_eq!(page.number("data-metric", "past_sla"), past, "past_sla");
    for r in sla {
        let key = format!(
            "sla:{}:{}:past_sla",
            r["source"].as_str().unwrap(),
            r["severity"].as_str().unwrap()
        );
        assert_eq!(page.number("data-cell", &key), n(&r["past_sla"]), "{key}");
    }
    let sources = stats["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 3, "VM, SC and OT");
    for s in sources {
        let name = s["name"].as_str().unwrap();
        let run = &s["last_run"];
        assert_eq!(
            page.attr("data-source", name, "data-source").as_deref(),
            Some(name),
            "a card for source {name}"
        );
        assert_eq!(
            page.number("data-run", &format!("{name}:findings:stored")),
            n(&run["findings"]["stored"]),
            "{name}: findings stored by the last run"
        );
    }
    assert_eq!(
        page.count(r#"data-verdict="ok""#),
        3,
        "every source reconciled"
    );
    for cve in stats["top_cves"].as_array().expect("top_cves") {
        assert!(
            page.dom
                .contains(&format!(r#"data-cve="{}""#, cve["cve"].as_str().unwrap()))
        );
    }

    // ---- assets: a search for a stored hostname lists that asset
    let assets = get(&client, &base, "/api/v1/assets?limit=200").await;
    let asset = assets["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["hostnames"].as_array().is_some_and(|h| !h.is_empty()))
        .expect("an asset with a host name")
        .clone();
    let hostname = asset["hostnames"][0].as_str().unwrap();
    let key = format!(
        "{}/{}",
        asset["source"].as_str().unwrap(),
        asset["id"].as_str().unwrap()
    );
    let url = format!("{base}/#/assets?search={}", urlencode(hostname));
    let page = render(&chromium, &url, Some(&target.join("dashboard-assets.png"))).await;
    page.assert_clean();
    assert!(
        page.dom
            .contains(&format!(r#"data-asset="{}""#, escape_attr(&key))),
        "searching {hostname:?} lists {key}"
    );
    assert!(
        page.dom
            .contains(&format!(r#"data-hostname="{}""#, escape_attr(hostname)))
    );
    // The unified view of the same search.
    let url = format!(
        "{base}/#/assets?search={}&view=unified",
        urlencode(hostname)
    );
    let page = render(&chromium, &url, None).await;
    page.assert_clean();
    assert!(
        page.count("data-unified=") >= 1,
        "the unified view lists the device"
    );

    // ---- assets, second page: the keyset cursor of the first page, as "Next page" links it
    let first = get(&client, &base, "/api/v1/assets?limit=50").await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("more than 50 assets")
        .to_owned();
    let second = get(
        &client,
        &base,
        &format!("/api/v1/assets?limit=50&cursor={}", urlencode(&cursor)),
    )
    .await;
    let page = render(
        &chromium,
        &format!("{base}/#/assets?cursor={}", urlencode(&cursor)),
        None,
    )
    .await;
    page.assert_clean();
    let rows = second["items"].as_array().unwrap();
    assert_eq!(page.count("data-asset="), rows.len(), "the second page");
    for a in rows {
        let key = format!(
            "{}/{}",
            a["source"].as_str().unwrap(),
            a["id"].as_str().unwrap()
        );
        assert!(
            page.dom
                .contains(&format!(r#"data-asset="{}""#, escape_attr(&key))),
            "{key}"
        );
    }

    // ---- a unified asset with records from more than one product
    let unified = get(&client, &base, "/api/v1/unified-assets?limit=1000").await;
    let pick = unified["items"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|u| (n(&u["records"]), n(&u["open_findings"])))
        .expect("unified assets")
        .clone();
    let uid = pick["unified_id"].as_str().unwrap();
    let detail = get(
        &client,
        &base,
        &format!("/api/v1/unified-assets/{}", urlencode(uid)),
    )
    .await;
    let url = format!("{base}/#/unified/{}", urlencode(uid));
    let page = render(&chromium, &url, Some(&target.join("dashboard-unified.png"))).await;
    page.assert_clean();
    for r in detail["records"].as_array().unwrap() {
        let key = format!(
            "{}/{}",
            r["source"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        assert!(
            page.dom
                .contains(&format!(r#"data-record="{}""#, escape_attr(&key))),
            "record {key} shown"
        );
    }
    assert_eq!(
        page.count("data-link="),
        detail["links"].as_array().unwrap().len(),
        "every link with its evidence"
    );
    assert_eq!(
        page.number("data-metric", "unified_open_findings"),
        n(&detail["open_findings"])
    );
    let findings = get(
        &client,
        &base,
        &format!("/api/v1/findings?unified_asset={}&limit=50", urlencode(uid)),
    )
    .await;
    assert_eq!(
        page.count("data-finding="),
        findings["items"].as_array().unwrap().len(),
        "the first page of its findings"
    );

    // ---- a finding with history (a changed one when there is one)
    let fixed = get(&client, &base, "/api/v1/findings?state=fixed&limit=1").await;
    let any = get(&client, &base, "/api/v1/findings?limit=1").await;
    let f = fixed["items"]
        .get(0)
        .or_else(|| any["items"].get(0))
        .expect("a finding")
        .clone();
    let (src, id) = (f["source"].as_str().unwrap(), f["id"].as_str().unwrap());
    let detail = get(
        &client,
        &base,
        &format!("/api/v1/findings/{}/{}", urlencode(src), urlencode(id)),
    )
    .await;
    let url = format!("{base}/#/finding/{}/{}", urlencode(src), urlencode(id));
    let page = render(&chromium, &url, Some(&target.join("dashboard-finding.png"))).await;
    page.assert_clean();
    assert_eq!(
        page.count("data-change="),
        detail["history"].as_array().unwrap().len(),
        "every transition"
    );
    assert!(
        page.dom.contains(r#"data-raw="1""#),
        "raw JSON present (collapsed)"
    );

    // ---- a server with a token: the page takes it from `#token=` and sends it
    let guarded = start_server_with(&synced.db, Some("dashboard-test-token")).await;
    let r = client
        .get(format!("{}/api/v1/stats", guarded.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the API needs the token");
    let page = render(
        &chromium,
        &format!("{}/#token=dashboard-test-token", guarded.base),
        None,
    )
    .await;
    page.assert_clean();
    assert_eq!(
        page.number("data-metric", "findings_open"),
        n(&totals["findings_open"]),
        "the overview read with the token"
    );

    drop(guarded);
    drop(server);
    synced.sim.shutdown().await;
    eprintln!("dashboard browser test: {:?}", started.elapsed());
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
