//! [`KafkaSource`]: JSON messages of Kafka topics read by a consumer group, at least once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use mergetag_model::{
    FieldName, OnBadRow, Position, Record, RecordId, Reject, Source, SourceError, SourceErrorKind,
    SourceName, Value,
};
use mergetag_sources::{ColumnMap, FieldFault, JsonObjectMapper, ValueMapper};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::error::{Error, Result};
use crate::offsets::{MessagePosition, RecentKeys};

/// How long a batch waits, by default, for a message before it ends (or, if the brokers
/// are failing, stops with [`Error::Stalled`]): 10 seconds.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a source waits, by default, for the group to assign it partitions before the
/// idle timeout starts counting: 30 seconds.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// How many dedup keys a source remembers by default: 100,000.
pub const DEFAULT_DEDUP_CAPACITY: usize = 100_000;

/// How long [`KafkaSource::commit`] retries a commit the brokers refuse for a passing
/// reason, by default: 10 seconds.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The properties this crate sets itself, which [`KafkaSourceBuilder::property`] refuses.
const OWN_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "auto.offset.reset",
];

/// Where a group without committed offsets starts reading a partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StartAt {
    /// At the oldest message kept (the default): a new group reads the whole topic.
    #[default]
    Earliest,
    /// After the newest message: a new group reads only what is produced from now on.
    Latest,
}

impl StartAt {
    fn as_str(self) -> &'static str {
        match self {
            StartAt::Earliest => "earliest",
            StartAt::Latest => "latest",
        }
    }
}

/// Configures and opens a [`KafkaSource`].
///
/// ```no_run
/// use mergetag_kafka::KafkaSource;
/// use mergetag_model::Source;
/// use mergetag_sources::ColumnMap;
///
/// let mut source = KafkaSource::builder()
///     .brokers("127.0.0.1:9092")
///     .topic("identifies")
///     .group_id("mergetag")
///     .column_map(ColumnMap::segment_identify())
///     .dedup_field("messageId")
///     .connect("events")?;
/// let n = source.records().filter(Result::is_ok).count();
/// source.commit()?; // after the records are applied
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct KafkaSourceBuilder {
    brokers: String,
    topics: Vec<String>,
    group_id: String,
    map: ColumnMap,
    on_bad_row: OnBadRow,
    start: StartAt,
    max_messages: Option<u64>,
    stop_at_end: bool,
    idle_timeout: Duration,
    join_timeout: Duration,
    commit_timeout: Duration,
    dedup_field: Option<String>,
    dedup_capacity: usize,
    commit_on_ack: bool,
    properties: BTreeMap<String, String>,
}

impl Default for KafkaSourceBuilder {
    fn default() -> Self {
        KafkaSourceBuilder {
            brokers: String::new(),
            topics: Vec::new(),
            group_id: String::new(),
            map: ColumnMap::new(),
            on_bad_row: OnBadRow::Quarantine,
            start: StartAt::Earliest,
            max_messages: None,
            stop_at_end: true,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            join_timeout: DEFAULT_JOIN_TIMEOUT,
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
            dedup_field: None,
            dedup_capacity: DEFAULT_DEDUP_CAPACITY,
            commit_on_ack: true,
            properties: BTreeMap::new(),
        }
    }
}

impl KafkaSourceBuilder {
    /// The bootstrap brokers, `host:port` separated by commas (required).
    pub fn brokers(&mut self, brokers: &str) -> &mut Self {
        brokers.trim().clone_into(&mut self.brokers);
        self
    }

    /// Adds a topic to read (at least one is required).
    pub fn topic(&mut self, topic: &str) -> &mut Self {
        self.topics.push(topic.to_owned());
        self
    }

    /// The consumer group (required): its committed offsets are where the next run starts,
    /// and the group's members share the partitions.
    pub fn group_id(&mut self, group: &str) -> &mut Self {
        group.clone_into(&mut self.group_id);
        self
    }

