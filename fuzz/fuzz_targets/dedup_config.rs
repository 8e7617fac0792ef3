//! Fuzzes the dedup configuration, model and survivorship loaders: see `dedup_config` in `crates/dedup/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-dedup` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/dedup/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::dedup_config(data));
