//! Fuzzes `mergetag_intake`: see `intake_webhooks` in `crates/intake/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-intake` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/intake/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::intake_webhooks(data));
