//! Secrets: `${VAR}` interpolation from the environment, and a string type whose `Debug`
//! never shows the value.

pub use secrecy::{ExposeSecret, SecretString};

/// Replaces every `${VAR}` in `value` with the environment variable's value.
///
/// `field` names the setting for the error message; the message never contains the value.
pub fn interpolate(value: &str, field: &str) -> Result<String, String> {
    interpolate_with(value, field, |k| std::env::var(k).ok())
}

/// [`interpolate`] with a custom lookup (tests).
pub fn interpolate_with(
    value: &str,
    field: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("`{field}`: unclosed `${{` in the value"))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "`{field}`: `${{{name}}}` is not an environment variable name"
            ));
        }
        match lookup(name) {
            Some(v) if !v.trim().is_empty() => out.push_str(&v),
            Some(_) => return Err(format!("`{field}`: environment variable {name} is empty")),
            None => return Err(format!("`{field}`: environment variable {name} is not set")),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves a secret setting: interpolates `${VAR}` and refuses an empty result.
pub fn resolve_secret(value: &str, field: &str) -> Result<SecretString, String> {
    let v = interpolate(value, field)?;
    let v = v.trim();
    if v.is_empty() {
        return Err(format!("`{field}` is empty"));
    }
    Ok(SecretString::from(v.to_owned()))
}

/// True when the setting reads its value from the environment (so a config file holding it
/// may be world-readable).
pub fn is_indirect(value: &str) -> bool {
    let t = value.trim();
    t.starts_with("${") && t.ends_with('}') && t.matches("${").count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(k: &str) -> Option<String> {
        match k {
            "A" => Some("alpha".into()),
            "EMPTY" => Some("  ".into()),
            _ => None,
        }
    }

    #[test]
    fn interpolates() {
        assert_eq!(interpolate_with("${A}", "f", env).unwrap(), "alpha");
        assert_eq!(interpolate_with("x-${A}-y", "f", env).unwrap(), "x-alpha-y");
        assert_eq!(interpolate_with("plain", "f", env).unwrap(), "plain");
    }

    #[test]
    fn errors_name_field_and_variable_not_value() {
        assert_eq!(
            interpolate_with("${NOPE}", "access_key", env).unwrap_err(),
            "`access_key`: environment variable NOPE is not set"
        );
        assert_eq!(
            interpolate_with("${EMPTY}", "secret_key", env).unwrap_err(),
            "`secret_key`: environment variable EMPTY is empty"
        );
        assert!(
            interpolate_with("${A", "f", env)
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            interpolate_with("${a-b}", "f", env)
                .unwrap_err()
                .contains("not an environment")
        );
    }

    #[test]
    fn indirect_detection() {
        assert!(is_indirect("${TIO_ACCESS_KEY}"));
        assert!(!is_indirect("abc"));
        assert!(!is_indirect("${A}${B}"));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = SecretString::from("hunter2".to_owned());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}

/// A secret setting as written in the config file: `${VAR}` or a literal. `Debug` shows an
/// environment reference as is and a literal as `***`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ConfigSecret(pub String);

impl std::fmt::Debug for ConfigSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if is_indirect(&self.0) {
            write!(f, "{:?}", self.0)
        } else {
            f.write_str("\"***\"")
        }
    }
}

impl ConfigSecret {
    /// The setting as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ConfigSecret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}
