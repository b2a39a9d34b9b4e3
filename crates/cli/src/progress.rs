//! Progress: bars on a terminal, throttled plain lines otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tenax_sync::{Observer, SyncEvent};

#[derive(Default)]
struct State {
    bars: HashMap<String, ProgressBar>,
    stored: HashMap<String, (u64, u64)>,
    /// Last progress line per source and phase.
    phases: HashMap<String, std::collections::BTreeMap<&'static str, String>>,
    last_line: HashMap<String, Instant>,
}

pub struct Progress {
    multi: Option<MultiProgress>,
    lines: bool,
    state: Arc<Mutex<State>>,
}

impl Progress {
    /// `bars`: draw bars (a terminal); `lines`: print progress lines (otherwise quiet).
    pub fn new(bars: bool, lines: bool) -> Self {
        Self {
            multi: bars.then(MultiProgress::new),
            lines,
            state: Arc::default(),
        }
    }

    pub fn observer(&self) -> Observer {
        let multi = self.multi.clone();
        let lines = self.lines;
        let state = self.state.clone();
        Arc::new(move |source: &str, ev: &SyncEvent| {
            let Ok(mut st) = state.lock() else { return };
            let stored = st.stored.entry(source.to_owned()).or_default();
            if let SyncEvent::Stored {
                findings, assets, ..
            } = ev
            {
                stored.0 += findings;
                stored.1 += assets;
            }
            let (f, a) = *stored;
            if let SyncEvent::Progress(p) = ev {
                let line = format!(
                    "{} {}{} chunks, {} records",
                    p.phase,
                    p.done,
                    p.total.map(|t| format!("/{t}")).unwrap_or_default(),
                    p.records
                );
                st.phases
                    .entry(source.to_owned())
                    .or_default()
                    .insert(p.phase, line);
            }
            let msg = st
                .phases
                .get(source)
                .map(|m| m.values().cloned().collect::<Vec<_>>().join(" · "))
                .unwrap_or_default();
            if let Some(m) = &multi {
                let bar = st.bars.entry(source.to_owned()).or_insert_with(|| {
                    let b = m.add(ProgressBar::new_spinner());
                    b.set_style(
                        ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed:>4} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    );
                    b.set_prefix(source.to_owned());
                    b.enable_steady_tick(Duration::from_millis(120));
                    b
                });
                bar.set_message(format!("{f} findings, {a} assets stored · {msg}"));
            } else if lines && matches!(ev, SyncEvent::Progress(_)) {
                let now = Instant::now();
                let due = st
                    .last_line
                    .get(source)
                    .is_none_or(|t| now.duration_since(*t) >= Duration::from_secs(2));
                if due {
                    st.last_line.insert(source.to_owned(), now);
                    eprintln!("{source}: {msg}; stored {f} findings, {a} assets");
                }
            }
        })
    }

    pub fn finish(&self, source: &str) {
        if let Ok(mut st) = self.state.lock()
            && let Some(b) = st.bars.remove(source)
        {
            b.finish_and_clear();
        }
    }
}
