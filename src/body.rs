//! Reading a request body whole: within the body limit, telling a body that is too large (413) from one that
//! stalled past `OPENCLAW_HTTP_BODY_READ_TIMEOUT_MS` or broke off (408).
use axum::body::{Body, Bytes};

use crate::error::{AppError, AppResult};

pub async fn read(body: Body, limit: usize) -> AppResult<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(cause) = source {
            if cause.is::<http_body_util::LengthLimitError>() {
                return AppError::PayloadTooLarge { limit };
            }
            source = cause.source();
        }
        AppError::BadRequest {
            code: "request_timeout",
            message: "the request body stopped arriving before it was complete".to_owned(),
        }
    })
}
