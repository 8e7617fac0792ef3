//! The integration tests of `mergetag-mapping`: the transform case table, the bundled Segment
//! events end to end, suppression across every platform, template checks, segments, properties,
//! and the replay of fuzz inputs.

mod fuzz;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use mergetag_mapping::model::{
    Channel, Event, EventKind, Profile, ProfileId, RecordId, Suppression, SuppressionReason, Value,
};
use mergetag_mapping::{
    EngagementConfig, Exclusion, ExporterBuilder, IdentityGraph, Level, MappingConfig, Missing,
    Outcome, Platform, Recipient, RfmInput, SegmentSetConfig, Syntax, TraitSetConfig, Transform,
    check_template, coverage, from_json, rfm,
};
use proptest::prelude::*;
use serde::Deserialize;

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file)
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap()
}

// ------------------------------------------------------------------------ transform case table

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformCases {
    case: Vec<TransformCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformCase {
    transform: Transform,
    input: serde_json::Value,
    output: String,
}

#[test]
fn transform_case_table() {
    let text = std::fs::read_to_string(data("transforms.toml")).unwrap();
    let cases: TransformCases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 15);
    for c in cases.case {
        let got = c.transform.apply(from_json(&c.input));
        let want = if c.output == "null" {
            Value::Null
        } else {
            Value::from(c.output.as_str())
        };
        assert_eq!(got, want, "{:?} on {}", c.transform, c.input);
    }
}

// ------------------------------------------------------------------------ the bundled events

fn sample_events() -> Vec<Event> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/data/events.jsonl");
    mergetag_sources::JsonLinesBuilder::new()
        .events_from_path("events", path)
        .unwrap()
        .filter_map(Result::ok)
        .collect()
}

/// One profile per user id seen in identify calls, with its email.
fn sample_profiles(events: &[Event]) -> Vec<Profile> {
    let mut users: BTreeMap<String, Option<String>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.kind == EventKind::Identify) {
        if let Some(u) = &e.user_id {
            let email = e
                .trait_value("email")
                .and_then(Value::as_str)
                .map(str::to_string);
            let slot = users.entry(u.clone()).or_default();
            if slot.is_none() {
                *slot = email;
            }
        }
    }
    users
        .into_iter()
        .enumerate()
        .map(|(i, (user, email))| {
            let r = RecordId::id("segment", user.clone());
            let mut p = Profile::new(ProfileId(i as u64), vec![r.clone()]);
            p.set("user_id", Value::from(user.as_str()), r.clone(), None);
            if let Some(e) = email {
                p.set("email", Value::from(e.as_str()), r, None);
            }
            p
        })
        .collect()
}

const TRAITS: &str = r#"
[[traits]]
name = "last_purchase_product"
event = "Order Completed"
property = "products.*.name"
aggregate = "last"

[[traits]]
name = "orders"
event = "Order Completed"
aggregate = "count"

[[traits]]
name = "lifetime_value"
event = "Order Completed"
property = "total"
aggregate = "sum"

[[traits]]
name = "favourite_category"
event = "Order Completed"
property = "products.*.category"
aggregate = "most_frequent"

[[traits]]
name = "viewed_products"
event = "Product Viewed"
property = "name"
aggregate = "unique_list"

[[traits]]
name = "days_since_order"
event = "Order Completed"
aggregate = "days_since"

[[traits]]
name = "no_click_90d"
event = "Email Link Clicked"
aggregate = "not_occurred"
within_days = 90
"#;

fn compute_all(
    events: &[Event],
    profiles: &[Profile],
) -> BTreeMap<ProfileId, BTreeMap<String, Value>> {
    let set = TraitSetConfig::from_toml_str(TRAITS)
        .unwrap()
        .build()
        .unwrap();
    let engagement = EngagementConfig::default().build().unwrap();
    let mut graph = IdentityGraph::from_profiles(profiles);
    graph.link(events);
    let grouped = graph.group(events);
    profiles
        .iter()
        .map(|p| {
            let evs = grouped.get(&p.id).cloned().unwrap_or_default();
            let mut t = set.compute(&evs, now());
            engagement.score(&evs, now()).insert_into(&mut t);
            (p.id, t)
        })
        .collect()
}

