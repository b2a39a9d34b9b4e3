use serde::{Deserialize, Serialize};

use crate::{FindingState, Severity, SourceKind, Timestamp};

/// One vulnerability instance: a plugin result on one asset, port and protocol, as one source
/// reports it. The JSON form is the contract of `ARCHITECTURE.md` §4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The configured source name (`[[sources]] name`).
    pub source: String,
    /// The product the source is.
    pub kind: SourceKind,
    /// Stable key within the source, see [`finding_key`].
    pub id: String,
    /// The source-native asset id (VM asset uuid, SC host key, OT asset id).
    pub asset_id: String,
    /// The correlated asset, once correlation has run.
    pub unified_asset_id: Option<String>,
    /// Tenable plugin id.
    pub plugin_id: i64,
    /// Plugin name.
    pub plugin_name: Option<String>,
    /// Plugin family.
    pub plugin_family: Option<String>,
    /// Current (possibly recast) severity.
    pub severity: Severity,
    /// Lifecycle state.
    pub state: FindingState,
    /// Port; 0 for host-level findings.
    pub port: i64,
    /// Lowercase protocol (`tcp`, `udp`, `icmp`).
    pub protocol: String,
    /// Service name detected on the port.
    pub service: Option<String>,
    /// CVE ids, uppercase, sorted and unique.
    pub cves: Vec<String>,
    /// CVSS v3 base score.
    pub cvss3_base_score: Option<f64>,
    /// CVSS v2 base score.
    pub cvss2_base_score: Option<f64>,
    /// Tenable Vulnerability Priority Rating.
    pub vpr_score: Option<f64>,
    /// When the source first found it.
    pub first_found: Option<Timestamp>,
    /// When the source last found it.
    pub last_found: Option<Timestamp>,
    /// When the source last saw it fixed.
    pub last_fixed: Option<Timestamp>,
    /// Host name of the asset as the finding reports it.
    pub hostname: Option<String>,
    /// IPv4 address of the asset as the finding reports it.
    pub ipv4: Option<String>,
    /// Plugin synopsis.
    pub synopsis: Option<String>,
    /// Plugin solution.
    pub solution: Option<String>,
    /// Plugin output.
    pub output: Option<String>,
}

/// The stable key of a finding within a source: asset, plugin, port and protocol — the natural
/// key Tenable's own integrations use.
///
/// ```
/// assert_eq!(tenax_model::finding_key("a1", 19506, 0, "TCP"), "a1:19506:0:tcp");
/// ```
pub fn finding_key(asset_id: &str, plugin_id: i64, port: i64, protocol: &str) -> String {
    let mut key = String::with_capacity(asset_id.len() + 24);
    key.push_str(asset_id);
    key.push(':');
    key.push_str(&plugin_id.to_string());
    key.push(':');
    key.push_str(&port.to_string());
    key.push(':');
    for c in protocol.chars() {
        key.push(c.to_ascii_lowercase());
    }
    key
}
