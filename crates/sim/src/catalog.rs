//! A seeded catalog of a few hundred Nessus-style plugins with realistic text.
//!
//! Every plugin's JSON object (as it appears under `plugin` in a VM finding) is rendered
//! once here; findings only refer to plugins by index, and chunk rendering copies the
//! pre-rendered bytes. Plugin output is a pre-escaped template with a few per-finding
//! placeholders (IP, host name, port, …).

use std::collections::HashSet;

use rand::Rng;
use rand::rngs::SmallRng;
use serde::Serialize;

use crate::devices::{Device, OsFamily, Proto, Service, default_service, mac_string};
use crate::util::{iso_s, json_escaped, push_u64, rng_for};

/// Which devices a plugin applies to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Applies {
    /// Bit mask over [`OsFamily`] (see [`fam_bit`]).
    Families(u8),
    /// Only devices whose OS name starts with this prefix.
    OsPrefix(&'static str),
}

pub(crate) const fn fam_bit(f: OsFamily) -> u8 {
    match f {
        OsFamily::Windows => 1,
        OsFamily::Ubuntu => 2,
        OsFamily::Rhel => 4,
        OsFamily::Debian => 8,
        OsFamily::Network => 16,
        OsFamily::Esxi => 32,
        OsFamily::Mac => 64,
    }
}

const ALL: u8 = 127;
const WIN: u8 = 1;
const LINUX: u8 = 2 | 4 | 8;
const NET: u8 = 16;
const ESX: u8 = 32;
const MAC: u8 = 64;
const SSH_HOSTS: u8 = LINUX | NET | ESX | MAC;
const WEB_HOSTS: u8 = ALL;

impl Applies {
    pub(crate) fn matches(self, d: &Device) -> bool {
        match self {
            Applies::Families(m) => m & fam_bit(d.os.family) != 0,
            Applies::OsPrefix(p) => d.os.name.starts_with(p),
        }
    }
}

/// Where a plugin reports its finding.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PortRule {
    /// Host-level (port 0) with this protocol.
    Host(Proto),
    /// On the device's port for this service (or its default port).
    Service(&'static str),
    /// On up to three of the device's open ports (one finding per port).
    AnyService,
}

/// One piece of a pre-escaped output template.
#[derive(Clone, Debug)]
pub(crate) enum Piece {
    Lit(Box<[u8]>),
    Ip,
    Host,
    Fqdn,
    Port,
    Svc,
    Os,
    DevType,
    Mac,
    /// A small number varying per finding and line.
    Num,
}

/// Plugin output: `head`, then a per-finding number of `lines` (rotating), then `tail`.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutputTpl {
    head: Vec<Piece>,
    lines: Vec<Vec<Piece>>,
    min: u32,
    max: u32,
    tail: Vec<Piece>,
}

fn parse_tpl(s: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + len];
        let piece = match name {
            "ip" => Some(Piece::Ip),
            "host" => Some(Piece::Host),
            "fqdn" => Some(Piece::Fqdn),
            "port" => Some(Piece::Port),
            "svc" => Some(Piece::Svc),
            "os" => Some(Piece::Os),
            "devtype" => Some(Piece::DevType),
            "mac" => Some(Piece::Mac),
            "n" => Some(Piece::Num),
            _ => None,
        };
        match piece {
            Some(p) => {
                if start > 0 {
                    out.push(Piece::Lit(json_escaped(&rest[..start]).into()));
                }
                out.push(p);
                rest = &rest[start + len + 1..];
            }
            None => {
                out.push(Piece::Lit(json_escaped(&rest[..start + len + 1]).into()));
                rest = &rest[start + len + 1..];
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Lit(json_escaped(rest).into()));
    }
    out
}

impl OutputTpl {
    fn new(head: &str, lines: &[String], min: u32, max: u32, tail: &str) -> OutputTpl {
        OutputTpl {
            head: parse_tpl(head),
            lines: lines.iter().map(|l| parse_tpl(l)).collect(),
            min,
            max: max.max(min),
            tail: parse_tpl(tail),
        }
    }

    fn simple(text: &str) -> OutputTpl {
        OutputTpl::new(text, &[], 0, 0, "")
    }
}

/// Per-finding values substituted into output templates.
pub(crate) struct OutCtx<'a> {
    pub ip: &'a str,
    pub host: &'a str,
    pub fqdn: &'a str,
    pub port: u16,
    pub svc: &'a str,
    pub os: &'a str,
    pub devtype: &'a str,
    pub mac: &'a str,
    pub var: u32,
}

fn push_pieces(out: &mut Vec<u8>, pieces: &[Piece], cx: &OutCtx<'_>, salt: u32) {
    for p in pieces {
        match p {
            Piece::Lit(b) => out.extend_from_slice(b),
            Piece::Ip => out.extend_from_slice(cx.ip.as_bytes()),
            Piece::Host => out.extend_from_slice(cx.host.as_bytes()),
            Piece::Fqdn => out.extend_from_slice(cx.fqdn.as_bytes()),
            Piece::Port => push_u64(out, u64::from(cx.port)),
            Piece::Svc => out.extend_from_slice(cx.svc.as_bytes()),
            Piece::Os => out.extend_from_slice(&json_escaped(cx.os)),
            Piece::DevType => out.extend_from_slice(cx.devtype.as_bytes()),
            Piece::Mac => out.extend_from_slice(cx.mac.as_bytes()),
            Piece::Num => {
                let v = cx
                    .var
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(salt.wrapping_mul(40_503));
                push_u64(out, u64::from(v % 97 + 2));
            }
        }
    }
}

impl OutputTpl {
    /// Appends the JSON-escaped output text (without quotes).
    pub(crate) fn render(&self, out: &mut Vec<u8>, cx: &OutCtx<'_>) {
        push_pieces(out, &self.head, cx, 0);
        if !self.lines.is_empty() {
            let span = self.max - self.min + 1;
            let count = self.min + cx.var % span;
            let start = (cx.var >> 8) as usize;
            for i in 0..count as usize {
                let line = &self.lines[(start + i) % self.lines.len()];
                push_pieces(out, line, cx, i as u32 + 1);
            }
        }
        push_pieces(out, &self.tail, cx, 99);
    }
}

/// One plugin of the catalog. `name`, `family` and `cves` are not needed by the VM
/// renderer (it copies `json`) but describe the plugin for the other products.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) struct Plugin {
    pub id: u32,
    pub name: String,
    pub family: &'static str,
    /// Default severity id 0..=4.
    pub severity: u8,
    pub applies: Applies,
    pub port: PortRule,
    pub cves: Vec<String>,
    /// Pre-rendered JSON object for the `plugin` attribute of a finding.
    pub json: Box<[u8]>,
    pub output: Option<OutputTpl>,
}

impl Plugin {
    /// The ports this plugin reports on for a device (at least one).
    pub(crate) fn ports(&self, d: &Device, var: u64, max: usize) -> Vec<Service> {
        match self.port {
            PortRule::Host(p) => vec![Service {
                port: 0,
                proto: p,
                name: "",
            }],
            PortRule::Service(name) => {
                vec![d.service(name).unwrap_or_else(|| default_service(name))]
            }
            PortRule::AnyService => {
                if d.services.is_empty() {
                    return vec![Service {
                        port: 0,
                        proto: Proto::Tcp,
                        name: "",
                    }];
                }
                let n = d.services.len().min(max).max(1);
                let start = (var % d.services.len() as u64) as usize;
                let mut v: Vec<Service> = (0..n)
                    .map(|i| d.services[(start + i) % d.services.len()])
                    .collect();
                v.sort_by_key(|s| (s.port, s.proto));
                v.dedup_by_key(|s| (s.port, s.proto));
                v
            }
        }
    }
}

/// The plugin catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub plugins: Vec<Plugin>,
}

impl Catalog {
    /// Indices of the plugins applicable to a device.
    pub(crate) fn pool_for(&self, d: &Device) -> Vec<u16> {
        self.plugins
            .iter()
            .enumerate()
            .filter(|(_, p)| p.applies.matches(d))
            .map(|(i, _)| i as u16)
            .collect()
    }

    /// Builds the catalog for a seed.
    pub(crate) fn generate(seed: u64) -> Catalog {
        let mut b = Builder {
            seed,
            plugins: Vec::new(),
            ids: HashSet::new(),
        };
        b.info_plugins();
        b.config_vulns();
        b.distro(OsFamily::Ubuntu, 34);
        b.distro(OsFamily::Rhel, 34);
        b.distro(OsFamily::Debian, 26);
        b.windows_kbs(30);
        b.apps();
        Catalog { plugins: b.plugins }
    }
}

// ---------------------------------------------------------------------------------------
// JSON model of a plugin
// ---------------------------------------------------------------------------------------

#[derive(Serialize, Clone)]
struct Cvss2Vector {
    access_complexity: &'static str,
    access_vector: &'static str,
    authentication: &'static str,
    availability_impact: &'static str,
    confidentiality_impact: &'static str,
    integrity_impact: &'static str,
    raw: &'static str,
}

#[derive(Serialize, Clone)]
struct Cvss3Vector {
    access_complexity: &'static str,
    access_vector: &'static str,
    availability_impact: &'static str,
    confidentiality_impact: &'static str,
    integrity_impact: &'static str,
    raw: &'static str,
}

#[derive(Serialize, Clone)]
struct TemporalVector {
    exploitability: &'static str,
    remediation_level: &'static str,
    report_confidence: &'static str,
    raw: &'static str,
}

#[derive(Serialize, Clone)]
struct Cvss4Vector {
    attack_vector: &'static str,
    attack_complexity: &'static str,
    attack_requirements: &'static str,
    privileges_required: &'static str,
    user_interaction: &'static str,
    vulnerable_system_confidentiality: &'static str,
    vulnerable_system_integrity: &'static str,
    vulnerable_system_availability: &'static str,
    subsequent_system_confidentiality: &'static str,
    subsequent_system_integrity: &'static str,
    subsequent_system_availability: &'static str,
    raw: &'static str,
}

#[derive(Serialize, Clone)]
struct Cvss4Threat {
    threat_score: f64,
    exploit_maturity: &'static str,
    raw: &'static str,
}

#[derive(Serialize, Clone)]
struct Bound {
    lower_bound: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    upper_bound: Option<u32>,
}

#[derive(Serialize, Clone)]
struct VprDrivers {
    age_of_vuln: Bound,
    exploit_code_maturity: &'static str,
    cvss_impact_score_predicted: bool,
    cvss3_impact_score: f64,
    threat_intensity_last28: &'static str,
    threat_recency: Bound,
    threat_sources_last28: Vec<&'static str>,
    product_coverage: &'static str,
}

#[derive(Serialize, Clone)]
struct Vpr {
    score: f64,
    drivers: VprDrivers,
    updated: String,
}

#[derive(Serialize, Clone)]
struct Xref {
    #[serde(rename = "type")]
    kind: &'static str,
    id: String,
}

#[derive(Serialize, Default)]
struct PluginJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    bid: Option<Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    canvas_package: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks_for_default_account: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    checks_for_malware: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpe: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cve: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss3_base_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss3_temporal_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss3_temporal_vector: Option<TemporalVector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss3_vector: Option<Cvss3Vector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss4_base_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss4_threat_vector: Option<Cvss4Threat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss4_vector: Option<Cvss4Vector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_base_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_temporal_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_temporal_vector: Option<TemporalVector>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_vector: Option<Cvss2Vector>,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    epss_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploit_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploit_framework_canvas: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploit_framework_core: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploit_framework_metasploit: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploitability_ease: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploited_by_malware: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exploited_by_nessus: Option<bool>,
    family: &'static str,
    family_id: u32,
    has_patch: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_workaround: Option<bool>,
    id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_the_news: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metasploit_name: Option<String>,
    modification_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ms_bulletin: Option<Vec<String>>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch_publication_date: Option<String>,
    publication_date: String,
    risk_factor: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    see_also: Option<Vec<String>>,
    solution: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stig_severity: Option<&'static str>,
    synopsis: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unsupported_by_vendor: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_severity: Option<&'static str>,
    version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpr: Option<Vpr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vuln_publication_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xrefs: Option<Vec<Xref>>,
}

const FAMILIES: &[(&str, u32)] = &[
    ("Windows", 20),
    ("General", 30),
    ("Settings", 23),
    ("Port scanners", 25),
    ("Service detection", 22),
    ("Misc.", 19),
    ("Web Servers", 11),
    ("Windows : Microsoft Bulletins", 41),
    ("Windows : User management", 40),
    ("Ubuntu Local Security Checks", 14),
    ("Red Hat Local Security Checks", 1),
    ("Debian Local Security Checks", 5),
    ("MacOS X Local Security Checks", 36),
    ("SNMP", 26),
    ("CISCO", 35),
    ("Firewalls", 9),
    ("Palo Alto Local Security Checks", 58),
    ("Databases", 31),
    ("CGI abuses", 3),
    ("Incident Response", 61),
    ("VMware ESX Local Security Checks", 48),
];

fn family_id(f: &str) -> u32 {
    FAMILIES
        .iter()
        .find(|(n, _)| *n == f)
        .map_or(30, |(_, id)| *id)
}

fn risk_factor(sev: u8, r: &mut SmallRng) -> &'static str {
    const TITLE: [&str; 5] = ["None", "Low", "Medium", "High", "Critical"];
    const UPPER: [&str; 5] = ["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    const LOWER: [&str; 5] = ["none", "low", "medium", "high", "critical"];
    let s = usize::from(sev.min(4));
    match r.random_range(0..10) {
        0..=5 => TITLE[s],
        6..=8 => UPPER[s],
        _ => LOWER[s],
    }
}

// CVSS presets per severity: (cvss3 score, cvss3 raw, cvss2 score, cvss2 raw).
const CVSS: &[&[(f64, &str, f64, &str)]] = &[
    &[],
    &[
        (
            3.7,
            "AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N",
            2.6,
            "AV:N/AC:H/Au:N/C:P/I:N/A:N",
        ),
        (
            2.5,
            "AV:L/AC:H/PR:L/UI:N/S:U/C:L/I:N/A:N",
            1.9,
            "AV:L/AC:M/Au:N/C:P/I:N/A:N",
        ),
        (
            3.3,
            "AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N",
            2.1,
            "AV:L/AC:L/Au:N/C:P/I:N/A:N",
        ),
    ],
    &[
        (
            6.5,
            "AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N",
            6.4,
            "AV:N/AC:L/Au:N/C:P/I:P/A:N",
        ),
        (
            5.5,
            "AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H",
            4.9,
            "AV:L/AC:L/Au:N/C:N/I:N/A:C",
        ),
        (
            5.9,
            "AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
            4.3,
            "AV:N/AC:M/Au:N/C:P/I:N/A:N",
        ),
        (
            6.1,
            "AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
            4.3,
            "AV:N/AC:M/Au:N/C:N/I:P/A:N",
        ),
        (
            5.3,
            "AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N",
            5.0,
            "AV:N/AC:L/Au:N/C:P/I:N/A:N",
        ),
    ],
    &[
        (
            7.5,
            "AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
            7.8,
            "AV:N/AC:L/Au:N/C:N/I:N/A:C",
        ),
        (
            7.8,
            "AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
            7.2,
            "AV:L/AC:L/Au:N/C:C/I:C/A:C",
        ),
        (
            8.8,
            "AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
            6.8,
            "AV:N/AC:M/Au:N/C:P/I:P/A:P",
        ),
        (
            8.1,
            "AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H",
            7.6,
            "AV:N/AC:H/Au:N/C:C/I:C/A:C",
        ),
    ],
    &[
        (
            9.8,
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            10.0,
            "AV:N/AC:L/Au:N/C:C/I:C/A:C",
        ),
        (
            9.0,
            "AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H",
            9.3,
            "AV:N/AC:M/Au:N/C:C/I:C/A:C",
        ),
        (
            10.0,
            "AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            10.0,
            "AV:N/AC:L/Au:N/C:C/I:C/A:C",
        ),
    ],
];

