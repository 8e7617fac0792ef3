//! Fuzzes the segment feature-table reader (FEATURES.csv of `mergetag cluster`): see
//! `segment_table` in `crates/segment/tests/fuzz/mod.rs`, which `cargo test -p mergetag-segment` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/segment/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::segment_table(data));
