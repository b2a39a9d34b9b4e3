//! Write throughput of the SQLite store with realistic findings.
//!
//! ```text
//! cargo run --release -p tenax-store --example write_bench -- \
//!     [--rows 200000] [--batch 10000] [--dir DIR] [--memory] [--description-words 150]
//!     [--url postgres://…]
//! ```
//!
//! `--url` writes into that store instead of a fresh SQLite file (e.g. a PostgreSQL database
//! or schema that is empty; only this process's CPU is counted, not the server's).
//!
//! Generates synthetic findings shaped like Tenable VM export records (raw JSON ≈ 4 KB each:
//! asset, plugin with an English-like description, CVSS and VPR blocks, scan, per-row plugin
//! output; 25 findings per host, 2,000 plugins), writes them in batches to a fresh database file
//! (insert pass, run 1), then writes the same findings again as a second full sync would
//! (update pass, run 2: every finding seen again with new `last_found` and output, about 10%
//! changing state), then streams them all back. Only the store calls are timed, not generating
//! the rows; checkpoint work done inside `apply_batch` is included. CPU time (all threads) is
//! reported next to wall time because other processes share this machine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use serde_json::json;
use tenax_model::{Finding, FindingState, Severity, SourceKind, Timestamp, finding_key};
use tenax_store::{Batch, FindingRow, RunMode, RunReport, RunStatus, SqliteStore, Store};

const WORDS: &[&str] = &[
    "the",
    "remote",
    "host",
    "is",
    "affected",
    "by",
    "a",
    "vulnerability",
    "in",
    "version",
    "of",
    "installed",
    "server",
    "client",
    "allows",
    "attacker",
    "to",
    "execute",
    "arbitrary",
    "code",
    "denial",
    "service",
    "information",
    "disclosure",
    "privilege",
    "escalation",
    "authenticated",
    "unauthenticated",
    "network",
    "crafted",
    "request",
    "memory",
    "corruption",
    "buffer",
    "overflow",
    "use-after-free",
    "component",
    "kernel",
    "driver",
    "update",
    "security",
    "microsoft",
    "windows",
    "linux",
    "apache",
    "openssl",
    "java",
    "oracle",
    "cumulative",
    "patch",
    "advisory",
    "note",
    "that",
    "nessus",
    "has",
    "not",
    "tested",
    "for",
    "this",
    "issue",
    "but",
    "instead",
    "relied",
    "only",
    "on",
    "application's",
    "self-reported",
    "number",
    "may",
    "could",
    "exploit",
    "it",
    "which",
    "cause",
    "an",
    "application",
    "crash",
    "or",
    "bypass",
    "restrictions",
    "and",
    "sensitive",
    "data",
    "via",
    "specially",
    "handling",
    "objects",
    "certificate",
    "validation",
    "TLS",
    "HTTP",
    "SMB",
    "RPC",
    "web",
    "browser",
    "library",
    "function",
    "input",
    "improper",
    "when",
    "processing",
    "files",
    "from",
    "untrusted",
    "sources",
    "with",
    "elevated",
    "permissions",
    "configuration",
    "default",
    "credentials",
    "session",
    "token",
    "authentication",
    "cross-site",
    "scripting",
    "injection",
    "SQL",
    "command",
    "path",
    "traversal",
    "directory",
    "user",
    "account",
    "system",
    "access",
];

/// splitmix64: a tiny deterministic generator (the benchmark needs no quality randomness).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn sentence_text(&mut self, words: usize) -> String {
        let mut s = String::with_capacity(words * 8);
        for i in 0..words {
            if i > 0 {
                s.push(if self.below(12) == 0 { '.' } else { ' ' });
                if s.ends_with('.') {
                    s.push(' ');
                }
            }
            s.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
        }
        s.push('.');
        s
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

struct Plugin {
    id: i64,
    name: String,
    family: String,
    synopsis: String,
    description: String,
    solution: String,
    see_also: Vec<String>,
    cves: Vec<String>,
    severity: Severity,
    cvss3: Option<f64>,
    vpr: Option<f64>,
}

struct Host {
    uuid: String,
    hostname: String,
    fqdn: String,
    ipv4: String,
    mac: String,
    os: String,
}

struct Universe {
    plugins: Vec<Plugin>,
    hosts: Vec<Host>,
}

