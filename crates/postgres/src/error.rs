//! The crate's error type: configuration, connection and SQL failures. Rows that cannot be
//! read are [`SourceError`](mergetag_model::SourceError)s or rejects, as in every source.

/// What can go wrong outside of reading rows. Messages name the source, the table and the
/// step, never a connection string (it may hold a password) nor a row's values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration parsed but is not valid.
    #[error("{}", invalid_message(path, message))]
    Invalid {
        /// The key at fault (`settings.table`, `url_env`); empty when the whole
        /// configuration is at fault.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The server could not be reached or refused the login.
    #[error("{name}: cannot connect to postgresql")]
    Connect {
        /// The source or sink.
        name: String,
        /// The driver's error.
        #[source]
        source: postgres::Error,
    },
    /// A statement failed.
    #[error("{name}: postgresql failed while {doing}")]
    Sql {
        /// The source or sink.
        name: String,
        /// What was being done (`declaring the cursor over table \`contacts\``).
        doing: String,
        /// The driver's error (with the server's code).
        #[source]
        source: postgres::Error,
    },
    /// A column map or source configuration from `mergetag-sources` is not valid.
    #[error(transparent)]
    Sources(#[from] mergetag_sources::Error),
    /// A value cannot be written (a profile id beyond PostgreSQL's `bigint`).
    #[error("{name}: {message}")]
    Write {
        /// The sink.
        name: String,
        /// What cannot be written, without the data.
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

    pub(crate) fn sql(name: &str, doing: impl Into<String>, source: postgres::Error) -> Error {
        Error::Sql {
            name: name.to_owned(),
            doing: doing.into(),
            source,
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
