//! Tables written as Parquet, whole or split into Hive-style partitions
//! (`events/date=2026-11-21/part-0.parquet`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use arrow::array::{Array, AsArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::location::Location;
use crate::runtime::Runtime;
use crate::write::write_parquet;

/// The directory name Hive and Spark give the partition of null values (and this crate
/// gives the one empty file of a table without rows, so that the table keeps its columns).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// How a table is split into Hive-style partitions: one directory `<key>=<value>` per value,
/// holding one Parquet file, `part-0.parquet`.
///
/// Written as a string in a pipeline file: a column's name (`"platform"`), `"date"` for the
/// day (UTC, `YYYY-MM-DD`) of a table's `timestamp` column, or `"month"` for its month
/// (`YYYY-MM`: fewer, larger files when the days are many and small); `date(col)` and
/// `month(col)` name another timestamp column.
///
/// ```
/// use mergetag_lake::Partitioning;
///
/// let p: Partitioning = "date".parse()?;
/// assert_eq!(p, Partitioning::Day { column: "timestamp".into() });
/// assert_eq!(p.key(), "date");
/// assert_eq!("platform".parse::<Partitioning>()?.key(), "platform");
/// assert_eq!("month".parse::<Partitioning>()?.to_string(), "month");
/// # Ok::<(), mergetag_lake::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Partitioning {
    /// By the values of a column, which leaves the files (Hive style: readers restore it
    /// from the directory names, as text).
    Column(String),
    /// By the day (UTC) of a timestamp column, under the key `date`; the column stays in the
    /// files.
    Day {
        /// The timestamp column (`timestamp` when written as `"date"`).
        column: String,
    },
    /// By the month (UTC) of a timestamp column, under the key `month`; the column stays in
    /// the files.
    Month {
        /// The timestamp column (`timestamp` when written as `"month"`).
        column: String,
    },
}

impl Partitioning {
    /// The partition key, the name before `=` in the directory names, which readers see as
    /// a `Utf8` column.
    pub fn key(&self) -> &str {
        match self {
            Partitioning::Column(c) => c,
            Partitioning::Day { .. } => "date",
            Partitioning::Month { .. } => "month",
        }
    }

    /// The column of the table the partitions come from.
    pub fn column(&self) -> &str {
        match self {
            Partitioning::Column(c)
            | Partitioning::Day { column: c }
            | Partitioning::Month { column: c } => c,
        }
    }
}

impl fmt::Display for Partitioning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Partitioning::Day { column } if column == "timestamp" => f.write_str("date"),
            Partitioning::Day { column } => write!(f, "date({column})"),
            Partitioning::Month { column } if column == "timestamp" => f.write_str("month"),
            Partitioning::Month { column } => write!(f, "month({column})"),
            Partitioning::Column(c) => f.write_str(c),
        }
    }
}

impl std::str::FromStr for Partitioning {
    type Err = Error;

    fn from_str(s: &str) -> Result<Partitioning> {
        let s = s.trim();
        let of = |prefix: &str| {
            if s == prefix {
                return Some("timestamp".to_owned());
            }
            s.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
                .map(|c| c.trim().to_owned())
        };
        if let Some(column) = of("date") {
            return Ok(Partitioning::Day { column });
        }
        if let Some(column) = of("month") {
            return Ok(Partitioning::Month { column });
        }
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::invalid(
                "partition_by",
                format!("`{s}` is not a column name; write a column, \"date\" or \"month\""),
            ));
        }
        Ok(Partitioning::Column(s.to_owned()))
    }
}

impl TryFrom<String> for Partitioning {
    type Error = Error;

    fn try_from(s: String) -> Result<Partitioning> {
        s.parse()
    }
}

impl From<Partitioning> for String {
    fn from(p: Partitioning) -> String {
        p.to_string()
    }
}

