//! The crate's error type: configuration, the spool and the listener.

use std::path::PathBuf;

/// What can go wrong starting the intake. Messages never hold an event's data or a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is not valid.
    #[error("{}", if path.is_empty() { message.clone() } else { format!("{path}: {message}") })]
    Invalid {
        /// The key at fault.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The spool could not be opened, read or written.
    #[error("spool {}: cannot {doing}", path.display())]
    Spool {
        /// The spool file.
        path: PathBuf,
        /// What was being done.
        doing: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The address could not be bound or the runtime not started.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
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
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
