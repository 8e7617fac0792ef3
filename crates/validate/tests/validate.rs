//! The integration tests of `mergetag-validate`: the email case table, rule sets loaded from
//! files, the validator over a stream with quarantine and audit, properties, and the replay of
//! fuzz inputs.

mod accuracy;
mod fuzz;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use mergetag_model::config::LoadError;
use mergetag_model::{
    FieldName, Position, Record, RecordId, Reject, Source, SourceError, SourceErrorKind,
    SourceName, Value,
};
use mergetag_validate::{
    EmailConfig, EmailError, EmailValidator, Error, QuarantineEntry, QuarantineReader,
    QuarantineWriter, Report, Rule, RuleSet, Severity, Stats, Validator, Verdict, rules,
};
use serde::Deserialize;

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

// ------------------------------------------------------------------------ email case table

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailTable {
    group: Vec<Group>,
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    #[allow(dead_code)]
    source: String,
    #[serde(default)]
    options: EmailConfig,
    #[serde(default)]
    valid: Vec<String>,
    #[serde(default)]
    clean: Vec<String>,
    #[serde(default)]
    invalid: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    warnings: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    not_typo: Vec<String>,
    #[serde(default)]
    suggest: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    input: String,
    #[serde(default)]
    options: EmailConfig,
    normalized: Option<String>,
    ascii: Option<toml::Value>,
    smtputf8: Option<bool>,
    code: Option<String>,
    warnings: Option<Vec<String>>,
}

