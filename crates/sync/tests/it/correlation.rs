//! Correlation scored against the simulator's own ground truth. VM assets, SC hosts and OT
//! assets are devices of one shared device model, each product naming them its own way
//! (FQDNs vs NetBIOS names, MACs in different spellings or missing, DHCP addresses); OT
//! backplane modules share their adapter's IP, and OT engineering stations are Windows
//! machines VM and SC see too. Then DHCP churn: hosts move to new leases between syncs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tenax_source_sc::ScConfig;
use tenax_store::{AssetFilter, Store};
use tenax_sync::{AnySource, SourceConfig, correlate_store};

use crate::vm_source;

type Key = (String, String);
type Pair = (Key, Key);

/// Unordered pairs of records grouped together, across sources only: two records of one
/// source are two assets by definition (a stale DHCP record and the host's new one), which
/// correlation never joins.
fn pairs(groups: impl IntoIterator<Item = Vec<Key>>) -> BTreeSet<Pair> {
    let mut out = BTreeSet::new();
    for g in groups {
        for (i, a) in g.iter().enumerate() {
            for b in &g[i + 1..] {
                if a.0 != b.0 {
                    out.insert((a.clone().min(b.clone()), a.clone().max(b.clone())));
                }
            }
        }
    }
    out
}

/// The SC connector's identity rule: hostUUID, else the agent's uuid, else repository:ip.
fn sc_id(h: &tenax_sim::ScHost) -> String {
    if !h.host_uuid.is_empty() {
        h.host_uuid.clone()
    } else if !h.agent_uuid.is_empty() {
        h.agent_uuid.clone()
    } else {
        format!("{}:{}", h.repository_id, h.ip)
    }
}

/// Every stored record's unified id.
fn unified_of(store: &dyn Store) -> BTreeMap<Key, String> {
    let mut out = BTreeMap::new();
    let all = AssetFilter {
        include_deleted: true,
        ..AssetFilter::default()
    };
    store
        .for_each_asset(&all, &mut |a| {
            out.insert(
                (a.source.clone(), a.id.clone()),
                a.unified_id.expect("every record correlated"),
            );
            Ok(())
        })
        .unwrap();
    out
}

struct Score {
    precision: f64,
    recall: f64,
    /// Recall counting the records the sources deleted too (each stays a unified asset of
    /// its own by design: its data is stale, and DHCP may have given its address away).
    recall_with_deleted: f64,
    predicted: usize,
    truth: usize,
}

