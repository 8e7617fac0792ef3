//! The crate's error type.

/// What can go wrong in a deduplication plan. Messages name the step that failed, never a
/// value that was read. Causes are boxed, so that a `Result` stays small.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The deduplication configuration, model or features do not fit the plan.
    #[error("{step}")]
    Dedup {
        /// What was being done (`configuration`, `comparing a batch`, ...).
        step: &'static str,
        /// The dedup crate's error.
        #[source]
        source: Box<mergetag_dedup::Error>,
    },
    /// The configuration cannot run as a plan; `path` names the key, `message` says how to
    /// fix it.
    #[error("{path}: {message}")]
    Invalid {
        /// The key at fault (`blocking[2]`, `records`, ...).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Reading or writing a Parquet table failed.
    #[error("{step}")]
    Lake {
        /// What was being done (`write the records table`, ...).
        step: &'static str,
        /// The lake crate's error.
        #[source]
        source: Box<mergetag_lake::Error>,
    },
    /// Arrow refused a batch.
    #[error("{step}: cannot build the Arrow batch")]
    Arrow {
        /// The table being built.
        step: &'static str,
        /// Arrow's error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A query of the plan failed to plan or run.
    #[error("{step} failed")]
    DataFusion {
        /// The step of the plan (`blocking pass 2`, `scoring`, ...).
        step: String,
        /// DataFusion's error (it names tables and columns, never values).
        #[source]
        source: Box<datafusion::error::DataFusionError>,
    },
    /// A local directory or the async runtime could not be set up.
    #[error("{path}: {source}")]
    Io {
        /// The directory, or `<runtime>`.
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

    pub(crate) fn datafusion(
        step: impl Into<String>,
    ) -> impl FnOnce(datafusion::error::DataFusionError) -> Error {
        let step = step.into();
        move |source| Error::DataFusion {
            step,
            source: Box::new(source),
        }
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
