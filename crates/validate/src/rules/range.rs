//! [`Range`]: a number between bounds.

use mergetag_model::{FieldName, Record};

use super::{as_number, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// The value must be a number between bounds, both inclusive and each optional. Ints, floats
/// and text of a number are read; anything else is `invalid_number`, a number outside the
/// bounds `out_of_range`.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::Range};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let age = Range::new("age").min(13.0).max(120.0);
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("age", 7_i64);
/// let mut report = Report::new();
/// age.check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "out_of_range");
/// assert_eq!(report.findings()[0].message, "age must be between 13 and 120");
/// ```
#[derive(Debug, Clone)]
pub struct Range {
    field: FieldName,
    min: Option<f64>,
    max: Option<f64>,
    severity: Severity,
}

impl Range {
    /// A range without bounds yet on `field`; set them with [`Range::min`] and [`Range::max`].
    pub fn new(field: impl Into<FieldName>) -> Range {
        Range {
            field: field.into(),
            min: None,
            max: None,
            severity: Severity::Error,
        }
    }

    /// The smallest allowed value.
    pub fn min(mut self, min: f64) -> Range {
        self.min = Some(min);
        self
    }

    /// The largest allowed value.
    pub fn max(mut self, max: f64) -> Range {
        self.max = Some(max);
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> Range {
        self.severity = severity;
        self
    }

    fn describe(&self) -> String {
        let l = label(&self.field);
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!("{l} must be between {a} and {b}"),
            (Some(a), None) => format!("{l} must be at least {a}"),
            (None, Some(b)) => format!("{l} must be at most {b}"),
            (None, None) => format!("{l} must be a number"),
        }
    }
}

impl Rule for Range {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            let (code, message) = match as_number(v) {
                None => (
                    codes::INVALID_NUMBER,
                    format!("{} must be a number", label(&self.field)),
                ),
                Some(n) if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) => {
                    (codes::OUT_OF_RANGE, self.describe())
                }
                Some(_) => return,
            };
            report
                .push(Finding::new(self.field.clone(), code, self.severity, message).with_value(v));
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}
