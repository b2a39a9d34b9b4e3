//! HTTP client of the OT Security API: `POST /graphql` and a few `GET /v1/...` routes, with
//! the robot's mutual TLS or the `X-APIKeys` header, retries, and every failure as one line.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde_json::json;
pub use tenax_source::http::endpoint;
use tenax_source::http::join_path;
use tenax_source::retry::{RetryPolicy, parse_retry_after};
use tenax_source::secret::ExposeSecret;
use tenax_source::{Result, SourceError};

use crate::config::{OtAuth, OtSettings};
use crate::tls::{TlsContext, TlsOptions, build_client, diagnose_handshake, explain};
use crate::wire::{Connection, Envelope, GraphqlError};

/// A GraphQL answer with `errors` (or without the root field's data). `Display` is one line
/// naming the root field, the failing path and the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("graphql `{root}` failed{}{}: {message}{}",
    path.as_deref().map(|p| format!(" at `{p}`")).unwrap_or_default(),
    code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default(),
    if *more > 0 { format!(" (+{more} more errors)") } else { String::new() })]
pub struct GraphqlFailure {
    /// The root field asked for (`assets`, `findings`, …).
    pub root: String,
    /// The first error's path, dotted (`assets.nodes.0.osDetails`).
    pub path: Option<String>,
    /// The first error's `extensions.code`.
    pub code: Option<String>,
    /// The first error's message, shortened.
    pub message: String,
    /// Further errors in the same answer.
    pub more: usize,
    /// HTTP status of the answer.
    pub status: u16,
}

impl GraphqlFailure {
    /// The appliance does not know a field or argument the query used.
    pub fn is_validation(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("GRAPHQL_VALIDATION_FAILED") | Some("GRAPHQL_PARSE_FAILED")
        ) || self.message.contains("Cannot query field")
    }

    fn from_errors(root: &str, status: u16, errors: &[GraphqlError]) -> Self {
        let first = errors.first();
        let path = first.and_then(|e| e.path.as_ref()).map(|p| {
            p.iter()
                .map(|seg| match seg {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".")
        });
        let message = first
            .and_then(|e| e.message.as_deref())
            .map(|m| one_line(m, 300))
            .unwrap_or_else(|| "no message".into());
        Self {
            root: root.to_owned(),
            path,
            code: first
                .and_then(|e| e.extensions.as_ref())
                .and_then(|x| x.code.clone()),
            message,
            more: errors.len().saturating_sub(1),
            status,
        }
    }
}

/// A failure of one GraphQL call: the request failed, or the appliance answered with errors.
#[derive(Debug, thiserror::Error)]
pub enum OtError {
    /// Transport, HTTP status, TLS, decoding.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// GraphQL `errors`.
    #[error("{0}")]
    Graphql(GraphqlFailure),
}

impl From<OtError> for SourceError {
    fn from(e: OtError) -> Self {
        match e {
            OtError::Source(s) => s,
            OtError::Graphql(g) => SourceError::Api {
                endpoint: endpoint(&Method::POST, "/graphql"),
                status: g.status,
                message: g.to_string(),
            },
        }
    }
}

/// One GraphQL answer whose root field has data.
#[derive(Debug)]
pub struct GraphqlPage {
    body: Bytes,
    root: String,
}

impl GraphqlPage {
    /// The root field as a Relay connection, nodes kept as raw JSON.
    pub fn connection(&self) -> Result<Connection<'_>> {
        let decode = |m: String| SourceError::Decode {
            endpoint: endpoint(&Method::POST, "/graphql"),
            message: m,
        };
        let env: Envelope<'_> =
            serde_json::from_slice(&self.body).map_err(|e| decode(e.to_string()))?;
        let raw = env
            .data
            .as_ref()
            .and_then(|d| d.get(&self.root).copied().flatten())
            .ok_or_else(|| decode(format!("no `data.{}`", self.root)))?;
        serde_json::from_str(raw.get()).map_err(|e| decode(format!("`data.{}`: {e}", self.root)))
    }

    /// The whole answer.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// The OT Security API client. Cheap to clone.
#[derive(Clone)]
pub struct OtClient {
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
    robot: Option<String>,
    tls: TlsContext,
    /// For [`crate::tls::diagnose_handshake`] after a dropped mutual-TLS connection.
    tls_opts: TlsOptions,
    proxy: Option<String>,
}

impl std::fmt::Debug for OtClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtClient")
            .field("base", &self.base.as_str())
            .field("robot", &self.robot)
            .finish_non_exhaustive()
    }
}

/// The auth headers of every request: `X-Robot-Name` in robot mode, `X-APIKeys: key=<k>`
/// (marked sensitive) in API-key mode.
pub fn auth_headers(auth: &OtAuth) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    match auth {
        OtAuth::Robot { name, .. } => {
            let v = HeaderValue::from_str(name)
                .map_err(|_| SourceError::Config(format!("robot `{name}`: not a header value")))?;
            headers.insert("x-robot-name", v);
        }
        OtAuth::ApiKey(k) => {
            let mut v = HeaderValue::from_str(&format!("key={}", k.expose_secret()))
                .map_err(|_| SourceError::Config("api_key contains invalid characters".into()))?;
            v.set_sensitive(true);
            headers.insert("x-apikeys", v);
        }
    }
    Ok(headers)
}

