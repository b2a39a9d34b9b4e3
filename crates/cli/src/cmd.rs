use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use tenax_model::{FindingState, Severity};
use tenax_source::CancellationToken;
use tenax_store::{AssetFilter, EventFilter, FindingFilter, RunStatus, Store};
use tenax_sync::{AnySource, Config, RunOptions, RunSummary, SourceConfig, run_source};

use crate::args::{Cli, Cmd, DemoArgs, ServeArgs, SimArgs};
use crate::{Failure, output, progress};

pub fn init_logging(cli: &Cli) {
    let level = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TENAX_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},hyper=warn,reqwest=warn"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

pub async fn run(cli: Cli) -> Result<u8, Failure> {
    match &cli.cmd {
        Cmd::Demo(a) => demo(&cli, a).await,
        Cmd::Sim(a) => sim(a).await,
        Cmd::Serve(a) => serve(&cli, a).await,
        Cmd::Check { sources } => check(&cli, sources).await,
        Cmd::Sync { sources, full } => {
            let cfg = Config::load(&cli.config_path())?;
            let selected: Vec<SourceConfig> = cfg.select(sources)?.into_iter().cloned().collect();
            if selected.is_empty() {
                return Err(Failure::config(format!(
                    "{}: no [[sources]] configured",
                    cli.config_path().display()
                )));
            }
            let store = open_store(&cli, Some(&cfg))?;
            sync(&cli, Some(&cfg), store, &selected, *full).await
        }
        Cmd::Db { cmd } => db(&cli, cmd),
        Cmd::Runs {
            source,
            limit,
            format,
        } => {
            let store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let runs = store.list_runs(source.as_deref(), *limit)?;
            output::runs(&runs, *format).map_err(io_failure)?;
            Ok(0)
        }
        Cmd::Assets(a) => {
            let store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let filter = AssetFilter {
                sources: a.source.clone(),
                search: a.search.clone(),
                include_deleted: a.include_deleted,
                unified_id: a.unified_id.clone(),
                limit: a.limit,
                ..AssetFilter::default()
            };
            if a.unified {
                output::unified_assets(store.as_ref(), &filter, a.format)?;
            } else {
                output::assets(store.as_ref(), &filter, a.format)?;
            }
            Ok(0)
        }
        Cmd::Correlate => {
            let mut store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let s = tenax_sync::correlate_store(store.as_mut())?;
            if !cli.quiet {
                output::correlation(&s).map_err(io_failure)?;
            }
            Ok(0)
        }
        Cmd::Findings(a) => {
            let store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let filter = FindingFilter {
                sources: a.source.clone(),
                severities: parse_list::<Severity>(&a.severity, "--severity")?,
                states: parse_list::<FindingState>(&a.state, "--state")?,
                cve: a.cve.clone(),
                plugin_id: a.plugin,
                asset_id: a.asset.clone(),
                unified_asset_id: a.unified_asset.clone(),
                as_of: a
                    .as_of
                    .as_deref()
                    .map(|s| parse_time(s, "--as-of"))
                    .transpose()?,
                limit: a.limit,
                ..FindingFilter::default()
            };
            output::findings(store.as_ref(), &filter, a.format)?;
            Ok(0)
        }
        Cmd::Stats(a) => {
            let sla = parse_sla(&a.sla)?;
            let store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let stats = store.remediation(&a.source, &sla, chrono::Utc::now())?;
            output::stats(&stats, a.format).map_err(io_failure)?;
            Ok(0)
        }
        Cmd::History { source, id, format } => {
            let store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let h = store.finding_history(source, id)?;
            if h.is_empty() {
                return Err(Failure::config(format!(
                    "no finding `{id}` of source `{source}` in the store"
                )));
            }
            output::history(&h, *format).map_err(io_failure)?;
            Ok(0)
        }
        Cmd::Events(a) => {
            let store = open_store(&cli, optional_config(&cli)?.as_ref())?;
            let since = a
                .since
                .as_deref()
                .map(|s| parse_time(s, "--since"))
                .transpose()?;
            let filter = EventFilter {
                sources: a.source.clone(),
                since,
                limit: a.limit,
                ..EventFilter::default()
            };
            output::events(store.as_ref(), &filter, a.format)?;
            Ok(0)
        }
        Cmd::Ot { cmd } => crate::ot::run(cmd).await,
    }
}

