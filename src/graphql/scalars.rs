//! Custom scalars: RFC 3339 UTC timestamps, and the two flexible inputs of the seed (`model`, `skills[]`).
use async_graphql::{InputValueError, InputValueResult, Name, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, Utc};
use serde_json::Value as Json;

/// The wire form of a timestamp: RFC 3339, UTC, whole seconds, `Z`.
pub fn format_time(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An RFC 3339 timestamp in UTC with a `Z` suffix, e.g. `2026-03-10T10:00:00Z`.
#[derive(Debug, Clone, Copy)]
pub struct DateTime(pub chrono::DateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Self(t.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("expected an RFC 3339 timestamp")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(format_time(self.0))
    }
}

/// A model reference as a client writes it: `"gpt-4"`, `"openai/gpt-4"`, or
/// `{"provider": "openai", "name": "gpt-4", "settings": {"temperature": 0.3, "maxTokens": 2048}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelSpec {
    /// `provider/name` or a bare name, when given as a string.
    pub text: Option<String>,
    pub provider: Option<String>,
    pub name: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i64>,
}

#[Scalar(name = "ModelSpec")]
impl ScalarType for ModelSpec {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(text) => Ok(Self { text: Some(text), ..Self::default() }),
            Value::Object(_) => {
                let json = value.into_json().map_err(|e| InputValueError::custom(e.to_string()))?;
                model_object(&json).map_err(InputValueError::custom)
            }
            other => Err(InputValueError::custom(format!(
                "model must be a string such as \"gpt-4\" or an object {{provider, name, settings}}, got {other}"
            ))),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Object(_))
    }

    fn to_value(&self) -> Value {
        match (&self.text, &self.provider, &self.name) {
            (Some(text), _, _) => Value::String(text.clone()),
            (None, Some(p), Some(n)) => Value::String(format!("{p}/{n}")),
            (None, _, Some(n)) => Value::String(n.clone()),
            _ => Value::Null,
        }
    }
}

/// Reads `{provider, name, settings{temperature, maxTokens}}`, naming the field that is wrong.
fn model_object(json: &Json) -> Result<ModelSpec, String> {
    let object = json.as_object().ok_or("model must be an object")?;
    if let Some(key) = object.keys().find(|k| !["provider", "name", "settings"].contains(&k.as_str())) {
        return Err(format!("model.{key} is not a known field"));
    }
    let text = |key: &str| match object.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("model.{key} must be a string")),
    };
    let settings = match object.get("settings") {
        None | Some(Json::Null) => serde_json::Map::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(_) => return Err("model.settings must be an object".into()),
    };
    let temperature = match settings.get("temperature") {
        None | Some(Json::Null) => None,
        Some(n) => Some(n.as_f64().ok_or("model.settings.temperature must be a number")?),
    };
    let max_tokens = match settings.get("maxTokens") {
        None | Some(Json::Null) => None,
        Some(n) => Some(n.as_i64().ok_or("model.settings.maxTokens must be an integer")?),
    };
    Ok(ModelSpec { text: None, provider: text("provider")?, name: text("name")?, temperature, max_tokens })
}

/// A skill to include in an agent: `"web-search"`, or
/// `{"id": "knowledge-base", "version": "1.4.0", "enabled": true, "config": {"index": "kb-001"}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillSpec {
    pub id: String,
    pub version: Option<String>,
    pub enabled: bool,
    pub config: Json,
}

#[Scalar(name = "SkillSpec")]
impl ScalarType for SkillSpec {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(id) => {
                Ok(Self { id, version: None, enabled: true, config: Json::Object(Default::default()) })
            }
            Value::Object(mut map) => {
                let take = |map: &mut async_graphql::indexmap::IndexMap<Name, Value>, key: &str| {
                    map.shift_remove(&Name::new(key))
                };
                let id = match take(&mut map, "id").or_else(|| take(&mut map, "skillId")) {
                    Some(Value::String(id)) => id,
                    _ => return Err(InputValueError::custom("each skill needs a string `id`")),
                };
                let version = match take(&mut map, "version") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(v)) => Some(v),
                    Some(_) => return Err(InputValueError::custom("skill `version` must be a string")),
                };
                let enabled = match take(&mut map, "enabled") {
                    None | Some(Value::Null) => true,
                    Some(Value::Boolean(b)) => b,
                    Some(_) => return Err(InputValueError::custom("skill `enabled` must be a boolean")),
                };
                let config = match take(&mut map, "config") {
                    None | Some(Value::Null) => Json::Object(Default::default()),
                    Some(v) => v.into_json().map_err(|e| InputValueError::custom(e.to_string()))?,
                };
                if let Some(unknown) = map.keys().next() {
                    return Err(InputValueError::custom(format!("skill field `{unknown}` is not known")));
                }
                Ok(Self { id, version, enabled, config })
            }
            other => Err(InputValueError::custom(format!(
                "each skill must be an id string or an object {{id, version, enabled, config}}, got {other}"
            ))),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_) | Value::Object(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.id.clone())
    }
}
