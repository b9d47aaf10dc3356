//! Why this exists: `nochg` must cost nothing, so the last accepted address per host lives in memory
//! (or that its records were deleted), seeded at start from the worker's applied state and the
//! pending spool, and corrected whenever the worker reports it handled a job (applied or
//! dead-lettered) so a failed change is sent again.

use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use std::time::SystemTime;

use dyndns_queue::{AppliedState, Family, FamilyState, Job, SpoolDirs, MAX_FUTURE};

use crate::file_version::FileVersion;
use crate::request::Addresses;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Known<T> {
    /// `None`: the family's records were deleted (a delete accepted or applied).
    address: Option<T>,
    /// `received_at` of the job that carried it; a newer job always wins.
    since: SystemTime,
}

#[derive(Debug, Default, Clone, Copy)]
struct HostAddresses {
    v4: Option<Known<Ipv4Addr>>,
    v6: Option<Known<Ipv6Addr>>,
}

/// Which families of a request differ from what was last accepted: an address to set, or records
/// to delete that are not known to be gone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    pub v4: Option<Ipv4Addr>,
    pub v6: Option<Ipv6Addr>,
    pub delete_v4: bool,
    pub delete_v6: bool,
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        self.v4.is_none() && self.v6.is_none() && !self.delete_v4 && !self.delete_v6
    }

    /// The families to delete, as a job lists them.
    pub fn deleted(&self) -> Vec<Family> {
        [(self.delete_v4, Family::V4), (self.delete_v6, Family::V6)]
            .into_iter()
            .filter_map(|(delete, family)| delete.then_some(family))
            .collect()
    }
}

pub struct Accepted {
    hosts: RwLock<FxHashMap<String, HostAddresses>>,
    state_path: PathBuf,
    /// The state file's version when last merged, to skip re-reading an unchanged file.
    state_seen: RwLock<Option<FileVersion>>,
    newest_at_load: Option<SystemTime>,
}

