//! mergetag-kafka against librdkafka's mock cluster: the real Kafka protocol on loopback
//! listeners, with consumer groups, offset commits and injected failures (a broker down,
//! requests refused, a consumer dropped before committing). Each test asserts that every good
//! message is applied exactly once, every bad one quarantined once, and the counts add up.

// The measured figures (timings, messages per second) are for the person running the tests.
#![allow(clippy::print_stderr)]

mod fuzz;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use mergetag_kafka::{AppliedOffsets, Error, KafkaSource, KafkaSourceBuilder, MessagePosition};
use mergetag_model::{OnBadRow, Record, Reject, Source, SourceErrorKind, fields};
use mergetag_sources::{ColumnMap, ColumnType};
use rdkafka::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, DefaultProducerContext, Producer};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

type Cluster = MockCluster<'static, DefaultProducerContext>;

/// A message to produce: its partition, key and value (`None`: a tombstone).
struct Msg {
    partition: i32,
    key: Option<String>,
    value: Option<Vec<u8>>,
}

fn cluster(brokers: i32, topic: &str, partitions: i32) -> Cluster {
    let cluster = MockCluster::new(brokers).expect("mock cluster");
    cluster
        .create_topic(topic, partitions, 1)
        .expect("topic created");
    cluster
}

fn produce(bootstrap: &str, topic: &str, messages: &[Msg]) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    for m in messages {
        let mut r: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).partition(m.partition);
        if let Some(k) = &m.key {
            r = r.key(k.as_str());
        }
        if let Some(v) = &m.value {
            r = r.payload(v.as_slice());
        }
        producer.send(r).map_err(|(e, _)| e).expect("queued");
        producer.poll(Duration::ZERO);
    }
    producer.flush(Duration::from_secs(10)).expect("flushed");
}

/// A good identify-like event: `messageId` is its identity and the record key.
fn event(i: usize) -> Vec<u8> {
    format!(
        r#"{{"messageId":"m{i}","userId":"u{}","traits":{{"email":"person{i}@example.com","age":{}}}}}"#,
        i % 17,
        20 + i % 50
    )
    .into_bytes()
}

fn good(n: usize, partitions: i32) -> Vec<Msg> {
    (0..n)
        .map(|i| Msg {
            partition: (i % partitions as usize) as i32,
            key: Some(format!("u{}", i % 17)),
            value: Some(event(i)),
        })
        .collect()
}

fn map() -> ColumnMap {
    ColumnMap::new()
        .with_key("messageId")
        .with_column("traits.email", fields::EMAIL)
        .with_typed_column("traits.age", "age", ColumnType::Int)
}

fn builder(bootstrap: &str, topic: &str, group: &str) -> KafkaSourceBuilder {
    let mut b = KafkaSource::builder();
    b.brokers(bootstrap)
        .topic(topic)
        .group_id(group)
        .column_map(map())
        .dedup_field("messageId")
        .idle_timeout(Duration::from_secs(10))
        .property("session.timeout.ms", "6000")
        .property("heartbeat.interval.ms", "500");
    b
}

/// The downstream store: records by key and the offsets applied, updated together, so that
/// applying is idempotent; and how often each key was applied (must end at 1).
#[derive(Default)]
struct Store {
    records: HashMap<String, Record>,
    applied: AppliedOffsets,
    applications: BTreeMap<String, u32>,
    quarantine: BTreeMap<String, u32>,
    skipped: u64,
}

impl Store {
    fn apply(&mut self, record: &Record, at: &MessagePosition) {
        if self.applied.is_applied(at) {
            self.skipped += 1;
            return;
        }
        self.applied.mark(at);
        let key = record.id.to_string();
        *self.applications.entry(key.clone()).or_default() += 1;
        self.records.insert(key, record.clone());
    }

    fn quarantine(&mut self, rejects: Vec<Reject>) {
        for r in rejects {
            // A reject's key is its position: `events:t/0@41`.
            let key = r.id.to_string();
            let (_, at) = key.split_once(':').expect("source:key");
            let at: MessagePosition = at.parse().expect("a reject's key is its position");
            if self.applied.is_applied(&at) {
                self.skipped += 1;
                continue;
            }
            self.applied.mark(&at);
            *self.quarantine.entry(at.to_string()).or_default() += 1;
        }
    }
}