fn field<'a>(raw: &'a str, key: &str) -> &'a str {
    raw.split('/')
        .find_map(|p| p.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
        .unwrap_or("")
}

fn av(v: &str) -> &'static str {
    match v {
        "N" => "Network",
        "A" => "Adjacent Network",
        "L" => "Local",
        _ => "Physical",
    }
}

fn level(v: &str) -> &'static str {
    match v {
        "L" => "Low",
        "M" => "Medium",
        "H" => "High",
        _ => "None",
    }
}

fn impact2(v: &str) -> &'static str {
    match v {
        "C" => "Complete",
        "P" => "Partial",
        _ => "None",
    }
}

fn cvss3_vector(raw: &'static str) -> Cvss3Vector {
    Cvss3Vector {
        access_complexity: level(field(raw, "AC")),
        access_vector: av(field(raw, "AV")),
        availability_impact: level(field(raw, "A")),
        confidentiality_impact: level(field(raw, "C")),
        integrity_impact: level(field(raw, "I")),
        raw,
    }
}

fn cvss2_vector(raw: &'static str) -> Cvss2Vector {
    Cvss2Vector {
        access_complexity: level(field(raw, "AC")),
        access_vector: av(field(raw, "AV")),
        authentication: match field(raw, "Au") {
            "S" => "Single",
            "M" => "Multiple",
            _ => "None required",
        },
        availability_impact: impact2(field(raw, "A")),
        confidentiality_impact: impact2(field(raw, "C")),
        integrity_impact: impact2(field(raw, "I")),
        raw,
    }
}

