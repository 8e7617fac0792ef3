//! The [`Rule`] trait that every check implements.

use std::fmt;
use std::sync::Arc;

use mergetag_model::{FieldName, Record};

use crate::Report;

/// A check of one record that adds every problem it finds to a [`Report`].
///
/// One required method, [`Rule::check`]; the others have defaults. A rule never stops at the
/// first problem and never returns an error: what it finds is data. Rules are shared between
/// threads (`Send + Sync`) and usable as `dyn Rule`; `&R`, `Box<R>` and `Arc<R>` are rules
/// when `R` is.
///
/// Most rules skip a field that is missing (absent, null, blank): whether a field must be
/// present is the job of [`rules::Required`](crate::rules::Required) alone, so that an absent
/// optional field is not an error.
///
/// ```
/// use mergetag_validate::{Finding, Report, Rule, Severity};
/// use mergetag_validate::model::{Record, RecordId};
///
/// /// Customers must have opted in before 2018 or have a consent field.
/// struct NeedsConsent;
///
/// impl Rule for NeedsConsent {
///     fn check(&self, record: &Record, report: &mut Report) {
///         if !record.contains("email_consent") {
///             report.push(Finding::new("email_consent", "consent_missing", Severity::Error,
///                 "there is no record of marketing consent"));
///         }
///     }
/// }
///
/// let mut report = Report::new();
/// NeedsConsent.check(&Record::new(RecordId::row("crm", 1)), &mut report);
/// assert!(report.contains("consent_missing"));
/// ```
pub trait Rule: Send + Sync {
    /// Checks `record`, adding a finding to `report` for each problem.
    fn check(&self, record: &Record, report: &mut Report);

    /// The fields this rule reads, so that the audit lists them even when no record has them.
    /// The default is none.
    fn fields(&self) -> Vec<FieldName> {
        Vec::new()
    }

    /// Forgets what the rule remembered during a run (the ids a uniqueness rule has seen). The
    /// default does nothing.
    fn reset(&self) {}
}

impl<R: Rule + ?Sized> Rule for &R {
    fn check(&self, record: &Record, report: &mut Report) {
        (**self).check(record, report);
    }
    fn fields(&self) -> Vec<FieldName> {
        (**self).fields()
    }
    fn reset(&self) {
        (**self).reset();
    }
}

impl<R: Rule + ?Sized> Rule for Box<R> {
    fn check(&self, record: &Record, report: &mut Report) {
        (**self).check(record, report);
    }
    fn fields(&self) -> Vec<FieldName> {
        (**self).fields()
    }
    fn reset(&self) {
        (**self).reset();
    }
}

impl<R: Rule + ?Sized> Rule for Arc<R> {
    fn check(&self, record: &Record, report: &mut Report) {
        (**self).check(record, report);
    }
    fn fields(&self) -> Vec<FieldName> {
        (**self).fields()
    }
    fn reset(&self) {
        (**self).reset();
    }
}

/// A rule from a closure; see [`from_fn`].
#[derive(Clone)]
pub struct FnRule<F> {
    f: F,
    fields: Vec<FieldName>,
}

impl<F> FnRule<F> {
    /// Names the fields the closure reads, for the audit.
    pub fn with_fields<I, N>(mut self, fields: I) -> FnRule<F>
    where
        I: IntoIterator<Item = N>,
        N: Into<FieldName>,
    {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }
}

impl<F> fmt::Debug for FnRule<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnRule")
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

impl<F> Rule for FnRule<F>
where
    F: Fn(&Record, &mut Report) + Send + Sync,
{
    fn check(&self, record: &Record, report: &mut Report) {
        (self.f)(record, report);
    }
    fn fields(&self) -> Vec<FieldName> {
        self.fields.clone()
    }
}

/// A rule from a closure.
///
/// ```
/// use mergetag_validate::{from_fn, Finding, Report, Rule, Severity};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let vip_needs_phone = from_fn(|r: &Record, report: &mut Report| {
///     if r.text("loyalty_tier") == Some("platinum") && !r.contains("phone") {
///         report.push(Finding::new("phone", "vip_without_phone", Severity::Warning,
///             "platinum customers should have a phone number"));
///     }
/// })
/// .with_fields(["loyalty_tier", "phone"]);
///
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("loyalty_tier", "platinum");
/// let mut report = Report::new();
/// vip_needs_phone.check(&r, &mut report);
/// assert_eq!(report.len(), 1);
/// ```
pub fn from_fn<F>(f: F) -> FnRule<F>
where
    F: Fn(&Record, &mut Report) + Send + Sync,
{
    FnRule {
        f,
        fields: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, Severity};
    use mergetag_model::RecordId;

    struct Always;
    impl Rule for Always {
        fn check(&self, _: &Record, report: &mut Report) {
            report.push(Finding::record("always", Severity::Info, "always"));
        }
    }

    #[test]
    fn forwarding_and_dyn() {
        let r = Record::new(RecordId::row("s", 1));
        let mut report = Report::new();
        let rules: Vec<Box<dyn Rule>> = vec![
            Box::new(Always),
            Box::new(&Always),
            Box::new(Arc::new(Always)),
            Box::new(Box::new(Always)),
            Box::new(from_fn(|_: &Record, _: &mut Report| {})),
        ];
        for rule in &rules {
            rule.check(&r, &mut report);
            rule.reset();
            assert!(rule.fields().is_empty());
        }
        assert_eq!(report.len(), 4);
    }
}