    /// The column map from the messages' JSON keys to fields, applied as to a JSON Lines line
    /// (default: every key kept under its own name). Its key column gives each record's key;
    /// without one (or without a value for it) the message's own key does, and without that
    /// its position (`events/0@41`).
    pub fn column_map(&mut self, map: ColumnMap) -> &mut Self {
        self.map = map;
        self
    }

    /// What happens to a message that cannot be mapped (default [`OnBadRow::Quarantine`]).
    pub fn on_bad_row(&mut self, policy: OnBadRow) -> &mut Self {
        self.on_bad_row = policy;
        self
    }

    /// Where a group without committed offsets starts (default [`StartAt::Earliest`]).
    pub fn start_at(&mut self, start: StartAt) -> &mut Self {
        self.start = start;
        self
    }

    /// Ends the batch after this many messages (records, rejects and skipped ones alike;
    /// default: no limit).
    pub fn max_messages(&mut self, n: u64) -> &mut Self {
        self.max_messages = Some(n);
        self
    }

    /// Ends the batch when every assigned partition has been read to its end (default
    /// `true`); with `false`, only [`KafkaSourceBuilder::max_messages`] or the idle timeout
    /// end it.
    pub fn stop_at_end(&mut self, yes: bool) -> &mut Self {
        self.stop_at_end = yes;
        self
    }

    /// Ends the batch when no message has come for this long once partitions are assigned
    /// (default [`DEFAULT_IDLE_TIMEOUT`]); if the brokers were failing all that time and
    /// still cannot be reached, reading stops with [`Error::Stalled`] instead.
    pub fn idle_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long to wait for the group to assign this consumer partitions, from
    /// [`KafkaSourceBuilder::connect`] (default [`DEFAULT_JOIN_TIMEOUT`], and never less than
    /// the idle timeout); then the batch ends as after the idle timeout (a group with more
    /// members than partitions leaves some without any).
    pub fn join_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.join_timeout = timeout;
        self
    }

    /// How long [`KafkaSource::commit`] retries a commit refused for a passing reason (the
    /// group coordinator moving or loading, a timeout, a lost connection; default
    /// [`DEFAULT_COMMIT_TIMEOUT`]).
    pub fn commit_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.commit_timeout = timeout;
        self
    }

    /// Drops a message whose record has the same text in `field` (after the column map; or
    /// the record key, when `field` is the map's key column) as one handed out before in this
    /// run, such as Segment's `messageId`: a producer that retried wrote it twice. At most [`KafkaSourceBuilder::dedup_capacity`] keys are
    /// remembered. Messages without the field are never dropped.
    pub fn dedup_field(&mut self, field: &str) -> &mut Self {
        self.dedup_field = Some(field.to_owned());
        self
    }

    /// How many dedup keys are remembered (default [`DEFAULT_DEDUP_CAPACITY`]).
    pub fn dedup_capacity(&mut self, n: usize) -> &mut Self {
        self.dedup_capacity = n.max(1);
        self
    }

    /// Whether [`Source::commit`], the acknowledgement a caller that handles every kind of
    /// source sends once the records are stored (a pipeline, after writing its outputs),
    /// commits as [`KafkaSource::commit`] does (default `true`). With `false` it does
    /// nothing, and the group's offsets move only when [`KafkaSource::commit`] is called: a
    /// pipeline file's `commit = "never"`. The source never commits on its own, whatever
    /// this says: not when a batch ends, not when it is dropped.
    pub fn commit_on_ack(&mut self, yes: bool) -> &mut Self {
        self.commit_on_ack = yes;
        self
    }

    /// Sets a librdkafka consumer property (`session.timeout.ms`, `client.id`, ...); see
    /// librdkafka's CONFIGURATION.md. The properties this source owns (brokers, group,
    /// offset commits and stores, partition ends, the reset policy) are refused by
    /// [`KafkaSourceBuilder::connect`].
    pub fn property(&mut self, key: &str, value: &str) -> &mut Self {
        self.properties.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Checks the configuration, creates the consumer and subscribes to the topics. The
    /// group's partitions are assigned while reading.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for missing brokers, topics or group, or a property this source
    /// owns; [`Error::Start`] when librdkafka refuses the configuration or the subscription.
    pub fn connect(&self, name: &str) -> Result<KafkaSource> {
        if name.trim().is_empty() {
            return Err(Error::invalid("name", "a source needs a name"));
        }
        if self.brokers.is_empty() || self.brokers.split(',').any(|b| b.trim().is_empty()) {
            return Err(Error::invalid(
                "brokers",
                "name the bootstrap brokers: \"host:port\", separated by commas",
            ));
        }
        if self.topics.is_empty() || self.topics.iter().any(|t| t.trim().is_empty()) {
            return Err(Error::invalid(
                "topics",
                "name at least one topic, and no empty one",
            ));
        }
        if self.group_id.trim().is_empty() {
            return Err(Error::invalid(
                "group_id",
                "name the consumer group whose offsets this source commits",
            ));
        }
        if let Some(key) = self
            .properties
            .keys()
            .find(|k| OWN_PROPERTIES.contains(&k.as_str()))
        {
            return Err(Error::invalid(
                format!("properties.{key}"),
                "this source sets this property itself; use the builder (or the settings key) for it",
            ));
        }
        let mut config = ClientConfig::new();
        for (k, v) in &self.properties {
            config.set(k, v);
        }
        config
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", &self.group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set(
                "enable.partition.eof",
                if self.stop_at_end { "true" } else { "false" },
            )
            .set("auto.offset.reset", self.start.as_str());
        let topics = self.topics.join(", ");
        let start_error = |source| Error::Start {
            name: name.to_owned(),
            brokers: self.brokers.clone(),
            topics: topics.clone(),
            source: Box::new(source),
        };
        let consumer: BaseConsumer = config.create().map_err(start_error)?;
        let list: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&list).map_err(start_error)?;
        Ok(KafkaSource {
            consumer,
            st: State {
                name: SourceName::new(name),
                brokers: self.brokers.clone(),
                topics: self.topics.clone(),
                mapper: JsonObjectMapper::new(self.map.clone()),
                on_bad_row: self.on_bad_row,
                max_messages: self.max_messages,
                stop_at_end: self.stop_at_end,
                idle_timeout: self.idle_timeout,
                join_deadline: Instant::now() + self.join_timeout.max(self.idle_timeout),
                joined: false,
                commit_timeout: self.commit_timeout,
                dedup_field: self.dedup_field.as_deref().map(|f| {
                    let is_key = ValueMapper::new(self.map.clone()).is_key(f);
                    (FieldName::new(f), is_key)
                }),
                seen: RecentKeys::new(self.dedup_capacity),
                commit_on_ack: self.commit_on_ack,
                handed: HashMap::new(),
                committed: HashMap::new(),
                at_end: HashSet::new(),
                assigned: HashSet::new(),
                last: None,
                rejects: Vec::new(),
                counts: Counts::default(),
                done: false,
            },
        })
    }
}

