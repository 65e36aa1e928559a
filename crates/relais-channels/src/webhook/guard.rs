//! The SSRF guard: webhook URLs are given by users, so a delivery must not reach
//! the machine itself or the private network it sits in (cloud metadata at
//! 169.254.169.254, an admin port on 127.0.0.1, a database on 10.0.0.5…).
//!
//! The check happens where the address is chosen: in the client's DNS resolver,
//! so the address connected to is the one checked (a name that resolves to a
//! public address at check time and a private one at connect time — DNS rebinding
//! — cannot slip through). URLs with a literal IP skip resolution; they are
//! checked before sending. Redirects are not followed at all.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// Which destinations are allowed.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Everything is allowed (development, tests, self-hosted receivers).
    pub allow_private: bool,
    /// Host names (or literal IPs) allowed even when they resolve to private
    /// addresses; compared case-insensitively, exactly.
    pub allowed_hosts: Vec<String>,
}

impl Policy {
    fn exempt(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allow_private || self.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// A refused destination: carried through reqwest's error chain from the resolver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("destination {host} resolves to a private address ({ip}: {kind}); allow it with allowed_hosts or allow_private")]
pub struct Blocked {
    pub host: String,
    pub ip: IpAddr,
    pub kind: &'static str,
}

/// Why `ip` may not be reached, or `None` for a public address.
pub fn blocked_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_broadcast() => "broadcast",
        (0, _) => "this network",
        (127, _) => "loopback",
        (10, _) | (192, 168) => "private",
        (172, 16..=31) => "private",
        (169, 254) => "link-local",
        (100, 64..=127) => "carrier-grade NAT",
        (192, 0) if c == 0 => "IETF protocol assignments",
        (198, 18..=19) => "benchmarking",
        (224..=239, _) => "multicast",
        (240..=255, _) => "reserved",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4).map(|_| "IPv4-mapped private address");
    }
    // IPv4-compatible (::a.b.c.d, deprecated) and the NAT64 well-known prefix
    // (64:ff9b::/96) carry an IPv4 address in the last 32 bits.
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_kind(embedded).map(|_| "IPv4-embedded private address");
    }
    // 6to4 (2002::/16) carries one in bits 16 to 48.
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return v4_kind(v4).map(|_| "6to4 private address");
    }
    Some(match s[0] {
        x if x & 0xffc0 == 0xfe80 => "link-local",
        x if x & 0xffc0 == 0xfec0 => "site-local",
        x if x & 0xfe00 == 0xfc00 => "unique local",
        x if x & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

/// Checks what can be checked before sending: the scheme, and a literal IP host
/// (those never reach the resolver).
pub fn check_url(url: &Url, policy: &Policy) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "destination scheme {:?} is not http or https",
            url.scheme()
        ));
    }
    let host = url.host_str().ok_or("destination URL has no host")?;
    // The URL parser has already turned every numeric host form (decimal, octal,
    // short) into a canonical IPv4 address; IPv6 hosts keep their brackets.
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(());
    };
    match blocked_kind(ip) {
        Some(kind) if !policy.exempt(host) => Err(Blocked {
            host: host.to_string(),
            ip,
            kind,
        }
        .to_string()),
        _ => Ok(()),
    }
}

/// A resolver that refuses names resolving to any blocked address.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<Policy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<Policy>) -> GuardedResolver {
        GuardedResolver { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.exempt(&host) {
                // Any blocked address refuses the name: a resolver answer mixing
                // public and private addresses is itself suspicious.
                if let Some((ip, kind)) = addrs
                    .iter()
                    .find_map(|a| blocked_kind(a.ip()).map(|k| (a.ip(), k)))
                {
                    return Err(
                        Box::new(Blocked { host, ip, kind }) as Box<dyn std::error::Error + Send + Sync>
                    );
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The [`Blocked`] refusal inside a reqwest error, if that is what failed.
pub fn find_blocked(e: &reqwest::Error) -> Option<&Blocked> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(b) = s.downcast_ref::<Blocked>() {
            return Some(b);
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        blocked_kind(s.parse().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_blocked() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fdff::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "fec0::1",
        ] {
            assert!(kind(ip).is_some(), "{ip} should be blocked");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.167.1.1",
            "169.253.1.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert_eq!(kind(ip), None, "{ip} should pass");
        }
    }

    #[test]
    fn urls_are_checked_before_sending() {
        let strict = Policy::default();
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(check_url(&url("https://example.com/hook"), &strict).is_ok());
        assert!(check_url(&url("http://93.184.216.34/"), &strict).is_ok());
        let e = check_url(&url("http://127.0.0.1:8080/"), &strict).unwrap_err();
        assert!(e.contains("resolves to a private address"), "{e}");
        assert!(check_url(&url("http://[::1]/"), &strict).is_err());
        assert!(check_url(&url("http://[::ffff:7f00:1]/"), &strict).is_err());
        // Decimal and short forms are parsed as IPv4 by the URL parser.
        assert!(check_url(&url("http://2130706433/"), &strict).is_err());
        assert!(check_url(&url("http://127.1/"), &strict).is_err());
        assert!(check_url(&url("ftp://example.com/"), &strict).is_err());
        assert!(check_url(&url("file:///etc/passwd"), &strict).is_err());
        let open = Policy {
            allow_private: true,
            ..Policy::default()
        };
        assert!(check_url(&url("http://127.0.0.1/"), &open).is_ok());
        let listed = Policy {
            allow_private: false,
            allowed_hosts: vec!["10.0.0.5".into(), "::1".into()],
        };
        assert!(check_url(&url("http://10.0.0.5/"), &listed).is_ok());
        assert!(check_url(&url("http://[::1]:9/"), &listed).is_ok());
        assert!(check_url(&url("http://10.0.0.6/"), &listed).is_err());
    }
}
