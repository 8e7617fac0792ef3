//! PostgreSQL for mergetag: [`PostgresSource`] streams a table or a query into records
//! (through a server-side cursor, in batches, optionally incrementally from a watermark
//! column), and [`PostgresSink`] upserts golden profiles, their traits and the merge log.
//!
//! Reading the contacts changed since the last run, then writing the profiles back (this
//! needs a server, hence `no_run`; the crate's tests start a real one):
//!
//! ```no_run
//! use mergetag_model::{Source, Value};
//! use mergetag_postgres::{PostgresSink, PostgresSource};
//! use mergetag_sources::ColumnMap;
//!
//! let url = "host=127.0.0.1 user=app dbname=crm";
//! let mut source = PostgresSource::builder()
//!     .table("contacts")
//!     .column_map(ColumnMap::hubspot_contacts().without_key().with_key("id"))
//!     .watermark("updated_at")
//!     .state_table("mergetag_watermarks") // or .since(value kept from last time)
//!     .connect("crm", url)?;
//! let mut record = mergetag_model::Record::default();
//! while source.read_record(&mut record)? {
//!     // ... normalize, deduplicate ...
//! }
//! let mut rejects = Vec::new();
//! source.drain_rejects(&mut rejects); // rows whose values did not convert, with their keys
//!
//! let mut sink = PostgresSink::connect("warehouse", url)?;
//! let report = sink.write(&[], &[], &[])?; // profiles, traits, merge log
//! assert_eq!(report.profiles_written, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! In a pipeline file, a source with `kind = "postgres"` and a `[sources.settings]` table
//! ([`PostgresSettings`]) is opened by [`open`].

mod cell;
mod config;
mod error;
mod sink;
mod source;
mod sql;

pub use crate::config::{PostgresSettings, open};
pub use crate::error::{Error, Result};
pub use crate::sink::{DEFAULT_BATCH_PROFILES, PostgresSink, SinkReport};
pub use crate::source::{DEFAULT_BATCH_ROWS, PostgresSource, PostgresSourceBuilder};
