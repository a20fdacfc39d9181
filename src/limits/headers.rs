//! The rate state on the wire: `X-RateLimit-Limit` / `-Remaining` / `-Reset` (epoch seconds), the IETF draft's
//! `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured fields), and on a 429
//! `Retry-After`, rounded up so that a retry at that moment succeeds.
use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::{Decision, RateState};

const POLICY: &str = "per-minute";

/// Whole seconds, rounded up.
pub fn ceil_secs(us: i64) -> i64 {
    (us.max(0) + 999_999) / 1_000_000
}

/// Writes the state's headers (none for an unlimited plan or a degraded store: there is no limit to report).
pub fn apply(headers: &mut HeaderMap, state: &RateState) {
    let RateState::Limited { decision, now_us } = state else { return };
    let reset_at = ceil_secs(now_us + decision.reset_us);
    let reset_in = ceil_secs(decision.reset_us);
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("x-ratelimit-limit", decision.limit.to_string());
    set("x-ratelimit-remaining", decision.remaining.to_string());
    set("x-ratelimit-reset", reset_at.to_string());
    set("ratelimit-policy", format!("\"{POLICY}\";q={};w=60", decision.limit));
    set("ratelimit", format!("\"{POLICY}\";r={};t={reset_in}", decision.remaining));
    if !decision.allowed {
        set("retry-after", retry_after_secs(decision).to_string());
    }
}

/// The `Retry-After` of a denial: never before the moment the same request would pass.
pub fn retry_after_secs(decision: &Decision) -> u64 {
    ceil_secs(decision.retry_after_us).max(1) as u64
}
