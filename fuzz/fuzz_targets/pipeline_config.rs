//! Fuzzes the pipeline configuration loader: see `pipeline_config` in `tests/fuzz/mod.rs`, which
//! `cargo test -p mergetag` also runs on the inputs kept beside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../tests/fuzz/mod.rs"]
mod logic;

fuzz_target!(|data: &[u8]| logic::pipeline_config(data));
