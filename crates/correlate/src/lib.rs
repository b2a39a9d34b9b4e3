//! Cross-product asset correlation: per-source assets in, unified assets and the evidence for
//! each link out. Pure functions, no I/O.
//!
//! One device seen by Vulnerability Management, Security Center and OT Security is one
//! *unified asset*. Records are linked by evidence, strongest first:
//!
//! 1. a shared Tenable host UUID or BIOS UUID (given by the caller, who reads them from the raw
//!    records: VM `tenable_uuid`/`bios_uuid`, SC `hostUUID`);
//! 2. a shared MAC address (lowercase colon form), unless the MAC is unusable: all-zero,
//!    broadcast or multicast, a VRRP/HSRP virtual router MAC, or a MAC that more than one
//!    record *of the same source* carries (a gateway, a backplane, a cloned VM);
//! 3. an FQDN, host name or NetBIOS-style short name **together with** an IPv4 address;
//! 4. last, a distinctive short host name alone (at least 5 characters, not a default name
//!    such as `localhost`, `ubuntu` or `DESKTOP-…`): what is left when DHCP moved a device to
//!    another address between two products' scans.
//!
//! An IP address alone never links two records: OT backplane modules share one IP and DHCP
//! hands the same address to different machines over time.
//!
//! Two records of the same source are different assets by definition, so a link that would
//! put two records of one source into one unified asset is refused and reported as a
//! [`Conflict`]: conflicts split rather than merge. Evidence is applied in a fixed order
//! (strength, then the evidence value, then the record keys), so the result does not depend
//! on the order of the input.
//!
//! Unified ids are UUIDs. A unified asset keeps the id most of its members had before (the
//! `previous` assignments, e.g. from the store), so ids are stable across runs while the
//! evidence is; a new group gets a name-based (v5) UUID of its smallest member key, which is
//! the same on every run.
//!
//! ```
//! use std::collections::BTreeMap;
//! use tenax_correlate::{correlate, Node};
//! use tenax_model::{Asset, SourceKind};
//!
//! let vm = Asset { source: "cloud".into(), kind: Some(SourceKind::Vm), id: "a1".into(),
//!     macs: vec!["00:1a:2b:3c:4d:5e".into()], ..Asset::default() };
//! let sc = Asset { source: "sc".into(), kind: Some(SourceKind::Sc), id: "1:10.0.0.5".into(),
//!     macs: vec!["00:1a:2b:3c:4d:5e".into()], ..Asset::default() };
//! let out = correlate(&[Node::new(&vm), Node::new(&sc)], &BTreeMap::new());
//! assert_eq!(out.unified.len(), 1);
//! assert_eq!(out.unified[0].members.len(), 2);
//! ```
#![deny(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tenax_model::Asset;

/// A per-source asset's key: the configured source name and the source-native id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AssetKey {
    /// Source name.
    pub source: String,
    /// Source-native asset id.
    pub id: String,
}

impl AssetKey {
    /// The key of an asset.
    pub fn of(a: &Asset) -> Self {
        Self {
            source: a.source.clone(),
            id: a.id.clone(),
        }
    }
}

/// An identifier only one physical device has, supplied by the caller.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum StrongId {
    /// The Tenable host UUID (VM `tenable_uuid`, SC `hostUUID`, agent UUID).
    TenableUuid(String),
    /// The SMBIOS system UUID.
    BiosUuid(String),
}

/// One record to correlate: an asset plus the strong identifiers read from its raw record.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    /// The per-source asset.
    pub asset: &'a Asset,
    /// Strong identifiers (may be empty).
    pub strong: Vec<StrongId>,
}

impl<'a> Node<'a> {
    /// A node with no strong identifiers.
    pub fn new(asset: &'a Asset) -> Self {
        Self {
            asset,
            strong: Vec::new(),
        }
    }

    /// A node with strong identifiers.
    pub fn with_ids(asset: &'a Asset, strong: Vec<StrongId>) -> Self {
        Self { asset, strong }
    }
}

