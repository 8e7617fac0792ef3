//! Records: one row of one source, with an id, an observed-at time and typed fields.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{FieldName, Value};

/// The name of a source (`"salesforce"`, `"hubspot"`), cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceName(Arc<str>);

impl SourceName {
    /// A source name.
    pub fn new(name: impl AsRef<str>) -> SourceName {
        SourceName(Arc::from(name.as_ref()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SourceName {
    fn from(s: &str) -> Self {
        SourceName::new(s)
    }
}

impl Default for SourceName {
    fn default() -> Self {
        SourceName::new("")
    }
}

/// A record's key within its source: the source's own id when it has one, else the position.
///
/// The serde form is a string for [`RecordKey::Id`] and a number for [`RecordKey::Row`]. Keys
/// order rows before ids, rows by number and ids by text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordKey {
    /// The 1-based row (a CSV data row, a JSON line) when the source has no id of its own.
    Row(u64),
    /// The source's own id (a Salesforce `Id`, a HubSpot `hs_object_id`).
    Id(String),
}

impl fmt::Display for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordKey::Row(n) => write!(f, "#{n}"),
            RecordKey::Id(s) => f.write_str(s),
        }
    }
}

impl Default for RecordKey {
    fn default() -> Self {
        RecordKey::Row(0)
    }
}

/// Which record this is: its source and its key there. Ordered by source, then key, which is
/// the tie-break every stage uses to stay deterministic.
///
/// ```
/// use mergetag_model::{RecordId, RecordKey};
///
/// let id = RecordId::new("salesforce", RecordKey::Id("0035g00000AbCdEAAZ".into()));
/// assert_eq!(id.to_string(), "salesforce:0035g00000AbCdEAAZ");
/// assert_eq!(RecordId::row("events", 7).to_string(), "events:#7");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordId {
    /// The source the record was read from.
    pub source: SourceName,
    /// The key within that source.
    pub key: RecordKey,
}

impl RecordId {
    /// A record id.
    pub fn new(source: impl Into<SourceName>, key: RecordKey) -> RecordId {
        RecordId {
            source: source.into(),
            key,
        }
    }

    /// A record id keyed by the source's own id.
    pub fn id(source: impl Into<SourceName>, id: impl Into<String>) -> RecordId {
        RecordId::new(source, RecordKey::Id(id.into()))
    }

    /// A record id keyed by row number.
    pub fn row(source: impl Into<SourceName>, row: u64) -> RecordId {
        RecordId::new(source, RecordKey::Row(row))
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.key)
    }
}

/// One named value of a [`Record`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The field's name.
    pub name: FieldName,
    /// The field's value.
    pub value: Value,
}

/// One record of one source: an id, when it was observed, and named typed fields.
///
/// Fields keep the order in which they were set; setting a field that exists replaces its value
/// in place. Lookups compare names (pointer first, then text), which for the tens of fields a
/// contact has is faster than hashing.
///
/// A record is meant to be reused: [`Record::clear`] keeps its buffers, and
/// [`Record::set_text`] reuses the text buffers of earlier values, so a reader that refills one
/// record per row allocates almost nothing once warm.
///
/// ```
/// use mergetag_model::{fields, Record, RecordId, Value};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set_text(fields::FIRST_NAME, "Ada");
/// r.set(fields::EMAIL_OPT_OUT, true);
/// r.set("favorite_store", "Chicago Loop");
/// assert_eq!(r.text(fields::FIRST_NAME), Some("Ada"));
/// assert_eq!(r.get(fields::EMAIL_OPT_OUT), Some(&Value::Bool(true)));
/// assert_eq!(r.len(), 3);
///
/// r.set_text(fields::FIRST_NAME, "Ada Lovelace");
/// let names: Vec<&str> = r.iter().map(|f| f.name.as_str()).collect();
/// assert_eq!(names, ["first_name", "email_opt_out", "favorite_store"]);
/// ```
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    /// Which record this is.
    pub id: RecordId,
    /// When the source last saw or changed it; "most recent wins" rules use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<DateTime<Utc>>,
    #[serde(default, with = "fields_as_map")]
    fields: Vec<Field>,
    /// Text buffers of cleared values, reused by `set_text`. Not part of the record's value.
    #[serde(skip)]
    spare: Vec<String>,
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.observed_at == other.observed_at && self.fields == other.fields
    }
}

impl Record {
    /// An empty record with this id.
    pub fn new(id: RecordId) -> Record {
        Record {
            id,
            ..Record::default()
        }
    }

    /// Removes every field and the observed-at time, keeping buffers for reuse. The id is kept;
    /// a reader sets it for the next row.
    pub fn clear(&mut self) {
        self.observed_at = None;
        self.truncate(0);
    }

