//! Arrow cells into [`Value`]s: the types an Arrow or Parquet column may have, kept typed.

use std::collections::BTreeMap;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float32Array, Float64Array, Int32Array, Int64Array,
    StringArray, StringViewArray,
};
use arrow::datatypes::{
    DataType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    DecimalType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use chrono::{DateTime, NaiveDate, Utc};
use mergetag_model::{SourceErrorKind, Value};
use mergetag_sources::Cell;

/// Why one cell could not become a value; the caller names the column and row.
pub(crate) type CellFault = SourceErrorKind;

pub(crate) fn invalid(expected: &str) -> CellFault {
    SourceErrorKind::InvalidValue {
        expected: expected.to_owned(),
    }
}

fn unexpected(dt: &DataType) -> CellFault {
    SourceErrorKind::Other {
        message: format!("an Arrow array does not match its declared type {dt}"),
    }
}

/// One column of a batch, resolved once per batch so that the common types are read without
/// a type check per cell.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    Bool(BooleanArray),
    Int64(Int64Array),
    Int32(Int32Array),
    Float64(Float64Array),
    Float32(Float32Array),
    Utf8(StringArray),
    Utf8View(StringViewArray),
    TimestampMs(arrow::array::TimestampMillisecondArray),
    TimestampUs(arrow::array::TimestampMicrosecondArray),
    /// A dictionary's keys, resolved once ([`NULL_KEY`] for a null), and its values.
    Dictionary(Vec<usize>, Box<Column>),
    /// A dictionary with 32-bit keys (how Parquet's dictionary-encoded text is read), read
    /// through its keys as they are.
    DictionaryI32(Int32Array, Box<Column>),
    Any(ArrayRef),
}

/// The resolved key of a null in a dictionary column.
const NULL_KEY: usize = usize::MAX;

/// The key at `row` of a dictionary's keys; `None` for a null, a row beyond them, or a
/// negative key.
#[inline]
fn key(keys: &Int32Array, row: usize) -> Option<usize> {
    if row >= keys.len() || keys.is_null(row) {
        return None;
    }
    usize::try_from(keys.value(row)).ok()
}

impl Column {
    /// The column for `array`.
    pub(crate) fn new(array: &ArrayRef) -> Column {
        let a = array.as_ref();
        let typed = match a.data_type() {
            DataType::Boolean => a.as_boolean_opt().cloned().map(Column::Bool),
            DataType::Int64 => a
                .as_primitive_opt::<Int64Type>()
                .cloned()
                .map(Column::Int64),
            DataType::Int32 => a
                .as_primitive_opt::<Int32Type>()
                .cloned()
                .map(Column::Int32),
            DataType::Float64 => a
                .as_primitive_opt::<Float64Type>()
                .cloned()
                .map(Column::Float64),
            DataType::Float32 => a
                .as_primitive_opt::<Float32Type>()
                .cloned()
                .map(Column::Float32),
            DataType::Utf8 => a.as_string_opt::<i32>().cloned().map(Column::Utf8),
            DataType::Utf8View => a.as_string_view_opt().cloned().map(Column::Utf8View),
            DataType::Timestamp(TimeUnit::Millisecond, _) => a
                .as_primitive_opt::<TimestampMillisecondType>()
                .cloned()
                .map(Column::TimestampMs),
            DataType::Timestamp(TimeUnit::Microsecond, _) => a
                .as_primitive_opt::<TimestampMicrosecondType>()
                .cloned()
                .map(Column::TimestampUs),
            DataType::Dictionary(k, _) if **k == DataType::Int32 => {
                a.as_dictionary_opt::<Int32Type>().map(|d| {
                    Column::DictionaryI32(d.keys().clone(), Box::new(Column::new(d.values())))
                })
            }
            // Null keys are the dictionary's nulls: [`NULL_KEY`] in the resolved keys.
            DataType::Dictionary(..) => a.as_any_dictionary_opt().map(|d| {
                let mut keys = d.normalized_keys();
                if let Some(nulls) = d.keys().logical_nulls() {
                    for (k, valid) in keys.iter_mut().zip(nulls.iter()) {
                        if !valid {
                            *k = NULL_KEY;
                        }
                    }
                }
                Column::Dictionary(keys, Box::new(Column::new(d.values())))
            }),
            _ => None,
        };
        typed.unwrap_or_else(|| Column::Any(array.clone()))
    }

