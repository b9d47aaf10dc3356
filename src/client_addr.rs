//! Why this exists: the client's address decides the default `myip`, the per-source limits and the
//! log, so it is taken from the one forwarding header the operator chose, only when a trusted proxy
//! (or the unix socket) set it. A proxy overwrites or appends to the header it sets and passes every
//! other header through as the client wrote it, so reading a second header would let any client
//! behind the proxy pick its own address.

use std::net::{IpAddr, SocketAddr};

use axum::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

use dyndns_config::ClientAddressHeader;

/// Who is on the other end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    /// A unix socket: only local processes with access to the socket file (the web server) connect,
    /// so it is treated as a trusted proxy.
    Unix,
}

/// The client address: the TCP peer, or what a trusted proxy says in `header`. `None` only for a
/// unix-socket peer that sent no usable header.
pub fn client_address(
    peer: Peer,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ClientAddressHeader,
) -> Option<IpAddr> {
    let peer_ip = match peer {
        Peer::Tcp(address) => Some(canonical(address.ip())),
        Peer::Unix => None,
    };
    if !peer_is_trusted(peer, trusted) {
        return peer_ip;
    }
    let named = match header {
        ClientAddressHeader::XForwardedFor => {
            rightmost_untrusted(x_forwarded_for_hops_from_the_right(headers), trusted)
        }
        ClientAddressHeader::Forwarded => {
            rightmost_untrusted(forwarded_hops(headers).into_iter().rev(), trusted)
        }
        ClientAddressHeader::XRealIp => x_real_ip(headers),
    };
    named.or(peer_ip)
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
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Walks a proxy chain from the nearest hop outwards (`hops` starts at the rightmost) and returns
/// the first address that is not one of our proxies: entries further left were written by the
/// client and can be forged. Hops that are not addresses (`unknown`, an obfuscated `_name`) are
/// skipped. If every address is a trusted proxy, the client is the leftmost one (a proxy's own
/// request).
fn rightmost_untrusted(
    hops: impl Iterator<Item = Option<IpAddr>>,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let mut leftmost_trusted = None;
    for hop in hops.flatten() {
        let hop = canonical(hop);
        if !is_trusted(hop, trusted) {
            return Some(hop);
        }
        leftmost_trusted = Some(hop);
    }
    leftmost_trusted
}

/// Every header line of `name` in order, as the bytes received. Not as text: a proxy that appends
/// writes the client's own value and the address it saw into one line, so refusing a line that is
/// not visible ASCII would let a client erase the proxy's entry with one byte (0x80) and be taken
/// for the proxy itself. Each hop is judged on its own instead.
fn lines<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> impl DoubleEndedIterator<Item = &'a [u8]> {
    headers
        .get_all(HeaderName::from_static(name))
        .into_iter()
        .map(|value| value.as_bytes())
}

/// `X-Forwarded-For: client, proxy1, proxy2` from the right (several lines are one list, in order),
/// without collecting: behind a proxy this runs for every request, `nochg` included.
fn x_forwarded_for_hops_from_the_right(
    headers: &HeaderMap,
) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    lines(headers, "x-forwarded-for")
        .rev()
        .flat_map(|line| line.rsplit(|byte| *byte == b','))
        .map(parse_hop)
}

/// `X-Real-IP: 203.0.113.7`, one address. If a proxy appended a second line, its own is the last.
fn x_real_ip(headers: &HeaderMap) -> Option<IpAddr> {
    parse_hop(lines(headers, "x-real-ip").last()?).map(canonical)
}

/// One hop as received; anything but ASCII is not an address.
fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(hop.trim_ascii())
        .ok()
        .and_then(parse_node)
}

/// RFC 7239: `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::1]:4711";by=_proxy`. One hop
/// per element; an element without `for=` says nothing about the client and is skipped like
/// `for=unknown`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for line in lines(headers, "forwarded") {
        // Bytes that are not UTF-8 become U+FFFD: no address, but every separator stays in place.
        let line = String::from_utf8_lossy(line);
        for element in split_unquoted(&line, ',') {
            let mut hop = None;
            for pair in split_unquoted(element, ';') {
                let Some((name, value)) = pair.split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("for") {
                    hop = parse_node(&unquote(value.trim()));
                }
            }
            hops.push(hop);
        }
    }
    hops
}

