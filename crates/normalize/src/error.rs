//! The crate's error type: broken configuration only. A value that cannot be normalized is
//! never an error; it is an [`Outcome`](crate::Outcome) that says why.

/// What can go wrong when building normalizers from a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file could not be parsed (bad syntax, an unknown key, a wrong type).
    #[error("{origin}: {message}")]
    Parse {
        /// `<toml>` or `<json>`, or a file name.
        origin: String,
        /// What the parser says.
        message: String,
    },
    /// A configuration parsed but is not valid (an unknown region, a bad time zone).
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the configuration, as a dotted path (`fields.phone.default_region`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A configuration file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