impl OtClient {
    /// Builds the client from validated settings (no request is made). `verify_ssl = false`
    /// is warned about loudly.
    pub fn new(s: &OtSettings) -> Result<Self> {
        if !s.tls.verify_ssl && s.tls.pin.is_none() {
            tracing::warn!(source = %s.name, "TLS verification is OFF for this source (verify_ssl = false): anyone on the network path can impersonate the appliance and read what tenax sends and receives. Set ca_file, or pin the appliance's certificate with server_cert_sha256.");
        }
        let http = build_client(&s.http, &s.tls, auth_headers(&s.auth)?)?;
        Ok(Self {
            http,
            base: s.base.clone(),
            retry: s.retry.clone(),
            robot: s.auth.robot().map(str::to_owned),
            tls: s.tls_context(),
            tls_opts: s.tls.clone(),
            proxy: s.http.proxy.clone(),
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The appliance's base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    fn transport(&self, ep: &str, e: &reqwest::Error) -> SourceError {
        let err = SourceError::transport(ep, e);
        if let SourceError::Transport { message, .. } = &err
            && let Some(line) = explain(message, &self.tls)
        {
            return SourceError::Config(format!("{ep}: {line}"));
        }
        err
    }

    /// A mutual-TLS connection the appliance closed without a readable reason: repeat the
    /// handshake alone to learn the appliance's verdict on the client certificate.
    async fn dropped(&self, ep: &str, err: SourceError) -> SourceError {
        let SourceError::Transport {
            message,
            tls: false,
            ..
        } = &err
        else {
            return err;
        };
        let m = message.to_ascii_lowercase();
        let closed = [
            "channel closed",
            "connection closed",
            "connection reset",
            "broken pipe",
            "eof",
        ]
        .iter()
        .any(|p| m.contains(p));
        if self.tls_opts.identity.is_none() || !closed {
            return err;
        }
        match diagnose_handshake(&self.tls_opts, &self.base, self.proxy.as_deref()).await {
            Some(why) => match explain(&why, &self.tls) {
                Some(line) => SourceError::Config(format!("{ep}: {line}")),
                None => err,
            },
            None => err,
        }
    }

    fn status_error(&self, ep: String, status: u16, body: &[u8]) -> SourceError {
        let said = text_message(body);
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(" (appliance: {said})")
        };
        match status {
            401 => SourceError::Unauthorized {
                endpoint: ep,
                status,
                hint: match &self.robot {
                    Some(r) => format!(
                        "the appliance refused robot `{r}` with this client certificate: check \
                         `robot` and that cert_file is the certificate registered for it \
                         (`tenax ot robot create`){said}"
                    ),
                    None => format!(
                        "the appliance refused the API key (X-APIKeys): check api_key; OT \
                         Security keys expire after at most a year{said}"
                    ),
                },
            },
            403 => SourceError::Forbidden {
                endpoint: ep,
                status,
                hint: match &self.robot {
                    Some(r) => {
                        format!("robot `{r}` may not read this (ReaderRole is enough){said}")
                    }
                    None => format!(
                        "the API key's user may not read this (a Read Only user's key is \
                         enough){said}"
                    ),
                },
            },
            _ => SourceError::Api {
                endpoint: ep,
                status,
                message: if said.is_empty() {
                    "no message".into()
                } else {
                    text_message(body)
                },
            },
        }
    }

    /// One attempt: `(status, body)` for 2xx and for a 400 that carries GraphQL errors;
    /// errors otherwise.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, Bytes)> {
        let ep = endpoint(method, path);
        let mut req = self
            .http
            .request(method.clone(), join_path(&self.base, path));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Err(self.dropped(&ep, self.transport(&ep, &e)).await),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Err(self.dropped(&ep, self.transport(&ep, &e)).await),
        };
        if status == 429 {
            return Err(SourceError::RateLimited {
                endpoint: ep,
                retry_after,
            });
        }
        if (200..300).contains(&status) {
            return Ok((status, bytes));
        }
        if status == 400 && path == "/graphql" && looks_like_graphql_errors(&bytes) {
            return Ok((status, bytes));
        }
        Err(self.status_error(ep, status, &bytes))
    }

    /// Sends with retries (5xx, 429, resets, timeouts).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, Bytes)> {
        self.retry
            .run(&endpoint(&method, path), || {
                self.attempt(&method, path, body)
            })
            .await
    }

    /// `POST /graphql` with `{"query", "variables"}` (variables as an object). The answer is
    /// returned when it has no `errors` and `data.<root>` is not null; otherwise the errors
    /// are a [`GraphqlFailure`].
    pub async fn graphql(
        &self,
        root: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<GraphqlPage, OtError> {
        let body = json!({"query": query, "variables": variables});
        let (status, bytes) = self.call(Method::POST, "/graphql", Some(&body)).await?;
        let env: Envelope<'_> =
            serde_json::from_slice(&bytes).map_err(|e| SourceError::Decode {
                endpoint: endpoint(&Method::POST, "/graphql"),
                message: format!("not a GraphQL answer: {e}"),
            })?;
        let errors: Vec<GraphqlError> = env
            .errors
            .clone()
            .unwrap_or_default()
            .into_iter()
            .chain(env.error.iter().flat_map(|w| w.errors.clone()))
            .collect();
        if !errors.is_empty() {
            return Err(OtError::Graphql(GraphqlFailure::from_errors(
                root, status, &errors,
            )));
        }
        let has = env
            .data
            .as_ref()
            .and_then(|d| d.get(root).copied().flatten())
            .is_some();
        if !has {
            return Err(OtError::Graphql(GraphqlFailure {
                root: root.to_owned(),
                path: Some(root.to_owned()),
                code: None,
                message: "the answer has no data for the field".into(),
                more: 0,
                status,
            }));
        }
        Ok(GraphqlPage {
            body: bytes,
            root: root.to_owned(),
        })
    }

    /// `GET {path}` (with retries): the whole body.
    pub async fn get(&self, path: &str) -> Result<Bytes> {
        Ok(self.call(Method::GET, path, None).await?.1)
    }
}

