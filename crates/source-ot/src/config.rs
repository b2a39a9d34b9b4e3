//! `[[sources]]` settings of a `kind = "ot"` source.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenax_source::http::{HttpOptions, check_base_url};
use tenax_source::retry::RetryPolicy;
use tenax_source::secret::{ConfigSecret, ExposeSecret, SecretString, resolve_secret};

use crate::tls::{ClientIdentity, Fingerprint, TlsContext, TlsOptions, load_identity};

/// Where findings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingsMode {
    /// Probe the GraphQL `findings` field once per run; when the appliance does not know it
    /// (`GRAPHQL_VALIDATION_FAILED`), use `plugin_hits`.
    #[default]
    Auto,
    /// GraphQL `findings` only.
    Graphql,
    /// `GET /v1/assets/{id}/plugin_hits` per asset (older appliances; pyTenable's way).
    PluginHits,
}

/// Configuration of a Tenable OT Security source. Unknown keys are errors.
///
/// Exactly one way to authenticate: a robot (`robot` + `cert_file` + `key_file`: mutual TLS
/// with the certificate registered by `POST /v1/robots`), or `api_key` (`X-APIKeys`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtConfig {
    /// Unique source name, `[a-z0-9_-]+`.
    pub name: String,
    /// Base URL of the appliance, e.g. `https://10.20.30.40`.
    pub url: String,
    /// Robot user name (robot mode); sent as `X-Robot-Name` on every request.
    #[serde(default)]
    pub robot: Option<String>,
    /// The robot's certificate (PEM).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// The robot's private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC; unencrypted, mode 0600).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// API key (API-key mode); `${VAR}` reads the environment, e.g. `${TOT_API_KEY}`.
    #[serde(default)]
    pub api_key: Option<ConfigSecret>,
    /// Verify the appliance's TLS certificate. Default true; false is loudly warned about.
    #[serde(default = "yes")]
    pub verify_ssl: bool,
    /// Extra CA certificates (PEM) to trust (the appliance's own CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept exactly the appliance certificate with this SHA-256 (hex, colons allowed).
    #[serde(default)]
    pub server_cert_sha256: Option<String>,
    /// HTTP proxy URL (HTTPS goes through it with CONNECT; mutual TLS stays end to end).
    #[serde(default)]
    pub proxy: Option<tenax_source::http::ProxyUrl>,
    /// How often `tenax serve` syncs this source (`30s`, `15m`, `1h`, `1d`); checked by the
    /// sync config loader. Default: never (only `tenax sync` syncs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_every: Option<String>,
    /// Timeout of one request, seconds. Default 300.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Records per GraphQL page (`first`), 1..=10000. Default 500.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// How far back the first (full) sync reaches, days. Default 365.
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// Incremental runs start this much before the newest `lastUpdate`/`time` seen by the
    /// previous complete run, seconds. Default 3600.
    #[serde(default = "default_overlap")]
    pub overlap_secs: u64,
    /// `auto` (default), `graphql` or `plugin_hits`.
    #[serde(default)]
    pub findings: FindingsMode,
    /// Concurrent `plugin_hits` requests, 1..=32. Default 4.
    #[serde(default = "default_concurrency")]
    pub plugin_hits_concurrency: usize,
    /// Sync events (policy hits). Default true.
    #[serde(default = "yes")]
    pub events: bool,
}

fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    300
}
fn default_page_size() -> u32 {
    500
}
fn default_lookback() -> u32 {
    365
}
fn default_overlap() -> u64 {
    3600
}
fn default_concurrency() -> usize {
    4
}

