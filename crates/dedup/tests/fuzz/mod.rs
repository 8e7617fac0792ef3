//! What the dedup fuzz targets in `fuzz/fuzz_targets/` run, shared with the replay in
//! `tests/dedup.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//!
//! - `dedup_config`: any text, as TOML and as JSON, through the configuration, model and
//!   survivorship loaders; a configuration that loads must build and run on a few records.
//! - `dedup_compare`: the input split into two strings, compared by every comparison kind and
//!   every similarity function: no panic, levels symmetric, similarities symmetric and in
//!   `[0, 1]`, Jaro-Winkler equal to strsim's, folding idempotent.
//! - `dedup_index`: the input as a whole index file, and as a body behind a valid header (so
//!   the JSON and consistency checks are reached); an index that loads must take new records,
//!   save, and load back.

use mergetag_dedup::index::{MatchIndex, body_checksum};
use mergetag_dedup::survivorship::SurvivorshipConfig;
use mergetag_dedup::{
    BlockingPass, ComparisonConfig, ComparisonKind, DedupConfig, Deduper, KeyPart, KeyTransform,
    MinHash, TrainedModel, fold, phonetic, similarity,
};
use mergetag_model::{Record, RecordId, fields};

fn records() -> Vec<Record> {
    (0..6u64)
        .map(|i| {
            let mut r = Record::new(RecordId::row("fuzz", i));
            r.set(fields::FIRST_NAME, ["Ann", "Anne", "Bob"][i as usize % 3]);
            r.set(fields::LAST_NAME, "Smith");
            r.set(fields::EMAIL, format!("a{}@x.com", i % 2));
            r.set("n", format!("{}", i * 7));
            r
        })
        .collect()
}

/// Loads configurations from arbitrary text; runs the ones that load.
pub fn dedup_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = [
        DedupConfig::from_toml_str(&text),
        DedupConfig::from_json_str(&text),
    ];
    for mut config in parsed.into_iter().flatten() {
        // Keep the run small whatever the input asked for.
        config.random_pairs = config.random_pairs.min(1_000);
        config.em_iterations = config.em_iterations.min(5);
        // Loading validates everything building needs: a configuration that loads builds.
        let d = config.build().expect("a configuration that loads builds");
        let r = d.run(&records());
        assert_eq!(r.clusters.len(), 6);
        let json = serde_json::to_string(&r.model).expect("a model serializes");
        let back = TrainedModel::from_json_str(&json, &config);
        let finite = r
            .model
            .comparisons
            .iter()
            .all(|c| c.levels.iter().all(|l| l.weight.is_finite()));
        assert!(back.is_ok() || !finite, "a trained model loads back");
    }
    let _ = TrainedModel::from_json_str(&text, &DedupConfig::contacts());
    let _ = SurvivorshipConfig::from_toml_str(&text);
    let _ = SurvivorshipConfig::from_json_str(&text);
}

const KINDS: [ComparisonKind; 13] = [
    ComparisonKind::Exact,
    ComparisonKind::Name,
    ComparisonKind::GivenName,
    ComparisonKind::Email,
    ComparisonKind::Phone,
    ComparisonKind::Date,
    ComparisonKind::Text,
    ComparisonKind::Levenshtein,
    ComparisonKind::DamerauLevenshtein,
    ComparisonKind::Qgram,
    ComparisonKind::Phonetic,
    ComparisonKind::Numeric,
    ComparisonKind::Geo,
];

/// Compares two arbitrary strings every way there is.
pub fn dedup_compare(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\u{0}').unwrap_or((&text, ""));
    let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let jw = similarity::jaro_winkler(&ca, &cb);
    assert!((0.0..=1.0).contains(&jw), "{jw}");
    assert_eq!(jw, strsim::jaro_winkler(a, b));
    assert_eq!(similarity::jaro(&ca, &cb), similarity::jaro(&cb, &ca));
    let t = similarity::token_set(a, b);
    assert!((0.0..=1.0).contains(&t) && t == similarity::token_set(b, a));
    assert_eq!(
        similarity::within_one_edit(a.as_bytes(), b.as_bytes()),
        similarity::within_one_edit(b.as_bytes(), a.as_bytes())
    );
    let _ = (
        phonetic::soundex(a),
        phonetic::nysiis(a),
        phonetic::double_metaphone(a),
    );
    for f in [
        fold::text,
        fold::name,
        fold::email,
        fold::phone,
        fold::date,
        fold::trimmed,
    ] {
        let (mut once, mut twice) = (String::new(), String::new());
        f(a, &mut once);
        f(&once, &mut twice);
        assert_eq!(once, twice, "folding is idempotent");
    }
    let config = DedupConfig {
        comparisons: KINDS
            .iter()
            .map(|k| ComparisonConfig {
                swap_with: Some("y".into()),
                term_frequency: true,
                ..ComparisonConfig::new("x", *k)
            })
            .collect(),
        blocking: vec![
            BlockingPass::on(vec![KeyPart {
                field: "x".into(),
                transform: KeyTransform::Soundex,
            }]),
            BlockingPass {
                minhash: Some(MinHash { bands: 4, rows: 2 }),
                ..BlockingPass::on(vec![KeyPart {
                    field: "x".into(),
                    transform: KeyTransform::Exact,
                }])
            },
            BlockingPass {
                window: Some(3),
                ..BlockingPass::on(vec![KeyPart {
                    field: "y".into(),
                    transform: KeyTransform::Prefix3,
                }])
            },
        ],
        random_pairs: 10,
        em_iterations: 3,
        ..DedupConfig::contacts()
    };
    let d = Deduper::new(config).expect("a valid configuration");
    let mut ra = Record::new(RecordId::row("f", 1));
    ra.set("x", a);
    ra.set("y", b);
    let mut rb = Record::new(RecordId::row("f", 2));
    rb.set("x", b);
    rb.set("y", a);
    let p = d.prepare(&[ra.clone(), rb.clone()]);
    assert_eq!(p.compare(0, 1), p.compare(1, 0), "levels are symmetric");
    let r = d.run(&[ra, rb]);
    assert_eq!(r.clusters.len(), 2);
}

/// Loads an index from arbitrary bytes; uses the ones that load.
pub fn dedup_index(data: &[u8]) {
    let _ = MatchIndex::load(data);
    let mut file = format!(
        "mergetag-index 1 {} {:016x}\n",
        data.len(),
        body_checksum(data)
    )
    .into_bytes();
    file.extend_from_slice(data);
    if let Ok(mut index) = MatchIndex::load(file.as_slice()) {
        let before = index.len();
        let added = index.add_batch(records());
        assert_eq!(added.len(), 6);
        let mut saved = Vec::new();
        index.save(&mut saved).expect("saving to memory");
        let back = MatchIndex::load(saved.as_slice()).expect("a saved index loads back");
        assert_eq!(back.len(), index.len());
        assert!(index.len() >= before.min(6));
    }
}
