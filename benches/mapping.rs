//! Mapping throughput: recipients per second rendered through a 10-variable mapping document
//! (profile fields and traits, casing, truncation, currency, lookup, fallbacks), beside a
//! hand-written baseline that builds the same object directly; and whole SendGrid exports.
//!
//! Run with `cargo bench --bench mapping`. Fixtures are generated deterministically in memory.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mergetag::mapping::{ExporterBuilder, MappingConfig, Platform, Recipient, Rendered};
use mergetag::model::{Profile, ProfileId, RecordId, Value};

const RECIPIENTS: usize = 10_000;

const MAPPING: &str = r#"
platform = "sendgrid"
[[variables]]
name = "first_name"
source = "profile.first_name"
transforms = [{ op = "title" }]
fallback = "there"
[[variables]]
name = "last_name"
source = "profile.last_name"
fallback = ""
[[variables]]
name = "user_location"
source = "profile.city"
fallback = "your area"
[[variables]]
name = "tier"
source = "profile.loyalty_tier"
transforms = [{ op = "lookup", table = { gold = "Gold", silver = "Silver" }, default = "Member" }]
[[variables]]
name = "last_purchase_product"
source = "traits.last_purchase_product"
transforms = [{ op = "truncate", max = 24, ellipsis = "…" }]
fallback = "something new"
[[variables]]
name = "engagement_level"
source = "traits.engagement_level"
fallback = "Dormant"
[[variables]]
name = "orders"
source = "traits.orders"
type = "integer"
fallback = 0
[[variables]]
name = "lifetime_value"
source = "traits.lifetime_value"
transforms = [{ op = "currency", code = "USD" }]
fallback = "$0.00"
[[variables]]
name = "country"
source = "profile.country"
fallback = "US"
[[variables]]
name = "email"
source = "profile.email"
"#;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }
}

fn fixture() -> Vec<(Profile, BTreeMap<String, Value>)> {
    let mut rng = Lcg(7);
    let first = ["ada", "BOB", "chloe", "  ", "", "farah"];
    let cities = ["new york", "London", "", "Berlin"];
    let products = [
        "Running Shoes",
        "Trail Socks",
        "Compression Tights For Long Runs",
        "Tent",
    ];
    (0..RECIPIENTS)
        .map(|i| {
            let r = RecordId::row("crm", i as u64);
            let mut p = Profile::new(ProfileId(i as u64), vec![r.clone()]);
            let set = |p: &mut Profile, k: &str, v: Value| p.set(k, v, r.clone(), None);
            set(
                &mut p,
                "email",
                Value::from(format!("person{i}@example.com")),
            );
            set(
                &mut p,
                "first_name",
                Value::from(first[rng.next() % first.len()]),
            );
            set(&mut p, "last_name", Value::from("Smith"));
            set(
                &mut p,
                "city",
                Value::from(cities[rng.next() % cities.len()]),
            );
            set(&mut p, "country", Value::from("US"));
            set(
                &mut p,
                "loyalty_tier",
                Value::from(["gold", "silver", "bronze"][rng.next() % 3]),
            );
            let mut t = BTreeMap::new();
            if !rng.next().is_multiple_of(4) {
                t.insert(
                    "last_purchase_product".into(),
                    Value::from(products[rng.next() % 4]),
                );
                t.insert("orders".into(), Value::Int((rng.next() % 9) as i64));
                t.insert(
                    "lifetime_value".into(),
                    Value::Float((rng.next() % 100_000) as f64 / 100.0),
                );
            }
            t.insert(
                "engagement_level".into(),
                Value::from(["High", "Medium", "Low"][rng.next() % 3]),
            );
            (p, t)
        })
        .collect()
}

fn render(c: &mut Criterion) {
    let data = fixture();
    let recipients: Vec<Recipient> = data
        .iter()
        .map(|(p, t)| Recipient {
            profile: p,
            traits: t,
        })
        .collect();
    let mapping = MappingConfig::from_toml_str(MAPPING)
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(mapping.variables().len(), 10);
    let mut group = c.benchmark_group("mergetag_mapping::Mapping::render_into");
    // 1000 recipients fit in cache; 10000 do not.
    for n in [1_000, RECIPIENTS] {
        let slice = &recipients[..n];
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("10_variables", n), |b| {
            let mut out: Vec<Rendered> = Vec::with_capacity(10);
            b.iter(|| {
                let mut values = 0;
                for r in slice {
                    mapping.render_into(r, &mut out);
                    values += out.iter().filter(|v| !v.value.is_null()).count();
                }
                assert!(values >= n * 9);
                black_box(values)
            })
        });
    }
    group.throughput(Throughput::Elements(RECIPIENTS as u64));
    // Baseline: the same object built by hand, with no document, fallback tracking or
    // provenance.
    group.bench_function(BenchmarkId::new("hand_written_baseline", RECIPIENTS), |b| {
        b.iter(|| {
            let mut values = 0;
            for r in &recipients {
                let mut obj = Vec::with_capacity(10);
                for k in [
                    "first_name",
                    "last_name",
                    "city",
                    "loyalty_tier",
                    "country",
                    "email",
                ] {
                    obj.push(
                        r.profile
                            .value(k)
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    );
                }
                for k in [
                    "last_purchase_product",
                    "engagement_level",
                    "orders",
                    "lifetime_value",
                ] {
                    obj.push(r.traits.get(k).map(|v| v.to_string()));
                }
                values += obj.iter().filter(|v| v.is_some()).count();
            }
            black_box(values)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("mergetag_mapping::Exporter::export");
    group.throughput(Throughput::Elements(RECIPIENTS as u64));
    let exporter = ExporterBuilder::new(Platform::SendGrid)
        .build(&mapping)
        .unwrap();
    group.bench_function(BenchmarkId::new("sendgrid", RECIPIENTS), |b| {
        b.iter(|| {
            let a = exporter.export(&recipients);
            assert_eq!(a.report.exported, RECIPIENTS);
            black_box(a.payloads.len())
        })
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
