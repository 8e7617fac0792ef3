//! What the fuzz target `fuzz/fuzz_targets/kafka_settings.rs` runs, shared with the replay
//! test in `tests/kafka.rs`, so that an input the fuzzer saved is replayed by plain
//! `cargo test`. The fuzz target includes this file with `#[path = ...] mod`.
//!
//! The input is a source configuration, as TOML and as JSON. Invariants: nothing panics; a
//! `kind = "kafka"` source whose settings load serializes and loads again to the same
//! settings; errors name a key path and are never empty. Nothing connects to a broker.

use mergetag_kafka::KafkaSettings;
use mergetag_sources::{SourceConfig, SourceKind};

/// Loads `data` as a source configuration and its kafka settings.
pub fn kafka_settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for loaded in [
        SourceConfig::from_toml_str(&text),
        SourceConfig::from_json_str(&text),
    ] {
        let Ok(config) = loaded else { continue };
        if config.kind != SourceKind::Kafka {
            continue;
        }
        match KafkaSettings::from_source_config(&config) {
            Ok(settings) => {
                let toml = toml::to_string(&settings).expect("settings serialize");
                let again: KafkaSettings = toml::from_str(&toml).expect("and load again");
                assert_eq!(again, settings);
                let _ = settings.builder();
                let written = toml::to_string(&config).expect("the source config serializes");
                let reloaded = SourceConfig::from_toml_str(&written).expect("and loads again");
                assert_eq!(reloaded, config);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
