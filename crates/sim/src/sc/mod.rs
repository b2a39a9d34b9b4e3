//! Tenable Security Center (on-prem, ex Tenable.sc) REST API simulator, under `/rest`.
//!
//! - `data`: the data model (generated from the seed or loaded from files), its rendered
//!   analysis rows, truth and mutation.
//! - `filter`: analysis filters (`severity`, time ranges, `ip`, …) and sorting.
//! - `api`: the axum routes (`/rest/system`, `/rest/currentUser`, `/rest/token`,
//!   `/rest/analysis`) with the SC envelope and authentication.
//! - `hosts`: the 6.x host inventory (`/rest/hosts`, `/rest/hosts/search`).
//! - `assets`: asset lists (`/rest/asset`, `/rest/asset/{id}`) with their membership.

pub(crate) mod api;
mod assets;
pub(crate) mod data;
mod filter;
mod hosts;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use self::data::ScData;

/// Default SC access key (32 hex characters, fixed).
pub const DEFAULT_SC_ACCESS_KEY: &str = "4b1d7c2e9a3f4e5d8c6b7a0918273645";
/// Default SC secret key (32 hex characters, fixed).
pub const DEFAULT_SC_SECRET_KEY: &str = "e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3";
/// Default SC user name.
pub const DEFAULT_SC_USERNAME: &str = "tenax";
/// Default SC password.
pub const DEFAULT_SC_PASSWORD: &str = "tenax-sim-password";

/// Options of the simulated Security Center.
#[derive(Debug, Clone)]
pub struct ScOptions {
    /// Access key of the built-in user. Default [`DEFAULT_SC_ACCESS_KEY`].
    pub access_key: String,
    /// Secret key of the built-in user. Default [`DEFAULT_SC_SECRET_KEY`].
    pub secret_key: String,
    /// Login name for `POST /rest/token`. Default [`DEFAULT_SC_USERNAME`].
    pub username: String,
    /// Password for `POST /rest/token`. Default [`DEFAULT_SC_PASSWORD`].
    pub password: String,
    /// Version reported by `/rest/system`: `"6.4.0"` (default), `"5.20.0"`, `"5.12.0"` (any
    /// `x.y.z` works). Below 5.13 API keys are refused; from 5.20 an unauthenticated
    /// `/rest/system` omits `version`.
    pub version: String,
    /// *Allow API Keys* (System > Configuration > Security). Default true.
    pub api_keys_enabled: bool,
    /// Serve these `vulndetails` rows instead of the generated set: a JSON array of rows or
    /// a decoded pyTenable cassette (the `results` of every `/rest/analysis` response whose
    /// request asked for `vulndetails`; `sourceType` of the request picks the data set).
    pub vulndetails_file: Option<PathBuf>,
    /// Serve these `sumip` rows (same formats, `tool: sumip`) instead of rows derived from
    /// the `vulndetails` rows.
    pub sumip_file: Option<PathBuf>,
    /// Number of generated hosts (devices `0..hosts` of the shared device model). Default 100.
    pub hosts: usize,
    /// Serve these asset lists on `GET /rest/asset` instead of the seeded ones: a decoded
    /// pyTenable cassette (the `response` of its `/rest/asset` answer) or the `response`
    /// object itself (`{"usable": [...], "manageable": [...]}`). Rows are served as
    /// recorded, with an empty `viewableIPs`.
    pub asset_lists_file: Option<PathBuf>,
    /// Answer `/rest/hosts` and `/rest/hosts/search` with a plain array of the requested
    /// window even when `pagination=true` is asked (servers that ignore it). Default false.
    pub hosts_plain_array: bool,
    /// Answer `/rest/hosts` and `/rest/hosts/search` with every host whatever
    /// `startOffset`/`endOffset`/`limit` ask (servers that ignore them). Default false.
    pub hosts_ignore_offsets: bool,
}

impl Default for ScOptions {
    fn default() -> ScOptions {
        ScOptions {
            access_key: DEFAULT_SC_ACCESS_KEY.to_string(),
            secret_key: DEFAULT_SC_SECRET_KEY.to_string(),
            username: DEFAULT_SC_USERNAME.to_string(),
            password: DEFAULT_SC_PASSWORD.to_string(),
            version: "6.4.0".to_string(),
            api_keys_enabled: true,
            vulndetails_file: None,
            sumip_file: None,
            hosts: 100,
            asset_lists_file: None,
            hosts_plain_array: false,
            hosts_ignore_offsets: false,
        }
    }
}

