//! The lake in a pipeline (feature `lake`): a partitioned Parquet copy of a CSV source gives
//! the same profiles, semantic views feed mapping variables, and the run's tables are
//! written as Parquet and queried back.
#![cfg(feature = "lake")]

use std::collections::BTreeMap;
use std::sync::Arc;

use mergetag::lake::arrow::array::{ArrayRef, BinaryArray, RecordBatch};
use mergetag::lake::{Location, OutputFormat, SemanticConfig, write_parquet};
use mergetag::mapping::VariableConfig;
use mergetag::pipeline::{Pipeline, PipelineConfig, VIEW_TRAIT};
use mergetag::sources::SourceFormat;

/// Writes the rows of a CSV file as a Parquet dataset partitioned by `country`
/// (`country=<value>/part-0.parquet`, the column left out of those files), with the rows
/// without a country in `unknown.parquet` (the column kept, null).
fn csv_to_partitioned_parquet(csv_path: &str, dir: &Location) {
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let country = header.iter().position(|h| h == "country").unwrap();
    // Bytes, not text: the sample has a row in Latin-1 on purpose, which both sources
    // quarantine.
    let mut groups: BTreeMap<String, Vec<Vec<Vec<u8>>>> = BTreeMap::new();
    for row in reader.byte_records() {
        let row: Vec<Vec<u8>> = row.unwrap().iter().map(<[u8]>::to_vec).collect();
        let key = String::from_utf8_lossy(&row[country]).into_owned();
        groups.entry(key).or_default().push(row);
    }
    for (value, rows) in groups {
        let keep: Vec<usize> = (0..header.len())
            .filter(|&i| i != country || value.is_empty())
            .collect();
        let columns: Vec<(String, ArrayRef)> = keep
            .iter()
            .map(|&i| {
                let cells: Vec<Option<&[u8]>> = rows
                    .iter()
                    .map(|r| Some(r[i].as_slice()).filter(|s| !s.is_empty()))
                    .collect();
                (
                    header[i].clone(),
                    Arc::new(BinaryArray::from(cells)) as ArrayRef,
                )
            })
            .collect();
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let file = if value.is_empty() {
            dir.child("unknown.parquet")
        } else {
            dir.child(&format!("country={value}"))
                .child("part-0.parquet")
        };
        write_parquet(&file, &[batch]).unwrap();
    }
}

fn example_config() -> PipelineConfig {
    let mut config = PipelineConfig::load("examples/data/pipeline.toml").unwrap();
    if let Some(o) = config.outputs.as_mut() {
        o.dir = None;
    }
    config
}

