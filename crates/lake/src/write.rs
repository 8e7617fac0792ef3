//! Tables of values into Arrow batches, and Arrow batches into Parquet files written
//! atomically.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, ListBuilder,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use mergetag_model::{Event, Profile, Value};
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::location::Location;
use crate::runtime::Runtime;

/// The Arrow type of a column of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Text,
    Date,
    DateTime,
    /// A list of this (scalar) kind.
    List(Scalar),
    /// Anything else (objects, mixed kinds): JSON text.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    Int,
    Float,
    Text,
}

fn kind_of(v: &Value) -> Kind {
    match v {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Text(_) => Kind::Text,
        Value::Date(_) => Kind::Date,
        Value::DateTime(_) => Kind::DateTime,
        Value::List(items) => {
            let mut s: Option<Scalar> = None;
            for i in items {
                let k = match i {
                    Value::Null => continue,
                    Value::Int(_) => Scalar::Int,
                    Value::Float(_) => Scalar::Float,
                    Value::Text(_) => Scalar::Text,
                    _ => return Kind::Json,
                };
                s = Some(match (s, k) {
                    (None, k) => k,
                    (Some(a), b) if a == b => a,
                    (Some(Scalar::Int | Scalar::Float), Scalar::Int | Scalar::Float) => {
                        Scalar::Float
                    }
                    _ => return Kind::Json,
                });
            }
            Kind::List(s.unwrap_or(Scalar::Text))
        }
        Value::Object(_) => Kind::Json,
    }
}

fn unify(a: Kind, b: Kind) -> Kind {
    match (a, b) {
        (Kind::Null, k) | (k, Kind::Null) => k,
        (a, b) if a == b => a,
        (Kind::Int | Kind::Float, Kind::Int | Kind::Float) => Kind::Float,
        (Kind::List(x), Kind::List(y)) => match (x, y) {
            (Scalar::Int | Scalar::Float, Scalar::Int | Scalar::Float) => Kind::List(Scalar::Float),
            _ => Kind::Json,
        },
        _ => Kind::Json,
    }
}

