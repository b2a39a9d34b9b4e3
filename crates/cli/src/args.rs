use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Pull asset and vulnerability data, read-only, from Tenable Vulnerability Management,
/// Security Center and OT Security into one store, and look at it.
#[derive(Debug, Parser)]
#[command(name = "tenax", version, about, max_term_width = 100)]
pub struct Cli {
    /// Configuration file [default: ./tenax.toml].
    #[arg(long, global = true, env = "TENAX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Store URL (`sqlite://PATH` or `postgres://USER@HOST/DB`); overrides `[store] url`.
    /// Default `sqlite://./tenax.db`.
    #[arg(long, global = true, env = "TENAX_DB", hide_env_values = true)]
    pub db: Option<String>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output (errors only).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No progress bars or progress lines.
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// The command.
    #[command(subcommand)]
    pub cmd: Cmd,
}

impl Cli {
    /// The config file: `--config`, `$TENAX_CONFIG`, or `./tenax.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("tenax.toml"))
    }
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Start the simulator on loopback, sync everything from it into the store, print a summary.
    Demo(DemoArgs),
    /// Run the Tenable API simulator until Ctrl-C.
    Sim(SimArgs),
    /// Serve the REST API (/api/v1), /metrics and the dashboard until Ctrl-C, syncing the
    /// sources that have `sync_every` on schedule.
    Serve(ServeArgs),
    /// Connection test per source: reachability, TLS, keys, permissions.
    Check {
        /// Source names (default: all configured).
        sources: Vec<String>,
    },
    /// Sync sources into the store (incremental unless --full).
    Sync {
        /// Source names (default: all configured).
        sources: Vec<String>,
        /// Ignore checkpoints and sync the whole look-back window.
        #[arg(long)]
        full: bool,
    },
    /// Sync history: expected vs stored, status, duration.
    Runs {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// At most this many runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List assets.
    Assets(AssetArgs),
    /// List findings.
    Findings(FindingArgs),
    /// List events (OT Security policy hits), oldest first.
    Events(EventArgs),
    /// Correlate the stored assets across products now (`tenax sync` does it after every
    /// sync).
    Correlate,
    /// Remediation figures per source and severity: open, past the SLA, fixed, mean time to
    /// remediate.
    Stats(StatsArgs),
    /// One finding's history: first seen, fixed, reopened, gone with its asset.
    History {
        /// Source name.
        source: String,
        /// Finding id (as `tenax findings` prints it).
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The store itself: `migrate` its schema, `copy` a SQLite store into PostgreSQL.
    Db {
        /// What to do.
        #[command(subcommand)]
        cmd: DbCmd,
    },
    /// Tenable OT Security robot enrollment: certificate generation, robot registration.
    Ot {
        /// What to do.
        #[command(subcommand)]
        cmd: OtCmd,
    },
}

/// `tenax db …`.
#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Create or migrate the store's schema (`--db`), then print its backend and version.
    Migrate,
    /// Copy every table of one store into another, empty one (runs, checkpoints, assets,
    /// findings with their history and raw JSON, events, correlation), then compare counts.
    Copy {
        /// The store to read (e.g. `sqlite://tenax.db`).
        #[arg(long)]
        from: String,
        /// The store to write (e.g. `postgres://tenax@db/tenax`); must hold no data.
        #[arg(long)]
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OtCmd {
    /// Generate an RSA-2048 key (key.pem, mode 0600) and a self-signed certificate (cert.pem)
    /// for a robot, like `openssl req -x509 -newkey rsa:2048 -nodes`. Never overwrites.
    Cert {
        /// Directory to write cert.pem and key.pem into (created if missing).
        #[arg(long)]
        out_dir: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Common name of the certificate.
        #[arg(long, default_value = "tenax-robot")]
        cn: String,
    },
    /// Robot users of an OT Security appliance.
    Robot {
        /// What to do.
        #[command(subcommand)]
        cmd: RobotCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum RobotCmd {
    /// Register a robot (`POST /v1/robots` with a support-issued token), then prove its
    /// certificate works with a read-only call over mutual TLS (needs --key).
    Create(RobotCreateArgs),
}

#[derive(Debug, Args)]
pub struct RobotCreateArgs {
    /// Appliance base URL, e.g. https://10.20.30.40.
    #[arg(long)]
    pub url: String,
    /// Environment variable holding the support-issued Bearer token (never printed).
    #[arg(long)]
    pub token_env: String,
    /// Robot name.
    #[arg(long)]
    pub name: String,
    /// Role: reader (default; tenax only reads) or admin.
    #[arg(long, value_enum, default_value_t = RobotRole::Reader)]
    pub role: RobotRole,
    /// The robot's certificate (PEM), e.g. from `tenax ot cert`.
    #[arg(long)]
    pub cert: PathBuf,
    /// The robot's private key: proves the registration with a read over mutual TLS.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Trust this CA certificate (PEM) for the appliance.
    #[arg(long, conflicts_with_all = ["server_cert_sha256", "insecure"])]
    pub ca_file: Option<PathBuf>,
    /// Accept exactly the appliance certificate with this SHA-256.
    #[arg(long, conflicts_with = "insecure")]
    pub server_cert_sha256: Option<String>,
    /// Do not verify the appliance's certificate (the token is sent anyway: avoid).
    #[arg(long)]
    pub insecure: bool,
    /// HTTP proxy URL.
    #[arg(long)]
    pub proxy: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RobotRole {
    /// ReaderRole.
    Reader,
    /// AdminRole.
    Admin,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. A non-loopback address needs a token in TENAX_API_TOKEN.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Serve only: no scheduled syncs.
    #[arg(long)]
    pub no_sync: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Exit after the summary instead of serving the dashboard and API.
    #[arg(long)]
    pub no_serve: bool,
    /// Where to serve the dashboard and API after the sync (an ephemeral port when this one
    /// is busy).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Simulated assets.
    #[arg(long, default_value_t = 2000)]
    pub assets: usize,
    /// Simulator seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Seed of the generated data set.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulated assets.
    #[arg(long, default_value_t = 1000)]
    pub assets: usize,
    /// Faults, e.g. `429:every=5,5xx:p=0.05,reset:chunk=3,export:error`.
    #[arg(long)]
    pub faults: Option<String>,
    /// Simulated Security Center hosts (about 7 findings each).
    #[arg(long, default_value_t = 100)]
    pub sc_hosts: usize,
    /// Serve VM findings from a JSON array (or a decoded pyTenable cassette) file.
    #[arg(long)]
    pub vm_findings: Option<PathBuf>,
    /// Serve VM assets from a JSON array (or a decoded pyTenable cassette) file.
    #[arg(long)]
    pub vm_assets: Option<PathBuf>,
    /// Milliseconds between chunks becoming available.
    #[arg(long, default_value_t = 20)]
    pub chunk_interval_ms: u64,
    /// Write a tenax.toml pointing at the simulator (mode 0600) and keep running.
    #[arg(long)]
    pub write_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AssetArgs {
    /// Only these sources (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Substring of name, host names, FQDNs, IPs or MACs.
    #[arg(long)]
    pub search: Option<String>,
    /// Include assets the source deleted or terminated.
    #[arg(long)]
    pub include_deleted: bool,
    /// Unified assets (one per device, correlated across products) instead of per-source
    /// records.
    #[arg(long)]
    pub unified: bool,
    /// Only the records of this unified asset.
    #[arg(long)]
    pub unified_id: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// At most this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct FindingArgs {
    /// Only these sources (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Severities: info,low,medium,high,critical.
    #[arg(long, value_delimiter = ',')]
    pub severity: Vec<String>,
    /// States: open,reopened,fixed.
    #[arg(long, value_delimiter = ',')]
    pub state: Vec<String>,
    /// A CVE id.
    #[arg(long)]
    pub cve: Option<String>,
    /// A plugin id.
    #[arg(long)]
    pub plugin: Option<i64>,
    /// A source-native asset id.
    #[arg(long)]
    pub asset: Option<String>,
    /// All findings of one unified asset, from every product.
    #[arg(long)]
    pub unified_asset: Option<String>,
    /// The findings as they were at this time (RFC 3339 or a date, e.g. `2026-10-01`), each
    /// with the state it had then.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// At most this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only these sources (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Days to fix an open finding, per severity, e.g. `critical=7,high=30`; the rest keep
    /// their defaults (critical 15, high 30, medium 90, low 180, info none). `none` removes a
    /// deadline.
    #[arg(long, value_delimiter = ',')]
    pub sla: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// CSV with a header row.
    Csv,
}

#[derive(Debug, Args)]
pub struct EventArgs {
    /// Only these sources (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Only events at or after this time (RFC 3339, e.g. `2026-11-01T00:00:00Z`).
    #[arg(long)]
    pub since: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// At most this many rows.
    #[arg(long)]
    pub limit: Option<u64>,
}
