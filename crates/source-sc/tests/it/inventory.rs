//! Hosts and asset lists against the simulator's ground truth: the 6.x inventory
//! (`/rest/hosts`) and the `sumip` fallback give every host the same id, repository and
//! asset-list tags; DHCP moves keep uuid hosts and renew IP-only hosts.

use std::collections::BTreeMap;

use tenax_model::{Asset, Finding, FindingState};
use tenax_sim::{DEFAULT_SC_PASSWORD, ScHost, ScOptions, Sim};
use tenax_source_sc::ASSET_LISTS_TAG;
use tenax_store::RunStatus;

use crate::sim::{Env, env_with, keys_config, opts, session_config, source};

/// The documented host identity, written independently of the connector: the host uuid
/// (`hostUUID`), else the agent uuid, else `<repository id>:<ip>`.
fn expected_id(h: &ScHost) -> String {
    if !h.host_uuid.is_empty() {
        h.host_uuid.clone()
    } else if !h.agent_uuid.is_empty() {
        h.agent_uuid.clone()
    } else {
        format!("{}:{}", h.repository_id, h.ip)
    }
}

/// `(ip, repository tag, asset_lists tag)` per expected asset id.
fn truth(sim: &Sim) -> BTreeMap<String, (String, String, Option<String>)> {
    sim.sc_hosts()
        .iter()
        .map(|h| {
            let lists = (!h.asset_lists.is_empty()).then(|| h.asset_lists.join(", "));
            (
                expected_id(h),
                (h.ip.clone(), h.repository_name.clone(), lists),
            )
        })
        .collect()
}

fn seen(assets: &BTreeMap<String, Asset>) -> BTreeMap<String, (String, String, Option<String>)> {
    assets
        .iter()
        .map(|(id, a)| {
            assert_eq!(a.ipv4s.len(), 1, "{id}: {:?}", a.ipv4s);
            (
                id.clone(),
                (
                    a.ipv4s[0].clone(),
                    a.tags.get("repository").cloned().unwrap_or_default(),
                    a.tags.get(ASSET_LISTS_TAG).cloned(),
                ),
            )
        })
        .collect()
}

