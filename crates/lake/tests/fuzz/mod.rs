//! What the fuzz targets `lake_semantic_config` and `lake_parquet` in `fuzz/fuzz_targets/` run,
//! shared with the replay test `tests/fuzz_regressions.rs`, so that an input the fuzzer saved
//! is replayed by plain `cargo test`. The fuzz targets include this file with
//! `#[path = ...] mod`.
//!
//! Invariants: nothing panics; a configuration that loads checks again as valid and survives
//! a round trip through TOML; every row of a Parquet file read becomes a record or a reject
//! (`rows_read = records + rejects`), and reading ends. The Parquet target reads through the
//! source's own footer check, which refuses lengths the metadata cannot hold (parquet 59.2
//! would reserve them: see `check_thrift_lengths` in `src/reader.rs`).

use mergetag_lake::{ArrowSource, Location, SemanticConfig};
use mergetag_model::{OnBadRow, Record, Source};
use mergetag_sources::ColumnMap;

/// A `[semantic]` table from arbitrary text.
pub fn semantic_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = SemanticConfig::from_toml_str(text) else {
        return;
    };
    config.check().expect("a loaded configuration checks");
    let again = toml::to_string(&config).expect("serializable");
    assert_eq!(
        SemanticConfig::from_toml_str(&again).expect("round trip"),
        config
    );
}

/// An arbitrary file read as a Parquet dataset, through a column map, a thread count and a
/// batch size chosen by the first byte.
pub fn parquet(data: &[u8]) {
    let Some((&options, file)) = data.split_first() else {
        return;
    };
    // One file per process, rewritten for each input: the source reads it through the object
    // store, as it reads any dataset.
    let dir = std::env::temp_dir().join(format!("mergetag-lake-fuzz-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let path = dir.join("input.parquet");
    if std::fs::write(&path, file).is_err() {
        return;
    }
    let Ok(location) = Location::parse(&path.to_string_lossy(), ".") else {
        return;
    };
    let map = if options & 0x80 == 0 {
        ColumnMap::new()
    } else {
        ColumnMap::hubspot_contacts()
    };
    let Ok(mut source) = ArrowSource::builder()
        .column_map(map)
        .on_bad_row(OnBadRow::Quarantine)
        .threads(1 + usize::from(options & 1))
        .batch_size(1 + usize::from((options >> 1) % 7))
        .parquet("fuzz", &location)
    else {
        return;
    };
    let mut record = Record::default();
    let mut records = 0u64;
    let mut failed = false;
    loop {
        match source.read_record(&mut record) {
            Ok(true) => {
                records += 1;
                assert_eq!(record.id.source.as_str(), "fuzz");
            }
            Ok(false) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    let mut rejects = Vec::new();
    source.drain_rejects(&mut rejects);
    if !failed {
        assert_eq!(records + rejects.len() as u64, source.rows_read());
    }
    assert!(!source.read_record(&mut record).unwrap_or(false));
}
