//! A data lake: the bundled HubSpot export as a Parquet dataset partitioned by country, read
//! from a local object store (`file://`) exactly as the CSV export is read, through the whole
//! pipeline with a semantic view feeding a mapping variable; the run's tables written as
//! Parquet and queried back with SQL.
//!
//! ```sh
//! cargo run --release --example lake --features lake
//! ```
//!
//! Written to `target/lake-example/`: `lake/hubspot/country=*/part-0.parquet` (the dataset)
//! and `out/` (every table of the run: `*.parquet`, with the events partitioned by month,
//! `out/events/month=*/part-0.parquet`, and the audiences by platform).

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use mergetag::lake::arrow::array::{ArrayRef, RecordBatch, StringArray};
use mergetag::lake::{
    Location, OutputFormat, Partitioning, SemanticConfig, SemanticLayer, write_parquet,
};
use mergetag::mapping::VariableConfig;
use mergetag::pipeline::{Pipeline, PipelineConfig};
use mergetag::sources::SourceFormat;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/lake-example");
    let _ = std::fs::remove_dir_all(&work);

    // 1. The lake: the export's rows by country, `country=<value>/part-0.parquet`; the
    //    country is in the path (a Hive partition), not in the files.
    let dataset = Location::parse(
        &format!("file://{}", work.join("lake/hubspot").display()),
        ".",
    )?;
    let mut csv = csv::Reader::from_path(root.join("examples/data/hubspot_contacts.csv"))?;
    let header: Vec<String> = csv.headers()?.iter().map(str::to_owned).collect();
    let country = header
        .iter()
        .position(|h| h == "country")
        .ok_or("no country column")?;
    let mut by_country: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for row in csv.byte_records() {
        let row: Vec<String> = row?
            .iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        by_country
            .entry(row[country].clone())
            .or_default()
            .push(row);
    }
    for (value, rows) in &by_country {
        // Rows without a country keep the (empty) column, in a file outside the partitions.
        let keep = (0..header.len()).filter(|&i| i != country || value.is_empty());
        let columns = keep.map(|i| {
            let cells = rows
                .iter()
                .map(|r| Some(r[i].as_str()).filter(|s| !s.is_empty()));
            (
                header[i].clone(),
                Arc::new(cells.collect::<StringArray>()) as ArrayRef,
            )
        });
        let batch = RecordBatch::try_from_iter(columns)?;
        let file = match value.as_str() {
            "" => dataset.child("no-country.parquet"),
            v => dataset
                .child(&format!("country={v}"))
                .child("part-0.parquet"),
        };
        write_parquet(&file, &[batch])?;
    }
    println!("wrote {} files to {dataset}", by_country.len());

    // 2. The pipeline of the quickstart, with HubSpot read from the lake, a semantic view
    //    (each profile's most frequent event) and a variable taking its value from it.
    let mut config = PipelineConfig::load(root.join("examples/data/pipeline.toml"))?;
    if let Some(o) = config.outputs.as_mut() {
        o.dir = None;
    }
    let hubspot = config
        .sources
        .iter_mut()
        .find(|s| s.name == "hubspot")
        .ok_or("no hubspot source")?;
    hubspot.path = dataset.url().into();
    hubspot.format = Some(SourceFormat::Parquet);
    config.semantic = Some(SemanticConfig::from_toml_str(
        r#"[views]
favourite_event = """
    SELECT profile_id, name AS event, count(*) AS times FROM events WHERE kind = 'track'
    GROUP BY profile_id, name ORDER BY profile_id, times DESC, event"""
"#,
    )?);
    if let Some(m) = config.mapping.as_mut() {
        m.variables.push(
            VariableConfig::new("favourite_event", "view.favourite_event.event")
                .with_fallback("browsing"),
        );
    }
    let output = Pipeline::from_config(&config)?.run(|_| {})?;
    println!(
        "read {} records: {} accepted, {} quarantined; {} profiles",
        output.report.records_in,
        output.report.accepted,
        output.report.quarantined,
        output.profiles.len()
    );

    // 3. The run's tables as Parquet, each file written atomically; the events by month and
    //    the audiences by platform, as Hive partitions.
    let out = Location::parse(&work.join("out").display().to_string(), ".")?;
    let partitions = BTreeMap::from([
        ("events".to_owned(), "month".parse::<Partitioning>()?),
        ("audiences".to_owned(), "platform".parse::<Partitioning>()?),
    ]);
    let written = output.write_parquet_partitioned(&out, &partitions)?;
    println!("wrote {} files to {out}", written.len());

    // 4. SQL over the files.
    let mut layer = SemanticLayer::new()?;
    for table in ["profiles", "traits", "members"] {
        layer.register_parquet(table, &out.child(&format!("{table}.parquet")))?;
    }
    layer.register_parquet_partitioned("audiences", &out.child("audiences"), &["platform"])?;
    let sql = "SELECT m.source, count(DISTINCT m.profile_id) AS profiles, \
               round(avg(t.engagement_score), 3) AS avg_engagement \
               FROM members m JOIN traits t USING (profile_id) GROUP BY m.source ORDER BY m.source";
    print!("{}", layer.query_text(sql, OutputFormat::Table)?);
    let sql = "SELECT platform, count(*) AS recipients FROM audiences GROUP BY platform ORDER BY platform";
    print!("{}", layer.query_text(sql, OutputFormat::Table)?);
    Ok(())
}
