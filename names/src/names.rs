//! Why this exists: the one definition of a host name, shared by the frontend (which answers
//! `notfqdn`/`nohost`), the job format (a job's host must be canonical) and the worker's backends (a
//! change's host, zone and label must agree before they reach a zone file or an argv).
//!
//! The rule, decided once: a host is a fully qualified name of at least two LDH labels (letters,
//! digits, `-`; 1..=63 bytes, not starting or ending with `-`; punycode `xn--` included), at most 253
//! bytes without the root dot. Its canonical form, the only one in jobs, state and backends, is lower
//! case without a trailing dot. No `_`: an address record's owner is a host name (RFC 952, RFC 1123
//! §2.1); underscore names (`_acme-challenge`) carry TXT and SRV records, which dyndns never writes.
//! A backend's relative label is what is left of a canonical host after its zone ([`label_in_zone`]).
//! Names that are not hosts but that a backend writes into a zone file (the SOA's MNAME and RNAME) have
//! their own, wider rule, [`absolute_domain_name`].

use std::borrow::Cow;
use std::fmt;

/// Why a host name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty host name")]
    Empty,
    #[error("host name longer than 253 characters")]
    TooLong,
    #[error("host name has an empty label")]
    EmptyLabel,
    #[error("label `{0}` is longer than 63 characters")]
    LabelTooLong(String),
    #[error("label `{0}` has a character other than a-z, 0-9 and `-`, or starts or ends with `-`")]
    BadLabel(String),
    #[error("`{0}` is not fully qualified")]
    NotQualified(String),
    #[error("`{0}` is not in canonical form (lower case, no trailing dot)")]
    NotCanonical(String),
    #[error(
        "label `{0}` has a character other than a-z, 0-9, `-` and `_`, or starts or ends with `-`"
    )]
    BadDomainLabel(String),
}

/// Lower-cases `input`, drops one trailing dot and checks it is a fully qualified LDH host name
/// (punycode `xn--` labels included). Returns the canonical form used in jobs, state and backends,
/// borrowed when the input already is canonical (the common case, on every request).
pub fn normalize_host(input: &str) -> Result<Cow<'_, str>, NameError> {
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > 253 {
        return Err(NameError::TooLong);
    }
    // One pass over the bytes for the usual, valid name; the label-by-label checks below only run
    // to say what is wrong with an invalid one.
    if let Some(has_upper) = scan_ldh(name.as_bytes()) {
        return Ok(if has_upper {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        });
    }
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    let mut labels = 0;
    for label in name.split('.') {
        check_label(label)?;
        labels += 1;
    }
    if labels < 2 {
        return Err(NameError::NotQualified(name.into_owned()));
    }
    Ok(name)
}

/// `Some(has_upper_case)` when `name` is at least two LDH labels of 1..=63 bytes that neither start
/// nor end with `-`; `None` otherwise.
fn scan_ldh(name: &[u8]) -> Option<bool> {
    let (mut labels, mut label_len, mut previous, mut has_upper) = (1, 0usize, b'.', false);
    for &byte in name {
        match byte {
            b'.' if label_len > 0 && previous != b'-' => {
                labels += 1;
                label_len = 0;
            }
            b'a'..=b'z' | b'0'..=b'9' => label_len += 1,
            b'A'..=b'Z' => {
                has_upper = true;
                label_len += 1;
            }
            b'-' if label_len > 0 => label_len += 1,
            _ => return None,
        }
        if label_len > 63 {
            return None;
        }
        previous = byte;
    }
    (labels >= 2 && label_len > 0 && previous != b'-').then_some(has_upper)
}

fn check_label(label: &str) -> Result<(), NameError> {
    if label.is_empty() {
        return Err(NameError::EmptyLabel);
    }
    if label.len() > 63 {
        return Err(NameError::LabelTooLong(label.to_string()));
    }
    let ldh = label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ldh || label.starts_with('-') || label.ends_with('-') {
        return Err(NameError::BadLabel(label.to_string()));
    }
    Ok(())
}