#[test]
fn sample_events_end_to_end_and_order_independent() {
    let events = sample_events();
    assert!(events.len() > 1500, "{}", events.len());
    let profiles = sample_profiles(&events);
    assert!(!profiles.is_empty());
    let forward = compute_all(&events, &profiles);
    let mut reversed = events.clone();
    reversed.reverse();
    assert_eq!(compute_all(&reversed, &profiles), forward);

    let with_orders = forward
        .values()
        .filter(|t| t.contains_key("last_purchase_product"))
        .count();
    assert!(with_orders > 0);
    let levels: BTreeSet<&str> = forward
        .values()
        .filter_map(|t| t["engagement_level"].as_str())
        .collect();
    assert!(levels.len() >= 2, "{levels:?}");

    // Machine opens are in the data and count for nothing by default.
    let machine = events
        .iter()
        .find(|e| matches!(e.properties.get("sg_machine_open"), Some(Value::Bool(true))))
        .expect("the sample has machine opens");
    let engagement = EngagementConfig::default().build().unwrap();
    assert_eq!(engagement.weight(machine), 0.0);

    // The whole audience renders for every platform.
    let mapping = MappingConfig::from_toml_str(MAPPING)
        .unwrap()
        .build()
        .unwrap();
    let recipients: Vec<Recipient> = profiles
        .iter()
        .map(|p| Recipient {
            profile: p,
            traits: &forward[&p.id],
        })
        .collect();
    for platform in Platform::ALL {
        let audience = ExporterBuilder::new(platform)
            .build(&mapping)
            .unwrap()
            .export(&recipients);
        let r = &audience.report;
        assert_eq!(
            r.recipients,
            r.exported + r.excluded.values().sum::<usize>()
        );
        assert!(r.exported > 0);
    }
}

const MAPPING: &str = r#"
[[variables]]
name = "fname"
source = "profile.first_name"
transforms = [{ op = "trim" }, { op = "title" }]
fallback = "there"

[[variables]]
name = "city"
source = "profile.city"
transforms = [{ op = "title" }]
fallback = "your area"

[[variables]]
name = "lastprod"
source = "traits.last_purchase_product"
fallback = "something new"

[[variables]]
name = "level"
source = "traits.engagement_level"
fallback = "Dormant"

[[variables]]
name = "ltv"
source = "traits.lifetime_value"
transforms = [{ op = "currency", code = "USD" }]

[[variables]]
name = "orders"
source = "traits.orders"
type = "integer"
fallback = 0
"#;

// ------------------------------------------------------------------------ suppression

fn suppression_fixture() -> (Vec<Profile>, BTreeSet<String>) {
    let mut profiles = Vec::new();
    let mut suppressed = BTreeSet::new();
    let reasons = [
        SuppressionReason::OptOut,
        SuppressionReason::Bounced,
        SuppressionReason::Complaint,
        SuppressionReason::NoConsent,
    ];
    for i in 0..60_u64 {
        let r = RecordId::row("crm", i);
        let mut p = Profile::new(ProfileId(i), vec![r.clone()]);
        let email = format!("person{i}@example.com");
        p.set("email", Value::from(email.as_str()), r.clone(), None);
        p.set("first_name", Value::from("Ann"), r.clone(), None);
        match i % 6 {
            0 => {
                p.suppressions.push(Suppression {
                    channel: Channel::Email,
                    reason: reasons[(i / 6) as usize % 4],
                    record: r.clone(),
                    at: None,
                });
                suppressed.insert(email);
            }
            1 => {
                p.set("email_opt_out", Value::Bool(true), r.clone(), None);
                suppressed.insert(email);
            }
            2 => {
                // Another source's profile with the address of a suppressed one, in other case.
                let twin = format!("PERSON{}@Example.com", i - 2);
                p.set("email", Value::from(twin.as_str()), r.clone(), None);
            }
            3 => {
                // Suppressed for SMS only: still emailable.
                p.suppressions.push(Suppression {
                    channel: Channel::Sms,
                    reason: SuppressionReason::OptOut,
                    record: r.clone(),
                    at: None,
                });
            }
            _ => {}
        }
        profiles.push(p);
    }
    (profiles, suppressed)
}

