//! Deduplication and record linkage: exact keys, multi-pass blocking, fuzzy field comparisons,
//! unsupervised Fellegi-Sunter scoring, clustering with stable ids, and golden profiles with
//! per-field provenance.
//!
//! **Status:** this stage is being built; today the crate only fixes its place in the workspace.
//! It depends on [`mergetag-model`](mergetag_model) alone, which it re-exports as [`model`], so that
//! it can be used without any other stage:
//!
//! ```
//! use mergetag_dedup::model::{Record, RecordId};
//!
//! let record = Record::new(RecordId::row("crm", 1));
//! assert!(record.is_empty());
//! ```

pub use mergetag_model as model;