    /// Keeps the first `len` fields, moving the text buffers of the others to the spare pool.
    fn truncate(&mut self, len: usize) {
        // Reversed, so that `take_buffer` (which pops) hands buffers out in field order and a
        // column tends to get back the buffer it had, already big enough.
        for f in self.fields.drain(len.min(self.fields.len())..).rev() {
            if let Value::Text(mut s) = f.value {
                s.clear();
                self.spare.push(s);
            }
        }
    }

    /// Starts refilling the record field by field, reusing its fields in place.
    ///
    /// For readers that fill one record per row with the same fields in the same order: a field
    /// whose name matches the one already at its position is overwritten in place, text into the
    /// existing buffer. When the [`Refill`] is dropped, fields beyond the last one written are
    /// removed. The result is the same as [`Record::clear`] followed by pushes, only faster.
    /// The observed-at time is cleared; the id is kept.
    ///
    /// ```
    /// use mergetag_model::{Record, RecordId, Value};
    ///
    /// let mut r = Record::new(RecordId::row("s", 1));
    /// for row in [["Ada", "x"], ["Bob", ""]] {
    ///     let mut w = r.refill();
    ///     w.text(&"name".into(), row[0]);
    ///     if !row[1].is_empty() {
    ///         w.text(&"tag".into(), row[1]);
    ///     }
    /// }
    /// assert_eq!(r.text("name"), Some("Bob"));
    /// assert_eq!(r.get("tag"), None);
    /// ```
    pub fn refill(&mut self) -> Refill<'_> {
        self.observed_at = None;
        Refill {
            record: self,
            at: 0,
        }
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the record has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name.eq_str(name))
    }

    /// The value of the field `name`, if the record has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.position(name).map(|i| &self.fields[i].value)
    }

    /// A mutable reference to the value of the field `name`, if the record has it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.position(name).map(|i| &mut self.fields[i].value)
    }

    /// The text of the field `name`, when it is [`Value::Text`].
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Whether the record has the field `name` (even when its value is null).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets the field `name`, replacing its value in place when it exists and appending it
    /// otherwise. Returns the previous value.
    pub fn set(&mut self, name: impl Into<FieldName>, value: impl Into<Value>) -> Option<Value> {
        let name = name.into();
        let value = value.into();
        match self.position(name.as_str()) {
            Some(i) => Some(std::mem::replace(&mut self.fields[i].value, value)),
            None => {
                self.fields.push(Field { name, value });
                None
            }
        }
    }

    /// Sets the field `name` to text, reusing an existing or spare text buffer when there is one.
    pub fn set_text(&mut self, name: impl Into<FieldName>, text: &str) {
        let name = name.into();
        if let Some(i) = self.position(name.as_str()) {
            if let Value::Text(s) = &mut self.fields[i].value {
                s.clear();
                s.push_str(text);
            } else {
                self.fields[i].value = Value::Text(self.take_buffer(text));
            }
            return;
        }
        let value = Value::Text(self.take_buffer(text));
        self.fields.push(Field { name, value });
    }

    /// Appends the field without looking for an existing field of the same name.
    ///
    /// For readers that already know the names are distinct (a CSV header checked once); it
    /// skips the lookup. A duplicate name appended this way hides the later field from
    /// [`Record::get`].
    pub fn push_text_unchecked(&mut self, name: FieldName, text: &str) {
        let value = Value::Text(self.take_buffer(text));
        self.fields.push(Field { name, value });
    }

    /// Appends the field without looking for an existing field of the same name; see
    /// [`Record::push_text_unchecked`].
    pub fn push_unchecked(&mut self, name: FieldName, value: Value) {
        self.fields.push(Field { name, value });
    }

    /// Gives the record exactly the fields `names`, in that order, for a reader that fills
    /// many records of one shape column by column ([`Record::set_at`],
    /// [`Record::set_text_at`]). A record that has those fields already keeps its values (to
    /// be overwritten); otherwise its fields become `names`, each null, and their text buffers
    /// are kept for reuse. `names` must be distinct, as with [`Record::push_unchecked`].
    ///
    /// ```
    /// use mergetag_model::{FieldName, Record, Value};
    ///
    /// let names = [FieldName::new("first_name"), FieldName::new("age")];
    /// let mut r = Record::default();
    /// r.reshape(&names);
    /// r.set_text_at(0, "Ada");
    /// r.set_at(1, Value::Int(36));
    /// assert_eq!(r.text("first_name"), Some("Ada"));
    /// assert_eq!(r.get("age"), Some(&Value::Int(36)));
    /// ```
    pub fn reshape(&mut self, names: &[FieldName]) {
        if self.fields.len() == names.len()
            && self.fields.iter().zip(names).all(|(f, n)| f.name == *n)
        {
            return;
        }
        self.truncate(0);
        self.fields.extend(names.iter().map(|n| Field {
            name: n.clone(),
            value: Value::Null,
        }));
    }

    /// Sets the value of the `i`-th field (nothing beyond the last field); its old text
    /// buffer is kept for reuse.
    ///
    /// A number, boolean, date or time into a field that holds one of its type already (as a
    /// refilled record's fields do) is written in place: no whole [`Value`] is moved in and
    /// the old one out, which the bench `lake` showed stalling a reader's fill.
    ///
    /// ```
    /// use mergetag_model::{FieldName, Record, Value};
    ///
    /// let mut r = Record::default();
    /// r.reshape(&[FieldName::new("age")]);
    /// for v in [Value::Int(35), Value::Int(36), Value::from("36"), Value::Bool(true)] {
    ///     r.set_at(0, v.clone());
    ///     assert_eq!(r.get("age"), Some(&v));
    /// }
    /// r.set_at(1, Value::Int(1));
    /// assert_eq!(r.len(), 1);
    /// ```
    #[inline]
    pub fn set_at(&mut self, i: usize, value: Value) {
        let Some(f) = self.fields.get_mut(i) else {
            return;
        };
        match (&mut f.value, value) {
            (Value::Int(slot), Value::Int(v)) => *slot = v,
            (Value::Float(slot), Value::Float(v)) => *slot = v,
            (Value::Bool(slot), Value::Bool(v)) => *slot = v,
            (Value::Date(slot), Value::Date(v)) => *slot = v,
            (Value::DateTime(slot), Value::DateTime(v)) => *slot = v,
            (slot, value) => {
                if let Value::Text(mut s) = std::mem::replace(slot, value) {
                    s.clear();
                    self.spare.push(s);
                }
            }
        }
    }

    /// Sets the `i`-th field to `text` (nothing beyond the last field), reusing its text
    /// buffer or a spare one.
    #[inline]
    pub fn set_text_at(&mut self, i: usize, text: &str) {
        let Some(f) = self.fields.get_mut(i) else {
            return;
        };
        if let Value::Text(s) = &mut f.value {
            s.clear();
            s.push_str(text);
            return;
        }
        let buf = self.take_buffer(text);
        self.fields[i].value = Value::Text(buf);
    }

    #[inline]
    fn take_buffer(&mut self, text: &str) -> String {
        match self.spare.pop() {
            Some(mut s) => {
                s.push_str(text);
                s
            }
            None => text.to_owned(),
        }
    }

    /// Removes the field `name` and returns its value. Later fields keep their order.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.position(name).map(|i| self.fields.remove(i).value)
    }

    /// Renames the field `from` to `to`. Returns `false` when there is no field `from`; when a
    /// field `to` already exists it is replaced by the renamed one.
    pub fn rename(&mut self, from: &str, to: impl Into<FieldName>) -> bool {
        let Some(i) = self.position(from) else {
            return false;
        };
        let to = to.into();
        if let Some(j) = self.position(to.as_str())
            && j != i
        {
            let value = std::mem::take(&mut self.fields[i].value);
            self.fields[j].value = value;
            self.fields.remove(i);
        } else {
            self.fields[i].name = to;
        }
        true
    }

    /// The fields in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Field> {
        self.fields.iter()
    }

    /// The fields in order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&FieldName, &mut Value)> {
        self.fields.iter_mut().map(|f| (&f.name, &mut f.value))
    }

    /// The fields as a slice.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Keeps only the fields for which `keep` returns `true`.
    pub fn retain(&mut self, mut keep: impl FnMut(&Field) -> bool) {
        self.fields.retain(|f| keep(f));
    }
}

