//! [`Length`]: text length in characters.

use mergetag_model::{FieldName, Record};

use super::{as_text, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// Text must have between `min` and `max` characters (Unicode scalar values, after trimming),
/// each bound optional and inclusive. Codes `too_short` and `too_long`.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::Length};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("first_name", "Ada".repeat(30));
/// let mut report = Report::new();
/// Length::new("first_name").max(50).check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "too_long");
/// ```
#[derive(Debug, Clone)]
pub struct Length {
    field: FieldName,
    min: Option<usize>,
    max: Option<usize>,
    severity: Severity,
}

impl Length {
    /// No bounds yet on `field`; set them with [`Length::min`] and [`Length::max`].
    pub fn new(field: impl Into<FieldName>) -> Length {
        Length {
            field: field.into(),
            min: None,
            max: None,
            severity: Severity::Error,
        }
    }

    /// The fewest characters allowed.
    pub fn min(mut self, min: usize) -> Length {
        self.min = Some(min);
        self
    }

    /// The most characters allowed.
    pub fn max(mut self, max: usize) -> Length {
        self.max = Some(max);
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> Length {
        self.severity = severity;
        self
    }
}

impl Rule for Length {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            let Some(text) = as_text(v) else { return };
            // Counting stops one past the maximum: a 1 MB value costs no more than a short one.
            let limit = self.max.map_or(usize::MAX, |m| m.saturating_add(1));
            let n = text.chars().take(limit).count();
            let l = label(&self.field);
            let (code, message) = match (self.min, self.max) {
                (Some(min), _) if n < min => (
                    codes::TOO_SHORT,
                    format!("{l} must have at least {min} characters"),
                ),
                (_, Some(max)) if n > max => (
                    codes::TOO_LONG,
                    format!("{l} must have at most {max} characters"),
                ),
                _ => return,
            };
            report
                .push(Finding::new(self.field.clone(), code, self.severity, message).with_value(v));
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}
