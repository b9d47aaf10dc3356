//! Why this exists: APIs that keep one record per value with its own id (Cloudflare, DigitalOcean)
//! have no "replace this RRset"; this holds, once for both, a zone as such an API lists it, what it
//! publishes for a change, and the fewest record requests that turn the records a name holds into
//! the values a change wants: keep what is right, update the rest in place, create only what is
//! still missing, delete only what is left over.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::{Change, Published, RecordType, Value};

/// One record as listed, of a type dyndns manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed<Id> {
    pub(crate) id: Id,
    pub(crate) value: Value,
    pub(crate) ttl: u32,
    /// Cloudflare's proxy state (false where the API has none).
    pub(crate) proxied: bool,
}

/// A zone as listed: each (host, type) dyndns manages, and every host with a record of any type.
#[derive(Debug)]
pub(crate) struct Listing<Id> {
    rrsets: HashMap<(String, RecordType), Vec<Listed<Id>>>,
    names: HashSet<String>,
    /// Records listed, of every type.
    pub(crate) count: usize,
}

impl<Id: Clone> Listing<Id> {
    pub(crate) fn new() -> Listing<Id> {
        Listing {
            rrsets: HashMap::new(),
            names: HashSet::new(),
            count: 0,
        }
    }

    /// Notes a listed record of `host` (lower case, no trailing dot); `managed` is the record when
    /// it is of a type dyndns manages.
    pub(crate) fn add(&mut self, host: String, managed: Option<Listed<Id>>) {
        self.count += 1;
        if let Some(record) = managed {
            self.rrsets
                .entry((host.clone(), record.value.record_type()))
                .or_default()
                .push(record);
        }
        self.names.insert(host);
    }

    fn records(&self, change: &Change) -> &[Listed<Id>] {
        self.rrsets
            .get(&(change.host.clone(), change.record_type))
            .map_or(&[], Vec::as_slice)
    }

    /// The RRset of `change` as listed. `wire_ttl` is the TTL a write of the change sets (the
    /// zone's, raised to the API's lowest): when every record has it, the RRset reads as having the
    /// change's own TTL, so a TTL the API cannot take is not rewritten on every batch.
    pub(crate) fn published(&self, change: &Change, wire_ttl: u32) -> Published {
        let records = self.records(change);
        let other = records
            .iter()
            .map(|record| record.ttl)
            .find(|ttl| *ttl != wire_ttl);
        Published {
            values: records.iter().map(|record| record.value.clone()).collect(),
            ttl: (!records.is_empty()).then(|| other.unwrap_or(change.ttl)),
            name_exists: self.names.contains(&change.host),
        }
    }

    /// The requests that make `change` true: a record is current when it has `wire_ttl` and, where
    /// `proxied` is given, that proxy state.
    pub(crate) fn plan(&self, change: &Change, wire_ttl: u32, proxied: Option<bool>) -> Plan<Id> {
        let existing: Vec<Existing<Id>> = self
            .records(change)
            .iter()
            .map(|record| Existing {
                id: record.id.clone(),
                value: record.value.clone(),
                current: record.ttl == wire_ttl
                    && proxied.is_none_or(|proxied| record.proxied == proxied),
            })
            .collect();
        plan(&existing, change.values())
    }
}

/// The value of a listed record of `record_type` with `text` as its content, when it is of a type
/// dyndns manages; `txt` turns TXT content into its text (each API quotes differently).
pub(crate) fn managed_value(
    record_type: &str,
    text: &str,
    txt: impl FnOnce(&str) -> String,
) -> Option<Value> {
    match record_type {
        "A" => match text.parse() {
            Ok(address @ IpAddr::V4(_)) => Some(Value::Address(address)),
            _ => None,
        },
        "AAAA" => match text.parse() {
            Ok(address @ IpAddr::V6(_)) => Some(Value::Address(address)),
            _ => None,
        },
        "TXT" => Some(Value::Txt(txt(text))),
        _ => None,
    }
}

/// One record of the RRset, for planning.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Existing<Id> {
    id: Id,
    value: Value,
    /// Its other settings (TTL, Cloudflare's proxy state) already are what a write would set.
    current: bool,
}

/// The record requests that make an RRset hold exactly the wanted values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan<Id> {
    /// Records to rewrite in place: to a wanted value, with the settings a write sets.
    pub(crate) update: Vec<(Id, Value)>,
    /// Values no record can be reused for.
    pub(crate) create: Vec<Value>,
    /// Records left over.
    pub(crate) delete: Vec<Id>,
}

