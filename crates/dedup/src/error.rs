//! The crate's error type: broken configuration, unreadable index files, unknown ids.

use mergetag_model::{ProfileId, RecordId};

/// What can go wrong building or loading a dedup configuration, a trained model or a
/// [`MatchIndex`](crate::index::MatchIndex).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file could not be parsed.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Parse {
        /// The file name, or `<toml>`/`<json>` for text.
        origin: String,
        /// The 1-based line of the problem (0 when unknown).
        line: usize,
        /// The 1-based column of the problem (0 when unknown).
        column: usize,
        /// What the parser says.
        message: String,
    },
    /// The configuration parsed but is not valid; the message says how to fix it.
    #[error("invalid dedup configuration: {0}")]
    Invalid(String),
    /// An index file could not be read or written.
    #[error("{origin}: {source}")]
    Io {
        /// The file name, or `<reader>`/`<writer>`.
        origin: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An index file is corrupt, truncated, or written in a format version this build does not
    /// read; the message says which.
    #[error("{origin}: not a readable mergetag index: {message}")]
    Corrupt {
        /// The file name, or `<reader>`.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The index holds no record with this id.
    #[error("no record `{0}` in the index")]
    UnknownRecord(RecordId),
    /// The index holds no profile with this id.
    #[error("no profile {0} in the index")]
    UnknownProfile(ProfileId),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Parses TOML into `T`, with the position of any problem.
pub(crate) fn from_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| {
            mergetag_model::text_position::line_col(text, s.start)
        });
        Error::Parse {
            origin: origin.to_owned(),
            line,
            column,
            message: e.message().trim_end().to_owned(),
        }
    })
}

/// Parses JSON into `T`, with the position of any problem.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Parse {
        origin: origin.to_owned(),
        line: e.line(),
        column: e.column(),
        message: mergetag_model::text_position::without_json_position(&e.to_string()).to_owned(),
    })
}
