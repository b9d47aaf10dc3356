//! Why this exists: the `dyndns-worker` command line and its exit codes, so `main.rs` is one call.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use dyndns_config::Config;
use dyndns_queue::SpoolError;

use crate::run::{run, Mode, WorkerError};

const EXIT_CODES: &str = "\
Exit codes:
  0   done: everything pending was applied (or --timeout/SIGTERM ended a healthy run)
  1   error: bad config, unusable spool or state directory, or (--run-once) changes left
      waiting after a transient backend failure; they stay in cur/ for the next run
  2   wrong command-line usage
  75  another dyndns-worker already holds this spool's lock (safe for overlapping cron runs)";

/// Self-hosted dynamic DNS: the privileged worker. It watches the spool the `dyndns` frontend writes
/// and applies each change through the configured DNS backend (Plesk, zone file).
///
/// With neither --run-once nor --timeout it runs until SIGTERM or SIGINT (systemd); shutdown is
/// graceful: the change in flight finishes.
#[derive(Debug, Parser)]
#[command(name = "dyndns-worker", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Config file [default: /etc/dyndns/dyndns.toml]
    #[arg(long, env = "DYNDNS_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Process what is pending, then exit (logs at debug level; for debugging and scripts).
    #[arg(long, alias = "runonce", conflicts_with = "timeout")]
    pub run_once: bool,

    /// Run for this many seconds, then exit 0 (for an hourly cron job: --timeout 3570).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
}

const EXIT_LOCKED: u8 = 75;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.run_once);
    match run_cli(cli) {
        Ok(code) => code,
        Err(err) => {
            if let Some(WorkerError::Spool(SpoolError::Locked { .. })) =
                err.downcast_ref::<WorkerError>()
            {
                eprintln!("dyndns-worker: {err:#}; exiting");
                return ExitCode::from(EXIT_LOCKED);
            }
            eprintln!("dyndns-worker: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(run_once: bool) {
    let default = if run_once { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run_cli(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = dyndns_config::resolve_path(cli.config.as_deref());
    let config = Arc::new(Config::load(&path)?);
    let mode = match (cli.run_once, cli.timeout) {
        (true, _) => Mode::RunOnce,
        (false, Some(secs)) => Mode::Timeout(Duration::from_secs(secs)),
        (false, None) => Mode::Continuous,
    };
    for line in dyndns_config::summary(&config).lines() {
        tracing::info!("{line}");
    }
    let backend = crate::backend::from_config(&config)?;
    tracing::info!(config = %path.display(), backend = backend.name(), ?mode, "dyndns-worker starting");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(run(config, backend, mode, shutdown_signal()))?;
    tracing::info!(
        applied = report.applied,
        unchanged = report.unchanged,
        superseded = report.superseded,
        dead_lettered = report.dead_lettered,
        deferred = report.deferred,
        "dyndns-worker stopped"
    );
    if mode == Mode::RunOnce && report.deferred > 0 {
        eprintln!(
            "dyndns-worker: {} change(s) left waiting after transient backend failures",
            report.deferred
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
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
