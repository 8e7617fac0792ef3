//! Fuzzes the semantic layer's configuration loader: see `semantic_config` in
//! `crates/lake/tests/fuzz/mod.rs`, which `cargo test -p mergetag-lake` also runs on the inputs
//! kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/lake/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::semantic_config(data));
