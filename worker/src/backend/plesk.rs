//! Why this exists: Plesk owns its zones, so on a Plesk server dyndns changes records only through
//! Plesk's own CLI (`plesk bin dns`), which keeps Plesk's database, the BIND zone and the panel in step.
//!
//! Facts used here are from the vendor's reference,
//! <https://docs.plesk.com/en-US/obsidian/cli-linux/using-command-line-utilities/dns-dns-zones-on-domains.37771>,
//! and the team's backend notes (`shared/reference/backends.md` §1, beside this repository):
//! - `--info <zone>` prints one record per line, `<owner-fqdn-with-dot> <TYPE> <rdata…>`, blank lines
//!   between, and ends with a `SUCCESS: Getting information for Domain '<zone>' …` status line (we
//!   match only its `SUCCESS:` prefix; the tail is not documented).
//! - `--add <zone> -a|-aaaa <label> -ip <addr>` (and `-txt <text> -domain <label>` for TXT) exits 2
//!   when the record already exists (documented); `--info` lists a TXT value without quotes.
//! - `--del` needs the record repeated exactly, so we pass the value as `--info` printed it.
//! - A batch costs one `--info` to read (kept for the write that follows it, which needs Plesk's
//!   spelling of the values to delete), an `--add`/`--del` per value that changes, and one `--info`
//!   to read back: the CLI has no batch edit, and each call starts Plesk's PHP CLI.
//! - There is no "update": we add the new value first and then delete the old ones, so the name never
//!   has no answer (a moment with two addresses is harmless). No sleeps: we verify with a second `--info`.
//! - The apex label is the empty string, passed as an empty argv element.
//! - TTL: the per-record `-ttl` option is not in the vendor docs, so records get the zone's default TTL
//!   and `Change::ttl` is ignored.
//!
//! Error classification (Plesk's exact error texts are not documented, so this is a judgment):
//! - timeout, failure to start, an unexpected exit code → transient, with the command and its stderr;
//!   re-applying is safe because every apply starts from a fresh `--info`. After a timeout or a
//!   failure to start, the rest of the batch is not run (transient too): one timeout per batch.
//! - a message saying the domain does not exist / cannot be found, or that DNS is switched off for it →
//!   permanent, carrying Plesk's message. See [`says_zone_unusable`].
//! - `--info` printing only the status line is NOT an error: an empty zone looks the same as a zone with
//!   DNS switched off. We go on and add; if DNS is off the `--add` fails with Plesk's message, which
//!   is then classified as above.
//! - output we cannot make sense of (no status line, an A value that is not an address) → permanent:
//!   retrying will not make Plesk print something else. Reading `--info` is `plesk/info.rs`.
//! - a CNAME at the name → permanent, before any change: no address may stand beside an alias (a
//!   delete there is done: there is nothing to remove).

use std::time::Duration;

use super::last_read::LastRead;
use super::{
    Backend, BackendError, Change, CommandFailed, Published, ReadResults, RecordType, Value,
    WriteResults,
};
use crate::command::{self, display_argv, CommandError, RunOptions};

mod info;

use info::{InfoError, Listed};

/// Drives `plesk bin dns` (or whatever `command_prefix` names, e.g. `/usr/local/psa/bin/dns`).
#[derive(Debug)]
pub struct Plesk {
    command_prefix: Vec<String>,
    timeout: Duration,
    /// The last `--info` a read took (command, output), taken by the write that follows it so a
    /// batch does not start Plesk's CLI twice for the same listing.
    last_info: LastRead<(String, String)>,
}

/// Plesk's documented exit code for `--add` of a record that is already there.
const EXIT_ALREADY_EXISTS: i32 = 2;

/// What went wrong talking to Plesk; every variant names the command.
#[derive(Debug, thiserror::Error)]
pub enum PleskError {
    #[error("the plesk backend's command prefix is empty: nothing to run")]
    EmptyPrefix,
    #[error(transparent)]
    Run(#[from] CommandError),
    #[error(transparent)]
    Failed(CommandFailed),
    #[error("the output of `{command}` is longer than {limit} bytes; refusing to act on part of the zone")]
    OutputTooLong { command: String, limit: usize },
    #[error("cannot read the output of `{command}`: {error}")]
    Info { command: String, error: InfoError },
    /// Read fine, but the name is an alias ([`InfoError::Alias`]).
    #[error("according to `{command}`, {error}")]
    Alias { command: String, error: InfoError },
    /// An earlier change of the batch timed out or Plesk could not be started: the rest waits for
    /// the retry instead of costing a timeout each.
    #[error(
        "plesk was not run for {host}: earlier in this batch {earlier}; it is tried again later"
    )]
    NotRun { host: String, earlier: String },
}

