//! HTTP receivers that misbehave on purpose: a redirect (never followed, the token never carried
//! there), an endless body after a 200, endless headers, and headers or an error's body that
//! trickle a byte at a time. Each delivery ends within the target's timeout and a failed one stays
//! owed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use dyndns_config::notify::{NotifyKind, NotifyTarget};
use util::*;

#[derive(Clone, Copy)]
enum Misbehaviour {
    Redirect,
    EndlessBody,
    EndlessHeaders,
    Trickle,
    TrickleBody,
}

/// Reads one request (headers and a `content-length` body), then answers as `how` says, on every
/// connection; returns its URL.
fn hostile(how: Misbehaviour, location: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let location = location.clone();
            std::thread::spawn(move || answer(stream, how, &location));
        }
    });
    url
}

fn answer(stream: TcpStream, how: Misbehaviour, location: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line.trim_end().is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut stream = stream;
    // Every write may fail once the notifier hangs up: that ends this answer.
    let _ = match how {
        Misbehaviour::Redirect => stream.write_all(
            format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n")
                .as_bytes(),
        ),
        Misbehaviour::EndlessBody => stream
            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            .and_then(|()| loop {
                stream.write_all(b"1000\r\n")?;
                stream.write_all(&[b'x'; 0x1000])?;
                stream.write_all(b"\r\n")?;
            }),
        Misbehaviour::EndlessHeaders => stream
            .write_all(b"HTTP/1.1 200 OK\r\n")
            .and_then(|()| loop {
                stream.write_all(b"x-more: yes yes yes yes yes yes yes yes yes\r\n")?;
            }),
        Misbehaviour::TrickleBody => stream
            .write_all(b"HTTP/1.1 500 Oops\r\ncontent-length: 1000000\r\n\r\n")
            .and_then(|()| loop {
                stream.write_all(b"x")?;
                std::thread::sleep(Duration::from_millis(200));
            }),
        Misbehaviour::Trickle => stream.write_all(b"HTTP/1.1 200 OK\r\n").and_then(|()| loop {
            stream.write_all(b"x")?;
            std::thread::sleep(Duration::from_millis(200));
        }),
    };
}

fn target(url: &str, token: &std::path::Path) -> NotifyTarget {
    NotifyTarget {
        timeout: Duration::from_secs(2),
        ..http_target(NotifyKind::Webhook, url, Some(token))
    }
}

#[test]
fn a_misbehaving_receiver_never_holds_a_delivery_past_its_timeout_nor_gets_a_redirect_followed() {
    let site = Site::new();
    let token = site.dir.path().join("token");
    std::fs::write(&token, "tk_secret\n").unwrap();
    let elsewhere = Receiver::start();
    let cases = [
        (Misbehaviour::Redirect, false),
        (Misbehaviour::EndlessBody, true),
        (Misbehaviour::EndlessHeaders, false),
        (Misbehaviour::Trickle, false),
        (Misbehaviour::TrickleBody, false),
    ];
    for (n, (how, delivered)) in cases.into_iter().enumerate() {
        let url = hostile(how, elsewhere.url("/stolen"));
        let targets = [target(&url, &token)];
        std::fs::remove_file(site.dir.path().join("notify/notify-state.json")).ok();
        let mut notifier = started(&site, &targets);
        let n = n as u64 + 1;
        history(&site.state())
            .append(&[change("home.dyn.example.com", n)])
            .unwrap();
        let began = Instant::now();
        let report = once(&mut notifier, time(n));
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "case {n}: bounded by the 2 s timeout, took {:?}",
            began.elapsed()
        );
        if delivered {
            assert_eq!((report.delivered, report.owed), (1, 0), "case {n}");
        } else {
            assert_eq!((report.failed, report.owed), (1, 1), "case {n}: stays owed");
        }
    }
    assert!(
        elsewhere.received().is_empty(),
        "the redirect was not followed with the token"
    );
}
