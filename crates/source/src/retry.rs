//! Retry decisions: a pure function of the attempt number and the error, so it is tested
//! without sockets or clocks.

use std::time::Duration;

use crate::SourceError;

/// When and how often a failed request is repeated.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each attempt.
    pub base: Duration,
    /// Upper bound of the computed delay.
    pub max: Duration,
    /// Upper bound of a server's `Retry-After` we honour; beyond it we give up instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop and return the error.
    GiveUp,
}

impl RetryPolicy {
    /// A policy for tests: millisecond delays.
    pub fn fast() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(2),
            max: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(5),
        }
    }

    /// Decides after `attempt` (1-based) failed with `err`. `jitter` in `[0, 1)` spreads the
    /// delay between half and all of the exponential step ("equal jitter").
    pub fn decide(&self, attempt: u32, err: &SourceError, jitter: f64) -> Decision {
        if attempt >= self.max_attempts || !err.is_retryable() {
            return Decision::GiveUp;
        }
        if let SourceError::RateLimited {
            retry_after: Some(d),
            ..
        } = err
        {
            if *d > self.max_retry_after {
                return Decision::GiveUp;
            }
            return Decision::Retry(*d);
        }
        let exp = self.base.saturating_mul(1u32 << (attempt - 1).min(16));
        let step = exp.min(self.max);
        let jitter = jitter.clamp(0.0, 1.0);
        Decision::Retry(step / 2 + step.mul_f64(jitter) / 2)
    }

    /// Runs `attempt` until it succeeds or [`RetryPolicy::decide`] gives up, sleeping between
    /// tries. `what` names the operation in the debug log of each retry.
    pub async fn run<T, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SourceError>>,
    {
        let mut n = 1;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => match self.decide_now(n, &e) {
                    Decision::Retry(d) => {
                        tracing::debug!(what, attempt = n, delay_ms = d.as_millis() as u64, error = %e, "Retrying.");
                        sleep(d).await;
                        n += 1;
                    }
                    Decision::GiveUp => return Err(e),
                },
            }
        }
    }

    /// [`RetryPolicy::decide`] with a random jitter; a retry is counted (see
    /// [`retry_counts`]).
    pub fn decide_now(&self, attempt: u32, err: &SourceError) -> Decision {
        let d = self.decide(attempt, err, jitter());
        if matches!(d, Decision::Retry(_)) {
            count_retry(err.status());
        }
        d
    }
}

/// Retries decided in this process, by the HTTP status that caused them (index = status;
/// index 0: no status, i.e. a transport error or a truncated body).
static RETRIES: [std::sync::atomic::AtomicU64; 600] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 600];

fn count_retry(status: Option<u16>) {
    let i = status.map_or(0, usize::from);
    if let Some(c) = RETRIES.get(i).or(RETRIES.first()) {
        c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Retries of HTTP requests this process decided on (every source), by cause: the HTTP
/// status (`Some(429)`, `Some(503)`, …) or `None` for transport errors and truncated bodies.
/// Only causes with at least one retry are listed, in status order (`None` first). For
/// metrics.
pub fn retry_counts() -> Vec<(Option<u16>, u64)> {
    RETRIES
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let n = c.load(std::sync::atomic::Ordering::Relaxed);
            let status = u16::try_from(i).ok().filter(|s| *s != 0);
            (n > 0).then_some((status, n))
        })
        .collect()
}

/// Waits `d`: the one place connectors sleep (between retries and status polls).
pub async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

/// A cheap pseudo-random number in `[0, 1)` (jitter needs spread, not cryptography).
fn jitter() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mut x = STATE.fetch_add(nanos | 1, Ordering::Relaxed) ^ nanos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses a `Retry-After` header: delta seconds (fractions accepted). HTTP dates are rare on
/// Tenable and are treated as "unknown".
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && (0.0..86_400.0).contains(&secs))
        .then(|| Duration::from_millis((secs * 1000.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> SourceError {
        SourceError::Api {
            endpoint: "GET /x".into(),
            status,
            message: String::new(),
        }
    }

    #[test]
    fn retries_server_errors_with_growing_delay() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(1, &api(503), 1.0),
            Decision::Retry(Duration::from_millis(500))
        );
        assert_eq!(
            p.decide(2, &api(503), 1.0),
            Decision::Retry(Duration::from_millis(1000))
        );
        assert_eq!(
            p.decide(2, &api(503), 0.0),
            Decision::Retry(Duration::from_millis(500))
        );
        assert_eq!(p.decide(30, &api(503), 1.0), Decision::GiveUp);
        assert_eq!(
            p.decide(5, &api(502), 1.0),
            Decision::Retry(Duration::from_secs(8))
        );
    }

    #[test]
    fn never_retries_client_errors() {
        let p = RetryPolicy::default();
        assert_eq!(p.decide(1, &api(400), 0.5), Decision::GiveUp);
        assert_eq!(p.decide(1, &api(404), 0.5), Decision::GiveUp);
    }

    #[test]
    fn honours_retry_after() {
        let p = RetryPolicy::default();
        let e = SourceError::RateLimited {
            endpoint: "x".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            p.decide(1, &e, 0.0),
            Decision::Retry(Duration::from_secs(30))
        );
        let e = SourceError::RateLimited {
            endpoint: "x".into(),
            retry_after: Some(Duration::from_secs(3000)),
        };
        assert_eq!(p.decide(1, &e, 0.0), Decision::GiveUp);
        let e = SourceError::RateLimited {
            endpoint: "x".into(),
            retry_after: None,
        };
        assert!(matches!(p.decide(1, &e, 0.0), Decision::Retry(_)));
    }

    #[test]
    fn parses_retry_after() {
        assert_eq!(parse_retry_after("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