    /// The cell at `row`: text borrowed from the array, anything else as a value.
    #[inline]
    pub(crate) fn cell(&self, row: usize) -> Result<Cell<'_>, CellFault> {
        Ok(match self {
            Column::Utf8(a) if row < a.len() && !a.is_null(row) => Cell::Text(a.value(row)),
            Column::Utf8View(a) if row < a.len() && !a.is_null(row) => Cell::Text(a.value(row)),
            Column::Dictionary(keys, values) => match keys.get(row) {
                Some(&k) if k != NULL_KEY => return values.cell(k),
                _ => Cell::Value(Value::Null),
            },
            Column::DictionaryI32(keys, values) => match key(keys, row) {
                Some(k) => return values.cell(k),
                None => Cell::Value(Value::Null),
            },
            _ => Cell::Value(self.value(row)?),
        })
    }

    /// The value at `row`.
    pub(crate) fn value(&self, row: usize) -> Result<Value, CellFault> {
        Ok(match self {
            Column::Bool(a) => nullable(a, row, |a| Value::Bool(a.value(row))),
            Column::Int64(a) => nullable(a, row, |a| Value::Int(a.value(row))),
            Column::Int32(a) => nullable(a, row, |a| Value::Int(i64::from(a.value(row)))),
            Column::Float64(a) => nullable(a, row, |a| Value::float(a.value(row))),
            Column::Float32(a) => nullable(a, row, |a| Value::float(f64::from(a.value(row)))),
            Column::Utf8(a) => nullable(a, row, |a| Value::Text(a.value(row).to_owned())),
            Column::Utf8View(a) => nullable(a, row, |a| Value::Text(a.value(row).to_owned())),
            Column::TimestampMs(a) => {
                if row >= a.len() || a.is_null(row) {
                    Value::Null
                } else {
                    Value::DateTime(
                        DateTime::<Utc>::from_timestamp_millis(a.value(row))
                            .ok_or_else(|| invalid("timestamp"))?,
                    )
                }
            }
            Column::TimestampUs(a) => {
                if row >= a.len() || a.is_null(row) {
                    Value::Null
                } else {
                    Value::DateTime(
                        DateTime::<Utc>::from_timestamp_micros(a.value(row))
                            .ok_or_else(|| invalid("timestamp"))?,
                    )
                }
            }
            Column::Dictionary(keys, values) => match keys.get(row) {
                Some(&k) if k != NULL_KEY => values.value(k)?,
                _ => Value::Null,
            },
            Column::DictionaryI32(keys, values) => match key(keys, row) {
                Some(k) => values.value(k)?,
                None => Value::Null,
            },
            Column::Any(a) => cell(a.as_ref(), row)?,
        })
    }

    /// Calls `f` with each row of `rows` and its cell, looking at the column's type once for
    /// all of them rather than once a cell.
    #[inline]
    pub(crate) fn for_each_cell<'a>(
        &'a self,
        rows: std::ops::Range<usize>,
        mut f: impl FnMut(usize, Result<Cell<'a>, CellFault>),
    ) {
        fn text<'a>(null: bool, t: impl FnOnce() -> &'a str) -> Cell<'a> {
            if null {
                Cell::Value(Value::Null)
            } else {
                Cell::Text(t())
            }
        }
        fn value(null: bool, v: impl FnOnce() -> Value) -> Cell<'static> {
            Cell::Value(if null { Value::Null } else { v() })
        }
        let rows = rows.start..rows.end.min(self.len());
        match self {
            Column::Utf8(a) => rows.for_each(|r| f(r, Ok(text(a.is_null(r), || a.value(r))))),
            Column::Utf8View(a) => {
                rows.for_each(|r| f(r, Ok(text(a.is_null(r), || a.value(r)))));
            }
            Column::Int64(a) => {
                rows.for_each(|r| f(r, Ok(value(a.is_null(r), || Value::Int(a.value(r))))));
            }
            Column::Bool(a) => {
                rows.for_each(|r| f(r, Ok(value(a.is_null(r), || Value::Bool(a.value(r))))));
            }
            Column::TimestampMs(a) => rows.for_each(|r| {
                f(
                    r,
                    if a.is_null(r) {
                        Ok(Cell::Value(Value::Null))
                    } else {
                        DateTime::<Utc>::from_timestamp_millis(a.value(r))
                            .map(|t| Cell::Value(Value::DateTime(t)))
                            .ok_or_else(|| invalid("timestamp"))
                    },
                );
            }),
            _ => rows.for_each(|r| f(r, self.cell(r))),
        }
    }

    /// Calls `f` with each text cell of `rows` (`None` for a null) and returns `true`, for a
    /// column of text; returns `false`, calling nothing, for any other column. The loop that
    /// fills most fields of most exports: no cell is wrapped in a value on the way.
    #[inline]
    pub(crate) fn for_each_text<'a>(
        &'a self,
        rows: std::ops::Range<usize>,
        mut f: impl FnMut(usize, Option<&'a str>),
    ) -> bool {
        let rows = rows.start..rows.end.min(self.len());
        match self {
            Column::Utf8(a) if a.null_count() == 0 => rows.for_each(|r| f(r, Some(a.value(r)))),
            Column::Utf8(a) => rows.for_each(|r| f(r, (!a.is_null(r)).then(|| a.value(r)))),
            Column::Utf8View(a) if a.null_count() == 0 => {
                rows.for_each(|r| f(r, Some(a.value(r))));
            }
            Column::Utf8View(a) => rows.for_each(|r| f(r, (!a.is_null(r)).then(|| a.value(r)))),
            Column::Dictionary(keys, values) => match values.as_ref() {
                Column::Utf8(v) => rows.for_each(|r| {
                    let k = keys[r];
                    f(r, (k < v.len() && !v.is_null(k)).then(|| v.value(k)));
                }),
                _ => return false,
            },
            Column::DictionaryI32(keys, values) => match values.as_ref() {
                // Neither keys nor values null (how exports mostly are): a key is all a row
                // needs looked at.
                Column::Utf8(v) if keys.null_count() == 0 && v.null_count() == 0 => {
                    let keys = keys.values();
                    rows.for_each(|r| {
                        let k = usize::try_from(keys[r]).ok().filter(|&k| k < v.len());
                        f(r, k.map(|k| v.value(k)));
                    });
                }
                Column::Utf8(v) => rows.for_each(|r| {
                    let text = key(keys, r)
                        .filter(|&k| k < v.len() && !v.is_null(k))
                        .map(|k| v.value(k));
                    f(r, text);
                }),
                _ => return false,
            },
            _ => return false,
        }
        true
    }

    fn len(&self) -> usize {
        match self {
            Column::Bool(a) => a.len(),
            Column::Int64(a) => a.len(),
            Column::Int32(a) => a.len(),
            Column::Float64(a) => a.len(),
            Column::Float32(a) => a.len(),
            Column::Utf8(a) => a.len(),
            Column::Utf8View(a) => a.len(),
            Column::TimestampMs(a) => a.len(),
            Column::TimestampUs(a) => a.len(),
            Column::Dictionary(keys, _) => keys.len(),
            Column::DictionaryI32(keys, _) => keys.len(),
            Column::Any(a) => a.len(),
        }
    }

    /// Whether reading a cell can fail (text, booleans, integers and floats never do).
    pub(crate) fn may_fail(&self) -> bool {
        match self {
            Column::Dictionary(_, values) | Column::DictionaryI32(_, values) => values.may_fail(),
            Column::TimestampMs(_) | Column::TimestampUs(_) | Column::Any(_) => true,
            _ => false,
        }
    }

    /// Whether a cell may be an object (a struct or a map), which column maps flatten into
    /// dotted keys.
    pub(crate) fn nested(&self) -> bool {
        fn nested(dt: &DataType) -> bool {
            match dt {
                DataType::Struct(_) | DataType::Map(..) => true,
                DataType::Dictionary(_, v) => nested(v),
                _ => false,
            }
        }
        match self {
            Column::Dictionary(_, values) | Column::DictionaryI32(_, values) => values.nested(),
            Column::Any(a) => nested(a.data_type()),
            _ => false,
        }
    }
}