/// Plain JSON for a value (objects and lists nested, dates as ISO 8601 text).
pub(crate) fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::Text(s) => J::String(s.clone()),
        Value::Date(_) | Value::DateTime(_) => J::String(v.to_string()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Object(o) => J::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// Builds an Arrow [`RecordBatch`] from rows of named [`Value`]s, inferring each column's
/// type: booleans, `Int64`, `Float64` (integers and floats together), `Utf8`, `Date32`,
/// `Timestamp(µs, UTC)`, lists of integers, floats or text; objects and columns of mixed
/// types become JSON text. Columns are in the order first met; a row without a column is
/// null there. Deterministic: the same rows give the same batch.
///
/// ```
/// use mergetag_lake::TableBuilder;
/// use mergetag_model::Value;
///
/// let mut t = TableBuilder::new("quarantine");
/// t.push_row([("record_id", Value::from("crm:7")), ("line", Value::Int(8))]);
/// t.push_row([("record_id", Value::from("crm:9"))]);
/// let batch = t.finish()?;
/// assert_eq!(batch.num_rows(), 2);
/// assert_eq!(batch.schema().field(1).data_type(), &arrow::datatypes::DataType::Int64);
/// # Ok::<(), mergetag_lake::Error>(())
/// ```
///
/// A column declared with [`TableBuilder::typed_column`] has that type whatever its values,
/// even when the table has no row: that is how a table keeps a fixed schema.
#[derive(Debug, Clone)]
pub struct TableBuilder {
    name: String,
    columns: Vec<(String, Vec<Value>)>,
    index: HashMap<String, usize>,
    /// The declared kind of each column, by index; `Err` holds a type that cannot be declared.
    declared: HashMap<usize, std::result::Result<Kind, DataType>>,
    rows: usize,
}

impl TableBuilder {
    /// An empty table named `name` (used in error messages).
    pub fn new(name: impl Into<String>) -> TableBuilder {
        TableBuilder {
            name: name.into(),
            columns: Vec::new(),
            index: HashMap::new(),
            declared: HashMap::new(),
            rows: 0,
        }
    }

    /// Declares a column of the Arrow type `data_type`, which it keeps even when the table is
    /// empty or every value is null: `Boolean`, `Int64`, `Float64`, `Utf8`, `Date32`,
    /// `Timestamp(Microsecond, "UTC")`, or a `List` of `Int64`, `Float64` or `Utf8`. A value
    /// that does not fit the type is null there, except in `Utf8` columns, which hold any
    /// value as text (lists and objects as JSON).
    ///
    /// ```
    /// use arrow::datatypes::{DataType, TimeUnit};
    /// use mergetag_lake::TableBuilder;
    ///
    /// let mut t = TableBuilder::new("events");
    /// t.typed_column("profile_id", DataType::Int64)
    ///     .typed_column("timestamp", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
    /// let empty = t.finish()?;
    /// assert_eq!(empty.num_rows(), 0);
    /// assert_eq!(empty.schema().field(0).data_type(), &DataType::Int64);
    /// # Ok::<(), mergetag_lake::Error>(())
    /// ```
    ///
    /// Another type is an [`Error::Invalid`] at [`TableBuilder::finish`].
    pub fn typed_column(&mut self, name: &str, data_type: DataType) -> &mut TableBuilder {
        let i = self.slot(name);
        self.declared
            .insert(i, declared_kind(&data_type).ok_or(data_type));
        self
    }

    /// Declares each `(name, type)` of `columns`, in order, as
    /// [`TableBuilder::typed_column`] does.
    pub fn typed_columns<'a>(
        &mut self,
        columns: impl IntoIterator<Item = &'a (&'a str, DataType)>,
    ) -> &mut TableBuilder {
        for (name, data_type) in columns {
            self.typed_column(name, data_type.clone());
        }
        self
    }

    /// Declares a column, so that it exists (null) even when no row has it.
    pub fn column(&mut self, name: &str) -> &mut TableBuilder {
        self.slot(name);
        self
    }

    fn slot(&mut self, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        self.columns
            .push((name.to_owned(), vec![Value::Null; self.rows]));
        self.index.insert(name.to_owned(), self.columns.len() - 1);
        self.columns.len() - 1
    }

    /// Appends one row; a column named twice keeps the last value.
    pub fn push_row<K: AsRef<str>>(
        &mut self,
        row: impl IntoIterator<Item = (K, Value)>,
    ) -> &mut TableBuilder {
        for (k, v) in row {
            let i = self.slot(k.as_ref());
            let column = &mut self.columns[i].1;
            if column.len() == self.rows + 1 {
                column[self.rows] = v;
            } else {
                column.push(v);
            }
        }
        self.rows += 1;
        for (_, c) in &mut self.columns {
            c.resize(self.rows, Value::Null);
        }
        self
    }

    /// The rows so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The batch.
    ///
    /// # Errors
    ///
    /// [`Error::Arrow`] naming the table, should Arrow refuse the columns.
    pub fn finish(&self) -> Result<RecordBatch> {
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (i, (name, values)) in self.columns.iter().enumerate() {
            let kind = match self.declared.get(&i) {
                Some(Ok(kind)) => *kind,
                Some(Err(dt)) => {
                    return Err(Error::invalid(
                        format!("{}.{name}", self.name),
                        format!(
                            "a column cannot be declared as {dt}; use Boolean, Int64, Float64, Utf8, Date32, Timestamp(µs, UTC) or a list of Int64, Float64 or Utf8"
                        ),
                    ));
                }
                None => values.iter().map(kind_of).fold(Kind::Null, unify),
            };
            let (dt, array) = build(kind, values);
            fields.push(Field::new(name, dt, true));
            arrays.push(array);
        }
        let schema = Arc::new(Schema::new(fields));
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(self.rows));
        RecordBatch::try_new_with_options(schema, arrays, &options).map_err(|source| Error::Arrow {
            table: self.name.clone(),
            source,
        })
    }
}

