//! Replays the inputs kept in `tests/fuzz/<target>/` (crashes the fuzzer found, once fixed,
//! and inputs from its corpus that reach far into the readers) through the same checks the
//! fuzz targets in `fuzz/` run, so that plain `cargo test` guards against regressions.

mod fuzz;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    for file in files {
        let data = std::fs::read(&file).expect("a readable input");
        let name = file.display().to_string();
        if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic without a message");
            panic!("fuzz input {name} fails: {message}");
        }
    }
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