#[test]
fn no_suppressed_address_appears_in_any_output() {
    let (profiles, suppressed) = suppression_fixture();
    let traits = BTreeMap::new();
    let recipients: Vec<Recipient> = profiles
        .iter()
        .map(|p| Recipient {
            profile: p,
            traits: &traits,
        })
        .collect();
    let mapping = MappingConfig::from_toml_str(MAPPING)
        .unwrap()
        .build()
        .unwrap();
    for platform in Platform::ALL {
        let mut b = ExporterBuilder::new(platform);
        b.suppress_address("Person59@example.com");
        let audience = b.build(&mapping).unwrap().export(&recipients);
        let text = audience.to_jsonl().to_lowercase();
        for address in suppressed
            .iter()
            .chain(["person59@example.com".to_string()].iter())
        {
            assert!(
                !text.contains(&format!("\"{address}\"")),
                "{platform}: {address} leaked"
            );
        }
        let r = &audience.report;
        assert_eq!(r.recipients, 60);
        assert_eq!(r.exported + r.suppressed(), 60, "{platform}: {r:?}");
        assert_eq!(r.excluded[&Exclusion::OptOutField], 10);
        assert_eq!(r.excluded[&Exclusion::AddressSuppressed], 11);
        assert_eq!(r.exported, 29);
    }
}

/// Profiles sharing addresses: `sales@acme.com` on three people (in other case and padded on
/// one), `desk@acme.com` on two undated ones, `ann@example.com` alone.
fn shared_address_fixture() -> Vec<Profile> {
    let at = |m: u32| Utc.with_ymd_and_hms(2026, m, 1, 0, 0, 0).single();
    let mut profiles = Vec::new();
    for (id, email, observed, members) in [
        (1, "sales@acme.com", at(1), 1),
        (2, " Sales@ACME.com ", at(5), 1),
        (3, "ann@example.com", at(2), 1),
        (4, "sales@acme.com", at(5), 2),
        (5, "desk@acme.com", None, 1),
        (6, "desk@acme.com", None, 1),
    ] {
        let records: Vec<RecordId> = (0..members)
            .map(|k| RecordId::id("crm", format!("{id}-{k}")))
            .collect();
        let mut p = Profile::new(ProfileId(id), records.clone());
        p.set("email", Value::from(email), records[0].clone(), observed);
        p.set(
            "first_name",
            Value::from(format!("P{id}")),
            records[0].clone(),
            observed,
        );
        profiles.push(p);
    }
    profiles
}

#[test]
fn an_address_shared_by_profiles_is_sent_once() {
    let profiles = shared_address_fixture();
    let traits = BTreeMap::new();
    let mapping = MappingConfig::from_toml_str(MAPPING)
        .unwrap()
        .build()
        .unwrap();
    let mut forward: Vec<Recipient> = profiles
        .iter()
        .map(|p| Recipient {
            profile: p,
            traits: &traits,
        })
        .collect();
    for platform in Platform::ALL {
        let exporter = ExporterBuilder::new(platform).build(&mapping).unwrap();
        let audience = exporter.export(&forward);
        let text = audience.to_jsonl().to_lowercase();
        for address in ["sales@acme.com", "desk@acme.com", "ann@example.com"] {
            assert_eq!(
                text.matches(&format!("\"{address}\"")).count(),
                1,
                "{platform}: {address} in {text}"
            );
        }
        let r = &audience.report;
        assert_eq!((r.recipients, r.exported), (6, 3), "{platform}: {r:?}");
        assert_eq!(r.excluded[&Exclusion::DuplicateAddress], 3, "{platform}");
        assert_eq!(
            r.recipients,
            r.exported + r.excluded.values().sum::<usize>()
        );
        assert_eq!(r.suppressed(), 0, "a duplicate is not a suppression");
        // The most recent observation wins, then the most members, then the lowest id.
        let exclusions = exporter.exclusions(&forward);
        let kept: Vec<u64> = forward
            .iter()
            .zip(&exclusions)
            .filter(|(_, e)| e.is_none())
            .map(|(r, _)| r.profile.id.0)
            .collect();
        assert_eq!(kept, [3, 4, 5], "{platform}");
        // Whatever the order of the recipients.
        forward.reverse();
        let again = exporter.exclusions(&forward);
        let mut kept_again: Vec<u64> = forward
            .iter()
            .zip(&again)
            .filter(|(_, e)| e.is_none())
            .map(|(r, _)| r.profile.id.0)
            .collect();
        kept_again.sort();
        assert_eq!(kept_again, [3, 4, 5], "{platform}");
        forward.reverse();
    }
    // A suppressed twin still suppresses the address for everyone.
    let mut profiles = shared_address_fixture();
    profiles[0].set(
        "email_opt_out",
        Value::Bool(true),
        RecordId::id("crm", "1-0"),
        None,
    );
    let recipients: Vec<Recipient> = profiles
        .iter()
        .map(|p| Recipient {
            profile: p,
            traits: &traits,
        })
        .collect();
    let exporter = ExporterBuilder::new(Platform::Mailchimp)
        .build(&mapping)
        .unwrap();
    let r = exporter.export(&recipients).report;
    assert_eq!(r.excluded[&Exclusion::OptOutField], 1);
    assert_eq!(r.excluded[&Exclusion::AddressSuppressed], 2);
    assert_eq!(r.excluded[&Exclusion::DuplicateAddress], 1);
    assert_eq!(r.exported, 2);
}

