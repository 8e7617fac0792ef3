//! Value transforms a mapping variable applies: casing, truncation, date, number and currency
//! formats, lookup tables.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use mergetag_model::Value;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One transform, written `{ op = "..." , ... }`. Transforms of text leave other values alone;
/// a format that cannot read its input yields null, which the variable treats as invalid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Transform {
    /// Strips leading and trailing whitespace.
    Trim,
    /// Upper case.
    Upper,
    /// Lower case.
    Lower,
    /// Upper-cases the first letter of every word and lower-cases the rest (`"NEW york"` →
    /// `"New York"`).
    Title,
    /// Keeps at most `max` characters, ending with `ellipsis` (default none) when cut.
    Truncate {
        /// The most characters kept, ellipsis included.
        max: usize,
        /// Appended when the text is cut (`"…"`).
        #[serde(default)]
        ellipsis: String,
    },
    /// Formats a date or datetime (or ISO 8601 text) with a chrono `strftime` format
    /// (`"%B %-d, %Y"` → `"June 1, 2025"`).
    Date {
        /// The format.
        format: String,
    },
    /// Formats a number with `decimals` digits and a thousands separator (default `,`).
    Number {
        /// Digits after the decimal point (default 0).
        #[serde(default)]
        decimals: u8,
        /// The thousands separator (default `,`; empty for none).
        #[serde(default = "comma")]
        thousands: String,
    },
    /// Formats an amount of money: `$1,234.50` for USD, `€`, `£`, `¥` for EUR, GBP, JPY, the
    /// code and a space otherwise.
    Currency {
        /// The ISO 4217 code (`"USD"`).
        code: String,
        /// Digits after the decimal point (default 2).
        #[serde(default = "two")]
        decimals: u8,
    },
    /// Replaces a value by its entry in `table` (keys compare with the value's text form);
    /// values not in the table become `default`, or stay as they are when it is absent.
    Lookup {
        /// The table.
        table: BTreeMap<String, String>,
        /// The value for keys not in the table.
        #[serde(default)]
        default: Option<String>,
    },
    /// Joins the items of a list with `separator` (default `", "`).
    Join {
        /// The separator.
        #[serde(default = "comma_space")]
        separator: String,
    },
    /// The first item of a list.
    First,
}

fn comma() -> String {
    ",".into()
}
fn comma_space() -> String {
    ", ".into()
}
fn two() -> u8 {
    2
}

