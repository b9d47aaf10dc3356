//! Why this exists: the one interface every DNS backend implements, so the worker loop never knows which
//! DNS server it is talking to and tests can hand it a fake.

use std::net::IpAddr;

pub mod plesk;
pub mod zonefile;

pub use plesk::Plesk;
pub use zonefile::{ZoneFile, ZoneFileOptions};

/// The record type a change touches; dyndns only ever manages address records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
}

impl RecordType {
    pub fn of(address: &IpAddr) -> RecordType {
        match address {
            IpAddr::V4(_) => RecordType::A,
            IpAddr::V6(_) => RecordType::Aaaa,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
        }
    }
}

/// One address to publish: after `apply`, the RRset of `record_type()` at `host` holds exactly `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Fully qualified, lower case, no trailing dot: `home.dyn.example.com`.
    pub host: String,
    /// The zone as the backend knows it (`[[zone]] backend_zone`): `example.com`.
    pub zone: String,
    /// `host` relative to `zone`: `home.dyn`; the empty string for the zone apex.
    pub label: String,
    pub address: IpAddr,
    pub ttl: u32,
}

impl Change {
    pub fn record_type(&self) -> RecordType {
        RecordType::of(&self.address)
    }

    /// Checks that `host`, `zone` and `label` agree and are plain DNS names, before a backend puts them
    /// into a zone file line or a command's argv (a label like `-ip` or `x IN NS evil.` must never get
    /// there). A mismatch is a bug or a bad config, never fixed by retrying, hence permanent.
    pub fn check_names(&self) -> Result<(), BackendError> {
        let bad = |why: &str| {
            BackendError::Permanent(format!(
                "refusing change for host {:?} in zone {:?} (label {:?}): {why}",
                self.host, self.zone, self.label
            ))
        };
        if !is_dns_name(&self.zone) {
            return Err(bad("the zone is not a plain DNS name"));
        }
        if !self.label.is_empty() && !is_dns_name(&self.label) {
            return Err(bad("the label is not a plain DNS name"));
        }
        let expected = if self.label.is_empty() {
            self.zone.clone()
        } else {
            format!("{}.{}", self.label, self.zone)
        };
        if !expected.eq_ignore_ascii_case(&self.host) {
            return Err(bad("the host is not the label followed by the zone"));
        }
        Ok(())
    }
}

/// Letters, digits, `-` and `_` in non-empty dot-separated labels that do not start with `-`; no
/// trailing dot. `_` is allowed because service names (`_acme-challenge`) are real.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What the backend found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The values of that type the name held before (empty if none).
    pub previous: Vec<IpAddr>,
    /// False when the record already held exactly the address and nothing was written.
    pub changed: bool,
}

/// Transient errors are retried with backoff; permanent ones dead-letter the job with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl BackendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, BackendError::Transient(_))
    }
}

#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Short name for logs: `plesk`, `zonefile`.
    fn name(&self) -> &'static str;

    /// Makes the RRset of the change's type at its host hold exactly its address.
    /// Must be idempotent: the worker re-applies a job after a crash.
    async fn apply(&self, change: &Change) -> Result<Applied, BackendError>;
}

mod select;
pub use select::{from_config, MissingBackend};
