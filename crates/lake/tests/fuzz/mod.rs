//! What the fuzz targets `lake_semantic_config` and `lake_parquet` in `fuzz/fuzz_targets/` run,
//! shared with the replay test `tests/fuzz_regressions.rs`, so that an input the fuzzer saved
//! is replayed by plain `cargo test`. The fuzz targets include this file with
//! `#[path = ...] mod`.
//!
//! Invariants: nothing panics; a configuration that loads checks again as valid and survives
//! a round trip through TOML; every row of a Parquet file read becomes a record or a reject
//! (`rows_read = records + rejects`), and reading ends.

use mergetag_lake::{ArrowSource, SemanticConfig};
use mergetag_model::{OnBadRow, Record, Source};
use mergetag_sources::ColumnMap;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

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

/// An arbitrary file read as Parquet, through a column map chosen by the first byte.
pub fn parquet(data: &[u8]) {
    let Some((&options, file)) = data.split_first() else {
        return;
    };
    let file = bytes::Bytes::copy_from_slice(file);
    let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new(file) else {
        return;
    };
    let Ok(reader) = builder
        .with_batch_size(1 + usize::from(options % 7))
        .build()
    else {
        return;
    };
    let map = if options & 0x80 == 0 {
        ColumnMap::new()
    } else {
        ColumnMap::hubspot_contacts()
    };
    let mut source = ArrowSource::builder()
        .column_map(map)
        .on_bad_row(OnBadRow::Quarantine)
        .from_reader("fuzz", reader);
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
