//! Replays the inputs kept in `tests/fuzz/<target>/` (crashes the fuzzer found, once fixed,
//! and inputs from its corpus that reach far into the readers) through the same checks the
//! fuzz targets in `fuzz/` run, so that plain `cargo test` guards against regressions.

mod fuzz;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz");
    mergetag_testkit::replay_fuzz_inputs(dir.join(target), run);
}

#[test]
fn sources_csv() {
    replay("sources_csv", fuzz::sources_csv);
}

#[test]
fn sources_jsonl() {
    replay("sources_jsonl", fuzz::sources_jsonl);
}

#[test]
fn sources_column_map() {
    replay("sources_column_map", fuzz::sources_column_map);
}

#[test]
fn sources_config() {
    replay("sources_config", fuzz::sources_config);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

    /// Small inputs from the bytes that matter to CSV quoting and line handling, with any
    /// options: the invariants of the `sources_csv` fuzz target hold (a cheap stand-in for the
    /// fuzzer in plain `cargo test`).
    #[test]
    fn csv_made_of_quotes_and_line_breaks_holds_the_invariants(
        opts in proptest::prelude::any::<u8>(),
        extra in 0u8..16,
        body in proptest::collection::vec(proptest::sample::select(&b"ab,;\"'\\#\n\r\n\n"[..]), 0..60),
    ) {
        let mut data = vec![opts & 0x1F, extra];
        data.extend_from_slice(&body);
        fuzz::sources_csv(&data);
    }
}
