//! Why this exists: `cargo run --release -- demo` shows the whole flow on any machine: the frontend
//! in this process, the real `dyndns-worker` binary as a child (the same two processes as in
//! production), a temporary config, a random password, and a zone file that visibly changes.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use dyndns_config::Config;
use dyndns_queue::{AppliedState, Family, SpoolDirs};

use crate::app::{system_clock, AppState};
use crate::auth::{hash_password, random_secret};
use crate::demo_worker::WorkerChild;
use crate::request_log::RequestLog;
use crate::serve::{bind, serve, shutdown_signal};

const DEMO_HOST: &str = "home.dyn.example.com";

pub fn run(listen: SocketAddr) -> anyhow::Result<()> {
    crate::memory::return_large_allocations_to_the_system();
    // Before anything else: building the worker may take a while, and its absence ends the demo.
    let worker_binary = crate::demo_worker::locate_or_build()?;
    let (_log_guard, log_writer) = crate::logging::init().unzip();
    let folder = tempfile::Builder::new()
        .prefix("dyndns-demo-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let password = random_secret();
    let config_path = write_config(folder.path(), listen, &password)?;
    let config = Arc::new(Config::load(&config_path)?);
    SpoolDirs::at(&config.spool_dir)
        .create_all()
        .context("cannot create the demo spool")?;
    std::fs::create_dir_all(&config.worker.state_dir)
        .context("cannot create the demo state folder")?;
    let zone_file = folder.path().join("zones").join("dyn.example.com.zone");
    std::fs::create_dir_all(folder.path().join("zones"))
        .context("cannot create the demo zones folder")?;

    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // A closed terminal or `kill -HUP` stops the demo as ctrl-c does (by default it would end
        // the demo at once and leave its folder behind).
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot handle SIGHUP")?;
        let state = Arc::new(AppState::new(config.clone(), system_clock(), RequestLog::new(log_writer))?);
        let listener = bind(&config.frontend.listen)
            .await
            .with_context(|| cannot_listen(listen))?;
        let mut worker = WorkerChild::start(&worker_binary, &config_path)?;
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let frontend = tokio::spawn(serve(crate::reload::Live::new(state), listener, async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        }));
        let zone = zone_file.display();
        say(&format!(
            "\ndyndns demo: frontend on http://{listen} (this process), worker on the zone-file backend\n\
             (`{worker}`, a second process, as in production).\n\
             Folder (removed on exit): {folder}\n\
             Config:    {config}\n\
             Zone file: {zone} (written on the first change)\n\n\
             Try it (paste into another terminal):\n  \
             curl -u 'demo:{password}' 'http://{listen}/nic/update?hostname={DEMO_HOST}&myip=203.0.113.7'\n  \
             cat {zone}\n\
             Run the curl line again for `nochg`, or change myip for a new `good`. Ctrl-C stops the demo.\n",
            worker = worker_binary.display(),
            folder = folder.path().display(),
            config = config_path.display(),
        ));
        let worker_died = tokio::select! {
            () = shutdown_signal() => None,
            _ = hangup.recv() => None,
            status = worker.exited() => Some(status?),
        };
        let _ = stop_tx.send(true);
        frontend.await.context("the frontend task failed")?.context("the HTTP server failed")?;
        if let Some(status) = worker_died {
            anyhow::bail!("dyndns-worker exited with {status} while the demo ran (its messages are above)");
        }
        worker.stop().await?;
        say(&applied_summary(&config.worker.state_dir));
        Ok(())
    })
}

/// Why the demo could not listen, with another address to try (the next port: suggesting one fixed
/// port told whoever was already on it to try the same port again).
fn cannot_listen(listen: SocketAddr) -> String {
    let mut other = listen;
    other.set_port(listen.port().checked_add(1).unwrap_or(18245));
    format!(
        "cannot listen on {listen} (is another demo or dyndns serve running there? try --listen \
         {other})"
    )
}

/// The last address the worker applied per host and family (its `applied.json`), read after it
/// stopped.
fn applied_summary(state_dir: &Path) -> String {
    let path = AppliedState::path_in(state_dir);
    let state = match AppliedState::load(&path) {
        Ok(state) => state,
        Err(err) => return format!("demo stopped; {err}"),
    };
    let mut applied = Vec::new();
    for (host, _) in state.hosts() {
        for family in [Family::V4, Family::V6] {
            if let Some(address) = state.applied_address(host, family) {
                applied.push(format!("{host} {address}"));
            }
        }
    }
    if applied.is_empty() {
        return "demo stopped; the worker applied nothing".into();
    }
    format!(
        "demo stopped; in DNS as the worker left it: {}",
        applied.join(", ")
    )
}

/// Prints a message; a closed stdout (`dyndns demo | head`) must not turn into a panic.
fn say(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

fn write_config(
    folder: &Path,
    listen: SocketAddr,
    password: &str,
) -> anyhow::Result<std::path::PathBuf> {
    let hash = hash_password(password)
        .map_err(|err| anyhow::anyhow!("cannot hash the demo password: {err}"))?;
    let text = format!(
        r#"# Written by `dyndns demo`; see dyndns.example.toml for every key.
[frontend]
listen = "{listen}"

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"

[[zone]]
name = "dyn.example.com"
ttl = 60

[[user]]
name = "demo"
password_hash = "{hash}"
hosts = ["{DEMO_HOST}", "*.lab.dyn.example.com"]

[backend.zonefile]
path = "zones/{{zone}}.zone"
"#
    );
    let path = folder.join("dyndns.toml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_port_in_use_suggests_another_port_than_the_one_in_use() {
        for port in [8245, 18245] {
            let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            let text = super::cannot_listen(listen);
            let suggested = text.rsplit("--listen ").next().unwrap_or_default();
            assert!(!suggested.starts_with(&listen.to_string()), "{text}");
        }
    }
}
