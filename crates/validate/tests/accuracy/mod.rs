//! Accuracy suites for the email validator: python-email-validator's and pyIsEmail's test
//! cases (`tests/data/email_suites.json`) and mailcheck's typo cases
//! (`tests/data/typo_suites.json`), scored as a whole against the project's targets. A
//! failing suite lists the cases it missed.

// The suites print their scores (run with `--nocapture` to see them).
#![allow(clippy::print_stderr)]

use std::path::PathBuf;

use mergetag_validate::EmailValidator;
use serde::Deserialize;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

#[derive(Deserialize)]
struct Case {
    input: String,
    valid: bool,
    from: String,
}

#[derive(Deserialize)]
struct EmailSuites {
    python_email_validator: Vec<Case>,
    isemail: Vec<Case>,
}

fn score_validity(suite: &str, cases: &[Case], target: f64) {
    let v = EmailValidator::new();
    let mut missed = Vec::new();
    for c in cases {
        let got = v.validate(&c.input);
        if got.is_ok() != c.valid {
            missed.push(format!("{:?} ({}): got {got:?}", c.input, c.from));
        }
    }
    let accuracy = 1.0 - missed.len() as f64 / cases.len().max(1) as f64;
    eprintln!("{suite}: {accuracy:.3} of {} cases", cases.len());
    for m in &missed {
        eprintln!("  missed {m}");
    }
    assert!(accuracy >= target, "{suite}: {accuracy:.3} below {target}");
}

/// The validator agrees with the two reference suites on at least 98% of their cases.
#[test]
fn email_validity_reaches_its_target() {
    let text = std::fs::read_to_string(data("email_suites.json")).unwrap();
    let suites: EmailSuites = serde_json::from_str(&text).unwrap();
    score_validity(
        "python-email-validator",
        &suites.python_email_validator,
        0.98,
    );
    score_validity("pyIsEmail", &suites.isemail, 0.98);
}

#[derive(Deserialize)]
struct TypoSuites {
    mailcheck: Vec<(String, Option<String>)>,
    classes: Vec<(String, Option<String>)>,
    real: Vec<String>,
}

/// The suggested address of a valid address, or `None`.
fn suggestion(v: &EmailValidator, input: &str) -> Option<String> {
    let email = v.validate(input).ok()?;
    email.warnings().iter().find_map(|w| match w {
        mergetag_validate::EmailWarning::DomainTypo { suggestion } => {
            Some(format!("{}@{suggestion}", email.local()))
        }
        _ => None,
    })
}

fn score_typos(suite: &str, cases: &[(String, Option<String>)], target: f64) {
    let v = EmailValidator::new();
    let mut missed = Vec::new();
    for (input, want) in cases {
        let got = suggestion(&v, input);
        if got != *want {
            missed.push(format!("{input:?}: want {want:?}, got {got:?}"));
        }
    }
    let accuracy = 1.0 - missed.len() as f64 / cases.len().max(1) as f64;
    eprintln!("{suite}: {accuracy:.3} of {} cases", cases.len());
    for m in &missed {
        eprintln!("  missed {m}");
    }
    assert!(accuracy >= target, "{suite}: {accuracy:.3} below {target}");
}

/// Typo suggestions agree with mailcheck's cases and ours, and real small domains get none.
#[test]
fn typo_suggestions_reach_their_target() {
    let text = std::fs::read_to_string(data("typo_suites.json")).unwrap();
    let suites: TypoSuites = serde_json::from_str(&text).unwrap();
    score_typos("mailcheck", &suites.mailcheck, 0.95);
    score_typos("typo classes", &suites.classes, 0.95);
    let real: Vec<(String, Option<String>)> =
        suites.real.iter().map(|r| (r.clone(), None)).collect();
    score_typos("real domains (no suggestion)", &real, 1.0);
}
