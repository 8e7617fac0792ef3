//! Fuzzes the segment configuration and model loaders: see `segment_config` in
//! `crates/segment/tests/fuzz/mod.rs`, which `cargo test -p mergetag-segment` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/segment/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::segment_config(data));
