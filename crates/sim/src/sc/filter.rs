//! `/rest/analysis` filters and sorting, evaluated on rendered rows (generated or loaded).
//!
//! Implemented (`=`, and `!=`/`>=`/`<=` where they make sense): `severity`, `pluginID`,
//! `port`, `repositoryIDs` (comma lists and `a-b` ranges), `repository` (`[{"id":"1"}]`),
//! `firstSeen`/`lastSeen`/`lastMitigated` (`"start-end"` epoch seconds, inclusive, or
//! `"N:M"` = between M and N days ago), `ip` (addresses, CIDR blocks, `a-b` ranges),
//! `protocol` (names or numbers), `hostUUID`, `uuid`, `dnsName`, `pluginName` (substring).
//! Every other valid SC filter name is accepted and ignored; an unknown one is an error
//! (146). A filter on a field a row does not have does not exclude that row.

use std::cmp::Ordering;
use std::net::Ipv4Addr;

use serde_json::Value;

/// Filter names SC accepts for vuln queries (from a real SC error message) plus `asset`,
/// `repository` and `wasVuln`.
pub(crate) const VALID_FILTERS: &[&str] = &[
    "acceptedRisk",
    "acceptRiskStatus",
    "assetID",
    "auditFileID",
    "benchmarkName",
    "cceID",
    "cpe",
    "cveID",
    "baseCVSSScore",
    "cvssVector",
    "cvssV3BaseScore",
    "cvssV3Vector",
    "dataFormat",
    "daysMitigated",
    "daysToMitigated",
    "dnsName",
    "exploitAvailable",
    "exploitFrameworks",
    "familyID",
    "firstSeen",
    "iavmID",
    "ip",
    "lastMitigated",
    "lastSeen",
    "mitigatedStatus",
    "msbulletinID",
    "operatingSystem",
    "outputAssets",
    "patchPublished",
    "pluginModified",
    "pluginPublished",
    "pluginID",
    "pluginName",
    "pluginText",
    "pluginType",
    "policyID",
    "port",
    "protocol",
    "recastRisk",
    "recastRiskStatus",
    "repositoryIDs",
    "responsibleUserIDs",
    "vulnRoutedUserIDs",
    "vulnRoutingRuleID",
    "severity",
    "solutionID",
    "stigSeverity",
    "tcpport",
    "udpport",
    "uuid",
    "vulnPublished",
    "seolDate",
    "wasMitigated",
    "xref",
    "vprScore",
    "assetCriticalityRating",
    "hostUUID",
    "vulnUUID",
    "assetExposureScore",
    "aesSeverity",
    "netbiosName",
    "wasInputName",
    "wasInputType",
    "wasURL",
    "wasHttpMethod",
    "wasVuln",
    "asset",
    "repository",
];

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Ge,
    Le,
}

/// One parsed filter.
#[derive(Clone, Debug)]
enum Cond {
    /// Numeric field (path) within any of the inclusive ranges.
    Num {
        path: &'static [&'static str],
        op: Op,
        ranges: Vec<(f64, f64)>,
    },
    /// Epoch-seconds field within `[lo, hi]`; -1 never matches.
    Time {
        field: &'static str,
        lo: i64,
        hi: i64,
    },
    /// IPv4 within any of the inclusive ranges.
    Ip { op: Op, ranges: Vec<(u32, u32)> },
    /// Exact (case-insensitive) string field in a set.
    Str {
        field: &'static str,
        op: Op,
        values: Vec<String>,
    },
    /// Substring of a string field.
    Contains { field: &'static str, text: String },
    /// Accepted but not evaluated.
    Ignored,
}

/// Parsed filters of one query.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    conds: Vec<Cond>,
}

/// Why a filter list was refused: the SC error message (error code 146).
pub(crate) type FilterError = String;

fn invalid_value(name: &str, value: &Value) -> FilterError {
    format!(
        "Invalid parameters specified for vuln query. The filter '{name}' has an invalid value '{value}'."
    )
}

pub(crate) fn unknown_filter_message(name: &str) -> String {
    format!(
        "Invalid parameters specified for vuln query. The filter '{name}' is invalid (valid filters: {}).",
        VALID_FILTERS.join(", ")
    )
}

fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_op(v: &Value) -> Option<Op> {
    match v.as_str().unwrap_or("=").trim() {
        "=" | "" | "~" => Some(Op::Eq),
        "!=" => Some(Op::Ne),
        ">=" => Some(Op::Ge),
        "<=" => Some(Op::Le),
        _ => None,
    }
}

fn num_ranges(s: &str) -> Option<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r = match part.split_once('-') {
            Some((a, b)) if !a.is_empty() => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            _ => {
                let x: f64 = part.parse().ok()?;
                (x, x)
            }
        };
        out.push(r);
    }
    (!out.is_empty()).then_some(out)
}

fn ip_u32(s: &str) -> Option<u32> {
    s.trim().parse::<Ipv4Addr>().ok().map(u32::from)
}

