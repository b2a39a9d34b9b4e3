//! HTTP client of the Tenable VM API: auth header, status → error mapping, retries.

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
pub use tenax_source::http::endpoint;
use tenax_source::http::{build_client, join_path};
use tenax_source::retry::{RetryPolicy, parse_retry_after};
use tenax_source::secret::ExposeSecret;
use tenax_source::{Result, SourceError};

use crate::config::VmSettings;
use crate::wire;

/// Which export API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// `/vulns/export`.
    Vulns,
    /// `/assets/export` (v1).
    Assets,
}

impl ExportKind {
    /// Path segment.
    pub fn path(self) -> &'static str {
        match self {
            ExportKind::Vulns => "vulns",
            ExportKind::Assets => "assets",
        }
    }
}

/// Result of asking for an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// A new job.
    New(String),
    /// An identical job was already running (409); we adopted it.
    Adopted(String),
}

impl Started {
    /// The job's uuid.
    pub fn uuid(&self) -> &str {
        match self {
            Started::New(u) | Started::Adopted(u) => u,
        }
    }
}

/// The VM API client. Cheap to clone.
#[derive(Clone)]
pub struct VmClient {
    http: reqwest::Client,
    base: Url,
    headers: HeaderMap,
    retry: RetryPolicy,
}

impl std::fmt::Debug for VmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl VmClient {
    /// Builds the client from validated settings.
    pub fn new(s: &VmSettings) -> Result<Self> {
        let http = build_client(&s.http)?;
        let value = format!(
            "accessKey={}; secretKey={};",
            s.access_key.expose_secret(),
            s.secret_key.expose_secret()
        );
        let mut auth = HeaderValue::from_str(&value).map_err(|_| {
            SourceError::Config("access_key/secret_key contain invalid characters".into())
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("X-ApiKeys", auth);
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        Ok(Self {
            http,
            base: s.base.clone(),
            headers,
            retry: s.retry.clone(),
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy in use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn url(&self, path: &str) -> Url {
        join_path(&self.base, path)
    }

    /// One attempt: sends the request and turns error statuses into errors. 2xx and the
    /// statuses in `pass` are returned as responses.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
        pass: &[StatusCode],
    ) -> Result<Response> {
        let endpoint = endpoint(method, path);
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .headers(self.headers.clone());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SourceError::transport(&endpoint, &e))?;
        let status = resp.status();
        if status.is_success() || pass.contains(&status) {
            return Ok(resp);
        }
        Err(error_for(&endpoint, resp).await)
    }

    /// Sends with retries (429 honours `Retry-After`; 5xx, resets and timeouts back off).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        pass: &[StatusCode],
    ) -> Result<Response> {
        self.retry
            .run(&endpoint(&method, path), || {
                self.attempt(&method, path, body, pass)
            })
            .await
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let ep = endpoint(&method, path);
        let resp = self.send(method, path, body, &[]).await?;
        read_json(&ep, resp).await
    }

    /// `GET /server/properties`: proves reachability, TLS and keys.
    pub async fn server_properties(&self) -> Result<wire::ServerProperties> {
        self.json(Method::GET, "/server/properties", None).await
    }

    /// `GET /{vulns|assets}/export/status`: proves export permission without creating a job.
    pub async fn list_exports(&self, kind: ExportKind) -> Result<serde_json::Value> {
        self.json(
            Method::GET,
            &format!("/{}/export/status", kind.path()),
            None,
        )
        .await
    }

    /// `POST /{kind}/export`; a 409 for an identical running export adopts `active_job_id`.
    pub async fn start_export(
        &self,
        kind: ExportKind,
        body: &serde_json::Value,
    ) -> Result<Started> {
        let path = format!("/{}/export", kind.path());
        let ep = endpoint(&Method::POST, &path);
        let resp = self
            .send(Method::POST, &path, Some(body), &[StatusCode::CONFLICT])
            .await?;
        if resp.status() == StatusCode::CONFLICT {
            let c: wire::ExportConflict = read_json(&ep, resp).await?;
            return match c.active_job_id {
                Some(id) if !id.is_empty() => Ok(Started::Adopted(id)),
                _ => Err(SourceError::Api {
                    endpoint: ep,
                    status: 409,
                    message: "conflict without active_job_id".into(),
                }),
            };
        }
        let s: wire::ExportStarted = read_json(&ep, resp).await?;
        Ok(Started::New(s.export_uuid))
    }

    /// `GET /{kind}/export/{uuid}/status`.
    pub async fn export_status(&self, kind: ExportKind, uuid: &str) -> Result<wire::ExportStatus> {
        self.json(
            Method::GET,
            &format!("/{}/export/{uuid}/status", kind.path()),
            None,
        )
        .await
    }

    /// `POST /{kind}/export/{uuid}/cancel`.
    pub async fn cancel_export(&self, kind: ExportKind, uuid: &str) -> Result<()> {
        let path = format!("/{}/export/{uuid}/cancel", kind.path());
        self.send(Method::POST, &path, None, &[]).await.map(drop)
    }

    /// Opens a chunk download (status checked, body not read). 404 → [`SourceError::ChunkExpired`].
    pub async fn open_chunk(&self, kind: ExportKind, uuid: &str, chunk: u32) -> Result<Response> {
        let path = format!("/{}/export/{uuid}/chunks/{chunk}", kind.path());
        match self.send(Method::GET, &path, None, &[]).await {
            Err(SourceError::Api { status: 404, .. }) => Err(SourceError::ChunkExpired {
                export_id: uuid.to_owned(),
                chunk,
            }),
            other => other,
        }
    }
}

async fn read_json<T: DeserializeOwned>(endpoint: &str, resp: Response) -> Result<T> {
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| SourceError::transport(endpoint, &e))?;
    serde_json::from_slice(&bytes).map_err(|e| SourceError::Decode {
        endpoint: endpoint.to_owned(),
        message: e.to_string(),
    })
}

/// Maps an error response to a [`SourceError`] with a hint of what to change.
async fn error_for(endpoint: &str, resp: Response) -> SourceError {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = resp.bytes().await.unwrap_or_default();
    let message = api_message(&body);
    let endpoint = endpoint.to_owned();
    match status {
        401 => SourceError::Unauthorized {
            endpoint,
            status,
            hint: format!(
                "check access_key and secret_key (Tenable says: {})",
                message.as_deref().unwrap_or("unauthorized")
            ),
        },
        403 => SourceError::Forbidden {
            endpoint,
            status,
            hint: "user lacks export permission: give the API user the Basic role (or a role with \
                   the VM export privilege) and Can View on its access groups"
                .into(),
        },
        429 => SourceError::RateLimited {
            endpoint,
            retry_after,
        },
        _ => SourceError::Api {
            endpoint,
            status,
            message: message.unwrap_or_else(|| "no message".into()),
        },
    }
}

/// The `message` (or `error`) of a Tenable JSON error body, or the start of a text body.
fn api_message(body: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for k in ["message", "error", "failure_reason"] {
            if let Some(s) = v.get(k).and_then(|m| m.as_str()).filter(|s| !s.is_empty()) {
                return Some(one_line(s));
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    let t = one_line(&text);
    (!t.is_empty()).then_some(t)
}

fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 160 {
        let cut: String = flat.chars().take(160).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_bodies() {
        assert_eq!(
            api_message(
                br#"{"statusCode":401,"error":"Unauthorized","message":"Invalid credentials."}"#
            )
            .as_deref(),
            Some("Invalid credentials.")
        );
        assert_eq!(
            api_message(br#"{"error":"You are not authorized"}"#).as_deref(),
            Some("You are not authorized")
        );
        assert_eq!(
            api_message(b"<html>\n<b>429</b>\n</html>").as_deref(),
            Some("<html> <b>429</b> </html>")
        );
        assert_eq!(api_message(b""), None);
    }
}
