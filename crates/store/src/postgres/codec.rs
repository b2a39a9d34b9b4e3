//! How model values are spelled in PostgreSQL columns, both ways. Every decoding failure is an
//! [`Error::Corrupt`] naming the table and the column; nothing here panics on stored data.

use std::collections::BTreeMap;

use chrono::DateTime;
use postgres::Row;
use postgres::types::FromSql;
use tenax_model::{FindingState, Severity, SourceKind, Timestamp};

use crate::{Error, Result};

const NANOS: i128 = 1_000_000_000;
/// Digits of the fraction that marks a leap second (see the migration's conventions).
const LEAP_DIGITS: usize = 10;

/// A timestamp as the text of a NUMERIC: integral nanoseconds since the epoch; a leap second
/// is the last nanosecond of its :59 plus `(n + 1) / 10^10`.
pub(crate) fn ts_text(ts: &Timestamp) -> String {
    let secs = i128::from(ts.timestamp());
    let nanos = i128::from(ts.timestamp_subsec_nanos());
    if nanos < NANOS {
        (secs * NANOS + nanos).to_string()
    } else {
        let n = secs * NANOS + NANOS - 1;
        format!("{n}.{:0width$}", nanos - NANOS + 1, width = LEAP_DIGITS)
    }
}

/// An optional timestamp as NUMERIC text.
pub(crate) fn opt_ts_text(ts: Option<&Timestamp>) -> Option<String> {
    ts.map(ts_text)
}

/// Reads NUMERIC text written by [`ts_text`].
pub(crate) fn ts_parse(s: &str) -> Option<Timestamp> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f.trim_end_matches('0')),
        None => (s, ""),
    };
    let n: i128 = int.parse().ok()?;
    if frac.is_empty() {
        let secs = i64::try_from(n.div_euclid(NANOS)).ok()?;
        let nanos = u32::try_from(n.rem_euclid(NANOS)).ok()?;
        return DateTime::from_timestamp(secs, nanos);
    }
    if frac.len() > LEAP_DIGITS || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let scaled: i128 = format!("{frac:0<width$}", width = LEAP_DIGITS)
        .parse()
        .ok()?;
    let leap = scaled - 1;
    if !(0..NANOS).contains(&leap) || (n - (NANOS - 1)).rem_euclid(NANOS) != 0 {
        return None;
    }
    let secs = i64::try_from((n - (NANOS - 1)).div_euclid(NANOS)).ok()?;
    DateTime::from_timestamp(secs, u32::try_from(NANOS + leap).ok()?)
}

/// A list as a text[] value, `None` (NULL) when empty.
pub(crate) fn list(list: &[String]) -> Option<&[String]> {
    (!list.is_empty()).then_some(list)
}

/// A map as JSON text, `None` when empty.
pub(crate) fn map_text(map: &BTreeMap<String, String>) -> Result<Option<String>> {
    if map.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(map)
        .map(Some)
        .map_err(|e| Error::Config(format!("cannot encode a map as JSON: {e}")))
}

/// A decimal number given as text (`-12`, `34.0000000005`), sent as a binary NUMERIC (for
/// binary `COPY`, which converts nothing).
#[derive(Debug)]
pub(crate) struct Numeric(pub(crate) String);

impl postgres::types::ToSql for Numeric {
    fn to_sql(
        &self,
        _ty: &postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        use bytes::BufMut;
        let s = self.0.as_str();
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(format!("not a decimal number: `{}`", self.0).into());
        }
        // Base-10000 digits: the integer part padded left, the fraction padded right.
        let int_pad = format!("{}{int}", "0".repeat((4 - int.len() % 4) % 4));
        let frac_pad = format!("{frac}{}", "0".repeat((4 - frac.len() % 4) % 4));
        let group = |c: &[u8]| -> i16 { c.iter().fold(0i16, |n, d| n * 10 + i16::from(d - b'0')) };
        let mut digits: Vec<i16> = int_pad.as_bytes().chunks(4).map(group).collect();
        let mut weight = i16::try_from(digits.len()).unwrap_or(i16::MAX) - 1;
        digits.extend(frac_pad.as_bytes().chunks(4).map(group));
        while digits.first() == Some(&0) {
            digits.remove(0);
            weight -= 1;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        if digits.is_empty() {
            weight = 0;
        }
        let ndigits = i16::try_from(digits.len()).map_err(|_| "number too long")?;
        out.put_i16(ndigits);
        out.put_i16(weight);
        out.put_u16(if neg && !digits.is_empty() { 0x4000 } else { 0 });
        out.put_u16(u16::try_from(frac.len()).map_err(|_| "fraction too long")?);
        for d in digits {
            out.put_i16(d);
        }
        Ok(postgres::types::IsNull::No)
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::NUMERIC
    }

