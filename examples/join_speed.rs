//! A blocking self-join with string similarity on 1M records, as `mergetag-scale` runs it,
//! for comparison with DuckDB on the same Parquet file (`benches/scale_duckdb.py` runs both
//! in one go).
//!
//! ```sh
//! # write the table: generated records' folded features, a blocking key and raw fields
//! cargo run --release --example join_speed --features scale -- write 1000000 /tmp/join
//! # the join with `mergetag_levels` under a 2 GiB memory pool, three times
//! cargo run --release --example join_speed --features scale -- run /tmp/join
//! # the same join as a hash join, under the same pool
//! cargo run --release --example join_speed --features scale -- run /tmp/join hash
//! ```
//!
//! The key is the one blocking pass of [`join_key`] (the folded first name and the birth
//! year): coarse, so that 1M records give about 39M candidate pairs (last name's Soundex and
//! the birth year give 19M, its first three letters and the year 24M). Each run prints one JSON
//! line: the pairs joined, the seconds and the process's peak resident memory.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use mergetag::dedup::{BlockingPass, DedupConfig, Deduper, KeyPart, KeyTransform};
use mergetag::fields;
use mergetag::lake::arrow::array::{
    ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use mergetag::lake::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use mergetag::lake::{Location, write_parquet};
use mergetag::scale::datafusion::execution::memory_pool::FairSpillPool;
use mergetag::scale::datafusion::execution::runtime_env::RuntimeEnvBuilder;
use mergetag::scale::datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use mergetag::scale::{LEVELS_UDF, register_udfs};
use mergetag_testkit::{Generator, Noise, peak_rss_mib};

/// The memory pool the join runs in.
const POOL: usize = 2 << 30;

/// The blocking pass of the join: the folded first name and the birth year.
fn join_key() -> BlockingPass {
    BlockingPass::on(vec![
        KeyPart {
            field: fields::FIRST_NAME.to_owned(),
            transform: KeyTransform::Exact,
        },
        KeyPart {
            field: fields::BIRTH_DATE.to_owned(),
            transform: KeyTransform::Year,
        },
    ])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", n, dir] => write(n.parse()?, Path::new(dir)),
        ["run", dir] => run(Path::new(dir), Mode::Levels),
        ["run", dir, "hash"] => run(Path::new(dir), Mode::HashJoin),
        _ => Err("usage: join_speed write RECORDS DIR | run DIR [hash]".into()),
    }
}

/// Writes `DIR/join.parquet`: `pos`, `k` (the join key, null when a part is missing) and the
/// contacts configuration's feature columns `f0...`.
fn write(n: usize, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    // About 1.49 records a person at the default noise: enough people for `n` records, the
    // last ones cut.
    let mut records = Generator::new(31)
        .noise(Noise::default())
        .generate(n * 3 / 4 + 16)
        .records;
    records.truncate(n);
    let deduper = DedupConfig::contacts().build()?;
    let features = deduper.features(&records);
    let mut key_config = DedupConfig::contacts();
    key_config.blocking = vec![join_key()];
    let keys = Deduper::new(key_config)?
        .features(&records)
        .keys(0)
        .to_vec();
    let mut fields = vec![
        Field::new("pos", DataType::UInt32, false),
        Field::new("k", DataType::UInt64, true),
    ];
    fields.extend(
        (0..features.column_count()).map(|c| Field::new(format!("f{c}"), DataType::Utf8, false)),
    );
    let schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::new();
    for start in (0..records.len()).step_by(65_536) {
        let rows = start..(start + 65_536).min(records.len());
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(
                rows.clone().map(|i| i as u32),
            )),
            Arc::new(UInt64Array::from_iter(
                rows.clone().map(|i| Some(keys[i]).filter(|&k| k != 0)),
            )),
        ];
        for c in 0..features.column_count() {
            columns.push(Arc::new(StringArray::from_iter_values(
                rows.clone().map(|i| features.value(c, i)),
            )));
        }
        batches.push(RecordBatch::try_new(schema.clone(), columns)?);
    }
    std::fs::create_dir_all(dir)?;
    let location = Location::parse(&std::path::absolute(dir)?.display().to_string(), ".")?;
    write_parquet(&location.child("join.parquet"), &batches)?;
    let mut sizes = std::collections::HashMap::<u64, u64>::new();
    for &k in keys.iter().filter(|&&k| k != 0) {
        *sizes.entry(k).or_default() += 1;
    }
    let pairs: u64 = sizes.values().map(|n| n * (n - 1) / 2).sum();
    println!(
        "{{\"step\": \"write\", \"records\": {}, \"columns\": {}, \"pairs\": {pairs}, \"largest_block\": {}, \"seconds\": {:.3}}}",
        records.len(),
        features.column_count(),
        sizes.values().max().copied().unwrap_or(0),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `mergetag_levels` over the feature columns, sort-merge join.
    Levels,
    /// `mergetag_levels` with a hash join.
    HashJoin,
}

fn run(dir: &Path, mode: Mode) -> Result<(), Box<dyn std::error::Error>> {
    let deduper = DedupConfig::contacts().build()?;
    let columns = mergetag::dedup::Features::empty(&deduper).column_count();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let config = SessionConfig::new().with_target_partitions(2).set_bool(
        "datafusion.optimizer.prefer_hash_join",
        mode == Mode::HashJoin,
    );
    let env = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(POOL)))
        .with_temp_file_path(dir.join("spill"))
        .build_arc()?;
    std::fs::create_dir_all(dir.join("spill"))?;
    let ctx = SessionContext::new_with_config_rt(config, env);
    register_udfs(&ctx, &deduper, None);
    let file = dir.join("join.parquet").display().to_string();
    runtime.block_on(ctx.register_parquet("t", &file, ParquetReadOptions::default()))?;
    let left: Vec<String> = (0..columns).map(|c| format!("l.f{c}")).collect();
    let right: Vec<String> = (0..columns).map(|c| format!("r.f{c}")).collect();
    let expr = format!(
        "CAST({LEVELS_UDF}({}, {}) % 16 AS BIGINT)",
        left.join(", "),
        right.join(", ")
    );
    let sql =
        format!("SELECT count(*), sum({expr}) FROM t l JOIN t r ON l.k = r.k AND l.pos < r.pos");
    let rounds = if mode == Mode::Levels { 3 } else { 1 };
    for round in 0..rounds {
        let start = Instant::now();
        let result = runtime.block_on(async { ctx.sql(&sql).await?.collect().await });
        let seconds = start.elapsed().as_secs_f64();
        let name = match mode {
            Mode::Levels => "levels",
            Mode::HashJoin => "hash_join",
        };
        match result {
            Ok(batches) => {
                let batch = &batches[0];
                let pairs = batch.column(0).as_primitive::<Int64Type>().value(0);
                println!(
                    "{{\"step\": \"{name}\", \"round\": {round}, \"pairs\": {pairs}, \"seconds\": {seconds:.3}, \"peak_rss_mib\": {}}}",
                    peak_rss_mib()
                );
            }
            Err(e) => println!(
                "{{\"step\": \"{name}\", \"round\": {round}, \"error\": {:?}, \"seconds\": {seconds:.3}, \"peak_rss_mib\": {}}}",
                e.to_string().lines().next().unwrap_or(""),
                peak_rss_mib()
            ),
        }
    }
    Ok(())
}
