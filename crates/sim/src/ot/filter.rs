//! `filter` (`{field, op, values, expressions}`), `search` and `sort` (`[{field,
//! direction}]`) over the JSON records of one root field.

use std::cmp::Ordering;

use serde_json::Value;

use super::data::{OtData, nodes};
use super::graphql::{Obj, field_kind};

/// A bad filter or sort argument (answered as `BAD_USER_INPUT`).
pub(crate) type InputError = String;

/// The value a filter or sort `field` names on a record, with the sort/filter aliases of
/// the reference (`risk` → `risk.totalRisk`, `eventId` → `id`, `findingLastHit` →
/// `lastHit`, `pluginSeverity` → `plugin.severity`, …).
fn field_value(data: &OtData, obj: Obj, rec: &Value, field: &str) -> Result<Value, InputError> {
    let direct = |name: &str| rec.get(name).cloned().unwrap_or(Value::Null);
    let ref_id = |name: &str| match rec.get(name) {
        Some(Value::Object(o)) => o.get("id").cloned().unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    };
    let v = match (obj, field) {
        (Obj::Asset, "risk") => match rec.get("risk") {
            Some(Value::Object(o)) => o.get("totalRisk").cloned().unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        },
        (Obj::Event, "eventId") => direct("id"),
        (Obj::Finding, "findingId") => direct("id"),
        (Obj::Finding, "findingLastHit") => direct("lastHit"),
        (Obj::Finding, "findingFirstHit") => direct("firstHit"),
        (Obj::Finding, "findingStatus") => direct("status"),
        (Obj::Finding, "findingFixedAt") => direct("fixedAt"),
        (Obj::Finding, "assetId") => ref_id("asset"),
        (Obj::Finding, "pluginId") => ref_id("plugin"),
        (Obj::Finding, "assetName" | "pluginSeverity" | "pluginName") => {
            let (target, key) = match field {
                "assetName" => ("asset", "name"),
                "pluginSeverity" => ("plugin", "severity"),
                _ => ("plugin", "name"),
            };
            match rec.get(target) {
                Some(Value::Object(o)) => o.get(key).cloned().unwrap_or(Value::Null),
                Some(Value::String(id)) => data
                    .asset(id)
                    .map(|a| a[key].clone())
                    .unwrap_or(Value::Null),
                Some(v) => v
                    .as_i64()
                    .and_then(|id| data.plugin(id))
                    .map(|p| p[key].clone())
                    .unwrap_or(Value::Null),
                None => Value::Null,
            }
        }
        _ => {
            if field_kind(obj, field).is_none() {
                return Err(format!(
                    "Value \"{field}\" does not exist in \"{}Field\" enum.",
                    obj.type_name()
                ));
            }
            match rec.get(field) {
                // References compare by id.
                Some(Value::Object(o)) if o.contains_key("id") => {
                    o.get("id").cloned().unwrap_or(Value::Null)
                }
                Some(v) => v.clone(),
                None => Value::Null,
            }
        }
    };
    Ok(v)
}

/// Comparable form of a JSON value: times as microseconds, numbers, strings.
#[derive(Debug, PartialEq, PartialOrd)]
enum Key {
    Bool(bool),
    Num(f64),
    Time(i64),
    Str(String),
}

fn key(v: &Value) -> Option<Key> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(Key::Bool(*b)),
        Value::Number(n) => n.as_f64().map(Key::Num),
        Value::String(s) => Some(match parse_time(s) {
            Some(t) => Key::Time(t),
            None => Key::Str(s.clone()),
        }),
        other => Some(Key::Str(other.to_string())),
    }
}

fn parse_time(s: &str) -> Option<i64> {
    if s.len() < 20 || s.as_bytes().get(4).is_none_or(|b| *b != b'-') {
        return None;
    }
    if s == super::data::ZERO_TIME {
        return Some(i64::MIN / 2);
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_micros())
}

fn cmp_keys(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Num(x), Key::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Key::Time(x), Key::Time(y)) => x.cmp(y),
        (Key::Str(x), Key::Str(y)) => x.cmp(y),
        (Key::Bool(x), Key::Bool(y)) => x.cmp(y),
        // A time compared with a non-time string, a number with a numeric string: coerce.
        (Key::Num(x), Key::Str(y)) => y
            .parse::<f64>()
            .ok()
            .and_then(|y| x.partial_cmp(&y))
            .unwrap_or(Ordering::Less),
        (Key::Str(x), Key::Num(y)) => x
            .parse::<f64>()
            .ok()
            .and_then(|x| x.partial_cmp(y))
            .unwrap_or(Ordering::Greater),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(k: &Key) -> u8 {
    match k {
        Key::Bool(_) => 0,
        Key::Num(_) => 1,
        Key::Time(_) => 2,
        Key::Str(_) => 3,
    }
}