impl<Id> Plan<Id> {
    /// How many record operations the plan takes.
    pub(crate) fn len(&self) -> usize {
        self.update.len() + self.create.len() + self.delete.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The plan for `existing` to hold exactly `wanted` (empty for a delete). Reusing a record's id
/// before creating one keeps the request count at the larger of the two sets' sizes, at most.
fn plan<Id: Clone>(existing: &[Existing<Id>], wanted: &[Value]) -> Plan<Id> {
    let mut missing: Vec<&Value> = wanted.iter().collect();
    let mut update = Vec::new();
    let mut spare = Vec::new();
    for record in existing {
        match missing.iter().position(|value| **value == record.value) {
            Some(at) => {
                missing.remove(at);
                if !record.current {
                    update.push((record.id.clone(), record.value.clone()));
                }
            }
            None => spare.push(record.id.clone()),
        }
    }
    let mut spare = spare.into_iter();
    let mut create = Vec::new();
    for value in missing {
        match spare.next() {
            Some(id) => update.push((id, value.clone())),
            None => create.push(value.clone()),
        }
    }
    Plan {
        update,
        create,
        delete: spare.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> Value {
        Value::Address(text.parse().expect("test address"))
    }

    fn record(id: u32, text: &str, current: bool) -> Existing<u32> {
        Existing {
            id,
            value: address(text),
            current,
        }
    }

    #[test]
    fn a_right_rrset_needs_nothing() {
        let plan = plan(&[record(1, "192.0.2.1", true)], &[address("192.0.2.1")]);
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_changed_address_is_updated_in_place() {
        let plan = plan(&[record(1, "192.0.2.1", true)], &[address("192.0.2.2")]);
        assert_eq!(plan.update, [(1, address("192.0.2.2"))]);
        assert!(plan.create.is_empty() && plan.delete.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_right_value_with_an_old_ttl_is_rewritten_and_extras_deleted() {
        let plan = plan(
            &[
                record(1, "192.0.2.9", true),
                record(2, "192.0.2.1", false),
                record(3, "192.0.2.8", true),
            ],
            &[address("192.0.2.1")],
        );
        assert_eq!(plan.update, [(2, address("192.0.2.1"))]);
        assert_eq!(plan.delete, [1, 3]);
        assert!(plan.create.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_new_name_is_created_and_a_delete_removes_every_record() {
        let created = plan::<u32>(&[], &[address("192.0.2.1"), address("192.0.2.2")]);
        assert_eq!(created.create, [address("192.0.2.1"), address("192.0.2.2")]);
        let deleted = plan(
            &[record(1, "192.0.2.1", true), record(2, "192.0.2.2", true)],
            &[],
        );
        assert_eq!(deleted.delete, [1, 2]);
        assert_eq!(deleted.len(), 2);
    }

    #[test]
    fn a_listing_publishes_the_changes_ttl_when_the_records_have_the_wire_ttl() {
        let mut listing = Listing::new();
        let record = |id, text: &str, ttl| Listed {
            id,
            value: address(text),
            ttl,
            proxied: false,
        };
        listing.add("a.example.com".to_owned(), Some(record(1, "192.0.2.1", 60)));
        listing.add("b.example.com".to_owned(), Some(record(2, "192.0.2.2", 1)));
        listing.add("c.example.com".to_owned(), None);
        let short = |host: &str| {
            let label = host.trim_end_matches(".example.com");
            Change::address(
                host,
                "example.com",
                label,
                "192.0.2.9".parse().expect("ip"),
                30,
            )
        };
        let a = listing.published(&short("a.example.com"), 60);
        assert_eq!((a.values.len(), a.ttl, a.name_exists), (1, Some(30), true));
        assert_eq!(listing.published(&short("b.example.com"), 60).ttl, Some(1));
        let c = listing.published(&short("c.example.com"), 60);
        assert_eq!((c.values.len(), c.ttl, c.name_exists), (0, None, true));
        assert!(!listing.published(&short("d.example.com"), 60).name_exists);
        assert_eq!(listing.count, 3);
        assert_eq!(
            listing.plan(&short("b.example.com"), 60, None).update,
            [(2, address("192.0.2.9"))]
        );
    }

    #[test]
    fn listed_values_are_only_the_managed_types() {
        let unquote = |text: &str| text.trim_matches('"').to_owned();
        assert_eq!(
            managed_value("A", "192.0.2.1", unquote),
            Some(address("192.0.2.1"))
        );
        assert_eq!(managed_value("A", "2001:db8::1", unquote), None);
        assert_eq!(
            managed_value("AAAA", "2001:db8::1", unquote),
            Some(address("2001:db8::1"))
        );
        assert_eq!(
            managed_value("TXT", "\"t\"", unquote),
            Some(Value::Txt("t".to_owned()))
        );
        assert_eq!(managed_value("MX", "mail.example.com", unquote), None);
    }

    #[test]
    fn a_duplicate_record_is_left_over() {
        let plan = plan(
            &[record(1, "192.0.2.1", true), record(2, "192.0.2.1", true)],
            &[address("192.0.2.1")],
        );
        assert_eq!(plan.delete, [2]);
        assert_eq!(plan.len(), 1);
    }
}
