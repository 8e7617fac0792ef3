//! What the fuzz targets in `fuzz/fuzz_targets/validate_*.rs` run, shared with the replay test
//! in `tests/validate.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//! The fuzz targets include this file with `#[path = ...] mod`.
//!
//! Each function takes the raw fuzz input, lets its first byte choose options, and panics when
//! an invariant breaks.

use mergetag_model::{Record, RecordId, Value};
use mergetag_validate::{EmailValidator, Error, Report, Rule, RuleSet, rules};

/// `validate_email`: byte 0 picks the options (bit 0 SMTPUTF8 off, bit 1 quoted local parts,
/// bit 2 comments, bit 3 folding whitespace, bit 4 domain literals, bit 5 example domains
/// refused); the rest, as UTF-8, is the address. Checks that:
///
/// - nothing panics, and every error has an `invalid_email.` code and a plain reason;
/// - a valid address stays valid, with the same result, once normalized, and its ASCII form
///   (when there is one) is ASCII and validates to the same address;
/// - the RFC 5321 limits hold on the normalized form;
/// - the email rule over a record holding the input agrees with the validator.
pub fn validate_email(data: &[u8]) {
    let [opts, ref rest @ ..] = *data else {
        return;
    };
    let Ok(input) = std::str::from_utf8(rest) else {
        return;
    };
    let v = EmailValidator::builder()
        .smtputf8(opts & 1 == 0)
        .quoted_local(opts & 2 != 0)
        .comments(opts & 4 != 0)
        .folding_whitespace(opts & 8 != 0)
        .domain_literal(opts & 16 != 0)
        .reject_example_domains(opts & 32 != 0)
        .build();
    let result = v.validate(input);
    match &result {
        Err(e) => {
            assert!(e.code().starts_with("invalid_email."), "{}", e.code());
            let reason = e.to_string();
            assert!(!reason.is_empty() && !reason.ends_with('.'), "{reason:?}");
        }
        Ok(email) => {
            let again = v.validate(email.normalized());
            assert_eq!(
                again.as_ref(),
                Ok(email),
                "normalized {:?}",
                email.normalized()
            );
            match email.ascii() {
                Some(ascii) => {
                    assert!(ascii.is_ascii(), "{ascii:?}");
                    let a = v.validate(ascii).expect("the ASCII form is valid");
                    assert_eq!(a.normalized(), email.normalized());
                }
                None => assert!(email.needs_smtputf8()),
            }
            assert!(email.local().len() <= 64);
            assert!(email.domain_ascii().len() <= 253);
            assert!(email.local().len() + 1 + email.domain_ascii().len() <= 254);
            assert!(v.is_valid(input));
        }
    }
    let rule = rules::EmailAddress::new("email").validator(v);
    let mut record = Record::new(RecordId::row("fuzz", 1));
    record.set("email", input);
    let mut report = Report::new();
    rule.check(&record, &mut report);
    // Rules judge text values trimmed (as the normalize stage leaves them); the validator
    // judges the value as given, and refuses surrounding whitespace.
    let blank = Value::from(input).is_missing();
    match v.validate(input.trim()) {
        Err(e) if !blank => assert!(report.contains(e.code()), "{report}"),
        _ => assert!(!report.has_errors(), "{report}"),
    }
    if input.trim() != input && !blank {
        assert_eq!(
            result.map_err(|e| e.code()),
            Err("invalid_email.whitespace")
        );
    }
}

/// `validate_ruleset`: byte 0 picks TOML (even) or JSON (odd); the rest, as UTF-8, is the rule
/// set. Checks that loading never panics, that parse errors carry a position, that every
/// error message is non-empty, and that a loaded rule set checks a few records without
/// panicking and with findings that all have a code and a message.
pub fn validate_ruleset(data: &[u8]) {
    let [opts, ref rest @ ..] = *data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let loaded = if opts & 1 == 0 {
        RuleSet::from_toml_str(text)
    } else {
        RuleSet::from_json_str(text)
    };
    let set = match loaded {
        Ok(set) => set,
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            if let Error::Parse(p) = e {
                assert!(p.line <= text.lines().count() + 1, "{message}");
            }
            return;
        }
    };
    let mut report = Report::new();
    for record in sample_records() {
        report.clear();
        set.check(&record, &mut report);
        for f in &report {
            assert!(!f.code.is_empty() && !f.message.is_empty(), "{f:?}");
        }
    }
    let _ = set.fields();
    set.reset();
}

fn sample_records() -> Vec<Record> {
    let rows: [&[(&str, Value)]; 4] = [
        &[],
        &[
            ("email", Value::from("ada@example.org")),
            ("age", Value::Int(40)),
            ("country", Value::from("US")),
            ("region", Value::from("IL")),
            ("postal_code", Value::from("62704")),
            ("phone", Value::from("+1 312 555 0147")),
            ("birth_date", Value::from("1985-04-03")),
        ],
        &[
            ("email", Value::from(".x@@")),
            ("age", Value::from("old")),
            ("country", Value::from("uk")),
            ("phone", Value::from("12")),
            ("birth_date", Value::from("04/03/1985")),
            (
                "a",
                Value::List(vec![Value::Null, Value::Float(1.5), Value::Bool(true)]),
            ),
        ],
        &[
            ("email", Value::Null),
            ("x", Value::from("")),
            ("y", Value::Int(i64::MIN)),
        ],
    ];
    rows.iter()
        .enumerate()
        .map(|(i, fields)| {
            let mut r = Record::new(RecordId::row("fuzz", i as u64));
            for (name, value) in *fields {
                r.set(*name, value.clone());
            }
            r
        })
        .collect()
}
