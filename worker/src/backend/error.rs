//! Why this exists: what a backend reports when a change did not go through, typed so the message
//! names what failed on which host, zone, file or command (once), and the worker tells a retry from
//! a dead letter by the variant, never by reading text.

use std::process::ExitStatus;
use std::sync::Arc;

use dyndns_names::names::NameError;

use super::command::CommandBackendError;
use super::http_api::HttpApiError;
use super::plesk::PleskError;
use super::plesk_api::PleskApiError;
use super::powerdns::PowerDnsError;
use super::rfc2136::Rfc2136Error;
use super::zonefile::ZoneFileError;
use crate::command::{display_argv, CommandOutput};

/// Transient errors are retried with backoff; permanent ones dead-letter the change with this message.
/// The failure is boxed so a `Result` carrying it stays two words wide.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{0}")]
    Transient(Box<Failure>),
    #[error("{0}")]
    Permanent(Box<Failure>),
}

impl BackendError {
    pub fn is_transient(&self) -> bool {
        matches!(self, BackendError::Transient(_))
    }

    /// How long the backend's server asked to be left alone (`Retry-After`), if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            BackendError::Transient(failure) | BackendError::Permanent(failure) => {
                failure.retry_after()
            }
        }
    }

    /// The failure, transient or permanent as [`Failure::is_transient`] says.
    pub(crate) fn new(failure: impl Into<Failure>) -> BackendError {
        let failure = failure.into();
        if failure.is_transient() {
            BackendError::Transient(Box::new(failure))
        } else {
            BackendError::Permanent(Box::new(failure))
        }
    }

    /// A failure worth retrying whatever its kind (for a fake backend in a test, say).
    pub fn transient(failure: impl Into<Failure>) -> BackendError {
        BackendError::Transient(Box::new(failure.into()))
    }

    /// A failure not worth retrying whatever its kind.
    pub fn permanent(failure: impl Into<Failure>) -> BackendError {
        BackendError::Permanent(Box::new(failure.into()))
    }

    /// One failure for each of `count` changes of a batch that it stopped together (a zone file
    /// that cannot be read, say), each classed as the failure is.
    pub(crate) fn for_each(failure: impl Into<Failure>, count: usize) -> Vec<BackendError> {
        let failure = failure.into();
        if count == 1 {
            return vec![BackendError::new(failure)];
        }
        let shared = Arc::new(failure);
        (0..count)
            .map(|_| BackendError::new(Failure::Shared(Arc::clone(&shared))))
            .collect()
    }
}

/// What failed. Each backend has its own error; the change's own names are checked for all of them.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Plesk(#[from] PleskError),
    #[error(transparent)]
    PleskApi(#[from] PleskApiError),
    #[error(transparent)]
    ZoneFile(#[from] ZoneFileError),
    #[error(transparent)]
    PowerDns(#[from] PowerDnsError),
    #[error(transparent)]
    Rfc2136(#[from] Rfc2136Error),
    /// Cloudflare's or DigitalOcean's API.
    #[error(transparent)]
    HttpApi(#[from] HttpApiError),
    #[error(transparent)]
    Command(#[from] CommandBackendError),
    /// What a DNS server or API said, as it said it, when there is nothing more to type (and what a
    /// scripted backend in a test says).
    #[error("{0}")]
    Said(String),
    /// One failure that stopped every change of a batch (each change's result carries it).
    #[error(transparent)]
    Shared(Arc<Failure>),
    /// The backend returned fewer results than it was given changes: a bug in the backend, retried.
    #[error("the backend returned no result for this change")]
    NoResult,
    /// The backend accepted the write but reads back something else: retried, so a write that
    /// did not take is noticed and made again.
    #[error("{backend} accepted the change of {host} {record_type} to [{wanted}] but it reads back as [{found}]")]
    NotTaken {
        backend: &'static str,
        host: String,
        record_type: &'static str,
        wanted: String,
        found: String,
    },
    /// `[[zone]] create_missing = false` and the host holds no record at the backend yet.
    #[error("{host} does not exist at {backend} and zone {zone} has create_missing = false: only names that already exist are updated")]
    Missing {
        backend: &'static str,
        host: String,
        zone: String,
    },
}

impl Failure {
    fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Failure::PowerDns(error) => error.retry_after(),
            Failure::PleskApi(error) => error.retry_after(),
            Failure::HttpApi(error) => error.retry_after(),
            Failure::Shared(failure) => failure.retry_after(),
            _ => None,
        }
    }

    /// Whether a retry may help; each backend's error knows its own cases.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Failure::Change(_) => false,
            Failure::Plesk(error) => error.is_transient(),
            Failure::PleskApi(error) => error.is_transient(),
            Failure::ZoneFile(error) => error.is_transient(),
            Failure::PowerDns(error) => error.is_transient(),
            Failure::Rfc2136(error) => error.is_transient(),
            Failure::HttpApi(error) => error.is_transient(),
            Failure::Command(error) => error.is_transient(),
            // Only the caller knows; it says so with `BackendError::transient`/`permanent`.
            Failure::Said(_) => false,
            Failure::Shared(failure) => failure.is_transient(),
            Failure::NoResult | Failure::NotTaken { .. } => true,
            Failure::Missing { .. } => false,
        }
    }
}

/// A change whose host, zone and label do not agree or are not host names: a bug or a bad config,
/// never fixed by retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing change for host {host:?} in zone {zone:?} (label {label:?}): {problem}")]
pub struct ChangeError {
    pub(crate) host: String,
    pub(crate) zone: String,
    pub(crate) label: String,
    pub(crate) problem: ChangeProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeProblem {
    #[error("the host is not a canonical host name: {0}")]
    Host(NameError),
    #[error("the zone is not a canonical host name: {0}")]
    Zone(NameError),
    #[error("the host is not in the zone")]
    OutsideZone,
    #[error("the label is not the host less its zone ({expected:?})")]
    Label { expected: String },
    #[error("the change came in the batch of zone {batch_zone:?}")]
    OtherBatch { batch_zone: String },
    #[error("it names no value (a delete is its own kind of change)")]
    NoValues,
    #[error("the value {value} is not of the change's record type")]
    ValueType { value: String },
    #[error("a TXT value must be at most 255 printable ASCII characters without `\"` or `\\`")]
    Txt,
}

/// A command that ran and exited unsuccessfully, with what it said.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed ({status}): {said}")]
pub struct CommandFailed {
    /// The argv as [`display_argv`] shows it.
    pub(crate) command: String,
    pub(crate) status: ExitStatus,
    /// stderr, or stdout when stderr is empty, trimmed and capped; "no output" when both are empty.
    pub(crate) said: String,
}

impl CommandFailed {
    pub(crate) fn new(argv: &[String], output: &CommandOutput) -> CommandFailed {
        const MAX_CHARS: usize = 1000;
        let stderr = output.stderr_text();
        let stdout = output.stdout_text();
        let said = match (stderr.trim(), stdout.trim()) {
            ("", "") => "no output".to_owned(),
            ("", text) | (text, _) => match text.char_indices().nth(MAX_CHARS) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text.to_owned(),
            },
        };
        CommandFailed {
            command: display_argv(argv),
            status: output.status,
            said,
        }
    }
}