fn nullable<A: Array>(a: &A, row: usize, f: impl FnOnce(&A) -> Value) -> Value {
    if row >= a.len() || a.is_null(row) {
        Value::Null
    } else {
        f(a)
    }
}

/// The value of any Arrow array at `row`: nulls are [`Value::Null`]; booleans, integers
/// (unsigned ones above `i64::MAX` are invalid) and floats (NaN and infinities become null)
/// keep their types; decimals become floats (through their exact decimal text); text and
/// UTF-8 binary become text; dates, and timestamps in any unit (stored in UTC whatever the
/// zone), become dates and date-times; lists become lists; structs and maps (with text keys)
/// become objects, which column maps flatten into dotted keys as for JSON; dictionaries and
/// run-end encoded arrays read their values; anything else (times of day, durations,
/// intervals) becomes its Arrow display text.
pub(crate) fn cell(a: &dyn Array, row: usize) -> Result<Value, CellFault> {
    if row >= a.len() || a.is_null(row) {
        return Ok(Value::Null);
    }
    let dt = a.data_type();
    let bad = || unexpected(dt);
    Ok(match dt {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::Bool(a.as_boolean_opt().ok_or_else(bad)?.value(row)),
        DataType::Int8 => int(prim::<Int8Type>(a, row).ok_or_else(bad)?),
        DataType::Int16 => int(prim::<Int16Type>(a, row).ok_or_else(bad)?),
        DataType::Int32 => int(prim::<Int32Type>(a, row).ok_or_else(bad)?),
        DataType::Int64 => Value::Int(prim::<Int64Type>(a, row).ok_or_else(bad)?),
        DataType::UInt8 => int(prim::<UInt8Type>(a, row).ok_or_else(bad)?),
        DataType::UInt16 => int(prim::<UInt16Type>(a, row).ok_or_else(bad)?),
        DataType::UInt32 => int(prim::<UInt32Type>(a, row).ok_or_else(bad)?),
        DataType::UInt64 => {
            let v = prim::<UInt64Type>(a, row).ok_or_else(bad)?;
            Value::Int(i64::try_from(v).map_err(|_| invalid("int"))?)
        }
        DataType::Float16 => Value::float(prim::<Float16Type>(a, row).ok_or_else(bad)?.to_f64()),
        DataType::Float32 => Value::float(f64::from(prim::<Float32Type>(a, row).ok_or_else(bad)?)),
        DataType::Float64 => Value::float(prim::<Float64Type>(a, row).ok_or_else(bad)?),
        DataType::Decimal32(..) => decimal::<Decimal32Type>(a, row).ok_or_else(bad)?,
        DataType::Decimal64(..) => decimal::<Decimal64Type>(a, row).ok_or_else(bad)?,
        DataType::Decimal128(..) => decimal::<Decimal128Type>(a, row).ok_or_else(bad)?,
        DataType::Decimal256(..) => decimal::<Decimal256Type>(a, row).ok_or_else(bad)?,
        DataType::Utf8 => Value::Text(a.as_string_opt::<i32>().ok_or_else(bad)?.value(row).into()),
        DataType::LargeUtf8 => {
            Value::Text(a.as_string_opt::<i64>().ok_or_else(bad)?.value(row).into())
        }
        DataType::Utf8View => {
            Value::Text(a.as_string_view_opt().ok_or_else(bad)?.value(row).into())
        }
        DataType::Binary => utf8(a.as_binary_opt::<i32>().ok_or_else(bad)?.value(row))?,
        DataType::LargeBinary => utf8(a.as_binary_opt::<i64>().ok_or_else(bad)?.value(row))?,
        DataType::BinaryView => utf8(a.as_binary_view_opt().ok_or_else(bad)?.value(row))?,
        DataType::FixedSizeBinary(_) => {
            utf8(a.as_fixed_size_binary_opt().ok_or_else(bad)?.value(row))?
        }
        DataType::Date32 => {
            let days = prim::<Date32Type>(a, row).ok_or_else(bad)?;
            Value::Date(date_from_days(i64::from(days)).ok_or_else(|| invalid("date"))?)
        }
        DataType::Date64 => {
            let ms = prim::<Date64Type>(a, row).ok_or_else(bad)?;
            Value::Date(
                DateTime::<Utc>::from_timestamp_millis(ms)
                    .ok_or_else(|| invalid("date"))?
                    .date_naive(),
            )
        }
        DataType::Timestamp(unit, _) => {
            let at = match unit {
                TimeUnit::Second => prim::<TimestampSecondType>(a, row)
                    .ok_or_else(bad)
                    .map(|s| DateTime::<Utc>::from_timestamp(s, 0))?,
                TimeUnit::Millisecond => prim::<TimestampMillisecondType>(a, row)
                    .ok_or_else(bad)
                    .map(DateTime::<Utc>::from_timestamp_millis)?,
                TimeUnit::Microsecond => prim::<TimestampMicrosecondType>(a, row)
                    .ok_or_else(bad)
                    .map(DateTime::<Utc>::from_timestamp_micros)?,
                TimeUnit::Nanosecond => prim::<TimestampNanosecondType>(a, row)
                    .ok_or_else(bad)
                    .map(|n| Some(DateTime::<Utc>::from_timestamp_nanos(n)))?,
            };
            Value::DateTime(at.ok_or_else(|| invalid("timestamp"))?)
        }
        DataType::List(_) => list(&a.as_list_opt::<i32>().ok_or_else(bad)?.value(row))?,
        DataType::LargeList(_) => list(&a.as_list_opt::<i64>().ok_or_else(bad)?.value(row))?,
        DataType::ListView(_) => list(&a.as_list_view_opt::<i32>().ok_or_else(bad)?.value(row))?,
        DataType::LargeListView(_) => {
            list(&a.as_list_view_opt::<i64>().ok_or_else(bad)?.value(row))?
        }
        DataType::FixedSizeList(..) => {
            list(&a.as_fixed_size_list_opt().ok_or_else(bad)?.value(row))?
        }
        DataType::Struct(fields) => {
            let s = a.as_struct_opt().ok_or_else(bad)?;
            let mut object = BTreeMap::new();
            for (field, column) in fields.iter().zip(s.columns()) {
                object.insert(field.name().clone(), cell(column.as_ref(), row)?);
            }
            Value::Object(object)
        }
        DataType::Map(..) => {
            let entries = a.as_map_opt().ok_or_else(bad)?.value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut object = BTreeMap::new();
            for i in 0..entries.len() {
                let key = match cell(keys.as_ref(), i)? {
                    Value::Text(k) => k,
                    Value::Int(k) => k.to_string(),
                    _ => return Err(invalid("map with text keys")),
                };
                object.insert(key, cell(values.as_ref(), i)?);
            }
            Value::Object(object)
        }
        DataType::Dictionary(..) => {
            let d = a.as_any_dictionary_opt().ok_or_else(bad)?;
            // The key of this row only (normalizing all the keys would cost a pass a cell).
            let key = match cell(d.keys(), row)? {
                Value::Int(k) => usize::try_from(k).ok(),
                _ => None,
            };
            cell(d.values().as_ref(), key.ok_or_else(bad)?)?
        }
        _ => Value::Text(
            arrow::util::display::array_value_to_string(a, row).map_err(|_| invalid("text"))?,
        ),
    })
}