/// Writes the table `name` in `dir`: unpartitioned, as one file `<name>.parquet`; partitioned,
/// as one file `<name>/<key>=<value>/part-0.parquet` per value (null values under
/// [`NULL_PARTITION`]). Each file is written atomically by
/// [`write_parquet`]. A partitioned table without rows is one empty file under
/// [`NULL_PARTITION`], so that readers still find its columns. After the new files are
/// written, the table's files of earlier runs that were not replaced (`.parquet` files in
/// other partitions, or the other layout: `<name>.parquet` or `<name>/`) are deleted, so
/// that `dir` holds this run's table only (a reader listing it meanwhile may see both).
///
/// Returns each file's location and size, in partition order.
///
/// ```
/// use mergetag_lake::{Location, Partitioning, TableBuilder, write_table};
/// use mergetag_model::Value;
///
/// let dir = tempfile::tempdir()?;
/// let lake = Location::parse(&dir.path().display().to_string(), ".")?;
/// let mut t = TableBuilder::new("audiences");
/// t.push_row([("platform", Value::from("sendgrid")), ("profile_id", Value::Int(1))]);
/// t.push_row([("platform", Value::from("braze")), ("profile_id", Value::Int(1))]);
/// let written = write_table(&lake, "audiences", &t.finish()?, Some(&Partitioning::Column("platform".into())))?;
/// assert_eq!(written.len(), 2);
/// assert!(written[0].0.ends_with("audiences/platform=braze/part-0.parquet"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] when the table has no column to partition by (or a `date` partition's
/// column is not a timestamp), and those of [`write_parquet`]; [`Error::Store`] when earlier
/// files cannot be listed or deleted.
pub fn write_table(
    dir: &Location,
    name: &str,
    batch: &RecordBatch,
    partition: Option<&Partitioning>,
) -> Result<Vec<(String, u64)>> {
    let single = dir.child(&format!("{name}.parquet"));
    let Some(partition) = partition else {
        let size = write_parquet(&single, std::slice::from_ref(batch))?;
        let written = vec![(single.url().to_owned(), size)];
        // The partitions of an earlier run that partitioned this table.
        remove_stale(&dir.child(name), &written)?;
        return Ok(written);
    };
    let schema = batch.schema();
    let at = format!("{name}.partition_by");
    let col = schema.index_of(partition.column()).map_err(|_| {
        Error::invalid(
            &at,
            format!(
                "the table {name} has no column `{}` to partition by",
                partition.column()
            ),
        )
    })?;
    let values = partition_values(batch, col, partition, &at)?;
    let mut groups: BTreeMap<Option<String>, Vec<u32>> = BTreeMap::new();
    for (row, v) in values.into_iter().enumerate() {
        let row = u32::try_from(row).map_err(|_| Error::invalid(&at, "too many rows"))?;
        groups.entry(v).or_default().push(row);
    }
    if groups.is_empty() {
        groups.insert(None, Vec::new());
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| !matches!(partition, Partitioning::Column(_)) || i != col)
        .collect();
    let table = dir.child(name);
    let mut written = Vec::with_capacity(groups.len());
    for (value, rows) in groups {
        let part = take_record_batch(batch, &UInt32Array::from(rows))
            .and_then(|b| b.project(&keep))
            .map_err(|source| Error::Arrow {
                table: name.to_owned(),
                source,
            })?;
        let value = value.unwrap_or_else(|| NULL_PARTITION.to_owned());
        let file = table
            .child(&format!("{}={value}", partition.key()))
            .child("part-0.parquet");
        let size = write_parquet(&file, &[part])?;
        written.push((file.url().to_owned(), size));
    }
    remove_stale(&table, &written)?;
    // The single file of an earlier run that did not partition this table.
    remove_stale(&single, &written)?;
    Ok(written)
}

/// Each row's partition value as text (`None` for null).
fn partition_values(
    batch: &RecordBatch,
    col: usize,
    partition: &Partitioning,
    at: &str,
) -> Result<Vec<Option<String>>> {
    let array = batch.column(col);
    match partition {
        Partitioning::Day { column } | Partitioning::Month { column } => {
            let DataType::Timestamp(TimeUnit::Microsecond, _) = array.data_type() else {
                return Err(Error::invalid(
                    at,
                    format!(
                        "`{column}` is not a timestamp column; partition by {} needs one",
                        partition.key()
                    ),
                ));
            };
            let format = match partition {
                Partitioning::Month { .. } => "%Y-%m",
                _ => "%Y-%m-%d",
            };
            let ts = array.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            Ok((0..ts.len())
                .map(|i| {
                    (!ts.is_null(i))
                        .then(|| chrono::DateTime::from_timestamp_micros(ts.value(i)))
                        .flatten()
                        .map(|d| d.date_naive().format(format).to_string())
                })
                .collect())
        }
        Partitioning::Column(_) => {
            let options = arrow::util::display::FormatOptions::default();
            let f = arrow::util::display::ArrayFormatter::try_new(array.as_ref(), &options)
                .map_err(|source| Error::Arrow {
                    table: at.to_owned(),
                    source,
                })?;
            Ok((0..array.len())
                .map(|i| (!array.is_null(i)).then(|| f.value(i).to_string()))
                .collect())
        }
    }
}

/// Deletes the `.parquet` files at or under `table` that are not among `written`.
fn remove_stale(table: &Location, written: &[(String, u64)]) -> Result<()> {
    let keep: BTreeSet<&str> = written.iter().map(|(u, _)| u.as_str()).collect();
    let rt = Runtime::new()?;
    let store = table.store().clone();
    let err = |operation, source| Error::Store {
        location: table.url().to_owned(),
        operation,
        source,
    };
    let listed: Vec<object_store::ObjectMeta> = rt
        .block_on(store.list(Some(table.path())).try_collect())
        .or_else(|e| match e {
            object_store::Error::NotFound { .. } => Ok(Vec::new()),
            e => Err(err("list", e)),
        })?;
    for meta in listed {
        let url = format!("{}/{}", table.store_url(), meta.location);
        // A listing of a prefix finds `events.parquet.tmp` beside `events.parquet` too:
        // only the prefix itself or what lies under it as a directory is the table's.
        let inside = meta.location.prefix_matches(table.path());
        if inside && meta.location.as_ref().ends_with(".parquet") && !keep.contains(url.as_str()) {
            rt.block_on(store.delete(&meta.location))
                .map_err(|e| err("delete", e))?;
        }
    }
    Ok(())
}
