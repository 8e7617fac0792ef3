//! Replaying fuzz inputs in plain `cargo test`.

use std::path::Path;

/// Runs `run` on every file in `dir` (the seeds of a fuzz target and any input that once made
/// it fail), in name order, and panics naming the first input on which `run` panics.
///
/// Each crate keeps its targets' logic in `tests/fuzz/mod.rs`, shared with the cargo-fuzz
/// target, and its inputs in `tests/fuzz/<target>/`, so a crash found by fuzzing stays a
/// regression test.
///
/// ```
/// let dir = std::env::temp_dir().join("mergetag-testkit-replay-doc");
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("seed"), b"42").unwrap();
/// mergetag_testkit::replay_fuzz_inputs(&dir, |data| assert_eq!(data, b"42"));
/// ```
///
/// # Panics
///
/// When `dir` cannot be read or holds no file, or `run` panics on an input.
pub fn replay_fuzz_inputs(dir: impl AsRef<Path>, run: impl Fn(&[u8]) + std::panic::RefUnwindSafe) {
    let dir = dir.as_ref();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    for file in files {
        let data =
            std::fs::read(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        if let Err(panic) = std::panic::catch_unwind(|| run(&data)) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic without a message");
            panic!("fuzz input {} fails: {message}", file.display());
        }
    }
}
