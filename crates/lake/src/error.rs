//! The crate's error type.

use mergetag_model::SourceError;

/// What can go wrong in the lake crate: a location that cannot be parsed or reached, a file
/// that is not Parquet, a configuration or view that is not valid, a query that fails.
///
/// Messages name the location, file, key or view at fault, never a value that was read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration key is not valid; `path` names the key, `message` says how to fix it.
    #[error("{path}: {message}")]
    Invalid {
        /// The key at fault (`path`, `semantic.views.top`, ...).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A location (`s3://bucket/prefix`, `file:///data`, `data/customers`) cannot be used.
    #[error("{location}: {message}")]
    Location {
        /// The location as given.
        location: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The object store refused or failed an operation (missing file, bad credentials, a
    /// server that cannot be reached).
    #[error("{location}: {operation} failed")]
    Store {
        /// The object or prefix.
        location: String,
        /// What was being done (`list`, `read`, `write`, ...).
        operation: &'static str,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },
    /// A file is not readable as Parquet, or a batch cannot be written as Parquet.
    #[error("{file}: {operation} failed")]
    Parquet {
        /// The file.
        file: String,
        /// What was being done (`read footer`, `write`, ...).
        operation: &'static str,
        /// Parquet's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Arrow refused a batch (columns of different lengths, a type it cannot hold).
    #[error("{table}: cannot build the Arrow batch")]
    Arrow {
        /// The table being built.
        table: String,
        /// Arrow's error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A named view of the semantic layer does not plan: an unknown table or column, a syntax
    /// error.
    #[error("view `{view}`: {message}")]
    View {
        /// The view's name.
        view: String,
        /// DataFusion's message (it names tables and columns, never values).
        message: String,
    },
    /// A query failed to plan or run.
    #[error("query failed: {message}")]
    Query {
        /// DataFusion's message.
        message: String,
    },
    /// A source error (a header that cannot be read, a bad row under `on_bad_row = "fail"`).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The source configuration (column map, preset) is not valid.
    #[error(transparent)]
    Sources(#[from] mergetag_sources::Error),
    /// A local file or directory could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
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

    pub(crate) fn location(location: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Location {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