/// How many messages went where.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    messages: u64,
    records: u64,
    rejected: u64,
    redelivered: u64,
    duplicates: u64,
    broker_errors: u64,
    commits: u64,
}

/// Everything but the consumer, so that a polled message (which borrows the consumer) can be
/// handled with the rest mutable.
struct State {
    name: SourceName,
    brokers: String,
    topics: Vec<String>,
    mapper: JsonObjectMapper,
    on_bad_row: OnBadRow,
    max_messages: Option<u64>,
    stop_at_end: bool,
    idle_timeout: Duration,
    /// Until when to wait for a first assignment.
    join_deadline: Instant,
    /// Whether partitions have been assigned since connecting.
    joined: bool,
    commit_timeout: Duration,
    /// The dedup field, and whether it is the map's key column (which gives the record key
    /// rather than a field).
    dedup_field: Option<(FieldName, bool)>,
    seen: RecentKeys,
    /// Whether [`Source::commit`] commits.
    commit_on_ack: bool,
    /// Per topic and partition, the offset after the last message handed out (as a record, a
    /// reject or a skipped duplicate): what [`KafkaSource::commit`] commits.
    handed: HashMap<(String, i32), i64>,
    /// Per topic and partition, the offset last committed by this source.
    committed: HashMap<(String, i32), i64>,
    /// The assigned partitions read to their end (and not given a message since).
    at_end: HashSet<(String, i32)>,
    /// The partitions assigned when last looked at.
    assigned: HashSet<(String, i32)>,
    last: Option<MessagePosition>,
    rejects: Vec<Reject>,
    counts: Counts,
    done: bool,
}

