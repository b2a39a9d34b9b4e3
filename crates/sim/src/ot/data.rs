//! The OT data set: industrial sites with PLCs on backplanes (modules sharing one IP),
//! communication adapters, HMIs, engineering stations and switches; plugins, findings and
//! events. Records are kept as wire JSON (field names of the GraphQL schema); references
//! to other records (a finding's `asset`, an event's `srcAssets`, …) are kept as ids and
//! resolved when projected. File-backed sets keep the recorded nodes as they are.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use rand::Rng;
use serde_json::{Map, Value, json};

use super::{OtMutation, OtOptions, OtTruth};
use crate::devices::{Device, OsFamily, mac_string};
use crate::util::{DAY_MS, Frac, label, mix, rng_for, uuid_from, write_iso_us};

/// The zero-time sentinel ("unknown").
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = DAY_MS * 1000;

/// RFC 3339 with microseconds and `Z`.
pub(crate) fn iso_us(us: i64) -> String {
    let mut v = Vec::with_capacity(27);
    write_iso_us(&mut v, us, Frac::Micros);
    String::from_utf8(v).unwrap_or_default()
}

/// The data set.
#[derive(Clone, Debug, Default)]
pub(crate) struct OtData {
    pub assets: Vec<Value>,
    pub plugins: Vec<Value>,
    pub findings: Vec<Value>,
    pub events: Vec<Value>,
    asset_index: HashMap<String, usize>,
    plugin_index: HashMap<i64, usize>,
    /// Generated (mutable) or file-backed.
    generated: bool,
    next_log_id: i64,
    next_asset: u64,
    /// Asset id → index of the shared IT device (crate::devices) it is: engineering
    /// stations are Windows machines VM and SC see too (correlation ground truth).
    it_devices: HashMap<String, u32>,
}

/// One plugin of the generated catalog.
struct PluginDef {
    id: i64,
    name: String,
    source: &'static str,
    family: &'static str,
    severity: &'static str,
    vpr: Option<f64>,
    cve: Option<String>,
    /// Vendor the plugin applies to (`""`: Windows hosts, `"*"`: any OT device).
    vendor: &'static str,
    port: i64,
    svc: &'static str,
}

const SEVERITIES: [&str; 5] = ["Info", "Low", "Medium", "High", "Critical"];

fn catalog(seed: u64) -> Vec<PluginDef> {
    let mut r = rng_for(seed, "ot-catalog", 0);
    let mut out = Vec::new();
    // Tenable.ot plugins: vendor advisories with a CVE in the name.
    let vendors: [(&str, i64, &str); 5] = [
        ("Rockwell", 44818, "ethernet-ip"),
        ("Siemens", 102, "iso-tsap"),
        ("Schneider", 502, "modbus"),
        ("ABB", 502, "modbus"),
        ("Honeywell", 55553, "unknown"),
    ];
    let mut id = 500_036;
    for k in 0..30 {
        let (vendor, port, svc) = vendors[k % vendors.len()];
        let year = 2012 + (k as i64 * 3) % 12;
        let cve = format!("CVE-{year}-{}", 1000 + r.random_range(0..9000));
        let sev = SEVERITIES[1 + r.random_range(0..4)];
        out.push(PluginDef {
            id,
            name: format!("{vendor} ({cve})"),
            source: "Tot",
            family: "Tenable.ot",
            severity: sev,
            vpr: Some(f64::from(r.random_range(10..99_u32)) / 10.0),
            cve: Some(cve),
            vendor,
            port,
            svc,
        });
        id += 7 + r.random_range(0..60);
    }
    // NNM (passive) detections.
    let nnm: [(&str, &str, i64, &str); 6] = [
        (
            "Automation Message Specification (AMS) UDP Client Detection",
            "*",
            48898,
            "ads",
        ),
        ("Modbus/TCP Server Detection", "Schneider", 502, "modbus"),
        (
            "EtherNet/IP Server Detection",
            "Rockwell",
            44818,
            "ethernet-ip",
        ),
        ("Siemens S7 Protocol Detection", "Siemens", 102, "iso-tsap"),
        (
            "Siemens SCALANCE XM416-4C Managed Modular IE Switch",
            "Siemens",
            0,
            "general",
        ),
        ("HTTP Server Detection", "*", 80, "www"),
    ];
    for (i, (name, vendor, port, svc)) in nnm.into_iter().enumerate() {
        out.push(PluginDef {
            id: 764_524 + i as i64 * 113,
            name: name.to_string(),
            source: "NNM",
            family: "SCADA",
            severity: "Info",
            vpr: None,
            cve: None,
            vendor,
            port,
            svc,
        });
    }
    // Nessus plugins on Windows hosts (HMIs, engineering stations).
    type Nessus = (
        i64,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        i64,
        &'static str,
    );
    let nessus: [Nessus; 5] = [
        (
            10107,
            "HTTP Server Type and Version",
            "Web Servers",
            "Info",
            None,
            80,
            "www",
        ),
        (
            57608,
            "SMB Signing not required",
            "Misc.",
            "Medium",
            None,
            445,
            "cifs",
        ),
        (
            97833,
            "MS17-010: Security Update for Microsoft Windows SMB Server (ETERNALBLUE)",
            "Windows",
            "Critical",
            Some("CVE-2017-0143"),
            445,
            "cifs",
        ),
        (
            18405,
            "Remote Desktop Protocol Server Man-in-the-Middle Weakness",
            "Windows",
            "Medium",
            Some("CVE-2005-1794"),
            3389,
            "msrdp",
        ),
        (
            11219,
            "Nessus SYN scanner",
            "Port scanners",
            "Info",
            None,
            135,
            "epmap",
        ),
    ];
    for (id, name, family, sev, cve, port, svc) in nessus {
        out.push(PluginDef {
            id,
            name: name.to_string(),
            source: "Nessus",
            family,
            severity: sev,
            vpr: cve.map(|_| 6.7),
            cve: cve.map(str::to_string),
            vendor: "",
            port,
            svc,
        });
    }
    out
}

