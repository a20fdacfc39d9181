//! The pure SSRF policy: which addresses and host names are internal to the deployment.
//!
//! Everything not publicly routable is refused, not just RFC 1918: attackers reach internal services through
//! loopback, link-local cloud metadata, carrier NAT, and IPv6 forms that embed an IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::allowlist::normalize_host;

/// Why the address must not be contacted, or `None` for a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// Why the host name must not be contacted whatever it resolves to, or `None`.
///
/// Checked by name as well as by address because these names are answered locally (the resolver's `localhost`
/// handling, the cloud's own DNS) and may not go through the resolver we control.
pub fn forbidden_host_reason(host: &str) -> Option<&'static str> {
    let host = normalize_host(host);
    if host == "localhost" || host.ends_with(".localhost") {
        Some("local host name")
    } else if host == "metadata.google.internal" {
        Some("cloud metadata host name")
    } else {
        None
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    const METADATA: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        _ if ip == METADATA => "cloud metadata address",
        _ if ip.is_broadcast() => "broadcast address",
        // 0.0.0.0/8: "this network"; connecting to 0.0.0.0 reaches the local host on Linux.
        (0, _, _) => "unspecified address",
        (127, _, _) => "loopback address",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "private address",
        (169, 254, _) => "link-local address",
        (100, 64..=127, _) => "shared (CGNAT) address",
        (198, 18..=19, _) => "benchmarking address",
        (192, 0, 0) => "IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation address",
        (192, 88, 99) => "6to4 relay address",
        (224..=239, _, _) => "multicast address",
        (240..=255, _, _) => "reserved address",
        _ => return None,
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("unspecified address");
    }
    if ip.is_loopback() {
        return Some("loopback address");
    }
    // The packet ends up at the embedded IPv4 address (directly, or via a NAT64 gateway / 6to4 relay), so that
    // address decides.
    if let Some(v4) = embedded_v4(ip) {
        return v4_reason(v4);
    }
    let [s0, s1, s2, ..] = ip.segments();
    let reason = match s0 {
        0xfe80..=0xfebf => "link-local address",
        0xfec0..=0xfeff => "site-local address",
        0xfc00..=0xfdff => "unique local address",
        0xff00..=0xffff => "multicast address",
        0x0064 if s1 == 0xff9b && s2 == 1 => "local-use NAT64 address",
        0x2001 if s1 == 0 => "Teredo tunnel address",
        0x2001 if s1 == 0x0db8 => "documentation address",
        0x3fff if s1 < 0x1000 => "documentation address",
        // Only 2000::/3 is allocated as global unicast; the rest (::/8 leftovers, 100::/64 discard, …) is not.
        _ if s0 & 0xe000 != 0x2000 => "reserved address",
        _ => return None,
    };
    Some(reason)
}

/// The IPv4 address carried by IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::/48`) addresses.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            Some(low(hi, lo))
        }
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// The IPv4 address the OS really connects to for an IPv4-mapped address, so `127.0.0.1/32` in the allow-list
/// also admits `::ffff:127.0.0.1`.
pub(super) fn mapped_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        forbidden_reason(text.parse().unwrap())
    }

    #[test]
    fn internal_ipv4_ranges_are_refused() {
        let cases = [
            ("0.0.0.0", "unspecified address"),
            ("0.1.2.3", "unspecified address"),
            ("127.0.0.1", "loopback address"),
            ("127.255.255.254", "loopback address"),
            ("10.0.0.5", "private address"),
            ("172.16.0.1", "private address"),
            ("172.31.255.255", "private address"),
            ("192.168.1.1", "private address"),
            ("169.254.169.254", "cloud metadata address"),
            ("169.254.1.1", "link-local address"),
            ("100.64.0.1", "shared (CGNAT) address"),
            ("100.127.255.255", "shared (CGNAT) address"),
            ("198.18.0.1", "benchmarking address"),
            ("198.19.255.255", "benchmarking address"),
            ("192.0.0.8", "IETF protocol address"),
            ("192.0.2.1", "documentation address"),
            ("198.51.100.1", "documentation address"),
            ("203.0.113.1", "documentation address"),
            ("224.0.0.1", "multicast address"),
            ("239.255.255.250", "multicast address"),
            ("255.255.255.255", "broadcast address"),
            ("240.0.0.1", "reserved address"),
        ];
        for (ip, expected) in cases {
            assert_eq!(reason(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_are_refused() {
        let cases = [
            ("::", "unspecified address"),
            ("::1", "loopback address"),
            ("fe80::1", "link-local address"),
            ("febf::1", "link-local address"),
            ("fec0::1", "site-local address"),
            ("fc00::1", "unique local address"),
            ("fd00:ec2::254", "unique local address"),
            ("ff02::1", "multicast address"),
            ("2001:db8::1", "documentation address"),
            ("3fff::1", "documentation address"),
            ("2001:0:4136:e378::1", "Teredo tunnel address"),
            ("64:ff9b:1::1", "local-use NAT64 address"),
            ("100::1", "reserved address"),
            ("4000::1", "reserved address"),
            // Embedded IPv4: judged by the IPv4 address.
            ("::ffff:127.0.0.1", "loopback address"),
            ("::ffff:10.0.0.1", "private address"),
            ("::ffff:169.254.169.254", "cloud metadata address"),
            ("::127.0.0.1", "loopback address"),
            ("::10.1.2.3", "private address"),
            ("64:ff9b::10.0.0.1", "private address"),
            ("64:ff9b::169.254.169.254", "cloud metadata address"),
            ("2002:7f00:1::1", "loopback address"),
            ("2002:a9fe:a9fe::", "cloud metadata address"),
            ("2002:c0a8:101::1", "private address"),
        ];
        for (ip, expected) in cases {
            assert_eq!(reason(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "198.20.0.1",
            "2606:4700::1",
            "2a00:1450:4001::200e",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn local_and_metadata_host_names_are_refused() {
        for host in
            ["localhost", "LOCALHOST.", "api.localhost", "metadata.google.internal", "Metadata.Google.Internal."]
        {
            assert!(forbidden_host_reason(host).is_some(), "{host}");
        }
        for host in ["example.com", "localhost.example.com", "notlocalhost", "google.internal"] {
            assert_eq!(forbidden_host_reason(host), None, "{host}");
        }
    }
}
