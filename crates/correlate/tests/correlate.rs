//! Correlation against a generated data set with known devices and realistic drift, plus the
//! properties the result must have whatever the data.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proptest::prelude::*;
use tenax_correlate::{AssetKey, Correlation, Evidence, Node, StrongId, correlate};
use tenax_model::{Asset, SourceKind};

/// A tiny deterministic generator (xorshift), so the data set is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

struct Record {
    asset: Asset,
    strong: Vec<StrongId>,
    device: usize,
}

fn asset(source: &str, kind: SourceKind, id: String) -> Asset {
    Asset {
        source: source.to_owned(),
        kind: Some(kind),
        id,
        ..Asset::default()
    }
}

/// Devices seen by VM, SC and OT with the drift the issue names: different host names per
/// product, DHCP churn (SC saw an older lease), shared OT IPs (backplane modules), missing
/// MACs, a NAT gateway MAC on several VM records, and DHCP reusing addresses across devices.
fn dataset(devices: usize, seed: u64) -> Vec<Record> {
    let mut r = Rng(seed | 1);
    let mut out = Vec::new();
    let ip = |n: usize| format!("10.{}.{}.{}", 20 + n / 65_536, (n / 256) % 256, n % 256);
    for d in 0..devices {
        let host = format!("host-{d:05}");
        let mac = format!(
            "00:50:56:{:02x}:{:02x}:{:02x}",
            (d >> 16) & 0xff,
            (d >> 8) & 0xff,
            d & 0xff
        );
        let bios = format!("4c4c4544-0000-1000-8000-{d:012x}");
        // DHCP: some addresses were held by another device earlier.
        let addr = ip(d);
        let is_ot = d % 10 == 0;
        if r.chance(0.85) && !is_ot {
            let mut a = asset("cloud", SourceKind::Vm, format!("vm-{d}"));
            a.hostnames = vec![host.clone()];
            a.fqdns = vec![format!("{host}.corp.example")];
            a.ipv4s = vec![addr.clone()];
            if r.chance(0.8) {
                a.macs = vec![mac.clone()];
            }
            if d % 97 == 3 {
                // Behind NAT: the scanner saw the gateway's MAC.
                a.macs = vec!["00:11:22:33:44:55".to_owned()];
            }
            a.name = a.fqdns.first().cloned();
            let strong = if r.chance(0.7) {
                vec![StrongId::BiosUuid(bios.clone())]
            } else {
                Vec::new()
            };
            out.push(Record {
                asset: a,
                strong,
                device: d,
            });
        }
        if r.chance(0.75) {
            let churned = r.chance(0.12);
            let sc_ip = if churned {
                ip(devices + d)
            } else {
                addr.clone()
            };
            let mut a = asset("sc", SourceKind::Sc, format!("1:{sc_ip}"));
            // SC shows the NetBIOS name in capitals, sometimes an alias.
            let name = if r.chance(0.08) {
                format!("ALIAS-{d}")
            } else {
                host.to_uppercase()
            };
            a.hostnames = vec![name.clone()];
            a.name = Some(name);
            a.ipv4s = vec![sc_ip.clone()];
            if r.chance(0.7) {
                a.macs = vec![mac.to_uppercase().replace(':', "-")];
            }
            out.push(Record {
                asset: a,
                strong: Vec::new(),
                device: d,
            });
            // DHCP gave this device's old lease to device d+devices, which SC never saw
            // but VM sees later as a different machine with the same address.
            if churned && r.chance(0.5) {
                let other = devices * 2 + d;
                let mut v = asset("cloud", SourceKind::Vm, format!("vm-{other}"));
                v.hostnames = vec![format!("laptop-{other}")];
                v.ipv4s = vec![sc_ip];
                v.name = v.hostnames.first().cloned();
                out.push(Record {
                    asset: v,
                    strong: Vec::new(),
                    device: other,
                });
            }
        }
        if is_ot {
            // An engineering station seen by OT (with its MAC) and by VM.
            let mut a = asset("plant", SourceKind::Ot, format!("ot-{d}"));
            a.name = Some(host.to_uppercase());
            a.ipv4s = vec![addr.clone()];
            a.macs = vec![mac.clone()];
            out.push(Record {
                asset: a,
                strong: Vec::new(),
                device: d,
            });
            let mut v = asset("cloud", SourceKind::Vm, format!("vm-{d}"));
            v.hostnames = vec![host.clone()];
            v.ipv4s = vec![addr.clone()];
            if r.chance(0.5) {
                v.macs = vec![mac.clone()];
            }
            out.push(Record {
                asset: v,
                strong: Vec::new(),
                device: d,
            });
            // A rack of backplane modules behind one IP: distinct devices, no MACs.
            for slot in 0..4 {
                let dev = devices * 3 + d * 4 + slot;
                let mut m = asset("plant", SourceKind::Ot, format!("ot-{d}-slot-{slot}"));
                m.name = Some(format!("PLC-{d}-S{slot}"));
                m.ipv4s = vec![ip(devices * 4 + d)];
                out.push(Record {
                    asset: m,
                    strong: Vec::new(),
                    device: dev,
                });
            }
        }
    }
    out
}

