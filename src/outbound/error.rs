//! The one error type of outbound requests, with stable codes for API responses.

use std::error::Error as StdError;

/// Why an outbound request was refused or failed.
///
/// `Clone` because the resolver and the redirect policy hand their error to reqwest, which boxes it; it is found
/// again by reference in the source chain (see [`OutboundError::from_reqwest`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboundError {
    /// Not an absolute http(s) URL with a host and without credentials.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// The target (or a redirect target, or a resolved address) is not allowed by the SSRF policy.
    #[error("refusing to connect to {host} ({reason}); allow it with OPENCLAW_OUTBOUND_ALLOWLIST")]
    Forbidden { host: String, reason: &'static str },
    /// The host name did not resolve.
    #[error("could not resolve host: {0}")]
    Dns(String),
    /// The connect or overall deadline passed.
    #[error("request timed out")]
    Timeout,
    /// No connection could be established (refused, reset, TLS failure).
    #[error("could not connect: {0}")]
    Connect(String),
    /// The server answered with a non-2xx status.
    #[error("upstream answered HTTP {0}")]
    Status(u16),
    /// The body is larger than the caller's limit.
    #[error("response larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// More redirects than [`super::MAX_REDIRECTS`].
    #[error("too many redirects (more than {})", super::MAX_REDIRECTS)]
    TooManyRedirects,
    /// Any other HTTP failure (malformed response, body decoding).
    #[error("HTTP request failed: {0}")]
    Http(String),
}

impl OutboundError {
    /// The machine-readable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::Forbidden { .. } => "url_forbidden",
            Self::Dns(_) => "dns_failed",
            Self::Timeout => "timeout",
            Self::Connect(_) => "connect_failed",
            Self::Status(_) => "upstream_status",
            Self::TooLarge { .. } => "too_large",
            Self::TooManyRedirects => "too_many_redirects",
            Self::Http(_) => "http_failed",
        }
    }

    /// Classifies a reqwest error.
    ///
    /// Our resolver's and redirect policy's errors reach the caller boxed several layers deep inside reqwest's
    /// (reqwest → hyper-util → connector); they are looked up in the source chain first, so a refused target
    /// reports `url_forbidden` rather than a generic connect failure.
    pub fn from_reqwest(err: reqwest::Error) -> OutboundError {
        let mut source: Option<&(dyn StdError + 'static)> = Some(&err);
        while let Some(current) = source {
            if let Some(ours) = current.downcast_ref::<OutboundError>() {
                return ours.clone();
            }
            source = current.source();
        }
        if err.is_timeout() {
            OutboundError::Timeout
        } else if err.is_connect() {
            OutboundError::Connect(chain_text(&err))
        } else {
            OutboundError::Http(chain_text(&err))
        }
    }
}

/// `outer: inner: innermost` — reqwest's own message alone ("error sending request") hides the cause.
fn chain_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(current) = source {
        text.push_str(": ");
        text.push_str(&current.to_string());
        source = current.source();
    }
    text
}
