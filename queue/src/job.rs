//! Why this exists: the job file is the API between the frontend and the worker, so its shape,
//! version and validation live in one place that both sides compile against.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use dyndns_names::names::{self, NameError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::state::Family;

/// Version 1: addresses to set. Still written for every job that only sets addresses, so a worker
/// not yet restarted after an upgrade keeps applying updates.
const ADDRESSES_ONLY: u32 = 1;

/// Version 2: version 1 and `delete`, the families whose records are to be removed. Written only
/// for a job that deletes. Bump again, and teach `Job::parse` the old ones, when the shape changes:
/// a worker must never guess at a frontend it does not know.
const WITH_DELETE: u32 = 2;

/// A real job is a few hundred bytes; anything near this is not from our frontend.
pub const MAX_JOB_BYTES: u64 = 64 * 1024;

/// How far ahead of the worker's clock a job may be dated. A frontend on the worker's machine is
/// ahead only by a step of the clock it has seen and the worker has not: a clock set an hour (a
/// time zone, at most 14) ahead and corrected before a worker running hourly from cron, or stopped,
/// took the job in. Such a job is real, and so is every one the frontend dated after it, so a day
/// is allowed. A job dated later than that is forged or from a broken clock, and applying it would
/// date every real update after it until then, so the worker dead-letters it.
pub const MAX_FUTURE: Duration = Duration::from_secs(24 * 3600);

/// One update request accepted by the frontend, waiting for the worker. Its file's version is
/// not kept here: it follows from what the job asks ([`Job::to_json`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// `Uuid::now_v7()`, so ids sort by creation time too.
    pub id: Uuid,
    pub user: String,
    /// Fully qualified, lower case, no trailing dot.
    pub host: String,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6: Option<Ipv6Addr>,
    /// The families whose records (A, AAAA) are to be removed (`offline=yes`, `/nic/delete`); never
    /// a family this job also sets, never one twice.
    pub delete: Vec<Family>,
    /// When the frontend accepted the request; orders jobs for one host.
    pub received_at: SystemTime,
    /// Address the request came from, for the worker's logs.
    client: Option<IpAddr>,
}

/// What a job asks for one address family: the unit the worker coalesces and applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyChange {
    /// The family's RRset holds exactly this address.
    Set(IpAddr),
    /// The host has no record of this family.
    Delete(Family),
}

impl FamilyChange {
    pub fn family(&self) -> Family {
        match self {
            FamilyChange::Set(address) => Family::of(address),
            FamilyChange::Delete(family) => *family,
        }
    }

    /// The address it sets; `None` for a delete.
    pub fn address(&self) -> Option<IpAddr> {
        match self {
            FamilyChange::Set(address) => Some(*address),
            FamilyChange::Delete(_) => None,
        }
    }
}

/// The address, or `deleted` (for logs and dead-letter reasons).
impl fmt::Display for FamilyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FamilyChange::Set(address) => address.fmt(f),
            FamilyChange::Delete(_) => f.write_str("deleted"),
        }
    }
}

/// The job file as read: every field either version may hold, each version's rules checked after.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFileIn {
    version: u32,
    id: Uuid,
    user: String,
    host: String,
    #[serde(default)]
    ipv4: Option<Ipv4Addr>,
    #[serde(default)]
    ipv6: Option<Ipv6Addr>,
    /// `None` when absent, so version 1 can refuse the key even when its list is empty; `null`
    /// is not a list, and not taken for an absent key either.
    #[serde(default, deserialize_with = "present_list")]
    delete: Option<Vec<Family>>,
    #[serde(with = "crate::rfc3339")]
    received_at: SystemTime,
    #[serde(default)]
    client: Option<IpAddr>,
}

fn present_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Family>>, D::Error> {
    Vec::deserialize(deserializer).map(Some)
}

