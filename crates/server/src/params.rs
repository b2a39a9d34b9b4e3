//! Query parameters: parsed by hand so that every problem is a 400 naming the parameter.
//! Unknown parameters and repeated ones are refused too (a typo must not silently widen a
//! filter).

use std::collections::BTreeMap;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenax_model::Timestamp;

use crate::error::ApiError;

/// Default page size.
pub(crate) const DEFAULT_LIMIT: u64 = 100;
/// Largest page size.
pub(crate) const MAX_LIMIT: u64 = 1000;

/// The parameters of one request, checked against the names an endpoint accepts.
pub(crate) struct Params(BTreeMap<String, String>);

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::BadRequest(msg.into())
}

/// Decodes `%XX` escapes and `+` (space) of one query component.
fn decode(s: &str, what: &str) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad(format!("{what}: malformed percent-encoding")))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad(format!("{what}: not UTF-8")))
}

impl Params {
    /// Parses a raw query string, accepting only `allowed` names.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k, "query")?;
            let v = decode(v, &format!("parameter `{k}`"))?;
            if !allowed.contains(&k.as_str()) {
                let mut shown: String = k.chars().take(40).collect();
                shown.retain(|c| !c.is_control());
                return Err(bad(if allowed.is_empty() {
                    format!("unknown parameter `{shown}` (this endpoint takes none)")
                } else {
                    format!(
                        "unknown parameter `{shown}` (expected one of: {})",
                        allowed.join(", ")
                    )
                }));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(bad(format!(
                    "parameter `{k}` given twice (lists are comma-separated)"
                )));
            }
        }
        Ok(Self(map))
    }

    /// A text parameter; empty counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// A comma-separated list of names (empty items ignored).
    pub(crate) fn names(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A comma-separated list of values of a type (severity, state).
    pub(crate) fn list<T: FromStr>(&self, name: &str) -> Result<Vec<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.names(name)
            .iter()
            .map(|s| {
                s.parse::<T>()
                    .map_err(|e| bad(format!("parameter `{name}`: {e}")))
            })
            .collect()
    }

    /// An integer parameter.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.text(name)
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    bad(format!(
                        "parameter `{name}`: `{}` is not an integer",
                        clip(&s)
                    ))
                })
            })
            .transpose()
    }

    /// `true` / `false` (default false).
    pub(crate) fn bool(&self, name: &str) -> Result<bool, ApiError> {
        match self.text(name).as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(bad(format!(
                "parameter `{name}`: expected true or false, not `{}`",
                clip(other)
            ))),
        }
    }

    /// The page size: `default` when absent, 1..=`max`.
    pub(crate) fn limit(&self, default: u64, max: u64) -> Result<u64, ApiError> {
        match self.text("limit") {
            None => Ok(default),
            Some(s) => match s.parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(bad(format!(
                    "parameter `limit`: expected an integer from 1 to {max}, not `{}`",
                    clip(&s)
                ))),
            },
        }
    }

    /// A time: RFC 3339, or `YYYY-MM-DD` (midnight UTC).
    pub(crate) fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.text(name)
            .map(|s| {
                parse_time(&s).ok_or_else(|| {
                    bad(format!(
                        "parameter `{name}`: `{}` is neither RFC 3339 (2026-11-01T00:00:00Z) nor \
                         a date (2026-11-01)",
                        clip(&s)
                    ))
                })
            })
            .transpose()
    }

    /// The decoded `cursor`, checked to be `N` strings (times as strings too).
    pub(crate) fn cursor(&self) -> Result<Option<Vec<Option<String>>>, ApiError> {
        let Some(c) = self.text("cursor") else {
            return Ok(None);
        };
        let malformed = || bad("parameter `cursor`: malformed (use the next_cursor of a page)");
        let bytes = URL_SAFE_NO_PAD
            .decode(c.as_bytes())
            .map_err(|_| malformed())?;
        let v: Vec<Option<String>> = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        Ok(Some(v))
    }
}

/// A cursor for the next page: the key of the last row, opaque to clients.
pub(crate) fn encode_cursor(parts: &[Option<&str>]) -> String {
    let json = serde_json::to_vec(parts).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The error for a cursor of the wrong shape for an endpoint.
pub(crate) fn bad_cursor() -> ApiError {
    bad("parameter `cursor`: malformed (use the next_cursor of a page of the same endpoint)")
}

/// RFC 3339 or `YYYY-MM-DD`.
pub(crate) fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// A user value shortened for a message.
fn clip(s: &str) -> String {
    let mut c: String = s.chars().take(60).collect();
    c.retain(|c| !c.is_control());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let p = Params::parse(
            Some("severity=critical%2Chigh&limit=7&search=a+b"),
            &["severity", "limit", "search"],
        )
        .unwrap();
        assert_eq!(p.names("severity"), ["critical", "high"]);
        assert_eq!(p.limit(100, 1000).unwrap(), 7);
        assert_eq!(p.text("search").as_deref(), Some("a b"));
        assert!(Params::parse(Some("x=1"), &["limit"]).is_err());
        assert!(Params::parse(Some("limit=1&limit=2"), &["limit"]).is_err());
        assert!(Params::parse(Some("limit=%zz"), &["limit"]).is_err());
        let p = Params::parse(Some("limit=0"), &["limit"]).unwrap();
        assert!(p.limit(100, 1000).is_err());
        let c = encode_cursor(&[Some("a"), None, Some("b")]);
        let p = Params::parse(Some(&format!("cursor={c}")), &["cursor"]).unwrap();
        assert_eq!(
            p.cursor().unwrap().unwrap(),
            vec![Some("a".to_owned()), None, Some("b".to_owned())]
        );
        assert!(parse_time("2026-11-01").is_some());
        assert!(parse_time("2026-11-01T10:00:00Z").is_some());
        assert!(parse_time("yesterday").is_none());
    }
}