/// Expands `{x*N}` into `x` repeated `N` times.
fn expand(input: &str) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
            break;
        };
        let inner = &rest[open + 1..close];
        match inner
            .rsplit_once('*')
            .and_then(|(x, n)| Some((x, n.parse::<usize>().ok()?)))
        {
            Some((x, n)) => {
                out.push_str(&rest[..open]);
                out.push_str(&x.repeat(n));
            }
            None => out.push_str(&rest[..=close]),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn show(input: &str) -> String {
    if input.len() > 80 {
        format!(
            "{:?}... ({} bytes)",
            input.chars().take(60).collect::<String>(),
            input.len()
        )
    } else {
        format!("{input:?}")
    }
}

#[test]
fn email_case_table() {
    let text = std::fs::read_to_string(data("emails.toml")).unwrap();
    let table: EmailTable = toml::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut fail = |msg: String| failures.push(msg);

    for g in &table.group {
        let v = g.options.build();
        let ctx = |input: &str| format!("[{}] {}", g.name, show(input));
        for input in g.valid.iter().chain(&g.clean).chain(&g.not_typo) {
            count += 1;
            let input = expand(input);
            match v.validate(&input) {
                Err(e) => fail(format!("{}: expected valid, got {}", ctx(&input), e.code())),
                Ok(email) => {
                    if g.clean.iter().any(|c| expand(c) == input) && !email.warnings().is_empty() {
                        fail(format!(
                            "{}: expected no warning, got {:?}",
                            ctx(&input),
                            email.warnings()
                        ));
                    }
                    if g.not_typo.iter().any(|c| expand(c) == input)
                        && email.warnings().iter().any(|w| w.code() == "domain_typo")
                    {
                        fail(format!(
                            "{}: suggested a fix for a real domain: {:?}",
                            ctx(&input),
                            email.warnings()
                        ));
                    }
                    check_normalization_is_stable(&v, &input, &email, &mut fail);
                }
            }
        }
        for (code, inputs) in &g.invalid {
            let want = format!("invalid_email.{code}");
            for input in inputs {
                count += 1;
                let input = expand(input);
                match v.validate(&input) {
                    Ok(e) => fail(format!(
                        "{}: expected {want}, got valid {:?}",
                        ctx(&input),
                        e.normalized()
                    )),
                    Err(e) if e.code() != want => {
                        fail(format!(
                            "{}: expected {want}, got {} ({e})",
                            ctx(&input),
                            e.code()
                        ));
                    }
                    Err(e) => check_reason(&e, &input, &mut fail),
                }
            }
        }
        for (code, inputs) in &g.warnings {
            for input in inputs {
                count += 1;
                let input = expand(input);
                match v.validate(&input) {
                    Err(e) => fail(format!("{}: expected valid, got {}", ctx(&input), e.code())),
                    Ok(email) if !email.warnings().iter().any(|w| w.code() == code) => {
                        fail(format!(
                            "{}: expected warning {code}, got {:?}",
                            ctx(&input),
                            email.warnings()
                        ));
                    }
                    Ok(_) => {}
                }
            }
        }
        for (input, want) in &g.suggest {
            count += 1;
            let got = v.validate(input).map(|e| {
                e.warnings().iter().find_map(|w| match w {
                    mergetag_validate::EmailWarning::DomainTypo { suggestion } => {
                        Some(suggestion.to_string())
                    }
                    _ => None,
                })
            });
            if got.as_ref().ok().and_then(Option::as_deref) != Some(want.as_str()) {
                fail(format!(
                    "{}: expected suggestion {want}, got {got:?}",
                    ctx(input)
                ));
            }
        }
    }

    for c in &table.case {
        count += 1;
        let input = expand(&c.input);
        let v = c.options.build();
        let ctx = show(&input);
        match (v.validate(&input), &c.code) {
            (Err(e), Some(code)) if e.code() == code => {}
            (Err(e), _) => fail(format!("{ctx}: unexpected {} ({e})", e.code())),
            (Ok(_), Some(code)) => fail(format!("{ctx}: expected {code}, got valid")),
            (Ok(email), None) => {
                if let Some(n) = &c.normalized
                    && email.normalized() != expand(n)
                {
                    fail(format!(
                        "{ctx}: normalized {:?}, expected {n:?}",
                        email.normalized()
                    ));
                }
                match &c.ascii {
                    None => {}
                    Some(toml::Value::Boolean(false)) if email.ascii().is_some() => {
                        fail(format!(
                            "{ctx}: expected no ASCII form, got {:?}",
                            email.ascii()
                        ));
                    }
                    Some(toml::Value::Boolean(false)) => {}
                    Some(toml::Value::String(a)) if email.ascii() != Some(a.as_str()) => {
                        fail(format!("{ctx}: ASCII {:?}, expected {a:?}", email.ascii()));
                    }
                    Some(toml::Value::String(_)) => {}
                    Some(other) => panic!("{ctx}: bad `ascii` {other:?}"),
                }
                if let Some(s) = c.smtputf8
                    && email.needs_smtputf8() != s
                {
                    fail(format!(
                        "{ctx}: smtputf8 {}, expected {s}",
                        email.needs_smtputf8()
                    ));
                }
                if let Some(w) = &c.warnings {
                    let got: Vec<&str> = email.warnings().iter().map(|w| w.code()).collect();
                    if got != *w {
                        fail(format!("{ctx}: warnings {got:?}, expected {w:?}"));
                    }
                }
                check_normalization_is_stable(&v, &input, &email, &mut fail);
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {count} email cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 400, "the table shrank to {count} cases");
}

/// A valid address stays valid, with the same result, once normalized; so does its ASCII form.
fn check_normalization_is_stable(
    v: &EmailValidator,
    input: &str,
    email: &mergetag_validate::Email,
    fail: &mut impl FnMut(String),
) {
    match v.validate(email.normalized()) {
        Ok(again) if again == *email => {}
        other => fail(format!(
            "{}: normalized {:?} validates as {other:?}",
            show(input),
            email.normalized()
        )),
    }
    if let Some(ascii) = email.ascii() {
        match v.validate(ascii) {
            Ok(again) if again.normalized() == email.normalized() => {}
            other => fail(format!(
                "{}: ASCII form {ascii:?} validates as {other:?}",
                show(input)
            )),
        }
    }
}

/// Reasons are plain sentences that never repeat the address.
fn check_reason(e: &EmailError, input: &str, fail: &mut impl FnMut(String)) {
    let reason = e.to_string();
    let local = input.split('@').next().unwrap_or("");
    if reason.ends_with('.')
        || reason.starts_with(char::is_uppercase)
        || (local.len() > 3 && reason.contains(local))
    {
        fail(format!("{}: bad reason {reason:?}", show(input)));
    }
}

// ------------------------------------------------------------------------ rule case table

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleTable {
    case: Vec<RuleCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleCase {
    name: String,
    id: Option<String>,
    record: toml::Table,
    codes: Vec<String>,
    verdict: Verdict,
    values: Option<Vec<String>>,
}

/// A TOML value as a record value.
fn to_value(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.as_str()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => match (d.date, d.time) {
            (Some(date), None) => Value::Date(
                NaiveDate::from_ymd_opt(
                    i32::from(date.year),
                    u32::from(date.month),
                    u32::from(date.day),
                )
                .unwrap(),
            ),
            _ => Value::DateTime(d.to_string().parse().unwrap()),
        },
        toml::Value::Array(a) => Value::List(a.iter().map(to_value).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
        }
    }
}

fn rule_case_records() -> (Vec<RuleCase>, Vec<Record>) {
    let text = std::fs::read_to_string(data("rules.toml")).unwrap();
    let table: RuleTable = toml::from_str(&text).unwrap();
    let records = table
        .case
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let id = match &c.id {
                Some(key) => RecordId::id("crm", key.as_str()),
                None => RecordId::row("crm", i as u64 + 1),
            };
            let mut r = Record::new(id);
            for (k, v) in &c.record {
                r.set(k.as_str(), to_value(v));
            }
            r
        })
        .collect();
    (table.case, records)
}

#[test]
fn rule_case_table() {
    let (cases, records) = rule_case_records();
    let rules = RuleSet::from_path(data("ruleset.toml")).unwrap();
    let mut validator = Validator::new(rules);
    let mut report = Report::new();
    let mut failures = Vec::new();
    for (c, record) in cases.iter().zip(&records) {
        let verdict = validator.check(record, &mut report);
        let codes: Vec<&str> = report.iter().map(|f| &*f.code).collect();
        if codes != c.codes {
            failures.push(format!(
                "{}: codes {codes:?}, expected {:?}\n{report}",
                c.name, c.codes
            ));
        }
        if verdict != c.verdict {
            failures.push(format!(
                "{}: verdict {verdict:?}, expected {:?}",
                c.name, c.verdict
            ));
        }
        if let Some(values) = &c.values {
            let got: Vec<&str> = report.iter().filter_map(|f| f.value.as_deref()).collect();
            if got != *values {
                failures.push(format!("{}: values {got:?}, expected {values:?}", c.name));
            }
        }
        for f in &report {
            let m = &f.message;
            if m.is_empty() || m.ends_with('.') || m.starts_with(char::is_uppercase) {
                failures.push(format!(
                    "{}: message {m:?} is not a plain lower-case sentence",
                    c.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let stats = validator.stats();
    assert!(stats.adds_up(), "{stats:?}");
    assert_eq!(stats.records, cases.len() as u64);
}

#[test]
fn toml_and_json_rule_sets_agree() {
    let (_, records) = rule_case_records();
    let from_toml = RuleSet::from_path(data("ruleset.toml")).unwrap();
    let from_json = RuleSet::from_path(data("ruleset.json")).unwrap();
    assert_eq!(from_toml.len(), from_json.len());
    assert_eq!(from_toml.fields(), from_json.fields());
    let (mut a, mut b) = (Report::new(), Report::new());
    for r in &records {
        a.clear();
        b.clear();
        from_toml.check(r, &mut a);
        from_json.check(r, &mut b);
        assert_eq!(a, b, "{}", r.id);
    }
}

#[test]
fn rule_set_errors_name_the_file_line_and_fix() {
    let dir = std::env::temp_dir().join(format!("mergetag-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("rules.toml");
    std::fs::write(
        &bad,
        "as_of = \"2026-03-01\"\n\n[fields.age]\nrange = { min = 120, max = 13 }\n",
    )
    .unwrap();
    let e = RuleSet::from_path(&bad).unwrap_err().to_string();
    assert!(
        e.ends_with(
            "rules.toml: line 4, fields.age.range: min 120 is greater than max 13; swap them"
        ),
        "{e}"
    );
    std::fs::write(&bad, "[fields.age]\nrange = { min = 1 }\nrequird = true\n").unwrap();
    let e = RuleSet::from_path(&bad).unwrap_err().to_string();
    assert!(
        e.contains("rules.toml: line 3, column 1: unknown field `requird`, expected one of"),
        "{e}"
    );
    let json = dir.join("rules.json");
    std::fs::write(
        &json,
        "{\"fields\": {\n  \"age\": {\"range\": {\"min\": \"x\"}}}}",
    )
    .unwrap();
    let e = RuleSet::from_path(&json).unwrap_err().to_string();
    assert!(e.contains("rules.json: line 2"), "{e}");
    let other = dir.join("rules.yaml");
    std::fs::write(&other, "").unwrap();
    assert!(
        RuleSet::from_path(&other)
            .unwrap_err()
            .to_string()
            .contains("must end in .toml or .json")
    );
    assert!(matches!(
        RuleSet::from_path(dir.join("missing.toml")),
        Err(Error::Load(LoadError::Read { .. }))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------------------ validator, quarantine, audit

/// A source with everything a real one does: records, rows set aside, a recoverable error.
struct Scripted {
    name: SourceName,
    items: std::vec::IntoIter<Item>,
    pending: Vec<Reject>,
}

enum Item {
    Record(Record),
    SetAside(Reject),
    Error(SourceError),
}

impl Source for Scripted {
    fn name(&self) -> &SourceName {
        &self.name
    }
    fn read_record(&mut self, record: &mut Record) -> Result<bool, SourceError> {
        loop {
            match self.items.next() {
                None => return Ok(false),
                Some(Item::Record(r)) => {
                    *record = r;
                    return Ok(true);
                }
                Some(Item::SetAside(r)) => self.pending.push(r),
                Some(Item::Error(e)) => return Err(e),
            }
        }
    }
    fn drain_rejects(&mut self, out: &mut Vec<Reject>) {
        out.append(&mut self.pending);
    }
}

fn scripted(records: Vec<Record>) -> Scripted {
    let mut items: Vec<Item> = records.into_iter().map(Item::Record).collect();
    items.insert(
        3,
        Item::SetAside(Reject {
            id: RecordId::row("crm", 99),
            position: Position::line(100),
            field: None,
            error: SourceErrorKind::RaggedRow {
                expected: 12,
                found: 3,
            },
            raw: "a,b,c".into(),
        }),
    );
    items.insert(
        6,
        Item::Error(
            SourceError::new("crm", Position::line(200), SourceErrorKind::InvalidUtf8)
                .with_field("first_name"),
        ),
    );
    Scripted {
        name: SourceName::new("crm"),
        items: items.into_iter(),
        pending: Vec::new(),
    }
}

#[test]
fn a_run_accounts_for_every_row_and_quarantine_round_trips() {
    let (_, records) = rule_case_records();
    let n = records.len() as u64;
    let rules = RuleSet::from_path(data("ruleset.toml")).unwrap();
    let mut validator = Validator::new(rules);
    let mut quarantine = QuarantineWriter::new(Vec::new());
    let mut accepted = Vec::new();
    validator
        .run(&mut scripted(records.clone()), &mut quarantine, |r, _| {
            accepted.push(r.clone())
        })
        .unwrap();
    let stats = validator.stats().clone();
    assert!(stats.adds_up(), "{stats:?}");
    assert_eq!(stats.read, n + 2);
    assert_eq!(stats.rejects, 2);
    assert_eq!(stats.by_code["source.ragged_row"], 1);
    assert_eq!(stats.by_code["source.invalid_utf8"], 1);
    assert_eq!(accepted.len() as u64, stats.accepted);
    assert_eq!(quarantine.written(), stats.quarantined);

    // Reading the quarantine back gives the same records, with their findings.
    let bytes = quarantine.into_inner().unwrap();
    let entries: Vec<QuarantineEntry> = QuarantineReader::new(&bytes[..])
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(entries.len() as u64, stats.quarantined);
    let back: Vec<&Record> = entries.iter().filter_map(QuarantineEntry::record).collect();
    let expected: Vec<&Record> = records.iter().filter(|r| !accepted.contains(r)).collect();
    assert_eq!(back, expected);
    for e in &entries {
        assert!(
            e.findings().iter().any(|f| f.severity == Severity::Error),
            "{e:?}"
        );
    }
    let reject = entries
        .iter()
        .find_map(|e| match e {
            QuarantineEntry::Reject { reject, .. }
                if reject.error == SourceErrorKind::InvalidUtf8 =>
            {
                Some(reject)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(reject.position, Position::line(200));
    assert_eq!(
        reject.field.as_ref().map(FieldName::as_str),
        Some("first_name")
    );
    // Quarantined records carry their row number, counting the rows set aside before them.
    for e in &entries {
        if let QuarantineEntry::Record {
            record, position, ..
        } = e
        {
            let i = records.iter().position(|r| r == record).unwrap() as u64;
            let before = if i >= 5 {
                2
            } else if i >= 3 {
                1
            } else {
                0
            };
            assert_eq!(
                *position,
                Some(Position::record(i + 1 + before)),
                "{}",
                record.id
            );
        }
    }

    // Fixed records can be ingested again: every quarantined record with a fixable email
    // passes once the email is fixed, in a fresh run.
    validator.reset();
    assert_eq!(validator.stats(), &Stats::default());
    let mut fixed = entries
        .into_iter()
        .filter_map(QuarantineEntry::into_record)
        .find(|r| r.text("email") == Some("jane..doe@example.com"))
        .unwrap();
    fixed.set("email", "jane.doe@example.com");
    assert_eq!(
        validator.check(&fixed, &mut Report::new()),
        Verdict::Accepted
    );

    // The same input gives the same bytes: output is deterministic.
    let mut again = Validator::new(RuleSet::from_path(data("ruleset.toml")).unwrap());
    let mut q2 = QuarantineWriter::new(Vec::new());
    again
        .run(&mut scripted(records), &mut q2, |_, _| {})
        .unwrap();
    assert_eq!(q2.into_inner().unwrap(), bytes);
    assert_eq!(again.stats(), &stats);
}

#[test]
fn a_fatal_source_error_stops_the_run_with_counts_so_far() {
    let mut items = vec![Item::Record(Record::new(RecordId::row("crm", 1)))];
    items.push(Item::Error(SourceError::new(
        "crm",
        Position::line(3),
        SourceErrorKind::Io {
            message: "gone".into(),
        },
    )));
    let mut source = Scripted {
        name: SourceName::new("crm"),
        items: items.into_iter(),
        pending: vec![],
    };
    let mut v = Validator::new(rules::Required::new("email"));
    let mut q = QuarantineWriter::new(Vec::new());
    let e = v.run(&mut source, &mut q, |_, _| {}).unwrap_err();
    assert!(matches!(e, Error::Source(_)), "{e}");
    assert_eq!(v.stats().read, 1);
    assert!(v.stats().adds_up());
}

#[test]
fn audit_counts_and_prints() {
    let rules = RuleSet::from_toml_str(
        "as_of = \"2026-03-01\"\n[fields.email]\nrequired = true\nemail = true\n[fields.age]\nrange = { min = 13, max = 120 }\n[fields.phone]\nphone = true\n",
    )
    .unwrap();
    let mut v = Validator::new(rules);
    let rows: [(&str, Value); 5] = [
        ("ada@example.org", Value::Int(40)),
        ("ada@example.org", Value::Int(7)),
        (".bob@example.org", Value::Null),
        ("", Value::Int(30)),
        ("info@example.org", Value::Int(200)),
    ];
    let mut report = Report::new();
    for (i, (email, age)) in rows.iter().enumerate() {
        let mut r = Record::new(RecordId::row("crm", i as u64 + 1));
        r.set("email", *email);
        r.set("age", age.clone());
        v.check(&r, &mut report);
    }
    let audit = v.audit().unwrap();
    assert_eq!(audit.records, 5);
    let email = &audit.fields["email"];
    assert_eq!((email.present, email.valid, email.distinct), (4, 3, 3));
    assert!((email.completeness - 0.8).abs() < 1e-9);
    assert_eq!(email.validity, Some(0.75));
    let codes: Vec<(&str, u64)> = email
        .top_violations
        .iter()
        .map(|v| (v.code.as_str(), v.count))
        .collect();
    assert_eq!(
        codes,
        [
            ("invalid_email.leading_dot", 1),
            ("required", 1),
            ("role_account", 1)
        ]
    );
    let age = &audit.fields["age"];
    assert_eq!((age.present, age.valid, age.distinct), (4, 2, 4));
    // A field a rule reads is listed even though no record has it.
    let phone = &audit.fields["phone"];
    assert_eq!((phone.present, phone.validity), (0, None));

    let table = audit.to_string();
    let expected = "\
records: 5

field  present  complete  valid  validity  distinct  top violations
age          4     80.0%      2     50.0%         4  out_of_range 2
email        4     80.0%      3     75.0%         3  invalid_email.leading_dot 1, required 1, role_account 1
phone        0      0.0%      0         -         0
";
    assert_eq!(table, expected, "\n{table}");
    let json = serde_json::to_string(&audit).unwrap();
    assert_eq!(
        serde_json::from_str::<mergetag_validate::Audit>(&json).unwrap(),
        audit
    );
}

// ------------------------------------------------------------------------ properties

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn all_options() -> EmailValidator {
        EmailValidator::builder()
            .quoted_local(true)
            .comments(true)
            .folding_whitespace(true)
            .domain_literal(true)
            .build()
    }

    /// Address-like strings: mostly near-valid, with the characters that break validators.
    fn email_like() -> impl Strategy<Value = String> {
        let local = prop::collection::vec(
            prop_oneof![
                6 => "[a-zA-Z0-9]{1,8}",
                1 => "[.+_'-]",
                1 => r#"[ "\\(),:;<>@\[\]]"#,
                1 => "[é用δ\u{301}\u{200B}\u{A0}]",
            ],
            0..6,
        )
        .prop_map(|p| p.concat());
        let label = prop_oneof![
            6 => "[a-z0-9]{1,10}",
            1 => "[a-z0-9-]{1,6}",
            1 => "[bücherñ例子日本]{1,4}",
            1 => "xn--[a-z0-9]{1,8}",
            1 => "[A-Z_ .]{1,3}",
        ];
        let domain = prop::collection::vec(label, 0..5).prop_map(|l| l.join("."));
        let tld = prop_oneof!["com", "org", "de", "test", "[a-z]{1,3}", "[0-9]{1,3}"];
        (
            local,
            domain,
            tld,
            prop::sample::select(vec!["@", "@@", "", " @ "]),
        )
            .prop_map(|(l, d, t, at)| format!("{l}{at}{d}.{t}"))
    }

    fn check_email(v: &EmailValidator, input: &str) -> Result<(), TestCaseError> {
        let Ok(email) = v.validate(input) else {
            return Ok(());
        };
        // A valid address stays valid, and the same, once normalized.
        let again = v.validate(email.normalized());
        prop_assert_eq!(
            again.as_ref(),
            Ok(&email),
            "normalized {:?}",
            email.normalized()
        );
        if let Some(ascii) = email.ascii() {
            prop_assert!(ascii.is_ascii());
            let a = v.validate(ascii).expect("the ASCII form is valid");
            prop_assert_eq!(a.normalized(), email.normalized());
        } else {
            prop_assert!(email.needs_smtputf8());
        }
        // The limits hold on the normalized form.
        prop_assert!(email.local().len() <= 64);
        prop_assert!(email.domain_ascii().len() <= 253);
        prop_assert!(email.local().len() + 1 + email.domain_ascii().len() <= 254);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn email_never_panics_and_normalization_is_stable(input in "\\PC{0,80}") {
            check_email(&EmailValidator::new(), &input)?;
            check_email(&all_options(), &input)?;
        }

        #[test]
        fn email_like_inputs(input in email_like()) {
            check_email(&EmailValidator::new(), &input)?;
            check_email(&all_options(), &input)?;
            let strict = EmailValidator::builder().smtputf8(false).build();
            if let Ok(e) = strict.validate(&input) {
                prop_assert!(!e.needs_smtputf8());
            }
        }

        #[test]
        fn valid_dot_atoms_are_accepted(
            local in "[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}(\\.[a-z0-9_+-]{1,10}){0,3}",
            domain in "[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,5})?(\\.[a-z0-9]{1,10}){0,2}\\.[a-z]{2,6}",
        ) {
            let input = format!("{local}@{domain}");
            let tld = domain.rsplit('.').next().unwrap();
            prop_assume!(!["test", "example", "invalid", "localhost", "local", "onion", "arpa", "alt"].contains(&tld));
            let email = EmailValidator::new().validate(&input);
            prop_assert!(email.is_ok(), "{input}: {email:?}");
            let email = email.unwrap();
            prop_assert_eq!(email.normalized(), input.as_str());
        }

        #[test]
        fn rule_set_loader_never_panics(text in "\\PC{0,200}") {
            let _ = RuleSet::from_toml_str(&text);
            let _ = RuleSet::from_json_str(&text);
        }

        #[test]
        fn rule_set_loader_on_near_valid_toml(
            field in "[a-z_]{1,8}",
            rule in prop::sample::select(vec![
                "required = true", "type = \"int\"", "type = \"nope\"", "range = { min = 5, max = 1 }",
                "range = { min = 1 }", "date = { within_days = 3 }", "one_of = []", "one_of = [\"a\"]",
                "length = { max = 0 }", "pattern = '('", "pattern = 'a+'", "country = 1",
                "region = { country_field = \"c\" }", "phone = { default_region = \"XX\" }",
                "email = { smtputf8 = false }", "unique = false", "bogus = 1",
            ]),
        ) {
            let _ = RuleSet::from_toml_str(&format!("[fields.{field}]\n{rule}\n"));
        }

        #[test]
        fn validation_of_any_record_adds_up_and_quarantine_round_trips(
            records in prop::collection::vec(record(), 0..20),
        ) {
            let rules = RuleSet::from_path(data("ruleset.toml")).unwrap();
            let mut v = Validator::new(rules);
            let mut q = QuarantineWriter::new(Vec::new());
            let mut quarantined = Vec::new();
            let mut report = Report::new();
            for r in &records {
                if !v.check(r, &mut report).is_accepted() {
                    q.write_record(r, None, &report).unwrap();
                    quarantined.push(r.clone());
                }
                for f in &report {
                    prop_assert!(!f.code.is_empty() && !f.message.is_empty());
                }
            }
            prop_assert!(v.stats().adds_up());
            prop_assert_eq!(v.stats().records, records.len() as u64);
            let bytes = q.into_inner().unwrap();
            let back: Vec<Record> = QuarantineReader::new(&bytes[..])
                .map(|e| e.unwrap().into_record().unwrap())
                .collect();
            prop_assert_eq!(back, quarantined);
            let audit = v.audit().unwrap();
            for a in audit.fields.values() {
                prop_assert!(a.valid <= a.present && a.present <= audit.records);
            }
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e12f64..1e12).prop_map(Value::Float),
            "\\PC{0,20}".prop_map(Value::from),
            prop::sample::select(vec![
                "ada@example.org",
                "jane..doe@x.com",
                "+1 312 555 0147",
                "US",
                "us",
                "IL",
                "1985-04-03",
                "04/03/1985",
                "gold",
                "62704",
                "ST-1234",
                "info@mailinator.com",
            ])
            .prop_map(Value::from),
            (1i32..3000, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap())),
            (0i64..4_000_000_000)
                .prop_map(|s| Value::DateTime(chrono::DateTime::from_timestamp(s, 0).unwrap())),
        ];
        leaf.prop_recursive(2, 8, 3, |inner| {
            prop::collection::vec(inner, 0..3).prop_map(Value::List)
        })
    }

    fn record() -> impl Strategy<Value = Record> {
        let name = prop::sample::select(vec![
            "email",
            "phone",
            "age",
            "birth_date",
            "last_order_at",
            "loyalty_tier",
            "first_name",
            "store_code",
            "country",
            "region",
            "postal_code",
            "user_id",
            "email_opt_out",
            "other",
        ]);
        (
            prop::collection::vec((name, value()), 0..8),
            0u64..5,
            "[a-c]",
        )
            .prop_map(|(fields, key, source)| {
                let mut r = Record::new(RecordId::row(source.as_str(), key));
                for (n, v) in fields {
                    r.set(n, v);
                }
                r
            })
    }
}

// ------------------------------------------------------------------------ fuzz inputs

/// Replays the inputs kept in `tests/fuzz/<target>/` (seeds, and crashes the fuzzer found once
/// fixed) through the checks the fuzz targets in `fuzz/` run.
fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    mergetag_testkit::replay_fuzz_inputs(dir.join(target), run);
}

#[test]
fn fuzz_inputs_validate_email() {
    replay("validate_email", fuzz::validate_email);
}

#[test]
fn fuzz_inputs_validate_ruleset() {
    replay("validate_ruleset", fuzz::validate_ruleset);
}
