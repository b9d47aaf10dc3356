//! Why this exists: for a plain BIND/Knot/NSD primary, dyndns itself keeps the zone file — a valid file
//! with a bumped SOA serial, written atomically — and then runs the server's reload command. This file
//! is the backend: which file, the order of read, edit, write and reload, and what a failure means.
//! Reading the master-file syntax is `master.rs`, the edit is `edit.rs`, the file system is `disk.rs`.
//!
//! Facts used (the team's backend notes, `shared/reference/backends.md` §7–8; BIND 9.18's
//! `named-checkzone`, which the tests run on every file read and written; Knot's `knotc` manual,
//! <https://www.knot-dns.cz/docs/3.2/html/man_knotc.html>):
//! - A missing (or empty) file is created with `$ORIGIN`, `$TTL`, an SOA and one NS record (not
//!   for a batch of deletes only: there is nothing to delete in no file). The
//!   nameserver defaults to `localhost.`: it is outside the zone, so the file needs no glue record and
//!   `named-checkzone` accepts it as is; set a real one for a zone that is delegated.
//! - An existing file may be anything `named-checkzone` accepts except `$INCLUDE` and a `$GENERATE` of
//!   the changed type (see `master.rs`); only the SOA serial and the changed RRsets (A, AAAA, TXT;
//!   replaced or deleted) are rewritten, and the serial follows the `YYYYMMDDnn` convention (see
//!   `edit.rs`). `read` reports each RRset's values and the TTL BIND serves it with.
//! - `rndc reload <zone>` (BIND) or `knotc zone-reload <zone>` (Knot) makes the server read the file;
//!   it is an argv from the config with `{zone}` replaced, run without a shell (`command.rs`).
//!
//! A batch (all pending changes of one zone) is one read, one edit of every change, one atomic write
//! with one serial step, and one reload. One mutex per backend serialises read-edit-write-reload, so
//! concurrent batches cannot lose an update.
//!
//! Errors: content dyndns cannot edit (a syntax error, `$INCLUDE`, another zone's SOA) is permanent and
//! names file:line; so is anything but a regular file at the path (a FIFO, a symlink, a folder): the
//! path comes from the config and stays wrong until a person fixes it. Disk and reload failures are
//! transient, and so is a file a person changed between our read and our rename: it is not replaced
//! (their edit would be lost), and the retry edits their text.
//!
//! Reloads: a zone counts as "reload pending" until a reload after its last write succeeded in this
//! process. A failed reload is a transient error although the file is already right. A read of a
//! zone with a reload pending makes that reload first and fails (transiently) while it fails, so a
//! file that is right but not loaded is never taken for published, and nothing more is written to a
//! server that cannot load it. A fresh process treats every zone as pending, which covers a crash
//! between write and reload at the cost of one extra reload per zone after start.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dyndns_names::names;
use tokio::sync::Mutex;

use super::{
    Backend, BackendError, Change, CommandFailed, Published, ReadResults, RecordType, WriteResults,
};
use crate::command::{self, RunOptions};

mod disk;
mod edit;
mod error;
mod master;

use edit::{BatchEdit, Edited};
pub use error::{ReloadError, ZoneFileError};

/// Zone files larger than this are refused rather than read: a dynamic zone is small.
const MAX_ZONE_FILE_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFileOptions {
    /// The zone file; `{zone}` is replaced by the change's zone: `/var/lib/bind/db.{zone}`.
    pub path_template: PathBuf,
    /// Run after each write, e.g. `["rndc", "reload", "{zone}"]` (`{zone}` is replaced in each element).
    pub reload: Option<Vec<String>>,
    pub reload_timeout: Duration,
    /// NS and SOA MNAME of a created file; default `localhost.` (needs no glue). A name without a
    /// trailing dot is taken as absolute anyway.
    pub nameserver: Option<String>,
    /// SOA RNAME of a created file, in zone-file form; default `hostmaster.<zone>.`.
    pub hostmaster: Option<String>,
    /// `$TTL` and negative-caching TTL of a created file.
    pub default_ttl: u32,
}

