//! Column maps over typed values: for sources whose rows arrive as typed cells (a database
//! row, an API's JSON object) rather than as text.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use mergetag_model::{
    FieldName, Position, Record, RecordKey, SourceError, SourceErrorKind, SourceName, Value,
};

use crate::column_map::{Action, ColumnMap, InvalidValues};
use crate::convert::ColumnType;
use crate::row::{observed_at, set_key};

/// Why a row could not be mapped: what went wrong and which column it is about. It carries no
/// value of the row, so it can be shown and logged as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldFault {
    /// What went wrong.
    pub kind: SourceErrorKind,
    /// The source's column (or dotted key) at fault, when one is.
    pub column: Option<FieldName>,
}

impl FieldFault {
    /// A fault of `kind` about `column`.
    pub fn new(kind: SourceErrorKind, column: Option<FieldName>) -> FieldFault {
        FieldFault { kind, column }
    }

    /// The error for this fault in the row at `position` of source `source`.
    pub fn into_error(self, source: impl Into<SourceName>, position: Position) -> SourceError {
        let e = SourceError::new(source, position, self.kind);
        match self.column {
            Some(c) => e.with_field(c),
            None => e,
        }
    }
}

/// Fills [`Record`]s from rows of typed [`Value`]s through a [`ColumnMap`], the way the JSON
/// Lines reader fills them from JSON objects: the key column gives the record's key, mapped
/// columns are converted to their [`ColumnType`](crate::ColumnType) (a value that is already of
/// that type is taken as it is; text goes through [`ColumnType::convert`](crate::ColumnType::convert)),
/// unmapped columns are kept or refused as the map says, nested objects are flattened into
/// dotted keys (`address.city`), and the first observed-at field with a timestamp becomes the
/// record's observed-at time.
///
/// Database and API sources use it, so that their columns take the same presets and column
/// maps as files.
///
/// ```
/// use mergetag_model::{fields, Record, Value};
/// use mergetag_sources::{ColumnMap, ColumnType, ValueMapper};
///
/// let map = ColumnMap::hubspot_contacts();
/// let mut mapper = ValueMapper::new(map);
/// let mut record = Record::default();
/// let row = [
///     ("hs_object_id", Value::Int(901)),
///     ("firstname", Value::from("Ada")),
///     ("hs_email_optout", Value::from("false")),
/// ];
/// let key = mapper.fill(row, &mut record)?;
/// assert_eq!(key.as_deref(), Some("901"));
/// assert_eq!(record.text(fields::FIRST_NAME), Some("Ada"));
/// assert_eq!(record.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(false)));
///
/// // A value that does not convert is a fault naming the column, never its value.
/// let bad = [("hs_email_optout", Value::from("maybe"))];
/// let fault = mapper.fill(bad, &mut record).unwrap_err();
/// assert_eq!(fault.column.as_ref().map(|c| c.as_str()), Some("hs_email_optout"));
/// # Ok::<(), mergetag_sources::FieldFault>(())
/// ```
#[derive(Debug, Clone)]
pub struct ValueMapper {
    map: ColumnMap,
    /// Column -> action, so that each distinct column is matched once. Bounded, since an API
    /// can send any number of distinct keys.
    cache: HashMap<String, Action>,
}

const ACTION_CACHE_MAX: usize = 4096;

impl ValueMapper {
    /// A mapper through `map`.
    pub fn new(map: ColumnMap) -> ValueMapper {
        ValueMapper {
            map,
            cache: HashMap::new(),
        }
    }

    /// The column map.
    pub fn column_map(&self) -> &ColumnMap {
        &self.map
    }

    /// Whether `column` holds the record key (it is one of the map's key columns).
    pub fn is_key(&self, column: &str) -> bool {
        self.map.key_rank(column).is_some()
    }

    /// Whether the map drops `column` (listed under `ignore`).
    pub fn is_ignored(&self, column: &str) -> bool {
        matches!(self.map.action(column), Action::Ignore)
    }