impl Accepted {
    /// Seeds from `state_dir/applied.json` and the jobs still pending in `new/` and `cur/`.
    /// Unreadable sources are logged and skipped: the worst outcome is one `good` too many. A pending
    /// job the worker will refuse is skipped too, as it dead-letters such a job without recording
    /// it, so its address would pass for accepted until a restart: one dated more than
    /// [`MAX_FUTURE`] after both `now` and everything the worker handled (counting it would also
    /// date every new job after it), and one `admissible` says the config does not allow (the
    /// worker's own rule, [`dyndns_config::Config::check_job`]).
    pub fn load(
        state_dir: &Path,
        spool: &SpoolDirs,
        now: SystemTime,
        admissible: impl Fn(&Job) -> bool,
    ) -> Accepted {
        let mut accepted = Accepted {
            hosts: RwLock::new(FxHashMap::default()),
            state_path: AppliedState::path_in(state_dir),
            state_seen: RwLock::new(None),
            newest_at_load: None,
        };
        let mut newest = accepted.merge_state();
        let latest_believable = newest.unwrap_or(now).max(now) + MAX_FUTURE;
        match spool.pending_jobs() {
            Ok(pending) => {
                let (jobs, future): (Vec<_>, Vec<_>) = pending
                    .jobs
                    .into_iter()
                    .partition(|job| job.received_at <= latest_believable);
                if !future.is_empty() {
                    tracing::warn!(
                        count = future.len(),
                        "pending jobs dated in the future were ignored; the worker dead-letters them"
                    );
                }
                let (jobs, refused): (Vec<_>, Vec<_>) = jobs.into_iter().partition(&admissible);
                if !refused.is_empty() {
                    tracing::warn!(
                        count = refused.len(),
                        "pending jobs the config does not allow were ignored; the worker dead-letters them"
                    );
                }
                for job in jobs {
                    newest = newest.max(Some(job.received_at));
                    let changed = Changed {
                        v4: job.ipv4,
                        v6: job.ipv6,
                        delete_v4: job.delete.contains(&Family::V4),
                        delete_v6: job.delete.contains(&Family::V6),
                    };
                    accepted.record_change(&job.host, changed, job.received_at);
                }
                if let Some((path, error)) = pending.unreadable.first() {
                    // Debug-quoted: a planted file's name may hold a newline.
                    tracing::warn!(
                        count = pending.unreadable.len(),
                        first = ?path,
                        error = ?error.to_string(),
                        "pending spool entries that are not jobs were skipped; the worker dead-letters them"
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the pending jobs; `nochg` may answer `good` once too often")
            }
        }
        accepted.newest_at_load = newest;
        accepted
    }

    /// The newest `received_at` seen at start, in the worker's applied state (every job it handled)
    /// or in a pending job: new jobs must be dated after it, whatever the clock says now.
    pub fn newest_at_load(&self) -> Option<SystemTime> {
        self.newest_at_load
    }

    /// The families of `wanted` that differ from the last accepted addresses of `host`.
    pub fn changed(&self, host: &str, wanted: Addresses) -> Changed {
        let hosts = self.hosts.read().unwrap_or_else(PoisonError::into_inner);
        let known = hosts.get(host).copied().unwrap_or_default();
        Changed {
            v4: wanted
                .v4
                .filter(|v4| known.v4.is_none_or(|old| old.address != Some(*v4))),
            v6: wanted
                .v6
                .filter(|v6| known.v6.is_none_or(|old| old.address != Some(*v6))),
            ..Changed::default()
        }
    }

    /// The families of `host` to delete: both, but those known to be deleted already.
    pub fn to_delete(&self, host: &str) -> Changed {
        let hosts = self.hosts.read().unwrap_or_else(PoisonError::into_inner);
        let known = hosts.get(host).copied().unwrap_or_default();
        Changed {
            delete_v4: known.v4.is_none_or(|old| old.address.is_some()),
            delete_v6: known.v6.is_none_or(|old| old.address.is_some()),
            ..Changed::default()
        }
    }

    /// Remembers addresses accepted for `host` at `since`, unless a newer job already set them.
    #[cfg(test)]
    fn record(&self, host: &str, addresses: Addresses, since: SystemTime) {
        let changed = Changed {
            v4: addresses.v4,
            v6: addresses.v6,
            ..Changed::default()
        };
        self.record_change(host, changed, since);
    }

    /// Remembers a change accepted for `host` at `since` (addresses set, records deleted), per
    /// family unless a newer job already changed it.
    pub fn record_change(&self, host: &str, changed: Changed, since: SystemTime) {
        fn family<T>(slot: &mut Option<Known<T>>, set: Option<T>, delete: bool, since: SystemTime) {
            let address = match (set, delete) {
                (Some(address), _) => Some(address),
                (None, true) => None,
                (None, false) => return,
            };
            if slot.as_ref().is_none_or(|old| old.since <= since) {
                *slot = Some(Known { address, since });
            }
        }
        let mut hosts = self.hosts.write().unwrap_or_else(PoisonError::into_inner);
        let entry = hosts.entry(host.to_string()).or_default();
        family(&mut entry.v4, changed.v4, changed.delete_v4, since);
        family(&mut entry.v6, changed.v6, changed.delete_v6, since);
    }

    /// Merges the worker's state file if it changed since the last call. For each host and family the
    /// worker has handled everything up to `handled_received_at`; if that covers what we accepted,
    /// the applied address is the truth (it differs after a dead-lettered job). Returns the newest
    /// `handled_received_at` of the file it merged (`None` if it merged nothing): new jobs must be
    /// dated after it.
    pub fn refresh_from_state(&self) -> Option<SystemTime> {
        self.merge_state()
    }

    fn merge_state(&self) -> Option<SystemTime> {
        let version = FileVersion::of(&self.state_path)?;
        if *self
            .state_seen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            == Some(version)
        {
            return None;
        }
        let state = match AppliedState::load(&self.state_path) {
            Ok(state) => state,
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the worker's applied state; keeping what is known");
                return None;
            }
        };
        // Merging a version twice changes nothing, missing one keeps a dead-lettered address
        // "accepted": a version that may still change within its clock tick is not remembered.
        let settled = version.is_settled(SystemTime::now());
        *self
            .state_seen
            .write()
            .unwrap_or_else(PoisonError::into_inner) = settled.then_some(version);
        let mut newest = None;
        let mut hosts = self.hosts.write().unwrap_or_else(PoisonError::into_inner);
        for (host, host_state) in state.hosts() {
            for family in [&host_state.ipv4, &host_state.ipv6].into_iter().flatten() {
                newest = newest.max(Some(family.handled_received_at));
            }
            let entry = hosts.entry(host.to_string()).or_default();
            entry.v4 = merge(
                entry.v4,
                host_state.ipv4.as_ref(),
                |address| match address {
                    IpAddr::V4(v4) => Some(v4),
                    IpAddr::V6(_) => None,
                },
            );
            entry.v6 = merge(
                entry.v6,
                host_state.ipv6.as_ref(),
                |address| match address {
                    IpAddr::V6(v6) => Some(v6),
                    IpAddr::V4(_) => None,
                },
            );
        }
        newest
    }
}

fn merge<T: Copy>(
    known: Option<Known<T>>,
    worker: Option<&FamilyState>,
    family: impl Fn(IpAddr) -> Option<T>,
) -> Option<Known<T>> {
    let Some(worker) = worker else { return known };
    if known.is_some_and(|known| known.since > worker.handled_received_at) {
        return known;
    }
    let since = worker.handled_received_at;
    if worker.is_deleted() {
        return Some(Known {
            address: None,
            since,
        });
    }
    worker.address.and_then(family).map(|address| Known {
        address: Some(address),
        since,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn v4(text: &str) -> Addresses {
        Addresses {
            v4: Some(text.parse().unwrap()),
            v6: None,
        }
    }

    #[test]
    fn a_state_saved_twice_in_one_clock_tick_is_still_read() {
        // The worker dead-letters the frontend's change to .8 and saves, within the file system's
        // clock tick of its last save: same modification time, same size. The frontend skipped the
        // file as unchanged, and answered `nochg` for .8 until the next save of any host.
        let dir = tempfile::tempdir().unwrap();
        let spool = SpoolDirs::at(dir.path().join("spool"));
        spool.create_all().unwrap();
        let path = AppliedState::path_in(dir.path());
        let host = "home.dyn.example.com";
        let t1 = SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 111_111_111);
        let t2 = t1 + Duration::from_secs(60);
        let tick = SystemTime::now() - Duration::from_secs(3600);
        let save = |state: &AppliedState| {
            state.save(&path).unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(tick).unwrap();
            std::fs::metadata(&path).unwrap().len()
        };
        let mut state = AppliedState::default();
        state.record_applied(host, "203.0.113.7".parse().unwrap(), t1, t1);
        let first_size = save(&state);
        let accepted = Accepted::load(dir.path(), &spool, SystemTime::now(), |_| true);
        assert!(accepted.changed(host, v4("203.0.113.7")).is_empty());

        accepted.record(host, v4("203.0.113.8"), t2);
        state.record_handled(host, dyndns_queue::Family::V4, t2);
        assert_eq!(save(&state), first_size, "the test needs a look-alike file");
        assert_eq!(accepted.refresh_from_state(), Some(t2));
        assert!(
            !accepted.changed(host, v4("203.0.113.8")).is_empty(),
            "the dead-lettered address must be accepted again"
        );
    }

    fn deleted_both() -> Changed {
        Changed {
            delete_v4: true,
            delete_v6: true,
            ..Changed::default()
        }
    }

    #[test]
    fn a_delete_accepted_is_nochg_until_an_address_is_set_again() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SpoolDirs::at(dir.path().join("spool"));
        let accepted = Accepted::load(dir.path(), &spool, SystemTime::now(), |_| true);
        let host = "home.dyn.example.com";
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(accepted.to_delete(host), deleted_both(), "unknown: delete");
        accepted.record(host, v4("203.0.113.7"), t0);
        accepted.record_change(host, deleted_both(), t0 + Duration::from_secs(1));
        assert!(accepted.to_delete(host).is_empty(), "a repeat is nochg");
        assert_eq!(
            accepted.changed(host, v4("203.0.113.7")).v4,
            Some("203.0.113.7".parse().unwrap()),
            "the old address after a delete is a change"
        );
        accepted.record(host, v4("203.0.113.7"), t0 + Duration::from_secs(2));
        let again = accepted.to_delete(host);
        assert!(again.delete_v4 && !again.delete_v6, "{again:?}");
        // An older delete never wins over a newer address.
        accepted.record_change(host, deleted_both(), t0);
        assert!(accepted.changed(host, v4("203.0.113.7")).is_empty());
    }

    #[test]
    fn memory_knows_deletes_from_applied_json_and_pending_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SpoolDirs::at(dir.path().join("spool"));
        spool.create_all().unwrap();
        let applied = "home.dyn.example.com";
        let pending = "lab.dyn.example.com";
        let t1 = SystemTime::now() - Duration::from_secs(60);
        let mut state = AppliedState::default();
        state.record_applied(applied, "203.0.113.7".parse().unwrap(), t1, t1);
        state.record_deleted(applied, Family::V4, t1, t1);
        state.record_deleted(applied, Family::V6, t1, t1);
        state.save(&AppliedState::path_in(dir.path())).unwrap();
        let job = Job::deleting("router", pending, vec![Family::V4, Family::V6], t1, None);
        std::fs::write(spool.new().join("x.json"), job.to_json().unwrap()).unwrap();

        let accepted = Accepted::load(dir.path(), &spool, SystemTime::now(), |_| true);

        for host in [applied, pending] {
            assert!(accepted.to_delete(host).is_empty(), "{host}");
            assert!(
                !accepted.changed(host, v4("203.0.113.7")).is_empty(),
                "{host}"
            );
        }
    }

