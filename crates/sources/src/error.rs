//! The crate's error type: broken configuration and I/O. Bad rows are [`SourceError`]s.
//!
//! [`SourceError`]: mergetag_model::SourceError

use std::path::PathBuf;

/// What can go wrong outside of reading rows: loading a column map, opening a file.
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
        /// What the parser says, with a hint.
        message: String,
    },
    /// A configuration parsed but is not valid.
    #[error("invalid column map: {0}")]
    Invalid(String),
    /// A file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading a source failed before any row (for example the CSV header is unusable).
    #[error(transparent)]
    Source(#[from] mergetag_model::SourceError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
