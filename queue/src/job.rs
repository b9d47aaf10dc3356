//! Why this exists: the job file is the API between the frontend and the worker, so its shape,
//! version and validation live in one place that both sides compile against.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use dyndns_names::names::{self, NameError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The only job format this build writes and accepts. Bump it, and teach `Job::parse` the old
/// one, when the shape changes: a worker must never guess at a frontend it does not know.
const JOB_VERSION: u32 = 1;

/// A real job is a few hundred bytes; anything near this is not from our frontend.
pub const MAX_JOB_BYTES: u64 = 64 * 1024;

/// How far ahead of the worker's clock a job may be dated. A frontend on the worker's machine is
/// never ahead; a job dated later is forged or from a broken clock, and applying it would make
/// every real update after it look stale until that date, so the worker dead-letters it.
pub const MAX_FUTURE: Duration = Duration::from_secs(5 * 60);

/// One update request accepted by the frontend, waiting for the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Always `JOB_VERSION` when written.
    version: u32,
    /// `Uuid::now_v7()`, so ids sort by creation time too.
    pub id: Uuid,
    pub user: String,
    /// Fully qualified, lower case, no trailing dot.
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ipv6Addr>,
    /// When the frontend accepted the request; orders jobs for one host.
    #[serde(with = "crate::rfc3339")]
    pub received_at: SystemTime,
    /// Address the request came from, for the worker's logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<IpAddr>,
}

/// Why a job file was not accepted. The messages are written into `failed/<name>.reason`, so
/// they say what is wrong with the file in words an operator can act on.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("not a well-formed version-{JOB_VERSION} job: {0}")]
    Json(#[from] serde_json::Error),
    #[error("job file has version {0}, but this dyndns only understands version {JOB_VERSION}")]
    UnknownVersion(u64),
    #[error("job {id} for host {host:?} carries neither an ipv4 nor an ipv6 address")]
    NoAddress { id: Uuid, host: String },
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
    /// A new job with a fresh time-ordered id.
    pub fn new(
        user: impl Into<String>,
        host: impl Into<String>,
        ipv4: Option<Ipv4Addr>,
        ipv6: Option<Ipv6Addr>,
        received_at: SystemTime,
        client: Option<IpAddr>,
    ) -> Job {
        Job {
            version: JOB_VERSION,
            id: Uuid::now_v7(),
            user: user.into(),
            host: host.into(),
            ipv4,
            ipv6,
            received_at,
            client,
        }
    }

    /// The addresses to publish, IPv4 first.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> {
        let v4 = self.ipv4.map(IpAddr::V4);
        let v6 = self.ipv6.map(IpAddr::V6);
        v4.into_iter().chain(v6)
    }

    /// The job file's bytes, or why the job cannot be written (`received_at` outside 1970..=9999).
    pub fn to_json(&self) -> Result<Vec<u8>, JobError> {
        serde_json::to_vec(self).map_err(|source| JobError::Unwritable {
            id: self.id,
            source,
        })
    }

    /// Reads a job file's bytes: version first, then the strict shape, then the rules the
    /// type cannot express (`Job::validate`).
    pub fn parse(bytes: &[u8]) -> Result<Job, JobError> {
        let probe: VersionProbe = serde_json::from_slice(bytes)?;
        if probe.version != u64::from(JOB_VERSION) {
            return Err(JobError::UnknownVersion(probe.version));
        }
        let job: Job = serde_json::from_slice(bytes)?;
        job.validate()?;
        Ok(job)
    }

    /// Checks what serde cannot: an address is present and user and host are sane. The
    /// frontend calls this (through `submit`) so it never spools a job the worker would reject.
    pub(crate) fn validate(&self) -> Result<(), JobError> {
        if self.version != JOB_VERSION {
            return Err(JobError::UnknownVersion(self.version.into()));
        }
        if self.ipv4.is_none() && self.ipv6.is_none() {
            return Err(JobError::NoAddress {
                id: self.id,
                host: self.host.clone(),
            });
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

    fn json_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value: serde_json::Value =
            serde_json::from_slice(&sample().to_json().expect("sample job writes"))
                .expect("a job is a JSON object");
        edit(&mut value);
        serde_json::to_vec(&value).expect("a JSON value serializes")
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
            v["version"] = 2.into();
            v["future_field"] = true.into();
        });
        let err = Job::parse(&bytes).expect_err("version 2 is unknown");
        assert!(matches!(err, JobError::UnknownVersion(2)), "{err}");
        assert!(err.to_string().contains("version 2"), "{err}");
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
        assert!(matches!(err, JobError::NoAddress { .. }), "{err}");
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

    #[test]
    fn time_before_1970_is_unwritable_not_a_panic() {
        let mut job = sample();
        job.received_at = UNIX_EPOCH - Duration::from_secs(1);
        assert!(matches!(job.to_json(), Err(JobError::Unwritable { .. })));
    }
}