/// A time on the command line: RFC 3339, or a date (midnight UTC).
fn parse_time(s: &str, flag: &str) -> Result<tenax_model::Timestamp, Failure> {
    tenax_model::parse_timestamp(s)
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
        .ok_or_else(|| {
            Failure::config(format!(
                "{flag} `{s}`: not an RFC 3339 time or a date (e.g. 2026-11-01T00:00:00Z, 2026-11-01)"
            ))
        })
}

/// `tenax db migrate` / `tenax db copy`.
fn db(cli: &Cli, cmd: &crate::args::DbCmd) -> Result<u8, Failure> {
    match cmd {
        crate::args::DbCmd::Migrate => {
            let url = db_url(cli, optional_config(cli)?.as_ref());
            let backend = match tenax_store::open(&url) {
                Ok(_) if url.starts_with("sqlite") => {
                    format!(
                        "SQLite schema version {}",
                        tenax_store::SqliteStore::SCHEMA_VERSION
                    )
                }
                Ok(_) => format!(
                    "PostgreSQL schema version {}",
                    tenax_store::PgStore::SCHEMA_VERSION
                ),
                Err(e) => return Err(store_failure(e)),
            };
            if !cli.quiet {
                println!("migrated: {backend}");
            }
            Ok(0)
        }
        crate::args::DbCmd::Copy { from, to } => {
            let quiet = cli.quiet;
            let report = tenax_store::copy::copy(from, to, &mut |table, n| {
                if !quiet {
                    eprintln!("copied {table}: {n} rows");
                }
            })
            .map_err(store_failure)?;
            if !quiet {
                println!("{:<16} {:>12} {:>12}", "TABLE", "SOURCE", "TARGET");
                for t in &report.tables {
                    println!("{:<16} {:>12} {:>12}", t.table, t.source, t.target);
                }
            }
            if report.matches() {
                if !quiet {
                    println!(
                        "verified: every table has as many rows in the target as in the source"
                    );
                }
                Ok(0)
            } else {
                Err(Failure::fatal(
                    "db copy: row counts differ (see the table above)",
                ))
            }
        }
    }
}

fn store_failure(e: tenax_store::Error) -> Failure {
    match e {
        tenax_store::Error::Config(m) => Failure::config(m),
        other => Failure::fatal(other.to_string()),
    }
}

/// `--sla critical=7,high=none` over the defaults.
fn parse_sla(items: &[String]) -> Result<tenax_store::Sla, Failure> {
    let mut sla = tenax_store::Sla::default();
    for item in items.iter().filter(|s| !s.trim().is_empty()) {
        let bad = || {
            Failure::config(format!(
                "--sla `{item}`: expected SEVERITY=DAYS or SEVERITY=none (e.g. critical=15)"
            ))
        };
        let (sev, days) = item.split_once('=').ok_or_else(bad)?;
        let sev: Severity = sev
            .parse()
            .map_err(|e| Failure::config(format!("--sla `{item}`: {e}")))?;
        let days = match days.trim() {
            d if d.eq_ignore_ascii_case("none") => None,
            d => Some(d.parse::<u32>().map_err(|_| bad())?),
        };
        sla.days[sev.id() as usize] = days;
    }
    Ok(sla)
}

fn parse_list<T: std::str::FromStr>(v: &[String], flag: &str) -> Result<Vec<T>, Failure>
where
    T::Err: std::fmt::Display,
{
    v.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| Failure::config(format!("{flag}: {e}")))
        })
        .collect()
}

pub fn io_failure(e: std::io::Error) -> Failure {
    Failure::fatal(format!("writing output: {e}"))
}