// ------------------------------------------------------------------------ platforms

fn one_profile() -> Profile {
    let r = RecordId::id("crm", "1");
    let mut p = Profile::new(ProfileId(1), vec![r.clone()]);
    for (k, v) in [
        ("email", "ann@example.com"),
        ("first_name", "ann"),
        ("user_id", "u-1"),
        ("street", "1 Main St"),
        ("city", "new york"),
        ("region", "NY"),
        ("postal_code", "10001"),
        ("country", "US"),
        ("phone", "555-0100"),
        ("bio", &"x".repeat(300)),
    ] {
        p.set(k, Value::from(v), r.clone(), None);
    }
    p
}

#[test]
fn platform_shapes_and_limits() {
    let p = one_profile();
    let traits = BTreeMap::from([("orders".to_string(), Value::Int(2))]);
    let rs = [Recipient {
        profile: &p,
        traits: &traits,
    }];
    let doc = |platform: &str, extra: &str| {
        MappingConfig::from_toml_str(&format!(
            "platform = \"{platform}\"\n[[variables]]\nname = \"fname\"\nsource = \"profile.first_name\"\ntransforms = [{{ op = \"title\" }}]\n{extra}"
        ))
        .unwrap()
        .build()
        .unwrap()
    };
    // Mailchimp: upper-case tags, the address as an object.
    let m = doc(
        "mailchimp",
        "[[variables]]\nname = \"address\"\nsource = \"profile.address\"\ntype = \"address\"",
    );
    let a = ExporterBuilder::new(Platform::Mailchimp)
        .build(&m)
        .unwrap()
        .export(&rs);
    let member = &a.payloads[0]["members"][0];
    assert_eq!(member["merge_fields"]["FNAME"], "Ann");
    assert_eq!(member["merge_fields"]["ADDRESS"]["zip"], "10001");
    assert_eq!(member["email_address"], "ann@example.com");
    // Braze: strings over 255 characters are refused and reported.
    let b = doc(
        "braze",
        "[[variables]]\nname = \"bio\"\nsource = \"profile.bio\"",
    );
    let a = ExporterBuilder::new(Platform::Braze)
        .build(&b)
        .unwrap()
        .export(&rs);
    assert_eq!(a.payloads[0]["attributes"][0]["external_id"], "u-1");
    assert!(a.payloads[0]["attributes"][0].get("bio").is_none());
    assert_eq!(a.report.rejections.len(), 1);
    assert!(a.report.rejections[0].message.contains("255"));
    // Klaviyo: a phone not in E.164 is refused; other variables go to properties.
    let k = doc(
        "klaviyo",
        "[[variables]]\nname = \"phone_number\"\nsource = \"profile.phone\"\n[[variables]]\nname = \"orders\"\nsource = \"traits.orders\"\ntype = \"integer\"",
    );
    let a = ExporterBuilder::new(Platform::Klaviyo)
        .build(&k)
        .unwrap()
        .export(&rs);
    let prof = &a.payloads[0]["data"]["attributes"]["profiles"]["data"][0]["attributes"];
    assert_eq!(prof["properties"]["fname"], "Ann");
    assert_eq!(prof["properties"]["orders"], 2);
    assert!(prof.get("phone_number").is_none());
    assert!(a.report.rejections[0].message.contains("e.164"));
    // SendGrid: 1000 personalizations per request at most (2500 people, each their address).
    let s = doc("sendgrid", "");
    let people: Vec<Profile> = (0..2500_u64)
        .map(|i| {
            let mut q = p.clone();
            q.id = ProfileId(i);
            q.set(
                "email",
                Value::from(format!("ann{i}@example.com")),
                RecordId::id("crm", "1"),
                None,
            );
            q
        })
        .collect();
    let many: Vec<Recipient> = people
        .iter()
        .map(|q| Recipient {
            profile: q,
            traits: &traits,
        })
        .collect();
    let a = ExporterBuilder::new(Platform::SendGrid)
        .build(&s)
        .unwrap()
        .export(&many);
    assert_eq!(a.payloads.len(), 3);
    assert_eq!(
        a.payloads[0]["personalizations"].as_array().unwrap().len(),
        1000
    );
    // A mapping built for one platform can be refused by another.
    let long = MappingConfig::from_toml_str(
        "[[variables]]\nname = \"last_purchase\"\nsource = \"traits.x\"",
    )
    .unwrap()
    .build()
    .unwrap();
    let err = ExporterBuilder::new(Platform::Mailchimp)
        .build(&long)
        .unwrap_err();
    assert!(err.to_string().contains("at most 10"), "{err}");
}

