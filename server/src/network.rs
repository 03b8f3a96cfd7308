//! Which networks may reach the relay, and who the client is behind trusted proxies.
//!
//! `--allowed-networks` plays the part of the WAF rule in AWS's reference architecture: only
//! clients inside these CIDRs reach `/ws` and `/api` (operations endpoints stay reachable for
//! health checks and scraping). Behind a load balancer the TCP peer is the balancer, so the
//! client is read from `X-Forwarded-For`, but only when the peer is a `--trusted-proxies`
//! address: the header is walked from the right, skipping trusted proxies, and the first other
//! address is the client. A header sent by anyone else is ignored, so it cannot be spoofed.

use std::net::IpAddr;

use ipnet::IpNet;

#[derive(Debug, Clone, Default)]
pub struct Networks {
    allowed: Vec<IpNet>,
    proxies: Vec<IpNet>,
}

/// The TCP peer of a request's connection, put in its extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) and bare addresses (one host).
pub fn parse(list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{s:?} is not an IP network (CIDR such as 10.0.0.0/8) or address"))
        })
        .collect()
}

impl Networks {
    pub fn new(allowed: Vec<IpNet>, proxies: Vec<IpNet>) -> Self {
        Self { allowed, proxies }
    }

    /// Whether the address is one of the trusted proxies.
    fn trusted(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|n| n.contains(&canonical(ip)))
    }

    /// The client's address: the peer, or behind trusted proxies the nearest untrusted address in
    /// `X-Forwarded-For` (a malformed entry ends the walk at the proxy that added it).
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusted(client) {
            return client;
        }
        for hop in forwarded_for.unwrap_or_default().rsplit(',') {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
            client = canonical(ip);
            if !self.trusted(client) {
                break;
            }
        }
        client
    }

    /// Whether a client at `ip` may use the relay (everyone when no networks are configured).
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allowed.is_empty() || self.allowed.iter().any(|n| n.contains(&canonical(ip)))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_allowed_networks_pass_and_none_configured_means_all() {
        let n = Networks::new(nets(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]), Vec::new());
        assert!(n.allows(ip("10.20.30.40")));
        assert!(n.allows(ip("::ffff:10.1.1.1")), "IPv4-mapped");
        assert!(n.allows(ip("2001:db8::1")));
        assert!(n.allows(ip("192.0.2.7")));
        assert!(!n.allows(ip("192.0.2.8")));
        assert!(!n.allows(ip("11.0.0.1")));
        assert!(Networks::default().allows(ip("203.0.113.1")));
        assert!(parse(&["10.0.0.0/33".into()]).is_err());
        assert!(parse(&["office".into()]).is_err());
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let n = Networks::new(Vec::new(), nets(&["10.0.0.0/24"]));
        // From an untrusted peer the header is the client's own claim: ignored.
        assert_eq!(n.client(ip("203.0.113.9"), Some("10.9.9.9")), ip("203.0.113.9"));
        // From the balancer: the nearest untrusted hop, not a spoofed leftmost entry.
        assert_eq!(n.client(ip("10.0.0.5"), Some("1.2.3.4, 198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(n.client(ip("10.0.0.5"), Some("198.51.100.7, 10.0.0.6")), ip("198.51.100.7"));
        assert_eq!(n.client(ip("10.0.0.5"), None), ip("10.0.0.5"));
        assert_eq!(n.client(ip("10.0.0.5"), Some("junk, 198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(n.client(ip("10.0.0.5"), Some("198.51.100.7, junk")), ip("10.0.0.5"));
    }
}
