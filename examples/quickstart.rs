//! Quickstart: the whole pipeline on the bundled sample data: a Salesforce and a HubSpot
//! contact export, an enrichment file and a Segment-style event stream.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```
//!
//! The pipeline is described in one file, `examples/data/pipeline.toml`: which sources to read
//! and how, the normalizers, the validation rules, the dedup and survivorship settings, the
//! computed traits, the mapping document, and the platforms to write. The command-line tool runs
//! the same file (`mergetag run --config examples/data/pipeline.toml`).
//!
//! Every row ends up in exactly one place: an accepted record (in exactly one golden profile)
//! or the quarantine, with its reasons. Written to `target/quickstart/`:
//!
//! - `sendgrid.jsonl`, `mailchimp.jsonl`, `braze.jsonl`, `klaviyo.jsonl`: request bodies, one a
//!   line, suppressed contacts left out; `jsonl.jsonl`: one recipient a line;
//! - `profiles.jsonl`: the golden profiles, with the record every value came from;
//! - `quarantine.jsonl`: unreadable rows and invalid records, with every reason, to repair;
//! - `audit.json` / `audit.txt`: the data-quality audit (completeness and validity per field);
//! - `report.json` / `report.txt`: the run report.
//!
//! Then the predictions (`examples/data/predict.toml`, a `[predict]` table): expected
//! purchases in 90 days, P(alive), churn risk, 12-month CLV and the next product, as mapping
//! variables with fallbacks, with the holdout report.
//!
//! Last, the segments found in the data (`examples/data/segments.toml`, a `[clusters]` table):
//! each with its size and what sets it apart.

// An example talks to the person running it; the print lints are for libraries.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::path::Path;