fn universe(rng: &mut Rng, hosts: usize, description_words: u64) -> Universe {
    let families = [
        "Windows : Microsoft Bulletins",
        "Web Servers",
        "General",
        "Ubuntu Local Security Checks",
        "Misc.",
    ];
    let plugins = (0..2_000)
        .map(|i| {
            let severity = Severity::ALL[rng.below(5) as usize];
            let ncve = if severity == Severity::Info {
                0
            } else {
                rng.below(8) as usize
            };
            Plugin {
                id: 10_000 + i * 7,
                name: format!("{} ({})", rng.sentence_text(6), rng.below(99_999)),
                family: families[rng.below(families.len() as u64) as usize].to_owned(),
                synopsis: rng.sentence_text(12),
                description: {
                    let n = description_words / 2 + rng.below(description_words + 1);
                    rng.sentence_text(n as usize)
                },
                solution: {
                    let n = 10 + rng.below(20) as usize;
                    rng.sentence_text(n)
                },
                see_also: (0..rng.below(4))
                    .map(|_| format!("https://support.example.com/kb/{}", rng.below(9_999_999)))
                    .collect(),
                cves: (0..ncve)
                    .map(|_| {
                        format!(
                            "CVE-20{:02}-{}",
                            10 + rng.below(15),
                            1000 + rng.below(50_000)
                        )
                    })
                    .collect(),
                severity,
                cvss3: (severity != Severity::Info).then(|| (rng.below(100) as f64) / 10.0),
                vpr: (severity != Severity::Info).then(|| (rng.below(100) as f64) / 10.0),
            }
        })
        .collect();
    let hosts = (0..hosts)
        .map(|i| {
            let hostname = format!("host-{i:06}");
            Host {
                uuid: rng.uuid(),
                fqdn: format!("{hostname}.corp.example.com"),
                hostname,
                ipv4: format!("10.{}.{}.{}", i / 65_536 % 256, i / 256 % 256, i % 256),
                mac: format!(
                    "00:50:56:{:02x}:{:02x}:{:02x}",
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                ),
                os: [
                    "Microsoft Windows Server 2019 Standard",
                    "Ubuntu 22.04",
                    "Red Hat Enterprise Linux 8.6",
                ][rng.below(3) as usize]
                    .to_owned(),
            }
        })
        .collect();
    Universe { plugins, hosts }
}

fn time(secs: u64) -> Timestamp {
    Utc.timestamp_opt(
        1_650_000_000 + secs as i64,
        (secs % 1000) as u32 * 1_000_000,
    )
    .single()
    .expect("valid timestamp")
}

