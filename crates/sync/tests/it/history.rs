//! Finding history and remediation figures against the simulator: a scripted change (fixes,
//! reopens, new findings, deleted assets) yields exactly the expected transitions, `as_of`
//! rebuilds both states, and the mean time to remediate matches the stored timestamps.

use std::collections::{BTreeMap, BTreeSet};

use tenax_model::{FindingState, Severity};
use tenax_store::{Change, FindingFilter, RunStatus, Sla, Store};

use crate::{env, vm_source};

fn states_as_of(
    store: &dyn Store,
    at: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<FindingState, u64> {
    let mut out = BTreeMap::new();
    store
        .for_each_finding(
            &FindingFilter {
                as_of: Some(at),
                ..FindingFilter::default()
            },
            &mut |f| {
                *out.entry(f.state).or_default() += 1;
                Ok(())
            },
        )
        .unwrap();
    out
}

fn by_state(open: u64, reopened: u64, fixed: u64) -> BTreeMap<FindingState, u64> {
    [
        (FindingState::Open, open),
        (FindingState::Reopened, reopened),
        (FindingState::Fixed, fixed),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_change_gives_exact_transitions_and_mttr() {
    let mut e = env(17, 200, "").await;
    let src = vm_source(&e.sim, |_| {});
    let first = e.sync(&src, false).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{}", first.message);
    let before = e.sim.vm_truth();

    // What the store holds now, to know which findings the deletions will take.
    let mut stored: BTreeMap<String, (String, FindingState)> = BTreeMap::new();
    e.store()
        .for_each_finding(&FindingFilter::default(), &mut |f| {
            stored.insert(f.id, (f.asset_id, f.state));
            Ok(())
        })
        .unwrap();

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t_before = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // 100 changes: 50 fixes, 20 reopens, 30 new findings, 2 deleted assets.
    let m = e.sim.vm_mutate(100);
    assert!(
        m.fixed > 0 && m.reopened > 0 && m.new > 0 && m.deleted_assets > 0,
        "{m:?}"
    );
    let after = e.sim.vm_truth();
    let old: BTreeSet<&String> = before.deleted_asset_ids.iter().collect();
    let newly_deleted: BTreeSet<&String> = after
        .deleted_asset_ids
        .iter()
        .filter(|id| !old.contains(id))
        .collect();
    assert_eq!(newly_deleted.len() as u64, m.deleted_assets);
    let expected_gone = stored
        .values()
        .filter(|(asset, _)| newly_deleted.contains(asset))
        .count();

    let second = e.sync(&src, false).await;
    assert_eq!(second.status, RunStatus::Succeeded, "{}", second.message);
    let run2 = second.run_id;

    // Every change recorded by run 2, by kind.
    let mut ids: Vec<String> = Vec::new();
    e.store()
        .for_each_finding(&FindingFilter::default(), &mut |f| {
            ids.push(f.id);
            Ok(())
        })
        .unwrap();
    let mut changes: BTreeMap<Change, u64> = BTreeMap::new();
    for id in &ids {
        for t in e.store().finding_history("cloud", id).unwrap() {
            if t.run == run2 {
                *changes.entry(t.change).or_default() += 1;
            }
        }
    }
    let want: BTreeMap<Change, u64> = [
        (Change::Fixed, m.fixed),
        (Change::Reopened, m.reopened),
        (Change::New, m.new),
        (Change::Gone, expected_gone as u64),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect();
    assert_eq!(changes, want, "{m:?}");

    // As of before the change: the first sync's states exactly. Now: the simulator's states
    // on live assets (the deleted assets' findings are gone).
    assert_eq!(
        states_as_of(e.store(), t_before),
        by_state(before.open, before.reopened, before.fixed)
    );
    let t_after = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(
        states_as_of(e.store(), t_after),
        by_state(after.open, after.reopened, after.fixed)
    );

    // Mean time to remediate per severity = the mean of last_fixed - first_found of the
    // stored fixed findings; open counts and fixed counts add up.
    let stats = e
        .store()
        .remediation(&[], &Sla::default(), chrono::Utc::now())
        .unwrap();
    let mut sums: BTreeMap<Severity, (f64, u64, u64, u64)> = BTreeMap::new();
    e.store()
        .for_each_finding(&FindingFilter::default(), &mut |f| {
            let s = sums.entry(f.severity).or_default();
            if f.state == FindingState::Fixed {
                s.3 += 1;
                if let (Some(a), Some(b)) = (f.first_found, f.last_fixed)
                    && b >= a
                {
                    s.0 += (b - a).num_nanoseconds().unwrap() as f64 / 86_400e9;
                    s.1 += 1;
                }
            } else {
                s.2 += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(stats.len(), sums.len());
    for st in &stats {
        let (sum, n, open, fixed) = sums[&st.severity];
        assert_eq!(st.open, open, "{st:?}");
        assert_eq!(st.fixed, fixed, "{st:?}");
        match st.mean_days_to_remediate {
            Some(mttr) => {
                let want = sum / n as f64;
                assert!(
                    (mttr - want).abs() < 1e-6 * want.max(1.0),
                    "{st:?} vs {want}"
                );
            }
            None => assert_eq!(n, 0, "{st:?}"),
        }
        assert!(st.past_sla <= st.open);
    }
}
