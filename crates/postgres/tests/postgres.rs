//! mergetag-postgres against a real PostgreSQL server, started by the tests
//! ([`PgServer`]); skipped, loudly, only when the PostgreSQL binaries are absent.

mod fuzz;

use std::collections::BTreeMap;
use std::time::Instant;

use mergetag_dedup::DedupConfig;
use mergetag_dedup::index::MatchIndex;
use mergetag_dedup::survivorship::SurvivorshipConfig;
use mergetag_model::{OnBadRow, Record, RecordId, Reject, Source, Value, fields};
use mergetag_postgres::{PostgresSettings, PostgresSink, PostgresSource};
use mergetag_sources::{ColumnMap, ColumnType, SourceConfig};
use mergetag_testkit::postgres::PgServer;

const CONTACTS: &str = "
    CREATE TYPE tier AS ENUM ('bronze', 'gold');
    CREATE TABLE contacts (
        id bigint PRIMARY KEY,
        first_name text,
        email varchar(200),
        opted_out boolean,
        visits int4,
        ltv numeric(12, 2),
        score float8,
        born date,
        updated_at timestamptz NOT NULL,
        seen timestamp,
        ext uuid,
        extra jsonb,
        tags text[],
        tier tier,
        photo bytea
    );
    INSERT INTO contacts VALUES
      (1, 'Ada', 'ada@example.com', false, 3, 1234.50, 0.5, '1815-12-10',
       '2026-01-01T10:00:00Z', '2026-01-01 09:00:00', '00010203-0405-0607-0809-0a0b0c0d0e0f',
       '{\"address\": {\"city\": \"London\"}, \"vip\": true}', ARRAY['a', 'b'], 'gold', NULL),
      (2, 'Grace', NULL, true, NULL, 12, NULL, NULL,
       '2026-01-02T10:00:00Z', NULL, NULL, NULL, NULL, NULL, '\\x00ff');
";

fn contacts_map() -> ColumnMap {
    ColumnMap::new()
        .with_key("id")
        .with_column("first_name", fields::FIRST_NAME)
        .with_column("email", fields::EMAIL)
        .with_typed_column("opted_out", fields::EMAIL_OPT_OUT, ColumnType::Bool)
        .with_typed_column("ltv", fields::CUSTOMER_LIFETIME_VALUE, ColumnType::Float)
        .with_typed_column("updated_at", "updated_at", ColumnType::Timestamp)
        .with_observed_at("updated_at")
}

fn read_all(source: &mut PostgresSource) -> (Vec<Record>, Vec<Reject>) {
    let records: Vec<Record> = source.records().map(Result::unwrap).collect();
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    (records, rejects)
}

