//! Why this exists: the client's address decides the default `myip` and the per-source limits, so it
//! is taken from forwarding headers only when a trusted proxy set them.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Who is on the other end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    /// A unix socket: only local processes with access to the socket file (the web server) connect,
    /// so it is treated as a trusted proxy.
    Unix,
}

/// The client address: the TCP peer, or what a trusted proxy says in `Forwarded`, `X-Forwarded-For`
/// or `X-Real-IP` (in that order). `None` only for a unix-socket peer that sent no usable header.
pub fn client_address(peer: Peer, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer_ip = match peer {
        Peer::Tcp(address) => Some(canonical(address.ip())),
        Peer::Unix => None,
    };
    let peer_trusted = peer_ip.is_none_or(|ip| is_trusted(ip, trusted));
    if !peer_trusted {
        return peer_ip;
    }
    forwarded(headers, trusted)
        .or_else(|| x_forwarded_for(headers, trusted))
        .or_else(|| x_real_ip(headers))
        .or(peer_ip)
}

/// True when `peer` may vouch for a client (and, in proxy auth mode, name the user).
pub fn peer_is_trusted(peer: Peer, trusted: &[IpNet]) -> bool {
    match peer {
        Peer::Tcp(address) => is_trusted(canonical(address.ip()), trusted),
        Peer::Unix => true,
    }
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// `::ffff:203.0.113.7` from a dual-stack socket is the IPv4 client 203.0.113.7.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Walks a proxy chain from the nearest hop outwards and returns the first hop that is not one of our
/// proxies: entries further left were written by the client and can be forged.
fn rightmost_untrusted(hops: Vec<IpAddr>, trusted: &[IpNet]) -> Option<IpAddr> {
    let mut last = None;
    for hop in hops.into_iter().rev() {
        let hop = canonical(hop);
        if !is_trusted(hop, trusted) {
            return Some(hop);
        }
        last = Some(hop);
    }
    last
}

/// RFC 7239: `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
fn forwarded(headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let mut hops = Vec::new();
    for value in headers.get_all("forwarded") {
        let text = value.to_str().ok()?;
        for element in text.split(',') {
            for pair in element.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("for") {
                    hops.push(parse_node(value.trim().trim_matches('"'))?);
                }
            }
        }
    }
    rightmost_untrusted(hops, trusted)
}

fn x_forwarded_for(headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for hop in value.to_str().ok()?.split(',') {
            hops.push(parse_node(hop.trim())?);
        }
    }
    rightmost_untrusted(hops, trusted)
}

fn x_real_ip(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get("x-real-ip")?.to_str().ok()?;
    parse_node(value.trim()).map(canonical)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    text.strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|inner| inner.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn tcp(ip: &str) -> Peer {
        Peer::Tcp(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    fn trusted() -> Vec<IpNet> {
        vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]
    }

    #[test]
    fn headers_from_untrusted_peers_are_ignored() {
        let spoof = headers(&[
            ("x-forwarded-for", "198.51.100.9"),
            ("x-real-ip", "198.51.100.9"),
        ]);
        assert_eq!(
            client_address(tcp("203.0.113.7"), &spoof, &trusted()),
            "203.0.113.7".parse().ok()
        );
    }

    #[test]
    fn trusted_proxy_headers_are_believed_from_the_right() {
        let chain = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1")]);
        assert_eq!(
            client_address(tcp("127.0.0.1"), &chain, &trusted()),
            "203.0.113.7".parse().ok()
        );
        let real = headers(&[("x-real-ip", "203.0.113.8")]);
        assert_eq!(
            client_address(tcp("127.0.0.1"), &real, &trusted()),
            "203.0.113.8".parse().ok()
        );
        let rfc = headers(&[("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")]);
        assert_eq!(
            client_address(tcp("127.0.0.1"), &rfc, &trusted()),
            "2001:db8::7".parse().ok()
        );
        assert_eq!(
            client_address(Peer::Unix, &real, &[]),
            "203.0.113.8".parse().ok()
        );
    }

    #[test]
    fn mapped_peers_are_ipv4_and_garbage_falls_back_to_the_peer() {
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(
            client_address(tcp("::ffff:127.0.0.1"), &garbage, &trusted()),
            "127.0.0.1".parse().ok()
        );
        assert_eq!(client_address(Peer::Unix, &HeaderMap::new(), &[]), None);
    }
}
