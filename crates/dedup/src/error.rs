//! The crate's error type: broken configuration.

/// What can go wrong building or loading a dedup configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file could not be parsed.
    #[error("{origin}: line {line}, column {column}: {message}")]
    Parse {
        /// The file name, or `<toml>`/`<json>` for text.
        origin: String,
        /// The 1-based line of the problem (0 when unknown).
        line: usize,
        /// The 1-based column of the problem (0 when unknown).
        column: usize,
        /// What the parser says.
        message: String,
    },
    /// The configuration parsed but is not valid; the message says how to fix it.
    #[error("invalid dedup configuration: {0}")]
    Invalid(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
