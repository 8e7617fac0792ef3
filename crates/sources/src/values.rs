//! Column maps over typed values: for sources whose rows arrive as typed cells (a database
//! row, an API's JSON object) rather than as text.

use std::collections::HashMap;

use mergetag_model::{
    FieldName, Position, Record, SourceError, SourceErrorKind, SourceName, Value,
};

use crate::column_map::{Action, ColumnMap, InvalidValues};
use crate::row::observed_at;

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

    fn put_column(&mut self, k: &str, v: Value, record: &mut Record) -> Result<(), FieldFault> {
        match self.action(k) {
            Action::Key | Action::Ignore => Ok(()),
            Action::Unmapped => Err(FieldFault::new(
                SourceErrorKind::Other {
                    message: "column is not in the column map; map it, list it under `ignore`, or set `unmapped = \"keep\"`".into(),
                },
                Some(FieldName::new(k)),
            )),
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

/// The text of a key value: text as it is (trimmed), an integer in decimal.
fn key_text(v: &Value) -> Option<String> {
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
