//! Why this exists: for a plain BIND/Knot/NSD primary, dyndns itself keeps the zone file — a valid file
//! with a bumped SOA serial, written atomically — and then runs the server's reload command. This file
//! is the backend: which file, the order of read, edit, write and reload, and what a failure means.
//! Reading the master-file syntax is `master.rs`, the edit is `edit.rs`, the file system is `disk.rs`.
//!
//! Facts used (the team's backend notes, `shared/reference/backends.md` §7–8; BIND 9.18's
//! `named-checkzone`, which the tests run on every file read and written; Knot's `knotc` manual,
//! <https://www.knot-dns.cz/docs/3.2/html/man_knotc.html>):
//! - A missing (or empty) file is created with `$ORIGIN`, `$TTL`, an SOA and one NS record. The
//!   nameserver defaults to `localhost.`: it is outside the zone, so the file needs no glue record and
//!   `named-checkzone` accepts it as is; set a real one for a zone that is delegated.
//! - An existing file may be anything `named-checkzone` accepts except `$INCLUDE` and a `$GENERATE` of
//!   address records (see `master.rs`); only the SOA serial and the changed RRset are rewritten, and
//!   the serial follows the `YYYYMMDDnn` convention (see `edit.rs`).
//! - `rndc reload <zone>` (BIND) or `knotc zone-reload <zone>` (Knot) makes the server read the file;
//!   it is an argv from the config with `{zone}` replaced, run without a shell (`command.rs`).
//!
//! One mutex per backend serialises read-edit-write-reload, so concurrent applies cannot lose an update.
//!
//! Errors: content dyndns cannot edit (a syntax error, `$INCLUDE`, another zone's SOA) is permanent and
//! names file:line; so is anything but a regular file at the path (a FIFO, a symlink, a folder): the
//! path comes from the config and stays wrong until a person fixes it. Disk and reload failures are
//! transient, and so is a file a person changed between our read and our rename: it is not replaced
//! (their edit would be lost), and the retry edits their text.
//!
//! Reloads: a zone counts as "reload pending" until a reload after its last write succeeded in this
//! process. A failed reload is a transient error although the file is already right; the retry finds
//! nothing to write but still reloads. A fresh process treats every zone as pending, which covers a
//! crash between write and reload at the cost of one extra reload per zone after start.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dyndns_names::names;
use tokio::sync::Mutex;

use super::{Applied, Backend, BackendError, Change, CommandFailed};
use crate::command::{self, RunOptions};

mod disk;
mod edit;
mod error;
mod master;

use edit::Edit;
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

    async fn apply_to_file(&self, change: &Change) -> Result<Applied, ZoneFileError> {
        let path = disk::path_for(&self.options.path_template, &change.zone);
        let mut reloaded = self.reloaded.lock().await;

        let existing = blocking(&path, disk::read_zone_file).await?;
        // An empty file (made by `touch`, say) is filled in like a missing one, keeping its mode.
        let edit = match existing
            .as_ref()
            .filter(|f| !f.text.iter().all(u8::is_ascii_whitespace))
        {
            Some(file) => edit::edit_zone(&file.text, change, edit::today_utc()),
            None => {
                let hostmaster = self
                    .hostmaster
                    .clone()
                    .unwrap_or_else(|| format!("hostmaster.{}.", change.zone));
                edit::new_zone(
                    change,
                    &self.nameserver,
                    &hostmaster,
                    self.options.default_ttl,
                    edit::today_utc(),
                )
                .map(|text| Edit {
                    previous: Vec::new(),
                    text: Some(text),
                })
            }
        }
        .map_err(|error| ZoneFileError::Content {
            path: path.clone(),
            error,
        })?;

        let changed = edit.text.is_some();
        if let Some(text) = edit.text {
            let found = existing.map(|f| f.found);
            blocking(&path, move |path| disk::write_zone_file(path, &text, found)).await?;
            reloaded.remove(&change.zone);
        }
        if self.options.reload.is_some() && !reloaded.contains(&change.zone) {
            self.reload(&change.zone).await?;
            reloaded.insert(change.zone.clone());
        }
        Ok(Applied {
            previous: edit.previous,
            changed,
        })
    }
}

#[async_trait::async_trait]
impl Backend for ZoneFile {
    fn name(&self) -> &'static str {
        "zonefile"
    }

    async fn apply(&self, change: &Change) -> Result<Applied, BackendError> {
        change.check_names().map_err(BackendError::new)?;
        self.apply_to_file(change).await.map_err(BackendError::new)
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
