//! Why this exists: Plesk's record listing turned into what dyndns reads (the RRset of a name and
//! type) and into the requests that make one change true, add before delete, kept apart from HTTP
//! so the naming rules and the order of writes are tested on their own.
//!
//! A listed record is `{"id", "type", "host", "value", "opt", "ttl"}`. Plesk lists `host` as the
//! owner's name with a trailing dot (`home.dyn.example.com.`), as `plesk bin dns --info` prints it;
//! a host without the dot, or a label relative to the zone, is read the same way (not documented
//! either way, so both are accepted).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde::Deserialize;

use crate::backend::{Change, Published, RecordType, Value};

/// One record as `GET /api/v2/dns/records` lists it; `opt` and unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Record {
    pub id: u64,
    #[serde(rename = "type")]
    pub record_type: String,
    pub host: String,
    pub value: String,
    #[serde(default)]
    pub ttl: Option<u32>,
}

/// One A, AAAA or TXT record of a name, as dyndns needs it to change the name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    id: u64,
    /// `None` when the value is not one of the type (an A record reading `foo`): it is never
    /// what a change wants, so a write removes it.
    value: Option<Value>,
    ttl: Option<u32>,
}

/// The zone as listed: the records of each (owner, type) dyndns manages, and every owner that
/// holds a record of any type.
#[derive(Debug, Default)]
pub(super) struct Listing {
    rrsets: HashMap<(String, RecordType), Vec<Listed>>,
    names: HashSet<String>,
}

/// What makes one change true, in the order it must be sent: new values first, so the name never
/// goes without an answer, then TTL fixes of records that stay, then the records that go.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    pub add: Vec<Value>,
    pub retime: Vec<(u64, Value)>,
    pub remove: Vec<u64>,
}

impl Listing {
    /// The records of `zone` (a canonical name, no trailing dot) as Plesk listed them.
    pub fn new(zone: &str, records: Vec<Record>) -> Listing {
        let mut listing = Listing::default();
        for record in records {
            let Some(owner) = owner(&record.host, zone) else {
                continue;
            };
            let record_type = match record.record_type.to_ascii_uppercase().as_str() {
                "A" => RecordType::A,
                "AAAA" => RecordType::Aaaa,
                "TXT" => RecordType::Txt,
                _ => {
                    listing.names.insert(owner);
                    continue;
                }
            };
            let listed = Listed {
                id: record.id,
                value: value_of(record_type, &record.value),
                ttl: record.ttl,
            };
            listing.names.insert(owner.clone());
            listing
                .rrsets
                .entry((owner, record_type))
                .or_default()
                .push(listed);
        }
        listing
    }

    /// The RRset of `record_type` at `host` as published. Its TTL is the records' TTL when they
    /// agree; when they do not, one that differs from `wanted_ttl`, so the worker writes and the
    /// write evens them out.
    pub fn published(&self, host: &str, record_type: RecordType, wanted_ttl: u32) -> Published {
        let listed = self.listed(host, record_type);
        let values: Vec<Value> = listed.iter().filter_map(|l| l.value.clone()).collect();
        let ttls: Vec<u32> = listed.iter().filter_map(|l| l.ttl).collect();
        let ttl = ttls
            .iter()
            .find(|ttl| **ttl != wanted_ttl)
            .or(ttls.first())
            .copied();
        Published {
            ttl: if values.is_empty() { None } else { ttl },
            values: crate::backend::normalized(values),
            name_exists: self.names.contains(host),
        }
    }

    /// The requests that make `change` true against this listing: each wanted value kept once
    /// (its TTL fixed if it differs) or added, and every other record of the type removed.
    pub fn plan(&self, change: &Change) -> Plan {
        let wanted = change.values();
        let mut plan = Plan::default();
        let mut kept: HashSet<&Value> = HashSet::new();
        for listed in self.listed(&change.host, change.record_type) {
            match &listed.value {
                Some(value) if wanted.contains(value) && !kept.contains(value) => {
                    kept.insert(value);
                    if listed.ttl.is_some_and(|ttl| ttl != change.ttl) {
                        plan.retime.push((listed.id, value.clone()));
                    }
                }
                _ => plan.remove.push(listed.id),
            }
        }
        plan.add = wanted
            .iter()
            .filter(|value| !kept.contains(value))
            .cloned()
            .collect();
        plan
    }

