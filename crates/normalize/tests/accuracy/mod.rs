//! Accuracy suites: vectors built from public references (ISO 3166-1 names, USPS
//! Publication 28 examples, ...) scored as a whole, each against the target the project set
//! for it. A failing suite prints the cases it missed.

// The suites print their scores (run with `--nocapture` to see them).
#![allow(clippy::print_stderr)]

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

#[derive(Deserialize)]
struct AddressLines {
    tidy: Vec<[String; 5]>,
    real: Vec<[String; 5]>,
    ambiguous: Vec<String>,
}

/// Per-component accuracy (street, city, state, ZIP) of one-line US addresses; fails when a
/// component is below `target`.
fn score_addresses(suite: &str, lines: &[[String; 5]], target: f64) {
    use mergetag_normalize::UsAddress;
    let mut right = [0usize; 4];
    let mut missed = Vec::new();
    for [line, street, city, state, zip] in lines {
        let got = UsAddress::read(line);
        let parts = match &got {
            Ok(a) => [
                a.street.clone(),
                a.city.clone().unwrap_or_default(),
                a.region.clone().unwrap_or_default(),
                a.postal_code.clone().unwrap_or_default(),
            ],
            Err(_) => Default::default(),
        };
        let want = [street, city, state, zip];
        for i in 0..4 {
            if parts[i] == *want[i] {
                right[i] += 1;
            }
        }
        if parts.iter().zip(want).any(|(g, w)| g != w) {
            missed.push(format!("{line:?}: got {got:?}"));
        }
    }
    let n = lines.len() as f64;
    let scores = right.map(|r| r as f64 / n);
    for m in &missed {
        eprintln!("  missed {m}");
    }
    eprintln!(
        "{suite}: street {:.3}, city {:.3}, state {:.3}, ZIP {:.3} of {} lines",
        scores[0],
        scores[1],
        scores[2],
        scores[3],
        lines.len()
    );
    assert!(
        scores.iter().all(|&s| s >= target),
        "{suite}: a component below {target}: {scores:?}; missed:\n{}",
        missed.join("\n")
    );
}

/// One-line US addresses: 0.99 per component on tidy lines, 0.90 on real-world ones, and
/// lines a reader cannot settle either are reported ambiguous.
#[test]
fn one_line_addresses_reach_their_targets() {
    use mergetag_normalize::{Outcome, UsAddress};
    let text = std::fs::read_to_string(data("tests/data/address_lines.toml")).unwrap();
    let lines: AddressLines = toml::from_str(&text).unwrap();
    score_addresses("tidy US address lines", &lines.tidy, 0.99);
    score_addresses("real-world US address lines", &lines.real, 0.90);
    for line in &lines.ambiguous {
        assert!(
            matches!(UsAddress::read(line), Err(Outcome::Ambiguous(_))),
            "{line}: {:?}",
            UsAddress::read(line)
        );
    }
}
