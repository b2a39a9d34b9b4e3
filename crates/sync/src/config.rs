//! `tenax.toml`: the store and the sources. Unknown keys are errors; every error is one line
//! naming the file, the place and the cause.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tenax_model::SourceKind;
use tenax_source::secret::is_indirect;
use tenax_source_ot::OtConfig;
use tenax_source_sc::ScConfig;
use tenax_source_vm::VmConfig;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[store]`.
    #[serde(default)]
    pub store: StoreConfig,
    /// `[[sources]]`.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
}

/// `[store]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` or `postgres://…`. The `--db` flag and `TENAX_DB` override it.
    #[serde(default)]
    pub url: Option<String>,
    /// Time to live of a source's sync lease, in seconds (default 120): a collector that dies
    /// holds its sources this long at most. `TENAX_LEASE_SECS` overrides it.
    #[serde(default)]
    pub lease_secs: Option<u64>,
}

/// One `[[sources]]` entry, by `kind`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceConfig {
    /// Tenable Vulnerability Management.
    Vm(VmConfig),
    /// Tenable Security Center (on-prem).
    Sc(ScConfig),
    /// Tenable OT Security (robot client certificate or API key).
    Ot(OtConfig),
}

impl SourceConfig {
    /// The source name.
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Vm(c) => &c.name,
            SourceConfig::Sc(c) => &c.name,
            SourceConfig::Ot(c) => &c.name,
        }
    }

    /// The product.
    pub fn kind(&self) -> SourceKind {
        match self {
            SourceConfig::Vm(_) => SourceKind::Vm,
            SourceConfig::Sc(_) => SourceKind::Sc,
            SourceConfig::Ot(_) => SourceKind::Ot,
        }
    }

    /// The `sync_every` setting as written (`None`: not scheduled).
    fn sync_every_text(&self) -> Option<&str> {
        match self {
            SourceConfig::Vm(c) => c.sync_every.as_deref(),
            SourceConfig::Sc(c) => c.sync_every.as_deref(),
            SourceConfig::Ot(c) => c.sync_every.as_deref(),
        }
    }

    /// How often `tenax serve` syncs this source (`None`: not scheduled). The config loader has
    /// validated it, so an invalid value here (a config built in code) also reads as `None`.
    pub fn sync_every(&self) -> Option<std::time::Duration> {
        self.sync_every_text().and_then(|t| parse_every(t).ok())
    }

    fn secret_fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            SourceConfig::Vm(c) => c.secret_fields().to_vec(),
            SourceConfig::Sc(c) => c.secret_fields(),
            SourceConfig::Ot(c) => c.secret_fields(),
        }
    }
}