#[test]
fn typed_columns_become_values_and_unconvertible_rows_are_quarantined_with_their_key() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("typed");
    pg.psql("typed", CONTACTS);

    let mut source = PostgresSource::builder()
        .table("public.contacts")
        .column_map(contacts_map())
        .batch_rows(1)
        .connect("crm", &url)
        .unwrap();
    assert_eq!(source.columns().len(), 15);
    let (records, rejects) = read_all(&mut source);
    assert_eq!(records.len(), 1, "{records:?}");
    let ada = &records[0];
    assert_eq!(ada.id, RecordId::id("crm", "1"));
    assert_eq!(ada.text(fields::FIRST_NAME), Some("Ada"));
    assert_eq!(ada.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(false)));
    assert_eq!(ada.get("visits"), Some(&Value::Int(3)));
    assert_eq!(
        ada.get(fields::CUSTOMER_LIFETIME_VALUE),
        Some(&Value::Float(1234.5))
    );
    assert_eq!(ada.get("score"), Some(&Value::Float(0.5)));
    assert_eq!(
        ada.get("born"),
        Some(&Value::Date("1815-12-10".parse().unwrap()))
    );
    let at: chrono::DateTime<chrono::Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
    assert_eq!(ada.observed_at, Some(at));
    assert_eq!(
        ada.get("seen"),
        Some(&Value::DateTime("2026-01-01T09:00:00Z".parse().unwrap()))
    );
    assert_eq!(
        ada.text("ext"),
        Some("00010203-0405-0607-0809-0a0b0c0d0e0f")
    );
    assert_eq!(ada.text("extra.address.city"), Some("London"));
    assert_eq!(ada.get("extra.vip"), Some(&Value::Bool(true)));
    assert_eq!(
        ada.get("tags"),
        Some(&Value::List(vec![Value::from("a"), Value::from("b")]))
    );
    assert_eq!(ada.text("tier"), Some("gold"));
    assert_eq!(ada.get("photo"), Some(&Value::Null));

    // Grace has a bytea photo: no conversion, so her row is set aside with its key.
    assert_eq!(rejects.len(), 1);
    let r = &rejects[0];
    assert_eq!(r.id, RecordId::id("crm", "2"));
    assert_eq!(r.field.as_ref().map(|f| f.as_str()), Some("photo"));
    let message = r.to_error().to_string();
    assert!(message.contains("column type `bytea`"), "{message}");
    assert!(!message.contains("Grace"), "{message}");

    // Ignoring the column lets the row through.
    let mut source = PostgresSource::builder()
        .table("contacts")
        .column_map(contacts_map().ignore("photo"))
        .connect("crm", &url)
        .unwrap();
    let (records, rejects) = read_all(&mut source);
    assert_eq!((records.len(), rejects.len()), (2, 0));
    assert_eq!(
        records[1].get(fields::CUSTOMER_LIFETIME_VALUE),
        Some(&Value::Float(12.0))
    );

    // A value the map cannot convert (text in a column typed int) is quarantined too, or
    // under `fail` a recoverable error naming the column, never the value.
    let map = ColumnMap::new()
        .with_key("id")
        .with_typed_column("first_name", "n", ColumnType::Int)
        .ignore("photo");
    let mut source = PostgresSource::builder()
        .query("SELECT id, first_name, photo FROM contacts")
        .column_map(map.clone())
        .connect("crm", &url)
        .unwrap();
    let (records, rejects) = read_all(&mut source);
    assert_eq!((records.len(), rejects.len()), (0, 2));
    assert_eq!(rejects[1].id, RecordId::id("crm", "2"));
    let mut source = PostgresSource::builder()
        .query("SELECT id, first_name FROM contacts")
        .column_map(map)
        .on_bad_row(OnBadRow::Fail)
        .connect("crm", &url)
        .unwrap();
    let items: Vec<_> = source.records().collect();
    assert_eq!(items.len(), 2);
    let e = items[0].as_ref().unwrap_err();
    assert!(e.is_recoverable());
    assert_eq!(
        e.to_string(),
        "crm: record 1, field `first_name`: value is not a valid int"
    );
}

#[test]
fn incremental_reads_from_a_watermark_kept_by_the_caller_or_in_a_state_table() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("incremental");
    pg.psql(
        "incremental",
        "CREATE TABLE people (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL);
         INSERT INTO people SELECT i, 'p' || i, '2026-01-01'::timestamptz + i * interval '1 minute'
           FROM generate_series(1, 50) AS i;",
    );
    let ids = |records: &[Record]| -> Vec<String> {
        records.iter().map(|r| r.id.key.to_string()).collect()
    };
    let open = |since: Option<Value>, state: bool| {
        let mut b = PostgresSource::builder();
        b.table("people")
            .column_map(ColumnMap::new().with_key("id"))
            .watermark("updated_at")
            .batch_rows(7);
        if let Some(v) = since {
            b.since(v);
        }
        if state {
            b.state_table("mergetag_state");
        }
        b.connect("people", &url).unwrap()
    };

    // Caller-kept: read everything, keep the watermark, read again: nothing new.
    let mut s = open(None, false);
    let (all, _) = read_all(&mut s);
    assert_eq!(all.len(), 50);
    let mark = s.watermark().cloned().unwrap();
    assert_eq!(
        mark,
        Value::DateTime("2026-01-01T00:50:00Z".parse().unwrap())
    );
    let (none, _) = read_all(&mut open(Some(mark.clone()), false));
    assert!(none.is_empty());
    pg.psql(
        "incremental",
        "UPDATE people SET name = 'changed', updated_at = '2026-02-01' WHERE id IN (3, 40);
         INSERT INTO people VALUES (51, 'new', '2026-02-02');",
    );
    let (changed, _) = read_all(&mut open(Some(mark), false));
    assert_eq!(ids(&changed), ["3", "40", "51"]);

    // A state table: the first run reads all and saves; the next only what changed since.
    let (first, _) = read_all(&mut open(None, true));
    assert_eq!(first.len(), 51);
    pg.psql(
        "incremental",
        "UPDATE people SET updated_at = '2026-03-01' WHERE id = 7;",
    );
    let (second, _) = read_all(&mut open(None, true));
    assert_eq!(ids(&second), ["7"]);
    let (third, _) = read_all(&mut open(None, true));
    assert!(third.is_empty());
    let saved = pg.psql(
        "incremental",
        "SELECT watermark FROM mergetag_state WHERE source = 'people'",
    );
    assert!(saved.contains("2026-03-01T00:00:00Z"), "{saved}");

    // The same from a pipeline-style configuration, with `since` as text.
    let config = SourceConfig::from_toml_str(&format!(
        "name = \"people\"\nkind = \"postgres\"\nkey = \"id\"\n[settings]\nurl = \"{url}\"\n\
         table = \"people\"\nwatermark = \"updated_at\"\nsince = \"2026-01-31T00:00:00Z\"\n"
    ))
    .unwrap();
    assert!(PostgresSettings::from_source_config(&config).is_ok());
    let mut s = mergetag_postgres::open(&config, ".").unwrap();
    let (recent, _) = read_all(&mut s);
    assert_eq!(ids(&recent), ["3", "40", "51", "7"]);
}

