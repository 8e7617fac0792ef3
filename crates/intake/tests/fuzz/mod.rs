//! What the fuzz target `fuzz/fuzz_targets/intake_config.rs` runs, shared with the replay
//! test in `tests/intake.rs`, so that an input the fuzzer saved is replayed by plain
//! `cargo test`. The fuzz target includes this file with `#[path = ...] mod`.
//!
//! The input is an intake configuration, as TOML and as JSON. Invariants: nothing panics; a
//! configuration that loads serializes and loads again to the same configuration.

use mergetag_intake::IntakeConfig;

/// Loads `data` as an intake configuration.
pub fn intake_config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for loaded in [
        IntakeConfig::from_toml_str(&text),
        IntakeConfig::from_json_str(&text),
    ] {
        match loaded {
            Ok(config) => {
                let json = serde_json::to_string(&config).expect("a config serializes");
                let again = IntakeConfig::from_json_str(&json).expect("and loads again");
                assert_eq!(again, config);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}

/// Reads `data` as a webhook body of every platform (the first byte picks nothing: each
/// platform reads the whole input). Invariants: nothing panics; every event read is a
/// Segment-shaped track call with an event name and an address, that the JSON Lines events
/// reader reads back.
pub fn intake_webhooks(data: &[u8]) {
    use mergetag_intake::{Esp, read_webhook};
    for esp in [
        Esp::SendGrid,
        Esp::Mailchimp,
        Esp::Mandrill,
        Esp::Braze,
        Esp::Klaviyo,
    ] {
        match read_webhook(esp, data) {
            Ok(events) => {
                for mut e in events {
                    assert_eq!(e["type"], "track");
                    assert!(e["event"].as_str().is_some_and(|n| !n.trim().is_empty()));
                    assert!(
                        e["context"]["traits"]["email"]
                            .as_str()
                            .is_some_and(|m| !m.trim().is_empty())
                    );
                    if e.get("timestamp").is_none() {
                        e["timestamp"] = serde_json::Value::String("2026-01-01T00:00:00Z".into());
                    }
                    let line = e.to_string();
                    let mut reader =
                        mergetag_sources::JsonLinesBuilder::new().events("fuzz", line.as_bytes());
                    let read = mergetag_model::EventSource::read_event(&mut reader)
                        .expect("a spooled webhook event reads back")
                        .expect("one event");
                    assert_eq!(read.name.as_deref(), e["event"].as_str());
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