#[test]
fn names_that_collide_on_a_platform_are_config_errors() {
    let doc = |platform: &str, a: &str, b: &str| {
        format!(
            "platform = \"{platform}\"\n[[variables]]\nname = \"{a}\"\nsource = \"profile.first_name\"\n\
             [[variables]]\nname = \"{b}\"\nsource = \"profile.city\"\n"
        )
    };
    for (a, b) in [("fname", "FNAME"), ("city", "CITY"), ("City", "cITY")] {
        let e = MappingConfig::from_toml_str(&doc("mailchimp", a, b))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("variables[1].name: ")
                && e.contains(&format!("`{a}`"))
                && e.contains(&format!("`{b}`")),
            "{e}"
        );
        // Elsewhere they are two variables, but Mailchimp output of the same mapping is refused.
        let m = MappingConfig::from_toml_str(&doc("sendgrid", a, b).replace("sendgrid", "jsonl"))
            .unwrap()
            .build()
            .unwrap();
        let found = m.check_platform(Platform::Mailchimp);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, b);
        assert!(found[0].1.contains(&format!("`{a}`")), "{found:?}");
        assert!(m.check_platform(Platform::SendGrid).is_empty());
        let err = ExporterBuilder::new(Platform::Mailchimp)
            .build(&m)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(&format!("`{a}`")) && err.contains(&format!("`{b}`")),
            "{err}"
        );
    }
}

#[test]
fn date_formats_are_checked_against_date_sources() {
    let doc = |source: &str, format: &str| {
        format!(
            "[[variables]]\nname = \"bday\"\nsource = \"{source}\"\n\
             transforms = [{{ op = \"trim\" }}, {{ op = \"date\", format = \"{format}\" }}]\nfallback = \"soon\"\n"
        )
    };
    for f in ["%H:%M", "%Z", "%z", "%s", "%p", "%Y-%m-%d %I%p"] {
        let e = MappingConfig::from_toml_str(&doc("profile.birth_date", f))
            .unwrap()
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("variables[0].transforms[1]: variable `bday`: `%"),
            "{f}: {e}"
        );
        // A source whose type is unknown builds; a date there renders the fallback, no panic.
        let m = MappingConfig::from_toml_str(&doc("profile.anniversary", f))
            .unwrap()
            .build()
            .unwrap();
        let r = RecordId::id("crm", "1");
        let mut p = Profile::new(ProfileId(1), vec![r.clone()]);
        let day = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        p.set("anniversary", Value::Date(day), r, None);
        let traits = BTreeMap::new();
        let out = m.to_object(&Recipient {
            profile: &p,
            traits: &traits,
        });
        assert_eq!(out["bday"], "soon", "{f}");
    }
    let ok = MappingConfig::from_toml_str(&doc("profile.birth_date", "%B %-d"));
    assert!(ok.unwrap().build().is_ok());
    let ok = MappingConfig::from_toml_str(&doc("profile.created_at", "%H:%M %Z"));
    assert!(ok.unwrap().build().is_ok());
}

