//! Why this exists: `dyndns-notify`'s command line and start: the config read, each target's token
//! read (before any message, so a missing token stops the start with its key), logging that never
//! prints a token, and the run in the chosen mode (continuous: SIGTERM/SIGINT stop, SIGHUP
//! reloads). Exit statuses: 0 done (with `--once`: every due message delivered), 1 a start error,
//! 3 with `--once` when a delivery failed (it stays owed).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context as _;
use clap::Parser;
use dyndns_config::Config;
use nix::sys::signal::{SigSet, Signal};

use crate::deliver;
use crate::instance_lock::InstanceLock;
use crate::notifier::Notifier;
use crate::reload::Reload;
use crate::run::{run_continuous, run_once, Stop};

/// ureq's HTTP layer dumps every header at trace level (`Authorization`, `X-Gotify-Key`) and
/// names every URL at debug level (an ntfy topic or a webhook path may be the secret): its lines
/// below info are left out whatever `RUST_LOG` says; our own errors say what failed.
const NEVER_TRACE: [&str; 2] = ["ureq=info", "ureq_proto=info"];

const EXIT_UNDELIVERED: u8 = 3;

/// Sends dyndns notifications (webhook, ntfy, Gotify, e-mail) for what the worker recorded in
/// history.jsonl. Runs unprivileged, as a member of the state folder's group. SIGHUP re-reads the
/// config between deliveries; SIGTERM stops it once the deliveries under way have settled.
#[derive(Debug, Parser)]
#[command(name = "dyndns-notify", version)]
struct Cli {
    /// The config file (default $DYNDNS_CONFIG, else /etc/dyndns/dyndns.toml)
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Deliver what is due, then exit (for cron and tests; a failed target is tried once, exit 3)
    #[arg(long)]
    once: bool,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.once);
    match start(&cli) {
        Ok(code) => code,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("dyndns-notify: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(once: bool) {
    let default = if once { "warn" } else { "info" };
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    for directive in NEVER_TRACE {
        if let Ok(never) = directive.parse() {
            filter = filter.add_directive(never);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Root running the notifier (`sudo dyndns-notify --once` by hand) in a state folder its own user
/// owns would leave root's 0600 `notify-state.json` and `notify.lock` there, and the service, as
/// that user, could no longer start. A folder root owns (a test's, a site run as root) is root's.
fn refuse_root_in_anothers_folder(state_dir: &std::path::Path) -> anyhow::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let Ok(metadata) = std::fs::metadata(state_dir) else {
        // A missing folder is the instance lock's error, with its path.
        return Ok(());
    };
    let owner = std::os::unix::fs::MetadataExt::uid(&metadata);
    if owner != 0 {
        let name = nix::unistd::User::from_uid(owner.into())
            .ok()
            .flatten()
            .map_or_else(|| owner.to_string(), |user| user.name);
        anyhow::bail!(
            "refusing to run as root in {}, which user {name} owns: root's files there would stop \
             the notifier's service from starting; run it as that user \
             (`sudo -u {name} dyndns-notify --once`)",
            state_dir.display()
        );
    }
    Ok(())
}

fn start(cli: &Cli) -> anyhow::Result<ExitCode> {
    // Blocked before any thread starts, so every thread inherits it and only the signal thread
    // below takes SIGTERM, SIGINT and SIGHUP (sigwait: no handler, nothing unsafe); from here on
    // a SIGHUP never ends the continuous notifier.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGHUP);
    if !cli.once {
        signals
            .thread_block()
            .context("cannot block SIGTERM and SIGHUP for the signal thread")?;
    }
    let path = dyndns_config::resolve_path(cli.config.as_deref());
    let config = Config::load(&path)?;
    let targets = deliver::for_config(&config)?;
    if targets.is_empty() {
        tracing::warn!(
            config = %path.display(),
            "no [[notify]] table: nothing will be sent"
        );
    }
    let state_dir = &config.notify.state_dir;
    refuse_root_in_anothers_folder(state_dir)?;
    // Held until the process ends: a second notifier on this folder would send everything twice.
    let _one_notifier = InstanceLock::take(state_dir)?;
    let mut notifier = Notifier::open(&config.worker.state_dir, state_dir, targets)
        .with_context(|| format!("cannot start from the state in {}", state_dir.display()))?;
    if cli.once {
        let report = run_once(&mut notifier, &SystemTime::now)?;
        if report.failed > 0 {
            return Ok(ExitCode::from(EXIT_UNDELIVERED));
        }
        return Ok(ExitCode::SUCCESS);
    }
    tracing::info!(
        history = %config.worker.state_dir.display(),
        state = %notifier.state_path().display(),
        targets = config.notify.targets.len(),
        "dyndns-notify follows the history"
    );
    let mut reload = Reload::new(path, config);
    let stop = Stop::default();
    let signalled = stop.clone();
    let hangup = reload.requester();
    std::thread::spawn(move || loop {
        match signals.wait() {
            Ok(Signal::SIGHUP) => {
                tracing::info!(
                    "SIGHUP: reloading the config once the deliveries under way have settled"
                );
                hangup.request();
            }
            Ok(signal) => {
                tracing::info!(%signal, "stopping once the deliveries under way have settled");
                signalled.request();
                break;
            }
            Err(_) => {
                signalled.request();
                break;
            }
        }
    });
    run_continuous(&mut notifier, &stop, &mut reload);
    Ok(ExitCode::SUCCESS)
}