/// Why two records were linked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Both carry this strong identifier.
    Strong {
        /// The identifier.
        id: StrongId,
    },
    /// Both carry this MAC address.
    Mac {
        /// Lowercase colon form.
        mac: String,
    },
    /// Both carry this FQDN and this IPv4 address.
    FqdnIp {
        /// Lowercase FQDN.
        fqdn: String,
        /// IPv4 address.
        ip: String,
    },
    /// Both carry this short host name (or NetBIOS name) and this IPv4 address.
    HostnameIp {
        /// Lowercase short name.
        hostname: String,
        /// IPv4 address.
        ip: String,
    },
    /// Both carry this distinctive short host name (their addresses differ or are unknown).
    Hostname {
        /// Lowercase short name.
        hostname: String,
    },
}

impl Evidence {
    /// A 64-bit FNV-1a hash of the evidence, the same on every run and build (grouping only;
    /// equal fingerprints are always checked for equal evidence).
    fn fingerprint(&self) -> u64 {
        fn eat(mut h: u64, bytes: &[u8]) -> u64 {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            // A separator no UTF-8 text contains.
            h ^= 0xff;
            h.wrapping_mul(0x0000_0100_0000_01b3)
        }
        let h = 0xcbf2_9ce4_8422_2325;
        match self {
            Evidence::Strong {
                id: StrongId::TenableUuid(v),
            } => eat(eat(h, b"t"), v.as_bytes()),
            Evidence::Strong {
                id: StrongId::BiosUuid(v),
            } => eat(eat(h, b"b"), v.as_bytes()),
            Evidence::Mac { mac } => eat(eat(h, b"m"), mac.as_bytes()),
            Evidence::FqdnIp { fqdn, ip } => eat(eat(eat(h, b"f"), fqdn.as_bytes()), ip.as_bytes()),
            Evidence::HostnameIp { hostname, ip } => {
                eat(eat(eat(h, b"h"), hostname.as_bytes()), ip.as_bytes())
            }
            Evidence::Hostname { hostname } => eat(eat(h, b"n"), hostname.as_bytes()),
        }
    }

    /// 4 strong id, 3 MAC, 2 name + IP, 1 name alone.
    pub fn strength(&self) -> u8 {
        match self {
            Evidence::Strong { .. } => 4,
            Evidence::Mac { .. } => 3,
            Evidence::FqdnIp { .. } | Evidence::HostnameIp { .. } => 2,
            Evidence::Hostname { .. } => 1,
        }
    }
}

/// Two records linked, and why (the strongest evidence between them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    /// The smaller key.
    pub a: AssetKey,
    /// The larger key.
    pub b: AssetKey,
    /// Every piece of evidence found between the two, strongest first.
    pub evidence: Vec<Evidence>,
}

/// Evidence that was not followed because it would have joined two records of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The smaller key.
    pub a: AssetKey,
    /// The larger key.
    pub b: AssetKey,
    /// The evidence refused.
    pub evidence: Evidence,
    /// The source both groups already had a record of.
    pub source: String,
}

/// One device: its per-source records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnifiedAsset {
    /// Stable UUID.
    pub id: String,
    /// The per-source records, sorted.
    pub members: Vec<AssetKey>,
    /// Best display name of the members (the first non-empty name in member order).
    pub name: Option<String>,
}

/// The result of a correlation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Correlation {
    /// Every input record in exactly one unified asset, sorted by id.
    pub unified: Vec<UnifiedAsset>,
    /// The links inside unified assets, sorted by keys.
    pub links: Vec<Link>,
    /// Evidence refused, sorted by keys.
    pub conflicts: Vec<Conflict>,
}

impl Correlation {
    /// `record → unified id`, for storing and for the next run's `previous`.
    pub fn assignments(&self) -> BTreeMap<AssetKey, String> {
        self.unified
            .iter()
            .flat_map(|u| u.members.iter().map(|m| (m.clone(), u.id.clone())))
            .collect()
    }
}

/// Namespace of minted unified ids (a fixed random UUID).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6d1f_3c1e_8b2a_4f7e_9a55_0c3b_2e71_d4a9);

