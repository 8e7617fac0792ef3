//! PostgreSQL column values, converted to mergetag [`Value`]s.

use std::error::Error as StdError;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mergetag_model::Value;
use postgres::types::{FromSql, Kind, Type};

/// One cell of a row: its value, or why it has none.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Converted.
    Value(Value),
    /// A column type with no conversion (its name), or a value of a known type that did not
    /// decode (an infinite date). Never the value itself.
    Unconvertible(String),
}

type BoxError = Box<dyn StdError + Sync + Send>;

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Cell, BoxError> {
        Ok(match convert(ty, raw) {
            Ok(v) => Cell::Value(v),
            Err(_) => Cell::Unconvertible(ty.name().to_owned()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Cell, BoxError> {
        Ok(Cell::Value(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Converts one non-null value of type `ty`.
fn convert(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    Ok(match *ty {
        Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
        Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
        Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
        Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
        Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
        Type::FLOAT4 => Value::float(f32::from_sql(ty, raw)?.into()),
        Type::FLOAT8 => Value::float(f64::from_sql(ty, raw)?),
        Type::NUMERIC => numeric(raw)?,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            Value::Text(String::from_sql(ty, raw)?)
        }
        Type::DATE => Value::Date(NaiveDate::from_sql(ty, raw)?),
        Type::TIMESTAMP => Value::DateTime(NaiveDateTime::from_sql(ty, raw)?.and_utc()),
        Type::TIMESTAMPTZ => Value::DateTime(DateTime::<Utc>::from_sql(ty, raw)?),
        Type::UUID => Value::Text(uuid(raw)?),
        Type::JSON | Type::JSONB => Value::from(serde_json::Value::from_sql(ty, raw)?),
        _ => match ty.kind() {
            // Enums and extension text types (citext) are sent as UTF-8 text.
            Kind::Enum(_) => Value::Text(std::str::from_utf8(raw)?.to_owned()),
            Kind::Simple if ty.name() == "citext" => {
                Value::Text(std::str::from_utf8(raw)?.to_owned())
            }
            Kind::Array(inner) => {
                let items = Vec::<Option<Cell>>::from_sql(ty, raw)?;
                let mut list = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        None => list.push(Value::Null),
                        Some(Cell::Value(v)) => list.push(v),
                        Some(Cell::Unconvertible(_)) => {
                            return Err(format!("no conversion for `{}`", inner.name()).into());
                        }
                    }
                }
                Value::List(list)
            }
            _ => return Err(format!("no conversion for `{}`", ty.name()).into()),
        },
    })
}

/// A `numeric` in PostgreSQL's binary form: an integer when it has no fractional digits and
/// fits in 64 bits, else the nearest float; `NaN` and infinities are unconvertible.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".into())
    };
    let ndigits = usize::try_from(word(0)?).map_err(|_| "bad numeric")?;
    let weight = i32::from(word(2)?);
    let sign = word(4)? as u16;
    let dscale = word(6)?;
    if sign != 0x0000 && sign != 0x4000 {
        return Err("numeric is NaN or infinite".into());
    }
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let d = word(8 + 2 * i)?;
        if !(0..10000).contains(&d) {
            return Err("bad numeric digit".into());
        }
        digits.push(d);
    }
    let mut s = String::with_capacity(8 + 4 * ndigits);
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            let d = usize::try_from(i)
                .ok()
                .and_then(|i| digits.get(i))
                .copied()
                .unwrap_or(0);
            if i == 0 {
                let _ = write!(s, "{d}");
            } else {
                let _ = write!(s, "{d:04}");
            }
        }
    }
    let first_frac = usize::try_from(weight + 1).unwrap_or(0);
    if dscale > 0 && first_frac < ndigits || weight < -1 && ndigits > 0 {
        s.push('.');
        for _ in 0..(-weight - 1).max(0) {
            s.push_str("0000");
        }
        for d in digits.iter().skip(first_frac) {
            let _ = write!(s, "{d:04}");
        }
    }
    if dscale == 0
        && let Ok(i) = s.parse::<i64>()
    {
        return Ok(Value::Int(i));
    }
    let f: f64 = s.parse().map_err(|_| "bad numeric")?;
    if f.is_finite() {
        Ok(Value::Float(f))
    } else {
        Err("numeric out of range".into())
    }
}

fn uuid(raw: &[u8]) -> Result<String, BoxError> {
    if raw.len() != 16 {
        return Err("bad uuid".into());
    }
    let mut s = String::with_capacity(36);
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    Ok(s)
}

/// The text a watermark value is written as in SQL (before a cast to the column's type).
pub(crate) fn literal_text(v: &Value) -> Option<String> {
    match v {
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Text(s) if !s.contains('\0') => Some(s.clone()),
        Value::Date(d) => Some(d.to_string()),
        Value::DateTime(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(ndigits: i16, weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [ndigits, weight, sign as i16, dscale].iter().chain(digits) {
            v.extend_from_slice(&w.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics_decode() {
        // 1234.50 = digits [1234, 5000], weight 0, dscale 2
        assert_eq!(
            numeric(&num(2, 0, 0, 2, &[1234, 5000])).unwrap(),
            Value::Float(1234.5)
        );
        // 12345678 = [1234, 5678], weight 1
        assert_eq!(
            numeric(&num(2, 1, 0, 0, &[1234, 5678])).unwrap(),
            Value::Int(12_345_678)
        );
        // -0.0012 = [12], weight -1, dscale 4
        assert_eq!(
            numeric(&num(1, -1, 0x4000, 4, &[12])).unwrap(),
            Value::Float(-0.0012)
        );
        // 0.000012 = [1200], weight -2
        assert_eq!(
            numeric(&num(1, -2, 0, 8, &[1200])).unwrap(),
            Value::Float(0.000_012)
        );
        // 10000 = [1], weight 1 (trailing zero groups omitted)
        assert_eq!(numeric(&num(1, 1, 0, 0, &[1])).unwrap(), Value::Int(10_000));
        assert_eq!(numeric(&num(0, 0, 0, 0, &[])).unwrap(), Value::Int(0));
        assert!(numeric(&num(0, 0, 0xC000, 0, &[])).is_err());
        assert!(numeric(&[0, 1]).is_err());
    }

    #[test]
    fn uuids_format() {
        let raw: Vec<u8> = (0u8..16).collect();
        assert_eq!(uuid(&raw).unwrap(), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }
}
