//! Why this exists: the `dyndns` command line (serve, check-config, hash-password, demo) and its exit
//! codes, kept apart from the service code so `main.rs` is one call.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use dyndns_config::{Config, Listen};

use crate::app::{system_clock, AppState};
use crate::request_log::RequestLog;
use crate::serve::{bind, serve, serve_on_every_core, shutdown_signal};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (check-config: the config is valid)
  1  error: the config is invalid, the spool or listener cannot be used, or the service failed
  2  wrong command-line usage";

/// Self-hosted dynamic DNS: the dyndns2 HTTP frontend (unprivileged). It authenticates each update,
/// checks it against the configured zones and the user's hosts, and spools it for `dyndns-worker`.
#[derive(Debug, Parser)]
#[command(name = "dyndns", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Config file [default: /etc/dyndns/dyndns.toml]
    #[arg(long, global = true, env = "DYNDNS_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP frontend until SIGTERM or ctrl-c (answers /nic/update, /update and /health).
    Serve,
    /// Check the config file and print a summary with secrets masked; exit 0 if valid, 1 if not.
    CheckConfig,
    /// Read a password from stdin (or prompt without echo) and print its argon2id hash for
    /// `[[user]] password_hash`.
    HashPassword,
    /// Try the whole flow locally: frontend and worker in one process on a temporary zone file,
    /// no root and no config needed. Prints a curl line to paste.
    Demo {
        /// Where the demo frontend listens.
        #[arg(long, default_value = "127.0.0.1:8245")]
        listen: std::net::SocketAddr,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve => run_serve(cli.config),
        Command::CheckConfig => check_config(cli.config),
        Command::HashPassword => hash_password(),
        Command::Demo { listen } => crate::demo::run(listen),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dyndns: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = dyndns_config::resolve_path(path.as_deref());
    Ok(Config::load(&path)?)
}

fn run_serve(config: Option<PathBuf>) -> anyhow::Result<()> {
    crate::memory::return_large_allocations_to_the_system();
    let (_log_guard, log_writer) = crate::logging::init().unzip();
    let config = Arc::new(load(config)?);
    for line in dyndns_config::summary(&config).lines() {
        tracing::info!("{line}");
    }
    let state = Arc::new(AppState::new(
        config.clone(),
        system_clock(),
        RequestLog::new(log_writer),
    )?);
    let cannot_listen = || format!("cannot listen on {:?}", config.frontend.listen);
    match &config.frontend.listen {
        Listen::Tcp(address) => {
            let listener = std::net::TcpListener::bind(address).with_context(cannot_listen)?;
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "dyndns frontend ready");
            serve_on_every_core(state, listener, shutdown_signal())
                .context("the HTTP server failed")?;
        }
        Listen::Unix(_) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async {
                let listener = bind(&config.frontend.listen)
                    .await
                    .with_context(cannot_listen)?;
                tracing::info!(version = env!("CARGO_PKG_VERSION"), "dyndns frontend ready");
                serve(state, listener, shutdown_signal())
                    .await
                    .context("the HTTP server failed")
            })?;
        }
    }
    tracing::info!("dyndns frontend stopped");
    Ok(())
}

fn check_config(config: Option<PathBuf>) -> anyhow::Result<()> {
    let config = load(config)?;
    print!("{}", dyndns_config::summary(&config));
    println!("config OK");
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
    println!(
        "{}",
        crate::auth::hash_password(&password)
            .map_err(|err| anyhow::anyhow!("cannot hash: {err}"))?
    );
    Ok(())
}