impl Transform {
    /// Checks the transform's parameters.
    pub(crate) fn validate(&self, path: &str) -> Result<()> {
        match self {
            Transform::Truncate { max, ellipsis } if ellipsis.chars().count() > *max => {
                Err(Error::invalid(
                    path,
                    "the ellipsis is longer than `max`; raise `max` or shorten the ellipsis",
                ))
            }
            Transform::Date { format } => {
                use chrono::format::{Item, StrftimeItems};
                if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
                    Err(Error::invalid(
                        path,
                        format!("`{format}` is not a valid strftime format"),
                    ))
                } else {
                    Ok(())
                }
            }
            Transform::Number { decimals, .. } | Transform::Currency { decimals, .. }
                if *decimals > 12 =>
            {
                Err(Error::invalid(path, "at most 12 decimals"))
            }
            _ => Ok(()),
        }
    }

    /// The first specifier of a `date` transform's format that needs a time of day or a time
    /// zone (`%H`, `%M`, `%S`, `%p`, `%s`, `%Z`, `%z`, ...), which a date alone cannot give.
    pub(crate) fn time_of_day_specifier(&self) -> Option<String> {
        let Transform::Date { format } = self else {
            return None;
        };
        needs_time(format)
    }

    /// Applies the transform to a borrowed or owned value, copying only when the value changes
    /// (the hot path of rendering: most values pass through a transform unchanged or are read,
    /// not consumed).
    pub(crate) fn apply_cow<'a>(&self, v: Cow<'a, Value>) -> Cow<'a, Value> {
        match (self, &*v) {
            (Transform::Trim, Value::Text(s)) if s.trim().len() == s.len() => v,
            (Transform::Truncate { max, .. }, Value::Text(s))
                if s.len() <= *max || s.chars().count() <= *max =>
            {
                v
            }
            (Transform::Title, Value::Text(s)) => Cow::Owned(Value::Text(title(s))),
            (Transform::Upper, Value::Text(s)) => Cow::Owned(Value::Text(s.to_uppercase())),
            (Transform::Lower, Value::Text(s)) => Cow::Owned(Value::Text(s.to_lowercase())),
            (Transform::Lookup { table, default }, other) => {
                let hit = match other {
                    Value::Text(s) => table.get(s.as_str()),
                    other => table.get(&other.to_string()),
                };
                match hit.or(default.as_ref()) {
                    Some(h) => Cow::Owned(Value::Text(h.clone())),
                    None => v,
                }
            }
            (Transform::Trim | Transform::Upper | Transform::Lower | Transform::Title, _)
            | (Transform::Truncate { .. } | Transform::Join { .. } | Transform::First, _)
                if !matches!(&*v, Value::Text(_) | Value::List(_)) =>
            {
                v
            }
            _ => Cow::Owned(self.apply(v.into_owned())),
        }
    }

    /// Applies the transform.
    pub fn apply(&self, v: Value) -> Value {
        match (self, v) {
            (Transform::Trim, Value::Text(s)) => Value::Text(s.trim().to_string()),
            (Transform::Upper, Value::Text(s)) => Value::Text(s.to_uppercase()),
            (Transform::Lower, Value::Text(s)) => Value::Text(s.to_lowercase()),
            (Transform::Title, Value::Text(s)) => Value::Text(title(&s)),
            (Transform::Truncate { max, ellipsis }, Value::Text(s)) => {
                if s.chars().count() <= *max {
                    Value::Text(s)
                } else {
                    let keep = max.saturating_sub(ellipsis.chars().count());
                    let mut out: String = s.chars().take(keep).collect();
                    out.push_str(ellipsis);
                    Value::Text(out)
                }
            }
            (Transform::Date { format }, v) => {
                let text = match &v {
                    Value::Date(d) => write_formatted(d.format(format)),
                    Value::DateTime(t) => write_formatted(t.format(format)),
                    Value::Text(s) => {
                        let s = s.trim();
                        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                            write_formatted(d.format(format))
                        } else {
                            DateTime::parse_from_rfc3339(s)
                                .ok()
                                .and_then(|t| write_formatted(t.format(format)))
                        }
                    }
                    _ => None,
                };
                text.map_or(Value::Null, Value::Text)
            }
            (
                Transform::Number {
                    decimals,
                    thousands,
                },
                v,
            ) => match number(&v) {
                Some(n) => Value::Text(format_number(n, *decimals, thousands, "")),
                None => Value::Null,
            },
            (Transform::Currency { code, decimals }, v) => match number(&v) {
                Some(n) => {
                    let other;
                    let prefix = match code.as_str() {
                        "USD" => "$",
                        "EUR" => "€",
                        "GBP" => "£",
                        "JPY" => "¥",
                        code => {
                            other = format!("{code} ");
                            other.as_str()
                        }
                    };
                    Value::Text(format_number(n, *decimals, ",", prefix))
                }
                None => Value::Null,
            },
            (Transform::Lookup { table, default }, v) => {
                let hit = match &v {
                    Value::Text(s) => table.get(s.as_str()),
                    other => table.get(&other.to_string()),
                };
                match hit.or(default.as_ref()) {
                    Some(hit) => Value::Text(hit.clone()),
                    None => v,
                }
            }
            (Transform::Join { separator }, Value::List(items)) => Value::Text(
                items
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(separator),
            ),
            (Transform::First, Value::List(items)) => {
                items.into_iter().next().unwrap_or(Value::Null)
            }
            (_, v) => v,
        }
    }
}

/// Formats with `write!`, so that a format the value cannot fill (`%H` of a date, which
/// chrono reports as `fmt::Error` and `to_string` would turn into a panic) is `None`.
fn write_formatted(f: impl std::fmt::Display) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::new();
    write!(out, "{f}").ok().map(|()| out)
}

/// The first specifier of `format` that needs a time of day or a time zone.
fn needs_time(format: &str) -> Option<String> {
    use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
    let mut rest = format;
    while let Some(i) = rest.find('%') {
        let spec = &rest[i..];
        // `%` then flags and widths, up to a letter, `+` or `%`.
        let len = spec
            .char_indices()
            .skip(1)
            .find(|(_, c)| c.is_ascii_alphabetic() || matches!(c, '+' | '%'))
            .map_or(spec.len(), |(k, c)| k + c.len_utf8());
        let (spec, after) = spec.split_at(len);
        rest = after;
        let time = StrftimeItems::new(spec).any(|item| match item {
            Item::Numeric(n, _) => matches!(
                n,
                Numeric::Hour
                    | Numeric::Hour12
                    | Numeric::Minute
                    | Numeric::Second
                    | Numeric::Nanosecond
                    | Numeric::Timestamp
            ),
            Item::Fixed(f) => !matches!(
                f,
                Fixed::ShortMonthName
                    | Fixed::LongMonthName
                    | Fixed::ShortWeekdayName
                    | Fixed::LongWeekdayName
            ),
            _ => false,
        });
        if time {
            return Some(spec.to_string());
        }
    }
    None
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Text(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        other => other.as_f64(),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = c.is_whitespace() || c == '-';
        }
    }
    out
}