/// Ground truth of the SC data set: what a correct full sync reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScTruth {
    /// Repositories holding at least one host.
    pub repositories: u64,
    /// Hosts: `sumip` rows of `sourceType: cumulative` without filters (every generated host
    /// has at least one cumulative vulnerability).
    pub hosts: u64,
    /// `vulndetails` rows of `sourceType: cumulative` (`open + reopened`).
    pub cumulative: u64,
    /// Cumulative rows with `hasBeenMitigated: "0"`.
    pub open: u64,
    /// Cumulative rows with `hasBeenMitigated: "1"` (fixed once, seen again).
    pub reopened: u64,
    /// `vulndetails` rows of `sourceType: patched` (`lastMitigated` set).
    pub patched: u64,
}

/// One generated host as a correct sync should see it ([`crate::Sim::sc_hosts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScHost {
    /// `repository.id`.
    pub repository_id: String,
    /// `repository.name`.
    pub repository_name: String,
    /// Current IPv4 address.
    pub ip: String,
    /// `hostUUID` of its rows (and `uuid` of `/rest/hosts`), or empty.
    pub host_uuid: String,
    /// Agent `uuid` of its rows (Agents repository), or empty.
    pub agent_uuid: String,
    /// A DHCP workstation (its address changes with [`crate::Sim::sc_mutate`]).
    pub dhcp: bool,
    /// Names of the asset lists holding it, sorted; "All Defined Ranges" (id 0, which
    /// holds everything) left out.
    pub asset_lists: Vec<String>,
    /// Its `vulndetails` rows of `sourceType: cumulative`.
    pub cumulative: u64,
    /// Its `vulndetails` rows of `sourceType: patched`.
    pub patched: u64,
    /// The physical device it is, in the device model every product shares (correlation
    /// ground truth: the VM asset of the same device is the same machine).
    pub device: u64,
}

/// What [`crate::Sim::sc_move_host`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScMove {
    /// The address before.
    pub old_ip: String,
    /// The new DHCP lease (172.20.0.0/16).
    pub new_ip: String,
    /// Cumulative rows of the host, all now on `new_ip` with `lastSeen` = now.
    pub cumulative: u64,
}

/// Session counters of the simulated Security Center ([`crate::Sim::sc_sessions`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScSessions {
    /// Successful `POST /rest/token` logins.
    pub logins: u64,
    /// Sessions open now (logged in, not logged out, not expired).
    pub open: u64,
    /// Session tokens expired by the `sc-expire:after=N` fault.
    pub expired: u64,
    /// Sessions ended by `DELETE /rest/token`.
    pub logouts: u64,
}

/// What one [`crate::Sim::sc_mutate`] call changed, all at the same "now" (epoch seconds).
///
/// After a mutation at `now`, with `since` between the data set (≤ anchor − 2 days) and
/// `now`: cumulative rows with `lastSeen` in `since-now` number `reopened + new + changed`,
/// patched rows with `lastMitigated` in `since-now` number `fixed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScMutation {
    /// Cumulative rows that moved to patched (`lastMitigated` = now).
    pub fixed: u64,
    /// Patched rows that came back to cumulative (`hasBeenMitigated` "1", `lastSeen` = now).
    pub reopened: u64,
    /// New cumulative rows (`firstSeen` = `lastSeen` = now).
    pub new: u64,
    /// Cumulative rows of DHCP hosts that got a new IP: their `ip` changed and `lastSeen` = now.
    pub changed: u64,
    /// DHCP hosts whose IP changed (their rows are counted in `changed`).
    pub moved_hosts: u64,
}

