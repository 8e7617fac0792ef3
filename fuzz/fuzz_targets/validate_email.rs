//! Fuzzes the email validator of `mergetag_validate`: see `validate_email` in
//! `crates/validate/tests/fuzz/mod.rs`, which `cargo test -p mergetag-validate` also runs on
//! the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/validate/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::validate_email(data));
