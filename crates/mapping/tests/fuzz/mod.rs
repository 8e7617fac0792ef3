//! What the fuzz targets in `fuzz/fuzz_targets/mapping_*.rs` run, shared with the replay test
//! in `tests/mapping.rs`, so that an input the fuzzer saved is replayed by plain `cargo test`.
//! The fuzz targets include this file with `#[path = ...] mod`.

use std::collections::BTreeMap;

use mergetag_mapping::model::{Profile, ProfileId, RecordId, Value};
use mergetag_mapping::{
    Error, MappingConfig, Outcome, Platform, Recipient, SuppressionRulesConfig, Syntax, from_json,
    scan,
};

fn check_error(e: &Error, text: &str) {
    let m = e.to_string();
    assert!(!m.is_empty() && !m.ends_with('.'), "{m:?}");
    if let Error::Parse(p) = e {
        assert!(p.line <= text.lines().count() + 1, "{m}");
        assert!(!p.message.contains('\n'), "{m:?}");
    }
}

/// `mapping_document`: byte 0 even → TOML, odd → JSON; the rest is the document. Checks that
/// loading never panics, errors read well, and a built mapping renders every variable with a
/// value or its fallback (never null when there is a fallback), with a schema naming them all.
pub fn mapping_document(data: &[u8]) {
    let [opts, ref rest @ ..] = *data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let config = if opts & 1 == 0 {
        MappingConfig::from_toml_str(text)
    } else {
        MappingConfig::from_json_str(text)
    };
    let mapping = match config.and_then(|c| c.build()) {
        Ok(m) => m,
        Err(e) => return check_error(&e, text),
    };
    let r = RecordId::id("fuzz", "1");
    let mut p = Profile::new(ProfileId(1), vec![r.clone()]);
    for (name, v) in [
        ("first_name", Value::from("  ")),
        ("city", Value::from("new york")),
        ("email", Value::from("a@example.com")),
        ("total", Value::Float(12.5)),
        ("birth_date", Value::from("")),
    ] {
        p.set(name, v, r.clone(), None);
    }
    let traits = BTreeMap::from([("orders".to_string(), Value::Int(3))]);
    let recipient = Recipient {
        profile: &p,
        traits: &traits,
    };
    for (v, out) in mapping.variables().iter().zip(mapping.render(&recipient)) {
        match out.outcome {
            Outcome::Source => assert!(!out.value.is_null()),
            Outcome::Fallback(_) => assert_eq!(Some(&*out.value), v.fallback()),
            Outcome::Null(_) => assert!(v.fallback().is_none() && out.value.is_null()),
        }
    }
    let schema = mapping.json_schema();
    assert_eq!(
        schema["properties"].as_object().map(|o| o.len()),
        Some(mapping.variables().len())
    );
}

/// `mapping_template`: byte 0 even → Handlebars, odd → Liquid; the rest is the template.
/// Checks that scanning never panics, every variable found is a non-empty name that occurs
/// in the template, and every problem points inside it.
pub fn mapping_template(data: &[u8]) {
    let [opts, ref rest @ ..] = *data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let syntax = if opts & 1 == 0 {
        Syntax::Handlebars
    } else {
        Syntax::Liquid
    };
    let s = scan(text, syntax);
    for v in &s.variables {
        assert!(!v.is_empty() && text.contains(v.as_str()), "{v:?}");
    }
    for p in &s.problems {
        assert!(p.offset <= text.len());
        assert!(!p.message.is_empty() && !p.message.ends_with('.'));
    }
}

