//! The crate's error type: broken configuration, unreadable feature tables and models,
//! parameters that cannot work.

use mergetag_model::config::{LoadError, ParseError};

/// What can go wrong configuring, fitting, loading or applying a segmentation.
///
/// ```
/// use mergetag_segment::{Error, SegmentConfig};
///
/// let err = SegmentConfig::from_toml_str("algorithm = \"kmeans\"\nk = 0\n").unwrap_err();
/// let Error::Invalid { path, .. } = &err else { panic!("{err}") };
/// assert_eq!(path, "k");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration document or a model could not be parsed; the cause names the origin,
    /// line and column.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A configuration file could not be read, or its extension names no format.
    #[error(transparent)]
    Load(LoadError),
    /// A configuration, a parameter or a model parsed but cannot work.
    #[error("{path}: {message}")]
    Invalid {
        /// Where: a key path in the configuration (`k`, `features[2].top`) or the parameter.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A feature table has a cell that is not a finite number, a missing header or id, or a
    /// row of the wrong length.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Table {
        /// The file name, or `<reader>`.
        origin: String,
        /// The 1-based line.
        line: u64,
        /// The 1-based column (1 is the id column).
        column: usize,
        /// What is wrong (never the cell's value).
        message: String,
    },
    /// A file could not be read or written.
    #[error("{origin}: {source}")]
    Io {
        /// The file name, or `<reader>`/`<writer>`.
        origin: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Error {
        match e {
            LoadError::Parse(p) => Error::Parse(p),
            other => Error::Load(other),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
