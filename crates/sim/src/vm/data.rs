//! Compact VM data model: generated assets and findings (indices into the device
//! generator and plugin catalog) or records loaded from files; truth and mutation.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use rand::rngs::SmallRng;
use rand::seq::index::sample;

use super::file::{FileAssets, FileFindings};
use super::{VmMutation, VmTruth};
use crate::catalog::Catalog;
use crate::devices::{Device, OsFamily, Proto, service_index};
use crate::util::{DAY_MS, HOUR_MS, hex_from, label, mix, rng_for, uuid_from};

/// Finding state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum State {
    Open,
    Reopened,
    Fixed,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Open => "OPEN",
            State::Reopened => "REOPENED",
            State::Fixed => "FIXED",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<State> {
        match s.to_ascii_uppercase().as_str() {
            "OPEN" | "NEW" | "ACTIVE" => Some(State::Open),
            "REOPENED" | "RESURFACED" => Some(State::Reopened),
            "FIXED" => Some(State::Fixed),
            _ => None,
        }
    }

    pub(crate) fn idx(self) -> usize {
        self as usize
    }
}

/// A generated finding; 40 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Finding {
    pub first_found: i64,
    pub last_found: i64,
    /// 0 = never fixed.
    pub last_fixed: i64,
    /// Asset (= device) index.
    pub asset: u32,
    /// Per-finding variation seed (output, scan).
    pub var: u32,
    /// Catalog index.
    pub plugin: u16,
    pub port: u16,
    pub proto: Proto,
    /// Index into [`crate::devices::SERVICE_NAMES`].
    pub svc: u8,
    pub state: State,
    /// Current severity id (possibly recast).
    pub sev: u8,
    /// 0 NONE, 1 RECASTED, 2 ACCEPTED.
    pub modif: u8,
}

/// Lifecycle of a generated asset; the rest is regenerated from the seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GenAsset {
    pub created_at: i64,
    pub updated_at: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// 0 = not deleted.
    pub deleted_at: i64,
    /// 0 = not terminated.
    pub terminated_at: i64,
    pub licensed: bool,
    pub has_findings: bool,
}

impl GenAsset {
    pub(crate) fn live(&self) -> bool {
        self.deleted_at == 0 && self.terminated_at == 0
    }
}

/// The generated world.
#[derive(Clone, Debug, Default)]
pub(crate) struct GenWorld {
    pub assets: Vec<GenAsset>,
    pub findings: Vec<Finding>,
}

/// Filterable view of one finding (generated or from a file).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FView {
    /// Asset grouping key (asset index or interned asset uuid).
    pub group: u32,
    pub state: State,
    pub sev: u8,
    pub plugin_id: i64,
    pub first_found: i64,
    pub last_found: i64,
    pub last_fixed: i64,
    pub indexed: i64,
}

/// Filterable view of one asset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AView {
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: i64,
    pub terminated_at: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub licensed: Option<bool>,
}

/// The VM data set: immutable once shared; mutation clones it (copy-on-write), so every
/// export keeps the snapshot it was created from.
#[derive(Clone)]
pub(crate) struct VmData {
    pub seed: u64,
    pub catalog: Arc<Catalog>,
    /// Scan schedule ids (`uuid` + 16 hex, like the real data).
    pub schedules: Arc<Vec<String>>,
    pub world: GenWorld,
    pub file_findings: Option<Arc<FileFindings>>,
    pub file_assets: Option<Arc<FileAssets>>,
}

/// Id of generated asset `idx` (also `asset.uuid` in its findings).
pub(crate) fn asset_uuid(seed: u64, idx: u32) -> uuid::Uuid {
    uuid_from(mix(&[seed, label("vm-asset-uuid"), u64::from(idx)]))
}

fn range(r: &mut SmallRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo { lo } else { r.random_range(lo..hi) }
}

const MAX_FINDINGS_PER_ASSET: usize = 40;

