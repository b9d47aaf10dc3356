//! Why this exists: a LAN host (`[[user.lan_host]]`) takes its address from the router's delegated
//! prefix plus its own interface id, and the config may give that id written out or as a MAC
//! (EUI-64); both binaries need the same id, so it is worked out and checked once, here.

use std::net::Ipv6Addr;

/// A host on the router's LAN whose AAAA follows the prefix the router sends (`ip6lanprefix=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanHost {
    /// Canonical host name, inside a zone.
    pub name: String,
    /// The host part: the bits a prefix does not cover are taken from here. Never with the last 64
    /// bits all zero, and never with bits in the first 48, which every accepted prefix (/48 to /64)
    /// covers.
    pub interface_id: Ipv6Addr,
}

/// The shortest prefix a request may carry; an interface id's bits above it would never be used.
pub const SHORTEST_PREFIX: u8 = 48;

/// Why an `interface_id` or `mac` is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceIdError {
    #[error(
        "`{0}` is not an IPv6 address (write the host part as one, e.g. `::211:32ff:fe12:3456`)"
    )]
    NotIpv6(String),
    #[error(
        "`{0}` has its last 64 bits all zero: under any prefix that is a subnet's router (subnet-router anycast) address"
    )]
    Zero(String),
    #[error("`{0}` has bits in the first 48, which every prefix (/48 to /64) replaces; give only the host part (and a subnet id)")]
    NetworkBits(String),
    #[error("`{0}` is not a MAC address (six hex pairs separated by `:` or `-`, e.g. `00:11:32:12:34:56`)")]
    BadMac(String),
}

/// `interface_id = "::211:32ff:fe12:3456"` checked.
pub fn interface_id(text: &str) -> Result<Ipv6Addr, InterfaceIdError> {
    let id: Ipv6Addr = text
        .trim()
        .parse()
        .map_err(|_| InterfaceIdError::NotIpv6(text.to_owned()))?;
    check(id, text)
}

/// `mac = "00:11:32:12:34:56"` as its modified EUI-64 interface id (RFC 4291 appendix A).
pub fn interface_id_from_mac(text: &str) -> Result<Ipv6Addr, InterfaceIdError> {
    let mac = parse_mac(text).ok_or_else(|| InterfaceIdError::BadMac(text.to_owned()))?;
    check(eui64(mac), text)
}

fn check(id: Ipv6Addr, text: &str) -> Result<Ipv6Addr, InterfaceIdError> {
    let bits = u128::from(id);
    // Every accepted prefix is at most /64, so the last 64 bits are the interface id's alone; all
    // zero, the address is the subnet-router anycast address of whatever subnet the rest picks
    // (`::1:0:0:0:0` under `2001:db8:1::/48` is `2001:db8:1:1::`), which the router answers.
    if bits & u128::from(u64::MAX) == 0 {
        return Err(InterfaceIdError::Zero(text.to_owned()));
    }
    if bits >> (128 - u32::from(SHORTEST_PREFIX)) != 0 {
        return Err(InterfaceIdError::NetworkBits(text.to_owned()));
    }
    Ok(id)
}

/// Six hex pairs, all separated by `:` or all by `-`.
fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let text = text.trim();
    let separator = if text.contains('-') { '-' } else { ':' };
    let mut mac = [0u8; 6];
    let mut parts = text.split(separator);
    for byte in &mut mac {
        let part = parts.next()?;
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The universal/local bit flipped and `ff:fe` put in the middle: `00:11:32:12:34:56` is
/// `::211:32ff:fe12:3456`.
fn eui64(mac: [u8; 6]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets[8..11].copy_from_slice(&mac[..3]);
    octets[8] ^= 0x02;
    octets[11] = 0xff;
    octets[12] = 0xfe;
    octets[13..].copy_from_slice(&mac[3..]);
    Ipv6Addr::from(octets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_from_mac_flips_the_universal_bit_and_inserts_fffe() {
        let expected: Ipv6Addr = "::211:32ff:fe12:3456".parse().unwrap();
        assert_eq!(interface_id_from_mac("00:11:32:12:34:56"), Ok(expected));
        assert_eq!(interface_id_from_mac("00-11-32-12-34-56"), Ok(expected));
        // A locally administered MAC (bit set) loses the bit.
        assert_eq!(
            interface_id_from_mac("02:00:5E:10:00:01"),
            Ok("::5eff:fe10:1".parse().unwrap())
        );
    }

    #[test]
    fn a_subnet_id_with_a_zero_host_part_is_refused_as_subnet_router_anycast() {
        for text in ["::1:0:0:0:0", "::ff:0:0:0:0", "::ffff:0:0:0:0"] {
            assert_eq!(
                interface_id(text),
                Err(InterfaceIdError::Zero(text.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_macs_are_refused() {
        for text in [
            "",
            "00:11:32:12:34",
            "00:11:32:12:34:56:78",
            "00:11:32:12:34:5g",
            "0:11:32:12:34:56",
            "00:11-32:12:34:56",
            "001132123456",
            "00:11:32:12:34:+5",
        ] {
            assert_eq!(
                interface_id_from_mac(text),
                Err(InterfaceIdError::BadMac(text.to_owned())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn an_interface_id_is_the_host_part_only() {
        assert_eq!(
            interface_id("::1:0:0:0:5"),
            Ok("::1:0:0:0:5".parse().unwrap())
        );
        assert!(matches!(interface_id("::"), Err(InterfaceIdError::Zero(_))));
        assert_eq!(
            interface_id("::5:0:0:0:1"),
            Ok("::5:0:0:0:1".parse().unwrap())
        );
        assert!(matches!(
            interface_id("2001:db8::5"),
            Err(InterfaceIdError::NetworkBits(_))
        ));
        assert!(matches!(
            interface_id("::1:0:0:0:0:5"),
            Err(InterfaceIdError::NetworkBits(_))
        ));
        assert!(matches!(
            interface_id("192.0.2.1"),
            Err(InterfaceIdError::NotIpv6(_))
        ));
        assert!(matches!(
            interface_id("::5%eth0"),
            Err(InterfaceIdError::NotIpv6(_))
        ));
    }
}
