//! The dedup hot path: the comparison loop over candidate pairs, the Jaro-Winkler kernel, and
//! whole deduplications, each beside a baseline measured in the same run.
//!
//! Run with `cargo bench --bench dedup` (`MERGETAG_BENCH_1M=1` adds a whole run over about a
//! million records). Fixtures come from `mergetag-testkit` with fixed seeds.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::dedup::{DedupConfig, Deduper, eval, similarity};
use mergetag::{Record, fields};
use mergetag_testkit::Generator;

/// The baseline comparison of a pair: what a straightforward implementation does, lower-casing
/// each field and calling `strsim` for every field of every pair.
fn naive_compare(a: &Record, b: &Record) -> f64 {
    const FIELDS: [&str; 8] = [
        fields::FIRST_NAME,
        fields::LAST_NAME,
        fields::EMAIL,
        fields::PHONE,
        fields::BIRTH_DATE,
        fields::STREET,
        fields::CITY,
        fields::POSTAL_CODE,
    ];
    FIELDS
        .iter()
        .map(|f| match (a.text(f), b.text(f)) {
            (Some(x), Some(y)) => strsim::jaro_winkler(&x.to_lowercase(), &y.to_lowercase()),
            _ => 0.0,
        })
        .sum()
}

fn comparison_loop(c: &mut Criterion) {
    let data = Generator::new(1).generate(20_000);
    let deduper = Deduper::new(DedupConfig::contacts()).unwrap();
    let (_, pairs) = deduper.analyze_blocking(&data.records);
    let prepared = deduper.prepare(&data.records);

    let mut group = c.benchmark_group("mergetag_dedup::PreparedRecords::compare");
    group.throughput(Throughput::Elements(pairs.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("naive_strsim_baseline", pairs.len()),
        &pairs,
        |b, pairs| {
            b.iter(|| {
                let mut sum = 0.0;
                for &(x, y) in pairs {
                    sum += naive_compare(&data.records[x], &data.records[y]);
                }
                assert!(sum > 0.0);
                black_box(sum)
            });
        },
    );
    group.bench_with_input(
        BenchmarkId::new("prepared_levels", pairs.len()),
        &pairs,
        |b, pairs| {
            b.iter(|| {
                let mut acc = 0u64;
                for &(x, y) in pairs {
                    acc = acc.wrapping_add(prepared.compare(x, y));
                }
                assert_ne!(acc, 0);
                black_box(acc)
            });
        },
    );
    group.finish();
}

fn jaro_winkler_kernel(c: &mut Criterion) {
    let data = Generator::new(2).generate(2_000);
    let names: Vec<String> = data
        .records
        .iter()
        .filter_map(|r| r.text(fields::LAST_NAME).map(str::to_lowercase))
        .collect();
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .zip(names.iter().skip(1))
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut group = c.benchmark_group("mergetag_dedup::similarity::jaro_winkler");
    group.throughput(Throughput::Elements(pairs.len() as u64));
    group.bench_function(BenchmarkId::new("strsim_baseline", pairs.len()), |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(x, y)| strsim::jaro_winkler(x, y))
                .sum::<f64>()
        });
    });
    group.bench_function(BenchmarkId::new("bytes_kernel", pairs.len()), |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(x, y)| similarity::jaro_winkler(x.as_bytes(), y.as_bytes()))
                .sum::<f64>()
        });
    });
    group.finish();
}

fn blocking(c: &mut Criterion) {
    let mut group = c.benchmark_group("mergetag_dedup::Deduper::analyze_blocking");
    group.sample_size(10);
    let data = Generator::new(5).generate(100_000);
    let deduper = Deduper::new(DedupConfig::contacts()).unwrap();
    group.throughput(Throughput::Elements(data.records.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("contacts", data.records.len()),
        &data,
        |b, data| {
            b.iter(|| {
                let (report, pairs) = deduper.analyze_blocking(&data.records);
                assert_eq!(report.candidate_pairs as usize, pairs.len());
                pairs.len()
            });
        },
    );
    group.finish();
}

fn end_to_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("mergetag_dedup::Deduper::run");
    group.sample_size(10);
    let mut sizes = vec![10_000usize, 100_000];
    // About 1.04M records: two minutes of samples. `examples/dedup_scale.rs` reports the same
    // run's time, peak memory and F1, and measures an earlier commit on the same data.
    if std::env::var_os("MERGETAG_BENCH_1M").is_some() {
        sizes.push(700_000);
    }
    for people in sizes {
        let data = Generator::new(7).generate(people);
        let deduper = Deduper::new(DedupConfig::contacts()).unwrap();
        group.throughput(Throughput::Elements(data.records.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("contacts", data.records.len()),
            &data,
            |b, data| {
                b.iter(|| {
                    let r = deduper.run(&data.records);
                    let s = eval::pairwise(&r.clusters, &data.entities);
                    assert!(s.f1 > 0.98, "{s:?}");
                    r.cluster_count
                });
            },
        );
    }
    group.finish();
}

criterion_group!(
    benches,
    jaro_winkler_kernel,
    comparison_loop,
    blocking,
    end_to_end
);
criterion_main!(benches);