/// Accepts `host` only in the canonical form [`normalize_host`] returns: what a job file and a
/// backend's change must carry, since they come from our own frontend and are never folded again.
pub fn check_canonical_host(host: &str) -> Result<(), NameError> {
    match normalize_host(host)? {
        Cow::Borrowed(name) if name.len() == host.len() => Ok(()),
        _ => Err(NameError::NotCanonical(host.to_string())),
    }
}

/// `host` relative to `zone` (both canonical): `home.dyn` for `home.dyn.example.com` in
/// `example.com`, the empty string at the apex, `None` when `host` is not at or below `zone`.
pub fn label_in_zone<'a>(host: &'a str, zone: &str) -> Option<&'a str> {
    if host == zone {
        Some("")
    } else if is_strictly_below(host, zone) {
        Some(&host[..host.len() - zone.len() - 1])
    } else {
        None
    }
}

/// Checks a domain name a backend writes into a zone file although it is not a host (the SOA's MNAME
/// and RNAME, `hostmaster.example.com.`) and returns it absolute, with its trailing dot. Wider than a
/// host: one label is enough (`localhost.`) and `_` is allowed (RFC 2181 §11 puts no limit on a
/// mailbox's labels); narrower than DNS: no character the master-file syntax would need escaped.
pub fn absolute_domain_name(input: &str) -> Result<String, NameError> {
    let name = input.strip_suffix('.').unwrap_or(input);
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > 253 {
        return Err(NameError::TooLong);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > 63 {
            return Err(NameError::LabelTooLong(label.to_string()));
        }
        let plain = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plain || label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::BadDomainLabel(label.to_string()));
        }
    }
    Ok(format!("{name}."))
}

/// True when `host` is `zone` itself or a name below it (both canonical).
pub fn is_at_or_below(host: &str, zone: &str) -> bool {
    host == zone || is_strictly_below(host, zone)
}

fn is_strictly_below(host: &str, zone: &str) -> bool {
    host.len() > zone.len() + 1
        && host.ends_with(zone)
        && host.as_bytes()[host.len() - zone.len() - 1] == b'.'
}

/// A host a user may update: one exact name, or `*.suffix` for every name strictly below `suffix`
/// (any depth, so `*.lab.dyn.example.com` covers `a.lab…` and `b.a.lab…` but not `lab…` itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    Below(String),
}

impl HostPattern {
    pub fn parse(pattern: &str) -> Result<HostPattern, NameError> {
        match pattern.strip_prefix("*.") {
            Some(suffix) => Ok(HostPattern::Below(normalize_host(suffix)?.into_owned())),
            None => Ok(HostPattern::Exact(normalize_host(pattern)?.into_owned())),
        }
    }

    /// `host` must already be canonical (see [`normalize_host`]).
    pub fn matches(&self, host: &str) -> bool {
        match self {
            HostPattern::Exact(name) => name == host,
            HostPattern::Below(suffix) => is_strictly_below(host, suffix),
        }
    }