/// The kind a declared Arrow type builds, if it is one this builder makes.
fn declared_kind(dt: &DataType) -> Option<Kind> {
    Some(match dt {
        DataType::Boolean => Kind::Bool,
        DataType::Int64 => Kind::Int,
        DataType::Float64 => Kind::Float,
        DataType::Utf8 => Kind::Text,
        DataType::Date32 => Kind::Date,
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
            Kind::DateTime
        }
        DataType::List(item) => match item.data_type() {
            DataType::Int64 => Kind::List(Scalar::Int),
            DataType::Float64 => Kind::List(Scalar::Float),
            DataType::Utf8 => Kind::List(Scalar::Text),
            _ => return None,
        },
        _ => return None,
    })
}

/// The Arrow type of a timestamp column: microseconds, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, utc())
}

/// The Arrow type of a list of text.
pub fn text_list_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
}

fn utc() -> Option<Arc<str>> {
    Some(Arc::from("UTC"))
}

fn build(kind: Kind, values: &[Value]) -> (DataType, ArrayRef) {
    match kind {
        Kind::Bool => {
            let mut b = BooleanBuilder::with_capacity(values.len());
            values.iter().for_each(|v| b.append_option(v.as_bool()));
            (DataType::Boolean, Arc::new(b.finish()))
        }
        Kind::Int => {
            let mut b = Int64Builder::with_capacity(values.len());
            values.iter().for_each(|v| b.append_option(v.as_int()));
            (DataType::Int64, Arc::new(b.finish()))
        }
        Kind::Float => {
            let mut b = Float64Builder::with_capacity(values.len());
            values.iter().for_each(|v| b.append_option(as_float(v)));
            (DataType::Float64, Arc::new(b.finish()))
        }
        Kind::Date => {
            let mut b = Date32Builder::with_capacity(values.len());
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1);
            for v in values {
                b.append_option(match (v, epoch) {
                    (Value::Date(d), Some(e)) => i32::try_from((*d - e).num_days()).ok(),
                    _ => None,
                });
            }
            (DataType::Date32, Arc::new(b.finish()))
        }
        Kind::DateTime => {
            let mut b =
                TimestampMicrosecondBuilder::with_capacity(values.len()).with_timezone("UTC");
            for v in values {
                b.append_option(match v {
                    Value::DateTime(d) => Some(d.timestamp_micros()),
                    _ => None,
                });
            }
            (
                DataType::Timestamp(TimeUnit::Microsecond, utc()),
                Arc::new(b.finish()),
            )
        }
        Kind::List(Scalar::Int) => {
            let mut b = ListBuilder::new(Int64Builder::new());
            for v in values {
                match v {
                    Value::List(items) => {
                        items
                            .iter()
                            .for_each(|i| b.values().append_option(i.as_int()));
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            let a = b.finish();
            (a.data_type().clone(), Arc::new(a))
        }
        Kind::List(Scalar::Float) => {
            let mut b = ListBuilder::new(Float64Builder::new());
            for v in values {
                match v {
                    Value::List(items) => {
                        items
                            .iter()
                            .for_each(|i| b.values().append_option(as_float(i)));
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            let a = b.finish();
            (a.data_type().clone(), Arc::new(a))
        }
        Kind::List(Scalar::Text) => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for v in values {
                match v {
                    Value::List(items) => {
                        for i in items {
                            match i {
                                Value::Null => b.values().append_null(),
                                i => b.values().append_value(i.to_string()),
                            }
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            let a = b.finish();
            (a.data_type().clone(), Arc::new(a))
        }
        Kind::Null | Kind::Text | Kind::Json => {
            let mut b = StringBuilder::with_capacity(values.len(), values.len() * 8);
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Text(s) => b.append_value(s),
                    Value::List(_) | Value::Object(_) => b.append_value(to_json(v).to_string()),
                    v => b.append_value(v.to_string()),
                }
            }
            (DataType::Utf8, Arc::new(b.finish()))
        }
    }
}

fn as_float(v: &Value) -> Option<f64> {
    match v {
        Value::Float(x) => Some(*x),
        // Precision beyond 2^53 is lost, as in any float column.
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) => Some(*i as f64),
        _ => None,
    }
}

/// The golden profiles as a wide table: `profile_id` (`Int64`), `members` (record ids,
/// `List(Utf8)`), then one column per field (in first-met order), holding the chosen value
/// (typed from the values, see [`TableBuilder`]).
///
/// # Errors
///
/// As [`TableBuilder::finish`].
pub fn profiles_table(profiles: &[Profile]) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("profiles");
    t.typed_column("profile_id", DataType::Int64)
        .typed_column("members", text_list_type());
    for p in profiles {
        let members = Value::List(
            p.members
                .iter()
                .map(|m| Value::Text(m.to_string()))
                .collect(),
        );
        let head = [
            ("profile_id".to_owned(), profile_id(p)),
            ("members".to_owned(), members),
        ];
        let fields = p
            .fields
            .iter()
            .map(|f| (f.name.as_str().to_owned(), f.chosen.value.clone()));
        t.push_row(head.into_iter().chain(fields));
    }
    t.finish()
}

fn profile_id(p: &Profile) -> Value {
    i64::try_from(p.id.0).map_or_else(|_| Value::Text(p.id.0.to_string()), Value::Int)
}

/// The provenance of every profile value, one row per profile field: `profile_id` (`Int64`),
/// `field`, `value` (as text), `record_id` (the record it came from; all `Utf8`),
/// `observed_at` (`Timestamp(µs, UTC)`), `rule` (the survivorship rule that chose it, `Utf8`)
/// and `conflicts` (how many other values it won over, `Int64`).
///
/// # Errors
///
/// As [`TableBuilder::finish`].
pub fn provenance_table(profiles: &[Profile]) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("provenance");
    t.typed_columns(&[
        ("profile_id", DataType::Int64),
        ("field", DataType::Utf8),
        ("value", DataType::Utf8),
        ("record_id", DataType::Utf8),
        ("observed_at", timestamp_type()),
        ("rule", DataType::Utf8),
        ("conflicts", DataType::Int64),
    ]);
    for p in profiles {
        for f in &p.fields {
            t.push_row([
                ("profile_id", profile_id(p)),
                ("field", Value::Text(f.name.as_str().to_owned())),
                ("value", text_of(&f.chosen.value)),
                ("record_id", Value::Text(f.chosen.record.to_string())),
                (
                    "observed_at",
                    f.chosen.observed_at.map_or(Value::Null, Value::DateTime),
                ),
                ("rule", f.rule.clone().map_or(Value::Null, Value::Text)),
                (
                    "conflicts",
                    Value::Int(i64::try_from(f.conflicts.len()).unwrap_or(i64::MAX)),
                ),
            ]);
        }
    }
    t.finish()
}

fn text_of(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::List(_) | Value::Object(_) => Value::Text(to_json(v).to_string()),
        v => Value::Text(v.to_string()),
    }
}

/// The traits of each profile as a wide table: `profile_id` (`Int64`), then one column per
/// trait (typed from the values, see [`TableBuilder`]).
/// `traits[i]` belongs to `profiles[i]`; missing maps are empty.
///
/// # Errors
///
/// As [`TableBuilder::finish`].
pub fn traits_table(
    profiles: &[Profile],
    traits: &[BTreeMap<String, Value>],
) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("traits");
    t.typed_column("profile_id", DataType::Int64);
    let empty = BTreeMap::new();
    for (i, p) in profiles.iter().enumerate() {
        let row = traits.get(i).unwrap_or(&empty);
        t.push_row(
            std::iter::once(("profile_id".to_owned(), profile_id(p)))
                .chain(row.iter().map(|(k, v)| (k.clone(), v.clone()))),
        );
    }
    t.finish()
}

/// Events, one row each: `profile_id` (`Int64`, from `profile_of`: `profile_of[i]` for
/// `events[i]`; null where it is `None` or missing), `origin`, `kind`, `name` (`Utf8`),
/// `timestamp` (`Timestamp(µs, UTC)`), `user_id`, `anonymous_id`, `email`, `message_id` and
/// `properties` (JSON text; all `Utf8`).
///
/// # Errors
///
/// As [`TableBuilder::finish`].
pub fn events_table(events: &[Event], profile_of: &[Option<u64>]) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("events");
    t.typed_columns(&[
        ("profile_id", DataType::Int64),
        ("origin", DataType::Utf8),
        ("kind", DataType::Utf8),
        ("name", DataType::Utf8),
        ("timestamp", timestamp_type()),
        ("user_id", DataType::Utf8),
        ("anonymous_id", DataType::Utf8),
        ("email", DataType::Utf8),
        ("message_id", DataType::Utf8),
        ("properties", DataType::Utf8),
    ]);
    let opt = |s: &Option<String>| s.clone().map_or(Value::Null, Value::Text);
    for (i, e) in events.iter().enumerate() {
        let props = Value::Object(e.properties.clone());
        t.push_row([
            (
                "profile_id",
                profile_of
                    .get(i)
                    .copied()
                    .flatten()
                    .and_then(|p| i64::try_from(p).ok())
                    .map_or(Value::Null, Value::Int),
            ),
            (
                "origin",
                e.origin
                    .as_ref()
                    .map_or(Value::Null, |o| Value::Text(o.to_string())),
            ),
            ("kind", Value::Text(e.kind.as_str().to_owned())),
            ("name", opt(&e.name)),
            ("timestamp", Value::DateTime(e.timestamp)),
            ("user_id", opt(&e.user_id)),
            ("anonymous_id", opt(&e.anonymous_id)),
            ("email", opt(&e.email)),
            ("message_id", opt(&e.message_id)),
            ("properties", Value::Text(to_json(&props).to_string())),
        ]);
    }
    t.finish()
}

