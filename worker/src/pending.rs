//! Why this exists: each address family of a claimed job settles on its own, whether the job sets
//! its address or deletes its records. A job file stays in `cur/` until every family in it is
//! settled (applied, superseded, or failed for good), and what failed is dead-lettered without
//! what succeeded.

use std::collections::BTreeMap;

use dyndns_queue::{Family, FamilyChange, Job};

/// How one family of a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Applied, already in place, or made moot by a newer change: nothing more to do.
    Done,
    /// Refused for good; the reason (with the backend's message) goes into the dead letter.
    Failed(String),
}

/// A valid job claimed into `cur/`, and which of its families are settled.
#[derive(Debug, Clone)]
pub struct PendingFile {
    pub job: Job,
    settled: BTreeMap<Family, Settlement>,
}

impl PendingFile {
    pub fn new(job: Job) -> PendingFile {
        PendingFile {
            job,
            settled: BTreeMap::new(),
        }
    }

    /// The job's changes (addresses and deletes) whose family is not settled yet.
    pub fn unsettled(&self) -> impl Iterator<Item = FamilyChange> + '_ {
        self.job
            .changes()
            .filter(|change| !self.settled.contains_key(&change.family()))
    }

    pub fn settle(&mut self, family: Family, settlement: Settlement) {
        self.settled.insert(family, settlement);
    }

    /// Every family of the job is settled: the file may leave `cur/`.
    pub fn is_settled(&self) -> bool {
        self.unsettled().next().is_none()
    }

    /// Once settled: the job restricted to its failed families and the reasons, or `None` if
    /// nothing failed. The bool says whether every family failed (the file moves as it is).
    pub fn failed_part(&self) -> Option<(Job, String, bool)> {
        let reasons: Vec<String> = self
            .settled
            .iter()
            .filter_map(|(family, settlement)| match settlement {
                Settlement::Failed(reason) => Some(format!("{family}: {reason}")),
                Settlement::Done => None,
            })
            .collect();
        if reasons.is_empty() {
            return None;
        }
        let failed = |family| matches!(self.settled.get(&family), Some(Settlement::Failed(_)));
        let mut part = self.job.clone();
        if !failed(Family::V4) {
            part.ipv4 = None;
        }
        if !failed(Family::V6) {
            part.ipv6 = None;
        }
        part.delete.retain(|family| failed(*family));
        let whole = part == self.job;
        Some((part, reasons.join("; "), whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn dual() -> PendingFile {
        PendingFile::new(Job::new(
            "router",
            "home.example.org",
            Some("203.0.113.7".parse().expect("IPv4")),
            Some("2001:db8::7".parse().expect("IPv6")),
            SystemTime::UNIX_EPOCH,
            None,
        ))
    }

    #[test]
    fn a_file_is_settled_only_when_every_family_is() {
        let mut file = dual();
        assert_eq!(file.unsettled().count(), 2);
        file.settle(Family::V4, Settlement::Failed("refused".into()));
        assert!(!file.is_settled());
        assert_eq!(
            file.unsettled().collect::<Vec<_>>(),
            [FamilyChange::Set(file.job.ipv6.expect("v6").into())]
        );
        file.settle(Family::V6, Settlement::Done);
        assert!(file.is_settled());
    }

    #[test]
    fn the_failed_part_keeps_only_the_failed_families() {
        let mut file = dual();
        file.settle(Family::V4, Settlement::Failed("refused".into()));
        file.settle(Family::V6, Settlement::Done);
        let (part, reason, whole) = file.failed_part().expect("something failed");
        assert_eq!((part.ipv4, part.ipv6), (file.job.ipv4, None));
        assert_eq!(reason, "ipv4: refused");
        assert!(!whole);

        file.settle(Family::V6, Settlement::Failed("also".into()));
        let (part, reason, whole) = file.failed_part().expect("both failed");
        assert_eq!(part, file.job);
        assert_eq!(reason, "ipv4: refused; ipv6: also");
        assert!(whole);

        let mut fine = dual();
        fine.settle(Family::V4, Settlement::Done);
        fine.settle(Family::V6, Settlement::Done);
        assert!(fine.failed_part().is_none());
    }

    #[test]
    fn a_failed_delete_keeps_its_delete_in_the_dead_letter() {
        let mut file = PendingFile::new(Job::deleting(
            "router",
            "home.example.org",
            vec![Family::V4, Family::V6],
            SystemTime::UNIX_EPOCH,
            None,
        ));
        assert_eq!(file.unsettled().count(), 2);
        file.settle(Family::V4, Settlement::Done);
        file.settle(Family::V6, Settlement::Failed("refused".into()));
        assert!(file.is_settled());
        let (part, reason, whole) = file.failed_part().expect("v6 failed");
        assert_eq!(part.delete, [Family::V6]);
        assert_eq!((part.ipv4, part.ipv6), (None, None));
        assert_eq!(reason, "ipv6: refused");
        assert!(!whole);
        let text = String::from_utf8(part.to_json().expect("writes")).expect("UTF-8");
        assert!(text.contains(r#""delete":["ipv6"]"#), "{text}");
    }
}
