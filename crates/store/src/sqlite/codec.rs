//! How model values are spelled in SQLite columns, both ways. Every decoding failure is an
//! [`Error::Corrupt`] naming the table and the column; nothing here panics on stored data.

use std::collections::BTreeMap;

use chrono::DateTime;
use rusqlite::Row;
use rusqlite::types::{Value, ValueRef};
use tenax_model::{FindingState, Severity, SourceKind, Timestamp};

use crate::{Error, Result};

/// A timestamp as a column value: INTEGER nanoseconds since the epoch, or TEXT
/// `<seconds>:<nanoseconds>` when that does not fit (far past or future, leap second).
pub(crate) fn ts_value(ts: &Timestamp) -> Value {
    let nanos = ts.timestamp_subsec_nanos();
    match ts.timestamp_nanos_opt() {
        Some(n) if nanos < 1_000_000_000 => Value::Integer(n),
        _ => Value::Text(format!("{}:{}", ts.timestamp(), nanos)),
    }
}

/// An optional timestamp as a column value.
pub(crate) fn opt_ts_value(ts: Option<&Timestamp>) -> Value {
    ts.map_or(Value::Null, ts_value)
}

/// Reads a timestamp written by [`ts_value`].
pub(crate) fn ts_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<Timestamp> {
    match v {
        ValueRef::Integer(n) => Ok(DateTime::from_timestamp_nanos(n)),
        ValueRef::Text(t) => {
            let parsed = std::str::from_utf8(t).ok().and_then(|s| {
                let (secs, nanos) = s.split_once(':')?;
                DateTime::from_timestamp(secs.parse().ok()?, nanos.parse().ok()?)
            });
            parsed.ok_or_else(|| {
                corrupt(
                    table,
                    format!("{what}: bad timestamp `{}`", String::from_utf8_lossy(t)),
                )
            })
        }
        other => Err(corrupt(
            table,
            format!("{what}: expected a timestamp, found {}", type_name(other)),
        )),
    }
}

/// Reads an optional timestamp.
pub(crate) fn opt_ts_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<Option<Timestamp>> {
    match v {
        ValueRef::Null => Ok(None),
        v => ts_from(v, table, what).map(Some),
    }
}

/// A list as JSON text, `NULL` when empty.
pub(crate) fn list_value(list: &[String]) -> Result<Value> {
    if list.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::to_string(list)
        .map(Value::Text)
        .map_err(|e| Error::Config(format!("cannot encode a list as JSON: {e}")))
}

/// A map as JSON text, `NULL` when empty.
pub(crate) fn map_value(map: &BTreeMap<String, String>) -> Result<Value> {
    if map.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::to_string(map)
        .map(Value::Text)
        .map_err(|e| Error::Config(format!("cannot encode a map as JSON: {e}")))
}

/// Reads a list written by [`list_value`].
pub(crate) fn list_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<Vec<String>> {
    match v {
        ValueRef::Null => Ok(Vec::new()),
        ValueRef::Text(t) => serde_json::from_slice(t)
            .map_err(|e| corrupt(table, format!("{what}: not a JSON list of strings: {e}"))),
        other => Err(corrupt(
            table,
            format!("{what}: expected JSON text, found {}", type_name(other)),
        )),
    }
}

/// Reads a map written by [`map_value`].
pub(crate) fn map_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<BTreeMap<String, String>> {
    match v {
        ValueRef::Null => Ok(BTreeMap::new()),
        ValueRef::Text(t) => serde_json::from_slice(t)
            .map_err(|e| corrupt(table, format!("{what}: not a JSON object of strings: {e}"))),
        other => Err(corrupt(
            table,
            format!("{what}: expected JSON text, found {}", type_name(other)),
        )),
    }
}

