//! Executes a route: authenticate, turn path/query/body into GraphQL variables, run the stored document against
//! the schema, answer with one field of `data` (or the SPEC error body, status from the error's `code`).
use std::{collections::HashMap, sync::Arc};

use async_graphql::{Name, Value, Variables, parser::types::ExecutableDocument};
use axum::{
    Extension, Router,
    body::Body,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use serde_json::Value as Json;

use super::{
    idempotency,
    problem::{self, request_id},
    routes::{Arg, ArgType, ROUTES, Route},
    sse,
};
use crate::{
    app::HttpState,
    auth::Authenticated,
    error::AppError,
    graphql::{errors, request_data},
    services,
    unit_of_work::UnitOfWork,
};

/// A route with its document parsed once, at start-up.
pub struct CompiledRoute {
    pub route: &'static Route,
    document: ExecutableDocument,
    /// The stream's start operation and subscription, parsed.
    pub(super) stream: Option<(ExecutableDocument, ExecutableDocument)>,
}

pub struct CompiledRoutes(pub Vec<CompiledRoute>);

impl CompiledRoutes {
    /// Parses every stored document; a typo in the table fails start-up, not a request.
    pub fn compile() -> anyhow::Result<Self> {
        ROUTES
            .iter()
            .map(|route| {
                let parse = |text: &str| {
                    async_graphql::parser::parse_query(text)
                        .map_err(|e| anyhow::anyhow!("route {} {}: {e}", route.method, route.path))
                };
                let stream = match route.stream {
                    Some(spec) => Some((parse(spec.start)?, parse(spec.subscription)?)),
                    None => None,
                };
                Ok(CompiledRoute { route, document: parse(route.document)?, stream })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Self)
    }
}

/// An axum router with one entry per table row, plus JSON 405s for known paths.
pub fn router(routes: Arc<CompiledRoutes>) -> Router<HttpState> {
    let mut by_path: Vec<(&'static str, MethodRouter<HttpState>, Vec<&'static str>)> = Vec::new();
    for index in 0..routes.0.len() {
        let route = routes.0[index].route;
        let routes = routes.clone();
        let handler = move |state: State<HttpState>,
                            path: Path<HashMap<String, String>>,
                            query: RawQuery,
                            headers: HeaderMap,
                            work: Option<Extension<UnitOfWork>>,
                            known: Option<Extension<Authenticated>>,
                            body: Body| async move {
            let work = work.map(|Extension(work)| work);
            let call = Call { path: path.0, raw_query: query.0, headers, work, known, claim: None };
            execute(state, routes, index, call, body).await
        };
        let filter = MethodFilter::try_from(route.method.clone()).unwrap_or(MethodFilter::GET);
        match by_path.iter_mut().find(|(path, _, _)| *path == route.path) {
            Some((_, method_router, methods)) => {
                *method_router = std::mem::take(method_router).on(filter, handler);
                methods.push(route.method.as_str());
            }
            None => by_path.push((route.path, on(filter, handler), vec![route.method.as_str()])),
        }
    }
    by_path.into_iter().fold(Router::new(), |router, (path, method_router, methods)| {
        let allow = methods.join(", ");
        router.route(
            path,
            method_router.fallback(move |headers: HeaderMap| async move {
                let mut response = problem::problem(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    &format!("this path allows {allow}"),
                    None,
                    request_id(&headers),
                );
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
                response
            }),
        )
    })
}

/// What a call brings besides its body.
pub(super) struct Call {
    pub path: HashMap<String, String>,
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
    /// Set by an atomic batch: the transaction this call writes into.
    pub work: Option<UnitOfWork>,
    /// The caller, if the limits layer authenticated it already.
    pub known: Option<Extension<Authenticated>>,
    /// The `Idempotency-Key` this call runs under, for the work to note its progress on.
    pub claim: Option<services::idempotency::Claim>,
}

impl Call {
    /// The database handle this call reads and writes through.
    pub fn db<'a>(&'a self, state: &'a HttpState) -> &'a crate::db::Db {
        self.work.as_ref().map_or(&state.app.db, UnitOfWork::db)
    }
}

async fn execute(
    State(state): State<HttpState>,
    routes: Arc<CompiledRoutes>,
    index: usize,
    mut call: Call,
    body: Body,
) -> Response {
    let compiled = &routes.0[index];
    let request_id = request_id(&call.headers).to_owned();
    let route = compiled.route;
    let principal = match state.app.auth.from_request(&call.headers, call.known.clone()).await {
        Ok(principal) => principal,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    let limit = state.app.config.body_limit_bytes;
    let bytes = match crate::body::read(body, limit, state.app.config.body_deadline()).await {
        Ok(bytes) => bytes,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    let key = match idempotency::key_of(route, &call.headers) {
        Ok(key) => key,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    let Some(key) = key else {
        return respond(&state, compiled, &call, bytes, principal, None).await;
    };
    let account_id = principal.account_id.clone();
    let fingerprint =
        services::idempotency::Fingerprint::of(route.method.as_str(), &concrete_path(route, &call), &bytes);
    let ttl = chrono::Duration::seconds(i64::try_from(state.app.config.idempotency_ttl_secs).unwrap_or(86_400));
    let lease = std::time::Duration::from_secs(state.app.config.idempotency_lock_lease_secs.max(3));
    let chrono_lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(30));
    match services::idempotency::begin(call.db(&state), &account_id, &key, &fingerprint, chrono_lease).await {
        Err(err) => problem::from_app_error(err, &request_id),
        Ok(services::idempotency::Begin::Replay(remembered)) => {
            idempotency::replay(&state, compiled, &call, bytes, principal, remembered).await
        }
        Ok(services::idempotency::Begin::Fresh) => {
            call.claim = Some(services::idempotency::Claim { account_id: account_id.clone(), key: key.clone() });
            let claimed = idempotency::Claimed { db: call.db(&state).clone(), account_id, key, ttl, lease };
            let routes = routes.clone();
            idempotency::run_fresh(claimed, async move {
                respond(&state, &routes.0[index], &call, bytes, principal, None).await
            })
            .await
        }
        Ok(services::idempotency::Begin::Orphaned { reply_id }) => {
            let claimed = idempotency::Claimed { db: call.db(&state).clone(), account_id, key, ttl, lease };
            let routes = routes.clone();
            idempotency::run_fresh(claimed, async move {
                orphaned(&state, &routes.0[index], &call, bytes, principal, reply_id).await
            })
            .await
        }
    }
}

/// The request's path with its parameters filled in (part of an idempotency fingerprint).
fn concrete_path(route: &Route, call: &Call) -> String {
    call.path.iter().fold(route.path.to_owned(), |path, (name, value)| path.replace(&format!("{{{name}}}"), value))
}

/// Runs a call: JSON, or a stream when the route streams (for `replay_of`, the stream of that reply).
pub(super) async fn respond(
    state: &HttpState,
    compiled: &CompiledRoute,
    call: &Call,
    bytes: axum::body::Bytes,
    principal: crate::auth::Principal,
    replay_of: Option<String>,
) -> Response {
    let request_id = request_id(&call.headers).to_owned();
    let route = compiled.route;
    let variables = match variables(route, &call.path, call.raw_query.as_deref(), &call.headers, bytes).await {
        Ok(variables) => variables,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    if let (Some(spec), Some(documents)) = (route.stream, &compiled.stream)
        && (wants_stream(route, &variables) || replay_of.is_some())
    {
        let claim = call.claim.clone();
        let request = sse::StreamRequest { spec, documents, variables, principal, headers: &call.headers, claim };
        return sse::respond(state, request, replay_of).await;
    }
    let mut request = async_graphql::Request::new(route.document).variables(variables);
    request.set_parsed_query(compiled.document.clone());
    request.data = request_data(&state.app, principal, call.work.clone());
    request.data.insert(crate::limits::graphql::FlatRate);
    if let Some(claim) = &call.claim {
        request.data.insert(claim.clone());
    }
    let mut response = state.schema.execute(request).await;
    if let Some(problem) = error_response(&mut response, &request_id) {
        return problem;
    }
    crate::graphql::ordering::order_response(&mut response.data, &compiled.document, None);
    if route.status == StatusCode::NO_CONTENT {
        return StatusCode::NO_CONTENT.into_response();
    }
    let field = match &response.data {
        Value::Object(map) => map.get(route.field),
        _ => None,
    };
    match field.map(serde_json::to_vec) {
        Some(Ok(bytes)) => {
            let mut response = (route.status, bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        _ => problem::from_app_error(
            AppError::Internal(anyhow::anyhow!("route {} returned no {}", route.path, route.field)),
            &request_id,
        ),
    }
}

/// Whether a call of a streaming route asks for the stream (`"stream": true` where the route streams on a flag).
fn wants_stream(route: &Route, variables: &Variables) -> bool {
    route.stream.is_some_and(|spec| {
        !spec.when_body_flag
            || matches!(variables.get("input"), Some(Value::Object(input)) if input.get("stream") == Some(&Value::Boolean(true)))
    })
}

/// The answer to a retry whose first request died after storing its message (`Begin::Orphaned`): the reply's
/// resumable stream when the request streams, else the exchange as it stands (after a restart the reply is
/// `failed` with `interrupted`, keeping what was saved of it).
async fn orphaned(
    state: &HttpState,
    compiled: &CompiledRoute,
    call: &Call,
    bytes: axum::body::Bytes,
    principal: crate::auth::Principal,
    reply_id: String,
) -> Response {
    let request_id = request_id(&call.headers).to_owned();
    let route = compiled.route;
    let variables = match variables(route, &call.path, call.raw_query.as_deref(), &call.headers, bytes.clone()).await {
        Ok(variables) => variables,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    if wants_stream(route, &variables) {
        return respond(state, compiled, call, bytes, principal, Some(reply_id)).await;
    }
    let reply = match services::messages::get(call.db(state), &principal.account_id, &reply_id).await {
        Ok(reply) => reply,
        Err(err) => return problem::from_app_error(err, &request_id),
    };
    let mut ids = async_graphql::indexmap::IndexMap::new();
    ids.insert(Name::new("message"), Value::String(reply.reply_to.unwrap_or_default()));
    ids.insert(Name::new("reply"), Value::String(reply_id));
    let mut request =
        async_graphql::Request::new(super::routes::SENT_EXCHANGE).variables(Variables::from_value(Value::Object(ids)));
    request.data = request_data(&state.app, principal, call.work.clone());
    request.data.insert(crate::limits::graphql::FlatRate);
    let mut response = state.schema.execute(request).await;
    if let Some(problem) = error_response(&mut response, &request_id) {
        return problem;
    }
    match serde_json::to_vec(&response.data) {
        Ok(bytes) => {
            let mut response = (route.status, bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(err) => problem::from_app_error(AppError::Internal(err.into()), &request_id),
    }
}

/// The SPEC error body of a GraphQL response's first error, if it has one.
pub(super) fn error_response(response: &mut async_graphql::Response, request_id: &str) -> Option<Response> {
    let error = response.errors.first_mut()?;
    errors::annotate_error(error);
    let code = errors::code_of(error);
    let details = error.extensions.as_ref().and_then(|ext| ext.get("details")).and_then(|d| d.clone().into_json().ok());
    Some(problem::from_code(&code, &error.message, details, request_id))
}

/// Builds the GraphQL variables of a call from its path, query string and body.
async fn variables(
    route: &Route,
    path: &HashMap<String, String>,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: axum::body::Bytes,
) -> Result<Variables, AppError> {
    let mut vars = async_graphql::indexmap::IndexMap::new();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()).into_owned().collect();
    let mut body = Some(body);
    for arg in route.args {
        match *arg {
            Arg::Path(name) => {
                let value = path.get(name).cloned().unwrap_or_default();
                vars.insert(Name::new(name), Value::String(value));
            }
            Arg::Query(name, kind) => {
                let Some(raw) = query.get(name) else { continue };
                let value = match kind {
                    ArgType::String => Value::String(raw.clone()),
                    ArgType::Int => Value::Number(
                        raw.parse::<i64>()
                            .map_err(|_| AppError::validation(name, format!("must be an integer, got `{raw}`")))?
                            .into(),
                    ),
                };
                vars.insert(Name::new(name), value);
            }
            Arg::Body { variable, required } => {
                let body = body.take().unwrap_or_default();
                if let Some(json) = read_json_body(headers, &body, required)? {
                    vars.insert(
                        Name::new(variable),
                        Value::from_json(crate::graphql::variables::normalize_numbers(json))
                            .map_err(|e| AppError::Internal(e.into()))?,
                    );
                }
            }
        }
    }
    Ok(Variables::from_value(Value::Object(vars)))
}

/// Reads a JSON object body. Empty bodies are allowed only when the body is optional.
fn read_json_body(headers: &HeaderMap, bytes: &[u8], required: bool) -> Result<Option<Json>, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if required {
            Err(AppError::BadRequest { code: "invalid_json", message: "a JSON object body is required".into() })
        } else {
            Ok(None)
        };
    }
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let is_json = content_type
            .to_str()
            .ok()
            .and_then(|v| v.split(';').next())
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(AppError::BadRequest {
                code: "unsupported_media_type",
                message: "request bodies must be application/json".into(),
            });
        }
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(json @ Json::Object(_)) => Ok(Some(json)),
        Ok(_) => Err(AppError::BadRequest { code: "invalid_json", message: "the body must be a JSON object".into() }),
        Err(e) => Err(AppError::BadRequest { code: "invalid_json", message: format!("malformed JSON: {e}") }),
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;

    #[test]
    fn fuzz_rest_bodies_to_variables() {
        const VOCABULARY: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            " ",
            "1",
            "-0",
            "1e400",
            "9007199254740993",
            "true",
            "null",
            "\"name\"",
            "\"settings\"",
            "\"maxTokens\"",
            "\"temperature\"",
            "\"content\"",
            "\"stream\"",
            "\\u0000",
            "\\ud800",
            "é",
        ];
        let routes: Vec<&Route> =
            ROUTES.iter().filter(|r| r.args.iter().any(|a| matches!(a, Arg::Body { .. }))).collect();
        let path: HashMap<String, String> = ROUTES
            .iter()
            .flat_map(|r| r.args.iter())
            .filter_map(|a| if let Arg::Path(name) = a { Some(((*name).to_owned(), "x-1".to_owned())) } else { None })
            .collect();
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        crate::fuzz::run("rest_bodies", VOCABULARY, |input| {
            for route in &routes {
                let body = axum::body::Bytes::copy_from_slice(input);
                let built = futures_util::FutureExt::now_or_never(variables(
                    route,
                    &path,
                    Some("limit=5&page=x"),
                    &headers,
                    body,
                ));
                assert!(built.is_some(), "building variables never waits");
            }
        });
    }
}
