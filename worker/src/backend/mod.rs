//! Why this exists: the one interface every DNS backend implements, so the worker loop never knows which
//! DNS server it is talking to and tests can hand it a fake.

use std::net::IpAddr;

use dyndns_names::names;

mod error;
pub mod plesk;
pub mod powerdns;
pub mod rfc2136;
pub mod zonefile;

use error::ChangeProblem;
pub use error::{BackendError, ChangeError, CommandFailed, Failure};
pub use plesk::Plesk;
pub use powerdns::{PowerDns, PowerDnsError};
pub use rfc2136::{Rfc2136, Rfc2136Error, Rfc2136Options, Rfc2136SetupError};
pub use zonefile::{ZoneFile, ZoneFileError, ZoneFileOptions};

/// The record type a change touches; dyndns only ever manages address records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
}

impl RecordType {
    pub(crate) fn of(address: &IpAddr) -> RecordType {
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
    /// A canonical host name (`dyndns_names::names`): `home.dyn.example.com`.
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

    /// Checks that `host` and `zone` are canonical host names and `label` is the host less its zone,
    /// by the one rule in `dyndns-names`, before a backend puts them into a zone file line or a
    /// command's argv (a label like `-ip` or `x IN NS evil.` must never get there).
    pub(crate) fn check_names(&self) -> Result<(), ChangeError> {
        let refuse = |problem| ChangeError {
            host: self.host.clone(),
            zone: self.zone.clone(),
            label: self.label.clone(),
            problem,
        };
        names::check_canonical_host(&self.host).map_err(|e| refuse(ChangeProblem::Host(e)))?;
        names::check_canonical_host(&self.zone).map_err(|e| refuse(ChangeProblem::Zone(e)))?;
        match names::label_in_zone(&self.host, &self.zone) {
            None => Err(refuse(ChangeProblem::OutsideZone)),
            Some(expected) if expected != self.label => Err(refuse(ChangeProblem::Label {
                expected: expected.to_owned(),
            })),
            Some(_) => Ok(()),
        }
    }

    /// [`Change::check_names`], and that the change belongs to the batch of `zone` it came in.
    pub(crate) fn check_in(&self, zone: &str) -> Result<(), ChangeError> {
        self.check_names()?;
        if self.zone == zone {
            Ok(())
        } else {
            Err(ChangeError {
                host: self.host.clone(),
                zone: self.zone.clone(),
                label: self.label.clone(),
                problem: ChangeProblem::OtherBatch {
                    batch_zone: zone.to_owned(),
                },
            })
        }
    }
}

/// What the backend found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The values of that type the name held before (empty if none).
    pub previous: Vec<IpAddr>,
    /// False when the record already held exactly the address and nothing was written.
    pub changed: bool,
}

/// One result per change of a batch, in the batch's order.
pub type BatchResults = Vec<Result<Applied, BackendError>>;

#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Short name for logs: `plesk`, `zonefile`.
    fn name(&self) -> &'static str;

    /// Makes the RRset of each change's type at its host hold exactly its address, for all pending
    /// changes of one backend zone at once (each change's `zone` is `zone`), so a backend can apply
    /// them in as few round trips as its API allows. Returns one result per change, in order: a
    /// change that fails alone fails only its own entry, so the worker settles each host and family
    /// exactly. Must be idempotent: the worker re-applies a job after a crash.
    async fn apply_batch(&self, zone: &str, changes: &[Change]) -> BatchResults;

    /// A batch of one: for callers (and tests) that have a single change.
    async fn apply(&self, change: &Change) -> Result<Applied, BackendError> {
        self.apply_batch(&change.zone, std::slice::from_ref(change))
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult)))
    }
}

mod select;
pub use select::{from_config, SelectError};

#[cfg(test)]
mod tests {
    use super::*;

    fn change(host: &str, zone: &str, label: &str) -> Change {
        Change {
            host: host.to_owned(),
            zone: zone.to_owned(),
            label: label.to_owned(),
            address: IpAddr::from([192, 0, 2, 1]),
            ttl: 60,
        }
    }

    fn problem(host: &str, zone: &str, label: &str) -> Option<ChangeProblem> {
        change(host, zone, label)
            .check_names()
            .err()
            .map(|e| e.problem)
    }

    #[test]
    fn change_names_follow_the_one_host_name_rule() {
        assert_eq!(
            problem("home.dyn.example.com", "example.com", "home.dyn"),
            None
        );
        assert_eq!(problem("example.com", "example.com", ""), None);
        // The worker once allowed `_` and upper case here while the frontend refused them.
        assert!(matches!(
            problem("_x.example.com", "example.com", "_x"),
            Some(ChangeProblem::Host(_))
        ));
        assert!(matches!(
            problem("Home.example.com", "example.com", "Home"),
            Some(ChangeProblem::Host(_))
        ));
        assert!(matches!(
            problem("home.example.com", "com", "home.example"),
            Some(ChangeProblem::Zone(_))
        ));
        assert_eq!(
            problem("home.example.org", "example.com", "home"),
            Some(ChangeProblem::OutsideZone)
        );
        assert_eq!(
            problem("home.example.com", "example.com", "-ip"),
            Some(ChangeProblem::Label {
                expected: "home".to_owned()
            })
        );
    }
}
