//! Declarative validation rules checked against records: email syntax, required fields, ranges,
//! allowed values, patterns, country and region codes, phone validity. Findings are a report per
//! record, never a first-error stop; records with errors go to quarantine with their reasons.
//!
//! **Status:** this stage is being built; today the crate only fixes its place in the workspace.
//! It depends on [`mergetag-model`](mergetag_model) alone, which it re-exports as [`model`], so that
//! it can be used without any other stage:
//!
//! ```
//! use mergetag_validate::model::{Record, RecordId};
//!
//! let record = Record::new(RecordId::row("crm", 1));
//! assert!(record.is_empty());
//! ```

pub use mergetag_model as model;
