//! The lake in a pipeline (feature `lake`): a partitioned Parquet copy of a CSV source gives
//! the same profiles, semantic views feed mapping variables, and the run's tables are
//! written as Parquet and queried back.
#![cfg(feature = "lake")]

use std::collections::BTreeMap;
use std::sync::Arc;

use mergetag::lake::arrow::array::{ArrayRef, BinaryArray, RecordBatch};
use mergetag::lake::{Location, OutputFormat, SemanticConfig, write_parquet};
use mergetag::mapping::VariableConfig;
use mergetag::pipeline::{
    ParquetOutput, Pipeline, PipelineConfig, RunOutput, VIEW_TRAIT, parquet_files,
};
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

    // The views' values, as flat traits `view.<view>.<column>`, and through mapping
    // variables.
    let with_events = run
        .traits
        .iter()
        .filter(|t| t.get(&format!("{VIEW_TRAIT}.activity.n")).is_some())
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

    // A view over a trait that no stage of the file makes is refused when the pipeline is
    // built, naming the view: the traits are known from the configuration.
    config.semantic = Some(
        SemanticConfig::from_toml_str("[views]\nbad = \"SELECT profile_id, colour FROM traits\"\n")
            .unwrap(),
    );
    let e = Pipeline::from_config(&config).unwrap_err();
    assert!(e.to_string().contains("semantic.views.bad: "), "{e}");

    // A column the profiles may have (the sources keep unmapped columns) is accepted when
    // the pipeline is built, and checked when it runs: the error names the view.
    config.semantic = Some(
        SemanticConfig::from_toml_str(
            "[views]\nbad = \"SELECT profile_id, colour FROM profiles\"\n",
        )
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
    assert_eq!(written.len(), parquet_files::ALL.len());
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

/// The columns and Arrow types of `tables` in `layer`, from its information schema, one
/// `table.column: type` a line, in column order.
fn columns(layer: &mergetag::lake::SemanticLayer, tables: &[&str]) -> Vec<String> {
    let list = tables
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let json = layer
        .query_text(
            &format!(
                "SELECT table_name, column_name, data_type FROM information_schema.columns \
                 WHERE table_name IN ({list}) ORDER BY table_name, ordinal_position"
            ),
            OutputFormat::Json,
        )
        .unwrap();
    json.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            // DataFusion reads Parquet text as Utf8View; the values are the same.
            let data_type = match v["data_type"].as_str().unwrap() {
                "Utf8View" => "Utf8",
                t => t,
            };
            format!(
                "{}.{}: {data_type}",
                v["table_name"].as_str().unwrap(),
                v["column_name"].as_str().unwrap(),
            )
        })
        .collect()
}

/// The tables whose columns do not depend on the data.
const FIXED: &[&str] = &[
    "provenance",
    "events",
    "segments",
    "quarantine",
    "members",
    "pairs",
    "clusters",
    "merge_log",
    "audiences",
];

/// Writes `run`'s tables as `parquet` says, and registers every table read back from the
/// files (partitioned tables with their partition columns).
fn read_back(run: &RunOutput, parquet: &ParquetOutput) -> mergetag::lake::SemanticLayer {
    let mut config = example_config();
    config.outputs.as_mut().unwrap().parquet = Some(parquet.clone());
    let written = config.write_parquet(run).unwrap();
    assert!(written.len() >= parquet_files::ALL.len());
    let dir = config.parquet_dir().unwrap().unwrap();
    let mut layer = mergetag::lake::SemanticLayer::new().unwrap();
    for file in parquet_files::ALL {
        let table = file.trim_end_matches(".parquet");
        let parts = parquet.partition_columns(table);
        if parts.is_empty() {
            layer.register_parquet(table, &dir.child(file)).unwrap();
        } else {
            layer
                .register_parquet_partitioned(table, &dir.child(table), &parts)
                .unwrap();
        }
    }
    layer
}

fn count(layer: &mergetag::lake::SemanticLayer, sql: &str) -> usize {
    let csv = layer.query_text(sql, OutputFormat::Csv).unwrap();
    csv.lines().nth(1).unwrap().parse().unwrap()
}