/// Reads a required text column.
pub(crate) fn text_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<String> {
    match v {
        ValueRef::Text(t) => String::from_utf8(t.to_vec())
            .map_err(|_| corrupt(table, format!("{what}: text is not UTF-8"))),
        other => Err(corrupt(
            table,
            format!("{what}: expected text, found {}", type_name(other)),
        )),
    }
}

/// Reads an optional text column.
pub(crate) fn opt_text_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<Option<String>> {
    match v {
        ValueRef::Null => Ok(None),
        v => text_from(v, table, what).map(Some),
    }
}

/// Reads a required integer column.
pub(crate) fn int_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<i64> {
    match v {
        ValueRef::Integer(n) => Ok(n),
        other => Err(corrupt(
            table,
            format!("{what}: expected an integer, found {}", type_name(other)),
        )),
    }
}

/// Reads a non-negative integer column as `u64`.
pub(crate) fn count_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<u64> {
    let n = int_from(v, table, what)?;
    u64::try_from(n).map_err(|_| corrupt(table, format!("{what}: negative count {n}")))
}

/// Reads an optional non-negative integer column as `u64`.
pub(crate) fn opt_count_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<Option<u64>> {
    match v {
        ValueRef::Null => Ok(None),
        v => count_from(v, table, what).map(Some),
    }
}

/// Reads an optional REAL column (an INTEGER is accepted: SQLite may store integral reals so).
pub(crate) fn opt_real_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<Option<f64>> {
    match v {
        ValueRef::Null => Ok(None),
        ValueRef::Real(r) => Ok(Some(r)),
        // Integral values below 2^53 are exact in f64; larger ones cannot come from a REAL column.
        #[allow(clippy::cast_precision_loss)]
        ValueRef::Integer(n) => Ok(Some(n as f64)),
        other => Err(corrupt(
            table,
            format!("{what}: expected a number, found {}", type_name(other)),
        )),
    }
}

/// Reads a source kind (`vm`, `sc`, `ot`).
pub(crate) fn kind_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<SourceKind> {
    let s = text_from(v, table, what)?;
    s.parse()
        .map_err(|e| corrupt(table, format!("{what}: {e}")))
}

/// Reads an optional source kind.
pub(crate) fn opt_kind_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<Option<SourceKind>> {
    match v {
        ValueRef::Null => Ok(None),
        v => kind_from(v, table, what).map(Some),
    }
}

/// Reads a severity stored as its id 0–4.
pub(crate) fn severity_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<Severity> {
    let n = int_from(v, table, what)?;
    Severity::from_id(n).ok_or_else(|| corrupt(table, format!("{what}: unknown severity id {n}")))
}

/// Reads a finding state.
pub(crate) fn state_from(v: ValueRef<'_>, table: &'static str, what: &str) -> Result<FindingState> {
    let s = text_from(v, table, what)?;
    s.parse()
        .map_err(|e| corrupt(table, format!("{what}: {e}")))
}

/// Reads a JSON text column into a value.
pub(crate) fn json_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<serde_json::Value> {
    match v {
        ValueRef::Text(t) => {
            serde_json::from_slice(t).map_err(|e| corrupt(table, format!("{what}: not JSON: {e}")))
        }
        other => Err(corrupt(
            table,
            format!("{what}: expected JSON text, found {}", type_name(other)),
        )),
    }
}

/// A JSON text column kept as text (checked to be JSON).
pub(crate) fn raw_json_from(
    v: ValueRef<'_>,
    table: &'static str,
    what: &str,
) -> Result<Box<serde_json::value::RawValue>> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                serde_json::value::RawValue::from_string(t.to_owned()).map_err(|e| e.to_string())
            })
            .map_err(|e| corrupt(table, format!("{what}: not JSON: {e}"))),
        other => Err(corrupt(
            table,
            format!("{what}: expected JSON text, found {}", type_name(other)),
        )),
    }
}

/// Largest raw record accepted when decompressing (a guard against a corrupt length prefix).
const MAX_RAW_BYTES: usize = 256 << 20;