/// The segments of each profile, one row per profile and rule segment: `profile_id`
/// (`Int64`), `segment` (the rule segment's name, from the trait `segments`, `Utf8`), and the
/// segment found in the data that the profile is in (the `[clusters]` stage's traits
/// `segment` and `segment_name`): `cluster_id` (`Int64`) and `cluster_name` (`Utf8`), null
/// without that stage. A profile in no rule segment but in a found segment has one row with
/// a null `segment`; a profile in neither has no row. `traits[i]` belongs to `profiles[i]`.
///
/// ```
/// use std::collections::BTreeMap;
/// use mergetag_lake::segments_table;
/// use mergetag_model::{Profile, ProfileId, Value};
///
/// let profiles = [Profile::new(ProfileId(1), vec![]), Profile::new(ProfileId(2), vec![])];
/// let traits = [
///     BTreeMap::from([("segments".to_owned(), Value::List(vec!["vip".into(), "new".into()]))]),
///     BTreeMap::from([("segment".to_owned(), Value::Int(3)), ("segment_name".to_owned(), "Loyal".into())]),
/// ];
/// let t = segments_table(&profiles, &traits)?;
/// assert_eq!(t.num_rows(), 3); // vip and new for 1, the found segment for 2
/// assert_eq!(segments_table(&[], &[])?.num_columns(), 4);
/// # Ok::<(), mergetag_lake::Error>(())
/// ```
///
/// # Errors
///
/// As [`TableBuilder::finish`].
pub fn segments_table(
    profiles: &[Profile],
    traits: &[BTreeMap<String, Value>],
) -> Result<RecordBatch> {
    let mut t = TableBuilder::new("segments");
    t.typed_columns(&[
        ("profile_id", DataType::Int64),
        ("segment", DataType::Utf8),
        ("cluster_id", DataType::Int64),
        ("cluster_name", DataType::Utf8),
    ]);
    let empty = BTreeMap::new();
    for (i, p) in profiles.iter().enumerate() {
        let row = traits.get(i).unwrap_or(&empty);
        let cluster_id = row.get("segment").cloned().unwrap_or(Value::Null);
        let cluster_name = row.get("segment_name").cloned().unwrap_or(Value::Null);
        let names: Vec<Value> = match row.get("segments") {
            Some(Value::List(l)) => l.iter().filter(|v| !v.is_null()).cloned().collect(),
            _ => Vec::new(),
        };
        if names.is_empty() && cluster_id.is_null() && cluster_name.is_null() {
            continue;
        }
        let names = if names.is_empty() {
            vec![Value::Null]
        } else {
            names
        };
        for name in names {
            t.push_row([
                ("profile_id", profile_id(p)),
                ("segment", name),
                ("cluster_id", cluster_id.clone()),
                ("cluster_name", cluster_name.clone()),
            ]);
        }
    }
    t.finish()
}