    fn action(&mut self, column: &str) -> Action {
        if let Some(a) = self.cache.get(column) {
            return a.clone();
        }
        let a = self.map.action(column);
        if self.cache.len() < ACTION_CACHE_MAX {
            self.cache.insert(column.to_owned(), a.clone());
        }
        a
    }

    /// Clears `record`'s fields and fills them from `row`, a sequence of (column, value) in
    /// the source's order. Returns the text of the best-ranked key column that has a value (a
    /// non-empty text or an integer); the caller sets the record's id from it. The record's
    /// id is left as it is.
    ///
    /// # Errors
    ///
    /// A [`FieldFault`] naming the column: a value that does not convert to its column's type
    /// (unless the map keeps such values as text), a column the map refuses, or two columns
    /// that give one field different values.
    pub fn fill<K: AsRef<str>>(
        &mut self,
        row: impl IntoIterator<Item = (K, Value)>,
        record: &mut Record,
    ) -> Result<Option<String>, FieldFault> {
        record.clear();
        let mut key: Option<(usize, String)> = None;
        let mut stack: Vec<(String, Value)> = Vec::new();
        for (column, value) in row {
            stack.push((column.as_ref().to_owned(), value));
            while let Some((k, v)) = stack.pop() {
                if let Value::Object(inner) = v {
                    for (ik, iv) in inner.into_iter().rev() {
                        stack.push((format!("{k}.{ik}"), iv));
                    }
                    continue;
                }
                if let Some(rank) = self.map.key_rank(&k) {
                    if key.as_ref().is_none_or(|(r, _)| rank < *r)
                        && let Some(text) = key_text(&v)
                    {
                        key = Some((rank, text));
                    }
                    continue;
                }
                self.put_column(&k, v, record)?;
            }
        }
        record.observed_at = observed_at(record, self.map.observed_at_fields());
        Ok(key.map(|(_, k)| k))
    }

    /// Resolves the columns of one schema (a Parquet file's, a query's) against the map once,
    /// so that [`ValueMapper::fill_row`] reads each row without looking a column name up.
    ///
    /// `columns` are the row's columns in order; cells are later asked for by their index.
    pub fn plan<S: AsRef<str>>(&self, columns: &[S]) -> RowPlan {
        let mut actions = Vec::with_capacity(columns.len());
        let mut key_rank = Vec::with_capacity(columns.len());
        let mut names = Vec::with_capacity(columns.len());
        let mut targets = HashSet::new();
        let mut distinct = true;
        for column in columns {
            let column = column.as_ref();
            let rank = self.map.key_rank(column);
            let action = if rank.is_some() {
                Action::Key
            } else {
                self.map.action(column)
            };
            if let Action::Field(name, _) = &action {
                distinct &= targets.insert(name.clone());
            }
            key_rank.push(rank);
            actions.push(action);
            names.push(FieldName::new(column));
        }
        let observed = self.map.observed_at_fields();
        let mut seen = HashSet::new();
        let observed_rank = actions
            .iter()
            .map(|a| match a {
                Action::Field(name, _) if seen.insert(name.clone()) => {
                    observed.iter().position(|f| f == name)
                }
                _ => None,
            })
            .collect();
        let mut fields = Vec::new();
        let field_index = actions
            .iter()
            .map(|a| match a {
                Action::Field(name, _) if distinct => {
                    fields.push(name.clone());
                    Some(fields.len() - 1)
                }
                _ => None,
            })
            .collect();
        RowPlan {
            names,
            actions,
            key_rank,
            observed_rank,
            distinct,
            fields,
            field_index,
        }
    }

