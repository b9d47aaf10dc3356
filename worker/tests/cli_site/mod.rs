//! The temporary site the command-line tests of the worker share (`history_status.rs`,
//! `failed_letters.rs`): a config on backend `none` with its spool and state folder, the real
//! `dyndns-worker` run as an operator types it, and a running worker that never outlives its test.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use dyndns_queue::SpoolDirs;

pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// User `router` may update `hosts`, all in zone `dyn.example.com`; heartbeat every second.
    pub fn new(hosts: &[&str]) -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let hosts: Vec<String> = hosts.iter().map(|host| format!("\"{host}\"")).collect();
        let config = format!(
            r#"[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "none"
state_dir = "state"
rescan_secs = 1
heartbeat_secs = 1

[[zone]]
name = "dyn.example.com"
backend_zone = "example.com"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$pCo1hhnvnRFyDG0NwEtJag$c7C8W5Fix7yHkvomRxg75R8EQ1L9i2n5gx7SbwxKcAQ"
hosts = [{}]
"#,
            hosts.join(", ")
        );
        std::fs::write(dir.path().join("dyndns.toml"), config).expect("config");
        SpoolDirs::at(dir.path().join("spool"))
            .create_all()
            .expect("spool");
        std::fs::create_dir(dir.path().join("state")).expect("state");
        Site { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    #[allow(dead_code)] // Not every test binary uses every helper.
    pub fn spool(&self) -> SpoolDirs {
        SpoolDirs::at(self.path("spool"))
    }

    #[allow(dead_code)] // Not every test binary uses every helper.
    pub fn state_dir(&self) -> PathBuf {
        self.path("state")
    }

    pub fn worker(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dyndns-worker"));
        command
            .arg("--config")
            .arg(self.path("dyndns.toml"))
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs a command, failing the test instead of hanging if it takes ten seconds (a FIFO
    /// opened for a blocking read would).
    pub fn run(&self, args: &[&str]) -> Output {
        let mut child = self.worker(args).spawn().expect("run dyndns-worker");
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("dyndns-worker {args:?} hung");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    }

    /// Runs a command whose standard output is a pipe nobody reads any more, as behind `| head -1`
    /// once `head` has its line.
    #[allow(dead_code)] // Not every test binary uses every helper.
    pub fn run_into_a_closed_pipe(&self, args: &[&str]) -> Output {
        let (reader, writer) = nix::unistd::pipe().expect("pipe");
        drop(reader);
        let mut command = self.worker(args);
        command.stdout(writer);
        let child = command.spawn().expect("run dyndns-worker");
        drop(command);
        child.wait_with_output().expect("output")
    }

    pub fn start(&self) -> Running {
        Running(
            self.worker(&[])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start dyndns-worker"),
        )
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `ready` every 20 ms for at most ten seconds.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A worker started by a test, killed when the test ends without stopping it (a failed assert):
/// it would otherwise outlive the test binary and hold its spool's lock for ever.
pub struct Running(Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// SIGTERM, then the worker must exit 0.
pub fn stop(mut worker: Running) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(worker.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let status = worker.wait().expect("wait");
    assert!(status.success(), "{status}");
}
