//! [`Required`]: the field must be present and not blank.

use mergetag_model::{FieldName, Record};

use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// The field must be present and not missing: absent, null, blank text and empty lists all
/// count as missing. Code `required`.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::Required};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("email", "  ");
/// let mut report = Report::new();
/// Required::new("email").check(&r, &mut report);
/// assert_eq!(report.findings()[0].message, "email address is required but missing");
/// ```
#[derive(Debug, Clone)]
pub struct Required {
    field: FieldName,
    severity: Severity,
}

impl Required {
    /// `field` is required; a missing value is an error.
    pub fn new(field: impl Into<FieldName>) -> Required {
        Required {
            field: field.into(),
            severity: Severity::Error,
        }
    }

    /// Reports a missing value with this severity instead.
    pub fn with_severity(mut self, severity: Severity) -> Required {
        self.severity = severity;
        self
    }
}

impl Rule for Required {
    fn check(&self, record: &Record, report: &mut Report) {
        if record
            .get(self.field.as_str())
            .is_none_or(|v| v.is_missing())
        {
            report.push(Finding::new(
                self.field.clone(),
                codes::REQUIRED,
                self.severity,
                format!("{} is required but missing", label(&self.field)),
            ));
        }
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}
