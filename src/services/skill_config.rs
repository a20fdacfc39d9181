//! Validates an installed skill's `config` against the JSON Schema of the chosen skill version.
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

use crate::error::{AppError, AppResult};

/// Validates `config`; on failure names the offending field as `config.a.b` (or `field_prefix.…`).
pub fn validate(field_prefix: &str, schema: &Value, config: &Value) -> AppResult<()> {
    // A schema stored before registration bounded it can still be a bomb: it goes through the same bounds, and
    // a refusal names the skill's schema rather than the caller's config.
    let validator = super::json_schema::compile("configSchema", schema)
        .map_err(|err| AppError::validation(field_prefix, format!("the skill's configSchema cannot be used: {err}")))?;
    let Some(error) = validator.iter_errors(config).next() else {
        return Ok(());
    };
    let mut path: Vec<String> = error
        .instance_path
        .as_str()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    match &error.kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let Some(first) = unexpected.first() {
                path.push(first.clone());
            }
        }
        ValidationErrorKind::Required { property } => {
            if let Some(name) = property.as_str() {
                path.push(name.to_owned());
            }
        }
        _ => {}
    }
    let field = std::iter::once(field_prefix.to_owned()).chain(path).collect::<Vec<_>>().join(".");
    Err(AppError::validation(field, error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type":"object","additionalProperties":false,"required":["index"],
               "properties":{"index":{"type":"string"},"topK":{"type":"integer","maximum":20}}})
    }

    #[test]
    fn names_the_field() {
        assert!(validate("config", &schema(), &json!({"index":"kb-001","topK":3})).is_ok());
        let field = |v: Value| match validate("config", &schema(), &v) {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(json!({"index":"kb","topK":99})), "config.topK");
        assert_eq!(field(json!({"index":"kb","colour":1})), "config.colour");
        assert_eq!(field(json!({})), "config.index");
        assert_eq!(field(json!("nope")), "config");
    }
}