fn prim<T: arrow::datatypes::ArrowPrimitiveType>(a: &dyn Array, row: usize) -> Option<T::Native> {
    a.as_primitive_opt::<T>().map(|p| p.value(row))
}

fn int(v: impl Into<i64>) -> Value {
    Value::Int(v.into())
}

fn decimal<T: DecimalType>(a: &dyn Array, row: usize) -> Option<Value> {
    let text = a.as_primitive_opt::<T>()?.value_as_string(row);
    Some(text.parse::<f64>().map_or(Value::Null, Value::float))
}

fn utf8(bytes: &[u8]) -> Result<Value, CellFault> {
    std::str::from_utf8(bytes)
        .map(|s| Value::Text(s.to_owned()))
        .map_err(|_| SourceErrorKind::InvalidUtf8)
}

fn list(values: &ArrayRef) -> Result<Value, CellFault> {
    (0..values.len())
        .map(|i| cell(values.as_ref(), i))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::List)
}

/// Instants from timestamps, with each day's date remembered.
///
/// `DateTime::from_timestamp_millis` works out the calendar date of the day every time, and
/// the bench `lake` found that a fifth of what the reader spends filling contacts with two
/// timestamp columns. A customer table's timestamps fall on a few thousand days at most (a
/// signup date, a last change), so the date of each day is worked out once and remembered
/// in a small table indexed by the day (a day that meets another's slot is worked out
/// again). The instants are chrono's to the nanosecond, out-of-range values included (a
/// test compares them).
pub(crate) struct Days {
    /// `(day since 1970-01-01, its date)`; every entry is a true pair.
    dates: Box<[(i32, NaiveDate)]>,
}

