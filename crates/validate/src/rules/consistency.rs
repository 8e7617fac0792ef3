//! [`AgeMatchesBirthDate`]: an age that agrees with the birth date.

use chrono::NaiveDate;
use mergetag_model::{FieldName, Record, fields};

use super::{as_date, as_number, present, years_between};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// A record's age must agree with its birth date, computed at the injected "today"
/// (`as_of`), within a tolerance in years (default 1, since an age is often captured a while
/// before the export). Code `age_mismatch`, reported on the age field.
///
/// A record missing either value, or with one that does not parse, is not judged: the type
/// rules report those.
///
/// ```
/// use chrono::NaiveDate;
/// use mergetag_validate::{Report, Rule, rules::AgeMatchesBirthDate};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("age", 25_i64);
/// r.set("birth_date", "1985-04-03");
/// let mut report = Report::new();
/// AgeMatchesBirthDate::new(today).check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "age_mismatch");
/// ```
#[derive(Debug, Clone)]
pub struct AgeMatchesBirthDate {
    age_field: FieldName,
    birth_date_field: FieldName,
    as_of: NaiveDate,
    tolerance: u32,
    severity: Severity,
}

impl AgeMatchesBirthDate {
    /// Compares the field `age` with [`fields::BIRTH_DATE`] as of `as_of`.
    pub fn new(as_of: NaiveDate) -> AgeMatchesBirthDate {
        AgeMatchesBirthDate {
            age_field: FieldName::new("age"),
            birth_date_field: FieldName::new(fields::BIRTH_DATE),
            as_of,
            tolerance: 1,
            severity: Severity::Error,
        }
    }

    /// Reads the age from this field instead of `age`.
    pub fn age_field(mut self, field: impl Into<FieldName>) -> Self {
        self.age_field = field.into();
        self
    }

    /// Reads the birth date from this field instead of `birth_date`.
    pub fn birth_date_field(mut self, field: impl Into<FieldName>) -> Self {
        self.birth_date_field = field.into();
        self
    }

    /// Accepts ages this many years away from the computed one (default 1).
    pub fn tolerance(mut self, years: u32) -> Self {
        self.tolerance = years;
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

impl Rule for AgeMatchesBirthDate {
    fn check(&self, record: &Record, report: &mut Report) {
        let (Some(age_value), Some(born)) = (
            present(record, &self.age_field),
            present(record, &self.birth_date_field),
        ) else {
            return;
        };
        let (Some(age), Some(born)) = (as_number(age_value), as_date(born)) else {
            return;
        };
        let Some(computed) = years_between(born, self.as_of) else {
            return; // born after as_of: the date rules report it
        };
        if (age - computed as f64).abs() > f64::from(self.tolerance) {
            let message = format!(
                "{} does not agree with {}",
                label(&self.age_field),
                label(&self.birth_date_field)
            );
            report.push(
                Finding::new(
                    self.age_field.clone(),
                    codes::AGE_MISMATCH,
                    self.severity,
                    message,
                )
                .with_value(age_value),
            );
        }
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.age_field.clone(), self.birth_date_field.clone()]
    }
}