    /// Fills `record` from one row of cells through `plan` (made by [`ValueMapper::plan`] for
    /// the row's columns), exactly as [`ValueMapper::fill`] would from the same columns and
    /// values, and sets its id: source `source`, keyed by the best-ranked key column with a
    /// value, else by `row`. `cell(i)` gives the cell of column `i`, or the fault that kept it
    /// from being read (the row's fault then names that column).
    ///
    /// Text cells are written into the record's own buffers, so a source that hands out
    /// borrowed text (an Arrow string array) copies each value once.
    ///
    /// ```
    /// use mergetag_model::{fields, Record, SourceName, Value};
    /// use mergetag_sources::{Cell, ColumnMap, ValueMapper};
    ///
    /// let mut mapper = ValueMapper::new(ColumnMap::hubspot_contacts());
    /// let plan = mapper.plan(&["hs_object_id", "firstname", "hs_email_optout"]);
    /// let row = [Cell::Value(Value::Int(901)), Cell::Text("Ada"), Cell::Text("false")];
    /// let mut record = Record::default();
    /// let source = SourceName::new("crm");
    /// mapper.fill_row(&plan, |i| Ok(row[i].clone()), &source, 1, &mut record)?;
    /// assert_eq!(record.id.to_string(), "crm:901");
    /// assert_eq!(record.text(fields::FIRST_NAME), Some("Ada"));
    /// assert_eq!(record.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(false)));
    /// # Ok::<(), mergetag_sources::FieldFault>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ValueMapper::fill`], and the fault `cell` gave, naming its column. On an error the
    /// record's fields are unspecified.
    pub fn fill_row<'a>(
        &mut self,
        plan: &RowPlan,
        cell: impl Fn(usize) -> Result<Cell<'a>, SourceErrorKind>,
        source: &SourceName,
        row: u64,
        record: &mut Record,
    ) -> Result<(), FieldFault> {
        let fault = |i: usize, kind| FieldFault::new(kind, plan.names.get(i).cloned());
        let mut key: Option<(usize, Cell<'a>)> = None;
        let mut observed: Option<(usize, DateTime<Utc>)> = None;
        let mut nested = !plan.distinct;
        if !nested {
            let mut w = record.refill();
            for (i, action) in plan.actions.iter().enumerate() {
                let c = cell(i).map_err(|k| fault(i, k))?;
                if let Cell::Value(Value::Object(_)) = c {
                    // A struct to flatten into dotted keys, whatever its column is (its keys
                    // are columns of their own, which may meet other columns): the general
                    // path below.
                    nested = true;
                    break;
                }
                match action {
                    Action::Key => {
                        let rank = plan.key_rank[i].unwrap_or(usize::MAX);
                        if key.as_ref().is_none_or(|(r, _)| rank < *r) && c.is_key() {
                            key = Some((rank, c));
                        }
                    }
                    Action::Ignore => {}
                    Action::Unmapped => return Err(unmapped(plan.names[i].as_str())),
                    Action::Field(name, kind) => {
                        let invalid = || {
                            fault(
                                i,
                                SourceErrorKind::InvalidValue {
                                    expected: kind.as_str().to_owned(),
                                },
                            )
                        };
                        let keep_text = self.map.invalid_value_policy() == InvalidValues::KeepText;
                        let value = match (kind, c) {
                            (ColumnType::Text, Cell::Text(t)) => {
                                w.text(name, t);
                                continue;
                            }
                            (_, Cell::Text(t)) => match kind.convert(t) {
                                Some(v) => v,
                                None if keep_text => {
                                    w.text(name, t);
                                    continue;
                                }
                                None => return Err(invalid()),
                            },
                            (_, Cell::Value(v)) => match kind.convert_value(v) {
                                Ok(v) => v,
                                Err(v) if keep_text => Value::Text(v.to_string()),
                                Err(_) => return Err(invalid()),
                            },
                        };
                        if let (Some(rank), Value::DateTime(t)) = (plan.observed_rank[i], &value)
                            && observed.is_none_or(|(best, _)| rank < best)
                        {
                            observed = Some((rank, *t));
                        }
                        w.value(name, value);
                    }
                }
            }
        }
        if nested {
            let mut cells = Vec::with_capacity(plan.names.len());
            for i in 0..plan.names.len() {
                cells.push((
                    plan.names[i].as_str(),
                    cell(i).map_err(|k| fault(i, k))?.into_value(),
                ));
            }
            let key = self.fill(cells, record)?;
            set_key(&mut record.id.key, key.as_deref(), row);
        } else {
            record.observed_at = observed.map(|(_, t)| t);
            if !key.is_some_and(|(_, c)| c.set_key(&mut record.id.key)) {
                record.id.key = RecordKey::Row(row);
            }
        }
        // Comparing the names is cheaper than the atomic increment and decrement of a clone.
        if record.id.source != *source {
            record.id.source = source.clone();
        }
        Ok(())
    }

    fn put_column(&mut self, k: &str, v: Value, record: &mut Record) -> Result<(), FieldFault> {
        match self.action(k) {
            Action::Key | Action::Ignore => Ok(()),
            Action::Unmapped => Err(unmapped(k)),
            Action::Field(name, kind) => {
                let value = match kind.convert_value(v) {
                    Ok(v) => v,
                    Err(v) if self.map.invalid_value_policy() == InvalidValues::KeepText => {
                        Value::Text(v.to_string())
                    }
                    Err(_) => {
                        return Err(FieldFault::new(
                            SourceErrorKind::InvalidValue {
                                expected: kind.as_str().to_owned(),
                            },
                            Some(FieldName::new(k)),
                        ));
                    }
                };
                put_field(record, name, value).map_err(|name| {
                    FieldFault::new(
                        SourceErrorKind::Other {
                            message: format!(
                                "two columns give different values for field `{name}`; map one of them elsewhere or ignore it"
                            ),
                        },
                        Some(FieldName::new(k)),
                    )
                })
            }
        }
    }
}

