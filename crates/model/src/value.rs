//! Typed field values.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// One typed value held by a [`Record`](crate::Record) field or an [`Event`](crate::Event) property.
///
/// Sources produce [`Value::Text`] for what they read as text; later stages turn text into the
/// typed variants (a normalizer parses a birth date into [`Value::Date`], for example).
///
/// The serde form is tagged, so that a round trip keeps the variant (a date stays a date, the text
/// `"2024-01-01"` stays text):
///
/// ```
/// use mergetag_model::Value;
///
/// let v = Value::from(42_i64);
/// assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"type":"int","value":42}"#);
/// ```
///
/// Floats should be finite: a non-finite float has no JSON form, so the sources never produce one
/// and the typed constructors ([`Value::float`]) turn one into [`Value::Null`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// No value: an empty cell, a JSON `null`, a field that was cleared.
    #[default]
    Null,
    /// A boolean, such as `email_opt_out`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A finite floating-point number, such as `customer_lifetime_value`.
    Float(f64),
    /// Text, as read or as normalized.
    Text(String),
    /// A calendar date without a time zone, such as `birth_date`.
    Date(NaiveDate),
    /// An instant in UTC, such as `updated_at`.
    #[serde(rename = "datetime")]
    DateTime(DateTime<Utc>),
    /// An ordered list of values.
    List(Vec<Value>),
    /// A nested object with keys in sorted order, such as one product of an order.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// A float value, or [`Value::Null`] when `f` is NaN or infinite.
    ///
    /// ```
    /// use mergetag_model::Value;
    /// assert_eq!(Value::float(1.5), Value::Float(1.5));
    /// assert_eq!(Value::float(f64::NAN), Value::Null);
    /// ```
    pub fn float(f: f64) -> Value {
        if f.is_finite() {
            Value::Float(f)
        } else {
            Value::Null
        }
    }

    /// The name of the variant, as used in the serde form (`"text"`, `"datetime"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Date(_) => "date",
            Value::DateTime(_) => "datetime",
            Value::List(_) => "list",
            Value::Object(_) => "object",
        }
    }

    /// Whether this value is missing: null, empty or whitespace-only text, or an empty list or
    /// object. Survivorship and completeness counts treat all of these as "no value".
    ///
    /// ```
    /// use mergetag_model::Value;
    /// assert!(Value::Null.is_missing());
    /// assert!(Value::from("  ").is_missing());
    /// assert!(!Value::from(0_i64).is_missing());
    /// ```
    pub fn is_missing(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(s) => s.trim().is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text, when this is [`Value::Text`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when this is [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The integer, when this is [`Value::Int`].
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The number as a float, when this is [`Value::Float`] or [`Value::Int`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            // Precision loss above 2^53 is accepted: callers asking for a float want a float.
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The date, when this is [`Value::Date`].
    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// The instant, when this is [`Value::DateTime`].
    pub fn as_datetime(&self) -> Option<DateTime<Utc>> {
        match self {
            Value::DateTime(d) => Some(*d),
            _ => None,
        }
    }

    /// The items, when this is [`Value::List`].
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// The entries, when this is [`Value::Object`].
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Follows a dotted path into nested objects and lists (`"products.0.name"`).
    ///
    /// A path segment that is a number indexes a list. An empty path returns `self`.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use mergetag_model::Value;
    ///
    /// let product = Value::Object(BTreeMap::from([("name".to_string(), Value::from("Yoga Mat"))]));
    /// let order = Value::Object(BTreeMap::from([("products".to_string(), Value::List(vec![product]))]));
    /// assert_eq!(order.pointer("products.0.name"), Some(&Value::from("Yoga Mat")));
    /// assert_eq!(order.pointer("products.1.name"), None);
    /// ```
    pub fn pointer(&self, path: &str) -> Option<&Value> {
        if path.is_empty() {
            return Some(self);
        }
        path.split('.').try_fold(self, |v, seg| match v {
            Value::Object(o) => o.get(seg),
            Value::List(l) => seg.parse::<usize>().ok().and_then(|i| l.get(i)),
            _ => None,
        })
    }
}

impl fmt::Display for Value {
    /// Writes the value as a person reads it: text as is, dates in ISO 8601, datetimes in
    /// RFC 3339, lists and objects in a JSON-like form, null as nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(d) => {
                write!(
                    f,
                    "{}",
                    d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                )
            }
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(o) => {
                f.write_str("{")?;
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<f64> for Value {
    /// Same as [`Value::float`]: a non-finite float becomes [`Value::Null`].
    fn from(v: f64) -> Self {
        Value::float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<NaiveDate> for Value {
    fn from(v: NaiveDate) -> Self {
        Value::Date(v)
    }
}

impl From<DateTime<Utc>> for Value {
    fn from(v: DateTime<Utc>) -> Self {
        Value::DateTime(v)
    }
}

impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(v: BTreeMap<String, Value>) -> Self {
        Value::Object(v)
    }
}

/// JSON as a value, keeping nesting: objects become [`Value::Object`], arrays
/// [`Value::List`], integers [`Value::Int`], other numbers [`Value::Float`] (their text when no
/// `f64` holds them).
///
/// ```
/// use mergetag_model::Value;
///
/// let v = Value::from(serde_json::json!({"n": 3, "tags": ["a"], "x": 1.5}));
/// let Value::Object(o) = v else { panic!() };
/// assert_eq!(o["n"], Value::Int(3));
/// assert_eq!(o["tags"], Value::List(vec![Value::from("a")]));
/// assert_eq!(o["x"], Value::Float(1.5));
/// ```
impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value as Json;
        match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => n
                    .as_f64()
                    .map_or_else(|| Value::Text(n.to_string()), Value::float),
            },
            Json::String(s) => Value::Text(s),
            Json::Array(a) => Value::List(a.into_iter().map(Value::from).collect()),
            Json::Object(o) => {
                Value::Object(o.into_iter().map(|(k, v)| (k, Value::from(v))).collect())
            }
        }
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` becomes [`Value::Null`].
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_keeps_the_variant() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        for v in [
            Value::Null,
            Value::from(true),
            Value::from(-3_i64),
            Value::from(2.5),
            Value::from("2024-02-29"),
            Value::from(d),
            Value::from(d.and_hms_opt(1, 2, 3).unwrap().and_utc()),
            Value::List(vec![Value::from("a"), Value::Null]),
            Value::Object(BTreeMap::from([("k".to_string(), Value::from(1_i64))])),
        ] {
            let json = serde_json::to_string(&v).unwrap();
            let back: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(back, v, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Value::from(d)).unwrap(),
            r#"{"type":"date","value":"2024-02-29"}"#
        );
    }

    #[test]
    fn display_is_readable() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 9).unwrap();
        assert_eq!(Value::from(d).to_string(), "2024-02-09");
        assert_eq!(
            Value::from(d.and_hms_opt(1, 2, 3).unwrap().and_utc()).to_string(),
            "2024-02-09T01:02:03Z"
        );
        assert_eq!(Value::Null.to_string(), "");
        assert_eq!(
            Value::List(vec![Value::from(1_i64), Value::from("x")]).to_string(),
            "[1, x]"
        );
    }

    #[test]
    fn missing_covers_blank_text_and_empty_containers() {
        assert!(Value::from("").is_missing());
        assert!(Value::List(vec![]).is_missing());
        assert!(Value::Object(BTreeMap::new()).is_missing());
        assert!(!Value::from(false).is_missing());
        assert!(!Value::from("x").is_missing());
    }

    #[test]
    fn option_and_accessors() {
        assert_eq!(Value::from(None::<i64>), Value::Null);
        assert_eq!(Value::from(Some(3_i64)).as_f64(), Some(3.0));
        assert_eq!(Value::from("x").as_int(), None);
        assert_eq!(Value::from(f64::INFINITY), Value::Null);
    }
}