#[test]
fn a_lost_connection_is_an_error_naming_the_table_and_the_last_key() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("lost");
    pg.psql(
        "lost",
        "CREATE TABLE big (id int PRIMARY KEY, name text);
         INSERT INTO big SELECT i, 'n' || i FROM generate_series(1, 10000) AS i;",
    );
    let mut source = PostgresSource::builder()
        .query("SELECT * FROM big ORDER BY id")
        .column_map(ColumnMap::new().with_key("id"))
        .batch_rows(100)
        .connect("big", &url)
        .unwrap();
    let mut record = Record::default();
    for _ in 0..150 {
        assert!(source.read_record(&mut record).unwrap());
    }
    let killed = pg.psql(
        "lost",
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = 'lost' AND pid <> pg_backend_pid()",
    );
    assert_eq!(killed, "1");
    let mut n = 150;
    let err = loop {
        match source.read_record(&mut record) {
            Ok(true) => n += 1,
            Ok(false) => panic!("the read ended instead of failing"),
            Err(e) => break e,
        }
    };
    assert_eq!(n, 200, "the rows already fetched are read first");
    assert!(!err.is_recoverable());
    let message = err.to_string();
    assert_eq!(
        message,
        "big: record 201: i/o error: reading the query failed after key `200`: the connection was lost"
    );
    assert!(
        !source.read_record(&mut record).unwrap(),
        "nothing after a fatal error"
    );

    // The same for a table, and when the whole server stops.
    let solo = PgServer::start().unwrap();
    let url = solo.create_database("stopped");
    solo.psql(
        "stopped",
        "CREATE TABLE contacts (id int PRIMARY KEY);
         INSERT INTO contacts SELECT generate_series(1, 500);",
    );
    let mut source = PostgresSource::builder()
        .table("contacts")
        .column_map(ColumnMap::new().with_key("id"))
        .batch_rows(50)
        .connect("crm", &url)
        .unwrap();
    assert!(source.read_record(&mut record).unwrap());
    solo.stop();
    let err = source.records().find_map(Result::err).unwrap();
    let message = err.to_string();
    assert!(
        message.starts_with(
            "crm: record 51: i/o error: reading table `contacts` failed after key `50`"
        ),
        "{message}"
    );
}

