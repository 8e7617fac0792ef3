//! The public FEBRL benchmarks through the CLI, with the configuration shipped in
//! `examples/cli/febrl.toml`: pairwise and cluster F1 against the published true pairs.

// The tests report the F1 figures on stderr.
#![allow(clippy::print_stderr)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mergetag");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read_pairs(path: &Path, a: &str, b: &str) -> BTreeSet<(String, String)> {
    let mut reader = csv::Reader::from_path(path).expect("pairs file");
    let headers = reader.headers().expect("header").clone();
    let ia = headers
        .iter()
        .position(|h| h == a)
        .expect("first id column");
    let ib = headers
        .iter()
        .position(|h| h == b)
        .expect("second id column");
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            let (x, y) = (r[ia].to_owned(), r[ib].to_owned());
            if x < y { (x, y) } else { (y, x) }
        })
        .collect()
}

fn f1(predicted: &BTreeSet<(String, String)>, truth: &BTreeSet<(String, String)>) -> f64 {
    let tp = predicted.intersection(truth).count() as f64;
    let precision = tp / predicted.len().max(1) as f64;
    let recall = tp / truth.len().max(1) as f64;
    if tp == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

fn run(name: &str) -> (f64, f64) {
    let data = root().join("examples/data/febrl");
    let dir = std::env::temp_dir().join(format!("mergetag-febrl-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pairs, clusters) = (dir.join("pairs.csv"), dir.join("clusters.csv"));
    let out = Command::new(BIN)
        .arg("dedup")
        .arg("--config")
        .arg(root().join("examples/cli/febrl.toml"))
        .arg(data.join(format!("{name}.csv")))
        .arg("--out-pairs")
        .arg(&pairs)
        .arg("--out-clusters")
        .arg(&clusters)
        .output()
        .expect("runs mergetag");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let truth = read_pairs(
        &data.join(format!("{name}_true_pairs.csv")),
        "rec_id_a",
        "rec_id_b",
    );
    let predicted = read_pairs(&pairs, "id_a", "id_b");
    // Cluster F1: every two records put in one cluster form a pair.
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    let mut reader = csv::Reader::from_path(&clusters).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        members
            .entry(r[1].to_owned())
            .or_default()
            .push(r[0].to_owned());
    }
    let mut clustered = BTreeSet::new();
    for m in members.values_mut() {
        m.sort();
        for (i, x) in m.iter().enumerate() {
            for y in &m[i + 1..] {
                clustered.insert((x.clone(), y.clone()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    (f1(&predicted, &truth), f1(&clustered, &truth))
}

#[test]
fn febrl1_pairwise_and_cluster_f1() {
    let (pairwise, clusters) = run("febrl1");
    eprintln!("FEBRL 1: pairwise F1 {pairwise:.4}, cluster F1 {clusters:.4}");
    assert!(pairwise >= 0.998, "pairwise F1 {pairwise}");
    assert!(clusters >= 0.998, "cluster F1 {clusters}");
}

#[test]
fn febrl2_pairwise_and_cluster_f1() {
    let (pairwise, clusters) = run("febrl2");
    eprintln!("FEBRL 2: pairwise F1 {pairwise:.4}, cluster F1 {clusters:.4}");
    assert!(pairwise >= 0.998, "pairwise F1 {pairwise}");
    assert!(clusters >= 0.998, "cluster F1 {clusters}");
}