/// Splits at `separator` outside double quotes (a quoted value may hold `,` or `;`).
fn split_unquoted(text: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut in_quotes = false;
    let mut escaped = false;
    text.split(move |ch: char| {
        if escaped {
            escaped = false;
        } else if in_quotes && ch == '\\' {
            escaped = true;
        } else if ch == '"' {
            in_quotes = !in_quotes;
        } else if ch == separator && !in_quotes {
            return true;
        }
        false
    })
}

/// A token as is; a quoted-string without its quotes and backslash escapes.
fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(ch) = chars.next() {
        out.push(if ch == '\\' {
            chars.next().unwrap_or(ch)
        } else {
            ch
        });
    }
    out
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`,
/// `[2001:db8::1]`, `2001:db8::1`. `None` for `unknown`, `_obfuscated` and anything else.
fn parse_node(text: &str) -> Option<IpAddr> {
    if let Some(rest) = text.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.starts_with(':');
        return port_ok.then(|| inner.parse().ok()).flatten();
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    // IPv4 with a port (numeric, or an obfuscated `_port`).
    let (host, _port) = text.split_once(':')?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    use ClientAddressHeader::{Forwarded, XForwardedFor, XRealIp};

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
            "::1/128".parse().unwrap(),
        ]
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    /// What a trusted proxy on 127.0.0.1 reports, reading `header`.
    fn via_proxy(header: ClientAddressHeader, pairs: &[(&'static str, &str)]) -> Option<IpAddr> {
        client_address(tcp("127.0.0.1"), &headers(pairs), &trusted(), header)
    }

    #[test]
    fn headers_from_untrusted_peers_are_ignored() {
        let spoof = headers(&[
            ("x-forwarded-for", "198.51.100.9"),
            ("x-real-ip", "198.51.100.9"),
            ("forwarded", "for=198.51.100.9"),
        ]);
        for header in [XForwardedFor, XRealIp, Forwarded] {
            assert_eq!(
                client_address(tcp("203.0.113.7"), &spoof, &trusted(), header),
                ip("203.0.113.7")
            );
        }
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // The proxy set X-Forwarded-For; the client added the other two on its own.
        let forged = [
            ("x-forwarded-for", "203.0.113.7"),
            ("x-real-ip", "198.51.100.66"),
            ("forwarded", "for=198.51.100.66"),
        ];
        assert_eq!(via_proxy(XForwardedFor, &forged), ip("203.0.113.7"));
        let forged = [
            ("x-forwarded-for", "198.51.100.66"),
            ("x-real-ip", "203.0.113.7"),
            ("forwarded", "for=198.51.100.66"),
        ];
        assert_eq!(via_proxy(XRealIp, &forged), ip("203.0.113.7"));
        let forged = [
            ("x-forwarded-for", "198.51.100.66"),
            ("x-real-ip", "198.51.100.66"),
            ("forwarded", "for=203.0.113.7"),
        ];
        assert_eq!(via_proxy(Forwarded, &forged), ip("203.0.113.7"));
        // Without the configured header, the peer itself.
        assert_eq!(
            via_proxy(XForwardedFor, &[("x-real-ip", "198.51.100.66")]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn x_forwarded_for_is_believed_from_the_right() {
        // The client wrote 6.6.6.6; the proxy appended the real address; 10.1.1.1 is our LB.
        let chain = [("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.1.1.1")];
        assert_eq!(via_proxy(XForwardedFor, &chain), ip("203.0.113.7"));
        // Several lines are one list; client garbage on the left cannot hide the real address.
        let lines = [
            ("x-forwarded-for", "not an address, 6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(via_proxy(XForwardedFor, &lines), ip("203.0.113.7"));
        // A client that is itself inside trusted_proxies (a local process behind the proxy).
        let local = [("x-forwarded-for", "127.0.0.1")];
        assert_eq!(via_proxy(XForwardedFor, &local), ip("127.0.0.1"));
        let v6 = [("x-forwarded-for", "[2001:db8::7]:4711, ::ffff:10.0.0.2")];
        assert_eq!(via_proxy(XForwardedFor, &v6), ip("2001:db8::7"));
    }

    #[test]
    fn forwarded_skips_unknown_and_obfuscated_nodes() {
        let rfc = [(
            "forwarded",
            "for=198.51.100.66, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=unknown, for=_hidden;by=_proxy, for=\"10.0.0.3:_port\"",
        )];
        assert_eq!(via_proxy(Forwarded, &rfc), ip("2001:db8:cafe::17"));
        let quoted = [("forwarded", "for=\"203.0.113.7:4711\";by=\"a,b;c\"")];
        assert_eq!(via_proxy(Forwarded, &quoted), ip("203.0.113.7"));
        let case = [("forwarded", "Proto=https;FOR=203.0.113.8")];
        assert_eq!(via_proxy(Forwarded, &case), ip("203.0.113.8"));
        // Nothing but unknown nodes: the peer.
        let unknown = [("forwarded", "for=unknown, for=_a")];
        assert_eq!(via_proxy(Forwarded, &unknown), ip("127.0.0.1"));
    }

    #[test]
    fn a_byte_that_is_not_text_cannot_make_the_proxy_the_client() {
        // An appending proxy (nginx's $proxy_add_x_forwarded_for, Apache's default) writes the
        // client's value and the address it saw into one line; 0x80 made the whole line unreadable
        // and the client became the proxy itself (127.0.0.1 in the log, the limits, `myip`).
        let appended = |name: &'static str, value: &[u8]| {
            let mut map = HeaderMap::new();
            map.append(name, value.try_into().unwrap());
            map
        };
        let xff = appended("x-forwarded-for", b"\x80, 203.0.113.7");
        assert_eq!(
            client_address(tcp("127.0.0.1"), &xff, &trusted(), XForwardedFor),
            ip("203.0.113.7")
        );
        let unix = appended("x-forwarded-for", "b\u{fc}cher, 203.0.113.7".as_bytes());
        assert_eq!(
            client_address(Peer::Unix, &unix, &[], XForwardedFor),
            ip("203.0.113.7"),
            "without an address the unix socket would have no source to limit"
        );
        let forwarded = appended("forwarded", b"for=\"\xff,\", for=203.0.113.7");
        assert_eq!(
            client_address(tcp("127.0.0.1"), &forwarded, &trusted(), Forwarded),
            ip("203.0.113.7")
        );
        let real = appended("x-real-ip", b" 203.0.113.7\t");
        assert_eq!(
            client_address(tcp("127.0.0.1"), &real, &trusted(), XRealIp),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn odd_hop_forms_are_read_or_skipped() {
        let cases: [(&str, Option<&str>); 9] = [
            // A zone id is never on the internet: not an address, so the proxy's own is used.
            ("fe80::1%eth0", Some("127.0.0.1")),
            ("203.0.113.7:4711", Some("203.0.113.7")),
            ("[2001:db8::7]:4711", Some("2001:db8::7")),
            ("  203.0.113.7  ", Some("203.0.113.7")),
            ("", Some("127.0.0.1")),
            (",,", Some("127.0.0.1")),
            ("unknown", Some("127.0.0.1")),
            // Every hop trusted: the leftmost is the client (a proxy's own request).
            ("10.0.0.9, 10.0.0.8", Some("10.0.0.9")),
            ("2001:db8::7]:1", Some("127.0.0.1")),
        ];
        for (value, expected) in cases {
            assert_eq!(
                via_proxy(XForwardedFor, &[("x-forwarded-for", value)]),
                expected.and_then(ip),
                "{value:?}"
            );
        }
    }

    #[test]
    fn x_real_ip_and_the_unix_socket() {
        let real = headers(&[("x-real-ip", "203.0.113.8")]);
        assert_eq!(
            client_address(tcp("127.0.0.1"), &real, &trusted(), XRealIp),
            ip("203.0.113.8")
        );
        assert_eq!(
            client_address(Peer::Unix, &real, &[], XRealIp),
            ip("203.0.113.8")
        );
        assert_eq!(client_address(Peer::Unix, &real, &[], XForwardedFor), None);
    }

    #[test]
    fn mapped_peers_are_ipv4_and_garbage_falls_back_to_the_peer() {
        let garbage = headers(&[("x-forwarded-for", "not an address")]);
        assert_eq!(
            client_address(tcp("::ffff:127.0.0.1"), &garbage, &trusted(), XForwardedFor),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_address(Peer::Unix, &HeaderMap::new(), &[], XForwardedFor),
            None
        );
    }
}