/// The config when the file exists (or was named explicitly); `None` when the default file is
/// absent (commands that only read the store do not need one).
fn optional_config(cli: &Cli) -> Result<Option<Config>, Failure> {
    let path = cli.config_path();
    if cli.config.is_none() && !path.exists() {
        return Ok(None);
    }
    Ok(Some(Config::load(&path)?))
}

fn db_url(cli: &Cli, cfg: Option<&Config>) -> String {
    cli.db
        .clone()
        .or_else(|| cfg.and_then(|c| c.store.url.clone()))
        .unwrap_or_else(|| "sqlite://./tenax.db".to_owned())
}

/// A store URL fit for messages: no password, no query (`?password=…` is possible).
pub fn redacted(url: &str) -> String {
    let url = url.split_once('?').map_or(url, |(u, _)| u);
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.rsplit_once('@')
    {
        let user = cred.split_once(':').map_or(cred, |(u, _)| u);
        return format!("{scheme}://{user}@{host}");
    }
    url.to_owned()
}

fn open_store(cli: &Cli, cfg: Option<&Config>) -> Result<Box<dyn Store>, Failure> {
    let url = db_url(cli, cfg);
    tenax_store::open(&url).map_err(|e| match e {
        tenax_store::Error::Config(m) => Failure::config(m),
        other => Failure::fatal(format!("opening store {}: {other}", redacted(&url))),
    })
}

async fn check(cli: &Cli, names: &[String]) -> Result<u8, Failure> {
    let cfg = Config::load(&cli.config_path())?;
    let selected = cfg.select(names)?;
    if selected.is_empty() {
        return Err(Failure::config(format!(
            "{}: no [[sources]] configured",
            cli.config_path().display()
        )));
    }
    let mut failed = 0;
    let mut config_failed = 0;
    for sc in &selected {
        let label = format!("{} ({})", sc.name(), sc.kind());
        let result = match AnySource::build(sc) {
            Ok(src) => src.check().await,
            Err(e) => Err(e),
        };
        match result {
            Ok(lines) => {
                println!("{label}: ok");
                for l in lines {
                    println!("  - {l}");
                }
            }
            Err(e) => {
                failed += 1;
                if e.is_config() {
                    config_failed += 1;
                }
                eprintln!("tenax: source {label}: {e}");
            }
        }
    }
    Ok(exit_code(selected.len(), failed, config_failed))
}

/// 0 all ok; 2 when every failure is a configuration problem; 3 when everything failed;
/// 1 otherwise.
fn exit_code(total: usize, failed: usize, config_failed: usize) -> u8 {
    if failed == 0 {
        0
    } else if config_failed == failed && failed == total {
        2
    } else if failed == total {
        3
    } else {
        1
    }
}

/// The time to live of sync leases: `TENAX_LEASE_SECS`, `[store] lease_secs`, or 120 s.
fn lease_ttl(cfg: Option<&Config>) -> Result<Duration, Failure> {
    let secs = match std::env::var("TENAX_LEASE_SECS") {
        Ok(v) => Some(
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0 && *s < 1e9)
                .ok_or_else(|| {
                    Failure::config(format!(
                        "TENAX_LEASE_SECS `{v}`: not a positive number of seconds"
                    ))
                })?,
        ),
        Err(_) => cfg.and_then(|c| c.store.lease_secs).map(|s| s as f64),
    };
    match secs {
        Some(s) if s > 0.0 => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err(Failure::config("[store] lease_secs must be at least 1")),
        None => Ok(tenax_sync::lease::DEFAULT_TTL),
    }
}

