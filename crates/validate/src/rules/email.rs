//! [`EmailAddress`]: the email validator as a rule.

use mergetag_model::{FieldName, Record};

use super::{as_text, each_item, present};
use crate::email::{EmailWarning, warnings_into};
use crate::report::label;
use crate::{EmailValidator, Finding, Report, Rule, Severity, codes};

/// The value must be a valid email address, by the [`EmailValidator`] it holds (see the
/// [email module](crate::email)). An invalid address is an error with the validator's code
/// (`invalid_email.leading_dot`, ...) and reason; a valid one may add warnings:
///
/// | code | default |
/// |---|---|
/// | `disposable_domain` | warning |
/// | `role_account` | warning |
/// | `domain_typo` (the message says "did you mean ...?") | warning |
/// | `needs_smtputf8` | info |
///
/// Each can be given another severity or turned off (`None`).
///
/// ```
/// use mergetag_validate::{EmailValidator, Report, Rule, Severity, rules::EmailAddress};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let rule = EmailAddress::new("email").role_account(None);
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("email", "jane..doe@example.com");
/// let mut report = Report::new();
/// rule.check(&r, &mut report);
/// let f = &report.findings()[0];
/// assert_eq!(f.code, "invalid_email.consecutive_dots");
/// assert_eq!(f.message, "email address: the part before the @ has two dots in a row");
/// assert_eq!(f.value.as_deref(), Some("j***@example.com"));
///
/// report.clear();
/// r.set("email", "jane@gmial.com");
/// rule.check(&r, &mut report);
/// assert_eq!(report.severity(), Some(Severity::Warning));
/// assert!(report.contains("domain_typo") && report.contains("disposable_domain"));
/// ```
#[derive(Debug, Clone)]
pub struct EmailAddress {
    field: FieldName,
    validator: EmailValidator,
    severity: Severity,
    disposable: Option<Severity>,
    role: Option<Severity>,
    typo: Option<Severity>,
    smtputf8: Option<Severity>,
}

impl EmailAddress {
    /// `field` must be a valid address by the default [`EmailValidator`].
    pub fn new(field: impl Into<FieldName>) -> EmailAddress {
        EmailAddress {
            field: field.into(),
            validator: EmailValidator::new(),
            severity: Severity::Error,
            disposable: Some(Severity::Warning),
            role: Some(Severity::Warning),
            typo: Some(Severity::Warning),
            smtputf8: Some(Severity::Info),
        }
    }

    /// Validates with this validator (other options) instead.
    pub fn validator(mut self, validator: EmailValidator) -> EmailAddress {
        self.validator = validator;
        self
    }

    /// Reports invalid addresses with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> EmailAddress {
        self.severity = severity;
        self
    }

    /// The severity of `disposable_domain`, or `None` to not report it.
    pub fn disposable_domain(mut self, severity: Option<Severity>) -> EmailAddress {
        self.disposable = severity;
        self
    }

    /// The severity of `role_account`, or `None` to not report it.
    pub fn role_account(mut self, severity: Option<Severity>) -> EmailAddress {
        self.role = severity;
        self
    }

    /// The severity of `domain_typo`, or `None` to not report it.
    pub fn domain_typo(mut self, severity: Option<Severity>) -> EmailAddress {
        self.typo = severity;
        self
    }

    /// The severity of `needs_smtputf8`, or `None` to not report it.
    pub fn needs_smtputf8(mut self, severity: Option<Severity>) -> EmailAddress {
        self.smtputf8 = severity;
        self
    }

    fn check_one(&self, text: &str, report: &mut Report, value: &mergetag_model::Value) {
        let l = label(&self.field);
        let parsed = match self.validator.parse(text) {
            Ok(p) => p,
            Err(e) => {
                report.push(
                    Finding::new(
                        self.field.clone(),
                        e.code(),
                        self.severity,
                        format!("{l}: {e}"),
                    )
                    .with_value(value),
                );
                return;
            }
        };
        if parsed.smtputf8
            && let Some(s) = self.smtputf8
        {
            report.push(
                Finding::new(
                    self.field.clone(),
                    codes::NEEDS_SMTPUTF8,
                    s,
                    format!("{l} has non-ASCII characters before the @; sending needs SMTPUTF8"),
                )
                .with_value(value),
            );
        }
        if self.disposable.is_none() && self.role.is_none() && self.typo.is_none() {
            return;
        }
        let mut warnings = Vec::new();
        warnings_into(&parsed, &mut warnings);
        for w in warnings {
            let severity = match w {
                EmailWarning::DisposableDomain { .. } => self.disposable,
                EmailWarning::RoleAccount { .. } => self.role,
                EmailWarning::DomainTypo { .. } => self.typo,
            };
            if let Some(s) = severity {
                report.push(
                    Finding::new(self.field.clone(), w.code(), s, format!("{l}: {w}"))
                        .with_value(value),
                );
            }
        }
    }
}

impl Rule for EmailAddress {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| match as_text(v) {
            Some(t) => self.check_one(&t, report, v),
            None => report.push(
                Finding::new(
                    self.field.clone(),
                    codes::INVALID_TEXT,
                    self.severity,
                    format!("{} must be text", label(&self.field)),
                )
                .with_value(v),
            ),
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}
