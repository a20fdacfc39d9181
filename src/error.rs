//! The one application error, and its mappings to HTTP statuses, SPEC §2 error bodies and GraphQL errors.
use async_graphql::ErrorExtensions as _;
use axum::http::StatusCode;
use sea_orm::DbErr;
use serde_json::{Value, json};

/// Every failure a request can end in. `code()` and `status()` are the single source of truth for the wire.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    #[error("too many concurrent requests: the plan allows {limit} at once")]
    ConcurrencyLimited { limit: u32 },
    #[error("the monthly token allowance of {included} tokens is used up; it renews on {renews}")]
    QuotaExceeded { included: u64, renews: String, retry_after_secs: u64 },
    #[error("the model provider failed: {0}")]
    Upstream(String),
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// Opaque on purpose: the cause is logged, never shown.
    #[error("an internal error occurred")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { message: message.into() }
    }

    /// The snake_case `code` clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "unauthenticated",
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Validation { .. } => "validation_error",
            Self::BadRequest { code, .. } | Self::Conflict { code, .. } => code,
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::ConcurrencyLimited { .. } => "concurrency_limited",
            Self::QuotaExceeded { .. } => "quota_exceeded",
            Self::Upstream(_) => "upstream_error",
            Self::Unavailable => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        status_for_code(self.code())
    }

    /// The message shown to clients; internal causes are logged, never shown.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                "an internal error occurred".to_owned()
            }
            other => other.to_string(),
        }
    }

    /// When a retry can succeed, for `Retry-After`. A freed concurrency slot cannot be predicted: one second.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs } | Self::QuotaExceeded { retry_after_secs, .. } => {
                Some(*retry_after_secs)
            }
            Self::ConcurrencyLimited { .. } => Some(1),
            _ => None,
        }
    }

    /// Structured `details` for the error body (the offending field, retry hints).
    pub fn details(&self) -> Option<Value> {
        match self {
            Self::Validation { field, .. } => Some(json!({ "field": field })),
            Self::RateLimited { retry_after_secs } => Some(json!({ "retryAfter": retry_after_secs })),
            Self::PayloadTooLarge { limit } => Some(json!({ "limit": limit })),
            Self::ConcurrencyLimited { limit } => Some(json!({ "limit": limit, "retryAfter": 1 })),
            Self::QuotaExceeded { included, renews, retry_after_secs } => {
                Some(json!({ "included": included, "renews": renews, "retryAfter": retry_after_secs }))
            }
            _ => None,
        }
    }
}

/// Maps an error `code` to its HTTP status. The REST layer uses it to turn GraphQL `extensions.code` back into a
/// status, so a code has one status wherever it is raised.
pub fn status_for_code(code: &str) -> StatusCode {
    match code {
        "unauthenticated" => StatusCode::UNAUTHORIZED,
        "forbidden" | "insufficient_scope" => StatusCode::FORBIDDEN,
        "not_found" | "route_not_found" => StatusCode::NOT_FOUND,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "conflict"
        | "already_installed"
        | "conversation_busy"
        | "task_not_cancellable"
        | "conversation_archived"
        | "no_active_reply"
        | "idempotency_key_in_use"
        | "stream_unavailable"
        | "subscription_lagged"
        | "webhook_limit_reached" => StatusCode::CONFLICT,
        "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "request_timeout" => StatusCode::REQUEST_TIMEOUT,
        "unsupported_media_type" | "unsupported_file_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "idempotency_mismatch" | "unreadable_file" | "extraction_limit" => StatusCode::UNPROCESSABLE_ENTITY,
        "rate_limited" | "concurrency_limited" | "quota_exceeded" => StatusCode::TOO_MANY_REQUESTS,
        "upstream_timeout" => StatusCode::GATEWAY_TIMEOUT,
        code if code.starts_with("upstream_") => StatusCode::BAD_GATEWAY,
        "service_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "internal_error" => StatusCode::INTERNAL_SERVER_ERROR,
        // validation_error, invalid_json, graphql_parse_error, query_too_deep, … are all client mistakes.
        _ => StatusCode::BAD_REQUEST,
    }
}

/// SQLSTATE classes that mean "the client sent text the database cannot store" (e.g. NUL in PostgreSQL text).
const INVALID_TEXT_SQLSTATES: &[&str] = &["22021", "22P05"];

/// SQLite's SQLITE_BUSY / SQLITE_LOCKED result codes (and their extended forms), as sqlx reports them.
const SQLITE_BUSY_CODES: &[&str] = &["5", "6", "261", "517", "262"];

fn sqlstate(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) => {
            e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
        }
        _ => None,
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if sqlstate(&err).is_some_and(|code| INVALID_TEXT_SQLSTATES.contains(&code.as_str())) {
            return Self::BadRequest {
                code: "validation_error",
                message: "text values must be valid UTF-8 without NUL characters".to_owned(),
            };
        }
        if sqlstate(&err).is_some_and(|code| SQLITE_BUSY_CODES.contains(&code.as_str())) {
            // The database stayed locked past the busy timeout: overload, retryable — not a server bug.
            tracing::warn!(error = %err, "database busy");
            return Self::Unavailable;
        }
        match &err {
            DbErr::RecordNotFound(_) => Self::NotFound { resource: "record" },
            DbErr::ConnectionAcquire(_) => Self::Unavailable,
            _ => match err.sql_err() {
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Self::Conflict {
                    code: "conflict",
                    message: "a resource with these values already exists".to_owned(),
                },
                _ => Self::Internal(anyhow::Error::new(err)),
            },
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(err)
    }
}

impl AppError {
    /// The GraphQL error: public message plus `extensions.code` (and `details`).
    pub fn into_graphql(self) -> async_graphql::Error {
        let gql = async_graphql::Error::new(self.public_message());
        let code = self.code();
        let details = self.details();
        gql.extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(details) = details
                && let Ok(value) = async_graphql::Value::from_json(details)
            {
                ext.set("details", value);
            }
        })
    }
}

pub type AppResult<T> = Result<T, AppError>;
