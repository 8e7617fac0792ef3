//! The crate's error type: broken configuration and I/O. Findings about records are never
//! errors; they are [`Report`](crate::Report)s.

use std::path::PathBuf;

/// What can go wrong outside of checking records: loading or building a rule set, reading or
/// writing a quarantine file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule-set file could not be parsed (bad syntax, an unknown key, a value of the wrong
    /// type).
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
    /// A rule set parsed but is not valid (an inverted range, a bad regex, an unknown country).
    #[error("{origin}: {}{path}: {message}", line.map(|l| format!("line {l}, ")).unwrap_or_default())]
    Invalid {
        /// The file name, or `<toml>`/`<json>`/`<config>`.
        origin: String,
        /// The 1-based line of the rule, when it can be found.
        line: Option<usize>,
        /// Where in the configuration, as a dotted path (`fields.age.range`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the quarantine failed.
    #[error("cannot write the quarantine")]
    Write(#[source] std::io::Error),
    /// A line of a quarantine file could not be read back.
    #[error("quarantine line {line}: {message}")]
    Quarantine {
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// Reading a source failed in a way that ends it (an I/O error, an unusable header).
    #[error(transparent)]
    Source(#[from] mergetag_model::SourceError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