#[derive(Debug)]
pub struct ZoneFile {
    options: ZoneFileOptions,
    /// `options.nameserver` (or `localhost.`), absolute.
    nameserver: String,
    /// `options.hostmaster`, absolute; `None` for `hostmaster.<zone>.`.
    hostmaster: Option<String>,
    /// Held for a whole apply. The set holds the zones whose last write was followed by a successful
    /// reload in this process; any other zone has a reload pending.
    reloaded: Mutex<HashSet<String>>,
    /// Zone files written so far (the bench's round trips).
    writes: AtomicU64,
}

impl ZoneFile {
    /// Checks the names a created file would hold, so a bad `nameserver` or `hostmaster` stops the
    /// worker at start instead of failing every change.
    pub fn new(options: ZoneFileOptions) -> Result<ZoneFile, ZoneFileError> {
        let absolute = |key, value: &str| {
            names::absolute_domain_name(value).map_err(|error| ZoneFileError::BadOption {
                key,
                value: value.to_owned(),
                error,
            })
        };
        let nameserver = absolute(
            "nameserver",
            options.nameserver.as_deref().unwrap_or("localhost."),
        )?;
        let hostmaster = options
            .hostmaster
            .as_deref()
            .map(|h| absolute("hostmaster", h))
            .transpose()?;
        Ok(ZoneFile {
            options,
            nameserver,
            hostmaster,
            reloaded: Mutex::new(HashSet::new()),
            writes: AtomicU64::new(0),
        })
    }

    async fn reload(&self, zone: &str) -> Result<(), ZoneFileError> {
        let Some(template) = &self.options.reload else {
            return Ok(());
        };
        let argv: Vec<String> = template.iter().map(|a| a.replace("{zone}", zone)).collect();
        let not_reloaded = |error: ReloadError| ZoneFileError::Reload {
            zone: zone.to_owned(),
            error,
        };
        let output = command::run(&argv, &RunOptions::new(self.options.reload_timeout))
            .await
            .map_err(|e| not_reloaded(e.into()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(not_reloaded(CommandFailed::new(&argv, &output).into()))
        }
    }

    /// Reads the zone's file once, edits it for every change, writes it once and reloads once.
    /// The outer error stops the whole batch; the inner ones are the changes that fail alone.
    async fn apply_to_file(
        &self,
        zone: &str,
        changes: &[Change],
    ) -> Result<Vec<Result<Edited, ZoneFileError>>, ZoneFileError> {
        let path = disk::path_for(&self.options.path_template, zone);
        let mut reloaded = self.reloaded.lock().await;

        let existing = blocking(&path, disk::read_zone_file).await?;
        let content = |error| ZoneFileError::Content {
            path: path.clone(),
            error,
        };
        // An empty file (made by `touch`, say) is filled in like a missing one, keeping its mode.
        let edit = match existing
            .as_ref()
            .filter(|f| !f.text.iter().all(u8::is_ascii_whitespace))
        {
            Some(file) => edit::edit_zone_batch(&file.text, zone, changes, edit::today_utc())
                .map_err(content)?,
            // Nothing to delete in no file: done, and no zone is made for it.
            None if changes.iter().all(Change::is_delete) => BatchEdit {
                changes: changes
                    .iter()
                    .map(|_| {
                        Ok(Edited {
                            previous: Vec::new(),
                            changed: false,
                        })
                    })
                    .collect(),
                text: None,
            },
            None => {
                let hostmaster = self
                    .hostmaster
                    .clone()
                    .unwrap_or_else(|| format!("hostmaster.{zone}."));
                let all: Vec<&Change> = changes.iter().collect();
                let text = edit::new_zone(
                    zone,
                    &all,
                    &self.nameserver,
                    &hostmaster,
                    self.options.default_ttl,
                    edit::today_utc(),
                )
                .map_err(content)?;
                BatchEdit {
                    changes: changes
                        .iter()
                        .map(|change| {
                            Ok(Edited {
                                previous: Vec::new(),
                                changed: !change.is_delete(),
                            })
                        })
                        .collect(),
                    text: Some(text),
                }
            }
        };

        if let Some(text) = edit.text {
            let found = existing.map(|f| f.found);
            self.writes.fetch_add(1, Ordering::Relaxed);
            blocking(&path, move |path| disk::write_zone_file(path, &text, found)).await?;
            reloaded.remove(zone);
        }
        if self.options.reload.is_some() && !reloaded.contains(zone) {
            self.reload(zone).await?;
            reloaded.insert(zone.to_owned());
        }
        Ok(edit
            .changes
            .into_iter()
            .map(|outcome| outcome.map_err(content))
            .collect())
    }
}

#[async_trait::async_trait]
impl Backend for ZoneFile {
    fn name(&self) -> &'static str {
        "zonefile"
    }

