//! Normalization throughput: values per second for each normalizer over realistic messy
//! inputs, and records per second for a whole typical contact record (name, email, phone,
//! birth date, address, country) through a `RecordNormalizer`.
//!
//! Run with `cargo bench --bench normalize`. Fixtures are generated deterministically in
//! memory; each timed loop checks its result so that the work cannot be optimized away.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::normalize::{
    ChangeLog, Context, Country, DateKind, DateNormalizer, DateOrder, DateParser, Email, NamePart,
    NormalizeConfig, Normalizer, Phone, PostalCode, Region, Text, UsStreet, email_key,
    given_name_keys, text_key,
};
use mergetag::{Record, RecordId};

const VALUES: usize = 10_000;
const RECORDS: usize = 10_000;

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
    "ADA", "bob", "Chloe", "JEAN-LUC", "émily", "farah", "Gus", "hana",
];
const LAST: [&str; 8] = [
    "LOVELACE",
    "o'brien",
    "Müller",
    "MCDONALD",
    "van der berg",
    "Nguyen",
    "smith",
    "Okafor",
];
const DOMAINS: [&str; 6] = [
    "gmail.com",
    "Yahoo.com",
    "OUTLOOK.COM",
    "bücher.de",
    "acme-corp.com",
    "googlemail.com",
];
const STREETS: [&str; 6] = [
    "main street",
    "North Elm Ave.",
    "w madison st",
    "Lake Shore Drive",
    "5th Avenue",
    "oak court",
];
const UNITS: [&str; 4] = ["", " apartment 4b", " Suite #1200", " #3"];
const CITIES: [&str; 4] = ["Springfield", "chicago", "NEW YORK", "Austin"];
const STATES: [&str; 5] = ["illinois", "IL", "Ill.", "New York", "tx"];
const COUNTRIES: [&str; 6] = [
    "USA",
    "U.S.A.",
    "United States",
    "us",
    "United States of America",
    "840",
];
const DATES: [&str; 6] = [
    "1985-04-03",
    "April 3, 1985",
    "3rd May 2001",
    "12/25/1990",
    "19900101",
    "31138",
];

fn messy(g: &mut Lcg) -> [String; 9] {
    let (f, l) = (g.pick(&FIRST), g.pick(&LAST));
    let email = match g.next() % 3 {
        0 => format!("  {f}.{l}@{} ", g.pick(&DOMAINS)),
        1 => format!("\"{f} {l}\" <{f}+news@{}>", g.pick(&DOMAINS)),
        _ => format!("mailto:{f}@{}", g.pick(&DOMAINS)),
    }
    // Apostrophes of names (O'Brien) are not allowed in these unquoted local parts.
    .replace('\'', "");
    let n = g.next();
    let phone = match n % 3 {
        0 => format!("(312) 555-{:04}", n % 10_000),
        1 => format!("+1 312 555 {:04}", n % 10_000),
        _ => format!("312.555.{:04} x12", n % 10_000),
    };
    let street = format!("{} {}{}", 1 + n % 9_000, g.pick(&STREETS), g.pick(&UNITS));
    [
        f.to_owned(),
        l.to_owned(),
        email,
        phone,
        g.pick(&DATES).to_owned(),
        street,
        g.pick(&CITIES).to_owned(),
        g.pick(&STATES).to_owned(),
        g.pick(&COUNTRIES).to_owned(),
    ]
}

fn fixtures() -> Vec<[String; 9]> {
    let mut g = Lcg(0x2545_F491_4F6C_DD1D);
    (0..VALUES).map(|_| messy(&mut g)).collect()
}

