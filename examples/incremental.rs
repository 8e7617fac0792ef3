//! Incremental matching: index the Salesforce contacts once, then match a stream of new
//! sign-ups (here: the HubSpot export, one record at a time) against the index, with stable
//! profile ids, explanations, a merge log, save and load, and an erasure request.
//!
//! ```sh
//! cargo run --release --example incremental
//! ```
//!
//! Writes the index to `target/incremental/contacts.mtix` and the merge log to
//! `target/incremental/merge_log.jsonl`.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::Path;

use mergetag::dedup::index::{Action, LogEvent, MatchIndex};
use mergetag::dedup::{DedupConfig, Deduper};
use mergetag::sources::{ColumnMap, CsvSource, OnBadRow};
use mergetag::{Record, Source};

/// Every well-formed record of a CSV export (bad rows are counted and set aside).
fn read(name: &str, file: &str, map: ColumnMap) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(file);
    let mut source = CsvSource::builder()
        .on_bad_row(OnBadRow::Quarantine)
        .column_map(map)
        .from_path(name, path)?;
    let records = Source::records(&mut source).collect::<Result<Vec<_>, _>>()?;
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    println!(
        "{name}: {} records, {} malformed rows set aside",
        records.len(),
        rejects.len()
    );
    Ok(records)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/incremental");
    fs::create_dir_all(&out)?;

    // 1. The existing customer base: train a model on it once (in production, load the
    //    reviewed model from JSON), and index it. Profile ids are numbered from 1.
    let existing = read(
        "salesforce",
        "salesforce_contacts.csv",
        ColumnMap::salesforce_contacts(),
    )?;
    let deduper = Deduper::new(DedupConfig::contacts())?;
    let model = deduper.run(&existing).model;
    let mut index = MatchIndex::build(&deduper, &model, existing)?;
    println!(
        "indexed {} records as {} profiles",
        index.len(),
        index.profile_count()
    );

    // 2. New sign-ups arrive one at a time.
    let signups = read(
        "hubspot",
        "hubspot_contacts.csv",
        ColumnMap::hubspot_contacts(),
    )?;
    let mut actions: BTreeMap<&str, usize> = BTreeMap::new();
    let mut shown = 0;
    for record in signups {
        let outcome = index.add(record);
        let name = match outcome.action {
            Action::Created => "new profile",
            Action::Attached => "joined a profile",
            Action::Merged => "bridged profiles",
        };
        *actions.entry(name).or_default() += 1;
        // Show why the first two were attached.
        if outcome.action != Action::Created && shown < 2 {
            shown += 1;
            let why = &outcome.evidence[0];
            println!(
                "\n{} -> {} (matched {}; {})\n{}",
                outcome.record, outcome.profile, why.with, why.rule, why.explanation
            );
        }
    }
    println!("\nsign-ups: {actions:?}");
    println!(
        "now {} records in {} profiles",
        index.len(),
        index.profile_count()
    );

    // 3. The index survives a restart: save, load, same profiles under the same ids.
    let file = out.join("contacts.mtix");
    index.save_to_path(&file)?;
    let loaded = MatchIndex::load_from_path(&file)?;
    assert!(loaded.profiles().eq(index.profiles()));
    println!(
        "saved and loaded {} ({} bytes)",
        file.display(),
        fs::metadata(&file)?.len()
    );

    // 4. A right-to-be-forgotten request for the largest profile: its records go, the merge
    //    log keeps a tombstone number where their ids were.
    let (largest, members) = index
        .profiles()
        .max_by_key(|(id, members)| (members.len(), std::cmp::Reverse(*id)))
        .map(|(id, m)| (id, m.len()))
        .ok_or("the index is empty")?;
    let erasure = index.erase_profile(largest)?;
    println!(
        "erased {largest} ({members} records): tombstone #{}, {} records removed",
        erasure.tombstone, erasure.records
    );

    // 5. The merge log: every creation, attachment, merge, split and erasure, with evidence.
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    let mut log = std::io::BufWriter::new(fs::File::create(out.join("merge_log.jsonl"))?);
    for entry in index.log() {
        serde_json::to_writer(&mut log, entry)?;
        writeln!(log)?;
        let kind = match entry.event {
            LogEvent::Built { .. } => "built",
            LogEvent::Created { .. } => "created",
            LogEvent::Attached { .. } => "attached",
            LogEvent::Merged { .. } => "merged",
            LogEvent::RefusedBridge { .. } => "refused bridge",
            LogEvent::Removed { .. } => "removed",
            LogEvent::Split { .. } => "split",
            LogEvent::Linked { .. } => "linked",
            LogEvent::Erased { .. } => "erased",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    log.flush()?;
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!(
        "merge log: {kinds:?}, written to {}",
        out.join("merge_log.jsonl").display()
    );
    Ok(())
}