    /// One read of the file for the whole batch. A reload still pending for the zone (after a
    /// failed one, or the first in this process) is made first, so a file that is right but not
    /// yet loaded is not taken for published.
    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        match self.read_file(zone, changes).await {
            Ok(found) => found.into_iter().map(Ok).collect(),
            Err(error) => BackendError::for_each(error, changes.len())
                .into_iter()
                .map(Err)
                .collect(),
        }
    }

    /// One read, one edit, one atomic write and one reload for the whole batch. A change whose
    /// host is an alias here fails alone; a failure of the file or the reload fails every change
    /// with that error's class.
    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        match self.apply_to_file(zone, changes).await {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|outcome| outcome.map(|_| ()).map_err(BackendError::new))
                .collect(),
            Err(error) => BackendError::for_each(error, changes.len())
                .into_iter()
                .map(Err)
                .collect(),
        }
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let path = disk::path_for(&self.options.path_template, zone);
        let existing = blocking(&path, disk::read_zone_file)
            .await
            .map_err(BackendError::new)?;
        let Some(file) = existing.filter(|f| !f.text.iter().all(u8::is_ascii_whitespace)) else {
            return Ok(format!(
                "zone file {} does not exist yet; the first change creates it",
                path.display()
            ));
        };
        let records = master::read(&file.text, zone)
            .map_err(|error| {
                BackendError::new(ZoneFileError::Content {
                    path: path.clone(),
                    error: error.into(),
                })
            })?
            .entries
            .iter()
            .filter(|entry| matches!(entry.kind, master::EntryKind::Record(_)))
            .count();
        Ok(format!("zone file {}, {records} records", path.display()))
    }

    fn round_trips(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
}

impl ZoneFile {
    /// The RRset of each change as the file holds it, after any pending reload.
    async fn read_file(
        &self,
        zone: &str,
        changes: &[Change],
    ) -> Result<Vec<Published>, ZoneFileError> {
        let path = disk::path_for(&self.options.path_template, zone);
        {
            let mut reloaded = self.reloaded.lock().await;
            if self.options.reload.is_some() && !reloaded.contains(zone) {
                self.reload(zone).await.map_err(|error| match error {
                    ZoneFileError::Reload { zone, error } => {
                        ZoneFileError::ReloadOwed { zone, error }
                    }
                    other => other,
                })?;
                reloaded.insert(zone.to_owned());
            }
        }
        let existing = blocking(&path, disk::read_zone_file).await?;
        let Some(file) = existing.filter(|f| !f.text.iter().all(u8::is_ascii_whitespace)) else {
            return Ok(changes.iter().map(|_| Published::default()).collect());
        };
        let parsed = master::read(&file.text, zone).map_err(|error| ZoneFileError::Content {
            path: path.clone(),
            error: error.into(),
        })?;
        let mut names: HashSet<&str> = HashSet::new();
        // Each RRset's values in file order, and its TTL: its first record's, as BIND serves it.
        let mut rrsets: HashMap<(&str, RecordType), Published> = HashMap::new();
        for entry in &parsed.entries {
            let master::EntryKind::Record(record) = &entry.kind else {
                continue;
            };
            names.insert(&record.owner);
            let Some(value) = record.data.value() else {
                continue;
            };
            let rrset = rrsets
                .entry((&record.owner, value.record_type()))
                .or_insert_with(|| Published {
                    values: Vec::new(),
                    ttl: record.ttl,
                    name_exists: true,
                });
            rrset.values.push(value);
        }
        Ok(changes
            .iter()
            .map(|change| {
                let host = change.host.as_str();
                rrsets
                    .get(&(host, change.record_type))
                    .cloned()
                    .unwrap_or(Published {
                        values: Vec::new(),
                        ttl: None,
                        name_exists: names.contains(host),
                    })
            })
            .collect())
    }
}

/// Runs file work off the async threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce(&Path) -> Result<T, ZoneFileError> + Send + 'static,
) -> Result<T, ZoneFileError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || work(&owned))
        .await
        .map_err(|error| ZoneFileError::Task {
            path: path.to_path_buf(),
            error,
        })?
}