#[test]
#[allow(clippy::print_stderr)] // the measured figures are for the person running the tests
fn streams_a_large_table_in_bounded_batches() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("stream");
    let rows = 200_000;
    pg.psql(
        "stream",
        &format!(
            "CREATE TABLE contacts (id bigint PRIMARY KEY, first_name text, email text, \
               opted_out bool, updated_at timestamptz);
             INSERT INTO contacts SELECT i, 'name' || i, 'user' || i || '@example.com', i % 7 = 0, \
               '2026-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, {rows}) AS i;"
        ),
    );
    let mut source = PostgresSource::builder()
        .table("contacts")
        .column_map(contacts_map())
        .batch_rows(2000)
        .connect("crm", &url)
        .unwrap();
    let start = Instant::now();
    let mut record = Record::default();
    let mut n = 0u64;
    let mut opted_out = 0u64;
    while source.read_record(&mut record).unwrap() {
        n += 1;
        if record.get(fields::EMAIL_OPT_OUT) == Some(&Value::Bool(true)) {
            opted_out += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(n, rows);
    assert_eq!(opted_out, rows / 7);
    eprintln!(
        "postgres streaming: {n} rows in {secs:.2} s = {:.0} rows/s (batches of 2000)",
        n as f64 / secs
    );
}

#[test]
fn the_sink_upserts_profiles_traits_and_the_merge_log_idempotently() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("sink");
    let person = |id: &str, first: &str, last: &str, email: &str| {
        let mut r = Record::new(RecordId::id("crm", id));
        r.set(fields::FIRST_NAME, first);
        r.set(fields::LAST_NAME, last);
        r.set(fields::EMAIL, email);
        r
    };
    let existing = vec![
        person("1", "Robert", "Smith", "bob.smith@gmail.com"),
        person("2", "Bob", "Smith", "bob.smith@gmail.com"),
        person("3", "Alice", "Jones", "alice@example.com"),
        person("4", "Carol", "White", "carol@example.org"),
        person("5", "Dan", "Brown", "dan@example.net"),
    ];
    let deduper = DedupConfig::contacts().build().unwrap();
    let model = deduper.run(&existing).model;
    let mut index = MatchIndex::build(&deduper, &model, existing).unwrap();
    index.add(person("6", "Rob", "Smith", "bob.smith@gmail.com"));
    let profiles = index.golden_profiles(&SurvivorshipConfig::default());
    assert_eq!(profiles.len(), 4);
    let mut traits: Vec<BTreeMap<String, Value>> = profiles
        .iter()
        .map(|p| {
            BTreeMap::from([
                ("members".to_owned(), Value::Int(p.members.len() as i64)),
                ("tier".to_owned(), Value::from("gold")),
            ])
        })
        .collect();

    let mut sink = PostgresSink::connect("dw", &url).unwrap();
    sink.batch_profiles(3);
    let first = sink.write(&profiles, &traits, index.log()).unwrap();
    assert_eq!(first.batches, 2);
    assert_eq!((first.profiles_written, first.profiles_unchanged), (4, 0));
    assert_eq!(first.traits_written, 8);
    assert_eq!(first.log_written, index.log().len() as u64);

    // Repeating the run changes nothing.
    let again = sink.write(&profiles, &traits, index.log()).unwrap();
    assert_eq!(
        (
            again.profiles_written,
            again.profiles_unchanged,
            again.traits_written,
            again.log_written
        ),
        (0, 4, 0, 0)
    );
    let count = |sql: &str| pg.psql("sink", sql);
    assert_eq!(count("SELECT count(*) FROM mergetag_profiles"), "4");
    assert_eq!(count("SELECT count(*) FROM mergetag_traits"), "8");
    let robert = profiles.iter().find(|p| p.members.len() == 3).unwrap();
    assert_eq!(
        count(&format!(
            "SELECT jsonb_array_length(members) FROM mergetag_profiles WHERE profile_id = {}",
            robert.id.0
        )),
        "3"
    );

    // A changed trait and a dropped one: one written, one removed, the rest untouched.
    traits[0].insert("tier".to_owned(), Value::from("silver"));
    traits[1].remove("tier");
    let changed = sink.write(&profiles, &traits, index.log()).unwrap();
    assert_eq!(
        (
            changed.profiles_written,
            changed.traits_written,
            changed.traits_removed
        ),
        (0, 1, 1)
    );
    assert_eq!(count("SELECT count(*) FROM mergetag_traits"), "7");
    assert_eq!(
        count("SELECT count(*) FROM mergetag_merge_log WHERE event = 'attached'"),
        "1"
    );
}

