//! What normalizing did to a record: a [`ChangeLog`] of [`Change`]s per record, and a
//! [`Tally`] that counts logs over a run for its report.

use std::collections::BTreeMap;

use mergetag_model::FieldName;
use serde::{Deserialize, Serialize};

use crate::Outcome;

/// One change or flag on one field of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Change {
    /// The field.
    pub field: FieldName,
    /// What the normalizer did (never [`Outcome::Unchanged`] in a log).
    pub outcome: Outcome,
}

/// The changes and flags of one record; reuse one across records
/// ([`RecordNormalizer::normalize`](crate::RecordNormalizer::normalize) clears it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeLog {
    /// Changed and flagged fields, in the order the normalizers ran.
    pub changes: Vec<Change>,
    /// How many fields were normalized and found unchanged.
    pub unchanged: u32,
}

impl ChangeLog {
    /// An empty log.
    pub fn new() -> ChangeLog {
        ChangeLog::default()
    }

    /// Empties the log.
    pub fn clear(&mut self) {
        self.changes.clear();
        self.unchanged = 0;
    }

    /// Whether any field was flagged (invalid or ambiguous).
    pub fn has_flags(&self) -> bool {
        self.changes.iter().any(|c| c.outcome.is_flagged())
    }

    /// The flagged fields.
    pub fn flags(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.outcome.is_flagged())
    }
}

/// Counts over many [`ChangeLog`]s, per field and outcome kind, for a run report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Records counted.
    pub records: u64,
    /// `(field, outcome kind)` -> count; kinds are those of [`Outcome::kind`] other than
    /// `unchanged`.
    pub by_field: BTreeMap<String, BTreeMap<String, u64>>,
    /// Fields found unchanged.
    pub unchanged: u64,
}

impl Tally {
    /// Adds one record's log.
    pub fn add(&mut self, log: &ChangeLog) {
        self.records += 1;
        self.unchanged += u64::from(log.unchanged);
        for c in &log.changes {
            *self
                .by_field
                .entry(c.field.to_string())
                .or_default()
                .entry(c.outcome.kind().to_owned())
                .or_default() += 1;
        }
    }

    /// The count of `kind` (`changed`, `invalid`, `ambiguous`) over all fields.
    pub fn total(&self, kind: &str) -> u64 {
        self.by_field.values().filter_map(|m| m.get(kind)).sum()
    }
}
