//! The SC data model: repositories, hosts and vulnerabilities generated from the seed (on
//! top of the shared device model and plugin catalog), or rows loaded from files; the
//! rendered `vulndetails` rows of both data sets; truth and mutation.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::{Map, Value};

use super::{ScMutation, ScTruth};
use crate::catalog::{Catalog, DeviceText, OutCtx};
use crate::devices::{Device, OsFamily, Proto, mac_string};
use crate::util::{label, mix, parse_iso_ms, rng_for, uuid_from};

const DAY_S: i64 = 86_400;

/// A repository: `(id, name, description, dataFormat)`.
pub(crate) const REPOS: &[(u32, &str, &str, &str)] = &[
    (1, "Servers", "Data center and cloud servers", "IPv4"),
    (2, "Workstations", "User endpoints (DHCP)", "IPv4"),
    (3, "Agents", "Nessus Agent results", "agent"),
];

/// Severity `(name, description)` by id.
pub(crate) const SEVERITIES: [(&str, &str); 5] = [
    ("Info", "Informative"),
    ("Low", "Low Severity"),
    ("Medium", "Medium Severity"),
    ("High", "High Severity"),
    ("Critical", "Critical Severity"),
];

/// One generated host.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    pub dev: u32,
    /// Index into [`REPOS`].
    pub repo: usize,
    pub ip: [u8; 4],
    pub dhcp: bool,
    /// `hostUUID` or empty.
    pub host_uuid: String,
    /// Agent `uuid` (agent repository) or empty.
    pub agent_uuid: String,
}

/// One generated vulnerability (a row of `cumulative` or of `patched`).
#[derive(Clone, Debug)]
pub(crate) struct Vuln {
    pub host: u32,
    pub plugin: u16,
    pub port: u16,
    pub proto: Proto,
    pub svc: &'static str,
    pub first: i64,
    pub last: i64,
    /// Epoch seconds or -1.
    pub mitigated: i64,
    pub patched: bool,
    pub has_been_mitigated: bool,
    pub var: u32,
}

/// Rendered rows served by `/rest/analysis`.
#[derive(Default)]
pub(crate) struct Rows {
    pub cumulative: Vec<Value>,
    pub patched: Vec<Value>,
    /// `sumip` rows from a file, per source (`None`: derived from `vulndetails` rows).
    pub sumip_cumulative: Option<Vec<Value>>,
    pub sumip_patched: Option<Vec<Value>>,
    /// Extra `sumip` fields of generated hosts, keyed by `"<repository id>|<ip>"`.
    pub host_extra: HashMap<String, Map<String, Value>>,
}

/// Text of a plugin as SC shows it in `vulndetails`.
#[derive(Clone, Debug, Default)]
pub(crate) struct PluginText {
    fields: Vec<(&'static str, String)>,
    name: String,
    family: String,
    family_id: String,
}

/// The SC data set (generated model or file rows) plus its rendered rows.
#[derive(Clone)]
pub(crate) struct ScData {
    seed: u64,
    anchor_s: i64,
    cat: Option<Arc<Catalog>>,
    texts: Arc<Vec<PluginText>>,
    pub hosts: Vec<Host>,
    pub vulns: Vec<Vuln>,
    leases: u32,
    pub rows: Arc<Rows>,
}

fn range(r: &mut SmallRng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        r.random_range(lo..=hi)
    }
}

/// A DHCP lease address from the pool 172.20.0.0/16 (unique per lease number).
fn lease_ip(n: u32) -> [u8; 4] {
    [172, 20, (n / 250) as u8, (n % 250 + 2) as u8]
}

