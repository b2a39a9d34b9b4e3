//! Finding or starting a PostgreSQL server, and a fresh schema per store.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The base URL of the test server, or `None` when the tests are to be skipped
/// (`TENAX_SKIP_PG=1` and no server). Panics loudly otherwise.
pub fn base_url() -> Option<&'static str> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    match URL.get_or_init(|| off_runtime(find_server)) {
        Ok(url) => Some(url.as_str()),
        Err(why) => {
            let skip = std::env::var("TENAX_SKIP_PG").is_ok_and(|v| v == "1");
            eprintln!(
                "\n************************************************************\n\
                 PostgreSQL tests cannot run: {why}\n\
                 Set TENAX_TEST_PG=postgres://USER@HOST:PORT/DB, or install PostgreSQL \
                 (initdb, postgres), or set TENAX_SKIP_PG=1 to skip them.\n\
                 ************************************************************\n"
            );
            assert!(skip, "no PostgreSQL server for the tests: {why}");
            None
        }
    }
}

fn find_server() -> Result<String, String> {
    if let Ok(url) = std::env::var("TENAX_TEST_PG")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    throwaway_server()
}

/// A PostgreSQL binary: on PATH, in /usr/local/bin, or the newest /usr/lib/postgresql/*/bin.
fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/local/bin".into());
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    dirs.extend(versions.into_iter().rev());
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `cmd args…`, as the `postgres` user when we are root (initdb refuses to run as root).
fn command(bin: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn throwaway_server() -> Result<String, String> {
    let dir = start_cluster(5432, "", |_| Ok(()))?;
    eprintln!("PostgreSQL tests: throwaway server on {}", dir.display());
    Ok(socket_url(&dir, 5432))
}

/// The URL of a throwaway server's Unix socket.
pub fn socket_url(dir: &Path, port: u16) -> String {
    format!(
        "postgres://postgres@{}:{port}/postgres",
        encode(&dir.display().to_string())
    )
}

/// Starts a throwaway cluster (Unix socket in the returned directory, plus `settings`:
/// more `-c` options) after `setup` has written into its data directory; stopped when this
/// test process exits.
pub fn start_cluster(
    port: u16,
    settings: &str,
    setup: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let initdb = pg_bin("initdb").ok_or("TENAX_TEST_PG is not set and initdb is not installed")?;
    let postgres = pg_bin("postgres").ok_or("postgres binary not found")?;
    let root = is_root();
    // Not removed: the server outlives this function; the watchdog removes it at exit.
    let dir = tempfile::Builder::new()
        .prefix("tenax-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    let data = dir.join("data");
    if root {
        let st = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !st.success() {
            return Err("cannot give the temp dir to the postgres user".into());
        }
    }
    let out = command(&initdb, root)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        ])
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    setup(&data)?;
    if root {
        // What `setup` wrote belongs to the server too (it refuses a key file it cannot own).
        let st = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&data)
            .status()
            .map_err(|e| format!("chown: {e}"))?;
        if !st.success() {
            return Err("cannot give the data dir to the postgres user".into());
        }
    }
    // A watchdog shell runs the server and stops it when this test process is gone.
    let run = format!(
        "{} -D '{}' -k '{}' -c listen_addresses= -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=200 -c port={port} {settings}",
        command_line(&postgres, root),
        data.display(),
        dir.display()
    );
    let script = format!(
        "{run} >'{log}' 2>&1 & PG=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $PG 2>/dev/null; do sleep 1; done; \
         kill -INT \"$(head -1 '{data}/postmaster.pid' 2>/dev/null)\" 2>/dev/null; \
         kill -INT $PG 2>/dev/null; wait $PG; rm -rf '{dir}'",
        log = dir.join("server.log").display(),
        parent = std::process::id(),
        data = data.display(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting postgres: {e}"))?;
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = socket_url(&dir, port);
    while Instant::now() < deadline {
        if socket.exists() && postgres::Client::connect(&url, postgres::NoTls).is_ok() {
            return Ok(dir);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    Err(format!(
        "the throwaway server did not start: {}",
        log.trim()
    ))
}

fn command_line(bin: &Path, as_postgres: bool) -> String {
    if as_postgres {
        format!("runuser -u postgres -- '{}'", bin.display())
    } else {
        format!("'{}'", bin.display())
    }
}

/// Percent-encodes a socket directory for the host part of a URL.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `f` on a thread of its own: the blocking driver may not run on an async runtime's
/// thread, and tests call these helpers from async tests too.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("helper thread"))
}

/// A schema of its own on the test server; dropped with the value.
#[allow(dead_code)]
pub struct Schema {
    pub name: String,
    pub url: String,
    base: String,
}

impl Schema {
    /// A fresh, empty schema (`None`: skipping, see [`base_url`]).
    pub fn new() -> Option<Self> {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = base_url()?.to_owned();
        let name = format!(
            "tenax_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        off_runtime(|| {
            let mut admin =
                postgres::Client::connect(&base, postgres::NoTls).expect("admin connection");
            admin
                .batch_execute(&format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
                ))
                .expect("create schema");
        });
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Some(Self { name, url, base })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if std::env::var("TENAX_TEST_KEEP_DB").is_ok_and(|v| v == "1") {
            eprintln!("kept schema {}", self.name);
            return;
        }
        off_runtime(|| {
            if let Ok(mut admin) = postgres::Client::connect(&self.base, postgres::NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        });
    }
}