impl OtConfig {
    /// A config with every default, the given name and URL, and no credentials.
    pub fn new(name: &str, url: &str) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            sync_every: None,
            robot: None,
            cert_file: None,
            key_file: None,
            api_key: None,
            verify_ssl: true,
            ca_file: None,
            server_cert_sha256: None,
            proxy: None,
            timeout_secs: default_timeout(),
            page_size: default_page_size(),
            lookback_days: default_lookback(),
            overlap_secs: default_overlap(),
            findings: FindingsMode::Auto,
            plugin_hits_concurrency: default_concurrency(),
            events: true,
        }
    }

    /// The secret-bearing settings that are set, for the config loader's file-permission rule.
    pub fn secret_fields(&self) -> Vec<(&'static str, &str)> {
        self.api_key
            .as_ref()
            .map(|k| ("api_key", k.as_str()))
            .into_iter()
            .collect()
    }

    /// Validates everything, reads the certificate files and resolves secrets. Errors are one
    /// line naming the setting (and the file) and never contain a secret or key material.
    pub fn resolve(&self) -> Result<OtSettings, String> {
        let base = check_base_url(&self.url)?;
        let auth = self.resolve_auth()?;
        let pin = self
            .server_cert_sha256
            .as_deref()
            .map(Fingerprint::parse)
            .transpose()?;
        if pin.is_some() && !self.verify_ssl {
            return Err(
                "server_cert_sha256 and verify_ssl = false are both set: the pin \
                        already accepts exactly that certificate; remove verify_ssl = false"
                    .into(),
            );
        }
        if pin.is_some() && self.ca_file.is_some() {
            return Err(
                "server_cert_sha256 and ca_file are both set: keep one (the pin \
                        accepts exactly one certificate, ca_file trusts a CA)"
                    .into(),
            );
        }
        if let Some(ca) = &self.ca_file {
            crate::tls::read_ca_file(ca).map_err(|e| e.to_string())?;
        }
        if !(1..=10_000).contains(&self.page_size) {
            return Err(format!("page_size = {}: must be 1..=10000", self.page_size));
        }
        if !(1..=32).contains(&self.plugin_hits_concurrency) {
            return Err(format!(
                "plugin_hits_concurrency = {}: must be 1..=32",
                self.plugin_hits_concurrency
            ));
        }
        if self.timeout_secs == 0 {
            return Err("timeout_secs must be > 0".into());
        }
        let identity = match &auth {
            OtAuth::Robot { identity, .. } => Some(identity.clone()),
            OtAuth::ApiKey(_) => None,
        };
        Ok(OtSettings {
            name: self.name.clone(),
            base,
            auth,
            tls: TlsOptions {
                verify_ssl: self.verify_ssl,
                ca_file: self.ca_file.clone(),
                pin,
                identity,
            },
            http: HttpOptions {
                timeout: Duration::from_secs(self.timeout_secs),
                verify_ssl: self.verify_ssl,
                ca_file: self.ca_file.clone(),
                proxy: self.proxy.as_ref().map(|p| p.0.clone()),
                ..HttpOptions::default()
            },
            page_size: self.page_size,
            lookback: Duration::from_secs(u64::from(self.lookback_days) * 86_400),
            overlap: Duration::from_secs(self.overlap_secs),
            findings: self.findings,
            plugin_hits_concurrency: self.plugin_hits_concurrency,
            events: self.events,
            retry: RetryPolicy::default(),
            batch_records: 1_000,
        })
    }

    fn resolve_auth(&self) -> Result<OtAuth, String> {
        let robot_set = self.robot.is_some() || self.cert_file.is_some() || self.key_file.is_some();
        match (robot_set, &self.api_key) {
            (false, None) => Err(
                "no credentials: set robot, cert_file and key_file (a robot's \
                                  client certificate), or api_key"
                    .into(),
            ),
            (true, Some(_)) => Err(
                "api_key and robot/cert_file/key_file are both set: keep one \
                                    way to authenticate"
                    .into(),
            ),
            (false, Some(k)) => {
                let key = resolve_secret(k.as_str(), "api_key")?;
                let v = key.expose_secret();
                if v.chars()
                    .any(|c| c.is_control() || c == ';' || !c.is_ascii())
                {
                    return Err(
                        "`api_key` contains a character that cannot be sent in a header".into(),
                    );
                }
                Ok(OtAuth::ApiKey(key))
            }
            (true, None) => {
                let missing: Vec<&str> = [
                    ("robot", self.robot.is_none()),
                    ("cert_file", self.cert_file.is_none()),
                    ("key_file", self.key_file.is_none()),
                ]
                .into_iter()
                .filter_map(|(k, m)| m.then_some(k))
                .collect();
                let (Some(robot), Some(cert), Some(key)) =
                    (&self.robot, &self.cert_file, &self.key_file)
                else {
                    return Err(format!(
                        "robot mode needs robot, cert_file and key_file: {} missing",
                        missing.join(" and ")
                    ));
                };
                let robot = robot.trim();
                if robot.is_empty() || !robot.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
                    return Err(format!(
                        "robot `{robot}`: must be a non-empty name of printable ASCII characters"
                    ));
                }
                let identity = load_identity(cert, key)?;
                if let Some(na) = identity.not_after()
                    && na < chrono::Utc::now().timestamp()
                {
                    tracing::warn!(source = %self.name, cert_file = %cert.display(), "The robot's certificate has expired; the appliance will likely refuse it. Generate a new one with `tenax ot cert` and register it.");
                }
                Ok(OtAuth::Robot {
                    name: robot.to_owned(),
                    identity,
                })
            }
        }
    }
}

