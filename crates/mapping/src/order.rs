//! A total order over values, so that every tie is broken the same way on every run.

use std::cmp::Ordering;

use mergetag_model::Value;

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) => 2,
        Value::Text(_) => 3,
        Value::Date(_) => 4,
        Value::DateTime(_) => 5,
        Value::List(_) => 6,
        Value::Object(_) => 7,
    }
}

/// Compares two values: by kind first (null < bool < number < text < date < datetime < list <
/// object), then by content; numbers compare numerically, lists and objects by their text form.
pub(crate) fn cmp_values(a: &Value, b: &Value) -> Ordering {
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
            x.total_cmp(&y)
                .then_with(|| matches!(a, Value::Float(_)).cmp(&matches!(b, Value::Float(_))))
        }
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_total_and_numeric() {
        assert_eq!(
            cmp_values(&Value::Int(2), &Value::Float(10.0)),
            Ordering::Less
        );
        assert_eq!(
            cmp_values(&Value::Null, &Value::Bool(false)),
            Ordering::Less
        );
        assert_eq!(cmp_values(&"b".into(), &"a".into()), Ordering::Greater);
        assert_eq!(
            cmp_values(&Value::Int(1), &Value::Float(1.0)),
            Ordering::Less
        );
    }
}
