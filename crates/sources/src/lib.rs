//! Readers that turn files and streams into mergetag [`Record`]s and [`Event`]s: CSV, JSON
//! Lines records and events, and column maps from a source's own field names to canonical
//! fields, with presets for Salesforce, HubSpot, Microsoft Dynamics and Segment.
//!
//! Reading a HubSpot export with its preset:
//!
//! ```
//! use mergetag_model::{fields, Source, Value};
//! use mergetag_sources::{ColumnMap, CsvSource};
//!
//! let export = "\
//! hs_object_id,firstname,lastname,email,zip,hs_email_optout,lastmodifieddate,favorite_store
//! 901,Ada,Lovelace,ada@example.com,62704,false,1709302925000,Loop
//! 902,Bob,,bob@example.com,,true,1709302925000,
//! ";
//! let mut source = CsvSource::builder()
//!     .column_map(ColumnMap::hubspot_contacts())
//!     .from_reader("hubspot", export.as_bytes())?;
//!
//! let mut record = mergetag_model::Record::default();
//! assert!(source.read_record(&mut record)?);
//! assert_eq!(record.id.to_string(), "hubspot:901");
//! assert_eq!(record.text(fields::FIRST_NAME), Some("Ada"));
//! assert_eq!(record.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(false)));
//! assert_eq!(record.observed_at.unwrap().to_rfc3339(), "2024-03-01T14:22:05+00:00");
//! // Unmapped columns are kept as attributes, never dropped.
//! assert_eq!(record.text("favorite_store"), Some("Loop"));
//!
//! assert!(source.read_record(&mut record)?);
//! assert_eq!(record.get(fields::LAST_NAME), Some(&Value::Null)); // empty cell
//! assert!(!source.read_record(&mut record)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every reader implements [`Source`] (or, for events, is an iterator), reports bad rows with
//! their source, line and column and never their data, and can set bad rows aside as
//! [`Reject`]s for quarantine ([`OnBadRow::Quarantine`]). The [`conformance`] module holds the
//! checks every `Source` must pass; run it on your own sources too.
//!
//! [`Record`]: mergetag_model::Record
//! [`Event`]: mergetag_model::Event
//! [`Source`]: mergetag_model::Source
//! [`Reject`]: mergetag_model::Reject

mod column_map;
mod config;
pub mod conformance;
mod convert;
mod csv;
mod error;
mod jsonl;
mod presets;
mod row;
mod values;

pub use crate::column_map::{
    ColumnMap, ColumnMapConfig, ColumnRule, ColumnTarget, InvalidValues, Unmapped, one_or_many,
};
pub use crate::config::{Opened, SourceConfig, SourceFormat, SourceKind};
pub use crate::convert::ColumnType;
pub use crate::csv::{CsvSource, CsvSourceBuilder};
pub use crate::error::{Error, Result};
pub use crate::jsonl::{
    DEFAULT_MAX_LINE_BYTES, IdentifySource, JsonLinesBuilder, JsonLinesEvents, JsonLinesSource,
    JsonObjectMapper,
};
pub use crate::values::{Cell, FieldFault, PlannedColumn, RowPlan, ValueMapper, key_text};
pub use mergetag_model::OnBadRow;