/// How the connector authenticates. `Debug` never shows a secret or key material.
#[derive(Debug, Clone)]
pub enum OtAuth {
    /// Mutual TLS with the robot's certificate; `X-Robot-Name` on every request.
    Robot {
        /// Robot user name.
        name: String,
        /// Certificate and key.
        identity: ClientIdentity,
    },
    /// `X-APIKeys: key=<k>` on every request.
    ApiKey(SecretString),
}

impl OtAuth {
    /// The robot name in robot mode.
    pub fn robot(&self) -> Option<&str> {
        match self {
            Self::Robot { name, .. } => Some(name),
            Self::ApiKey(_) => None,
        }
    }
}

/// Validated settings with resolved secrets and loaded certificates. `Debug` never shows a
/// secret.
#[derive(Debug, Clone)]
pub struct OtSettings {
    /// Source name.
    pub name: String,
    /// Base URL of the appliance.
    pub base: reqwest::Url,
    /// Exactly one login mode.
    pub auth: OtAuth,
    /// Server verification and client certificate.
    pub tls: TlsOptions,
    /// Timeouts, proxy, user agent.
    pub http: HttpOptions,
    /// GraphQL page size.
    pub page_size: u32,
    /// Full-sync look-back.
    pub lookback: Duration,
    /// Incremental overlap.
    pub overlap: Duration,
    /// Where findings come from.
    pub findings: FindingsMode,
    /// Concurrent `plugin_hits` requests.
    pub plugin_hits_concurrency: usize,
    /// Sync events.
    pub events: bool,
    /// Retry policy of every request.
    pub retry: RetryPolicy,
    /// Records per store batch.
    pub batch_records: usize,
}