fn score(
    unified: &BTreeMap<Key, String>,
    device: &HashMap<Key, u64>,
    deleted: &BTreeSet<Key>,
) -> Score {
    let missing: Vec<&Key> = unified.keys().filter(|k| !device.contains_key(k)).collect();
    assert!(
        missing.is_empty(),
        "records without a ground-truth device: {missing:?}"
    );
    let mut groups: BTreeMap<&String, Vec<Key>> = BTreeMap::new();
    for (k, u) in unified {
        groups.entry(u).or_default().push(k.clone());
    }
    let predicted = pairs(groups.into_values());
    let mut by_device: BTreeMap<u64, Vec<Key>> = BTreeMap::new();
    for k in unified.keys() {
        by_device.entry(device[k]).or_default().push(k.clone());
    }
    let truth_all = pairs(by_device.into_values());
    let truth: BTreeSet<Pair> = truth_all
        .iter()
        .filter(|(a, b)| !deleted.contains(a) && !deleted.contains(b))
        .cloned()
        .collect();
    let correct = predicted.intersection(&truth).count();
    if std::env::var_os("TENAX_SHOW_MISSED").is_some() {
        for p in truth.difference(&predicted) {
            println!("missed {p:?}");
        }
    }
    Score {
        precision: correct as f64 / predicted.len().max(1) as f64,
        recall: correct as f64 / truth.len().max(1) as f64,
        recall_with_deleted: predicted.intersection(&truth_all).count() as f64
            / truth_all.len().max(1) as f64,
        predicted: predicted.len(),
        truth: truth.len(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_of_one_device_across_three_products_become_one_unified_asset() {
    let cfg = tenax_sim::SimConfig {
        seed: 23,
        assets: 300,
        sc: tenax_sim::ScOptions {
            hosts: 200,
            ..tenax_sim::ScOptions::default()
        },
        ot: tenax_sim::OtOptions {
            assets: 160,
            ..tenax_sim::OtOptions::default()
        },
        ..tenax_sim::SimConfig::default()
    };
    let (mut e, ca) = crate::ot::env_with(cfg).await;
    let vm = vm_source(&e.sim, |_| {});
    let sc = AnySource::build(&SourceConfig::Sc(ScConfig::new(
        "sc",
        &e.sim.sc_url(),
        &e.sim.sc_api_keys(),
    )))
    .unwrap();
    let ot = crate::ot::source(&crate::ot::api_cfg(&e, &ca)).unwrap();
    for src in [&vm, &sc, &ot] {
        let r = e.sync(src, true).await;
        assert_eq!(r.status, tenax_store::RunStatus::Succeeded, "{}", r.message);
    }
    let summary = correlate_store(e.store.as_deref_mut().unwrap()).unwrap();

    // Ground truth: the device of every record, keyed as the store keys it.
    let mut device: HashMap<Key, u64> = HashMap::new();
    for (id, d) in e.sim.vm_truth().asset_devices {
        device.insert(("cloud".to_owned(), id), d);
    }
    for h in e.sim.sc_hosts() {
        device.insert(("sc".to_owned(), sc_id(&h)), h.device);
    }
    let ot_truth = e.sim.ot_truth();
    for (id, d) in &ot_truth.asset_devices {
        device.insert(("plant-a".to_owned(), id.clone()), *d);
    }
    let mut deleted: BTreeSet<Key> = BTreeSet::new();
    e.store()
        .for_each_asset(
            &AssetFilter {
                include_deleted: true,
                ..AssetFilter::default()
            },
            &mut |a| {
                if a.deleted_at.is_some() {
                    deleted.insert((a.source, a.id));
                }
                Ok(())
            },
        )
        .unwrap();
    let before = unified_of(e.store());
    let s = score(&before, &device, &deleted);
    let ot_shared = ot_truth
        .asset_devices
        .iter()
        .filter(|(_, d)| *d < 1 << 40)
        .count();
    println!(
        "correlation vs simulator truth (VM + SC + OT): {} records, {} unified ({} across \
         products), {} OT assets of IT devices, {} OT IPs shared by several assets: {} linked \
         pairs of {} true pairs between live records, precision {:.4}, recall {:.4} ({:.4} \
         counting deleted records), {} conflicts",
        summary.records,
        summary.unified,
        summary.multi_source,
        ot_shared,
        ot_truth.shared_ips.len(),
        s.predicted,
        s.truth,
        s.precision,
        s.recall,
        s.recall_with_deleted,
        summary.conflicts
    );
    assert!(ot_shared > 0, "OT sees some IT devices");
    assert!(!ot_truth.shared_ips.is_empty(), "OT modules share IPs");
    assert!(s.truth > 0, "the products share devices");
    assert!(s.precision >= 0.99, "precision {}", s.precision);
    assert!(s.recall >= 0.95, "recall {}", s.recall);

    let unified_ot: Vec<(&Key, &String)> =
        before.iter().filter(|(k, _)| k.0 == "plant-a").collect();
    // Every OT engineering station that is an IT device VM or SC has live is linked to it
    // (a deleted record stays on its own).
    for (k, u) in &unified_ot {
        let d = device[*k];
        if d >= 1 << 40 {
            continue;
        }
        let others: Vec<&Key> = before
            .iter()
            .filter(|(o, ou)| {
                o.0 != "plant-a" && !deleted.contains(*o) && device.get(*o) == Some(&d) && ou != u
            })
            .map(|(o, _)| o)
            .collect();
        assert!(others.is_empty(), "OT {k:?} not linked to {others:?}");
    }
    // Records sharing an OT IP are never joined with each other.
    for ids in ot_truth.shared_ips.values() {
        let stored: Vec<&String> = ids
            .iter()
            .filter_map(|id| before.get(&("plant-a".to_owned(), id.clone())))
            .collect();
        let distinct: BTreeSet<&&String> = stored.iter().collect();
        assert_eq!(
            distinct.len(),
            stored.len(),
            "shared-IP OT assets {ids:?} stay apart"
        );
    }

    // DHCP churn: DHCP hosts move to new leases, and released addresses go to other machines.
    // A host SC knows by its hostUUID keeps its record with the new address; a uuid-less one
    // (the connector keys it repository:ip) becomes a new record beside its stale one, and
    // the record of a reused address now describes another device.
    let dhcp: Vec<tenax_sim::ScHost> = e.sim.sc_hosts().into_iter().filter(|h| h.dhcp).collect();
    assert!(dhcp.len() >= 8, "enough DHCP hosts: {}", dhcp.len());
    let mut moved = 0;
    for pair in dhcp.chunks(2).take(6) {
        let [a, b] = pair else { continue };
        // a leaves its address; b takes it.
        e.sim.sc_move_host(&a.ip).expect("a moved");
        e.sim
            .sc_move_host_to(&b.ip, &a.ip)
            .expect("b took a's address");
        moved += 2;
    }
    for h in e.sim.sc_hosts() {
        device.insert(("sc".to_owned(), sc_id(&h)), h.device);
    }
    let r = e.sync(&sc, false).await;
    assert_eq!(r.status, tenax_store::RunStatus::Succeeded, "{}", r.message);
    let again = correlate_store(e.store.as_deref_mut().unwrap()).unwrap();
    let after = unified_of(e.store());
    let s2 = score(&after, &device, &deleted);
    // Ids are stable: a unified asset whose records are the same keeps its id.
    let groups = |m: &BTreeMap<Key, String>| {
        let mut g: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
        for (k, u) in m {
            g.entry(u.clone()).or_default().insert(k.clone());
        }
        g
    };
    let (g_before, g_after) = (groups(&before), groups(&after));
    let mut same_members = 0;
    for (u, members) in &g_before {
        if let Some((u2, _)) = g_after.iter().find(|(_, m2)| *m2 == members) {
            assert_eq!(u, u2, "unchanged unified asset {members:?} kept its id");
            same_members += 1;
        }
    }
    let kept = before
        .iter()
        .filter(|(k, u)| after.get(*k) == Some(*u))
        .count();
    println!(
        "after DHCP churn ({} hosts moved): {} records, {} new, precision {:.4}, recall \
         {:.4} ({:.4} counting deleted records); {kept} of {} earlier records kept their unified id, {same_members} unified \
         assets unchanged",
        moved,
        after.len(),
        after.len() - before.len(),
        s2.precision,
        s2.recall,
        s2.recall_with_deleted,
        before.len()
    );
    assert_eq!(after.len() as u64, again.records);
    assert!(after.len() > before.len(), "moved hosts are new SC records");
    assert!(
        s2.precision >= 0.99,
        "precision after churn {}",
        s2.precision
    );
    assert!(s2.recall >= 0.95, "recall after churn {}", s2.recall);
    assert!(
        kept as f64 >= 0.98 * before.len() as f64,
        "ids stable: {kept} of {}",
        before.len()
    );

    // A re-run on unchanged data changes nothing.
    let third = correlate_store(e.store.as_deref_mut().unwrap()).unwrap();
    assert_eq!(third.write.assets_changed, 0);
    assert_eq!(unified_of(e.store()), after);
}