fn bench_normalizers(c: &mut Criterion) {
    let rows = fixtures();
    let column = |i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
    let zips: Vec<String> = (0..VALUES)
        .map(|i| format!("{:05}{:04}", 10_000 + i * 7 % 89_999, i % 10_000))
        .collect();
    let us = Context::with_country(Some("US"));
    let cases: Vec<(&str, Box<dyn Normalizer>, Vec<String>)> = vec![
        ("Text", Box::new(Text::new()), column(6)),
        ("Email", Box::new(Email::new()), column(2)),
        ("Phone", Box::new(Phone::new()), column(3)),
        (
            "DateNormalizer",
            Box::new(DateNormalizer::new(
                DateParser::new().order(Some(DateOrder::Mdy)),
                DateKind::Date,
            )),
            column(4),
        ),
        ("Country", Box::new(Country::new()), column(8)),
        ("Region", Box::new(Region::new()), column(7)),
        ("UsStreet", Box::new(UsStreet::new()), column(5)),
        ("PostalCode", Box::new(PostalCode::new()), zips),
        ("NamePart", Box::new(NamePart::new()), column(1)),
    ];
    let mut group = c.benchmark_group("mergetag_normalize::Normalizer::normalize_in");
    group.throughput(Throughput::Elements(VALUES as u64));
    for (name, n, inputs) in &cases {
        group.bench_with_input(BenchmarkId::new(*name, VALUES), inputs, |b, inputs| {
            let mut out = String::new();
            b.iter(|| {
                let mut ok = 0usize;
                for s in inputs {
                    ok += usize::from(n.normalize_in(black_box(s), us, &mut out).is_ok());
                }
                assert!(ok > VALUES * 9 / 10, "{name}: only {ok} normalized");
                ok
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("mergetag_normalize::keys");
    group.throughput(Throughput::Elements(VALUES as u64));
    let emails = column(2);
    group.bench_function(BenchmarkId::new("email_key", VALUES), |b| {
        let mut k = String::new();
        b.iter(|| {
            emails
                .iter()
                .filter(|e| email_key(black_box(e), &mut k))
                .count()
        })
    });
    let names = column(0);
    group.bench_function(BenchmarkId::new("given_name_keys", VALUES), |b| {
        let mut k = Vec::new();
        b.iter(|| {
            names
                .iter()
                .map(|n| {
                    given_name_keys(black_box(n), &mut k);
                    k.len()
                })
                .sum::<usize>()
        })
    });
    let lasts = column(1);
    group.bench_function(BenchmarkId::new("text_key", VALUES), |b| {
        let mut k = String::new();
        b.iter(|| {
            lasts
                .iter()
                .map(|n| {
                    text_key(black_box(n), &mut k);
                    k.len()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

fn bench_records(c: &mut Criterion) {
    let rows = fixtures();
    let normalizer = NormalizeConfig::from_toml_str(
        r#"
        [fields.first_name]
        normalizer = "name"
        [fields.last_name]
        normalizer = "name"
        [fields.email]
        normalizer = "email"
        [fields.phone]
        normalizer = "phone"
        [fields.birth_date]
        normalizer = "date"
        order = "MDY"
        [fields.street]
        normalizer = "street"
        [fields.city]
        normalizer = "text"
        [fields.region]
        normalizer = "region"
        [fields.country]
        normalizer = "country"
        "#,
    )
    .unwrap()
    .build()
    .unwrap();
    let names = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "street",
        "city",
        "region",
        "country",
    ];
    let records: Vec<Record> = rows
        .iter()
        .take(RECORDS)
        .enumerate()
        .map(|(i, row)| {
            let mut r = Record::new(RecordId::row("bench", i as u64));
            for (f, v) in names.iter().zip(row) {
                r.set(*f, v.as_str());
            }
            r
        })
        .collect();
    let mut group = c.benchmark_group("mergetag_normalize::RecordNormalizer::normalize");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("contact", RECORDS), |b| {
        let mut log = ChangeLog::new();
        b.iter_batched_ref(
            || records.clone(),
            |records| {
                let mut flagged = 0;
                for r in records.iter_mut() {
                    normalizer.normalize(r, &mut log);
                    flagged += usize::from(log.has_flags());
                }
                assert!(flagged < RECORDS / 10, "{flagged} records flagged");
                flagged
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_normalizers, bench_records);
criterion_main!(benches);
