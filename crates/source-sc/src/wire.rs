//! Security Center wire types, named as in SC's JSON. Tolerant: every field is optional,
//! numbers may arrive as strings or JSON numbers (both are kept as text), unknown fields are
//! ignored. Records borrow from the response bytes where they can.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The envelope around every SC JSON answer:
/// `{type, response, error_code, error_msg, warnings, timestamp}`.
///
/// `response` is kept raw: it is `""` or `[]` on errors and an object or array otherwise.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// `regular`.
    #[serde(borrow, default, rename = "type", deserialize_with = "opt_text")]
    pub kind: Option<Cow<'a, str>>,
    /// The payload.
    #[serde(borrow, default)]
    pub response: Option<&'a RawValue>,
    /// 0 = success (12 invalid token, 146 invalid parameters, 147 not found, 161 bad login).
    #[serde(default, deserialize_with = "opt_i64")]
    pub error_code: Option<i64>,
    /// Error text (often with a trailing newline).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub error_msg: Option<Cow<'a, str>>,
    /// Warnings, shapes vary.
    #[serde(borrow, default)]
    pub warnings: Option<&'a RawValue>,
    /// Server time, epoch seconds.
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
}

impl Envelope<'_> {
    /// `Some((code, message))` when the envelope reports an error (non-zero `error_code`);
    /// the message is trimmed.
    pub fn error(&self) -> Option<(i64, String)> {
        match self.error_code {
            Some(code) if code != 0 => Some((
                code,
                self.error_msg.as_deref().unwrap_or("").trim().to_owned(),
            )),
            _ => None,
        }
    }

    /// The payload parsed as `T`.
    pub fn response_as<'b, T: Deserialize<'b>>(&'b self) -> Result<T, serde_json::Error> {
        let raw = self.response.map(RawValue::get).unwrap_or("null");
        serde_json::from_str(raw)
    }
}

/// `response` of `POST /rest/analysis` with a list tool. Paging is the half-open window
/// `[startOffset, endOffset)`; `totalRecords` is a string, `returnedRecords` a number.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisPage<'a> {
    /// Rows matching the query in all.
    #[serde(default, deserialize_with = "opt_i64")]
    pub total_records: Option<i64>,
    /// Rows in this page.
    #[serde(default, deserialize_with = "opt_i64")]
    pub returned_records: Option<i64>,
    /// Echo of the requested start.
    #[serde(default, deserialize_with = "opt_i64")]
    pub start_offset: Option<i64>,
    /// Echo of the requested end (exclusive).
    #[serde(default, deserialize_with = "opt_i64")]
    pub end_offset: Option<i64>,
    /// `"-1"` for detail tools, colon-separated counts for summary tools.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub matching_data_element_count: Option<Cow<'a, str>>,
    /// The rows, raw (each is stored as is and mapped on its own).
    #[serde(borrow, default)]
    pub results: Vec<&'a RawValue>,
}

/// `{id, name, description}` of `severity`.
#[derive(Debug, Default, Deserialize)]
pub struct SeverityRef<'a> {
    /// `"0"`..`"4"`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub id: Option<Cow<'a, str>>,
    /// `Info`..`Critical`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub name: Option<Cow<'a, str>>,
    /// `Informative`, `Critical Severity`, …
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub description: Option<Cow<'a, str>>,
}

/// `{id, name, description, dataFormat}` of `repository`; `id` is `-1` (a number) on
/// individual-scan rows.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryRef<'a> {
    /// Repository id.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub id: Option<Cow<'a, str>>,
    /// Name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub name: Option<Cow<'a, str>>,
    /// Description.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub description: Option<Cow<'a, str>>,
    /// `IPv4`, `IPv6`, `agent`, `mobile`, `universal`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub data_format: Option<Cow<'a, str>>,
}

/// `{id, name, type}` of `family`.
#[derive(Debug, Default, Deserialize)]
pub struct FamilyRef<'a> {
    /// Family id.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub id: Option<Cow<'a, str>>,
    /// Name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub name: Option<Cow<'a, str>>,
    /// `active`, `passive`, `lce`.
    #[serde(borrow, default, rename = "type", deserialize_with = "opt_text")]
    pub kind: Option<Cow<'a, str>>,
}