/// Reads `source` to its end (or `limit` records), applying into `store`, committing every
/// `commit_every` records (and rejects before); returns the records read.
fn drain(source: &mut KafkaSource, store: &mut Store, limit: usize, commit_every: usize) -> usize {
    let mut record = Record::default();
    let mut n = 0;
    while n < limit && source.read_record(&mut record).expect("read") {
        let at = source.last_position().cloned().unwrap();
        store.apply(&record, &at);
        n += 1;
        if commit_every > 0 && n % commit_every == 0 {
            let mut rejects = Vec::new();
            source.drain_rejects(&mut rejects);
            store.quarantine(rejects);
            source.commit().expect("commit");
        }
    }
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    store.quarantine(rejects);
    n
}

fn assert_exactly_once(store: &Store, n: usize) {
    assert_eq!(store.applications.len(), n, "every good message applied");
    let twice: Vec<_> = store
        .applications
        .iter()
        .filter(|(_, c)| **c != 1)
        .collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    for i in 0..n {
        assert!(
            store.records.contains_key(&format!("events:m{i}")),
            "m{i} lost"
        );
    }
}

#[test]
fn reads_maps_quarantines_and_commits() {
    let topic = "identifies";
    let cluster = cluster(1, topic, 3);
    let bootstrap = cluster.bootstrap_servers();
    let mut messages = good(90, 3);
    // A producer's retries: the same events again, at later offsets.
    for i in [3, 10, 44, 45, 89] {
        messages.push(Msg {
            partition: (i % 3) as i32,
            key: Some(format!("u{}", i % 17)),
            value: Some(event(i)),
        });
    }
    // Bad messages, one of each kind.
    let bad: Vec<(Option<&[u8]>, &str)> = vec![
        (Some(b"not json at all".as_slice()), "syntax"),
        (Some(b"[1, 2, 3]".as_slice()), "syntax"),
        (None, "other"), // a tombstone
        (
            Some(b"{\"messageId\": \"x\xff\"}".as_slice()),
            "invalid_utf8",
        ),
        (
            Some(
                br#"{"messageId":"bad-age","traits":{"email":"secret@example.com","age":"old"}}"#
                    .as_slice(),
            ),
            "invalid_value",
        ),
    ];
    for (i, (value, _)) in bad.iter().enumerate() {
        messages.push(Msg {
            partition: (i % 3) as i32,
            key: None,
            value: value.map(<[u8]>::to_vec),
        });
    }
    produce(&bootstrap, topic, &messages);

    let started = Instant::now();
    let mut source = builder(&bootstrap, topic, "g1").connect("events").unwrap();
    let mut store = Store::default();
    let read = drain(&mut source, &mut store, usize::MAX, 0);
    let elapsed = started.elapsed();
    assert_eq!(read, 90);
    assert_exactly_once(&store, 90);
    let r = store.records.get("events:m7").unwrap();
    assert_eq!(r.text(fields::EMAIL), Some("person7@example.com"));
    assert_eq!(r.get("age").and_then(|v| v.as_int()), Some(27));
    assert_eq!(
        r.text("userId"),
        Some("u7"),
        "unmapped keys kept, as in JSON Lines"
    );

    // Every bad message quarantined once, keyed by its position, with its kind.
    assert_eq!(store.quarantine.len(), 5, "{:?}", store.quarantine);
    assert!(store.quarantine.values().all(|c| *c == 1));
    let counters = source.counters();
    assert_eq!(counters["messages"], 100);
    assert_eq!(counters["records"], 90);
    assert_eq!(counters["rejected"], 5);
    assert_eq!(counters["duplicates"], 5);
    assert_eq!(counters["redelivered"], 0);
    assert_eq!(
        counters["messages"],
        counters["records"]
            + counters["rejected"]
            + counters["duplicates"]
            + counters["redelivered"],
        "in = accepted + quarantined + skipped"
    );

    // Commit: the next consumer of the group starts after everything, and ends at once.
    assert_eq!(source.commit().unwrap(), 3);
    assert_eq!(source.commit().unwrap(), 0, "nothing new to commit");
    drop(source);
    let started = Instant::now();
    let mut again = builder(&bootstrap, topic, "g1").connect("events").unwrap();
    let mut record = Record::default();
    assert!(!again.read_record(&mut record).unwrap());
    eprintln!("an empty batch ended in {:?}", started.elapsed());
    assert_eq!(again.counters()["messages"], 0);
    eprintln!(
        "read 100 messages in {elapsed:?} (group join included): {:.0} messages/s",
        100.0 / elapsed.as_secs_f64()
    );
}