/// Compresses raw JSON text into `out` (cleared first): a little-endian u32 length, then the
/// LZ4 block, compressed against `dict` when given (the same dictionary is needed to read it).
pub(crate) fn compress_raw(raw: &[u8], dict: Option<&[u8]>, out: &mut Vec<u8>) -> Result<()> {
    let n = compress_raw_into(raw, dict, out)?.len();
    out.truncate(n);
    Ok(())
}

/// [`compress_raw`] into a reusable buffer: `buf` only grows (it is not zeroed again on every
/// call) and the blob is the returned prefix of it.
pub(crate) fn compress_raw_into<'b>(
    raw: &[u8],
    dict: Option<&[u8]>,
    buf: &'b mut Vec<u8>,
) -> Result<&'b [u8]> {
    let len = u32::try_from(raw.len())
        .ok()
        .filter(|&n| n as usize <= MAX_RAW_BYTES)
        .ok_or_else(|| {
            Error::Config(format!(
                "raw record of {} bytes is larger than 256 MiB",
                raw.len()
            ))
        })?;
    let needed = 4 + lz4_flex::block::get_maximum_output_size(raw.len());
    if buf.len() < needed {
        buf.resize(needed, 0);
    }
    buf[..4].copy_from_slice(&len.to_le_bytes());
    let n = match dict {
        None => lz4_flex::block::compress_into(raw, &mut buf[4..needed]),
        Some(d) => lz4_flex::block::compress_into_with_dict(raw, &mut buf[4..needed], d),
    }
    .map_err(|e| Error::Config(format!("cannot compress a raw record: {e}")))?;
    Ok(&buf[..4 + n])
}

/// Decompresses a blob written by [`compress_raw`] (with the same dictionary).
pub(crate) fn decompress(blob: &[u8], dict: Option<&[u8]>) -> std::result::Result<Vec<u8>, String> {
    let (len, body) = blob
        .split_first_chunk::<4>()
        .ok_or_else(|| format!("blob of {} bytes has no length prefix", blob.len()))?;
    let len = u32::from_le_bytes(*len) as usize;
    // LZ4 cannot expand by more than 255×; anything claiming more is corrupt.
    if len > MAX_RAW_BYTES || len > body.len().saturating_mul(255).saturating_add(16) {
        return Err(format!(
            "blob claims {len} bytes from {} compressed",
            body.len()
        ));
    }
    let mut out = vec![0u8; len];
    let n = match dict {
        None => lz4_flex::block::decompress_into(body, &mut out),
        Some(d) => lz4_flex::block::decompress_into_with_dict(body, &mut out, d),
    }
    .map_err(|e| format!("blob does not decompress: {e}"))?;
    if n != len {
        return Err(format!("blob decompressed to {n} bytes, expected {len}"));
    }
    Ok(out)
}

/// Decompresses and parses a `raw` column. `NULL` (no raw kept) reads as JSON `null`.
pub(crate) fn raw_from(
    v: ValueRef<'_>,
    dict: Option<&[u8]>,
    table: &'static str,
    what: &str,
) -> Result<serde_json::Value> {
    let blob = match v {
        ValueRef::Null => return Ok(serde_json::Value::Null),
        ValueRef::Blob(b) => b,
        other => {
            return Err(corrupt(
                table,
                format!("{what}: expected a blob, found {}", type_name(other)),
            ));
        }
    };
    let text =
        decompress(blob, dict).map_err(|reason| corrupt(table, format!("{what}: {reason}")))?;
    serde_json::from_slice(&text)
        .map_err(|e| corrupt(table, format!("{what}: raw is not JSON: {e}")))
}

/// Reads column `idx` of a row as a value reference, mapping a driver error to
/// [`Error::Corrupt`].
pub(crate) fn col<'r>(row: &'r Row<'_>, idx: usize, table: &'static str) -> Result<ValueRef<'r>> {
    row.get_ref(idx)
        .map_err(|e| corrupt(table, format!("column {idx}: {e}")))
}

