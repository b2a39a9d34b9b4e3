//! HTTP client of the Security Center REST API: `x-apikey` or session login, the envelope,
//! error codes → one-line errors with what to change, retries.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
pub use tenax_source::http::endpoint;
use tenax_source::http::{build_client, join_path};
use tenax_source::retry::{RetryPolicy, parse_retry_after};
use tenax_source::secret::ExposeSecret;
use tenax_source::{Result, SourceError};

use tracing::warn;

use crate::config::{ScAuth, ScSettings};
use crate::wire::Envelope;

/// SC's error code for an invalid or expired session token.
const INVALID_TOKEN: i64 = 12;

/// What one request attempt got back.
enum Answer {
    /// Success: the whole body and the `TNS_SESSIONID` cookie it set, if any.
    Body(Bytes, Option<String>),
    /// The session sent was refused as invalid or expired (the error to report if logging
    /// in again does not help).
    Expired(SourceError),
}

/// A logged-in session: `X-SecurityCenter` token and `TNS_SESSIONID` cookie.
#[derive(Clone)]
struct Session {
    token: String,
    cookie: Option<String>,
}

/// The Security Center API client. Cheap to clone (clones share the session).
#[derive(Clone)]
pub struct ScClient {
    http: reqwest::Client,
    base: Url,
    auth: ScAuth,
    headers: HeaderMap,
    session: Arc<Mutex<Option<Session>>>,
    /// Serialises logins so concurrent callers of an expired session log in once.
    login_lock: Arc<tokio::sync::Mutex<()>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ScClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ScClient {
    /// Builds the client from validated settings (no request is made).
    pub fn new(s: &ScSettings) -> Result<Self> {
        let http = build_client(&s.http)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        if let Some(v) = s.auth.api_key_header() {
            let mut h = HeaderValue::from_str(v.expose_secret())
                .map_err(|_| SourceError::Config("api_keys contain invalid characters".into()))?;
            h.set_sensitive(true);
            headers.insert("x-apikey", h);
        }
        Ok(Self {
            http,
            base: s.base.clone(),
            auth: s.auth.clone(),
            headers,
            session: Arc::new(Mutex::new(None)),
            login_lock: Arc::new(tokio::sync::Mutex::new(())),
            retry: s.retry.clone(),
        })
    }

    /// Replaces the retry policy (tests use millisecond delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// True when logging in with user name and password.
    pub fn is_session(&self) -> bool {
        matches!(self.auth, ScAuth::Session { .. })
    }

    /// True while a session is open.
    pub fn logged_in(&self) -> bool {
        self.current_session().is_some()
    }

    /// The open session's token and cookie, if any (for diagnostics and tests).
    pub fn session(&self) -> Option<(String, Option<String>)> {
        self.current_session().map(|s| (s.token, s.cookie))
    }

    /// Uses an existing session (token and `TNS_SESSIONID` cookie) instead of logging in.
    pub fn use_session(&self, token: &str, cookie: Option<&str>) {
        if let Ok(mut s) = self.session.lock() {
            *s = Some(Session {
                token: token.to_owned(),
                cookie: cookie.map(str::to_owned),
            });
        }
    }

    fn current_session(&self) -> Option<Session> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    fn url(&self, path: &str) -> Url {
        join_path(&self.base, path)
    }

    /// One attempt: the whole body on success (with the `TNS_SESSIONID` cookie it set), or
    /// [`Answer::Expired`] when the session sent was refused as invalid (error code 12, or
    /// HTTP 401) so the caller can log in again; that answer is not retried as such.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        session: Option<&Session>,
    ) -> Result<Answer> {
        let ep = endpoint(method, path);
        let mut headers = self.headers.clone();
        if let Some(s) = session {
            let mut t = HeaderValue::from_str(&s.token)
                .map_err(|_| SourceError::Config("invalid session token".into()))?;
            t.set_sensitive(true);
            headers.insert("X-SecurityCenter", t);
            if let Some(c) = &s.cookie
                && let Ok(mut v) = HeaderValue::from_str(&format!("TNS_SESSIONID={c}"))
            {
                v.set_sensitive(true);
                headers.insert(reqwest::header::COOKIE, v);
            }
        }
        let mut req = self
            .http
            .request(method.clone(), self.url(path))
            .headers(headers);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SourceError::transport(&ep, &e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let cookie = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.split(';')
                    .next()
                    .and_then(|kv| kv.trim().strip_prefix("TNS_SESSIONID="))
                    .map(str::to_owned)
            });
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SourceError::transport(&ep, &e))?;
        if status == 429 {
            return Err(SourceError::RateLimited {
                endpoint: ep,
                retry_after,
            });
        }
        match serde_json::from_slice::<Envelope<'_>>(&bytes) {
            Ok(env) => {
                let (code, msg) = env.error().unwrap_or((0, String::new()));
                if code == 0 && (200..300).contains(&status) {
                    return Ok(Answer::Body(bytes, cookie));
                }
                let e = map_error(&ep, status, code, &msg, self.is_session());
                if session.is_some() && (code == INVALID_TOKEN || status == 401) {
                    return Ok(Answer::Expired(e));
                }
                Err(e)
            }
            Err(e) => {
                if (200..300).contains(&status) {
                    Err(SourceError::Decode {
                        endpoint: ep,
                        message: format!("not a Security Center envelope: {e}"),
                    })
                } else {
                    Err(SourceError::Api {
                        endpoint: ep,
                        status,
                        message: text_message(&bytes),
                    })
                }
            }
        }
    }

    /// Sends with retries (5xx, 429, resets, timeouts); returns the whole envelope's bytes
    /// once `error_code` is 0. A session is opened first when logging in by password.
    ///
    /// When the session is refused mid-run as invalid or expired (SC error code 12, or
    /// HTTP 401), the client logs in once more and repeats the request once; a second
    /// refusal is the error. Concurrent callers that hit the same expired session share one
    /// new login.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes> {
        self.call_with(method, path, &[], body).await
    }

    /// [`ScClient::call`] with query parameters (kept out of error messages).
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes> {
        if self.is_session() && self.current_session().is_none() {
            self.relogin(None).await?;
        }
        let session = self.current_session();
        match self
            .send(&method, path, query, body, session.as_ref())
            .await?
        {
            Answer::Body(b, _) => Ok(b),
            Answer::Expired(e) => {
                warn!(endpoint = %endpoint(&method, path), "Security Center session expired; logging in again.");
                let Some(old) = session else { return Err(e) };
                self.relogin(Some(&old.token)).await?;
                let session = self.current_session();
                match self
                    .send(&method, path, query, body, session.as_ref())
                    .await?
                {
                    Answer::Body(b, _) => Ok(b),
                    Answer::Expired(e) => Err(e),
                }
            }
        }
    }

    /// Logs in unless another caller already replaced the session `stale` (or, with `None`,
    /// opened one): one login for many concurrent callers.
    async fn relogin(&self, stale: Option<&str>) -> Result<()> {
        let _guard = self.login_lock.lock().await;
        let current = self.current_session().map(|s| s.token);
        let fresh = match (stale, current.as_deref()) {
            (None, Some(_)) => true,
            (Some(old), Some(now)) => old != now,
            (_, None) => false,
        };
        if fresh {
            return Ok(());
        }
        self.login().await
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        session: Option<&Session>,
    ) -> Result<Answer> {
        self.retry
            .run(&endpoint(method, path), || {
                self.attempt(method, path, query, body, session)
            })
            .await
    }

    /// `POST /rest/token` with user name and password (`releaseSession: false`); keeps the
    /// token and the `TNS_SESSIONID` cookie for later calls. No-op with API keys.
    pub async fn login(&self) -> Result<()> {
        let ScAuth::Session { username, password } = &self.auth else {
            return Ok(());
        };
        let body = serde_json::json!({
            "username": username,
            "password": password.expose_secret(),
            "releaseSession": false,
        });
        let path = "/rest/token";
        let ep = endpoint(&Method::POST, path);
        let (bytes, cookie) = match self
            .send(&Method::POST, path, &[], Some(&body), None)
            .await?
        {
            Answer::Body(b, c) => (b, c),
            Answer::Expired(e) => return Err(e),
        };
        let env: Envelope<'_> = serde_json::from_slice(&bytes).map_err(|e| decode(&ep, &e))?;
        let v: serde_json::Value = env.response_as().map_err(|e| decode(&ep, &e))?;
        let token = match &v["token"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) if !s.is_empty() => s.clone(),
            _ => {
                return Err(SourceError::Decode {
                    endpoint: ep,
                    message: "no token in the login answer".into(),
                });
            }
        };
        if let Ok(mut s) = self.session.lock() {
            *s = Some(Session { token, cookie });
        }
        Ok(())
    }

    /// `DELETE /rest/token`: ends the session (no-op without one).
    pub async fn logout(&self) -> Result<()> {
        let Some(s) = self.session.lock().ok().and_then(|mut s| s.take()) else {
            return Ok(());
        };
        match self
            .attempt(&Method::DELETE, "/rest/token", &[], None, Some(&s))
            .await?
        {
            Answer::Body(..) => Ok(()),
            // The session is already gone: nothing to end.
            Answer::Expired(_) => Ok(()),
        }
    }

    /// `GET /rest/system` (authenticated): the `response` object.
    pub async fn system(&self) -> Result<serde_json::Value> {
        self.response(Method::GET, "/rest/system", None).await
    }

    /// `GET /rest/currentUser`: the `response` object.
    pub async fn current_user(&self) -> Result<serde_json::Value> {
        self.response(Method::GET, "/rest/currentUser", None).await
    }

    /// The `response` of a call, parsed as a JSON value.
    pub async fn response(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let ep = endpoint(&method, path);
        let bytes = self.call(method, path, body).await?;
        let env: Envelope<'_> = serde_json::from_slice(&bytes).map_err(|e| decode(&ep, &e))?;
        env.response_as().map_err(|e| decode(&ep, &e))
    }
}