#[test]
fn bad_messages_are_rejects_with_positions_and_never_echo_values() {
    let topic = "t";
    let cluster = cluster(1, topic, 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(
        &bootstrap,
        topic,
        &[
            Msg {
                partition: 0,
                key: None,
                value: Some(event(0)),
            },
            Msg {
                partition: 0,
                key: None,
                value: Some(
                    br#"{"messageId":"m1","traits":{"email":"secret@example.com","age":"old"}}"#
                        .to_vec(),
                ),
            },
            Msg {
                partition: 0,
                key: None,
                value: None,
            },
            Msg {
                partition: 0,
                key: Some("k9".into()),
                value: Some(br#"{"traits":{"age":3}}"#.to_vec()),
            },
        ],
    );
    let mut source = builder(&bootstrap, topic, "g").connect("events").unwrap();
    let records: Vec<Record> = source.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].id.to_string(), "events:m0");
    assert_eq!(
        records[1].id.to_string(),
        "events:k9",
        "no key field: the message key"
    );
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    assert_eq!(rejects.len(), 2);
    assert_eq!(rejects[0].id.to_string(), "events:t/0@1");
    assert_eq!(
        rejects[0].field.as_ref().map(|f| f.as_str()),
        Some("traits.age")
    );
    assert_eq!(
        rejects[0].error,
        SourceErrorKind::InvalidValue {
            expected: "int".into()
        }
    );
    assert!(
        rejects[0].raw.contains("secret@example.com"),
        "raw text for the quarantine"
    );
    let shown = rejects[0].to_error().to_string();
    assert!(
        !shown.contains("secret") && !shown.contains("old"),
        "{shown}"
    );
    assert_eq!(rejects[1].id.to_string(), "events:t/0@2");
    assert!(rejects[1].to_error().to_string().contains("tombstone"));

    // Under `fail`, a bad message is a recoverable error naming its position; reading goes on.
    let mut b = builder(&bootstrap, topic, "g-fail");
    b.on_bad_row(OnBadRow::Fail);
    let mut source = b.connect("events").unwrap();
    let items: Vec<_> = source.records().collect();
    assert_eq!(items.len(), 4);
    let e = items[1].as_ref().unwrap_err();
    assert!(e.is_recoverable());
    assert_eq!(
        std::error::Error::source(e).unwrap().to_string(),
        "the message at t/0@1"
    );
    assert!(items[3].is_ok());
}

#[test]
fn a_consumer_dropped_before_commit_leaves_its_messages_to_the_next() {
    let topic = "t";
    let cluster = cluster(1, topic, 2);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(200, 2));
    let mut store = Store::default();

    // The first consumer applies 130, commits after each 40, and crashes (is dropped) with
    // 10 applied but not committed.
    let mut first = builder(&bootstrap, topic, "g").connect("events").unwrap();
    assert_eq!(drain(&mut first, &mut store, 130, 40), 130);
    let pending = first.pending_offsets();
    assert!(!pending.is_empty(), "some offsets were not committed");
    drop(first);

    // The next consumer of the group gets them again: the store skips the applied ones.
    let mut second = builder(&bootstrap, topic, "g").connect("events").unwrap();
    let read = drain(&mut second, &mut store, usize::MAX, 0);
    second.commit().unwrap();
    assert_eq!(read, 70 + 10, "the uncommitted 10 come again");
    assert_eq!(store.skipped, 10, "and are not applied twice");
    assert_exactly_once(&store, 200);
}

#[test]
fn request_errors_on_fetch_and_commit_are_retried() {
    let topic = "t";
    let cluster = cluster(1, topic, 2);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(120, 2));
    let mut store = Store::default();

    cluster.request_errors(
        RDKafkaApiKey::Fetch,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        ],
    );
    // librdkafka takes seconds to find a coordinator again, during which the group sees no
    // heartbeat: a session timeout of seconds would evict the member. Kafka's default (45 s).
    let mut b = builder(&bootstrap, topic, "g");
    b.property("session.timeout.ms", "45000")
        .commit_timeout(Duration::from_secs(30));
    let mut source = b.connect("events").unwrap();
    assert_eq!(drain(&mut source, &mut store, 60, 0), 60);
    cluster.request_errors(
        RDKafkaApiKey::OffsetCommit,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        ],
    );
    let started = Instant::now();
    assert_eq!(
        source
            .commit()
            .expect("the commit is retried past the refusals"),
        1
    );
    eprintln!("commit through refusals in {:?}", started.elapsed());
    // The rest with the same member (a member dropped without leaving holds its partitions
    // for the session timeout: the crash test uses a short one).
    assert_eq!(drain(&mut source, &mut store, usize::MAX, 0), 60);
    source.commit().unwrap();
    assert!(source.pending_offsets().is_empty());
    assert_eq!(store.skipped, 0);
    assert!(
        source.counters()["broker_errors"] > 0,
        "the refusals were seen"
    );
    assert_exactly_once(&store, 120);
}

