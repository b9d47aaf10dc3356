//! Why this exists: `dyndns serve`'s start, where every failure is the operator's to fix. It refuses
//! root, loads the config, proves the spool takes a job and binds the listener, and each error names
//! the key or path, its cause once, and the fix where one is known.

use std::io;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use dyndns_config::Listen;

use crate::app::{system_clock, AppState};
use crate::cli::ConfigArg;
use crate::reload::{reload_on_hangup, watch_hangups, Live};
use crate::request_log::RequestLog;
use crate::serve::{bind, serve, serve_on_every_core, shutdown_signal};

/// Why `serve` will not run as root, and what to do instead.
const ROOT_REFUSED: &str = "dyndns serve refuses to run as root: it faces the internet, and the \
     privilege split (an unprivileged frontend that can only queue jobs, a root worker that checks \
     them) is only worth something if it is not root. Run it as the service user: systemd \
     `User=dyndns` (packaging/systemd/dyndns.service), or by hand `setpriv --reuid=dyndns \
     --regid=dyndns --init-groups dyndns serve ...`. Only in a container that has no other user, \
     pass --allow-root.";

pub fn run_serve(config: &ConfigArg, allow_root: bool) -> anyhow::Result<()> {
    if nix::unistd::geteuid().is_root() && !allow_root {
        anyhow::bail!(ROOT_REFUSED);
    }
    crate::memory::return_large_allocations_to_the_system();
    let (_log_guard, log_writer) = crate::logging::init().unzip();
    let path = config.path();
    let config = Arc::new(config.load()?);
    for line in dyndns_config::summary(&config).lines() {
        tracing::info!("{line}");
    }
    let state = Arc::new(AppState::new(
        config.clone(),
        system_clock(),
        RequestLog::new(log_writer),
    )?);
    let live = Live::new(state);
    // SIGHUP re-reads the config (`reload.rs`) until the shutdown signal. Ready is said only once
    // SIGHUP is watched (in the runtime that waits for the signals), so an early `systemctl
    // reload` cannot end the process.
    let signals = {
        let live = live.clone();
        async move {
            let hangups = watch_hangups();
            tracing::info!(version = env!("CARGO_PKG_VERSION"), "dyndns frontend ready");
            tokio::select! {
                () = shutdown_signal() => {}
                () = reload_on_hangup(live, path, hangups) => {}
            }
        }
    };
    let listen = &config.frontend.listen;
    match listen {
        Listen::Tcp(address) => {
            let listener = std::net::TcpListener::bind(address)
                .map_err(|err| anyhow::anyhow!(cannot_listen(listen, &err)))?;
            serve_on_every_core(live, listener, signals).context("the HTTP server failed")?;
        }
        Listen::Unix(_) => {
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async {
                let listener = bind(listen)
                    .await
                    .map_err(|err| anyhow::anyhow!(cannot_listen(listen, &err)))?;
                serve(live, listener, signals)
                    .await
                    .context("the HTTP server failed")
            })?;
        }
    }
    tracing::info!("dyndns frontend stopped");
    Ok(())
}

/// `frontend.listen = "127.0.0.1:8245": address in use (is another dyndns serve running?)`: the key
/// as written in the config, the cause in words, and what usually fixes it.
pub fn cannot_listen(listen: &Listen, err: &io::Error) -> String {
    let (written, why) = match listen {
        Listen::Tcp(address) => (address.to_string(), tcp_problem(address.port(), err)),
        Listen::Unix(path) => (format!("unix:{}", path.display()), unix_problem(path, err)),
    };
    format!("frontend.listen = \"{written}\": {why}")
}

fn tcp_problem(port: u16, err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::AddrInUse => {
            "address in use (is another dyndns serve running? `ss -ltnp` shows who listens)".into()
        }
        io::ErrorKind::PermissionDenied if port < 1024 => format!(
            "permission denied: port {port} needs privileges; listen on a port above 1023 behind \
             the web server, as packaged (127.0.0.1:8245)"
        ),
        io::ErrorKind::AddrNotAvailable => {
            "no network interface of this machine has that address".into()
        }
        _ => err.to_string(),
    }
}

fn unix_problem(path: &Path, err: &io::Error) -> String {
    let folder = path.parent().unwrap_or(Path::new("/"));
    let packaged = "packaging/tmpfiles.d/dyndns.conf makes /run/dyndns (dyndns:dyndns-http 0750): \
                    run `systemd-tmpfiles --create dyndns.conf` as root";
    match err.kind() {
        io::ErrorKind::NotFound => {
            format!("the folder {} does not exist; {packaged}", folder.display())
        }
        io::ErrorKind::PermissionDenied => format!(
            "permission denied: the folder {} must be writable by the frontend's user; {packaged}",
            folder.display()
        ),
        // The bind's own refusals (a live socket, something that is not a socket) say what and why.
        _ => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_errors_name_the_key_as_written_and_the_cause() {
        let tcp = Listen::Tcp("127.0.0.1:8245".parse().expect("address literal"));
        let in_use = io::Error::from(io::ErrorKind::AddrInUse);
        assert_eq!(
            cannot_listen(&tcp, &in_use),
            "frontend.listen = \"127.0.0.1:8245\": address in use (is another dyndns serve \
             running? `ss -ltnp` shows who listens)"
        );
        let low = Listen::Tcp("127.0.0.1:80".parse().expect("address literal"));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(cannot_listen(&low, &denied).contains("port 80 needs privileges"));
        let unix = Listen::Unix("/run/dyndns/http.sock".into());
        let missing = io::Error::from(io::ErrorKind::NotFound);
        let text = cannot_listen(&unix, &missing);
        assert!(
            text.starts_with("frontend.listen = \"unix:/run/dyndns/http.sock\": the folder /run/dyndns does not exist"),
            "{text}"
        );
        assert!(text.contains("systemd-tmpfiles --create"), "{text}");
    }
}