/// `mapping_render`: byte 0 even → TOML, odd → JSON; bit 1 set → text that reads as a date
/// or datetime becomes a date or datetime value. The rest is a mapping document, a NUL byte,
/// then a JSON object of values: keys `traits.<name>` are traits, any other key a profile
/// field. Checks that a mapping that builds renders every recipient without panicking (date
/// formats a value cannot fill included), that the outcomes agree with the values, and that
/// the names every platform accepts are written under distinct keys.
pub fn mapping_render(data: &[u8]) {
    let [opts, ref rest @ ..] = *data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (doc, values) = text.split_once('\0').unwrap_or((text, "{}"));
    let config = if opts & 1 == 0 {
        MappingConfig::from_toml_str(doc)
    } else {
        MappingConfig::from_json_str(doc)
    };
    let mapping = match config.and_then(|c| c.build()) {
        Ok(m) => m,
        Err(e) => return check_error(&e, doc),
    };
    let Ok(serde_json::Value::Object(values)) = serde_json::from_str(values) else {
        return;
    };
    let r = RecordId::id("fuzz", "1");
    let mut p = Profile::new(ProfileId(1), vec![r.clone()]);
    let mut traits = BTreeMap::new();
    for (key, json) in &values {
        let mut v = from_json(json);
        if opts & 2 != 0
            && let Value::Text(s) = &v
        {
            if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                v = Value::Date(d);
            } else if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                v = Value::DateTime(t.with_timezone(&chrono::Utc));
            }
        }
        match key.strip_prefix("traits.") {
            Some(name) => {
                traits.insert(name.to_string(), v);
            }
            None => p.set(key.as_str(), v, r.clone(), None),
        }
    }
    let recipient = Recipient {
        profile: &p,
        traits: &traits,
    };
    for (v, out) in mapping.variables().iter().zip(mapping.render(&recipient)) {
        match out.outcome {
            Outcome::Source => assert!(!out.value.is_null()),
            Outcome::Fallback(_) => assert_eq!(Some(&*out.value), v.fallback()),
            Outcome::Null(_) => assert!(v.fallback().is_none() && out.value.is_null()),
        }
    }
    let object = mapping.to_object(&recipient);
    assert_eq!(object.len(), mapping.variables().len());
    for platform in Platform::ALL {
        if mapping.check_platform(platform).is_empty() {
            let keys: std::collections::BTreeSet<String> = mapping
                .variables()
                .iter()
                .map(|v| platform.key(v.name()))
                .collect();
            assert_eq!(keys.len(), mapping.variables().len(), "{platform}");
        }
    }
}

/// `mapping_suppression`: byte 0 even → TOML, odd → JSON; the rest is a suppression-rules
/// document. Loading and building never panic and errors read well; rules that build classify
/// a fixed set of platform events (bounces, complaints, unsubscribes, with and without
/// addresses) without panicking, deterministically, and only suppress addresses the events
/// name.
pub fn mapping_suppression(data: &[u8]) {
    use mergetag_mapping::model::Event;

    let [opts, ref rest @ ..] = *data else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let loaded = if opts % 2 == 0 {
        SuppressionRulesConfig::from_toml_str(text)
    } else {
        SuppressionRulesConfig::from_json_str(text)
    };
    let config = match loaded {
        Ok(c) => c,
        Err(e) => return check_error(&e, text),
    };
    let rules = match config.build() {
        Ok(r) => r,
        Err(e) => return check_error(&e, text),
    };
    let at = |s: &str| s.parse().unwrap_or_default();
    let events = vec![
        Event::track("bounce", at("2026-01-01T00:00:00Z"))
            .with_email("Ann.Lee+x@gmail.com")
            .with_property("type", "bounce"),
        Event::track("bounce", at("2026-01-02T00:00:00Z"))
            .with_email("bo@example.com")
            .with_property("type", "blocked"),
        Event::track("spamreport", at("2026-01-03T00:00:00Z")).with_email("cy@example.com"),
        Event::track("Unsubscribed", at("2026-01-04T00:00:00Z")).with_user_id("u1"),
        Event::track("cleaned", at("2026-01-05T00:00:00Z"))
            .with_property("data", Value::Object(BTreeMap::new())),
    ];
    let named = ["annlee@gmail.com", "bo@example.com", "cy@example.com"];
    let refs: Vec<&Event> = events.iter().collect();
    for e in &events {
        let _ = rules.signal(e);
    }
    let a = rules.addresses(&events);
    let b = rules.addresses(events.iter().rev());
    assert_eq!(a, b, "the order of events changes nothing");
    for s in a.iter() {
        if let Some(m) = &s.mailbox {
            assert!(
                named.contains(&m.as_str()),
                "{m} was never named by an event"
            );
        }
    }
    let _ = rules.profile_suppressions(&refs);
}
