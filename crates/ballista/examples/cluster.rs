//! Deduplicates generated customer records on a running Ballista cluster and checks the
//! answers against the local plan and the in-process run.
//!
//! Start a scheduler and executors first (`crates/ballista/run-cluster.sh` does it all on
//! 127.0.0.1), then:
//!
//! ```text
//! cargo run -p mergetag-ballista --example cluster -- df://127.0.0.1:50050 5000
//! ```
//!
//! The arguments: the scheduler's address and how many people to generate (each with
//! noisy duplicates). The plan's files go to a temporary directory, which the executors
//! must be able to read and write: run them on this machine, or set `MERGETAG_PLAN_DIR` to
//! a shared file system mounted at the same path on every executor.

// An example prints what it found.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::time::Instant;

use mergetag_ballista::ClusterPlan;
use mergetag_dedup::{DedupConfig, eval};
use mergetag_scale::DedupPlan;
use mergetag_testkit::{Generator, Noise, peak_rss_mib};

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let scheduler = args
        .next()
        .unwrap_or_else(|| "df://127.0.0.1:50050".to_owned());
    let people: usize = args.next().map_or(Ok(5_000), |n| n.parse())?;

    let generated = Generator::new(2026)
        .noise(Noise::default())
        .generate(people);
    let (records, entities) = (generated.records, generated.entities);
    println!(
        "{} records ({people} people with duplicates)",
        records.len()
    );

    // The model: trained in process, as for a local plan.
    let deduper = DedupConfig::contacts().build()?;
    let started = Instant::now();
    let in_process = deduper.run(&records);
    println!(
        "in process: {} matches, {} clusters in {:.1?}",
        in_process.matches.len(),
        in_process.cluster_count,
        started.elapsed()
    );

    let temp = tempfile::tempdir()?;
    let dir =
        std::env::var_os("MERGETAG_PLAN_DIR").map_or_else(|| temp.path().to_path_buf(), Into::into);
    let plan = DedupPlan::new(deduper)?;
    let started = Instant::now();
    let local = plan.run(&records, &in_process.model, &dir.join("local"))?;
    println!(
        "local plan: {} matches, {} clusters in {:.1?}",
        local.matches.len(),
        local.cluster_count,
        started.elapsed()
    );

    let cluster = ClusterPlan::new(plan, &scheduler)?;
    let started = Instant::now();
    let remote = cluster.run(&records, &in_process.model, &dir.join("cluster"))?;
    let truth = eval::pairwise(&remote.clusters, &entities);
    println!(
        "on {scheduler}: {} matches, {} clusters in {:.1?}; {} candidate pairs; pairwise F1 {:.4} (precision {:.4}, recall {:.4}); pairs in {}",
        remote.matches.len(),
        remote.cluster_count,
        started.elapsed(),
        remote.blocking.candidate_pairs,
        truth.f1,
        truth.precision,
        truth.recall,
        remote.pairs_file.display()
    );

    // Pairs as (first, second, weight bits, probability bits): equal means equal to the bit.
    let bits = |pairs: Vec<(usize, usize, f64, f64)>| {
        let mut v: Vec<_> = pairs
            .into_iter()
            .map(|(a, b, w, p)| (a, b, w.to_bits(), p.to_bits()))
            .collect();
        v.sort_unstable();
        v
    };
    let remote_pairs = bits(
        remote
            .matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability))
            .collect(),
    );
    let local_pairs = bits(
        local
            .matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability))
            .collect(),
    );
    let run_pairs = bits(
        in_process
            .matches
            .iter()
            .map(|p| (p.a, p.b, p.weight, p.probability))
            .collect(),
    );
    let same_pairs = remote_pairs == local_pairs && remote_pairs == run_pairs;
    let same_clusters = remote.clusters == local.clusters && remote.clusters == in_process.clusters;
    println!("same pairs as the local plan and the in-process run: {same_pairs}");
    println!("same clusters as the local plan and the in-process run: {same_clusters}");
    println!(
        "peak memory of this client (records, the in-process run, the local plan): {} MiB",
        peak_rss_mib()
    );
    Ok(if same_pairs && same_clusters {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
