//! GraphQL over HTTP, to the letter of the GraphQL-over-HTTP spec (and every audit of `graphql-http`):
//! media-type negotiation (`application/graphql-response+json` and `application/json`), GET for queries only,
//! strict request-parameter validation, and status codes that depend on the negotiated media type.
use async_graphql::{ServerError, Value, Variables, parser::types::OperationType};
use axum::{
    body::Body,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value as Json;

use super::{errors, request_data};
use crate::{app::HttpState, error::AppError};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const APPLICATION_JSON: &str = "application/json; charset=utf-8";

/// The response media type the client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            Self::Json => APPLICATION_JSON,
        }
    }
}

/// Picks the response media type from `Accept` (highest q wins, earlier wins ties). A missing header means
/// `application/json`; `*/*` and `application/*` mean `application/json`. `None` means 406.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let q = parts.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
        let media = match essence.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
            best = Some((q, media));
        }
    }
    best.map(|(_, media)| media)
}

/// A GraphQL response body. `data` is omitted entirely (not `null`) for request errors.
#[derive(Serialize)]
struct Body_<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions: Option<&'a std::collections::BTreeMap<String, Value>>,
}

fn respond(status: StatusCode, media: MediaType, data: Option<&Value>, errors: &[ServerError]) -> Response {
    let body = Body_ { data, errors, extensions: None };
    let bytes =
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"errors\":[{\"message\":\"serialization failed\"}]}".to_vec());
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(media.content_type()));
    response
}

/// A request error: no `data`, one coded error.
fn request_error(status: StatusCode, media: MediaType, code: &str, message: impl Into<String>) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code);
    respond(status, media, None, &[error])
}

fn app_error(err: AppError, media: MediaType) -> Response {
    let status = err.status();
    let code = err.code();
    request_error(status, media, code, err.public_message())
}

/// The validated request parameters.
struct Params {
    query: String,
    operation_name: Option<String>,
    variables: Variables,
}

/// Validates the JSON request parameters (shared by GET, whose values are JSON-encoded, and POST).
fn params_from(map: &serde_json::Map<String, Json>) -> Result<Params, String> {
    let query = match map.get("query") {
        Some(Json::String(q)) => q.clone(),
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("missing `query` parameter".into()),
    };
    let operation_name = match map.get("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(name)) => Some(name.clone()),
        Some(_) => return Err("`operationName` must be a string or null".into()),
    };
    let variables = match map.get("variables") {
        None | Some(Json::Null) => Variables::default(),
        Some(v @ Json::Object(_)) => Variables::from_json(super::variables::normalize_numbers(v.clone())),
        Some(_) => return Err("`variables` must be an object or null".into()),
    };
    match map.get("extensions") {
        None | Some(Json::Null) | Some(Json::Object(_)) => {}
        Some(_) => return Err("`extensions` must be an object or null".into()),
    }
    Ok(Params { query, operation_name, variables })
}

fn params_from_query_string(raw: Option<&str>) -> Result<Params, String> {
    let mut map = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = match key.as_ref() {
            "variables" | "extensions" => {
                serde_json::from_str(&value).map_err(|_| format!("`{key}` must be URL-encoded JSON"))?
            }
            _ => Json::String(value.into_owned()),
        };
        map.insert(key.into_owned(), value);
    }
    params_from(&map)
}

fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence_ok = parts.next().is_some_and(|e| e.eq_ignore_ascii_case("application/json"));
    let charset_ok = parts
        .filter_map(|p| p.to_ascii_lowercase().strip_prefix("charset=").map(|c| c.trim_matches('"').to_owned()))
        .all(|c| c == "utf-8");
    essence_ok && charset_ok
}

/// `GET|POST /v2/graphql`.
pub async fn graphql_http(
    State(state): State<HttpState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return request_error(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            "not_acceptable",
            "accept application/graphql-response+json or application/json",
        );
    };
    let params = match method {
        Method::GET => params_from_query_string(raw_query.as_deref()),
        Method::POST => {
            if !is_json_content_type(&headers) {
                return request_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    media,
                    "unsupported_media_type",
                    "POST bodies must be application/json (UTF-8)",
                );
            }
            let limit = state.app.config.body_limit_bytes;
            let bytes = match axum::body::to_bytes(body, limit).await {
                Ok(bytes) => bytes,
                Err(_) => return app_error(AppError::PayloadTooLarge { limit }, media),
            };
            match serde_json::from_slice::<Json>(&bytes) {
                Ok(Json::Object(map)) => params_from(&map),
                Ok(_) => Err("the body must be a JSON object".into()),
                Err(e) => {
                    return request_error(
                        StatusCode::BAD_REQUEST,
                        media,
                        "invalid_json",
                        format!("malformed JSON: {e}"),
                    );
                }
            }
        }
        _ => {
            let mut response =
                request_error(StatusCode::METHOD_NOT_ALLOWED, media, "method_not_allowed", "use GET or POST");
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return response;
        }
    };
    let params = match params {
        Ok(params) => params,
        Err(message) => return request_error(StatusCode::BAD_REQUEST, media, "invalid_request", message),
    };
    let principal = match state.app.auth.from_headers(&headers).await {
        Ok(principal) => principal,
        Err(err) => return app_error(err, media),
    };
    let document = match state.documents.parse(&params.query) {
        Ok(document) => document,
        Err(err) => {
            let response = errors::parse_error(err);
            let status = if media == MediaType::Json { StatusCode::OK } else { StatusCode::BAD_REQUEST };
            return respond(status, media, None, &response.errors);
        }
    };
    if method == Method::GET {
        let kind = match &params.operation_name {
            Some(name) => document
                .operations
                .iter()
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
                .map(|(_, op)| op.node.ty),
            None => document.operations.iter().next().map(|(_, op)| op.node.ty),
        };
        if matches!(kind, Some(OperationType::Mutation | OperationType::Subscription)) {
            let mut response = request_error(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "method_not_allowed",
                "mutations and subscriptions require POST",
            );
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
    }
    let mut request = async_graphql::Request::new(params.query).variables(params.variables);
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(document.clone());
    request.data = request_data(&state.app, principal);
    let mut response = state.schema.execute(request).await;
    errors::annotate(&mut response);
    if errors::is_request_error(&response) {
        let status = if media == MediaType::Json { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        return respond(status, media, None, &response.errors);
    }
    super::ordering::order_response(&mut response.data, &document, params.operation_name.as_deref());
    respond(StatusCode::OK, media, Some(&response.data), &response.errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("header"));
        negotiate(&headers)
    }

    #[test]
    fn negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(MediaType::Json));
        assert_eq!(accept("application/graphql-response+json"), Some(MediaType::GraphqlResponseJson));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(
            accept("application/json;q=0.9, application/graphql-response+json"),
            Some(MediaType::GraphqlResponseJson)
        );
        assert_eq!(accept("text/html"), None);
    }
}