#[test]
fn a_broker_down_then_up_loses_nothing() {
    let topic = "t";
    let cluster = cluster(3, topic, 6);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(300, 6));

    // The consumer runs in its own thread (the cluster handle stays in this one), slowly, so
    // that the broker goes down in the middle of the batch.
    let consumer = std::thread::spawn({
        let bootstrap = bootstrap.clone();
        move || {
            let mut b = builder(&bootstrap, topic, "g");
            b.idle_timeout(Duration::from_secs(15));
            let mut source = b.connect("events").unwrap();
            let mut store = Store::default();
            let mut record = Record::default();
            let mut failed_commits = 0;
            let mut n = 0;
            while source.read_record(&mut record).expect("read") {
                let at = source.last_position().cloned().unwrap();
                store.apply(&record, &at);
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
                if n % 25 == 0 && source.commit().is_err() {
                    failed_commits += 1; // redelivered later if it never succeeds
                }
            }
            let commit = source.commit();
            (
                store,
                source.counters(),
                failed_commits,
                commit.map_err(|e| e.to_string()),
            )
        }
    });
    std::thread::sleep(Duration::from_millis(400));
    cluster.broker_down(2).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    cluster.broker_up(2).unwrap();
    let (store, counters, failed_commits, commit) = consumer.join().unwrap();
    commit.expect("the final commit");
    assert_exactly_once(&store, 300);
    eprintln!("broker down: {counters:?}, {failed_commits} commits refused");

    // Everything was committed: the group has nothing more to read.
    let mut after = builder(&bootstrap, topic, "g").connect("events").unwrap();
    let mut record = Record::default();
    assert!(!after.read_record(&mut record).unwrap());
}

#[test]
fn brokers_that_stay_down_are_a_typed_error_naming_them() {
    let topic = "t";
    let cluster = cluster(1, topic, 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(5, 1));
    let mut b = builder(&bootstrap, topic, "g");
    b.idle_timeout(Duration::from_secs(2));
    let mut source = b.connect("events").unwrap();
    let mut record = Record::default();
    assert!(source.read_record(&mut record).unwrap());
    cluster.broker_down(1).unwrap();
    let started = Instant::now();
    let e = loop {
        match source.read_record(&mut record) {
            Ok(true) => continue, // already fetched before the broker went down
            Ok(false) => panic!("the batch ended quietly with the broker down"),
            Err(e) => break e,
        }
    };
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(!e.is_recoverable());
    let cause = std::error::Error::source(&e)
        .and_then(|c| c.downcast_ref::<Error>())
        .expect("the cause is the crate's error");
    assert!(matches!(cause, Error::Stalled { .. }), "{cause}");
    let text = cause.to_string();
    assert!(
        text.contains(&bootstrap) && text.contains("topics t"),
        "{text}"
    );
    assert!(text.contains("after t/0@"), "{text}");
    let mut record = Record::default();
    assert!(
        !source.read_record(&mut record).unwrap(),
        "over after a fatal error"
    );
}

#[test]
fn max_messages_ends_a_batch_and_the_next_goes_on() {
    let topic = "t";
    let cluster = cluster(1, topic, 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(50, 1));
    let mut store = Store::default();
    for expected in [20, 20, 10, 0] {
        let mut b = builder(&bootstrap, topic, "g");
        b.max_messages(20);
        let mut source = b.connect("events").unwrap();
        assert_eq!(drain(&mut source, &mut store, usize::MAX, 0), expected);
        source.commit().unwrap();
    }
    assert_exactly_once(&store, 50);
}

