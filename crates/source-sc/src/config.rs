//! `[[sources]]` settings of a `kind = "sc"` source.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tenax_source::http::{HttpOptions, check_base_url};
use tenax_source::retry::RetryPolicy;
use tenax_source::secret::{ConfigSecret, ExposeSecret, SecretString, interpolate, resolve_secret};

use crate::keys::{BAD_CHARS, is_key_token, parse_api_keys};

/// Configuration of a Tenable Security Center source. Unknown keys are errors.
///
/// Exactly one way to authenticate: `api_keys` (the string SC displays,
/// `accesskey=…; secretkey=…;`), or `access_key` + `secret_key`, or `username` + `password`
/// (session login, for SC older than 5.13 or with API keys disabled).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScConfig {
    /// Unique source name, `[a-z0-9_-]+`.
    pub name: String,
    /// Base URL of the Security Center appliance, e.g. `https://sc.example.com`.
    pub url: String,
    /// `accesskey=…; secretkey=…;` as SC displays it; `${VAR}` reads the environment.
    #[serde(default)]
    pub api_keys: Option<ConfigSecret>,
    /// Access key alone; needs `secret_key`.
    #[serde(default)]
    pub access_key: Option<ConfigSecret>,
    /// Secret key alone; needs `access_key`.
    #[serde(default)]
    pub secret_key: Option<ConfigSecret>,
    /// Session login user name; needs `password`.
    #[serde(default)]
    pub username: Option<String>,
    /// Session login password; needs `username`.
    #[serde(default)]
    pub password: Option<ConfigSecret>,
    /// Verify the server's TLS certificate. Default true.
    #[serde(default = "yes")]
    pub verify_ssl: bool,
    /// Extra CA certificates (PEM) to trust (the appliance's own CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Certificate pinning by SHA-256: not supported yet (use `ca_file`).
    #[serde(default)]
    pub server_cert_sha256: Option<String>,
    /// HTTP(S) proxy URL.
    #[serde(default)]
    pub proxy: Option<tenax_source::http::ProxyUrl>,
    /// How often `tenax serve` syncs this source (`30s`, `15m`, `1h`, `1d`); checked by the
    /// sync config loader. Default: never (only `tenax sync` syncs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_every: Option<String>,
    /// Timeout of one request (one analysis page is one request), seconds. Default 300.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Records per `/rest/analysis` page, 1..=10000. Default 1000 (like pyTenable).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// How far back the first (full) sync reaches, days. Default 365.
    #[serde(default = "default_lookback")]
    pub lookback_days: u32,
    /// Incremental runs start this much before the previous run's window end, seconds.
    /// Default 3600.
    #[serde(default = "default_overlap")]
    pub overlap_secs: u64,
}

fn yes() -> bool {
    true
}
fn default_timeout() -> u64 {
    300
}
fn default_page_size() -> u32 {
    1000
}
fn default_lookback() -> u32 {
    365
}
fn default_overlap() -> u64 {
    3600
}

