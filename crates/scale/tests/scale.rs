//! The plan gives the in-process run's answers: the same pairs (ids and weights, to the bit),
//! the same clusters and the same blocking report, whatever the partitioning and input order.

use mergetag_dedup::{DedupConfig, DedupResult, Deduper};
use mergetag_model::Record;
use mergetag_scale::{DedupPlan, PlanResult, train_on_sample};
use mergetag_testkit::{Generator, Noise};

/// Pairs of input indices with their weight and probability, as (id, id, weight bits,
/// probability bits), sorted.
fn sorted_pairs(
    records: &[Record],
    pairs: impl Iterator<Item = (usize, usize, f64, f64)>,
) -> Vec<(String, String, u64, u64)> {
    let mut v: Vec<_> = pairs
        .map(|(a, b, weight, probability)| {
            (
                records[a].id.to_string(),
                records[b].id.to_string(),
                weight.to_bits(),
                probability.to_bits(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The plan's matches, as [`sorted_pairs`].
fn plan_pairs(records: &[Record], r: &PlanResult) -> Vec<(String, String, u64, u64)> {
    sorted_pairs(
        records,
        r.matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability)),
    )
}

/// The in-process run's matches, as [`sorted_pairs`].
fn run_pairs(records: &[Record], r: &DedupResult) -> Vec<(String, String, u64, u64)> {
    sorted_pairs(
        records,
        r.matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability)),
    )
}

/// Each record id with its cluster.
fn clusters_by_id(records: &[Record], clusters: &[u32]) -> Vec<(String, u32)> {
    let mut v: Vec<_> = records
        .iter()
        .zip(clusters)
        .map(|(r, &c)| (r.id.to_string(), c))
        .collect();
    v.sort();
    v
}

fn same_answers(people: usize, seed: u64) {
    let records = Generator::new(seed)
        .noise(Noise::default())
        .generate(people)
        .records;
    assert!(records.len() > people, "{}", records.len());
    let deduper = DedupConfig::contacts().build().unwrap();
    let in_process = deduper.run(&records);
    let dir = tempfile::tempdir().unwrap();
    let plan = DedupPlan::new(deduper).unwrap();
    let result = plan.run(&records, &in_process.model, dir.path()).unwrap();
    assert!(!in_process.matches.is_empty());
    assert_eq!(result.blocking, in_process.blocking);
    assert_eq!(result.model, in_process.model);
    assert_eq!(
        plan_pairs(&records, &result),
        run_pairs(&records, &in_process)
    );
    assert_eq!(result.clusters, in_process.clusters);
    assert_eq!(result.cluster_count, in_process.cluster_count);
    assert_eq!(result.refused_bridges, in_process.refused_bridges);
    assert!(result.pairs_file.exists());
}

#[test]
fn same_answers_as_the_in_process_run() {
    same_answers(3_000, 18);
}

/// About 100k records (67,000 people): 16 s unoptimised on a 2-core machine.
#[test]
fn same_answers_at_100k_records() {
    same_answers(67_000, 100);
}

/// Records given in chunks (uneven, one empty) under a memory pool: the answers of the
/// in-process run, with record indexes counted across chunks.
#[test]
fn chunks_under_a_memory_pool_give_the_same_answers() {
    let mut records = Generator::new(21)
        .noise(Noise::default())
        .generate(2_500)
        .records;
    // Ids from two sources, some keyed by row: the plan orders them as the in-process run.
    for (i, r) in records.iter_mut().enumerate() {
        if i % 3 == 0 {
            r.id = mergetag_model::RecordId::row("crm", (i * 7 % 1000) as u64);
        } else if i % 3 == 1 {
            r.id.source = mergetag_model::SourceName::new("crm");
        }
    }
    let deduper = DedupConfig::contacts().build().unwrap();
    let in_process = deduper.run(&records);
    let dir = tempfile::tempdir().unwrap();
    let mut plan = DedupPlan::new(deduper).unwrap();
    // Each sort's merge reserves 10 MB (DataFusion's `sort_spill_reservation_bytes`).
    plan.memory_limit(Some(256 << 20))
        .batch_size(1_000)
        .target_partitions(2);
    let sizes = [700, 0, 1, 1_299];
    let mut chunks = Vec::new();
    let mut start = 0;
    for size in sizes {
        let end = (start + size).min(records.len());
        chunks.push(records[start..end].to_vec());
        start = end;
    }
    chunks.push(records[start..].to_vec());
    let chunked = plan
        .run_chunks(chunks, &in_process.model, &dir.path().join("chunks"))
        .unwrap();
    assert_eq!(chunked.clusters.len(), records.len());
    assert_eq!(chunked.blocking, in_process.blocking);
    assert_eq!(
        plan_pairs(&records, &chunked),
        run_pairs(&records, &in_process)
    );
    assert_eq!(chunked.clusters, in_process.clusters);
    assert_eq!(chunked.refused_bridges, in_process.refused_bridges);
    // The pairs file names the records by id.
    let pairs = std::fs::read(&chunked.pairs_file).unwrap();
    assert!(pairs.starts_with(b"PAR1"));
}

#[test]
fn partitions_and_input_order_do_not_change_the_result() {
    let mut records = Generator::new(3)
        .noise(Noise::default())
        .generate(2_000)
        .records;
    let deduper = DedupConfig::contacts().build().unwrap();
    // A model trained on a sample, rescaled to the whole data by the plan.
    let model = train_on_sample(&deduper, &records, 1_000);
    let dir = tempfile::tempdir().unwrap();
    let mut plan = DedupPlan::new(deduper).unwrap();
    let one = plan
        .target_partitions(1)
        .run(&records, &model, &dir.path().join("one"))
        .unwrap();
    let one_pairs = plan_pairs(&records, &one);
    let one_clusters = clusters_by_id(&records, &one.clusters);
    assert!(!one_pairs.is_empty());
    records.reverse();
    let third = records.len() / 3;
    records.rotate_left(third);
    let four = plan
        .target_partitions(4)
        .batch_size(333)
        .run(&records, &model, &dir.path().join("four"))
        .unwrap();
    assert_eq!(plan_pairs(&records, &four), one_pairs);
    assert_eq!(clusters_by_id(&records, &four.clusters), one_clusters);
    assert_eq!(four.blocking, one.blocking);
    // The sample's model with the prior rescaled is what Deduper::run_with_model scores with.
    let d = Deduper::new(DedupConfig::contacts()).unwrap();
    let with_model = d.run_with_model(&d.prepare(&records), &model).unwrap();
    assert_eq!(
        plan_pairs(&records, &four),
        run_pairs(&records, &with_model)
    );
    assert_eq!(four.clusters, with_model.clusters);
}

#[test]
fn oversized_blocks_are_capped_and_reported_as_in_process() {
    let records = Generator::new(5)
        .noise(Noise::default())
        .generate(1_500)
        .records;
    let mut config = DedupConfig::contacts();
    config.max_block_size = 3;
    let deduper = config.build().unwrap();
    let in_process = deduper.run(&records);
    assert!(
        in_process
            .blocking
            .passes
            .iter()
            .any(|p| p.oversized_blocks > 0)
    );
    let dir = tempfile::tempdir().unwrap();
    let result = DedupPlan::new(deduper)
        .unwrap()
        .run(&records, &in_process.model, dir.path())
        .unwrap();
    assert_eq!(result.blocking, in_process.blocking);
    assert_eq!(
        plan_pairs(&records, &result),
        run_pairs(&records, &in_process)
    );
    assert_eq!(result.clusters, in_process.clusters);
}

/// A session of the caller's, given twice: the second run replaces the first run's tables
/// and gives the same answers as `DedupPlan::run`.
#[test]
fn a_session_of_ones_own_gives_the_same_answers() {
    use mergetag_scale::datafusion::prelude::SessionContext;

    let records = Generator::new(7)
        .noise(Noise::default())
        .generate(800)
        .records;
    let deduper = DedupConfig::contacts().build().unwrap();
    let in_process = deduper.run(&records);
    let dir = tempfile::tempdir().unwrap();
    let plan = DedupPlan::new(deduper).unwrap();
    let ctx = SessionContext::new_with_config(plan.session_config());
    let first = plan
        .run_on(&ctx, &records, &in_process.model, &dir.path().join("first"))
        .unwrap();
    let second = plan
        .run_on(
            &ctx,
            &records,
            &in_process.model,
            &dir.path().join("second"),
        )
        .unwrap();
    let expected = run_pairs(&records, &in_process);
    assert!(!expected.is_empty());
    for result in [&first, &second] {
        assert_eq!(plan_pairs(&records, result), expected);
        assert_eq!(result.clusters, in_process.clusters);
        assert_eq!(result.blocking, in_process.blocking);
    }
    assert!(second.pairs_file.starts_with(dir.path().join("second")));
}

#[test]
fn a_model_for_another_configuration_is_an_error() {
    let records = Generator::new(1).generate(50).records;
    let deduper = DedupConfig::contacts().build().unwrap();
    let mut model = deduper.run(&records).model;
    model.comparisons.pop();
    let dir = tempfile::tempdir().unwrap();
    let e = DedupPlan::new(deduper)
        .unwrap()
        .run(&records, &model, dir.path())
        .unwrap_err();
    assert!(e.to_string().contains("model"), "{e}");
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn empty_input_gives_empty_results() {
    let deduper = DedupConfig::contacts().build().unwrap();
    let model = deduper.run(&Generator::new(1).generate(50).records).model;
    let dir = tempfile::tempdir().unwrap();
    let result = DedupPlan::new(deduper)
        .unwrap()
        .run(&[], &model, dir.path())
        .unwrap();
    assert!(result.matches.is_empty());
    assert!(result.clusters.is_empty());
}

/// The UDFs registered on a session of one's own, used from SQL: the levels are
/// `PreparedRecords::compare`'s, and a wrong call is an error, not a panic.
#[test]
fn the_udfs_work_on_any_session() {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, UInt32Array};
    use arrow::datatypes::{DataType, Field, Schema, UInt32Type, UInt64Type};
    use mergetag_scale::datafusion::datasource::MemTable;
    use mergetag_scale::datafusion::prelude::SessionContext;
    use mergetag_scale::register_udfs;

    let records = Generator::new(9)
        .noise(Noise::default())
        .generate(80)
        .records;
    let deduper = DedupConfig::contacts().build().unwrap();
    let model = deduper.run(&records).model;
    let features = deduper.features(&records);
    let mut fields = vec![Field::new("i", DataType::UInt32, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(UInt32Array::from_iter_values(
        0..records.len() as u32,
    ))];
    for c in 0..features.column_count() {
        fields.push(Field::new(format!("f{c}"), DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(
            (0..records.len()).map(|i| features.value(c, i)),
        )));
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let ctx = SessionContext::new();
    ctx.register_table(
        "t",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    register_udfs(&ctx, &deduper, Some(&model));
    let cols = |side: &str| -> Vec<String> {
        (0..features.column_count())
            .map(|c| format!("{side}.f{c}"))
            .collect()
    };
    let sql = format!(
        "SELECT l.i, r.i, mergetag_levels({}, {}) FROM t l JOIN t r ON l.i < r.i",
        cols("l").join(", "),
        cols("r").join(", ")
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let batches = runtime
        .block_on(async { ctx.sql(&sql).await?.collect().await })
        .unwrap();
    let prepared = deduper.prepare(&records);
    let mut rows = 0;
    for b in &batches {
        let (a, c, p) = (
            b.column(0).as_primitive::<UInt32Type>(),
            b.column(1).as_primitive::<UInt32Type>(),
            b.column(2).as_primitive::<UInt64Type>(),
        );
        for k in 0..b.num_rows() {
            let (x, y) = (a.value(k) as usize, c.value(k) as usize);
            assert_eq!(p.value(k), prepared.compare(x, y), "{x} {y}");
            rows += 1;
        }
    }
    assert_eq!(rows, records.len() * (records.len() - 1) / 2);
    // Wrong calls: errors naming the function.
    for sql in [
        "SELECT mergetag_levels(l.f0) FROM t l",
        "SELECT mergetag_weight(1, 2) FROM t",
    ] {
        let e = runtime
            .block_on(async { ctx.sql(sql).await?.collect().await })
            .unwrap_err();
        assert!(e.to_string().contains("mergetag_"), "{e}");
    }
}
