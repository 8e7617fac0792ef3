//! [`DateBounds`]: a date not in the future, not too early, within the last N days.

use chrono::{Days, NaiveDate};
use mergetag_model::{FieldName, Record, fields};

use super::{as_date, each_item, present};
use crate::report::label;
use crate::{Finding, Report, Rule, Severity, codes};

/// A date must lie within bounds, judged against an injected "today" (`as_of`) so that results
/// do not change with the clock:
///
/// - [`not_future`](DateBounds::not_future): not after `as_of` (`date_in_future`);
/// - [`min`](DateBounds::min) / [`max`](DateBounds::max): not before / after a date
///   (`date_too_early`, `date_too_late`);
/// - [`within_days`](DateBounds::within_days): not more than N days before `as_of`
///   (`date_too_old`).
///
/// Dates, datetimes (their UTC date) and ISO 8601 text are read; anything else is
/// `invalid_date`, with a hint to normalize first.
///
/// ```
/// use chrono::NaiveDate;
/// use mergetag_validate::{Report, Rule, rules::DateBounds};
/// use mergetag_validate::model::{Record, RecordId};
///
/// let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
/// let rule = DateBounds::birth_date(today);
/// let mut r = Record::new(RecordId::row("crm", 1));
/// r.set("birth_date", NaiveDate::from_ymd_opt(2030, 1, 1).unwrap());
/// let mut report = Report::new();
/// rule.check(&r, &mut report);
/// assert_eq!(report.findings()[0].code, "date_in_future");
/// ```
#[derive(Debug, Clone)]
pub struct DateBounds {
    field: FieldName,
    as_of: NaiveDate,
    not_future: bool,
    min: Option<NaiveDate>,
    max: Option<NaiveDate>,
    within_days: Option<u32>,
    severity: Severity,
}

impl DateBounds {
    /// No bounds yet on `field`, with `as_of` as today.
    pub fn new(field: impl Into<FieldName>, as_of: NaiveDate) -> DateBounds {
        DateBounds {
            field: field.into(),
            as_of,
            not_future: false,
            min: None,
            max: None,
            within_days: None,
            severity: Severity::Error,
        }
    }

    /// The usual birth-date check on [`fields::BIRTH_DATE`]: not in the future, not before
    /// 1900-01-01.
    pub fn birth_date(as_of: NaiveDate) -> DateBounds {
        DateBounds::new(fields::BIRTH_DATE, as_of)
            .not_future()
            .min(NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date"))
    }

    /// Refuses dates after `as_of`.
    pub fn not_future(mut self) -> DateBounds {
        self.not_future = true;
        self
    }

    /// The earliest allowed date.
    pub fn min(mut self, min: NaiveDate) -> DateBounds {
        self.min = Some(min);
        self
    }

    /// The latest allowed date.
    pub fn max(mut self, max: NaiveDate) -> DateBounds {
        self.max = Some(max);
        self
    }

    /// Refuses dates more than `days` days before `as_of`.
    pub fn within_days(mut self, days: u32) -> DateBounds {
        self.within_days = Some(days);
        self
    }

    /// Reports with this severity instead of error.
    pub fn with_severity(mut self, severity: Severity) -> DateBounds {
        self.severity = severity;
        self
    }

    fn problem(&self, date: NaiveDate) -> Option<(&'static str, String)> {
        let l = label(&self.field);
        if self.not_future && date > self.as_of {
            return Some((codes::DATE_IN_FUTURE, format!("{l} is in the future")));
        }
        if let Some(min) = self.min
            && date < min
        {
            return Some((codes::DATE_TOO_EARLY, format!("{l} is before {min}")));
        }
        if let Some(max) = self.max
            && date > max
        {
            return Some((codes::DATE_TOO_LATE, format!("{l} is after {max}")));
        }
        if let Some(days) = self.within_days {
            let oldest = self
                .as_of
                .checked_sub_days(Days::new(u64::from(days)))
                .unwrap_or(NaiveDate::MIN);
            if date < oldest {
                return Some((
                    codes::DATE_TOO_OLD,
                    format!("{l} is more than {days} days ago"),
                ));
            }
        }
        None
    }
}

impl Rule for DateBounds {
    fn check(&self, record: &Record, report: &mut Report) {
        let Some(value) = present(record, &self.field) else {
            return;
        };
        each_item(value, &mut |v| {
            let (code, message) = match as_date(v) {
                None => super::types::type_problem(&self.field, v, fields::ValueKind::Date)
                    .unwrap_or((codes::INVALID_DATE, String::new())),
                Some(d) => match self.problem(d) {
                    Some(p) => p,
                    None => return,
                },
            };
            report
                .push(Finding::new(self.field.clone(), code, self.severity, message).with_value(v));
        });
    }

    fn fields(&self) -> Vec<FieldName> {
        vec![self.field.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn bounds() {
        let r = DateBounds::birth_date(d(2026, 3, 1));
        assert_eq!(r.problem(d(2026, 3, 1)), None);
        assert_eq!(r.problem(d(2026, 3, 2)).unwrap().0, codes::DATE_IN_FUTURE);
        assert_eq!(r.problem(d(1899, 12, 31)).unwrap().0, codes::DATE_TOO_EARLY);
        let r = DateBounds::new("last_order_at", d(2026, 3, 1)).within_days(30);
        assert_eq!(r.problem(d(2026, 1, 30)), None);
        assert_eq!(r.problem(d(2026, 1, 29)).unwrap().0, codes::DATE_TOO_OLD);
        let r = DateBounds::new("x", d(2026, 3, 1))
            .max(d(2000, 1, 1))
            .within_days(u32::MAX);
        assert_eq!(r.problem(d(2001, 1, 1)).unwrap().0, codes::DATE_TOO_LATE);
        assert_eq!(r.problem(NaiveDate::MIN), None);
    }
}