/// The days [`Days`] remembers: 16 KiB, about five and a half years in a row.
const DAY_SLOTS: usize = 2048;

impl Default for Days {
    fn default() -> Days {
        Days {
            dates: vec![(0, NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()); DAY_SLOTS]
                .into_boxed_slice(),
        }
    }
}

impl Days {
    /// The instant `secs` seconds and `nanos` nanoseconds (below a second) after the Unix
    /// epoch, as `DateTime::from_timestamp` gives it.
    #[inline]
    fn instant(&mut self, secs: i64, nanos: u32) -> Option<DateTime<Utc>> {
        let day = i32::try_from(secs.div_euclid(86_400)).ok()?;
        let second = secs.rem_euclid(86_400) as u32;
        // Two's complement: the low bits of negative days spread over the slots too.
        let slot = &mut self.dates[day as u32 as usize % DAY_SLOTS];
        let date = if slot.0 == day {
            slot.1
        } else {
            let date = NaiveDate::from_num_days_from_ce_opt(day.checked_add(719_163)?)?;
            *slot = (day, date);
            date
        };
        let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(second, nanos)?;
        Some(date.and_time(time).and_utc())
    }

    /// `DateTime::from_timestamp_millis(ms)`.
    #[inline]
    pub(crate) fn millis(&mut self, ms: i64) -> Option<DateTime<Utc>> {
        self.instant(
            ms.div_euclid(1_000),
            ms.rem_euclid(1_000) as u32 * 1_000_000,
        )
    }

