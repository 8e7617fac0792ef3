//! The crate's error type: configuration, consumer and commit failures. Messages that cannot
//! be read are [`SourceError`](mergetag_model::SourceError)s or rejects, as in every source.

use rdkafka::error::KafkaError;

/// What can go wrong outside of mapping messages. Messages name the source, the brokers, the
/// topics and the last position read, never a message's payload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration parsed but is not valid.
    #[error("{}", invalid_message(path, message))]
    Invalid {
        /// The key at fault (`settings.group_id`); empty when the whole configuration is at
        /// fault.
        path: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A column map or source configuration from `mergetag-sources` is not valid.
    #[error(transparent)]
    Sources(#[from] mergetag_sources::Error),
    /// The consumer could not be created or could not subscribe (a property librdkafka
    /// refuses, a topic name it refuses).
    #[error("{name}: cannot start a kafka consumer for brokers {brokers}, topics {topics}")]
    Start {
        /// The source.
        name: String,
        /// The bootstrap brokers.
        brokers: String,
        /// The topics.
        topics: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },
    /// librdkafka reported a fatal error: the consumer cannot go on.
    #[error("{name}: fatal kafka error (brokers {brokers}, topics {topics}) {after}")]
    Fatal {
        /// The source.
        name: String,
        /// The bootstrap brokers.
        brokers: String,
        /// The topics.
        topics: String,
        /// Where reading stood: `after events/0@41` or `before the first message`.
        after: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },
    /// The brokers kept failing (down, unreachable, refusing requests) for longer than the
    /// idle timeout, without a message in between: librdkafka retried and gave up being
    /// useful, so the batch stops rather than wait for ever.
    #[error("{name}: kafka brokers {brokers} failed for {waited_ms} ms on topics {topics} {after}")]
    Stalled {
        /// The source.
        name: String,
        /// The bootstrap brokers.
        brokers: String,
        /// The topics.
        topics: String,
        /// Where reading stood: `after events/0@41` or `before the first message`.
        after: String,
        /// How long the errors lasted, in milliseconds.
        waited_ms: u64,
        /// The last error librdkafka reported.
        #[source]
        source: Box<KafkaError>,
    },
    /// Committing offsets failed (after retries of the errors worth retrying); the messages
    /// since the last commit will be delivered again.
    #[error("{name}: committing offsets {offsets} to kafka brokers {brokers} failed")]
    Commit {
        /// The source.
        name: String,
        /// The bootstrap brokers.
        brokers: String,
        /// The offsets that were being committed: `events/0@42, events/1@17` (each the next
        /// offset to read).
        offsets: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },
}

impl Error {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

fn invalid_message(path: &str, message: &str) -> String {
    if path.is_empty() {
        message.to_owned()
    } else {
        format!("{path}: {message}")
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