#[test]
fn every_table_as_parquet_partitioned_and_read_back_with_sql() {
    let run = Pipeline::from_config(&example_config())
        .unwrap()
        .run(|_| {})
        .unwrap();
    let dedup = run.dedup.as_ref().unwrap();
    assert!(!run.events.is_empty() && !dedup.matches.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let parquet = ParquetOutput::new(dir.path().join("lake").display().to_string())
        .partition("events", "date")
        .partition("audiences", "platform")
        .partition("members", "source");
    let layer = read_back(&run, &parquet);

    // Every row is there.
    let recipients: usize = run.audiences.iter().map(|a| a.recipients().len()).sum();
    let fields: usize = run.profiles.iter().map(|p| p.fields.len()).sum();
    let expected = [
        ("profiles", run.profiles.len()),
        ("provenance", fields),
        ("traits", run.profiles.len()),
        ("events", run.events.len()),
        ("quarantine", run.quarantine.len()),
        ("members", run.report.accepted as usize),
        ("pairs", dedup.matches.len()),
        ("clusters", dedup.clusters.len()),
        ("merge_log", dedup.matches.len()),
        ("audiences", recipients),
    ];
    for (table, n) in expected {
        assert_eq!(
            count(&layer, &format!("SELECT count(*) FROM {table}")),
            n,
            "{table}"
        );
    }
    assert!(recipients > 0);

    // The same columns, of the same types, as the tables in memory; partition columns come
    // last, as text.
    let memory = run.semantic_layer(None).unwrap();
    let mut want = columns(&memory, FIXED);
    want.retain(|c| c != "audiences.platform: Utf8" && c != "members.source: Utf8");
    let at = |want: &mut Vec<String>, after: &str, c: &str| {
        let i = want.iter().rposition(|w| w.starts_with(after)).unwrap();
        want.insert(i + 1, c.to_owned());
    };
    at(&mut want, "audiences.", "audiences.platform: Utf8");
    at(&mut want, "events.", "events.date: Utf8");
    at(&mut want, "members.", "members.source: Utf8");
    assert_eq!(columns(&layer, FIXED), want);
    for c in [
        "events.profile_id: Int64",
        "members.profile_id: Int64",
        "merge_log.probability: Float64",
        "quarantine.codes: List(Utf8)",
    ] {
        assert!(want.iter().any(|w| w == c), "{c} in {want:#?}");
    }
    let types = columns(&layer, &["profiles", "traits"]);
    assert_eq!(types[0], "profiles.profile_id: Int64");
    assert!(
        types.contains(&"traits.engagement_level: Utf8".to_owned()),
        "{types:?}"
    );

    // Partitions: one per day of events, one per platform.
    let days = count(&layer, "SELECT count(DISTINCT date) FROM events");
    let on_disk = std::fs::read_dir(dir.path().join("lake/events"))
        .unwrap()
        .count();
    assert_eq!(days, on_disk);
    assert_eq!(
        count(
            &layer,
            "SELECT count(*) FROM events WHERE date <> to_char(timestamp, '%Y-%m-%d')"
        ),
        0
    );
    assert_eq!(
        count(&layer, "SELECT count(DISTINCT platform) FROM audiences"),
        run.audiences
            .iter()
            .filter(|a| !a.recipients().is_empty())
            .count()
    );

    // The tables agree: every member's profile is a profile, every merge is in one cluster.
    assert_eq!(
        count(
            &layer,
            "SELECT count(*) FROM members m LEFT JOIN profiles p USING (profile_id) WHERE p.profile_id IS NULL"
        ),
        0
    );
    assert_eq!(
        count(
            &layer,
            "SELECT count(*) FROM merge_log WHERE event IN ('attached', 'merged')"
        ),
        dedup.clusters.len() - dedup.cluster_count
    );

    // Partitioned files are read as a dataset by the Parquet source too.
    let events = mergetag::lake::Location::parse("lake/events", dir.path()).unwrap();
    let mut source = mergetag::lake::ArrowSource::builder()
        .parquet("events", &events)
        .unwrap();
    use mergetag::Source;
    let n = source.records().count();
    assert_eq!(n, run.events.len());

    // By month: fewer directories, the same rows.
    let monthly = ParquetOutput::new(dir.path().join("monthly").display().to_string())
        .partition("events", "month");
    let layer = read_back(&run, &monthly);
    let months = count(&layer, "SELECT count(DISTINCT month) FROM events");
    assert!(months < days, "{months} months, {days} days");
    assert_eq!(
        count(
            &layer,
            "SELECT count(*) FROM events WHERE month <> to_char(timestamp, '%Y-%m')"
        ),
        0
    );
    assert_eq!(
        count(&layer, "SELECT count(*) FROM events"),
        run.events.len()
    );

    // Written again with other partitions, the old ones are gone.
    let coarser = ParquetOutput::new(parquet.dir.clone()).partition("events", "kind");
    let layer = read_back(&run, &coarser);
    assert_eq!(
        count(&layer, "SELECT count(*) FROM events"),
        run.events.len()
    );
    // Members are one file again: the partitions of the first write are gone.
    assert!(dir.path().join("lake/members.parquet").is_file());
    let stale: Vec<_> = std::fs::read_dir(dir.path().join("lake/members"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .collect();
    assert!(stale.is_empty(), "{stale:?}");
    for day in std::fs::read_dir(dir.path().join("lake/events")).unwrap() {
        let day = day.unwrap().path();
        if day
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("date=")
        {
            assert!(!day.join("part-0.parquet").exists(), "{}", day.display());
        }
    }
}

#[test]
fn an_empty_run_gives_every_table_with_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crm.csv"), "hs_object_id,email\n").unwrap();
    std::fs::write(dir.path().join("events.jsonl"), "").unwrap();
    let config = PipelineConfig::from_toml_str(
        r#"
        [[sources]]
        name = "crm"
        path = "crm.csv"
        preset = "hubspot_contacts"
        [[sources]]
        name = "events"
        path = "events.jsonl"
        format = "events"
        [dedup]
        preset = "contacts"
        "#,
    )
    .unwrap()
    .with_base_dir(dir.path());
    let empty = Pipeline::from_config(&config).unwrap().run(|_| {}).unwrap();
    assert!(empty.profiles.is_empty());
    let full = Pipeline::from_config(&example_config())
        .unwrap()
        .run(|_| {})
        .unwrap();

    let parquet = ParquetOutput::new(dir.path().join("lake").display().to_string())
        .partition("events", "date")
        .partition("audiences", "platform");
    let layer = read_back(&empty, &parquet);
    let mut full_parquet = parquet.clone();
    full_parquet.dir = dir.path().join("full").display().to_string();
    let full_layer = read_back(&full, &full_parquet);
    assert_eq!(columns(&layer, FIXED), columns(&full_layer, FIXED));
    for file in parquet_files::ALL {
        let table = file.trim_end_matches(".parquet");
        assert_eq!(
            count(&layer, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    assert_eq!(
        columns(&layer, &["profiles", "traits"]),
        [
            "profiles.profile_id: Int64",
            "profiles.members: List(Utf8)",
            "traits.profile_id: Int64"
        ]
    );
}

#[test]
fn parquet_outputs_in_the_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::canonicalize("examples/data").unwrap();
    let text = std::fs::read_to_string(data.join("pipeline.toml"))
        .unwrap()
        .replace("path = \"", &format!("path = \"{}/", data.display()));
    let text = format!(
        "{text}\n[outputs.parquet]\ndir = \"lake\"\npartition_by = {{ events = \"date\", audiences = \"platform\" }}\n"
    );
    let file = dir.path().join("pipeline.toml");
    std::fs::write(&file, &text).unwrap();
    let run = mergetag::pipeline::run_config(&file, |_| {}).unwrap();
    assert!(dir.path().join("lake/profiles.parquet").is_file());
    assert!(dir.path().join("lake/merge_log.parquet").is_file());
    let days = std::fs::read_dir(dir.path().join("lake/events"))
        .unwrap()
        .count();
    assert!(days > 1, "{days}");
    assert!(
        dir.path()
            .join("lake/audiences/platform=sendgrid/part-0.parquet")
            .is_file()
    );
    assert!(run.report.adds_up());

    // Mistakes are reported at their key.
    let bad = |extra: &str| {
        let text = format!(
            "[[sources]]\nname = \"crm\"\npath = \"lake/profiles.parquet\"\nformat = \"parquet\"\n{extra}"
        );
        PipelineConfig::from_toml_str(&text)
            .unwrap_err()
            .to_string()
    };
    let e = bad("[outputs.parquet]\ndir = \"lake\"\npartition_by = { profiles = \"date\" }\n");
    assert!(
        e.contains(
            "outputs.parquet.partition_by.profiles: the table profiles cannot be partitioned"
        ),
        "{e}"
    );
    let e = bad("[outputs.parquet]\ndir = \"lake\"\npartition_by = { events = \"name\" }\n");
    assert!(
        e.contains("events cannot be partitioned by `name`; use date, month or kind"),
        "{e}"
    );
    let e = bad("[outputs.parquet]\ndir = \"lake\"\n");
    assert!(
        e.contains(
            "outputs.parquet.dir: the Parquet outputs would overwrite the input of sources[0] (crm)"
        ),
        "{e}"
    );
    let e = bad("[outputs.parquet]\ndir = \"elsewhere\"\nformat = \"csv\"\n");
    assert!(e.contains("unknown field `format`"), "{e}");
}

#[test]
fn views_are_planned_when_the_pipeline_is_built() {
    let config = |views: &str| {
        PipelineConfig::from_toml_str(&format!(
            r#"
            [[sources]]
            name = "crm"
            path = "nowhere.csv"
            preset = "hubspot_contacts"
            [[traits]]
            name = "orders"
            event = "Order Completed"
            aggregate = "count"
            [semantic.views]
            {views}
            "#
        ))
    };
    let refused = |views: &str, view: &str, why: &str| {
        let e = config(views).unwrap_err().to_string();
        assert!(e.contains(&format!("semantic.views.{view}: ")), "{e}");
        assert!(e.contains(why), "{e}");
    };
    // An unknown table, an unknown column of a table whose columns are known, an unknown
    // function, types that do not fit.
    refused("top = \"SELECT * FROM orders\"", "top", "orders");
    refused("top = \"SELECT profile_id, nme FROM events\"", "top", "nme");
    refused(
        "top = \"SELECT profile_id, colour FROM traits\"",
        "top",
        "colour",
    );
    refused(
        "top = \"SELECT no_such_function(name) FROM events\"",
        "top",
        "no_such_function",
    );
    refused(
        "top = \"SELECT profile_id FROM events WHERE timestamp > true\"",
        "top",
        "Cannot infer common argument type",
    );
    refused(
        "top = \"SELECT a FROM pairs\"",
        "top",
        "`pairs` is a table of a finished run, for `mergetag query`",
    );
    // Views read views, whatever the order they are written in; an unknown column of a
    // view is refused too.
    config(
        r#"a_busy = "SELECT profile_id FROM counts WHERE n > 2"
           counts = "SELECT profile_id, count(*) AS n FROM events GROUP BY profile_id""#,
    )
    .unwrap();
    refused(
        r#"a_busy = "SELECT profile_id, m FROM counts"
           counts = "SELECT profile_id, count(*) AS n FROM events GROUP BY profile_id""#,
        "a_busy",
        "m",
    );
    // Columns the configuration determines, and columns an open table may have.
    config(
        r#"v = """SELECT p.profile_id, p.email, p.loyalty, t.orders, s.segment
                  FROM profiles p JOIN traits t USING (profile_id)
                  LEFT JOIN segments s USING (profile_id) WHERE t.orders > 1""""#,
    )
    .unwrap();
}

/// The second TOML block of the pipeline-file reference (`[outputs.parquet]`,
/// `[semantic.views]`) parses and plans as written.
#[test]
fn the_documented_lake_tables_parse() {
    let source = std::fs::read_to_string("src/pipeline/config.rs").unwrap();
    let block = source
        .split("//! ```toml\n")
        .nth(2)
        .and_then(|b| b.split("//! ```\n").next())
        .unwrap();
    let doc: String = block
        .lines()
        .map(|l| l.strip_prefix("//!").unwrap_or(l))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    assert!(doc.contains("[outputs.parquet]"), "{doc}");
    let text = format!("[[sources]]\nname = \"crm\"\npath = \"crm.csv\"\n{doc}");
    let config = PipelineConfig::from_toml_str(&text).unwrap();
    let parquet = config.outputs.unwrap().parquet.unwrap();
    assert_eq!(parquet.partition_columns("events"), ["date"]);
    assert_eq!(config.semantic.unwrap().views.len(), 1);
}
