//! Why this exists: the `dyndns-worker` command line and its exit codes, so `main.rs` is one call.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use dyndns_config::Config;

use crate::run::{run_reloading, Mode, Report};
use crate::startup::WorkerError;

const EXIT_CODES: &str = "\
Exit codes:
  0   done: everything pending was applied (or --timeout/SIGTERM ended a healthy run)
  1   error: bad config, unusable spool or state directory; or (--run-once) jobs left waiting
      in cur/ after a transient backend failure, or (--run-once, --timeout) applied.json could
      not be saved; what waits is taken up by the next run
  2   wrong command-line usage
  3   (--run-once, --timeout) one or more jobs were dead-lettered: see failed/ and the log;
      takes precedence over 1
  75  another dyndns-worker already holds this spool's lock (safe for overlapping cron runs)";

/// Self-hosted dynamic DNS: the privileged worker. It watches the spool the `dyndns` frontend writes
/// and applies each change through each zone's DNS backend (Plesk, a zone file, RFC 2136, PowerDNS,
/// the Plesk API, Cloudflare, DigitalOcean, a command, or none).
///
/// With neither --run-once nor --timeout it runs until SIGTERM or SIGINT (systemd); shutdown is
/// graceful: the batch (one zone's changes) in flight finishes. `dyndns-worker` alone is
/// `dyndns-worker run`.
#[derive(Debug, Parser)]
#[command(
    name = "dyndns-worker",
    version,
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    /// Config file [default: $DYNDNS_CONFIG, else /etc/dyndns/dyndns.toml; empty counts as unset]
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Apply pending changes (the default when no command is given)
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Check the config, each backend's credentials and that it serves each zone; change nothing.
    /// Prints a line per zone; exits 0 when every zone is ok, 1 otherwise
    Check,
    /// Print what the worker did: applied changes, deletes, dead letters and backend failures from
    /// history.jsonl in [worker] state_dir (rotated files included), oldest first. Reads only: runs
    /// beside a working worker, as root or as a member of the state folder's group. Exits 0, or 1
    /// when the config or the history cannot be read
    History(HistoryArgs),
    /// Show per host the addresses applied and since when, and the last error; the jobs pending
    /// (new/), in flight (cur/) and failed (failed/); whether a worker holds the spool lock, and
    /// since when (heartbeat.json). Reads only. Exits 0, or 1 when the config cannot be read
    Status(StatusArgs),
    /// Dead letters in failed/ in [spool] dir: list them, show one, retry them, or purge old
    /// ones. As root; works beside a running worker (no lock taken). Exits 0; 1 when the config or
    /// failed/ cannot be read, or when a retry was refused or a purge left something (each said on
    /// stderr); 2 for wrong usage
    #[command(subcommand)]
    Failed(FailedCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum FailedCommand {
    /// One line per dead letter: its id (its name in failed/), host and families, age, and the
    /// first line of its reason
    List {
        /// One JSON document instead of lines for people
        #[arg(long)]
        json: bool,
    },
    /// The job in a dead letter as stored, and its whole reason
    Show {
        /// The dead letter's name in failed/, or a unique prefix of it or of its job id
        id: String,
    },
    /// Check a dead letter against today's config and the changes handled since, and move it back
    /// into new/ for the worker; one that would roll DNS back (older than the newest change handled
    /// for its host and family) or that the config refuses is left where it is, saying why
    Retry {
        /// The dead letter's name in failed/, or a unique prefix of it or of its job id
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every dead letter, each reported
        #[arg(long)]
        all: bool,
    },
    /// Remove dead letters (and their reasons) dead-lettered more than DAYS days ago. Symbolic
    /// links are removed, never followed; a directory is left and reported
    Purge {
        #[arg(long, value_name = "DAYS")]
        older_than: u64,
    },
}

#[derive(Debug, Clone, Args)]
pub(crate) struct HistoryArgs {
    /// Only this host
    pub host: Option<String>,
    /// Only events of the last DURATION (`90m`, `12h`, `7d`, `2weeks`)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// The events as stored: one JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct StatusArgs {
    /// One JSON document instead of lines for people
    #[arg(long)]
    pub json: bool,
}

/// How long a run lasts.
#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// Process what is pending, then exit (for scripts; logs warnings and errors only)
    #[arg(long, visible_alias = "runonce", conflicts_with = "timeout")]
    pub run_once: bool,

    /// Run for this many seconds, then exit (hourly cron: --timeout 3570; logs warnings and errors only)
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

impl RunArgs {
    fn mode(&self) -> Mode {
        match (self.run_once, self.timeout) {
            (true, _) => Mode::RunOnce,
            (false, Some(secs)) => Mode::Timeout(Duration::from_secs(secs)),
            (false, None) => Mode::Continuous,
        }
    }
}

/// ureq's HTTP layer dumps every byte sent and received at trace level, the `Authorization` and
/// `X-API-Key` headers included: those lines are left out whatever `RUST_LOG` says (a directive
/// for the same target replaces the operator's).
const NEVER_TRACE: &str = "ureq_proto::util=debug";

const EXIT_LOCKED: u8 = 75;
const EXIT_DEAD_LETTERED: u8 = 3;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // `--config` may stand before or after a command, so the run options before one are refused
    // here (clap's `args_conflicts_with_subcommands` refused `--config` too).
    if cli.command.is_some() && (cli.run.run_once || cli.run.timeout.is_some()) {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--run-once and --timeout go after `run` when a command is named",
            )
            .exit();
    }
    let args = match &cli.command {
        Some(Command::Run(args)) => args.clone(),
        Some(Command::Check) => return check_cli(cli.config),
        Some(Command::History(args)) => {
            let filter = crate::show_history::HistoryFilter {
                host: args.host.clone(),
                since: args.since,
            };
            return read_only(crate::show_history::print_history(
                cli.config, &filter, args.json,
            ));
        }
        Some(Command::Status(args)) => {
            return read_only(crate::status::print_status(cli.config, args.json))
        }
        Some(Command::Failed(command)) => return failed_cli(cli.config, command),
        None => cli.run.clone(),
    };
    let mode = args.mode();
    init_logging(mode);
    match run_cli(cli.config, mode) {
        Ok(code) => code,
        Err(err) => {
            if let Some(WorkerError::Locked { .. }) = err.downcast_ref::<WorkerError>() {
                eprintln!("dyndns-worker: {err:#}; exiting");
                return ExitCode::from(EXIT_LOCKED);
            }
            eprintln!("dyndns-worker: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `info` under systemd; warnings and errors only in the cron modes, where every line is mailed.
/// `RUST_LOG` overrides either, except for [`NEVER_TRACE`].
fn init_logging(mode: Mode) {
    let default = match mode {
        Mode::Continuous => "info",
        Mode::RunOnce | Mode::Timeout(_) => "warn",
    };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // It parses (the `secret_leaks` backend test fails otherwise).
    if let Ok(never) = NEVER_TRACE.parse() {
        filter = filter.add_directive(never);
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run_cli(config: Option<PathBuf>, mode: Mode) -> anyhow::Result<ExitCode> {
    let path = dyndns_config::resolve_path(config.as_deref());
    let config = Arc::new(Config::load(&path)?);
    for line in dyndns_config::summary(&config).lines() {
        tracing::info!("{line}");
    }
    let backends = crate::backend::from_config(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Before the line that says it started: from then on a SIGHUP (`systemctl reload`) reloads
    // the config instead of ending the process.
    let hangups = {
        let _runtime = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot watch SIGHUP (config reloads)")?
    };
    tracing::info!(config = %path.display(), backends = %backends.names(), ?mode, "dyndns-worker starting");
    let report = runtime.block_on(run_reloading(
        path,
        hangups,
        config,
        backends,
        mode,
        shutdown_signal(),
    ))?;
    tracing::info!(
        applied = report.applied,
        unchanged = report.unchanged,
        superseded = report.superseded,
        dead_lettered = report.dead_lettered,
        deferred = report.deferred,
        left_in_cur = report.left_in_cur,
        round_trips = report.round_trips,
        "dyndns-worker stopped"
    );
    Ok(exit_code(mode, &report))
}

/// The exit status of `history` and `status`: 0, or 1 with the error on stderr.
fn read_only(done: anyhow::Result<()>) -> ExitCode {
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dyndns-worker: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `dyndns-worker failed …`: 0, or 1 when it could not run or refused or left something.
fn failed_cli(config: Option<PathBuf>, command: &FailedCommand) -> ExitCode {
    use crate::failed_cmd;
    let done = failed_cmd::load_config(config).and_then(|config| match command {
        FailedCommand::List { json } => failed_cmd::list(&config, *json),
        FailedCommand::Show { id } => failed_cmd::show(&config, id),
        FailedCommand::Retry { id, .. } => failed_cmd::retry(&config, id.as_deref()),
        FailedCommand::Purge { older_than } => failed_cmd::purge(&config, *older_than),
    });
    match done {
        Ok(outcome) if outcome.refused == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("dyndns-worker: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `dyndns-worker check`: a line per zone on stdout; problems that stop the check on stderr.
fn check_cli(config: Option<PathBuf>) -> ExitCode {
    init_logging(Mode::RunOnce);
    let checked = (|| -> anyhow::Result<bool> {
        let path = dyndns_config::resolve_path(config.as_deref());
        let config = Config::load(&path)?;
        println!("config {} OK", path.display());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let zones = runtime.block_on(crate::check::check_config(&config));
        for zone in &zones {
            println!("{zone}");
        }
        Ok(zones.iter().all(|zone| zone.outcome.is_ok()))
    })();
    match checked {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("dyndns-worker: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit status of a finished run; see [`EXIT_CODES`]. Under systemd (continuous mode) a stop is
/// always a success: problems are in the journal, and a failed unit would not say more.
fn exit_code(mode: Mode, report: &Report) -> ExitCode {
    if mode == Mode::Continuous {
        return ExitCode::SUCCESS;
    }
    if report.dead_lettered > 0 {
        eprintln!(
            "dyndns-worker: {} job(s) dead-lettered; see failed/ and the log above",
            report.dead_lettered
        );
        return ExitCode::from(EXIT_DEAD_LETTERED);
    }
    if report.state_unsaved {
        eprintln!("dyndns-worker: the applied state could not be saved; the applied jobs wait in cur/ for the next run");
        return ExitCode::FAILURE;
    }
    if mode == Mode::RunOnce && report.left_in_cur > 0 {
        eprintln!(
            "dyndns-worker: {} job(s) left waiting in cur/ after transient failures; the next run retries them",
            report.left_in_cur
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