/// Equality of a record value with a filter value, with the appliance's leniency:
/// booleans as `"true"`/`"false"`, numbers as numeric strings, lists and `{nodes}` match
/// when any element does.
fn eq(rec: &Value, want: &Value) -> bool {
    match rec {
        Value::Array(_) => nodes(rec).iter().any(|x| eq(x, want)),
        Value::Object(o) if o.contains_key("nodes") || o.contains_key("edges") => {
            nodes(rec).iter().any(|x| eq(x, want))
        }
        Value::Object(o) if o.contains_key("id") => o.get("id").is_some_and(|id| eq(id, want)),
        Value::Null => want.is_null(),
        Value::Bool(b) => match want {
            Value::Bool(w) => b == w,
            Value::String(s) => s.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
            _ => false,
        },
        Value::Number(n) => match want {
            Value::Number(w) => n.as_f64() == w.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok() == n.as_f64(),
            _ => false,
        },
        Value::String(s) => match want {
            Value::String(w) => s == w,
            Value::Number(w) => s.parse::<f64>().ok() == w.as_f64(),
            Value::Bool(w) => s.eq_ignore_ascii_case(if *w { "true" } else { "false" }),
            _ => false,
        },
        Value::Object(_) => false,
    }
}

fn ordered(rec: &Value, want: &Value, ok: fn(Ordering) -> bool) -> bool {
    match (key(rec), key(want)) {
        (Some(a), Some(b)) => {
            // A time on the record compared with a time string in the filter.
            let b = match (&a, b) {
                (Key::Time(_), Key::Str(s)) => parse_time(&s).map_or(Key::Str(s), Key::Time),
                (_, b) => b,
            };
            ok(cmp_keys(&a, &b))
        }
        _ => false,
    }
}

fn contains(rec: &Value, want: &Value) -> bool {
    let w = match want {
        Value::String(s) => s.trim_matches('%').to_lowercase(),
        other => other.to_string().to_lowercase(),
    };
    match rec {
        Value::String(s) => s.to_lowercase().contains(&w),
        Value::Array(_) | Value::Object(_) => nodes(rec).iter().any(|x| contains(x, want)),
        Value::Number(n) => n.to_string().contains(&w),
        _ => false,
    }
}

/// Does `rec` pass the filter expression?
pub(crate) fn matches(
    data: &OtData,
    obj: Obj,
    rec: &Value,
    expr: &Value,
) -> Result<bool, InputError> {
    let Value::Object(e) = expr else {
        return if expr.is_null() {
            Ok(true)
        } else {
            Err("Expected type \"ExpressionsParams\" to be an object.".to_string())
        };
    };
    let op = e
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| "Field \"op\" of required type \"ExprOp!\" was not provided.".to_string())?;
    if matches!(op, "And" | "Or") {
        let list = e
            .get("expressions")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("Operator {op} requires a list in \"expressions\"."))?;
        let mut acc = op == "And";
        for sub in list {
            let m = matches(data, obj, rec, sub)?;
            if op == "And" {
                acc &= m;
            } else {
                acc |= m;
            }
        }
        return Ok(acc);
    }
    let field = e
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("Operator {op} requires a \"field\"."))?;
    let have = field_value(data, obj, rec, field)?;
    let values = e.get("values").cloned().unwrap_or(Value::Null);
    let list = || -> Result<Vec<Value>, InputError> {
        values
            .as_array()
            .cloned()
            .ok_or_else(|| format!("Operator {op} requires a list in \"values\"."))
    };
    Ok(match op {
        "Equal" => eq(&have, &values),
        "NotEqual" => !eq(&have, &values),
        "In" => list()?.iter().any(|w| eq(&have, w)),
        "NotIn" => !list()?.iter().any(|w| eq(&have, w)),
        "Greater" => ordered(&have, &values, |o| o == Ordering::Greater),
        "GreaterEqual" => ordered(&have, &values, |o| o != Ordering::Less),
        "Less" => ordered(&have, &values, |o| o == Ordering::Less),
        "LessEqual" => ordered(&have, &values, |o| o != Ordering::Greater),
        "Between" | "NotBetween" => {
            let l = list()?;
            let (Some(lo), Some(hi)) = (l.first(), l.get(1)) else {
                return Err(format!("Operator {op} requires two values."));
            };
            let inside = ordered(&have, lo, |o| o != Ordering::Less)
                && ordered(&have, hi, |o| o != Ordering::Greater);
            inside == (op == "Between")
        }
        "Contains" | "Like" => contains(&have, &values),
        "NotContains" | "NotLike" => !contains(&have, &values),
        other => {
            return Err(format!(
                "Value \"{other}\" does not exist in \"ExprOp\" enum."
            ));
        }
    })
}

