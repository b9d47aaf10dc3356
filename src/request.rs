//! Why this exists: routers send the dyndns2 query in many dialects (dual stack in one `myip`, `myipv6`,
//! a bare host name, legacy flags); this turns all of them into one checked request.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use smallvec::SmallVec;

/// Dyn's limit on host names per request.
pub const MAX_HOSTS: usize = 20;

/// The query of one update request, before authorisation. Values borrow from the query string
/// unless they were percent-encoded (this runs for every request, `nochg` included).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateQuery<'a> {
    /// As given, comma-separated values split; empty when the client sent none.
    pub hostnames: SmallVec<[Cow<'a, str>; 2]>,
    /// Every address value the client sent (`myip`, `myipv6`, `myip6`, `ipv6`), still unparsed.
    pub addresses: SmallVec<[Cow<'a, str>; 2]>,
    /// The router's delegated IPv6 prefix (`ip6lanprefix`, as a Fritz!Box fills `<ip6lanprefix>`,
    /// or `ipv6prefix`), still unparsed (`lan_hosts.rs`).
    pub lan_prefix: SmallVec<[Cow<'a, str>; 2]>,
    /// `system=`; only `dyndns`, `statdns` and `custom` are known.
    pub system: Option<Cow<'a, str>>,
    /// `offline=yes` (any case): delete the hosts' A and AAAA records. Any other value, or none,
    /// is an update; the last `offline=` counts.
    pub offline: bool,
}

impl<'a> UpdateQuery<'a> {
    pub fn parse(query: Option<&'a str>) -> UpdateQuery<'a> {
        let mut parsed = UpdateQuery::default();
        let Some(query) = query.filter(|query| !query.is_empty()) else {
            return parsed;
        };
        // DD-WRT's and inadyn's `/nic/update?<hostname>`: a bare token is the host name.
        if !query.bytes().any(|byte| byte == b'=' || byte == b'&') {
            split_list(decode(query), &mut parsed.hostnames);
            return parsed;
        }
        for (key, value) in query_pairs(query) {
            let value = decode(value.unwrap_or(""));
            match key.as_ref() {
                "hostname" | "host" => split_list(value, &mut parsed.hostnames),
                "myip" | "myipv6" | "myip6" | "ipv6" => split_list(value, &mut parsed.addresses),
                "ip6lanprefix" | "ipv6prefix" => split_list(value, &mut parsed.lan_prefix),
                "system" => parsed.system = Some(value),
                "offline" => parsed.offline = value.eq_ignore_ascii_case("yes"),
                // wildcard, mx, backmx and the rest are legacy Dyn flags: accepted, ignored.
                _ => {}
            }
        }
        parsed
    }
}

/// Credentials in the query (`username`/`password`, also `user`/`pass`), for clients that cannot
/// send Basic auth (some routers, TP-Link's form). Only asked when no Basic header came.
pub fn query_credentials(query: Option<&str>) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let (mut user, mut password) = (None, None);
    for (key, value) in query_pairs(query?) {
        let Some(value) = value else {
            continue;
        };
        match key.as_ref() {
            "username" | "user" => user = Some(decode(value)),
            "password" | "pass" => password = Some(decode(value)),
            _ => {}
        }
    }
    Some((user?, password?))
}

/// The `key=value` pairs of a query, each dialect's one way to read it: the key decoded, the value
/// as sent (`None` for a bare key without `=`), so a dialect decodes only the values it keeps.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Option<&str>)> {
    split_at_byte(query, b'&').map(|pair| match pair.bytes().position(|byte| byte == b'=') {
        Some(at) => (decode(&pair[..at]), Some(&pair[at + 1..])),
        None => (decode(pair), None),
    })
}

fn list_items(text: &str) -> impl Iterator<Item = &str> {
    split_at_byte(text, b',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Splits at an ASCII separator with a plain byte scan: for the few dozen bytes of a query this is
/// several times cheaper than `str::split`'s searcher.
fn split_at_byte(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    debug_assert!(separator.is_ascii());
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.bytes().position(|byte| byte == separator) {
            // Cutting at an ASCII byte always leaves valid UTF-8 on both sides.
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte, invalid UTF-8
/// replaced), borrowing the text when there is nothing to decode: the common case, on every request.
pub(crate) fn decode(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|byte| byte == b'%' || byte == b'+') {
        return Cow::Borrowed(text);
    }
    let plus_as_space: Cow<'_, str> = if text.contains('+') {
        Cow::Owned(text.replace('+', " "))
    } else {
        Cow::Borrowed(text)
    };
    match percent_encoding::percent_decode_str(&plus_as_space).decode_utf8_lossy() {
        Cow::Borrowed(decoded) => Cow::Owned(decoded.to_string()),
        Cow::Owned(decoded) => Cow::Owned(decoded),
    }
}

/// Appends the non-empty, trimmed items of a comma-separated value, borrowing where it can.
pub(crate) fn split_list<'a>(value: Cow<'a, str>, out: &mut SmallVec<[Cow<'a, str>; 2]>) {
    match value {
        Cow::Borrowed(text) => out.extend(list_items(text).map(Cow::Borrowed)),
        Cow::Owned(text) => out.extend(list_items(&text).map(|item| Cow::Owned(item.to_string()))),
    }
}

/// The addresses of one request: at most one per family.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
}

impl Addresses {
    fn set(&mut self, address: IpAddr) -> Result<(), AddressListError> {
        match address {
            IpAddr::V4(v4) if self.v4.is_none_or(|old| old == v4) => self.v4 = Some(v4),
            IpAddr::V6(v6) if self.v6.is_none_or(|old| old == v6) => self.v6 = Some(v6),
            _ => return Err(AddressListError::TwoOfOneFamily),
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressListError {
    #[error("`{0}` is not an IP address")]
    Unparsable(String),
    #[error("two different addresses of one family")]
    TwoOfOneFamily,
    #[error("no address given and the client address is unknown")]
    Unknown,
}

/// The addresses to publish: the values sent, classified by family (never by position: some routers
/// put the IPv6 address first), or the client's own address when none was sent.
pub fn addresses<S: AsRef<str>>(
    values: &[S],
    client: Option<IpAddr>,
) -> Result<Addresses, AddressListError> {
    let mut addresses = Addresses::default();
    if values.is_empty() {
        addresses.set(client.ok_or(AddressListError::Unknown)?)?;
        return Ok(addresses);
    }
    for value in values {
        addresses.set(parse_address(value.as_ref())?)?;
    }
    Ok(addresses)
}

/// Accepts `2001:db8::7`, `[2001:db8::7]` and a Fritz!Box prefix `2001:db8:1:2::/64` (the length is
/// dropped, but must be one: a zone id or junk after the `/` makes the value unparsable, as it
/// does without one); an IPv4-mapped IPv6 value is the IPv4 address it maps.
fn parse_address(value: &str) -> Result<IpAddr, AddressListError> {
    let unparsable = || AddressListError::Unparsable(value.chars().take(64).collect());
    let (bare, length) = match value.split_once('/') {
        Some((bare, length)) => (bare, Some(length)),
        None => (value, None),
    };
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    let address: IpAddr = bare.parse().map_err(|_| unparsable())?;
    if let Some(length) = length {
        let bits = if address.is_ipv4() { 32 } else { 128 };
        // Digits only: `u8::from_str` would also take a leading `+`.
        let valid = !length.is_empty()
            && length.len() <= 3
            && length.bytes().all(|byte| byte.is_ascii_digit())
            && length.parse::<u8>().is_ok_and(|length| length <= bits);
        if !valid {
            return Err(unparsable());
        }
    }
    Ok(match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_credentials_need_both_and_are_decoded() {
        assert_eq!(
            query_credentials(Some("hostname=h&username=router&password=a%20b%26c")),
            Some((Cow::Borrowed("router"), Cow::Owned("a b&c".to_owned())))
        );
        assert_eq!(
            query_credentials(Some("user=r&pass=p+q")),
            Some((Cow::Borrowed("r"), Cow::Owned("p q".to_owned())))
        );
        assert_eq!(query_credentials(Some("username=router")), None);
        assert_eq!(query_credentials(Some("password=x")), None);
        assert_eq!(query_credentials(None), None);
    }

    #[test]
    fn dyndns2_query_with_dual_stack_and_legacy_flags() {
        let query = UpdateQuery::parse(Some(
            "system=dyndns&hostname=a.dyn.example.com,b.dyn.example.com&myip=2001:db8::7,203.0.113.7&wildcard=NOCHG&mx=x&backmx=NO&offline=NO",
        ));
        assert_eq!(
            query.hostnames.as_slice(),
            ["a.dyn.example.com", "b.dyn.example.com"]
        );
        assert_eq!(query.system.as_deref(), Some("dyndns"));
        let found = addresses(&query.addresses, None).unwrap();
        assert_eq!(found.v4, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(found.v6, Some("2001:db8::7".parse().unwrap()));
    }

    #[test]
    fn myipv6_aliases_and_prefixes() {
        let query = UpdateQuery::parse(Some(
            "hostname=h.example.com&myip=203.0.113.7&myipv6=2001:db8:1:2::/64",
        ));
        let found = addresses(&query.addresses, None).unwrap();
        assert!(found.v4.is_some());
        assert_eq!(found.v6, Some("2001:db8:1:2::".parse().unwrap()));
    }

    #[test]
    fn lan_prefix_is_its_own_value_not_an_address() {
        let query = UpdateQuery::parse(Some(
            "hostname=h.example.com&myip=203.0.113.7,2001:db8::7&ip6lanprefix=2001:db8:1:2::/64",
        ));
        assert_eq!(query.addresses.as_slice(), ["203.0.113.7", "2001:db8::7"]);
        assert_eq!(query.lan_prefix.as_slice(), ["2001:db8:1:2::/64"]);
        let query = UpdateQuery::parse(Some(
            "ipv6prefix=2001%3Adb8%3A1%3A2%3A%3A%2F56&ip6lanprefix=",
        ));
        assert_eq!(query.lan_prefix.as_slice(), ["2001:db8:1:2::/56"]);
    }

    #[test]
    fn offline_yes_in_any_case_asks_for_a_delete_and_the_last_one_counts() {
        for (query, offline) in [
            ("hostname=h&offline=yes", true),
            ("hostname=h&offline=YES", true),
            ("hostname=h&offline=Yes&myip=203.0.113.7", true),
            ("hostname=h&offline=%79es", true),
            ("hostname=h&offline=no", false),
            ("hostname=h&offline=NOCHG", false),
            ("hostname=h&offline=", false),
            ("hostname=h&offline", false),
            ("hostname=h&offline=yes&offline=no", false),
            ("hostname=h&offline=no&offline=yes", true),
            ("hostname=h", false),
        ] {
            assert_eq!(UpdateQuery::parse(Some(query)).offline, offline, "{query}");
        }
    }

    #[test]
    fn percent_and_plus_are_decoded() {
        let query = UpdateQuery::parse(Some(
            "hostname=a.example.com%2Cb.example.com&myip=+203.0.113.7&sys%74em=dyndns",
        ));
        assert_eq!(
            query.hostnames.as_slice(),
            ["a.example.com", "b.example.com"]
        );
        assert_eq!(query.addresses.as_slice(), ["203.0.113.7"]);
        assert_eq!(query.system.as_deref(), Some("dyndns"));
        let bad = UpdateQuery::parse(Some("hostname=%FF.example.com"));
        assert_eq!(bad.hostnames.as_slice(), ["\u{FFFD}.example.com"]);
    }

    #[test]
    fn bare_token_is_the_host_name() {
        let query = UpdateQuery::parse(Some("home.dyn.example.com"));
        assert_eq!(query.hostnames.as_slice(), ["home.dyn.example.com"]);
        assert!(query.addresses.is_empty());
    }

    #[test]
    fn no_address_means_the_client_address() {
        let client: IpAddr = "2001:db8::9".parse().unwrap();
        let found = addresses::<&str>(&[], Some(client)).unwrap();
        assert_eq!(found.v6, Some("2001:db8::9".parse().unwrap()));
        assert_eq!(found.v4, None);
        assert_eq!(addresses::<&str>(&[], None), Err(AddressListError::Unknown));
    }

    #[test]
    fn a_zone_id_or_junk_after_a_prefix_length_is_unparsable() {
        for value in [
            "2001:db8::7/64%eth0",
            "2001:db8::7/eth0",
            "2001:db8::7/129",
            "2001:db8::7/+64",
            "2001:db8::7/",
            "2001:db8::7/64/64",
            "203.0.113.7/33",
        ] {
            assert!(
                matches!(
                    addresses(&[value], None),
                    Err(AddressListError::Unparsable(_))
                ),
                "{value}"
            );
        }
        let found = addresses(&["2001:db8:1:2::/64", "203.0.113.7/32"], None).unwrap();
        assert_eq!(found.v6, Some("2001:db8:1:2::".parse().unwrap()));
        assert_eq!(found.v4, Some("203.0.113.7".parse().unwrap()));
    }

    #[test]
    fn bad_address_lists_are_refused() {
        let two = vec!["203.0.113.7".to_string(), "203.0.113.8".to_string()];
        assert_eq!(addresses(&two, None), Err(AddressListError::TwoOfOneFamily));
        let junk = vec!["203.0.113.300".to_string()];
        assert!(matches!(
            addresses(&junk, None),
            Err(AddressListError::Unparsable(_))
        ));
        let mapped = vec!["::ffff:203.0.113.7".to_string()];
        assert_eq!(
            addresses(&mapped, None).unwrap().v4,
            Some("203.0.113.7".parse().unwrap())
        );
    }
}
