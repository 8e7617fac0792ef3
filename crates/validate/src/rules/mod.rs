//! The built-in rules, one per module.
//!
//! Each rule checks one field (or, for the cross-field checks, a few), skips a field that is
//! missing (only [`Required`] cares about absence), and reports with a default severity that
//! [`with_severity`](Required::with_severity) changes. Lists are checked item by item.
//!
//! | rule | checks | codes |
//! |---|---|---|
//! | [`Required`] | present and not blank | `required` |
//! | [`ParsesAs`] | an int, float, bool, date, datetime or text | `invalid_int`, ... |
//! | [`Range`] | a number between bounds (age 13 to 120) | `out_of_range`, `invalid_number` |
//! | [`DateBounds`] | not in the future, not before 1900, within the last N days | `date_*`, `invalid_date` |
//! | [`OneOf`] | one of a set of values | `not_allowed` |
//! | [`Length`] | text length in characters | `too_short`, `too_long` |
//! | [`Pattern`] | a regular expression, whole value | `pattern_mismatch` |
//! | [`CountryCode`] | an ISO 3166-1 alpha-2 code | `invalid_country` |
//! | [`RegionCode`] | an ISO 3166-2 subdivision of the record's country | `invalid_region` |
//! | [`PhoneNumber`] | a valid number (libphonenumber metadata) | `invalid_phone` |
//! | [`EmailAddress`] | the [email validator](crate::email) | `invalid_email.*`, warnings |
//! | [`AgeMatchesBirthDate`] | age agrees with birth date | `age_mismatch` |
//! | [`PostalCodeMatchesCountry`] | the postal code has the country's format | `postal_code_mismatch` |
//! | [`Unique`] | the record id (or a field) is unique within its source | `duplicate_id`, `duplicate_value` |

mod consistency;
mod dates;
mod email;
mod geo;
mod length;
mod one_of;
mod pattern;
mod phone;
mod range;
mod required;
mod types;
mod unique;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate};
use mergetag_model::{Record, Value};

pub use consistency::AgeMatchesBirthDate;
pub use dates::DateBounds;
pub use email::EmailAddress;
pub use geo::{CountryCode, PostalCodeMatchesCountry, RegionCode, postal_code_countries};
pub(crate) use geo::{is_country, warm_postal};
pub use length::Length;
pub use one_of::OneOf;
pub use pattern::Pattern;
pub use phone::PhoneNumber;
pub use range::Range;
pub use required::Required;
pub use types::ParsesAs;
pub use unique::Unique;

/// The value of `field` when it is present and not missing (null, blank, empty).
pub(crate) fn present<'a>(
    record: &'a Record,
    field: &(impl AsRef<str> + ?Sized),
) -> Option<&'a Value> {
    record.get(field.as_ref()).filter(|v| !v.is_missing())
}

/// Calls `f` with the value, or with each item of a list (nested lists flattened), skipping
/// missing items.
pub(crate) fn each_item(value: &Value, f: &mut impl FnMut(&Value)) {
    match value {
        Value::List(items) => {
            for item in items {
                each_item(item, f);
            }
        }
        v if v.is_missing() => {}
        v => f(v),
    }
}

/// A scalar as text: text as it is, numbers and dates in their display form. `None` for
/// objects.
pub(crate) fn as_text(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Text(s) => Some(Cow::Borrowed(s.trim())),
        Value::Object(_) | Value::List(_) | Value::Null => None,
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// A number: ints and floats, or text that parses as a finite number.
pub(crate) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Text(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// A date: a date, a datetime's UTC date, or ISO 8601 text (`YYYY-MM-DD`, or RFC 3339, whose
/// date is taken as written).
pub(crate) fn as_date(value: &Value) -> Option<NaiveDate> {
    match value {
        Value::Date(d) => Some(*d),
        Value::DateTime(dt) => Some(dt.date_naive()),
        Value::Text(s) => parse_iso_date(s.trim()),
        _ => None,
    }
}

/// `YYYY-MM-DD` exactly, or an RFC 3339 date and time.
pub(crate) fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        if !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        {
            return None;
        }
        return NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    }
    if b.len() > 10 {
        return DateTime::parse_from_rfc3339(s).ok().map(|d| d.date_naive());
    }
    None
}

/// Whole years from `born` to `on`.
pub(crate) fn years_between(born: NaiveDate, on: NaiveDate) -> Option<i64> {
    on.years_since(born).map(i64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_only() {
        let d = NaiveDate::from_ymd_opt(1985, 4, 3).unwrap();
        assert_eq!(parse_iso_date("1985-04-03"), Some(d));
        assert_eq!(parse_iso_date("1985-04-03T23:30:00-05:00"), Some(d));
        assert_eq!(parse_iso_date("1985-04-03T23:30:00Z"), Some(d));
        for bad in [
            "04/03/1985",
            "1985-4-3",
            "+1985-04-03",
            "1985-02-30",
            "85-04-03",
            "",
            "1985-04-03T25:00:00Z",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
        assert_eq!(as_date(&Value::from("1985-04-03")), Some(d));
        assert_eq!(as_number(&Value::from(" 12.5 ")), Some(12.5));
        assert_eq!(as_number(&Value::from("NaN")), None);
        assert_eq!(
            years_between(d, NaiveDate::from_ymd_opt(2026, 4, 2).unwrap()),
            Some(40)
        );
        assert_eq!(
            years_between(d, NaiveDate::from_ymd_opt(2026, 4, 3).unwrap()),
            Some(41)
        );
    }
}
