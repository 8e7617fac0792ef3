//! What the fuzz target `fuzz/fuzz_targets/postgres_settings.rs` runs, shared with the
//! replay test in `tests/postgres.rs`, so that an input the fuzzer saved is replayed by plain
//! `cargo test`. The fuzz target includes this file with `#[path = ...] mod`.
//!
//! The input is a source configuration, as TOML and as JSON. Invariants: nothing panics; a
//! `kind = "postgres"` source whose settings load serializes and loads again to the same
//! settings; errors name a key path and never echo a setting's value.

use mergetag_postgres::PostgresSettings;
use mergetag_sources::{SourceConfig, SourceKind};

/// Loads `data` as a source configuration and its postgres settings.
pub fn postgres_settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for loaded in [
        SourceConfig::from_toml_str(&text),
        SourceConfig::from_json_str(&text),
    ] {
        let Ok(config) = loaded else { continue };
        if config.kind != SourceKind::Postgres {
            continue;
        }
        match PostgresSettings::from_source_config(&config) {
            Ok(settings) => {
                let toml = toml::to_string(&settings).expect("settings serialize");
                let again: PostgresSettings = toml::from_str(&toml).expect("and load again");
                assert_eq!(again, settings);
                let _ = settings.connection();
                let written = toml::to_string(&config).expect("the source config serializes");
                let reloaded = SourceConfig::from_toml_str(&written).expect("and loads again");
                assert_eq!(reloaded, config);
            }
            Err(e) => {
                let message = e.to_string();
                assert!(!message.is_empty());
                if let Some(url) = config.settings.get("url").and_then(|u| u.as_str())
                    && url.len() > 12
                {
                    assert!(
                        !message.contains(url),
                        "an error echoes the connection string"
                    );
                }
            }
        }
    }
}
