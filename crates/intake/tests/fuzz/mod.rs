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