/// What one message became.
enum Outcome {
    Record,
    Skipped,
}

/// Kafka topics as a [`Source`]: each message's value is one JSON object, mapped through a
/// [`ColumnMap`] exactly as a JSON Lines line is (nested objects flattened into dotted keys,
/// presets such as [`ColumnMap::segment_identify`], typed columns).
///
/// # Delivery guarantees
///
/// The source reads at least once and never commits on its own: librdkafka's automatic
/// commits and offset stores are off. Call [`KafkaSource::commit`] once the records handed
/// out (and the rejects drained) have been applied: it commits, synchronously, the offset
/// after the last message handed out in each assigned partition. A consumer that stops before
/// committing (a crash, an error) leaves those messages to be delivered again, to the next
/// consumer of the group.
///
/// Code that handles any [`Source`] acknowledges through [`Source::commit`], which commits
/// the same way (unless [`commit_on_ack`](KafkaSourceBuilder::commit_on_ack) is off): the
/// pipeline calls it once a run's outputs are written (`RunOutput::commit_sources`), never
/// when reading ends. Between reading and committing the consumer is not polled: a run that
/// takes longer than librdkafka's `max.poll.interval.ms` (5 minutes by default) is taken out
/// of the group, its commit is refused and the next run reads the batch again; raise that
/// property for long runs.
///
/// Applying must therefore be idempotent, which makes the whole effectively once:
/// - within a run, the source skips a message at an offset it has already handed out (after a
///   partition is revoked and assigned again, Kafka resumes at the committed offset), and,
///   with a [dedup field](KafkaSourceBuilder::dedup_field), a message whose key was handed
///   out before (a producer's retry);
/// - across runs, the store keeps an [`AppliedOffsets`](crate::AppliedOffsets) with its data
///   and skips positions already applied ([`KafkaSource::last_position`] tells a record's);
///   or it upserts by record key, which is idempotent when messages carry whole states.
///
/// # Bad messages
///
/// A value that is not UTF-8 JSON, not an object, a tombstone (no value), or has a value the
/// map cannot convert is set aside as a [`Reject`] under [`OnBadRow::Quarantine`] (its id's
/// key is its position, `events/0@41`; its raw text is the value), or returned as a
/// recoverable error under [`OnBadRow::Fail`]. Its offset is committed with the others: drain
/// the rejects before committing. The counts add up: every message read is a record, a reject,
/// or one of the skipped kinds ([`Source::counters`]).
///
/// # End of a batch
///
/// Reading ends ([`Source::read_record`] returns `Ok(false)`) after
/// [`max_messages`](KafkaSourceBuilder::max_messages), when every assigned partition has been
/// read to its end ([`stop_at_end`](KafkaSourceBuilder::stop_at_end), the default, through
/// librdkafka's `enable.partition.eof`), or when nothing has come for the
/// [idle timeout](KafkaSourceBuilder::idle_timeout) (or no partitions were assigned within
/// the [join timeout](KafkaSourceBuilder::join_timeout)).
///
/// # Broker errors
///
/// librdkafka retries transient errors (a broker down, a leader moving, a request refused)
/// itself; the source keeps polling and counts them (`broker_errors`). A fatal error stops
/// reading with [`Error::Fatal`], and errors with no message in between for the whole idle
/// timeout with [`Error::Stalled`]: both come out of `read_record` as a fatal
/// [`SourceError`] whose [cause](std::error::Error::source) is the [`Error`], naming the
/// brokers, the topics and the last position read.
pub struct KafkaSource {
    consumer: BaseConsumer,
    st: State,
}

impl std::fmt::Debug for KafkaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSource")
            .field("name", &self.st.name)
            .field("brokers", &self.st.brokers)
            .field("topics", &self.st.topics)
            .field("last", &self.st.last)
            .finish_non_exhaustive()
    }
}

