//! Findings and the report that collects them for one record.

use std::borrow::Cow;
use std::fmt;

use mergetag_model::{FieldName, Value, fields, redact};
use serde::{Deserialize, Serialize};

/// How serious a finding is.
///
/// Ordered `Info < Warning < Error`. A record with an error goes to quarantine; warnings and
/// infos keep it, flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing, nothing to fix (an address that needs SMTPUTF8).
    Info,
    /// Accepted but worth a look (a disposable domain, a role account, a likely typo).
    Warning,
    /// Not usable as it is: the record goes to quarantine.
    Error,
}

impl Severity {
    /// `"info"`, `"warning"` or `"error"`, as in the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a record: where, what (a stable code), how serious, in words, and the
/// offending value redacted.
///
/// ```
/// use mergetag_validate::{Finding, Severity};
/// use mergetag_validate::model::Value;
///
/// let f = Finding::new("email", "invalid_email.leading_dot", Severity::Error,
///         "email address: the part before the @ starts with a dot")
///     .with_value(&Value::from(".jane@example.com"));
/// assert_eq!(f.value.as_deref(), Some(".***@example.com"));
/// assert_eq!(f.to_string(),
///     "error invalid_email.leading_dot in `email`: email address: the part before the @ starts with a dot");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// The field at fault, or `None` for the record as a whole (a duplicate id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldName>,
    /// The stable machine code (see [`codes`](crate::codes)).
    pub code: Cow<'static, str>,
    /// How serious it is.
    pub severity: Severity,
    /// What is wrong, in words a marketer understands; never the value itself.
    pub message: String,
    /// The offending value, redacted (see [`redact_value`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Finding {
    /// A finding about `field`.
    pub fn new(
        field: impl Into<FieldName>,
        code: impl Into<Cow<'static, str>>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            field: Some(field.into()),
            code: code.into(),
            severity,
            message: message.into(),
            value: None,
        }
    }

    /// A finding about the record as a whole.
    pub fn record(
        code: impl Into<Cow<'static, str>>,
        severity: Severity,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            field: None,
            code: code.into(),
            severity,
            message: message.into(),
            value: None,
        }
    }

    /// Attaches the offending value, redacted for the finding's field.
    pub fn with_value(mut self, value: &Value) -> Finding {
        let field = self.field.as_ref().map_or("", FieldName::as_str);
        self.value = Some(redact_value(field, value));
        self
    }
}

impl fmt::Display for Finding {
    /// `error invalid_email.leading_dot in `email`: <message>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(field) = &self.field {
            write!(f, " in `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every finding about one record, in the order the rules found them.
///
/// A report is data: rules add to it and never stop at the first problem. Reuse one report
/// across records with [`Report::clear`].
///
/// ```
/// use mergetag_validate::{Finding, Report, Severity};
///
/// let mut report = Report::new();
/// report.push(Finding::new("age", "out_of_range", Severity::Error, "age must be between 13 and 120"));
/// report.push(Finding::new("email", "role_account", Severity::Warning, "a role account"));
/// assert!(report.has_errors());
/// assert_eq!(report.severity(), Some(Severity::Error));
/// assert_eq!(report.count(Severity::Warning), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Report {
    findings: Vec<Finding>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Report {
        Report::default()
    }

    /// Adds a finding.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    /// Removes every finding, keeping the buffer.
    pub fn clear(&mut self) {
        self.findings.clear();
    }

    /// Whether there is no finding at all.
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The number of findings.
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    /// The findings, in order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The findings, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Finding> {
        self.findings.iter()
    }

    /// Takes the findings out, leaving the report empty.
    pub fn take(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }

    /// The highest severity, or `None` when there is no finding.
    pub fn severity(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether any finding is an [`Severity::Error`], which sends the record to quarantine.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The number of findings of this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether some finding has this code.
    pub fn contains(&self, code: &str) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }
}

impl<'a> IntoIterator for &'a Report {
    type Item = &'a Finding;
    type IntoIter = std::slice::Iter<'a, Finding>;
    fn into_iter(self) -> Self::IntoIter {
        self.findings.iter()
    }
}

impl Extend<Finding> for Report {
    fn extend<T: IntoIterator<Item = Finding>>(&mut self, iter: T) {
        self.findings.extend(iter);
    }
}

impl From<Vec<Finding>> for Report {
    fn from(findings: Vec<Finding>) -> Self {
        Report { findings }
    }
}

impl fmt::Display for Report {
    /// One finding a line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, finding) in self.findings.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{finding}")?;
        }
        Ok(())
    }
}