/// The fault of a column the map refuses.
fn unmapped(column: &str) -> FieldFault {
    FieldFault::new(
        SourceErrorKind::Other {
            message: "column is not in the column map; map it, list it under `ignore`, or set `unmapped = \"keep\"`".into(),
        },
        Some(FieldName::new(column)),
    )
}

/// Sets the record key to the decimal text of `n`, reusing the existing buffer.
///
/// Through `itoa` (two digits a step from a table): `write!` through `fmt` measured about 3%
/// of reading integer-keyed Parquet rows, a digit-by-digit loop 3.2%, this a fraction of that.
fn set_int_key(slot: &mut RecordKey, n: i64) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(n);
    match slot {
        RecordKey::Id(s) => {
            s.clear();
            s.push_str(text);
        }
        RecordKey::Row(_) => *slot = RecordKey::Id(text.to_owned()),
    }
}

/// One cell of a row for [`ValueMapper::fill_row`]: text borrowed from the source's buffer, or
/// a typed value ([`Value::Null`] for a missing one).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Cell<'a> {
    /// Text, converted to the column's type as CSV text is.
    Text(&'a str),
    /// A typed value, converted as [`ValueMapper::fill`] converts values.
    Value(Value),
}

impl Cell<'_> {
    /// The cell as an owned value.
    #[inline]
    pub fn into_value(self) -> Value {
        match self {
            Cell::Text(t) => Value::Text(t.to_owned()),
            Cell::Value(v) => v,
        }
    }

    /// Writes the record key this cell gives into `slot` (trimmed text, or an integer in
    /// decimal), reusing its buffer; `false`, leaving `slot` as it is, for a cell that keys
    /// nothing (blank text, anything else).
    #[inline]
    pub fn set_key(&self, slot: &mut RecordKey) -> bool {
        match self {
            Cell::Text(t) if !t.trim().is_empty() => set_key(slot, Some(t.trim()), 0),
            Cell::Value(Value::Text(t)) if !t.trim().is_empty() => set_key(slot, Some(t.trim()), 0),
            Cell::Value(Value::Int(n)) => set_int_key(slot, *n),
            _ => return false,
        }
        true
    }

    /// Whether the cell can key a record: non-blank text or an integer.
    fn is_key(&self) -> bool {
        match self {
            Cell::Text(t) => !t.trim().is_empty(),
            Cell::Value(Value::Text(t)) => !t.trim().is_empty(),
            Cell::Value(Value::Int(_)) => true,
            Cell::Value(_) => false,
        }
    }
}