impl VmData {
    /// Builds the data set: generated (skipped where a file replaces it) plus files.
    pub(crate) fn build(
        seed: u64,
        assets: usize,
        anchor_ms: i64,
        findings_file: Option<&Path>,
        assets_file: Option<&Path>,
    ) -> Result<VmData, String> {
        let catalog = Arc::new(Catalog::generate(seed));
        let file_findings = findings_file
            .map(FileFindings::load)
            .transpose()?
            .map(Arc::new);
        let file_assets = assets_file.map(FileAssets::load).transpose()?.map(Arc::new);
        let world = if file_findings.is_some() && file_assets.is_some() {
            GenWorld::default()
        } else {
            GenWorld::generate(seed, assets, anchor_ms, &catalog)
        };
        let schedules = (0..12)
            .map(|k| {
                let h = mix(&[seed, label("schedule"), k]);
                format!("{}{}", uuid_from(h), hex_from(h ^ 0x77, 16))
            })
            .collect();
        Ok(VmData {
            seed,
            catalog,
            schedules: Arc::new(schedules),
            world,
            file_findings,
            file_assets,
        })
    }

    pub(crate) fn finding_len(&self) -> usize {
        match &self.file_findings {
            Some(f) => f.recs.len(),
            None => self.world.findings.len(),
        }
    }

    pub(crate) fn finding_view(&self, i: usize) -> FView {
        match &self.file_findings {
            Some(f) => {
                let r = &f.recs[i];
                FView {
                    group: r.group,
                    state: r.state,
                    sev: r.sev,
                    plugin_id: r.plugin_id,
                    first_found: r.first_found,
                    last_found: r.last_found,
                    last_fixed: r.last_fixed,
                    indexed: r.indexed,
                }
            }
            None => {
                let f = &self.world.findings[i];
                FView {
                    group: f.asset,
                    state: f.state,
                    sev: f.sev,
                    plugin_id: i64::from(self.catalog.plugins[usize::from(f.plugin)].id),
                    first_found: f.first_found,
                    last_found: f.last_found,
                    last_fixed: f.last_fixed,
                    indexed: indexed_ms(f),
                }
            }
        }
    }

    pub(crate) fn asset_len(&self) -> usize {
        match &self.file_assets {
            Some(a) => a.recs.len(),
            None => self.world.assets.len(),
        }
    }

    pub(crate) fn asset_view(&self, i: usize) -> AView {
        match &self.file_assets {
            Some(a) => {
                let r = &a.recs[i];
                AView {
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    deleted_at: r.deleted_at,
                    terminated_at: r.terminated_at,
                    first_seen: r.first_seen,
                    last_seen: r.last_seen,
                    licensed: r.licensed,
                }
            }
            None => {
                let a = &self.world.assets[i];
                AView {
                    created_at: a.created_at,
                    updated_at: a.updated_at,
                    deleted_at: a.deleted_at,
                    terminated_at: a.terminated_at,
                    first_seen: a.first_seen,
                    last_seen: a.last_seen,
                    licensed: Some(a.licensed),
                }
            }
        }
    }

    pub(crate) fn asset_id(&self, i: usize) -> String {
        match &self.file_assets {
            Some(a) => a.recs[i].id.clone(),
            None => asset_uuid(self.seed, i as u32).to_string(),
        }
    }

    /// Ground truth of the served data.
    pub(crate) fn truth(&self) -> VmTruth {
        let mut t = VmTruth::default();
        for i in 0..self.asset_len() {
            let a = self.asset_view(i);
            t.assets += 1;
            if self.file_assets.is_none() {
                // Generated asset `i` is device `i` of the shared device model.
                t.asset_devices.push((self.asset_id(i), i as u64));
            }
            if a.deleted_at == 0 && a.terminated_at == 0 {
                t.live_assets += 1;
                t.asset_ids.push(self.asset_id(i));
            } else {
                t.deleted_assets += 1;
                if a.deleted_at == 0 {
                    t.terminated_assets += 1;
                }
                t.deleted_asset_ids.push(self.asset_id(i));
            }
        }
        for i in 0..self.finding_len() {
            let f = self.finding_view(i);
            t.findings += 1;
            match f.state {
                State::Open => t.open += 1,
                State::Reopened => t.reopened += 1,
                State::Fixed => t.fixed += 1,
            }
        }
        t
    }