/// `n` with `decimals` digits, `thousands` between groups of three, `prefix` (a currency symbol)
/// after the sign; `-0` is printed without its sign.
fn format_number(n: f64, decimals: u8, thousands: &str, prefix: &str) -> String {
    let text = format!("{:.*}", usize::from(decimals), n.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::with_capacity(text.len() + prefix.len() + 8);
    if n < 0.0 && text.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        out.push('-');
    }
    out.push_str(prefix);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push_str(thousands);
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(title("NEW york-city o'neil"), "New York-City O'neil");
        assert_eq!(format_number(1234567.891, 2, ",", ""), "1,234,567.89");
        assert_eq!(format_number(-0.001, 0, ",", "$"), "$0");
        assert_eq!(format_number(-1234.0, 0, "", ""), "-1234");
        let samples = [
            Value::from("  new YORK "),
            Value::from("gold"),
            Value::Float(-3.5),
            Value::List(vec!["a".into(), "b".into()]),
            Value::from("2025-06-01"),
            Value::Null,
        ];
        let transforms = [
            Transform::Trim,
            Transform::Upper,
            Transform::Lower,
            Transform::Title,
            Transform::Truncate {
                max: 3,
                ellipsis: String::new(),
            },
            Transform::Truncate {
                max: 30,
                ellipsis: String::new(),
            },
            Transform::Lookup {
                table: BTreeMap::from([("gold".into(), "Gold".into())]),
                default: None,
            },
            Transform::Join {
                separator: "+".into(),
            },
            Transform::First,
            Transform::Currency {
                code: "CHF".into(),
                decimals: 1,
            },
            Transform::Number {
                decimals: 0,
                thousands: ",".into(),
            },
            Transform::Date {
                format: "%d.%m.%Y".into(),
            },
        ];
        for t in &transforms {
            for v in &samples {
                assert_eq!(
                    t.apply_cow(Cow::Borrowed(v)).into_owned(),
                    t.apply(v.clone()),
                    "{t:?} {v:?}"
                );
            }
        }
        let c = Transform::Currency {
            code: "USD".into(),
            decimals: 2,
        };
        assert_eq!(c.apply(Value::Float(-1234.5)), Value::from("-$1,234.50"));
        let t = Transform::Truncate {
            max: 5,
            ellipsis: "…".into(),
        };
        assert_eq!(t.apply("Running Shoes".into()), Value::from("Runn…"));
        let d = Transform::Date {
            format: "%B %-d, %Y".into(),
        };
        assert_eq!(d.apply("2025-06-01".into()), Value::from("June 1, 2025"));
        assert_eq!(d.apply("junk".into()), Value::Null);
        assert!(
            Transform::Date {
                format: "%Q".into()
            }
            .validate("x")
            .is_err()
        );
        // Time-of-day specifiers on a date: null (the fallback), never a panic.
        for f in ["%H:%M", "%Z", "%z", "%s", "%p", "%d %T", "%c", "%+", "%-I"] {
            let t = Transform::Date { format: f.into() };
            assert!(t.time_of_day_specifier().is_some(), "{f}");
            assert_eq!(t.apply("2025-06-01".into()), Value::Null, "{f}");
            let d = chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
            assert_eq!(t.apply(Value::Date(d)), Value::Null, "{f}");
        }
        let t = Transform::Date {
            format: "%H:%M".into(),
        };
        assert_eq!(t.apply("2025-06-01T09:30:00Z".into()), Value::from("09:30"));
        assert_eq!(
            t.time_of_day_specifier().as_deref(),
            Some("%H"),
            "the specifier as written"
        );
        for f in ["%Y-%m-%d", "%B %-d, %Y", "%a %e %b", "100%%", "%x", "%F"] {
            let t = Transform::Date { format: f.into() };
            assert_eq!(t.time_of_day_specifier(), None, "{f}");
        }
    }
}
