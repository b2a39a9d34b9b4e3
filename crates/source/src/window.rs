use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::SyncRequest;

/// The incremental window checkpoint of a source: the next run starts at `since` minus the
/// configured overlap. Written only by a complete, reconciled run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Unix seconds: the end of the last complete run's window.
    pub since: i64,
}

/// Where a run's window starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowStart {
    /// Unix seconds, inclusive.
    pub since: i64,
    /// No usable window checkpoint, or `--full`: the run reaches back the whole look-back.
    pub full: bool,
}

impl Window {
    /// Plans a run's window from the checkpoint under `key`: `--full` or no checkpoint →
    /// `now - lookback`; otherwise the stored `since` minus `overlap`. Never negative.
    pub fn plan(
        req: &SyncRequest,
        key: &str,
        now: i64,
        lookback: Duration,
        overlap: Duration,
    ) -> WindowStart {
        let prev = req
            .checkpoints
            .get(key)
            .and_then(|v| serde_json::from_value::<Window>(v.clone()).ok());
        let since = match prev {
            Some(w) if !req.full => w.since - overlap.as_secs() as i64,
            _ => now - lookback.as_secs() as i64,
        };
        WindowStart {
            since: since.max(0),
            full: req.full || prev.is_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(full: bool, cp: Option<serde_json::Value>) -> SyncRequest {
        SyncRequest {
            run_id: 1,
            full,
            checkpoints: cp
                .map(|v| [("w".to_owned(), v)].into_iter().collect())
                .unwrap_or_default(),
            cancel: crate::CancellationToken::new(),
        }
    }

    #[test]
    fn plans_full_and_incremental_windows() {
        let (day, hour) = (Duration::from_secs(86_400), Duration::from_secs(3_600));
        let w = Some(serde_json::json!({"since": 100_000}));
        assert_eq!(
            Window::plan(&req(false, w.clone()), "w", 200_000, day, hour),
            WindowStart {
                since: 96_400,
                full: false
            }
        );
        assert_eq!(
            Window::plan(&req(true, w), "w", 200_000, day, hour),
            WindowStart {
                since: 113_600,
                full: true
            }
        );
        assert_eq!(
            Window::plan(&req(false, None), "w", 200_000, day, hour),
            WindowStart {
                since: 113_600,
                full: true
            }
        );
        let junk = Some(serde_json::json!("junk"));
        assert_eq!(Window::plan(&req(false, junk), "w", 50, day, hour).since, 0);
    }
}