#[test]
fn profiles_merged_away_are_deleted_in_the_same_transaction() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("merged");
    let person = |id: &str, first: &str, last: &str, email: &str| {
        let mut r = Record::new(RecordId::id("crm", id));
        r.set(fields::FIRST_NAME, first);
        r.set(fields::LAST_NAME, last);
        r.set(fields::EMAIL, email);
        r
    };
    let existing = vec![
        person("1", "Robert", "Smith", "bob.smith@gmail.com"),
        person("2", "Bob", "Smith", "bob.smith@gmail.com"),
        person("3", "Alice", "Jones", "alice@example.com"),
        person("4", "Carol", "White", "carol@example.org"),
        person("5", "Dan", "Brown", "dan@example.net"),
    ];
    let deduper = DedupConfig::contacts().build().unwrap();
    let model = deduper.run(&existing).model;
    let mut index = MatchIndex::build(&deduper, &model, existing).unwrap();
    let traits_of = |profiles: &[mergetag_model::Profile]| -> Vec<BTreeMap<String, Value>> {
        profiles
            .iter()
            .map(|p| BTreeMap::from([("size".to_owned(), Value::Int(p.members.len() as i64))]))
            .collect()
    };
    let mut sink = PostgresSink::connect("dw", &url).unwrap();
    sink.batch_profiles(1);
    let profiles = index.golden_profiles(&SurvivorshipConfig::default());
    let first = sink
        .write(&profiles, &traits_of(&profiles), index.log())
        .unwrap();
    assert_eq!((first.profiles_written, first.profiles_removed), (4, 0));
    let q = |sql: &str| pg.psql("merged", sql);
    assert_eq!(q("SELECT count(*) FROM mergetag_members"), "5");

    // Two profiles merge (an alias says Alice and Carol are one person; so do the records of
    // Dan and Robert): the profiles merged away go, with their traits, in the transaction of
    // the profile that took their records.
    let id = |k: &str| RecordId::id("crm", k);
    let alice_carol = index.link(&id("4"), &id("3"), "alias").unwrap();
    let robert_dan = index.link(&id("5"), &id("1"), "alias").unwrap();
    let gone = [alice_carol.absorbed.unwrap(), robert_dan.absorbed.unwrap()];
    let profiles = index.golden_profiles(&SurvivorshipConfig::default());
    assert_eq!(profiles.len(), 2);
    let second = sink
        .write(&profiles, &traits_of(&profiles), index.log())
        .unwrap();
    assert_eq!((second.profiles_written, second.profiles_removed), (2, 2));
    assert_eq!(q("SELECT count(*) FROM mergetag_profiles"), "2");
    assert_eq!(
        q(&format!(
            "SELECT count(*) FROM mergetag_traits WHERE profile_id IN ({}, {})",
            gone[0].0, gone[1].0
        )),
        "0"
    );
    assert_eq!(q("SELECT count(*) FROM mergetag_traits"), "2");
    assert_eq!(
        q(
            "SELECT string_agg(profile_id::text || ':' || jsonb_array_length(members)::text, ',' ORDER BY profile_id) FROM mergetag_profiles"
        ),
        profiles
            .iter()
            .map(|p| format!("{}:{}", p.id.0, p.members.len()))
            .collect::<Vec<_>>()
            .join(",")
    );
    // Repeated, the run leaves everything as it is.
    let again = sink
        .write(&profiles, &traits_of(&profiles), index.log())
        .unwrap();
    assert_eq!(
        (
            again.profiles_written,
            again.profiles_unchanged,
            again.profiles_removed,
            again.traits_written
        ),
        (0, 2, 0, 0)
    );

    // Tables written before the members table existed: it is filled from the profiles when
    // created, and a merge is still found.
    q("DROP TABLE mergetag_members");
    let mut sink = PostgresSink::connect("dw", &url).unwrap();
    let alice = index.profile_of(&id("3")).unwrap();
    let robert = index.profile_of(&id("1")).unwrap();
    let last = index.link(&id("3"), &id("1"), "alias").unwrap();
    assert_eq!(last.profile, alice.min(robert));
    let profiles = index.golden_profiles(&SurvivorshipConfig::default());
    let third = sink
        .write(&profiles, &traits_of(&profiles), index.log())
        .unwrap();
    assert_eq!((third.profiles_written, third.profiles_removed), (1, 1));
    assert_eq!(q("SELECT count(*) FROM mergetag_profiles"), "1");
    assert_eq!(q("SELECT count(*) FROM mergetag_members"), "5");
    assert_eq!(
        q("SELECT count(*) FROM mergetag_merge_log WHERE event = 'linked'"),
        "3"
    );
}

/// Replays the inputs kept in `tests/fuzz/postgres_settings/` (seeds, and crashes the fuzzer
/// found once fixed) through the fuzz target's checks.
#[test]
fn fuzz_postgres_settings() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/postgres_settings");
    mergetag_testkit::replay_fuzz_inputs(dir, fuzz::postgres_settings);
}

/// The contract every source keeps (`mergetag_sources::conformance`), for a table with a row
/// that is quarantined.
#[test]
fn the_source_conforms() {
    let Some(pg) = PgServer::shared() else { return };
    let url = pg.create_database("conformance");
    pg.psql("conformance", CONTACTS);
    let open = || {
        PostgresSource::builder()
            .table("contacts")
            .column_map(contacts_map())
            .batch_rows(1)
            .connect("crm", &url)
            .unwrap()
    };
    let summary = mergetag_sources::conformance::check(open).unwrap();
    assert_eq!((summary.records, summary.rejects.len()), (1, 1));
    assert!(summary.errors.is_empty());
}