/// The longest value shown unredacted, in characters.
const MAX_SHOWN: usize = 40;

/// A value as a finding shows it: enough to recognise, never the whole of a personal value.
///
/// - fields named like an email (`email`, `work_email`) or text with an `@`:
///   [`redact::email`] (`j***@example.com`);
/// - fields named like a phone (`phone`, `mobile_phone`, `fax`): [`redact::phone`]
///   (`+1 ***-***-0123`);
/// - canonical fields that are not personal (`country`, `postal_code`, `loyalty_tier`):
///   as they are, cut at 40 characters;
/// - numbers and booleans of other fields: as they are;
/// - any other text, date or list: [`redact::text`] (`J***`).
///
/// ```
/// use mergetag_validate::redact_value;
/// use mergetag_validate::model::Value;
///
/// assert_eq!(redact_value("email", &"jane@example.com".into()), "j***@example.com");
/// assert_eq!(redact_value("phone", &"+1 312-555-0123".into()), "+1 ***-***-0123");
/// assert_eq!(redact_value("country", &"USA".into()), "USA");
/// assert_eq!(redact_value("first_name", &"Jane".into()), "J***");
/// assert_eq!(redact_value("age", &Value::Int(7)), "7");
/// ```
pub fn redact_value(field: &str, value: &Value) -> String {
    let text = match value {
        Value::Null => return String::new(),
        Value::Bool(b) => return b.to_string(),
        Value::Int(_) | Value::Float(_) if !is_personal_name(field) => return value.to_string(),
        Value::Text(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    };
    if field.contains("email") || (text.contains('@') && !field.contains("phone")) {
        redact::email(&text)
    } else if field.contains("phone") || field.contains("fax") || field == "mobile" {
        redact::phone(&text)
    } else if fields::spec(field).is_some_and(|s| !s.personal) {
        let mut shown: String = text.chars().take(MAX_SHOWN).collect();
        if text.chars().nth(MAX_SHOWN).is_some() {
            shown.push('…');
        }
        shown
    } else {
        redact::text(&text)
    }
}

/// Whether a field holds personal data even as a number (ids).
fn is_personal_name(field: &str) -> bool {
    fields::spec(field).is_some_and(|s| s.personal)
}

/// A field's name as a marketer reads it: `birth_date` → `birth date`, `email` → `email
/// address`.
pub(crate) fn label(field: &(impl AsRef<str> + ?Sized)) -> Cow<'_, str> {
    let field = field.as_ref();
    match field {
        fields::EMAIL => Cow::Borrowed("email address"),
        fields::PHONE => Cow::Borrowed("phone number"),
        fields::MOBILE_PHONE => Cow::Borrowed("mobile phone number"),
        fields::BIRTH_DATE => Cow::Borrowed("birth date"),
        fields::COUNTRY => Cow::Borrowed("country"),
        fields::REGION => Cow::Borrowed("state or region"),
        fields::USER_ID => Cow::Borrowed("user id"),
        _ if field.contains('_') => Cow::Owned(field.replace('_', " ")),
        _ => Cow::Borrowed(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_serialize() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
        assert_eq!(
            serde_json::to_string(&Severity::Warning).unwrap(),
            "\"warning\""
        );
    }

    #[test]
    fn redaction_by_field() {
        assert_eq!(
            redact_value("work_email", &"bob@x.org".into()),
            "b***@x.org"
        );
        assert_eq!(
            redact_value("notes", &"call bob@x.org".into()),
            "c***@x.org"
        );
        assert_eq!(
            redact_value("fax", &"+44 20 7946 0958".into()),
            "+44 ** **** 0958"
        );
        assert_eq!(redact_value("user_id", &Value::Int(12345)), "1***");
        assert_eq!(
            redact_value(
                "birth_date",
                &Value::Date(chrono::NaiveDate::from_ymd_opt(1985, 4, 3).unwrap())
            ),
            "1***"
        );
        assert_eq!(redact_value("postal_code", &"SW1A 1AA".into()), "SW1A 1AA");
        assert_eq!(
            redact_value("loyalty_tier", &"x".repeat(50).as_str().into())
                .chars()
                .count(),
            41
        );
        assert_eq!(redact_value("x", &Value::Null), "");
    }

    #[test]
    fn findings_serialize_without_empty_parts() {
        let f = Finding::record("duplicate_id", Severity::Error, "seen before");
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"code":"duplicate_id","severity":"error","message":"seen before"}"#
        );
        assert_eq!(serde_json::from_str::<Finding>(&json).unwrap(), f);
        assert_eq!(label("postal_code"), "postal code");
        assert_eq!(label("email"), "email address");
    }
}
