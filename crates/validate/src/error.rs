//! The crate's error type: broken configuration and I/O. Findings about records are never
//! errors; they are [`Report`](crate::Report)s.

use mergetag_model::config::{LoadError, ParseError};

/// What can go wrong outside of checking records: loading or building a rule set, reading or
/// writing a quarantine file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A rule-set document could not be parsed (bad syntax, an unknown key, a value of the
    /// wrong type), with its origin, line and column; from text or from a file.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A rule-set file could not be loaded: it cannot be read, or its extension is not
    /// `.toml` or `.json`. A file that was read but does not parse is [`Error::Parse`].
    #[error(transparent)]
    Load(LoadError),
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

impl From<LoadError> for Error {
    /// [`LoadError::Parse`] becomes [`Error::Parse`], so that a parse error is always one
    /// variant whether it came from text or a file; the rest is [`Error::Load`].
    fn from(e: LoadError) -> Error {
        match e {
            LoadError::Parse(p) => Error::Parse(p),
            e => Error::Load(e),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