impl OtSettings {
    /// What a TLS failure message needs to know.
    pub fn tls_context(&self) -> TlsContext {
        TlsContext {
            robot: self.auth.robot().map(str::to_owned),
            pinned: self.tls.pin.is_some(),
            ca_file: self.tls.ca_file.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(toml_text: &str) -> OtConfig {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn unknown_key_is_an_error() {
        let e = toml::from_str::<OtConfig>("name='a'\nurl='https://h'\napikey='x'").unwrap_err();
        assert!(e.to_string().contains("unknown field `apikey`"), "{e}");
    }

    #[test]
    fn defaults_with_an_api_key() {
        let c = cfg("name='ot'\nurl='https://10.20.30.40'\napi_key='SECRETk3y'");
        let s = c.resolve().unwrap();
        assert_eq!(s.page_size, 500);
        assert_eq!(s.findings, FindingsMode::Auto);
        assert_eq!(s.plugin_hits_concurrency, 4);
        assert!(s.events && s.tls.verify_ssl && s.tls.pin.is_none());
        assert_eq!(s.lookback, Duration::from_secs(365 * 86_400));
        assert_eq!(s.overlap, Duration::from_secs(3600));
        let OtAuth::ApiKey(k) = &s.auth else {
            panic!("api key")
        };
        assert_eq!(k.expose_secret(), "SECRETk3y");
        assert_eq!(c.secret_fields(), [("api_key", "SECRETk3y")]);
        let shown = format!("{c:?} {s:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let c = cfg("name='ot'\nurl='https://h'\napi_key='k'\nfindings='plugin_hits'");
        assert_eq!(c.findings, FindingsMode::PluginHits);
        assert!(
            toml::from_str::<OtConfig>("name='a'\nurl='https://h'\nfindings='rest'")
                .unwrap_err()
                .to_string()
                .contains("unknown variant `rest`")
        );
    }

    #[test]
    fn exactly_one_auth_mode() {
        let base = "name='ot'\nurl='https://h'\n";
        let e = |extra: &str| cfg(&format!("{base}{extra}")).resolve().unwrap_err();
        assert_eq!(
            e(""),
            "no credentials: set robot, cert_file and key_file (a robot's client certificate), \
             or api_key"
        );
        assert_eq!(
            e("api_key='k'\nrobot='r'"),
            "api_key and robot/cert_file/key_file are both set: keep one way to authenticate"
        );
        assert_eq!(
            e("robot='r'"),
            "robot mode needs robot, cert_file and key_file: cert_file and key_file missing"
        );
        assert_eq!(
            e("cert_file='c.pem'\nkey_file='k.pem'"),
            "robot mode needs robot, cert_file and key_file: robot missing"
        );
        assert_eq!(
            e("api_key='${TENAX_TEST_SURELY_UNSET_VAR}'"),
            "`api_key`: environment variable TENAX_TEST_SURELY_UNSET_VAR is not set"
        );
        assert_eq!(
            e("robot='r'\ncert_file='/nonexistent/c.pem'\nkey_file='/nonexistent/k.pem'"),
            "cert_file /nonexistent/c.pem: cannot read: no such file"
        );
    }

    #[test]
    fn tls_settings_are_checked() {
        let mut c = OtConfig::new("ot", "https://h");
        c.api_key = Some("k".into());
        c.server_cert_sha256 = Some("12:34".into());
        assert!(
            c.resolve()
                .unwrap_err()
                .starts_with("server_cert_sha256 `12:34`: not a SHA-256 fingerprint")
        );
        c.server_cert_sha256 = Some("AB".repeat(32));
        assert!(c.resolve().unwrap().tls.pin.is_some());
        c.verify_ssl = false;
        assert!(
            c.resolve()
                .unwrap_err()
                .starts_with("server_cert_sha256 and verify_ssl = false are both set")
        );
        c.verify_ssl = true;
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(
            c.resolve()
                .unwrap_err()
                .starts_with("server_cert_sha256 and ca_file are both set")
        );
        c.server_cert_sha256 = None;
        assert_eq!(
            c.resolve().unwrap_err(),
            "ca_file /nonexistent/ca.pem: cannot read: no such file"
        );
        let mut c = OtConfig::new("ot", "https://h");
        c.api_key = Some("k".into());
        c.page_size = 0;
        assert_eq!(c.resolve().unwrap_err(), "page_size = 0: must be 1..=10000");
        c.page_size = 1;
        c.plugin_hits_concurrency = 0;
        assert_eq!(
            c.resolve().unwrap_err(),
            "plugin_hits_concurrency = 0: must be 1..=32"
        );
        c.plugin_hits_concurrency = 4;
        c.timeout_secs = 0;
        assert_eq!(c.resolve().unwrap_err(), "timeout_secs must be > 0");
        let mut c = OtConfig::new("ot", "http://10.0.0.1");
        c.api_key = Some("k".into());
        assert!(c.resolve().unwrap_err().contains("non-loopback"));
    }
}