async fn sync(
    cli: &Cli,
    cfg: Option<&Config>,
    mut store: Box<dyn Store>,
    sources: &[SourceConfig],
    full: bool,
) -> Result<u8, Failure> {
    let url = db_url(cli, cfg);
    let ttl = lease_ttl(cfg)?;
    let holder = tenax_sync::lease::default_holder();
    let cancel = CancellationToken::new();
    // Ends with the sync (the demo goes on to serve, with a Ctrl-C handler of its own).
    let _handler = AbortOnDrop({
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "tenax: interrupted; cancelling exports and stopping cleanly (Ctrl-C again to abort)"
                );
                cancel.cancel();
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        })
    });
    let show = !cli.quiet && !cli.no_progress;
    let bars = progress::Progress::new(show && std::io::stderr().is_terminal(), show);
    let mut summaries: Vec<RunSummary> = Vec::new();
    let mut failed = 0;
    let mut config_failed = 0;
    let mut partial = 0;
    for sc in sources {
        let label = format!("{} ({})", sc.name(), sc.kind());
        let src = match AnySource::build(sc) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("tenax: source {label}: {e}");
                failed += 1;
                if e.is_config() {
                    config_failed += 1;
                }
                continue;
            }
        };
        // One collector per source: take its lease, or leave it to the process that has it.
        let run_cancel = cancel.child_token();
        let taken = tenax_sync::lease::acquire(
            store.as_mut(),
            || tenax_store::open(&url),
            sc.name(),
            &holder,
            ttl,
            run_cancel.clone(),
        )
        .map_err(|e| Failure::fatal(format!("source {label}: taking its sync lease: {e}")))?;
        let keeper = match taken {
            tenax_sync::lease::Acquired::Held(k) => k,
            tenax_sync::lease::Acquired::Busy(l) => {
                if !cli.quiet {
                    eprintln!(
                        "tenax: source {label}: skipped: being synced by {} (lease until {})",
                        l.holder,
                        l.expires_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    );
                }
                continue;
            }
        };
        let opts = RunOptions {
            full,
            cancel: run_cancel,
            observer: Some(bars.observer()),
        };
        let (back, result) = run_source(store, &src, &opts).await;
        store = back;
        drop(keeper);
        bars.finish(sc.name());
        let summary = result.map_err(|e| Failure::fatal(format!("source {label}: {e}")))?;
        match summary.status {
            RunStatus::Succeeded => {}
            RunStatus::Partial => partial += 1,
            _ => {
                failed += 1;
                if summary.config_error {
                    config_failed += 1;
                }
            }
        }
        if summary.status != RunStatus::Succeeded {
            eprintln!("tenax: source {label}: {}", summary.message);
        }
        summaries.push(summary);
        if cancel.is_cancelled() {
            break;
        }
    }
    if !cli.quiet {
        output::summaries(&summaries).map_err(io_failure)?;
    }
    // Correlate across products after every sync that stored anything.
    if summaries
        .iter()
        .any(|s| s.assets.stored + s.findings.stored > 0)
    {
        // On a runtime worker, whose allocator arena holds the memory the sync's parsing just
        // freed: run on this thread, the correlation would add its memory on top (peak RSS).
        let (back, c) = tokio::spawn(async move {
            let mut store = store;
            let c = tenax_sync::correlate_store(store.as_mut());
            (store, c)
        })
        .await
        .map_err(|e| Failure::fatal(format!("correlation: {e}")))?;
        drop(back); // closing checkpoints the WAL
        let c = c.map_err(|e| Failure::fatal(format!("correlation: {e}")))?;
        if !cli.quiet {
            output::correlation(&c).map_err(io_failure)?;
        }
    }
    let code = exit_code(sources.len(), failed, config_failed);
    Ok(if code == 0 && partial > 0 { 1 } else { code })
}

async fn start_sim(a: &SimArgs) -> Result<tenax_sim::Sim, Failure> {
    let faults = match &a.faults {
        Some(spec) => spec
            .parse::<tenax_sim::Faults>()
            .map_err(|e| Failure::config(format!("--faults: {e}")))?,
        None => tenax_sim::Faults::default(),
    };
    let mut cfg = tenax_sim::SimConfig {
        seed: a.seed,
        assets: a.assets,
        listen: a.listen,
        faults,
        ..tenax_sim::SimConfig::default()
    };
    cfg.vm.findings_file = a.vm_findings.clone();
    cfg.vm.assets_file = a.vm_assets.clone();
    cfg.vm.chunk_interval = Duration::from_millis(a.chunk_interval_ms);
    cfg.sc.hosts = a.sc_hosts;
    if !a.listen.ip().is_loopback() {
        return Err(Failure::config(format!(
            "--listen {}: the simulator binds loopback addresses only",
            a.listen
        )));
    }
    tenax_sim::Sim::start(cfg)
        .await
        .map_err(|e| Failure::config(format!("simulator: {e}")))
}

