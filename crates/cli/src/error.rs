//! The crate's error type: what stops a command (exit code 2).

use std::io;

/// Why a command could not do its work. Every variant maps to exit code
/// [`exit::ERROR`](crate::exit::ERROR); messages name files, lines and columns, never the
/// personal values read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file is not valid TOML (or JSON), or has an unknown key or a wrong
    /// type: the error names the file, line and column.
    #[error(transparent)]
    Parse(#[from] mergetag_model::ParseError),
    /// A configuration file parsed but says something that cannot be done.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file name.
        origin: String,
        /// What is wrong, with the key it concerns, and how to fix it.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file (`<stdin>`, `<stdout>` for the standard streams).
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An input file cannot be processed as configured: no id column, duplicate ids, bad rows
    /// under `bad_rows = "fail"`.
    #[error("{0}")]
    Input(String),
    /// The pipeline of `mergetag run` could not be loaded, built, run or written: its own
    /// error, naming the file and position.
    #[error(transparent)]
    Pipeline(mergetag::Error),
    /// `mergetag predict`: a summary or transaction log with a bad row (naming its line and
    /// column), or data that cannot be fitted.
    #[error(transparent)]
    Predict(#[from] mergetag_predict::Error),
    /// The command line asks for something that cannot be done (an unknown `--region`, an
    /// option that does not apply to the chosen kind).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub(crate) fn io(path: impl std::fmt::Display, source: io::Error) -> Error {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }

    pub(crate) fn invalid(origin: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            origin: origin.to_owned(),
            message: message.into(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
