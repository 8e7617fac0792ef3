//! The `mergetag` command-line tool, as a library: its configuration files and the work behind
//! each subcommand, so that scripts and tests can use them without a process.
//!
//! ```
//! use mergetag_cli::config::DedupFile;
//!
//! // The configuration file of `mergetag dedup`: how the CSV is read, then a DedupConfig.
//! let config = DedupFile::from_toml_str(r#"
//!     [input]
//!     id_column = "hs_object_id"
//!     preset = "hubspot_contacts"
//!
//!     [dedup]
//!     threshold = 0.95
//!     [[dedup.comparisons]]
//!     field = "email"
//!     kind = "email"
//!     [[dedup.blocking]]
//!     keys = [{ field = "email", transform = "email_key" }]
//! "#, "dedup.toml")?;
//! assert_eq!(config.dedup.threshold, 0.95);
//!
//! // Mistakes are reported with the file, line and column.
//! let err = DedupFile::from_toml_str("[input]\nid_colum = \"Id\"\n", "dedup.toml").unwrap_err();
//! assert!(err.to_string().starts_with("dedup.toml: line 2, column 1: unknown field `id_colum`"));
//! # Ok::<(), mergetag_cli::Error>(())
//! ```
//!
//! # Subcommands
//!
//! | command | module |
//! |---|---|
//! | `mergetag normalize --kind KIND [--region CC] [--date-order mdy\|dmy\|ymd]` | [`normalize`] |
//! | `mergetag validate --kind email [--allow-quoted-local] [--allow-domain-literal] [--ascii-only]` | [`validate`] |
//! | `mergetag check-template --mapping mapping.toml TEMPLATE...` | [`template`] |
//! | `mergetag dedup --config dedup.toml INPUT.csv --out-pairs PAIRS.csv --out-clusters CLUSTERS.csv [--threads N]` | [`matching`], [`config::DedupFile`] |
//! | `mergetag link --config link.toml LEFT.csv RIGHT.csv --out-pairs PAIRS.csv [--one-to-one]` | [`matching`], [`config::LinkFile`] |
//! | `mergetag run --config pipeline.toml` | [`run`], [`mergetag::pipeline`] |
//! | `mergetag predict fit --model bgnbd\|pareto-nbd\|gamma-gamma SUMMARY.csv`, `mergetag predict summary TRANSACTIONS.csv ...`, `mergetag predict fit\|score\|drift\|retrain --config pipeline.toml` | [`predict`] |
//! | `mergetag cluster --algorithm kmeans\|dbscan FEATURES.csv --out LABELS.csv [--k N] [--eps E] ...` | [`cluster`] |
//!
//! # Exit codes
//!
//! - [`exit::OK`] (0): the work is done (bad rows skipped under `bad_rows = "skip"` are
//!   reported on stderr but do not change the exit code).
//! - [`exit::FINDINGS`] (1): `check-template` found a variable the mapping does not provide,
//!   or a template syntax problem; `predict drift`'s verdict is `retrain` (a PSI above 0.25,
//!   or predicted over actual holdout purchases outside 0.8 to 1.25; `watch` exits 0).
//! - [`exit::ERROR`] (2): a usage error, a file that cannot be read or written, a bad
//!   configuration (with its line and column), an input that cannot be processed
//!   (no id column, duplicate ids, bad rows under `bad_rows = "fail"`), or a pipeline that
//!   cannot run (`on_bad_row = "fail"` included).
//!
//! Messages go to stderr and never contain the personal values read; `normalize` and
//! `validate` write their JSON lines to stdout, `check-template` its report.

pub mod cluster;
pub mod config;
mod error;
mod lines;
pub mod matching;
pub mod normalize;
pub mod predict;
mod progress;
#[cfg(feature = "lake")]
pub mod query;
pub mod run;
pub mod template;
pub mod validate;

pub use crate::error::{Error, Result};
pub use crate::progress::Progress;

/// The exit codes of the `mergetag` command.
pub mod exit {
    /// The work is done.
    pub const OK: u8 = 0;
    /// `check-template` found unmapped variables or syntax problems; `predict drift` says
    /// retrain.
    pub const FINDINGS: u8 = 1;
    /// Usage, I/O, configuration or input error.
    pub const ERROR: u8 = 2;
}
