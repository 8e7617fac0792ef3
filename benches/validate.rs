//! Validation throughput: email validations per second (beside a plain regex check as the
//! baseline measured in the same run), and records per second through a `Validator` with a
//! typical 10-rule set, with and without the audit.
//!
//! Run with `cargo bench --bench validate`. Fixtures are generated deterministically in memory.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::model::fields;
use mergetag::validate::{EmailValidator, Report, RuleSet, Validator, Verdict};
use mergetag::{Record, RecordId, Value};

const EMAILS: usize = 10_000;
const RECORDS: usize = 100_000;

/// A fixed linear congruential generator: the same fixture on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() % items.len()]
    }
}

const FIRST: [&str; 8] = [
    "ada", "bob", "chloe", "dmitri", "emily", "farah", "gus", "hana",
];
const LAST: [&str; 8] = [
    "lovelace", "obrien", "muller", "chen", "johnson", "nguyen", "smith", "okafor",
];
const DOMAINS: [&str; 10] = [
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "icloud.com",
    "hotmail.co.uk",
    "acme-corp.com",
    "northwind.example.com",
    "mail.tidewater-labs.io",
    "bücher.de",
    "gmial.com",
];

/// Customer-data addresses: 95% valid (1% with a UTF-8 local part, 10% at an IDN domain), 1%
/// role accounts, 10% at a mistyped (and disposable) domain, 4% invalid.
fn emails(n: usize) -> Vec<String> {
    let mut g = Lcg(0x2545_F491_4F6C_DD1D);
    (0..n)
        .map(|i| {
            let (f, l, d) = (g.pick(&FIRST), g.pick(&LAST), g.pick(&DOMAINS));
            match g.next() % 100 {
                0 => format!("{f}..{l}@{d}"),
                1 => format!("{f} {l}@{d}"),
                2 => format!("{f}.{l}{d}"),
                3 => format!("info@{d}"),
                4 => format!("{f}é.{l}@{d}"),
                5 => format!("{f}.{l}@{d}."),
                _ => format!("{}.{l}{}@{}", f, i % 1000, d.to_uppercase()),
            }
        })
        .collect()
}

/// A typical rule set: ten rules over the usual contact fields.
const RULES: &str = r#"
as_of = "2026-03-01"

[fields.email]
required = true
email = true

[fields.phone]
phone = { region_field = "country", default_region = "US" }

[fields.age]
range = { min = 13, max = 120 }

[fields.birth_date]
date = { not_future = true, min = "1900-01-01" }

[fields.loyalty_tier]
one_of = { values = ["gold", "silver", "bronze"], ignore_case = true }

[fields.first_name]
length = { max = 50 }

[fields.country]
country = true

[fields.region]
region = true

[checks]
postal_code_country = true
"#;

/// Contact records with 12 fields, about 7% of them with an error.
fn records(n: usize) -> Vec<Record> {
    let mut g = Lcg(0x9E37_79B9_7F4A_7C15);
    let addresses = emails(n);
    let places = [
        ("US", "IL", "62704", "+1 312 555 01"),
        ("US", "CA", "94107", "+1 415 555 01"),
        ("GB", "ENG", "SW1A 1AA", "+44 20 7946 09"),
        ("CA", "ON", "K1A 0B1", "+1 613 555 01"),
    ];
    addresses
        .into_iter()
        .enumerate()
        .map(|(i, email)| {
            let mut r = Record::new(RecordId::row("crm", i as u64 + 1));
            let (country, region, postal, phone) = places[g.next() % places.len()];
            let year = 1940 + (g.next() % 65) as i32;
            r.set_text(fields::EMAIL, &email);
            r.set_text(fields::PHONE, &format!("{phone}{:02}", g.next() % 100));
            r.set_text(fields::FIRST_NAME, g.pick(&FIRST));
            r.set_text(fields::LAST_NAME, g.pick(&LAST));
            r.set("age", Value::Int(i64::from(2025 - year)));
            r.set_text(
                fields::BIRTH_DATE,
                &format!("{year}-{:02}-{:02}", 1 + g.next() % 12, 1 + g.next() % 28),
            );
            r.set_text(fields::COUNTRY, country);
            r.set_text(fields::REGION, region);
            r.set_text(fields::POSTAL_CODE, postal);
            let tier = match g.next() % 50 {
                0 => "tin",
                n => ["gold", "Silver", "bronze"][n % 3],
            };
            r.set_text(fields::LOYALTY_TIER, tier);
            r.set(fields::EMAIL_OPT_OUT, g.next().is_multiple_of(10));
            r.set_text(fields::USER_ID, &format!("u{i}"));
            r
        })
        .collect()
}

fn email(c: &mut Criterion) {
    let inputs = emails(EMAILS);
    let v = EmailValidator::new();
    EmailValidator::warm();
    let valid = inputs.iter().filter(|e| v.is_valid(e)).count();
    let baseline = regex::Regex::new(r"^[^\s@]+@[^\s@]+\.[^\s@]+$").unwrap();
    let baseline_valid = inputs.iter().filter(|e| baseline.is_match(e)).count();

    let mut group = c.benchmark_group("mergetag_validate::EmailValidator::validate");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("regex_baseline", EMAILS),
        &inputs,
        |b, inputs| {
            b.iter(|| {
                let n = inputs
                    .iter()
                    .filter(|e| baseline.is_match(black_box(e)))
                    .count();
                assert_eq!(n, baseline_valid);
            });
        },
    );
    group.bench_with_input(
        BenchmarkId::new("is_valid", EMAILS),
        &inputs,
        |b, inputs| {
            b.iter(|| {
                let n = inputs.iter().filter(|e| v.is_valid(black_box(e))).count();
                assert_eq!(n, valid);
            });
        },
    );
    group.bench_with_input(
        BenchmarkId::new("validate", EMAILS),
        &inputs,
        |b, inputs| {
            b.iter(|| {
                let n = inputs
                    .iter()
                    .filter_map(|e| v.validate(black_box(e)).ok())
                    .filter(|e| black_box(e.warnings().len()) < 4)
                    .count();
                assert_eq!(n, valid);
            });
        },
    );
    group.finish();
}

fn validator(c: &mut Criterion) {
    let data = records(RECORDS);
    mergetag::validate::warm();
    let rules = || RuleSet::from_toml_str(RULES).unwrap();
    assert_eq!(rules().len(), 10);
    let run = |v: &mut Validator| {
        v.reset();
        let mut report = Report::new();
        let mut quarantined = 0;
        for r in &data {
            if v.check(black_box(r), &mut report) == Verdict::Quarantined {
                quarantined += 1;
            }
        }
        quarantined
    };
    let expected = run(&mut Validator::new(rules()));
    assert!(
        expected > RECORDS / 50 && expected < RECORDS / 5,
        "{expected}"
    );

    let mut group = c.benchmark_group("mergetag_validate::Validator::check");
    group.sample_size(10);
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (variant, audit) in [("ten_rules", false), ("ten_rules_with_audit", true)] {
        let mut v = Validator::builder().audit(audit).build(rules());
        group.bench_function(BenchmarkId::new(variant, RECORDS), |b| {
            b.iter(|| assert_eq!(run(&mut v), expected));
        });
    }
    group.finish();
}

criterion_group!(benches, email, validator);
criterion_main!(benches);
