//! Replays the inputs kept in `tests/fuzz/<target>/` through the same checks the fuzz targets
//! in `fuzz/` run, so that plain `cargo test` guards against regressions.

mod fuzz;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    mergetag_testkit::replay_fuzz_inputs(dir.join(target), run);
}

#[test]
fn lake_semantic_config() {
    replay("lake_semantic_config", fuzz::semantic_config);
}

#[test]
fn lake_parquet() {
    replay("lake_parquet", fuzz::parquet);
}