    /// Applies deterministic changes at `now`; only on a fully generated data set.
    pub(crate) fn mutate(&mut self, counter: u64, n: usize, now: i64) -> VmMutation {
        if self.file_findings.is_some() || self.file_assets.is_some() || n == 0 {
            return VmMutation::default();
        }
        let seed = self.seed;
        let catalog = Arc::clone(&self.catalog);
        self.world.mutate(seed, &catalog, counter, n, now)
    }
}

/// When a generated finding was indexed (ms): shortly after it was last seen or fixed.
pub(crate) fn indexed_ms(f: &Finding) -> i64 {
    f.last_found.max(f.last_fixed) + i64::from(f.var % 600_000) + 30_000
}

impl GenWorld {
    pub(crate) fn generate(seed: u64, n: usize, anchor: i64, cat: &Catalog) -> GenWorld {
        let mut pools: HashMap<&'static str, Vec<u16>> = HashMap::new();
        let mut assets = Vec::with_capacity(n);
        let mut findings = Vec::with_capacity(n.saturating_mul(10));
        for i in 0..n as u32 {
            let d = Device::generate(seed, i);
            let mut r = rng_for(seed, "vm-asset", u64::from(i));
            let first_seen = anchor - range(&mut r, 200 * DAY_MS, 299 * DAY_MS);
            let last_seen = anchor - range(&mut r, 2 * DAY_MS + 2 * HOUR_MS, 20 * DAY_MS);
            let created_at = first_seen + range(&mut r, 200, 5_000);
            let mut updated_at = last_seen + range(&mut r, 1_000, 600_000);
            let roll: f64 = r.random();
            let removed_at = range(&mut r, last_seen + HOUR_MS, anchor - 2 * DAY_MS);
            let (deleted_at, terminated_at) = if roll < 0.02 {
                (removed_at, 0)
            } else if roll < 0.03 {
                (0, removed_at)
            } else {
                (0, 0)
            };
            if deleted_at != 0 || terminated_at != 0 {
                updated_at = removed_at;
            }
            let licensed = r.random_bool(0.97);
            let mut asset = GenAsset {
                created_at,
                updated_at,
                first_seen,
                last_seen,
                deleted_at,
                terminated_at,
                licensed,
                has_findings: false,
            };
            if asset.live() {
                let pool = pools.entry(d.os.name).or_insert_with(|| cat.pool_for(&d));
                let u = r
                    .random::<f64>()
                    .min(r.random::<f64>())
                    .min(r.random::<f64>());
                let k = ((41.0 * u) as usize).min(pool.len());
                let mut picks: Vec<usize> = sample(&mut r, pool.len(), k).into_vec();
                picks.sort_unstable();
                let mut count = 0;
                'plugins: for pi in picks {
                    let p = pool[pi];
                    let plugin = &cat.plugins[usize::from(p)];
                    let var: u32 = r.random();
                    for s in plugin.ports(&d, u64::from(var), 3) {
                        if count >= MAX_FINDINGS_PER_ASSET {
                            break 'plugins;
                        }
                        let f = new_finding(&mut r, i, p, plugin.severity, s, &asset, var);
                        findings.push(f);
                        count += 1;
                    }
                }
                asset.has_findings = count > 0;
            }
            assets.push(asset);
        }
        GenWorld { assets, findings }
    }

    fn mutate(&mut self, seed: u64, cat: &Catalog, counter: u64, n: usize, now: i64) -> VmMutation {
        let mut r = rng_for(seed, "vm-mutation", counter);
        let mut m = VmMutation::default();
        let n_fix = n / 2;
        let n_reopen = n / 5;
        let n_new = n - n_fix - n_reopen;
        let n_del = n / 50;

        // 1. Delete assets; their findings vanish.
        let live: Vec<u32> = (0..self.assets.len() as u32)
            .filter(|&i| self.assets[i as usize].live())
            .collect();
        let mut deleted = vec![false; self.assets.len()];
        let n_del = n_del.min(live.len().saturating_sub(1));
        for pick in sample(&mut r, live.len(), n_del) {
            let a = live[pick] as usize;
            deleted[a] = true;
            self.assets[a].deleted_at = now;
            self.assets[a].updated_at = now;
            m.deleted_assets += 1;
        }
        if m.deleted_assets > 0 {
            let before = self.findings.len();
            self.findings.retain(|f| !deleted[f.asset as usize]);
            m.findings_removed_with_assets = (before - self.findings.len()) as u64;
        }

        let mut touched: HashSet<u32> = HashSet::new();
        let mut changed = vec![false; self.findings.len()];

        // 2. Fix some OPEN/REOPENED findings.
        let open: Vec<usize> = (0..self.findings.len())
            .filter(|&i| self.findings[i].state != State::Fixed)
            .collect();
        for pick in sample(&mut r, open.len(), n_fix.min(open.len())) {
            let f = &mut self.findings[open[pick]];
            f.state = State::Fixed;
            f.last_fixed = now;
            changed[open[pick]] = true;
            touched.insert(f.asset);
            m.fixed += 1;
        }

        // 3. Reopen some FIXED findings (not the ones just fixed).
        let fixed: Vec<usize> = (0..self.findings.len())
            .filter(|&i| self.findings[i].state == State::Fixed && !changed[i])
            .collect();
        for pick in sample(&mut r, fixed.len(), n_reopen.min(fixed.len())) {
            let f = &mut self.findings[fixed[pick]];
            f.state = State::Reopened;
            f.last_found = now;
            touched.insert(f.asset);
            m.reopened += 1;
        }

        // 4. New OPEN findings on live assets, with plugins the asset does not have yet.
        let live: Vec<u32> = live.into_iter().filter(|&a| !deleted[a as usize]).collect();
        if !live.is_empty() && n_new > 0 {
            let targets: Vec<u32> = (0..n_new)
                .map(|_| live[r.random_range(0..live.len())])
                .collect();
            let wanted: HashSet<u32> = targets.iter().copied().collect();
            let mut existing: HashMap<u32, HashSet<u16>> = HashMap::new();
            for f in &self.findings {
                if wanted.contains(&f.asset) {
                    existing.entry(f.asset).or_default().insert(f.plugin);
                }
            }
            let mut pools: HashMap<&'static str, Vec<u16>> = HashMap::new();
            for mut a in targets {
                // Retry on another asset when this one already has every applicable plugin.
                for _attempt in 0..8 {
                    let d = Device::generate(seed, a);
                    let pool = pools.entry(d.os.name).or_insert_with(|| cat.pool_for(&d));
                    let have = existing.entry(a).or_default();
                    let free: Vec<u16> =
                        pool.iter().copied().filter(|p| !have.contains(p)).collect();
                    if free.is_empty() {
                        a = live[r.random_range(0..live.len())];
                        continue;
                    }
                    let p = free[r.random_range(0..free.len())];
                    let plugin = &cat.plugins[usize::from(p)];
                    let var: u32 = r.random();
                    let s = plugin.ports(&d, u64::from(var), 1)[0];
                    let (sev, modif) = severity_of(&mut r, plugin.severity);
                    self.findings.push(Finding {
                        first_found: now,
                        last_found: now,
                        last_fixed: 0,
                        asset: a,
                        var,
                        plugin: p,
                        port: s.port,
                        proto: s.proto,
                        svc: service_index(s.name),
                        state: State::Open,
                        sev,
                        modif,
                    });
                    have.insert(p);
                    self.assets[a as usize].has_findings = true;
                    touched.insert(a);
                    m.new += 1;
                    break;
                }
            }
        }

        for a in &touched {
            self.assets[*a as usize].updated_at = now;
        }
        m.updated_assets = touched.len() as u64;
        m.changed_findings = m.fixed + m.reopened + m.new;
        m
    }
}

