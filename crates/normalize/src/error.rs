//! The crate's error type: broken configuration only. A value that cannot be normalized is
//! never an error; it is an [`Outcome`](crate::Outcome) that says why.

use mergetag_model::config::{LoadError, ParseError};

/// What can go wrong when loading a configuration or building normalizers from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration document could not be parsed (bad syntax, an unknown key, a wrong
    /// type), with its origin, line and column; from text or from a file.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A configuration file could not be loaded: it cannot be read, or its extension is not
    /// `.toml` or `.json`. A file that was read but does not parse is [`Error::Parse`].
    #[error(transparent)]
    Load(LoadError),
    /// A configuration parsed but is not valid (an unknown region, a bad time zone).
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the configuration, as a dotted path (`fields.phone.default_region`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
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