// ------------------------------------------------------------------------ templates

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateCases {
    case: Vec<TemplateCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateCase {
    syntax: Syntax,
    template: String,
    #[serde(default)]
    variables: Vec<String>,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    error: bool,
    #[serde(default)]
    line: Option<usize>,
    /// Whether to render it (a template that needs a partial is not rendered).
    #[serde(default = "yes")]
    render: bool,
}

fn yes() -> bool {
    true
}

/// Each template's variables are the ones its engine reads: the reported set is as expected,
/// and one recipient holding exactly those variables renders with the real engine in strict
/// mode (Handlebars' strict mode; Liquid errors on unknown variables by default).
#[test]
fn template_variables_case_table() {
    let text = std::fs::read_to_string(data("templates.toml")).unwrap();
    let cases: TemplateCases = toml::from_str(&text).unwrap();
    assert!(cases.case.len() >= 20);
    for c in &cases.case {
        let s = mergetag_mapping::scan(&c.template, c.syntax);
        if c.error {
            assert_eq!(s.problems.len(), 1, "{c:?}: {s:?}");
            let p = &s.problems[0];
            assert!(
                p.offset <= c.template.len() && !p.message.is_empty(),
                "{p:?}"
            );
            if c.line.is_some() {
                assert_eq!(p.line, c.line, "{c:?}: {p:?}");
            }
            let e = s.clone().into_result(c.syntax).unwrap_err();
            assert!(matches!(e, mergetag_mapping::Error::Template { .. }), "{e}");
            continue;
        }
        let found: Vec<&String> = s.variables.iter().collect();
        assert_eq!(found, c.variables.iter().collect::<Vec<_>>(), "{c:?}");
        assert!(s.problems.is_empty(), "{c:?}: {s:?}");
        if !c.render {
            continue;
        }
        let mut shaped: serde_json::Map<String, serde_json::Value> = c
            .data
            .as_deref()
            .map(|d| serde_json::from_str(d).unwrap())
            .unwrap_or_default();
        for v in &c.variables {
            shaped.entry(v.clone()).or_insert_with(|| "x".into());
        }
        let keys: BTreeSet<&String> = shaped.keys().collect();
        assert_eq!(
            keys,
            s.variables.iter().collect(),
            "the data holds the variables only"
        );
        match c.syntax {
            Syntax::Handlebars => {
                let mut hbs = handlebars::Handlebars::new();
                hbs.set_strict_mode(true);
                if let Err(e) = hbs.render_template(&c.template, &shaped) {
                    panic!("{c:?}: {e}");
                }
            }
            Syntax::Liquid => {
                let parser = liquid::ParserBuilder::with_stdlib().build().unwrap();
                let t = parser.parse(&c.template).unwrap();
                let globals = liquid::model::to_object(&shaped).unwrap();
                if let Err(e) = t.render(&globals) {
                    panic!("{c:?}: {e}");
                }
            }
        }
    }
}

#[test]
fn template_check_reports_unknown_and_coverage() {
    let mapping = MappingConfig::from_toml_str(MAPPING)
        .unwrap()
        .build()
        .unwrap();
    let r = RecordId::id("crm", "1");
    let mut with_name = Profile::new(ProfileId(1), vec![r.clone()]);
    with_name.set("first_name", Value::from("ann"), r.clone(), None);
    let mut blank = Profile::new(ProfileId(2), vec![r.clone()]);
    blank.set("first_name", Value::from("   "), r, None);
    let none = Profile::new(ProfileId(3), vec![]);
    let traits = BTreeMap::new();
    let rs: Vec<Recipient> = [&with_name, &blank, &none]
        .into_iter()
        .map(|p| Recipient {
            profile: p,
            traits: &traits,
        })
        .collect();
    let hbs = "Hi {{fname}}, {{#if lastprod}}loved {{lastprod}}?{{/if}} {{coupon_code}} {{ltv}}";
    let c = check_template(hbs, Syntax::Handlebars, &mapping, &rs);
    assert_eq!(c.unknown, BTreeSet::from(["coupon_code".to_string()]));
    assert!(c.unused.contains("city"));
    assert_eq!(c.coverage["fname"].value, 1);
    assert_eq!(c.coverage["fname"].fallback[&Missing::Whitespace], 1);
    assert_eq!(c.coverage["fname"].fallback[&Missing::Absent], 1);
    assert_eq!(c.coverage["lastprod"].fallback[&Missing::Absent], 3);
    assert_eq!(c.coverage["ltv"].null, 3);
    assert!(!c.is_ready());
    let all = coverage(&mapping, &rs);
    assert_eq!(all.len(), mapping.variables().len());
    assert_eq!(all["orders"].fallback[&Missing::Absent], 3);
    let liquid = "Hi {{ fname | default: 'there' }} from {{ city }}";
    let c = check_template(liquid, Syntax::Liquid, &mapping, &rs);
    assert!(c.unknown.is_empty() && c.is_ready(), "{c:?}");
}

#[test]
fn json_document_and_schema_agree_with_payloads() {
    let json = r#"{
        "platform": "braze",
        "variables": [
            {"name": "first_name", "source": "profile.first_name", "fallback": "there",
             "transforms": [{"op": "title"}], "description": "greeting name"},
            {"name": "signup", "source": "profile.created_at", "type": "date"},
            {"name": "orders", "source": "traits.orders", "type": "integer", "fallback": 0},
            {"name": "home", "source": "profile.address", "type": "address"}
        ]
    }"#;
    let mapping = MappingConfig::from_json_str(json).unwrap().build().unwrap();
    let schema = mapping.json_schema();
    assert_eq!(
        schema["required"],
        serde_json::json!(["first_name", "orders"])
    );
    assert_eq!(schema["properties"]["signup"]["format"], "date");
    assert_eq!(
        schema["properties"]["first_name"]["description"],
        "greeting name"
    );
    let p = one_profile();
    let traits = BTreeMap::new();
    let object = mapping.to_object(&Recipient {
        profile: &p,
        traits: &traits,
    });
    let props = schema["properties"].as_object().unwrap();
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        props.keys().collect::<Vec<_>>()
    );
    assert_eq!(object["home"]["city"], "new york");
    assert_eq!(object["orders"], 0);
    assert!(object["signup"].is_null());
    // Unknown keys are refused on load, with the position.
    let err =
        MappingConfig::from_json_str(r#"{"variables": [], "platfrom": "braze"}"#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("<json>: line 1, column 28: unknown field `platfrom`"),
        "{err}"
    );
}