fn severity_of(r: &mut SmallRng, default: u8) -> (u8, u8) {
    let roll = r.random_range(0..100);
    if roll < 2 {
        let sev = if default == 0 { 1 } else { default - 1 };
        (sev, 1)
    } else if roll < 3 && default > 0 {
        (default, 2)
    } else {
        (default, 0)
    }
}

fn new_finding(
    r: &mut SmallRng,
    asset_idx: u32,
    plugin: u16,
    default_sev: u8,
    s: crate::devices::Service,
    a: &GenAsset,
    var: u32,
) -> Finding {
    let roll = r.random_range(0..100);
    let state = match roll {
        0..=69 => State::Open,
        70..=74 => State::Reopened,
        _ => State::Fixed,
    };
    let ls = a.last_seen;
    let first_found = range(r, a.first_seen + 60_000, ls - DAY_MS);
    let (last_found, last_fixed) = match state {
        State::Open => {
            let lf = if r.random_bool(0.7) {
                ls
            } else {
                range(r, first_found, ls)
            };
            (lf, 0)
        }
        State::Fixed => {
            let lf = range(r, first_found, ls - 2 * HOUR_MS);
            (lf, range(r, lf + 60_000, ls))
        }
        State::Reopened => {
            let lx = range(r, first_found + HOUR_MS, ls - 4 * HOUR_MS);
            (range(r, lx + HOUR_MS, ls), lx)
        }
    };
    let (sev, modif) = severity_of(r, default_sev);
    Finding {
        first_found,
        last_found,
        last_fixed,
        asset: asset_idx,
        var,
        plugin,
        port: s.port,
        proto: s.proto,
        svc: service_index(s.name),
        state,
        sev,
        modif,
    }
}

