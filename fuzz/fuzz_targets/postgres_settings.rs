//! Fuzzes `mergetag_postgres`: see `postgres_settings` in `crates/postgres/tests/fuzz/mod.rs`,
//! which `cargo test -p mergetag-postgres` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/postgres/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::postgres_settings(data));