/// Correlates per-source records. `previous` maps records to the unified ids they had (may be
/// empty); see the crate docs for the rules. Deleted records (`deleted_at` set) take part
/// only as singletons.
pub fn correlate(nodes: &[Node<'_>], previous: &BTreeMap<AssetKey, String>) -> Correlation {
    // Dedupe and order the input: the result must not depend on the input order. (Stores
    // hand records over in key order, so this sort is close to linear.)
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by(|&x, &y| {
        let (a, b) = (nodes[x].asset, nodes[y].asset);
        (&a.source, &a.id).cmp(&(&b.source, &b.id)).then(x.cmp(&y))
    });
    order.dedup_by(|y, x| {
        let (a, b) = (nodes[*x].asset, nodes[*y].asset);
        a.source == b.source && a.id == b.id
    });
    let nodes: Vec<&Node<'_>> = order.iter().map(|&i| &nodes[i]).collect();
    let keys: Vec<AssetKey> = nodes.iter().map(|n| AssetKey::of(n.asset)).collect();
    // Sources as small numbers (in key order, so the numbering is input-order free too).
    let mut source_no: Vec<u32> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let no = match source_no.last() {
            Some(&last) if keys[i - 1].source == k.source => last,
            Some(&last) => last + 1,
            None => 0,
        };
        source_no.push(no);
    }

    // Evidence → the records carrying it. Each record's evidence is hashed (a fixed FNV-1a,
    // so the grouping is the same on every run and every build); records are grouped by
    // hash with a sort of plain integers, and every group is then checked for equal
    // evidence, so a hash collision can only split a group further, never join two.
    let evidence = evidence_all(&nodes);
    let mut carried: Vec<(u64, u32, u32)> = Vec::new();
    for (i, ev) in evidence.iter().enumerate() {
        carried.extend(
            ev.iter()
                .enumerate()
                .map(|(j, e)| (e.fingerprint(), i as u32, j as u32)),
        );
    }
    carried.sort_unstable();
    let mut ordered: Vec<(&Evidence, Vec<usize>)> = Vec::new();
    let mut rest = carried.as_slice();
    while let Some(&(h, _, _)) = rest.first() {
        let n = rest.iter().take_while(|(x, _, _)| *x == h).count();
        if n > 1 {
            let mut run: Vec<(&Evidence, usize)> = rest[..n]
                .iter()
                .map(|&(_, i, j)| (&evidence[i as usize][j as usize], i as usize))
                .collect();
            if run.iter().any(|(e, _)| *e != run[0].0) {
                run.sort();
            }
            let mut part = run.as_slice();
            while let Some(&(e, _)) = part.first() {
                let m = part.iter().take_while(|(x, _)| *x == e).count();
                let members: Vec<usize> = part[..m].iter().map(|&(_, i)| i).collect();
                // Evidence carried by two records of one source cannot tell devices apart:
                // dropped. (Members are in key order, so one source's records are adjacent.)
                if m > 1
                    && members
                        .windows(2)
                        .all(|w| source_no[w[0]] != source_no[w[1]])
                {
                    ordered.push((e, members));
                }
                part = &part[m..];
            }
        }
        rest = &rest[n..];
    }
    drop(carried);
    ordered.sort_by(|a, b| b.0.strength().cmp(&a.0.strength()).then(a.0.cmp(b.0)));

    let mut uf = UnionFind::new(&source_no);
    let mut conflicts = Vec::new();
    let mut pair_evidence: BTreeMap<(usize, usize), Vec<Evidence>> = BTreeMap::new();
    for (e, members) in &ordered {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                match uf.union(a, b) {
                    Ok(()) => pair_evidence
                        .entry((a.min(b), a.max(b)))
                        .or_default()
                        .push((*e).clone()),
                    Err(source) => conflicts.push(Conflict {
                        a: keys[a.min(b)].clone(),
                        b: keys[a.max(b)].clone(),
                        evidence: (*e).clone(),
                        source: keys[source].source.clone(),
                    }),
                }
            }
        }
    }
    drop(ordered);

    // Groups, each sorted; ordered biggest first, then by smallest member, for id assignment.
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..keys.len() {
        groups.entry(uf.find(i)).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = groups.into_values().collect();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut unified = Vec::with_capacity(groups.len());
    for g in &groups {
        let id =
            inherited_id(g, &keys, previous, &taken).unwrap_or_else(|| mint(&keys[g[0]], &taken));
        taken.insert(id.clone());
        unified.push(UnifiedAsset {
            id,
            members: g.iter().map(|&i| keys[i].clone()).collect(),
            name: g.iter().find_map(|&i| nodes[i].asset.name.clone()),
        });
    }
    unified.sort_by(|a, b| a.id.cmp(&b.id));

    let mut links: Vec<Link> = pair_evidence
        .into_iter()
        .map(|((a, b), mut evidence)| {
            evidence.sort_by(|x, y| y.strength().cmp(&x.strength()).then(x.cmp(y)));
            Link {
                a: keys[a].clone(),
                b: keys[b].clone(),
                evidence,
            }
        })
        .collect();
    links.sort_by(|x, y| (&x.a, &x.b).cmp(&(&y.a, &y.b)));
    conflicts.sort_by(|x, y| (&x.a, &x.b, &x.evidence).cmp(&(&y.a, &y.b, &y.evidence)));
    conflicts.dedup();
    Correlation {
        unified,
        links,
        conflicts,
    }
}

