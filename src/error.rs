//! The facade's error type: what can stop a [`Pipeline`](crate::Pipeline) from being built or
//! run. Bad rows and records that fail their rules are never errors: they go to quarantine.

use std::path::PathBuf;

/// What can go wrong loading a pipeline configuration, building a pipeline or running it.
///
/// Messages name where the problem is (the configuration file with its line and column, or the
/// key path such as `sources[1].preset`; the source with its line and field) and say how to fix
/// it. They never contain a whole personal value: values are shown redacted
/// ([`mergetag_model::redact`]), if at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The pipeline configuration is not valid TOML, has an unknown key or a value of the wrong
    /// type; the error names the file, line and column.
    #[error(transparent)]
    Parse(#[from] mergetag_model::ParseError),
    /// The configuration parsed but a part of it is not valid.
    #[error("{origin}: {path}: {message}")]
    Invalid {
        /// The configuration file, or `<toml>` / `<code>`.
        origin: String,
        /// Where in the configuration, as a key path (`sources[1].preset`, `dedup.threshold`).
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file (the configuration, an input, a referenced configuration) could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A source failed in a way that ends it (an I/O error, an unusable header). The message
    /// names the source, its line and field.
    #[error(transparent)]
    Source(#[from] mergetag_model::SourceError),
    /// A source could not acknowledge what the run read
    /// ([`RunOutput::commit_sources`](crate::pipeline::RunOutput::commit_sources)): a Kafka
    /// commit refused. The message names the source (the first that failed, after every source
    /// was tried); the outputs stand, and its records are read again by the next run unless
    /// another call succeeds.
    #[error("cannot commit what the run read from source `{}`{}", source.source_name(), and_others(*others))]
    Commit {
        /// How many other sources failed too.
        others: usize,
        /// The first source's error.
        #[source]
        source: mergetag_model::SourceError,
    },
    /// Opening a source or loading a column map failed.
    #[error(transparent)]
    Sources(#[from] mergetag_sources::Error),
    /// A PostgreSQL source or sink failed (connecting, a statement); the message names the
    /// source and the step.
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] mergetag_postgres::Error),
    /// A Kafka source could not start (a property librdkafka refuses).
    #[cfg(feature = "kafka")]
    #[error(transparent)]
    Kafka(#[from] mergetag_kafka::Error),
    /// An API sync source could not be set up.
    #[cfg(feature = "http-sync")]
    #[error(transparent)]
    Sync(#[from] mergetag_sync::Error),
    /// A Parquet source, a Parquet output or the semantic layer failed; the message names the
    /// location, file or view.
    #[cfg(feature = "lake-parquet")]
    #[error(transparent)]
    Lake(#[from] mergetag_lake::Error),
    /// A normalization configuration is not valid.
    #[error("normalize: {0}")]
    Normalize(#[from] mergetag_normalize::Error),
    /// A rule set is not valid, or the quarantine could not be written.
    #[error("validate: {0}")]
    Validate(#[from] mergetag_validate::Error),
    /// A dedup or survivorship configuration is not valid.
    #[error("dedup: {0}")]
    Dedup(#[from] mergetag_dedup::Error),
    /// A [`ProfileStage`](crate::pipeline::ProfileStage) of yours failed.
    #[error("profile stage `{stage}` failed")]
    Stage {
        /// The stage's name.
        stage: String,
        /// What it reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A mapping, trait or engagement configuration is not valid, or does not suit a platform.
    #[error("mapping: {0}")]
    Mapping(#[from] mergetag_mapping::Error),
}

/// ` and 2 others` after the first source's name, or nothing.
fn and_others(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => " and 1 other".to_owned(),
        n => format!(" and {n} others"),
    }
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