/// One `vulndetails` row (also reads `listvuln` rows, which carry a subset). Only the fields
/// the mapping uses are named; the store keeps the raw row.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VulnDetail<'a> {
    /// Plugin id.
    #[serde(borrow, default, rename = "pluginID", deserialize_with = "opt_text")]
    pub plugin_id: Option<Cow<'a, str>>,
    /// Plugin name (`name` on `listvuln` rows).
    #[serde(borrow, default, alias = "name", deserialize_with = "opt_text")]
    pub plugin_name: Option<Cow<'a, str>>,
    /// Severity (possibly recast).
    #[serde(borrow, default)]
    pub severity: Option<SeverityRef<'a>>,
    /// `"1"` on a cumulative row = fixed once, seen again.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub has_been_mitigated: Option<Cow<'a, str>>,
    /// IPv4 (or IPv6) address.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub ip: Option<Cow<'a, str>>,
    /// Agent / host uuid or `""`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub uuid: Option<Cow<'a, str>>,
    /// SC 6.x host uuid or `""`.
    #[serde(borrow, default, rename = "hostUUID", deserialize_with = "opt_text")]
    pub host_uuid: Option<Cow<'a, str>>,
    /// Port.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub port: Option<Cow<'a, str>>,
    /// `TCP`/`UDP`/`ICMP` (or the IP protocol number).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub protocol: Option<Cow<'a, str>>,
    /// Epoch seconds.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub first_seen: Option<Cow<'a, str>>,
    /// Epoch seconds.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub last_seen: Option<Cow<'a, str>>,
    /// Epoch seconds (patched rows).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub last_mitigated: Option<Cow<'a, str>>,
    /// Synopsis.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub synopsis: Option<Cow<'a, str>>,
    /// Solution.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub solution: Option<Cow<'a, str>>,
    /// VPR, `""` when none.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub vpr_score: Option<Cow<'a, str>>,
    /// CVSS v2 base score.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub base_score: Option<Cow<'a, str>>,
    /// CVSS v3 base score.
    #[serde(
        borrow,
        default,
        rename = "cvssV3BaseScore",
        deserialize_with = "opt_text"
    )]
    pub cvss_v3_base_score: Option<Cow<'a, str>>,
    /// Comma-separated CVE ids.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub cve: Option<Cow<'a, str>>,
    /// `<plugin_output>…</plugin_output>`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub plugin_text: Option<Cow<'a, str>>,
    /// DNS name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub dns_name: Option<Cow<'a, str>>,
    /// `WORKGROUP\NAME`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub netbios_name: Option<Cow<'a, str>>,
    /// MAC address.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub mac_address: Option<Cow<'a, str>>,
    /// Operating system (6.x).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub operating_system: Option<Cow<'a, str>>,
    /// Plugin family.
    #[serde(borrow, default)]
    pub family: Option<FamilyRef<'a>>,
    /// Repository the row is in.
    #[serde(borrow, default)]
    pub repository: Option<RepositoryRef<'a>>,
}

/// One `sumip` row (per-host summary); also reads `deviceInfo` rows (`os`, `lastScan`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostSummary<'a> {
    /// IP address.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub ip: Option<Cow<'a, str>>,
    /// Agent / host uuid or `""`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub uuid: Option<Cow<'a, str>>,
    /// SC 6.x host uuid, when sent.
    #[serde(borrow, default, rename = "hostUUID", deserialize_with = "opt_text")]
    pub host_uuid: Option<Cow<'a, str>>,
    /// DNS name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub dns_name: Option<Cow<'a, str>>,
    /// `WORKGROUP\NAME`.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub netbios_name: Option<Cow<'a, str>>,
    /// MAC address.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub mac_address: Option<Cow<'a, str>>,
    /// OS CPE (`cpe:/o:freebsd:freebsd:11.1`).
    #[serde(borrow, default, rename = "osCPE", deserialize_with = "opt_text")]
    pub os_cpe: Option<Cow<'a, str>>,
    /// OS name (`deviceInfo`).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub os: Option<Cow<'a, str>>,
    /// Epoch seconds of the last scan (`deviceInfo`).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub last_scan: Option<Cow<'a, str>>,
    /// Epoch seconds of the last credentialed scan.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub last_auth_run: Option<Cow<'a, str>>,
    /// Epoch seconds of the last uncredentialed scan.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub last_unauth_run: Option<Cow<'a, str>>,
    /// Asset Criticality Rating (6.x), when sent.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub acr_score: Option<Cow<'a, str>>,
    /// Repository.
    #[serde(borrow, default)]
    pub repository: Option<RepositoryRef<'a>>,
}