pub(crate) fn corrupt(table: &'static str, reason: String) -> Error {
    Error::Corrupt { table, reason }
}

fn type_name(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "an integer",
        ValueRef::Real(_) => "a real",
        ValueRef::Text(_) => "text",
        ValueRef::Blob(_) => "a blob",
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn timestamps_round_trip_in_and_out_of_nanosecond_range() {
        let cases = [
            Utc.timestamp_opt(1_521_060_212, 123_456_789).unwrap(),
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(-1, 999_999_999).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(), // leap second
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ];
        for ts in cases {
            let v = ts_value(&ts);
            let back = ts_from(ValueRef::from(&v), "t", "c").unwrap();
            assert_eq!(back, ts, "{v:?}");
            assert_eq!(back.timestamp_subsec_nanos(), ts.timestamp_subsec_nanos());
        }
        assert!(matches!(ts_value(&cases[0]), Value::Integer(_)));
        assert!(matches!(ts_value(&cases[3]), Value::Text(_)));
        assert!(matches!(ts_value(&cases[5]), Value::Text(_)));
    }

    use chrono::Utc;

    #[test]
    fn bad_values_are_corrupt_errors() {
        let e = ts_from(ValueRef::Text(b"yesterday"), "findings", "last_found").unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt row in findings: last_found: bad timestamp `yesterday`"
        );
        let e = severity_from(ValueRef::Integer(9), "findings", "severity").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Corrupt {
                    table: "findings",
                    ..
                }
            ),
            "{e}"
        );
        let e = list_from(ValueRef::Text(b"[1"), "assets", "hostnames").unwrap_err();
        assert!(e.to_string().contains("hostnames"), "{e}");
        let e = raw_from(
            ValueRef::Blob(b"\xff\xff\xff\x7f12"),
            None,
            "findings",
            "raw",
        )
        .unwrap_err();
        assert!(e.to_string().contains("claims"), "{e}");
        let e = raw_from(
            ValueRef::Blob(b"\x10\0\0\0\xff\xff"),
            None,
            "findings",
            "raw",
        )
        .unwrap_err();
        assert!(e.to_string().contains("decompress"), "{e}");
        let e = raw_from(ValueRef::Blob(b"ab"), None, "findings", "raw").unwrap_err();
        assert!(e.to_string().contains("prefix"), "{e}");
        let e = raw_from(ValueRef::Integer(3), None, "findings", "raw").unwrap_err();
        assert!(e.to_string().contains("expected a blob"), "{e}");
    }

    #[test]
    fn raw_round_trips() {
        let raw = r#"{"a":[1,2,3],"text":"hello hello hello hello"}"#;
        let want = serde_json::from_str::<serde_json::Value>(raw).unwrap();
        let mut buf = Vec::new();
        compress_raw(raw.as_bytes(), None, &mut buf).unwrap();
        assert_eq!(
            raw_from(ValueRef::Blob(&buf), None, "findings", "raw").unwrap(),
            want
        );
        assert_eq!(
            raw_from(ValueRef::Null, None, "assets", "raw").unwrap(),
            serde_json::Value::Null
        );

        let dict = br#"{"a":[1,2,3],"text":"hello hello hello hello","more":"words"}"#;
        compress_raw(raw.as_bytes(), Some(dict), &mut buf).unwrap();
        assert!(
            buf.len() < 16,
            "the dictionary holds almost everything: {}",
            buf.len()
        );
        assert_eq!(
            raw_from(ValueRef::Blob(&buf), Some(dict), "findings", "raw").unwrap(),
            want
        );
        let wrong = raw_from(ValueRef::Blob(&buf), None, "findings", "raw");
        assert!(
            wrong.is_err(),
            "without its dictionary the blob does not read"
        );
    }
}
