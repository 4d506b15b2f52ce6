//! The client's address behind reverse proxies. The TCP peer is the client unless it is one of
//! the configured trusted proxies; then the header that proxy appends to (`X-Forwarded-For` or
//! RFC 7239 `Forwarded`) is read from the right, skipping trusted proxies, and the right-most
//! hop that is not one is the client. Everything left of it was written by the client and
//! proves nothing.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::str::FromStr;

/// The client address the web layer established for a request (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// An address block, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an address block such as 10.0.0.0/8 or ::1/128");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { net, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Which header the trusted proxies append the client's address to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

impl ForwardedHeader {
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
    }
}

/// The proxies whose word on the client's address is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<Cidr>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    pub fn new(blocks: &[String], header: ForwardedHeader) -> Result<Self, String> {
        Ok(Self {
            nets: blocks.iter().map(|b| b.parse()).collect::<Result<_, _>>()?,
            header,
        })
    }

    /// The header to read, when any proxy is trusted.
    pub fn header(&self) -> Option<&'static str> {
        (!self.nets.is_empty()).then(|| self.header.name())
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The client of a request from `peer` carrying `values` of [`TrustedProxies::header`]
    /// (every occurrence, in order).
    pub fn client(&self, peer: IpAddr, values: &[&str]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = values
            .iter()
            .flat_map(|v| split_outside_quotes(v, ','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let parsed = match self.header {
                ForwardedHeader::XForwardedFor => parse_node(hop),
                ForwardedHeader::Forwarded => forwarded_for(hop).and_then(parse_node),
            };
            // A hop that names no address (garbled, `unknown`, obfuscated) ends the trail: the
            // proxy that wrote it is the best we know.
            let Some(ip) = parsed else { return client };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// The `for=` value of one `Forwarded` element (`for=1.2.3.4;proto=https`).
fn forwarded_for(element: &str) -> Option<&str> {
    split_outside_quotes(element, ';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
    })
}

/// An address as a hop names it: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`,
/// any of them quoted.
fn parse_node(node: &str) -> Option<IpAddr> {
    let n = node.trim();
    let n = n
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(n)
        .trim();
    if let Ok(ip) = n.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = n.parse::<std::net::SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    let inner = n.strip_prefix('[')?;
    let (addr, _) = inner.split_once(']')?;
    addr.parse::<std::net::Ipv6Addr>()
        .ok()
        .map(|a| IpAddr::V6(a).to_canonical())
}

/// Splits on `sep` where it is not inside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(header: ForwardedHeader) -> TrustedProxies {
        TrustedProxies::new(
            &[
                "127.0.0.1/32".into(),
                "10.0.0.0/8".into(),
                "fd00::/8".into(),
            ],
            header,
        )
        .unwrap()
    }

    #[test]
    fn address_blocks() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.255.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        assert!(!c.contains(ip("fd00::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let one: Cidr = "192.0.2.1".parse().unwrap();
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "host.example",
            "",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn client_address_table() {
        use ForwardedHeader::{Forwarded, XForwardedFor};
        let cases: &[(ForwardedHeader, &str, &[&str], &str)] = &[
            // An untrusted peer's header is ignored: it could write anything.
            (XForwardedFor, "203.0.113.9", &["1.1.1.1"], "203.0.113.9"),
            (Forwarded, "203.0.113.9", &["for=1.1.1.1"], "203.0.113.9"),
            // A trusted proxy, no header: the proxy itself.
            (XForwardedFor, "10.0.0.2", &[], "10.0.0.2"),
            // One proxy.
            (XForwardedFor, "10.0.0.2", &["198.51.100.7"], "198.51.100.7"),
            // The client spoofed a hop; the proxy appended the real one.
            (
                XForwardedFor,
                "10.0.0.2",
                &["6.6.6.6, 198.51.100.7"],
                "198.51.100.7",
            ),
            // A chain of proxies, in one header or several.
            (
                XForwardedFor,
                "127.0.0.1",
                &["6.6.6.6, 198.51.100.7, 10.0.0.3"],
                "198.51.100.7",
            ),
            (
                XForwardedFor,
                "127.0.0.1",
                &["6.6.6.6, 198.51.100.7", "10.0.0.3"],
                "198.51.100.7",
            ),
            // Only proxies: the left-most one.
            (
                XForwardedFor,
                "127.0.0.1",
                &["10.0.0.9, 10.0.0.3"],
                "10.0.0.9",
            ),
            // Ports and IPv6.
            (
                XForwardedFor,
                "10.0.0.2",
                &["198.51.100.7:5555"],
                "198.51.100.7",
            ),
            (
                XForwardedFor,
                "10.0.0.2",
                &["2001:db8::7, fd00::1"],
                "2001:db8::7",
            ),
            (
                XForwardedFor,
                "fd00::2",
                &["[2001:db8::7]:443"],
                "2001:db8::7",
            ),
            (
                XForwardedFor,
                "::ffff:10.0.0.2",
                &["198.51.100.7"],
                "198.51.100.7",
            ),
            // Garbled or unknown hops stop the trail at the proxy that wrote them.
            (XForwardedFor, "10.0.0.2", &["not-an-ip"], "10.0.0.2"),
            (
                XForwardedFor,
                "127.0.0.1",
                &["198.51.100.7, unknown, 10.0.0.3"],
                "10.0.0.3",
            ),
            (XForwardedFor, "10.0.0.2", &[", ,"], "10.0.0.2"),
            // RFC 7239.
            (
                Forwarded,
                "10.0.0.2",
                &["for=192.0.2.60;proto=http;by=203.0.113.43"],
                "192.0.2.60",
            ),
            (
                Forwarded,
                "10.0.0.2",
                &["for=6.6.6.6, For=\"[2001:db8:cafe::17]:4711\""],
                "2001:db8:cafe::17",
            ),
            (
                Forwarded,
                "127.0.0.1",
                &["for=192.0.2.60", "for=10.0.0.3;proto=https"],
                "192.0.2.60",
            ),
            (Forwarded, "10.0.0.2", &["for=unknown"], "10.0.0.2"),
            (Forwarded, "10.0.0.2", &["for=_hidden"], "10.0.0.2"),
            (Forwarded, "10.0.0.2", &["proto=https"], "10.0.0.2"),
            (
                Forwarded,
                "10.0.0.2",
                &["for=\"198.51.100.7,6.6.6.6\""],
                "10.0.0.2",
            ),
            // With Forwarded configured, X-Forwarded-For values mean nothing (the caller
            // passes only the configured header), and the other way round.
            (XForwardedFor, "10.0.0.2", &["for=198.51.100.7"], "10.0.0.2"),
        ];
        for (header, peer, values, want) in cases {
            assert_eq!(
                proxies(*header).client(ip(peer), values),
                ip(want),
                "{header:?} from {peer} with {values:?}"
            );
        }
    }

    #[test]
    fn no_trusted_proxies_means_the_peer() {
        let none = TrustedProxies::default();
        assert_eq!(none.header(), None);
        assert_eq!(
            none.client(ip("127.0.0.1"), &["198.51.100.7"]),
            ip("127.0.0.1")
        );
        assert!(
            TrustedProxies::new(&["10.0.0.0/8".into(), "nope".into()], Default::default()).is_err()
        );
    }
}
