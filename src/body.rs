//! Reading a request body whole: within the body limit and an overall deadline (a body that trickles in a byte at
//! a time is cut off too, not only one that stops), telling a body that is too large (413) from one that stalled
//! or broke off (408).
use std::time::Duration;

use axum::body::{Body, Bytes};

use crate::error::{AppError, AppResult};

fn timed_out() -> AppError {
    AppError::BadRequest {
        code: "request_timeout",
        message: "the request body did not arrive in time; send it whole, without pauses".to_owned(),
    }
}

pub async fn read(body: Body, limit: usize, deadline: Duration) -> AppResult<Bytes> {
    let read = tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await.map_err(|_| timed_out())?;
    read.map_err(|err| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(cause) = source {
            if cause.is::<http_body_util::LengthLimitError>() {
                return AppError::PayloadTooLarge { limit };
            }
            source = cause.source();
        }
        timed_out()
    })
}
