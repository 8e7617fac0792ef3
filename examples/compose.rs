//! Compose: only the stages you need. Here, normalization and dedup of one CRM export, in a
//! dozen lines; no validation, no mapping, no output files.
//!
//! ```sh
//! cargo run --release --example compose
//! ```

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use mergetag::dedup::{DedupConfig, Deduper};
use mergetag::normalize::NormalizeConfig;
use mergetag::pipeline::Pipeline;
use mergetag::sources::{ColumnMap, CsvSource, OnBadRow};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/data/hubspot_contacts.csv"
    );
    let contacts = CsvSource::builder()
        .column_map(ColumnMap::hubspot_contacts())
        .on_bad_row(OnBadRow::Quarantine) // bad rows go to quarantine, with their line
        .from_path("hubspot", path)?;

    let output = Pipeline::builder()
        .source(contacts)
        .normalizer(NormalizeConfig::standard().build()?)
        .dedup(Deduper::new(DedupConfig::contacts())?)
        .build()?
        .run(|_| {})?;

    let r = &output.report;
    println!(
        "{} rows: {} accepted, {} quarantined",
        r.records_in, r.accepted, r.quarantined
    );
    println!(
        "{} golden profiles ({} merged from duplicates)",
        output.profiles.len(),
        r.profiles.merged
    );
    Ok(())
}