fn sim_config_toml(sim: &tenax_sim::Sim, ot_ca: Option<&Path>) -> String {
    let (ak, sk) = sim.vm_keys();
    let mut text = format!(
        "# Written by `tenax sim`: points at the simulator on loopback.\n\
         [store]\nurl = \"sqlite://./tenax.db\"\n\n\
         [[sources]]\nname = \"sim-vm\"\nkind = \"vm\"\nurl = \"{}\"\n\
         access_key = \"{ak}\"\nsecret_key = \"{sk}\"\n\n\
         [[sources]]\nname = \"sim-sc\"\nkind = \"sc\"\nurl = \"{}\"\napi_keys = \"{}\"\n",
        sim.vm_url(),
        sim.sc_url(),
        sim.sc_api_keys()
    );
    if let Some(ca) = ot_ca.filter(|_| !sim.ot_url().is_empty()) {
        text.push_str(&format!(
            "\n# OT Security over HTTPS with the simulator's own CA (API-key mode; for the robot\n\
             # flow see `tenax ot cert` and `tenax ot robot create` in the README).\n\
             [[sources]]\nname = \"sim-ot\"\nkind = \"ot\"\nurl = \"{}\"\napi_key = \"{}\"\n\
             ca_file = \"{}\"\n",
            sim.ot_url(),
            sim.ot_api_key(),
            ca.display()
        ));
    }
    text
}