impl PleskError {
    /// Timeouts, odd exit codes and a failed verification may pass; a zone Plesk says it cannot use,
    /// and output we cannot read, stay as they are.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            PleskError::Run(_) | PleskError::NotRun { .. } => true,
            PleskError::Failed(failed) => !says_zone_unusable(&failed.said),
            PleskError::EmptyPrefix
            | PleskError::OutputTooLong { .. }
            | PleskError::Info { .. }
            | PleskError::Alias { .. } => false,
        }
    }
}

impl Plesk {
    /// `command_prefix` is the argv before the subcommand: `["plesk", "bin", "dns"]`. `timeout` bounds
    /// each call (each one starts Plesk's PHP CLI, so allow seconds, not milliseconds).
    pub fn new(command_prefix: Vec<String>, timeout: Duration) -> Plesk {
        Plesk {
            command_prefix,
            timeout,
            last_info: LastRead::default(),
        }
    }

    /// Runs one subcommand; an unsuccessful exit (other than `also_fine`) is an error.
    async fn run(
        &self,
        args: &[&str],
        also_fine: Option<i32>,
    ) -> Result<(Vec<String>, command::CommandOutput), PleskError> {
        if self.command_prefix.is_empty() {
            return Err(PleskError::EmptyPrefix);
        }
        let argv: Vec<String> = self
            .command_prefix
            .iter()
            .cloned()
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect();
        tracing::debug!(command = %display_argv(&argv), "running plesk");
        let output = command::run(&argv, &RunOptions::new(self.timeout)).await?;
        if output.status.success() || (also_fine.is_some() && output.status.code() == also_fine) {
            Ok((argv, output))
        } else {
            Err(PleskError::Failed(CommandFailed::new(&argv, &output)))
        }
    }

    /// One `--info` of `zone`: its text.
    async fn info(&self, zone: &str) -> Result<(String, String), PleskError> {
        let (argv, output) = self.run(&["--info", zone], None).await?;
        if output.stdout_truncated {
            return Err(PleskError::OutputTooLong {
                command: display_argv(&argv),
                limit: command::DEFAULT_OUTPUT_LIMIT,
            });
        }
        Ok((display_argv(&argv), output.stdout_text()))
    }

    /// The values of the change's name and type in `--info` output. At an alias there are none
    /// for a delete to remove (nothing may stand beside a CNAME): done, not refused.
    fn listed(command: &str, stdout: &str, change: &Change) -> Result<Vec<Listed>, PleskError> {
        info::values_at(stdout, &change.host, change.record_type).or_else(|error| match error {
            InfoError::Alias { .. } if change.is_delete() => Ok(Vec::new()),
            InfoError::Alias { .. } => Err(PleskError::Alias {
                command: command.to_owned(),
                error,
            }),
            error => Err(PleskError::Info {
                command: command.to_owned(),
                error,
            }),
        })
    }

    /// `--add` or `--del` of one value at the change's name and type: `-a|-aaaa <label> -ip
    /// <address>`, or `-txt <text> -domain <label>` as Plesk's reference spells a TXT record.
    async fn edit_record(
        &self,
        subcommand: &str,
        change: &Change,
        value: &str,
        also_fine: Option<i32>,
    ) -> Result<(), PleskError> {
        let record: [&str; 4] = match change.record_type {
            RecordType::A => ["-a", &change.label, "-ip", value],
            RecordType::Aaaa => ["-aaaa", &change.label, "-ip", value],
            RecordType::Txt => ["-txt", value, "-domain", &change.label],
        };
        let mut args = vec![subcommand, change.zone.as_str()];
        args.extend(record);
        self.run(&args, also_fine).await.map(drop)
    }