/// One host of the SC 6.x inventory (`GET /rest/hosts`, `POST /rest/hosts/search`). Shapes
/// of `source`, `acr` and `aes` are undocumented; only text fields are read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostRecord<'a> {
    /// Numeric host id (text).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub id: Option<Cow<'a, str>>,
    /// Host uuid (the `hostUUID` of its `vulndetails` rows); empty for hosts tracked by
    /// address only.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub uuid: Option<Cow<'a, str>>,
    /// Tenable-wide asset uuid.
    #[serde(borrow, default, rename = "tenableUUID", deserialize_with = "opt_text")]
    pub tenable_uuid: Option<Cow<'a, str>>,
    /// Display name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub name: Option<Cow<'a, str>>,
    /// IP address.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub ip_address: Option<Cow<'a, str>>,
    /// Operating system.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub os: Option<Cow<'a, str>>,
    /// Epoch seconds.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub first_seen: Option<Cow<'a, str>>,
    /// Epoch seconds.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub last_seen: Option<Cow<'a, str>>,
    /// MAC address.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub mac_address: Option<Cow<'a, str>>,
    /// NetBIOS name (`WORKGROUP\NAME` or `NAME`).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub net_bios: Option<Cow<'a, str>>,
    /// DNS name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub dns: Option<Cow<'a, str>>,
    /// Repository id, when `repository` is not sent.
    #[serde(borrow, default, rename = "repID", deserialize_with = "opt_text")]
    pub rep_id: Option<Cow<'a, str>>,
    /// Repository.
    #[serde(borrow, default)]
    pub repository: Option<RepositoryRef<'a>>,
    /// `general_purpose`, …
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub system_type: Option<Cow<'a, str>>,
    /// Asset Criticality Rating, when a number or text.
    #[serde(borrow, default, deserialize_with = "lenient_text")]
    pub acr: Option<Cow<'a, str>>,
}

/// `response` of the host inventory: a plain array of hosts, or with `pagination=true` a
/// page `{totalRecords, returnedRecords, startOffset, endOffset, results}`.
#[derive(Debug)]
pub enum HostsResponse<'a> {
    /// The whole answer is the array of hosts (no total).
    List(Vec<&'a RawValue>),
    /// A page with `totalRecords`.
    Page(AnalysisPage<'a>),
}

impl<'a> HostsResponse<'a> {
    /// Reads the envelope's `response` in either shape.
    pub fn parse(env: &Envelope<'a>) -> Result<Self, serde_json::Error> {
        let raw = env.response.map(RawValue::get).unwrap_or("null");
        if raw.trim_start().starts_with('[') {
            serde_json::from_str(raw).map(HostsResponse::List)
        } else {
            serde_json::from_str(raw).map(HostsResponse::Page)
        }
    }
}

/// `response` of `GET /rest/asset`: `{usable, manageable}` for organization users, or
/// `{assets}` for administrators (per organization).
#[derive(Debug, Default, Deserialize)]
pub struct AssetLists<'a> {
    /// Lists the user may use in queries.
    #[serde(borrow, default)]
    pub usable: Vec<AssetList<'a>>,
    /// Lists the user may edit.
    #[serde(borrow, default)]
    pub manageable: Vec<AssetList<'a>>,
    /// Administrator view.
    #[serde(borrow, default)]
    pub assets: Vec<AssetList<'a>>,
}