/// The id most members had before and no bigger group took (ties: the smallest id).
fn inherited_id(
    group: &[usize],
    keys: &[AssetKey],
    previous: &BTreeMap<AssetKey, String>,
    taken: &BTreeSet<String>,
) -> Option<String> {
    let mut votes: BTreeMap<&String, usize> = BTreeMap::new();
    for &i in group {
        if let Some(id) = previous.get(&keys[i]).filter(|id| !taken.contains(*id)) {
            *votes.entry(id).or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(id, _)| id.clone())
}

/// A new id, name-based on the key (and a counter in the unlikely case it is taken).
fn mint(key: &AssetKey, taken: &BTreeSet<String>) -> String {
    let mut n = 0u32;
    loop {
        let name = format!("{}\u{0}{}\u{0}{n}", key.source, key.id);
        let id = uuid::Uuid::new_v5(&NAMESPACE, name.as_bytes()).to_string();
        if !taken.contains(&id) {
            return id;
        }
        n += 1;
    }
}

/// Every record's evidence (none for deleted records), in record order; the records are
/// split over the machine's cores.
fn evidence_all(nodes: &[&Node<'_>]) -> Vec<Vec<Evidence>> {
    let one = |n: &&Node<'_>| {
        if n.asset.deleted_at.is_some() {
            Vec::new()
        } else {
            evidence_of(n)
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || nodes.len() < 10_000 {
        return nodes.iter().map(one).collect();
    }
    let chunk = nodes.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = nodes
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Every piece of evidence a record carries.
fn evidence_of(n: &Node<'_>) -> Vec<Evidence> {
    let a = n.asset;
    let mut out: Vec<Evidence> = n
        .strong
        .iter()
        .filter_map(|s| {
            let norm = |v: &str| {
                let v = v.trim().to_ascii_lowercase();
                (!v.is_empty() && v.bytes().any(|b| b != b'0' && b != b'-')).then_some(v)
            };
            match s {
                StrongId::TenableUuid(v) => norm(v).map(StrongId::TenableUuid),
                StrongId::BiosUuid(v) => norm(v).map(StrongId::BiosUuid),
            }
        })
        .map(|id| Evidence::Strong { id })
        .collect();
    for mac in &a.macs {
        if let Some(mac) = usable_mac(mac) {
            out.push(Evidence::Mac { mac });
        }
    }
    let ips: BTreeSet<&str> = a
        .ipv4s
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "0.0.0.0" && !s.starts_with("127."))
        .collect();
    let fqdns: BTreeSet<String> = a
        .fqdns
        .iter()
        .map(|f| f.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|f| f.contains('.') && !looks_like_ip(f))
        .collect();
    let mut shorts: BTreeSet<String> = a
        .hostnames
        .iter()
        .chain(a.name.iter())
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty() && !looks_like_ip(h))
        .map(|h| h.split('.').next().unwrap_or_default().to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    shorts.extend(
        fqdns
            .iter()
            .filter_map(|f| f.split('.').next().map(str::to_owned)),
    );
    for h in shorts.iter().filter(|h| distinctive(h)) {
        out.push(Evidence::Hostname {
            hostname: h.clone(),
        });
    }
    for ip in &ips {
        for f in &fqdns {
            out.push(Evidence::FqdnIp {
                fqdn: f.clone(),
                ip: (*ip).to_owned(),
            });
        }
        for h in &shorts {
            out.push(Evidence::HostnameIp {
                hostname: h.clone(),
                ip: (*ip).to_owned(),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Names that operating systems, images and appliances hand out by default: never evidence
/// on their own.
const DEFAULT_NAMES: &[&str] = &[
    "localhost",
    "ubuntu",
    "debian",
    "centos",
    "fedora",
    "kali",
    "raspberrypi",
    "android",
    "iphone",
    "ipad",
    "macbook",
    "unknown",
    "default",
    "router",
    "switch",
    "gateway",
    "printer",
    "server",
    "client",
    "workstation",
    "desktop",
    "laptop",
    "plc",
    "hmi",
];

/// Prefixes of generated default names (`DESKTOP-1A2B3C4`, `WIN-…`, `ip-10-0-0-1`, …).
const DEFAULT_PREFIXES: &[&str] = &["desktop-", "laptop-", "win-", "ip-", "localhost", "dhcp"];

fn distinctive(h: &str) -> bool {
    h.len() >= 5
        && !DEFAULT_NAMES.contains(&h)
        && !DEFAULT_PREFIXES.iter().any(|p| h.starts_with(p))
        && h.bytes().any(|b| b.is_ascii_alphabetic())
}

fn looks_like_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// The MAC in lowercase colon form when it can identify one device.
fn usable_mac(mac: &str) -> Option<String> {
    let m = tenax_model::normalize_mac(mac)?;
    let bytes: Vec<u8> = m
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).ok())
        .collect::<Option<_>>()?;
    let [b0, b1, b2, b3, b4, _] = <[u8; 6]>::try_from(bytes).ok()?;
    let all_zero = m == "00:00:00:00:00:00";
    let multicast = b0 & 1 == 1; // includes broadcast ff:ff:…
    let vrrp = [b0, b1, b2, b3] == [0x00, 0x00, 0x5e, 0x00] && matches!(b4, 0x01 | 0x02);
    let hsrp = [b0, b1, b2, b3] == [0x00, 0x00, 0x0c, 0x07] && b4 == 0xac
        || [b0, b1, b2, b3] == [0x00, 0x00, 0x0c, 0x9f];
    (!(all_zero || multicast || vrrp || hsrp)).then_some(m)
}

/// Union-find whose groups know which sources they hold, so that no group ever holds two
/// records of one source. Sources are numbers; a single record's set is its own source, so
/// only merged groups keep a list.
struct UnionFind<'s> {
    parent: Vec<usize>,
    source_no: &'s [u32],
    /// Root → (source number, a record of it), sorted, for groups of two or more.
    merged: std::collections::HashMap<usize, Vec<(u32, usize)>>,
}

impl<'s> UnionFind<'s> {
    fn new(source_no: &'s [u32]) -> Self {
        Self {
            parent: (0..source_no.len()).collect(),
            source_no,
            merged: std::collections::HashMap::new(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn sources(&mut self, root: usize) -> Vec<(u32, usize)> {
        self.merged
            .remove(&root)
            .unwrap_or_else(|| vec![(self.source_no[root], root)])
    }

    /// Joins the groups of `a` and `b`; refuses (naming a record of the shared source) when
    /// they would hold two records of one source.
    fn union(&mut self, a: usize, b: usize) -> Result<(), usize> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Ok(());
        }
        let (sa, sb) = (self.sources(ra), self.sources(rb));
        let shared = sa
            .iter()
            .find(|(s, _)| sb.binary_search_by_key(s, |(t, _)| *t).is_ok())
            .map(|&(_, rec)| rec);
        // The smaller root index becomes the root: deterministic.
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        if let Some(rec) = shared {
            self.merged.insert(ra, sa);
            self.merged.insert(rb, sb);
            self.merged.retain(|_, v| v.len() > 1);
            return Err(rec);
        }
        let mut all = sa;
        all.extend(sb);
        all.sort_unstable();
        self.merged.insert(root, all);
        self.parent[child] = root;
        Ok(())
    }
}