    /// Adds the wanted values first and then deletes the others, so the name is never without an
    /// answer while it changes.
    async fn write_change(&self, change: &Change, before: &[Listed]) -> Result<(), PleskError> {
        for value in change.values() {
            if !before.iter().any(|listed| listed.value == *value) {
                let text = match value {
                    Value::Address(address) => address.to_string(),
                    Value::Txt(text) => text.clone(),
                };
                // "Already exists" means someone (a retry, a human) got there first; the read back
                // checks the outcome either way.
                self.edit_record("--add", change, &text, Some(EXIT_ALREADY_EXISTS))
                    .await?;
            }
        }
        for stale in before
            .iter()
            .filter(|listed| !change.values().contains(&listed.value))
        {
            // Plesk's own spelling of the value: `--del` must repeat the record exactly.
            self.edit_record("--del", change, &stale.raw, None).await?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Backend for Plesk {
    fn name(&self) -> &'static str {
        "plesk"
    }

    /// One `--info` for the whole batch.
    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        let (command, stdout) = match self.info(zone).await {
            Ok((command, stdout)) => {
                self.last_info.keep(zone, (command.clone(), stdout.clone()));
                (command, stdout)
            }
            Err(error) => {
                return BackendError::for_each(error, changes.len())
                    .into_iter()
                    .map(Err)
                    .collect()
            }
        };
        changes
            .iter()
            .map(|change| {
                let listed = Self::listed(&command, &stdout, change).map_err(BackendError::new)?;
                Ok(Published {
                    values: listed.into_iter().map(|listed| listed.value).collect(),
                    ttl: None,
                    name_exists: info::name_exists(&stdout, &change.host),
                })
            })
            .collect()
    }

    /// Plesk's spelling of the old values from the read just made (or a fresh `--info`), then each
    /// change's `--add`s and `--del`s.
    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let listing = match self.last_info.take(zone) {
            Some(info) => Ok(info),
            None => self.info(zone).await,
        };
        let (command, stdout) = match listing {
            Ok(info) => info,
            Err(error) => {
                return BackendError::for_each(error, changes.len())
                    .into_iter()
                    .map(Err)
                    .collect()
            }
        };
        let mut results = Vec::with_capacity(changes.len());
        // After a timeout (or a Plesk that cannot be started) the rest of the batch is not run: a
        // hung Plesk would otherwise hold the zone, and SIGTERM, for a timeout per change.
        let mut stopped: Option<String> = None;
        for change in changes {
            let result = match (&stopped, Self::listed(&command, &stdout, change)) {
                (Some(earlier), _) => Err(PleskError::NotRun {
                    host: change.host.clone(),
                    earlier: earlier.clone(),
                }),
                (None, Ok(before)) => self.write_change(change, &before).await,
                (None, Err(error)) => Err(error),
            };
            if let Err(error @ PleskError::Run(_)) = &result {
                stopped = Some(error.to_string());
            }
            results.push(result.map_err(BackendError::new));
        }
        results
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let (command, stdout) = self.info(zone).await.map_err(BackendError::new)?;
        let records = info::count(&stdout).map_err(|error| {
            BackendError::new(PleskError::Info {
                command: command.clone(),
                error,
            })
        })?;
        Ok(format!("`{command}`: {records} records"))
    }
}

/// True for messages meaning "this zone cannot take records here": the domain is unknown to Plesk, or
/// its DNS service is switched off. Plesk's wording is not documented, so this matches loosely, but a
/// message about a missing *record* (a `--del` that lost a race) stays transient.
fn says_zone_unusable(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    let domain_missing = m.contains("domain")
        && !m.contains("record")
        && [
            "does not exist",
            "doesn't exist",
            "not found",
            "unable to find",
            "no such",
        ]
        .iter()
        .any(|p| m.contains(p));
    let dns_off = m.contains("dns")
        && ["switched off", "turned off", "is disabled"]
            .iter()
            .any(|p| m.contains(p));
    domain_missing || dns_off
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_level_messages_are_permanent_record_level_ones_are_not() {
        assert!(says_zone_unusable("Unable to find domain 'nope.example'."));
        assert!(says_zone_unusable(
            "Domain nope.example does not exist in Plesk"
        ));
        assert!(says_zone_unusable(
            "Unable to add record: DNS service for the domain is switched off"
        ));
        assert!(!says_zone_unusable(
            "Unable to delete record: no such record in domain example.com"
        ));
        assert!(!says_zone_unusable("Database connection failed"));
    }

    #[test]
    fn unreadable_info_is_permanent() {
        let unreadable = PleskError::Info {
            command: "plesk bin dns --info example.com".to_owned(),
            error: InfoError::NoStatusLine,
        };
        assert!(!unreadable.is_transient());
    }
}
