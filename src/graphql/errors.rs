//! Gives every GraphQL error an `extensions.code`, including the ones async-graphql raises itself
//! (syntax, validation, depth and complexity limits), so REST and GraphQL clients branch on the same codes.
use async_graphql::{ErrorExtensionValues, Response, ServerError, Value};

use crate::error::AppError;

/// Converts results of services into GraphQL results with coded errors (never via `Display`, which would leak).
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, AppError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(AppError::into_graphql)
    }
}

/// The code of an error raised before execution, judged by async-graphql's message.
fn classify(message: &str) -> &'static str {
    if message.contains("nested too deep") {
        "query_too_deep"
    } else if message.contains("too complex") {
        "query_too_complex"
    } else if message.starts_with(" --> ") || message.contains("expected") && message.contains("-->") {
        "graphql_parse_error"
    } else if message.starts_with("Invalid value for argument") || message.contains("Variable \"") {
        "validation_error"
    } else {
        "graphql_validation_error"
    }
}

/// Adds `extensions.code` where missing.
pub fn annotate(response: &mut Response) {
    for error in &mut response.errors {
        annotate_error(error);
    }
}

pub fn annotate_error(error: &mut ServerError) {
    let has_code = error.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some());
    if has_code {
        return;
    }
    // Custom scalars (`ModelSpec`, `SkillSpec`) are coerced when the resolver reads its arguments, so their
    // failures arrive from execution, with a path; they are still the client's input.
    let coercion = error.message.starts_with("Failed to parse \"")
        || (error.message.starts_with("Expected input type") && error.message.contains("(occurred while parsing \""));
    let code = if coercion {
        "validation_error"
    } else if error.path.is_empty() {
        classify(&error.message)
    } else {
        "internal_error"
    };
    let field = match code {
        "validation_error" if coercion => scalar_field(&error.message),
        "validation_error" => invalid_argument_field(&error.message),
        _ => None,
    };
    let extensions = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
    extensions.set("code", Value::from(code));
    if let Some(field) = field {
        let mut details = async_graphql::indexmap::IndexMap::new();
        details.insert(async_graphql::Name::new("field"), Value::from(field));
        extensions.set("details", Value::Object(details));
    }
}

/// The input field a failed custom scalar stands for.
fn scalar_field(message: &str) -> Option<String> {
    let scalar = message.strip_prefix("Failed to parse \"")?.split('"').next()?;
    let field = match scalar {
        "ModelSpec" => "model",
        "SkillSpec" => "skills",
        "JSON" => "config",
        _ => return None,
    };
    Some(field.to_owned())
}

/// The input field an input-coercion error is about, without the argument name:
/// `Invalid value for argument "input.name", …` → `name`; `… unknown field "bogus" …` → `bogus`.
fn invalid_argument_field(message: &str) -> Option<String> {
    let quoted = |after: &str| -> Option<String> {
        let start = message.find(after)? + after.len();
        let end = message[start..].find('"')? + start;
        Some(message[start..end].to_owned())
    };
    let argument = quoted("argument \"")?;
    let mut path: Vec<&str> = argument.split('.').skip(1).collect();
    let named = quoted("unknown field \"").or_else(|| quoted(", field \""));
    if let Some(named) = named.as_deref() {
        path.push(named);
    }
    if path.is_empty() { Some(argument.clone()) } else { Some(path.join(".")) }
}

/// The code of an error (after [`annotate`]).
pub fn code_of(error: &ServerError) -> String {
    match error.extensions.as_ref().and_then(|ext| ext.get("code")) {
        Some(Value::String(code)) => code.clone(),
        _ => "internal_error".to_owned(),
    }
}

/// True when the response failed before execution (no `data` entry belongs in it).
pub fn is_request_error(response: &Response) -> bool {
    matches!(response.data, Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// A parse error of a document, as a response.
pub fn parse_error(err: async_graphql::parser::Error) -> Response {
    let mut error = ServerError::new(err.to_string(), None);
    error.locations = err.positions().collect();
    error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", "graphql_parse_error");
    Response::from_errors(vec![error])
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_of_coercion_errors() {
        let f = super::invalid_argument_field;
        assert_eq!(f(r#"Invalid value for argument "input.name", expected type "String""#).as_deref(), Some("name"));
        assert_eq!(
            f(r#"Invalid value for argument "input", unknown field "bogus" of type "CreateAgentInput""#).as_deref(),
            Some("bogus")
        );
        assert_eq!(f(r#"Invalid value for argument "limit", expected type "Int""#).as_deref(), Some("limit"));
        assert_eq!(
            f(r#"Invalid value for argument "input", field "name" of type "String!" is required but not provided"#)
                .as_deref(),
            Some("name")
        );
    }
}
