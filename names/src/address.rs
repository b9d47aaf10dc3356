//! Why this exists: the rule for which addresses may be published, enforced by the frontend (answer)
//! and again by the worker (a job file is hostile input).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("unspecified address")]
    Unspecified,
    #[error("loopback address")]
    Loopback,
    #[error("multicast address")]
    Multicast,
    #[error("link-local address")]
    LinkLocal,
    #[error("broadcast address")]
    Broadcast,
    #[error("private address (allow with `allow_private_addresses = true` on the zone)")]
    Private,
    #[error("reserved address")]
    Reserved,
    #[error("IPv4-mapped IPv6 address (send the IPv4 address instead)")]
    Mapped,
}

/// Accepts addresses that can be reached from the internet; private ones only when the zone allows them.
/// Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are accepted so
/// examples and tests work; they are never routed, so publishing one harms nobody.
pub fn check_address(address: IpAddr, allow_private: bool) -> Result<(), AddressError> {
    match address {
        IpAddr::V4(v4) => check_v4(v4, allow_private),
        IpAddr::V6(v6) => check_v6(v6, allow_private),
    }
}

fn check_v4(ip: Ipv4Addr, allow_private: bool) -> Result<(), AddressError> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        return Err(AddressError::Unspecified);
    }
    if ip.is_loopback() {
        return Err(AddressError::Loopback);
    }
    if ip.is_multicast() {
        return Err(AddressError::Multicast);
    }
    if ip.is_link_local() {
        return Err(AddressError::LinkLocal);
    }
    if ip.is_broadcast() {
        return Err(AddressError::Broadcast);
    }
    // 100.64.0.0/10 is carrier-grade NAT: as unreachable from outside as RFC 1918.
    let shared = a == 100 && (b & 0xc0) == 64;
    if ip.is_private() || shared {
        return if allow_private {
            Ok(())
        } else {
            Err(AddressError::Private)
        };
    }
    // 192.0.0.0/24 protocol assignments, 198.18.0.0/15 benchmarking, 240.0.0.0/4 future use.
    let reserved = (a == 192 && b == 0 && c == 0) || (a == 198 && (b & 0xfe) == 18) || a >= 240;
    if reserved {
        return Err(AddressError::Reserved);
    }
    Ok(())
}

fn check_v6(ip: Ipv6Addr, allow_private: bool) -> Result<(), AddressError> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        return Err(AddressError::Unspecified);
    }
    if ip.is_loopback() {
        return Err(AddressError::Loopback);
    }
    if ip.is_multicast() {
        return Err(AddressError::Multicast);
    }
    if ip.to_ipv4_mapped().is_some() {
        return Err(AddressError::Mapped);
    }
    // fe80::/10 link-local; fec0::/10 deprecated site-local is no better.
    if (first & 0xffc0) == 0xfe80 {
        return Err(AddressError::LinkLocal);
    }
    if (first & 0xffc0) == 0xfec0 {
        return Err(AddressError::Reserved);
    }
    // fc00::/7 unique local addresses are the IPv6 private range.
    if (first & 0xfe00) == 0xfc00 {
        return if allow_private {
            Ok(())
        } else {
            Err(AddressError::Private)
        };
    }
    // Only 2000::/3 is handed out as global unicast; ::/8 (IPv4-compatible, discard 100::/64, ...) is not.
    if (first & 0xe000) != 0x2000 {
        return Err(AddressError::Reserved);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, allow_private: bool) -> Result<(), AddressError> {
        check_address(text.parse().unwrap(), allow_private)
    }

    #[test]
    fn public_and_documentation_addresses_pass() {
        for ok in ["203.0.113.7", "8.8.8.8", "2001:db8::7", "2a01:4f8::1"] {
            assert_eq!(check(ok, false), Ok(()), "{ok}");
        }
    }

    #[test]
    fn unusable_addresses_are_refused_with_a_reason() {
        let cases = [
            ("0.0.0.0", AddressError::Unspecified),
            ("0.1.2.3", AddressError::Unspecified),
            ("127.0.0.1", AddressError::Loopback),
            ("224.0.0.1", AddressError::Multicast),
            ("169.254.1.1", AddressError::LinkLocal),
            ("255.255.255.255", AddressError::Broadcast),
            ("10.1.2.3", AddressError::Private),
            ("192.168.1.1", AddressError::Private),
            ("100.64.0.1", AddressError::Private),
            ("198.18.0.1", AddressError::Reserved),
            ("240.0.0.1", AddressError::Reserved),
            ("::", AddressError::Unspecified),
            ("::1", AddressError::Loopback),
            ("ff02::1", AddressError::Multicast),
            ("fe80::1", AddressError::LinkLocal),
            ("fd00::1", AddressError::Private),
            ("::ffff:203.0.113.7", AddressError::Mapped),
            ("100::1", AddressError::Reserved),
        ];
        for (text, reason) in cases {
            assert_eq!(check(text, false), Err(reason), "{text}");
        }
    }

    #[test]
    fn private_addresses_pass_where_the_zone_allows_them() {
        assert_eq!(check("192.168.1.1", true), Ok(()));
        assert_eq!(check("fd00::1", true), Ok(()));
        assert_eq!(check("127.0.0.1", true), Err(AddressError::Loopback));
    }
}
