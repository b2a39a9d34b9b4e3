//! Pieces every connector's `map.rs` uses: the mapping error, and the conversions of optional
//! wire strings into model values (blank → `None`, never `""`).

use std::borrow::Cow;

use tenax_model::{Timestamp, non_empty, parse_timestamp};

/// Why a record could not be mapped (the record is skipped and counted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The record is not valid JSON of the expected shape.
    #[error("record {index}: {message}")]
    Json {
        /// Position in its chunk or page run.
        index: u64,
        /// serde's message with line/column.
        message: String,
    },
    /// A required field is missing or unusable.
    #[error("record {index}: {field} {problem}")]
    Field {
        /// Position in its chunk or page run.
        index: u64,
        /// JSON path of the field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// A short value (name, address): trimmed; blank → `None`.
pub fn opt_str(c: &Option<Cow<'_, str>>) -> Option<String> {
    non_empty(c.as_deref())
}

/// Long text (output, synopsis, solution) kept exactly; only blank becomes `None`.
pub fn opt_text(c: &Option<Cow<'_, str>>) -> Option<String> {
    c.as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
}

/// A timestamp in any Tenable spelling (see [`parse_timestamp`]); unset → `None`.
pub fn opt_time(c: &Option<Cow<'_, str>>) -> Option<Timestamp> {
    c.as_deref().and_then(parse_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_none_and_text_is_kept_exactly() {
        assert_eq!(opt_str(&Some(" a ".into())).as_deref(), Some("a"));
        assert_eq!(opt_str(&Some("  ".into())), None);
        assert_eq!(
            opt_text(&Some("\nout\n".into())).as_deref(),
            Some("\nout\n")
        );
        assert_eq!(opt_text(&Some(" \n".into())), None);
        assert_eq!(opt_time(&Some("-1".into())), None);
        assert!(opt_time(&Some("2018-03-14T20:43:32Z".into())).is_some());
        assert_eq!(
            MapError::Field {
                index: 3,
                field: "plugin.id",
                problem: "is missing".into()
            }
            .to_string(),
            "record 3: plugin.id is missing"
        );
    }
}
