//! [`OneOf`]: one of a set of values.

use std::collections::HashSet;

use mergetag_model::{FieldName, Record};

use super::{as_text, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// How many allowed values a message lists before "and N more".
const LISTED: usize = 8;

/// The value must be one of a set, compared as text (trimmed), optionally ignoring case. Code
/// `not_allowed`; the message lists the allowed values.
///
/// ```
/// use mergetag_validate::{Report, Rule, rules::OneOf};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let tiers = OneOf::new("loyalty_tier", ["gold", "silver", "bronze"]).ignore_case(true);
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("loyalty_tier", "Platinum");
/// let mut report = Report::new();
/// tiers.check(&r, &mut report);
/// assert_eq!(report.findings()[0].message, "loyalty tier must be one of: bronze, gold, silver");
/// ```
#[derive(Debug, Clone)]
pub struct OneOf {
    field: FieldName,
    values: HashSet<String>,
    ignore_case: bool,
    /// The allowed values in sorted order, for messages.
    listed: String,
    severity: Severity,
}

impl OneOf {
    /// `field` must be one of `values`.
    pub fn new<I, S>(field: impl Into<FieldName>, values: I) -> OneOf
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: HashSet<String> = values.into_iter().map(Into::into).collect();
        let mut sorted: Vec<&str> = values.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        let mut listed = sorted
            .iter()
            .take(LISTED)
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        if sorted.len() > LISTED {
            listed.push_str(&format!(" and {} more", sorted.len() - LISTED));
        }
        OneOf {
            field: field.into(),
            values,
            ignore_case: false,
            listed,
            severity: Severity::Error,
        }
    }

    /// Compares without regard to case (Unicode lower case).
    pub fn ignore_case(mut self, yes: bool) -> OneOf {
        if yes && !self.ignore_case {
            self.values = self.values.iter().map(|v| v.to_lowercase()).collect();
        }
        self.ignore_case = yes;
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> OneOf {
        self.severity = severity;
        self
    }

    fn allows(&self, text: &str) -> bool {
        if self.ignore_case && text.chars().any(char::is_uppercase) {
            self.values.contains(&text.to_lowercase())
        } else {
            self.values.contains(text)
        }
    }
}

impl Rule for OneOf {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            if as_text(v).is_some_and(|t| self.allows(&t)) {
                return;
            }
            let message = format!("{} must be one of: {}", label(&self.field), self.listed);
            report.push(
                Finding::new(
                    self.field.clone(),
                    codes::NOT_ALLOWED,
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
