//! Why this exists: the `dyndns` command line (serve, check-config, hash-password, demo) and its exit
//! codes, kept apart from the service code so `main.rs` is one call.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use dyndns_config::{stdout, Config};

use crate::check::Severity;

const EXIT_CODES: &str = "\
Exit codes:
  0  success (check-config: the config is valid and nothing in the installation stops it from
     working; warnings may have been printed)
  1  error: the config is invalid, the spool or listener cannot be used, serve was started as
     root without --allow-root, check-config found an error (or, with --strict, a warning),
     or the service failed
  2  wrong command-line usage";

/// Self-hosted dynamic DNS: the dyndns2 HTTP frontend (unprivileged). It authenticates each update,
/// checks it against the configured zones and the user's hosts, and spools it for `dyndns-worker`.
#[derive(Debug, Parser)]
#[command(name = "dyndns", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `--config`, only on the commands that read the config.
#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file [default: $DYNDNS_CONFIG if set and not empty, else /etc/dyndns/dyndns.toml]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    pub fn load(&self) -> anyhow::Result<Config> {
        Ok(Config::load(&self.path())?)
    }

    /// The file `load` reads (and a reload re-reads).
    pub fn path(&self) -> PathBuf {
        dyndns_config::resolve_path(self.config.as_deref())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP frontend until SIGTERM or ctrl-c (answers /nic/update, /update, /ddns/update,
    /// /api/v1/update, token URLs, /health, and with bearer tokens /status and /metrics).
    /// Runs as the service user (`dyndns`), never as root.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        /// Run even as root: only for a container that has no other user. Everywhere else run it
        /// as the service user (systemd `User=dyndns`; by hand `setpriv --reuid=dyndns
        /// --regid=dyndns --init-groups dyndns serve`).
        #[arg(long)]
        allow_root: bool,
    },
    /// Check the config file and the installation it describes (spool and state folders and their
    /// owners and modes, backend commands, who may read the secrets), and print a summary with
    /// secrets masked. Errors exit 1; warnings are printed, and fail too with --strict.
    CheckConfig {
        #[command(flatten)]
        config: ConfigArg,
        /// The user `dyndns serve` runs as, whose access to the spool, state and config is judged.
        #[arg(long, value_name = "NAME", default_value = "dyndns")]
        user: String,
        /// The user `dyndns-notify` runs as, whose access to its token files, its state folder and
        /// the history is judged when the config has `[[notify]]` tables.
        #[arg(long, value_name = "NAME", default_value = "dyndns-notify")]
        notifier_user: String,
        /// Fail (exit 1) on warnings too.
        #[arg(long)]
        strict: bool,
    },
    /// Read a password from stdin (or prompt without echo) and print its argon2id hash for
    /// `[[user]] password_hash`; with --token, make a new update token instead and print it and its
    /// `[[user]] token_hashes` line (or `[frontend] status_token_hashes` line, for /status and
    /// /metrics).
    HashPassword {
        /// Make a random token (256 bits) instead: for token URLs (`GET /<token>`) or for the bearer
        /// token of /status and /metrics.
        #[arg(long)]
        token: bool,
    },
    /// Try the whole flow locally: frontend and worker in one process on a temporary zone file,
    /// no root and no config needed. Prints a curl line to paste.
    Demo {
        /// Where the demo frontend listens.
        #[arg(long, default_value = "127.0.0.1:8245")]
        listen: std::net::SocketAddr,
    },
    /// Internal to `demo`: runs the worker and stops it when the demo is gone (see demo_guard.rs).
    #[command(hide = true)]
    DemoWorker {
        #[arg(long, value_name = "PATH")]
        worker: PathBuf,
        #[arg(long, value_name = "PATH")]
        worker_config: PathBuf,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config, allow_root } => crate::start::run_serve(&config, allow_root),
        Command::CheckConfig {
            config,
            user,
            notifier_user,
            strict,
        } => check_config(&config, &user, &notifier_user, strict),
        Command::HashPassword { token: false } => hash_password(),
        Command::HashPassword { token: true } => new_token(),
        Command::Demo { listen } => crate::demo::run(listen),
        Command::DemoWorker {
            worker,
            worker_config,
        } => return guard_exit(crate::demo_guard::run(&worker, &worker_config)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dyndns: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The worker's own status, or 1 with the reason.
fn guard_exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|err| {
        eprintln!("dyndns demo-worker: {err:#}");
        ExitCode::FAILURE
    })
}

fn check_config(
    config: &ConfigArg,
    frontend_user: &str,
    notifier_user: &str,
    strict: bool,
) -> anyhow::Result<()> {
    let config = config.load()?;
    stdout::print(&dyndns_config::summary(&config))?;
    let findings = crate::check::check_installation(&config, frontend_user, notifier_user);
    for finding in findings.iter() {
        stdout::println(&finding.to_string())?;
    }
    let errors = findings.count(Severity::Error);
    let warnings = findings.count(Severity::Warning);
    if errors > 0 || (strict && warnings > 0) {
        anyhow::bail!(
            "check-config found {errors} error(s) and {warnings} warning(s){}",
            if strict {
                " (--strict: warnings fail too)"
            } else {
                ""
            }
        );
    }
    if warnings > 0 {
        stdout::println(&format!("config OK, with {warnings} warning(s)"))?;
    } else {
        stdout::println("config OK")?;
    }
    Ok(())
}

/// The token on the first line (give it to the router: `https://dyn.example.com/<token>`), its
/// `token_hashes` entry on the second (the config keeps only that).
fn new_token() -> anyhow::Result<()> {
    let token = crate::token::new_token();
    stdout::println(&format!("{token}\n{}", crate::token::hash_line(&token)))?;
    Ok(())
}

fn hash_password() -> anyhow::Result<()> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let again = rpassword::prompt_password("Again: ").context("cannot read the password")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    stdout::println(
        &crate::auth::hash_password(&password)
            .map_err(|err| anyhow::anyhow!("cannot hash: {err}"))?,
    )?;
    Ok(())
}
