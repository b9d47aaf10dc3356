//! The notifier's test harness: a raw HTTP receiver on 127.0.0.1 that records what it gets and
//! answers as a test tells it (a status, silence until released, a closed connection), a fake
//! sendmail that records its argv and stdin, history events and the worker's append.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod binary_site;

use dyndns_queue::{EventKind, Family, HistoryEvent, HistoryLog, HISTORY_VERSION};
use uuid::Uuid;

/// How long a test waits for something that should happen in milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One request as the receiver read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// How the receiver answers the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Status(u16),
    /// Reads the request, then answers nothing until [`Receiver::release`] (or its drop).
    Hold,
    /// Closes the connection without an answer.
    Close,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    released: bool,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<(Mutex<Shared>, Condvar)>,
}

impl Receiver {
    /// Answers 200 unless a script says otherwise.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let for_thread = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = for_thread.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Receiver { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next requests get these answers, in order; then 200 again.
    pub fn script(&self, answers: &[Answer]) {
        let (lock, _) = &*self.shared;
        lock.lock().unwrap().script.extend(answers.iter().copied());
    }

    /// Lets held requests be answered (200).
    pub fn release(&self) {
        let (lock, signal) = &*self.shared;
        lock.lock().unwrap().released = true;
        signal.notify_all();
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.0.lock().unwrap().received.clone()
    }

    /// Waits (bounded) until `count` requests arrived.
    pub fn wait_for(&self, count: usize) -> Vec<Received> {
        let (lock, signal) = &*self.shared;
        let deadline = Instant::now() + PATIENCE;
        let mut shared = lock.lock().unwrap();
        while shared.received.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "only {} of {count} requests arrived",
                shared.received.len()
            );
            shared = signal.wait_timeout(shared, left).unwrap().0;
        }
        shared.received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.release();
    }
}

fn serve(stream: TcpStream, shared: &(Mutex<Shared>, Condvar)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|value| value.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let (lock, signal) = shared;
        let answer = {
            let mut state = lock.lock().unwrap();
            state.received.push(Received {
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            signal.notify_all();
            state.script.pop_front().unwrap_or(Answer::Status(200))
        };
        let status = match answer {
            Answer::Status(status) => status,
            Answer::Close => return,
            Answer::Hold => {
                let mut state = lock.lock().unwrap();
                while !state.released {
                    state = signal.wait(state).unwrap();
                }
                200
            }
        };
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nok");
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// A 127.0.0.1 address nothing listens on.
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/nobody")
}

/// A fake sendmail in `dir`: appends its argv (one per line) and stdin, between markers, to
/// `dir/sendmail.log`, and exits with the status in `dir/sendmail.status` (0 without the file).
pub fn fake_sendmail(dir: &Path) -> PathBuf {
    let path = dir.join("fake-sendmail");
    let script = format!(
        "#!/bin/sh\n\
         # A sendmail double: records argv and the message, exits as told.\n\
         log='{log}'\n\
         echo '--- argv' >> \"$log\"\n\
         for arg in \"$@\"; do echo \"$arg\" >> \"$log\"; done\n\
         echo '--- stdin' >> \"$log\"\n\
         cat >> \"$log\"\n\
         echo '--- end' >> \"$log\"\n\
         status=0\n\
         [ -f '{status}' ] && status=$(cat '{status}')\n\
         exit \"$status\"\n",
        log = dir.join("sendmail.log").display(),
        status = dir.join("sendmail.status").display(),
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The messages the fake sendmail got: (argv, stdin).
pub fn sendmail_log(dir: &Path) -> Vec<(Vec<String>, String)> {
    let Ok(text) = std::fs::read_to_string(dir.join("sendmail.log")) else {
        return Vec::new();
    };
    text.split("--- argv\n")
        .skip(1)
        .map(|part| {
            let (argv, rest) = part.split_once("--- stdin\n").unwrap();
            let stdin = rest.strip_suffix("--- end\n").unwrap();
            (argv.lines().map(String::from).collect(), stdin.to_owned())
        })
        .collect()
}

pub fn time(second: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_906_200 + second)
}

/// An applied change of `host` to 198.51.100.`n` at second `n`.
pub fn change(host: &str, n: u64) -> HistoryEvent {
    HistoryEvent {
        v: HISTORY_VERSION,
        time: time(n),
        event: EventKind::Applied,
        host: host.into(),
        family: Family::V4,
        old: vec!["198.51.100.254".parse().unwrap()],
        new: Some(std::net::IpAddr::from([198, 51, 100, (n % 250) as u8])),
        user: "router".into(),
        client: Some("203.0.113.9".parse().unwrap()),
        backend: Some("zonefile".into()),
        zone: Some("example.com".into()),
        job: Uuid::now_v7(),
        received_at: time(n),
        ms: Some(4),
        changed: true,
        failures: 0,
        error: None,
    }
}

pub fn failure(host: &str, n: u64, kind: EventKind) -> HistoryEvent {
    HistoryEvent {
        event: kind,
        changed: false,
        failures: 1,
        error: Some(
            "zone reload failed: rndc: connect failed: 127.0.0.1#953: connection refused".into(),
        ),
        ..change(host, n)
    }
}

/// The worker's end of the history in `state_dir`.
pub fn history(state_dir: &Path) -> HistoryLog {
    HistoryLog::new(state_dir, 10 << 20, 5)
}