fn ip_ranges(s: &str) -> Option<Vec<(u32, u32)>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, bits)) = part.split_once('/') {
            let base = ip_u32(a)?;
            let bits: u32 = bits.trim().parse().ok().filter(|b| *b <= 32)?;
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            out.push((base & mask, (base & mask) | !mask));
        } else if let Some((a, b)) = part.split_once('-') {
            out.push((ip_u32(a)?, ip_u32(b)?));
        } else {
            let x = ip_u32(part)?;
            out.push((x, x));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `"start-end"` epoch seconds or `"N:M"` days ago (relative to `now`).
fn time_range(s: &str, now: i64) -> Option<(i64, i64)> {
    if let Some((n, m)) = s.split_once(':') {
        let n: i64 = n.trim().parse().ok()?;
        let m: i64 = m.trim().parse().ok()?;
        let (a, b) = (n.min(m), n.max(m));
        return Some((now - b * 86_400, now - a * 86_400));
    }
    let (a, b) = s.split_once('-')?;
    let a: i64 = a.trim().parse().ok()?;
    let b: i64 = b.trim().parse().ok()?;
    Some((a, b))
}

impl Filters {
    /// Parses `query.filters`; `Err` carries the 146 message.
    pub(crate) fn parse(filters: &Value, now: i64) -> Result<Filters, FilterError> {
        let mut out = Filters::default();
        let Some(list) = filters.as_array() else {
            return Ok(out);
        };
        for f in list {
            let name = f["filterName"].as_str().unwrap_or_default();
            if !VALID_FILTERS.contains(&name) {
                return Err(unknown_filter_message(name));
            }
            let value = &f["value"];
            let op = parse_op(&f["operator"]).ok_or_else(|| {
                format!(
                    "Invalid parameters specified for vuln query. The operator '{}' is invalid for filter '{name}'.",
                    f["operator"]
                )
            })?;
            let bad = || invalid_value(name, value);
            let num = |path: &'static [&'static str]| -> Result<Cond, FilterError> {
                let s = value_string(value).ok_or_else(bad)?;
                Ok(Cond::Num {
                    path,
                    op,
                    ranges: num_ranges(&s).ok_or_else(bad)?,
                })
            };
            let cond = match name {
                "severity" => num(&["severity", "id"])?,
                "pluginID" => num(&["pluginID"])?,
                "port" => num(&["port"])?,
                "repositoryIDs" => num(&["repository", "id"])?,
                "repository" => {
                    let ids: Vec<String> = match value {
                        Value::Array(a) => {
                            a.iter().filter_map(|r| value_string(&r["id"])).collect()
                        }
                        Value::Object(_) => value_string(&value["id"]).into_iter().collect(),
                        other => value_string(other)
                            .map(|s| s.split(',').map(|p| p.trim().to_string()).collect())
                            .unwrap_or_default(),
                    };
                    let ranges = num_ranges(&ids.join(",")).ok_or_else(bad)?;
                    Cond::Num {
                        path: &["repository", "id"],
                        op,
                        ranges,
                    }
                }
                "firstSeen" | "lastSeen" | "lastMitigated" => {
                    let s = value_string(value).ok_or_else(bad)?;
                    let (lo, hi) = time_range(&s, now).ok_or_else(bad)?;
                    let field = match name {
                        "firstSeen" => "firstSeen",
                        "lastSeen" => "lastSeen",
                        _ => "lastMitigated",
                    };
                    Cond::Time { field, lo, hi }
                }
                "ip" => {
                    let s = value_string(value).ok_or_else(bad)?;
                    Cond::Ip {
                        op,
                        ranges: ip_ranges(&s).ok_or_else(bad)?,
                    }
                }
                "protocol" => {
                    let s = value_string(value).ok_or_else(bad)?;
                    let values = s
                        .split(',')
                        .map(|p| match p.trim() {
                            "6" => "TCP".to_string(),
                            "17" => "UDP".to_string(),
                            "1" => "ICMP".to_string(),
                            other => other.to_uppercase(),
                        })
                        .collect();
                    Cond::Str {
                        field: "protocol",
                        op,
                        values,
                    }
                }
                "hostUUID" | "uuid" | "dnsName" => {
                    let s = value_string(value).ok_or_else(bad)?;
                    let field = match name {
                        "hostUUID" => "hostUUID",
                        "uuid" => "uuid",
                        _ => "dnsName",
                    };
                    Cond::Str {
                        field,
                        op,
                        values: s.split(',').map(|p| p.trim().to_uppercase()).collect(),
                    }
                }
                "pluginName" => Cond::Contains {
                    field: "pluginName",
                    text: value_string(value).ok_or_else(bad)?.to_lowercase(),
                },
                _ => Cond::Ignored,
            };
            out.conds.push(cond);
        }
        Ok(out)
    }

    /// True when the row passes every filter.
    pub(crate) fn matches(&self, row: &Value) -> bool {
        self.conds.iter().all(|c| cond_matches(c, row))
    }
}

