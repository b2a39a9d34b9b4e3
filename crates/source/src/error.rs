use std::time::Duration;

/// What went wrong talking to a source. `Display` is one lowercase line naming the endpoint
/// and the cause; it never contains a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The API answered with an error status.
    #[error("{endpoint}: HTTP {status}: {message}")]
    Api {
        /// Method and path, e.g. `POST /vulns/export`.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// What the API said, shortened.
        message: String,
    },
    /// Credentials missing or rejected (401, or an auth-specific error).
    #[error("{endpoint}: keys rejected (HTTP {status}): {hint}")]
    Unauthorized {
        /// Method and path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// What to change.
        hint: String,
    },
    /// The credentials work but lack a permission (403).
    #[error("{endpoint}: permission denied (HTTP {status}): {hint}")]
    Forbidden {
        /// Method and path.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// What to change.
        hint: String,
    },
    /// 429 Too Many Requests.
    #[error("{endpoint}: rate limited (HTTP 429)")]
    RateLimited {
        /// Method and path.
        endpoint: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// Connection, TLS, timeout or body transfer failed.
    #[error("{endpoint}: {message}")]
    Transport {
        /// Method and path.
        endpoint: String,
        /// Cause chain, one line, without URLs' query strings.
        message: String,
        /// Whether this looks like a TLS/certificate problem (not retried).
        tls: bool,
    },
    /// The body was not what the API documents.
    #[error("{endpoint}: unexpected response: {message}")]
    Decode {
        /// Method and path.
        endpoint: String,
        /// What was wrong, with the JSON path when known.
        message: String,
    },
    /// A body ended before its JSON was complete.
    #[error("{endpoint}: response body truncated after {bytes} bytes")]
    Truncated {
        /// Method and path.
        endpoint: String,
        /// Bytes received.
        bytes: u64,
    },
    /// An export job ended in a state we cannot use.
    #[error("export {export_id} ended in state {state}{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    ExportFailed {
        /// Export uuid.
        export_id: String,
        /// Final state.
        state: String,
        /// The API's reason.
        reason: Option<String>,
    },
    /// An export chunk is gone (404: expired after 24 h, or unknown).
    #[error("export {export_id} chunk {chunk}: expired or unknown (HTTP 404)")]
    ChunkExpired {
        /// Export uuid.
        export_id: String,
        /// Chunk id.
        chunk: u32,
    },
    /// A phase exceeded its deadline.
    #[error("{what}: gave up after {secs} s")]
    Deadline {
        /// The phase.
        what: String,
        /// Seconds waited.
        secs: u64,
    },
    /// Cancelled by the user (Ctrl-C).
    #[error("cancelled")]
    Cancelled,
    /// The source configuration is wrong.
    #[error("{0}")]
    Config(String),
}

impl SourceError {
    /// True when repeating the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Truncated { .. } => true,
            Self::Transport { tls, .. } => !tls,
            Self::Api { status, .. } => matches!(status, 500 | 502 | 503 | 504 | 420),
            _ => false,
        }
    }

    /// True for configuration, credential and permission problems: the user must act.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized { .. } | Self::Forbidden { .. } | Self::Config(_)
        )
    }

    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. }
            | Self::Unauthorized { status, .. }
            | Self::Forbidden { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::ChunkExpired { .. } => Some(404),
            _ => None,
        }
    }

    /// Builds a transport error from a reqwest error without leaking URLs' query strings.
    pub fn transport(endpoint: impl Into<String>, err: &reqwest::Error) -> Self {
        let mut message = String::new();
        let mut tls = false;
        let mut cur: Option<&dyn std::error::Error> = Some(err);
        while let Some(e) = cur {
            let s = e.to_string();
            let lower = s.to_ascii_lowercase();
            if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
            {
                tls = true;
            }
            let s = strip_url(&s);
            if !message.contains(&s) {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(&s);
            }
            cur = e.source();
        }
        if err.is_timeout() {
            message = format!("timed out ({message})");
        }
        Self::Transport {
            endpoint: endpoint.into(),
            message,
            tls,
        }
    }
}

/// Removes ` for url (…)` parts reqwest adds, so no query string reaches a message.
fn strip_url(s: &str) -> String {
    match s.find(" for url (") {
        Some(i) => {
            let rest = &s[i..];
            let end = rest.find(')').map(|j| i + j + 1).unwrap_or(s.len());
            format!("{}{}", &s[..i], &s[end..])
        }
        None => s.to_owned(),
    }
}

/// `Result` with [`SourceError`].
pub type Result<T, E = SourceError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_is_stripped_from_messages() {
        assert_eq!(
            strip_url("error sending request for url (https://h/x?token=1): boom"),
            "error sending request: boom"
        );
    }

    #[test]
    fn classification() {
        let e = SourceError::Api {
            endpoint: "GET /x".into(),
            status: 503,
            message: "m".into(),
        };
        assert!(e.is_retryable());
        let e = SourceError::Api {
            endpoint: "GET /x".into(),
            status: 400,
            message: "m".into(),
        };
        assert!(!e.is_retryable());
        let e = SourceError::Unauthorized {
            endpoint: "GET /x".into(),
            status: 401,
            hint: "h".into(),
        };
        assert!(e.is_config());
        assert_eq!(e.to_string(), "GET /x: keys rejected (HTTP 401): h");
        let e = SourceError::ExportFailed {
            export_id: "u".into(),
            state: "ERROR".into(),
            reason: Some("boom".into()),
        };
        assert_eq!(e.to_string(), "export u ended in state ERROR: boom");
    }
}
