//! The `api_keys` setting: the key string exactly as Security Center displays it,
//! `accesskey=<access-key>; secretkey=<secret-key>;`.
//!
//! Tolerant of how people paste it:
//! - spaces anywhere around names, `=` and `;`;
//! - key-name case (`accesskey`, `accessKey`, `ACCESSKEY`);
//! - a missing trailing `;`;
//! - one pair of surrounding single or double quotes;
//! - an `x-apikey:` header prefix (any case) copied along with the value.
//!
//! Strict on everything else, with one-line messages that name the part that is wrong and
//! never contain a key value: a missing part, an empty value, a key given twice, an unknown
//! key name, a part that is not `name=value`, an empty part between two `;`, an unbalanced
//! quote, and a value with a character outside `[A-Za-z0-9_-]`.
//!
//! Why not require 32 hex digits: Security Center generates keys as 32 hex characters, but
//! that is an observation from its documentation, not a stated format; rejecting any other
//! length or alphabet could lock out a valid installation. What is rejected is every character
//! that cannot be part of a key token in the `x-apikey` header (`;`, `=`, quotes, whitespace
//! inside a value, control and non-ASCII characters — typical copy/paste damage).

use tenax_source::secret::SecretString;

/// True when `v` is a plausible key value: non-empty, only ASCII letters, digits, `-`, `_`.
pub fn is_key_token(v: &str) -> bool {
    !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The message when a key value has a character outside [`is_key_token`].
pub(crate) const BAD_CHARS: &str = "contains a character other than letters, digits, `-` or `_`";

/// The longest key name the error messages repeat; longer or non-letter names are only
/// described by position, so a pasted key never ends up in a message.
const MAX_ECHOED_NAME: usize = 16;

/// Parses `accesskey=…; secretkey=…;` into (access key, secret key).
///
/// Errors are one line starting with `api_keys` and never contain a key value.
///
/// ```
/// use tenax_source_sc::parse_api_keys;
/// use secrecy::ExposeSecret;
/// let (a, s) = parse_api_keys("x-apikey: accessKey=0a1b; secretKey=2c3d").unwrap();
/// assert_eq!((a.expose_secret(), s.expose_secret()), ("0a1b", "2c3d"));
/// assert_eq!(
///     parse_api_keys("accesskey=0a1b;").unwrap_err(),
///     "api_keys: secretkey is missing"
/// );
/// ```
pub fn parse_api_keys(input: &str) -> Result<(SecretString, SecretString), String> {
    let mut s = input.trim();
    // `"x-apikey: …"` quoted whole: drop the outer quotes before looking for the prefix.
    if s.len() >= 2
        && (s.starts_with('"') && s.ends_with('"') || s.starts_with('\'') && s.ends_with('\''))
        && strip_header_prefix(s[1..s.len() - 1].trim()).is_some()
    {
        s = s[1..s.len() - 1].trim();
    }
    if let Some(rest) = strip_header_prefix(s) {
        s = rest.trim();
    }
    let s = unquote(s)?;
    if s.is_empty() {
        return Err("api_keys is empty".into());
    }
    let mut access: Option<&str> = None;
    let mut secret: Option<&str> = None;
    let parts: Vec<&str> = s.split(';').collect();
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        let n = i + 1;
        let part = part.trim();
        if part.is_empty() {
            if i == last && i > 0 {
                break; // the trailing `;`
            }
            return Err(format!("api_keys: part {n} is empty (two `;` in a row?)"));
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!(
                "api_keys: part {n} is not `name=value` (expected accesskey=…; secretkey=…;)"
            ));
        };
        let name = name.trim();
        let value = value.trim();
        let (key, slot) = if name.eq_ignore_ascii_case("accesskey") {
            ("accesskey", &mut access)
        } else if name.eq_ignore_ascii_case("secretkey") {
            ("secretkey", &mut secret)
        } else if name.is_empty() {
            return Err(format!("api_keys: part {n} has no key name before `=`"));
        } else if name.len() <= MAX_ECHOED_NAME && name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!(
                "api_keys: unknown key name `{name}` (expected accesskey and secretkey)"
            ));
        } else {
            return Err(format!(
                "api_keys: part {n} has an unknown key name (expected accesskey and secretkey)"
            ));
        };
        if slot.is_some() {
            return Err(format!("api_keys: {key} is given twice"));
        }
        if value.is_empty() {
            return Err(format!("api_keys: {key} is empty"));
        }
        if !is_key_token(value) {
            return Err(format!("api_keys: {key} {BAD_CHARS}"));
        }
        *slot = Some(value);
    }
    match (access, secret) {
        (Some(a), Some(s)) => Ok((
            SecretString::from(a.to_owned()),
            SecretString::from(s.to_owned()),
        )),
        (None, None) => Err("api_keys: accesskey and secretkey are missing".into()),
        (None, Some(_)) => Err("api_keys: accesskey is missing".into()),
        (Some(_), None) => Err("api_keys: secretkey is missing".into()),
    }
}