// ------------------------------------------------------------------------ segments

#[test]
fn segments_and_rfm() {
    let set = SegmentSetConfig::from_toml_str(
        r#"
        [[segments]]
        name = "ny_buyers"
        rule = { all = [
            { field = "profile.city", op = "contains", value = "york" },
            { any = [
                { field = "traits.orders", op = "gte", value = 2 },
                { field = "traits.tags", op = "contains", value = "vip" },
            ] },
            { not = { field = "profile.email_opt_out", op = "eq", value = true } },
        ] }

        [[segments]]
        name = "recent"
        rule = { field = "traits.last_order_at", op = "within_days", value = 30 }

        [[segments]]
        name = "before_july"
        rule = { field = "traits.last_order_at", op = "before", value = "2025-07-01" }

        [[segments]]
        name = "no_phone"
        rule = { field = "profile.phone", op = "missing" }
        "#,
    )
    .unwrap()
    .build()
    .unwrap();
    let p = one_profile();
    let traits = BTreeMap::from([
        ("orders".to_string(), Value::Int(1)),
        ("tags".to_string(), Value::List(vec!["vip".into()])),
        (
            "last_order_at".to_string(),
            Value::DateTime(now() - Duration::days(3)),
        ),
    ]);
    let r = Recipient {
        profile: &p,
        traits: &traits,
    };
    assert_eq!(set.segments_of(&r, now()), ["ny_buyers", "recent"]);

    let inputs: Vec<RfmInput> = (0..50_u64)
        .map(|i| RfmInput {
            profile: ProfileId(49 - i),
            recency_days: (i % 7 != 0).then_some(i as i64 * 3),
            frequency: i % 10,
            monetary: (i % 10) as f64 * 25.0,
        })
        .collect();
    let a = rfm(&inputs);
    let mut shuffled = inputs.clone();
    shuffled.reverse();
    assert_eq!(rfm(&shuffled), a);
    assert!(
        a.iter()
            .all(|s| (1..=5).contains(&s.r) && (1..=5).contains(&s.f))
    );
    assert!(
        a.iter()
            .filter(|s| inputs
                .iter()
                .any(|i| i.profile == s.profile && i.recency_days.is_none()))
            .all(|s| s.r == 1)
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentCases {
    case: Vec<SegmentCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentCase {
    rule: mergetag_mapping::ConditionConfig,
    matches: bool,
}

#[test]
fn segment_case_table() {
    let cases: SegmentCases =
        toml::from_str(&std::fs::read_to_string(data("segments.toml")).unwrap()).unwrap();
    assert!(cases.case.len() >= 20);
    let r = RecordId::id("crm", "1");
    let mut p = Profile::new(ProfileId(1), vec![r.clone()]);
    p.set("city", Value::from("new york"), r.clone(), None);
    p.set("country", Value::from("US"), r.clone(), None);
    p.set("email_opt_out", Value::Bool(false), r, None);
    let traits = BTreeMap::from([
        ("orders".to_string(), Value::Int(3)),
        ("lifetime_value".to_string(), Value::Float(250.5)),
        (
            "tags".to_string(),
            Value::List(vec!["vip".into(), "runner".into()]),
        ),
        ("engagement_level".to_string(), Value::from("High")),
        (
            "last_order_at".to_string(),
            Value::DateTime(now() - Duration::days(3)),
        ),
        (
            "first_order_on".to_string(),
            Value::Date(chrono::NaiveDate::from_ymd_opt(2024, 2, 10).unwrap()),
        ),
    ]);
    let recipient = Recipient {
        profile: &p,
        traits: &traits,
    };
    for (i, c) in cases.case.into_iter().enumerate() {
        let set = mergetag_mapping::SegmentSetConfig {
            segments: vec![mergetag_mapping::SegmentConfig {
                name: "s".into(),
                rule: c.rule,
            }],
        }
        .build()
        .unwrap();
        let got = !set.segments_of(&recipient, now()).is_empty();
        assert_eq!(got, c.matches, "case {i}");
    }
}

// ------------------------------------------------------------------------ properties

fn arb_event() -> impl Strategy<Value = Event> {
    (
        0..4_usize,
        0..200_i64,
        prop::option::of(0..5_i64),
        prop::option::of(-100.0..100.0_f64),
        any::<bool>(),
    )
        .prop_map(|(kind, hours, product, total, machine)| {
            let at = now() - Duration::hours(hours * 7);
            let name = [
                "Order Completed",
                "Email Opened",
                "Email Link Clicked",
                "Product Viewed",
            ][kind];
            let mut e = Event::track(name, at).with_property("sg_machine_open", machine);
            if let Some(p) = product {
                e = e.with_property("name", format!("p{p}"));
                let item = Value::Object(BTreeMap::from([(
                    "name".to_string(),
                    Value::from(format!("p{p}")),
                )]));
                e = e.with_property("products", Value::List(vec![item]));
            }
            if let Some(t) = total {
                e = e.with_property("total", Value::float(t));
            }
            e
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn traits_do_not_depend_on_event_order(events in prop::collection::vec(arb_event(), 0..40), seed in any::<u64>()) {
        let set = TraitSetConfig::from_toml_str(TRAITS).unwrap().build().unwrap();
        let engagement = EngagementConfig::default().build().unwrap();
        let refs: Vec<&Event> = events.iter().collect();
        let mut shuffled = refs.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(set.compute(&refs, now()), set.compute(&shuffled, now()));
        let (a, b) = (engagement.score(&refs, now()), engagement.score(&shuffled, now()));
        prop_assert_eq!(a.score.to_bits(), b.score.to_bits());
        prop_assert!(a.score >= 0.0);
        if refs.is_empty() { prop_assert_eq!(a.level, Level::Dormant); }
    }

    #[test]
    fn every_variable_has_a_value_or_its_fallback(
        first in prop::option::of("[ a-zA-Z]{0,6}"),
        city in prop::option::of("[ a-z]{0,6}"),
        orders in prop::option::of(any::<i64>()),
        product in prop::option::of("[ ]{0,2}|[a-z ]{0,6}"),
    ) {
        let mapping = MappingConfig::from_toml_str(MAPPING).unwrap().build().unwrap();
        let r = RecordId::id("crm", "1");
        let mut p = Profile::new(ProfileId(1), vec![r.clone()]);
        if let Some(f) = &first { p.set("first_name", Value::from(f.as_str()), r.clone(), None); }
        if let Some(c) = &city { p.set("city", Value::from(c.as_str()), r.clone(), None); }
        let mut traits = BTreeMap::new();
        if let Some(o) = orders { traits.insert("orders".to_string(), Value::Int(o)); }
        if let Some(x) = &product { traits.insert("last_purchase_product".to_string(), Value::from(x.as_str())); }
        let rec = Recipient { profile: &p, traits: &traits };
        for (v, out) in mapping.variables().iter().zip(mapping.render(&rec)) {
            match (v.fallback(), out.outcome) {
                (Some(f), Outcome::Fallback(_)) => prop_assert_eq!(&*out.value, f),
                (_, Outcome::Source) => {
                    prop_assert!(!out.value.is_null());
                    if let Some(s) = out.value.as_str() { prop_assert!(!s.trim().is_empty()); }
                }
                (None, Outcome::Null(_)) => prop_assert!(out.value.is_null()),
                (f, o) => prop_assert!(false, "{:?} with fallback {:?}", o, f),
            }
        }
    }
}

// ------------------------------------------------------------------------ fuzz replay

#[test]
fn fuzz_inputs_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    let mut n = 0;
    for (target, run) in [
        ("mapping_document", fuzz::mapping_document as fn(&[u8])),
        ("mapping_template", fuzz::mapping_template),
        ("mapping_render", fuzz::mapping_render),
        ("mapping_suppression", fuzz::mapping_suppression),
    ] {
        for entry in std::fs::read_dir(root.join(target)).unwrap() {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 2, "{n}");
}