    /// After a restart, a delete the worker claimed (in `cur/`) counts when it is newer than what
    /// `applied.json` says for the host, and not when the worker already handled something newer.
    #[test]
    fn a_delete_claimed_in_cur_counts_at_start_only_if_newer_than_applied_json() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SpoolDirs::at(dir.path().join("spool"));
        spool.create_all().unwrap();
        let (newer, older) = ("home.dyn.example.com", "lab.dyn.example.com");
        let t0 = SystemTime::now() - Duration::from_secs(60);
        let t1 = t0 + Duration::from_secs(10);
        let mut state = AppliedState::default();
        state.record_applied(newer, "203.0.113.7".parse().unwrap(), t0, t0);
        state.record_applied(older, "203.0.113.7".parse().unwrap(), t1, t1);
        state.save(&AppliedState::path_in(dir.path())).unwrap();
        for (name, host, at) in [("a.json", newer, t1), ("b.json", older, t0)] {
            let job = Job::deleting("router", host, vec![Family::V4, Family::V6], at, None);
            std::fs::write(spool.cur().join(name), job.to_json().unwrap()).unwrap();
        }

        let accepted = Accepted::load(dir.path(), &spool, SystemTime::now(), |_| true);

        assert!(accepted.to_delete(newer).is_empty(), "deleted: nochg");
        assert!(!accepted.changed(newer, v4("203.0.113.7")).is_empty());
        // IPv4 was handled after the delete (stale, the worker supersedes it); IPv6 never was, so
        // the worker applies that delete and the memory already knows it.
        let stale = accepted.to_delete(older);
        assert!(stale.delete_v4 && !stale.delete_v6, "{stale:?}");
        assert!(accepted.changed(older, v4("203.0.113.7")).is_empty());
    }

    #[test]
    fn repeats_are_unchanged_and_older_jobs_never_win() {
        let dir = tempfile::tempdir().unwrap();
        let spool = SpoolDirs::at(dir.path().join("spool"));
        let accepted = Accepted::load(dir.path(), &spool, SystemTime::now(), |_| true);
        let host = "home.dyn.example.com";
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert!(!accepted.changed(host, v4("203.0.113.7")).is_empty());
        accepted.record(host, v4("203.0.113.7"), t0 + Duration::from_secs(2));
        assert!(accepted.changed(host, v4("203.0.113.7")).is_empty());
        accepted.record(host, v4("203.0.113.8"), t0);
        assert!(
            accepted.changed(host, v4("203.0.113.7")).is_empty(),
            "older job must not win"
        );
        let dual = Addresses {
            v4: Some("203.0.113.7".parse().unwrap()),
            v6: Some("2001:db8::7".parse().unwrap()),
        };
        let changed = accepted.changed(host, dual);
        assert_eq!((changed.v4, changed.v6), (None, dual.v6));
    }
}