impl KafkaSource {
    /// A builder with the defaults.
    pub fn builder() -> KafkaSourceBuilder {
        KafkaSourceBuilder::default()
    }

    /// The position of the last message read (whatever it became): for a record just
    /// returned by [`Source::read_record`], that record's message.
    pub fn last_position(&self) -> Option<&MessagePosition> {
        self.st.last.as_ref()
    }

    /// The offsets [`KafkaSource::commit`] would commit now: per topic and partition handed
    /// out from, the offset after the last message handed out.
    pub fn pending_offsets(&self) -> BTreeMap<(String, i32), i64> {
        self.st
            .handed
            .iter()
            .filter(|(tp, next)| self.st.committed.get(*tp).is_none_or(|c| c < *next))
            .map(|(tp, next)| (tp.clone(), *next))
            .collect()
    }

    /// Commits, synchronously, the offset after the last message handed out in each
    /// partition still assigned to this consumer: call it once the records and rejects handed
    /// out so far have been applied. Refusals for a passing reason are retried for the
    /// [commit timeout](KafkaSourceBuilder::commit_timeout). Partitions taken away by a
    /// rebalance are not committed: their messages go to their new consumer again. Returns
    /// the number of partitions committed.
    ///
    /// # Errors
    ///
    /// [`Error::Commit`] naming the brokers and offsets. Nothing is lost: the offsets stay
    /// pending, so the next successful commit covers them, and if none comes the messages are
    /// delivered again to this group's next consumer of the partition. A commit refused
    /// because the group rebalanced (an unknown member, an old generation) succeeds again
    /// once reading has gone on (polling rejoins the group).
    pub fn commit(&mut self) -> Result<usize> {
        let assigned: HashSet<(String, i32)> = match self.consumer.assignment() {
            Ok(list) => list
                .elements()
                .iter()
                .map(|e| (e.topic().to_owned(), e.partition()))
                .collect(),
            Err(source) => return Err(self.st.commit_error(String::new(), source)),
        };
        let pending: Vec<((String, i32), i64)> = self
            .pending_offsets()
            .into_iter()
            .filter(|(tp, _)| assigned.contains(tp))
            .collect();
        if pending.is_empty() {
            return Ok(0);
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), next) in &pending {
            if let Err(source) = list.add_partition_offset(topic, *partition, Offset::Offset(*next))
            {
                return Err(self.st.commit_error(describe(&pending), source));
            }
        }
        let deadline = Instant::now() + self.st.commit_timeout;
        let mut pause = Duration::from_millis(50);
        loop {
            match self.consumer.commit(&list, CommitMode::Sync) {
                Ok(()) => break,
                Err(e) if retriable(&e) && Instant::now() + pause < deadline => {
                    // No poll here: it could take a message that would then never be
                    // handed out. librdkafka looks the coordinator up in its own threads.
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(source) => return Err(self.st.commit_error(describe(&pending), source)),
            }
        }
        for (tp, next) in &pending {
            self.st.committed.insert(tp.clone(), *next);
        }
        self.st.counts.commits += 1;
        Ok(pending.len())
    }

    /// Whether every assigned partition has been read to its end. A partition assigned anew
    /// (after a rebalance) is not at its end until librdkafka says so again.
    fn all_at_end(&mut self) -> bool {
        let Ok(list) = self.consumer.assignment() else {
            return false;
        };
        let assigned: HashSet<(String, i32)> = list
            .elements()
            .iter()
            .map(|e| (e.topic().to_owned(), e.partition()))
            .collect();
        if assigned != self.st.assigned {
            for tp in assigned.difference(&self.st.assigned) {
                self.st.at_end.remove(tp);
            }
            self.st.assigned = assigned;
        }
        !self.st.assigned.is_empty()
            && self
                .st
                .assigned
                .iter()
                .all(|tp| self.st.at_end.contains(tp))
    }

