//! Deduplicating a million records on one machine: time, peak memory and F1.
//!
//! ```sh
//! # 700,000 generated people with realistic duplicates: about 1.04M records, 180 MB
//! cargo run --release --example dedup_scale -- write people.tsv 700000
//! # the contacts preset over them, twice: time, resident memory and pairwise F1 each time
//! cargo run --release --example dedup_scale -- run people.tsv
//! ```
//!
//! The file is one record per line: the true person, the record key, then `field=value` pairs,
//! tab-separated. `run` needs nothing but `mergetag_dedup` and `mergetag_model`, so the same
//! file measures an earlier commit on the same data: `git worktree add /tmp/prev COMMIT`, copy
//! this example there, and run both one after the other on a quiet machine. Peak memory is the
//! process's (`VmHWM` on Linux), the records' own share included.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::io::{BufRead, BufWriter, Write};

use mergetag_dedup::{DedupConfig, Deduper, eval};
use mergetag_model::{Record, RecordId};

/// A line of `/proc/self/status` in MiB (0 where there is none).
fn memory_mib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let v = l.strip_prefix(key)?.strip_prefix(':')?;
                v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kib| kib / 1024)
}

fn write(path: &str, people: usize) -> Result<(), Box<dyn Error>> {
    let data = mergetag_testkit::Generator::new(1).generate(people);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for (r, person) in data.records.iter().zip(&data.entities) {
        write!(out, "{person}\t{}", r.id.key)?;
        for f in r.fields() {
            if let Some(v) = f.value.as_str() {
                if v.contains(['\t', '\n']) {
                    return Err(format!("record {}: a tab or newline in a value", r.id).into());
                }
                write!(out, "\t{}={v}", f.name.as_str())?;
            }
        }
        writeln!(out)?;
    }
    out.flush()?;
    println!(
        "{} records of {people} people in {path}",
        data.records.len()
    );
    Ok(())
}

fn run(path: &str) -> Result<(), Box<dyn Error>> {
    let file = std::fs::File::open(path)?;
    let (mut records, mut people) = (Vec::new(), Vec::new());
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        let mut parts = line.split('\t');
        let bad = || format!("{path}:{}: not `person<TAB>key<TAB>field=value...`", n + 1);
        let person: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let key = parts.next().ok_or_else(bad)?;
        let mut r = Record::new(RecordId::id("scale", key));
        for part in parts {
            let (name, value) = part.split_once('=').ok_or_else(bad)?;
            r.set(name, value);
        }
        records.push(r);
        people.push(person);
    }
    let deduper = Deduper::new(DedupConfig::contacts())?;
    let before = memory_mib("VmRSS");
    for round in 1..=2 {
        let start = std::time::Instant::now();
        let result = deduper.run(&records);
        let took = start.elapsed();
        let f1 = eval::pairwise(&result.clusters, &people).f1;
        println!(
            "run {round}: {} records in {took:.2?}, pairwise F1 {f1:.4}; memory: {before} MiB before, peak {} MiB",
            records.len(),
            memory_mib("VmHWM")
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", path, people] => write(path, people.parse()?),
        ["run", path] => run(path),
        _ => Err("usage: dedup_scale write FILE PEOPLE | dedup_scale run FILE".into()),
    }
}