/// Strips one pair of matching surrounding quotes; a lone quote at either end is an error.
fn unquote(s: &str) -> Result<&str, String> {
    let b = s.as_bytes();
    let first = b.first().copied();
    let last = b.last().copied();
    let is_q = |c: Option<u8>| matches!(c, Some(b'"' | b'\''));
    match (is_q(first), is_q(last)) {
        (true, true) if b.len() >= 2 && first == last => Ok(s[1..s.len() - 1].trim()),
        (false, false) => Ok(s),
        _ => Err("api_keys: unbalanced quote around the value".into()),
    }
}

/// `x-apikey:` (any case, spaces allowed before the colon) pasted with the value.
fn strip_header_prefix(s: &str) -> Option<&str> {
    const P: &str = "x-apikey";
    let head = s.get(..P.len())?;
    if !head.eq_ignore_ascii_case(P) {
        return None;
    }
    s[P.len()..].trim_start().strip_prefix(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tenax_source::secret::ExposeSecret;

    const A: &str = "0123456789abcdef0123456789abcdef";
    const S: &str = "fedcba9876543210fedcba9876543210";

    fn ok(input: &str) -> (String, String) {
        let (a, s) = parse_api_keys(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        (a.expose_secret().to_owned(), s.expose_secret().to_owned())
    }

    fn err(input: &str) -> String {
        match parse_api_keys(input) {
            Ok(_) => panic!("{input:?} parsed"),
            Err(e) => {
                assert!(!e.contains(A) && !e.contains(S), "{e}");
                assert!(!e.contains('\n'), "{e}");
                e
            }
        }
    }

    #[test]
    fn good_spellings() {
        let want = (A.to_owned(), S.to_owned());
        for input in [
            format!("accesskey={A}; secretkey={S};"),
            format!("accesskey={A}; secretkey={S}"),
            format!("accessKey={A}; secretKey={S}"),
            format!("ACCESSKEY={A};SECRETKEY={S};"),
            format!("  accesskey = {A} ;  secretkey = {S} ;  "),
            format!("secretkey={S}; accesskey={A};"),
            format!("\"accesskey={A}; secretkey={S};\""),
            format!("'accesskey={A}; secretkey={S};'"),
            format!("x-apikey: accesskey={A}; secretkey={S};"),
            format!("X-APIKey:accessKey={A}; secretKey={S}"),
            format!("x-apikey : \"accesskey={A}; secretkey={S};\""),
            format!("'x-apikey: accesskey={A}; secretkey={S};'"),
            format!("accesskey={A};\tsecretkey={S};\n"),
            format!("AccessKey={A}  ;SecretKey={S}  ;"),
            "accesskey=ABC-def_1; secretkey=x".to_owned(),
        ] {
            let got = ok(&input);
            if input.starts_with("accesskey=ABC") {
                assert_eq!(got, ("ABC-def_1".to_owned(), "x".to_owned()));
            } else {
                assert_eq!(got, want, "{input:?}");
            }
        }
    }

    #[test]
    fn bad_spellings_say_which_part_is_wrong() {
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "api_keys is empty"),
            ("  ".into(), "api_keys is empty"),
            ("\"\"".into(), "api_keys is empty"),
            ("x-apikey:".into(), "api_keys is empty"),
            (format!("accesskey={A};"), "api_keys: secretkey is missing"),
            (format!("secretkey={S}"), "api_keys: accesskey is missing"),
            (";".into(), "api_keys: part 1 is empty (two `;` in a row?)"),
            (
                format!("accesskey={A};; secretkey={S}"),
                "api_keys: part 2 is empty (two `;` in a row?)",
            ),
            (
                format!("accesskey=; secretkey={S}"),
                "api_keys: accesskey is empty",
            ),
            (
                format!("accesskey={A}; secretkey= ;"),
                "api_keys: secretkey is empty",
            ),
            (
                format!("accesskey={A}; accesskey={A}; secretkey={S}"),
                "api_keys: accesskey is given twice",
            ),
            (
                format!("accesskey={A}; secretkey={S}; secretKey={S}"),
                "api_keys: secretkey is given twice",
            ),
            (
                format!("access_key={A}; secretkey={S}"),
                "api_keys: part 1 has an unknown key name (expected accesskey and secretkey)",
            ),
            (
                format!("accesskey={A}; token={S}"),
                "api_keys: unknown key name `token` (expected accesskey and secretkey)",
            ),
            (
                format!("{A}{S}=x; accesskey={A}"),
                "api_keys: part 1 has an unknown key name (expected accesskey and secretkey)",
            ),
            (
                format!("={S}"),
                "api_keys: part 1 has no key name before `=`",
            ),
            (
                format!("accesskey={A}; {S}"),
                "api_keys: part 2 is not `name=value` (expected accesskey=…; secretkey=…;)",
            ),
            (
                format!("accesskey={A}; secretkey={S}; junk"),
                "api_keys: part 3 is not `name=value` (expected accesskey=…; secretkey=…;)",
            ),
            (
                format!("accesskey={A} secretkey={S}"),
                "api_keys: accesskey contains a character other than letters, digits, `-` or `_`",
            ),
            (
                format!("accesskey={A}; secretkey={S}=="),
                "api_keys: secretkey contains a character other than letters, digits, `-` or `_`",
            ),
            (
                format!("accesskey={A}; secretkey=\"{S}\";"),
                "api_keys: secretkey contains a character other than letters, digits, `-` or `_`",
            ),
            (
                format!("accesskey={A}; secretkey={S}é"),
                "api_keys: secretkey contains a character other than letters, digits, `-` or `_`",
            ),
            (
                format!("\"accesskey={A}; secretkey={S};"),
                "api_keys: unbalanced quote around the value",
            ),
            (
                format!("\"accesskey={A}; secretkey={S};'"),
                "api_keys: unbalanced quote around the value",
            ),
            (
                format!("accesskey={A}; secretkey={S}\""),
                "api_keys: unbalanced quote around the value",
            ),
            (
                format!("x-apikey {A}"),
                "api_keys: part 1 is not `name=value` (expected accesskey=…; secretkey=…;)",
            ),
        ];
        for (input, want) in &cases {
            assert_eq!(err(input), *want, "{input:?}");
        }
        assert!(cases.len() >= 15);
    }

    #[test]
    fn key_tokens() {
        assert!(is_key_token(A));
        assert!(is_key_token("a-b_C"));
        assert!(!is_key_token(""));
        assert!(!is_key_token("a b"));
        assert!(!is_key_token("a;b"));
        assert!(!is_key_token("ä"));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(input in any::<String>()) {
            if let Err(e) = parse_api_keys(&input) {
                prop_assert!(e.starts_with("api_keys"));
                prop_assert!(!e.contains('\n'));
            }
        }

        #[test]
        fn pasteable_noise_never_panics(input in "[ \"';=:xXaApPiIkKeEyYsScCrRtT0-9_-]{0,60}") {
            let _ = parse_api_keys(&input);
        }

        #[test]
        fn errors_never_contain_the_secret(
            prefix in "(\\PC|[;= \"'])*",
            name in prop_oneof![
                Just("secretkey".to_owned()),
                Just("SecretKey".to_owned()),
                Just("accesskey".to_owned()),
                "[a-zA-Z_]{0,12}",
            ],
            secret in "[0-9a-f]{32}|[A-Za-z0-9_-]{20,40}|[\\PC]{20,40}",
            suffix in "(\\PC|[;= \"'])*",
        ) {
            let input = format!("{prefix}{name}={secret}{suffix}");
            if let Err(e) = parse_api_keys(&input) {
                prop_assert!(!e.contains(secret.as_str()), "{e:?} echoes the secret");
            }
            let bare = format!("{prefix}{secret}{suffix}");
            if let Err(e) = parse_api_keys(&bare) {
                prop_assert!(!e.contains(secret.as_str()), "{e:?} echoes the secret");
            }
        }
    }
}
