//! Why this exists: the one interface every DNS backend implements, so the worker loop never knows which
//! DNS server it is talking to and tests can hand it a fake.

use std::net::IpAddr;

use dyndns_names::names;

pub mod cloudflare;
pub mod command;
pub mod digitalocean;
mod error;
mod http_api;
mod last_read;
pub mod none;
pub mod plesk;
pub mod plesk_api;
pub mod powerdns;
mod record_plan;
pub mod rfc2136;
pub mod zonefile;

pub use cloudflare::Cloudflare;
pub use command::{CommandBackend, CommandBackendError};
pub use digitalocean::DigitalOcean;
use error::ChangeProblem;
pub use error::{BackendError, ChangeError, CommandFailed, Failure};
pub use http_api::HttpApiError;
pub use none::NoneBackend;
pub use plesk::Plesk;
pub use plesk_api::{CaFileError, PleskApi, PleskApiError, PleskApiOptions};
pub use powerdns::{PowerDns, PowerDnsError};
pub use rfc2136::{Rfc2136, Rfc2136Error, Rfc2136Options, Rfc2136SetupError};
pub use zonefile::{ZoneFile, ZoneFileError, ZoneFileOptions};

/// The record types dyndns manages: addresses, and TXT (for ACME DNS-01 challenges).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Txt,
}

impl RecordType {
    pub(crate) fn of(address: &IpAddr) -> RecordType {
        match address {
            IpAddr::V4(_) => RecordType::A,
            IpAddr::V6(_) => RecordType::Aaaa,
        }
    }

    /// The record type that holds addresses of `family`: what a job's delete removes.
    pub(crate) fn of_family(family: dyndns_queue::Family) -> RecordType {
        match family {
            dyndns_queue::Family::V4 => RecordType::A,
            dyndns_queue::Family::V6 => RecordType::Aaaa,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Txt => "TXT",
        }
    }
}

/// One value of an RRset: an address, or the text of a TXT record (its character-strings joined,
/// without quotes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Address(IpAddr),
    Txt(String),
}

impl Value {
    /// The type of record that holds this value.
    pub fn record_type(&self) -> RecordType {
        match self {
            Value::Address(address) => RecordType::of(address),
            Value::Txt(_) => RecordType::Txt,
        }
    }
}

impl From<IpAddr> for Value {
    fn from(address: IpAddr) -> Value {
        Value::Address(address)
    }
}

/// A value is an address when it is that address (tests and logs compare them so).
impl PartialEq<IpAddr> for Value {
    fn eq(&self, address: &IpAddr) -> bool {
        matches!(self, Value::Address(own) if own == address)
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Address(address) => address.fmt(f),
            Value::Txt(text) => write!(f, "{text:?}"),
        }
    }
}

/// The values of an RRset sorted and without duplicates, so two sets compare by `==`.
pub fn normalized(mut values: Vec<Value>) -> Vec<Value> {
    values.sort();
    values.dedup();
    values
}

/// What a change makes of the RRset of (host, type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Exactly these values (sorted, no duplicates, never empty), all of the change's type.
    Values(Vec<Value>),
    /// No record of the type at the host (`offline`, a finished ACME challenge).
    Absent,
}

/// One RRset to make true: after it is applied, the RRset of `record_type` at `host` is `wanted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// A canonical host name (`dyndns_names::names`): `home.dyn.example.com`.
    pub host: String,
    /// The zone as the backend knows it (`[[zone]] backend_zone`): `example.com`.
    pub zone: String,
    /// `host` relative to `zone`: `home.dyn`; the empty string for the zone apex.
    pub label: String,
    pub record_type: RecordType,
    pub wanted: Wanted,
    pub ttl: u32,
}

impl Change {
    /// The RRset of the address's type at `host` holds exactly `address`.
    pub fn address(host: &str, zone: &str, label: &str, address: IpAddr, ttl: u32) -> Change {
        Change {
            host: host.to_owned(),
            zone: zone.to_owned(),
            label: label.to_owned(),
            record_type: RecordType::of(&address),
            wanted: Wanted::Values(vec![Value::Address(address)]),
            ttl,
        }
    }

    /// The RRset of `record_type` at `host` holds exactly `values` (all of that type).
    pub fn replace(
        host: &str,
        zone: &str,
        label: &str,
        record_type: RecordType,
        values: Vec<Value>,
        ttl: u32,
    ) -> Change {
        Change {
            host: host.to_owned(),
            zone: zone.to_owned(),
            label: label.to_owned(),
            record_type,
            wanted: Wanted::Values(normalized(values)),
            ttl,
        }
    }

    /// No RRset of `record_type` at `host`.
    pub fn delete(host: &str, zone: &str, label: &str, record_type: RecordType) -> Change {
        Change {
            host: host.to_owned(),
            zone: zone.to_owned(),
            label: label.to_owned(),
            record_type,
            wanted: Wanted::Absent,
            ttl: 0,
        }
    }

    /// The values the RRset should hold: empty for a delete.
    pub fn values(&self) -> &[Value] {
        match &self.wanted {
            Wanted::Values(values) => values,
            Wanted::Absent => &[],
        }
    }

    pub fn is_delete(&self) -> bool {
        self.wanted == Wanted::Absent
    }

