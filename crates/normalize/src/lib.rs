//! Per-field normalizers that make equal things look equal: Unicode text, email, phone (E.164),
//! dates and times (ISO 8601), postal addresses (USPS Publication 28), countries and regions
//! (ISO 3166), personal names and user-supplied terminology maps.
//!
//! **Status:** this stage is being built; today the crate only fixes its place in the workspace.
//! It depends on [`mergetag-model`](mergetag_model) alone, which it re-exports as [`model`], so that
//! it can be used without any other stage:
//!
//! ```
//! use mergetag_normalize::model::{Record, RecordId};
//!
//! let record = Record::new(RecordId::row("crm", 1));
//! assert!(record.is_empty());
//! ```

pub use mergetag_model as model;