/// Free-text search: any top-level string (or string list) of the record contains it,
/// case-insensitively.
pub(crate) fn search(rec: &Value, text: &str) -> bool {
    let t = text.to_lowercase();
    let Value::Object(o) = rec else { return false };
    o.iter().any(|(k, v)| {
        k != "details"
            && match v {
                Value::String(s) => s.to_lowercase().contains(&t),
                Value::Object(m) if m.contains_key("nodes") => nodes(v)
                    .iter()
                    .any(|x| x.as_str().is_some_and(|s| s.to_lowercase().contains(&t))),
                _ => false,
            }
    })
}

/// Sorts by the `sort` argument (stable; default `id` ascending).
pub(crate) fn sort(
    data: &OtData,
    obj: Obj,
    recs: &mut Vec<&Value>,
    sort: &Value,
) -> Result<(), InputError> {
    let specs: Vec<Value> = match sort {
        Value::Null => vec![serde_json::json!({"field": "id", "direction": "AscNullLast"})],
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![sort.clone()],
        _ => return Err("Expected a list of sort parameters.".to_string()),
    };
    let mut keys: Vec<(bool, bool, String)> = Vec::new(); // (desc, nulls_first, field)
    for s in &specs {
        let field = s
            .get("field")
            .and_then(Value::as_str)
            .ok_or_else(|| "Field \"field\" of a sort parameter was not provided.".to_string())?;
        let dir = s.get("direction").and_then(Value::as_str).ok_or_else(|| {
            "Field \"direction\" of required type \"SortDirection!\" was not provided.".to_string()
        })?;
        let (desc, nulls_first) = match dir {
            "AscNullFirst" => (false, true),
            "AscNullLast" => (false, false),
            "DescNullFirst" => (true, true),
            "DescNullLast" => (true, false),
            other => {
                return Err(format!(
                    "Value \"{other}\" does not exist in \"SortDirection\" enum."
                ));
            }
        };
        // Validate the field name once.
        if let Some(r) = recs.first() {
            field_value(data, obj, r, field)?;
        } else if field_kind(obj, field).is_none() && !is_alias(obj, field) {
            return Err(format!(
                "Value \"{field}\" does not exist in \"{}SortField\" enum.",
                obj.type_name()
            ));
        }
        keys.push((desc, nulls_first, field.to_string()));
    }
    let mut decorated: Vec<(Vec<Option<Key>>, &Value)> = recs
        .iter()
        .map(|r| {
            let ks = keys
                .iter()
                .map(|(_, _, f)| field_value(data, obj, r, f).ok().as_ref().and_then(key))
                .collect();
            (ks, *r)
        })
        .collect();
    decorated.sort_by(|(a, _), (b, _)| {
        for (i, (desc, nulls_first, _)) in keys.iter().enumerate() {
            let o = match (&a[i], &b[i]) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => {
                    if *nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (Some(_), None) => {
                    if *nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (Some(x), Some(y)) => {
                    let o = cmp_keys(x, y);
                    if *desc { o.reverse() } else { o }
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    *recs = decorated.into_iter().map(|(_, r)| r).collect();
    Ok(())
}

fn is_alias(obj: Obj, field: &str) -> bool {
    matches!(
        (obj, field),
        (Obj::Event, "eventId")
            | (
                Obj::Finding,
                "findingId"
                    | "findingLastHit"
                    | "findingFirstHit"
                    | "findingStatus"
                    | "findingFixedAt"
                    | "assetId"
                    | "pluginId"
                    | "assetName"
                    | "pluginSeverity"
                    | "pluginName"
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn equality_is_lenient_like_the_appliance() {
        assert!(eq(&json!(false), &json!("false")));
        assert!(eq(&json!(true), &json!("TRUE")));
        assert!(eq(&json!(500036), &json!("500036")));
        assert!(eq(
            &json!({"nodes": ["10.0.0.1", "10.0.0.2"]}),
            &json!("10.0.0.2")
        ));
        assert!(!eq(&json!("Plc"), &json!("plc")));
        assert!(ordered(
            &json!("2024-06-25T00:00:00.000001Z"),
            &json!("2024-06-25T00:00:00Z"),
            |o| o == Ordering::Greater
        ));
    }
}
