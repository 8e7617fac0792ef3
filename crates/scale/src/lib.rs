//! Deduplication as an Apache DataFusion plan: the same answers as [`Deduper::run`], from an
//! engine that joins, sorts and spills out of memory, on a session of its own
//! ([`DedupPlan::run`]) or one the caller gives ([`DedupPlan::run_on`]), such as a Ballista
//! cluster's (the `mergetag-ballista` crate).
//!
//! ```
//! use mergetag_dedup::DedupConfig;
//! use mergetag_model::{fields, Record, RecordId};
//! use mergetag_scale::DedupPlan;
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
//! let deduper = DedupConfig::contacts().build()?;
//! // The model: trained in-process (here on everything; `train_on_sample` for large data).
//! let in_process = deduper.run(&records);
//! let dir = tempfile::tempdir()?;
//! let plan = DedupPlan::new(deduper)?;
//! let result = plan.run(&records, &in_process.model, dir.path())?;
//! assert_eq!(result.clusters, in_process.clusters);
//! assert_eq!(result.matches.len(), in_process.matches.len());
//! assert!(result.pairs_file.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The plan, step by step:
//!
//! 1. **Records table**: each record's folded comparison features and hashed blocking keys
//!    ([`Deduper::features`]), extracted chunk by chunk ([`DedupPlan::run_chunks`]) and
//!    written as Parquet; then numbered in record-id order by a sort in DataFusion (which
//!    spills), so positions are the in-process run's whatever the input order.
//! 2. **Blocking**: per key slot, blocks over `max_block_size` are dropped (and reported, as
//!    [`Deduper::run`] reports them); the rest become candidate pairs by a self-join on the
//!    key column, flagged when an earlier slot's key pairs them already. DataFusion runs the
//!    joins as sort-merge joins (`datafusion.optimizer.prefer_hash_join = false`), which
//!    spill under a memory limit ([`DedupPlan::memory_limit`]). The pairs are written as
//!    Parquet.
//! 3. **Comparing**: `mergetag_levels` ([`LevelsUdf`]), a vectorised UDF called once per
//!    batch over the Arrow arrays of both records' features, calls
//!    [`Deduper::compare_features`]: the comparison code of the in-process run.
//! 4. **Scoring**: `mergetag_weight` ([`WeightUdf`]) turns each pattern and its first
//!    record's value counts into a match weight with [`Scorer`](mergetag_dedup::Scorer),
//!    under a model trained in-process ([`train_on_sample`], [`Deduper::run`]) or loaded
//!    from JSON.
//! 5. **Clustering**: connected components with the bridge guard
//!    ([`cluster_pairs`](mergetag_dedup::cluster_pairs)), in process. The scored candidate
//!    pairs are written as Parquet and streamed back twice: once for the matches, once for
//!    the other pairs between two records that both have a match (all the bridge guard can
//!    look at), so memory follows the matches (16 bytes a pair), not the candidate pairs.
//!    Matches are written as Parquet (`pairs.parquet`).
//!
//! Results do not depend on input order nor on the number of partitions. The UDFs hold only
//! the configuration (and model), never records, and [`register_udfs`] registers them on any
//! session, such as a distributed executor's.
//!
//! Data larger than memory goes in chunks ([`DedupPlan::run_chunks`]): one chunk of records
//! is in memory at a time, and past the memory pool ([`DedupPlan::memory_limit`]) the sorts
//! and joins spill to disk. Limits: features are extracted in this process (not by the
//! engine's workers), clustering holds the matches in memory, and sorted-neighbourhood passes
//! do not run as a plan.
//!
//! [`Deduper::run`]: mergetag_dedup::Deduper::run
//! [`Deduper::features`]: mergetag_dedup::Deduper::features
//! [`Deduper::compare_features`]: mergetag_dedup::Deduper::compare_features

mod error;
mod plan;
mod udf;

/// The DataFusion this crate is built with.
pub use datafusion;

pub use crate::error::{Error, Result};
pub use crate::plan::{DedupPlan, PlanPair, PlanResult, train_on_sample};
pub use crate::udf::{LEVELS_UDF, LevelsUdf, WEIGHT_UDF, WeightUdf, register_udfs};
