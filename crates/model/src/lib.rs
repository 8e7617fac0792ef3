//! The shared vocabulary of mergetag: records, typed values, canonical field names, events,
//! golden profiles, and the [`Source`] trait that every reader implements.
//!
//! Every stage crate (`mergetag-sources`, `-normalize`, `-validate`, `-dedup`, `-mapping`)
//! depends on this crate and on no other stage, so a program can take one stage alone. This
//! crate holds data types and nothing else; it is small and fast to compile, and every public
//! data type has a serde form.
//!
//! ```
//! use mergetag_model::{fields, Record, RecordId, Value};
//!
//! // A record names its source and its key there; fields are typed values.
//! let mut r = Record::new(RecordId::id("salesforce", "0035g00000AbCdEAAZ"));
//! r.observed_at = "2026-03-01T14:22:05Z".parse().ok();
//! r.set_text(fields::FIRST_NAME, "Ada");
//! r.set(fields::EMAIL_OPT_OUT, false);
//! r.set("favorite_store", "Chicago Loop"); // free-form attributes are kept as they are
//!
//! assert_eq!(r.text(fields::FIRST_NAME), Some("Ada"));
//! assert_eq!(r.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(false)));
//! assert_eq!(r.id.to_string(), "salesforce:0035g00000AbCdEAAZ");
//!
//! // Every type round-trips through serde.
//! let json = serde_json::to_string(&r).unwrap();
//! assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), r);
//! ```
//!
//! # Contents
//!
//! - [`Record`], [`RecordId`], [`Value`], [`FieldName`]: one row of one source.
//! - [`fields`]: the canonical field names and the normalized form each expects.
//! - [`Event`]: behavioural data in the shape of the Segment spec.
//! - [`Profile`]: a golden record with the provenance of every value and its suppressions.
//! - [`Source`], [`SourceError`], [`Reject`], [`IterSource`], [`OnBadRow`]: reading records;
//!   [`EventSource`], [`IterEventSource`]: reading events.
//! - [`config`]: loading configuration documents (TOML or JSON) with [`ParseError`]s that
//!   name the origin, line and column, the same way in every crate.
//! - [`mailbox`]: when two email addresses reach the same inbox (dedup keys and suppression).
//! - [`redact`]: how personal values appear in errors and logs.
//! - [`text_position`]: line and column in configuration text, for errors.

pub mod config;
mod event;
mod field;
pub mod fields;
pub mod mailbox;
mod profile;
mod record;
pub mod redact;
mod source;
pub mod text_position;
mod value;

pub use config::ParseError;
pub use event::{Event, EventKind};
pub use field::FieldName;
pub use profile::{
    Channel, Profile, ProfileField, ProfileId, Sourced, Suppression, SuppressionReason,
};
pub use record::{Field, Record, RecordId, RecordKey, Refill, SourceName};
pub use source::{
    EventSource, IterEventSource, IterSource, OnBadRow, Position, Records, Reject, Source,
    SourceError, SourceErrorKind,
};
pub use value::Value;
