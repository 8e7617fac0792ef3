//! Deduplication larger than memory: generated people streamed chunk by chunk into the
//! DataFusion plan (`DedupPlan::run_chunks`), whose joins and sorts spill to disk past a
//! memory pool; then time, peak memory and accuracy against the true people.
//!
//! ```sh
//! # 10M people (about 14.9M records), 8 GiB pool, chunks of 500,000 people
//! cargo run --release --example dedup_out_of_core --features scale -- 10000000
//! # PEOPLE CHUNK_PEOPLE POOL_GIB DIR
//! cargo run --release --example dedup_out_of_core --features scale -- 1000000 250000 2 /tmp/ooc
//! ```
//!
//! Only one chunk of records is in memory at a time; the model is trained in-process on a
//! sample of the first chunk. Prints one JSON line at the end.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use mergetag::dedup::{DedupConfig, eval};
use mergetag::scale::{DedupPlan, train_on_sample};
use mergetag_testkit::{Generator, Noise, peak_rss_mib};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: usize| -> Result<usize, std::num::ParseIntError> {
        args.get(i).map_or(Ok(default), |s| s.parse())
    };
    let people = arg(0, 10_000_000)?;
    let per_chunk = arg(1, 500_000)?;
    let pool_gib = arg(2, 8)?;
    let dir = args.get(3).map_or_else(
        || std::env::temp_dir().join(format!("mergetag-ooc-{people}")),
        PathBuf::from,
    );
    let generator = Generator::new(2024).noise(Noise::default());
    let deduper = DedupConfig::contacts().build()?;

    let start = Instant::now();
    // The model, from a sample of the first chunk.
    let first = generator
        .chunks(people, per_chunk)
        .next()
        .ok_or("no people to generate")?;
    let model = train_on_sample(&deduper, &first.records, 20_000);
    drop(first);
    let trained = start.elapsed();

    let mut plan = DedupPlan::new(deduper)?;
    plan.target_partitions(2).memory_limit(Some(pool_gib << 30));
    // The true person of each record, kept as the chunks go by (4 bytes a record).
    let mut entities: Vec<u32> = Vec::new();
    let chunks = generator.chunks(people, per_chunk).map(|chunk| {
        entities.extend(chunk.entities.iter().map(|&e| e as u32));
        eprintln!(
            "chunk of {} records ({} so far) at {:.1?}",
            chunk.records.len(),
            entities.len(),
            start.elapsed()
        );
        chunk.records
    });
    let result = plan.run_chunks(chunks, &model, &dir)?;
    let took = start.elapsed();
    let peak = peak_rss_mib();
    let truth = eval::pairwise(&result.clusters, &entities);
    println!(
        "{{\"people\": {people}, \"records\": {}, \"candidate_pairs\": {}, \"matches\": {}, \"clusters\": {}, \"seconds\": {:.1}, \"training_seconds\": {:.1}, \"pool_gib\": {pool_gib}, \"peak_rss_mib\": {peak}, \"precision\": {:.4}, \"recall\": {:.4}, \"f1\": {:.4}}}",
        result.clusters.len(),
        result.blocking.candidate_pairs,
        result.matches.len(),
        result.cluster_count,
        took.as_secs_f64(),
        trained.as_secs_f64(),
        truth.precision,
        truth.recall,
        truth.f1
    );
    Ok(())
}
