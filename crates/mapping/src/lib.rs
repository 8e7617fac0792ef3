//! From golden profiles and events to what an email platform consumes: computed traits, template
//! variables with fallbacks, template checks, segments, suppression, and output for SendGrid,
//! Mailchimp, Braze and Klaviyo.
//!
//! **Status:** this stage is being built; today the crate only fixes its place in the workspace.
//! It depends on [`mergetag-model`](mergetag_model) alone, which it re-exports as [`model`], so that
//! it can be used without any other stage:
//!
//! ```
//! use mergetag_mapping::model::{Record, RecordId};
//!
//! let record = Record::new(RecordId::row("crm", 1));
//! assert!(record.is_empty());
//! ```

pub use mergetag_model as model;
