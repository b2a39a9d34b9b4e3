//! Tenable VM wire types, named as in Tenable's JSON. Tolerant: every field is optional,
//! numbers may arrive as strings, unknown fields are ignored. Records borrow from the chunk
//! bytes where they can.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};

/// A vulnerability export record (one finding).
#[derive(Debug, Deserialize)]
pub struct Finding<'a> {
    /// The asset the finding is on.
    #[serde(borrow)]
    pub asset: FindingAsset<'a>,
    /// Plugin output.
    #[serde(borrow, default)]
    pub output: Option<Cow<'a, str>>,
    /// The plugin.
    #[serde(borrow)]
    pub plugin: Plugin<'a>,
    /// Port, protocol, service.
    #[serde(borrow, default)]
    pub port: Port<'a>,
    /// `info`..`critical`.
    #[serde(borrow, default)]
    pub severity: Option<Cow<'a, str>>,
    /// 0..4.
    #[serde(default, deserialize_with = "opt_i64")]
    pub severity_id: Option<i64>,
    /// `OPEN`, `REOPENED`, `FIXED`.
    #[serde(borrow, default)]
    pub state: Option<Cow<'a, str>>,
    /// ISO timestamp.
    #[serde(borrow, default)]
    pub first_found: Option<Cow<'a, str>>,
    /// ISO timestamp.
    #[serde(borrow, default)]
    pub last_found: Option<Cow<'a, str>>,
    /// ISO timestamp.
    #[serde(borrow, default)]
    pub last_fixed: Option<Cow<'a, str>>,
}

/// The `asset` object inside a finding.
#[derive(Debug, Default, Deserialize)]
pub struct FindingAsset<'a> {
    /// Asset uuid (= asset export `id`).
    #[serde(borrow, default)]
    pub uuid: Option<Cow<'a, str>>,
    /// Host name (often an IP when unknown).
    #[serde(borrow, default)]
    pub hostname: Option<Cow<'a, str>>,
    /// FQDN.
    #[serde(borrow, default)]
    pub fqdn: Option<Cow<'a, str>>,
    /// IPv4.
    #[serde(borrow, default)]
    pub ipv4: Option<Cow<'a, str>>,
}

/// The `plugin` object.
#[derive(Debug, Default, Deserialize)]
pub struct Plugin<'a> {
    /// Plugin id.
    #[serde(default, deserialize_with = "opt_i64")]
    pub id: Option<i64>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    /// Family.
    #[serde(borrow, default)]
    pub family: Option<Cow<'a, str>>,
    /// Synopsis.
    #[serde(borrow, default)]
    pub synopsis: Option<Cow<'a, str>>,
    /// Solution.
    #[serde(borrow, default)]
    pub solution: Option<Cow<'a, str>>,
    /// CVE ids.
    #[serde(borrow, default)]
    pub cve: Option<Vec<Cow<'a, str>>>,
    /// CVSS v2 base score.
    #[serde(default, deserialize_with = "opt_f64")]
    pub cvss_base_score: Option<f64>,
    /// CVSS v3 base score.
    #[serde(default, deserialize_with = "opt_f64")]
    pub cvss3_base_score: Option<f64>,
    /// Vulnerability Priority Rating.
    #[serde(default)]
    pub vpr: Option<Vpr>,
}

/// `plugin.vpr`.
#[derive(Debug, Default, Deserialize)]
pub struct Vpr {
    /// VPR score.
    #[serde(default, deserialize_with = "opt_f64")]
    pub score: Option<f64>,
}

/// The `port` object.
#[derive(Debug, Default, Deserialize)]
pub struct Port<'a> {
    /// Port number; 0 = host level.
    #[serde(default, deserialize_with = "opt_i64")]
    pub port: Option<i64>,
    /// `TCP`, `UDP`, `ICMP`.
    #[serde(borrow, default)]
    pub protocol: Option<Cow<'a, str>>,
    /// Service name.
    #[serde(borrow, default)]
    pub service: Option<Cow<'a, str>>,
}

/// An asset export (v1) record.
#[derive(Debug, Deserialize)]
pub struct Asset<'a> {
    /// Asset uuid.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// ISO timestamps; `null` when unset.
    #[serde(borrow, default)]
    pub first_seen: Option<Cow<'a, str>>,
    /// Last seen.
    #[serde(borrow, default)]
    pub last_seen: Option<Cow<'a, str>>,
    /// Deleted at.
    #[serde(borrow, default)]
    pub deleted_at: Option<Cow<'a, str>>,
    /// Terminated at.
    #[serde(borrow, default)]
    pub terminated_at: Option<Cow<'a, str>>,
    /// IPv4 addresses.
    #[serde(borrow, default)]
    pub ipv4s: Option<Vec<Cow<'a, str>>>,
    /// IPv6 addresses.
    #[serde(borrow, default)]
    pub ipv6s: Option<Vec<Cow<'a, str>>>,
    /// FQDNs.
    #[serde(borrow, default)]
    pub fqdns: Option<Vec<Cow<'a, str>>>,
    /// Host names.
    #[serde(borrow, default)]
    pub hostnames: Option<Vec<Cow<'a, str>>>,
    /// NetBIOS names.
    #[serde(borrow, default)]
    pub netbios_names: Option<Vec<Cow<'a, str>>>,
    /// MAC addresses.
    #[serde(borrow, default)]
    pub mac_addresses: Option<Vec<Cow<'a, str>>>,
    /// Operating systems.
    #[serde(borrow, default)]
    pub operating_systems: Option<Vec<Cow<'a, str>>>,
    /// System types (`general-purpose`, `router`, …).
    #[serde(borrow, default)]
    pub system_types: Option<Vec<Cow<'a, str>>>,
    /// Tags.
    #[serde(borrow, default)]
    pub tags: Option<Vec<Tag<'a>>>,
    /// Asset Criticality Rating (a string in v1).
    #[serde(default, deserialize_with = "opt_f64")]
    pub acr_score: Option<f64>,
    /// Asset Exposure Score (a string in v1).
    #[serde(default, deserialize_with = "opt_f64")]
    pub exposure_score: Option<f64>,
}

