//! What every reader shares: bad-row handling, record keys and observed-at times.

use mergetag_model::{
    FieldName, Position, Record, RecordId, RecordKey, Reject, SourceError, SourceErrorKind,
    SourceName, Value,
};

/// Why one row is bad.
#[derive(Debug)]
pub(crate) struct RowError {
    pub(crate) kind: SourceErrorKind,
    pub(crate) field: Option<FieldName>,
}

impl RowError {
    pub(crate) fn new(kind: SourceErrorKind, field: Option<FieldName>) -> RowError {
        RowError { kind, field }
    }
}

/// Sets the record key to `key`, reusing the existing buffer, or to the row number when `key`
/// is absent or empty.
pub(crate) fn set_key(slot: &mut RecordKey, key: Option<&str>, row: u64) {
    match key {
        Some(k) if !k.is_empty() => match slot {
            RecordKey::Id(s) => {
                s.clear();
                s.push_str(k);
            }
            RecordKey::Row(_) => *slot = RecordKey::Id(k.to_owned()),
        },
        _ => *slot = RecordKey::Row(row),
    }
}

/// The first timestamp among the observed-at fields.
pub(crate) fn observed_at(
    record: &Record,
    fields: &[FieldName],
) -> Option<chrono::DateTime<chrono::Utc>> {
    fields
        .iter()
        .find_map(|f| record.get(f.as_str()).and_then(Value::as_datetime))
}

impl RowError {
    /// The error for a row at `position` of source `name`.
    pub(crate) fn into_error(self, name: &SourceName, position: Position) -> SourceError {
        let e = SourceError::new(name.clone(), position, self.kind);
        match self.field {
            Some(f) => e.with_field(f),
            None => e,
        }
    }

    /// The reject for data row `row` at `position`, whose raw bytes are `raw`.
    pub(crate) fn into_reject(
        self,
        name: &SourceName,
        row: u64,
        position: Position,
        raw: &[u8],
    ) -> Reject {
        Reject {
            id: RecordId::row(name.clone(), row),
            position,
            field: self.field,
            error: self.kind,
            raw: String::from_utf8_lossy(raw)
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        }
    }
}
