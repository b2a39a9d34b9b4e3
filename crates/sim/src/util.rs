//! Small deterministic helpers shared by every simulated product: seeded hashing, ids,
//! fast timestamp formatting and a minimal JSON writer for the hot rendering paths.

use rand::SeedableRng;
use rand::rngs::SmallRng;

/// Milliseconds per day.
pub(crate) const DAY_MS: i64 = 86_400_000;
/// Milliseconds per hour.
pub(crate) const HOUR_MS: i64 = 3_600_000;

/// splitmix64 finalizer: a good 64-bit mixer.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Combines values into one well-mixed hash.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x5EED_0F7E_4A11_u64;
    for p in parts {
        h = splitmix(h ^ splitmix(*p));
    }
    h
}

/// Hash of a short domain label (compile-time-ish constant for namespacing streams).
pub(crate) fn label(s: &str) -> u64 {
    // FNV-1a
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A small fast RNG for one entity in one namespace.
pub(crate) fn rng_for(seed: u64, domain: &str, idx: u64) -> SmallRng {
    SmallRng::seed_from_u64(mix(&[seed, label(domain), idx]))
}

/// A version-4-shaped UUID derived from a hash.
pub(crate) fn uuid_from(h: u64) -> uuid::Uuid {
    let a = splitmix(h);
    let b = splitmix(a ^ 0xA5A5_5A5A_0F0F_F0F0);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// `n` lowercase hex characters derived from a hash.
pub(crate) fn hex_from(h: u64, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(n);
    let mut x = h;
    for i in 0..n {
        if i % 16 == 0 {
            x = splitmix(h.wrapping_add(i as u64));
        }
        out.push(char::from(HEX[(x & 15) as usize]));
        x >>= 4;
    }
    out
}

/// Current wall-clock time in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Days since 1970-01-01 → (year, month, day). Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Fraction digits of an ISO-8601 timestamp.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Frac {
    None,
    Millis,
    Micros,
}

/// Writes `YYYY-MM-DDTHH:MM:SS[.fff[fff]]Z` (UTC) for a Unix time in microseconds.
pub(crate) fn write_iso_us(out: &mut Vec<u8>, us: i64, frac: Frac) {
    let secs = us.div_euclid(1_000_000);
    let sub = us.rem_euclid(1_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = y.clamp(0, 9999) as u32;
    push_2(out, y / 100);
    push_2(out, y % 100);
    out.push(b'-');
    push_2(out, m);
    out.push(b'-');
    push_2(out, d);
    out.push(b'T');
    push_2(out, sod / 3600);
    out.push(b':');
    push_2(out, sod / 60 % 60);
    out.push(b':');
    push_2(out, sod % 60);
    match frac {
        Frac::None => {}
        Frac::Millis => {
            let ms = sub / 1000;
            out.push(b'.');
            out.push(b'0' + (ms / 100) as u8);
            push_2(out, ms % 100);
        }
        Frac::Micros => {
            out.push(b'.');
            let mut digits = [0u8; 6];
            let mut v = sub;
            for slot in digits.iter_mut().rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
            out.extend_from_slice(&digits);
        }
    }
    out.push(b'Z');
}

/// ISO-8601 with milliseconds for a Unix time in milliseconds.
pub(crate) fn write_iso_ms(out: &mut Vec<u8>, ms: i64, frac: Frac) {
    write_iso_us(out, ms.saturating_mul(1000), frac);
}

/// Owned ISO-8601 string (milliseconds) for a Unix time in milliseconds.
pub(crate) fn iso_ms(ms: i64) -> String {
    let mut v = Vec::with_capacity(24);
    write_iso_ms(&mut v, ms, Frac::Millis);
    String::from_utf8(v).unwrap_or_default()
}

/// Owned ISO-8601 string without fraction (`2023-05-04T00:00:00Z`).
pub(crate) fn iso_s(ms: i64) -> String {
    let mut v = Vec::with_capacity(20);
    write_iso_ms(&mut v, ms, Frac::None);
    String::from_utf8(v).unwrap_or_default()
}

/// Parses an RFC 3339 timestamp into Unix milliseconds.
pub(crate) fn parse_iso_ms(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_millis())
}

/// Appends the decimal form of an unsigned integer.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a JSON string literal (with quotes). Plain ASCII without specials is copied as is.
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    let plain = s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // serde_json escaping cannot fail when writing into a Vec.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// JSON-escaped body of a string, without the surrounding quotes.
pub(crate) fn json_escaped(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 2);
    push_json_str(&mut v, s);
    if v.len() >= 2 {
        v.remove(0);
        v.pop();
    }
    v
}

/// Appends `"key":` (the key must not need escaping).
pub(crate) fn push_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn iso_matches_chrono() {
        for ms in [
            0_i64,
            951_782_400_123,
            1_700_000_000_999,
            4_102_444_799_000,
            1_709_164_800_000,
        ] {
            let c = Utc.timestamp_millis_opt(ms).single().expect("valid");
            assert_eq!(iso_ms(ms), c.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            assert_eq!(iso_s(ms), c.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            let mut v = Vec::new();
            write_iso_us(&mut v, ms * 1000 + 456, Frac::Micros);
            let expect = Utc
                .timestamp_micros(ms * 1000 + 456)
                .single()
                .expect("valid");
            assert_eq!(
                String::from_utf8(v).expect("ascii"),
                expect.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            );
            assert_eq!(parse_iso_ms(&iso_ms(ms)), Some(ms));
        }
    }

    #[test]
    fn json_strings() {
        let mut v = Vec::new();
        push_json_str(&mut v, "a\"b\\c\nd");
        assert_eq!(v, br#""a\"b\\c\nd""#);
        assert_eq!(json_escaped("x\ty"), b"x\\ty");
        let mut n = Vec::new();
        push_u64(&mut n, 1234);
        push_u64(&mut n, 0);
        assert_eq!(n, b"12340");
    }

    #[test]
    fn hashes_are_stable() {
        assert_eq!(mix(&[1, 2]), mix(&[1, 2]));
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
        let u = uuid_from(7);
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(hex_from(9, 40).len(), 40);
    }
}