    /// Marks the assigned partitions numbered `partition` that are at their end. librdkafka
    /// says only the partition's number: with one topic that is enough; with several, each
    /// topic's position is compared with its high watermark.
    fn mark_end(&mut self, partition: i32) {
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let candidates: Vec<String> = assignment
            .elements()
            .iter()
            .filter(|e| e.partition() == partition)
            .map(|e| e.topic().to_owned())
            .collect();
        if self.st.topics.len() == 1 {
            for topic in candidates {
                self.st.at_end.insert((topic, partition));
            }
            return;
        }
        let positions = self.consumer.position().ok();
        for topic in candidates {
            let position = positions
                .as_ref()
                .and_then(|p| p.find_partition(&topic, partition))
                .and_then(|e| e.offset().to_raw());
            let high = self
                .consumer
                .fetch_watermarks(&topic, partition, Duration::from_secs(1))
                .ok()
                .map(|(_, high)| high);
            let next = self.st.handed.get(&(topic.clone(), partition)).copied();
            let at_end = match (high, position.or(next)) {
                (Some(high), Some(pos)) => pos >= high,
                (Some(0), None) => true,
                _ => false,
            };
            if at_end {
                self.st.at_end.insert((topic, partition));
            }
        }
    }

    fn end(&mut self) -> Result<bool, SourceError> {
        self.st.done = true;
        Ok(false)
    }
}

impl State {
    fn after(&self) -> String {
        match &self.last {
            Some(p) => format!("after {p}"),
            None => "before the first message".to_owned(),
        }
    }

    fn commit_error(&self, offsets: String, source: KafkaError) -> Error {
        Error::Commit {
            name: self.name.to_string(),
            brokers: self.brokers.clone(),
            offsets,
            source: Box::new(source),
        }
    }

    /// A fatal [`SourceError`] carrying `e`.
    fn fatal(&mut self, e: Error) -> SourceError {
        self.done = true;
        SourceError::new(
            self.name.clone(),
            Position::record(self.counts.messages + 1),
            SourceErrorKind::Io {
                message: e.to_string(),
            },
        )
        .with_cause(e)
    }

    /// Hands out (or sets aside, or skips) one message.
    fn handle(
        &mut self,
        message: &BorrowedMessage<'_>,
        record: &mut Record,
    ) -> Result<Outcome, SourceError> {
        self.counts.messages += 1;
        let position = MessagePosition::new(message.topic(), message.partition(), message.offset());
        let tp = (position.topic.clone(), position.partition);
        self.at_end.remove(&tp);
        let next = self.handed.entry(tp).or_insert(0);
        self.last = Some(position.clone());
        if position.offset < *next {
            self.counts.redelivered += 1;
            return Ok(Outcome::Skipped);
        }
        *next = position.offset + 1;
        let Some(payload) = message.payload() else {
            let fault = FieldFault::new(SourceErrorKind::Missing, None);
            return self.bad(&position, fault, b"");
        };
        let key = match self.mapper.fill(payload, record) {
            Ok(key) => key,
            Err(fault) => return self.bad(&position, fault, payload),
        };
        if let Some((field, is_key)) = &self.dedup_field
            && let Some(id) = if *is_key {
                key.clone()
            } else {
                dedup_text(record.get(field.as_str()))
            }
            && !self.seen.insert(&id)
        {
            self.counts.duplicates += 1;
            return Ok(Outcome::Skipped);
        }
        let key = key
            .or_else(|| {
                message
                    .key()
                    .and_then(|k| std::str::from_utf8(k).ok())
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| position.to_string());
        record.id = RecordId::id(self.name.clone(), key);
        self.counts.records += 1;
        Ok(Outcome::Record)
    }

    fn bad(
        &mut self,
        position: &MessagePosition,
        fault: FieldFault,
        raw: &[u8],
    ) -> Result<Outcome, SourceError> {
        let at = Position::record(self.counts.messages);
        match self.on_bad_row {
            OnBadRow::Fail => {
                self.counts.rejected += 1;
                Err(fault
                    .into_error(self.name.clone(), at)
                    .with_cause(BadMessage(position.clone())))
            }
            OnBadRow::Quarantine => {
                self.counts.rejected += 1;
                self.rejects.push(Reject {
                    id: RecordId::id(self.name.clone(), position.to_string()),
                    position: at,
                    field: fault.column,
                    error: match fault.kind {
                        SourceErrorKind::Missing if raw.is_empty() => SourceErrorKind::Other {
                            message: "the message has no value (a tombstone)".to_owned(),
                        },
                        kind => kind,
                    },
                    raw: String::from_utf8_lossy(raw).into_owned(),
                });
                Ok(Outcome::Skipped)
            }
        }
    }
}

/// The cause of a bad message's error under [`OnBadRow::Fail`]: where the message is.
#[derive(Debug)]
struct BadMessage(MessagePosition);

impl std::fmt::Display for BadMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the message at {}", self.0)
    }
}