/// Writes `batches` (all of one schema; none gives an empty file with no columns) as one
/// Parquet file at `location`, compressed with Zstandard, atomically: the file is encoded in
/// memory and handed to the object store in one `put`, which a local store writes to a
/// temporary file in the same directory and renames into place, and S3 makes visible only
/// whole. A reader never sees a partial file; a failed write leaves the previous file (or
/// none).
///
/// Returns the bytes written.
///
/// # Errors
///
/// [`Error::Parquet`] when the batches cannot be encoded, [`Error::Store`] when the store
/// refuses the write (bad credentials, a missing bucket).
pub fn write_parquet(location: &Location, batches: &[RecordBatch]) -> Result<u64> {
    let bytes = encode_parquet(location.url(), batches)?;
    let size = bytes.len() as u64;
    let rt = Runtime::new()?;
    rt.block_on(
        location
            .store()
            .put(location.path(), PutPayload::from(bytes)),
    )
    .map_err(|source| Error::Store {
        location: location.url().to_owned(),
        operation: "write",
        source,
    })?;
    Ok(size)
}

/// The Parquet bytes of `batches`.
pub(crate) fn encode_parquet(file: &str, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let perr = |operation, source| Error::Parquet {
        file: file.to_owned(),
        operation,
        source,
    };
    let schema = batches
        .first()
        .map_or_else(|| Arc::new(Schema::empty()), RecordBatch::schema);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut buffer = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut buffer, schema, Some(props)).map_err(|e| perr("write", e))?;
    for b in batches {
        writer.write(b).map_err(|e| perr("write", e))?;
    }
    writer.close().map_err(|e| perr("write", e))?;
    Ok(buffer)
}