/// The columns of one schema resolved against a column map by [`ValueMapper::plan`]: what
/// each column becomes, which hold the key, which give the observed-at time.
#[derive(Debug, Clone)]
pub struct RowPlan {
    names: Vec<FieldName>,
    actions: Vec<Action>,
    key_rank: Vec<Option<usize>>,
    observed_rank: Vec<Option<usize>>,
    /// No two columns become one field, so a row is written field by field in column order.
    distinct: bool,
    /// The fields the columns become, in column order (when `distinct`).
    fields: Vec<FieldName>,
    /// Each column's index in `fields`.
    field_index: Vec<Option<usize>>,
}

/// What one column of a [`RowPlan`] becomes ([`RowPlan::column`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlannedColumn<'a> {
    /// Holds the record's key: of the key columns with a value, the lowest rank wins.
    Key {
        /// The column's rank among the map's key columns.
        rank: usize,
    },
    /// Dropped, as the map says.
    Ignored,
    /// Not in the map, which refuses unmapped columns: a row with this column is a fault.
    Refused,
    /// Becomes a field.
    Field {
        /// The field.
        name: &'a FieldName,
        /// The type values are converted to.
        kind: ColumnType,
        /// The field's index among [`RowPlan::fields`], when the plan is flat.
        index: Option<usize>,
        /// The field's rank among the map's observed-at fields, when it is one (the first
        /// column of a field only).
        observed_rank: Option<usize>,
    },
}

impl RowPlan {
    /// The number of columns planned.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no column was planned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether column `i` holds the record key.
    pub fn is_key(&self, i: usize) -> bool {
        self.key_rank.get(i).is_some_and(Option::is_some)
    }

    /// What column `i` becomes ([`PlannedColumn::Ignored`] beyond the last column).
    pub fn column(&self, i: usize) -> PlannedColumn<'_> {
        match self.actions.get(i) {
            Some(Action::Key) => PlannedColumn::Key {
                rank: self.key_rank[i].unwrap_or(usize::MAX),
            },
            Some(Action::Field(name, kind)) => PlannedColumn::Field {
                name,
                kind: *kind,
                index: self.field_index[i],
                observed_rank: self.observed_rank[i],
            },
            Some(Action::Unmapped) => PlannedColumn::Refused,
            Some(Action::Ignore) | None => PlannedColumn::Ignored,
        }
    }

    /// The name of column `i`.
    pub fn name(&self, i: usize) -> Option<&FieldName> {
        self.names.get(i)
    }

    /// Whether rows of this plan can be written column by column into records of one shape
    /// ([`RowPlan::fields`], [`Record::reshape`]): no two columns become one field and no
    /// column is refused. Rows with structs to flatten still need [`ValueMapper::fill_row`].
    pub fn is_flat(&self) -> bool {
        self.distinct && !self.actions.contains(&Action::Unmapped)
    }

    /// The fields a flat plan's rows have, in column order.
    pub fn fields(&self) -> &[FieldName] {
        &self.fields
    }
}

/// Sets field `name` of `record` to `value` unless another column or key already gave it a
/// different one: a null fills and is filled, an equal value is no conflict. On a conflict the
/// record is unchanged and the name comes back for the caller's error.
pub(crate) fn put_field(
    record: &mut Record,
    name: FieldName,
    value: Value,
) -> Result<(), FieldName> {
    match record.get_mut(name.as_str()) {
        None => {
            record.push_unchecked(name, value);
            Ok(())
        }
        Some(existing) if existing.is_null() => {
            *existing = value;
            Ok(())
        }
        Some(existing) if value.is_null() || *existing == value => Ok(()),
        Some(_) => Err(name),
    }
}

