//! Request variables as the reference implementation (graphql-js) sees them: JSON numbers are just numbers, so
//! `61.0` is a valid `Int`. serde_json keeps it a float, which async-graphql would refuse as an `Int`.
use serde_json::{Number, Value};

/// Rewrites every float with no fractional part (and within i64) as an integer.
pub fn normalize_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Number(Number::from(f as i64)),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_numbers).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, normalize_numbers(v))).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn integral_floats_become_integers() {
        let value = super::normalize_numbers(json!({"a": 61.0, "b": [0.5, 2.0], "c": {"d": -3.0, "e": "4.0"}}));
        assert_eq!(value, json!({"a": 61, "b": [0.5, 2], "c": {"d": -3, "e": "4.0"}}));
        assert!(value["a"].is_i64());
    }
}
