//! README's first command: `dyndns demo` runs the whole flow with no config, the worker as a second
//! process (the real `dyndns-worker` binary), and the curl line it prints really changes the zone file
//! it names.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use util::{eventually, free_port, frontend_binary, http_get, worker_binary};

/// Pids of the processes whose parent is `parent` and whose name is `name`.
fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let comm = head.split_once(" (").map_or("", |(_, comm)| comm);
        let ppid = rest
            .split(' ')
            .nth(1)
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if comm == name && ppid == Some(parent) {
            found.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|pid| pid.parse::<u32>().ok()),
            );
        }
    }
    found
}

/// The worker processes of the demo `demo`: children of its guard (`dyndns demo-worker`, which
/// stops the worker when the demo is gone). comm is cut at 15 bytes: "dyndns-worker" fits.
fn demo_workers(demo: u32) -> Vec<u32> {
    children_named(demo, "dyndns")
        .into_iter()
        .flat_map(|guard| children_named(guard, "dyndns-worker"))
        .collect()
}

/// A running demo, killed on drop so that a failing test leaves none behind (its guard then stops
/// the worker).
struct RunningDemo(std::process::Child);

impl Drop for RunningDemo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A demo on a free port and its folder (from "Folder (removed on exit): …"), once its worker runs.
fn start_demo() -> (RunningDemo, std::path::PathBuf) {
    worker_binary();
    let mut demo = RunningDemo(
        Command::new(frontend_binary())
            .args(["demo", "--listen", &format!("127.0.0.1:{}", free_port())])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dyndns demo"),
    );
    let stdout = BufReader::new(demo.0.stdout.take().unwrap());
    let folder = stdout
        .lines()
        .map_while(Result::ok)
        .take(30)
        .find_map(|line| {
            line.strip_prefix("Folder (removed on exit): ")
                .map(std::path::PathBuf::from)
        })
        .expect("the demo names its folder");
    assert!(
        eventually(Duration::from_secs(10), || demo_workers(demo.0.id()).len()
            == 1),
        "no worker under the demo"
    );
    (demo, folder)
}

#[test]
fn demo_killed_outright_takes_its_worker_along() {
    // SIGKILL (or the OOM killer) gives the demo no chance to stop its worker: its guard does.
    let (mut demo, folder) = start_demo();
    let worker = demo_workers(demo.0.id())[0];
    demo.0.kill().unwrap();
    demo.0.wait().unwrap();
    let gone = eventually(Duration::from_secs(15), || {
        !Path::new(&format!("/proc/{worker}")).exists()
    });
    let _ = std::fs::remove_dir_all(&folder);
    assert!(gone, "the worker {worker} outlived the killed demo");
}

#[test]
fn demo_stops_cleanly_on_sighup() {
    // A closed terminal or `kill -HUP` used to end the demo at once, leaving the worker and folder.
    let (mut demo, folder) = start_demo();
    let worker = demo_workers(demo.0.id())[0];
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(demo.0.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    let status = wait_with_limit(&mut demo.0, Duration::from_secs(15));
    assert!(status.success(), "{status}");
    assert!(!Path::new(&format!("/proc/{worker}")).exists());
    assert!(!folder.exists(), "{} was left behind", folder.display());
}

/// Waits for `child` at most `limit`.
fn wait_with_limit(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let mut status = None;
    eventually(limit, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap_or_else(|| panic!("did not exit within {limit:?}"))
}

#[test]
fn demo_prints_a_curl_line_that_lands_in_the_zone_file() {
    // The demo runs the worker binary that sits beside its own.
    worker_binary();
    let port = free_port();
    let mut demo = RunningDemo(
        Command::new(frontend_binary())
            .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dyndns demo"),
    );
    let mut curl_line = String::new();
    let mut zone_file = String::new();
    let mut stdout = BufReader::new(demo.0.stdout.take().unwrap()).lines();
    for line in stdout.by_ref().take(30) {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("curl -u ") {
            curl_line = rest.to_string();
        }
        if let Some(path) = line.trim().strip_prefix("cat ") {
            zone_file = path.to_string();
            break;
        }
    }
    // curl -u 'demo:<password>' 'http://127.0.0.1:<port>/nic/update?hostname=...&myip=203.0.113.7'
    let parts: Vec<&str> = curl_line.split('\'').collect();
    assert!(parts.len() >= 4, "no curl line printed: {curl_line:?}");
    let (user, password) = parts[1].split_once(':').unwrap();
    let url = parts[3];
    let path = &url[url.find("/nic/update").expect("an update URL")..];
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut workers = Vec::new();
    eventually(Duration::from_secs(10), || {
        workers = demo_workers(demo.0.id());
        !workers.is_empty()
    });
    assert_eq!(
        workers.len(),
        1,
        "the worker is a process of its own: {workers:?}"
    );
    let reply = http_get(address, path, Some((user, password)), &[]);
    assert_eq!(reply.body, "good 203.0.113.7\n");
    let landed = eventually(Duration::from_secs(10), || {
        std::fs::read_to_string(&zone_file).is_ok_and(|text| text.contains("203.0.113.7"))
    });
    let again = http_get(address, path, Some((user, password)), &[]);
    util::terminate(&demo.0);
    let rest: Vec<String> = stdout.map_while(Result::ok).collect();
    let status = demo.0.wait().unwrap();
    assert!(landed, "the change never reached {zone_file}");
    assert_eq!(again.body, "nochg 203.0.113.7\n");
    assert!(status.success(), "{status}");
    assert!(
        rest.iter().any(|line| line
            == "demo stopped; in DNS as the worker left it: home.dyn.example.com 203.0.113.7"),
        "{rest:?}"
    );
    assert!(
        !Path::new(&format!("/proc/{}", workers[0])).exists(),
        "the worker stopped with the demo"
    );
}

#[test]
fn demo_without_the_worker_binary_says_how_to_build_it() {
    let folder = tempfile::tempdir().unwrap();
    let lonely = folder.path().join("dyndns");
    // cp in a child, not fs::copy: see util's note on ETXTBSY.
    let copied = Command::new("/bin/cp")
        .arg(frontend_binary())
        .arg(&lonely)
        .status()
        .unwrap();
    assert!(copied.success());
    let output = Command::new(&lonely)
        .args(["demo", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env_remove("CARGO")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let missing = folder.path().join("dyndns-worker");
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("cargo build --release"), "{stderr}");
}
