//! Golden profiles from wide records: survivorship over exports with thousands of columns,
//! beside a baseline measured in the same run (the same fields merged into a plain
//! `BTreeMap`, most recent value first). The cost must grow with the number of fields, not
//! its square.
//!
//! Run with `cargo bench --bench profiles`. Fixtures are built deterministically (no
//! randomness): three records of one person from two sources, each with `n` columns.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::dedup::survivorship::{SurvivorshipConfig, golden_profiles};
use mergetag::{FieldName, Record, RecordId, Value};

const COLUMNS: [usize; 3] = [100, 2_500, 10_000];

/// Three records of one cluster with `n` columns each: every record has most columns, some
/// blank, values text and numbers, observed at different times.
fn wide_records(n: usize) -> (Vec<Record>, Vec<u32>) {
    let names: Vec<FieldName> = (0..n)
        .map(|i| FieldName::new(&format!("col{i:05}")))
        .collect();
    let mut records = Vec::new();
    for (k, (source, at)) in [
        ("crm", "2026-01-01T00:00:00Z"),
        ("shop", "2026-03-01T00:00:00Z"),
        ("crm", "2026-02-01T00:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = Record::new(RecordId::id(source, format!("{k}")));
        r.observed_at = at.parse().ok();
        for (i, name) in names.iter().enumerate() {
            // Each record skips a different tenth of the columns and blanks another.
            match (i + k * 3) % 10 {
                0 => continue,
                1 => r.push_unchecked(name.clone(), Value::Null),
                2 | 3 => r.push_unchecked(name.clone(), Value::Int((i * (k + 1)) as i64)),
                _ => r.push_unchecked(name.clone(), Value::from(format!("v{i}-{k}"))),
            }
        }
        records.push(r);
    }
    let clusters = vec![0; records.len()];
    (records, clusters)
}

/// The baseline: every non-missing value into a `BTreeMap` by field name, the most recently
/// observed record's value kept.
fn btreemap_baseline(records: &[Record]) -> BTreeMap<&str, &Value> {
    let mut order: Vec<&Record> = records.iter().collect();
    order.sort_by(|a, b| a.observed_at.cmp(&b.observed_at).then(a.id.cmp(&b.id)));
    let mut merged = BTreeMap::new();
    for r in order {
        for f in r.iter().filter(|f| !f.value.is_missing()) {
            merged.insert(f.name.as_str(), &f.value);
        }
    }
    merged
}

fn golden_profiles_wide(c: &mut Criterion) {
    let config = SurvivorshipConfig::default();
    let mut group = c.benchmark_group("mergetag_dedup::survivorship::golden_profiles");
    group.sample_size(10);
    for n in COLUMNS {
        let (records, clusters) = wide_records(n);
        // Every column has a value in at least one record.
        let expected = n;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("btreemap_baseline", n),
            &records,
            |b, records| {
                b.iter(|| {
                    let merged = btreemap_baseline(black_box(records));
                    assert_eq!(merged.len(), expected);
                    black_box(merged.len())
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("golden_profiles", n),
            &records,
            |b, records| {
                b.iter(|| {
                    let profiles = golden_profiles(black_box(records), &clusters, &config);
                    assert_eq!(profiles.len(), 1);
                    assert_eq!(profiles[0].fields.len(), expected);
                    black_box(profiles)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, golden_profiles_wide);
criterion_main!(benches);
