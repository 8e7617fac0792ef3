//! Deduplication as a DataFusion plan beside the in-process run and a naive DataFusion UDF,
//! each measured in the same run.
//!
//! `mergetag_scale::blocking_join_levels`: one blocking pass (last name + birth date) as a
//! sort-merge self-join, with each candidate pair's comparison levels from
//! - `levels_udf`: `mergetag_levels`, one call per batch into the dedup crate's comparisons;
//! - `naive_row_udf`: a UDF that converts every row's values to owned lower-cased strings and
//!   calls `strsim::jaro_winkler` per field (what a straightforward UDF does);
//! - `in_process`: `Deduper::analyze_blocking` (its preparation included) and
//!   `PreparedRecords::compare` over the same pairs.
//!
//! `mergetag_scale::DedupPlan::run`: the whole plan (records table, every pass, scoring,
//! clustering, Parquet) beside `Deduper::run_with_model` with the same model.
//!
//! Run with `cargo bench --bench scale --features scale`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::dedup::{DedupConfig, Deduper};
use mergetag::lake::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use mergetag::lake::arrow::datatypes::{DataType, Field, Float64Type, Schema, UInt64Type};
use mergetag::scale::datafusion::common::{Result as DfResult, ScalarValue};
use mergetag::scale::datafusion::datasource::MemTable;
use mergetag::scale::datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use mergetag::scale::datafusion::prelude::{SessionConfig, SessionContext};
use mergetag::scale::{DedupPlan, register_udfs};
use mergetag::{Record, fields};
use mergetag_testkit::{Generator, Noise};

const RAW: [&str; 7] = [
    fields::FIRST_NAME,
    fields::LAST_NAME,
    fields::EMAIL,
    fields::PHONE,
    fields::BIRTH_DATE,
    fields::STREET,
    fields::POSTAL_CODE,
];

/// The naive baseline: per row, each value taken out as a `ScalarValue`, lower-cased into a
/// new `String`, compared with `strsim::jaro_winkler`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct NaiveJaroWinkler {
    signature: Signature,
}

impl ScalarUDFImpl for NaiveJaroWinkler {
    fn name(&self) -> &str {
        "naive_jw"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let half = arrays.len() / 2;
        let text = |v: ScalarValue| match v {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)) => Some(s.to_lowercase()),
            _ => None,
        };
        let mut out = Vec::with_capacity(args.number_rows);
        for row in 0..args.number_rows {
            let mut sum = 0.0;
            for f in 0..half {
                let a = text(ScalarValue::try_from_array(&arrays[f], row)?);
                let b = text(ScalarValue::try_from_array(&arrays[half + f], row)?);
                if let (Some(a), Some(b)) = (a, b) {
                    sum += strsim::jaro_winkler(&a, &b);
                }
            }
            out.push(sum);
        }
        Ok(ColumnarValue::Array(Arc::new(Float64Array::from(out))))
    }
}

/// One table: position, the pass's key, the folded features and the raw fields.
fn table(deduper: &Deduper, records: &[Record]) -> (Arc<Schema>, Vec<RecordBatch>, usize) {
    let features = deduper.features(records);
    let mut fields = vec![
        Field::new("pos", DataType::UInt32, false),
        Field::new("k", DataType::UInt64, true),
    ];
    fields.extend(
        (0..features.column_count()).map(|c| Field::new(format!("f{c}"), DataType::Utf8, false)),
    );
    fields.extend(
        RAW.iter()
            .map(|f| Field::new(format!("raw_{f}"), DataType::Utf8, true)),
    );
    let schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::new();
    for start in (0..records.len()).step_by(8192) {
        let rows = start..(start + 8192).min(records.len());
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from_iter_values(
                rows.clone().map(|i| i as u32),
            )),
            Arc::new(UInt64Array::from_iter(
                rows.clone()
                    .map(|i| Some(features.keys(0)[i]).filter(|&k| k != 0)),
            )),
        ];
        for c in 0..features.column_count() {
            columns.push(Arc::new(StringArray::from_iter_values(
                rows.clone().map(|i| features.value(c, i).to_owned()),
            )));
        }
        for f in RAW {
            columns.push(Arc::new(StringArray::from_iter(
                rows.clone().map(|i| records[i].text(f).map(str::to_owned)),
            )));
        }
        batches.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
    }
    (schema, batches, features.column_count())
}