fn version(v: &str, hosts: usize) -> ScOptions {
    ScOptions {
        version: v.into(),
        ..opts(hosts)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_get_the_same_id_and_tags_from_the_inventory_and_from_sumip() {
    let mut by_version = Vec::new();
    for (v, from) in [("6.4.0", "GET /rest/hosts"), ("5.20.0", "sumip")] {
        let mut e = env_with(version(v, 30), "").await;
        let want = truth(&e.sim);
        // The data set has what the test is about.
        assert_eq!(want.len(), 30);
        assert!(want.keys().any(|id| id.contains(':')), "IP-only hosts");
        assert!(want.keys().any(|id| !id.contains(':')), "uuid hosts");
        let names: std::collections::BTreeSet<String> = e
            .sim
            .sc_hosts()
            .into_iter()
            .flat_map(|h| h.asset_lists)
            .collect();
        assert!(names.len() >= 4, "{names:?}");
        assert!(want.values().any(|w| w.2.is_none()), "hosts in no list");
        let src = source(&keys_config(&e.sim, 7));
        let r = e.sync(&src, false).await;
        assert_eq!(r.status, RunStatus::Succeeded, "{v}: {}", r.message);
        assert_eq!(r.assets.expected, Some(30), "{v}");
        assert_eq!(r.assets.stored, 30, "{v}");
        let d = e.last_details();
        assert_eq!(d["hosts from"], from, "{v}: {d}");
        assert_eq!(d["asset lists"]["lists"], 6, "{v}: {d}");
        let assets = e.assets();
        assert_eq!(seen(&assets), want, "{v}");
        // Only the inventory says the system type: proof of which endpoint was read.
        assert_eq!(
            assets
                .values()
                .all(|a| a.asset_type.as_deref() == Some("general_purpose")),
            v.starts_with('6'),
            "{v}"
        );
        by_version.push(assets.into_keys().collect::<Vec<_>>());
        e.sim.shutdown().await;
    }
    assert_eq!(by_version[0], by_version[1], "same ids from both endpoints");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_the_inventory_falls_back_to_sumip() {
    // A version the connector cannot read: it tries /rest/hosts, gets 404 and uses sumip.
    let mut e = env_with(version("unknown", 12), "").await;
    let t = e.sim.sc_truth();
    let src = source(&session_config(&e.sim, DEFAULT_SC_PASSWORD));
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    assert_eq!(r.findings.stored, t.cumulative + t.patched);
    assert_eq!(e.last_details()["hosts from"], "sumip");
    assert_eq!(seen(&e.assets()), truth(&e.sim));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_asset_lists_are_read() {
    let sc = ScOptions {
        asset_lists_file: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../testdata/sc/test_asset_lists_list_success.json"),
        ),
        ..opts(6)
    };
    let mut e = env_with(sc, "").await;
    let src = source(&keys_config(&e.sim, 100));
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{}", r.message);
    // 37 usable + 36 manageable lists, 36 distinct once "All Defined Ranges" is left out;
    // the recording has no addresses, so no host is tagged.
    assert_eq!(e.last_details()["asset lists"]["lists"], 36);
    assert!(
        e.assets()
            .values()
            .all(|a| !a.tags.contains_key(ASSET_LISTS_TAG))
    );
}

fn findings_of<'a>(all: &'a BTreeMap<String, Finding>, asset: &str) -> Vec<&'a Finding> {
    all.values().filter(|f| f.asset_id == asset).collect()
}

async fn dhcp_moves(v: &str) {
    let mut e: Env = env_with(version(v, 40), "").await;
    let src = source(&keys_config(&e.sim, 25));
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{v}: {}", r.message);
    let hosts = e.sim.sc_hosts();
    let u = hosts
        .iter()
        .find(|h| h.dhcp && !h.host_uuid.is_empty())
        .expect("a DHCP host with a uuid")
        .clone();
    let i = hosts
        .iter()
        .find(|h| h.host_uuid.is_empty() && h.agent_uuid.is_empty() && h.cumulative > 0)
        .expect("an IP-only host")
        .clone();
    let before = e.findings();
    let assets_before = e.assets().len();
    assert_eq!(
        findings_of(&before, &u.host_uuid).len() as u64,
        u.cumulative + u.patched
    );
    let old_i = format!("{}:{}", i.repository_id, i.ip);
    assert_eq!(
        findings_of(&before, &old_i).len() as u64,
        i.cumulative + i.patched
    );

    let mu = e.sim.sc_move_host(&u.ip).expect("moved");
    let mi = e.sim.sc_move_host(&i.ip).expect("moved");
    let r = e.sync(&src, false).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{v}: {}", r.message);
    // Only the moved hosts' current rows are in the window.
    assert_eq!(r.findings.stored, mu.cumulative + mi.cumulative, "{v}");
    let after = e.findings();
    let assets = e.assets();

    // The uuid host keeps its id, answers on the new address, and its findings are the same
    // ones (same ids, updated address), not copies.
    let a = &assets[&u.host_uuid];
    assert_eq!(a.ipv4s, [mu.new_ip.as_str()], "{v}");
    assert!(!assets.contains_key(&format!("{}:{}", u.repository_id, mu.new_ip)));
    let fu = findings_of(&after, &u.host_uuid);
    assert_eq!(
        fu.len() as u64,
        u.cumulative + u.patched,
        "{v}: no duplicates"
    );
    let on_new = fu
        .iter()
        .filter(|f| f.ipv4.as_deref() == Some(mu.new_ip.as_str()))
        .count() as u64;
    assert_eq!(on_new, mu.cumulative, "{v}");
    for f in &fu {
        assert!(before.contains_key(&f.id), "{v}: {} is new", f.id);
    }

    // The IP-only host is a new asset on its new address (the documented
    // `<repository>:<ip>` identity); the old asset and its findings stay as they were.
    let new_i = format!("{}:{}", i.repository_id, mi.new_ip);
    assert_eq!(assets[&new_i].ipv4s, [mi.new_ip.as_str()], "{v}");
    assert_eq!(assets[&old_i].ipv4s, [mi.old_ip.as_str()], "{v}");
    assert_eq!(
        findings_of(&after, &new_i).len() as u64,
        mi.cumulative,
        "{v}"
    );
    assert_eq!(
        findings_of(&after, &old_i).len() as u64,
        i.cumulative + i.patched,
        "{v}"
    );
    assert_eq!(after.len(), before.len() + mi.cumulative as usize, "{v}");
    assert_eq!(assets.len(), assets_before + 1, "{v}");
    assert_eq!(
        e.count(&[FindingState::Open, FindingState::Reopened]) as usize,
        before
            .values()
            .filter(|f| f.state != FindingState::Fixed)
            .count()
            + mi.cumulative as usize,
        "{v}"
    );

    // Both moved hosts carry the asset lists of their new address.
    let want = truth(&e.sim);
    for id in [&u.host_uuid, &new_i] {
        assert_eq!(
            assets[id].tags.get(ASSET_LISTS_TAG),
            want[id].2.as_ref(),
            "{v}: {id}"
        );
    }
    e.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dhcp_moves_keep_uuid_hosts_and_renew_ip_only_hosts_with_the_inventory() {
    dhcp_moves("6.4.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dhcp_moves_keep_uuid_hosts_and_renew_ip_only_hosts_with_sumip() {
    dhcp_moves("5.20.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_array_inventory_is_paged_to_the_end() {
    // A server that ignores `pagination=true`: no total, a short page is the last one.
    for page_size in [1, 7, 15, 1000] {
        let sc = ScOptions {
            hosts_plain_array: true,
            ..opts(15)
        };
        let mut e = env_with(sc, "").await;
        let src = source(&keys_config(&e.sim, page_size));
        let r = e.sync(&src, false).await;
        assert_eq!(r.status, RunStatus::Succeeded, "{page_size}: {}", r.message);
        assert_eq!(r.assets.expected, Some(15), "{page_size}");
        assert_eq!(e.last_details()["hosts from"], "GET /rest/hosts");
        assert_eq!(seen(&e.assets()), truth(&e.sim), "{page_size}");
        e.sim.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_that_ignores_offsets_is_read_once() {
    // Every page is the whole inventory: the repeated page adds nothing and ends the
    // paging; each host is expected and stored once.
    for page_size in [5, 15] {
        let sc = ScOptions {
            hosts_plain_array: true,
            hosts_ignore_offsets: true,
            ..opts(15)
        };
        let mut e = env_with(sc, "").await;
        let src = source(&keys_config(&e.sim, page_size));
        let r = e.sync(&src, false).await;
        assert_eq!(r.status, RunStatus::Succeeded, "{page_size}: {}", r.message);
        assert_eq!(r.assets.expected, Some(15), "{page_size}");
        assert_eq!(r.assets.stored, 15, "{page_size}");
        assert_eq!(seen(&e.assets()), truth(&e.sim), "{page_size}");
        e.sim.shutdown().await;
    }
}