fn write_private(path: &Path, text: &str) -> Result<(), Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Failure::config(format!("{}: cannot write: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Failure::config(format!("{}: cannot write: {e}", path.display())))?;
    Ok(())
}

async fn sim(a: &SimArgs) -> Result<u8, Failure> {
    let sim = start_sim(a).await?;
    let truth = sim.vm_truth();
    println!(
        "tenax simulator (seed {}, {} VM assets, {} findings)",
        a.seed, truth.assets, truth.findings
    );
    println!(
        "  vm: {}   keys: X-ApiKeys accessKey/secretKey as in the config below",
        sim.vm_url()
    );
    println!("  sc: {}/rest", sim.sc_url());
    println!(
        "  ot: {}   support token for POST /v1/robots: {}",
        sim.ot_url(),
        sim.ot_support_token()
    );
    if let Some(path) = &a.write_config {
        // The OT listener's CA next to the config, so `ca_file` verifies it.
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let ca = std::path::absolute(dir.join("sim-ot-ca.pem"))
            .map_err(|e| Failure::config(format!("{}: {e}", dir.display())))?;
        std::fs::write(&ca, sim.ot_ca_pem())
            .map_err(|e| Failure::config(format!("{}: cannot write: {e}", ca.display())))?;
        write_private(path, &sim_config_toml(&sim, Some(&ca)))?;
        println!(
            "  wrote {} (mode 0600) and {}",
            path.display(),
            ca.display()
        );
    } else {
        println!("\n{}", sim_config_toml(&sim, None));
    }
    println!("Ctrl-C stops the simulator.");
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    Ok(0)
}

/// The demo's OT source: `tenax ot cert` and `tenax ot robot create` against the simulator,
/// then a robot-mode config trusting the simulator's CA.
async fn demo_robot(
    cli: &Cli,
    sim: &tenax_sim::Sim,
    dir: &Path,
) -> Result<tenax_source_ot::OtConfig, Failure> {
    let written = tenax_source_ot::enroll::write_cert(dir, 30, "tenax-demo-robot")
        .map_err(|e| Failure::fatal(format!("demo: {e}")))?;
    let ca = dir.join("appliance-ca.pem");
    std::fs::write(&ca, sim.ot_ca_pem())
        .map_err(|e| Failure::fatal(format!("demo: {}: {e}", ca.display())))?;
    let req = tenax_source_ot::enroll::RobotRequest {
        url: sim.ot_url(),
        token: tenax_source::secret::SecretString::from(sim.ot_support_token()),
        name: "tenax-demo".to_owned(),
        role: tenax_source_ot::enroll::Role::Reader,
        cert_file: written.cert_file.clone(),
        key_file: Some(written.key_file.clone()),
        ca_file: Some(ca.clone()),
        server_cert_sha256: None,
        insecure: false,
        proxy: None,
    };
    let line = tenax_source_ot::enroll::create_robot(&req)
        .await
        .map_err(|e| Failure::fatal(format!("demo: robot registration: {e}")))?;
    if !cli.quiet {
        println!("               OT Security at {}: {line}", sim.ot_url());
    }
    let mut ot = tenax_source_ot::OtConfig::new("demo-ot", &sim.ot_url());
    ot.robot = Some("tenax-demo".to_owned());
    ot.cert_file = Some(written.cert_file);
    ot.key_file = Some(written.key_file);
    ot.ca_file = Some(ca);
    Ok(ot)
}

async fn demo(cli: &Cli, a: &DemoArgs) -> Result<u8, Failure> {
    let sim_args = SimArgs {
        listen: "127.0.0.1:0".parse().expect("a valid literal address"),
        seed: a.seed,
        assets: a.assets,
        faults: None,
        sc_hosts: 100,
        vm_findings: None,
        vm_assets: None,
        chunk_interval_ms: 20,
        write_config: None,
    };
    let sim = start_sim(&sim_args).await?;
    let truth = sim.vm_truth();
    if !cli.quiet {
        println!(
            "Simulator up: VM at {} ({} assets, {} of them deleted; {} findings: {} open, {} \
             reopened, {} fixed).",
            sim.vm_url(),
            truth.assets,
            truth.deleted_assets,
            truth.findings,
            truth.open,
            truth.reopened,
            truth.fixed
        );
        let sc = sim.sc_truth();
        println!(
            "               Security Center at {}/rest ({} repositories, {} hosts; {} current \
             findings, {} patched).",
            sim.sc_url(),
            sc.repositories,
            sc.hosts,
            sc.cumulative,
            sc.patched
        );
    }
    let (ak, sk) = sim.vm_keys();
    let mut vm = tenax_source_vm::VmConfig::new("demo-vm", &sim.vm_url(), &ak, &sk);
    vm.num_assets = 200;
    // The Security Center side of the same simulator.
    let sc = tenax_source_sc::ScConfig::new("demo-sc", &sim.sc_url(), &sim.sc_api_keys());
    // OT Security the way a plant connects it: a robot certificate made here, registered with
    // the appliance's support token, then every request over mutual TLS.
    let robot_dir = tempfile::tempdir()
        .map_err(|e| Failure::fatal(format!("demo: cannot make a temporary directory: {e}")))?;
    let ot = demo_robot(cli, &sim, robot_dir.path()).await?;
    let store = open_store(cli, None)?;
    // Each demo starts a fresh simulator: sync it whole.
    let code = sync(
        cli,
        None,
        store,
        &[
            SourceConfig::Vm(vm),
            SourceConfig::Sc(sc),
            SourceConfig::Ot(ot),
        ],
        true,
    )
    .await?;
    if !cli.quiet {
        println!(
            "\nStored in {}. Try: tenax findings --severity critical --limit 10   |   tenax runs",
            redacted(&db_url(cli, None))
        );
    }
    if !a.no_serve {
        serve_demo(cli, a).await?;
    }
    sim.shutdown().await;
    Ok(code)
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The API token from `TENAX_API_TOKEN` (unset or empty: none).
fn api_token() -> Option<tenax_server::ApiToken> {
    std::env::var("TENAX_API_TOKEN")
        .ok()
        .and_then(|t| tenax_server::ApiToken::new(&t))
}

/// Cancels on the first Ctrl-C; a second one exits at once.
fn cancel_on_ctrl_c(what: &'static str) -> CancellationToken {
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("tenax: interrupted; stopping {what} (Ctrl-C again to abort)");
            c.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    cancel
}

async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, Failure> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::config(format!("--listen {addr}: cannot listen: {e}")))
}