/// The job file as written, in the oldest version that says what the job asks.
#[derive(Serialize)]
struct JobFileOut<'a> {
    version: u32,
    id: Uuid,
    user: &'a str,
    host: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<Ipv6Addr>,
    #[serde(skip_serializing_if = "<[Family]>::is_empty")]
    delete: &'a [Family],
    #[serde(with = "crate::rfc3339")]
    received_at: SystemTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<IpAddr>,
}

/// Why a job file was not accepted. The messages are written into `failed/<name>.reason`, so
/// they say what is wrong with the file in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("not a well-formed job: {0}")]
    Json(#[from] serde_json::Error),
    #[error("job file has version {0}, but this dyndns only understands versions {ADDRESSES_ONLY} and {WITH_DELETE}")]
    UnknownVersion(u64),
    #[error("job {id} for host {host:?} carries neither an address nor a delete")]
    NoChange { id: Uuid, host: String },
    #[error("job {id} for host {host:?} is version {ADDRESSES_ONLY}, which has no `delete`; a job that deletes is version {WITH_DELETE}")]
    DeleteInVersion1 { id: Uuid, host: String },
    #[error("job {id} for host {host:?} is version {WITH_DELETE} but deletes nothing; a job that only sets addresses is version {ADDRESSES_ONLY}")]
    NothingDeleted { id: Uuid, host: String },
    #[error("job {id} for host {host:?} both sets and deletes {family}")]
    SetAndDeleted {
        id: Uuid,
        host: String,
        family: Family,
    },
    #[error("job {id} for host {host:?} names {family} twice in `delete`")]
    DeletedTwice {
        id: Uuid,
        host: String,
        family: Family,
    },
    #[error("job {id} has an invalid host {host:?}: {why}")]
    BadHost {
        id: Uuid,
        host: String,
        why: NameError,
    },
    #[error("job {id} has an invalid user {user:?}: {why}")]
    BadUser {
        id: Uuid,
        user: String,
        why: &'static str,
    },
    #[error("job {id} cannot be written as JSON: {source}")]
    Unwritable { id: Uuid, source: serde_json::Error },
    #[error("job file is a symbolic link, which the frontend never writes")]
    Symlink,
    #[error("job file is a {0}, not a regular file")]
    NotRegular(&'static str),
    #[error("job file has {0} hard links; a spooled job has exactly one")]
    HardLinked(u64),
    #[error("job file is {0} bytes, more than the {MAX_JOB_BYTES}-byte limit for a job")]
    TooLarge(u64),
    #[error("cannot read job file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// Only `version`, read leniently first so a newer frontend's job is reported as such rather
/// than as a pile of unknown fields.
#[derive(Deserialize)]
struct VersionProbe {
    version: u64,
}

impl Job {
    /// A new job setting addresses, with a fresh time-ordered id.
    pub fn new(
        user: impl Into<String>,
        host: impl Into<String>,
        ipv4: Option<Ipv4Addr>,
        ipv6: Option<Ipv6Addr>,
        received_at: SystemTime,
        client: Option<IpAddr>,
    ) -> Job {
        Job {
            id: Uuid::now_v7(),
            user: user.into(),
            host: host.into(),
            ipv4,
            ipv6,
            delete: Vec::new(),
            received_at,
            client,
        }
    }

    /// A new job removing the records of `families` (A for IPv4, AAAA for IPv6).
    pub fn deleting(
        user: impl Into<String>,
        host: impl Into<String>,
        families: Vec<Family>,
        received_at: SystemTime,
        client: Option<IpAddr>,
    ) -> Job {
        Job {
            delete: families,
            ..Job::new(user, host, None, None, received_at, client)
        }
    }

    /// The address the request came from, if the frontend knew it (for logs and the history).
    pub fn client(&self) -> Option<IpAddr> {
        self.client
    }

    /// The addresses to publish, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> {
        let v4 = self.ipv4.map(IpAddr::V4);
        let v6 = self.ipv6.map(IpAddr::V6);
        v4.into_iter().chain(v6)
    }

    /// Everything the job asks, one change per family: the addresses, then the deletes.
    pub fn changes(&self) -> impl Iterator<Item = FamilyChange> + '_ {
        self.addresses()
            .map(FamilyChange::Set)
            .chain(self.delete.iter().copied().map(FamilyChange::Delete))
    }

    /// The version its file is written in: the oldest that says what it asks.
    fn version(&self) -> u32 {
        if self.delete.is_empty() {
            ADDRESSES_ONLY
        } else {
            WITH_DELETE
        }
    }

    /// The job file's bytes, or why the job cannot be written (`received_at` outside 1970..=9999).
    pub fn to_json(&self) -> Result<Vec<u8>, JobError> {
        let file = JobFileOut {
            version: self.version(),
            id: self.id,
            user: &self.user,
            host: &self.host,
            ipv4: self.ipv4,
            ipv6: self.ipv6,
            delete: &self.delete,
            received_at: self.received_at,
            client: self.client,
        };
        serde_json::to_vec(&file).map_err(|source| JobError::Unwritable {
            id: self.id,
            source,
        })
    }

    /// Reads a job file's bytes: version first, then the strict shape, then the rules the
    /// type cannot express (its version's, then `Job::validate`).
    pub fn parse(bytes: &[u8]) -> Result<Job, JobError> {
        let probe: VersionProbe = serde_json::from_slice(bytes)?;
        if ![ADDRESSES_ONLY, WITH_DELETE]
            .map(u64::from)
            .contains(&probe.version)
        {
            return Err(JobError::UnknownVersion(probe.version));
        }
        let file: JobFileIn = serde_json::from_slice(bytes)?;
        let job = Job {
            id: file.id,
            user: file.user,
            host: file.host,
            ipv4: file.ipv4,
            ipv6: file.ipv6,
            delete: file.delete.clone().unwrap_or_default(),
            received_at: file.received_at,
            client: file.client,
        };
        match (file.version, file.delete) {
            (ADDRESSES_ONLY, Some(_)) => Err(JobError::DeleteInVersion1 {
                id: job.id,
                host: job.host,
            }),
            (WITH_DELETE, None) => Err(JobError::NothingDeleted {
                id: job.id,
                host: job.host,
            }),
            (WITH_DELETE, Some(delete)) if delete.is_empty() => Err(JobError::NothingDeleted {
                id: job.id,
                host: job.host,
            }),
            _ => {
                job.validate()?;
                Ok(job)
            }
        }
    }

    /// Checks what serde cannot: something to do, no family both set and deleted, user and host
    /// sane. The frontend calls this (through `submit`) so it never spools a job the worker would
    /// reject.
    pub(crate) fn validate(&self) -> Result<(), JobError> {
        if self.ipv4.is_none() && self.ipv6.is_none() && self.delete.is_empty() {
            return Err(JobError::NoChange {
                id: self.id,
                host: self.host.clone(),
            });
        }
        for (index, family) in self.delete.iter().enumerate() {
            if self.delete[..index].contains(family) {
                return Err(JobError::DeletedTwice {
                    id: self.id,
                    host: self.host.clone(),
                    family: *family,
                });
            }
            if self
                .addresses()
                .any(|address| Family::of(&address) == *family)
            {
                return Err(JobError::SetAndDeleted {
                    id: self.id,
                    host: self.host.clone(),
                    family: *family,
                });
            }
        }
        // The frontend writes only canonical hosts; anything else did not come from it.
        if let Err(why) = names::check_canonical_host(&self.host) {
            return Err(JobError::BadHost {
                id: self.id,
                host: self.host.clone(),
                why,
            });
        }
        if let Some(why) = user_problem(&self.user) {
            return Err(JobError::BadUser {
                id: self.id,
                user: self.user.clone(),
                why,
            });
        }
        Ok(())
    }
}

