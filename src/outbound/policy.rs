//! The SSRF policy with the operator's allow-list applied: the checks shared by `check_url`, `resolve_checked`,
//! the client's resolver and its redirect policy, so all four refuse exactly the same targets.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use super::allowlist::{Allowlist, normalize_host};
use super::error::OutboundError;
use super::ranges::{forbidden_host_reason, forbidden_reason, mapped_v4};

/// Whether a host name's resolved addresses still need checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameVerdict {
    /// The name is allow-listed: every address it resolves to is accepted.
    Trusted,
    /// Each resolved address must pass the address policy.
    CheckAddresses,
}

#[derive(Debug)]
pub(super) struct Policy {
    allowlist: Allowlist,
}

impl Policy {
    pub(super) fn new(allowlist: Allowlist) -> Self {
        Self { allowlist }
    }

    /// Syntactic checks plus the policy for literal IP hosts and refused names (no DNS).
    pub(super) fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::InvalidUrl(format!(
                "scheme `{}` is not allowed; use http or https",
                url.scheme()
            )));
        }
        // Credentials in the URL would be sent to whoever the URL (or a redirect) points at, and hide the real host
        // from people reading `user@host` URLs.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::InvalidUrl("credentials in the URL are not allowed".to_owned()));
        }
        match url.host() {
            None => Err(OutboundError::InvalidUrl("the URL has no host".to_owned())),
            Some(Host::Domain("")) => Err(OutboundError::InvalidUrl("the URL has no host".to_owned())),
            Some(Host::Domain(name)) => self.check_name(name).map(|_| ()),
            Some(Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), ip.into()),
            Some(Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), ip.into()),
        }
    }

    /// Refuses names that are local by definition, unless allow-listed by name.
    pub(super) fn check_name(&self, name: &str) -> Result<NameVerdict, OutboundError> {
        if self.allowlist.allows_host(name) {
            return Ok(NameVerdict::Trusted);
        }
        match forbidden_host_reason(name) {
            Some(reason) => Err(OutboundError::Forbidden { host: normalize_host(name), reason }),
            None => Ok(NameVerdict::CheckAddresses),
        }
    }

    /// Refuses a forbidden address unless its network is allow-listed. `host` is how the error names the target.
    pub(super) fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), OutboundError> {
        if self.allowlist.allows_ip(ip) || mapped_v4(ip).is_some_and(|v4| self.allowlist.allows_ip(v4.into())) {
            return Ok(());
        }
        match forbidden_reason(ip) {
            Some(reason) => Err(OutboundError::Forbidden { host: host.to_owned(), reason }),
            None => Ok(()),
        }
    }

    /// Refuses the whole answer if any address is forbidden: connecting to "the public one" would still let an
    /// attacker's DNS steer some attempts (retries, happy eyeballs) inward.
    pub(super) fn check_resolved(
        &self,
        name: &str,
        verdict: NameVerdict,
        addrs: &[SocketAddr],
    ) -> Result<(), OutboundError> {
        if verdict == NameVerdict::Trusted {
            return Ok(());
        }
        let name = normalize_host(name);
        addrs.iter().try_for_each(|addr| self.check_ip(&format!("{name} at {}", addr.ip()), addr.ip()))
    }

    /// Resolves `name` and applies the name and address checks to the answer.
    pub(super) async fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let verdict = self.check_name(name)?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|error| OutboundError::Dns(format!("{name}: {error}")))?
            .collect();
        if addrs.is_empty() {
            return Err(OutboundError::Dns(format!("{name}: no addresses")));
        }
        self.check_resolved(name, verdict, &addrs)?;
        Ok(addrs)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn policy(allowlist: &str) -> Policy {
        Policy::new(Allowlist::parse(allowlist).unwrap())
    }

    fn addrs(ips: &[&str]) -> Vec<SocketAddr> {
        ips.iter().map(|ip| SocketAddr::new(ip.parse().unwrap(), 80)).collect()
    }

    #[test]
    fn allow_listed_cidr_admits_forbidden_addresses() {
        let policy = policy("127.0.0.1/32, 10.0.0.0/8");
        assert!(policy.check_ip("127.0.0.1", "127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check_ip("::ffff:127.0.0.1", "::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check_ip("10.9.9.9", "10.9.9.9".parse().unwrap()).is_ok());
        let err = policy.check_ip("127.0.0.2", "127.0.0.2".parse().unwrap()).unwrap_err();
        assert_eq!(err.code(), "url_forbidden");
        assert!(policy.check_ip("192.168.0.1", "192.168.0.1".parse().unwrap()).is_err());
    }

    #[test]
    fn any_forbidden_address_refuses_the_answer() {
        let policy = policy("");
        let answer = addrs(&["93.184.216.34", "10.0.0.5"]);
        let err = policy.check_resolved("rebind.example", NameVerdict::CheckAddresses, &answer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to connect to rebind.example at 10.0.0.5 (private address); \
             allow it with OPENCLAW_OUTBOUND_ALLOWLIST"
        );
        assert!(policy.check_resolved("ok.example", NameVerdict::CheckAddresses, &addrs(&["93.184.216.34"])).is_ok());
    }

    #[test]
    fn allow_listed_name_admits_any_address() {
        let policy = policy("hooks.internal, *.svc.cluster.local");
        let verdict = policy.check_name("hooks.internal").unwrap();
        assert_eq!(verdict, NameVerdict::Trusted);
        assert!(policy.check_resolved("hooks.internal", verdict, &addrs(&["10.0.0.5"])).is_ok());
        assert_eq!(policy.check_name("a.svc.cluster.local").unwrap(), NameVerdict::Trusted);
        assert_eq!(policy.check_name("example.com").unwrap(), NameVerdict::CheckAddresses);
    }

    #[test]
    fn local_names_need_a_name_entry() {
        assert!(policy("").check_name("localhost").is_err());
        assert!(policy("127.0.0.1/32").check_name("localhost").is_err());
        assert!(policy("").check_name("metadata.google.internal").is_err());
        assert_eq!(policy("localhost").check_name("localhost").unwrap(), NameVerdict::Trusted);
    }
}
