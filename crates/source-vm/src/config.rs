//! `[[sources]]` settings of a `kind = "vm"` source.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenax_source::http::{HttpOptions, check_base_url};
use tenax_source::retry::RetryPolicy;
use tenax_source::secret::{ConfigSecret, SecretString, resolve_secret};

/// Configuration of a Tenable Vulnerability Management source. Unknown keys are errors.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    /// Unique source name, `[a-z0-9_-]+`.
    pub name: String,
    /// Base URL. Default `https://cloud.tenable.com`.
    #[serde(default = "default_url")]
    pub url: String,
    /// Access key; `${VAR}` reads the environment. Default `${TIO_ACCESS_KEY}`.
    #[serde(default = "default_access_key")]
    pub access_key: ConfigSecret,
    /// Secret key; `${VAR}` reads the environment. Default `${TIO_SECRET_KEY}`.
    #[serde(default = "default_secret_key")]
    pub secret_key: ConfigSecret,
    /// Verify the server's TLS certificate. Default true.
    #[serde(default = "yes")]
    pub verify_ssl: bool,
    /// Extra CA certificates (PEM) to trust.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Pin the server certificate by SHA-256 (OT appliances; not used for the cloud).
    #[serde(default)]
    pub server_cert_sha256: Option<String>,
    /// HTTP(S) proxy URL.
    #[serde(default)]
    pub proxy: Option<tenax_source::http::ProxyUrl>,
    /// How often `tenax serve` syncs this source (`30s`, `15m`, `1h`, `1d`); checked by the
    /// sync config loader. Default: never (only `tenax sync` syncs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_every: Option<String>,
    /// Timeout of one request (a chunk download is one request), seconds. Default 300.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Assets per vulnerability export chunk (Tenable clamps to 50–5000). Default 500.
    #[serde(default = "default_num_assets")]
    pub num_assets: u32,
    /// Assets per asset export chunk (100–10000). Default 1000.
    #[serde(default = "default_chunk_size")]
    pub asset_chunk_size: u32,
    /// Chunks downloaded at once. Default 4.
    #[serde(default = "default_parallel")]
    pub max_parallel_chunks: usize,
    /// How far back the first (full) sync reaches, days. Default 365.
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// Incremental runs start this much before the previous run's window end, seconds, so
    /// late-indexed findings are not missed. Default 3600.
    #[serde(default = "default_overlap")]
    pub overlap_secs: u64,
    /// Longest wait between status polls, seconds. Default 30.
    #[serde(default = "default_poll_max")]
    pub poll_max_secs: u64,
    /// Deadline of one export, from creation to the last chunk, seconds. Default 10800.
    #[serde(default = "default_export_deadline")]
    pub export_timeout_secs: u64,
    /// Include findings of unlicensed assets. Default true (like pyTenable).
    #[serde(default = "yes")]
    pub include_unlicensed: bool,
}

fn default_url() -> String {
    "https://cloud.tenable.com".into()
}
fn default_access_key() -> ConfigSecret {
    "${TIO_ACCESS_KEY}".into()
}
fn default_secret_key() -> ConfigSecret {
    "${TIO_SECRET_KEY}".into()
}
fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    300
}
fn default_num_assets() -> u32 {
    500
}
fn default_chunk_size() -> u32 {
    1000
}
fn default_parallel() -> usize {
    4
}
fn default_lookback() -> u32 {
    365
}
fn default_overlap() -> u64 {
    3600
}
fn default_poll_max() -> u64 {
    30
}
fn default_export_deadline() -> u64 {
    10_800
}