/// VM-specific per-asset details, regenerated from the seed on demand.
pub(crate) struct Profile {
    pub uuid: uuid::Uuid,
    pub agent_uuid: Option<String>,
    pub authenticated: bool,
    pub tags: Vec<Tag>,
    pub aws: Option<Aws>,
    pub sources: Vec<&'static str>,
    pub acr: f64,
    pub exposure: u32,
    pub schedule: usize,
}

pub(crate) struct Tag {
    pub uuid: uuid::Uuid,
    pub key: &'static str,
    pub value: &'static str,
    pub added_at: i64,
}

pub(crate) struct Aws {
    pub instance_id: String,
    pub ami: String,
    pub owner: String,
    pub region: &'static str,
    pub zone: String,
    pub vpc: String,
    pub subnet: String,
    pub instance_type: &'static str,
}

impl Profile {
    pub(crate) fn generate(seed: u64, d: &Device, a: &GenAsset) -> Profile {
        let idx = d.idx;
        let mut r = rng_for(seed, "vm-profile", u64::from(idx));
        let fam = d.os.family;
        let agent = matches!(fam, OsFamily::Windows | OsFamily::Mac) && r.random_bool(0.45)
            || fam.is_linux() && r.random_bool(0.25);
        let agent_uuid = agent.then(|| hex_from(mix(&[seed, u64::from(idx), 0xa6e]), 32));
        let authenticated = agent || !matches!(fam, OsFamily::Network) && r.random_bool(0.8);
        let (site_code, site) = d.site();
        let mut tags = vec![Tag {
            uuid: uuid_from(mix(&[seed, label("tag:Location"), label(site)])),
            key: "Location",
            value: site,
            added_at: a.first_seen + 3_600_000,
        }];
        if r.random_bool(0.7) {
            let env = ["Production", "Staging", "Development"][r.random_range(0..3)];
            tags.push(Tag {
                uuid: uuid_from(mix(&[seed, label("tag:Environment"), label(env)])),
                key: "Environment",
                value: env,
                added_at: a.first_seen + 7_200_000,
            });
        }
        if r.random_bool(0.4) {
            let bu = [
                "Finance",
                "Engineering",
                "Operations",
                "Human Resources",
                "Sales",
            ][r.random_range(0..5)];
            tags.push(Tag {
                uuid: uuid_from(mix(&[seed, label("tag:Business Unit"), label(bu)])),
                key: "Business Unit",
                value: bu,
                added_at: a.first_seen + 10_800_000,
            });
        }
        let cloud_capable = matches!(fam, OsFamily::Windows)
            && d.hostname.starts_with(['a', 'i', 's'])
            || fam.is_linux();
        let aws = (a.terminated_at != 0 || cloud_capable && r.random_bool(0.12)).then(|| {
            let region = match site_code {
                "dal" => "us-east-2",
                "col" => "us-east-1",
                "lon" => "eu-west-2",
                "fra" => "eu-central-1",
                "sgp" => "ap-southeast-1",
                _ => "ap-southeast-2",
            };
            let h = mix(&[seed, u64::from(idx), 0xa75]);
            Aws {
                instance_id: format!("i-0{}", hex_from(h, 16)),
                ami: format!("ami-0{}", hex_from(h ^ 1, 16)),
                owner: format!("{:012}", h % 1_000_000_000_000),
                region,
                zone: format!("{region}{}", ['a', 'b', 'c'][(h % 3) as usize]),
                vpc: format!("vpc-{}", hex_from(h ^ 2, 8)),
                subnet: format!("subnet-{}", hex_from(h ^ 3, 8)),
                instance_type: ["t3.medium", "m5.large", "m5.xlarge", "c5.2xlarge"]
                    [(h % 4) as usize],
            }
        });
        let mut sources = vec!["NESSUS_SCAN"];
        if agent {
            sources.push("NESSUS_AGENT");
        }
        if aws.is_some() {
            sources.push("AWS");
        }
        if r.random_bool(0.15) {
            sources.push("PVS");
        }
        let acr = f64::from(r.random_range(2..=10_u8));
        let exposure = r.random_range(50..950);
        Profile {
            uuid: asset_uuid(seed, idx),
            agent_uuid,
            authenticated,
            tags,
            aws,
            sources,
            acr,
            exposure,
            schedule: (mix(&[seed, u64::from(idx), 5]) % 12) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(n: usize) -> VmData {
        VmData::build(42, n, 1_767_225_600_000, None, None).expect("build")
    }

    #[test]
    fn generation_is_deterministic_and_keys_unique() {
        let a = world(400);
        let b = world(400);
        assert_eq!(a.world.findings.len(), b.world.findings.len());
        let mut keys = HashSet::new();
        for f in &a.world.findings {
            let p = a.catalog.plugins[usize::from(f.plugin)].id;
            assert!(keys.insert((f.asset, p, f.port, f.proto)), "duplicate key");
            assert!(a.world.assets[f.asset as usize].live());
            assert!(f.first_found <= f.last_found);
            if f.state != State::Open {
                assert!(f.last_fixed > 0);
            }
        }
        let avg = a.world.findings.len() as f64 / 400.0;
        assert!((7.0..14.0).contains(&avg), "{avg}");
        let t = a.truth();
        assert_eq!(t.assets, 400);
        assert_eq!(t.live_assets + t.deleted_assets, t.assets);
        assert_eq!(t.open + t.reopened + t.fixed, t.findings);
    }

    #[test]
    fn timestamps_stay_in_window() {
        let anchor = 1_767_225_600_000;
        let a = world(300);
        let lo = anchor - 300 * DAY_MS;
        let hi = anchor - 2 * DAY_MS;
        for x in &a.world.assets {
            for t in [x.created_at, x.updated_at, x.first_seen, x.last_seen] {
                assert!(t >= lo && t <= hi, "{t}");
            }
        }
        for f in &a.world.findings {
            for t in [f.first_found, f.last_found, indexed_ms(f)] {
                assert!(t >= lo && t <= hi, "{t}");
            }
        }
    }

    #[test]
    fn mutation_counts_are_consistent() {
        let mut a = world(500);
        let before = a.truth();
        let m = a.mutate(1, 100, 1_767_300_000_000);
        let after = a.truth();
        assert_eq!(m.fixed, 50);
        assert_eq!(m.reopened, 20);
        assert_eq!(m.new, 30);
        assert_eq!(m.deleted_assets, 2);
        assert_eq!(m.changed_findings, 100);
        assert_eq!(
            after.findings,
            before.findings - m.findings_removed_with_assets + m.new
        );
        assert_eq!(after.deleted_assets, before.deleted_assets + 2);
        let mut keys = HashSet::new();
        for f in &a.world.findings {
            assert!(keys.insert((f.asset, f.plugin, f.port, f.proto)));
        }
    }
}
