//! Fuzzes the suppression rules of `mergetag_mapping`: a rules document and platform
//! events; see `mapping_suppression` in `crates/mapping/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-mapping` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/mapping/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::mapping_suppression(data));
