//! The HTTP client every connector uses: timeouts, TLS, proxy and user agent are always set
//! here, and base URLs follow one rule (HTTPS, or plain HTTP to loopback only).

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use crate::SourceError;

/// A proxy URL as configured (`http://user:password@host:port` allowed). `Debug` masks the
/// password, so a config printed with `{:?}` does not show it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ProxyUrl(pub String);

impl ProxyUrl {
    /// The URL as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

impl From<&str> for ProxyUrl {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Connection options common to every source (`verify_ssl`, `ca_file`, `proxy`,
/// `timeout_secs` in the config). `Debug` shows the proxy with its password masked.
#[derive(Clone)]
pub struct HttpOptions {
    /// Whole-request timeout (a chunk download is one request; keep it generous).
    pub timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// Verify the server certificate (default true).
    pub verify_ssl: bool,
    /// Extra trusted CA certificates (PEM file).
    pub ca_file: Option<PathBuf>,
    /// Proxy URL (`http://host:port`, credentials allowed in the URL).
    pub proxy: Option<String>,
    /// User agent.
    pub user_agent: String,
}

impl std::fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpOptions")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("verify_ssl", &self.verify_ssl)
            .field("ca_file", &self.ca_file)
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(20),
            verify_ssl: true,
            ca_file: None,
            proxy: None,
            user_agent: user_agent(),
        }
    }
}

/// Tenable's recommended integration user agent, with tenax's version.
pub fn user_agent() -> String {
    format!(
        "Integration/1.0 (tenax; tenax; Build/{v}) tenax/{v}",
        v = env!("CARGO_PKG_VERSION")
    )
}

/// Builds the client. Errors are configuration errors naming the bad option.
pub fn build_client(opts: &HttpOptions) -> Result<reqwest::Client, SourceError> {
    let mut b = reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.connect_timeout)
        .user_agent(opts.user_agent.clone())
        .pool_max_idle_per_host(8)
        .tls_danger_accept_invalid_certs(!opts.verify_ssl);
    if let Some(path) = &opts.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            SourceError::Config(format!("ca_file {}: cannot read: {e}", path.display()))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|_| {
            SourceError::Config(format!(
                "ca_file {}: not a PEM certificate bundle",
                path.display()
            ))
        })?;
        if certs.is_empty() {
            return Err(SourceError::Config(format!(
                "ca_file {}: no certificate in the file",
                path.display()
            )));
        }
        b = b.tls_certs_merge(certs);
    }
    if let Some(p) = &opts.proxy {
        let proxy = reqwest::Proxy::all(p.as_str()).map_err(|_| {
            SourceError::Config(format!("proxy `{}`: not a valid URL", redact_url(p)))
        })?;
        b = b.proxy(proxy);
    }
    b.build()
        .map_err(|e| SourceError::Config(format!("cannot build the HTTP client: {e}")))
}

/// Parses and checks a source base URL: `https://…`, or `http://` to a loopback host only
/// (the simulator). No query or fragment. The returned URL has no trailing slash in its path.
pub fn check_base_url(url: &str) -> Result<Url, String> {
    let u = Url::parse(url.trim()).map_err(|e| format!("url `{url}` is not a valid URL ({e})"))?;
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!("url `{url}` must not have a query or fragment"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("url must not carry credentials; use the key settings".to_owned());
    }
    let host = u
        .host_str()
        .ok_or_else(|| format!("url `{url}` has no host"))?;
    match u.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(format!(
                "url `{url}` uses http:// to a non-loopback host: Tenable APIs need https:// \
                 (http:// is only allowed for 127.0.0.1/localhost, e.g. the simulator)"
            ));
        }
        s => return Err(format!("url `{url}` has scheme `{s}`; use https://")),
    }
    let mut u = u;
    let path = u.path().trim_end_matches('/').to_owned();
    u.set_path(&path);
    Ok(u)
}

/// `base` with `path` appended to its path (`https://h/prefix` + `/rest/x`).
pub fn join_path(base: &Url, path: &str) -> Url {
    let mut u = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    u.set_path(&joined);
    u
}

/// `METHOD /path` for messages (no host, no query).
pub fn endpoint(method: &reqwest::Method, path: &str) -> String {
    format!("{method} {path}")
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

/// A URL with any password replaced by `***`, for messages.
pub fn redact_url(s: &str) -> String {
    match Url::parse(s) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_proxy_password() {
        let o = HttpOptions {
            proxy: Some("http://user:s3cret-pass@proxy.corp:3128".to_owned()),
            ..HttpOptions::default()
        };
        let d = format!("{o:?}");
        assert!(!d.contains("s3cret-pass"), "{d}");
        assert!(d.contains("user:***@proxy.corp:3128"), "{d}");
        let p = ProxyUrl::from("http://u:hunter2@proxy:8080");
        assert!(!format!("{p:?}").contains("hunter2"));
        assert_eq!(p.as_str(), "http://u:hunter2@proxy:8080");
    }

    #[test]
    fn base_url_rules() {
        assert_eq!(
            check_base_url("https://cloud.tenable.com/")
                .unwrap()
                .as_str(),
            "https://cloud.tenable.com/"
        );
        assert!(check_base_url("http://127.0.0.1:8080").is_ok());
        assert!(check_base_url("http://localhost:1").is_ok());
        assert!(check_base_url("http://[::1]:1").is_ok());
        let e = check_base_url("http://cloud.tenable.com").unwrap_err();
        assert!(e.contains("non-loopback"), "{e}");
        assert!(
            check_base_url("ftp://x")
                .unwrap_err()
                .contains("scheme `ftp`")
        );
        assert!(
            check_base_url("not a url")
                .unwrap_err()
                .contains("not a valid URL")
        );
        assert!(
            check_base_url("https://h/?a=1")
                .unwrap_err()
                .contains("query")
        );
        assert!(
            check_base_url("https://u:p@h/")
                .unwrap_err()
                .contains("credentials")
        );
    }

    #[test]
    fn proxy_password_is_redacted() {
        assert_eq!(
            redact_url("http://u:secret@proxy:3128"),
            "http://u:***@proxy:3128/"
        );
    }
}