fn plugin_record(p: &PluginDef, seed: u64, anchor_us: i64) -> Value {
    let mut r = rng_for(seed, "ot-plugin", p.id as u64);
    let pub_us = anchor_us - i64::from(r.random_range(400..4000_u32)) * DAY_US;
    let mod_us = pub_us + i64::from(r.random_range(1..300_u32)) * DAY_US;
    let base: f64 = match p.severity {
        "Critical" => 10.0,
        "High" => 7.5,
        "Medium" => 5.0,
        "Low" => 2.6,
        _ => 0.0,
    };
    let v3: f64 = match p.severity {
        "Critical" => 9.8,
        "High" => 8.1,
        "Medium" => 5.3,
        "Low" => 3.1,
        _ => 0.0,
    };
    let refs: Vec<Value> = p
        .cve
        .iter()
        .map(|c| {
            json!({"name": "CVE", "value": c,
                   "url": "http://web.nvd.nist.gov/view/vuln/detail?vulnId="})
        })
        .collect();
    let has_score = p.severity != "Info";
    let score = |s: f64| {
        if has_score {
            Value::String(format!("{s:.1}"))
        } else {
            Value::Null
        }
    };
    let vpr_level = match p.vpr {
        Some(v) if v >= 9.0 => "Critical",
        Some(v) if v >= 7.0 => "High",
        Some(v) if v >= 4.0 => "Medium",
        Some(_) => "Low",
        None => "None",
    };
    json!({
        "id": p.id,
        "name": p.name,
        "source": p.source,
        "family": p.family,
        "severity": p.severity,
        "vprScore": p.vpr,
        "vprLevel": vpr_level,
        "comment": null,
        "owner": null,
        "cvss3Score": if has_score { json!(v3) } else { Value::Null },
        "totalAffectedAssets": 0,
        "totalFixedAssets": 0,
        "affectedAssets": [],
        "details": {
            "id": p.id,
            "name": p.name,
            "source": p.source,
            "family": p.family,
            "description": format!("The remote device is affected by: {}.", p.name),
            "solution": "Apply the vendor's update or the mitigations of its advisory.",
            "seeAlso": ["https://www.tenable.com/plugins"],
            "pluginType": if p.source == "NNM" { "passive" } else { "remote" },
            "pluginPubDate": iso_us(pub_us),
            "pluginModDate": iso_us(mod_us),
            "vulnPubDate": if p.cve.is_some() { json!(iso_us(pub_us - 30 * DAY_US)) } else { Value::Null },
            "vulnModDate": if p.cve.is_some() { json!(iso_us(mod_us)) } else { Value::Null },
            "refs": refs,
            "cpes": [],
            "cves": p.cve.iter().collect::<Vec<_>>(),
            "cvssVector": if has_score { json!("AV:N/AC:L/Au:N/C:P/I:P/A:P") } else { Value::Null },
            "cvssV3Vector": if has_score { json!("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") } else { Value::Null },
            "cvssTemporalVector": null,
            "cvssV3TemporalVector": null,
            "cvssBaseScore": score(base),
            "cvssV3BaseScore": score(v3),
            "cvssTemporalScore": null,
            "cvssV3TemporalScore": null,
            "cvssImpactScore": score(base.min(6.4)),
            "exploitAvailable": p.severity == "Critical",
        }
    })
}

/// Kinds of generated devices.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Communication adapter of a backplane (owns the IP).
    Adapter,
    /// PLC / module in a backplane slot (shares the adapter's IP).
    Module,
    /// Stand-alone PLC with its own IP.
    Plc,
    Hmi,
    EngStation,
    Switch,
}

struct Model {
    vendor: &'static str,
    family: &'static str,
    model: &'static str,
    firmware: &'static str,
}

const ADAPTERS: [Model; 2] = [
    Model {
        vendor: "Rockwell",
        family: "1756 EN2T",
        model: "1756-EN2T/D",
        firmware: "11.002",
    },
    Model {
        vendor: "Siemens",
        family: "CP 443-1",
        model: "6GK7 443-1EX30-0XE0",
        firmware: "V3.2.17",
    },
];
const MODULES: [Model; 4] = [
    Model {
        vendor: "Rockwell",
        family: "ControlLogix 5560",
        model: "1756-L61/B LOGIX5561",
        firmware: "13.071",
    },
    Model {
        vendor: "Rockwell",
        family: "ControlLogix 5580",
        model: "1756-L83E/B",
        firmware: "32.011",
    },
    Model {
        vendor: "Siemens",
        family: "S7-400",
        model: "6ES7 416-3XR05-0AB0",
        firmware: "V6.0.3",
    },
    Model {
        vendor: "Siemens",
        family: "S7-400",
        model: "6ES7 414-3XM05-0AB0",
        firmware: "V6.0.1",
    },
];
const PLCS: [Model; 3] = [
    Model {
        vendor: "Schneider",
        family: "Modicon M580",
        model: "BMEP582040",
        firmware: "3.10",
    },
    Model {
        vendor: "Siemens",
        family: "S7-1500",
        model: "6ES7 515-2AM01-0AB0",
        firmware: "V2.8.3",
    },
    Model {
        vendor: "ABB",
        family: "AC500",
        model: "PM583-ETH",
        firmware: "2.8.6",
    },
];

