//! [`Pattern`]: text must match a regular expression.

use std::borrow::Cow;

use mergetag_model::{FieldName, Record};
use regex::Regex;

use super::{as_text, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// The whole value (trimmed) must match a regular expression (the [`regex`] crate's syntax;
/// the pattern is anchored at both ends for you). Code `pattern_mismatch` unless
/// [`with_code`](Pattern::with_code) names another; the message says what is expected in the
/// words given to [`with_message`](Pattern::with_message).
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::Pattern};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let store = Pattern::new("store_code", r"ST-\d{4}")?
///     .with_message("store code must look like ST-1234");
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("store_code", "ST-12345");
/// let mut report = Report::new();
/// store.check(&r, &mut report);
/// assert_eq!(report.findings()[0].message, "store code must look like ST-1234");
/// # Ok::<(), regex::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pattern {
    field: FieldName,
    regex: Regex,
    code: Cow<'static, str>,
    message: Option<String>,
    severity: Severity,
}

impl Pattern {
    /// `field` must match `pattern` in whole.
    ///
    /// # Errors
    ///
    /// The regex crate's error when the pattern does not compile or is too big.
    pub fn new(field: impl Into<FieldName>, pattern: &str) -> Result<Pattern, regex::Error> {
        let regex = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()?;
        Ok(Pattern {
            field: field.into(),
            regex,
            code: Cow::Borrowed(codes::PATTERN_MISMATCH),
            message: None,
            severity: Severity::Error,
        })
    }

    /// Reports mismatches with this code instead of `pattern_mismatch`.
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Pattern {
        self.code = code.into();
        self
    }

    /// Says what is expected, in words a marketer understands.
    pub fn with_message(mut self, message: impl Into<String>) -> Pattern {
        self.message = Some(message.into());
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> Pattern {
        self.severity = severity;
        self
    }
}

impl Rule for Pattern {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            if as_text(v).is_some_and(|t| self.regex.is_match(&t)) {
                return;
            }
            let message = self
                .message
                .clone()
                .unwrap_or_else(|| format!("{} is not in the expected format", label(&self.field)));
            report.push(
                Finding::new(
                    self.field.clone(),
                    self.code.clone(),
                    self.severity,
                    message,
                )
                .with_value(v),
            );
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}
