//! Quickstart: read the bundled sample data (a Salesforce and a HubSpot contact export, an
//! enrichment file and a Segment-style event stream) and report what was found.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```
//!
//! Every row ends up in exactly one place: an accepted record or the quarantine, with its
//! reason. The quarantine (JSON Lines, one rejected row per line with its position and raw
//! text) and a JSON summary are written to `target/quickstart/`.
//!
//! This grows with the project: as the normalize, validate, dedup and mapping stages land, the
//! quickstart runs them too.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use mergetag::dedup::survivorship::{SurvivorshipConfig, golden_profiles};
use mergetag::dedup::{DedupConfig, Deduper, eval};
use mergetag::model::Channel;
use mergetag::sources::{ColumnMap, ColumnType, CsvSource, JsonLinesBuilder, OnBadRow};
use mergetag::{EventKind, Record, Reject, Source, fields};

/// What one source gave.
#[derive(Debug, Default, serde::Serialize)]
struct SourceSummary {
    rows_in: u64,
    accepted: u64,
    quarantined: u64,
    /// Field name -> number of accepted records with a non-missing value.
    completeness: BTreeMap<String, u64>,
}

impl SourceSummary {
    fn count(&mut self, record: &Record) {
        self.accepted += 1;
        for f in record {
            if !f.value.is_missing() {
                *self.completeness.entry(f.name.to_string()).or_default() += 1;
            }
        }
    }
}

/// `truth.csv`: (source, key) -> person.
fn read_truth(
    path: &Path,
) -> Result<HashMap<(String, String), String>, Box<dyn std::error::Error>> {
    let mut truth = HashMap::new();
    for row in csv::Reader::from_path(path)?.records() {
        let row = row?;
        truth.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
    }
    Ok(truth)
}

/// A record's (source, key) as `truth.csv` writes it.
fn contact_key(r: &Record) -> (String, String) {
    (r.id.source.to_string(), r.id.key.to_string())
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data")
}