fn decode(ep: &str, e: &serde_json::Error) -> SourceError {
    SourceError::Decode {
        endpoint: ep.to_owned(),
        message: e.to_string(),
    }
}

/// A non-JSON error body (Apache HTML pages, proxies) shortened to one line.
fn text_message(body: &[u8]) -> String {
    let t = one_line(&String::from_utf8_lossy(body));
    if t.is_empty() { "no message".into() } else { t }
}

fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 200 {
        let cut: String = flat.chars().take(200).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// Maps an SC error (`error_code` of the envelope, HTTP status) to an error naming what to
/// change.
pub fn map_error(ep: &str, status: u16, code: i64, msg: &str, session: bool) -> SourceError {
    let endpoint = ep.to_owned();
    let said = one_line(msg);
    let says = if said.is_empty() {
        String::new()
    } else {
        format!(" (Security Center says: {said})")
    };
    let unauthorized = |hint: String| SourceError::Unauthorized {
        endpoint: endpoint.clone(),
        status,
        hint,
    };
    match code {
        75 => unauthorized(
            "API keys are disabled: an administrator must enable System → Configuration → \
             Security → Allow API Keys (or log in with username and password)"
                .into(),
        ),
        76 => unauthorized(format!(
            "API keys need Security Center 5.13 or later: log in with username and password \
             instead{says}"
        )),
        74 => unauthorized(format!(
            "check api_keys (the access key and secret key as Security Center displays them){says}"
        )),
        73 => unauthorized(format!(
            "both a session token and API keys were sent: keep one way to log in{says}"
        )),
        12 => unauthorized(if session {
            format!("the session token is invalid or expired: check username and password{says}")
        } else {
            format!("invalid or expired token: check api_keys{says}")
        }),
        161 => unauthorized(format!(
            "bad username or password: check username and password{says}"
        )),
        146 => SourceError::Api {
            endpoint,
            status,
            message: format!("invalid query parameters: {}", or_none(&said)),
        },
        _ if status == 401 || (status == 400 && code == 0) => unauthorized(format!(
            "check {}{says}",
            if session {
                "username and password"
            } else {
                "api_keys"
            }
        )),
        _ if status == 403 => SourceError::Forbidden {
            endpoint,
            status,
            hint: format!(
                "the user may not read vulnerabilities: give it the Vulnerability Analyst role \
                 (or a role that can view analysis) and access to the repositories{says}"
            ),
        },
        _ => SourceError::Api {
            endpoint,
            status,
            message: if code != 0 {
                format!("error {code}: {}", or_none(&said))
            } else {
                or_none(&said).to_owned()
            },
        },
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "no message" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_hints() {
        let e = map_error("GET /rest/system", 403, 75, "disabled", false);
        assert_eq!(
            e.to_string(),
            "GET /rest/system: keys rejected (HTTP 403): API keys are disabled: an administrator \
             must enable System → Configuration → Security → Allow API Keys (or log in with \
             username and password)"
        );
        assert!(e.is_config());
        let e = map_error(
            "POST /rest/analysis",
            403,
            146,
            "The filter 'x' is invalid.\n",
            false,
        );
        assert_eq!(
            e.to_string(),
            "POST /rest/analysis: HTTP 403: invalid query parameters: The filter 'x' is invalid."
        );
        assert!(!e.is_retryable());
        let e = map_error("GET /rest/x", 403, 0, "", false);
        assert!(matches!(e, SourceError::Forbidden { .. }));
        let e = map_error("GET /rest/x", 503, 0, "", false);
        assert!(e.is_retryable());
    }
}
