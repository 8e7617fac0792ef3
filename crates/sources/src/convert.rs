//! Conversion of raw text into the typed values a column map asks for.
//!
//! Deliberately strict: a value that does not parse is reported, never guessed. Free-form
//! formats (birth dates in a dozen spellings, phone numbers) are the normalize stage's job; here
//! only the machine formats CRM exports use for flags, numbers and timestamps are read.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mergetag_model::Value;
use serde::{Deserialize, Serialize};

/// The type a column's text is converted to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ColumnType {
    /// Kept as text, exactly as read (the default).
    #[default]
    Text,
    /// `true`/`false`, `yes`/`no`, `y`/`n`, `t`/`f`, `1`/`0`, any case.
    Bool,
    /// A decimal integer that fits in 64 bits, optionally signed.
    Int,
    /// A finite decimal number (`1234.50`, `-3`, `1e3`).
    Float,
    /// An instant: RFC 3339 (`2024-03-01T14:22:05Z`), Salesforce's `+0000` offsets, a naive
    /// `YYYY-MM-DD[ T]HH:MM[:SS[.fff]]` or `YYYY-MM-DD` (taken as UTC), or Unix epoch seconds
    /// (up to 11 digits) or milliseconds (12 or 13 digits, as HubSpot exports).
    Timestamp,
}

impl ColumnType {
    /// The type's name as used in configuration and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Bool => "bool",
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Timestamp => "timestamp",
        }
    }

    /// Converts `raw`. Empty or whitespace-only text is [`Value::Null`] for every type but
    /// [`ColumnType::Text`], which keeps text as it is. Returns `None` when `raw` is not of
    /// this type.
    pub fn convert(self, raw: &str) -> Option<Value> {
        if self == ColumnType::Text {
            return Some(Value::Text(raw.to_owned()));
        }
        let s = raw.trim();
        if s.is_empty() {
            return Some(Value::Null);
        }
        match self {
            ColumnType::Text => Some(Value::Text(raw.to_owned())),
            ColumnType::Bool => parse_bool(s).map(Value::Bool),
            ColumnType::Int => s.parse::<i64>().ok().map(Value::Int),
            ColumnType::Float => parse_float(s).map(Value::Float),
            ColumnType::Timestamp => parse_timestamp(s).map(Value::DateTime),
        }
    }

    /// Converts a JSON value: numbers and booleans of the right type are taken as they are,
    /// text goes through [`ColumnType::convert`].
    pub(crate) fn convert_value(self, value: Value) -> Result<Value, Value> {
        match (self, value) {
            (ColumnType::Text, v) => Ok(v),
            (_, Value::Null) => Ok(Value::Null),
            (ColumnType::Bool, v @ Value::Bool(_)) => Ok(v),
            (ColumnType::Int, v @ Value::Int(_)) => Ok(v),
            (ColumnType::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
            (ColumnType::Float, v @ Value::Float(_)) => Ok(v),
            (ColumnType::Timestamp, Value::Int(i)) => {
                epoch(i).map(Value::DateTime).ok_or(Value::Int(i))
            }
            (ty, Value::Text(s)) => ty.convert(&s).ok_or(Value::Text(s)),
            (_, v) => Err(v),
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    // Dispatch on the first byte: one comparison for the common `true`/`false`.
    let (yes, word) = match s.as_bytes().first()?.to_ascii_lowercase() {
        b't' => (true, "true"),
        b'y' => (true, "yes"),
        b'1' => (true, "1"),
        b'f' => (false, "false"),
        b'n' => (false, "no"),
        b'0' => (false, "0"),
        _ => return None,
    };
    (s.len() == 1 || s.eq_ignore_ascii_case(word)).then_some(yes)
}

fn parse_float(s: &str) -> Option<f64> {
    // Rust's parser also accepts "inf" and "NaN"; a CRM number is always finite.
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Parses the timestamp formats of [`ColumnType::Timestamp`].
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().and_then(epoch);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // Salesforce: 2024-03-01T14:22:05.000+0000
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// Unix epoch seconds (up to 11 digits) or milliseconds (12 or 13 digits); negative and longer
/// numbers are not timestamps.
fn epoch(n: i64) -> Option<DateTime<Utc>> {
    match n {
        0..=99_999_999_999 => DateTime::from_timestamp(n, 0),
        100_000_000_000..=9_999_999_999_999 => DateTime::from_timestamp_millis(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<String> {
        parse_timestamp(s).map(|t| t.to_rfc3339())
    }

    #[test]
    fn timestamps() {
        let want = Some("2024-03-01T14:22:05+00:00".to_string());
        assert_eq!(ts("2024-03-01T14:22:05Z"), want);
        assert_eq!(ts("2024-03-01T14:22:05.000+0000"), want);
        assert_eq!(ts("2024-03-01T15:22:05+01:00"), want);
        assert_eq!(ts("2024-03-01 14:22:05"), want);
        assert_eq!(ts("1709302925"), want);
        assert_eq!(ts("1709302925000"), want);
        assert_eq!(ts("2024-03-01"), Some("2024-03-01T00:00:00+00:00".into()));
        assert_eq!(
            ts("2024-03-01T14:22"),
            Some("2024-03-01T14:22:00+00:00".into())
        );
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "03/01/2024",
            "99999999999999",
            "-5",
        ] {
            assert_eq!(ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn bools_ints_floats() {
        assert_eq!(ColumnType::Bool.convert(" TRUE "), Some(Value::Bool(true)));
        assert_eq!(ColumnType::Bool.convert("0"), Some(Value::Bool(false)));
        assert_eq!(ColumnType::Bool.convert("maybe"), None);
        for t in ["true", "TRUE", "True", "yes", "Y", "t", "1"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "FALSE", "No", "n", "F", "0"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for x in ["tru", "10", "00", "nope", "yess", "", "-1"] {
            assert_eq!(parse_bool(x), None, "{x}");
        }
        assert_eq!(ColumnType::Bool.convert("  "), Some(Value::Null));
        assert_eq!(ColumnType::Int.convert("-42"), Some(Value::Int(-42)));
        assert_eq!(ColumnType::Int.convert("4.2"), None);
        assert_eq!(
            ColumnType::Float.convert("1234.50"),
            Some(Value::Float(1234.5))
        );
        assert_eq!(ColumnType::Float.convert("NaN"), None);
        assert_eq!(ColumnType::Float.convert("inf"), None);
        assert_eq!(ColumnType::Float.convert("1e400"), None);
        assert_eq!(ColumnType::Text.convert(" x "), Some(Value::from(" x ")));
    }

    #[test]
    fn json_values() {
        assert_eq!(
            ColumnType::Float.convert_value(Value::Int(3)),
            Ok(Value::Float(3.0))
        );
        assert_eq!(
            ColumnType::Bool.convert_value(Value::from("yes")),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            ColumnType::Int.convert_value(Value::Bool(true)),
            Err(Value::Bool(true))
        );
        assert!(matches!(
            ColumnType::Timestamp.convert_value(Value::Int(1_709_302_925_000)),
            Ok(Value::DateTime(_))
        ));
    }
}
