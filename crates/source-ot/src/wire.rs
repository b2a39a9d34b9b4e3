//! OT Security GraphQL and REST shapes, field names exactly as the appliance sends them.
//! Unknown fields are ignored; every field the connector does not need to identify a record
//! is optional (appliance versions differ, and a missing value maps to `null`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The GraphQL response envelope: `data` and/or `errors`; pyTenable also saw
/// `{"error": {"errors": [...]}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// Root fields → their value (`null` when the resolver failed).
    #[serde(borrow, default)]
    pub data: Option<BTreeMap<String, Option<&'a RawValue>>>,
    /// GraphQL errors.
    #[serde(default)]
    pub errors: Option<Vec<GraphqlError>>,
    /// The wrapper pyTenable handles.
    #[serde(default)]
    pub error: Option<ErrorWrapper>,
}

/// `{"error": {"errors": [...]}}`.
#[derive(Debug, Deserialize)]
pub struct ErrorWrapper {
    /// The errors.
    #[serde(default)]
    pub errors: Vec<GraphqlError>,
}

/// One GraphQL error.
#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlError {
    /// What went wrong.
    #[serde(default)]
    pub message: Option<String>,
    /// Path of the failing field; strings and indexes.
    #[serde(default)]
    pub path: Option<Vec<serde_json::Value>>,
    /// `{"code": "GRAPHQL_VALIDATION_FAILED", …}`.
    #[serde(default)]
    pub extensions: Option<Extensions>,
}

/// GraphQL error extensions.
#[derive(Debug, Clone, Deserialize)]
pub struct Extensions {
    /// Apollo error code.
    #[serde(default)]
    pub code: Option<String>,
}

/// A Relay connection page; nodes kept raw so each record's JSON text is stored as received.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection<'a> {
    /// Paging state.
    #[serde(default)]
    pub page_info: PageInfo,
    /// The records.
    #[serde(borrow, default)]
    pub nodes: Vec<&'a RawValue>,
    /// Total of the filtered list; `-1` on a count timeout; absent when not selected.
    #[serde(default)]
    pub total_count: Option<i64>,
}

/// Relay `PageInfo`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// More records after this page (absent in pyTenable's selection).
    #[serde(default)]
    pub has_next_page: Option<bool>,
    /// Cursor of the last record of the page.
    #[serde(default)]
    pub end_cursor: Option<String>,
}

/// `{ nodes: [String] }`.
#[derive(Debug, Default, Deserialize)]
pub struct StringConnection {
    /// The strings (null entries tolerated).
    #[serde(default)]
    pub nodes: Vec<Option<String>>,
}

/// `{ nodes: [T] }`.
#[derive(Debug, Deserialize)]
pub struct Nodes<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

/// `Asset` (reference §3.6).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Asset {
    /// UUID.
    pub id: String,
    /// Chosen name.
    #[serde(default)]
    pub name: Option<String>,
    /// `Plc`, `Cp`, `Server`, `OtDevice`, …
    #[serde(default, rename = "type")]
    pub asset_type: Option<String>,
    /// `Controller`, `Server`, …
    #[serde(default)]
    pub super_type: Option<String>,
    /// `ControllersCategory`, …
    #[serde(default)]
    pub category: Option<String>,
    /// Vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Product family.
    #[serde(default)]
    pub family: Option<String>,
    /// Model.
    #[serde(default)]
    pub model: Option<String>,
    /// Firmware version.
    #[serde(default)]
    pub firmware_version: Option<String>,
    /// Serial number.
    #[serde(default)]
    pub serial: Option<String>,
    /// Backplane slot.
    #[serde(default)]
    pub slot: Option<i64>,
    /// Operating system.
    #[serde(default)]
    pub os: Option<String>,
    /// `Level1`, …
    #[serde(default)]
    pub purdue_level: Option<String>,
    /// `HighCriticality`, …
    #[serde(default)]
    pub criticality: Option<String>,
    /// Hidden by a user.
    #[serde(default)]
    pub hidden: Option<bool>,
    /// First seen.
    #[serde(default)]
    pub first_seen: Option<String>,
    /// Last seen.
    #[serde(default)]
    pub last_seen: Option<String>,
    /// Last modification of the record (the incremental key).
    #[serde(default)]
    pub last_update: Option<String>,
    /// Risk.
    #[serde(default)]
    pub risk: Option<Risk>,
    /// All IPs.
    #[serde(default)]
    pub ips: Option<StringConnection>,
    /// All MACs.
    #[serde(default)]
    pub macs: Option<StringConnection>,
    /// IPs of the asset's own interfaces.
    #[serde(default)]
    pub direct_ips: Option<StringConnection>,
    /// MACs of the asset's own interfaces.
    #[serde(default)]
    pub direct_macs: Option<StringConnection>,
    /// The backplane the module sits in.
    #[serde(default)]
    pub backplane: Option<Backplane>,
    /// Network segments.
    #[serde(default)]
    pub segments: Option<Nodes<Segment>>,
}

/// `{ totalRisk, unresolvedEvents }`; `totalRisk` is a number (a string in Elastic's mocks).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    /// 0–100.
    #[serde(default)]
    pub total_risk: Option<Box<RawValue>>,
    /// Open events.
    #[serde(default)]
    pub unresolved_events: Option<i64>,
}

