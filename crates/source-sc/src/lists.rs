//! Asset-list membership: which SC asset lists hold a host, from each list's `viewableIPs`
//! (per repository, addresses, `a-b` ranges and CIDR blocks), written on the host asset as
//! tags without any schema change:
//!
//! - `asset_lists`: the names of the lists holding one of the host's addresses in its
//!   repository, sorted, joined with `, ` (the model's convention for several values);
//! - `repository`: the repository name (set by the mapping itself).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use tenax_model::Asset;

use crate::wire;

/// Tag holding the asset-list names.
pub const ASSET_LISTS_TAG: &str = "asset_lists";

/// Tag holding the repository name.
pub const REPOSITORY_TAG: &str = "repository";

/// Address ranges, inclusive, as 128-bit numbers (IPv4 as IPv4-mapped IPv6), sorted and
/// merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranges(Vec<(u128, u128)>);

fn num(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// One `ipList` item: `a`, `a-b` (both full addresses, either order) or `a/len`.
fn parse_item(item: &str) -> Result<(u128, u128), String> {
    let bad = || format!("`{item}` is not an address, a-b range or CIDR block");
    if let Some((a, len)) = item.split_once('/') {
        let ip: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let len: u32 = len.trim().parse().map_err(|_| bad())?;
        let (max, offset) = match ip {
            IpAddr::V4(_) => (32, 96),
            IpAddr::V6(_) => (128, 0),
        };
        if len > max {
            return Err(bad());
        }
        let host_bits = 128 - (len + offset);
        let mask = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let lo = num(ip) & !mask;
        return Ok((lo, lo | mask));
    }
    if let Some((a, b)) = item.split_once('-') {
        let a: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let b: IpAddr = b.trim().parse().map_err(|_| bad())?;
        if a.is_ipv4() != b.is_ipv4() {
            return Err(bad());
        }
        let (a, b) = (num(a), num(b));
        return Ok((a.min(b), a.max(b)));
    }
    let ip: IpAddr = item.parse().map_err(|_| bad())?;
    Ok((num(ip), num(ip)))
}

impl Ranges {
    /// Parses an `ipList` (items separated by newlines, commas or spaces). Unreadable items
    /// are returned apart (the others still count).
    pub fn parse(text: &str) -> (Ranges, Vec<String>) {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for item in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|x| !x.is_empty())
        {
            match parse_item(item) {
                Ok(r) => out.push(r),
                Err(e) => bad.push(e),
            }
        }
        let mut r = Ranges(out);
        r.normalize();
        (r, bad)
    }

    fn normalize(&mut self) {
        self.0.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(self.0.len());
        for (lo, hi) in self.0.drain(..) {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.0 = merged;
    }

    fn extend(&mut self, other: Ranges) {
        self.0.extend(other.0);
        self.normalize();
    }

    /// True when `ip` is in one of the ranges; unparsable addresses are in none.
    pub fn contains(&self, ip: &str) -> bool {
        let Ok(ip) = ip.trim().parse::<IpAddr>() else {
            return false;
        };
        let n = num(ip);
        let i = self.0.partition_point(|(lo, _)| *lo <= n);
        i > 0 && self.0[i - 1].1 >= n
    }

    /// True when there is no address at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One list's members: per repository id (`None` = an entry without repository, which
/// applies to every repository).
#[derive(Debug, Clone, Default)]
struct Members {
    name: String,
    per_repo: HashMap<Option<String>, Ranges>,
}

/// The asset lists read in a run, ready to tag hosts.
#[derive(Debug, Clone, Default)]
pub struct AssetListIndex {
    lists: Vec<Members>,
    /// Repository names by id, as the lists' `viewableIPs` name them.
    repositories: HashMap<String, String>,
}

impl AssetListIndex {
    /// Adds one list from its `GET /rest/asset/{id}` answer (`name` and `viewableIPs`).
    /// Returns the unreadable `ipList` items, for a warning.
    pub fn add(&mut self, list: &wire::AssetList<'_>) -> Vec<String> {
        let name = list.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            return Vec::new();
        }
        let mut m = Members {
            name: name.to_owned(),
            per_repo: HashMap::new(),
        };
        let mut bad = Vec::new();
        for v in list.viewable_ips.iter().flatten() {
            let (r, b) = Ranges::parse(v.ip_list.as_deref().unwrap_or(""));
            bad.extend(b);
            if r.is_empty() {
                continue;
            }
            let repo = v
                .repository
                .as_ref()
                .and_then(|r| r.id.as_deref())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
            if let (Some(id), Some(name)) = (
                &repo,
                v.repository
                    .as_ref()
                    .and_then(|r| r.name.as_deref())
                    .map(str::trim)
                    .filter(|n| !n.is_empty()),
            ) {
                self.repositories
                    .entry(id.clone())
                    .or_insert_with(|| name.to_owned());
            }
            m.per_repo.entry(repo).or_default().extend(r);
        }
        self.lists.push(m);
        bad
    }

    /// Number of lists.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// True without lists.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Sorted, unique names of the lists holding one of `ips` in repository `repo`.
    pub fn lists_of<'a>(&'a self, repo: &str, ips: &[String]) -> Vec<&'a str> {
        let mut out: BTreeSet<&str> = BTreeSet::new();
        for l in &self.lists {
            let hit = |r: Option<&Ranges>| r.is_some_and(|r| ips.iter().any(|ip| r.contains(ip)));
            if hit(l.per_repo.get(&Some(repo.to_owned()))) || hit(l.per_repo.get(&None)) {
                out.insert(&l.name);
            }
        }
        out.into_iter().collect()
    }

    /// Sets `tags["asset_lists"]` of a host in repository `repo` (removes it when the host
    /// is in no list, so a host that left every list loses the tag on its next sync), and
    /// `tags["repository"]` when the host row did not name its repository but a list did.
    pub fn tag(&self, asset: &mut Asset, repo: &str) {
        if !asset.tags.contains_key(REPOSITORY_TAG)
            && let Some(name) = self.repositories.get(repo)
        {
            asset.tags.insert(REPOSITORY_TAG.to_owned(), name.clone());
        }
        let ips: Vec<String> = asset.ipv4s.iter().chain(&asset.ipv6s).cloned().collect();
        let names = self.lists_of(repo, &ips);
        if names.is_empty() {
            asset.tags.remove(ASSET_LISTS_TAG);
        } else {
            asset
                .tags
                .insert(ASSET_LISTS_TAG.to_owned(), names.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(json: &str) -> wire::AssetList<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn ip_lists_parse_addresses_ranges_and_blocks() {
        let (r, bad) = Ranges::parse(
            "10.0.0.1\n10.0.0.5-10.0.0.3\n192.168.0.0/30, 172.16.0.9 fe80::1\nnope\n10.1.1.1/33\n1.2.3.4-::1\n",
        );
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].contains("`nope`"));
        for yes in [
            "10.0.0.1",
            "10.0.0.3",
            "10.0.0.4",
            "10.0.0.5",
            "192.168.0.0",
            "192.168.0.3",
            "172.16.0.9",
            "fe80::1",
            " 10.0.0.1 ",
        ] {
            assert!(r.contains(yes), "{yes}");
        }
        for no in [
            "10.0.0.2",
            "10.0.0.6",
            "192.168.0.4",
            "fe80::2",
            "::ffff:10.0.0.2",
            "x",
            "",
        ] {
            assert!(!r.contains(no), "{no}");
        }
        let (r, _) = Ranges::parse("0.0.0.0/0");
        assert!(r.contains("255.255.255.255") && r.contains("0.0.0.0") && !r.contains("::1"));
        let (r, _) = Ranges::parse("::/0");
        assert!(r.contains("::1") && r.contains("1.2.3.4"));
        let (r, _) = Ranges::parse("10.0.0.1-10.0.0.2\n10.0.0.3\n10.0.0.5");
        assert_eq!(r.0.len(), 2, "adjacent ranges merge: {r:?}");
        assert!(Ranges::parse("").0.is_empty());
    }

    #[test]
    fn hosts_are_tagged_per_repository() {
        let mut idx = AssetListIndex::default();
        let bad = idx.add(&list(
            r#"{"id":"4","name":"Crown Jewels","viewableIPs":[{"repository":{"id":"1","name":"Servers"},"ipList":"10.0.0.1-10.0.0.3\n","ipCount":"3"},{"repository":{"id":"2"},"ipList":"","ipCount":"0"}]}"#,
        ));
        assert!(bad.is_empty());
        idx.add(&list(
            r#"{"id":"1","name":"Windows Hosts","viewableIPs":[{"repository":{"id":"2"},"ipList":"10.0.0.2\n"}]}"#,
        ));
        idx.add(&list(
            r#"{"id":"3","name":"Everywhere","viewableIPs":[{"ipList":"10.0.0.0/24"}]}"#,
        ));
        idx.add(&list(r#"{"id":"6","name":"Empty","viewableIPs":[]}"#));
        idx.add(&list(r#"{"id":"7","name":"  ","viewableIPs":[]}"#));
        assert_eq!(idx.len(), 4, "a list without a name is left out");
        let ips = |s: &str| vec![s.to_owned()];
        assert_eq!(
            idx.lists_of("1", &ips("10.0.0.2")),
            ["Crown Jewels", "Everywhere"]
        );
        assert_eq!(
            idx.lists_of("2", &ips("10.0.0.2")),
            ["Everywhere", "Windows Hosts"]
        );
        assert_eq!(idx.lists_of("3", &ips("10.0.0.9")), ["Everywhere"]);
        assert!(idx.lists_of("1", &ips("10.9.0.1")).is_empty());
        let mut a = Asset {
            source: "sc".into(),
            kind: None,
            id: "x".into(),
            unified_id: None,
            name: None,
            hostnames: vec![],
            fqdns: vec![],
            ipv4s: ips("10.0.0.1"),
            ipv6s: vec![],
            macs: vec![],
            operating_systems: vec![],
            asset_type: None,
            vendor: None,
            model: None,
            firmware: None,
            first_seen: None,
            last_seen: None,
            tags: Default::default(),
            risk: None,
            deleted_at: None,
        };
        idx.tag(&mut a, "1");
        assert_eq!(
            a.tags.get(ASSET_LISTS_TAG).map(String::as_str),
            Some("Crown Jewels, Everywhere")
        );
        assert_eq!(
            a.tags.get(REPOSITORY_TAG).map(String::as_str),
            Some("Servers"),
            "a host row without the repository name gets it from a list"
        );
        a.tags.insert(REPOSITORY_TAG.into(), "Own".into());
        a.ipv4s = ips("192.0.2.1");
        idx.tag(&mut a, "1");
        assert_eq!(a.tags.get(ASSET_LISTS_TAG), None);
        assert_eq!(
            a.tags.get(REPOSITORY_TAG).map(String::as_str),
            Some("Own"),
            "the host row's own name wins"
        );
        idx.tag(&mut a, "2");
        let mut b = a.clone();
        b.tags.clear();
        idx.tag(&mut b, "2");
        assert_eq!(b.tags.get(REPOSITORY_TAG), None, "repository 2 has no name");
    }
}
