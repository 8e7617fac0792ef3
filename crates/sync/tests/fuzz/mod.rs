//! What the fuzz target `fuzz/fuzz_targets/sync_settings.rs` runs, shared with the replay
//! test in `tests/sync.rs`, so that an input the fuzzer saved is replayed by plain
//! `cargo test`. The fuzz target includes this file with `#[path = ...] mod`.
//!
//! The input is a source configuration, as TOML and as JSON. Invariants: nothing panics; a
//! `kind = "hubspot"` source whose settings load serializes and loads again to the same
//! settings, and its pager builds a first request for its base URL.

use mergetag_sources::{SourceConfig, SourceKind};
use mergetag_sync::{HubspotSettings, Pager};

/// Loads `data` as a source configuration and its hubspot settings.
pub fn sync_settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for loaded in [
        SourceConfig::from_toml_str(&text),
        SourceConfig::from_json_str(&text),
    ] {
        let Ok(config) = loaded else { continue };
        if config.kind != SourceKind::Hubspot {
            continue;
        }
        match HubspotSettings::from_source_config(&config) {
            Ok(settings) => {
                let json = serde_json::to_string(&settings).expect("settings serialize");
                let again: HubspotSettings = serde_json::from_str(&json).expect("and load again");
                assert_eq!(again, settings);
                let request = settings.pager().request(None);
                assert!(
                    request
                        .url
                        .starts_with(settings.base_url.trim_end_matches('/'))
                );
                let _ = settings.pager().request(Some("x y&z"));
                let _ = settings.pager().parse(text.as_bytes());
                let written = toml::to_string(&config).expect("the source config serializes");
                let reloaded = SourceConfig::from_toml_str(&written).expect("and loads again");
                assert_eq!(reloaded, config);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
