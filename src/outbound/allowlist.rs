//! The operator's allow-list (`OPENCLAW_OUTBOUND_ALLOWLIST`): addresses and host names that may be reached even
//! though the SSRF policy would refuse them (an in-cluster webhook receiver, a local test server).

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// A parse failure, naming the offending entry so the operator can fix the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OPENCLAW_OUTBOUND_ALLOWLIST entry `{entry}`: {reason}")]
pub struct AllowlistError {
    pub entry: String,
    pub reason: &'static str,
}

/// Networks and host names exempt from the SSRF policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    nets: Vec<IpNet>,
    /// Exact host names, lower-case, without a trailing dot.
    hosts: Vec<String>,
    /// `*.example.com` stored as `.example.com`, so a suffix match cannot hit `badexample.com`.
    suffixes: Vec<String>,
}

impl Allowlist {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8`, `::1/128`), bare IPs (one address) and host names
    /// (`hooks.internal`, `*.example.com` for its subdomains). Blank entries are ignored, so `""` is empty.
    pub fn parse(list: &str) -> Result<Allowlist, AllowlistError> {
        let mut allowlist = Allowlist::default();
        for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            allowlist.add(entry)?;
        }
        Ok(allowlist)
    }

    /// No entries: the policy applies to every target.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty() && self.hosts.is_empty() && self.suffixes.is_empty()
    }

    /// Whether the address lies in an allow-listed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// Whether the host name is allow-listed, exactly or by a wildcard.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.hosts.contains(&host) || self.suffixes.iter().any(|suffix| host.ends_with(suffix.as_str()))
    }

    fn add(&mut self, entry: &str) -> Result<(), AllowlistError> {
        let invalid = |reason| AllowlistError { entry: entry.to_owned(), reason };
        if entry.contains('/') {
            let net = IpNet::from_str(entry).map_err(|_| invalid("not a valid CIDR"))?;
            self.nets.push(net.trunc());
            return Ok(());
        }
        let unbracketed = entry.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(entry);
        if let Ok(ip) = IpAddr::from_str(unbracketed) {
            self.nets.push(IpNet::from(ip));
            return Ok(());
        }
        let host = normalize_host(entry);
        match host.strip_prefix("*.") {
            Some(parent) => {
                check_host_name(parent).map_err(invalid)?;
                self.suffixes.push(format!(".{parent}"));
            }
            None => {
                check_host_name(&host).map_err(invalid)?;
                self.hosts.push(host);
            }
        }
        Ok(())
    }
}

impl FromStr for Allowlist {
    type Err = AllowlistError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Allowlist::parse(list)
    }
}

/// Lower-case without the trailing root dot, the form URLs and resolvers compare in.
pub(super) fn normalize_host(host: &str) -> String {
    host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase()
}

/// Rejects what cannot be a DNS name, so a typo (`http://host`, `10.0.0.0/33`, `10.0.0.256`) fails at startup
/// instead of silently never matching.
fn check_host_name(host: &str) -> Result<(), &'static str> {
    if host.is_empty() || host.len() > 253 {
        return Err("not a valid IP, CIDR or host name");
    }
    let labels_ok = host.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    });
    if !labels_ok {
        return Err("not a valid IP, CIDR or host name");
    }
    // URL parsers read an all-numeric last label as an IPv4 address, never as a name.
    let last = host.rsplit('.').next().unwrap_or(host);
    if last.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err("not a valid IP address");
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn empty_string_is_an_empty_allowlist() {
        let allowlist = Allowlist::parse("").unwrap();
        assert!(allowlist.is_empty());
        assert!(!allowlist.allows_ip(ip("127.0.0.1")));
        assert!(Allowlist::parse(" , ,").unwrap().is_empty());
    }

    #[test]
    fn parses_cidrs_bare_ips_and_host_names() {
        let allowlist =
            Allowlist::parse("127.0.0.1/32, 10.0.0.0/8,::1/128, 192.168.1.7,[fd00::1], Hooks.Internal., *.example.com")
                .unwrap();
        assert!(allowlist.allows_ip(ip("127.0.0.1")));
        assert!(!allowlist.allows_ip(ip("127.0.0.2")));
        assert!(allowlist.allows_ip(ip("10.200.3.4")));
        assert!(allowlist.allows_ip(ip("::1")));
        assert!(allowlist.allows_ip(ip("192.168.1.7")));
        assert!(!allowlist.allows_ip(ip("192.168.1.8")));
        assert!(allowlist.allows_ip(ip("fd00::1")));
        assert!(allowlist.allows_host("hooks.internal"));
        assert!(allowlist.allows_host("HOOKS.internal."));
        assert!(!allowlist.allows_host("other.internal"));
        assert!(allowlist.allows_host("a.example.com"));
        assert!(allowlist.allows_host("a.b.Example.com"));
        assert!(!allowlist.allows_host("example.com"), "a wildcard covers subdomains only");
        assert!(!allowlist.allows_host("badexample.com"));
    }

    #[test]
    fn cidr_with_host_bits_covers_its_network() {
        let allowlist = Allowlist::parse("10.1.2.3/16").unwrap();
        assert!(allowlist.allows_ip(ip("10.1.200.1")));
        assert!(!allowlist.allows_ip(ip("10.2.0.1")));
    }

    #[test]
    fn invalid_entries_are_named() {
        for entry in ["10.0.0.0/33", "not a host", "http://example.com", "10.0.0.256", "*.", "*", "a..b", "::1/129"] {
            let err = Allowlist::parse(&format!("127.0.0.1, {entry}")).unwrap_err();
            assert_eq!(err.entry, entry, "{entry}");
            assert!(err.to_string().contains(entry), "{err}");
        }
    }
}
