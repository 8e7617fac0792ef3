//! Kafka for mergetag: [`KafkaSource`] reads JSON messages of Kafka topics as a consumer
//! group member, maps each one exactly as a JSON Lines line, and commits offsets only when
//! told to, after the records have been applied: at-least-once delivery, made effectively
//! once by idempotent applying ([`AppliedOffsets`], [`RecentKeys`]).
//!
//! Reading a batch of Segment identify calls, applying them, then committing (this needs a
//! broker, hence `no_run`; the crate's tests start librdkafka's mock cluster):
//!
//! ```no_run
//! use std::collections::HashMap;
//!
//! use mergetag_kafka::{AppliedOffsets, KafkaSource};
//! use mergetag_model::{Record, Source};
//! use mergetag_sources::ColumnMap;
//!
//! let mut source = KafkaSource::builder()
//!     .brokers("127.0.0.1:9092")
//!     .topic("identifies")
//!     .group_id("mergetag")
//!     .column_map(ColumnMap::segment_identify())
//!     .dedup_field("messageId") // a producer's retries
//!     .connect("events")?;
//!
//! // The store: records by key, and the offsets applied, kept together.
//! let mut store: HashMap<String, Record> = HashMap::new();
//! let mut applied = AppliedOffsets::default();
//! let mut record = Record::default();
//! while source.read_record(&mut record)? {
//!     let at = source.last_position().cloned().expect("a record has a position");
//!     if !applied.is_applied(&at) {
//!         store.insert(record.id.to_string(), record.clone());
//!         applied.mark(&at);
//!     }
//! }
//! let mut rejects = Vec::new();
//! source.drain_rejects(&mut rejects); // quarantine them, with their positions
//! source.commit()?; // now, and only now, the group moves on
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See [`KafkaSource`] for the guarantees, how a batch ends and what becomes of bad messages
//! and broker errors. In a pipeline file, a source with `kind = "kafka"` and a
//! `[sources.settings]` table ([`KafkaSettings`]) is opened by [`open`]; with `commit =
//! "after_outputs"` ([`PipelineCommit`]) the run commits through
//! [`Source::commit`](mergetag_model::Source::commit) once its outputs are written.
//!
//! The client is rust-rdkafka over librdkafka, built from its bundled sources with the C
//! compiler and make (no system library, no cmake), without SSL, SASL or compression.

/// The Kafka client this crate is built on (rust-rdkafka), for its error types
/// ([`Error`]'s sources are `rdkafka::error::KafkaError`s) and for tests that start
/// librdkafka's mock cluster (`rdkafka::mocking::MockCluster`).
pub use rdkafka;

mod config;
mod error;
mod offsets;
mod source;

pub use crate::config::{KafkaSettings, PipelineCommit, open};
pub use crate::error::{Error, Result};
pub use crate::offsets::{AppliedOffsets, InvalidPosition, MessagePosition, RecentKeys};
pub use crate::source::{
    DEFAULT_COMMIT_TIMEOUT, DEFAULT_DEDUP_CAPACITY, DEFAULT_IDLE_TIMEOUT, DEFAULT_JOIN_TIMEOUT,
    KafkaSource, KafkaSourceBuilder, StartAt,
};
