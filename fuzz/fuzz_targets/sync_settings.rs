//! Fuzzes `mergetag_sync`: see `sync_settings` in `crates/sync/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-sync` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/sync/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::sync_settings(data));