const TEMPORAL3: &[(&str, &str, &str, &str, f64)] = &[
    (
        "Unproven",
        "Official-fix",
        "Confirmed",
        "E:U/RL:O/RC:C",
        0.87,
    ),
    (
        "Proof-of-concept",
        "Official-fix",
        "Confirmed",
        "E:P/RL:O/RC:C",
        0.90,
    ),
    (
        "Functional",
        "Official-fix",
        "Confirmed",
        "E:F/RL:O/RC:C",
        0.94,
    ),
    ("High", "Official-fix", "Confirmed", "E:H/RL:O/RC:C", 0.95),
];
const TEMPORAL2: &[(&str, &str, &str, &str, f64)] = &[
    (
        "Unproven",
        "Official-fix",
        "Confirmed",
        "E:U/RL:OF/RC:C",
        0.74,
    ),
    (
        "Proof-of-concept",
        "Official-fix",
        "Confirmed",
        "E:POC/RL:OF/RC:C",
        0.78,
    ),
    (
        "Functional",
        "Official-fix",
        "Confirmed",
        "E:F/RL:OF/RC:C",
        0.83,
    ),
    ("High", "Official-fix", "Confirmed", "E:H/RL:OF/RC:C", 0.87),
];

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Days since epoch in milliseconds for a (year, day-of-year) pair, roughly.
fn date_ms(year: i32, doy: u32) -> i64 {
    let days_before: i64 = (1970..year)
        .map(|y| if is_leap(y) { 366 } else { 365 })
        .sum();
    (days_before + i64::from(doy)) * crate::util::DAY_MS
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

// ---------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------

struct Builder {
    seed: u64,
    plugins: Vec<Plugin>,
    ids: HashSet<u32>,
}

/// Everything that varies between plugins; the rest is derived.
struct Spec {
    id: u32,
    name: String,
    family: &'static str,
    severity: u8,
    applies: Applies,
    port: PortRule,
    synopsis: String,
    description: String,
    solution: String,
    see_also: Vec<String>,
    kind: Option<&'static str>,
    cves: Vec<String>,
    cpe: Vec<String>,
    xrefs: Vec<(&'static str, String)>,
    output: Option<OutputTpl>,
    /// Year the vulnerability / plugin was published.
    year: i32,
    ms_bulletin: Vec<String>,
    bid: Vec<u32>,
    vendor_severity: Option<&'static str>,
    unsupported: bool,
}

impl Spec {
    fn new(id: u32, name: impl Into<String>, family: &'static str, severity: u8) -> Spec {
        Spec {
            id,
            name: name.into(),
            family,
            severity,
            applies: Applies::Families(ALL),
            port: PortRule::Host(Proto::Tcp),
            synopsis: String::new(),
            description: String::new(),
            solution: "n/a".into(),
            see_also: Vec::new(),
            kind: Some("remote"),
            cves: Vec::new(),
            cpe: Vec::new(),
            xrefs: Vec::new(),
            output: None,
            year: 2012,
            ms_bulletin: Vec::new(),
            bid: Vec::new(),
            vendor_severity: None,
            unsupported: false,
        }
    }
}

impl Builder {
    fn rng(&self, id: u32) -> SmallRng {
        rng_for(self.seed, "plugin", u64::from(id))
    }

    fn fresh_id(&mut self, base: u32, r: &mut SmallRng) -> u32 {
        loop {
            let id = base + r.random_range(0..9000);
            if !self.ids.contains(&id) {
                return id;
            }
        }
    }

    fn push(&mut self, s: Spec) {
        if !self.ids.insert(s.id) {
            return;
        }
        let mut r = self.rng(s.id);
        let sev = s.severity.min(4);
        let mut j = PluginJson {
            description: s.description,
            family: s.family,
            family_id: family_id(s.family),
            id: s.id,
            name: s.name.clone(),
            risk_factor: risk_factor(sev, &mut r),
            solution: s.solution,
            synopsis: s.synopsis,
            kind: s.kind,
            ..PluginJson::default()
        };
        let pub_doy = r.random_range(1..360);
        let published = date_ms(s.year, pub_doy);
        let modified = published + i64::from(r.random_range(1..700_u32)) * crate::util::DAY_MS;
        let modified = modified.min(date_ms(2025, 300));
        j.publication_date = iso_s(published);
        j.modification_date = iso_s(modified);
        j.version = if s.id < 100_000 && s.year < 2016 {
            format!("$Revision: 1.{} $", r.random_range(2..90))
        } else {
            format!("1.{}", r.random_range(1..25))
        };
        j.has_patch = sev > 0 && !s.unsupported;
        if !s.see_also.is_empty() {
            j.see_also = Some(s.see_also);
        }
        if !s.cpe.is_empty() {
            j.cpe = Some(s.cpe);
        }
        if !s.ms_bulletin.is_empty() {
            j.ms_bulletin = Some(s.ms_bulletin);
        }
        if !s.bid.is_empty() {
            j.bid = Some(s.bid);
        }
        j.vendor_severity = s.vendor_severity;
        if s.unsupported {
            j.unsupported_by_vendor = Some(true);
        }
        if sev > 0 {
            let presets = CVSS[usize::from(sev)];
            let (c3, raw3, c2, raw2) = presets[r.random_range(0..presets.len())];
            j.cvss3_base_score = Some(c3);
            j.cvss3_vector = Some(cvss3_vector(raw3));
            if s.year < 2023 || r.random_bool(0.3) {
                j.cvss_base_score = Some(c2);
                j.cvss_vector = Some(cvss2_vector(raw2));
            }
            let maturity = r.random_range(0..TEMPORAL3.len());
            if r.random_bool(0.6) {
                let t = TEMPORAL3[maturity];
                j.cvss3_temporal_score = Some(round1(c3 * t.4));
                j.cvss3_temporal_vector = Some(TemporalVector {
                    exploitability: t.0,
                    remediation_level: t.1,
                    report_confidence: t.2,
                    raw: t.3,
                });
                if j.cvss_base_score.is_some() {
                    let t2 = TEMPORAL2[maturity];
                    j.cvss_temporal_score = Some(round1(c2 * t2.4));
                    j.cvss_temporal_vector = Some(TemporalVector {
                        exploitability: t2.0,
                        remediation_level: t2.1,
                        report_confidence: t2.2,
                        raw: t2.3,
                    });
                }
            }
            if s.year >= 2023 && r.random_bool(0.5) {
                j.cvss4_base_score = Some(round1((c3 - 1.0 + r.random::<f64>() * 1.5).min(10.0)));
                j.cvss4_vector = Some(Cvss4Vector {
                    attack_vector: "Network",
                    attack_complexity: "Low",
                    attack_requirements: if c3 > 9.0 { "None" } else { "Present" },
                    privileges_required: if c3 > 8.0 { "None" } else { "Low" },
                    user_interaction: "None",
                    vulnerable_system_confidentiality: "High",
                    vulnerable_system_integrity: "High",
                    vulnerable_system_availability: "High",
                    subsequent_system_confidentiality: "None",
                    subsequent_system_integrity: "None",
                    subsequent_system_availability: "None",
                    raw: if c3 > 9.0 {
                        "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
                    } else {
                        "AV:N/AC:L/AT:P/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
                    },
                });
                j.cvss4_threat_vector = Some(Cvss4Threat {
                    threat_score: round1(c3 * 0.6),
                    exploit_maturity: if maturity >= 2 {
                        "Attacked"
                    } else {
                        "Unreported"
                    },
                    raw: if maturity >= 2 {
                        "CVSS:4.0/E:A"
                    } else {
                        "CVSS:4.0/E:U"
                    },
                });
            }
            let exploit = maturity >= 2 || r.random_bool(0.15);
            j.exploit_available = Some(exploit);
            j.exploitability_ease = Some(if exploit {
                "Exploits are available"
            } else {
                "No known exploits are available"
            });
            if exploit && r.random_bool(0.3) {
                j.exploit_framework_metasploit = Some(true);
                j.metasploit_name = Some(format!("{} Remote Code Execution", short_name(&s.name)));
            }
            if exploit && r.random_bool(0.15) {
                j.exploit_framework_canvas = Some(true);
                j.canvas_package = Some("CANVAS");
            }
            if exploit && r.random_bool(0.1) {
                j.exploit_framework_core = Some(true);
            }
            if exploit && r.random_bool(0.2) {
                j.exploited_by_malware = Some(true);
            }
            if r.random_bool(0.1) {
                j.in_the_news = Some(true);
            }
            if r.random_bool(0.4) {
                j.checks_for_default_account = Some(false);
                j.checks_for_malware = Some(false);
                j.exploited_by_nessus = Some(false);
            }
            if s.year < 2020 && sev >= 3 && r.random_bool(0.3) {
                j.stig_severity = Some(if sev == 4 { "I" } else { "II" });
            }
            let vuln_pub = published - i64::from(r.random_range(1..40_u32)) * crate::util::DAY_MS;
            j.vuln_publication_date = Some(iso_s(vuln_pub));
            j.patch_publication_date = Some(iso_s(vuln_pub + crate::util::DAY_MS));
            if !s.cves.is_empty() {
                let epss = round1(r.random::<f64>().powi(3) * 97.0 + 0.04);
                j.epss_score = Some(epss);
                let vpr = round1((c3 - 2.0 + r.random::<f64>() * 3.0).clamp(0.1, 10.0));
                let age = ((date_ms(2026, 30) - vuln_pub).max(crate::util::DAY_MS)
                    / crate::util::DAY_MS) as u32;
                j.vpr = Some(Vpr {
                    score: vpr,
                    drivers: VprDrivers {
                        age_of_vuln: Bound {
                            lower_bound: age / 30 * 30,
                            upper_bound: (age < 730).then_some(age / 30 * 30 + 30),
                        },
                        exploit_code_maturity: [
                            "UNPROVEN",
                            "PROOF_OF_CONCEPT",
                            "FUNCTIONAL",
                            "HIGH",
                        ][maturity],
                        cvss_impact_score_predicted: r.random_bool(0.2),
                        cvss3_impact_score: round1((c3 - 3.9).max(1.4)),
                        threat_intensity_last28: ["VERY_LOW", "LOW", "MEDIUM", "HIGH"]
                            [r.random_range(0..4)],
                        threat_recency: Bound {
                            lower_bound: 31,
                            upper_bound: Some(120),
                        },
                        threat_sources_last28: if maturity >= 2 {
                            vec!["Security Research", "Social Media"]
                        } else {
                            vec!["No recorded events"]
                        },
                        product_coverage: ["LOW", "MEDIUM", "HIGH", "VERY_HIGH"]
                            [r.random_range(0..4)],
                    },
                    updated: iso_s(date_ms(2025, r.random_range(1..300))),
                });
                j.cve = Some(s.cves.clone());
            }
        }
        let mut xrefs: Vec<Xref> = s
            .xrefs
            .into_iter()
            .map(|(kind, id)| Xref { kind, id })
            .collect();
        if sev >= 3 && !s.cves.is_empty() && r.random_bool(0.5) {
            xrefs.push(Xref {
                kind: "IAVA",
                id: format!("{}-A-0{}-S", s.year, r.random_range(100..700)),
            });
        }
        if !xrefs.is_empty() {
            j.xrefs = Some(xrefs);
        }
        let json = serde_json::to_vec(&j).unwrap_or_else(|_| b"{}".to_vec());
        self.plugins.push(Plugin {
            id: s.id,
            name: s.name,
            family: s.family,
            severity: sev,
            applies: s.applies,
            port: s.port,
            cves: s.cves,
            json: json.into(),
            output: s.output,
        });
    }

    fn cves(&self, r: &mut SmallRng, year: i32, n: usize) -> Vec<String> {
        let mut v: Vec<String> = (0..n)
            .map(|_| {
                let num = if r.random_bool(0.7) {
                    r.random_range(20_000..52_000)
                } else {
                    r.random_range(1_000..9_999)
                };
                format!("CVE-{year}-{num}")
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }

    // -----------------------------------------------------------------------------------
    // Informational plugins (hand-written, modelled on real ones)
    // -----------------------------------------------------------------------------------

    #[allow(clippy::too_many_lines)]
    fn info_plugins(&mut self) {
        struct Info {
            id: u32,
            name: &'static str,
            family: &'static str,
            applies: u8,
            port: PortRule,
            synopsis: &'static str,
            description: &'static str,
            see_also: &'static [&'static str],
            out: Option<(
                &'static str,
                &'static [&'static str],
                u32,
                u32,
                &'static str,
            )>,
            kind: &'static str,
        }
        use PortRule::{AnyService, Host, Service};
        use Proto::{Icmp, Tcp, Udp};
        let infos: Vec<Info> = vec![
            Info {
                id: 11219,
                name: "Nessus SYN scanner",
                family: "Port scanners",
                applies: ALL,
                port: AnyService,
                synopsis: "It is possible to determine which TCP ports are open.",
                description: "This plugin is a SYN 'half-open' port scanner.  It shall be reasonably quick even against a firewalled target. \n\nNote that SYN scans are less intrusive than TCP (full connect) scans against broken services, but they might cause problems for less robust firewalls and also leave unclosed connections on the remote target, if the network is loaded.",
                see_also: &[],
                out: Some(("Port {port}/tcp was found to be open", &[], 0, 0, "")),
                kind: "remote",
            },
            Info {
                id: 22964,
                name: "Service Detection",
                family: "Service detection",
                applies: ALL,
                port: AnyService,
                synopsis: "The remote service could be identified.",
                description: "Nessus was able to identify the remote service by its banner or by looking at the error message it sends when it receives an HTTP request.",
                see_also: &[],
                out: Some(("A {svc} server is running on this port.", &[], 0, 0, "")),
                kind: "remote",
            },
            Info {
                id: 19506,
                name: "Nessus Scan Information",
                family: "Settings",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "This plugin displays information about the Nessus scan.",
                description: "This plugin displays, for each tested host, information about the scan itself :\n\n  - The version of the plugin set.\n  - The type of scanner (Nessus or Nessus Home).\n  - The version of the Nessus Engine.\n  - The port scanner(s) used.\n  - The port range scanned.\n  - The ping round trip time \n  - Whether credentialed or third-party patch management     checks are possible.\n  - Whether the display of superseded patches is enabled\n  - The date of the scan.\n  - The duration of the scan.\n  - The number of hosts scanned in parallel.\n  - The number of checks done in parallel.",
                see_also: &[],
                out: Some((
                    "Information about this scan : \n\nNessus version : 10.6.4\nNessus build : 20005\nPlugin feed version : 2023121{n}0212\nScanner edition used : Nessus\nScanner OS : LINUX\nScanner distribution : es8-x86-64\nScan type : Normal\nScan name : Weekly credentialed scan\nScan policy used : Advanced Network Scan\nScanner IP : 10.250.0.{n}\nPort scanner(s) : nessus_syn_scanner \nPort range : default\nPing RTT : {n}.{n} ms\nThorough tests : no\nExperimental tests : no\nPlugin debugging enabled : no\nParanoia level : 1\nReport verbosity : 1\nSafe checks : yes\nOptimize the test : yes\nCredentialed checks : yes\nPatch management checks : None\nDisplay superseded patches : yes (supersedence plugin launched)\nCGI scanning : disabled\nWeb application tests : disabled\nMax hosts : 30\nMax checks : 4\nRecv timeout : 5\nBackports : None\nAllow post-scan editing : Yes\nNessus Plugin Signature Checking : Enabled\nAudit File Signature Checking : Disabled\nScan duration : {n}{n} sec\nScan for malware : no\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "summary",
            },
            Info {
                id: 11936,
                name: "OS Identification",
                family: "General",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "It is possible to guess the remote operating system.",
                description: "Using a combination of remote probes (e.g., TCP/IP, SMB, HTTP, NTP, SNMP, etc.), it is possible to guess the name of the remote operating system in use. It is also possible sometimes to guess the version of the operating system.",
                see_also: &[],
                out: Some((
                    "\nRemote operating system : {os}\nConfidence level : 100\nMethod : LinuxDistribution\n\n \nThe remote host is running {os}",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "combined",
            },
            Info {
                id: 54615,
                name: "Device Type",
                family: "General",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "It is possible to guess the remote device type.",
                description: "Based on the remote operating system, it is possible to determine what the remote system type is (eg: a printer, router, general-purpose computer, etc).",
                see_also: &[],
                out: Some((
                    "Remote device type : {devtype}\nConfidence level : 100\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "combined",
            },
            Info {
                id: 45590,
                name: "Common Platform Enumeration (CPE)",
                family: "General",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "It was possible to enumerate CPE names that matched on the remote system.",
                description: "By using information obtained from a Nessus scan, this plugin reports CPE (Common Platform Enumeration) matches for various hardware and software products found on a host. \n\nNote that if an official CPE is not available for the product, this plugin computes the best possible CPE based on the information available from the scan.",
                see_also: &["http://cpe.mitre.org/", "https://nvd.nist.gov/products/cpe"],
                out: Some((
                    "\nThe remote operating system matched the following CPE : \n\n  cpe:/o:{devtype}:{n}\n\nFollowing application CPE's matched on the remote system :\n\n",
                    &[
                        "  cpe:/a:openbsd:openssh:8.{n} -> OpenBSD OpenSSH\n",
                        "  cpe:/a:openssl:openssl:3.0.{n} -> OpenSSL Project OpenSSL\n",
                        "  cpe:/a:apache:http_server:2.4.{n} -> Apache Software Foundation Apache HTTP Server\n",
                        "  cpe:/a:haxx:curl:7.{n}.0 -> Haxx Curl\n",
                        "  cpe:/a:microsoft:edge:120.0.2210.{n} -> Microsoft Edge\n",
                        "  cpe:/a:mozilla:firefox:115.{n}.0 -> Mozilla Firefox\n",
                        "  cpe:/a:google:chrome:120.0.6099.{n} -> Google Chrome\n",
                        "  cpe:/a:oracle:jre:1.8.0:update{n} -> Oracle JRE\n",
                        "  cpe:/a:vim:vim:8.2.{n} -> Vim\n",
                        "  cpe:/a:sudo_project:sudo:1.9.{n} -> Todd Miller sudo\n",
                    ],
                    2,
                    8,
                    "",
                )),
                kind: "combined",
            },
            Info {
                id: 10287,
                name: "Traceroute Information",
                family: "General",
                applies: ALL,
                port: Host(Udp),
                synopsis: "It was possible to obtain traceroute information.",
                description: "Makes a traceroute to the remote host.",
                see_also: &[],
                out: Some((
                    "\nFor your information, here is the traceroute from 10.250.0.4 to {ip} : \n10.250.0.4\n10.250.0.1\n{ip}\n\nHop Count: 3\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 25220,
                name: "TCP/IP Timestamps Supported",
                family: "General",
                applies: LINUX | NET | ESX | MAC,
                port: Host(Tcp),
                synopsis: "The remote service implements TCP timestamps.",
                description: "The remote host implements TCP timestamps, as defined by RFC1323.  A side effect of this feature is that the uptime of the remote host can sometimes be computed.",
                see_also: &["http://www.ietf.org/rfc/rfc1323.txt"],
                out: None,
                kind: "remote",
            },
            Info {
                id: 10114,
                name: "ICMP Timestamp Request Remote Date Disclosure",
                family: "General",
                applies: ALL,
                port: Host(Icmp),
                synopsis: "It is possible to determine the exact time set on the remote host.",
                description: "The remote host answers to an ICMP timestamp request.  This allows an attacker to know the date that is set on the targeted machine, which may assist an unauthenticated, remote attacker in defeating time-based authentication protocols.\n\nTimestamps returned from machines running Windows Vista / 7 / 2008 / 2008 R2 are deliberately incorrect, but usually within 1000 seconds of the actual system time.",
                see_also: &[],
                out: Some((
                    "The difference between the local and remote clocks is {n} seconds.\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 12053,
                name: "Host Fully Qualified Domain Name (FQDN) Resolution",
                family: "General",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "It was possible to resolve the name of the remote host.",
                description: "Nessus was able to resolve the fully qualified domain name (FQDN) of the remote host.",
                see_also: &[],
                out: Some(("\n{ip} resolves as {fqdn}.\n", &[], 0, 0, "")),
                kind: "remote",
            },
            Info {
                id: 55472,
                name: "Device Hostname",
                family: "General",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "It was possible to determine the remote system hostname.",
                description: "This plugin reports a device's hostname collected via SSH or WMI.",
                see_also: &[],
                out: Some((
                    "\n  Hostname : {host}\n             {host} (hostname command)\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 35716,
                name: "Ethernet Card Manufacturer Detection",
                family: "Misc.",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "The manufacturer can be identified from the Ethernet OUI.",
                description: "Each ethernet MAC address starts with a 24-bit Organizationally Unique Identifier (OUI). These OUIs are registered by IEEE.",
                see_also: &[
                    "https://standards.ieee.org/faqs/regauth.html",
                    "http://www.nessus.org/u?794673b4",
                ],
                out: Some((
                    "\nThe following card manufacturers were identified :\n\n{mac} : VMware, Inc.\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "combined",
            },
            Info {
                id: 86420,
                name: "Ethernet MAC Addresses",
                family: "General",
                applies: ALL,
                port: Host(Tcp),
                synopsis: "This plugin gathers MAC addresses from various sources and consolidates them into a list.",
                description: "This plugin gathers MAC addresses discovered from both remote probing of the host (e.g. SNMP and Netbios) and from running local checks (e.g. ifconfig). It then consolidates the MAC addresses into a single, unique, and uniform list.",
                see_also: &[],
                out: Some((
                    "The following is a consolidated list of detected MAC addresses:\n  - {mac}\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "combined",
            },
            Info {
                id: 66334,
                name: "Patch Report",
                family: "General",
                applies: WIN | LINUX | MAC,
                port: Host(Tcp),
                synopsis: "The remote host is missing several patches.",
                description: "The remote host is missing one or more security patches. This plugin lists the newest version of each patch to install to make sure the remote host is up-to-date.\n\nNote: Because the 'Show missing patches that have been superseded' setting in your scan policy depends on this plugin, it will always run and cannot be disabled.",
                see_also: &[],
                out: Some((
                    "\n\n. You need to take the following {n} actions :\n\n",
                    &[
                        "[ OpenSSL 3.0.0 < 3.0.12 Vulnerability (1843{n}) ]\n\n+ Action to take : Upgrade to OpenSSL version 3.0.12 or later.\n\n+Impact : Taking this action will resolve {n} different vulnerabilities (CVEs).\n\n\n\n",
                        "[ Google Chrome < 120.0.6099.{n} Multiple Vulnerabilities (1866{n}) ]\n\n+ Action to take : Upgrade to Google Chrome version 120.0.6099.{n} or later.\n\n+Impact : Taking this action will resolve {n} different vulnerabilities (CVEs).\n\n\n\n",
                        "[ KB50{n}3: Windows Server 2022 / Azure Stack HCI 22H2 Security Update (December 2023) (18{n}72) ]\n\n+ Action to take : Apply Security Update 50{n}3\n\n+Impact : Taking this action will resolve {n} different vulnerabilities (CVEs).\n\n\n\n",
                        "[ Ubuntu 22.04 LTS : Linux kernel vulnerabilities (USN-65{n}-1) (1869{n}) ]\n\n+ Action to take : Update the affected kernel package.\n\n+Impact : Taking this action will resolve {n} different vulnerabilities (CVEs).\n\n\n\n",
                        "[ Mozilla Firefox < 121.0 (1869{n}) ]\n\n+ Action to take : Upgrade to Mozilla Firefox version 121.0 or later.\n\n+Impact : Taking this action will resolve {n} different vulnerabilities (CVEs).\n\n\n\n",
                    ],
                    1,
                    5,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 56984,
                name: "SSL / TLS Versions Supported",
                family: "General",
                applies: WEB_HOSTS,
                port: Service("www"),
                synopsis: "The remote service encrypts communications.",
                description: "This plugin detects which SSL and TLS versions are supported by the remote service for encrypting communications.",
                see_also: &[],
                out: Some(("\nThis port supports TLSv1.2, TLSv1.3.\n", &[], 0, 0, "")),
                kind: "remote",
            },
            Info {
                id: 10863,
                name: "SSL Certificate Information",
                family: "General",
                applies: WEB_HOSTS,
                port: Service("www"),
                synopsis: "This plugin displays the SSL certificate.",
                description: "This plugin connects to every SSL-related port and attempts to extract and dump the X.509 certificate.",
                see_also: &[],
                out: Some((
                    "Subject Name: \n\nCommon Name: {fqdn}\n\nIssuer Name: \n\nCountry: US\nOrganization: Example Corp\nCommon Name: Example Corp Issuing CA 0{n}\n\nSerial Number: 6D 00 00 0{n} 4A 2B 9C 11 E8 7F 21 30 00 00 00 00 00 {n}\n\nVersion: 3\n\nSignature Algorithm: SHA-256 With RSA Encryption\n\nNot Valid Before: Mar 02 10:14:{n} 2023 GMT\nNot Valid After: Mar 01 10:14:{n} 2025 GMT\n\nPublic Key Info: \n\nAlgorithm: RSA Encryption\nKey Length: 2048 bits\nPublic Key: 00 C3 8F 19 2A 7D 4E 61 90 AB 33 0E 57 21 6C 9A 4B 2F 80 D1 19 6E C4 55 7A 3B E2 08 91 F0 4C\n            12 A9 5D 77 C8 36 0B E4 9F 21 6A 83 5C 14 DD 70 B2 E8 01 4F 9D 63 A0 17 5E C9 28 B6 43 7F 90\n            E5 2C 71 0A 98 D3 46 BB 05 6F 1E 84 C2 3D 59 A7 F8 12 6B 90 4D E1 37 0C A5 68 F2 19 8E 53 B4\nExponent: 01 00 01\n\nSignature Length: 256 bytes / 2048 bits\nSignature: 00 5A 91 3C E7 28 0D 66 B1 4F 82 1A D9 73 05 EC 48 B2 9F 37 6D C0 14 A8 5E 21 F3 8B 06 D7 42\n\nExtension: Subject Alternative Name (2.5.29.17)\nCritical: 0\nDNS: {fqdn}\nDNS: {host}\nIP: {ip}\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 21643,
                name: "SSL Cipher Suites Supported",
                family: "General",
                applies: WEB_HOSTS,
                port: Service("www"),
                synopsis: "The remote service encrypts communications using SSL.",
                description: "This plugin detects which SSL ciphers are supported by the remote service for encrypting communications.",
                see_also: &[
                    "https://www.openssl.org/docs/man1.0.2/man1/ciphers.html",
                    "http://www.nessus.org/u?e17ffced",
                ],
                out: Some((
                    "\nHere is the list of SSL ciphers supported by the remote server :\nEach group is reported per SSL Version.\n\nSSL Version : TLSv13\n  High Strength Ciphers (>= 112-bit key)\n\n    Name                          Code             KEX           Auth     Encryption             MAC\n    ----------------------        ----------       ---           ----     ---------------------  ---\n",
                    &[
                        "    TLS_AES_128_GCM_SHA256        0x13, 0x01       -             -        AES-GCM(128)           AEAD\n",
                        "    TLS_AES_256_GCM_SHA384        0x13, 0x02       -             -        AES-GCM(256)           AEAD\n",
                        "    TLS_CHACHA20_POLY1305_SHA256  0x13, 0x03       -             -        ChaCha20-Poly1305(256) AEAD\n",
                        "    ECDHE-RSA-AES128-SHA256       0xC0, 0x2F       ECDH          RSA      AES-GCM(128)           SHA256\n",
                        "    ECDHE-RSA-AES256-SHA384       0xC0, 0x30       ECDH          RSA      AES-GCM(256)           SHA384\n",
                        "    RSA-AES128-SHA256             0x00, 0x9C       RSA           RSA      AES-GCM(128)           SHA256\n",
                        "    RSA-AES256-SHA384             0x00, 0x9D       RSA           RSA      AES-GCM(256)           SHA384\n",
                        "    ECDHE-RSA-AES128-SHA          0xC0, 0x13       ECDH          RSA      AES-CBC(128)           SHA1\n",
                        "    ECDHE-RSA-AES256-SHA          0xC0, 0x14       ECDH          RSA      AES-CBC(256)           SHA1\n",
                        "    AES128-SHA                    0x00, 0x2F       RSA           RSA      AES-CBC(128)           SHA1\n",
                        "    AES256-SHA                    0x00, 0x35       RSA           RSA      AES-CBC(256)           SHA1\n",
                    ],
                    4,
                    11,
                    "\nThe fields above are :\n\n  {Tenable ciphername}\n  {Cipher ID code}\n  Kex={key exchange}\n  Auth={authentication}\n  Encrypt={symmetric encryption method}\n  MAC={message authentication code}\n  {export flag}\n",
                )),
                kind: "remote",
            },
            Info {
                id: 10107,
                name: "HTTP Server Type and Version",
                family: "Web Servers",
                applies: WEB_HOSTS,
                port: Service("www"),
                synopsis: "A web server is running on the remote host.",
                description: "This plugin attempts to determine the type and the version of the remote web server.",
                see_also: &[],
                out: Some((
                    "The remote web server type is :\n\nnginx/1.18.{n}",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 24260,
                name: "HyperText Transfer Protocol (HTTP) Information",
                family: "Web Servers",
                applies: WEB_HOSTS,
                port: Service("www"),
                synopsis: "Some information about the remote HTTP configuration can be extracted.",
                description: "This test gives some information about the remote HTTP protocol - the version used, whether HTTP Keep-Alive and HTTP pipelining are enabled, etc... \n\nThis test is informational only and does not denote any security problem.",
                see_also: &[],
                out: Some((
                    "\nResponse Code : HTTP/1.1 200 OK\n\nProtocol version : HTTP/1.1\nHTTP/2 TLS Support: Yes\nSSL : yes\nKeep-Alive : no\nOptions allowed : (Not implemented)\nHeaders :\n\n",
                    &[
                        "  Server: nginx\n",
                        "  Date: Mon, 11 Dec 2023 02:{n}:14 GMT\n",
                        "  Content-Type: text/html; charset=utf-8\n",
                        "  Content-Length: 61{n}\n",
                        "  Connection: keep-alive\n",
                        "  Strict-Transport-Security: max-age=31536000; includeSubDomains\n",
                        "  X-Frame-Options: SAMEORIGIN\n",
                        "  Cache-Control: no-store\n",
                    ],
                    4,
                    8,
                    "\nResponse Body :\n\n<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>{host}</title></head>\n<body>\n</body>\n</html>\n",
                )),
                kind: "remote",
            },
            Info {
                id: 110095,
                name: "Target Credential Issues by Authentication Protocol - No Issues Found",
                family: "Settings",
                applies: WIN | LINUX | MAC,
                port: Host(Tcp),
                synopsis: "Nessus was able to log in to the remote host using the provided credentials. No issues were reported with access, privilege, or intermittent failure.",
                description: "Valid credentials were provided for an authentication protocol on the remote target and Nessus did not log any subsequent errors or failures for the authentication protocol.\n\nWhen possible, Nessus tracks errors or failures related to otherwise valid credentials in order to highlight issues that may result in incomplete scan results or limited scan coverage. The types of issues that are tracked include errors that indicate that the account used for scanning did not have sufficient permissions for a particular check, intermittent protocol failures which are unexpected after the protocol has been negotiated successfully earlier in the scan, and intermittent authentication failures which are unexpected after a credential set has been accepted as valid earlier in the scan. This plugin reports when none of the above issues have been logged.",
                see_also: &[],
                out: Some((
                    "Nessus was able to log in to the remote host with no privilege or access\nproblems via the following :\n\n  User:        'svc_nessus'\n  Port:        {n}\n  Proto:       SSH\n  Method:      password\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "summary",
            },
            Info {
                id: 21745,
                name: "Authentication Failure - Local Checks Not Run",
                family: "Settings",
                applies: NET | ESX,
                port: Host(Tcp),
                synopsis: "The local security checks have been disabled.",
                description: "Local security checks have been disabled for this host because either the credentials supplied in the scan policy did not allow Nessus to log into it or some other problem occurred.",
                see_also: &[],
                out: Some((
                    "\nIt was not possible to log into the remote host via ssh (publickey, password).\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "summary",
            },
            Info {
                id: 10881,
                name: "SSH Protocol Versions Supported",
                family: "General",
                applies: SSH_HOSTS,
                port: Service("ssh"),
                synopsis: "A SSH server is running on the remote host.",
                description: "This plugin determines the versions of the SSH protocol supported by the remote SSH daemon.",
                see_also: &[],
                out: Some((
                    "The remote SSH daemon supports the following versions of the\nSSH protocol :\n\n  - 1.99\n  - 2.0\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 70657,
                name: "SSH Algorithms and Languages Supported",
                family: "Misc.",
                applies: SSH_HOSTS,
                port: Service("ssh"),
                synopsis: "An SSH server is listening on this port.",
                description: "This script detects which algorithms and languages are supported by the remote service for encrypting communications.",
                see_also: &[],
                out: Some((
                    "\nNessus negotiated the following encryption algorithm(s) with the server : \n\n  Client to Server: aes256-ctr\n  Server to Client: aes256-ctr\n\nThe server supports the following options for compression_algorithms_server_to_client : \n\n  none\n  zlib@openssh.com\n\nThe server supports the following options for encryption_algorithms_client_to_server : \n\n",
                    &[
                        "  aes128-ctr\n",
                        "  aes128-gcm@openssh.com\n",
                        "  aes192-ctr\n",
                        "  aes256-ctr\n",
                        "  aes256-gcm@openssh.com\n",
                        "  chacha20-poly1305@openssh.com\n",
                        "  curve25519-sha256\n",
                        "  curve25519-sha256@libssh.org\n",
                        "  diffie-hellman-group-exchange-sha256\n",
                        "  diffie-hellman-group14-sha256\n",
                        "  diffie-hellman-group16-sha512\n",
                        "  diffie-hellman-group18-sha512\n",
                        "  ecdh-sha2-nistp256\n",
                        "  ecdh-sha2-nistp384\n",
                        "  ecdh-sha2-nistp521\n",
                        "  hmac-sha1-etm@openssh.com\n",
                        "  hmac-sha2-256-etm@openssh.com\n",
                        "  hmac-sha2-512-etm@openssh.com\n",
                        "  umac-128-etm@openssh.com\n",
                        "  umac-64-etm@openssh.com\n",
                    ],
                    10,
                    40,
                    "\nThe server supports the following options for server_host_key_algorithms : \n\n  ecdsa-sha2-nistp256\n  rsa-sha2-256\n  rsa-sha2-512\n  ssh-ed25519\n  ssh-rsa\n",
                )),
                kind: "remote",
            },
            Info {
                id: 10267,
                name: "SSH Server Type and Version Information",
                family: "Service detection",
                applies: SSH_HOSTS,
                port: Service("ssh"),
                synopsis: "An SSH server is listening on this port.",
                description: "It is possible to obtain information about the remote SSH server by sending an empty authentication request.",
                see_also: &[],
                out: Some((
                    "\n  SSH version : SSH-2.0-OpenSSH_8.{n}p1 Ubuntu-3ubuntu0.{n}\n  SSH supported authentication : publickey,password\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 25221,
                name: "Remote listeners enumeration (Linux / AIX)",
                family: "Service detection",
                applies: LINUX,
                port: AnyService,
                synopsis: "Using the supplied credentials, it was possible to identify the process listening on the remote port.",
                description: "By logging into the remote host with the supplied credentials, Nessus was able to obtain the name of the process listening on the remote port.\n\nNote that the method used by this plugin only works for hosts running Linux or AIX.",
                see_also: &[],
                out: Some((
                    "\n  Process id   : {n}{n}\n  Executable   : /usr/sbin/{svc}d\n  Command line : /usr/sbin/{svc}d -D \n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 10736,
                name: "DCE Services Enumeration",
                family: "Windows",
                applies: WIN,
                port: Service("dce-rpc"),
                synopsis: "A DCE/RPC service is running on the remote host.",
                description: "By sending a Lookup request to the portmapper (TCP 135 or epmapper PIPE) it was possible to enumerate the Distributed Computing Environment (DCE) services running on the remote port. Using this information it is possible to connect and bind to each service by sending an RPC request to the remote port/pipe.",
                see_also: &[],
                out: Some((
                    "\nThe following DCERPC services are available on TCP port {port} :\n\n",
                    &[
                        "Object UUID : 00000000-0000-0000-0000-000000000000\nUUID : 12345778-1234-abcd-ef00-0123456789ac, version 1.0\nDescription : Security Account Manager\nWindows process : lsass.exe\nType : Remote RPC service\nTCP Port : {port}\nIP : {ip}\n\n",
                        "Object UUID : 00000000-0000-0000-0000-000000000000\nUUID : b25a52bf-e5dd-4f4a-aea6-8ca7272a0e86, version 2.0\nDescription : Unknown RPC service\nAnnotation : KeyIso\nType : Remote RPC service\nTCP Port : {port}\nIP : {ip}\n\n",
                        "Object UUID : 00000000-0000-0000-0000-000000000000\nUUID : 8fb74744-b2ff-4c00-be0d-9ef9a191fe1b, version 1.0\nDescription : Unknown RPC service\nAnnotation : Ngc Pop Key Service\nType : Remote RPC service\nTCP Port : {port}\nIP : {ip}\n\n",
                        "Object UUID : 00000000-0000-0000-0000-000000000000\nUUID : 51a227ae-825b-41f2-b4a9-1ac9557a1018, version 1.0\nDescription : Unknown RPC service\nAnnotation : Ngc Pop Key Service\nType : Remote RPC service\nTCP Port : {port}\nIP : {ip}\n\n",
                    ],
                    1,
                    4,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 10395,
                name: "Microsoft Windows SMB Shares Enumeration",
                family: "Windows",
                applies: WIN,
                port: Service("cifs"),
                synopsis: "It is possible to enumerate remote network shares.",
                description: "By connecting to the remote host, Nessus was able to enumerate the network share names.",
                see_also: &[],
                out: Some((
                    "\nHere are the SMB shares available on the remote host when logged in as svc_nessus:\n\n  - ADMIN$\n  - C$\n  - IPC$\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 20811,
                name: "Microsoft Windows Installed Software Enumeration (credentialed check)",
                family: "Windows",
                applies: WIN,
                port: Service("cifs"),
                synopsis: "It is possible to enumerate installed software.",
                description: "This plugin lists software potentially installed on the remote host by crawling the registry entries in :\n\n  HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\n  HKLM\\SOFTWARE\\Microsoft\\Updates\n\nNote that these entries do not necessarily mean the applications are actually installed on the remote host - they may have been left behind by uninstallers, or the associated files may have been manually removed.",
                see_also: &[],
                out: Some((
                    "\nThe following software are installed on the remote host :\n\n",
                    &[
                        "Microsoft Edge  [version 120.0.2210.{n}]  [installed on 2023/12/0{n}]\n",
                        "Google Chrome  [version 120.0.6099.{n}]  [installed on 2023/12/1{n}]\n",
                        "Mozilla Firefox (x64 en-US)  [version 115.{n}.0]\n",
                        "7-Zip 22.01 (x64)  [version 22.01]\n",
                        "Notepad++ (64-bit x64)  [version 8.5.{n}]\n",
                        "Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.36.32532  [version 14.36.32532.0]  [installed on 2023/0{n}/14]\n",
                        "Microsoft Visual C++ 2013 x64 Minimum Runtime - 12.0.40664  [version 12.0.40664]  [installed on 2022/11/{n}]\n",
                        "VMware Tools  [version 12.1.{n}.20219665]  [installed on 2023/02/1{n}]\n",
                        "Microsoft Office Professional Plus 2019 - en-us  [version 16.0.10{n}.20004]\n",
                        "Adobe Acrobat Reader DC  [version 23.006.{n}]  [installed on 2023/10/02]\n",
                        "Microsoft Teams  [version 1.6.00.{n}]\n",
                        "Zoom (64-bit)  [version 5.16.{n}]  [installed on 2023/11/{n}]\n",
                        "Java 8 Update 3{n} (64-bit)  [version 8.0.3{n}0.9]\n",
                        "Microsoft .NET Framework 4.8  [version 4.8.0{n}]\n",
                        "Tenable Nessus Agent (x64)  [version 10.4.{n}.20004]\n",
                        "Git  [version 2.43.{n}]\n",
                        "Python 3.11.{n} (64-bit)  [version 3.11.{n}150.0]\n",
                        "PuTTY release 0.7{n} (64-bit)  [version 0.7{n}.0.0]\n",
                        "WinSCP 6.1.{n}  [version 6.1.{n}]\n",
                        "Microsoft SQL Server 2019 (64-bit)  [version 15.0.2000.{n}]\n",
                        "Cisco AnyConnect Secure Mobility Client   [version 4.10.0{n}]\n",
                        "CrowdStrike Windows Sensor  [version 7.05.{n}]\n",
                    ],
                    8,
                    30,
                    "\nThe following updates are installed :\n\nMicrosoft .NET Framework 4.8 :\n  KB5032907\n",
                )),
                kind: "local",
            },
            Info {
                id: 10394,
                name: "Microsoft Windows SMB Log In Possible",
                family: "Windows",
                applies: WIN,
                port: Service("cifs"),
                synopsis: "It was possible to log into the remote host.",
                description: "The remote host is running a Microsoft Windows operating system or Samba, a CIFS/SMB server for Unix. It was possible to log into it using one of the following accounts :\n\n- Guest account\n- Supplied credentials",
                see_also: &[
                    "http://www.nessus.org/u?5c2589f6",
                    "https://support.microsoft.com/en-us/help/246261",
                ],
                out: Some((
                    "- The SMB tests will be done as svc_nessus/******\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 100871,
                name: "Microsoft Windows SMB Versions Supported (remote check)",
                family: "Windows",
                applies: WIN,
                port: Service("cifs"),
                synopsis: "It was possible to obtain information about the version of SMB running on the remote host.",
                description: "Nessus was able to obtain the version of SMB running on the remote host by sending an authentication request to port 139 or 445.\n\nNote that this plugin is a remote check and does not work on agents.",
                see_also: &[],
                out: Some((
                    "\nThe remote host supports the following versions of SMB : \n  SMBv2\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 24270,
                name: "Computer Manufacturer Information (WMI)",
                family: "Windows",
                applies: WIN,
                port: Host(Tcp),
                synopsis: "It is possible to obtain the name of the remote computer manufacturer.",
                description: "By making certain WMI queries, it is possible to obtain the model of the remote computer as well as the name of its manufacturer and its serial number.",
                see_also: &[],
                out: Some((
                    "\n  Computer Manufacturer : VMware, Inc.\n  Computer Model : VMware7,1\n  Computer SerialNumber : VMware-42 26 {n} 9c 2b 83 e1 8d-67 f1 0{n} 4a 5c 9e 21 30\n  Computer Type : Other\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 24272,
                name: "Network Interfaces Enumeration (WMI)",
                family: "Windows",
                applies: WIN,
                port: Host(Tcp),
                synopsis: "Nessus was able to obtain the list of network interfaces on the remote host.",
                description: "Nessus was able, via WMI queries, to extract a list of network interfaces on the remote host and the IP addresses attached to them.",
                see_also: &[],
                out: Some((
                    "\n  - Network Interface Information :\n\n    + Network Interface = vmxnet3 Ethernet Adapter\n     - MAC Address = {mac}\n     - IPAddress/IPSubnet = {ip}/255.255.255.0\n     - Default IPGateway = 10.0.0.1\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 10902,
                name: "Microsoft Windows 'Administrators' Group User List",
                family: "Windows : User management",
                applies: WIN,
                port: Service("cifs"),
                synopsis: "There is at least one user in the 'Administrators' group.",
                description: "Using the supplied credentials, it is possible to extract the member list of the 'Administrators' group. Members of this group have complete access to the remote system.",
                see_also: &[],
                out: Some((
                    "\nThe following users are members of the 'Administrators' group :\n\n",
                    &[
                        "  - {host}\\Administrator (User)\n",
                        "  - CORP\\Domain Admins (Group)\n",
                        "  - CORP\\svc_nessus (User)\n",
                        "  - CORP\\helpdesk-t{n} (User)\n",
                    ],
                    2,
                    4,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 22869,
                name: "Software Enumeration (SSH)",
                family: "General",
                applies: LINUX,
                port: Host(Tcp),
                synopsis: "It was possible to enumerate installed software on the remote host via SSH.",
                description: "Nessus was able to list the software installed on the remote host by calling the appropriate command (e.g., 'rpm -qa' on RPM-based Linux distributions, qpkg, dpkg, etc.).",
                see_also: &[],
                out: Some((
                    "\nHere is the list of packages installed on the remote Linux system :\n\n",
                    &[
                        "  ii  adduser                              3.118ubuntu5                            all          add and remove users and groups\n",
                        "  ii  apt                                  2.4.{n}                                 amd64        commandline package manager\n",
                        "  ii  base-files                           12ubuntu4.{n}                           amd64        Debian base system miscellaneous files\n",
                        "  ii  bash                                 5.1-6ubuntu1                            amd64        GNU Bourne Again SHell\n",
                        "  ii  bind9-libs:amd64                     1:9.18.18-0ubuntu0.22.04.{n}            amd64        Shared Libraries used by BIND 9\n",
                        "  ii  ca-certificates                      20230311ubuntu0.22.04.{n}               all          Common CA certificates\n",
                        "  ii  coreutils                            8.32-4.1ubuntu1                         amd64        GNU core utilities\n",
                        "  ii  curl                                 7.81.0-1ubuntu1.{n}                     amd64        command line tool for transferring data with URL syntax\n",
                        "  ii  dbus                                 1.12.20-2ubuntu4.{n}                    amd64        simple interprocess messaging system (daemon and utilities)\n",
                        "  ii  dpkg                                 1.21.1ubuntu2.{n}                       amd64        Debian package management system\n",
                        "  ii  git                                  1:2.34.1-1ubuntu1.{n}                   amd64        fast, scalable, distributed revision control system\n",
                        "  ii  gnupg                                2.2.27-3ubuntu2.{n}                     all          GNU privacy guard - a free PGP replacement\n",
                        "  ii  libc6:amd64                          2.35-0ubuntu3.{n}                       amd64        GNU C Library: Shared libraries\n",
                        "  ii  libssl3:amd64                        3.0.2-0ubuntu1.{n}                      amd64        Secure Sockets Layer toolkit - shared libraries\n",
                        "  ii  linux-image-5.15.0-91-generic        5.15.0-91.101                           amd64        Signed kernel image generic\n",
                        "  ii  openssh-server                       1:8.9p1-3ubuntu0.{n}                    amd64        secure shell (SSH) server, for secure access from remote machines\n",
                        "  ii  openssl                              3.0.2-0ubuntu1.{n}                      amd64        Secure Sockets Layer toolkit - cryptographic utility\n",
                        "  ii  python3.10                           3.10.12-1~22.04.{n}                     amd64        Interactive high-level object-oriented language (version 3.10)\n",
                        "  ii  sudo                                 1.9.9-1ubuntu2.{n}                      amd64        Provide limited super user privileges to specific users\n",
                        "  ii  systemd                              249.11-0ubuntu3.{n}                     amd64        system and service manager\n",
                        "  ii  tar                                  1.34+dfsg-1ubuntu0.1.22.04.{n}          amd64        GNU version of the tar archiving utility\n",
                        "  ii  vim                                  2:8.2.3995-1ubuntu2.{n}                 amd64        Vi IMproved - enhanced vi editor\n",
                        "  ii  zlib1g:amd64                         1:1.2.11.dfsg-2ubuntu9.{n}              amd64        compression library - runtime\n",
                    ],
                    10,
                    40,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 25203,
                name: "Enumerate IPv4 Interfaces via SSH",
                family: "General",
                applies: LINUX,
                port: Host(Tcp),
                synopsis: "Nessus was able to enumerate the IPv4 interfaces on the remote host.",
                description: "Nessus was able to enumerate the network interfaces configured with IPv4 addresses by connecting to the remote host via SSH using the supplied credentials.",
                see_also: &[],
                out: Some((
                    "\nThe following IPv4 addresses are set on the remote host :\n\n - {ip} (on interface ens160)\n - 127.0.0.1 (on interface lo)\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 33276,
                name: "Enumerate MAC Addresses via SSH",
                family: "General",
                applies: LINUX,
                port: Host(Tcp),
                synopsis: "Nessus was able to enumerate MAC addresses on the remote host.",
                description: "Nessus was able to enumerate MAC addresses by connecting to the remote host via SSH with the supplied credentials.",
                see_also: &[],
                out: Some((
                    "\nThe following MAC address exists on the remote host :\n\n  - {mac} (interface ens160)\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 95928,
                name: "Linux User List Enumeration",
                family: "General",
                applies: LINUX,
                port: Host(Tcp),
                synopsis: "Nessus was able to enumerate local users and groups on the remote Linux host.",
                description: "Using the supplied credentials, Nessus was able to enumerate the local users and groups on the remote Linux host.",
                see_also: &[],
                out: Some((
                    "\n----------[ User Accounts ]----------\n\n",
                    &[
                        "User         : deploy\nHome folder  : /home/deploy\nStart script : /bin/bash\nGroups       : deploy\n               sudo\n\n",
                        "User         : svc_nessus\nHome folder  : /home/svc_nessus\nStart script : /bin/bash\nGroups       : svc_nessus\n               sudo\n\n",
                        "User         : postgres\nHome folder  : /var/lib/postgresql\nStart script : /bin/bash\nGroups       : postgres\n               ssl-cert\n\n",
                        "User         : ops{n}\nHome folder  : /home/ops{n}\nStart script : /bin/bash\nGroups       : ops{n}\n               adm\n\n",
                    ],
                    2,
                    6,
                    "\n----------[ System Accounts ]----------\n\nUser         : root\nHome folder  : /root\nStart script : /bin/bash\nGroups       : root\n",
                )),
                kind: "local",
            },
            Info {
                id: 56468,
                name: "Time of Last System Startup",
                family: "General",
                applies: LINUX | MAC,
                port: Host(Tcp),
                synopsis: "The system has been started.",
                description: "Using the supplied credentials, Nessus was able to determine when the host was last started.",
                see_also: &[],
                out: Some((
                    "\n  reboot   system boot  5.15.0-91-generi Mon Dec  {n} 0{n}:14   still running\n\nwtmp begins Fri Dec  1 02:13:57 2023\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 45432,
                name: "Processor Information (via DMI)",
                family: "General",
                applies: LINUX,
                port: Host(Tcp),
                synopsis: "Nessus was able to read processor information via DMI.",
                description: "Using the DMI (Desktop Management Interface), Nessus was able to retrieve information about the processor installed on the remote host.",
                see_also: &[],
                out: Some((
                    "\nNessus detected {n} processor :\n\nCurrent Speed : 2100 MHz\nVersion       : Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\nManufacturer  : GenuineIntel\nExternal Clock: 100 MHz\nStatus        : Populated, Enabled\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "local",
            },
            Info {
                id: 10800,
                name: "SNMP Query System Information Disclosure",
                family: "SNMP",
                applies: NET | LINUX,
                port: Service("snmp"),
                synopsis: "The System Information of the remote host can be obtained via SNMP.",
                description: "It is possible to obtain the system information about the remote host by sending SNMP requests with the OID 1.3.6.1.2.1.1.1.\n\nAn attacker may use this information to gain more knowledge about the target host.",
                see_also: &[],
                out: Some((
                    "\nSystem information :\n sysDescr     : {os}\n sysObjectID  : 1.3.6.1.4.1.9.1.{n}\n sysUptime    : {n}d {n}h 11m 2s\n sysContact   : netops@example.com\n sysName      : {host}\n sysLocation  : Rack {n}\n sysServices  : 6\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "remote",
            },
            Info {
                id: 57396,
                name: "VMware vSphere Detect",
                family: "Misc.",
                applies: ESX,
                port: Service("www"),
                synopsis: "The remote host appears to be running VMware Server, ESX Server, or GSX Server.",
                description: "According to its banner, the remote host appears to be running a VMware server product.",
                see_also: &["https://www.vmware.com/"],
                out: Some(("\n  Version : {os}\n  Build   : 21930508\n", &[], 0, 0, "")),
                kind: "remote",
            },
            Info {
                id: 20094,
                name: "VMware Virtual Machine Detection",
                family: "General",
                applies: WIN | LINUX,
                port: Host(Tcp),
                synopsis: "The remote host is a VMware virtual machine.",
                description: "According to the MAC address of its network adapter, the remote host is a VMware virtual machine.",
                see_also: &[],
                out: Some((
                    "\nThe remote host is a VMware virtual machine.\n",
                    &[],
                    0,
                    0,
                    "",
                )),
                kind: "combined",
            },
            Info {
                id: 83991,
                name: "List Installed Mac OS X Software",
                family: "MacOS X Local Security Checks",
                applies: MAC,
                port: Host(Tcp),
                synopsis: "Lists the software installed on the remote Mac OS X host.",
                description: "This plugin lists the software installed on the remote Mac OS X host by calling the 'system_profiler' command.",
                see_also: &[],
                out: Some((
                    "\n",
                    &[
                        "Google Chrome.app\n  Version : 120.0.6099.{n}\n  Path    : /Applications/Google Chrome.app\n\n",
                        "Slack.app\n  Version : 4.35.1{n}\n  Path    : /Applications/Slack.app\n\n",
                        "zoom.us.app\n  Version : 5.16.{n} (24131)\n  Path    : /Applications/zoom.us.app\n\n",
                        "Firefox.app\n  Version : 120.0.{n}\n  Path    : /Applications/Firefox.app\n\n",
                        "Microsoft Word.app\n  Version : 16.7{n}\n  Path    : /Applications/Microsoft Word.app\n\n",
                    ],
                    2,
                    5,
                    "",
                )),
                kind: "local",
            },
        ];
        for i in infos {
            let mut s = Spec::new(i.id, i.name, i.family, 0);
            s.applies = Applies::Families(i.applies);
            s.port = i.port;
            s.synopsis = i.synopsis.into();
            s.description = i.description.into();
            s.see_also = i.see_also.iter().map(|x| (*x).to_string()).collect();
            s.kind = Some(i.kind);
            s.year = 2005 + (i.id % 17) as i32;
            s.output = i.out.map(|(head, lines, min, max, tail)| {
                let lines: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
                OutputTpl::new(head, &lines, min, max, tail)
            });
            self.push(s);
        }
    }

    // -----------------------------------------------------------------------------------
    // Configuration weaknesses (hand-written)
    // -----------------------------------------------------------------------------------

    fn config_vulns(&mut self) {
        use PortRule::{Host, Service};
        #[allow(clippy::type_complexity)]
        let rows: &[(
            u32,
            &str,
            &str,
            u8,
            u8,
            PortRule,
            &str,
            &str,
            &str,
            &[&str],
            i32,
            &str,
        )] = &[
            (
                51192,
                "SSL Certificate Cannot Be Trusted",
                "General",
                2,
                WEB_HOSTS,
                Service("www"),
                "The SSL certificate for this service cannot be trusted.",
                "The server's X.509 certificate cannot be trusted. This situation can occur in three different ways, in which the chain of trust can be broken, as stated below :\n\n  - First, the top of the certificate chain sent by the server might not be descended from a known public certificate authority. This can occur either when the top of the chain is an unrecognized, self-signed certificate, or when intermediate certificates are missing that would connect the top of the certificate chain to a known public certificate authority.\n\n  - Second, the certificate chain may contain a certificate that is not valid at the time of the scan. This can occur either when the scan occurs before one of the certificate's 'notBefore' dates, or after one of the certificate's 'notAfter' dates.\n\n  - Third, the certificate chain may contain a signature that either didn't match the certificate's information or could not be verified. Bad signatures can be fixed by getting the certificate with the bad signature to be re-signed by its issuer. Signatures that could not be verified are the result of the certificate's issuer using a signing algorithm that Nessus either does not support or does not recognize.\n\nIf the remote host is a public host in production, any break in the chain makes it more difficult for users to verify the authenticity and identity of the web server. This could make it easier to carry out man-in-the-middle attacks against the remote host.",
                "Purchase or generate a proper SSL certificate for this service.",
                &[
                    "https://www.itu.int/rec/T-REC-X.509/en",
                    "https://en.wikipedia.org/wiki/X.509",
                ],
                2010,
                "\nThe following certificate was at the top of the certificate\nchain sent by the remote host, but it is signed by an unknown\ncertificate authority :\n\n|-Subject : CN={fqdn}\n|-Issuer  : C=US/O=Example Corp/CN=Example Corp Issuing CA 0{n}\n",
            ),
            (
                57582,
                "SSL Self-Signed Certificate",
                "General",
                2,
                NET | ESX,
                Service("www"),
                "The SSL certificate chain for this service ends in an unrecognized self-signed certificate.",
                "The X.509 certificate chain for this service is not signed by a recognized certificate authority.  If the remote host is a public host in production, this nullifies the use of SSL as anyone could establish a man-in-the-middle attack against the remote host. \n\nNote that this plugin does not check for certificate chains that end in a certificate that is not self-signed, but is signed by an unrecognized certificate authority.",
                "Purchase or generate a proper SSL certificate for this service.",
                &[],
                2012,
                "\nThe following certificate was found at the top of the certificate\nchain sent by the remote host, but is self-signed and was not\nfound in the list of known certificate authorities :\n\n|-Subject : CN={host}\n",
            ),
            (
                104743,
                "TLS Version 1.0 Protocol Detection",
                "Service detection",
                2,
                WEB_HOSTS,
                Service("www"),
                "The remote service encrypts traffic using an older version of TLS.",
                "The remote service accepts connections encrypted using TLS 1.0. TLS 1.0 has a number of cryptographic design flaws. Modern implementations of TLS 1.0 mitigate these problems, but newer versions of TLS like 1.2 and 1.3 are designed against these flaws and should be used whenever possible.\n\nAs of March 31, 2020, Endpoints that aren't enabled for TLS 1.2 and higher will no longer function properly with major web browsers and major vendors.\n\nPCI DSS v3.2 requires that TLS 1.0 be disabled entirely by June 30, 2018, except for POS POI terminals (and the SSL/TLS termination points to which they connect) that can be verified as not being susceptible to any known exploits.",
                "Enable support for TLS 1.2 and 1.3, and disable support for TLS 1.0.",
                &["https://tools.ietf.org/html/draft-ietf-tls-oldversions-deprecate-00"],
                2017,
                "TLSv1 is enabled and the server supports at least one cipher.",
            ),
            (
                157288,
                "TLS Version 1.1 Deprecated Protocol",
                "Service detection",
                2,
                WEB_HOSTS,
                Service("www"),
                "The remote service encrypts traffic using an older version of TLS.",
                "The remote service accepts connections encrypted using TLS 1.1. TLS 1.1 lacks support for current and recommended cipher suites. Ciphers that support encryption before MAC computation, and authenticated encryption modes such as GCM cannot be used with TLS 1.1\n\nAs of March 31, 2020, Endpoints that are not enabled for TLS 1.2 and higher will no longer function properly with major web browsers and major vendors.",
                "Enable support for TLS 1.2 and/or 1.3, and disable support for TLS 1.1.",
                &[
                    "https://datatracker.ietf.org/doc/html/rfc8996",
                    "http://www.nessus.org/u?c8ae820d",
                ],
                2022,
                "TLSv1.1 is enabled and the server supports at least one cipher.",
            ),
            (
                42873,
                "SSL Medium Strength Cipher Suites Supported (SWEET32)",
                "General",
                3,
                WEB_HOSTS,
                Service("www"),
                "The remote service supports the use of medium strength SSL ciphers.",
                "The remote host supports the use of SSL ciphers that offer medium strength encryption. Nessus regards medium strength as any encryption that uses key lengths at least 64 bits and less than 112 bits, or else that uses the 3DES encryption suite.\n\nNote that it is considerably easier to circumvent medium strength encryption if the attacker is on the same physical network.",
                "Reconfigure the affected application if possible to avoid use of medium strength ciphers.",
                &[
                    "https://www.openssl.org/blog/blog/2016/08/24/sweet32/",
                    "https://sweet32.info",
                ],
                2016,
                "\n  Medium Strength Ciphers (> 64-bit and < 112-bit key, or 3DES)\n\n    Name                          Code             KEX           Auth     Encryption             MAC\n    ----------------------        ----------       ---           ----     ---------------------  ---\n    DES-CBC3-SHA                  0x00, 0x0A       RSA           RSA      3DES-CBC(168)          SHA1\n",
            ),
            (
                65821,
                "SSL RC4 Cipher Suites Supported (Bar Mitzvah)",
                "General",
                2,
                WIN | NET,
                Service("www"),
                "The remote service supports the use of the RC4 cipher.",
                "The remote host supports the use of RC4 in one or more cipher suites. The RC4 cipher is flawed in its generation of a pseudo-random stream of bytes so that a wide variety of small biases are introduced into the stream, decreasing its randomness.\n\nIf plaintext is repeatedly encrypted (e.g., HTTP cookies), and an attacker is able to obtain many (i.e., tens of millions) ciphertexts, the attacker may be able to derive the plaintext.",
                "Reconfigure the affected application, if possible, to avoid use of RC4 ciphers. Consider using TLS 1.2 with AES-GCM suites subject to browser and web server support.",
                &[
                    "https://www.rc4nomore.com/",
                    "http://www.nessus.org/u?ac7327a0",
                    "http://cr.yp.to/talks/2013.03.12/slides.pdf",
                ],
                2013,
                "\nList of RC4 cipher suites supported by the remote server :\n\n  High Strength Ciphers (>= 112-bit key)\n\n    RC4-MD5                       0x00, 0x04       RSA           RSA      RC4(128)               MD5\n    RC4-SHA                       0x00, 0x05       RSA           RSA      RC4(128)               SHA1\n",
            ),
            (
                15901,
                "SSL Certificate Expiry",
                "General",
                2,
                WEB_HOSTS,
                Service("www"),
                "The remote server's SSL certificate has already expired.",
                "This plugin checks expiry dates of certificates associated with SSL- enabled services on the target and reports whether any have already expired.",
                "Purchase or generate a new SSL certificate to replace the existing one.",
                &[],
                2004,
                "\nThe SSL certificate has already expired :\n\n  Subject          : CN={fqdn}\n  Issuer           : CN=Example Corp Issuing CA 0{n}\n  Not valid before : Jan  {n} 12:00:00 2021 GMT\n  Not valid after  : Jan  {n} 12:00:00 2023 GMT\n",
            ),
            (
                57608,
                "SMB Signing not required",
                "Misc.",
                2,
                WIN,
                Service("cifs"),
                "Signing is not required on the remote SMB server.",
                "Signing is not required on the remote SMB server. An unauthenticated, remote attacker can exploit this to conduct man-in-the-middle attacks against the SMB server.",
                "Enforce message signing in the host's configuration. On Windows, this is found in the policy setting 'Microsoft network server: Digitally sign communications (always)'. On Samba, the setting is called 'server signing'. See the 'see also' links for further details.",
                &[
                    "http://www.nessus.org/u?df39b8b3",
                    "http://technet.microsoft.com/en-us/library/cc731957.aspx",
                    "https://www.samba.org/samba/docs/current/man-html/smb.conf.5.html",
                ],
                2012,
                "",
            ),
            (
                90317,
                "SSH Weak Algorithms Supported",
                "Misc.",
                2,
                SSH_HOSTS,
                Service("ssh"),
                "The remote SSH server is configured to allow weak encryption algorithms or no algorithm at all.",
                "Nessus has detected that the remote SSH server is configured to use the Arcfour stream cipher or no cipher at all. RFC 4253 advises against using Arcfour due to an issue with weak keys.",
                "Contact the vendor or consult product documentation to remove the weak ciphers.",
                &["https://tools.ietf.org/html/rfc4253#section-6.3"],
                2016,
                "\nThe following weak server-to-client encryption algorithms are supported : \n\n  arcfour\n  arcfour128\n  arcfour256\n",
            ),
            (
                153953,
                "SSH Weak Key Exchange Algorithms Enabled",
                "Misc.",
                1,
                SSH_HOSTS,
                Service("ssh"),
                "The remote SSH server is configured to allow weak key exchange algorithms.",
                "The remote SSH server is configured to allow key exchange algorithms which are considered weak.\n\nThis is based on the IETF draft document Key Exchange (KEX) Method Updates and Recommendations for Secure Shell (SSH) RFC9142. Section 4 lists guidance on key exchange algorithms that SHOULD NOT and MUST NOT be enabled.",
                "Contact the vendor or consult product documentation to disable the weak algorithms.",
                &["https://datatracker.ietf.org/doc/html/rfc9142"],
                2021,
                "\nThe following weak key exchange algorithms are enabled : \n\n  diffie-hellman-group-exchange-sha1\n  diffie-hellman-group1-sha1\n",
            ),
            (
                41028,
                "SNMP Agent Default Community Name (public)",
                "SNMP",
                3,
                NET | LINUX,
                Service("snmp"),
                "The community name of the remote SNMP server can be guessed.",
                "It is possible to obtain the default community name of the remote SNMP server.\n\nAn attacker may use this information to gain more knowledge about the remote host, or to change the configuration of the remote system (if the default community allows such modifications).",
                "Disable the SNMP service on the remote host if you do not use it.\n\nEither filter incoming UDP packets going to this port, or change the default community string.",
                &[],
                2002,
                "\nThe remote SNMP server replies to the following default community\nstring :\n\npublic\n",
            ),
            (
                58453,
                "Terminal Services Doesn't Use Network Level Authentication (NLA) Only",
                "Misc.",
                2,
                WIN,
                Service("msrdp"),
                "The remote Terminal Services doesn't use Network Level Authentication only.",
                "The remote Terminal Services is not configured to use Network Level Authentication (NLA) only. NLA uses the Credential Security Support Provider (CredSSP) protocol to perform strong server authentication either through TLS/SSL or Kerberos mechanisms, which protect against man-in-the-middle attacks. In addition to improving authentication, NLA also helps protect the remote computer from malicious users and software by completing user authentication before a full RDP connection is established.",
                "Enable Network Level Authentication (NLA) on the remote RDP server. This is generally done on the 'Remote' tab of the 'System' settings on Windows.",
                &[
                    "https://technet.microsoft.com/en-us/library/hh831493(v=ws.11).aspx",
                    "http://www.nessus.org/u?e2628096",
                ],
                2012,
                "Nessus was able to negotiate non-NLA (Network Level Authentication) security.",
            ),
            (
                11213,
                "HTTP TRACE / TRACK Methods Allowed",
                "Web Servers",
                2,
                LINUX | NET,
                Service("www"),
                "Debugging functions are enabled on the remote web server.",
                "The remote web server supports the TRACE and/or TRACK methods. TRACE and TRACK are HTTP methods that are used to debug web server connections.",
                "Disable these HTTP methods. Refer to the plugin output for more information.",
                &[
                    "http://www.nessus.org/u?e979b5cb",
                    "http://www.apacheweek.com/issues/03-01-24",
                    "https://download.oracle.com/sunalerts/1000718.1.html",
                ],
                2003,
                "\nTo disable these methods, add the following lines for each virtual\nhost in your configuration file :\n\n    RewriteEngine on\n    RewriteCond %{REQUEST_METHOD} ^(TRACE|TRACK)\n    RewriteRule .* - [F]\n",
            ),
            (
                50686,
                "IP Forwarding Enabled",
                "Firewalls",
                2,
                LINUX | NET,
                Host(Proto::Tcp),
                "The remote host has IP forwarding enabled.",
                "The remote host has IP forwarding enabled. An attacker can exploit this to route packets through the host and potentially bypass some firewalls / routers / NAC filtering. \n\nUnless the remote host is a router, it is recommended that you disable IP forwarding.",
                "On Linux, you can disable IP forwarding by doing :\n\necho 0 > /proc/sys/net/ipv4/ip_forward",
                &[],
                2010,
                "",
            ),
        ];
        for row in rows {
            let (id, name, family, sev, applies, port, syn, desc, sol, see, year, out) = *row;
            let mut r = self.rng(id);
            let mut s = Spec::new(id, name, family, sev);
            s.applies = Applies::Families(applies);
            s.port = port;
            s.synopsis = syn.into();
            s.description = desc.into();
            s.solution = sol.into();
            s.see_also = see.iter().map(|x| (*x).to_string()).collect();
            s.year = year;
            if id == 42873 {
                s.cves = vec!["CVE-2016-2183".into()];
            } else if id == 65821 {
                s.cves = vec!["CVE-2013-2566".into(), "CVE-2015-2808".into()];
                s.bid = vec![58796, 73684];
            } else if id == 41028 {
                s.cves = vec!["CVE-1999-0517".into()];
            } else if r.random_bool(0.3) {
                s.cves = self.cves(&mut r, year, 1);
            }
            if !out.is_empty() {
                s.output = Some(OutputTpl::simple(out));
            }
            self.push(s);
        }
        // A few well-known critical Windows issues.
        let mut s = Spec::new(
            97833,
            "MS17-010: Security Update for Microsoft Windows SMB Server (4013389) (ETERNALBLUE) (ETERNALCHAMPION) (ETERNALROMANCE) (ETERNALSYNERGY) (WannaCry) (EternalRocks) (Petya) (uncredentialed check)",
            "Windows",
            4,
        );
        s.applies = Applies::Families(WIN);
        s.port = PortRule::Service("cifs");
        s.synopsis = "The remote Windows host is affected by multiple vulnerabilities.".into();
        s.description = "The remote Windows host is affected by the following vulnerabilities :\n\n  - Multiple remote code execution vulnerabilities exist in Microsoft Server Message Block 1.0 (SMBv1) due to improper handling of certain requests. An unauthenticated, remote attacker can exploit these vulnerabilities, via a specially crafted packet, to execute arbitrary code. (CVE-2017-0143, CVE-2017-0144, CVE-2017-0145, CVE-2017-0146, CVE-2017-0148)\n\n  - An information disclosure vulnerability exists in Microsoft Server Message Block 1.0 (SMBv1) due to improper handling of certain requests. An unauthenticated, remote attacker can exploit this, via a specially crafted packet, to disclose sensitive information. (CVE-2017-0147)\n\nETERNALBLUE, ETERNALCHAMPION, ETERNALROMANCE, and ETERNALSYNERGY are four of multiple Equation Group vulnerabilities and exploits disclosed on 2017/04/14 by a group known as the Shadow Brokers. WannaCry / WannaCrypt is a ransomware program utilizing the ETERNALBLUE exploit, and EternalRocks is a worm that utilizes seven Equation Group vulnerabilities. Petya is a ransomware program that first utilizes CVE-2017-0199, a vulnerability in Microsoft Office, and then spreads via ETERNALBLUE.".into();
        s.solution = "Microsoft has released a set of patches for Windows Vista, 2008, 7, 2008 R2, 2012, 8.1, RT 8.1, 2012 R2, and 10. Microsoft has also released emergency patches for Windows operating systems that are no longer supported, including Windows XP, 2003, and 8.\n\nFor unsupported Windows operating systems, e.g. Windows XP, Microsoft recommends that users discontinue the use of SMBv1. SMBv1 lacks security features that were included in later SMB versions. SMBv1 can be disabled by following the vendor instructions provided in Microsoft KB2696547. Additionally, US-CERT recommends that users block SMB directly by blocking TCP port 445 on all network boundary devices. For SMB over the NetBIOS API, block TCP ports 137 / 139 and UDP ports 137 / 138 on all network boundary devices.".into();
        s.see_also = vec![
            "http://www.nessus.org/u?68fc8eff".into(),
            "http://www.nessus.org/u?321523eb".into(),
            "https://www.us-cert.gov/ncas/alerts/TA17-132A".into(),
        ];
        s.cves = [
            "CVE-2017-0143",
            "CVE-2017-0144",
            "CVE-2017-0145",
            "CVE-2017-0146",
            "CVE-2017-0147",
            "CVE-2017-0148",
        ]
        .iter()
        .map(|x| (*x).to_string())
        .collect();
        s.bid = vec![96703, 96704, 96705, 96706, 96707, 96709];
        s.ms_bulletin = vec!["MS17-010".into()];
        s.xrefs = vec![
            ("MSFT", "MS17-010".into()),
            ("IAVA", "2017-A-0065".into()),
            ("CEA-ID", "CEA-2019-0547".into()),
        ];
        s.year = 2017;
        s.output = None;
        self.push(s);
        let mut s = Spec::new(108797, "Unsupported Windows OS (remote)", "Windows", 4);
        s.applies = Applies::OsPrefix("Microsoft Windows Server 2016");
        s.port = PortRule::Host(Proto::Tcp);
        s.synopsis = "The remote OS or service pack is no longer supported.".into();
        s.description = "The remote version of Microsoft Windows is either missing a service pack or is no longer supported. As a result, it is likely to contain security vulnerabilities.".into();
        s.solution = "Upgrade to a supported service pack or operating system".into();
        s.see_also = vec!["https://support.microsoft.com/en-us/lifecycle".into()];
        s.unsupported = true;
        s.year = 2018;
        s.output = Some(OutputTpl::simple(
            "\nThe following Windows version is installed and not supported:\n\n{os}\n",
        ));
        self.push(s);
    }

    // -----------------------------------------------------------------------------------
    // Linux distribution advisories
    // -----------------------------------------------------------------------------------

    fn distro(&mut self, fam: OsFamily, count: usize) {
        const PKGS: &[(&str, &str)] = &[
            ("linux", "kernel"),
            ("openssl", "library"),
            ("curl", "library"),
            ("sudo", "utility"),
            ("glibc", "library"),
            ("openssh", "server"),
            ("python3", "interpreter"),
            ("vim", "editor"),
            ("git", "utility"),
            ("nss", "library"),
            ("libxml2", "library"),
            ("systemd", "service manager"),
            ("bind9", "server"),
            ("samba", "server"),
            ("postgresql", "server"),
            ("nginx", "server"),
            ("apache2", "server"),
            ("libtiff", "library"),
            ("imagemagick", "library"),
            ("ffmpeg", "library"),
            ("tar", "utility"),
            ("libssh", "library"),
            ("krb5", "library"),
            ("expat", "library"),
            ("zlib", "library"),
            ("sqlite3", "library"),
            ("perl", "interpreter"),
            ("xorg-server", "server"),
            ("ghostscript", "utility"),
            ("exim4", "server"),
            ("libwebp", "library"),
            ("nodejs", "runtime"),
            ("ruby", "interpreter"),
            ("php", "interpreter"),
            ("mysql", "server"),
            ("firefox", "browser"),
        ];
        let (bit, family, base_id) = match fam {
            OsFamily::Ubuntu => (fam_bit(fam), "Ubuntu Local Security Checks", 180_000),
            OsFamily::Rhel => (fam_bit(fam), "Red Hat Local Security Checks", 183_000),
            _ => (fam_bit(fam), "Debian Local Security Checks", 186_000),
        };
        for k in 0..count {
            let mut r = rng_for(self.seed, family, k as u64);
            let id = self.fresh_id(base_id + (k as u32 % 3) * 9000, &mut r);
            let (pkg, what) = PKGS[(k * 7 + r.random_range(0..5)) % PKGS.len()];
            let year = 2021 + (k % 5) as i32;
            let sev = severity_for(&mut r);
            let ncve = if pkg == "linux" {
                r.random_range(6..18)
            } else {
                r.random_range(1..7)
            };
            let cves = self.cves(&mut r, year, ncve);
            let adv_num = r.random_range(4000..7000);
            let (name, adv, synopsis, see, solution) = match fam {
                OsFamily::Ubuntu => {
                    let rel = ["20.04 LTS", "22.04 LTS"][k % 2];
                    let adv = format!("USN-{adv_num}-1");
                    (
                        format!("Ubuntu {rel} : {} vulnerabilities ({adv})", title_pkg(pkg)),
                        adv.clone(),
                        "The remote Ubuntu host is missing one or more security updates."
                            .to_string(),
                        vec![format!("https://ubuntu.com/security/notices/{adv}")],
                        "Update the affected packages.".to_string(),
                    )
                }
                OsFamily::Rhel => {
                    let rel = ["7", "8", "9"][k % 3];
                    let adv = format!("RHSA-{year}:{adv_num}");
                    (
                        format!("RHEL {rel} : {pkg} ({adv})"),
                        adv.clone(),
                        format!(
                            "The remote Red Hat host is missing one or more security updates for {pkg}."
                        ),
                        vec![
                            format!("https://access.redhat.com/errata/{adv}"),
                            "https://access.redhat.com/security/updates/classification/#important"
                                .into(),
                        ],
                        format!("Update the RHEL {pkg} package based on the guidance in {adv}."),
                    )
                }
                _ => {
                    let adv = format!("DSA-{}-1", adv_num + 1000);
                    (
                        format!("Debian {} : {pkg} - security update", adv.to_lowercase()),
                        adv.clone(),
                        "The remote Debian host is missing one or more security-related updates."
                            .into(),
                        vec![
                            format!(
                                "https://security-tracker.debian.org/tracker/source-package/{pkg}"
                            ),
                            format!(
                                "https://www.debian.org/security/{year}/{}",
                                adv.to_lowercase()
                            ),
                        ],
                        format!("Upgrade the {pkg} packages."),
                    )
                }
            };
            let mut desc = match fam {
                OsFamily::Ubuntu => format!(
                    "The remote Ubuntu host has packages installed that are affected by multiple vulnerabilities as referenced in the {adv} advisory.\n\n"
                ),
                OsFamily::Rhel => format!(
                    "The remote Redhat Enterprise Linux host has packages installed that are affected by multiple vulnerabilities as referenced in the {adv} advisory.\n\n"
                ),
                _ => format!(
                    "The remote Debian host has packages installed that are affected by multiple vulnerabilities as referenced in the {} advisory.\n\n",
                    adv.to_lowercase()
                ),
            };
            for cve in cves.iter().take(6) {
                desc.push_str(&flaw_paragraph(&mut r, pkg, what, cve, fam));
                desc.push_str("\n\n");
            }
            desc.push_str("Tenable has extracted the preceding description block directly from the advisory. Note that Nessus has not tested for these issues but has instead relied only on the application's self-reported version number.");
            let v1 = r.random_range(1..9);
            let v2 = r.random_range(0..40);
            let lines: Vec<String> = [
                pkg.to_string(),
                format!("lib{pkg}"),
                format!("{pkg}-common"),
                format!("{pkg}-dev"),
                format!("{pkg}-doc"),
                format!("lib{pkg}-data"),
            ]
            .iter()
            .map(|p| match fam {
                OsFamily::Rhel => format!(
                    "\n    Remote package installed : {p}-{v1}.{v2}.{{n}}-2.el8_9\n    Should be                : {p}-{v1}.{v2}.{}-3.el8_9\n",
                    v2 + 3
                ),
                _ => format!(
                    "\n  - Installed package : {p}_{v1}.{v2}.{{n}}-1ubuntu0.1\n    Fixed package     : {p}_{v1}.{v2}.{}-1ubuntu0.2\n",
                    v2 + 3
                ),
            })
            .collect();
            let mut s = Spec::new(id, name, family, sev);
            s.applies = Applies::Families(bit);
            s.port = PortRule::Host(Proto::Tcp);
            s.synopsis = synopsis;
            s.description = desc;
            s.solution = solution;
            s.see_also = see;
            s.kind = Some("local");
            s.year = year;
            s.cpe = vec![
                format!("p-cpe:/a:{}:{pkg}", family_vendor(fam)),
                format!("cpe:/o:{}", family_vendor(fam)),
            ];
            s.xrefs = vec![(adv_kind(fam), adv.clone())];
            s.cves = cves;
            s.output = Some(OutputTpl::new("", &lines, 1, 6, "\n"));
            self.push(s);
        }
    }

    // -----------------------------------------------------------------------------------
    // Windows cumulative updates
    // -----------------------------------------------------------------------------------

    fn windows_kbs(&mut self, count: usize) {
        const TARGETS: &[(&str, &str)] = &[
            (
                "Windows Server 2022 / Azure Stack HCI 22H2",
                "Microsoft Windows Server 2022",
            ),
            ("Windows Server 2019", "Microsoft Windows Server 2019"),
            ("Windows Server 2016", "Microsoft Windows Server 2016"),
            (
                "Windows 10 version 21H2 / Windows 10 Version 22H2",
                "Microsoft Windows 10",
            ),
            (
                "Windows 11 version 22H2 / Windows 11 version 23H2",
                "Microsoft Windows 11",
            ),
        ];
        const COMPONENTS: &[&str] = &[
            "Windows Pragmatic General Multicast (PGM)",
            "Windows Kernel",
            "Windows SmartScreen",
            "Windows Common Log File System Driver",
            "Windows Authentication Methods",
            "Windows Remote Procedure Call",
            "Microsoft Message Queuing",
            "Windows Cloud Files Mini Filter Driver",
            "Windows DHCP Server",
            "Windows Hyper-V",
            "Windows Internet Connection Sharing (ICS)",
            "Windows Layer 2 Tunneling Protocol",
            "Windows Win32k",
            "Windows Local Security Authority Subsystem Service (LSASS)",
            "Windows Print Spooler",
            "Windows TCP/IP",
        ];
        const KINDS: &[&str] = &[
            "Remote Code Execution Vulnerability",
            "Elevation of Privilege Vulnerability",
            "Security Feature Bypass Vulnerability",
            "Information Disclosure Vulnerability",
            "Denial of Service Vulnerability",
        ];
        for k in 0..count {
            let mut r = rng_for(self.seed, "winkb", k as u64);
            let id = self.fresh_id(170_000 + (k as u32 % 2) * 10_000, &mut r);
            let (target, prefix) = TARGETS[k % TARGETS.len()];
            let year = 2023 + (k / 12 % 2) as i32;
            let month = MONTHS[k % 12];
            let kb = 5_020_000 + r.random_range(0..19_999);
            let sev = if r.random_bool(0.55) { 4 } else { 3 };
            let ncve = r.random_range(6..22);
            let cves = self.cves(&mut r, year, ncve);
            let mut desc = format!(
                "The remote Windows host is missing security update {kb}. It is, therefore, affected by multiple vulnerabilities\n\n"
            );
            for cve in cves.iter().take(5) {
                desc.push_str(&format!(
                    "  - {} {} ({cve})\n\n",
                    COMPONENTS[r.random_range(0..COMPONENTS.len())],
                    KINDS[r.random_range(0..KINDS.len())]
                ));
            }
            desc.push_str("Note that Nessus has not tested for this issue but has instead relied only on the application's self-reported version number.");
            let build = r.random_range(1000..5000);
            let mut s = Spec::new(
                id,
                format!("KB{kb}: {target} Security Update ({month} {year})"),
                "Windows : Microsoft Bulletins",
                sev,
            );
            s.applies = Applies::OsPrefix(prefix);
            s.port = PortRule::Service("cifs");
            s.synopsis = "The remote Windows host is affected by multiple vulnerabilities.".into();
            s.description = desc;
            s.solution = format!("Apply Security Update {kb}");
            s.see_also = vec![
                format!("https://support.microsoft.com/help/{kb}"),
                "http://www.nessus.org/u?e6c1b4f0".into(),
            ];
            s.kind = Some("local");
            s.year = year;
            s.cpe = vec!["cpe:/o:microsoft:windows".into()];
            s.xrefs = vec![
                ("MSKB", kb.to_string()),
                ("MSFT", format!("MS{}-{kb}", year % 100)),
            ];
            s.vendor_severity = Some(if sev == 4 { "Critical" } else { "Important" });
            s.cves = cves;
            s.output = Some(OutputTpl::new(
                &format!(
                    "\nThe remote host is missing one of the following rollup KBs :\n  - {kb}\n\n"
                ),
                &[
                    format!(
                        "  - C:\\Windows\\system32\\ntoskrnl.exe has not been patched.\n    Remote version : 10.0.20348.{{n}}\n    Should be      : 10.0.20348.{build}\n\n"
                    ),
                    format!(
                        "  - C:\\Windows\\system32\\win32kfull.sys has not been patched.\n    Remote version : 10.0.20348.{{n}}\n    Should be      : 10.0.20348.{build}\n\n"
                    ),
                    format!(
                        "  - C:\\Windows\\system32\\drivers\\tcpip.sys has not been patched.\n    Remote version : 10.0.20348.{{n}}\n    Should be      : 10.0.20348.{build}\n\n"
                    ),
                ],
                1,
                3,
                "",
            ));
            self.push(s);
        }
    }

    // -----------------------------------------------------------------------------------
    // Application version checks
    // -----------------------------------------------------------------------------------

    fn apps(&mut self) {
        struct App {
            product: &'static str,
            family: &'static str,
            applies: Applies,
            port: PortRule,
            path: &'static str,
            cpe: &'static str,
            base: (u32, u32),
            advisory: &'static str,
            see: &'static str,
            count: usize,
        }
        use PortRule::{Host, Service};
        let w = Applies::Families(WIN);
        let l = Applies::Families(LINUX);
        let apps = [
            App {
                product: "Google Chrome",
                family: "Windows",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Program Files\\Google\\Chrome\\Application",
                cpe: "cpe:/a:google:chrome",
                base: (110, 0),
                advisory: "stable channel update",
                see: "https://chromereleases.googleblog.com/",
                count: 8,
            },
            App {
                product: "Mozilla Firefox",
                family: "Windows",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Program Files\\Mozilla Firefox",
                cpe: "cpe:/a:mozilla:firefox",
                base: (110, 0),
                advisory: "mfsa2023-",
                see: "https://www.mozilla.org/en-US/security/advisories/",
                count: 6,
            },
            App {
                product: "Microsoft Edge (Chromium)",
                family: "Windows",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application",
                cpe: "cpe:/a:microsoft:edge",
                base: (110, 0),
                advisory: "Microsoft Edge release notes",
                see: "https://learn.microsoft.com/en-us/deployedge/microsoft-edge-relnotes-security",
                count: 5,
            },
            App {
                product: "Adobe Acrobat Reader",
                family: "Windows",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat",
                cpe: "cpe:/a:adobe:acrobat_reader",
                base: (23, 1),
                advisory: "APSB23-",
                see: "https://helpx.adobe.com/security/products/acrobat.html",
                count: 4,
            },
            App {
                product: "Oracle Java SE",
                family: "Windows",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Program Files\\Java\\jre-1.8",
                cpe: "cpe:/a:oracle:jre",
                base: (8, 361),
                advisory: "Oracle Critical Patch Update",
                see: "https://www.oracle.com/security-alerts/",
                count: 4,
            },
            App {
                product: "7-Zip",
                family: "Windows",
                applies: w,
                port: Host(Proto::Tcp),
                path: "C:\\Program Files\\7-Zip",
                cpe: "cpe:/a:7-zip:7-zip",
                base: (22, 1),
                advisory: "7-Zip history",
                see: "https://www.7-zip.org/history.txt",
                count: 2,
            },
            App {
                product: "Notepad++",
                family: "Windows",
                applies: w,
                port: Host(Proto::Tcp),
                path: "C:\\Program Files\\Notepad++",
                cpe: "cpe:/a:notepad-plus-plus:notepad%2b%2b",
                base: (8, 4),
                advisory: "Notepad++ release notes",
                see: "https://notepad-plus-plus.org/news/",
                count: 2,
            },
            App {
                product: "Microsoft Office",
                family: "Windows : Microsoft Bulletins",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Program Files\\Microsoft Office\\root\\Office16",
                cpe: "cpe:/a:microsoft:office",
                base: (16, 0),
                advisory: "Microsoft Security Update Guide",
                see: "https://msrc.microsoft.com/update-guide/",
                count: 5,
            },
            App {
                product: "Microsoft .NET Framework",
                family: "Windows : Microsoft Bulletins",
                applies: w,
                port: Service("cifs"),
                path: "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319",
                cpe: "cpe:/a:microsoft:.net_framework",
                base: (4, 8),
                advisory: "Microsoft Security Update Guide",
                see: "https://msrc.microsoft.com/update-guide/",
                count: 4,
            },
            App {
                product: "Zoom Client for Meetings",
                family: "Windows",
                applies: w,
                port: Host(Proto::Tcp),
                path: "C:\\Users\\Public\\Zoom\\bin",
                cpe: "cpe:/a:zoom:meetings",
                base: (5, 14),
                advisory: "ZSB-23",
                see: "https://explore.zoom.us/en/trust/security/security-bulletin/",
                count: 3,
            },
            App {
                product: "Microsoft SQL Server",
                family: "Windows : Microsoft Bulletins",
                applies: w,
                port: Service("mssql"),
                path: "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER",
                cpe: "cpe:/a:microsoft:sql_server",
                base: (15, 0),
                advisory: "Microsoft Security Update Guide",
                see: "https://msrc.microsoft.com/update-guide/",
                count: 2,
            },
            App {
                product: "Apache HTTP Server",
                family: "Web Servers",
                applies: l,
                port: Service("www"),
                path: "/usr/sbin/apache2",
                cpe: "cpe:/a:apache:http_server",
                base: (2, 4),
                advisory: "Apache httpd 2.4 vulnerabilities",
                see: "https://httpd.apache.org/security/vulnerabilities_24.html",
                count: 5,
            },
            App {
                product: "nginx",
                family: "Web Servers",
                applies: l,
                port: Service("www"),
                path: "/usr/sbin/nginx",
                cpe: "cpe:/a:f5:nginx",
                base: (1, 22),
                advisory: "nginx security advisories",
                see: "http://nginx.org/en/security_advisories.html",
                count: 3,
            },
            App {
                product: "OpenSSH",
                family: "Misc.",
                applies: Applies::Families(LINUX | MAC),
                port: Service("ssh"),
                path: "/usr/sbin/sshd",
                cpe: "cpe:/a:openbsd:openssh",
                base: (8, 2),
                advisory: "OpenSSH release notes",
                see: "https://www.openssh.com/security.html",
                count: 4,
            },
            App {
                product: "OpenSSL",
                family: "Web Servers",
                applies: l,
                port: Service("www"),
                path: "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                cpe: "cpe:/a:openssl:openssl",
                base: (3, 0),
                advisory: "OpenSSL security advisory",
                see: "https://www.openssl.org/news/secadv/",
                count: 5,
            },
            App {
                product: "PHP",
                family: "CGI abuses",
                applies: l,
                port: Service("www"),
                path: "/usr/bin/php",
                cpe: "cpe:/a:php:php",
                base: (8, 1),
                advisory: "PHP changelog",
                see: "https://www.php.net/ChangeLog-8.php",
                count: 4,
            },
            App {
                product: "Apache Tomcat",
                family: "Web Servers",
                applies: l,
                port: Service("www"),
                path: "/opt/tomcat",
                cpe: "cpe:/a:apache:tomcat",
                base: (9, 0),
                advisory: "Apache Tomcat 9 security",
                see: "https://tomcat.apache.org/security-9.html",
                count: 4,
            },
            App {
                product: "MySQL Server",
                family: "Databases",
                applies: l,
                port: Service("mysql"),
                path: "/usr/sbin/mysqld",
                cpe: "cpe:/a:oracle:mysql",
                base: (8, 0),
                advisory: "Oracle Critical Patch Update",
                see: "https://www.oracle.com/security-alerts/",
                count: 4,
            },
            App {
                product: "PostgreSQL",
                family: "Databases",
                applies: l,
                port: Service("postgresql"),
                path: "/usr/lib/postgresql/14/bin/postgres",
                cpe: "cpe:/a:postgresql:postgresql",
                base: (14, 0),
                advisory: "PostgreSQL security",
                see: "https://www.postgresql.org/support/security/",
                count: 3,
            },
            App {
                product: "Samba",
                family: "Misc.",
                applies: l,
                port: Host(Proto::Tcp),
                path: "/usr/sbin/smbd",
                cpe: "cpe:/a:samba:samba",
                base: (4, 15),
                advisory: "Samba security releases",
                see: "https://www.samba.org/samba/history/security.html",
                count: 3,
            },
            App {
                product: "Apache Log4j",
                family: "Misc.",
                applies: Applies::Families(LINUX | WIN),
                port: Host(Proto::Tcp),
                path: "/opt/app/lib/log4j-core-2.14.1.jar",
                cpe: "cpe:/a:apache:log4j",
                base: (2, 14),
                advisory: "Apache Log4j security vulnerabilities",
                see: "https://logging.apache.org/log4j/2.x/security.html",
                count: 2,
            },
            App {
                product: "Node.js",
                family: "Misc.",
                applies: l,
                port: Host(Proto::Tcp),
                path: "/usr/bin/node",
                cpe: "cpe:/a:nodejs:node.js",
                base: (18, 12),
                advisory: "Node.js security releases",
                see: "https://nodejs.org/en/blog/vulnerability/",
                count: 3,
            },
            App {
                product: "Cisco IOS XE Software",
                family: "CISCO",
                applies: Applies::OsPrefix("Cisco"),
                port: Host(Proto::Tcp),
                path: "",
                cpe: "cpe:/o:cisco:ios_xe",
                base: (17, 6),
                advisory: "cisco-sa-iosxe-webui-privesc-j22SaA4z",
                see: "https://sec.cloudapps.cisco.com/security/center/publicationListing.x",
                count: 5,
            },
            App {
                product: "Fortinet FortiOS",
                family: "Firewalls",
                applies: Applies::OsPrefix("Fortinet"),
                port: Service("www"),
                path: "",
                cpe: "cpe:/o:fortinet:fortios",
                base: (7, 2),
                advisory: "FG-IR-23-097",
                see: "https://www.fortiguard.com/psirt",
                count: 7,
            },
            App {
                product: "Palo Alto Networks PAN-OS",
                family: "Palo Alto Local Security Checks",
                applies: Applies::OsPrefix("Palo Alto"),
                port: Host(Proto::Tcp),
                path: "",
                cpe: "cpe:/o:paloaltonetworks:pan-os",
                base: (10, 2),
                advisory: "PAN-SA-2023-0",
                see: "https://security.paloaltonetworks.com/",
                count: 7,
            },
            App {
                product: "HP LaserJet Printers",
                family: "Misc.",
                applies: Applies::OsPrefix("HP LaserJet"),
                port: Service("www"),
                path: "",
                cpe: "cpe:/h:hp:laserjet",
                base: (5, 6),
                advisory: "HPSBPI03",
                see: "https://support.hp.com/us-en/document/ish_7905330-7905358-16",
                count: 7,
            },
            App {
                product: "VMware ESXi",
                family: "VMware ESX Local Security Checks",
                applies: Applies::Families(ESX),
                port: Service("www"),
                path: "",
                cpe: "cpe:/o:vmware:esxi",
                base: (7, 0),
                advisory: "VMSA-2023-00",
                see: "https://www.vmware.com/security/advisories.html",
                count: 14,
            },
            App {
                product: "macOS",
                family: "MacOS X Local Security Checks",
                applies: Applies::Families(MAC),
                port: Host(Proto::Tcp),
                path: "",
                cpe: "cpe:/o:apple:mac_os_x",
                base: (13, 5),
                advisory: "HT2139",
                see: "https://support.apple.com/en-us/HT201222",
                count: 8,
            },
            App {
                product: "Google Chrome for Mac",
                family: "MacOS X Local Security Checks",
                applies: Applies::Families(MAC),
                port: Host(Proto::Tcp),
                path: "/Applications/Google Chrome.app",
                cpe: "cpe:/a:google:chrome",
                base: (110, 0),
                advisory: "stable channel update",
                see: "https://chromereleases.googleblog.com/",
                count: 5,
            },
            App {
                product: "Mozilla Firefox for Mac",
                family: "MacOS X Local Security Checks",
                applies: Applies::Families(MAC),
                port: Host(Proto::Tcp),
                path: "/Applications/Firefox.app",
                cpe: "cpe:/a:mozilla:firefox",
                base: (110, 0),
                advisory: "mfsa2023-",
                see: "https://www.mozilla.org/en-US/security/advisories/",
                count: 4,
            },
            App {
                product: "Cisco IOS Software",
                family: "CISCO",
                applies: Applies::OsPrefix("Cisco IOS 15"),
                port: Host(Proto::Tcp),
                path: "",
                cpe: "cpe:/o:cisco:ios",
                base: (15, 2),
                advisory: "cisco-sa-ios-",
                see: "https://sec.cloudapps.cisco.com/security/center/publicationListing.x",
                count: 4,
            },
        ];
        for app in apps {
            for k in 0..app.count {
                let mut r = rng_for(self.seed, app.product, k as u64);
                let id = self.fresh_id(150_000 + (k as u32 % 3) * 7000, &mut r);
                let year = 2021 + ((k + app.count) % 5) as i32;
                let sev = severity_for(&mut r);
                let (maj, min) = app.base;
                let installed = format!("{maj}.{}.{}", min + k as u32, r.random_range(0..30));
                let fixed = format!("{maj}.{}.{}", min + k as u32, r.random_range(30..60));
                let ncve = r.random_range(1..9);
                let cves = self.cves(&mut r, year, ncve);
                let adv = if app.advisory.ends_with('-') || app.advisory.ends_with('0') {
                    format!("{}{}", app.advisory, r.random_range(10..99))
                } else {
                    app.advisory.to_string()
                };
                let name = if cves.len() > 1 {
                    format!("{} < {fixed} Multiple Vulnerabilities", app.product)
                } else {
                    format!("{} < {fixed} Vulnerability", app.product)
                };
                let mut desc = format!(
                    "The version of {} installed on the remote host is prior to {fixed}. It is, therefore, affected by {} as referenced in the {adv} advisory.\n\n",
                    app.product,
                    if cves.len() > 1 {
                        "multiple vulnerabilities"
                    } else {
                        "a vulnerability"
                    }
                );
                for cve in cves.iter().take(5) {
                    desc.push_str(&format!(
                        "  - {}\n\n",
                        flaw_paragraph(&mut r, app.product, "application", cve, OsFamily::Windows)
                    ));
                }
                desc.push_str("Note that Nessus has not tested for these issues but has instead relied only on the application's self-reported version number.");
                let out = if app.path.is_empty() {
                    format!("\n  Installed version : {installed}\n  Fixed version     : {fixed}\n")
                } else {
                    format!(
                        "\n  Path              : {}\n  Installed version : {installed}\n  Fixed version     : {fixed}\n",
                        app.path
                    )
                };
                let mut s = Spec::new(id, name, app.family, sev);
                s.applies = app.applies;
                s.port = app.port;
                s.synopsis = format!(
                    "The {} installed on the remote host is affected by {}.",
                    app.product,
                    if cves.len() > 1 {
                        "multiple vulnerabilities"
                    } else {
                        "a vulnerability"
                    }
                );
                s.description = desc;
                s.solution = format!("Upgrade to {} version {fixed} or later.", app.product);
                s.see_also = vec![
                    app.see.to_string(),
                    format!(
                        "http://www.nessus.org/u?{}",
                        crate::util::hex_from(u64::from(id), 8)
                    ),
                ];
                s.kind = Some(match app.port {
                    PortRule::Service("cifs") | PortRule::Host(_) => "local",
                    _ => "remote",
                });
                s.year = year;
                s.cpe = vec![app.cpe.to_string()];
                if app.advisory.starts_with("cisco-sa") {
                    s.xrefs = vec![
                        ("CISCO-SA", adv.clone()),
                        (
                            "CISCO-BUG-ID",
                            format!("CSCwh{}", r.random_range(10_000..99_999)),
                        ),
                    ];
                } else if year < 2022 && r.random_bool(0.4) {
                    s.bid = vec![r.random_range(100_000..109_999)];
                }
                s.cves = cves;
                if r.random_bool(0.92) {
                    s.output = Some(OutputTpl::simple(&out));
                }
                self.push(s);
            }
        }
    }
}

fn short_name(name: &str) -> String {
    name.split([' ', ':']).take(3).collect::<Vec<_>>().join(" ")
}

fn severity_for(r: &mut SmallRng) -> u8 {
    match r.random_range(0..100) {
        0..=14 => 4,
        15..=54 => 3,
        55..=89 => 2,
        _ => 1,
    }
}

fn title_pkg(pkg: &str) -> String {
    match pkg {
        "linux" => "Linux kernel".into(),
        "openssl" => "OpenSSL".into(),
        "curl" => "curl".into(),
        "glibc" => "GNU C Library".into(),
        "openssh" => "OpenSSH".into(),
        "python3" => "Python".into(),
        "vim" => "Vim".into(),
        "postgresql" => "PostgreSQL".into(),
        "apache2" => "Apache HTTP Server".into(),
        "imagemagick" => "ImageMagick".into(),
        "ffmpeg" => "FFmpeg".into(),
        "nodejs" => "Node.js".into(),
        "firefox" => "Firefox".into(),
        p => {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn family_vendor(f: OsFamily) -> &'static str {
    match f {
        OsFamily::Ubuntu => "canonical:ubuntu_linux",
        OsFamily::Rhel => "redhat:enterprise_linux",
        _ => "debian:debian_linux",
    }
}

fn adv_kind(f: OsFamily) -> &'static str {
    match f {
        OsFamily::Ubuntu => "USN",
        OsFamily::Rhel => "RHSA",
        _ => "DSA",
    }
}

/// One realistic paragraph about one CVE.
fn flaw_paragraph(r: &mut SmallRng, pkg: &str, what: &str, cve: &str, fam: OsFamily) -> String {
    const WHO: &[&str] = &[
        "It was discovered that",
        "Jann Horn discovered that",
        "Ziming Zhang discovered that",
        "Lin Ma discovered that",
        "Hangyu Hua discovered that",
        "Zhang Wei discovered that",
        "It was found that",
        "Several security researchers discovered that",
    ];
    const FLAW: &[(&str, &str)] = &[
        (
            "did not properly handle certain malformed input, leading to a heap-based buffer overflow",
            "cause a denial of service (application crash) or possibly execute arbitrary code",
        ),
        (
            "contained a use-after-free vulnerability when processing specially crafted data",
            "cause a denial of service (system crash) or possibly execute arbitrary code",
        ),
        (
            "did not properly validate the length of user-supplied data, leading to an out-of-bounds read",
            "expose sensitive information",
        ),
        (
            "incorrectly handled memory when processing certain requests",
            "cause a denial of service",
        ),
        (
            "contained a race condition in its reference counting",
            "escalate privileges",
        ),
        (
            "did not properly perform bounds checking, resulting in an integer overflow",
            "execute arbitrary code",
        ),
        (
            "incorrectly validated certificates in some situations",
            "conduct man-in-the-middle attacks and obtain sensitive information",
        ),
        (
            "did not properly restrict access to certain resources",
            "bypass intended access restrictions",
        ),
        (
            "contained a NULL pointer dereference when handling certain error conditions",
            "cause a denial of service",
        ),
        (
            "was vulnerable to an SQL injection attack through unsanitized input",
            "modify or disclose data in the database",
        ),
    ];
    const COMPONENT: &[&str] = &[
        "netfilter subsystem",
        "network packet parser",
        "X.509 certificate verification code",
        "HTTP/2 implementation",
        "file system implementation",
        "authentication module",
        "decompression routines",
        "IPv6 stack",
        "Bluetooth subsystem",
        "command line parser",
    ];
    let who = WHO[r.random_range(0..WHO.len())];
    let (flaw, impact) = FLAW[r.random_range(0..FLAW.len())];
    let comp = COMPONENT[r.random_range(0..COMPONENT.len())];
    let attacker = if r.random_bool(0.6) {
        "A remote attacker"
    } else {
        "A local attacker"
    };
    match fam {
        OsFamily::Rhel => format!(
            "{pkg}: the {comp} {flaw}. {attacker} could use this issue to {impact}. ({cve})"
        ),
        _ => format!(
            "{who} the {comp} in the {pkg} {what} {flaw}. {attacker} could possibly use this issue to {impact}. ({cve})"
        ),
    }
}

/// Host context for rendering outputs of a device (owned strings reused for all findings).
pub(crate) struct DeviceText {
    pub ip: String,
    pub host: String,
    pub fqdn: String,
    pub mac_upper: String,
}

impl DeviceText {
    pub(crate) fn new(d: &Device) -> DeviceText {
        let ip = d.ipv4_string();
        DeviceText {
            fqdn: d.fqdn.clone().unwrap_or_else(|| ip.clone()),
            host: d.hostname.clone(),
            mac_upper: d
                .macs
                .first()
                .map(|m| mac_string(m, true))
                .unwrap_or_default(),
            ip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_valid_and_sized() {
        let c = Catalog::generate(42);
        assert!(c.plugins.len() >= 250, "{}", c.plugins.len());
        println!("catalog: {} plugins", c.plugins.len());
        let mut ids = HashSet::new();
        for p in &c.plugins {
            assert!(ids.insert(p.id));
            let v: serde_json::Value = serde_json::from_slice(&p.json).expect("plugin json");
            assert_eq!(v["id"], p.id);
            assert!(v["description"].as_str().is_some_and(|d| !d.is_empty()));
        }
        let with_cve = c.plugins.iter().filter(|p| !p.cves.is_empty()).count();
        assert!(with_cve > 100 && with_cve < c.plugins.len());
        // Every device family has a pool large enough for 40 distinct plugins.
        for i in 0..3000 {
            let d = Device::generate(42, i);
            assert!(
                c.pool_for(&d).len() >= 40,
                "{} {}",
                d.os.name,
                c.pool_for(&d).len()
            );
        }
    }

    #[test]
    fn output_renders_valid_json_string() {
        let c = Catalog::generate(1);
        let d = Device::generate(1, 3);
        let t = DeviceText::new(&d);
        for p in &c.plugins {
            if let Some(o) = &p.output {
                let mut buf = b"\"".to_vec();
                o.render(
                    &mut buf,
                    &OutCtx {
                        ip: &t.ip,
                        host: &t.host,
                        fqdn: &t.fqdn,
                        port: 443,
                        svc: "www",
                        os: d.os.name,
                        devtype: d.os.device_type,
                        mac: &t.mac_upper,
                        var: 12345,
                    },
                );
                buf.push(b'"');
                let s: String = serde_json::from_slice(&buf).expect("valid json string");
                assert!(!s.contains("{ip}"));
            }
        }
    }
}
