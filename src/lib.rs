//! mergetag turns messy customer data from many sources into clean, deduplicated profiles and
//! the per-recipient variables an email template needs.
//!
//! This facade re-exports each stage crate as a module and the model's core types at the root.
//! Each stage is also usable alone: depend on `mergetag-sources`, `mergetag-dedup`, ... directly.
//!
//! ```
//! use mergetag::sources::{ColumnMap, CsvSource};
//! use mergetag::{fields, Source};
//!
//! let csv = "hs_object_id,firstname,email,zip\n901,Ada,ada@example.com,62704\n";
//! let mut source = CsvSource::builder()
//!     .column_map(ColumnMap::hubspot_contacts())
//!     .from_reader("hubspot", csv.as_bytes())?;
//! let record = source.records().next().unwrap()?;
//! assert_eq!(record.id.to_string(), "hubspot:901");
//! assert_eq!(record.text(fields::POSTAL_CODE), Some("62704"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`model`] | `mergetag-model` | records, values, events, profiles, the `Source` trait |
//! | [`sources`] | `mergetag-sources` | CSV and JSON Lines readers, column maps, CRM presets |
//! | [`normalize`] | `mergetag-normalize` | per-field normalizers |
//! | [`validate`] | `mergetag-validate` | rules, reports, quarantine |
//! | [`dedup`] | `mergetag-dedup` | blocking, matching, clustering, golden profiles |
//! | [`mapping`] | `mergetag-mapping` | traits, template variables, platform output |
//! | `postgres` | `mergetag-postgres` | PostgreSQL source and sink (feature `postgres`) |
//! | `sync` | `mergetag-sync` | paged HTTP API sync, HubSpot contacts (feature `http-sync`) |
//! | `intake` | `mergetag-intake` | Segment-compatible HTTP event intake (feature `http-intake`) |
//! | `kafka` | `mergetag-kafka` | at-least-once Kafka consumer source (feature `kafka`) |
//! | `scale` | `mergetag-scale` | deduplication as a DataFusion plan (feature `scale`) |
//! | `ballista` | `mergetag-ballista` | the deduplication plan on a Ballista cluster (feature `ballista`) |
//! | [`segment`] | `mergetag-segment` | customer segments (K-Means, DBSCAN) |
//! | [`predict`] | `mergetag-predict` | CLV, churn risk and next product (BG/NBD, Pareto/NBD, Gamma-Gamma) |
//!
//! The [`pipeline`] module wires them together: a [`Pipeline`] built in code or from one TOML
//! file ([`PipelineConfig`]), run with a progress callback into a [`RunOutput`] holding the
//! profiles, the quarantine, the audiences and a [`RunReport`] whose counts add up.

mod error;
pub mod pipeline;

pub use error::{Error, Result};
pub use pipeline::{
    Decision, Pipeline, PipelineBuilder, PipelineConfig, Progress, RecordStage, RunOutput,
    RunReport, stage_fn,
};

/// The deduplication plan on a DataFusion Ballista cluster, with the local plan's answers
/// (feature `ballista`).
#[cfg(feature = "ballista")]
pub use mergetag_ballista as ballista;
pub use mergetag_dedup as dedup;
/// A Segment-compatible HTTP event intake that resolves identities live (feature
/// `http-intake`).
#[cfg(feature = "http-intake")]
pub use mergetag_intake as intake;
/// Kafka: a consumer-group source of JSON messages whose offsets are committed after the
/// records are applied (feature `kafka`).
#[cfg(feature = "kafka")]
pub use mergetag_kafka as kafka;
/// Data lakes: Parquet and Arrow sources, Parquet outputs and object stores (feature
/// `lake-parquet`), and a DataFusion semantic layer (feature `lake`).
#[cfg(feature = "lake-parquet")]
pub use mergetag_lake as lake;
pub use mergetag_mapping as mapping;
pub use mergetag_model as model;
pub use mergetag_normalize as normalize;
/// PostgreSQL: a streaming, incremental table or query source and a golden-profile sink
/// (feature `postgres`).
#[cfg(feature = "postgres")]
pub use mergetag_postgres as postgres;
pub use mergetag_predict as predict;
/// Deduplication as a DataFusion plan with the in-process run's answers (feature `scale`).
#[cfg(feature = "scale")]
pub use mergetag_scale as scale;
pub use mergetag_segment as segment;
pub use mergetag_sources as sources;
/// API sync: paged HTTP sources with rate limits and backoff, and a HubSpot-style contacts
/// source (feature `http-sync`).
#[cfg(feature = "http-sync")]
pub use mergetag_sync as sync;
pub use mergetag_validate as validate;

pub use mergetag_model::{
    Event, EventKind, EventSource, FieldName, OnBadRow, Profile, ProfileId, Record, RecordId,
    RecordKey, Reject, Source, SourceError, SourceErrorKind, SourceName, Value, fields,
};

/// The README's code examples, compiled and run as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
