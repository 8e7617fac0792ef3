//! Data lakes for mergetag: Parquet datasets and Arrow record batches as sources, Parquet
//! outputs written atomically, object stores (`file://`, and `s3://` with the feature `aws`),
//! and a semantic layer of named SQL views over profiles, traits and events, on Apache Arrow
//! and DataFusion.
//!
//! A Parquet dataset reads exactly like a CSV export: the same column maps and presets, the
//! same quarantine of bad rows, decoded batch by batch:
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, StringArray};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use mergetag_lake::{ArrowSource, Location, write_parquet};
//! use mergetag_model::{fields, Source};
//! use mergetag_sources::ColumnMap;
//!
//! // A partitioned dataset: country=US/part-0.parquet.
//! let dir = tempfile::tempdir()?;
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("hs_object_id", DataType::Int64, false),
//!     Field::new("email", DataType::Utf8, true),
//! ]));
//! let batch = RecordBatch::try_new(schema, vec![
//!     Arc::new(Int64Array::from(vec![901, 902])),
//!     Arc::new(StringArray::from(vec!["ada@example.com", "bob@example.com"])),
//! ])?;
//! let lake = Location::parse("customers", dir.path())?;
//! write_parquet(&lake.child("country=US").child("part-0.parquet"), &[batch])?;
//!
//! let mut source = ArrowSource::builder()
//!     .column_map(ColumnMap::hubspot_contacts())
//!     .parquet("crm", &lake)?;
//! let records: Vec<_> = source.records().collect::<Result<_, _>>()?;
//! assert_eq!(records.len(), 2);
//! assert_eq!(records[0].id.to_string(), "crm:901");
//! assert_eq!(records[1].text(fields::EMAIL), Some("bob@example.com"));
//! assert_eq!(records[1].text("country"), Some("US")); // from the partition
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! DataFusion 55 needs rustc 1.94, so this crate declares its own `rust-version`; it is
//! behind the feature `lake` of the `mergetag` facade and never in its default build.

mod convert;

/// The Arrow, Parquet, object_store and DataFusion versions this crate is built with, so that
/// callers use the same ones.
pub use arrow;
#[cfg(feature = "sql")]
pub use datafusion;
pub use object_store;
pub use parquet;

mod error;
mod location;
mod partition;
#[cfg(feature = "sql")]
mod plan;
mod reader;
mod runtime;
#[cfg(feature = "sql")]
mod semantic;
mod source;
mod values;
mod views;
mod write;

pub use crate::error::{Error, Result};
pub use crate::location::Location;
pub use crate::partition::{NULL_PARTITION, Partitioning, write_table};
#[cfg(feature = "sql")]
pub use crate::plan::TableSchema;
#[cfg(feature = "sql")]
pub use crate::semantic::{OutputFormat, SemanticLayer, format_batches};
pub use crate::source::{ArrowSource, ArrowSourceBuilder, DEFAULT_BATCH_SIZE};
pub use crate::values::{ProfileRows, add_profile_values, view_trait};
pub use crate::views::SemanticConfig;
pub use crate::write::{
    TableBuilder, events_table, profiles_table, provenance_table, segments_table, serde_table,
    text_list_type, timestamp_type, traits_table, write_parquet,
};

use std::path::Path;

use mergetag_sources::{SourceConfig, SourceFormat};

/// Opens the Parquet source a [`SourceConfig`] describes (`format = "parquet"`, or a path
/// ending in `.parquet`): its `path` is a local file or directory (relative to `base_dir`) or
/// an object-store URL; its column map and `on_bad_row` apply as for CSV.
///
/// ```
/// use mergetag_sources::SourceConfig;
///
/// let config = SourceConfig::from_toml_str(r#"
///     name = "crm"
///     path = "lake/customers"
///     format = "parquet"
///     preset = "hubspot_contacts"
/// "#)?;
/// let e = mergetag_lake::open(&config, "/nowhere").unwrap_err();
/// assert!(e.to_string().contains("no Parquet file here"), "{e}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Sources`] when the configuration is not valid (naming the key),
/// [`Error::Invalid`] at `format` for a source that is not Parquet, and the errors of
/// [`ArrowSourceBuilder::parquet`].
pub fn open(config: &SourceConfig, base_dir: impl AsRef<Path>) -> Result<ArrowSource> {
    let base_dir = base_dir.as_ref();
    config.check()?;
    if config.format()? != SourceFormat::Parquet {
        return Err(Error::invalid(
            "format",
            "mergetag-lake opens Parquet sources only; set format = \"parquet\"",
        ));
    }
    let location = Location::parse(&config.path.to_string_lossy(), base_dir)?;
    let mut builder = ArrowSource::builder();
    builder.on_bad_row(config.on_bad_row);
    if let Some(map) = config.column_map(base_dir)? {
        builder.column_map(map);
    }
    builder.parquet(config.name.as_str(), &location)
}