/// An asset tag.
#[derive(Debug, Deserialize)]
pub struct Tag<'a> {
    /// Category.
    #[serde(borrow, default)]
    pub key: Option<Cow<'a, str>>,
    /// Value.
    #[serde(borrow, default)]
    pub value: Option<Cow<'a, str>>,
}

/// `POST …/export` answer.
#[derive(Debug, Deserialize)]
pub struct ExportStarted {
    /// The job.
    pub export_uuid: String,
}

/// 409 answer: the identical export already running.
#[derive(Debug, Deserialize)]
pub struct ExportConflict {
    /// The running job to adopt.
    pub active_job_id: Option<String>,
}

/// `GET …/export/{uuid}/status`.
#[derive(Debug, Clone, Deserialize)]
pub struct ExportStatus {
    /// `QUEUED`, `PROCESSING`, `FINISHED`, `CANCELLED`, `ERROR`.
    pub status: String,
    /// Chunk ids ready to download (grows while PROCESSING, in any order).
    #[serde(default)]
    pub chunks_available: Vec<u32>,
    /// Chunks that failed.
    #[serde(default)]
    pub chunks_failed: Vec<u32>,
    /// Chunks cancelled after a failure.
    #[serde(default)]
    pub chunks_cancelled: Vec<u32>,
    /// Total chunks, when the server says.
    #[serde(default)]
    pub total_chunks: Option<u64>,
    /// Why it failed.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `GET /server/properties` (the parts `check` shows).
#[derive(Debug, Default, Deserialize)]
pub struct ServerProperties {
    /// Version of the platform.
    #[serde(default)]
    pub server_version: Option<String>,
    /// Region / site.
    #[serde(default)]
    pub region: Option<String>,
}

/// A number that may arrive as a JSON number or a string; `null` and unparsable strings are
/// `None`, other JSON types are errors. A visitor rather than an untagged enum: no buffering.
struct Num<T>(std::marker::PhantomData<T>);

/// What [`Num`] converts to.
trait FromWire: Sized {
    const EXPECTING: &'static str;
    fn from_i64(i: i64) -> Option<Self>;
    fn from_u64(u: u64) -> Option<Self>;
    fn from_f64(f: f64) -> Option<Self>;
    fn from_text(s: &str) -> Option<Self>;
}

impl FromWire for f64 {
    const EXPECTING: &'static str = "a number, a numeric string or null";
    fn from_i64(i: i64) -> Option<Self> {
        Some(i as f64)
    }
    fn from_u64(u: u64) -> Option<Self> {
        Some(u as f64)
    }
    fn from_f64(f: f64) -> Option<Self> {
        Some(f)
    }
    fn from_text(s: &str) -> Option<Self> {
        s.trim().parse().ok()
    }
}

impl FromWire for i64 {
    const EXPECTING: &'static str = "an integer, an integer string or null";
    fn from_i64(i: i64) -> Option<Self> {
        Some(i)
    }
    fn from_u64(u: u64) -> Option<Self> {
        // Past i64: as the float it is (saturating), like any other whole float.
        i64::try_from(u).ok().or(Some(u as f64 as i64))
    }
    fn from_f64(f: f64) -> Option<Self> {
        (f.fract() == 0.0).then_some(f as i64)
    }
    fn from_text(s: &str) -> Option<Self> {
        s.trim().parse().ok()
    }
}

impl<'de, T: FromWire> serde::de::Visitor<'de> for Num<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(T::EXPECTING)
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
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(T::from_i64(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(T::from_u64(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(T::from_f64(v))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(T::from_text(v))
    }
}

fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_option(Num::<f64>(std::marker::PhantomData))
}

fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(Num::<i64>(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct N {
        #[serde(default, deserialize_with = "opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
    }

    fn n(json: &str) -> (Option<i64>, Option<f64>) {
        let v: N = serde_json::from_str(json).expect(json);
        (v.i, v.f)
    }

    #[test]
    fn numbers_arrive_as_numbers_strings_or_null() {
        assert_eq!(n(r#"{}"#), (None, None));
        assert_eq!(n(r#"{"i":null,"f":null}"#), (None, None));
        assert_eq!(n(r#"{"i":-7,"f":3}"#), (Some(-7), Some(3.0)));
        assert_eq!(n(r#"{"i":4.0,"f":9.8}"#), (Some(4), Some(9.8)));
        assert_eq!(n(r#"{"i":4.5,"f":"x"}"#), (None, None));
        assert_eq!(n(r#"{"i":" 12 ","f":" 7.5"}"#), (Some(12), Some(7.5)));
        assert_eq!(n(r#"{"i":"1\u0032","f":"1e1"}"#), (Some(12), Some(10.0)));
        assert_eq!(n(r#"{"i":"5.0"}"#), (None, None));
        assert_eq!(n(r#"{"i":18446744073709551615}"#), (Some(i64::MAX), None));
        assert!(serde_json::from_str::<N>(r#"{"i":true}"#).is_err());
        assert!(serde_json::from_str::<N>(r#"{"f":[1]}"#).is_err());
    }
}
