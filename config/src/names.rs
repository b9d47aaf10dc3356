//! Why this exists: one definition of a valid host name and of a user's host pattern, shared by the
//! frontend (which answers `notfqdn`/`nohost`) and the worker (which re-validates every job).

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
    fn below_means_a_label_boundary() {
        assert!(is_at_or_below("dyn.example.com", "dyn.example.com"));
        assert!(is_at_or_below("a.dyn.example.com", "dyn.example.com"));
        assert!(!is_at_or_below("xdyn.example.com", "dyn.example.com"));
        assert!(!is_at_or_below("example.com", "dyn.example.com"));
    }
}
