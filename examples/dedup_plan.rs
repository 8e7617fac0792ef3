//! Deduplication as a DataFusion plan: generated customer records written as a Parquet
//! dataset, read back through the lake's reader, deduplicated by the plan (blocking joins,
//! the comparison and weight UDFs, pairs written as Parquet) with a model trained in-process
//! on a sample, and checked against the in-process run and the true people.
//!
//! ```sh
//! cargo run --release --example dedup_plan --features scale -- 20000
//! ```
//!
//! Written to `target/dedup-plan-example/`: `lake/customers/part-0.parquet` (the dataset) and
//! `plan/` (the records table, the blocked pairs and `pairs.parquet`, the matches).

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mergetag::dedup::{DedupConfig, eval};
use mergetag::lake::arrow::array::{ArrayRef, RecordBatch, StringArray};
use mergetag::lake::arrow::datatypes::{DataType, Field, Schema};
use mergetag::lake::{ArrowSource, Location, write_parquet};
use mergetag::scale::{DedupPlan, train_on_sample};
use mergetag::sources::ColumnMap;
use mergetag::{Record, Source, Value};
use mergetag_testkit::{Generator, Noise};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let people: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target/dedup-plan-example");
    let _ = std::fs::remove_dir_all(&work);

    // 1. A Parquet dataset of customer records, one text column per field and their ids.
    let data = Generator::new(7).noise(Noise::default()).generate(people);
    let lake = Location::parse(&work.join("lake/customers").display().to_string(), ".")?;
    write_parquet(&lake.child("part-0.parquet"), &[as_batch(&data.records)?])?;

    // 2. Read back exactly as any Parquet source is read.
    let mut source = ArrowSource::builder()
        .column_map(ColumnMap::new().with_key("id"))
        .parquet("lake", &lake)?;
    let records: Vec<Record> = source.records().collect::<Result<_, _>>()?;
    println!("{} records from {}", records.len(), lake);

    // 3. A model trained in-process on a sample of 10,000 records; the plan rescales its
    //    prior to the whole data's blocking.
    let deduper = DedupConfig::contacts().build()?;
    let start = Instant::now();
    let model = train_on_sample(&deduper, &records, 10_000);
    println!("model trained on a sample in {:.2?}", start.elapsed());

    // 4. The plan.
    let start = Instant::now();
    let plan = DedupPlan::new(deduper.clone())?;
    let result = plan.run(&records, &model, &work.join("plan"))?;
    let took = start.elapsed();
    println!(
        "plan: {} candidate pairs, {} matches, {} clusters in {took:.2?}; pairs in {}",
        result.blocking.candidate_pairs,
        result.matches.len(),
        result.cluster_count,
        result.pairs_file.display()
    );
    for pass in &result.blocking.passes {
        println!(
            "  {:<48} {:>9} new pairs, {:>7} repeated, {} oversized blocks",
            pass.keys, pass.new_pairs, pass.repeated_pairs, pass.oversized_blocks
        );
    }
    let truth = eval::pairwise(&result.clusters, &data.entities);
    println!(
        "against the true people: precision {:.4}, recall {:.4}, F1 {:.4}",
        truth.precision, truth.recall, truth.f1
    );

    // 5. The in-process run with the same model gives the same pairs and clusters.
    let start = Instant::now();
    let in_process = deduper.run_with_model(&deduper.prepare(&records), &model)?;
    println!(
        "in-process run with the same model in {:.2?}",
        start.elapsed()
    );
    let ids = |pairs: &mut dyn Iterator<Item = (usize, usize, f64)>| -> BTreeSet<_> {
        pairs
            .map(|(a, b, w)| (records[a].id.clone(), records[b].id.clone(), w.to_bits()))
            .collect()
    };
    let same_pairs = ids(&mut result.matches.iter().map(|p| (p.a, p.b, p.weight)))
        == ids(&mut in_process.matches.iter().map(|p| (p.a, p.b, p.weight)));
    let same_clusters = result.clusters == in_process.clusters;
    println!("same pairs and weights: {same_pairs}; same clusters: {same_clusters}");
    if !(same_pairs && same_clusters) {
        return Err("the plan and the in-process run disagree".into());
    }
    Ok(())
}

/// The records as one batch: `id` and a text column per field (dates and numbers as text).
fn as_batch(records: &[Record]) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let names: BTreeSet<String> = records
        .iter()
        .flat_map(|r| r.iter().map(|f| f.name.as_str().to_owned()))
        .collect();
    let mut fields = vec![Field::new("id", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
        records.iter().map(|r| r.id.to_string()),
    ))];
    for name in &names {
        fields.push(Field::new(name, DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter(records.iter().map(
            |r| match r.get(name) {
                None | Some(Value::Null) => None,
                Some(Value::Text(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            },
        ))));
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}
