//! Fuzzes the email normalizer of `mergetag_normalize`: see `normalize_email` in
//! `crates/normalize/tests/fuzz/mod.rs`, which `cargo test -p mergetag-normalize` also runs on
//! the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/normalize/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::normalize_email(data));