/// Refills a [`Record`] in place; see [`Record::refill`].
///
/// Field names written through one `Refill` must be distinct, as with
/// [`Record::push_unchecked`].
#[derive(Debug)]
pub struct Refill<'a> {
    record: &'a mut Record,
    at: usize,
}

impl Refill<'_> {
    /// Writes the next field as text. The name is cloned only when the field is new.
    #[inline]
    pub fn text(&mut self, name: &FieldName, text: &str) {
        let at = self.at;
        self.at += 1;
        if let Some(f) = self.record.fields.get_mut(at)
            && f.name.eq_str(name.as_str())
        {
            if let Value::Text(s) = &mut f.value {
                s.clear();
                s.push_str(text);
                return;
            }
            let buf = self.record.take_buffer(text);
            self.record.fields[at].value = Value::Text(buf);
            return;
        }
        self.record.truncate(at);
        self.record.push_text_unchecked(name.clone(), text);
    }

    /// Writes the next field. The name is cloned only when the field is new.
    #[inline]
    pub fn value(&mut self, name: &FieldName, value: Value) {
        let at = self.at;
        self.at += 1;
        if let Some(f) = self.record.fields.get_mut(at)
            && f.name.eq_str(name.as_str())
        {
            let old = std::mem::replace(&mut f.value, value);
            if let Value::Text(mut s) = old {
                s.clear();
                self.record.spare.push(s);
            }
            return;
        }
        self.record.truncate(at);
        self.record.fields.push(Field {
            name: name.clone(),
            value,
        });
    }

    /// The record as filled so far (fields after the last one written are still the old ones
    /// until the `Refill` is dropped).
    pub fn record(&mut self) -> &mut Record {
        self.record
    }

    /// How many fields have been written.
    pub fn written(&self) -> usize {
        self.at
    }
}