impl VmConfig {
    /// A config with every default and the given name, URL and keys.
    pub fn new(name: &str, url: &str, access_key: &str, secret_key: &str) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            sync_every: None,
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            verify_ssl: true,
            ca_file: None,
            server_cert_sha256: None,
            proxy: None,
            timeout_secs: default_timeout(),
            num_assets: default_num_assets(),
            asset_chunk_size: default_chunk_size(),
            max_parallel_chunks: default_parallel(),
            lookback_days: default_lookback(),
            overlap_secs: default_overlap(),
            poll_max_secs: default_poll_max(),
            export_timeout_secs: default_export_deadline(),
            include_unlicensed: true,
        }
    }

    /// The secret-bearing settings, for the config loader's file-permission rule.
    pub fn secret_fields(&self) -> [(&'static str, &str); 2] {
        [
            ("access_key", self.access_key.as_str()),
            ("secret_key", self.secret_key.as_str()),
        ]
    }

    /// Validates everything and resolves secrets. Errors are one line naming the setting.
    pub fn resolve(&self) -> Result<VmSettings, String> {
        let base = check_base_url(&self.url)?;
        if self.server_cert_sha256.is_some() {
            return Err(
                "server_cert_sha256 is not supported for vm sources (the cloud presents a \
                        publicly trusted certificate)"
                    .into(),
            );
        }
        let access_key = resolve_secret(self.access_key.as_str(), "access_key")?;
        let secret_key = resolve_secret(self.secret_key.as_str(), "secret_key")?;
        for (field, v) in [("access_key", &access_key), ("secret_key", &secret_key)] {
            use tenax_source::secret::ExposeSecret;
            if v.expose_secret()
                .chars()
                .any(|c| c == ';' || c == '=' || c.is_control())
            {
                return Err(format!(
                    "`{field}` contains `;`, `=` or a control character"
                ));
            }
        }
        if !(50..=5000).contains(&self.num_assets) {
            return Err(format!(
                "num_assets = {}: must be 50..=5000",
                self.num_assets
            ));
        }
        if !(100..=10_000).contains(&self.asset_chunk_size) {
            return Err(format!(
                "asset_chunk_size = {}: must be 100..=10000",
                self.asset_chunk_size
            ));
        }
        if !(1..=32).contains(&self.max_parallel_chunks) {
            return Err(format!(
                "max_parallel_chunks = {}: must be 1..=32",
                self.max_parallel_chunks
            ));
        }
        if self.timeout_secs == 0 || self.poll_max_secs == 0 || self.export_timeout_secs == 0 {
            return Err("timeout_secs, poll_max_secs and export_timeout_secs must be > 0".into());
        }
        Ok(VmSettings {
            name: self.name.clone(),
            base,
            access_key,
            secret_key,
            http: HttpOptions {
                timeout: Duration::from_secs(self.timeout_secs),
                verify_ssl: self.verify_ssl,
                ca_file: self.ca_file.clone(),
                proxy: self.proxy.as_ref().map(|p| p.0.clone()),
                ..HttpOptions::default()
            },
            num_assets: self.num_assets,
            asset_chunk_size: self.asset_chunk_size,
            max_parallel_chunks: self.max_parallel_chunks,
            lookback: Duration::from_secs(u64::from(self.lookback_days) * 86_400),
            overlap: Duration::from_secs(self.overlap_secs),
            poll_initial: Duration::from_millis(250),
            poll_max: Duration::from_secs(self.poll_max_secs),
            export_deadline: Duration::from_secs(self.export_timeout_secs),
            include_unlicensed: self.include_unlicensed,
            retry: RetryPolicy::default(),
            batch_records: 1_000,
            batch_bytes: 4 << 20,
        })
    }
}

/// Validated settings with resolved secrets. `Debug` never shows the keys.
#[derive(Debug, Clone)]
pub struct VmSettings {
    /// Source name.
    pub name: String,
    /// Base URL.
    pub base: reqwest::Url,
    /// Access key.
    pub access_key: SecretString,
    /// Secret key.
    pub secret_key: SecretString,
    /// HTTP options.
    pub http: HttpOptions,
    /// Assets per vulns chunk.
    pub num_assets: u32,
    /// Assets per asset chunk.
    pub asset_chunk_size: u32,
    /// Parallel chunk downloads.
    pub max_parallel_chunks: usize,
    /// Full-sync look-back.
    pub lookback: Duration,
    /// Incremental overlap.
    pub overlap: Duration,
    /// First status poll delay (grows ×1.5 up to `poll_max` while nothing new appears).
    pub poll_initial: Duration,
    /// Longest poll delay.
    pub poll_max: Duration,
    /// Deadline of one export.
    pub export_deadline: Duration,
    /// Include unlicensed assets' findings.
    pub include_unlicensed: bool,
    /// Retry policy of every request.
    pub retry: RetryPolicy,
    /// Records per store batch.
    pub batch_records: usize,
    /// Raw bytes per store batch.
    pub batch_bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_an_error() {
        let e = toml::from_str::<VmConfig>("name='a'\nacess_key='x'").unwrap_err();
        assert!(e.to_string().contains("unknown field `acess_key`"), "{e}");
    }

    #[test]
    fn resolve_rejects_bad_values_without_echoing_secrets() {
        let c = VmConfig::new("c", "http://tenable.example.com", "a", "b");
        assert!(c.resolve().unwrap_err().contains("non-loopback"));
        let c = VmConfig::new("c", "https://h", "", "b");
        assert_eq!(c.resolve().unwrap_err(), "`access_key` is empty");
        let c = VmConfig::new("c", "https://h", "a", "s3cr3t;x");
        let e = c.resolve().unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
        let mut c = VmConfig::new("c", "https://h", "a", "b");
        c.num_assets = 10;
        assert!(c.resolve().unwrap_err().contains("num_assets = 10"));
    }

    #[test]
    fn settings_debug_hides_keys() {
        let c = VmConfig::new("c", "https://h", "AKEY123", "SKEY456");
        let s = format!("{:?}", c.resolve().unwrap());
        assert!(!s.contains("AKEY123") && !s.contains("SKEY456"), "{s}");
    }
}
