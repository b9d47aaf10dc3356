//! Why this exists: runs the frontend on a listener the caller hands in (TCP or unix socket) until the
//! caller's shutdown signal, with the small periodic chores beside it.

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::net::{TcpListener, UnixListener};

use dyndns_config::Listen;

use crate::app::routes;
use crate::client_addr::Peer;
use crate::reload::Live;

/// How often the worker's applied state is checked for news (one `stat` when nothing changed).
const STATE_REFRESH: Duration = Duration::from_secs(1);
const HOUSEKEEPING: Duration = Duration::from_secs(60);
/// How long `bind` waits to learn whether a unix socket file is still in use.
const SOCKET_PROBE: Duration = Duration::from_secs(2);

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Peer {
        Peer::Tcp(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, UnixListener>> for Peer {
    fn connect_info(_stream: IncomingStream<'_, UnixListener>) -> Peer {
        Peer::Unix
    }
}

/// Binds the configured address. A unix socket file left by an earlier run is replaced only if it
/// is stale; a live one, or anything that is not a socket, is refused.
pub async fn bind(listen: &Listen) -> io::Result<Listener> {
    match listen {
        Listen::Tcp(address) => Ok(Listener::Tcp(TcpListener::bind(address).await?)),
        Listen::Unix(path) => {
            remove_stale_socket(path).await?;
            let listener = UnixListener::bind(path)?;
            // Who may connect is decided by the socket's folder (packaging: /run/dyndns).
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
            Ok(Listener::Unix(listener))
        }
    }
}

/// Removes the socket file at `path` if no process listens on it any more. Unlinking a live one
/// would leave that frontend running and unreachable, so a socket someone accepts on, a socket we
/// cannot probe, and a file that is not a socket are errors (the caller names the path and key). (Two frontends
/// started at the same instant on a stale socket could still both pass the probe; systemd starts
/// one.)
async fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "something that is not a socket is there; refusing to replace it (remove it, or \
             choose another frontend.listen)",
        ));
    }
    // Non-blocking: a live frontend with a full backlog (or stopped) answers EAGAIN, not a hang.
    let probe = tokio::time::timeout(SOCKET_PROBE, tokio::net::UnixStream::connect(path))
        .await
        .unwrap_or_else(|_| Err(io::Error::from(io::ErrorKind::TimedOut)));
    match probe {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "the socket of a running process (another dyndns serve?) is there; stop it first, or \
             choose another frontend.listen",
        )),
        // Nobody accepts on it: left by a process that ended.
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(err) => Err(io::Error::new(
            err.kind(),
            format!("cannot tell whether the socket there is still in use ({err}); refusing to replace it"),
        )),
    }
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve<F>(live: Live, listener: Listener, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let chores = tokio::spawn(chores(live.clone()));
    let router = routes(live);
    let result = match listener {
        Listener::Tcp(listener) => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<Peer>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }
        Listener::Unix(listener) => {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<Peer>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
        }
    };
    chores.abort();
    result
}

async fn chores(live: Live) {
    let mut refresh = tokio::time::interval(STATE_REFRESH);
    let mut housekeeping = tokio::time::interval(HOUSEKEEPING);
    loop {
        // The state as of this tick: what it refreshes is shared by every config's state.
        let state = live.current();
        tokio::select! {
            _ = refresh.tick() => {
                // A file read; keep it off the request threads' hot path.
                let _ = tokio::task::spawn_blocking(move || state.refresh_from_state()).await;
            }
            _ = housekeeping.tick() => state.limits.housekeeping(),
        }
    }
}

/// Resolves on SIGTERM or SIGINT (ctrl-c).
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// Serves TCP the way `dyndns serve` runs: one single-threaded runtime per core, all accepting from
/// the same listening socket, so each connection lives on the core that accepted it. On a 2-core
/// host this answers `nochg` about a fifth faster than one work-stealing runtime, whose cross-core
/// wake-ups cost more than the request itself (`bench/run`). Blocks until `shutdown` resolves and
/// every runtime has finished the requests in flight.
pub fn serve_on_every_core<F>(
    live: Live,
    listener: std::net::TcpListener,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    listener.set_nonblocking(true)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // A core whose runtime ends early (it could not start, say) stops the others: better a clean
    // exit that systemd restarts than a frontend serving on fewer cores or not at all.
    let core_ended = Arc::new(tokio::sync::Notify::new());
    let mut threads = Vec::with_capacity(cores);
    for core in 0..cores {
        let live = live.clone();
        let stop = stop_rx.clone();
        let own = listener.try_clone()?;
        let ended = core_ended.clone();
        let thread = std::thread::Builder::new()
            .name(format!("dyndns-http-{core}"))
            .spawn(move || {
                let result = serve_one_core(live, own, stop, core == 0);
                ended.notify_one();
                result
            })?;
        threads.push(thread);
    }
    // Signals need a runtime of their own; this thread has nothing else to do.
    let waited = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|runtime| {
            runtime.block_on(async {
                tokio::select! {
                    () = shutdown => {}
                    () = core_ended.notified() => {}
                }
            })
        });
    let _ = stop_tx.send(true);
    let mut result = waited;
    for thread in threads {
        let finished = thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("an HTTP thread panicked")));
        result = result.and(finished);
    }
    result
}

fn serve_one_core(
    live: Live,
    listener: std::net::TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
    with_chores: bool,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        let chores = with_chores.then(|| tokio::spawn(chores(live.clone())));
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        let result = axum::serve(
            listener,
            routes(live).into_make_service_with_connect_info::<Peer>(),
        )
        .with_graceful_shutdown(stopped)
        .await;
        if let Some(chores) = chores {
            chores.abort();
        }
        result
    })
}