impl ScConfig {
    /// A config with every default, the given name and URL, and `api_keys`.
    pub fn new(name: &str, url: &str, api_keys: &str) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            sync_every: None,
            api_keys: Some(api_keys.into()),
            access_key: None,
            secret_key: None,
            username: None,
            password: None,
            verify_ssl: true,
            ca_file: None,
            server_cert_sha256: None,
            proxy: None,
            timeout_secs: default_timeout(),
            page_size: default_page_size(),
            lookback_days: default_lookback(),
            overlap_secs: default_overlap(),
        }
    }

    /// The secret-bearing settings that are set, for the config loader's file-permission rule.
    pub fn secret_fields(&self) -> Vec<(&'static str, &str)> {
        [
            ("api_keys", &self.api_keys),
            ("access_key", &self.access_key),
            ("secret_key", &self.secret_key),
            ("password", &self.password),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.as_str())))
        .collect()
    }

    /// Validates everything and resolves secrets. Errors are one line naming the setting and
    /// never contain a secret.
    pub fn resolve(&self) -> Result<ScSettings, String> {
        let base = check_base_url(&self.url)?;
        if self.server_cert_sha256.is_some() {
            return Err(
                "server_cert_sha256 is not supported for sc sources yet; trust the appliance \
                 certificate with ca_file (or verify_ssl = false)"
                    .into(),
            );
        }
        let auth = self.resolve_auth()?;
        if !(1..=10_000).contains(&self.page_size) {
            return Err(format!("page_size = {}: must be 1..=10000", self.page_size));
        }
        if self.timeout_secs == 0 {
            return Err("timeout_secs must be > 0".into());
        }
        Ok(ScSettings {
            name: self.name.clone(),
            base,
            auth,
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
            retry: RetryPolicy::default(),
            batch_records: 1_000,
            batch_bytes: 4 << 20,
        })
    }

    fn resolve_auth(&self) -> Result<ScAuth, String> {
        let keys = self.api_keys.is_some();
        let pair = self.access_key.is_some() || self.secret_key.is_some();
        let session = self.username.is_some() || self.password.is_some();
        match (keys, pair, session) {
            (false, false, false) => Err(
                "no credentials: set api_keys, or access_key and secret_key, or username and \
                 password"
                    .into(),
            ),
            (true, true, _) => {
                Err("api_keys and access_key/secret_key are both set: keep one of them".into())
            }
            (true, _, true) | (_, true, true) => {
                Err("API keys and username/password are both set: keep one way to log in".into())
            }
            (true, false, false) => {
                let raw = self.api_keys.as_ref().map(ConfigSecret::as_str);
                let value = interpolate(raw.unwrap_or_default(), "api_keys")?;
                let (access, secret) = parse_api_keys(&value)?;
                Ok(ScAuth::ApiKeys { access, secret })
            }
            (false, true, false) => {
                let (Some(a), Some(s)) = (&self.access_key, &self.secret_key) else {
                    let (set, missing) = if self.access_key.is_some() {
                        ("access_key", "secret_key")
                    } else {
                        ("secret_key", "access_key")
                    };
                    return Err(format!("{set} is set but {missing} is missing"));
                };
                let access = key(a, "access_key")?;
                let secret = key(s, "secret_key")?;
                Ok(ScAuth::ApiKeys { access, secret })
            }
            (false, false, true) => {
                let (Some(u), Some(p)) = (&self.username, &self.password) else {
                    let (set, missing) = if self.username.is_some() {
                        ("username", "password")
                    } else {
                        ("password", "username")
                    };
                    return Err(format!("{set} is set but {missing} is missing"));
                };
                let username = interpolate(u, "username")?.trim().to_owned();
                if username.is_empty() {
                    return Err("`username` is empty".into());
                }
                let password = resolve_secret(p.as_str(), "password")?;
                Ok(ScAuth::Session { username, password })
            }
        }
    }
}

fn key(v: &ConfigSecret, field: &str) -> Result<SecretString, String> {
    let k = resolve_secret(v.as_str(), field)?;
    if !is_key_token(k.expose_secret()) {
        return Err(format!("`{field}` {BAD_CHARS}"));
    }
    Ok(k)
}

/// How the connector logs in. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub enum ScAuth {
    /// Header `x-apikey: accesskey=…; secretkey=…;` on every request (SC ≥ 5.13).
    ApiKeys {
        /// Access key.
        access: SecretString,
        /// Secret key.
        secret: SecretString,
    },
    /// `POST /rest/token`, then `X-SecurityCenter` + the `TNS_SESSIONID` cookie.
    Session {
        /// User name.
        username: String,
        /// Password.
        password: SecretString,
    },
}

impl ScAuth {
    /// The `x-apikey` header value for API-key auth, `None` for a session login.
    pub fn api_key_header(&self) -> Option<SecretString> {
        match self {
            Self::ApiKeys { access, secret } => Some(SecretString::from(format!(
                "accesskey={}; secretkey={};",
                access.expose_secret(),
                secret.expose_secret()
            ))),
            Self::Session { .. } => None,
        }
    }
}