fn looks_like_graphql_errors(body: &[u8]) -> bool {
    serde_json::from_slice::<Envelope<'_>>(body)
        .map(|e| e.errors.is_some_and(|v| !v.is_empty()) || e.error.is_some())
        .unwrap_or(false)
}

/// A short one-line message from an error body (JSON `message`/`error`, or the text).
pub fn text_message(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        for k in ["message", "error", "detail"] {
            if let Some(s) = v.get(k).and_then(|x| x.as_str()) {
                return one_line(s, 200);
            }
        }
        // A GraphQL-style error body (`{"errors": [{"message": …}]}`, also under `error`).
        let errors = v
            .get("errors")
            .or_else(|| v.get("error").and_then(|e| e.get("errors")));
        if let Some(s) = errors
            .and_then(|e| e.get(0))
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str())
        {
            return one_line(s, 200);
        }
    }
    one_line(&String::from_utf8_lossy(body), 200)
}

fn one_line(s: &str, max: usize) -> String {
    let t: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() > max {
        let mut u: String = t.chars().take(max).collect();
        u.push('…');
        u
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<GraphqlError> {
        let env: Envelope<'_> = serde_json::from_str(text).unwrap();
        env.errors
            .unwrap_or_default()
            .into_iter()
            .chain(env.error.into_iter().flat_map(|w| w.errors))
            .collect()
    }

    #[test]
    fn graphql_errors_name_root_path_and_code() {
        let fixture = include_str!(
            "../../../testdata/ot/error_errors_list_multiple_with_data_none.mock.json"
        );
        let f = GraphqlFailure::from_errors("assets", 200, &errors(fixture));
        let line = f.to_string();
        assert!(
            line.starts_with(
                "graphql `assets` failed at `assets.nodes.0.osDetails` (INTERNAL_SERVER_ERROR): "
            ),
            "{line}"
        );
        assert!(!line.contains('\n'));
        assert!(!f.is_validation());
        let f = GraphqlFailure::from_errors(
            "assets",
            400,
            &errors(include_str!(
                "../../../testdata/ot/error_error_dict.mock.json"
            )),
        );
        assert_eq!(f.code.as_deref(), Some("BAD_USER_INPUT"));
        let f = GraphqlFailure::from_errors(
            "findings",
            400,
            &errors(
                r#"{"errors":[{"message":"Cannot query field \"findings\" on type \"Query\".","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#,
            ),
        );
        assert!(f.is_validation());
        assert_eq!(
            f.to_string(),
            "graphql `findings` failed (GRAPHQL_VALIDATION_FAILED): Cannot query field \"findings\" on type \"Query\"."
        );
        let s: SourceError = OtError::Graphql(f).into();
        assert!(!s.is_retryable());
        assert!(
            s.to_string()
                .starts_with("POST /graphql: HTTP 400: graphql `findings`")
        );
    }

    #[test]
    fn error_bodies_become_short_lines() {
        assert_eq!(
            text_message(br#"{"message": "unauthorized"}"#),
            "unauthorized"
        );
        assert_eq!(
            text_message(br#"{"errors":[{"message":"unknown robot certificate"}]}"#),
            "unknown robot certificate"
        );
        assert_eq!(text_message(b"bad\ngateway"), "bad gateway");
        assert_eq!(text_message(&[b'x'; 500]).chars().count(), 201);
    }

    #[test]
    fn api_key_header_is_sensitive() {
        let h = auth_headers(&OtAuth::ApiKey("SECRETk".to_owned().into())).unwrap();
        let v = h.get("x-apikeys").unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "key=SECRETk");
        assert!(!format!("{h:?}").contains("SECRET"));
    }
}
