use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct ParseEnumError {
    what: &'static str,
    value: String,
}

impl ParseEnumError {
    fn new(what: &'static str, value: &str) -> Self {
        Self {
            what,
            value: value.to_owned(),
        }
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $variant:ident = $s:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vm])* $variant),+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical lowercase spelling used in JSON, the CLI and the database.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            /// Case-insensitive; accepts the canonical spelling and known aliases.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($s) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err(ParseEnumError::new($what, s))
            }
        }
    };
}

string_enum!(
    /// The Tenable product a source talks to.
    SourceKind, "source kind", {
        /// Tenable Vulnerability Management (cloud, ex Tenable.io).
        Vm = "vm",
        /// Tenable Security Center (on-prem, ex Tenable.sc).
        Sc = "sc",
        /// Tenable OT Security (ex Tenable.ot, ex Indegy).
        Ot = "ot",
    }
);

string_enum!(
    /// Finding severity, ordered from least to most severe.
    Severity, "severity", {
        /// Informational (Tenable id 0).
        Info = "info" | "none" | "informational",
        /// Low (1).
        Low = "low",
        /// Medium (2).
        Medium = "medium",
        /// High (3).
        High = "high",
        /// Critical (4).
        Critical = "critical",
    }
);

string_enum!(
    /// Lifecycle state of a finding.
    FindingState, "state", {
        /// Seen on the last scan and never fixed before (Tenable `OPEN`, "new/active").
        Open = "open" | "active" | "new",
        /// Fixed once, seen again (Tenable `REOPENED`, "resurfaced").
        Reopened = "reopened" | "resurfaced",
        /// No longer seen (Tenable `FIXED`, SC "patched"/"mitigated").
        Fixed = "fixed" | "patched" | "mitigated",
    }
);

impl Severity {
    /// Tenable's numeric severity id (0 info … 4 critical).
    pub fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            0 => Self::Info,
            1 => Self::Low,
            2 => Self::Medium,
            3 => Self::High,
            4 => Self::Critical,
            _ => return None,
        })
    }

    /// The numeric id (0 info … 4 critical).
    pub const fn id(self) -> i64 {
        self as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_parses_any_case_and_aliases() {
        assert_eq!("CRITICAL".parse::<Severity>().unwrap(), Severity::Critical);
        assert_eq!("None".parse::<Severity>().unwrap(), Severity::Info);
        assert_eq!(" high ".parse::<Severity>().unwrap(), Severity::High);
        let err = "urgent".parse::<Severity>().unwrap_err();
        assert_eq!(err.to_string(), "unknown severity `urgent`");
    }

    #[test]
    fn severity_ids_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::from_id(s.id()), Some(*s));
        }
        assert_eq!(Severity::from_id(5), None);
        assert!(Severity::Critical > Severity::High);
    }

    #[test]
    fn state_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&FindingState::Reopened).unwrap(),
            "\"reopened\""
        );
        assert_eq!(
            "FIXED".parse::<FindingState>().unwrap(),
            FindingState::Fixed
        );
        assert_eq!(SourceKind::Vm.as_str(), "vm");
    }
}
