//! `mergetag cluster` and `mergetag segment`, run as processes: the LABELS.csv and stdout
//! contracts, exit codes with line and column, refusal to overwrite the input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mergetag");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mergetag-cluster-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn kmeans_writes_labels_in_input_order_and_one_json_object() {
    let dir = temp_dir("kmeans");
    let input = examples().join("cli/features.csv");
    let out = dir.join("labels.csv");
    let o = run(&[
        "cluster",
        "--algorithm",
        "kmeans",
        s(&input),
        "--out",
        s(&out),
        "--k",
        "3",
        "--n-init",
        "2",
        "--seed",
        "9",
        "--scale",
        "robust",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "algorithm",
        "k",
        "inertia",
        "silhouette",
        "iterations",
        "converged",
        "noise",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["algorithm"], "kmeans");
    assert_eq!(json["k"], 3);
    assert_eq!(json["noise"], 0);
    let labels = std::fs::read_to_string(&out).unwrap();
    let ids: Vec<&str> = labels
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let input_ids: Vec<String> = std::fs::read_to_string(&input)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(labels.lines().next(), Some("id,label"));
    assert_eq!(ids, input_ids);
    assert!(
        labels
            .lines()
            .skip(1)
            .all(|l| ["0", "1", "2"].contains(&l.split(',').nth(1).unwrap()))
    );
    // The same seed, the same bytes.
    let again = dir.join("again.csv");
    let o2 = run(&[
        "cluster",
        "--algorithm",
        "kmeans",
        s(&input),
        "--out",
        s(&again),
        "--k",
        "3",
        "--n-init",
        "2",
        "--seed",
        "9",
        "--scale",
        "robust",
    ]);
    assert_eq!(o2.stdout, o.stdout);
    assert_eq!(std::fs::read(&again).unwrap(), labels.as_bytes());
}

#[test]
fn dbscan_marks_noise_minus_one() {
    let dir = temp_dir("dbscan");
    let input = dir.join("f.csv");
    let mut text = String::from("id,x,y\n");
    for i in 0..20 {
        text.push_str(&format!(
            "a{i},{},{}\n",
            (i % 5) as f64 * 0.1,
            (i / 5) as f64 * 0.1
        ));
    }
    text.push_str("far,50,50\n");
    std::fs::write(&input, text).unwrap();
    let out = dir.join("labels.csv");
    let o = run(&[
        "cluster",
        "--algorithm",
        "dbscan",
        s(&input),
        "--out",
        s(&out),
        "--eps",
        "0.25",
        "--min-samples",
        "3",
        "--scale",
        "none",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (json["k"].as_u64(), json["noise"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(json["iterations"].is_null() && json["converged"].is_null());
    let labels = std::fs::read_to_string(&out).unwrap();
    assert_eq!(labels.lines().last(), Some("far,-1"));
    assert_eq!(labels.lines().filter(|l| l.ends_with(",0")).count(), 20);
}

#[test]
fn bad_cells_exit_2_with_line_and_column() {
    let dir = temp_dir("bad");
    for (text, want) in [
        (
            "id,a,b\n1,2,3\n2,,4\n",
            "line 3, column 2: empty cell in column `a`",
        ),
        (
            "id,a,b\n1,2,x\n",
            "line 2, column 3: column `b` needs a finite number",
        ),
        ("id,a\n1,NaN\n", "line 2, column 2"),
    ] {
        let input = dir.join("f.csv");
        std::fs::write(&input, text).unwrap();
        let o = run(&[
            "cluster",
            "--algorithm",
            "kmeans",
            s(&input),
            "--out",
            s(&dir.join("l.csv")),
            "--k",
            "1",
        ]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{err}");
        assert!(o.stdout.is_empty());
        assert!(!dir.join("l.csv").exists());
    }
    // More clusters than rows: a usage error, not a panic.
    let input = dir.join("f.csv");
    std::fs::write(&input, "id,a\n1,2\n").unwrap();
    let o = run(&[
        "cluster",
        "--algorithm",
        "kmeans",
        s(&input),
        "--out",
        s(&dir.join("l.csv")),
        "--k",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn out_may_not_be_the_input() {
    let dir = temp_dir("same");
    let input = dir.join("f.csv");
    std::fs::write(&input, "id,a\n1,2\n2,3\n").unwrap();
    let o = run(&[
        "cluster",
        "--algorithm",
        "kmeans",
        s(&input),
        "--out",
        s(&input),
        "--k",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is the same file as the input"));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "id,a\n1,2\n2,3\n");
}

#[test]
fn segment_prints_sizes_and_descriptions() {
    let config = examples().join("data/segments.toml");
    let o = run(&["segment", "--config", s(&config)]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("4 segments of "), "{text}");
    assert!(text.contains("Big baskets"), "{text}");
    assert!(text.contains(" vs "), "{text}");
    let o = run(&["segment", "--config", s(&config), "--json"]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["model"]["segments"].as_array().unwrap().len(), 4);
    // A pipeline without [clusters]: exit 2, saying what to add.
    let o = run(&[
        "segment",
        "--config",
        s(&examples().join("data/pipeline.toml")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no [clusters] table"));
}