impl std::error::Error for BadMessage {}

fn dedup_text(value: Option<&Value>) -> Option<String> {
    value.and_then(mergetag_sources::key_text)
}

/// `events/0@42, events/1@17`.
fn describe(offsets: &[((String, i32), i64)]) -> String {
    offsets
        .iter()
        .map(|((t, p), o)| format!("{t}/{p}@{o}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a consumer error says the topics or the group cannot be read however long one
/// waits: a topic that does not exist (and is not created automatically) or is not
/// authorized, a group that is not authorized.
fn permanent(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownTopicOrPartition
                | RDKafkaErrorCode::UnknownTopic
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::GroupAuthorizationFailed
                | RDKafkaErrorCode::InvalidTopic
        )
    )
}

/// Whether a refused commit is worth retrying: the coordinator moving or loading, a timeout,
/// a lost connection.
fn retriable(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::CoordinatorLoadInProgress
                | RDKafkaErrorCode::CoordinatorNotAvailable
                | RDKafkaErrorCode::NotCoordinator
                | RDKafkaErrorCode::RequestTimedOut
                | RDKafkaErrorCode::NetworkException
                | RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
                | RDKafkaErrorCode::WaitingForCoordinator
                | RDKafkaErrorCode::RebalanceInProgress
        )
    )
}