#[test]
fn parquet_source_gives_the_csv_profiles_and_views_feed_variables() {
    let csv_run = Pipeline::from_config(&example_config())
        .unwrap()
        .run(|_| {})
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let lake = Location::parse("hubspot", dir.path()).unwrap();
    csv_to_partitioned_parquet("examples/data/hubspot_contacts.csv", &lake);
    let mut config = example_config();
    let hubspot = config
        .sources
        .iter_mut()
        .find(|s| s.name == "hubspot")
        .unwrap();
    hubspot.path = dir.path().join("hubspot");
    hubspot.format = Some(SourceFormat::Parquet);
    config.semantic = Some(
        SemanticConfig::from_toml_str(
            r#"[views]
activity = "SELECT profile_id, count(*) AS n FROM events GROUP BY profile_id"
favourite = """SELECT profile_id, name AS event FROM events WHERE kind = 'track'
    GROUP BY profile_id, name ORDER BY profile_id, count(*) DESC, name"""
"#,
        )
        .unwrap(),
    );
    let mapping = config.mapping.as_mut().unwrap();
    mapping
        .variables
        .push(VariableConfig::new("events_seen", "view.activity.n"));
    mapping
        .variables
        .push(VariableConfig::new("favourite_event", "view.favourite.event").with_fallback("none"));
    let run = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();

    // The same profiles, members and provenance as from the CSV export.
    assert!(run.report.adds_up());
    assert_eq!(run.report.records_in, csv_run.report.records_in);
    assert_eq!(run.quarantine.len(), csv_run.quarantine.len());
    assert_eq!(run.profiles.len(), csv_run.profiles.len());
    for (a, b) in run.profiles.iter().zip(&csv_run.profiles) {
        assert_eq!(a.members, b.members);
        let fa: BTreeMap<_, _> = a.fields.iter().map(|f| (f.name.clone(), f)).collect();
        let fb: BTreeMap<_, _> = b.fields.iter().map(|f| (f.name.clone(), f)).collect();
        // The same values with the same provenance; only the order of fields differs, as the
        // partition column comes after the file's columns.
        assert_eq!(fa, fb, "{}", a.id);
    }

    // The views' values, as the trait `view`, and through mapping variables.
    let with_events = run
        .traits
        .iter()
        .filter(|t| {
            t.get(VIEW_TRAIT)
                .and_then(|v| v.pointer("activity.n"))
                .is_some()
        })
        .count();
    assert!(with_events > 10, "{with_events}");
    let payloads = serde_json::to_string(&run.audiences[4].payloads).unwrap();
    assert!(
        payloads.contains("\"events_seen\":"),
        "{}",
        &payloads[..400]
    );
    assert!(
        payloads.contains("\"favourite_event\":\"Order Completed\""),
        "{}",
        &payloads[..400]
    );

    // A view over a column that does not exist stops the run, naming the view.
    config.semantic = Some(
        SemanticConfig::from_toml_str("[views]\nbad = \"SELECT profile_id, colour FROM traits\"\n")
            .unwrap(),
    );
    let e = Pipeline::from_config(&config)
        .unwrap()
        .run(|_| {})
        .unwrap_err();
    let chain = format!(
        "{e}: {}",
        std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_default()
    );
    assert!(chain.contains("view `bad`"), "{chain}");

    // A view that does not parse is refused when the file loads, naming its key.
    let e = PipelineConfig::from_toml_str("[semantic.views]\nbad = \"SELECT (\"\n").unwrap_err();
    assert!(e.to_string().contains("semantic.views.bad: "), "{e}");

    // The run's tables as Parquet, read back with SQL.
    let out = Location::parse("out", dir.path()).unwrap();
    let written = run.write_parquet(&out).unwrap();
    assert_eq!(written.len(), 6);
    let mut layer = mergetag::lake::SemanticLayer::new().unwrap();
    for t in ["profiles", "traits", "quarantine", "members", "pairs"] {
        layer
            .register_parquet(t, &out.child(&format!("{t}.parquet")))
            .unwrap();
    }
    let counts = layer
        .query_text(
            "SELECT (SELECT count(*) FROM profiles) AS profiles, (SELECT count(*) FROM members) AS members, \
             (SELECT count(*) FROM quarantine) AS quarantined, (SELECT count(DISTINCT profile_id) FROM members) AS owners",
            OutputFormat::Csv,
        )
        .unwrap();
    assert_eq!(
        counts,
        format!(
            "profiles,members,quarantined,owners\n{},{},{},{}\n",
            run.profiles.len(),
            run.records.len(),
            run.quarantine.len(),
            run.profiles.len()
        )
    );
    // Every accepted record is a member of exactly one profile.
    assert_eq!(run.report.accepted, run.records.len() as u64);
}

#[test]
fn the_merge_log_as_parquet() {
    use mergetag::dedup::index::MatchIndex;
    use mergetag::dedup::{DedupConfig, Deduper};
    use mergetag::lake::serde_table;
    use mergetag::{Record, RecordId, fields};

    let person = |id: &str, first: &str, email: &str, phone: &str| {
        let mut r = Record::new(RecordId::id("crm", id));
        r.set(fields::FIRST_NAME, first);
        r.set(fields::LAST_NAME, "Lee");
        r.set(fields::EMAIL, email);
        r.set(fields::PHONE, phone);
        r
    };
    let existing = vec![
        person("1", "Ann", "ann.lee@example.com", ""),
        person("2", "Ann", "", "+1 312 555 0147"),
        person("3", "Bo", "bo@example.org", "+1 415 555 0199"),
    ];
    let deduper = Deduper::new(DedupConfig::contacts()).unwrap();
    let model = deduper.run(&existing).model;
    let mut index = MatchIndex::build(&deduper, &model, existing).unwrap();
    index.add(person("4", "Ann", "ann.lee@example.com", "+1 312 555 0147"));
    let log = serde_table("merge_log", index.log()).unwrap();
    assert_eq!(log.num_rows(), index.log().len());

    let dir = tempfile::tempdir().unwrap();
    let file = Location::parse("merge_log.parquet", dir.path()).unwrap();
    write_parquet(&file, &[log]).unwrap();
    let mut layer = mergetag::lake::SemanticLayer::new().unwrap();
    layer.register_parquet("merge_log", &file).unwrap();
    let n = layer
        .query_text("SELECT count(*) AS n FROM merge_log", OutputFormat::Csv)
        .unwrap();
    assert_eq!(n, format!("n\n{}\n", index.log().len()));
}