fn blocking_join_levels(c: &mut Criterion) {
    let records = Generator::new(11)
        .noise(Noise::default())
        .generate(20_000)
        .records;
    let mut config = DedupConfig::contacts();
    config.blocking = vec![config.blocking[2].clone()];
    let deduper = Deduper::new(config).unwrap();
    let (report, pairs) = deduper.analyze_blocking(&records);
    let n_pairs = report.candidate_pairs;
    let prepared = deduper.prepare(&records);
    let (schema, batches, columns) = table(&deduper, &records);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(2)
            .set_bool("datafusion.optimizer.prefer_hash_join", false),
    );
    let parts: Vec<Vec<RecordBatch>> = vec![batches];
    ctx.register_table("t", Arc::new(MemTable::try_new(schema, parts).unwrap()))
        .unwrap();
    register_udfs(&ctx, &deduper, None);
    ctx.register_udf(ScalarUDF::new_from_impl(NaiveJaroWinkler {
        signature: Signature::variadic_any(Volatility::Immutable),
    }));
    let left: Vec<String> = (0..columns).map(|c| format!("l.f{c}")).collect();
    let right: Vec<String> = (0..columns).map(|c| format!("r.f{c}")).collect();
    let levels_sql = format!(
        "SELECT mergetag_levels({}, {}) AS p FROM t l JOIN t r ON l.k = r.k AND l.pos < r.pos",
        left.join(", "),
        right.join(", ")
    );
    let raw_l: Vec<String> = RAW.iter().map(|f| format!("l.raw_{f}")).collect();
    let raw_r: Vec<String> = RAW.iter().map(|f| format!("r.raw_{f}")).collect();
    let naive_sql = format!(
        "SELECT naive_jw({}, {}) AS s FROM t l JOIN t r ON l.k = r.k AND l.pos < r.pos",
        raw_l.join(", "),
        raw_r.join(", ")
    );
    let run = |sql: &str| -> (usize, f64) {
        runtime.block_on(async {
            let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            let mut rows = 0;
            let mut acc = 0.0;
            for b in &batches {
                rows += b.num_rows();
                let col = b.column(0);
                if let Some(p) = col.as_primitive_opt::<UInt64Type>() {
                    acc += p.values().iter().map(|&x| (x & 0xF) as f64).sum::<f64>();
                } else if let Some(s) = col.as_primitive_opt::<Float64Type>() {
                    acc += s.values().iter().sum::<f64>();
                }
                assert_eq!(col.null_count(), 0);
            }
            (rows, acc)
        })
    };

    let mut group = c.benchmark_group("mergetag_scale::blocking_join_levels");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n_pairs));
    group.bench_function(BenchmarkId::new("in_process", n_pairs), |b| {
        b.iter(|| {
            let (_, pairs) = deduper.analyze_blocking(&records);
            let mut acc = 0u64;
            for &(x, y) in &pairs {
                acc = acc.wrapping_add(prepared.compare(x, y));
            }
            assert_eq!(pairs.len() as u64, n_pairs);
            black_box(acc)
        });
    });
    group.bench_function(BenchmarkId::new("levels_udf", n_pairs), |b| {
        b.iter(|| {
            let (rows, acc) = run(&levels_sql);
            assert_eq!(rows as u64, n_pairs);
            black_box(acc)
        });
    });
    group.bench_function(BenchmarkId::new("naive_row_udf", n_pairs), |b| {
        b.iter(|| {
            let (rows, acc) = run(&naive_sql);
            assert_eq!(rows as u64, n_pairs);
            black_box(acc)
        });
    });
    group.finish();
    // The UDF's levels are the in-process levels.
    let mut direct: Vec<u64> = pairs.iter().map(|&(x, y)| prepared.compare(x, y)).collect();
    let mut via_udf: Vec<u64> = runtime.block_on(async {
        let batches = ctx.sql(&levels_sql).await.unwrap().collect().await.unwrap();
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().values().to_vec())
            .collect()
    });
    direct.sort_unstable();
    via_udf.sort_unstable();
    assert_eq!(direct, via_udf);
}

fn whole_plan(c: &mut Criterion) {
    let records = Generator::new(12)
        .noise(Noise::default())
        .generate(20_000)
        .records;
    let deduper = DedupConfig::contacts().build().unwrap();
    let expected = deduper.run(&records);
    let model = expected.model.clone();
    let plan = DedupPlan::new(deduper.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("mergetag_scale::DedupPlan::run");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function(
        BenchmarkId::new("in_process_run_with_model", records.len()),
        |b| {
            b.iter(|| {
                let r = deduper
                    .run_with_model(&deduper.prepare(&records), &model)
                    .unwrap();
                assert_eq!(r.clusters, expected.clusters);
                black_box(r.cluster_count)
            });
        },
    );
    group.bench_function(BenchmarkId::new("plan", records.len()), |b| {
        b.iter(|| {
            let r = plan.run(&records, &model, dir.path()).unwrap();
            assert_eq!(r.clusters, expected.clusters);
            black_box(r.cluster_count)
        });
    });
    group.finish();
}

criterion_group!(benches, blocking_join_levels, whole_plan);
criterion_main!(benches);
