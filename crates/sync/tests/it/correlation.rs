//! Correlation scored against the simulator's own ground truth: VM assets and SC hosts are
//! devices of one shared device model, each product naming them its own way (FQDNs vs NetBIOS
//! names, MACs in different spellings or missing, DHCP addresses).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tenax_source_sc::ScConfig;
use tenax_store::AssetFilter;
use tenax_sync::{AnySource, SourceConfig, correlate_store};

use crate::{env, vm_source};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_and_sc_records_of_one_device_become_one_unified_asset() {
    let mut e = env(23, 300, "").await;
    let vm = vm_source(&e.sim, |_| {});
    let sc = AnySource::build(&SourceConfig::Sc(ScConfig::new(
        "sc",
        &e.sim.sc_url(),
        &e.sim.sc_api_keys(),
    )))
    .unwrap();
    for src in [&vm, &sc] {
        let r = e.sync(src, true).await;
        assert_eq!(r.status, tenax_store::RunStatus::Succeeded, "{}", r.message);
    }
    let mut store = e.store.take().unwrap();
    let summary = correlate_store(store.as_mut()).unwrap();

    // Ground truth: the device of every record, keyed as the store keys it.
    let mut device: HashMap<(String, String), u64> = HashMap::new();
    for (id, d) in e.sim.vm_truth().asset_devices {
        device.insert(("cloud".to_owned(), id), d);
    }
    for h in e.sim.sc_hosts() {
        // The connector's identity rule: hostUUID, else the agent's uuid, else repository:ip.
        let id = if !h.host_uuid.is_empty() {
            h.host_uuid.clone()
        } else if !h.agent_uuid.is_empty() {
            h.agent_uuid.clone()
        } else {
            format!("{}:{}", h.repository_id, h.ip)
        };
        device.insert(("sc".to_owned(), id), h.device);
    }

    let mut unified: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let all = AssetFilter {
        include_deleted: true,
        ..AssetFilter::default()
    };
    let mut missing = 0;
    store
        .for_each_asset(&all, &mut |a| {
            let key = (a.source.clone(), a.id.clone());
            if !device.contains_key(&key) {
                missing += 1;
            }
            unified
                .entry(a.unified_id.expect("every record correlated"))
                .or_default()
                .push(key);
            Ok(())
        })
        .unwrap();
    assert_eq!(missing, 0, "every stored record has a ground-truth device");

    type Pair = ((String, String), (String, String));
    let pairs = |groups: Vec<Vec<(String, String)>>| -> BTreeSet<Pair> {
        let mut out = BTreeSet::new();
        for g in groups {
            for (i, a) in g.iter().enumerate() {
                for b in &g[i + 1..] {
                    out.insert((a.clone().min(b.clone()), a.clone().max(b.clone())));
                }
            }
        }
        out
    };
    let predicted = pairs(unified.into_values().collect());
    let mut by_device: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for (k, d) in &device {
        by_device.entry(*d).or_default().push(k.clone());
    }
    let truth = pairs(by_device.into_values().collect());
    let correct = predicted.intersection(&truth).count();
    let precision = correct as f64 / predicted.len().max(1) as f64;
    let recall = correct as f64 / truth.len().max(1) as f64;
    println!(
        "correlation vs simulator truth: {} records, {} unified ({} across products), {} linked \
         pairs of {} true pairs: precision {precision:.4}, recall {recall:.4}, {} conflicts",
        summary.records,
        summary.unified,
        summary.multi_source,
        predicted.len(),
        truth.len(),
        summary.conflicts
    );
    assert!(!truth.is_empty(), "the two products share devices");
    assert!(precision >= 0.99, "precision {precision}");
    assert!(recall >= 0.95, "recall {recall}");
}