/// `tenax serve`.
async fn serve(cli: &Cli, a: &ServeArgs) -> Result<u8, Failure> {
    let token = api_token();
    tenax_server::check_listen(&a.listen, token.as_ref()).map_err(Failure::config)?;
    let cfg = optional_config(cli)?;
    // The writer: creates or migrates the store before any reader opens it.
    let store = open_store(cli, cfg.as_ref())?;
    let sources = cfg.as_ref().map(|c| c.sources.clone()).unwrap_or_default();
    let mut configured = Vec::new();
    let mut jobs = Vec::new();
    for sc in &sources {
        configured.push(tenax_server::ConfiguredSource {
            name: sc.name().to_owned(),
            kind: sc.kind(),
            sync_every: sc.sync_every(),
        });
        if let Some(every) = sc.sync_every().filter(|_| !a.no_sync) {
            let source = AnySource::build(sc).map_err(|e| {
                Failure::config(format!("source {} ({}): {e}", sc.name(), sc.kind()))
            })?;
            jobs.push(tenax_server::ScheduledSource { source, every });
        }
    }
    let state = tenax_server::AppState::new(tenax_server::ServerConfig {
        store_url: db_url(cli, cfg.as_ref()),
        token,
        sources: configured,
        sla: tenax_store::Sla::default(),
    })?;
    let listener = bind(a.listen).await?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::fatal(format!("listener: {e}")))?;
    if !cli.quiet {
        println!(
            "Serving the dashboard at http://{addr}/ and the API at http://{addr}/api/v1 (see docs/API.md)."
        );
        if !jobs.is_empty() {
            let names: Vec<String> = jobs
                .iter()
                .map(|j| format!("{} every {}s", j.source.name(), j.every.as_secs()))
                .collect();
            println!("Scheduled syncs: {}.", names.join(", "));
        }
        println!("Ctrl-C stops the server.");
    }
    let cancel = cancel_on_ctrl_c("the server");
    {
        let state = state.clone();
        tokio::spawn(async move { state.warm().await });
    }
    // The schedule runs in this task beside the server (a sync's future is not `Send`-provable
    // for `tokio::spawn`); the server's connections run on the runtime's workers.
    let server = async {
        let r =
            tenax_server::serve(listener, state.clone(), cancel.clone().cancelled_owned()).await;
        cancel.cancel();
        r
    };
    let schedule = tenax_server::run_schedule(store, jobs, state.clone(), cancel.clone());
    let (served, store) = tokio::join!(server, schedule);
    // The writer closes last (it checkpoints the WAL).
    drop(store);
    served.map_err(|e| Failure::fatal(format!("serving on {addr}: {e}")))?;
    Ok(0)
}

/// After the demo's sync: the dashboard and API on loopback until Ctrl-C.
async fn serve_demo(cli: &Cli, a: &DemoArgs) -> Result<(), Failure> {
    let token = api_token();
    tenax_server::check_listen(&a.listen, token.as_ref()).map_err(Failure::config)?;
    let state = tenax_server::AppState::new(tenax_server::ServerConfig {
        token,
        ..tenax_server::ServerConfig::new(&db_url(cli, None))
    })?;
    let listener = match tokio::net::TcpListener::bind(a.listen).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            let any = std::net::SocketAddr::new(a.listen.ip(), 0);
            eprintln!(
                "tenax: {} is busy; serving on an ephemeral port instead",
                a.listen
            );
            bind(any).await?
        }
        Err(e) => {
            return Err(Failure::config(format!(
                "--listen {}: cannot listen: {e}",
                a.listen
            )));
        }
    };
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::fatal(format!("listener: {e}")))?;
    println!("\nDashboard: http://{addr}/   API: http://{addr}/api/v1/stats   (Ctrl-C stops)");
    let cancel = cancel_on_ctrl_c("the server");
    state.warm().await;
    tenax_server::serve(listener, state, cancel.cancelled_owned())
        .await
        .map_err(|e| Failure::fatal(format!("serving on {addr}: {e}")))
}
