//! The crate's error type: broken configuration. Findings about recipients (a fallback used, a
//! value over a platform limit, a suppressed address) are reports, never errors.

/// What can go wrong when loading or building a mapping, trait or segment configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration document could not be parsed (bad syntax, an unknown key, a wrong type).
    #[error("{origin}: {message}")]
    Parse {
        /// `<toml>` or `<json>`.
        origin: String,
        /// What the parser says.
        message: String,
    },
    /// A configuration parsed but is not valid.
    #[error("{path}: {message}")]
    Invalid {
        /// Where in the configuration, as a dotted path (`variables.first_name.source`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

impl Error {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn toml(e: toml::de::Error) -> Error {
        Error::Parse {
            origin: "<toml>".into(),
            message: e.to_string().trim_end().replace('\n', " "),
        }
    }

    pub(crate) fn json(e: serde_json::Error) -> Error {
        Error::Parse {
            origin: "<json>".into(),
            message: e.to_string(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