/// Mutable SC state.
pub(crate) struct ScState {
    /// Built on first use (generated sets) or at start (file sets, so errors surface early).
    pub data: Option<Arc<ScData>>,
    /// Session token → `TNS_SESSIONID` cookie.
    pub sessions: HashMap<u64, String>,
    /// Requests each open session token has served (for `sc-expire:after=N`).
    pub session_uses: HashMap<u64, u64>,
    /// Session tokens expired by `sc-expire:after=N`.
    pub expired_sessions: u64,
    pub logouts: u64,
    pub logins: u64,
    pub mutations: u64,
    /// `/rest/analysis` requests answered (for `sc-short:page=K`).
    pub analysis_requests: u64,
    /// The last few analysis queries' results (filtered and sorted once, then paged): a real
    /// SC pages a query from its own result set, and re-filtering 100,000 rows per page made
    /// the simulator quadratic.
    pub query_cache: Vec<CachedQuery>,
    /// `/rest/hosts` rows of the current data set, built on first use.
    pub hosts_cache: Option<HostsCache>,
    /// `/rest/asset` rows `(row, usable, manageable)` of the current data set.
    pub lists_cache: Option<ListsCache>,
    pub short_done: HashSet<u32>,
}

/// The `/rest/hosts` rows of a data set.
pub(crate) type HostsCache = (
    Arc<ScData>,
    Arc<Vec<serde_json::Map<String, serde_json::Value>>>,
);

/// The asset-list rows of a data set.
pub(crate) type ListsCache = (
    Arc<ScData>,
    Arc<Vec<(serde_json::Map<String, serde_json::Value>, bool, bool)>>,
);

/// An analysis query's result, kept while its data set is current.
#[derive(Clone)]
pub(crate) struct CachedQuery {
    /// Source type, tool, filters and sort of the request.
    pub key: String,
    /// The data set it was computed on (a mutation replaces it).
    pub data: Arc<ScData>,
    /// The rows, in answer order.
    pub rows: Arc<QueryRows>,
    /// `matchingDataElementCount`.
    pub mdec: String,
}

/// Where a cached query's rows live.
pub(crate) enum QueryRows {
    /// Indices into the data set's `cumulative`/`patched` rows (or the file `sumip` rows).
    Indices(Vec<u32>),
    /// Rows made for the query (`sumip` derived from `vulndetails`).
    Owned(Vec<serde_json::Value>),
}

/// The SC product: options plus state.
pub(crate) struct ScService {
    pub opts: ScOptions,
    seed: u64,
    anchor_ms: i64,
    /// `(major, minor, patch)` of `opts.version`.
    pub version: (u32, u32, u32),
    /// `sc-expire:after=N`: requests a session token serves before it expires.
    pub session_requests: Option<u64>,
    /// The `response` of `GET /rest/asset` loaded from `opts.asset_lists_file`.
    pub asset_file: Option<serde_json::Value>,
    pub state: Mutex<ScState>,
}

/// The `response` of `GET /rest/asset` from a decoded cassette or a bare response object.
fn load_asset_lists(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let found = match &v {
        serde_json::Value::Array(items) => items.iter().find_map(|it| {
            let uri = it["request"]["uri"].as_str().unwrap_or_default();
            if !uri.contains("/rest/asset") {
                return None;
            }
            let body = match &it["response"]["body"] {
                serde_json::Value::String(s) => serde_json::from_str(s).ok()?,
                other => other.clone(),
            };
            Some(body["response"].clone())
        }),
        serde_json::Value::Object(o)
            if o.contains_key("usable") || o.contains_key("manageable") =>
        {
            Some(v.clone())
        }
        _ => None,
    };
    match found {
        Some(r) if r.is_object() => Ok(r),
        _ => Err(format!(
            "{}: no GET /rest/asset answer (usable/manageable) found",
            path.display()
        )),
    }
}

