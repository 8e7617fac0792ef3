//! Accuracy suites: vectors built from public references (ISO 3166-1 names, USPS
//! Publication 28 examples, ...) scored as a whole, each against the target the project set
//! for it. A failing suite prints the cases it missed.

use std::path::PathBuf;

use mergetag_normalize::country_code;
use serde::Deserialize;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file)
}

/// Scores `cases` (input, expected) with `f`; fails below `target`, listing the misses.
pub(crate) fn score(
    suite: &str,
    cases: &[(String, String)],
    target: f64,
    f: impl Fn(&str) -> Option<String>,
) -> f64 {
    let mut missed = Vec::new();
    for (input, want) in cases {
        let got = f(input);
        if got.as_deref() != Some(want.as_str()) {
            missed.push(format!("{input:?}: want {want:?}, got {got:?}"));
        }
    }
    let total = cases.len().max(1) as f64;
    let accuracy = (total - missed.len() as f64) / total;
    eprintln!("{suite}: {accuracy:.3} of {} cases", cases.len());
    assert!(
        accuracy >= target,
        "{suite}: accuracy {accuracy:.3} below {target}; missed:\n{}",
        missed.join("\n")
    );
    accuracy
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<(String, String)>,
}

/// ISO 3166-1 names as iso-codes writes them (short, official, common), the inverted short
/// names read the other way round, their upper- and lower-case forms, and everyday variants.
#[test]
fn country_names_reach_their_target() {
    let iso = std::fs::read_to_string(data("data/iso_3166-1.tsv")).unwrap();
    let mut cases = Vec::new();
    for line in iso.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let mut cols = line.split('\t');
        let code = cols.next().unwrap().to_owned();
        for name in cols.filter(|c| !c.is_empty()) {
            cases.push((name.to_owned(), code.clone()));
            cases.push((name.to_uppercase(), code.clone()));
            cases.push((name.to_lowercase(), code.clone()));
            if let Some((head, tail)) = name.split_once(", ") {
                cases.push((format!("{tail} {head}"), code.clone()));
            }
        }
    }
    score("ISO 3166-1 names", &cases, 1.0, |s| {
        country_code(s).map(str::to_owned)
    });
    let text = std::fs::read_to_string(data("tests/data/country_variants.toml")).unwrap();
    let variants: Cases = toml::from_str(&text).unwrap();
    score("everyday country names", &variants.cases, 0.99, |s| {
        country_code(s).map(str::to_owned)
    });
}