/// A backplane.
#[derive(Debug, Deserialize)]
pub struct Backplane {
    /// UUID.
    #[serde(default)]
    pub id: Option<String>,
    /// `Backplane #17`.
    #[serde(default)]
    pub name: Option<String>,
    /// Slots.
    #[serde(default)]
    pub size: Option<i64>,
}

/// A network segment.
#[derive(Debug, Deserialize)]
pub struct Segment {
    /// UUID.
    #[serde(default)]
    pub id: Option<String>,
    /// `Controller / 10.100.101.X`.
    #[serde(default)]
    pub name: Option<String>,
}

/// `Plugin` (reference §3.7), with `details` when selected.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plugin {
    /// Plugin id.
    pub id: i64,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// `Tot`, `NNM`, `Nessus`.
    #[serde(default)]
    pub source: Option<String>,
    /// Family.
    #[serde(default)]
    pub family: Option<String>,
    /// `Info`, `Low`, `Medium`, `High`, `Critical`.
    #[serde(default)]
    pub severity: Option<String>,
    /// VPR.
    #[serde(default)]
    pub vpr_score: Option<Box<RawValue>>,
    /// Details.
    #[serde(default)]
    pub details: Option<PluginDetails>,
}

/// `PluginDetail`: CVSS scores arrive as strings.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginDetails {
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Solution.
    #[serde(default)]
    pub solution: Option<String>,
    /// References; CVEs are `{"name": "CVE", "value": "CVE-…"}`.
    #[serde(default)]
    pub refs: Option<Vec<Ref>>,
    /// CVSS v2 base score.
    #[serde(default)]
    pub cvss_base_score: Option<Box<RawValue>>,
    /// CVSS v3 base score.
    #[serde(default)]
    pub cvss_v3_base_score: Option<Box<RawValue>>,
}

/// A plugin reference.
#[derive(Debug, Deserialize)]
pub struct Ref {
    /// `CVE`, `BID`, …
    #[serde(default)]
    pub name: Option<String>,
    /// The id.
    #[serde(default)]
    pub value: Option<String>,
}

/// `Finding` (GraphQL `findings`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// 64-hex id.
    #[serde(default)]
    pub id: Option<String>,
    /// `Active`, `Resolved`, `Resurfaced`.
    #[serde(default)]
    pub status: Option<String>,
    /// First hit.
    #[serde(default)]
    pub first_hit: Option<String>,
    /// Last hit.
    #[serde(default)]
    pub last_hit: Option<String>,
    /// Fixed at.
    #[serde(default)]
    pub fixed_at: Option<String>,
    /// Port.
    #[serde(default)]
    pub port: Option<i64>,
    /// Protocol.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Service name.
    #[serde(default)]
    pub svc_name: Option<String>,
    /// Plugin output.
    #[serde(default)]
    pub output: Option<String>,
    /// The asset.
    #[serde(default)]
    pub asset: Option<AssetRef>,
    /// The plugin.
    #[serde(default)]
    pub plugin: Option<Plugin>,
}

/// The asset of a finding or an event.
#[derive(Debug, Deserialize)]
pub struct AssetRef {
    /// UUID.
    #[serde(default)]
    pub id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// IPs.
    #[serde(default)]
    pub ips: Option<StringConnection>,
}

/// `Event` (reference §3.8).
#[derive(Debug, Deserialize)]
pub struct Event {
    /// UUID.
    pub id: String,
    /// Event type details.
    #[serde(default, rename = "eventType")]
    pub event_type: Option<EventType>,
    /// Source IP.
    #[serde(default, rename = "srcIP")]
    pub src_ip: Option<String>,
    /// Destination IP.
    #[serde(default, rename = "dstIP")]
    pub dst_ip: Option<String>,
    /// Source MAC.
    #[serde(default, rename = "srcMac")]
    pub src_mac: Option<String>,
    /// Destination MAC.
    #[serde(default, rename = "dstMac")]
    pub dst_mac: Option<String>,
    /// `TCP`, `BROWSER`, …
    #[serde(default, rename = "protocolRaw")]
    pub protocol_raw: Option<String>,
    /// Nice protocol name.
    #[serde(default, rename = "protocolNiceName")]
    pub protocol_nice_name: Option<String>,
    /// `sip (tcp/5060)`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Port.
    #[serde(default)]
    pub port: Option<i64>,
    /// The policy that fired.
    #[serde(default)]
    pub policy: Option<Policy>,
    /// When.
    #[serde(default)]
    pub time: Option<String>,
    /// `Low`, `Medium`, `High`, `None`.
    #[serde(default)]
    pub severity: Option<String>,
    /// `NetworkEvents`, …
    #[serde(default)]
    pub category: Option<String>,
    /// `OpenPort`, `Conversation`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Resolved by an operator.
    #[serde(default)]
    pub resolved: Option<bool>,
    /// Source assets.
    #[serde(default, rename = "srcAssets")]
    pub src_assets: Option<Nodes<AssetRef>>,
    /// Destination assets.
    #[serde(default, rename = "dstAssets")]
    pub dst_assets: Option<Nodes<AssetRef>>,
}

/// `EventTypeDetails`.
#[derive(Debug, Deserialize)]
pub struct EventType {
    /// `OpenPort`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `Open Port`.
    #[serde(default)]
    pub description: Option<String>,
    /// `NetworkEvents`.
    #[serde(default)]
    pub category: Option<String>,
}

/// The policy of an event.
#[derive(Debug, Deserialize)]
pub struct Policy {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
}
