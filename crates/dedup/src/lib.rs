//! Deduplication of customer records without labelled examples: blocking, fuzzy field
//! comparisons, Fellegi-Sunter scoring trained by expectation-maximisation, and clustering.
//!
//! ```
//! use mergetag_dedup::DedupConfig;
//! use mergetag_model::{fields, Record, RecordId};
//!
//! let person = |id: &str, first: &str, last: &str, email: &str| {
//!     let mut r = Record::new(RecordId::id("crm", id));
//!     r.set(fields::FIRST_NAME, first);
//!     r.set(fields::LAST_NAME, last);
//!     r.set(fields::EMAIL, email);
//!     r
//! };
//! let records = vec![
//!     person("1", "Robert", "Smith", "bob.smith@gmail.com"),
//!     person("2", "Bob", "Smith", "BobSmith+news@gmail.com"),
//!     person("3", "Alice", "Jones", "alice@example.com"),
//! ];
//! // A configuration (in code, or from TOML or JSON) builds the deduplicator that runs.
//! let deduper = DedupConfig::contacts().build()?;
//! let result = deduper.run(&records);
//! assert_eq!(result.clusters[0], result.clusters[1]);
//! assert_ne!(result.clusters[0], result.clusters[2]);
//! # Ok::<(), mergetag_dedup::Error>(())
//! ```
//!
//! A [`DedupConfig`] is plain data (serde, from [`DedupConfig::from_toml_str`],
//! [`DedupConfig::from_json_str`] or [`DedupConfig::from_path`]); [`DedupConfig::build`] checks
//! it and gives the [`Deduper`] that runs. Every mistake is an [`Error`]: a document that does
//! not parse is an [`Error::Parse`] naming its line and column, one that cannot work an
//! [`Error::Invalid`] naming the key (`comparisons[3].kind`) and how to fix it.
//!
//! How it works (prepare once, compare many):
//!
//! 1. **Prepare**: records are put in record-id order (so results never depend on input order)
//!    and each compared field is folded once into a compact column (case, accents, punctuation,
//!    Gmail dots and `+tags`, phone formatting).
//! 2. **Block**: each [`BlockingPass`] groups records by a key (email, phone, name + birth date,
//!    phonetic surname + postcode, ...); records sharing a key become candidate pairs. A pair
//!    found by an earlier pass is not emitted again, without any pair set. Oversized blocks are
//!    skipped and reported.
//! 3. **Train**: how often non-matches agree on each field (`u`) is measured on a seeded sample
//!    of random pairs; how often matches do (`m`) and the share of matches among candidates are
//!    estimated by expectation-maximisation over the candidates' comparison patterns.
//! 4. **Score**: each candidate pair's weight is the sum of its fields' `log2(m / u)` (a missing
//!    value weighs nothing); pairs at or above the probability threshold match.
//! 5. **Cluster**: matches are joined by union-find into clusters numbered in record-id order.
//!
//! Scoring runs in parallel (rayon) and gives identical results for any thread count.
//!
//! Beyond batch runs: [`survivorship`] turns clusters into golden profiles with provenance and
//! suppressions, [`Deduper::link`] links two sources, and [`index::MatchIndex`] matches new
//! records one at a time against existing profiles with stable ids, a merge log, splits,
//! erasure and a versioned file format.

pub mod analysis;
mod batch;
mod blocking;
mod cluster;
mod comparison;
mod config;
mod dedup;
mod diagnose;
mod error;
pub mod eval;
pub mod exact;
pub mod fold;
pub mod index;
pub mod nicknames;
mod packed;
pub mod phonetic;
mod prepare;
pub mod similarity;
pub mod survivorship;

pub use crate::analysis::{
    BlockingAnalysis, CHOSEN_RECALL_TARGET, ChosenBlocking, PassRecall, PassSuggestion,
};
pub use crate::batch::{Clustering, Features, Scorer, cluster_pairs, match_probability};
pub use crate::blocking::{BlockingPass, KeyPart, KeyTransform, MinHash};
pub use crate::comparison::{ComparisonConfig, ComparisonKind};
pub use crate::config::DedupConfig;
pub use crate::dedup::{
    BlockingReport, ComparisonModel, DedupResult, DedupTimings, Deduper, Explanation,
    FieldEvidence, LevelModel, Link, LinkResult, MAX_COMPARISONS, PassReport, PreparedRecords,
    QualityEstimate, ScoredPair, ThresholdEstimate, TrainedModel, clusters_by_id,
};
pub use crate::diagnose::{DedupWarning, NO_PAIRS_WARNING_RECORDS};
pub use crate::error::{Error, Result};
pub use mergetag_model as model;