    /// `DateTime::from_timestamp_micros(us)`.
    #[inline]
    pub(crate) fn micros(&mut self, us: i64) -> Option<DateTime<Utc>> {
        self.instant(
            us.div_euclid(1_000_000),
            us.rem_euclid(1_000_000) as u32 * 1_000,
        )
    }
}

/// The date `days` after 1970-01-01.
pub(crate) fn date_from_days(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    /// [`Days`] gives chrono's instants, remembered or not: for timestamps spread over
    /// centuries, negative ones, ones near a day's edges, and ones out of chrono's range.
    #[test]
    fn remembered_days_give_chronos_instants() {
        let mut days = Days::default();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x
        };
        let day_ms = 86_400_000i64;
        let mut values = vec![
            0,
            -1,
            1,
            day_ms - 1,
            day_ms,
            -day_ms,
            -day_ms - 1,
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
            8_210_298_412_799_999,
            8_210_298_412_800_000,
            -8_334_601_228_800_000,
            -8_334_601_228_800_001,
        ];
        for _ in 0..200_000 {
            let r = next();
            values.push(match r % 4 {
                // Anything at all.
                0 => r as i64,
                // Within chrono's years.
                1 => (r % 16_000_000_000_000_000) as i64 - 8_000_000_000_000_000,
                // A few years around now, so that days repeat.
                2 => 1_600_000_000_000 + (r % 200_000_000_000) as i64,
                // The same, and days that meet in a slot (2048 days apart).
                _ => 1_600_000_000_000 + (r % 4) as i64 * 2048 * day_ms + (r >> 8) as i64 % day_ms,
            });
        }
        for &v in &values {
            assert_eq!(days.millis(v), DateTime::from_timestamp_millis(v), "{v} ms");
            assert_eq!(days.micros(v), DateTime::from_timestamp_micros(v), "{v} us");
        }
    }

    use arrow::array::{
        Decimal128Array, DictionaryArray, Int32Builder, ListBuilder, StructArray,
        TimestampMillisecondArray, UInt64Array,
    };
    use arrow::datatypes::{Field, Int8Type};

    use super::*;

    #[test]
    fn typed_cells_keep_their_types() {
        let ts: ArrayRef = Arc::new(
            TimestampMillisecondArray::from(vec![Some(1_709_302_925_000), None])
                .with_timezone("+01:00"),
        );
        assert_eq!(
            cell(ts.as_ref(), 0).unwrap(),
            Value::DateTime("2024-03-01T14:22:05Z".parse().unwrap())
        );
        assert_eq!(cell(ts.as_ref(), 1).unwrap(), Value::Null);
        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![12345_i128])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        assert_eq!(cell(dec.as_ref(), 0).unwrap(), Value::Float(123.45));
        let big: ArrayRef = Arc::new(UInt64Array::from(vec![u64::MAX]));
        assert_eq!(cell(big.as_ref(), 0).unwrap_err().code(), "invalid_value");
        let mut lb = ListBuilder::new(Int32Builder::new());
        lb.values().append_value(1);
        lb.values().append_value(2);
        lb.append(true);
        let l: ArrayRef = Arc::new(lb.finish());
        assert_eq!(
            cell(l.as_ref(), 0).unwrap(),
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        let city: ArrayRef = Arc::new(StringArray::from(vec!["Springfield"]));
        let s: ArrayRef = Arc::new(StructArray::from(vec![(
            Arc::new(Field::new("city", DataType::Utf8, true)),
            city,
        )]));
        let Value::Object(o) = cell(s.as_ref(), 0).unwrap() else {
            panic!("object expected")
        };
        assert_eq!(o["city"], Value::from("Springfield"));
        let d: ArrayRef = Arc::new(
            vec!["gold", "silver", "gold"]
                .into_iter()
                .collect::<DictionaryArray<Int8Type>>(),
        );
        assert_eq!(cell(d.as_ref(), 2).unwrap(), Value::from("gold"));
        let bin: ArrayRef = Arc::new(arrow::array::BinaryArray::from(vec![&[0xff_u8][..]]));
        assert_eq!(cell(bin.as_ref(), 0).unwrap_err().code(), "invalid_utf8");
        assert_eq!(date_from_days(1).unwrap().to_string(), "1970-01-02");
    }
}
