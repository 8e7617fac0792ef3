//! Fuzzes the configuration loaders of the command-line tool (`dedup`, `link`, the mapping
//! document): see `cli_config` in `crates/cli/tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag-cli` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/cli/tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::cli_config(data));