/// What is wrong with `user`; user names are free-form but end up in logs and reason files. The
/// rule is the one the config applies, so every configured user fits in a job.
fn user_problem(user: &str) -> Option<&'static str> {
    dyndns_names::user_name::user_name_problem(user).map(|problem| problem.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample() -> Job {
        Job::new(
            "alice",
            "home.example.org",
            Some(Ipv4Addr::new(192, 0, 2, 7)),
            Some("2001:db8::7".parse().expect("literal IPv6 address")),
            UNIX_EPOCH + Duration::new(1_795_449_600, 123_456_789),
            Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))),
        )
    }

    /// `job`'s file with its JSON changed by `edit`.
    fn edited(job: &Job, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value =
            serde_json::from_slice(&job.to_json().expect("sample job writes"))
                .expect("a job is a JSON object");
        edit(&mut value);
        serde_json::to_vec(&value).expect("a JSON value serializes")
    }

    fn json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        edited(&sample(), edit)
    }

    #[test]
    fn round_trips_through_json() {
        let job = sample();
        let bytes = job.to_json().expect("sample job writes");
        let text = std::str::from_utf8(&bytes).expect("JSON is UTF-8");
        assert!(
            text.contains(r#""received_at":"2026-11-23T16:00:00.123456789Z""#),
            "{text}"
        );
        assert!(text.contains(r#""version":1"#), "{text}");
        assert_eq!(Job::parse(&bytes).expect("own output parses"), job);
    }

    #[test]
    fn absent_optional_fields_are_left_out() {
        let mut job = sample();
        job.ipv6 = None;
        job.client = None;
        let text =
            String::from_utf8(job.to_json().expect("sample job writes")).expect("JSON is UTF-8");
        assert!(!text.contains("ipv6") && !text.contains("client"), "{text}");
        assert_eq!(Job::parse(text.as_bytes()).expect("parses"), job);
    }

    #[test]
    fn unknown_version_is_reported_before_unknown_fields() {
        let bytes = json_with(|v| {
            v["version"] = 3.into();
            v["future_field"] = true.into();
        });
        let err = Job::parse(&bytes).expect_err("version 3 is unknown");
        assert!(matches!(err, JobError::UnknownVersion(3)), "{err}");
        assert!(err.to_string().contains("version 3"), "{err}");
        let huge = json_with(|v| v["version"] = (u64::from(u32::MAX) + 1).into());
        assert!(matches!(
            Job::parse(&huge),
            Err(JobError::UnknownVersion(4_294_967_296))
        ));
    }

    #[test]
    fn missing_or_odd_version_is_a_json_error() {
        let missing = json_with(|v| {
            v.as_object_mut().expect("object").remove("version");
        });
        assert!(matches!(Job::parse(&missing), Err(JobError::Json(_))));
        let text = json_with(|v| v["version"] = "1".into());
        assert!(matches!(Job::parse(&text), Err(JobError::Json(_))));
        let negative = json_with(|v| v["version"] = (-1).into());
        assert!(matches!(Job::parse(&negative), Err(JobError::Json(_))));
        assert!(matches!(Job::parse(b"[1]"), Err(JobError::Json(_))));
        assert!(matches!(Job::parse(b""), Err(JobError::Json(_))));
    }

    #[test]
    fn unknown_field_is_rejected_and_named() {
        let bytes = json_with(|v| v["ttl"] = 60.into());
        let err = Job::parse(&bytes).expect_err("unknown field");
        assert!(matches!(err, JobError::Json(_)), "{err}");
        assert!(err.to_string().contains("ttl"), "{err}");
    }

    #[test]
    fn job_without_any_address_is_rejected() {
        let bytes = json_with(|v| {
            let object = v.as_object_mut().expect("object");
            object.remove("ipv4");
            object.remove("ipv6");
        });
        let err = Job::parse(&bytes).expect_err("no address");
        assert!(matches!(err, JobError::NoChange { .. }), "{err}");
        assert!(err.to_string().contains("home.example.org"), "{err}");
    }

    #[test]
    fn malformed_values_are_rejected() {
        let bad_ip = json_with(|v| v["ipv4"] = "2001:db8::1".into());
        assert!(matches!(Job::parse(&bad_ip), Err(JobError::Json(_))));
        let bad_time = json_with(|v| v["received_at"] = "yesterday".into());
        let err = Job::parse(&bad_time).expect_err("bad time");
        assert!(err.to_string().contains("yesterday"), "{err}");
        let trailing = [
            sample().to_json().expect("sample job writes"),
            b"{}".to_vec(),
        ]
        .concat();
        assert!(matches!(Job::parse(&trailing), Err(JobError::Json(_))));
    }

    #[test]
    fn job_host_must_follow_the_one_canonical_host_rule() {
        for host in [
            "Home.example.org",
            "home.example.org.",
            "",
            "a..b",
            "a b.org",
            "a_b.example.org",
            "localhost",
            "-a.example.org",
        ] {
            let bytes = json_with(|v| v["host"] = host.into());
            let err = Job::parse(&bytes).expect_err(host);
            assert!(matches!(err, JobError::BadHost { .. }), "{host}: {err}");
        }
    }

    #[test]
    fn user_must_be_printable() {
        for user in ["", "eve\nforged log line"] {
            let bytes = json_with(|v| v["user"] = user.into());
            let err = Job::parse(&bytes).expect_err(user);
            assert!(matches!(err, JobError::BadUser { .. }), "{user:?}: {err}");
        }
    }

    fn delete_sample() -> Job {
        let mut job = sample();
        job.ipv4 = None;
        job.ipv6 = None;
        job.delete = vec![Family::V4, Family::V6];
        job
    }

    fn delete_json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        edited(&delete_sample(), edit)
    }

    #[test]
    fn an_address_only_job_is_written_as_version_1_for_workers_not_yet_upgraded() {
        let text = String::from_utf8(sample().to_json().expect("writes")).expect("UTF-8");
        assert!(text.contains(r#""version":1"#), "{text}");
        assert!(!text.contains("delete"), "{text}");
    }

    #[test]
    fn a_delete_is_written_as_version_2_and_round_trips() {
        let job = delete_sample();
        let bytes = job.to_json().expect("writes");
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        assert!(text.contains(r#""version":2"#), "{text}");
        assert!(text.contains(r#""delete":["ipv4","ipv6"]"#), "{text}");
        assert!(!text.contains("\"ipv4\":\""), "no address: {text}");
        assert_eq!(Job::parse(&bytes).expect("own output parses"), job);
        let changes: Vec<_> = job.changes().collect();
        assert_eq!(
            changes,
            [
                FamilyChange::Delete(Family::V4),
                FamilyChange::Delete(Family::V6)
            ]
        );
    }

    #[test]
    fn a_version_2_job_may_set_one_family_and_delete_the_other() {
        let mut job = delete_sample();
        job.ipv4 = Some(Ipv4Addr::new(192, 0, 2, 8));
        job.delete = vec![Family::V6];
        let bytes = job.to_json().expect("writes");
        assert_eq!(Job::parse(&bytes).expect("parses"), job);
        let families: Vec<_> = job.changes().map(|change| change.family()).collect();
        assert_eq!(families, [Family::V4, Family::V6]);
    }

    #[test]
    fn a_delete_that_loses_its_delete_is_written_as_version_1_again() {
        // A dead letter keeps only the failed families: a job whose delete landed and whose
        // address failed is an address-only job, readable by a version-1 worker.
        let mut job = delete_sample();
        job.delete.clear();
        job.ipv4 = Some(Ipv4Addr::new(192, 0, 2, 8));
        let text = String::from_utf8(job.to_json().expect("writes")).expect("UTF-8");
        assert!(text.contains(r#""version":1"#), "{text}");
    }

    #[test]
    fn version_1_with_a_delete_is_rejected() {
        for delete in [serde_json::json!(["ipv4"]), serde_json::json!([])] {
            let bytes = delete_json_with(|v| {
                v["version"] = 1.into();
                v["delete"] = delete.clone();
                v["ipv6"] = "2001:db8::7".into();
            });
            let err = Job::parse(&bytes).expect_err("version 1 has no delete");
            assert!(matches!(err, JobError::DeleteInVersion1 { .. }), "{err}");
            assert!(err.to_string().contains("home.example.org"), "{err}");
        }
    }

    #[test]
    fn version_2_without_a_delete_is_rejected() {
        let absent = json_with(|v| v["version"] = 2.into());
        let err = Job::parse(&absent).expect_err("nothing deleted");
        assert!(matches!(err, JobError::NothingDeleted { .. }), "{err}");
        let empty = delete_json_with(|v| {
            v["delete"] = serde_json::json!([]);
            v["ipv4"] = "192.0.2.7".into();
        });
        let err = Job::parse(&empty).expect_err("empty delete");
        assert!(matches!(err, JobError::NothingDeleted { .. }), "{err}");
    }

    #[test]
    fn a_family_both_set_and_deleted_is_rejected() {
        let bytes = delete_json_with(|v| v["ipv6"] = "2001:db8::7".into());
        let err = Job::parse(&bytes).expect_err("set and deleted");
        assert!(
            matches!(
                err,
                JobError::SetAndDeleted {
                    family: Family::V6,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("ipv6"), "{err}");
    }

    #[test]
    fn a_family_deleted_twice_is_rejected() {
        let bytes = delete_json_with(|v| v["delete"] = serde_json::json!(["ipv4", "ipv4"]));
        let err = Job::parse(&bytes).expect_err("twice");
        assert!(
            matches!(
                err,
                JobError::DeletedTwice {
                    family: Family::V4,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_delete_of_anything_but_a_family_is_rejected() {
        for delete in [
            serde_json::json!(["A"]),
            serde_json::json!(["IPv4"]),
            serde_json::json!("ipv4"),
            serde_json::json!([4]),
            serde_json::json!(null),
            serde_json::json!({"ipv4": true}),
        ] {
            let v1 = json_with(|v| v["delete"] = delete.clone());
            let err = Job::parse(&v1).expect_err("not a family list in version 1");
            assert!(
                matches!(err, JobError::Json(_) | JobError::DeleteInVersion1 { .. }),
                "{delete}: {err}"
            );
            let bytes = delete_json_with(|v| v["delete"] = delete.clone());
            let err = Job::parse(&bytes).expect_err("not a family list");
            assert!(matches!(err, JobError::Json(_)), "{delete}: {err}");
        }
    }

    #[test]
    fn version_2_keeps_every_version_1_rule() {
        let unknown = delete_json_with(|v| v["ttl"] = 60.into());
        let err = Job::parse(&unknown).expect_err("unknown field");
        assert!(err.to_string().contains("ttl"), "{err}");
        let host = delete_json_with(|v| v["host"] = "Home.example.org.".into());
        assert!(matches!(Job::parse(&host), Err(JobError::BadHost { .. })));
        let user = delete_json_with(|v| v["user"] = "eve\nforged".into());
        assert!(matches!(Job::parse(&user), Err(JobError::BadUser { .. })));
        let time = delete_json_with(|v| {
            v.as_object_mut().expect("object").remove("received_at");
        });
        assert!(matches!(Job::parse(&time), Err(JobError::Json(_))));
    }

    #[test]
    fn the_frontend_cannot_write_a_job_the_worker_would_reject() {
        let mut both = delete_sample();
        both.ipv4 = Some(Ipv4Addr::new(192, 0, 2, 8));
        assert!(matches!(
            both.validate(),
            Err(JobError::SetAndDeleted {
                family: Family::V4,
                ..
            })
        ));
        let mut nothing = delete_sample();
        nothing.delete.clear();
        assert!(matches!(nothing.validate(), Err(JobError::NoChange { .. })));
    }

    #[test]
    fn time_before_1970_is_unwritable_not_a_panic() {
        let mut job = sample();
        job.received_at = UNIX_EPOCH - Duration::from_secs(1);
        assert!(matches!(job.to_json(), Err(JobError::Unwritable { .. })));
    }
}
