use serde::{Deserialize, Serialize};

use crate::{Severity, SourceKind, Timestamp};

/// One security event (an OT Security policy hit: a new conversation, an open port, a PLC
/// program change, …) as one source reports it. Events are immutable records identified by
/// their source-native id; a later sync may only change `resolved`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The configured source name.
    pub source: String,
    /// The product the source is.
    pub kind: SourceKind,
    /// The source-native event id.
    pub id: String,
    /// When the event happened.
    pub time: Option<Timestamp>,
    /// Event type as the product names it (`OpenPort`, `Conversation`, `PlcProgramChange`, …).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Event category (`NetworkEvents`, `ConfigurationEvents`, …).
    pub category: Option<String>,
    /// Severity of the policy that fired; `None` when the product gives none or "none".
    pub severity: Option<Severity>,
    /// Human description of the event type.
    pub description: Option<String>,
    /// Title of the policy that fired.
    pub policy: Option<String>,
    /// Source IP address.
    pub src_ip: Option<String>,
    /// Destination IP address.
    pub dst_ip: Option<String>,
    /// Source MAC, lowercase colon form.
    pub src_mac: Option<String>,
    /// Destination MAC, lowercase colon form.
    pub dst_mac: Option<String>,
    /// Protocol as the product shows it (`sip (tcp/5060)`, `TCP`, …).
    pub protocol: Option<String>,
    /// Destination port, when there is one.
    pub port: Option<i64>,
    /// Source-native ids of the assets involved (source assets, then destination assets).
    pub asset_ids: Vec<String>,
    /// Whether an operator resolved the event.
    pub resolved: bool,
}