impl Drop for Refill<'_> {
    fn drop(&mut self) {
        self.record.truncate(self.at);
    }
}

/// The serde form of a record's fields: a map in field order (`{"email": {"type": "text", ...}}`).
mod fields_as_map {
    use std::fmt;

    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    use super::Field;
    use crate::{FieldName, Value};

    pub(super) fn serialize<S: Serializer>(fields: &[Field], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(fields.len()))?;
        for f in fields {
            map.serialize_entry(&f.name, &f.value)?;
        }
        map.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Field>, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Vec<Field>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of field names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Field>, A::Error> {
                let mut out: Vec<Field> = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((name, value)) = map.next_entry::<FieldName, Value>()? {
                    if out.iter().any(|f| f.name == name) {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate field `{name}`"
                        )));
                    }
                    out.push(Field { name, value });
                }
                Ok(out)
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

impl<'a> IntoIterator for &'a Record {
    type Item = &'a Field;
    type IntoIter = std::slice::Iter<'a, Field>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields;

    #[test]
    fn set_replaces_in_place_and_keeps_order() {
        let mut r = Record::new(RecordId::row("s", 1));
        r.set("a", 1_i64);
        r.set("b", 2_i64);
        assert_eq!(r.set("a", 3_i64), Some(Value::Int(1)));
        let v: Vec<_> = r
            .iter()
            .map(|f| (f.name.as_str(), f.value.clone()))
            .collect();
        assert_eq!(v, [("a", Value::Int(3)), ("b", Value::Int(2))]);
    }

    #[test]
    fn clear_reuses_text_buffers() {
        let mut r = Record::new(RecordId::row("s", 1));
        r.set_text(fields::EMAIL, "a-long-enough-address@example.com");
        let cap = match r.get(fields::EMAIL) {
            Some(Value::Text(s)) => s.capacity(),
            _ => unreachable!(),
        };
        r.clear();
        assert!(r.is_empty());
        r.set_text(fields::CITY, "Oslo");
        match r.get(fields::CITY) {
            Some(Value::Text(s)) => assert_eq!(s.capacity(), cap),
            _ => unreachable!(),
        }
    }

    #[test]
    fn equality_ignores_spare_buffers() {
        let mut a = Record::new(RecordId::row("s", 1));
        a.set_text("x", "1");
        a.clear();
        a.set_text("y", "2");
        let mut b = Record::new(RecordId::row("s", 1));
        b.set_text("y", "2");
        assert_eq!(a, b);
    }

    #[test]
    fn remove_and_rename() {
        let mut r = Record::new(RecordId::row("s", 1));
        r.set("FirstName", "Ada");
        r.set("x", 1_i64);
        r.set(fields::FIRST_NAME, "old");
        assert!(r.rename("FirstName", fields::FIRST_NAME));
        assert_eq!(r.text(fields::FIRST_NAME), Some("Ada"));
        assert_eq!(r.len(), 2);
        assert!(!r.rename("missing", "y"));
        assert_eq!(r.remove("x"), Some(Value::Int(1)));
        assert_eq!(r.remove("x"), None);
    }

    #[test]
    fn ids_order_by_source_then_key() {
        let mut ids = [
            RecordId::id("b", "1"),
            RecordId::row("a", 2),
            RecordId::id("a", "0"),
            RecordId::row("a", 10),
        ];
        ids.sort();
        let s: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(s, ["a:#2", "a:#10", "a:0", "b:1"]);
    }

    #[test]
    fn serde_round_trip() {
        let mut r = Record::new(RecordId::id("hubspot", "901"));
        r.observed_at = Some(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
        r.set(fields::EMAIL, "ada@example.com");
        r.set("n", Value::Null);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""key":"901""#), "{json}");
        assert!(
            json.contains(r#""fields":{"email":{"type":"text","value":"ada@example.com"}"#),
            "{json}"
        );
        let back: Record = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let dup =
            r#"{"id":{"source":"s","key":1},"fields":{"a":{"type":"null"},"a":{"type":"null"}}}"#;
        assert!(serde_json::from_str::<Record>(dup).is_err());
    }
}