/// Reads every record of `source` into `accepted`, counting them and collecting the rejects.
fn drain(
    source: &mut dyn Source,
    accepted: &mut Vec<Record>,
    quarantine: &mut Vec<Reject>,
) -> Result<SourceSummary, Box<dyn std::error::Error>> {
    let mut summary = SourceSummary::default();
    let mut record = Record::default();
    // Reading into one record reuses its buffers row after row.
    while source.read_record(&mut record)? {
        summary.count(&record);
        accepted.push(record.clone());
    }
    let before = quarantine.len();
    source.drain_rejects(quarantine);
    summary.quarantined = (quarantine.len() - before) as u64;
    summary.rows_in = summary.accepted + summary.quarantined;
    Ok(summary)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = data_dir();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/quickstart");
    fs::create_dir_all(&out)?;

    // One builder, settings shared: bad rows are set aside for quarantine instead of stopping.
    let mut csv = CsvSource::builder();
    csv.on_bad_row(OnBadRow::Collect);

    // Salesforce: the preset plus this organisation's custom fields.
    let salesforce = ColumnMap::salesforce_contacts()
        .with_column("Loyalty_Tier__c", fields::LOYALTY_TIER)
        .with_typed_column(
            "Customer_Lifetime_Value__c",
            fields::CUSTOMER_LIFETIME_VALUE,
            ColumnType::Float,
        )
        .with_column("Preferred_Channel__c", fields::PREFERRED_CHANNEL);
    // Enrichment: keyed by email; its columns are kept as attributes under their own names.
    let enrichment = ColumnMap::new()
        .with_key("email")
        .with_column("company", fields::COMPANY)
        .with_column("industry", fields::INDUSTRY)
        .with_typed_column("employee_count", "employee_count", ColumnType::Int);

    let mut quarantine = Vec::new();
    let mut summaries = BTreeMap::new();
    let mut sources: Vec<(&str, Box<dyn Source>)> = vec![
        (
            "salesforce",
            Box::new(
                csv.column_map(salesforce)
                    .from_path("salesforce", data.join("salesforce_contacts.csv"))?,
            ),
        ),
        (
            "hubspot",
            Box::new(
                csv.column_map(ColumnMap::hubspot_contacts())
                    .from_path("hubspot", data.join("hubspot_contacts.csv"))?,
            ),
        ),
        (
            "enrichment",
            Box::new(
                csv.column_map(enrichment)
                    .from_path("enrichment", data.join("enrichment.csv"))?,
            ),
        ),
    ];
    // CRM contacts are deduplicated; the enrichment file, keyed by email, is joined to them.
    let mut contacts: Vec<Record> = Vec::new();
    let mut enrichment_rows: Vec<Record> = Vec::new();
    for (name, source) in &mut sources {
        let into = if *name == "enrichment" {
            &mut enrichment_rows
        } else {
            &mut contacts
        };
        summaries.insert(
            name.to_string(),
            drain(source.as_mut(), into, &mut quarantine)?,
        );
    }

    // The identify calls of the event stream describe people too: one record per call.
    let mut jsonl = JsonLinesBuilder::new();
    jsonl.on_bad_row(OnBadRow::Collect);
    let mut identifies = jsonl.identifies_from_path("segment", data.join("events.jsonl"))?;
    // Its bad lines are the event stream's, quarantined once below with the events.
    let identify_summary = drain(&mut identifies, &mut Vec::new(), &mut Vec::new())?;

    // Events: counted by kind and name.
    let mut events = jsonl.events_from_path("events", data.join("events.jsonl"))?;
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    let mut machine_opens = 0;
    let mut event_count = 0u64;
    for event in events.by_ref() {
        let event = event?;
        event_count += 1;
        let label = match event.kind {
            EventKind::Track => event.name.clone().unwrap_or_default(),
            kind => format!("({})", kind.as_str()),
        };
        *by_name.entry(label).or_default() += 1;
        if event.property("sg_machine_open").and_then(|v| v.as_bool()) == Some(true) {
            machine_opens += 1;
        }
    }
    let before = quarantine.len();
    events.drain_rejects(&mut quarantine);
    let events_quarantined = (quarantine.len() - before) as u64;

    // Dedup: which contacts are the same person, with no labels, then one golden profile each.
    let deduper = Deduper::new(DedupConfig::contacts())?;
    let prepared = deduper.prepare(&contacts);
    let result = deduper.run_prepared(&prepared);
    let survivorship = SurvivorshipConfig::from_toml_str(
        r#"
        default = "most_recent"
        source_priority = ["salesforce", "hubspot", "enrichment"]
        [fields]
        email = "source_priority"
        customer_lifetime_value = "max"
        "#,
    )?;
    // Enrichment rows join the profile whose members have the same email (case, Gmail dots
    // and +tags ignored); a row for nobody we know becomes a profile of its own.
    let mut by_email: HashMap<String, u32> = HashMap::new();
    let mut key = String::new();
    for (r, &c) in contacts.iter().zip(&result.clusters) {
        if let Some(email) = r.text(fields::EMAIL) {
            mergetag::dedup::fold::email(email, &mut key);
            if !key.is_empty() {
                by_email.entry(key.clone()).or_insert(c);
            }
        }
    }
    let mut clusters = result.clusters.clone();
    let mut next = result.cluster_count as u32;
    let mut enriched = 0;
    for r in &enrichment_rows {
        mergetag::dedup::fold::email(
            r.text(fields::EMAIL).unwrap_or(&r.id.key.to_string()),
            &mut key,
        );
        match by_email.get(&key) {
            Some(&c) => {
                clusters.push(c);
                enriched += 1;
            }
            None => {
                clusters.push(next);
                next += 1;
            }
        }
    }
    let mut everyone = contacts.clone();
    everyone.extend(enrichment_rows.iter().cloned());
    let profiles = golden_profiles(&everyone, &clusters, &survivorship);
    assert_eq!(
        profiles.iter().map(|p| p.members.len()).sum::<usize>(),
        everyone.len(),
        "every accepted record belongs to exactly one profile"
    );
    let suppressed = profiles
        .iter()
        .filter(|p| p.is_suppressed(Channel::Email))
        .count();
    let mut f = BufWriter::new(File::create(out.join("profiles.jsonl"))?);
    for p in &profiles {
        serde_json::to_writer(&mut f, p)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    // How good is it? The sample data comes with the truth of who is who.
    let truth = read_truth(&data.join("truth.csv"))?;
    let known: Vec<usize> = (0..contacts.len())
        .filter(|&i| truth.contains_key(&contact_key(&contacts[i])))
        .collect();
    let predicted: Vec<u32> = known.iter().map(|&i| result.clusters[i]).collect();
    let people: Vec<&str> = known
        .iter()
        .map(|&i| truth[&contact_key(&contacts[i])].as_str())
        .collect();
    let scores = eval::pairwise(&predicted, &people);

    // The quarantine: one JSON object a line, with the raw row for repair and re-ingestion.
    let mut q = BufWriter::new(File::create(out.join("quarantine.jsonl"))?);
    for reject in &quarantine {
        serde_json::to_writer(&mut q, reject)?;
        q.write_all(b"\n")?;
    }
    q.flush()?;
    let report = serde_json::json!({
        "sources": summaries,
        "dedup": {
            "records": contacts.len(),
            "enrichment_rows_joined": enriched,
            "candidate_pairs": result.blocking.candidate_pairs,
            "matches": result.matches.len(),
            "profiles": profiles.len(),
            "email_suppressed_profiles": suppressed,
            "against_truth": scores,
            "model": result.model,
        },
        "events": { "accepted": event_count, "quarantined": events_quarantined, "by_name": by_name, "machine_opens": machine_opens },
    });
    fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;

    println!("mergetag quickstart: sample data in {}", data.display());
    println!();
    println!(
        "{:<18} {:>8} {:>9} {:>12}",
        "source", "rows in", "accepted", "quarantined"
    );
    for (name, s) in &summaries {
        assert_eq!(s.rows_in, s.accepted + s.quarantined, "nothing is lost");
        println!(
            "{:<18} {:>8} {:>9} {:>12}",
            name, s.rows_in, s.accepted, s.quarantined
        );
    }
    println!(
        "{:<18} {:>8} {:>9} {:>12}",
        "events",
        event_count + events_quarantined,
        event_count,
        events_quarantined
    );
    println!(
        "segment identify calls: {} records (the other {} events describe behaviour, not people)",
        identify_summary.accepted,
        identifies.skipped()
    );
    println!();
    println!("quarantined rows (reason, position; raw rows are in quarantine.jsonl):");
    for reject in &quarantine {
        // The error names source, line and field, never the personal data in the row.
        println!("  {}", reject.to_error());
    }
    println!();
    println!("field completeness in accepted records:");
    for (name, s) in summaries
        .iter()
        .chain([(&"segment (identify)".to_string(), &identify_summary)])
    {
        let mut fields: Vec<_> = s.completeness.iter().collect();
        fields.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = fields
            .iter()
            .take(6)
            .map(|(f, n)| format!("{f} {}%", **n * 100 / s.accepted.max(1)))
            .collect();
        println!("  {name:<18} {}", top.join(", "));
    }
    println!();
    println!(
        "dedup: {} CRM records -> {} people ({} matches among {} candidate pairs); {} of {} enrichment rows joined by email",
        contacts.len(),
        result.cluster_count,
        result.matches.len(),
        result.blocking.candidate_pairs,
        enriched,
        enrichment_rows.len()
    );
    println!(
        "  {} golden profiles, {} suppressed for email (opted out, bounced or no consent)",
        profiles.len(),
        suppressed
    );
    println!(
        "  against the sample's truth: precision {:.3}, recall {:.3}, F1 {:.3}",
        scores.precision, scores.recall, scores.f1
    );
    if let Some(p) = result.matches.iter().find(|p| p.probability < 0.999) {
        println!(
            "  why records {} and {} match:",
            contacts[p.a].id, contacts[p.b].id
        );
        for line in deduper
            .explain(&result.model, &prepared, p.a, p.b)
            .to_string()
            .lines()
        {
            println!("    {line}");
        }
    }
    println!();
    println!("events by name:");
    for (name, n) in &by_name {
        println!("  {name:<22} {n:>6}");
    }
    println!("  (of the opens, {machine_opens} are machine opens: Apple Mail Privacy Protection)");
    println!();
    println!(
        "wrote {}, {} and {}",
        out.join("quarantine.jsonl").display(),
        out.join("profiles.jsonl").display(),
        out.join("report.json").display()
    );
    Ok(())
}
