//! The crate's error type: broken configuration, unreadable index files, unknown ids.

use mergetag_model::config::{LoadError, ParseError};
use mergetag_model::{ProfileId, RecordId};

/// What can go wrong building or loading a dedup configuration, a trained model or a
/// [`MatchIndex`](crate::index::MatchIndex).
///
/// ```
/// use mergetag_dedup::{DedupConfig, Error};
///
/// // A document that does not parse: the cause names the origin, line and column.
/// let err = DedupConfig::from_toml_str("threshold = 0.9\nthreshhold = 1\n").unwrap_err();
/// let Error::Parse(cause) = &err else { panic!("{err}") };
/// assert_eq!((cause.line, cause.column), (2, 1));
///
/// // A document that parses but cannot work: the key path, and how to fix it.
/// let mut config = DedupConfig::contacts();
/// config.threshold = 1.5;
/// let err = config.validate().unwrap_err();
/// let Error::Invalid { path, .. } = &err else { panic!("{err}") };
/// assert_eq!(path, "threshold");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration document or a model could not be parsed: a syntax error, an unknown key,
    /// a value of the wrong type. The cause names the origin, line and column.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A configuration file could not be read, or its extension names no format (a file that
    /// was read but does not parse is an [`Error::Parse`]).
    #[error(transparent)]
    Load(LoadError),
    /// A configuration (or a model) parsed but cannot work.
    #[error("{path}: {message}")]
    Invalid {
        /// Where, as a key path in the document: `threshold`, `comparisons[3].kind`,
        /// `blocking[0].keys`; for a model, its own keys (`prior`, `comparisons[1]`); for the
        /// records or profiles given to an index, `records` or `profiles`.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
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

impl From<LoadError> for Error {
    /// A file that was read but does not parse becomes an [`Error::Parse`], like text that
    /// does not parse; the other load errors an [`Error::Load`].
    fn from(e: LoadError) -> Error {
        match e {
            LoadError::Parse(e) => Error::Parse(e),
            other => Error::Load(other),
        }
    }
}

impl Error {
    /// An [`Error::Invalid`] at `path`.
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    /// This error with `prefix` in front of an [`Error::Invalid`]'s path: the key of the part
    /// of a larger document it was found in (`config`, `model`).
    pub(crate) fn within(self, prefix: &str) -> Error {
        match self {
            Error::Invalid { path, message } => Error::Invalid {
                path: format!("{prefix}.{path}"),
                message,
            },
            other => other,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_not_repeated() {
        use std::error::Error as _;
        let e = Error::from(ParseError::new("a.toml", 2, 1, "unknown field `x`"));
        assert_eq!(e.to_string(), "a.toml: line 2, column 1: unknown field `x`");
        let e = Error::from(LoadError::UnknownFormat {
            path: "a.yaml".into(),
        });
        assert!(matches!(e, Error::Load(_)), "{e}");
        let e = Error::from(LoadError::Read {
            path: "missing.toml".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
        assert_eq!(e.to_string(), "cannot read missing.toml");
        assert!(e.source().is_some());
        let e = Error::invalid("threshold", "set it between 0 and 1").within("config");
        assert_eq!(e.to_string(), "config.threshold: set it between 0 and 1");
    }
}
