//! The crate's error type: broken configuration and I/O. Bad rows are [`SourceError`]s.
//!
//! [`SourceError`]: mergetag_model::SourceError

use std::path::PathBuf;

use mergetag_model::ParseError;
use mergetag_model::config::LoadError;

/// What can go wrong outside of reading rows: loading a column map or a source configuration,
/// opening a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration document could not be parsed (its origin, line and column are in it).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A configuration file could not be loaded (unreadable, not UTF-8, not `.toml`/`.json`, or
    /// not parsable).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A configuration parsed but is not valid.
    #[error("{}", invalid_message(path, message))]
    Invalid {
        /// The key at fault, relative to the configuration (`preset`, `columns.Email`,
        /// `delimiter`); empty when the whole configuration is at fault.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
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

impl Error {
    /// An [`Error::Invalid`] at `path`.
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn invalid_message(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
