//! Fuzzes the customer summary reader (SUMMARY.csv of `mergetag predict fit`) and the fits: see `predict_summary` in `crates/predict/tests/fuzz/mod.rs`, which `cargo test -p mergetag-predict` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/predict/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::predict_summary(data));