/// One asset list (`GET /rest/asset` row or `GET /rest/asset/{id}` response).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetList<'a> {
    /// List id (`"0"` = All Defined Ranges).
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub id: Option<Cow<'a, str>>,
    /// Name.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub name: Option<Cow<'a, str>>,
    /// `static`, `dynamic`, `dnsname`, `combination`, `ldapquery`, `watchlist`, …
    #[serde(borrow, default, rename = "type", deserialize_with = "opt_text")]
    pub kind: Option<Cow<'a, str>>,
    /// Member addresses per repository (only when asked for with `fields`).
    #[serde(borrow, default, rename = "viewableIPs")]
    pub viewable_ips: Option<Vec<ViewableIps<'a>>>,
}

/// One `viewableIPs` entry: the list's addresses in one repository.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewableIps<'a> {
    /// The repository (absent: every repository).
    #[serde(borrow, default)]
    pub repository: Option<RepositoryRef<'a>>,
    /// Addresses, `a-b` ranges or CIDR blocks, separated by newlines or commas.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub ip_list: Option<Cow<'a, str>>,
    /// Number of addresses.
    #[serde(borrow, default, deserialize_with = "opt_text")]
    pub ip_count: Option<Cow<'a, str>>,
}

/// Like `opt_text`, but objects and arrays are `None` instead of errors (fields whose shape
/// is undocumented).
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    let v: Option<&'de RawValue> = Option::deserialize(d)?;
    Ok(v.and_then(|r| {
        let mut de = serde_json::Deserializer::from_str(r.get());
        opt_text(&mut de).ok().flatten()
    }))
}

/// Text that may arrive as a JSON string, number or boolean; `null` is `None`; objects and
/// arrays are errors. Borrows the string when the JSON has no escapes.
struct Text;

impl<'de> serde::de::Visitor<'de> for Text {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, a number or null")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_option(Text)
}

/// An integer as a JSON number or an integer string; `null`, `""` and other text are `None`.
fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(opt_text(d)?.and_then(|t| parse_i64(&t)))
}

