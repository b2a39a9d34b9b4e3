use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{SourceKind, Timestamp};

/// One asset as one source knows it. The JSON form is the contract of `ARCHITECTURE.md` §4.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// The configured source name.
    pub source: String,
    /// The product the source is.
    pub kind: Option<SourceKind>,
    /// The source-native asset id.
    pub id: String,
    /// The correlated asset, once correlation has run.
    pub unified_id: Option<String>,
    /// Best display name (FQDN, host name, NetBIOS name or IP, in that order).
    pub name: Option<String>,
    /// Short host names.
    pub hostnames: Vec<String>,
    /// Fully qualified domain names.
    pub fqdns: Vec<String>,
    /// IPv4 addresses.
    pub ipv4s: Vec<String>,
    /// IPv6 addresses.
    pub ipv6s: Vec<String>,
    /// MAC addresses, lowercase colon form.
    pub macs: Vec<String>,
    /// Operating systems as reported.
    pub operating_systems: Vec<String>,
    /// Device type (`server`, `workstation`, `plc`, `hmi`, …) as the product reports it.
    #[serde(rename = "type")]
    pub asset_type: Option<String>,
    /// Hardware vendor.
    pub vendor: Option<String>,
    /// Hardware model.
    pub model: Option<String>,
    /// Firmware version.
    pub firmware: Option<String>,
    /// First seen by the source.
    pub first_seen: Option<Timestamp>,
    /// Last seen by the source.
    pub last_seen: Option<Timestamp>,
    /// Tags, `category → value` (several values of one category are joined with `, `).
    pub tags: BTreeMap<String, String>,
    /// Risk or criticality score as the product computes it.
    pub risk: Option<f64>,
    /// When the source deleted or terminated the asset; `null` while it is live.
    pub deleted_at: Option<Timestamp>,
}