/// Finding number `n` (stable identity across passes); `pass` changes its mutable parts.
fn finding(u: &Universe, n: u64, pass: u64) -> FindingRow {
    let mut rng = Rng(n.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ pass);
    let mut id_rng = Rng(n);
    let host = &u.hosts[(n as usize / 25) % u.hosts.len()];
    // 25 findings per host, each from its own slice of the plugins: ids never repeat.
    let plugin = &u.plugins[(n % 25) as usize * 80 + id_rng.below(80) as usize];
    let port = [0, 22, 80, 443, 445, 3389, 8443][id_rng.below(7) as usize];
    let state = [
        FindingState::Open,
        FindingState::Reopened,
        FindingState::Fixed,
    ][rng.below(3) as usize];
    let words = rng.below(60) as usize;
    let prose = rng.sentence_text(words);
    let output = format!(
        "\n  Path              : C:\\Program Files\\Vendor\\{}\\bin\\lib{}.dll\n  Installed version : {}.{}.{}\n  Fixed version     : {}.{}.{}\n{}",
        rng.below(500),
        rng.below(900),
        rng.below(20),
        rng.below(50),
        rng.below(9999),
        rng.below(20),
        rng.below(50),
        rng.below(9999),
        prose,
    );
    let first = time(rng.below(10_000_000));
    let last = time(10_000_000 + rng.below(10_000_000) + pass * 86_400);
    let f = Finding {
        source: "bench".to_owned(),
        kind: SourceKind::Vm,
        id: finding_key(&host.uuid, plugin.id, port, "tcp"),
        asset_id: host.uuid.clone(),
        unified_asset_id: None,
        plugin_id: plugin.id,
        plugin_name: Some(plugin.name.clone()),
        plugin_family: Some(plugin.family.clone()),
        severity: plugin.severity,
        state,
        port,
        protocol: "tcp".to_owned(),
        service: Some("www".to_owned()),
        cves: plugin.cves.clone(),
        cvss3_base_score: plugin.cvss3,
        cvss2_base_score: None,
        vpr_score: plugin.vpr,
        first_found: Some(first),
        last_found: Some(last),
        last_fixed: (state == FindingState::Fixed).then_some(last),
        hostname: Some(host.hostname.clone()),
        ipv4: Some(host.ipv4.clone()),
        synopsis: Some(plugin.synopsis.clone()),
        solution: Some(plugin.solution.clone()),
        output: Some(output.clone()),
    };
    let raw = json!({
        "asset": {
            "device_type": "general-purpose", "fqdn": host.fqdn, "hostname": host.hostname,
            "uuid": host.uuid, "ipv4": host.ipv4, "mac_address": host.mac,
            "netbios_name": host.hostname.to_uppercase(), "operating_system": [host.os],
            "network_id": "00000000-0000-0000-0000-000000000000", "tracked": true
        },
        "output": output,
        "plugin": {
            "checks_for_default_account": false, "checks_for_malware": false,
            "cpe": [format!("cpe:/a:vendor:product:{}", plugin.id % 97)],
            "cve": plugin.cves, "cvss3_base_score": plugin.cvss3, "cvss3_temporal_score": plugin.cvss3.map(|s| s * 0.9),
            "cvss3_vector": {
                "access_complexity": "Low", "access_vector": "Network", "availability_impact": "High",
                "confidentiality_impact": "High", "integrity_impact": "High", "privileges_required": "None",
                "raw": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "user_interaction": "None"
            },
            "description": plugin.description, "exploit_available": plugin.id % 3 == 0,
            "exploitability_ease": "Exploits are available", "family": plugin.family, "family_id": plugin.id % 50,
            "has_patch": true, "id": plugin.id, "in_the_news": false, "name": plugin.name,
            "modification_date": "2024-03-14T00:00:00Z", "patch_publication_date": "2023-12-12T00:00:00Z",
            "publication_date": "2023-12-12T00:00:00Z", "risk_factor": plugin.severity.as_str(),
            "see_also": plugin.see_also, "solution": plugin.solution, "synopsis": plugin.synopsis,
            "type": "local", "version": "1.7",
            "vpr": {
                "score": plugin.vpr,
                "drivers": {
                    "age_of_vuln": {"lower_bound": 366, "upper_bound": 730},
                    "exploit_code_maturity": "UNPROVEN", "cvss_impact_score_predicted": false,
                    "cvss3_impact_score": 5.9, "threat_intensity_last28": "VERY_LOW",
                    "threat_sources_last28": ["No recorded events"], "product_coverage": "LOW"
                },
                "updated": "2024-03-10T05:37:41Z"
            },
            "xrefs": [{"type": "MSKB", "id": format!("{}", 5_000_000 + plugin.id)}]
        },
        "port": {"port": port, "protocol": "TCP", "service": "www"},
        "scan": {
            "completed_at": last.to_rfc3339(), "schedule_uuid": "template-7c2d4e6f-1a2b-3c4d-5e6f-7a8b9c0d1e2f",
            "started_at": first.to_rfc3339(), "uuid": "2f7c8a40-9a67-4c1b-8d52-1e0b1c2d3e4f"
        },
        "severity": plugin.severity.as_str(), "severity_id": plugin.severity.id(),
        "severity_default_id": plugin.severity.id(), "severity_modification_type": "NONE",
        "first_found": first.to_rfc3339(), "last_found": last.to_rfc3339(),
        "state": state.as_str().to_uppercase(), "indexed": last.to_rfc3339()
    });
    FindingRow {
        finding: f,
        raw: raw.to_string().into_boxed_str(),
    }
}

