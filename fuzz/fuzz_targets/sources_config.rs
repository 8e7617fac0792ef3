//! Fuzzes `mergetag_sources`: see `sources_config` in `crates/sources/tests/fuzz/mod.rs`,
//! which `cargo test -p mergetag-sources` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/sources/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::sources_config(data));
