//! Why this exists: `dyndns demo` shows the real two-process split without linking the worker into
//! the internet-facing binary. It runs the `dyndns-worker` binary that sits beside its own
//! executable (under the guard of `demo_guard.rs`), and under `cargo run` builds it first if it is
//! missing, so the quick start stays one command. `dyndns serve` never starts a process; only the
//! demo does.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;

/// The worker's executable name, as `worker/Cargo.toml` builds it.
const WORKER_BINARY: &str = "dyndns-worker";

/// How long the guard may take to stop the worker (it gives the worker 8 s, then kills it).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The worker binary beside our own executable; built with `$CARGO` if missing and we run under
/// cargo (`cargo run` sets `CARGO` and `CARGO_MANIFEST_DIR` for the program it runs).
pub fn locate_or_build() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the dyndns executable's own path")?;
    let folder = exe
        .parent()
        .context("the dyndns executable has no parent folder")?;
    let worker = folder.join(WORKER_BINARY);
    if worker.is_file() {
        return Ok(worker);
    }
    let Some(cargo) = std::env::var_os("CARGO") else {
        anyhow::bail!(
            "the demo runs the worker binary {}, which is missing: build both binaries with \
             `cargo build --release` (or start the demo with `cargo run --release -- demo`, which \
             builds it)",
            worker.display()
        );
    };
    build_with_cargo(cargo, folder)?;
    anyhow::ensure!(
        worker.is_file(),
        "cargo built dyndns-worker, but not at {}; build both binaries with `cargo build \
         --release` and run {} demo",
        worker.display(),
        exe.display()
    );
    Ok(worker)
}

/// `cargo build -p dyndns-worker` into the folder our own executable came from: same target
/// folder, same profile (`debug` is the dev profile, every other folder is named after its profile).
fn build_with_cargo(cargo: OsString, folder: &Path) -> anyhow::Result<()> {
    let mut command = std::process::Command::new(&cargo);
    command.args([
        "build",
        "--package",
        "dyndns-worker",
        "--bin",
        WORKER_BINARY,
    ]);
    let profile = folder.file_name().and_then(|name| name.to_str());
    match profile {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(other) => {
            command.args(["--profile", other]);
        }
    }
    if let Some(target_dir) = folder.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    if let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        command
            .arg("--manifest-path")
            .arg(Path::new(&manifest_dir).join("Cargo.toml"));
    }
    say_to_stderr(&format!(
        "dyndns demo: building the worker first ({command:?}); this happens once"
    ));
    let status = command
        .status()
        .with_context(|| format!("cannot run {}", Path::new(&cargo).display()))?;
    anyhow::ensure!(
        status.success(),
        "building dyndns-worker failed ({status}); build both binaries with `cargo build --release`"
    );
    Ok(())
}

fn say_to_stderr(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// A running `dyndns-worker`, under the guard that stops it when this process is gone
/// (`demo_guard.rs`). Dropped without [`WorkerChild::stop`] (an error path), the guard is killed and
/// its closed pipe stops the worker.
pub struct WorkerChild {
    guard: tokio::process::Child,
    /// Our end of the guard's stdin: closing it (or our death) tells the guard to stop the worker.
    lifeline: Option<tokio::process::ChildStdin>,
}

impl WorkerChild {
    /// Starts the worker on `config` in continuous mode, under the guard (our own executable). Its
    /// log goes to our stderr, so the demo shows both processes' lines.
    pub fn start(binary: &Path, config: &Path) -> anyhow::Result<WorkerChild> {
        let exe =
            std::env::current_exe().context("cannot find the dyndns executable's own path")?;
        let mut guard = tokio::process::Command::new(&exe)
            .arg("demo-worker")
            .arg("--worker")
            .arg(binary)
            .arg("--worker-config")
            .arg(config)
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} demo-worker", exe.display()))?;
        let lifeline = guard.stdin.take();
        Ok(WorkerChild { guard, lifeline })
    }

    /// Resolves when the worker exits by itself, which during the demo is a failure (the guard
    /// exits with the worker's status).
    pub async fn exited(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        self.guard
            .wait()
            .await
            .context("cannot wait for dyndns-worker")
    }

    /// Closes the guard's pipe: it sends the worker SIGTERM (the worker finishes its change in
    /// flight) and SIGKILL after its grace period, and exits with the worker's status.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.lifeline.take());
        match tokio::time::timeout(STOP_GRACE, self.guard.wait()).await {
            Ok(status) => {
                let status = status.context("cannot wait for dyndns-worker")?;
                // SIGINT from a terminal's ctrl-c ends it as cleanly as our SIGTERM.
                anyhow::ensure!(
                    status.success(),
                    "dyndns-worker stopped with {status} (its messages are above)"
                );
                Ok(())
            }
            Err(_) => {
                self.guard
                    .kill()
                    .await
                    .context("cannot kill dyndns-worker")?;
                anyhow::bail!(
                    "dyndns-worker did not stop within {} s of SIGTERM; killed it",
                    STOP_GRACE.as_secs()
                )
            }
        }
    }
}
