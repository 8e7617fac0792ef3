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
    // Inlined into the readers' row loops, where the `Value` is then built in place: as a call
    // it was copied out through the stack, measured about 5% of reading a HubSpot export.
    #[inline]
    pub fn convert(self, raw: &str) -> Option<Value> {
        if self == ColumnType::Text {
            return Some(Value::Text(raw.to_owned()));
        }
        let s = trim(raw);
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

    /// Converts a typed value (from JSON, a database or an API): numbers, booleans, instants
    /// and dates of the right type are taken as they are, text goes through
    /// [`ColumnType::convert`]; a value that does not convert comes back as the error.
    ///
    /// ```
    /// use mergetag_model::Value;
    /// use mergetag_sources::ColumnType;
    ///
    /// assert_eq!(ColumnType::Float.convert_value(Value::Int(2)), Ok(Value::Float(2.0)));
    /// assert_eq!(ColumnType::Int.convert_value(Value::Bool(true)), Err(Value::Bool(true)));
    /// ```
    ///
    /// # Errors
    ///
    /// The value itself, when it is not of the type and is not text that converts.
    #[inline]
    pub fn convert_value(self, value: Value) -> Result<Value, Value> {
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
            // Typed sources (a database's `timestamptz` and `date` columns) give instants and
            // dates; a date is its midnight in UTC.
            (ColumnType::Timestamp, v @ Value::DateTime(_)) => Ok(v),
            (ColumnType::Timestamp, Value::Date(d)) => Ok(Value::DateTime(
                d.and_time(chrono::NaiveTime::MIN).and_utc(),
            )),
            (ty, Value::Text(s)) => ty.convert(&s).ok_or(Value::Text(s)),
            (_, v) => Err(v),
        }
    }
}

/// `raw.trim()`, skipping its character-by-character scan when both ends are printable ASCII
/// (as a machine-written value nearly always is): measured 2% of reading a HubSpot export.
fn trim(raw: &str) -> &str {
    // Every whitespace character is ASCII at or below a space, or not ASCII.
    let plain = |b: &u8| (b'!'..0x80).contains(b);
    match raw.as_bytes() {
        [first, .., last] if plain(first) && plain(last) => raw,
        [only] if plain(only) => raw,
        _ => raw.trim(),
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
    if let Some(n) = digits(s) {
        return n.and_then(epoch);
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

/// The value of `s` when it is all ASCII digits: `Some(None)` when it is empty or overflows an
/// `i64` (as `parse` says), `None` when `s` is not all digits.
///
/// Epoch times are 10 to 13 digits: their last eight are checked and combined at once, in a
/// `u64` ("SWAR"), rather than in a chain of one multiply per digit. This and doing it in one
/// pass (not `all` digits and then `parse`) measured about 3% of reading a HubSpot export.
fn digits(s: &str) -> Option<Option<i64>> {
    let b = s.as_bytes();
    let mut n = (!b.is_empty()).then_some(0i64);
    if (8..=18).contains(&b.len()) {
        // At most 18 digits cannot overflow.
        let (head, tail) = b.split_at(b.len() - 8);
        let tail = eight_digits(tail.try_into().ok()?)?;
        let mut n = 0i64;
        for &c in head {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            n = n * 10 + i64::from(d);
        }
        return Some(Some(n * 100_000_000 + tail));
    }
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.and_then(|n| n.checked_mul(10)?.checked_add(i64::from(d)));
    }
    Some(n)
}

/// The value of eight ASCII digits, or `None` when one is not a digit.
fn eight_digits(b: [u8; 8]) -> Option<i64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let x = u64::from_le_bytes(b);
    // A digit is 0x30..=0x39: high nibble 3, and still 3 after adding 6. A byte that fails the
    // first test may carry into the next in the addition, but then the whole test fails anyway.
    let high = 0xF0 * ONES;
    if x & high != 0x30 * ONES || x.wrapping_add(0x06 * ONES) & high != 0x30 * ONES {
        return None;
    }
    // The first digit is the lowest byte: combine neighbours into pairs, fours, then eight.
    let x = x - 0x30 * ONES;
    let x = (x * 10 + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    let x = (x * 100 + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    let x = (x * 10_000 + (x >> 32)) & 0xFFFF_FFFF;
    Some(x as i64)
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
        assert_eq!(ts("00001709302925"), want);
        assert_eq!(ts("0"), Some("1970-01-01T00:00:00+00:00".into()));
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
            "+1709302925",
            "99999999999999999999",
            "17093029２5",
        ] {
            assert_eq!(ts(bad), None, "{bad}");
        }
    }

    #[test]
    fn digits_parse_as_parse_does() {
        let mut cases: Vec<String> = [
            "",
            "0",
            "7",
            "12345678",
            "1709302925000",
            "00000000",
            "99999999",
            "123456789012345678",
            "999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
            "00000000000000000000001",
            "1234567a",
            "a2345678",
            "1234/678",
            "1234:678",
            "12345678 ",
            "+12345678",
            "-1234567",
            "1709302925.00",
            "١٢٣٤٥٦٧٨",
        ]
        .map(String::from)
        .to_vec();
        for len in 1..=20 {
            for bad in 0..len {
                for c in [b'/', b':', b'?', b'\xff', b'\x00', b'0' + 0x10, b'9' + 0x80] {
                    let mut v = vec![b'5'; len];
                    v[bad] = c;
                    cases.push(String::from_utf8_lossy(&v).into_owned());
                }
            }
            cases.push("9".repeat(len));
            cases.push(format!(
                "{:0len$}",
                1_709_302_925_000u64 % 10u64.pow(len.min(19) as u32)
            ));
        }
        for s in &cases {
            let want = s
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<i64>().ok());
            assert_eq!(digits(s), want, "{s:?}");
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
        assert_eq!(
            ColumnType::Bool.convert("\u{a0}y\u{2003}"),
            Some(Value::Bool(true))
        );
        assert_eq!(
            ColumnType::Bool.convert("\x0bn\t"),
            Some(Value::Bool(false))
        );
        assert_eq!(ColumnType::Int.convert("7\u{85}"), Some(Value::Int(7)));
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "ab",
            "\u{a0}",
            "\x7f",
            "a\u{3000}",
            "é",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
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
