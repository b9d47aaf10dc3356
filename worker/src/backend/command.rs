//! Why this exists: for a DNS service dyndns has no adapter for, the operator's own program is the
//! backend. It is run once per change as an argv whose placeholders are filled in by the one
//! definition in `dyndns_config::command_template` (a value stays inside its element; no shell),
//! through `crate::command` (environment cleared to `PATH` and `LANG=C`, stdin empty, its own
//! process group, a deadline after which the group is killed), and its exit status says what
//! happened (README "The command backend"):
//! - 0: the change is published.
//! - a status listed in `transient_exit_codes` (default 75, `EX_TEMPFAIL` in sysexits.h): not now,
//!   retried with backoff.
//! - any other status, or death by a signal: refused for good; the dead letter carries the command
//!   and what it wrote to stderr (stdout when stderr is empty).
//! - no exit within `timeout_secs`: the group is killed and the change retried. So is a program
//!   that cannot be started: installing it fixes that, and a dead letter would lose the change.
//!
//! A command cannot be read, so `reads()` is false: the worker writes every change it is given and
//! reads nothing back, and the program must be idempotent (a change is run again after a crash or
//! a retry). Calls run one after another, never side by side, so a script needs no lock of its own.
//! After a timeout or a program that cannot start, the rest of the batch is not run (each change
//! gets a transient error): a provider that hangs would otherwise hold the zone for
//! `timeout_secs` × changes, and SIGTERM waits for the batch in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dyndns_config::command_template::{CommandTemplate, Filling, TemplateError};
use dyndns_config::{find_program, CommandConfig, ProgramMissing};

use super::{Backend, BackendError, Change, CommandFailed, ReadResults, Value, WriteResults};
use crate::command::{self, display_argv, CommandError, RunOptions};

/// Runs `[backend.command] command` once per change.
#[derive(Debug)]
pub struct CommandBackend {
    template: CommandTemplate,
    timeout: Duration,
    transient_exit_codes: Vec<i32>,
    /// Commands started, for [`Backend::round_trips`].
    calls: AtomicU64,
}

/// What went wrong running the backend command; every variant names the command or the host.
#[derive(Debug, thiserror::Error)]
pub enum CommandBackendError {
    /// It could not be started, timed out and was killed, or was lost while waiting: retried.
    #[error(transparent)]
    Run(#[from] CommandError),
    #[error(
        "{0}; that exit status is in transient_exit_codes, so the change is tried again later"
    )]
    TryLater(CommandFailed),
    #[error(transparent)]
    Failed(CommandFailed),
    #[error("the command was not run for {host}: earlier in this batch {earlier}; it is tried again later")]
    NotRun { host: String, earlier: String },
    #[error("the command backend cannot read what is published (the worker never asks it to)")]
    CannotRead,
    #[error("[backend.command] command: {0}")]
    Program(ProgramMissing),
}

impl CommandBackendError {
    /// A status the operator listed, a timeout, a program not there (yet), or a batch cut short
    /// may pass; any other failure is the command's answer.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            CommandBackendError::Run(_)
            | CommandBackendError::TryLater(_)
            | CommandBackendError::NotRun { .. } => true,
            CommandBackendError::Failed(_)
            | CommandBackendError::CannotRead
            | CommandBackendError::Program(_) => false,
        }
    }
}

impl CommandBackend {
    /// The backend of `[backend.command]`; the config check already parsed the template, this
    /// parses it again for the worker's own copy.
    pub fn new(config: &CommandConfig) -> Result<CommandBackend, TemplateError> {
        Ok(CommandBackend {
            template: CommandTemplate::parse(&config.command)?,
            timeout: config.timeout,
            transient_exit_codes: config.transient_exit_codes.clone(),
            calls: AtomicU64::new(0),
        })
    }

    /// Runs the command for one change and reads its exit status.
    async fn run_one(&self, change: &Change) -> Result<(), CommandBackendError> {
        let values: Vec<String> = change.values().iter().map(value_text).collect();
        let argv = self.template.fill(&Filling {
            host: &change.host,
            zone: &change.zone,
            label: &change.label,
            record_type: change.record_type.as_str(),
            values: &values,
            ttl: change.ttl,
            delete: change.is_delete(),
        });
        self.calls.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(command = %display_argv(&argv), "running the backend command");
        let output = command::run(&argv, &RunOptions::new(self.timeout)).await?;
        if output.status.success() {
            return Ok(());
        }
        let failed = CommandFailed::new(&argv, &output);
        let listed = output
            .status
            .code()
            .is_some_and(|code| self.transient_exit_codes.contains(&code));
        Err(if listed {
            CommandBackendError::TryLater(failed)
        } else {
            CommandBackendError::Failed(failed)
        })
    }
}

/// A value as the program gets it: an address as written, a TXT value's text without quotes
/// (a checked TXT value holds no `"` or `\`).
fn value_text(value: &Value) -> String {
    match value {
        Value::Address(address) => address.to_string(),
        Value::Txt(text) => text.clone(),
    }
}

#[async_trait::async_trait]
impl Backend for CommandBackend {
    fn name(&self) -> &'static str {
        "command"
    }

    fn reads(&self) -> bool {
        false
    }

    async fn read(&self, _zone: &str, changes: &[Change]) -> ReadResults {
        BackendError::for_each(CommandBackendError::CannotRead, changes.len())
            .into_iter()
            .map(Err)
            .collect()
    }

    /// One call per change, in order.
    async fn write(&self, _zone: &str, changes: &[Change]) -> WriteResults {
        let mut results = Vec::with_capacity(changes.len());
        let mut stopped: Option<String> = None;
        for change in changes {
            if let Some(earlier) = &stopped {
                results.push(Err(BackendError::new(CommandBackendError::NotRun {
                    host: change.host.clone(),
                    earlier: earlier.clone(),
                })));
                continue;
            }
            let result = self.run_one(change).await;
            if let Err(error @ CommandBackendError::Run(_)) = &result {
                stopped = Some(error.to_string());
            }
            results.push(result.map_err(BackendError::new));
        }
        results
    }

    /// Only that the program is there and executable: running it would change DNS.
    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let program = find_program(self.template.program())
            .map_err(|missing| BackendError::new(CommandBackendError::Program(missing)))?;
        Ok(format!(
            "runs {} once per change (not run now; whether it serves zone {zone} only it knows)",
            program.display()
        ))
    }

    fn round_trips(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}
