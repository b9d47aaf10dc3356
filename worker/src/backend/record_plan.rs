//! Why this exists: APIs that keep one record per value with its own id (Cloudflare, DigitalOcean)
//! have no "replace this RRset"; this works out, once for both, the fewest record requests that turn
//! the records a name holds into the values a change wants: keep what is right, update the rest in
//! place, create only what is still missing, delete only what is left over.

use super::Value;

/// One record of the RRset as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Existing<Id> {
    pub(crate) id: Id,
    pub(crate) value: Value,
    /// Its other settings (TTL, Cloudflare's proxy state) already are what a write would set.
    pub(crate) current: bool,
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
pub(crate) fn plan<Id: Clone>(existing: &[Existing<Id>], wanted: &[Value]) -> Plan<Id> {
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
    fn a_duplicate_record_is_left_over() {
        let plan = plan(
            &[record(1, "192.0.2.1", true), record(2, "192.0.2.1", true)],
            &[address("192.0.2.1")],
        );
        assert_eq!(plan.delete, [2]);
        assert_eq!(plan.len(), 1);
    }
}