fn vs(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn epoch_of(v: &Value) -> String {
    v.as_str()
        .and_then(parse_iso_ms)
        .map_or_else(|| "-1".to_string(), |ms| (ms / 1000).to_string())
}

fn score(v: &Value) -> String {
    v.as_f64().map_or_else(String::new, |f| format!("{f:.1}"))
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn joined(v: &Value, sep: &str) -> String {
    v.as_array()
        .map(|a| a.iter().map(vs).collect::<Vec<_>>().join(sep))
        .unwrap_or_default()
}

impl PluginText {
    fn from_json(json: &[u8]) -> PluginText {
        let v: Value = serde_json::from_slice(json).unwrap_or(Value::Null);
        let mut frameworks = Vec::new();
        for (k, n) in [
            ("exploit_framework_metasploit", "Metasploit"),
            ("exploit_framework_canvas", "CANVAS"),
            ("exploit_framework_core", "Core Impact"),
        ] {
            if v[k].as_bool() == Some(true) {
                frameworks.push(n);
            }
        }
        let cvss_vector = {
            let base = vs(&v["cvss_vector"]["raw"]);
            let t = vs(&v["cvss_temporal_vector"]["raw"]);
            if base.is_empty() || t.is_empty() {
                base
            } else {
                format!("{base}/{t}")
            }
        };
        let cvss3_vector = vs(&v["cvss3_vector"]["raw"]);
        let xref = v["xrefs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| format!("{} #{}", vs(&x["type"]), vs(&x["id"])))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let exploit = if v["exploit_available"].as_bool() == Some(true) {
            "Yes"
        } else {
            "No"
        };
        let risk = capitalized(&v["risk_factor"].as_str().unwrap_or("None").to_lowercase());
        let fields = vec![
            ("synopsis", vs(&v["synopsis"])),
            ("description", vs(&v["description"])),
            ("solution", vs(&v["solution"])),
            ("seeAlso", joined(&v["see_also"], "\n")),
            ("riskFactor", risk),
            ("stigSeverity", vs(&v["stig_severity"])),
            ("vprScore", score(&v["vpr"]["score"])),
            ("vprContext", "[]".to_string()),
            ("baseScore", score(&v["cvss_base_score"])),
            ("temporalScore", score(&v["cvss_temporal_score"])),
            ("cvssVector", cvss_vector),
            ("cvssV3BaseScore", score(&v["cvss3_base_score"])),
            ("cvssV3TemporalScore", score(&v["cvss3_temporal_score"])),
            ("cvssV3Vector", cvss3_vector),
            ("cpe", joined(&v["cpe"], "\n")),
            ("vulnPubDate", epoch_of(&v["vuln_publication_date"])),
            ("patchPubDate", epoch_of(&v["patch_publication_date"])),
            ("pluginPubDate", epoch_of(&v["publication_date"])),
            ("pluginModDate", epoch_of(&v["modification_date"])),
            ("checkType", vs(&v["type"]).replace("null", "remote")),
            ("version", vs(&v["version"])),
            ("cve", joined(&v["cve"], ",")),
            ("bid", joined(&v["bid"], ",")),
            ("xref", xref),
            ("seolDate", "-1".to_string()),
            ("exploitAvailable", exploit.to_string()),
            ("exploitEase", vs(&v["exploitability_ease"])),
            ("exploitFrameworks", frameworks.join(", ")),
        ];
        PluginText {
            fields,
            name: vs(&v["name"]),
            family: vs(&v["family"]),
            family_id: vs(&v["family_id"]),
        }
    }
}

fn os_cpe(f: OsFamily) -> &'static str {
    match f {
        OsFamily::Windows => "cpe:/o:microsoft:windows",
        OsFamily::Ubuntu => "cpe:/o:canonical:ubuntu_linux",
        OsFamily::Rhel => "cpe:/o:redhat:enterprise_linux",
        OsFamily::Debian => "cpe:/o:debian:debian_linux",
        OsFamily::Network => "cpe:/h:cisco",
        OsFamily::Esxi => "cpe:/o:vmware:esxi",
        OsFamily::Mac => "cpe:/o:apple:mac_os_x",
    }
}

fn proto_number(p: Proto) -> u8 {
    match p {
        Proto::Tcp => 6,
        Proto::Udp => 17,
        Proto::Icmp => 1,
    }
}

fn repo_json(i: usize) -> Value {
    let (id, name, desc, fmt) = REPOS[i];
    serde_json::json!({"id": id.to_string(), "name": name, "description": desc, "dataFormat": fmt})
}

fn ip_string(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

impl ScData {
    /// Builds the generated data set, or the file-backed one when a file is given.
    pub(crate) fn build(
        seed: u64,
        hosts: usize,
        anchor_ms: i64,
        vulndetails_file: Option<&Path>,
        sumip_file: Option<&Path>,
    ) -> Result<ScData, String> {
        let anchor_s = anchor_ms.div_euclid(1000);
        if vulndetails_file.is_some() || sumip_file.is_some() {
            let mut rows = Rows::default();
            if let Some(p) = vulndetails_file {
                let (c, pa) = load_rows(p, "vulndetails")?;
                rows.cumulative = c;
                rows.patched = pa;
            }
            if let Some(p) = sumip_file {
                let (c, pa) = load_rows(p, "sumip")?;
                rows.sumip_cumulative = Some(c);
                rows.sumip_patched = (!pa.is_empty()).then_some(pa);
            }
            return Ok(ScData {
                seed,
                anchor_s,
                cat: None,
                texts: Arc::new(Vec::new()),
                hosts: Vec::new(),
                vulns: Vec::new(),
                leases: 0,
                rows: Arc::new(rows),
            });
        }
        let cat = Catalog::generate(seed);
        let texts: Vec<PluginText> = cat
            .plugins
            .iter()
            .map(|p| PluginText::from_json(&p.json))
            .collect();
        let mut d = ScData {
            seed,
            anchor_s,
            cat: Some(Arc::new(cat)),
            texts: Arc::new(texts),
            hosts: Vec::new(),
            vulns: Vec::new(),
            leases: 0,
            rows: Arc::new(Rows::default()),
        };
        d.generate(hosts);
        d.render();
        Ok(d)
    }

    /// An empty data set (never used in practice: generation cannot fail).
    pub(crate) fn empty(seed: u64, anchor_ms: i64) -> ScData {
        ScData {
            seed,
            anchor_s: anchor_ms.div_euclid(1000),
            cat: None,
            texts: Arc::new(Vec::new()),
            hosts: Vec::new(),
            vulns: Vec::new(),
            leases: 0,
            rows: Arc::new(Rows::default()),
        }
    }

    fn generate(&mut self, n: usize) {
        let Some(cat) = self.cat.clone() else { return };
        let (lo, hi) = (self.anchor_s - 300 * DAY_S, self.anchor_s - 2 * DAY_S);
        for i in 0..n as u32 {
            let dev = Device::generate(self.seed, i);
            let mut r = rng_for(self.seed, "sc-host", u64::from(i));
            let repo = if r.random_bool(0.2) && dev.os.family != OsFamily::Network {
                2
            } else if dev.os.name.contains("Windows 1") || dev.os.family == OsFamily::Mac {
                1
            } else {
                0
            };
            let dhcp = repo == 1 && r.random_bool(0.5);
            let ip = if dhcp {
                self.leases += 1;
                lease_ip(self.leases)
            } else {
                dev.ipv4
            };
            let host_uuid = if repo == 2 || r.random_bool(0.7) {
                uuid_from(mix(&[self.seed, label("sc-hostuuid"), u64::from(i)])).to_string()
            } else {
                String::new()
            };
            let agent_uuid = if repo == 2 {
                uuid_from(mix(&[self.seed, label("sc-agent"), u64::from(i)])).to_string()
            } else {
                String::new()
            };
            self.hosts.push(Host {
                dev: i,
                repo,
                ip,
                dhcp,
                host_uuid,
                agent_uuid,
            });
            let pool = cat.pool_for(&dev);
            let k = (1 + r.random_range(0..14usize)).min(pool.len());
            let mut picked: Vec<u16> = Vec::with_capacity(k);
            let mut seen = HashSet::new();
            while picked.len() < k {
                let p = pool[r.random_range(0..pool.len())];
                if seen.insert(p) {
                    picked.push(p);
                }
            }
            for (j, p) in picked.into_iter().enumerate() {
                let first = range(&mut r, lo, hi);
                let last = range(&mut r, first, hi);
                let roll = r.random_range(0..100u32);
                let (patched, hbm, mitigated) = if j > 0 && roll < 20 {
                    (true, true, range(&mut r, last, self.anchor_s - DAY_S))
                } else if j > 0 && roll < 28 {
                    (false, true, range(&mut r, first, last))
                } else {
                    (false, false, -1)
                };
                let var = r.random::<u32>();
                let v = new_vuln(&cat, &dev, i, p, var, first, last);
                self.vulns.push(Vuln {
                    mitigated,
                    patched,
                    has_been_mitigated: hbm,
                    ..v
                });
            }
        }
    }

    /// Renders every row again (after generation or a mutation).
    fn render(&mut self) {
        let Some(cat) = self.cat.clone() else { return };
        let mut rows = Rows::default();
        let devs: Vec<Device> = self
            .hosts
            .iter()
            .map(|h| Device::generate(self.seed, h.dev))
            .collect();
        let dtexts: Vec<DeviceText> = devs.iter().map(DeviceText::new).collect();
        // Last scan of each device: one pass over the vulnerabilities (not one per host).
        let mut last_by_dev: HashMap<_, i64> = HashMap::new();
        for v in &self.vulns {
            let dev = self.hosts[v.host as usize].dev;
            let t = v.last.max(v.mitigated);
            last_by_dev
                .entry(dev)
                .and_modify(|m| *m = (*m).max(t))
                .or_insert(t);
        }
        for (h, d) in self.hosts.iter().zip(&devs) {
            let ip = ip_string(h.ip);
            let last_run = last_by_dev.get(&h.dev).copied().unwrap_or(-1);
            let mut m = Map::new();
            m.insert("osCPE".into(), os_cpe(d.os.family).into());
            m.insert(
                "policyName".into(),
                if h.repo == 2 {
                    "Agent Basic Scan"
                } else {
                    "Full Safe Scan"
                }
                .into(),
            );
            m.insert("pluginSet".into(), "202611200312".into());
            m.insert(
                "biosGUID".into(),
                d.bios_uuid
                    .map(|u| u.to_string().to_uppercase())
                    .unwrap_or_default()
                    .into(),
            );
            let auth = d.os.family != OsFamily::Network;
            m.insert(
                "lastAuthRun".into(),
                if auth {
                    last_run.to_string()
                } else {
                    String::new()
                }
                .into(),
            );
            m.insert(
                "lastUnauthRun".into(),
                if auth {
                    String::new()
                } else {
                    last_run.to_string()
                }
                .into(),
            );
            rows.host_extra
                .insert(format!("{}|{ip}", REPOS[h.repo].0), m);
        }
        for v in &self.vulns {
            let hi = v.host as usize;
            let row = self.vuln_row(&cat, v, &self.hosts[hi], &devs[hi], &dtexts[hi]);
            if v.patched {
                rows.patched.push(row);
            } else {
                rows.cumulative.push(row);
            }
        }
        self.rows = Arc::new(rows);
    }

    fn vuln_row(&self, cat: &Catalog, v: &Vuln, h: &Host, d: &Device, t: &DeviceText) -> Value {
        let p = &cat.plugins[v.plugin as usize];
        let txt = &self.texts[v.plugin as usize];
        let ip = ip_string(h.ip);
        let sev = p.severity.min(4) as usize;
        let mut m = Map::new();
        let mut put = |k: &str, val: Value| {
            m.insert(k.to_string(), val);
        };
        put("pluginID", p.id.to_string().into());
        put(
            "severity",
            serde_json::json!({"id": sev.to_string(), "name": SEVERITIES[sev].0, "description": SEVERITIES[sev].1}),
        );
        put(
            "hasBeenMitigated",
            if v.has_been_mitigated { "1" } else { "0" }.into(),
        );
        put("acceptRisk", "0".into());
        put("recastRisk", "0".into());
        put("ip", ip.clone().into());
        put("uuid", h.agent_uuid.clone().into());
        put("port", v.port.to_string().into());
        put("protocol", v.proto.as_str().into());
        put("pluginName", txt.name.clone().into());
        put("firstSeen", v.first.to_string().into());
        put("lastSeen", v.last.to_string().into());
        put("lastMitigated", v.mitigated.to_string().into());
        for (k, val) in &txt.fields {
            put(k, val.clone().into());
        }
        let text = p.output.as_ref().map(|o| {
            let mut buf = b"\"".to_vec();
            o.render(
                &mut buf,
                &OutCtx {
                    ip: &ip,
                    host: &t.host,
                    fqdn: &t.fqdn,
                    port: v.port,
                    svc: v.svc,
                    os: d.os.name,
                    devtype: d.os.device_type,
                    mac: &t.mac_upper,
                    var: v.var,
                },
            );
            buf.push(b'"');
            serde_json::from_slice::<String>(&buf).unwrap_or_default()
        });
        put(
            "pluginText",
            text.map_or_else(String::new, |s| {
                format!("<plugin_output>{s}</plugin_output>")
            })
            .into(),
        );
        put("dnsName", d.fqdn.clone().unwrap_or_default().into());
        put(
            "macAddress",
            d.macs
                .first()
                .map(|m| mac_string(m, false))
                .unwrap_or_default()
                .into(),
        );
        put(
            "netbiosName",
            d.netbios
                .as_ref()
                .map(|n| format!("{}\\{n}", d.site().0.to_uppercase()))
                .unwrap_or_default()
                .into(),
        );
        put("operatingSystem", d.os.name.into());
        put("ips", ip.clone().into());
        put("recastRiskRuleComment", "".into());
        put("acceptRiskRuleComment", "".into());
        let uniq = if h.repo == 2 {
            "repositoryID,uuid"
        } else {
            "repositoryID,ip,dnsName"
        };
        put("hostUniqueness", uniq.into());
        put("uniqueness", uniq.into());
        put("hostUUID", h.host_uuid.clone().into());
        put("acrScore", "".into());
        put("keyDrivers", "".into());
        put("assetExposureScore", "".into());
        put(
            "vulnUniqueness",
            "repositoryID,ip,port,protocol,pluginID".into(),
        );
        put(
            "vulnUUID",
            uuid_from(mix(&[
                self.seed,
                label("sc-vuln"),
                u64::from(h.dev),
                u64::from(p.id),
                u64::from(v.port),
            ]))
            .to_string()
            .into(),
        );
        put(
            "family",
            serde_json::json!({"id": txt.family_id, "name": txt.family, "type": "active"}),
        );
        put("repository", repo_json(h.repo));
        put(
            "pluginInfo",
            format!(
                "{} ({}/{}) {}",
                p.id,
                v.port,
                proto_number(v.proto),
                txt.name
            )
            .into(),
        );
        Value::Object(m)
    }

    /// The seed the data set was generated from.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// Moves the host answering on `ip` to a new DHCP lease at `now`: its cumulative rows get
    /// the new address and `lastSeen` = now. `(old ip, new ip, cumulative rows)`; `None`
    /// when no generated host has that address.
    pub(crate) fn move_host(
        &mut self,
        ip: &str,
        to: Option<[u8; 4]>,
        now: i64,
    ) -> Option<(String, String, u64)> {
        let h = self.hosts.iter().position(|h| ip_string(h.ip) == ip)?;
        if to.is_some_and(|t| self.hosts.iter().any(|o| o.ip == t)) {
            return None;
        }
        let new = to.unwrap_or_else(|| {
            self.leases += 1;
            lease_ip(self.leases)
        });
        self.hosts[h].ip = new;
        let mut rows = 0;
        for v in self
            .vulns
            .iter_mut()
            .filter(|v| v.host as usize == h && !v.patched)
        {
            v.last = now;
            rows += 1;
        }
        self.render();
        Some((ip.to_string(), ip_string(new), rows))
    }

    /// Ground truth.
    pub(crate) fn truth(&self) -> ScTruth {
        let r = &self.rows;
        let reopened = r
            .cumulative
            .iter()
            .filter(|v| v["hasBeenMitigated"] == "1")
            .count() as u64;
        let repos: BTreeSet<String> = r
            .cumulative
            .iter()
            .chain(&r.patched)
            .map(|v| vs(&v["repository"]["id"]))
            .collect();
        let hosts = match &r.sumip_cumulative {
            Some(s) => s.len() as u64,
            None => host_keys(&r.cumulative).len() as u64,
        };
        ScTruth {
            repositories: repos.len() as u64,
            hosts,
            cumulative: r.cumulative.len() as u64,
            open: r.cumulative.len() as u64 - reopened,
            reopened,
            patched: r.patched.len() as u64,
        }
    }

    /// Applies about `n` changes at `now` (epoch seconds); see [`ScMutation`].
    pub(crate) fn mutate(&mut self, counter: u64, n: usize, now: i64) -> ScMutation {
        let mut m = ScMutation::default();
        let Some(cat) = self.cat.clone() else {
            return m;
        };
        let mut r = rng_for(self.seed, "sc-mutate", counter);
        let mut moved: HashSet<u32> = HashSet::new();
        let mut touched_hosts: HashSet<u32> = HashSet::new();
        let mut touched: HashSet<usize> = HashSet::new();
        let mut cum_per_host: HashMap<u32, usize> = HashMap::new();
        for v in self.vulns.iter().filter(|v| !v.patched) {
            *cum_per_host.entry(v.host).or_insert(0) += 1;
        }
        let nv = self.vulns.len();
        let nh = self.hosts.len() as u32;
        if nh == 0 {
            return m;
        }
        for _ in 0..n {
            let roll = r.random_range(0..100u32);
            if roll < 10 {
                // A DHCP host gets a new lease.
                let cands: Vec<u32> = (0..nh)
                    .filter(|h| {
                        self.hosts[*h as usize].dhcp
                            && !touched_hosts.contains(h)
                            && !moved.contains(h)
                    })
                    .collect();
                if cands.is_empty() {
                    continue;
                }
                let h = cands[r.random_range(0..cands.len())];
                self.leases += 1;
                self.hosts[h as usize].ip = lease_ip(self.leases);
                moved.insert(h);
                touched_hosts.insert(h);
                for (i, v) in self.vulns.iter_mut().enumerate() {
                    if v.host == h && !v.patched {
                        v.last = now;
                        touched.insert(i);
                        m.changed += 1;
                    }
                }
                m.moved_hosts += 1;
            } else if roll < 50 {
                for _ in 0..20 {
                    let i = r.random_range(0..nv.max(1));
                    let Some(v) = self.vulns.get_mut(i) else {
                        break;
                    };
                    if v.patched
                        || touched.contains(&i)
                        || moved.contains(&v.host)
                        || cum_per_host.get(&v.host).copied().unwrap_or(0) <= 1
                    {
                        continue;
                    }
                    v.patched = true;
                    v.has_been_mitigated = true;
                    v.mitigated = now;
                    *cum_per_host.entry(v.host).or_insert(1) -= 1;
                    touched.insert(i);
                    touched_hosts.insert(v.host);
                    m.fixed += 1;
                    break;
                }
            } else if roll < 70 {
                for _ in 0..20 {
                    let i = r.random_range(0..nv.max(1));
                    let Some(v) = self.vulns.get_mut(i) else {
                        break;
                    };
                    if !v.patched || touched.contains(&i) || moved.contains(&v.host) {
                        continue;
                    }
                    v.patched = false;
                    v.has_been_mitigated = true;
                    v.last = now;
                    *cum_per_host.entry(v.host).or_insert(0) += 1;
                    touched.insert(i);
                    touched_hosts.insert(v.host);
                    m.reopened += 1;
                    break;
                }
            } else {
                for _ in 0..20 {
                    let h = r.random_range(0..nh);
                    if moved.contains(&h) {
                        continue;
                    }
                    let dev = Device::generate(self.seed, self.hosts[h as usize].dev);
                    let pool = cat.pool_for(&dev);
                    let have: HashSet<u16> = self
                        .vulns
                        .iter()
                        .filter(|v| v.host == h)
                        .map(|v| v.plugin)
                        .collect();
                    let free: Vec<u16> = pool.into_iter().filter(|p| !have.contains(p)).collect();
                    if free.is_empty() {
                        continue;
                    }
                    let p = free[r.random_range(0..free.len())];
                    let var = r.random::<u32>();
                    self.vulns.push(new_vuln(&cat, &dev, h, p, var, now, now));
                    touched.insert(self.vulns.len() - 1);
                    touched_hosts.insert(h);
                    *cum_per_host.entry(h).or_insert(0) += 1;
                    m.new += 1;
                    break;
                }
            }
        }
        self.render();
        m
    }
}

fn new_vuln(
    cat: &Catalog,
    dev: &Device,
    host: u32,
    p: u16,
    var: u32,
    first: i64,
    last: i64,
) -> Vuln {
    let plugin = &cat.plugins[p as usize];
    let svc = plugin
        .ports(dev, u64::from(var), 1)
        .into_iter()
        .next()
        .unwrap_or(crate::devices::Service {
            port: 0,
            proto: Proto::Tcp,
            name: "",
        });
    Vuln {
        host,
        plugin: p,
        port: svc.port,
        proto: svc.proto,
        svc: svc.name,
        first,
        last,
        mitigated: -1,
        patched: false,
        has_been_mitigated: false,
        var,
    }
}

/// Host key of a row: `"<repository id>|<ip>"` (plus the agent uuid when the row has one).
pub(crate) fn host_key(row: &Value) -> String {
    let uuid = vs(&row["uuid"]);
    let base = format!("{}|{}", vs(&row["repository"]["id"]), vs(&row["ip"]));
    if uuid.is_empty() {
        base
    } else {
        format!("{base}|{uuid}")
    }
}

fn host_keys(rows: &[Value]) -> HashSet<String> {
    rows.iter().map(host_key).collect()
}

/// Loads rows of a tool from a file: a JSON array of rows (all `cumulative`) or a decoded
/// cassette (results of `/rest/analysis` responses whose request used `tool`, split by the
/// request's `sourceType`). Returns `(cumulative, patched)`.
fn load_rows(path: &Path, tool: &str) -> Result<(Vec<Value>, Vec<Value>), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let items: Vec<Value> = serde_json::from_str(&text)
        .map_err(|e| format!("{}: expected a JSON array: {e}", path.display()))?;
    let is_cassette = items
        .first()
        .is_some_and(|f| f.get("request").is_some() && f.get("response").is_some());
    if !is_cassette {
        if items.iter().any(|i| !i.is_object()) {
            return Err(format!("{}: every row must be an object", path.display()));
        }
        return Ok((items, Vec::new()));
    }
    let (mut cum, mut patched) = (Vec::new(), Vec::new());
    for it in &items {
        let req = &it["request"];
        if !vs(&req["uri"]).contains("/rest/analysis") {
            continue;
        }
        let body = match &req["body"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        if body["query"]["tool"].as_str() != Some(tool) {
            continue;
        }
        let resp = match &it["response"]["body"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        let Some(results) = resp["response"]["results"].as_array() else {
            continue;
        };
        if body["sourceType"].as_str() == Some("patched") {
            patched.extend(results.iter().cloned());
        } else {
            cum.extend(results.iter().cloned());
        }
    }
    Ok((cum, patched))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_truth_consistent() {
        let a = ScData::build(5, 30, 1_700_000_000_000, None, None).expect("build");
        let b = ScData::build(5, 30, 1_700_000_000_000, None, None).expect("build");
        assert_eq!(a.rows.cumulative, b.rows.cumulative);
        let t = a.truth();
        assert_eq!(t.hosts, 30);
        assert_eq!(t.open + t.reopened, t.cumulative);
        assert!(
            t.patched > 0 && t.reopened > 0 && t.repositories >= 2,
            "{t:?}"
        );
        let mut c = a.clone();
        let m = c.mutate(1, 40, 1_800_000_000);
        let t2 = c.truth();
        assert_eq!(t2.cumulative, t.cumulative - m.fixed + m.reopened + m.new);
        assert_eq!(t2.patched, t.patched + m.fixed - m.reopened);
        assert_eq!(t2.hosts, 30);
    }
}
