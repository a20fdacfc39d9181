//! Outbound HTTP to user-supplied URLs (webhook deliveries, task callbacks, `fileUrl` downloads) behind an SSRF
//! guard.
//!
//! Every request to a URL a user controls goes through [`OutboundGuard`]: such a URL could otherwise point the
//! server at its own admin ports, the cluster network or the cloud metadata service. The policy is enforced at
//! three points — the URL as given ([`OutboundGuard::check_url`]), every redirect target, and every address the
//! resolver returns at connect time — because checking only the first lets redirects and DNS rebinding through.
//! Operators exempt their own internal receivers with `OPENCLAW_OUTBOUND_ALLOWLIST` ([`Allowlist`]).

mod allowlist;
mod error;
mod policy;
mod ranges;
mod resolver;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use futures_util::StreamExt;
use url::{Host, Url};

pub use allowlist::{Allowlist, AllowlistError};
pub use error::OutboundError;
pub use ranges::{forbidden_host_reason, forbidden_reason};

use policy::Policy;
use resolver::{GuardedResolver, redirect_policy};

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

/// Upper bound on connecting, however long the caller lets the whole request take: an unreachable receiver
/// should fail fast and leave the retry schedule to the caller.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Initial body buffer, so a lying or absent Content-Length cannot make us reserve `max_bytes` up front.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

const USER_AGENT: &str = concat!("openclaw-server/", env!("CARGO_PKG_VERSION"));

/// A request to a user-supplied URL (see [`OutboundGuard::send`]).
pub struct OutboundRequest<'a> {
    pub method: reqwest::Method,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Option<Bytes>,
    pub redirects: Redirects,
}

/// A fetched response body (see [`OutboundGuard::fetch`]).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub content_type: Option<String>,
    /// The URL after redirects.
    pub final_url: String,
    pub bytes: Bytes,
}

/// Whether a request follows redirects (each hop checked by the SSRF policy) or answers the 3xx itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Redirects {
    Follow,
    /// For requests whose target was checked against more than the SSRF policy (a skill's allowed hosts) or that
    /// carry a body or credentials a redirect would resend elsewhere.
    Refuse,
}

/// The SSRF-guarded HTTP client factory. Cheap to clone; clones share the policy and the clients.
#[derive(Clone)]
pub struct OutboundGuard {
    inner: Arc<Inner>,
}

struct Inner {
    policy: Arc<Policy>,
    /// One client per timeout and redirect choice: reqwest fixes both per client, and a client per request would
    /// lose connection pooling and reload TLS roots every time.
    clients: Mutex<HashMap<(Duration, Redirects), reqwest::Client>>,
}

impl std::fmt::Debug for OutboundGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundGuard").field("policy", &self.inner.policy).finish_non_exhaustive()
    }
}

impl OutboundGuard {
    /// A guard refusing internal targets except those `allowlist` exempts.
    pub fn new(allowlist: Allowlist) -> Self {
        let inner = Inner { policy: Arc::new(Policy::new(allowlist)), clients: Mutex::new(HashMap::new()) };
        Self { inner: Arc::new(inner) }
    }

    /// Parses `url` and applies the checks that need no DNS: http(s) only, a host, no credentials, and the
    /// address policy for literal IP hosts and local host names.
    pub fn check_url(&self, url: &str) -> Result<Url, OutboundError> {
        let parsed = Url::parse(url).map_err(|error| OutboundError::InvalidUrl(error.to_string()))?;
        self.inner.policy.check_url(&parsed)?;
        Ok(parsed)
    }

    /// Resolves the URL's host and refuses it if any address is forbidden (unless the host name or the address
    /// is allow-listed). For callers that connect by other means; [`client`](Self::client) does this itself.
    pub async fn resolve_checked(&self, url: &Url) -> Result<Vec<SocketAddr>, OutboundError> {
        let policy = &self.inner.policy;
        policy.check_url(url)?;
        let port =
            url.port_or_known_default().ok_or_else(|| OutboundError::InvalidUrl("the URL has no port".to_owned()))?;
        match url.host() {
            Some(Host::Ipv4(ip)) => Ok(vec![SocketAddr::new(ip.into(), port)]),
            Some(Host::Ipv6(ip)) => Ok(vec![SocketAddr::new(ip.into(), port)]),
            Some(Host::Domain(name)) => policy.resolve(name, port).await,
            None => Err(OutboundError::InvalidUrl("the URL has no host".to_owned())),
        }
    }