/// The text a value gives as a record key: text trimmed (nothing when blank), an integer in
/// decimal, nothing for anything else. [`ValueMapper::fill`] keys records this way; sources
/// use it to key the rows they quarantine.
///
/// ```
/// use mergetag_model::Value;
///
/// assert_eq!(mergetag_sources::key_text(&Value::from(" 901 ")).as_deref(), Some("901"));
/// assert_eq!(mergetag_sources::key_text(&Value::Int(7)).as_deref(), Some("7"));
/// assert_eq!(mergetag_sources::key_text(&Value::from("  ")), None);
/// ```
pub fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::Text(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ColumnType;
    use mergetag_model::fields;

    #[test]
    fn typed_values_pass_and_nested_objects_flatten() {
        let map = ColumnMap::new()
            .with_key("id")
            .with_typed_column("updated", "updated_at", ColumnType::Timestamp)
            .with_typed_column("born", fields::BIRTH_DATE, ColumnType::Text)
            .with_observed_at("updated_at");
        let mut m = ValueMapper::new(map);
        let mut r = Record::default();
        let at: chrono::DateTime<chrono::Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(1990, 5, 6).unwrap();
        let mut address = std::collections::BTreeMap::new();
        address.insert("city".to_owned(), Value::from("Springfield"));
        let key = m
            .fill(
                [
                    ("id", Value::Int(7)),
                    ("updated", Value::DateTime(at)),
                    ("born", Value::Date(day)),
                    ("address", Value::Object(address)),
                ],
                &mut r,
            )
            .unwrap();
        assert_eq!(key.as_deref(), Some("7"));
        assert_eq!(r.observed_at, Some(at));
        assert_eq!(r.get(fields::BIRTH_DATE), Some(&Value::Date(day)));
        assert_eq!(r.text("address.city"), Some("Springfield"));
        // A date is a timestamp at midnight UTC.
        m.fill([("updated", Value::Date(day))], &mut r).unwrap();
        assert!(r.get("updated_at").unwrap().as_datetime().is_some());
    }

    /// `fill_row` through a plan gives what `fill` gives, with the id set as sources set it.
    fn both(map: &ColumnMap, columns: &[&str], row: &[Value]) {
        let mut slow = ValueMapper::new(map.clone());
        let mut fast = ValueMapper::new(map.clone());
        let (mut a, mut b) = (Record::default(), Record::default());
        let source = SourceName::new("s");
        let expected = slow
            .fill(columns.iter().copied().zip(row.iter().cloned()), &mut a)
            .map(|key| {
                a.id = match key {
                    Some(k) => mergetag_model::RecordId::id(source.clone(), k),
                    None => mergetag_model::RecordId::row(source.clone(), 7),
                };
            });
        let plan = fast.plan(columns);
        // Text as borrowed cells, the rest as values, as the Arrow source hands them out.
        let cell = |i: usize| {
            Ok(match &row[i] {
                Value::Text(t) => Cell::Text(t),
                v => Cell::Value(v.clone()),
            })
        };
        // A record with leftovers of an earlier row, as a reused one has.
        b.set_text("stale", "x");
        let got = fast.fill_row(&plan, cell, &source, 7, &mut b);
        assert_eq!(got, expected, "{columns:?}");
        if expected.is_ok() {
            assert_eq!(a, b, "{columns:?}");
        }
    }

    #[test]
    fn planned_rows_fill_as_rows_of_values() {
        let map = ColumnMap::hubspot_contacts();
        let at: chrono::DateTime<chrono::Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        both(
            &map,
            &[
                "hs_object_id",
                "firstname",
                "email",
                "hs_email_optout",
                "lastmodifieddate",
                "extra",
            ],
            &[
                Value::Int(9),
                Value::from("Ada"),
                Value::Null,
                Value::from("true"),
                Value::DateTime(at),
                Value::from(""),
            ],
        );
        // Keys: text is trimmed, blank text keys nothing, the row number then.
        both(
            &map,
            &["hs_object_id", "firstname"],
            &[Value::from(" 12 "), Value::from("A")],
        );
        both(&map, &["hs_object_id"], &[Value::from("  ")]);
        both(&map, &["hs_object_id"], &[Value::Bool(true)]);
        // A value that does not convert, and the same kept as text.
        both(&map, &["hs_email_optout"], &[Value::from("maybe")]);
        both(
            &map.clone().invalid_values(InvalidValues::KeepText),
            &["hs_email_optout", "createdate"],
            &[Value::from("maybe"), Value::Float(1.5)],
        );
        // Two columns into one field (equal values, then different ones).
        let two = ColumnMap::new()
            .with_column("a", "name")
            .with_column("b", "name");
        both(&two, &["a", "b"], &[Value::from("x"), Value::from("x")]);
        both(&two, &["a", "b"], &[Value::from("x"), Value::from("y")]);
        // Structs flatten, and may meet a column of the dotted name.
        let mut address = std::collections::BTreeMap::new();
        address.insert("city".to_owned(), Value::from("Springfield"));
        both(
            &ColumnMap::new(),
            &["address", "address.city"],
            &[Value::Object(address.clone()), Value::from("Springfield")],
        );
        both(
            &ColumnMap::new(),
            &["address", "zip"],
            &[Value::Object(address), Value::Int(1)],
        );
        // Refused columns.
        let strict = ColumnMap::new()
            .with_column("a", "a")
            .unmapped(crate::Unmapped::Reject);
        both(&strict, &["a", "b"], &[Value::from("x"), Value::Null]);
    }

    proptest::proptest! {
        /// Any row of any columns fills the same record through a plan as through `fill`.
        #[test]
        fn planned_rows_equal_value_rows(
            picks in proptest::collection::vec((0usize..9, 0usize..9), 0..8),
            keep_text in proptest::bool::ANY,
        ) {
            const COLUMNS: [&str; 9] = [
                "hs_object_id", "firstname", "email", "hs_email_optout", "createdate",
                "extra", "address", "address.city", "Email",
            ];
            let at: chrono::DateTime<chrono::Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
            let mut inner = std::collections::BTreeMap::new();
            inner.insert("city".to_owned(), Value::from("Leeds"));
            let values = [
                Value::Null,
                Value::Int(42),
                Value::from(" 7 "),
                Value::from(""),
                Value::from("true"),
                Value::Float(2.5),
                Value::DateTime(at),
                Value::from("2026-03-04T05:06:07Z"),
                Value::Object(inner),
            ];
            let mut columns: Vec<&str> = Vec::new();
            let mut row = Vec::new();
            for (c, v) in picks {
                // A schema names each column once.
                if !columns.contains(&COLUMNS[c]) {
                    columns.push(COLUMNS[c]);
                    row.push(values[v].clone());
                }
            }
            let mut map = ColumnMap::hubspot_contacts().with_observed_at("created_at");
            if keep_text {
                map = map.invalid_values(InvalidValues::KeepText);
            }
            both(&map, &columns, &row);
        }
    }

    #[test]
    fn integer_keys_in_decimal() {
        for n in [0, 7, -7, 10, 1_000_000, i64::MAX, i64::MIN] {
            let mut slot = RecordKey::Row(1);
            set_int_key(&mut slot, n);
            assert_eq!(slot, RecordKey::Id(n.to_string()));
            set_int_key(&mut slot, n / 3);
            assert_eq!(slot, RecordKey::Id((n / 3).to_string()));
        }
    }

    #[test]
    fn cell_faults_name_their_column() {
        let mut m = ValueMapper::new(ColumnMap::new());
        let plan = m.plan(&["a", "b"]);
        let mut r = Record::default();
        let f = m
            .fill_row(
                &plan,
                |i| match i {
                    0 => Ok(Cell::Text("x")),
                    _ => Err(SourceErrorKind::InvalidUtf8),
                },
                &SourceName::new("s"),
                1,
                &mut r,
            )
            .unwrap_err();
        assert_eq!(f.column.as_ref().map(|c| c.as_str()), Some("b"));
        assert_eq!(f.kind, SourceErrorKind::InvalidUtf8);
    }

    #[test]
    fn faults_name_the_column() {
        let map = ColumnMap::new().with_typed_column("n", "n", ColumnType::Int);
        let mut m = ValueMapper::new(map.clone());
        let mut r = Record::default();
        let f = m.fill([("n", Value::Bool(true))], &mut r).unwrap_err();
        assert_eq!(f.kind.code(), "invalid_value");
        let e = f.into_error("db", Position::record(3));
        assert_eq!(
            e.to_string(),
            "db: record 3, field `n`: value is not a valid int"
        );
        let mut keep = ValueMapper::new(map.invalid_values(InvalidValues::KeepText));
        keep.fill([("n", Value::from("x"))], &mut r).unwrap();
        assert_eq!(r.text("n"), Some("x"));
    }
}
