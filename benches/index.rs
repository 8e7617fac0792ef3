//! The incremental index: building it from a batch, and matching one new record against it,
//! each beside a baseline measured in the same run.
//!
//! Run with `cargo bench --bench index`; set `MERGETAG_BENCH_1M=1` to add the million-record
//! index (about a minute of set-up and 2 GiB of memory). Latency percentiles (p50, p99) and
//! peak memory come from the `index_latency` measurement in `crates/dedup/tests/index.rs`.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::dedup::index::MatchIndex;
use mergetag::dedup::{DedupConfig, Deduper, TrainedModel};
use mergetag::{Record, fields};
use mergetag_testkit::Generator;

/// `n` generated records, and 1,000 more (new people and duplicates) to match.
fn fixture(n: usize) -> (Vec<Record>, Vec<Record>) {
    let mut records = Generator::new(7)
        .generate((n + 1_000) * 10 / 13 + 1)
        .records;
    while records.len() < n + 1_000 {
        let more = Generator::new(8 + records.len() as u64)
            .source("more")
            .generate(1_000)
            .records;
        records.extend(more);
    }
    records.truncate(n + 1_000);
    let queries = records.split_off(n);
    (records, queries)
}

fn model(deduper: &Deduper, records: &[Record]) -> TrainedModel {
    deduper.run(&records[..records.len().min(100_000)]).model
}

fn sizes() -> Vec<usize> {
    let mut sizes = vec![100_000];
    if std::env::var_os("MERGETAG_BENCH_1M").is_some() {
        sizes.push(1_000_000);
    }
    sizes
}

fn build(c: &mut Criterion) {
    let deduper = Deduper::new(DedupConfig::contacts()).unwrap();
    let (records, _) = fixture(100_000);
    let model = model(&deduper, &records);
    let mut group = c.benchmark_group("mergetag_dedup::index::MatchIndex::build");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    // Baseline: the batch run with the same model, which the build does plus indexing.
    group.bench_function(BenchmarkId::new("batch_run_baseline", records.len()), |b| {
        b.iter(|| {
            let run = deduper.prepare(&records);
            black_box(
                deduper
                    .run_with_fixed_model(&run, &model)
                    .unwrap()
                    .cluster_count,
            )
        });
    });
    group.bench_function(BenchmarkId::new("build", records.len()), |b| {
        b.iter_batched(
            || records.clone(),
            |records| black_box(MatchIndex::build(&deduper, &model, records).unwrap().len()),
            criterion::BatchSize::LargeInput,
        );
    });
    group.finish();
}

fn match_one(c: &mut Criterion) {
    let deduper = Deduper::new(DedupConfig::contacts()).unwrap();
    for n in sizes() {
        let (records, queries) = fixture(n);
        let model = model(&deduper, &records);
        // Baseline: an exact lookup by lower-cased email, the least a matcher does.
        let mut by_email: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(e) = r.text(fields::EMAIL) {
                by_email.entry(e.to_lowercase()).or_default().push(i);
            }
        }
        let index = MatchIndex::build(&deduper, &model, records).unwrap();
        let mut group = c.benchmark_group("mergetag_dedup::index::MatchIndex::find");
        group.throughput(Throughput::Elements(queries.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("exact_email_lookup_baseline", n),
            &queries,
            |b, queries| {
                b.iter(|| {
                    let mut hits = 0;
                    for q in queries {
                        if let Some(e) = q.text(fields::EMAIL) {
                            hits += by_email.get(&e.to_lowercase()).map_or(0, Vec::len);
                        }
                    }
                    black_box(hits)
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("find", n), &queries, |b, queries| {
            b.iter(|| {
                let mut hits = 0;
                for q in queries {
                    hits += index.find(q).iter().filter(|c| c.matched).count();
                }
                black_box(hits)
            });
        });
        group.finish();
    }
}

criterion_group!(benches, build, match_one);
criterion_main!(benches);