    /// Checks that `host` and `zone` are canonical host names and `label` is the host less its zone,
    /// by the one rule in `dyndns-names`, and that every value is of the change's type and a TXT
    /// value fits a record, before a backend puts them into a zone file line, a URL or a command's
    /// argv (a label like `-ip` or `x IN NS evil.` must never get there).
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
            None => return Err(refuse(ChangeProblem::OutsideZone)),
            Some(expected) if expected != self.label => {
                return Err(refuse(ChangeProblem::Label {
                    expected: expected.to_owned(),
                }))
            }
            Some(_) => {}
        }
        if let Wanted::Values(values) = &self.wanted {
            if values.is_empty() {
                return Err(refuse(ChangeProblem::NoValues));
            }
            for value in values {
                if value.record_type() != self.record_type {
                    return Err(refuse(ChangeProblem::ValueType {
                        value: value.to_string(),
                    }));
                }
                if let Value::Txt(text) = value {
                    check_txt(text).map_err(refuse)?;
                }
            }
        }
        Ok(())
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

/// The longest TXT value dyndns writes: an ACME token is 43 characters; 255 fits one
/// character-string in every backend's format.
pub const MAX_TXT_BYTES: usize = 255;

/// TXT values are printable ASCII without `"` or `\`, so no backend needs to escape them (a zone
/// file line, a JSON body, an argv) and none can be tricked into ending the record early.
fn check_txt(text: &str) -> Result<(), ChangeProblem> {
    let printable = text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if text.len() > MAX_TXT_BYTES || !printable {
        return Err(ChangeProblem::Txt);
    }
    Ok(())
}

/// An RRset as the backend publishes it now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Published {
    /// Sorted, without duplicates ([`normalized`]); empty when there is no such RRset.
    pub values: Vec<Value>,
    /// The RRset's TTL, when the backend says and the RRset exists.
    pub ttl: Option<u32>,
    /// The host holds a record of some type (or is an empty non-terminal the backend knows):
    /// `[[zone]] create_missing = false` refuses to create a host for which this is false.
    pub name_exists: bool,
}

/// What the worker found and did for one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The values of that type the host held before (empty if none, or if the backend cannot read).
    pub previous: Vec<Value>,
    /// False when the RRset already was what the change wants and nothing was written.
    pub changed: bool,
}

/// One result per change of a batch, in the batch's order.
pub type BatchResults = Vec<Result<Applied, BackendError>>;
/// One read per change of a batch, in the batch's order.
pub type ReadResults = Vec<Result<Published, BackendError>>;
/// One write result per change of a batch, in the batch's order.
pub type WriteResults = Vec<Result<(), BackendError>>;

/// A DNS backend is an adapter: it reads RRsets and writes them, each for a whole zone's batch in
/// as few round trips as its API allows. Comparing, skipping what is already right, refusing to
/// create names and noticing a write that did not take happen once, for every backend, in
/// `reconcile.rs`.
#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Short name for logs: `plesk`, `zonefile`.
    fn name(&self) -> &'static str;

    /// Whether [`Backend::read`] can tell what is published. A backend that cannot (a command)
    /// gets every change written and nothing read back.
    fn reads(&self) -> bool {
        true
    }

    /// The RRset each change names, as published now, for all changes of one backend zone at
    /// once (each change's `zone` is `zone`; its `wanted` does not matter here). One result per
    /// change, in order; an error that stops the whole read is given for each change.
    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults;

    /// Makes each change's RRset what it wants, for all changes of one backend zone at once. The
    /// changes were checked ([`Change::check_in`]) and each differs from what was read. One result
    /// per change, in order: a change that fails alone fails only its own entry. Must be
    /// idempotent: the worker re-applies a change after a crash.
    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults;

    /// For `dyndns-worker check`: the credentials work and the backend serves `zone`. Changes
    /// nothing; says in a few words what it found (`zone example.com, 12 records`).
    async fn check(&self, zone: &str) -> Result<String, BackendError>;

    /// Backend round trips so far (UPDATE messages, zone file writes, API requests that write):
    /// for the bench and tests, which prove a batch costs few.
    fn round_trips(&self) -> u64 {
        0
    }
}

mod select;
pub use select::{build, from_config, Backends, SelectError};

#[cfg(test)]
mod tests {
    use super::*;

    fn change(host: &str, zone: &str, label: &str) -> Change {
        Change::address(host, zone, label, IpAddr::from([192, 0, 2, 1]), 60)
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

    #[test]
    fn txt_values_that_could_escape_their_record_are_refused() {
        let txt = |text: &str| {
            Change::replace(
                "home.example.com",
                "example.com",
                "home",
                RecordType::Txt,
                vec![Value::Txt(text.to_owned())],
                60,
            )
        };
        let problem = |change: Change| change.check_names().err().map(|e| e.problem);
        assert_eq!(problem(txt("gfj9Xq-Rv_token with spaces; and more")), None);
        for bad in ["a\"b", "a\\b", "line\nbreak", &"x".repeat(256)] {
            assert_eq!(problem(txt(bad)), Some(ChangeProblem::Txt), "{bad:?}");
        }
        let mixed = Change::replace(
            "home.example.com",
            "example.com",
            "home",
            RecordType::A,
            vec![Value::Txt("x".to_owned())],
            60,
        );
        assert!(matches!(
            problem(mixed),
            Some(ChangeProblem::ValueType { .. })
        ));
    }
}
