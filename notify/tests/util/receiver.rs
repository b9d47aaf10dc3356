//! A raw HTTP receiver on 127.0.0.1 that records what it gets and answers as a test tells it (a
//! status, silence until released, a closed connection): the notifier's targets in its own tests,
//! and in the end-to-end ones (`tests/bad_days/`, which include this file by path).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

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

    /// Holds requests answered [`Answer::Hold`] again after a [`Receiver::release`].
    pub fn hold_again(&self) {
        self.shared.0.lock().unwrap().released = false;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.0.lock().unwrap().received.clone()
    }

    /// The `Title` header of each request so far (ntfy's), in order.
    pub fn titles(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|request| request.headers["title"].clone())
            .collect()
    }

    /// The job id of every event the webhook requests so far listed, in order; asserts that none
    /// was held back and only counted.
    pub fn delivered_jobs(&self) -> Vec<String> {
        self.received()
            .iter()
            .flat_map(|request| {
                let json = request.json();
                assert_eq!(json["omitted"], 0, "{json}");
                json["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|event| event["job"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
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
