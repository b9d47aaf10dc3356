//! Why this exists: coalescing. Of several pending jobs for one host and address family only the newest
//! is applied, whether it sets an address or deletes the records; the others are superseded by it,
//! so backend calls equal distinct changes.

use std::collections::BTreeMap;

use dyndns_queue::{Family, FamilyChange};

use crate::pending::PendingFile;

/// One host and address family: the unit the backend changes.
pub type Target = (String, Family);

/// The change to make for one target and the spool files it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub target: Target,
    /// The newest job's change: an address to set, or the family's records to delete.
    pub change: FamilyChange,
    /// The spool file name of the newest job for this target (its `received_at` is recorded).
    pub newest: String,
    /// Every spool file with a change for this target, the newest included.
    pub files: Vec<String>,
}

/// Groups the unsettled families of pending jobs (spool file name → job) by target, newest job
/// first by `received_at`, then by file name so equal times still order deterministically. A
/// family already settled is never planned again, whatever its file's other families wait for.
pub fn plan(pending: &BTreeMap<String, PendingFile>) -> Vec<Planned> {
    let mut by_target: BTreeMap<Target, Planned> = BTreeMap::new();
    let mut newest_time = BTreeMap::new();
    for (name, file) in pending {
        let job = &file.job;
        for change in file.unsettled() {
            let target = (job.host.clone(), change.family());
            let key = (job.received_at, name.clone());
            let entry = by_target.entry(target.clone()).or_insert_with(|| Planned {
                target: target.clone(),
                change,
                newest: name.clone(),
                files: Vec::new(),
            });
            entry.files.push(name.clone());
            let newer = newest_time.get(&target).is_none_or(|best| &key > best);
            if newer {
                entry.change = change;
                entry.newest = name.clone();
                newest_time.insert(target, key);
            }
        }
    }
    by_target.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pending::Settlement;
    use dyndns_queue::Job;
    use std::time::{Duration, SystemTime};

    fn job(host: &str, v4: Option<&str>, v6: Option<&str>, second: u64) -> PendingFile {
        PendingFile::new(Job::new(
            "router",
            host,
            v4.map(|text| text.parse().unwrap()),
            v6.map(|text| text.parse().unwrap()),
            SystemTime::UNIX_EPOCH + Duration::from_secs(second),
            None,
        ))
    }

    #[test]
    fn newest_job_per_host_and_family_wins() {
        let mut pending = BTreeMap::new();
        pending.insert(
            "c".to_string(),
            job("h.example.com", Some("203.0.113.1"), None, 3),
        );
        pending.insert(
            "a".to_string(),
            job("h.example.com", Some("203.0.113.9"), Some("2001:db8::1"), 9),
        );
        pending.insert(
            "b".to_string(),
            job("h.example.com", Some("203.0.113.5"), None, 5),
        );
        pending.insert(
            "d".to_string(),
            job("other.example.com", Some("203.0.113.2"), None, 1),
        );
        let planned = plan(&pending);
        assert_eq!(planned.len(), 3);
        let v4 = planned
            .iter()
            .find(|p| p.target == ("h.example.com".into(), Family::V4))
            .unwrap();
        assert_eq!(v4.change, FamilyChange::Set("203.0.113.9".parse().unwrap()));
        assert_eq!(v4.newest, "a");
        assert_eq!(v4.files.len(), 3);
        let v6 = planned
            .iter()
            .find(|p| p.target == ("h.example.com".into(), Family::V6))
            .unwrap();
        assert_eq!(v6.files, ["a"]);
    }

    fn delete(host: &str, families: &[Family], second: u64) -> PendingFile {
        PendingFile::new(Job::deleting(
            "router",
            host,
            families.to_vec(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(second),
            None,
        ))
    }

    fn planned_for(planned: &[Planned], family: Family) -> &Planned {
        planned
            .iter()
            .find(|p| p.target == ("h.example.com".into(), family))
            .expect("a change planned for the family")
    }

    #[test]
    fn a_newer_delete_supersedes_an_older_update() {
        let mut pending = BTreeMap::new();
        pending.insert(
            "a".to_string(),
            job("h.example.com", Some("203.0.113.1"), Some("2001:db8::1"), 3),
        );
        pending.insert(
            "b".to_string(),
            delete("h.example.com", &[Family::V4, Family::V6], 5),
        );
        let planned = plan(&pending);
        assert_eq!(planned.len(), 2);
        for family in [Family::V4, Family::V6] {
            let target = planned_for(&planned, family);
            assert_eq!(target.change, FamilyChange::Delete(family));
            assert_eq!(target.newest, "b");
            assert_eq!(target.files, ["a", "b"]);
        }
    }

    #[test]
    fn a_newer_update_supersedes_an_older_delete() {
        let mut pending = BTreeMap::new();
        pending.insert(
            "a".to_string(),
            delete("h.example.com", &[Family::V4, Family::V6], 3),
        );
        pending.insert(
            "b".to_string(),
            job("h.example.com", Some("203.0.113.1"), None, 5),
        );
        let planned = plan(&pending);
        let v4 = planned_for(&planned, Family::V4);
        assert_eq!(v4.change, FamilyChange::Set("203.0.113.1".parse().unwrap()));
        assert_eq!(v4.newest, "b");
        // The update named only IPv4: the older delete of IPv6 still stands.
        let v6 = planned_for(&planned, Family::V6);
        assert_eq!(v6.change, FamilyChange::Delete(Family::V6));
        assert_eq!(v6.newest, "a");
    }

    #[test]
    fn a_settled_family_is_not_planned_again() {
        let mut pending = BTreeMap::new();
        let mut dual = job("h.example.com", Some("203.0.113.9"), Some("2001:db8::1"), 9);
        dual.settle(Family::V4, Settlement::Done);
        pending.insert("a".to_string(), dual);
        let planned = plan(&pending);
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].target, ("h.example.com".into(), Family::V6));
    }
}
