//! Authentication: API keys and JWT access tokens both resolve to a [`Principal`].
pub mod api_key;
pub mod authenticator;
pub mod jwt;
pub mod principal;

pub use authenticator::Authenticator;
pub use principal::{AuthMethod, Plan, Principal};

/// The caller as the limits layer authenticated it, passed to the handler in the request's extensions so that a
/// key is looked up once per request.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl Authenticator {
    /// The request's caller: the one the limits layer found, or authenticated from the headers now.
    pub async fn from_request(
        &self,
        headers: &axum::http::HeaderMap,
        known: Option<axum::Extension<Authenticated>>,
    ) -> crate::error::AppResult<Principal> {
        match known {
            Some(axum::Extension(Authenticated(principal))) => Ok(principal),
            None => self.from_headers(headers).await,
        }
    }
}
