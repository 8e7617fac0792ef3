//! The crate's error type.

/// What can go wrong running a plan on a cluster or starting a scheduler or executor.
/// Messages name the step that failed and the address involved, never a value that was read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The deduplication plan failed (its error names the step of the plan).
    #[error("the deduplication plan failed")]
    Plan {
        /// The plan's error.
        #[source]
        source: Box<mergetag_scale::Error>,
    },
    /// An option does not fit; `path` names it, `message` says how to fix it.
    #[error("{path}: {message}")]
    Invalid {
        /// The option at fault (`--scheduler`, `scheduler_url`, ...).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Ballista refused a session or its scheduler or executor stopped with an error.
    #[error("{step}")]
    Ballista {
        /// What was being done (`start the scheduler at 127.0.0.1:50050`, ...).
        step: String,
        /// Ballista's error.
        #[source]
        source: Box<ballista_core::error::BallistaError>,
    },
    /// DataFusion refused the session.
    #[error("{step}")]
    DataFusion {
        /// What was being done.
        step: String,
        /// DataFusion's error.
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// The async runtime of a scheduler or executor could not start.
    #[error("{step}")]
    Io {
        /// What was being done.
        step: String,
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

    pub(crate) fn ballista(
        step: impl Into<String>,
    ) -> impl FnOnce(ballista_core::error::BallistaError) -> Error {
        let step = step.into();
        move |source| Error::Ballista {
            step,
            source: Box::new(source),
        }
    }
}

impl From<mergetag_scale::Error> for Error {
    fn from(source: mergetag_scale::Error) -> Error {
        Error::Plan {
            source: Box::new(source),
        }
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