/// Parses `x.y.z` (missing parts are 0, junk is 0).
pub(crate) fn parse_version(v: &str) -> (u32, u32, u32) {
    let mut it = v
        .trim()
        .split('.')
        .map(|p| p.trim().parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

impl ScService {
    /// A service with its data set built now (file-backed or generated), so that no client
    /// request pays for building it (a benchmark would time the simulator, not the client).
    pub(crate) fn new(opts: ScOptions, seed: u64, anchor_ms: i64) -> Result<ScService, String> {
        let data = if opts.vulndetails_file.is_some() || opts.sumip_file.is_some() {
            Some(Arc::new(ScData::build(
                seed,
                opts.hosts,
                anchor_ms,
                opts.vulndetails_file.as_deref(),
                opts.sumip_file.as_deref(),
            )?))
        } else {
            Some(Arc::new(
                ScData::build(seed, opts.hosts, anchor_ms, None, None)
                    .unwrap_or_else(|_| ScData::empty(seed, anchor_ms)),
            ))
        };
        let asset_file = match &opts.asset_lists_file {
            Some(p) => Some(load_asset_lists(p)?),
            None => None,
        };
        Ok(ScService {
            version: parse_version(&opts.version),
            session_requests: None,
            asset_file,
            opts,
            seed,
            anchor_ms,
            state: Mutex::new(ScState {
                data,
                sessions: HashMap::new(),
                session_uses: HashMap::new(),
                expired_sessions: 0,
                logouts: 0,
                logins: 0,
                mutations: 0,
                analysis_requests: 0,
                query_cache: Vec::new(),
                hosts_cache: None,
                lists_cache: None,
                short_done: HashSet::new(),
            }),
        })
    }

    /// The current data set (built on first use).
    pub(crate) fn data(&self, st: &mut ScState) -> Arc<ScData> {
        if let Some(d) = &st.data {
            return Arc::clone(d);
        }
        let built = ScData::build(self.seed, self.opts.hosts, self.anchor_ms, None, None)
            .unwrap_or_else(|_| ScData::empty(self.seed, self.anchor_ms));
        let d = Arc::new(built);
        st.data = Some(Arc::clone(&d));
        d
    }

    /// Locks the state; a poisoned lock is recovered.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ScState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn sessions(&self) -> ScSessions {
        let st = self.lock();
        ScSessions {
            logins: st.logins,
            open: st.sessions.len() as u64,
            expired: st.expired_sessions,
            logouts: st.logouts,
        }
    }

    pub(crate) fn expire_sessions(&self) -> u64 {
        let mut st = self.lock();
        let n = st.sessions.len() as u64;
        st.sessions.clear();
        st.session_uses.clear();
        st.expired_sessions += n;
        n
    }

    pub(crate) fn truth(&self) -> ScTruth {
        let mut st = self.lock();
        let data = self.data(&mut st);
        drop(st);
        data.truth()
    }

    pub(crate) fn hosts(&self) -> Vec<ScHost> {
        let mut st = self.lock();
        let data = self.data(&mut st);
        drop(st);
        let lists = assets::membership(&data);
        let mut counts: HashMap<u32, (u64, u64)> = HashMap::new();
        for v in &data.vulns {
            let e = counts.entry(v.host).or_default();
            if v.patched {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
        data.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (id, name, _, _) = data::REPOS[h.repo];
                let (cumulative, patched) = counts.get(&(i as u32)).copied().unwrap_or_default();
                ScHost {
                    repository_id: id.to_string(),
                    repository_name: name.to_string(),
                    ip: format!("{}.{}.{}.{}", h.ip[0], h.ip[1], h.ip[2], h.ip[3]),
                    host_uuid: h.host_uuid.clone(),
                    agent_uuid: h.agent_uuid.clone(),
                    dhcp: h.dhcp,
                    asset_lists: lists.get(&(h.repo, h.ip)).cloned().unwrap_or_default(),
                    cumulative,
                    patched,
                    device: u64::from(h.dev),
                }
            })
            .collect()
    }

    pub(crate) fn move_host(&self, ip: &str, to: Option<[u8; 4]>, now_s: i64) -> Option<ScMove> {
        let mut st = self.lock();
        let mut next = (*self.data(&mut st)).clone();
        let (old_ip, new_ip, cumulative) = next.move_host(ip, to, now_s)?;
        st.data = Some(Arc::new(next));
        Some(ScMove {
            old_ip,
            new_ip,
            cumulative,
        })
    }

    pub(crate) fn mutate(&self, n: usize, now_s: i64) -> ScMutation {
        let mut st = self.lock();
        st.mutations += 1;
        let counter = st.mutations;
        let mut next = (*self.data(&mut st)).clone();
        let m = next.mutate(counter, n, now_s);
        st.data = Some(Arc::new(next));
        m
    }
}

impl crate::Sim {
    /// Expires every open SC session now (as a server-side session timeout would): the next
    /// request with any of their tokens answers HTTP 403, `error_code` 12. Returns how many
    /// there were; they count in [`ScSessions::expired`].
    pub fn sc_expire_sessions(&self) -> u64 {
        self.shared.sc.expire_sessions()
    }
}
