//! Why this exists: a router's update may carry its delegated IPv6 prefix (`ip6lanprefix=`, as a
//! Fritz!Box fills `<ip6lanprefix>`, or `ipv6prefix=`), and then every LAN host of the user
//! (`[[user.lan_host]]`) gets the prefix's network bits plus its own interface id. Reading the
//! prefix and deciding which LAN hosts change live here; their jobs go through the one update
//! path's spool write (`update.rs`), so the rules of a job are not written twice.
//!
//! Rules, each the answer to a bug seen in other servers (`shared/reference/systems-we-replace.md`):
//! `/len` is kept, not dropped (64 when absent) and must be 48 to 64, else the request is refused
//! as a bad address before any job; host bits sent in the prefix are masked off; an empty value
//! (a Fritz!Box without IPv6) means no prefix; a LAN host whose address did not change, or that the
//! request names itself, gets no job; an address its zone may not publish skips that host only.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};

use dyndns_config::lan_host::SHORTEST_PREFIX;
use dyndns_config::{address, names, User};
use uuid::Uuid;

use crate::app::AppState;
use crate::request::Addresses;
use crate::update::{spool_change, Updated};

/// The longest prefix a LAN can have: SLAAC needs a /64, and a longer one leaves the interface id
/// without room.
const LONGEST_PREFIX: u8 = 64;

/// A delegated prefix as the router sent it, its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanPrefix {
    network: Ipv6Addr,
    length: u8,
}

/// Why a prefix is refused (the dialect answers it as a bad address: `dnserr`, or 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("not an IPv6 prefix (expected e.g. `2001:db8:1:2::/64`)")]
    NotIpv6Prefix,
    #[error("/{0} is not a prefix length from /48 to /64")]
    Length(u8),
    #[error("two different prefixes in one request")]
    TwoPrefixes,
}

impl LanPrefix {
    /// `2001:db8:1:2::/64`, `2001:db8:1:2::` (a /64) or `[2001:db8:1::]/56`; a zone id, an IPv4
    /// address or junk after the `/` is refused.
    pub fn parse(text: &str) -> Result<LanPrefix, PrefixError> {
        let (bare, length) = match text.split_once('/') {
            Some((bare, length)) => (bare, Some(length)),
            None => (text, None),
        };
        let bare = bare.strip_prefix('[').unwrap_or(bare);
        let bare = bare.strip_suffix(']').unwrap_or(bare);
        let address: Ipv6Addr = bare.parse().map_err(|_| PrefixError::NotIpv6Prefix)?;
        let length = match length {
            None => LONGEST_PREFIX,
            // Digits only: `u8::from_str` would also take a leading `+`.
            Some(digits)
                if (1..=3).contains(&digits.len())
                    && digits.bytes().all(|byte| byte.is_ascii_digit()) =>
            {
                digits.parse().map_err(|_| PrefixError::NotIpv6Prefix)?
            }
            Some(_) => return Err(PrefixError::NotIpv6Prefix),
        };
        if !(SHORTEST_PREFIX..=LONGEST_PREFIX).contains(&length) {
            return Err(PrefixError::Length(length));
        }
        Ok(LanPrefix {
            network: Ipv6Addr::from(u128::from(address) & mask(length)),
            length,
        })
    }

    /// The prefix's bits where it has them, the interface id's everywhere else.
    pub fn address_of(&self, interface_id: Ipv6Addr) -> Ipv6Addr {
        let mask = mask(self.length);
        Ipv6Addr::from(u128::from(self.network) | (u128::from(interface_id) & !mask))
    }
}

/// The network bits of a prefix of `length` (48 to 64, so never a shift by 128).
fn mask(length: u8) -> u128 {
    u128::MAX << (128 - u32::from(length))
}

/// The request's prefix: `None` when it sent none or only empty values (a Fritz!Box without IPv6
/// fills `<ip6lanprefix>` with nothing); the same prefix sent twice is one.
pub fn request_prefix<S: AsRef<str>>(values: &[S]) -> Result<Option<LanPrefix>, PrefixError> {
    let mut found = None;
    for value in values.iter().map(AsRef::as_ref).filter(|v| !v.is_empty()) {
        let prefix = LanPrefix::parse(value)?;
        if found.is_some_and(|earlier| earlier != prefix) {
            return Err(PrefixError::TwoPrefixes);
        }
        found = Some(prefix);
    }
    Ok(found)
}

/// What a prefix did to the user's LAN hosts.
#[derive(Debug, Default)]
pub struct LanUpdate<'a> {
    /// Each spooled LAN host with its job, for the request's log line.
    pub jobs: Vec<(&'a str, Uuid)>,
    /// The spool refused a LAN host's job: the request is answered `911`, so the router sends it
    /// again (a `nochg` would tell it there is nothing left to do).
    pub spool_failed: bool,
}