/// An integer from SC text (`"80"`, `" 80 "`, `"80.0"`); `None` otherwise.
pub fn parse_i64(t: &str) -> Option<i64> {
    let t = t.trim();
    t.parse::<i64>().ok().or_else(|| {
        let f: f64 = t.parse().ok()?;
        (f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// A score from SC text (`"9.8"`); `""`, `"-1"`-free text → `None`. Non-finite is `None`.
pub fn parse_f64(t: &str) -> Option<f64> {
    t.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_success_and_error() {
        let ok = r#"{"type":"regular","response":{"totalRecords":"1629","returnedRecords":5,"startOffset":"0","endOffset":"5","matchingDataElementCount":"-1","results":[{"a":1},{"b":"x"}]},"error_code":0,"error_msg":"","warnings":[],"timestamp":1545080231}"#;
        let e: Envelope<'_> = serde_json::from_str(ok).unwrap();
        assert_eq!(e.error(), None);
        assert_eq!(e.kind.as_deref(), Some("regular"));
        assert_eq!(e.timestamp, Some(1_545_080_231));
        let p: AnalysisPage<'_> = e.response_as().unwrap();
        assert_eq!(p.total_records, Some(1629));
        assert_eq!(p.returned_records, Some(5));
        assert_eq!((p.start_offset, p.end_offset), (Some(0), Some(5)));
        assert_eq!(p.matching_data_element_count.as_deref(), Some("-1"));
        assert_eq!(p.results.len(), 2);
        assert_eq!(p.results[1].get(), r#"{"b":"x"}"#);

        let bad = r#"{"type":"regular","response":"","error_code":12,"error_msg":"This request contains an invalid token.\n","warnings":[],"timestamp":1}"#;
        let e: Envelope<'_> = serde_json::from_str(bad).unwrap();
        assert_eq!(
            e.error(),
            Some((12, "This request contains an invalid token.".to_owned()))
        );
        let e: Envelope<'_> = serde_json::from_str(r#"{"error_code":"146"}"#).unwrap();
        assert_eq!(e.error(), Some((146, String::new())));
        assert!(e.response_as::<AnalysisPage<'_>>().is_err());
    }

    #[test]
    fn rows_take_numbers_or_strings() {
        let v: VulnDetail<'_> = serde_json::from_str(
            r#"{"pluginID":19506,"port":"80","protocol":6,"severity":{"id":4},"repository":{"id":-1,"name":"Individual Scan"},"baseScore":7.5,"acceptRisk":true,"extra":[1]}"#,
        )
        .unwrap();
        assert_eq!(v.plugin_id.as_deref(), Some("19506"));
        assert_eq!(v.protocol.as_deref(), Some("6"));
        assert_eq!(v.severity.unwrap().id.as_deref(), Some("4"));
        assert_eq!(v.repository.unwrap().id.as_deref(), Some("-1"));
        assert_eq!(v.base_score.as_deref(), Some("7.5"));
        assert!(matches!(v.port, Some(Cow::Borrowed("80"))), "borrowed");
        let v: VulnDetail<'_> =
            serde_json::from_str(r#"{"ip":null,"dnsName":"a\u002eb"}"#).unwrap();
        assert_eq!(v.ip, None);
        assert_eq!(v.dns_name.as_deref(), Some("a.b"));
        assert!(serde_json::from_str::<VulnDetail<'_>>(r#"{"ip":[1]}"#).is_err());
    }

    #[test]
    fn hosts_answers_in_both_shapes() {
        let list = r#"{"type":"regular","response":[{"id":"1"},{"id":"2"}],"error_code":0}"#;
        let e: Envelope<'_> = serde_json::from_str(list).unwrap();
        match HostsResponse::parse(&e).unwrap() {
            HostsResponse::List(rows) => assert_eq!(rows.len(), 2),
            other => panic!("{other:?}"),
        }
        let page = r#"{"response":{"totalRecords":"3","returnedRecords":2,"startOffset":"0","endOffset":"2","results":[{"id":"1"},{"id":"2"}]}}"#;
        let e: Envelope<'_> = serde_json::from_str(page).unwrap();
        match HostsResponse::parse(&e).unwrap() {
            HostsResponse::Page(p) => {
                assert_eq!((p.total_records, p.results.len()), (Some(3), 2));
            }
            other => panic!("{other:?}"),
        }
        let e: Envelope<'_> = serde_json::from_str(r#"{"response":"x"}"#).unwrap();
        assert!(HostsResponse::parse(&e).is_err());
    }

    #[test]
    fn asset_lists_in_every_shape() {
        let raw = include_str!("../../../testdata/sc/test_asset_lists_list_success.json");
        let cassette: serde_json::Value = serde_json::from_str(raw).unwrap();
        let body = cassette[0]["response"]["body"].to_string();
        let e: Envelope<'_> = serde_json::from_str(&body).unwrap();
        let l: AssetLists<'_> = e.response_as().unwrap();
        assert_eq!(
            (l.usable.len(), l.manageable.len(), l.assets.len()),
            (37, 36, 0)
        );
        assert_eq!(l.usable[3].name.as_deref(), Some("Windows Hosts"));
        assert_eq!(l.usable[3].kind.as_deref(), Some("dynamic"));
        assert!(l.usable[3].viewable_ips.is_none());
        let admin =
            r#"{"assets":[{"id":"1","name":"dnsnameTestPost","type":"dnsname","status":0}]}"#;
        let l: AssetLists<'_> = serde_json::from_str(admin).unwrap();
        assert_eq!(l.assets[0].id.as_deref(), Some("1"));
        let one = r#"{"id":"33","name":"test","viewableIPs":[{"repository":{"id":"37","name":"ag repo1"},"ipList":"192.168.1.1\n","ipCount":"1"},{"ipList":""}]}"#;
        let l: AssetList<'_> = serde_json::from_str(one).unwrap();
        let v = l.viewable_ips.unwrap();
        assert_eq!(v[0].repository.as_ref().unwrap().id.as_deref(), Some("37"));
        assert_eq!(v[0].ip_list.as_deref(), Some("192.168.1.1\n"));
        assert!(v[1].repository.is_none());
    }

    #[test]
    fn number_text() {
        assert_eq!(parse_i64(" 80 "), Some(80));
        assert_eq!(parse_i64("80.0"), Some(80));
        assert_eq!(parse_i64("80.5"), None);
        assert_eq!(parse_i64(""), None);
        assert_eq!(parse_i64("NaN"), None);
        assert_eq!(parse_f64("9.8"), Some(9.8));
        assert_eq!(parse_f64(""), None);
        assert_eq!(parse_f64("inf"), None);
    }
}
