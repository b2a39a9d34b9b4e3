use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// `None` for missing, empty or whitespace-only strings; the trimmed string otherwise.
/// The contract says missing values are `null`, never `""`.
pub fn non_empty(s: Option<&str>) -> Option<String> {
    let t = s?.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Normalizes a MAC address to lowercase colon form (`aa:bb:cc:dd:ee:ff`).
///
/// Accepts `:`, `-` and `.` separators and bare 12-digit hex. Returns `None` for anything
/// that is not 6 octets of hex.
pub fn normalize_mac(s: &str) -> Option<String> {
    let hex: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    if hex.len() != 12 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    let mut out = String::with_capacity(17);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(pair[0] as char);
        out.push(pair[1] as char);
    }
    Some(out)
}

/// Parses the timestamp spellings Tenable products use into UTC.
///
/// Accepts RFC 3339 / ISO-8601 (with or without fraction or offset), a naive
/// `YYYY-MM-DDTHH:MM:SS` (taken as UTC), and unix epoch seconds or milliseconds as a string.
/// `"-1"`, `"0"`, `""` mean "not set" and give `None`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if t.is_empty() || t == "-1" || t == "0" {
        return None;
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = t.parse().ok()?;
        return epoch(n);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    None
}

/// Epoch seconds, or milliseconds when the number is too large to be seconds.
fn epoch(n: i64) -> Option<DateTime<Utc>> {
    if n <= 0 {
        return None;
    }
    if n > 100_000_000_000 {
        Utc.timestamp_millis_opt(n).single()
    } else {
        Utc.timestamp_opt(n, 0).single()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_forms_normalize() {
        assert_eq!(
            normalize_mac("00:50:56:A6:55:8C").as_deref(),
            Some("00:50:56:a6:55:8c")
        );
        assert_eq!(
            normalize_mac("00-50-56-a6-55-8c").as_deref(),
            Some("00:50:56:a6:55:8c")
        );
        assert_eq!(
            normalize_mac("0050.56a6.558c").as_deref(),
            Some("00:50:56:a6:55:8c")
        );
        assert_eq!(
            normalize_mac("005056a6558c").as_deref(),
            Some("00:50:56:a6:55:8c")
        );
        assert_eq!(normalize_mac("00:50:56"), None);
        assert_eq!(normalize_mac("zz:50:56:a6:55:8c"), None);
    }

    #[test]
    fn timestamps_in_every_spelling() {
        let want = Utc.with_ymd_and_hms(2018, 3, 14, 20, 43, 32).unwrap();
        assert_eq!(parse_timestamp("2018-03-14T20:43:32Z"), Some(want));
        assert_eq!(parse_timestamp("2018-03-14T20:43:32.000Z"), Some(want));
        assert_eq!(parse_timestamp("2018-03-14T20:43:32"), Some(want));
        assert_eq!(parse_timestamp("2018-03-14T22:43:32+02:00"), Some(want));
        assert_eq!(parse_timestamp("1521060212"), Some(want));
        assert_eq!(parse_timestamp("1521060212000"), Some(want));
        assert_eq!(parse_timestamp("-1"), None);
        assert_eq!(parse_timestamp(""), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn empty_is_none() {
        assert_eq!(non_empty(Some("  ")), None);
        assert_eq!(non_empty(Some(" x ")).as_deref(), Some("x"));
        assert_eq!(non_empty(None), None);
    }
}