fn get<'a>(row: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut v = row;
    for p in path {
        v = v.get(*p)?;
    }
    Some(v)
}

fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn in_ranges<T: PartialOrd + Copy>(op: Op, x: T, ranges: &[(T, T)]) -> bool {
    match op {
        Op::Eq => ranges.iter().any(|(a, b)| *a <= x && x <= *b),
        Op::Ne => !ranges.iter().any(|(a, b)| *a <= x && x <= *b),
        Op::Ge => ranges.first().is_some_and(|(a, _)| x >= *a),
        Op::Le => ranges.first().is_some_and(|(_, b)| x <= *b),
    }
}

fn cond_matches(c: &Cond, row: &Value) -> bool {
    match c {
        Cond::Num { path, op, ranges } => match get(row, path) {
            None => true,
            Some(v) => num_of(v).is_some_and(|x| in_ranges(*op, x, ranges)),
        },
        Cond::Time { field, lo, hi } => match row.get(*field) {
            None => true,
            Some(v) => num_of(v)
                .map(|x| x as i64)
                .is_some_and(|x| x >= 0 && *lo <= x && x <= *hi),
        },
        Cond::Ip { op, ranges } => match row.get("ip") {
            None => true,
            Some(v) => v
                .as_str()
                .and_then(ip_u32)
                .is_some_and(|x| in_ranges(*op, x, ranges)),
        },
        Cond::Str { field, op, values } => match row.get(*field) {
            None => true,
            Some(v) => {
                let s = v.as_str().unwrap_or_default().to_uppercase();
                let hit = values.contains(&s);
                if *op == Op::Ne { !hit } else { hit }
            }
        },
        Cond::Contains { field, text } => match row.get(*field) {
            None => true,
            Some(v) => v
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains(text.as_str()),
        },
        Cond::Ignored => true,
    }
}

/// Sort key value of a row field: numbers (and `severity.id`, IPv4 addresses) numerically,
/// everything else as text.
fn sort_key(row: &Value, field: &str) -> (Option<f64>, String) {
    let v = match field {
        "severity" => get(row, &["severity", "id"]),
        "repository" | "repositoryID" => get(row, &["repository", "id"]),
        "family" => get(row, &["family", "name"]),
        _ => row.get(field),
    };
    let Some(v) = v else {
        return (None, String::new());
    };
    if let Some(ip) = v.as_str().and_then(ip_u32) {
        return (Some(f64::from(ip)), String::new());
    }
    match num_of(v) {
        Some(n) => (Some(n), String::new()),
        None => (None, v.as_str().unwrap_or_default().to_string()),
    }
}

/// The order of `rows` sorted by `sortField` (`sortDir` ASC/DESC, case-insensitive), as
/// indices; stable (ties keep the default order). Each row's key is computed once.
pub(crate) fn sorted_order(rows: &[&Value], field: Option<&str>, dir: Option<&str>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let Some(field) = field.filter(|f| !f.is_empty()) else {
        return order;
    };
    let desc = dir.is_some_and(|d| d.eq_ignore_ascii_case("desc"));
    let keys: Vec<(Option<f64>, String)> = rows.iter().map(|r| sort_key(r, field)).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (&keys[a], &keys[b]);
        let o = match (ka.0, kb.0) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => ka.1.cmp(&kb.1),
        };
        if desc { o.reverse() } else { o }
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_matches() {
        let row = json!({"severity": {"id": "3"}, "ip": "10.0.1.5", "lastSeen": "1000", "lastMitigated": "-1", "repository": {"id": "2"}});
        let f = |v: Value| Filters::parse(&v, 10_000).expect("valid");
        assert!(f(json!([{"filterName":"severity","operator":"=","value":"3,4"}])).matches(&row));
        assert!(!f(json!([{"filterName":"severity","operator":"=","value":"0,1"}])).matches(&row));
        assert!(f(json!([{"filterName":"ip","operator":"=","value":"10.0.0.0/16"}])).matches(&row));
        assert!(
            f(json!([{"filterName":"lastSeen","operator":"=","value":"500-1000"}])).matches(&row)
        );
        assert!(
            !f(json!([{"filterName":"lastMitigated","operator":"=","value":"0-99999"}]))
                .matches(&row)
        );
        assert!(
            f(json!([{"filterName":"repository","operator":"=","value":[{"id":"2"}]}]))
                .matches(&row)
        );
        assert!(
            f(json!([{"filterName":"lastSeen","operator":"=","value":"0:1"}]))
                .matches(&json!({"lastSeen": "9000"}))
        );
        let e = Filters::parse(&json!([{"filterName":"bogus","value":"1"}]), 0).expect_err("bad");
        assert!(
            e.contains("'bogus' is invalid (valid filters: acceptedRisk"),
            "{e}"
        );
        assert!(Filters::parse(&json!([{"filterName":"lastSeen","value":"x"}]), 0).is_err());
    }
}
