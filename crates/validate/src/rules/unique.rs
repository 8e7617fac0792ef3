//! [`Unique`]: a record id, or a field's value, unique within its source.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use mergetag_model::{FieldName, Record, SourceName};

use super::{as_text, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// The record id ([`Unique::id`]) or a field's value ([`Unique::field`]) must not repeat
/// within a source. The first record with a value passes; each later one is reported
/// (`duplicate_id`, `duplicate_value`), so a source with a duplicated id keeps one record and
/// quarantines the others for repair.
///
/// The rule remembers what it has seen until [`Rule::reset`]; memory grows with the number of
/// distinct values. Values are compared as text, exactly: normalize first to catch
/// `Jane@x.com` and `jane@x.com`.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::Unique};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let unique = Unique::id();
/// let mut report = Report::new();
/// for _ in 0..2 {
///     unique.check(&Record::new(RecordId::id("crm", "0035g00000AbCdE")), &mut report);
/// }
/// assert_eq!(report.len(), 1);
/// assert_eq!(report.findings()[0].code, "duplicate_id");
/// ```
#[derive(Debug)]
pub struct Unique {
    field: Option<FieldName>,
    seen: Mutex<HashMap<SourceName, HashSet<String>>>,
    severity: Severity,
}

impl Unique {
    /// Record ids must be unique within each source.
    pub fn id() -> Unique {
        Unique {
            field: None,
            seen: Mutex::default(),
            severity: Severity::Error,
        }
    }

    /// Values of `field` must be unique within each source.
    pub fn field(field: impl Into<FieldName>) -> Unique {
        Unique {
            field: Some(field.into()),
            ..Unique::id()
        }
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> Unique {
        self.severity = severity;
        self
    }

    /// Records `key` as seen in `source`; `false` when it was seen before.
    fn first_time(&self, source: &SourceName, key: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get_mut(source) {
            Some(set) => {
                if set.contains(key) {
                    false
                } else {
                    set.insert(key.to_owned())
                }
            }
            None => {
                seen.insert(source.clone(), HashSet::from([key.to_owned()]));
                true
            }
        }
    }
}

impl Rule for Unique {
    fn check(&self, record: &Record, report: &mut Report) {
        let source = &record.id.source;
        match &self.field {
            None => {
                let key = record.id.key.to_string();
                if !self.first_time(source, &key) {
                    report.push(Finding::record(
                        codes::DUPLICATE_ID,
                        self.severity,
                        format!("another record of {source} has the same id"),
                    ));
                }
            }
            Some(field) => {
                let Some(value) = present(record, field) else {
                    return;
                };
                let Some(text) = as_text(value) else { return };
                if !self.first_time(source, &text) {
                    report.push(
                        Finding::new(
                            field.clone(),
                            codes::DUPLICATE_VALUE,
                            self.severity,
                            format!("another record of {source} has the same {}", label(field)),
                        )
                        .with_value(value),
                    );
                }
            }
        }
    }

    fn fields(&self) -> Vec<FieldName> {
        self.field.iter().cloned().collect()
    }

    fn reset(&self) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mergetag_model::RecordId;

    #[test]
    fn per_source_and_reset() {
        let u = Unique::field("user_id");
        let mut report = Report::new();
        for (source, id) in [("a", "1"), ("b", "1"), ("a", "2"), ("a", "1")] {
            let mut r = Record::new(RecordId::row(source, 1));
            r.set("user_id", id);
            u.check(&r, &mut report);
        }
        assert_eq!(report.len(), 1);
        u.reset();
        let mut r = Record::new(RecordId::row("a", 1));
        r.set("user_id", "1");
        u.check(&r, &mut report);
        assert_eq!(report.len(), 1);
    }
}
