//! The crate's error type: configuration and client set-up. Failures while reading pages are
//! [`SourceError`](mergetag_model::SourceError)s, as in every source.

/// What can go wrong before any page is read. Messages never hold a token or a record's data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration parsed but is not valid.
    #[error("{}", invalid_message(path, message))]
    Invalid {
        /// The key at fault (`settings.page_size`); empty when the whole configuration is.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The HTTP client could not be set up (TLS roots, a header that is not valid).
    #[error("{name}: cannot set up the http client")]
    Client {
        /// The source.
        name: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// A column map or source configuration from `mergetag-sources` is not valid.
    #[error(transparent)]
    Sources(#[from] mergetag_sources::Error),
}

impl Error {
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
