//! What the `cli_config` fuzz target in `fuzz/fuzz_targets/` runs, shared with the replay in
//! `tests/cli.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//!
//! Any text goes through the loaders of the `dedup` and `link` configuration files and of the
//! mapping document: they must return a configuration or an error naming the file, never
//! panic. A `dedup` configuration that loads must read a small CSV written for it (with its id
//! column and delimiter) and deduplicate it.

use mergetag_cli::Progress;
use mergetag_cli::config::{DedupFile, LinkFile};
use mergetag_cli::matching::{dedup_records, read_records};
use mergetag_cli::template::load_mapping_str;

const PEOPLE: [(&str, &str); 3] = [("Ann", "a@x.com"), ("Anne", "a@x.com"), ("Bob", "b@x.com")];

/// Three people with the configuration's id column: CSV with its delimiter, or JSON Lines.
fn csv_for(config: &DedupFile) -> Vec<u8> {
    let id = config.input.key.first().map_or("id", String::as_str);
    if config.input.format == Some(mergetag_sources::SourceFormat::Jsonl) {
        let mut out = Vec::new();
        for (i, (first, email)) in PEOPLE.into_iter().enumerate() {
            let line = serde_json::json!({
                id: format!("r{i}"), "first_name": first, "last_name": "Smith", "email": email
            });
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
        return out;
    }
    let delimiter = config.input.delimiter_byte().unwrap_or(b',');
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(Vec::new());
    let _ = w.write_record([id, "first_name", "last_name", "email"]);
    for (i, (first, email)) in PEOPLE.into_iter().enumerate() {
        let _ = w.write_record([&format!("r{i}"), first, "Smith", email]);
    }
    w.into_inner().unwrap_or_default()
}

/// Loads configurations from arbitrary text; runs the `dedup` ones that load.
pub fn cli_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match DedupFile::from_toml_str(&text, "fuzz.toml") {
        Ok(mut config) => {
            // Keep the run small whatever the input asked for.
            config.dedup.random_pairs = config.dedup.random_pairs.min(1_000);
            config.dedup.em_iterations = config.dedup.em_iterations.min(5);
            let normalizer = config.normalize.as_ref().and_then(|n| n.build().ok());
            let csv = csv_for(&config);
            let hidden = Progress::hidden();
            if let Ok(input) = read_records(
                csv.as_slice(),
                "fuzz.csv",
                &config.input,
                normalizer.as_ref(),
                &hidden,
            ) {
                assert_eq!(input.records.len(), input.ids.len());
                assert_eq!(
                    input.records.len() + input.skipped.len(),
                    3,
                    "nothing is lost"
                );
                let out = dedup_records(&config, &input, Some(1), &hidden)
                    .expect("a configuration that loads runs");
                assert_eq!(out.clusters.len(), input.records.len());
                assert!(out.pairs.iter().all(|p| p.id_a <= p.id_b));
            }
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
    }
    if let Err(e) = LinkFile::from_toml_str(&text, "fuzz.toml") {
        assert!(e.to_string().starts_with("fuzz.toml"), "{e}");
    }
    if let Err(e) = load_mapping_str(&text, "fuzz.toml") {
        assert!(e.to_string().starts_with("fuzz.toml"), "{e}");
    }
}