/// Spools a v6-only job for each LAN host of `user` whose address under `prefix` changed. `requested` are the request's own
/// host names when it gave an IPv6 address: a LAN host among them got that address, not the
/// prefix's.
///
/// Limits: the LAN hosts' jobs together count as one change, and only when none of the
/// request's own hosts was counted already (`counted`): a router with ten LAN hosts is not
/// limited for them, and a request whose own host changed costs what it cost before. Refused by
/// the limit, no LAN host is spooled (logged); the reply, which names only the requested hosts,
/// is unchanged.
pub async fn update_lan_hosts<'a, S: AsRef<str>>(
    state: &AppState,
    user: &'a User,
    prefix: LanPrefix,
    requested: &[S],
    counted: bool,
    client: Option<IpAddr>,
) -> LanUpdate<'a> {
    let requested: Vec<Cow<'_, str>> = requested
        .iter()
        .filter_map(|host| names::normalize_host(host.as_ref()).ok())
        .collect();
    let mut due = Vec::new();
    for lan_host in &user.lan_hosts {
        if requested.iter().any(|host| *host == lan_host.name) {
            continue;
        }
        let address = prefix.address_of(lan_host.interface_id);
        // The config put every LAN host inside a zone.
        let Some(zone) = state.config.zone_for(&lan_host.name) else {
            continue;
        };
        if let Err(problem) =
            address::check_address(IpAddr::V6(address), zone.allow_private_addresses)
        {
            tracing::warn!(
                user = %user.name,
                host = %lan_host.name,
                %address,
                %problem,
                "LAN host skipped: its address under the router's prefix cannot be published in its zone"
            );
            continue;
        }
        let wanted = Addresses {
            v4: None,
            v6: Some(address),
        };
        let changed = state.accepted.changed(&lan_host.name, wanted);
        if !changed.is_empty() {
            due.push((lan_host.name.as_str(), changed, wanted));
        }
    }
    if due.is_empty() {
        return LanUpdate::default();
    }
    if !counted && !state.limits.allow_change(&user.name, client) {
        tracing::warn!(
            user = %user.name,
            hosts = due.len(),
            "LAN hosts not updated: the user or the source is over its change limit"
        );
        return LanUpdate::default();
    }
    let mut update = LanUpdate {
        jobs: Vec::with_capacity(due.len()),
        spool_failed: false,
    };
    for (host, changed, wanted) in due {
        // A failure is logged by the spool write; the other LAN hosts still get their jobs.
        match spool_change(state, user, host, changed, wanted, client).await {
            Updated::Spooled(_, job) => update.jobs.push((host, job)),
            Updated::Answered(_) => update.spool_failed = true,
        }
    }
    update
}

#[cfg(test)]
mod tests {
    use super::*;

    fn combined(prefix: &str, interface_id: &str) -> String {
        LanPrefix::parse(prefix)
            .unwrap()
            .address_of(interface_id.parse().unwrap())
            .to_string()
    }

    #[test]
    fn prefix_and_interface_id_combine_for_48_56_60_and_64() {
        let eui = "::211:32ff:fe12:3456";
        assert_eq!(
            combined("2001:db8:1:2::/64", eui),
            "2001:db8:1:2:211:32ff:fe12:3456"
        );
        assert_eq!(
            combined("2001:db8:1:2::", eui),
            "2001:db8:1:2:211:32ff:fe12:3456",
            "no length is a /64"
        );
        // A /56 leaves the last 8 bits of the fourth group to the interface id: its subnet id.
        assert_eq!(
            combined("2001:db8:1:200::/56", "::5:211:32ff:fe12:3456"),
            "2001:db8:1:205:211:32ff:fe12:3456"
        );
        assert_eq!(
            combined("2001:db8:1:200::/56", eui),
            "2001:db8:1:200:211:32ff:fe12:3456"
        );
        assert_eq!(
            combined("2001:db8:1:20::/60", "::3:0:0:0:7"),
            "2001:db8:1:23::7"
        );
        assert_eq!(
            combined("2001:db8:1::/48", "::42:0:0:0:7"),
            "2001:db8:1:42::7"
        );
        // A /64 keeps its own subnet: the interface id's subnet bits are the prefix's.
        assert_eq!(
            combined("2001:db8:1:2::/64", "::5:0:0:0:7"),
            "2001:db8:1:2::7"
        );
    }

    #[test]
    fn host_bits_sent_in_the_prefix_are_masked_off() {
        assert_eq!(
            combined("2001:db8:1:2:aaaa:bbbb:cccc:dddd/64", "::7"),
            "2001:db8:1:2::7"
        );
        assert_eq!(combined("2001:db8:1:2ff::1/56", "::7"), "2001:db8:1:200::7");
    }

    #[test]
    fn prefixes_longer_than_64_or_shorter_than_48_zone_ids_and_junk_are_refused() {
        assert_eq!(
            LanPrefix::parse("2001:db8::/47"),
            Err(PrefixError::Length(47))
        );
        assert_eq!(
            LanPrefix::parse("2001:db8::/65"),
            Err(PrefixError::Length(65))
        );
        for junk in [
            "2001:db8::%eth0/64",
            "2001:db8::/64%eth0",
            "2001:db8::/+64",
            "2001:db8::/",
            "2001:db8::/0064",
            "2001:db8::/64/64",
            "203.0.113.0/24",
            "junk",
        ] {
            assert_eq!(
                LanPrefix::parse(junk),
                Err(PrefixError::NotIpv6Prefix),
                "{junk}"
            );
        }
        assert!(LanPrefix::parse("[2001:db8:1::]/56").is_ok());
    }

    #[test]
    fn an_empty_prefix_is_none_and_two_different_ones_are_refused() {
        assert_eq!(request_prefix::<&str>(&[]), Ok(None));
        assert_eq!(request_prefix(&[""]), Ok(None));
        let one = LanPrefix::parse("2001:db8:1:2::/64").unwrap();
        assert_eq!(
            request_prefix(&["2001:db8:1:2::/64", "2001:db8:1:2::"]),
            Ok(Some(one))
        );
        assert_eq!(
            request_prefix(&["2001:db8:1:2::/64", "2001:db8:1:3::/64"]),
            Err(PrefixError::TwoPrefixes)
        );
    }
}