struct Args {
    rows: u64,
    batch: u64,
    dir: Option<PathBuf>,
    memory: bool,
    /// Average words of a plugin description: 150 gives raw JSON of ~4.0 KB, 10 of ~3.0 KB.
    description_words: u64,
    /// A store URL instead of a fresh SQLite file.
    url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        rows: 200_000,
        batch: 10_000,
        dir: None,
        memory: false,
        description_words: 150,
        url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--memory" {
            a.memory = true;
            continue;
        }
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value.parse().expect("--rows N"),
            "--batch" => a.batch = value.parse().expect("--batch N"),
            "--dir" => a.dir = Some(value.into()),
            "--url" => a.url = Some(value),
            "--description-words" => {
                a.description_words = value.parse().expect("--description-words N")
            }
            other => panic!(
                "unknown flag {other}; flags: --rows N --batch N --dir DIR --memory --description-words N"
            ),
        }
    }
    a
}

/// CPU seconds (user + system) this process has used so far, from `/proc/self/stat` (Linux);
/// 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the full line: 11 and 12 after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

fn file_size(path: &std::path::Path) -> u64 {
    let wal = path.with_extension("db-wal");
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let args = args();
    let dir = match &args.dir {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
    .expect("temp dir");
    let path = dir.path().join("bench.db");
    let mut rng = Rng(42);
    let u = universe(
        &mut rng,
        (args.rows as usize / 25).max(1),
        args.description_words,
    );
    let mut store: Box<dyn Store> = match &args.url {
        Some(url) => tenax_store::open(url).expect("open store"),
        None if args.memory => Box::new(SqliteStore::open_in_memory().expect("open store")),
        None => Box::new(SqliteStore::open_path(&path).expect("open store")),
    };
    println!(
        "write_bench: {} findings in batches of {} into {} ({} cores)",
        args.rows,
        args.batch,
        if args.url.is_some() {
            "the store at --url".to_owned()
        } else if args.memory {
            ":memory:".to_owned()
        } else {
            path.display().to_string()
        },
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    for (pass, name) in [(0_u64, "insert"), (1, "update")] {
        let run = store
            .begin_run("bench", SourceKind::Vm, RunMode::Full)
            .expect("begin_run");
        let (mut stored, mut raw_bytes) = (0_u64, 0_u64);
        let mut spent = Duration::ZERO;
        let mut cpu = 0.0;
        let mut start = 0;
        while start < args.rows {
            let end = (start + args.batch).min(args.rows);
            let batch = Batch {
                findings: (start..end).map(|n| finding(&u, n, pass)).collect(),
                checkpoint: vec![("vulns".to_owned(), Some(json!({ "done": end })))],
                ..Batch::default()
            };
            raw_bytes += batch
                .findings
                .iter()
                .map(|r| r.raw.len() as u64)
                .sum::<u64>();
            let (t, c) = (Instant::now(), cpu_seconds());
            let outcome = store
                .apply_batch(run, "bench", &batch)
                .expect("apply_batch");
            spent += t.elapsed();
            cpu += cpu_seconds() - c;
            stored += outcome.findings;
            start = end;
        }
        let report = RunReport {
            status: Some(RunStatus::Succeeded),
            ..RunReport::default()
        };
        store.finish_run(run, &report).expect("finish_run");
        println!(
            "{name:>6} pass: {stored} findings in {:.2} s = {:.0} findings/s; \
             CPU {:.2} s = {:.1} us/finding (raw JSON avg {} B); db+wal {:.0} MB",
            spent.as_secs_f64(),
            stored as f64 / spent.as_secs_f64(),
            cpu,
            cpu * 1e6 / stored as f64,
            raw_bytes / stored.max(1),
            file_size(&path) as f64 / 1e6,
        );
    }
    let (t, c) = (Instant::now(), cpu_seconds());
    let (mut streamed, mut check) = (0_u64, 0_i64);
    store
        .for_each_finding(&Default::default(), &mut |f| {
            streamed += 1;
            check = check.wrapping_add(f.port);
            Ok(())
        })
        .expect("for_each_finding");
    let spent = t.elapsed().as_secs_f64();
    println!(
        "  read pass: {streamed} findings streamed in (source, id) order in {spent:.2} s = {:.0} findings/s; CPU {:.2} s",
        streamed as f64 / spent,
        cpu_seconds() - c
    );
    let t = Instant::now();
    drop(store);
    if !args.memory && args.url.is_none() {
        println!(
            "closed in {:.2} s (final checkpoint); db file {:.0} MB = {} B/finding",
            t.elapsed().as_secs_f64(),
            file_size(&path) as f64 / 1e6,
            file_size(&path) / streamed.max(1)
        );
    }
    let _ = check;
}