/// Validated settings with resolved secrets. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub struct ScSettings {
    /// Source name.
    pub name: String,
    /// Base URL of the appliance.
    pub base: reqwest::Url,
    /// Exactly one login mode.
    pub auth: ScAuth,
    /// HTTP options.
    pub http: HttpOptions,
    /// Records per analysis page.
    pub page_size: u32,
    /// Full-sync look-back.
    pub lookback: Duration,
    /// Incremental overlap.
    pub overlap: Duration,
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

    const KEYS: &str =
        "accesskey=0123456789abcdef0123456789abcdef; secretkey=SECRETfedcba9876543210fedcba98;";

    fn cfg(toml_text: &str) -> ScConfig {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn unknown_key_is_an_error() {
        let e = toml::from_str::<ScConfig>("name='a'\nurl='https://h'\napikeys='x'").unwrap_err();
        assert!(e.to_string().contains("unknown field `apikeys`"), "{e}");
    }

    #[test]
    fn defaults() {
        let c = cfg(&format!(
            "name='sc'\nurl='https://sc.example.com'\napi_keys='{KEYS}'"
        ));
        let s = c.resolve().unwrap();
        assert_eq!(s.page_size, 1000);
        assert_eq!(s.lookback, Duration::from_secs(365 * 86_400));
        assert_eq!(s.overlap, Duration::from_secs(3600));
        assert_eq!(s.http.timeout, Duration::from_secs(300));
        assert!(s.http.verify_ssl);
        let ScAuth::ApiKeys { access, secret } = &s.auth else {
            panic!("api keys")
        };
        assert_eq!(access.expose_secret(), "0123456789abcdef0123456789abcdef");
        assert_eq!(secret.expose_secret(), "SECRETfedcba9876543210fedcba98");
        assert_eq!(
            s.auth.api_key_header().unwrap().expose_secret(),
            "accesskey=0123456789abcdef0123456789abcdef; secretkey=SECRETfedcba9876543210fedcba98;"
        );
        assert_eq!(c.secret_fields(), [("api_keys", KEYS)]);
    }

    #[test]
    fn exactly_one_auth_mode() {
        let base = "name='sc'\nurl='https://h'\n";
        let e = |extra: &str| cfg(&format!("{base}{extra}")).resolve().unwrap_err();
        assert_eq!(
            e(""),
            "no credentials: set api_keys, or access_key and secret_key, or username and password"
        );
        assert_eq!(
            e(&format!("api_keys='{KEYS}'\naccess_key='a'")),
            "api_keys and access_key/secret_key are both set: keep one of them"
        );
        assert_eq!(
            e(&format!("api_keys='{KEYS}'\nusername='u'")),
            "API keys and username/password are both set: keep one way to log in"
        );
        assert_eq!(
            e("access_key='a'\npassword='p'"),
            "API keys and username/password are both set: keep one way to log in"
        );
        assert_eq!(
            e("access_key='a'"),
            "access_key is set but secret_key is missing"
        );
        assert_eq!(
            e("secret_key='s'"),
            "secret_key is set but access_key is missing"
        );
        assert_eq!(e("username='u'"), "username is set but password is missing");
        assert_eq!(
            e("password='SECRETpw'"),
            "password is set but username is missing"
        );
        assert_eq!(e("username=' '\npassword='p'"), "`username` is empty");
        assert_eq!(
            e("access_key='a'\nsecret_key='SECRET;x'"),
            "`secret_key` contains a character other than letters, digits, `-` or `_`"
        );
        assert_eq!(
            e("api_keys='accesskey=a;'"),
            "api_keys: secretkey is missing"
        );
        assert_eq!(
            e("api_keys='${TENAX_TEST_SURELY_UNSET_VAR}'"),
            "`api_keys`: environment variable TENAX_TEST_SURELY_UNSET_VAR is not set"
        );

        let s = cfg(&format!("{base}access_key='ak'\nsecret_key='sk'"))
            .resolve()
            .unwrap();
        assert!(matches!(s.auth, ScAuth::ApiKeys { .. }));
        let c = cfg(&format!("{base}username='analyst'\npassword='SECRETpw'"));
        let s = c.resolve().unwrap();
        let ScAuth::Session { username, password } = &s.auth else {
            panic!("session")
        };
        assert_eq!(username, "analyst");
        assert_eq!(password.expose_secret(), "SECRETpw");
        assert!(s.auth.api_key_header().is_none());
        assert_eq!(c.secret_fields(), [("password", "SECRETpw")]);
    }

    #[test]
    fn other_settings_are_checked() {
        let mut c = ScConfig::new("sc", "https://h", KEYS);
        c.page_size = 0;
        assert_eq!(c.resolve().unwrap_err(), "page_size = 0: must be 1..=10000");
        c.page_size = 10_001;
        assert_eq!(
            c.resolve().unwrap_err(),
            "page_size = 10001: must be 1..=10000"
        );
        c.page_size = 10_000;
        assert!(c.resolve().is_ok());
        c.timeout_secs = 0;
        assert_eq!(c.resolve().unwrap_err(), "timeout_secs must be > 0");
        let mut c = ScConfig::new("sc", "https://h", KEYS);
        c.server_cert_sha256 = Some("ab".into());
        assert!(
            c.resolve()
                .unwrap_err()
                .starts_with("server_cert_sha256 is not supported")
        );
        let c = ScConfig::new("sc", "http://sc.example.com", KEYS);
        assert!(c.resolve().unwrap_err().contains("non-loopback"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = ScConfig::new("sc", "https://h", KEYS);
        let shown = format!("{c:?} {:?}", c.resolve().unwrap());
        assert!(
            !shown.contains("SECRET") && !shown.contains("0123456789"),
            "{shown}"
        );
        let mut c = ScConfig::new("sc", "https://h", "");
        c.api_keys = None;
        c.username = Some("u".into());
        c.password = Some("SECRETpw".into());
        let shown = format!("{c:?} {:?}", c.resolve().unwrap());
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