    /// The name the pattern is anchored at, used to check it lies inside a zone.
    pub fn anchor(&self) -> &str {
        match self {
            HostPattern::Exact(name) | HostPattern::Below(name) => name,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Exact(name) => f.write_str(name),
            HostPattern::Below(suffix) => write!(f, "*.{suffix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_canonicalised() {
        assert_eq!(
            normalize_host("Home.Dyn.Example.COM.").unwrap(),
            "home.dyn.example.com"
        );
        assert_eq!(
            normalize_host("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
    }

    #[test]
    fn bad_host_names_are_refused() {
        assert_eq!(normalize_host(""), Err(NameError::Empty));
        assert_eq!(normalize_host("."), Err(NameError::Empty));
        assert_eq!(normalize_host("a..example.com"), Err(NameError::EmptyLabel));
        assert!(matches!(
            normalize_host("localhost"),
            Err(NameError::NotQualified(_))
        ));
        assert!(matches!(
            normalize_host("-a.example.com"),
            Err(NameError::BadLabel(_))
        ));
        assert!(matches!(
            normalize_host("a_b.example.com"),
            Err(NameError::BadLabel(_))
        ));
        assert!(matches!(
            normalize_host("bücher.example"),
            Err(NameError::BadLabel(_))
        ));
        let long_label = format!("{}.example.com", "a".repeat(64));
        assert!(matches!(
            normalize_host(&long_label),
            Err(NameError::LabelTooLong(_))
        ));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        assert_eq!(normalize_host(&long_name), Err(NameError::TooLong));
    }

    #[test]
    fn the_fast_scan_and_the_detailed_checks_agree() {
        let label63 = "a".repeat(63);
        let ok = [
            "a.b".to_string(),
            "A-1.Example.COM".to_string(),
            format!("{label63}.example.com"),
            "xn--p1ai.example".to_string(),
        ];
        for name in &ok {
            assert_eq!(
                normalize_host(name).unwrap(),
                name.to_ascii_lowercase(),
                "{name}"
            );
        }
        for bad in [
            "a-.example.com",
            "a.b-",
            "-a.b",
            "a..b",
            ".a.b",
            "a.b..",
            "a",
            "a b.com",
            "a.b/c",
        ] {
            assert!(normalize_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcard_patterns_cover_names_strictly_below() {
        let pattern = HostPattern::parse("*.lab.dyn.example.com").unwrap();
        assert!(pattern.matches("a.lab.dyn.example.com"));
        assert!(pattern.matches("b.a.lab.dyn.example.com"));
        assert!(!pattern.matches("lab.dyn.example.com"));
        assert!(!pattern.matches("xlab.dyn.example.com"));
        let exact = HostPattern::parse("Home.dyn.example.com").unwrap();
        assert!(exact.matches("home.dyn.example.com"));
        assert!(!exact.matches("a.home.dyn.example.com"));
    }

    #[test]
    fn only_the_canonical_form_is_canonical() {
        assert_eq!(check_canonical_host("home.dyn.example.com"), Ok(()));
        for host in [
            "Home.dyn.example.com",
            "home.dyn.example.com.",
            "",
            "localhost",
            "a_b.example.com",
            "a..example.com",
            "-a.example.com",
            "a b.example.com",
        ] {
            assert!(check_canonical_host(host).is_err(), "{host:?}");
        }
        assert_eq!(
            check_canonical_host("Home.example.com"),
            Err(NameError::NotCanonical("Home.example.com".to_string()))
        );
    }

    #[test]
    fn a_label_is_the_host_less_its_zone() {
        assert_eq!(
            label_in_zone("home.dyn.example.com", "example.com"),
            Some("home.dyn")
        );
        assert_eq!(label_in_zone("example.com", "example.com"), Some(""));
        assert_eq!(label_in_zone("xexample.com", "example.com"), None);
        assert_eq!(label_in_zone("example.com", "home.example.com"), None);
    }

    #[test]
    fn soa_names_may_be_single_labels_with_underscores() {
        assert_eq!(
            absolute_domain_name("localhost"),
            Ok("localhost.".to_string())
        );
        assert_eq!(
            absolute_domain_name("dns_admin.Example.net."),
            Ok("dns_admin.Example.net.".to_string())
        );
        for bad in [
            "", ".", "a..b", "-a.b", "a b.c", "a;b.c", "a\\.b.c", "ns.(x).",
        ] {
            assert!(absolute_domain_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn below_means_a_label_boundary() {
        assert!(is_at_or_below("dyn.example.com", "dyn.example.com"));
        assert!(is_at_or_below("a.dyn.example.com", "dyn.example.com"));
        assert!(!is_at_or_below("xdyn.example.com", "dyn.example.com"));
        assert!(!is_at_or_below("example.com", "dyn.example.com"));
    }
}
