//! Fuzzes the saved prediction model reader (`PredictModel::from_json_str`): see `predict_model` in `crates/predict/tests/fuzz/mod.rs`, which `cargo test -p mergetag-predict` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/predict/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::predict_model(data));
