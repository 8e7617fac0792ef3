//! The crate's error type: unreadable summaries and transaction logs, broken configuration,
//! parameters or data a model cannot work with.

use std::path::Path;

use mergetag_model::config::{LoadError, ParseError};

/// What can go wrong reading data, configuring, fitting or loading a prediction model.
///
/// ```
/// use mergetag_predict::{Error, Summary};
///
/// let err = Summary::from_reader("id,frequency,recency,T\n1,2,40,38\n".as_bytes(), "s.csv")
///     .unwrap_err();
/// assert!(matches!(err, Error::Row { line: 2, .. }));
/// assert_eq!(err.to_string(), "s.csv: line 2, column `recency`: recency exceeds T");
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
    /// A configuration or a parameter parsed but cannot work.
    #[error("{path}: {message}")]
    Invalid {
        /// Where: a key path in the configuration or the parameter's name.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A row of a customer summary or a transaction log that cannot be used.
    #[error("{origin}: line {line}, column `{column}`: {message}")]
    Row {
        /// The file name, or `<reader>`.
        origin: String,
        /// The 1-based line (0 when unknown).
        line: u64,
        /// The column's name in the header (empty when the whole row is wrong).
        column: String,
        /// What is wrong (never the cell's value).
        message: String,
    },
    /// The data cannot be fitted: no customers, a customer outside the model's domain (the
    /// index is its position in the input), or a likelihood that is not finite at the
    /// starting point.
    #[error("{model}: {message}")]
    Fit {
        /// The model (`bgnbd`, `pareto-nbd`, `gamma-gamma`).
        model: &'static str,
        /// What is wrong.
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

/// Writes `text` to `path` atomically: into a temporary file beside it (same directory, so
/// the same file system), synced, then renamed over `path`, so that a reader never sees half
/// a file and a failed write leaves the old file as it was. [`Error::Io`] naming the file
/// when it cannot.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        origin: path.display().to_string(),
        source,
    };
    let name = path
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create(&temp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(io)
}

/// The text of `path` and its name for errors: [`Error::Io`] naming the file when it cannot be
/// read.
pub(crate) fn read_file(path: &Path) -> Result<(String, String)> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        origin: origin.clone(),
        source,
    })?;
    Ok((text, origin))
}

impl Error {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn fit(model: &'static str, message: impl Into<String>) -> Error {
        Error::Fit {
            model,
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