    fn listed(&self, host: &str, record_type: RecordType) -> &[Listed] {
        self.rrsets
            .get(&(host.to_owned(), record_type))
            .map_or(&[], Vec::as_slice)
    }
}

/// The canonical owner (lower case, no trailing dot) of a listed `host` in `zone`, or `None` for a
/// name outside the zone. With a trailing dot the host is absolute; without one it is absolute if
/// it is the zone or ends in `.zone`, and otherwise a label relative to the zone (`@` or empty: the
/// apex).
fn owner(host: &str, zone: &str) -> Option<String> {
    let host = host.trim().to_ascii_lowercase();
    if let Some(absolute) = host.strip_suffix('.') {
        return within(absolute, zone).then(|| absolute.to_owned());
    }
    if host.is_empty() || host == "@" {
        return Some(zone.to_owned());
    }
    if within(&host, zone) {
        return Some(host);
    }
    Some(format!("{host}.{zone}"))
}

fn within(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// A listed value as dyndns holds it: an address of the record's family, or TXT text (Plesk keeps
/// TXT text bare; surrounding quotes, should a version show them, are dropped).
fn value_of(record_type: RecordType, text: &str) -> Option<Value> {
    let text = text.trim();
    match record_type {
        RecordType::A | RecordType::Aaaa => {
            let address: IpAddr = text.parse().ok()?;
            (RecordType::of(&address) == record_type).then_some(Value::Address(address))
        }
        RecordType::Txt => {
            let bare = text
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(text);
            Some(Value::Txt(bare.to_owned()))
        }
    }
}

/// The text Plesk takes as a record's `value`.
pub(super) fn value_text(value: &Value) -> String {
    match value {
        Value::Address(address) => address.to_string(),
        // Checked printable ASCII without `"` or `\` (`Change::check_names`): sent as it is.
        Value::Txt(text) => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: &str = "example.com";

    fn record(id: u64, record_type: &str, host: &str, value: &str, ttl: Option<u32>) -> Record {
        Record {
            id,
            record_type: record_type.to_owned(),
            host: host.to_owned(),
            value: value.to_owned(),
            ttl,
        }
    }

    fn address(text: &str) -> Value {
        Value::Address(text.parse().unwrap())
    }

    #[test]
    fn hosts_are_read_with_or_without_the_dot_and_as_labels() {
        assert_eq!(
            owner("home.example.com.", ZONE).as_deref(),
            Some("home.example.com")
        );
        assert_eq!(
            owner("Home.Example.COM", ZONE).as_deref(),
            Some("home.example.com")
        );
        assert_eq!(owner("example.com.", ZONE).as_deref(), Some("example.com"));
        assert_eq!(
            owner("home.dyn", ZONE).as_deref(),
            Some("home.dyn.example.com")
        );
        assert_eq!(owner("", ZONE).as_deref(), Some("example.com"));
        assert_eq!(owner("@", ZONE).as_deref(), Some("example.com"));
        assert_eq!(owner("other.org.", ZONE), None);
        // `badexample.com.` ends in the zone's text but is not in the zone.
        assert_eq!(owner("badexample.com.", ZONE), None);
    }

    #[test]
    fn the_listing_gives_values_ttl_and_whether_the_name_exists() {
        let listing = Listing::new(
            ZONE,
            vec![
                record(1, "A", "home.example.com.", "203.0.113.1", Some(60)),
                record(2, "A", "home.example.com.", "203.0.113.2", Some(60)),
                record(3, "AAAA", "home.example.com.", "2001:db8::0:1", Some(60)),
                record(4, "TXT", "_acme-challenge.example.com.", "\"token\"", None),
                record(5, "MX", "mail.example.com.", "mx.example.com.", Some(60)),
                record(6, "A", "outside.example.org.", "203.0.113.9", None),
            ],
        );
        let a = listing.published("home.example.com", RecordType::A, 60);
        assert_eq!(a.values, [address("203.0.113.1"), address("203.0.113.2")]);
        assert_eq!((a.ttl, a.name_exists), (Some(60), true));
        let aaaa = listing.published("home.example.com", RecordType::Aaaa, 60);
        assert_eq!(aaaa.values, [address("2001:db8::1")]);
        let txt = listing.published("_acme-challenge.example.com", RecordType::Txt, 60);
        assert_eq!(txt.values, [Value::Txt("token".to_owned())]);
        assert_eq!(txt.ttl, None);
        // A name with only an MX exists; a name with nothing does not.
        let mail = listing.published("mail.example.com", RecordType::A, 60);
        assert!(mail.values.is_empty() && mail.name_exists && mail.ttl.is_none());
        assert!(
            !listing
                .published("new.example.com", RecordType::A, 60)
                .name_exists
        );
    }

    #[test]
    fn records_that_disagree_on_ttl_report_one_that_differs_from_the_wanted() {
        let listing = Listing::new(
            ZONE,
            vec![
                record(1, "A", "h.example.com.", "203.0.113.1", Some(60)),
                record(2, "A", "h.example.com.", "203.0.113.2", Some(3600)),
            ],
        );
        assert_eq!(
            listing.published("h.example.com", RecordType::A, 60).ttl,
            Some(3600)
        );
        assert_eq!(
            listing.published("h.example.com", RecordType::A, 3600).ttl,
            Some(60)
        );
    }

    #[test]
    fn a_changed_address_is_added_before_the_old_record_is_removed() {
        let listing = Listing::new(
            ZONE,
            vec![
                record(7, "A", "home.example.com.", "198.51.100.9", Some(60)),
                record(8, "AAAA", "home.example.com.", "2001:db8::9", Some(60)),
            ],
        );
        let change = Change::address(
            "home.example.com",
            ZONE,
            "home",
            "203.0.113.7".parse().unwrap(),
            60,
        );
        assert_eq!(
            listing.plan(&change),
            Plan {
                add: vec![address("203.0.113.7")],
                retime: vec![],
                remove: vec![7],
            }
        );
    }

    #[test]
    fn a_kept_value_stays_once_with_its_ttl_fixed_and_duplicates_and_junk_go() {
        let listing = Listing::new(
            ZONE,
            vec![
                record(1, "A", "home.example.com.", "203.0.113.7", Some(3600)),
                record(2, "A", "home.example.com.", "203.0.113.7", Some(60)),
                record(3, "A", "home.example.com.", "not-an-address", None),
            ],
        );
        let change = Change::address(
            "home.example.com",
            ZONE,
            "home",
            "203.0.113.7".parse().unwrap(),
            60,
        );
        assert_eq!(
            listing.plan(&change),
            Plan {
                add: vec![],
                retime: vec![(1, address("203.0.113.7"))],
                remove: vec![2, 3],
            }
        );
    }

    #[test]
    fn a_delete_removes_every_record_of_its_type_only() {
        let listing = Listing::new(
            ZONE,
            vec![
                record(1, "TXT", "_acme-challenge.example.com.", "a", None),
                record(2, "TXT", "_acme-challenge.example.com.", "b", None),
                record(3, "A", "_acme-challenge.example.com.", "203.0.113.1", None),
            ],
        );
        let change = Change::delete(
            "_acme-challenge.example.com",
            ZONE,
            "_acme-challenge",
            RecordType::Txt,
        );
        assert_eq!(
            listing.plan(&change),
            Plan {
                add: vec![],
                retime: vec![],
                remove: vec![1, 2],
            }
        );
    }
}