    /// The guarded client for requests that must finish within `timeout`.
    ///
    /// Its resolver applies the policy to every address, its redirect policy re-checks every target, and it
    /// ignores proxy settings from the environment (a proxy would connect on our behalf, unchecked). Callers
    /// must still pass their URL through [`check_url`](Self::check_url) first: literal IP hosts skip the
    /// resolver.
    ///
    /// # Panics
    ///
    /// If reqwest cannot build a client at all (TLS backend initialisation), as `reqwest::Client::new` does.
    /// Use [`try_client`](Self::try_client) to get an error instead.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        self.try_client(timeout).expect("building the outbound HTTP client")
    }

    /// [`client`](Self::client), reporting a build failure instead of panicking.
    pub fn try_client(&self, timeout: Duration) -> Result<reqwest::Client, OutboundError> {
        self.client_for(timeout, Redirects::Follow)
    }

    fn client_for(&self, timeout: Duration, redirects: Redirects) -> Result<reqwest::Client, OutboundError> {
        let mut clients = self.inner.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = clients.get(&(timeout, redirects)) {
            return Ok(client.clone());
        }
        let client = self.build_client(timeout, redirects)?;
        clients.insert((timeout, redirects), client.clone());
        Ok(client)
    }

    fn build_client(&self, timeout: Duration, redirects: Redirects) -> Result<reqwest::Client, OutboundError> {
        let policy = &self.inner.policy;
        let redirect = match redirects {
            Redirects::Follow => redirect_policy(Arc::clone(policy)),
            Redirects::Refuse => reqwest::redirect::Policy::none(),
        };
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { policy: Arc::clone(policy) }))
            .redirect(redirect)
            .no_proxy()
            // The previous URL may carry a secret (a callback token); don't hand it to a redirect target.
            .referer(false)
            .user_agent(USER_AGENT)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .timeout(timeout)
            .build()
            .map_err(|error| OutboundError::Http(format!("building the HTTP client: {error}")))
    }

    /// GETs `url` and returns its body, refusing non-2xx answers and bodies over `max_bytes` (checked against
    /// Content-Length first, then while streaming, so an endless body is cut off early).
    #[tracing::instrument(skip_all, fields(host), err(level = "warn"))]
    pub async fn fetch(&self, url: &str, max_bytes: usize, timeout: Duration) -> Result<Fetched, OutboundError> {
        let request = OutboundRequest {
            method: reqwest::Method::GET,
            url,
            headers: &[],
            body: None,
            redirects: Redirects::Follow,
        };
        let fetched = self.send(request, max_bytes, timeout).await?;
        if !(200..300).contains(&fetched.status) {
            return Err(OutboundError::Status(fetched.status));
        }
        Ok(fetched)
    }

    /// Sends any request to `url` and returns the answer whatever its status, with the body bounded like
    /// [`fetch`](Self::fetch)'s. For skills that call APIs (`http-request`, custom skills).
    pub async fn send(
        &self,
        request: OutboundRequest<'_>,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Fetched, OutboundError> {
        let OutboundRequest { method, url, headers, body, redirects } = request;
        let url = self.check_url(url)?;
        tracing::Span::current().record("host", url.host_str());
        let client = self.client_for(timeout, redirects)?;
        let mut request = client.request(method, url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(OutboundError::from_reqwest)?;
        let status = response.status();
        let too_large = OutboundError::TooLarge { limit: max_bytes };
        let declared = response.content_length();
        if declared.is_some_and(|length| length > max_bytes as u64) {
            return Err(too_large);
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let final_url = response.url().to_string();

        let declared = declared.map_or(INITIAL_BODY_CAPACITY, |length| usize::try_from(length).unwrap_or(usize::MAX));
        let mut body = Vec::with_capacity(declared.min(INITIAL_BODY_CAPACITY).min(max_bytes));
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(OutboundError::from_reqwest)?;
            if chunk.len() > max_bytes - body.len() {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { status: status.as_u16(), content_type, final_url, bytes: Bytes::from(body) })
    }
}