use mergetag::dedup::eval;
use mergetag::pipeline::{ClusterStage, Pipeline, PipelineConfig, PredictStage, Step};
use mergetag::validate::QuarantineEntry;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = root.join("examples/data");

    // Load the pipeline: relative paths in the file are resolved against its directory, and
    // every mistake is reported with its line and column, or its key and how to fix it.
    let config = PipelineConfig::load(data.join("pipeline.toml"))?;
    let out = config
        .output_dir()
        .unwrap_or_else(|| root.join("target/quickstart"));
    let pipeline = Pipeline::from_config(&config)?;

    // Run it. The progress callback is what the command-line tool draws as progress bars;
    // here, one line per source read.
    println!("mergetag quickstart: sample data in {}", data.display());
    let output = pipeline.run(|p| {
        if p.finished && matches!(p.step, Step::Read | Step::Events) {
            println!(
                "  read {:<11} {:>5} rows",
                p.item.as_deref().unwrap_or(""),
                p.done
            );
        }
    })?;
    let report = &output.report;
    // Nothing is lost: these always hold.
    assert!(report.adds_up(), "{:?}", report.problems());
    assert_eq!(output.quarantine.len() as u64, report.quarantine_entries());

    // Profiles, quarantine, audit, audiences and report, in one call.
    output.write_to(&out)?;

    println!();
    print!("{report}");

    // Why a few rows were quarantined: the reason names the source, line and field, never
    // the personal data in the row.
    println!();
    println!("quarantined, first five (all in quarantine.jsonl, with the raw rows):");
    for entry in output.quarantine.iter().take(5) {
        match entry {
            QuarantineEntry::Reject { reject, .. } => println!("  {}", reject.to_error()),
            entry => {
                let id = entry.record().map(|r| r.id.to_string()).unwrap_or_default();
                println!("  {id}: {}", entry.findings()[0].message);
            }
        }
    }

    // How good is the dedup? The sample data comes with the truth of who is who; score the
    // CRM records' profiles against it.
    let mut truth: HashMap<(String, String), String> = HashMap::new();
    for row in csv::Reader::from_path(data.join("truth.csv"))?.records() {
        let row = row?;
        truth.insert((row[0].to_owned(), row[1].to_owned()), row[2].to_owned());
    }
    let mut predicted = Vec::new();
    let mut people = Vec::new();
    for (record, profile) in output.records.iter().zip(&output.profile_of) {
        let source = record.id.source.as_str();
        if source != "salesforce" && source != "hubspot" {
            continue;
        }
        if let Some(person) = truth.get(&(source.to_owned(), record.id.key.to_string())) {
            predicted.push(profile.0 as u32);
            people.push(person.as_str());
        }
    }
    let scores = eval::pairwise(&predicted, &people);
    println!();
    println!(
        "dedup against the sample's truth ({} CRM records): precision {:.3}, recall {:.3}, F1 {:.3}",
        predicted.len(),
        scores.precision,
        scores.recall,
        scores.f1
    );

    // Who was left out of the audiences, and why: suppressions, opt-outs, and the consent
    // rule (profiles made only of enrichment rows are never recipients).
    if let Some(o) = output.report.outputs.first() {
        println!(
            "{}: {} of {} profiles exported; left out: {}",
            o.platform,
            o.exported,
            o.recipients,
            o.excluded
                .iter()
                .map(|(why, n)| format!("{n} {why}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }

    // One recipient as SendGrid will see it: someone who has ordered.
    let sendgrid = output
        .audiences
        .iter()
        .find(|a| a.platform.as_str() == "sendgrid");
    let customer = sendgrid
        .into_iter()
        .flat_map(|a| &a.payloads)
        .filter_map(|p| p["personalizations"].as_array())
        .flatten()
        .find(|p| p["dynamic_template_data"]["orders"].as_i64() > Some(0));
    if let Some(p) = customer {
        println!(
            "a SendGrid recipient's variables: {}",
            p["dynamic_template_data"]
        );
    }
    println!();
    println!("wrote to {}:", out.canonicalize()?.display());
    let mut names: Vec<String> = std::fs::read_dir(&out)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    println!("  {}", names.join(", "));

    // Predictions: `examples/data/predict.toml` adds a [predict] table: BG/NBD and
    // Gamma-Gamma fitted on the golden profiles' orders give each profile the traits
    // expected_purchases_90d, p_alive, churn_risk (+ churn_risk_band), clv_12m and
    // recommended_product, which its mapping turns into variables with fallbacks.
    let config = PipelineConfig::load(data.join("predict.toml"))?;
    if let Some(predictor) = config.predictor()? {
        let mut rest = config.clone();
        rest.predict = None;
        let stage = PredictStage::new(predictor);
        let handle = stage.handle();
        let output = Pipeline::builder_from_config(&rest)?
            .profile_stage(stage)
            .build()?
            .run(|_| {})?;
        if let Some(p) = handle.result() {
            println!();
            if let Some(m) = &p.model {
                println!(
                    "predictions: {:?} on {} customers ({} to {}), converged {} in {} iterations; spend {:?}",
                    m.transaction,
                    m.customers,
                    m.trained_from,
                    m.trained_to,
                    m.convergence.converged,
                    m.convergence.iterations,
                    m.spend
                );
            }
            if let Some(h) = &p.holdout {
                println!(
                    "holdout after {}: {:.1} purchases predicted, {:.0} made (mean absolute error {:.2} per customer)",
                    h.calibration_end, h.total_predicted, h.total_actual, h.mean_absolute_error
                );
                for b in &h.buckets {
                    println!(
                        "  {:>2} repeat purchases: {:>3} customers, predicted {:.2}, actual {:.2}",
                        b.frequency, b.customers, b.predicted, b.actual
                    );
                }
                if let Some(r) = &h.hit_rate {
                    println!(
                        "  next product, hit rate at {} on {} people: co-occurrence {:.2}, popularity {:.2}",
                        r.k, r.people, r.co_occurrence, r.popularity
                    );
                }
            }
            if let Some(h) = &p.holdout {
                let s = &h.send_time;
                println!(
                    "  send time on {} held-out opens and clicks: within an hour of each person's best_send_hour {:.2}, of the fixed population hour {:.2}",
                    s.events, s.personal, s.fixed
                );
            }
            for note in &p.notes {
                println!("  note: {note}");
            }
        }
        let vars = output
            .audiences
            .iter()
            .find(|a| a.platform.as_str() == "jsonl")
            .into_iter()
            .flat_map(|a| &a.payloads)
            .find(|v| v.to_string().contains("\"churn_risk\":\"high\""));
        if let Some(v) = vars {
            println!("a recipient's prediction variables: {v}");
        }
    }

    // Segments found in the data: `examples/data/segments.toml` adds a [clusters] table
    // (K-Means over recency, frequency, spend, tenure, age, engagement and the categories
    // bought and browsed). Each profile gets the traits `segment`, `segment_name` and
    // `segment_distance`; the model describes each segment by what sets it apart.
    // `mergetag segment --config examples/data/segments.toml` prints the same.
    let config = PipelineConfig::load(data.join("segments.toml"))?;
    let Some(clusters) = config.clusters_config()? else {
        return Ok(());
    };
    let mut rest = config.clone();
    rest.clusters = None;
    let stage = ClusterStage::new(clusters.build()?);
    let handle = stage.handle();
    let output = Pipeline::builder_from_config(&rest)?
        .profile_stage(stage)
        .build()?
        .run(|_| {})?;
    if let Some(result) = handle.result() {
        let q = &result.model.quality;
        println!();
        println!(
            "segments found in the data ({} profiles; silhouette {:.2}):",
            result.model.profiles,
            q.silhouette.unwrap_or(0.0)
        );
        print!("{}", result.model.summary());
    }
    if let Some(t) = output.traits.iter().find(|t| t.contains_key("segment")) {
        println!(
            "a profile's segment traits: segment = {:?}, segment_name = {:?}",
            t["segment"], t["segment_name"]
        );
    }
    Ok(())
}