/// A configuration problem: one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ConfigError(format!(
                    "{}: no such config file (create one, or run `tenax sim --write-config {}` \
                     to point at the simulator)",
                    path.display(),
                    path.display()
                ))
            } else {
                ConfigError(format!("{}: cannot read: {e}", path.display()))
            }
        })?;
        let cfg = Self::parse(&text, &path.display().to_string())?;
        cfg.check_permissions(path)?;
        Ok(cfg)
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let msg = e.message().replace('\n', " ");
            let place = e
                .span()
                .map(|s| format!(":{}", error_line(text, s.start, &msg)))
                .unwrap_or_default();
            ConfigError(format!("{origin}{place}: {}", msg.trim()))
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let mut seen = BTreeSet::new();
        for s in &self.sources {
            let name = s.name();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(ConfigError(format!(
                    "{origin}: source name `{name}` must match [a-z0-9_-]+"
                )));
            }
            if !seen.insert(name) {
                return Err(ConfigError(format!(
                    "{origin}: source name `{name}` is used twice"
                )));
            }
            if let Some(t) = s.sync_every_text() {
                parse_every(t).map_err(|e| {
                    ConfigError(format!("{origin}: source `{name}`: sync_every: {e}"))
                })?;
            }
        }
        Ok(())
    }

    /// A literal secret in a file readable by group or others is refused.
    fn check_permissions(&self, path: &Path) -> Result<(), ConfigError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let literal: Vec<String> = self
                .sources
                .iter()
                .flat_map(|s| {
                    s.secret_fields()
                        .into_iter()
                        .filter(|(_, v)| !v.trim().is_empty() && !is_indirect(v))
                        .map(move |(f, _)| format!("{}.{f}", s.name()))
                })
                .collect();
            if literal.is_empty() {
                return Ok(());
            }
            let mode = std::fs::metadata(path)
                .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(ConfigError(format!(
                    "{}: holds literal secrets ({}) but is readable by group/others (mode {:o}): \
                     run `chmod 600 {}` or use ${{VAR}} references",
                    path.display(),
                    literal.join(", "),
                    mode & 0o777,
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Sources selected by name (all when `names` is empty); unknown names are errors.
    pub fn select(&self, names: &[String]) -> Result<Vec<&SourceConfig>, ConfigError> {
        if names.is_empty() {
            return Ok(self.sources.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.sources.iter().find(|s| s.name() == n).ok_or_else(|| {
                    let known: Vec<&str> = self.sources.iter().map(|s| s.name()).collect();
                    ConfigError(format!(
                        "no source named `{n}` (configured: {})",
                        known.join(", ")
                    ))
                })
            })
            .collect()
    }
}

/// Parses a `sync_every` duration: a whole number and a unit, `s`, `m`, `h` or `d` (`30s`,
/// `15m`, `1h`, `1d`). At least 1 second, at most 365 days.
pub fn parse_every(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{}` is not a duration (a whole number and s, m, h or d: 30s, 15m, 1h, 1d)",
            t.chars().take(40).collect::<String>()
        )
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => return Err(bad()),
    }
    .ok_or_else(bad)?;
    if secs == 0 || secs > 365 * 86_400 {
        return Err(format!("`{t}` is out of range (1s to 365d)"));
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// The line of a parse error. Errors inside a `[[sources]]` entry point at the entry's start
/// (the entry is read whole to find its `kind`); for an unknown key, the key's own line is
/// more useful, so look for it from there.
fn error_line(text: &str, start: usize, msg: &str) -> usize {
    let start = start.min(text.len());
    let line_of = |pos: usize| text[..pos].matches('\n').count() + 1;
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some(key) = rest.split('`').next()
    {
        let mut pos = start;
        for line in text[start..].split_inclusive('\n') {
            let t = line.trim_start();
            if t.starts_with(key) && t[key.len()..].trim_start().starts_with('=') {
                return line_of(pos);
            }
            pos += line.len();
        }
    }
    line_of(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_vm_source_with_defaults() {
        let c = Config::parse("[[sources]]\nname='cloud'\nkind='vm'\n", "t.toml").unwrap();
        let SourceConfig::Vm(vm) = &c.sources[0] else {
            panic!("a vm source")
        };
        assert_eq!(vm.url, "https://cloud.tenable.com");
        assert_eq!(vm.access_key.as_str(), "${TIO_ACCESS_KEY}");
        assert_eq!(vm.num_assets, 500);
    }

    /// A proxy password in any source's config never shows in `Debug` output.
    #[test]
    fn debug_output_masks_proxy_passwords() {
        let text = "[[sources]]\nname='a'\nkind='vm'\nproxy='http://me:pr0xy-pass@p:3128'\n\
                    [[sources]]\nname='b'\nkind='sc'\nurl='https://sc.example.com'\n\
                    api_keys='${SC_KEYS}'\nproxy='http://me:pr0xy-pass@p:3128'\n\
                    [[sources]]\nname='c'\nkind='ot'\nurl='https://10.0.0.1'\n\
                    api_key='${OT_KEY}'\nproxy='http://me:pr0xy-pass@p:3128'\n";
        let c = Config::parse(text, "t.toml").unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("pr0xy-pass"), "{d}");
        assert_eq!(d.matches("me:***@p:3128").count(), 3, "{d}");
    }

    #[test]
    fn parses_an_sc_source() {
        let c = Config::parse(
            "[[sources]]\nname='onprem'\nkind='sc'\nurl='https://sc.example.com'\napi_keys='${SC_KEYS}'\n",
            "t.toml",
        )
        .unwrap();
        let SourceConfig::Sc(sc) = &c.sources[0] else {
            panic!("an sc source")
        };
        assert_eq!(sc.page_size, 1000);
        assert_eq!(c.sources[0].kind(), SourceKind::Sc);
        assert_eq!(c.sources[0].secret_fields(), [("api_keys", "${SC_KEYS}")]);
    }

    #[test]
    fn parses_an_ot_source() {
        let c = Config::parse(
            "[[sources]]\nname='plant-a'\nkind='ot'\nurl='https://10.20.30.40'\napi_key='${TOT_API_KEY}'\nfindings='plugin_hits'\n",
            "t.toml",
        )
        .unwrap();
        let SourceConfig::Ot(ot) = &c.sources[0] else {
            panic!("an ot source")
        };
        assert_eq!(ot.page_size, 500);
        assert_eq!(ot.findings, tenax_source_ot::FindingsMode::PluginHits);
        assert_eq!(c.sources[0].kind(), SourceKind::Ot);
        assert_eq!(c.sources[0].name(), "plant-a");
        assert_eq!(
            c.sources[0].secret_fields(),
            [("api_key", "${TOT_API_KEY}")]
        );
        let e = Config::parse(
            "[[sources]]\nname='plant-a'\nkind='ot'\nurl='https://h'\nrobot_name='r'\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("t.toml:5: ") && e.0.contains("unknown field `robot_name`"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let e = Config::parse(
            "[[sources]]\nname='cloud'\nkind='vm'\nnum_asets=5\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(e.0.starts_with("t.toml:4: "), "{e}");
        assert!(e.0.contains("unknown field `num_asets`"), "{e}");
        assert!(!e.0.contains('\n'));
        let e = Config::parse("[stor]\nurl='x'\n", "t.toml").unwrap_err();
        assert!(e.0.contains("unknown field `stor`"), "{e}");
        let e = Config::parse("[[sources]]\nname='x'\nkind='qualys'\n", "t.toml").unwrap_err();
        assert!(e.0.contains("qualys"), "{e}");
    }

    #[test]
    fn sync_every_is_parsed_and_checked() {
        let c = Config::parse(
            "[[sources]]\nname='a'\nkind='vm'\nsync_every='15m'\n\
             [[sources]]\nname='b'\nkind='sc'\nurl='https://sc'\napi_keys='${K}'\n\
             sync_every='1h'\n[[sources]]\nname='c'\nkind='ot'\nurl='https://o'\n\
             api_key='${K}'\nsync_every='30s'\n",
            "t.toml",
        )
        .unwrap();
        let every: Vec<_> = c.sources.iter().map(|s| s.sync_every()).collect();
        assert_eq!(
            every,
            [900, 3600, 30].map(|s| Some(std::time::Duration::from_secs(s)))
        );
        for bad in ["0s", "1w", "h", "-1h", "1.5h", ""] {
            let e = Config::parse(
                &format!("[[sources]]\nname='a'\nkind='vm'\nsync_every='{bad}'\n"),
                "t.toml",
            )
            .unwrap_err();
            assert!(e.0.contains("sync_every"), "{bad}: {e}");
        }
        assert_eq!(
            parse_every("1d"),
            Ok(std::time::Duration::from_secs(86_400))
        );
    }

    #[test]
    fn names_are_checked() {
        let two = "[[sources]]\nname='a'\nkind='vm'\n[[sources]]\nname='a'\nkind='vm'\n";
        assert!(
            Config::parse(two, "t")
                .unwrap_err()
                .0
                .contains("used twice")
        );
        let bad = "[[sources]]\nname='A b'\nkind='vm'\n";
        assert!(
            Config::parse(bad, "t")
                .unwrap_err()
                .0
                .contains("[a-z0-9_-]+")
        );
    }

    #[test]
    fn literal_secret_in_readable_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("tenax.toml");
        std::fs::write(&p, "[[sources]]\nname='a'\nkind='vm'\naccess_key='AKIAXYZSECRET1'\nsecret_key='SKIAXYZSECRET2'\n")
            .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Config::load(&p).unwrap_err();
        assert!(
            e.0.contains("chmod 600") && !e.0.contains("XYZSECRET"),
            "{e}"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        Config::load(&p).unwrap();
    }
}
