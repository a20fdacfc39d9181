//! The client's DNS resolver and redirect policy: the checks run at connect time, on the addresses actually
//! used, so a name that resolved to a public address during `check_url` and to an internal one a moment later
//! (DNS rebinding) is still refused.

use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

use super::MAX_REDIRECTS;
use super::error::OutboundError;
use super::policy::Policy;

/// Resolves with the system resolver, then applies the policy to every answer.
///
/// reqwest calls it only for host names; literal IP hosts skip DNS, which is why [`redirect_policy`] and
/// `check_url` check those.
pub(super) struct GuardedResolver {
    pub(super) policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let name = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest substitutes the URL's port.
            let addrs = policy.resolve(&name, 0).await.inspect_err(|error| {
                tracing::warn!(host = %name, %error, "outbound resolution refused");
            })?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Follows at most [`MAX_REDIRECTS`] redirects, each target passing `check_url` first (host names are then
/// resolved through [`GuardedResolver`]).
pub(super) fn redirect_policy(policy: Arc<Policy>) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(OutboundError::TooManyRedirects);
        }
        match policy.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(error) => {
                // The host only: the full URL may carry a token in its query.
                tracing::warn!(target_host = attempt.url().host_str(), %error, "outbound redirect refused");
                attempt.error(error)
            }
        }
    })
}