#[test]
fn configuration_errors_name_the_key() {
    let e = KafkaSource::builder()
        .topic("t")
        .group_id("g")
        .connect("x")
        .unwrap_err();
    assert!(e.to_string().starts_with("brokers: "), "{e}");
    let e = KafkaSource::builder()
        .brokers("127.0.0.1:1")
        .group_id("g")
        .connect("x")
        .unwrap_err();
    assert!(e.to_string().starts_with("topics: "), "{e}");
    let e = KafkaSource::builder()
        .brokers("127.0.0.1:1")
        .topic("t")
        .connect("x")
        .unwrap_err();
    assert!(e.to_string().starts_with("group_id: "), "{e}");
    let e = KafkaSource::builder()
        .brokers("127.0.0.1:1")
        .topic("t")
        .group_id("g")
        .property("enable.auto.commit", "true")
        .connect("x")
        .unwrap_err();
    assert!(
        e.to_string().starts_with("properties.enable.auto.commit: "),
        "{e}"
    );
    let e = KafkaSource::builder()
        .brokers("127.0.0.1:1")
        .topic("t")
        .group_id("g")
        .property("no.such.property", "1")
        .connect("x")
        .unwrap_err();
    assert!(matches!(e, Error::Start { .. }), "{e}");
}

#[test]
fn a_pipeline_file_source_opens_and_reads() {
    let topic = "t";
    let cluster = cluster(1, topic, 1);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(12, 1));
    let config = mergetag_sources::SourceConfig::from_toml_str(&format!(
        r#"
        name = "events"
        kind = "kafka"
        key = "messageId"
        [columns]
        "traits.email" = "email"
        [settings]
        brokers = "{bootstrap}"
        topic = "{topic}"
        group_id = "pipeline"
        max_messages = 10
        commit = "after_outputs"
        [settings.properties]
        "session.timeout.ms" = "6000"
        "#
    ))
    .unwrap();
    let mut source = mergetag_kafka::open(&config, ".").unwrap();
    let records: Vec<Record> = source.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(records[0].text(fields::EMAIL), Some("person0@example.com"));
    assert_eq!(
        source.counters()["commits"],
        0,
        "the end of a batch commits nothing"
    );
    drop(source);
    // Not acknowledged: the next run reads the same ten, and acknowledges them.
    let mut source = mergetag_kafka::open(&config, ".").unwrap();
    assert_eq!(source.records().count(), 10);
    Source::commit(&mut source).unwrap();
    Source::commit(&mut source).unwrap(); // nothing new: harmless
    assert_eq!(source.counters()["commits"], 1);
    drop(source);
    // Acknowledged: the next run goes on after the ten.
    let mut source = mergetag_kafka::open(&config, ".").unwrap();
    let ids: Vec<String> = source
        .records()
        .map(|r| r.unwrap().id.to_string())
        .collect();
    assert_eq!(ids, ["events:m10", "events:m11"]);
    drop(source);

    // `commit = "never"` (the default): acknowledging does nothing.
    let mut never = config.clone();
    never.settings.remove("commit");
    never
        .settings
        .insert("group_id".into(), serde_json::json!("pipeline-never"));
    let mut source = mergetag_kafka::open(&never, ".").unwrap();
    assert_eq!(source.records().count(), 10);
    Source::commit(&mut source).unwrap();
    assert_eq!(source.counters()["commits"], 0);
    assert_eq!(source.pending_offsets().len(), 1, "still pending");

    let mut bad = config.clone();
    bad.settings
        .insert("properties".into(), serde_json::json!({"group.id": "x"}));
    let e = mergetag_kafka::open(&bad, ".").unwrap_err();
    assert!(
        e.to_string().starts_with("settings.properties.group.id: "),
        "{e}"
    );
}

/// Replays the inputs kept in `tests/fuzz/kafka_settings/` (seeds, and crashes the fuzzer
/// found once fixed) through the fuzz target's checks.
#[test]
fn fuzz_kafka_settings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/kafka_settings");
    mergetag_testkit::replay_fuzz_inputs(dir, fuzz::kafka_settings);
}

/// Reads what the group has not committed yet into `store`, and commits it.
fn sweep(bootstrap: &str, topic: &str, group: &str, store: &mut Store) -> usize {
    let mut b = builder(bootstrap, topic, group);
    b.idle_timeout(Duration::from_secs(3));
    let mut source = b.connect("events").unwrap();
    let n = drain(&mut source, store, usize::MAX, 0);
    source.commit().unwrap();
    n
}