fn run(records: &[Record], previous: &BTreeMap<AssetKey, String>) -> Correlation {
    let nodes: Vec<Node<'_>> = records
        .iter()
        .map(|r| Node::with_ids(&r.asset, r.strong.clone()))
        .collect();
    correlate(&nodes, previous)
}

/// Pairwise precision and recall of the unified assets against the devices.
fn score(records: &[Record], c: &Correlation) -> (f64, f64, usize, usize) {
    let device: HashMap<AssetKey, usize> = records
        .iter()
        .map(|r| (AssetKey::of(&r.asset), r.device))
        .collect();
    let pairs = |groups: Vec<Vec<AssetKey>>| -> BTreeSet<(AssetKey, AssetKey)> {
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
    let predicted = pairs(c.unified.iter().map(|u| u.members.clone()).collect());
    let mut by_device: BTreeMap<usize, Vec<AssetKey>> = BTreeMap::new();
    for (k, d) in &device {
        by_device.entry(*d).or_default().push(k.clone());
    }
    let truth = pairs(by_device.into_values().collect());
    let correct = predicted.intersection(&truth).count();
    let precision = correct as f64 / predicted.len().max(1) as f64;
    let recall = correct as f64 / truth.len().max(1) as f64;
    (precision, recall, predicted.len(), truth.len())
}

#[test]
fn precision_and_recall_on_a_drifting_data_set() {
    let records = dataset(5_000, 42);
    let c = run(&records, &BTreeMap::new());
    let (p, r, predicted, truth) = score(&records, &c);
    println!(
        "correlation: {} records, {} unified assets, {predicted} linked pairs of {truth} true pairs: \
         precision {p:.4}, recall {r:.4}, {} conflicts",
        records.len(),
        c.unified.len(),
        c.conflicts.len()
    );
    assert!(p >= 0.99, "precision {p}");
    assert!(r >= 0.95, "recall {r}");
    // Every record is in exactly one unified asset.
    let members: usize = c.unified.iter().map(|u| u.members.len()).sum();
    assert_eq!(members, records.len());
    // Backplane modules sharing an IP stay apart.
    let slots: Vec<&tenax_correlate::UnifiedAsset> = c
        .unified
        .iter()
        .filter(|u| u.members.iter().any(|m| m.id.contains("-slot-")))
        .collect();
    assert!(slots.iter().all(|u| u.members.len() == 1));
    // The NAT gateway MAC, on several VM records, links nothing.
    assert!(!c.links.iter().any(|l| l.evidence.contains(&Evidence::Mac {
        mac: "00:11:22:33:44:55".to_owned()
    })));
}

#[test]
fn evidence_and_conflicts_are_reported() {
    let mut vm = asset("cloud", SourceKind::Vm, "v1".into());
    vm.macs = vec!["00:1a:2b:3c:4d:5e".into()];
    vm.fqdns = vec!["web01.corp.example".into()];
    vm.ipv4s = vec!["10.0.0.5".into()];
    let mut sc = asset("sc", SourceKind::Sc, "1:10.0.0.5".into());
    sc.macs = vec!["00-1A-2B-3C-4D-5E".into()];
    sc.hostnames = vec!["WEB01".into()];
    sc.ipv4s = vec!["10.0.0.5".into()];
    // A second SC record claiming the same name and IP (a stale duplicate): refused.
    let mut sc2 = asset("sc", SourceKind::Sc, "2:10.0.0.5".into());
    sc2.hostnames = vec!["web01".into()];
    sc2.ipv4s = vec!["10.0.0.5".into()];
    let c = correlate(
        &[Node::new(&vm), Node::new(&sc), Node::new(&sc2)],
        &BTreeMap::new(),
    );
    assert_eq!(c.unified.len(), 2);
    assert_eq!(c.links.len(), 1);
    // The name + IP shared by both SC records is no evidence at all (one source, two records:
    // which one is the VM's device?), so only the MAC links.
    assert_eq!(
        c.links[0].evidence,
        vec![Evidence::Mac {
            mac: "00:1a:2b:3c:4d:5e".into()
        }]
    );
    assert!(c.conflicts.is_empty(), "{:?}", c.conflicts);
    // Without the duplicate, every piece of evidence is listed, strongest first (the SC
    // record has no FQDN, so the VM record's FQDN + IP is no shared evidence).
    let c = correlate(&[Node::new(&vm), Node::new(&sc)], &BTreeMap::new());
    assert_eq!(
        c.links[0].evidence,
        vec![
            Evidence::Mac {
                mac: "00:1a:2b:3c:4d:5e".into()
            },
            Evidence::HostnameIp {
                hostname: "web01".into(),
                ip: "10.0.0.5".into()
            },
            Evidence::Hostname {
                hostname: "web01".into()
            },
        ]
    );

    // Without the MAC, the VM record could link either SC record by name + IP: the first
    // link wins in a fixed order, the second is a conflict.
    vm.macs.clear();
    let mut sc3 = asset("sc2", SourceKind::Sc, "9:10.0.0.5".into());
    sc3.hostnames = vec!["web01".into()];
    sc3.ipv4s = vec!["10.0.0.5".into()];
    sc3.macs = vec!["00:aa:bb:cc:dd:ee".into()];
    let mut vm2 = asset("cloud", SourceKind::Vm, "v2".into());
    vm2.macs = vec!["00:aa:bb:cc:dd:ee".into()];
    let c = correlate(
        &[Node::new(&vm), Node::new(&sc3), Node::new(&vm2)],
        &BTreeMap::new(),
    );
    // MAC first: sc3 joins v2; then name + IP would add v1 to a group that has a cloud record.
    // Both refused pieces (name + IP, name alone) are reported for that pair.
    assert_eq!(c.conflicts.len(), 2, "{:?}", c.conflicts);
    assert!(
        c.conflicts
            .iter()
            .all(|x| x.source == "cloud" && x.a.id == "v1" && x.b.id == "9:10.0.0.5")
    );
    assert_eq!(c.unified.len(), 2);
}

#[test]
fn an_ip_alone_never_links() {
    let mut a = asset("cloud", SourceKind::Vm, "a".into());
    a.ipv4s = vec!["10.1.1.1".into()];
    let mut b = asset("plant", SourceKind::Ot, "b".into());
    b.ipv4s = vec!["10.1.1.1".into()];
    let c = correlate(&[Node::new(&a), Node::new(&b)], &BTreeMap::new());
    assert_eq!(c.unified.len(), 2);
    assert!(c.links.is_empty());
}

#[test]
fn strong_ids_link_and_bad_macs_do_not() {
    let a = asset("cloud", SourceKind::Vm, "a".into());
    let b = asset("sc", SourceKind::Sc, "b".into());
    let c = correlate(
        &[
            Node::with_ids(&a, vec![StrongId::TenableUuid("ABC-1".into())]),
            Node::with_ids(&b, vec![StrongId::TenableUuid("abc-1".into())]),
        ],
        &BTreeMap::new(),
    );
    assert_eq!(c.unified.len(), 1);
    for mac in [
        "00:00:00:00:00:00",
        "ff:ff:ff:ff:ff:ff",
        "01:00:5e:00:00:01",
        "00:00:5e:00:01:07",
        "00:00:0c:07:ac:01",
    ] {
        let mut x = asset("cloud", SourceKind::Vm, "x".into());
        x.macs = vec![mac.into()];
        let mut y = asset("sc", SourceKind::Sc, "y".into());
        y.macs = vec![mac.into()];
        let c = correlate(&[Node::new(&x), Node::new(&y)], &BTreeMap::new());
        assert_eq!(c.unified.len(), 2, "{mac} must not link");
    }
}

#[test]
fn ids_are_stable_across_runs_and_follow_the_majority() {
    let records = dataset(500, 7);
    let first = run(&records, &BTreeMap::new());
    let again = run(&records, &BTreeMap::new());
    assert_eq!(first, again, "deterministic");
    let previous = first.assignments();
    let second = run(&records, &previous);
    assert_eq!(second.assignments(), previous, "same evidence, same ids");
    // Ids handed out by an older run are kept even though they are not the minted ones.
    let renamed: BTreeMap<AssetKey, String> = previous
        .iter()
        .map(|(k, v)| (k.clone(), format!("old-{v}")))
        .collect();
    let third = run(&records, &renamed);
    assert_eq!(third.assignments(), renamed);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The order of the input never changes the result.
    #[test]
    fn input_order_does_not_matter(seed in 1u64..1_000_000, swaps in proptest::collection::vec((0usize..400, 0usize..400), 0..200)) {
        let records = dataset(80, seed);
        let base = run(&records, &BTreeMap::new());
        let mut order: Vec<usize> = (0..records.len()).collect();
        for (a, b) in swaps {
            let n = order.len();
            order.swap(a % n, b % n);
        }
        let nodes: Vec<Node<'_>> = order
            .iter()
            .map(|&i| Node::with_ids(&records[i].asset, records[i].strong.clone()))
            .collect();
        prop_assert_eq!(correlate(&nodes, &BTreeMap::new()), base);
    }

    /// A record that shares nothing with the others changes no other record's unified id.
    #[test]
    fn an_unrelated_record_changes_no_other_id(seed in 1u64..1_000_000) {
        let mut records = dataset(60, seed);
        let before = run(&records, &BTreeMap::new()).assignments();
        records.push(Record {
            asset: asset("cloud", SourceKind::Vm, "zz-new".into()),
            strong: Vec::new(),
            device: usize::MAX,
        });
        let after = run(&records, &before).assignments();
        for (k, v) in &before {
            prop_assert_eq!(after.get(k), Some(v));
        }
    }
}
