//! The plan gives the in-process run's answers: the same pairs (ids and weights, to the bit),
//! the same clusters and the same blocking report, whatever the partitioning and input order.

use mergetag_dedup::{DedupConfig, DedupResult, Deduper};
use mergetag_model::Record;
use mergetag_scale::{DedupPlan, PlanResult, train_on_sample};
use mergetag_testkit::{Generator, Noise};

/// The matches as (id, id, weight bits, probability bits), sorted.
fn plan_pairs(records: &[Record], r: &PlanResult) -> Vec<(String, String, u64, u64)> {
    let mut v: Vec<_> = r
        .matches
        .iter()
        .map(|p| {
            (
                records[p.a].id.to_string(),
                records[p.b].id.to_string(),
                p.weight.to_bits(),
                p.probability.to_bits(),
            )
        })
        .collect();
    v.sort();
    v
}

fn run_pairs(records: &[Record], r: &DedupResult) -> Vec<(String, String, u64, u64)> {
    let mut v: Vec<_> = r
        .matches
        .iter()
        .map(|p| {
            (
                records[p.a].id.to_string(),
                records[p.b].id.to_string(),
                p.weight.to_bits(),
                p.probability.to_bits(),
            )
        })
        .collect();
    v.sort();
    v
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
