//! [`ParsesAs`]: the value must be of a type, or text that parses as it.

use mergetag_model::fields::ValueKind;
use mergetag_model::{FieldName, Record, Value};

use super::{as_date, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// The value must be of a type: typed values pass, and so does text that parses as the type.
///
/// | kind | accepts | code |
/// |---|---|---|
/// | `int` | ints, floats without a fraction, text like `42` or `-7` | `invalid_int` |
/// | `float` | ints, floats, text of a finite number (`12.5`, `1e3`) | `invalid_float` |
/// | `bool` | booleans, `0`/`1`, text `true`/`false`/`yes`/`no`/`y`/`n`/`t`/`f`/`1`/`0` in any case | `invalid_bool` |
/// | `date` | dates, datetimes, ISO 8601 text `YYYY-MM-DD` or RFC 3339 | `invalid_date` |
/// | `datetime` | datetimes, RFC 3339 text | `invalid_datetime` |
/// | `text` | text | `invalid_text` |
///
/// Other date formats (`04/03/1985`) are refused with a hint: converting them is the normalize
/// stage's job, which knows each source's conventions.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::ParsesAs};
/// use mergetag_validate::model::{fields::ValueKind, Record, RecordId};
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("birth_date", "04/03/1985");
/// let mut report = Report::new();
/// ParsesAs::new("birth_date", ValueKind::Date).check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "invalid_date");
/// ```
#[derive(Debug, Clone)]
pub struct ParsesAs {
    field: FieldName,
    kind: ValueKind,
    severity: Severity,
}

impl ParsesAs {
    /// `field` must be a `kind`.
    pub fn new(field: impl Into<FieldName>, kind: ValueKind) -> ParsesAs {
        ParsesAs {
            field: field.into(),
            kind,
            severity: Severity::Error,
        }
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> ParsesAs {
        self.severity = severity;
        self
    }
}

/// Whether `value` is (or parses as) `kind`, and the code and message when not.
pub(crate) fn type_problem(
    field: &(impl AsRef<str> + ?Sized),
    value: &Value,
    kind: ValueKind,
) -> Option<(&'static str, String)> {
    let l = label(field);
    let (ok, code, message) = match kind {
        ValueKind::Int => (
            match value {
                Value::Int(_) => true,
                Value::Float(f) => f.fract() == 0.0 && f.abs() < 9.0e15,
                Value::Text(s) => s.trim().parse::<i64>().is_ok(),
                _ => false,
            },
            codes::INVALID_INT,
            format!("{l} must be a whole number"),
        ),
        ValueKind::Float => (
            super::as_number(value).is_some(),
            codes::INVALID_FLOAT,
            format!("{l} must be a number"),
        ),
        ValueKind::Bool => (
            match value {
                Value::Bool(_) => true,
                Value::Int(i) => *i == 0 || *i == 1,
                Value::Text(s) => parse_bool(s.trim()).is_some(),
                _ => false,
            },
            codes::INVALID_BOOL,
            format!("{l} must be yes or no (true/false)"),
        ),
        ValueKind::Date => (
            as_date(value).is_some(),
            codes::INVALID_DATE,
            format!(
                "{l} is not an ISO 8601 date (YYYY-MM-DD); convert dates in other formats with \
                 the normalize stage first"
            ),
        ),
        ValueKind::DateTime => (
            match value {
                Value::DateTime(_) => true,
                Value::Text(s) => chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok(),
                _ => false,
            },
            codes::INVALID_DATETIME,
            format!(
                "{l} is not an RFC 3339 date and time (2024-03-01T14:22:05Z); convert other \
                 formats with the normalize stage first"
            ),
        ),
        // Text, and any kind added to the model later: text is the loosest type.
        _ => (
            matches!(value, Value::Text(_)),
            codes::INVALID_TEXT,
            format!("{l} must be text"),
        ),
    };
    (!ok).then_some((code, message))
}

/// The booleans customer data spells.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["true", "yes", "y", "t", "1"];
    const FALSE: [&str; 5] = ["false", "no", "n", "f", "0"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if FALSE.iter().any(|t| t.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

impl Rule for ParsesAs {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            if let Some((code, message)) = type_problem(&self.field, v, self.kind) {
                report.push(
                    Finding::new(self.field.clone(), code, self.severity, message).with_value(v),
                );
            }
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let ok = |v: Value, k| type_problem("x", &v, k).is_none();
        assert!(ok(Value::from("42"), ValueKind::Int));
        assert!(ok(Value::Float(42.0), ValueKind::Int));
        assert!(!ok(Value::Float(42.5), ValueKind::Int));
        assert!(!ok(Value::from("4 2"), ValueKind::Int));
        assert!(ok(Value::from("1e3"), ValueKind::Float));
        assert!(!ok(Value::from("inf"), ValueKind::Float));
        assert!(ok(Value::from("Yes"), ValueKind::Bool));
        assert!(!ok(Value::Int(2), ValueKind::Bool));
        assert!(ok(Value::from("2024-02-29"), ValueKind::Date));
        assert!(!ok(Value::from("2023-02-29"), ValueKind::Date));
        assert!(ok(
            Value::from("2024-02-29T10:00:00+01:00"),
            ValueKind::DateTime
        ));
        assert!(!ok(Value::from("2024-02-29"), ValueKind::DateTime));
        assert!(!ok(Value::Int(1), ValueKind::Text));
    }
}