/// A table of any serializable items, one row each: the fields of each item's JSON object
/// become columns, in key order (typed as [`TableBuilder`] types them; nested objects as
/// JSON text), so that logs and reports of other stages become Parquet without this crate
/// knowing their types, such as the dedup crate's merge log:
/// `serde_table("merge_log", index.log())`.
///
/// ```
/// use mergetag_lake::serde_table;
///
/// #[derive(serde::Serialize)]
/// struct Entry { seq: u64, event: &'static str, profile: Option<u64> }
/// let t = serde_table("merge_log", &[
///     Entry { seq: 1, event: "created", profile: Some(7) },
///     Entry { seq: 2, event: "built", profile: None },
/// ])?;
/// assert_eq!(t.num_rows(), 2);
/// let names: Vec<_> = t.schema().fields().iter().map(|f| f.name().clone()).collect();
/// assert_eq!(names, ["event", "profile", "seq"]); // in key order
/// # Ok::<(), mergetag_lake::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] naming the table when an item cannot be serialized, and as
/// [`TableBuilder::finish`].
pub fn serde_table<T: serde::Serialize>(name: &str, items: &[T]) -> Result<RecordBatch> {
    let mut t = TableBuilder::new(name);
    for (i, item) in items.iter().enumerate() {
        let json = serde_json::to_value(item)
            .map_err(|e| Error::invalid(name, format!("item {i} cannot be serialized ({e})")))?;
        match json {
            serde_json::Value::Object(map) => {
                t.push_row(map.into_iter().map(|(k, v)| (k, Value::from(v))));
            }
            other => {
                t.push_row([("value", Value::from(other))]);
            }
        }
    }
    t.finish()
}
