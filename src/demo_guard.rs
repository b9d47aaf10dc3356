//! Why this exists: `dyndns demo` must not leave its worker running when the demo is killed outright
//! (SIGKILL, the OOM killer), which no signal handler of the demo sees. `PR_SET_PDEATHSIG` would need
//! unsafe code between fork and exec, and the worker is the production binary, not to be changed for
//! a demo. So the demo starts this guard (its own binary, `dyndns demo-worker`) with a pipe on its
//! stdin, and the guard starts the worker. The kernel closes the pipe when the demo ends, however it
//! ends; at end-of-file the guard stops the worker as the demo would, and exits with its status.

use std::io::Read;
use std::path::Path;
use std::process::{ExitCode, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::signal::unix::{signal, SignalKind};

/// How long the worker may take to finish its change in flight after SIGTERM; below the demo's own
/// grace for the guard, so the guard, not the demo, is the one that kills the worker.
const STOP_GRACE: Duration = Duration::from_secs(8);

/// Runs `worker --config config` until the demo closes our stdin (or is gone), then stops it.
pub fn run(worker: &Path, config: &Path) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(guard(worker, config))
}

async fn guard(worker: &Path, config: &Path) -> anyhow::Result<ExitCode> {
    // Before the worker starts: from here on a signal to the whole process group (ctrl-c, a closed
    // terminal) must not end the guard before the worker, whose status it reports.
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let demo_gone = demo_gone()?;
    let mut child = tokio::process::Command::new(worker)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", worker.display()))?;
    let status = tokio::select! {
        status = child.wait() => status.context("cannot wait for dyndns-worker")?,
        _ = demo_gone => stop(&mut child).await?,
        _ = terminate.recv() => stop(&mut child).await?,
        _ = hangup.recv() => stop(&mut child).await?,
        // ctrl-c reached the worker too (one process group): it stops by itself.
        _ = interrupt.recv() => wait_or_kill(&mut child).await?,
    };
    Ok(exit_code(status))
}

/// The worker's own exit code. Ended by SIGTERM or SIGINT before it could handle them (it was still
/// starting): stopped as asked, 0. Killed by anything else: 1.
fn exit_code(status: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return u8::try_from(code).map_or(ExitCode::FAILURE, ExitCode::from);
    }
    let asked = [Signal::SIGTERM, Signal::SIGINT].map(|signal| signal as i32);
    if status
        .signal()
        .is_some_and(|signal| asked.contains(&signal))
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Resolves when our stdin, the demo's pipe, reads end-of-file (or fails): the demo closed it, or is
/// gone. A blocking read on a thread of its own, which ends with the process.
fn demo_gone() -> anyhow::Result<tokio::sync::oneshot::Receiver<()>> {
    let (gone, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("demo-pipe".into())
        .spawn(move || {
            let mut byte = [0u8; 1];
            while matches!(std::io::stdin().read(&mut byte), Ok(1..)) {}
            let _ = gone.send(());
        })
        .context("cannot start the thread that watches the demo")?;
    Ok(receiver)
}

/// SIGTERM (the worker finishes its change in flight), then SIGKILL after the grace period.
async fn stop(child: &mut tokio::process::Child) -> anyhow::Result<ExitStatus> {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // ESRCH: it already exited.
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    wait_or_kill(child).await
}

async fn wait_or_kill(child: &mut tokio::process::Child) -> anyhow::Result<ExitStatus> {
    match tokio::time::timeout(STOP_GRACE, child.wait()).await {
        Ok(status) => status.context("cannot wait for dyndns-worker"),
        Err(_) => {
            child.kill().await.context("cannot kill dyndns-worker")?;
            child.wait().await.context("cannot wait for dyndns-worker")
        }
    }
}
