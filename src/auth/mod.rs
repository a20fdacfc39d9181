//! Authentication: API keys and JWT access tokens both resolve to a [`Principal`].
pub mod api_key;
pub mod authenticator;
pub mod jwt;
pub mod principal;

pub use authenticator::Authenticator;
pub use principal::{AuthMethod, Plan, Principal};
