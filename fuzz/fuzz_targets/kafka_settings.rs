//! Fuzzes `mergetag_kafka`: see `kafka_settings` in `crates/kafka/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-kafka` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/kafka/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::kafka_settings(data));