fn mac(h: u64) -> String {
    let b = h.to_le_bytes();
    format!("00:1d:9c:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

impl OtData {
    /// The generated or file-backed data set.
    pub(crate) fn build(seed: u64, anchor_ms: i64, opts: &OtOptions) -> Result<OtData, String> {
        let files = [&opts.assets_file, &opts.plugins_file, &opts.events_file];
        if files.iter().any(|f| f.is_some()) {
            let mut d = OtData::default();
            if let Some(p) = &opts.assets_file {
                d.assets = load_nodes(p, "assets")?;
            }
            if let Some(p) = &opts.plugins_file {
                d.plugins = load_nodes(p, "plugins")?;
            }
            if let Some(p) = &opts.events_file {
                d.events = load_nodes(p, "events")?;
            }
            d.reindex();
            return Ok(d);
        }
        Ok(generate(seed, anchor_ms.saturating_mul(1000), opts.assets))
    }

    fn reindex(&mut self) {
        self.asset_index = self
            .assets
            .iter()
            .enumerate()
            .filter_map(|(i, a)| Some((a["id"].as_str()?.to_string(), i)))
            .collect();
        self.plugin_index = self
            .plugins
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((p["id"].as_i64()?, i)))
            .collect();
    }

    pub(crate) fn asset(&self, id: &str) -> Option<&Value> {
        self.asset_index.get(id).and_then(|i| self.assets.get(*i))
    }

    pub(crate) fn plugin(&self, id: i64) -> Option<&Value> {
        self.plugin_index
            .get(&id)
            .and_then(|i| self.plugins.get(*i))
    }

    /// Recomputes every derived field (plugin aggregates, asset plugin lists).
    fn derive(&mut self) {
        self.reindex();
        let mut per_plugin: BTreeMap<i64, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        let mut per_asset: HashMap<String, BTreeSet<i64>> = HashMap::new();
        for f in &self.findings {
            let (Some(a), Some(p)) = (f["asset"].as_str(), f["plugin"].as_i64()) else {
                continue;
            };
            let e = per_plugin.entry(p).or_default();
            if f["status"] == "Resolved" {
                e.1.insert(a.to_string());
            } else {
                e.0.insert(a.to_string());
                per_asset.entry(a.to_string()).or_default().insert(p);
            }
        }
        for p in &mut self.plugins {
            let id = p["id"].as_i64().unwrap_or_default();
            let (active, fixed) = per_plugin.remove(&id).unwrap_or_default();
            p["totalAffectedAssets"] = json!(active.len());
            p["totalFixedAssets"] = json!(fixed.len());
            p["affectedAssets"] = json!(active.into_iter().collect::<Vec<_>>());
        }
        for a in &mut self.assets {
            let id = a["id"].as_str().unwrap_or_default().to_string();
            let ps: Vec<i64> = per_asset
                .get(&id)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            a["plugins"] = json!(ps);
        }
    }

    pub(crate) fn truth(&self) -> OtTruth {
        let mut t = OtTruth::default();
        let mut by_ip: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut backplanes = BTreeSet::new();
        for a in &self.assets {
            let id = a["id"].as_str().unwrap_or_default().to_string();
            if is_true(&a["hidden"]) {
                t.hidden_asset_ids.push(id.clone());
            } else {
                t.asset_ids.push(id.clone());
                if let Some(u) = a["lastUpdate"].as_str()
                    && u > t.max_last_update.as_str()
                {
                    t.max_last_update = u.to_string();
                }
            }
            for ip in nodes(&a["ips"]) {
                if let Some(ip) = ip.as_str() {
                    by_ip.entry(ip.to_string()).or_default().insert(id.clone());
                }
            }
            if let Some(b) = a["backplane"]["id"].as_str() {
                backplanes.insert(b.to_string());
            }
        }
        for (n, a) in self.assets.iter().enumerate() {
            let id = a["id"].as_str().unwrap_or_default();
            let dev = self
                .it_devices
                .get(id)
                .map_or(OT_DEVICE_BASE + n as u64, |&k| u64::from(k));
            t.asset_devices.push((id.to_string(), dev));
        }
        t.asset_ids.sort();
        t.hidden_asset_ids.sort();
        t.assets = t.asset_ids.len() as u64;
        t.hidden_assets = t.hidden_asset_ids.len() as u64;
        t.shared_ips = by_ip
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|(ip, ids)| (ip, ids.into_iter().collect()))
            .collect();
        t.backplanes = backplanes.len() as u64;
        for f in &self.findings {
            t.finding_ids
                .push(f["id"].as_str().unwrap_or_default().to_string());
            if f["status"] == "Resolved" {
                t.resolved_findings += 1;
            } else {
                t.active_findings += 1;
            }
        }
        t.finding_ids.sort();
        t.findings = self.findings.len() as u64;
        for e in &self.events {
            t.event_ids
                .push(e["id"].as_str().unwrap_or_default().to_string());
            if is_true(&e["resolved"]) {
                t.resolved_events += 1;
            }
            if let Some(u) = e["time"].as_str()
                && u > t.max_event_time.as_str()
            {
                t.max_event_time = u.to_string();
            }
        }
        t.event_ids.sort();
        t.events = self.events.len() as u64;
        t.plugins = self.plugins.len() as u64;
        t
    }

    /// Deterministic changes at `now_us` (see [`OtMutation`]); file-backed sets are not
    /// changed.
    pub(crate) fn mutate(&mut self, seed: u64, counter: u64, n: usize, now_us: i64) -> OtMutation {
        let now = iso_us(now_us);
        let mut m = OtMutation {
            now: now.clone(),
            ..OtMutation::default()
        };
        if !self.generated || n == 0 {
            return m;
        }
        let mut r = rng_for(seed, "ot-mutate", counter);
        let visible: Vec<usize> = (0..self.assets.len())
            .filter(|i| !is_true(&self.assets[*i]["hidden"]))
            .collect();
        if visible.is_empty() {
            return m;
        }
        let k = n.min(visible.len());
        let start = r.random_range(0..visible.len());
        // A stride coprime with the count visits k distinct assets.
        let len = visible.len();
        let stride = [7usize, 11, 13, 17, 19, 23]
            .into_iter()
            .find(|s| gcd(*s, len) == 1)
            .unwrap_or(1);
        let changed: Vec<usize> = (0..k)
            .map(|j| visible[(start + j * stride) % len])
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let cat = catalog(seed);
        // New findings on every other changed asset, resolutions on every third.
        for (j, &ai) in changed.iter().enumerate() {
            let aid = self.assets[ai]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if j % 2 == 0 {
                let have: BTreeSet<i64> = self
                    .findings
                    .iter()
                    .filter(|f| f["asset"] == aid.as_str())
                    .filter_map(|f| f["plugin"].as_i64())
                    .collect();
                let vendor = self.assets[ai]["vendor"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let windows = self.assets[ai]["os"].is_string();
                if let Some(p) = cat
                    .iter()
                    .filter(|p| applies(p, &vendor, windows))
                    .find(|p| !have.contains(&p.id))
                {
                    let f = finding_record(&aid, p, now_us, now_us, "");
                    self.findings.push(f);
                    m.new_findings += 1;
                }
            }
            if j % 3 == 1
                && let Some(f) = self.findings.iter_mut().find(|f| {
                    f["asset"] == aid.as_str()
                        && f["status"] == "Active"
                        && f["lastHit"] != now.as_str()
                })
            {
                f["status"] = json!("Resolved");
                f["fixedAt"] = json!(now);
                m.resolved_findings += 1;
            }
        }
        // New events from the changed assets.
        let n_events = k.div_ceil(2);
        for j in 0..n_events {
            let src = changed[j % changed.len()];
            let dst = visible[r.random_range(0..visible.len())];
            let ev = self.event_record(seed, src, dst, now_us, self.next_log_id);
            self.next_log_id += 1;
            self.events.push(ev);
            m.new_events += 1;
        }
        // Resolve the oldest unresolved events.
        let n_resolve = k.div_ceil(4);
        for e in self
            .events
            .iter_mut()
            .filter(|e| !is_true(&e["resolved"]) && e["time"] != now.as_str())
            .take(n_resolve)
        {
            e["resolved"] = json!(true);
            e["resolvedTs"] = json!(now);
            e["resolvedUser"] = json!("admin");
            m.resolved_events += 1;
        }
        // The changed assets.
        for &ai in &changed {
            let a = &mut self.assets[ai];
            a["lastSeen"] = json!(now);
            a["lastUpdate"] = json!(now);
            a["lastHit"] = json!(now);
            m.changed_asset_ids
                .push(a["id"].as_str().unwrap_or_default().to_string());
        }
        m.changed_asset_ids.sort();
        m.changed_assets = m.changed_asset_ids.len() as u64;
        // One new stand-alone PLC with one finding.
        let idx = self.next_asset;
        self.next_asset += 1;
        let ip = format!("10.100.250.{}", 10 + (idx % 240));
        let mut a = device(seed, idx, Kind::Plc, &ip, None, None, now_us, 0, 0, None);
        a["firstSeen"] = json!(now);
        a["lastSeen"] = json!(now);
        a["lastUpdate"] = json!(now);
        a["lastHit"] = json!(now);
        a["hidden"] = json!(false);
        a["details"]["hidden"] = json!(false);
        let aid = a["id"].as_str().unwrap_or_default().to_string();
        let vendor = a["vendor"].as_str().unwrap_or_default().to_string();
        self.assets.push(a);
        m.new_asset_ids.push(aid.clone());
        m.new_assets = 1;
        if let Some(p) = cat.iter().find(|p| applies(p, &vendor, false)) {
            self.findings
                .push(finding_record(&aid, p, now_us, now_us, ""));
            m.new_findings += 1;
        }
        self.derive();
        m
    }

    fn event_record(&self, seed: u64, src: usize, dst: usize, time_us: i64, log_id: i64) -> Value {
        let h = mix(&[seed, label("ot-event"), log_id as u64]);
        let mut r = rng_for(seed, "ot-event", log_id as u64);
        let t = &EVENT_TYPES[r.random_range(0..EVENT_TYPES.len())];
        let s = &self.assets[src];
        let d = &self.assets[dst];
        let sip = nodes(&s["ips"]).first().cloned().unwrap_or(Value::Null);
        let dip = nodes(&d["ips"]).first().cloned().unwrap_or(Value::Null);
        let smac = nodes(&s["macs"]).first().cloned().unwrap_or(Value::Null);
        let dmac = nodes(&d["macs"]).first().cloned().unwrap_or(Value::Null);
        let id = uuid_from(h).to_string();
        let one_sided = t.kind == "OpenPort" || t.kind == "InactiveAssetOneHour";
        let policy_id = uuid_from(mix(&[seed, label("ot-policy"), t.policy_index])).to_string();
        let ev_type = json!({
            "type": t.kind, "group": t.group, "description": t.description, "schema": t.schema,
            "category": t.category, "family": null, "canCapture": t.schema == "NetworkSchema",
            "actions": ["Email", "Syslog"], "exclusion": t.kind
        });
        json!({
            "id": id,
            "eventType": ev_type,
            "srcIP": sip,
            "dstIP": if one_sided { Value::Null } else { dip },
            "srcMac": smac,
            "dstMac": if one_sided { Value::Null } else { dmac },
            "protocolRaw": t.protocol_raw,
            "policy": {
                "id": policy_id,
                "index": t.policy_index,
                "title": t.policy,
                "level": t.severity,
                "disabled": false,
                "archived": false,
                "schema": t.schema,
                "continuous": false,
                "snapshot": false,
                "system": true,
                "key": format!("P3-{}", t.policy_index % 50),
                "eventTypeDetails": ev_type,
                "disableAfterHit": false,
                "actions": {"nodes": []},
                "paused": false,
                "srcAssetGroup": [],
                "dstAssetGroup": [],
                "schedule": null,
                "protocolGroup": null,
                "portGroup": null,
                "tagGroup": null,
                "valueGroup": null,
                "ruleGroup": null,
                "exclusions": {"nodes": []},
                "aggregatedEventsCount": {"last24h": 0, "last7d": 0, "last30d": 0}
            },
            "time": iso_us(time_us),
            "completion": "CompletionUnknown",
            "protocolNiceName": t.protocol_nice,
            "resolved": false,
            "resolvedTs": null,
            "resolvedUser": null,
            "hitId": id,
            "severity": t.severity,
            "category": t.category,
            "comment": null,
            "logId": log_id,
            "type": t.kind,
            "srcAssets": [s["id"].clone()],
            "dstAssets": if one_sided { json!([]) } else { json!([d["id"].clone()]) },
            "srcInterface": null,
            "dstInterface": null,
            "srcNames": {"nodes": [s["name"].clone()]},
            "dstNames": {"nodes": if one_sided { json!([]) } else { json!([d["name"].clone()]) }},
            "hasDetails": t.schema == "NetworkSchema",
            "payloadSize": if t.schema == "NetworkSchema" { r.random_range(60..1500) } else { 0 },
            "protocol": t.protocol,
            "port": t.port,
            "continuous": false
        })
    }
}

struct EventType {
    kind: &'static str,
    group: &'static str,
    description: &'static str,
    schema: &'static str,
    category: &'static str,
    policy: &'static str,
    policy_index: u64,
    severity: &'static str,
    protocol_raw: &'static str,
    protocol_nice: Option<&'static str>,
    protocol: Option<&'static str>,
    port: Option<i64>,
}

const EVENT_TYPES: [EventType; 5] = [
    EventType {
        kind: "OpenPort",
        group: "PortEvent",
        description: "Open Port",
        schema: "PortSchema",
        category: "NetworkEvents",
        policy: "Use of Unauthorized Port in Rockwell Controllers",
        policy_index: 199,
        severity: "Medium",
        protocol_raw: "TCP",
        protocol_nice: None,
        protocol: Some("sip (tcp/5060)"),
        port: Some(5060),
    },
    EventType {
        kind: "Conversation",
        group: "NetworkEvent",
        description: "Unauthorized Conversation",
        schema: "NetworkSchema",
        category: "NetworkEvents",
        policy: "Communication from External Network",
        policy_index: 176,
        severity: "Medium",
        protocol_raw: "BROWSER",
        protocol_nice: Some("BROWSER"),
        protocol: Some("browser (udp/138)"),
        port: Some(138),
    },
    EventType {
        kind: "InactiveAssetOneHour",
        group: "AssetEvent",
        description: "Asset Not Seen for One Hour",
        schema: "AssetSchema",
        category: "ConfigurationEvents",
        policy: "Controller Not Seen for One Hour",
        policy_index: 88,
        severity: "Low",
        protocol_raw: "UNKNOWN",
        protocol_nice: None,
        protocol: None,
        port: None,
    },
    EventType {
        kind: "CodeDownload",
        group: "ControllerEvent",
        description: "Code Download",
        schema: "ControllerSchema",
        category: "ConfigurationEvents",
        policy: "Rockwell Code Download",
        policy_index: 31,
        severity: "High",
        protocol_raw: "CIP",
        protocol_nice: Some("CIP"),
        protocol: Some("ethernet-ip (tcp/44818)"),
        port: Some(44818),
    },
    EventType {
        kind: "PortScan",
        group: "ThreatEvent",
        description: "Port Scan",
        schema: "NetworkSchema",
        category: "NetworkThreats",
        policy: "SCADA Port Scan",
        policy_index: 240,
        severity: "High",
        protocol_raw: "TCP",
        protocol_nice: None,
        protocol: None,
        port: None,
    },
];

fn applies(p: &PluginDef, vendor: &str, windows: bool) -> bool {
    if windows {
        p.vendor.is_empty() || (p.source == "NNM" && p.vendor == "*")
    } else {
        p.vendor == vendor || (p.vendor == "*" && !vendor.is_empty())
    }
}

fn finding_record(
    asset_id: &str,
    p: &PluginDef,
    first_us: i64,
    last_us: i64,
    fixed: &str,
) -> Value {
    let key = format!("{asset_id}|{}|{}|TCP", p.id, p.port);
    let id = super::tls::sha256_hex(key.as_bytes());
    json!({
        "id": id,
        "asset": asset_id,
        "plugin": p.id,
        "port": p.port,
        "protocol": "TCP",
        "svcName": p.svc,
        "firstHit": iso_us(first_us),
        "lastHit": iso_us(last_us),
        "fixedAt": if fixed.is_empty() { Value::Null } else { json!(fixed) },
        "status": if fixed.is_empty() { "Active" } else { "Resolved" },
        "output": format!("\n{} was detected on port {}/tcp ({}).\n", p.name, p.port, p.svc),
    })
}

#[allow(clippy::too_many_arguments)]
fn device(
    seed: u64,
    idx: u64,
    kind: Kind,
    ip: &str,
    backplane: Option<(&str, &str, i64)>,
    slot: Option<i64>,
    anchor_us: i64,
    site: usize,
    model_pick: usize,
    it: Option<&Device>,
) -> Value {
    let h = mix(&[seed, label("ot-asset"), idx]);
    let mut r = rng_for(seed, "ot-asset", idx);
    let id = uuid_from(h).to_string();
    let (ty, super_ty, category, level, m): (&str, &str, &str, &str, Option<&Model>) = match kind {
        Kind::Adapter => (
            "Cp",
            "Controller",
            "ControllersCategory",
            "Level1",
            Some(&ADAPTERS[model_pick % ADAPTERS.len()]),
        ),
        Kind::Module => (
            "Plc",
            "Controller",
            "ControllersCategory",
            "Level1",
            Some(&MODULES[model_pick % MODULES.len()]),
        ),
        Kind::Plc => (
            "Plc",
            "Controller",
            "ControllersCategory",
            "Level1",
            Some(&PLCS[model_pick % PLCS.len()]),
        ),
        Kind::Hmi => ("Hmi", "Server", "OtServersCategory", "Level2", None),
        Kind::EngStation => (
            "EngineeringStation",
            "Server",
            "OtServersCategory",
            "Level2",
            None,
        ),
        Kind::Switch => (
            "NetworkSwitch",
            "NetworkAsset",
            "NetworkAssetsCategory",
            "Level3",
            None,
        ),
    };
    let name = match kind {
        Kind::Adapter => format!("Comm. Adapter #{idx}"),
        Kind::Module | Kind::Plc => format!("PLC #{idx}"),
        Kind::Hmi => format!("HMI #{idx}"),
        // OT names a workstation by the NetBIOS name it sees in its traffic.
        Kind::EngStation => it.map_or_else(
            || format!("Eng. Station #{idx}"),
            |d| {
                d.netbios
                    .clone()
                    .unwrap_or_else(|| d.hostname.to_uppercase())
            },
        ),
        Kind::Switch => format!("Switch #{idx}"),
    };
    let (vendor, family, model, firmware) = match (kind, m) {
        (_, Some(m)) => (m.vendor, m.family, m.model, m.firmware),
        (Kind::Switch, _) => ("Siemens", "SCALANCE X400", "6GK5 416-4GS00-2AM2", "V5.2.6"),
        (Kind::Hmi, _) => ("Dell", "OptiPlex", "OptiPlex 7090", ""),
        _ => ("Dell", "Precision", "Precision 3660", ""),
    };
    let os: Option<&str> = match kind {
        Kind::Hmi => Some("Windows 10 IoT Enterprise"),
        Kind::EngStation => Some("Windows Server 2019"),
        _ => None,
    };
    let own_mac = kind != Kind::Module;
    let mac = own_mac.then(|| {
        it.and_then(|d| d.macs.first())
            .map_or_else(|| mac(h), |m| mac_string(m, false))
    });
    let first = anchor_us
        - i64::from(r.random_range(30..300_u32)) * DAY_US
        - i64::from(r.random_range(0..86_400_000_u32)) * 1000;
    let end = anchor_us - 2 * DAY_US;
    let last = first + r.random_range(0..(end - first).max(1));
    let update = (last + r.random_range(0..HOUR_US)).min(end);
    let hidden = r.random_range(0..100) < 5;
    let criticality = match kind {
        Kind::Module | Kind::Plc | Kind::Adapter => "HighCriticality",
        Kind::EngStation => "MediumCriticality",
        Kind::Hmi => "MediumCriticality",
        Kind::Switch => "LowCriticality",
    };
    let risk = f64::from(r.random_range(0..10_000_u32)) / 100.0 + r.random::<f64>() / 100.0;
    let serial = (m.is_some()).then(|| format!("{:06X}", h & 0xFF_FFFF));
    let ips = json!({"nodes": [ip]});
    let direct = !matches!(kind, Kind::Module);
    let subnet = {
        let mut p: Vec<&str> = ip.split('.').collect();
        p.pop();
        format!("{}.X", p.join("."))
    };
    let seg_type = match super_ty {
        "Controller" => "Controller",
        "Server" => "OtServer",
        _ => "NetworkAsset",
    };
    let seg_id = uuid_from(mix(&[
        seed,
        label("ot-segment"),
        site as u64,
        label(seg_type),
    ]))
    .to_string();
    let segment = json!({
        "id": seg_id,
        "name": format!("{seg_type} / {subnet}"),
        "type": "Segment",
        "key": format!("AG{}-{}", site + 1, label(seg_type) % 20),
        "systemName": format!("{seg_type} / {subnet}"),
        "vlan": null,
        "description": null,
        "assetType": seg_type,
        "subnet": subnet,
    });
    let os_details = os.map(|o| {
        json!({"name": o, "architecture": "x64", "version": "10.0.17763",
               "hotFixes": {"nodes": [{"name": "KB5005568", "installDate": iso_us(first), "description": "Security Update"}]}})
    });
    let details = json!({
        "id": id,
        "name": name,
        "firstSeen": iso_us(first),
        "lastSeen": iso_us(last),
        "macs": mac.iter().collect::<Vec<_>>(),
        "ips": [ip],
        "type": ty,
        "superType": super_ty,
        "category": category,
        "purdueLevel": level,
        "vendor": vendor,
        "runStatus": "Unknown",
        "runStatusTime": ZERO_TIME,
        "family": family,
        "modelName": model,
        "firmwareVersion": firmware,
        "serial": serial,
        "slot": slot,
        "backplane": backplane.map(|b| b.0),
        "backplaneName": backplane.map(|b| b.1),
        "risk": risk,
        "criticality": criticality,
        "hidden": hidden,
        "lastUpdate": iso_us(update),
        "names": [{"id": id, "source": "Default", "value": name}],
        "directIps": if direct { json!([ip]) } else { Value::Null },
        "directMacs": if direct { json!(mac.iter().collect::<Vec<_>>()) } else { Value::Null },
        "additionalIp": if direct { Value::Null } else { json!(ip) },
        "state": "Unknown",
    });
    let mut rec = Map::new();
    let mut put = |k: &str, v: Value| {
        rec.insert(k.to_string(), v);
    };
    put("id", json!(id));
    put("name", json!(name));
    put("type", json!(ty));
    put("superType", json!(super_ty));
    put("category", json!(category));
    put("purdueLevel", json!(level));
    put("criticality", json!(criticality));
    put("risk", json!({"totalRisk": risk, "unresolvedEvents": 0}));
    put("vendor", json!(vendor));
    put("family", json!(family));
    put("model", json!(model));
    put(
        "firmwareVersion",
        if firmware.is_empty() {
            Value::Null
        } else {
            json!(firmware)
        },
    );
    put("serial", json!(serial));
    put("slot", json!(slot));
    put(
        "backplane",
        backplane.map_or(
            Value::Null,
            |(bid, bname, size)| json!({"id": bid, "name": bname, "size": size}),
        ),
    );
    put("os", json!(os));
    put("osDetails", os_details.unwrap_or(Value::Null));
    put("ips", ips);
    put("macs", json!({"nodes": mac.iter().collect::<Vec<_>>()}));
    put(
        "directIps",
        json!({"nodes": if direct { vec![ip.to_string()] } else { vec![] }}),
    );
    put(
        "directMacs",
        json!({"nodes": if direct { mac.iter().cloned().collect::<Vec<_>>() } else { vec![] }}),
    );
    put("firstSeen", json!(iso_us(first)));
    put("lastSeen", json!(iso_us(last)));
    put("lastHit", json!(iso_us(last)));
    put("lastSnapshot", Value::Null);
    put("lastUpdate", json!(iso_us(update)));
    put("runStatus", json!("Unknown"));
    put("runStatusTime", json!(ZERO_TIME));
    put("hidden", json!(hidden));
    put("location", Value::Null);
    put("description", Value::Null);
    for i in 1..=10 {
        put(&format!("customField{i}"), Value::Null);
    }
    put("segments", json!({"nodes": [segment]}));
    put("revisions", json!({"nodes": []}));
    put("plugins", json!([]));
    put("details", details);
    Value::Object(rec)
}

/// Engineering stations are IT devices too: the `n`-th one is a Windows device among the first
/// [`SHARED_IT_DEVICES`] of the shared device model (present in any VM or SC data set of at
/// least that many assets), each used once; `None` once they are all taken.
fn shared_it_device(seed: u64, used: &mut BTreeSet<u32>) -> Option<Device> {
    let start = (used.len() as u32 * 11) % SHARED_IT_DEVICES;
    (0..SHARED_IT_DEVICES)
        .map(|k| (start + k) % SHARED_IT_DEVICES)
        .filter(|k| !used.contains(k))
        .map(|k| Device::generate(seed, k))
        .find(|dv| dv.os.family == OsFamily::Windows)
        .inspect(|dv| {
            used.insert(dv.idx);
        })
}

/// How many devices of the shared model OT engineering stations are drawn from.
pub(crate) const SHARED_IT_DEVICES: u32 = 64;

/// Device numbers of OT-only assets start here (far above any IT device index).
const OT_DEVICE_BASE: u64 = 1 << 40;

fn generate(seed: u64, anchor_us: i64, count: usize) -> OtData {
    let mut d = OtData {
        generated: true,
        ..OtData::default()
    };
    let cat = catalog(seed);
    d.plugins = cat
        .iter()
        .map(|p| plugin_record(p, seed, anchor_us))
        .collect();
    let mut idx: u64 = 0;
    let mut site = 0usize;
    let mut host = 10u32;
    let mut step = 0usize;
    let mut r = rng_for(seed, "ot-layout", 0);
    let mut backplane_no = 1u32;
    let mut it_used = BTreeSet::new();
    while d.assets.len() < count {
        if host > 240 {
            site += 1;
            host = 10;
        }
        // 150 sites per second octet: 10.100.100.0/24 … 10.100.249.0/24, 10.101.100.0/24 …
        let ip = format!(
            "10.{}.{}.{}",
            100 + (site / 150) % 150,
            100 + site % 150,
            host
        );
        host += 1;
        match step % 8 {
            // A rack: adapter + 2–4 modules on one backplane, all on the adapter's IP.
            0 | 3 | 6 => {
                let bid = uuid_from(mix(&[seed, label("ot-backplane"), u64::from(backplane_no)]))
                    .to_string();
                let bname = format!("Backplane #{backplane_no}");
                backplane_no += 1;
                let modules = r.random_range(2..=4_usize);
                let size = (modules + 1) as i64;
                let pick = r.random_range(0..2_usize);
                let b = Some((bid.as_str(), bname.as_str(), size));
                d.assets.push(device(
                    seed,
                    idx,
                    Kind::Adapter,
                    &ip,
                    b,
                    Some(0),
                    anchor_us,
                    site,
                    pick,
                    None,
                ));
                idx += 1;
                for s in 0..modules {
                    if d.assets.len() >= count {
                        break;
                    }
                    // Siemens modules behind Siemens adapters, Rockwell behind Rockwell.
                    let m = pick * 2 + (s % 2);
                    d.assets.push(device(
                        seed,
                        idx,
                        Kind::Module,
                        &ip,
                        b,
                        Some(s as i64 + 1),
                        anchor_us,
                        site,
                        m,
                        None,
                    ));
                    idx += 1;
                }
            }
            1 | 4 => {
                let k = if step % 8 == 1 { Kind::Hmi } else { Kind::Plc };
                let pick = r.random_range(0..3_usize);
                d.assets.push(device(
                    seed, idx, k, &ip, None, None, anchor_us, site, pick, None,
                ));
                idx += 1;
            }
            2 | 5 => {
                let pick = r.random_range(0..3_usize);
                d.assets.push(device(
                    seed,
                    idx,
                    Kind::Plc,
                    &ip,
                    None,
                    None,
                    anchor_us,
                    site,
                    pick,
                    None,
                ));
                idx += 1;
            }
            _ => {
                let k = if step % 16 == 7 {
                    Kind::EngStation
                } else {
                    Kind::Switch
                };
                let it = (k == Kind::EngStation)
                    .then(|| shared_it_device(seed, &mut it_used))
                    .flatten();
                let ip = it.as_ref().map_or(ip, |dv| {
                    let [a, b, c, e] = dv.ipv4;
                    format!("{a}.{b}.{c}.{e}")
                });
                let a = device(
                    seed,
                    idx,
                    k,
                    &ip,
                    None,
                    None,
                    anchor_us,
                    site,
                    0,
                    it.as_ref(),
                );
                if let Some(dv) = &it {
                    d.it_devices
                        .insert(a["id"].as_str().unwrap_or_default().to_string(), dv.idx);
                }
                d.assets.push(a);
                idx += 1;
            }
        }
        step += 1;
    }
    d.next_asset = 100_000;
    // Findings: visible assets only, 0–5 applicable plugins each.
    for a in &d.assets {
        if is_true(&a["hidden"]) {
            continue;
        }
        let aid = a["id"].as_str().unwrap_or_default();
        let vendor = a["vendor"].as_str().unwrap_or_default();
        let windows = a["os"].is_string();
        let mut fr = rng_for(seed, "ot-findings", label(aid));
        let applicable: Vec<&PluginDef> =
            cat.iter().filter(|p| applies(p, vendor, windows)).collect();
        let n = fr.random_range(0..=5_usize).min(applicable.len());
        let first_seen = a["firstSeen"]
            .as_str()
            .and_then(crate::util::parse_iso_ms)
            .unwrap_or(0)
            * 1000;
        let last_seen = a["lastSeen"]
            .as_str()
            .and_then(crate::util::parse_iso_ms)
            .unwrap_or(0)
            * 1000;
        let offset = fr.random_range(0..applicable.len().max(1));
        for j in 0..n {
            let p = applicable[(offset + j) % applicable.len()];
            let first = first_seen + fr.random_range(0..(last_seen - first_seen).max(1) / 2);
            let last = first + fr.random_range(0..(last_seen - first).max(1));
            let fixed = if fr.random_range(0..100) < 20 {
                iso_us((last + HOUR_US).min(anchor_us - 2 * DAY_US))
            } else {
                String::new()
            };
            d.findings.push(finding_record(aid, p, first, last, &fixed));
        }
    }
    // Events: about two per asset, logId increasing with time.
    let n_events = count * 2;
    let mut times: Vec<i64> = (0..n_events)
        .map(|i| {
            let mut er = rng_for(seed, "ot-event-time", i as u64);
            anchor_us - 2 * DAY_US - er.random_range(0..58 * DAY_US)
        })
        .collect();
    times.sort_unstable();
    d.next_log_id = 1000;
    let n_assets = d.assets.len();
    for (i, t) in times.into_iter().enumerate() {
        if n_assets == 0 {
            break;
        }
        let mut er = rng_for(seed, "ot-event-pair", i as u64);
        let src = er.random_range(0..n_assets);
        let dst = er.random_range(0..n_assets);
        let mut ev = d.event_record(seed, src, dst, t, d.next_log_id);
        d.next_log_id += 1;
        if er.random_range(0..100) < 30 {
            ev["resolved"] = json!(true);
            ev["resolvedTs"] = json!(iso_us(t + HOUR_US));
            ev["resolvedUser"] = json!("admin");
        }
        d.events.push(ev);
    }
    // risk.unresolvedEvents from the events.
    let mut unresolved: HashMap<String, i64> = HashMap::new();
    for e in &d.events {
        if is_true(&e["resolved"]) {
            continue;
        }
        for a in e["srcAssets"].as_array().into_iter().flatten() {
            if let Some(a) = a.as_str() {
                *unresolved.entry(a.to_string()).or_default() += 1;
            }
        }
    }
    for a in &mut d.assets {
        let id = a["id"].as_str().unwrap_or_default().to_string();
        a["risk"]["unresolvedEvents"] = json!(unresolved.get(&id).copied().unwrap_or(0));
    }
    d.derive();
    d
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `true` for JSON `true` (and the strings `"true"` some mocks send).
pub(crate) fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The items of a connection-ish value: `{nodes: [...]}`, `{edges: [{node}]}` or `[...]`.
pub(crate) fn nodes(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => {
            if let Some(Value::Array(a)) = o.get("nodes") {
                a.clone()
            } else if let Some(Value::Array(e)) = o.get("edges") {
                e.iter().map(|x| x["node"].clone()).collect()
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    }
}

/// Nodes of `data.<root>` from a recorded GraphQL response, or a bare array of nodes.
fn load_nodes(path: &Path, root: &str) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let conn = match &v {
        Value::Array(_) => return Ok(v.as_array().cloned().unwrap_or_default()),
        Value::Object(o) if o.contains_key("data") => &v["data"][root],
        // A fixture wrapper ({"method","path","response"}).
        Value::Object(o) if o.contains_key("response") => &v["response"]["data"][root],
        _ => &Value::Null,
    };
    if conn.is_null() {
        return Err(format!(
            "{}: no `data.{root}` connection (nodes or edges) found",
            path.display()
        ));
    }
    let mut out = nodes(conn);
    out.retain(Value::is_object);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_set_has_racks_hidden_assets_and_refs() {
        let d = generate(7, 1_700_000_000_000_000, 200);
        assert_eq!(d.assets.len(), 200);
        let t = d.truth();
        assert!(t.hidden_assets > 0 && t.assets + t.hidden_assets == 200);
        assert!(!t.shared_ips.is_empty() && t.backplanes > 5);
        assert!(t.findings > 100 && t.events == 400 && t.plugins > 30);
        for f in &d.findings {
            let a = d
                .asset(f["asset"].as_str().expect("asset id"))
                .expect("asset");
            assert!(!is_true(&a["hidden"]));
            assert!(d.plugin(f["plugin"].as_i64().expect("plugin id")).is_some());
            assert_eq!(f["id"].as_str().expect("id").len(), 64);
        }
        let again = generate(7, 1_700_000_000_000_000, 200);
        assert_eq!(again.truth(), t);
    }
}
