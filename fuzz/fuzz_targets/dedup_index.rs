//! Fuzzes the index file loader: see `dedup_index` in `crates/dedup/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-dedup` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/dedup/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::dedup_index(data));