    postgres::types::to_sql_checked!();
}

/// A timestamp as a binary NUMERIC.
pub(crate) fn ts_numeric(ts: &Timestamp) -> Numeric {
    Numeric(ts_text(ts))
}

/// An optional timestamp as a binary NUMERIC.
pub(crate) fn opt_ts_numeric(ts: Option<&Timestamp>) -> Option<Numeric> {
    ts.map(ts_numeric)
}

pub(crate) fn corrupt(table: &'static str, reason: String) -> Error {
    Error::Corrupt { table, reason }
}

/// Typed access to the columns of a row, every failure a [`Error::Corrupt`] of `table`.
pub(crate) struct Cols<'r> {
    pub(crate) row: &'r Row,
    pub(crate) table: &'static str,
}

impl<'r> Cols<'r> {
    pub(crate) fn new(row: &'r Row, table: &'static str) -> Self {
        Self { row, table }
    }

    pub(crate) fn get<T: FromSql<'r>>(&self, idx: usize, what: &str) -> Result<T> {
        self.row
            .try_get(idx)
            .map_err(|e| corrupt(self.table, format!("{what}: {e}")))
    }

    pub(crate) fn text(&self, idx: usize, what: &str) -> Result<String> {
        self.get(idx, what)
    }

    pub(crate) fn opt_text(&self, idx: usize, what: &str) -> Result<Option<String>> {
        self.get(idx, what)
    }

    pub(crate) fn ts(&self, idx: usize, what: &str) -> Result<Timestamp> {
        self.opt_ts(idx, what)?.ok_or_else(|| {
            corrupt(
                self.table,
                format!("{what}: expected a timestamp, found NULL"),
            )
        })
    }

    /// A NUMERIC timestamp selected as `::text`.
    pub(crate) fn opt_ts(&self, idx: usize, what: &str) -> Result<Option<Timestamp>> {
        match self.get::<Option<&str>>(idx, what)? {
            None => Ok(None),
            Some(s) => ts_parse(s)
                .map(Some)
                .ok_or_else(|| corrupt(self.table, format!("{what}: bad timestamp `{s}`"))),
        }
    }

    pub(crate) fn list(&self, idx: usize, what: &str) -> Result<Vec<String>> {
        Ok(self
            .get::<Option<Vec<String>>>(idx, what)?
            .unwrap_or_default())
    }

    pub(crate) fn map(&self, idx: usize, what: &str) -> Result<BTreeMap<String, String>> {
        match self.get::<Option<&str>>(idx, what)? {
            None => Ok(BTreeMap::new()),
            Some(t) => serde_json::from_str(t).map_err(|e| {
                corrupt(
                    self.table,
                    format!("{what}: not a JSON object of strings: {e}"),
                )
            }),
        }
    }

    pub(crate) fn json(&self, idx: usize, what: &str) -> Result<serde_json::Value> {
        let t: &str = self.get(idx, what)?;
        serde_json::from_str(t).map_err(|e| corrupt(self.table, format!("{what}: not JSON: {e}")))
    }

    /// A JSON text column kept as text (checked to be JSON).
    pub(crate) fn raw_json(
        &self,
        idx: usize,
        what: &str,
    ) -> Result<Box<serde_json::value::RawValue>> {
        let t: &str = self.get(idx, what)?;
        serde_json::value::RawValue::from_string(t.to_owned())
            .map_err(|e| corrupt(self.table, format!("{what}: not JSON: {e}")))
    }

    pub(crate) fn count(&self, idx: usize, what: &str) -> Result<u64> {
        let n: i64 = self.get(idx, what)?;
        u64::try_from(n).map_err(|_| corrupt(self.table, format!("{what}: negative count {n}")))
    }

    pub(crate) fn opt_count(&self, idx: usize, what: &str) -> Result<Option<u64>> {
        match self.get::<Option<i64>>(idx, what)? {
            None => Ok(None),
            Some(n) => u64::try_from(n)
                .map(Some)
                .map_err(|_| corrupt(self.table, format!("{what}: negative count {n}"))),
        }
    }

    pub(crate) fn kind(&self, idx: usize, what: &str) -> Result<SourceKind> {
        let s: &str = self.get(idx, what)?;
        s.parse()
            .map_err(|e| corrupt(self.table, format!("{what}: {e}")))
    }

    pub(crate) fn opt_kind(&self, idx: usize, what: &str) -> Result<Option<SourceKind>> {
        match self.get::<Option<&str>>(idx, what)? {
            None => Ok(None),
            Some(s) => s
                .parse()
                .map(Some)
                .map_err(|e| corrupt(self.table, format!("{what}: {e}"))),
        }
    }

    pub(crate) fn severity(&self, idx: usize, what: &str) -> Result<Severity> {
        let n: i16 = self.get(idx, what)?;
        Severity::from_id(i64::from(n))
            .ok_or_else(|| corrupt(self.table, format!("{what}: unknown severity id {n}")))
    }

    pub(crate) fn opt_severity(&self, idx: usize, what: &str) -> Result<Option<Severity>> {
        match self.get::<Option<i16>>(idx, what)? {
            None => Ok(None),
            Some(n) => Severity::from_id(i64::from(n))
                .map(Some)
                .ok_or_else(|| corrupt(self.table, format!("{what}: unknown severity id {n}"))),
        }
    }

    pub(crate) fn state(&self, idx: usize, what: &str) -> Result<FindingState> {
        let s: &str = self.get(idx, what)?;
        s.parse()
            .map_err(|e| corrupt(self.table, format!("{what}: {e}")))
    }

    /// A `raw` column: decompressed and parsed; NULL reads as JSON `null`.
    pub(crate) fn raw(&self, idx: usize, what: &str) -> Result<serde_json::Value> {
        match self.raw_bytes(idx, what)? {
            None => Ok(serde_json::Value::Null),
            Some(text) => serde_json::from_slice(&text)
                .map_err(|e| corrupt(self.table, format!("{what}: raw is not JSON: {e}"))),
        }
    }

    /// A `raw` column decompressed (`None` when NULL).
    pub(crate) fn raw_bytes(&self, idx: usize, what: &str) -> Result<Option<Vec<u8>>> {
        match self.get::<Option<&[u8]>>(idx, what)? {
            None => Ok(None),
            Some(blob) => crate::sqlite::codec::decompress(blob, None)
                .map(Some)
                .map_err(|reason| corrupt(self.table, format!("{what}: {reason}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    #[test]
    fn timestamps_round_trip_over_chronos_whole_range() {
        let cases = [
            Utc.timestamp_opt(1_521_060_212, 123_456_789).unwrap(),
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.timestamp_opt(-1, 999_999_999).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.timestamp_opt(1_483_228_799, 1_500_000_000).unwrap(), // leap second
            Utc.timestamp_opt(1_483_228_799, 1_000_000_000).unwrap(),
            Utc.timestamp_opt(1_483_228_799, 1_999_999_999).unwrap(),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ];
        for ts in cases {
            let t = ts_text(&ts);
            assert_eq!(ts_parse(&t), Some(ts), "{t}");
            // PostgreSQL may print more fraction digits (trailing zeros).
            if t.contains('.') {
                assert_eq!(ts_parse(&format!("{t}000")), Some(ts), "{t}");
            }
        }
        // Leap seconds sort between :59.999999999 and the next second.
        let before = ts_text(&Utc.timestamp_opt(1_483_228_799, 999_999_999).unwrap());
        let leap = ts_text(&cases[4]);
        assert!(leap.starts_with(&before), "{leap} vs {before}");
        assert_eq!(ts_parse("12x"), None);
        assert_eq!(ts_parse("5.5"), None);
    }
}