impl Source for KafkaSource {
    fn name(&self) -> &SourceName {
        &self.st.name
    }

    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        if self.st.done {
            return Ok(false);
        }
        let mut idle_since = Instant::now();
        let mut failing: Option<(Instant, KafkaError)> = None;
        loop {
            if self
                .st
                .max_messages
                .is_some_and(|max| self.st.counts.messages >= max)
            {
                return self.end();
            }
            if self.st.stop_at_end && self.all_at_end() {
                return self.end();
            }
            if !self.st.joined
                && self
                    .consumer
                    .assignment()
                    .is_ok_and(|list| list.count() > 0)
            {
                self.st.joined = true;
                idle_since = Instant::now();
            }
            let timed_out = if self.st.joined {
                idle_since.elapsed() >= self.st.idle_timeout
            } else {
                Instant::now() >= self.st.join_deadline
            };
            if timed_out {
                // Errors since the last message: stalled if they say the topic or group
                // cannot be read, or if the brokers still cannot be reached; else the errors
                // have passed and the batch simply ends.
                if let Some((since, source)) = failing.take()
                    && (permanent(&source)
                        || self
                            .consumer
                            .fetch_metadata(None, Duration::from_secs(2))
                            .is_err())
                {
                    let e = Error::Stalled {
                        name: self.st.name.to_string(),
                        brokers: self.st.brokers.clone(),
                        topics: self.st.topics.join(", "),
                        after: self.st.after(),
                        waited_ms: u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                        source: Box::new(source),
                    };
                    return Err(self.st.fatal(e));
                }
                return self.end();
            }
            let polled = self.consumer.poll(Duration::from_millis(100));
            let eof = match polled {
                None => continue,
                Some(Ok(message)) => {
                    idle_since = Instant::now();
                    failing = None;
                    match self.st.handle(&message, record)? {
                        Outcome::Record => return Ok(true),
                        Outcome::Skipped => continue,
                    }
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => partition,
                Some(Err(source @ KafkaError::MessageConsumptionFatal(_))) => {
                    let e = Error::Fatal {
                        name: self.st.name.to_string(),
                        brokers: self.st.brokers.clone(),
                        topics: self.st.topics.join(", "),
                        after: self.st.after(),
                        source: Box::new(source),
                    };
                    return Err(self.st.fatal(e));
                }
                Some(Err(e)) => {
                    // librdkafka retries; the first error's time and the last error are kept.
                    self.st.counts.broker_errors += 1;
                    failing = Some((failing.map_or_else(Instant::now, |(since, _)| since), e));
                    continue;
                }
            };
            // A partition's end says nothing of the other partitions' brokers: the errors
            // stand until a message comes.
            self.mark_end(eof);
        }
    }

    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.st.rejects);
    }

    /// Commits as [`KafkaSource::commit`] does, unless the source was built with
    /// [`commit_on_ack(false)`](KafkaSourceBuilder::commit_on_ack) (then it does nothing).
    ///
    /// # Errors
    ///
    /// A fatal [`SourceError`] naming the source, whose
    /// [cause](std::error::Error::source) is the [`Error::Commit`]; the offsets stay
    /// pending, so a later call (or [`KafkaSource::commit`]) commits them.
    fn commit(&mut self) -> Result<(), SourceError> {
        if !self.st.commit_on_ack {
            return Ok(());
        }
        match KafkaSource::commit(self) {
            Ok(_) => Ok(()),
            Err(e) => Err(SourceError::new(
                self.st.name.clone(),
                Position::record(self.st.counts.messages),
                SourceErrorKind::Io {
                    message: e.to_string(),
                },
            )
            .with_cause(e)),
        }
    }

    fn counters(&self) -> BTreeMap<String, u64> {
        let c = self.st.counts;
        [
            ("messages", c.messages),
            ("records", c.records),
            ("rejected", c.rejected),
            ("redelivered", c.redelivered),
            ("duplicates", c.duplicates),
            ("broker_errors", c.broker_errors),
            ("commits", c.commits),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_worth_retrying_and_errors_that_last() {
        let commit = |code| KafkaError::ConsumerCommit(code);
        assert!(retriable(&commit(
            RDKafkaErrorCode::CoordinatorNotAvailable
        )));
        assert!(retriable(&commit(RDKafkaErrorCode::RequestTimedOut)));
        assert!(!retriable(&commit(RDKafkaErrorCode::UnknownMemberId)));
        assert!(!retriable(&commit(
            RDKafkaErrorCode::GroupAuthorizationFailed
        )));
        let consume = |code| KafkaError::MessageConsumption(code);
        assert!(permanent(&consume(
            RDKafkaErrorCode::UnknownTopicOrPartition
        )));
        assert!(!permanent(&consume(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(!permanent(&consume(RDKafkaErrorCode::AllBrokersDown)));
    }

    #[test]
    fn dedup_keys_and_offsets_are_shown_plainly() {
        assert_eq!(
            dedup_text(Some(&Value::from(" m1 "))).as_deref(),
            Some("m1")
        );
        assert_eq!(dedup_text(Some(&Value::Int(7))).as_deref(), Some("7"));
        assert_eq!(dedup_text(Some(&Value::from("  "))), None);
        assert_eq!(dedup_text(Some(&Value::Null)), None);
        assert_eq!(dedup_text(None), None);
        let offsets = [(("a".to_owned(), 0), 42), (("a".to_owned(), 1), 17)];
        assert_eq!(describe(&offsets), "a/0@42, a/1@17");
    }

    #[test]
    fn the_builder_refuses_what_it_owns_before_connecting() {
        let mut b = KafkaSource::builder();
        b.brokers("127.0.0.1:1").topic("t").group_id("g");
        for key in OWN_PROPERTIES {
            let mut b = b.clone();
            b.property(key, "x");
            let e = b.connect("x").unwrap_err();
            assert!(
                e.to_string().starts_with(&format!("properties.{key}: ")),
                "{e}"
            );
        }
        let e = b.connect(" ").unwrap_err();
        assert!(e.to_string().starts_with("name: "), "{e}");
    }
}