#[test]
fn a_rebalance_mid_batch_keeps_every_message_once() {
    let topic = "t";
    let cluster = cluster(1, topic, 4);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(400, 4));
    let store = std::sync::Arc::new(std::sync::Mutex::new(Store::default()));

    // Two members of one group: the second joins while the first is reading, so the first
    // loses partitions (and maybe commits) in the middle of its batch.
    let member = |delay: u64| {
        let bootstrap = bootstrap.clone();
        let store = store.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay));
            let mut b = builder(&bootstrap, topic, "g");
            b.idle_timeout(Duration::from_secs(4));
            let mut source = b.connect("events").unwrap();
            let mut record = Record::default();
            let mut n = 0;
            let mut refused = 0;
            while source.read_record(&mut record).expect("read") {
                let at = source.last_position().cloned().unwrap();
                store.lock().unwrap().apply(&record, &at);
                n += 1;
                std::thread::sleep(Duration::from_millis(4));
                if n % 20 == 0 && source.commit().is_err() {
                    refused += 1;
                }
            }
            if source.commit().is_err() {
                refused += 1;
            }
            (n, refused, source.counters())
        })
    };
    let first = member(0);
    let second = member(1500);
    let (n1, r1, c1) = first.join().unwrap();
    let (n2, r2, c2) = second.join().unwrap();
    let mut store = std::sync::Arc::try_unwrap(store)
        .ok()
        .unwrap()
        .into_inner()
        .unwrap();
    let n3 = sweep(&bootstrap, topic, "g", &mut store);
    eprintln!(
        "rebalance: members read {n1} and {n2} (commits refused {r1}, {r2}; {c1:?} {c2:?}), the sweep {n3}"
    );
    assert!(n1 > 0 && n2 > 0, "both members got partitions");
    assert_eq!(n1 + n2 + n3, 400 + store.skipped as usize);
    assert_exactly_once(&store, 400);
}

#[test]
fn fetches_refused_as_unknown_partitions_force_rejoins_and_lose_nothing() {
    let topic = "t";
    let cluster = cluster(1, topic, 2);
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, topic, &good(150, 2));
    cluster.request_errors(
        RDKafkaApiKey::Fetch,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        ],
    );
    let mut store = Store::default();
    let mut source = builder(&bootstrap, topic, "g").connect("events").unwrap();
    let mut record = Record::default();
    let mut n = 0;
    while source.read_record(&mut record).expect("read") {
        store.apply(&record, &source.last_position().cloned().unwrap());
        n += 1;
        if n % 30 == 0 {
            let _ = source.commit(); // may be refused while the group rejoins
        }
    }
    let _ = source.commit();
    drop(source);
    let swept = sweep(&bootstrap, topic, "g", &mut store);
    assert_eq!(n + swept, 150 + store.skipped as usize);
    assert_exactly_once(&store, 150);
}

#[test]
fn throughput_of_a_batch() {
    let topic = "t";
    let cluster = cluster(1, topic, 4);
    let bootstrap = cluster.bootstrap_servers();
    let n = 20_000;
    produce(&bootstrap, topic, &good(n, 4));
    let mut source = builder(&bootstrap, topic, "g").connect("events").unwrap();
    let mut record = Record::default();
    assert!(source.read_record(&mut record).unwrap(), "the group joined");
    let started = Instant::now();
    let mut count = 1;
    while source.read_record(&mut record).unwrap() {
        count += 1;
    }
    let elapsed = started.elapsed();
    source.commit().unwrap();
    assert_eq!(count, n);
    eprintln!(
        "consumed and mapped {} messages in {elapsed:?} after the group joined: {:.0} messages/s (unoptimised build)",
        n - 1,
        (n - 1) as f64 / elapsed.as_secs_f64()
    );
}

#[test]
fn a_topic_that_does_not_exist_is_a_typed_error() {
    let cluster = cluster(1, "t", 1);
    let bootstrap = cluster.bootstrap_servers();
    let mut b = builder(&bootstrap, "no-such-topic", "g");
    b.join_timeout(Duration::from_secs(3))
        .idle_timeout(Duration::from_secs(3))
        .property("allow.auto.create.topics", "false");
    let mut source = b.connect("events").unwrap();
    let mut record = Record::default();
    let started = Instant::now();
    let e = source.read_record(&mut record).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    let cause = std::error::Error::source(&e)
        .and_then(|c| c.downcast_ref::<Error>())
        .expect("the cause is the crate's error");
    assert!(matches!(cause, Error::Stalled { .. }), "{cause}");
    assert!(
        cause
            .to_string()
            .contains("topics no-such-topic before the first message"),
        "{cause}"
    );
}
