//! Why this exists: the one log line per request is on the hot path, and tracing's generic formatter
//! spent more instructions on it than the rest of a `nochg` request. This writes the same line
//! (`<time>  INFO dyndns::update: update user=… hosts=… client=… result=…`) by hand into the batched
//! stderr, escaping everything that came from the request so a client cannot forge log lines.

use std::cell::RefCell;
use std::io::Write;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::logging::BatchedStderr;
use crate::reply::{push_ip, Reply};

pub struct RequestLog {
    /// `None` when the level filter (RUST_LOG) leaves request lines out, or in tests.
    writer: Option<BatchedStderr>,
}

thread_local! {
    /// The formatted `YYYY-MM-DDTHH:MM:SS` of the last second a line was written on this thread.
    static SECOND: RefCell<(u64, [u8; 19])> = const { RefCell::new((u64::MAX, [0; 19])) };
    /// The line being written, reused so a request allocates nothing for its log line.
    static LINE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}

impl RequestLog {
    pub fn new(writer: Option<BatchedStderr>) -> RequestLog {
        let enabled = tracing::enabled!(target: "dyndns::update", tracing::Level::INFO);
        RequestLog {
            writer: writer.filter(|_| enabled),
        }
    }

    pub fn disabled() -> RequestLog {
        RequestLog { writer: None }
    }

    pub fn write<S: AsRef<str>>(
        &self,
        user: Option<&str>,
        hosts: &[S],
        client: Option<IpAddr>,
        reply: &Reply,
    ) {
        let Some(writer) = &self.writer else { return };
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            format_line(&mut line, user, hosts, client, reply);
            let _ = (&*writer).write_all(&line);
        });
    }
}

fn format_line<S: AsRef<str>>(
    line: &mut Vec<u8>,
    user: Option<&str>,
    hosts: &[S],
    client: Option<IpAddr>,
    reply: &Reply,
) {
    push_time(line, SystemTime::now());
    line.extend_from_slice(b"  INFO dyndns::update: update user=");
    match user {
        Some(user) => {
            line.push(b'"');
            push_escaped(line, user);
            line.push(b'"');
        }
        None => line.push(b'-'),
    }
    line.extend_from_slice(b" hosts=");
    for (index, host) in hosts.iter().enumerate() {
        if index > 0 {
            line.push(b',');
        }
        push_escaped(line, host.as_ref());
    }
    line.extend_from_slice(b" client=");
    match client {
        Some(ip) => push_ip(line, ip),
        None => line.push(b'-'),
    }
    line.extend_from_slice(b" result=");
    reply.write_joined(line, b',');
    line.push(b'\n');
}

/// RFC 3339 UTC with microseconds, as tracing prints it; the date part is formatted once a second.
fn push_time(out: &mut Vec<u8>, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    SECOND.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            let text = humantime::format_rfc3339_seconds(
                UNIX_EPOCH + std::time::Duration::from_secs(second),
            )
            .to_string();
            cached.1.copy_from_slice(&text.as_bytes()[..19]);
            cached.0 = second;
        }
        out.extend_from_slice(&cached.1);
    });
    out.push(b'.');
    let micros = since_epoch.subsec_micros();
    for divisor in [100_000, 10_000, 1_000, 100, 10, 1] {
        out.push(b'0' + (micros / divisor % 10) as u8);
    }
    out.push(b'Z');
}

/// Printable ASCII as is; quotes, backslashes, control and non-ASCII characters escaped, so a
/// request cannot end the line or fake a field.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let plain = |byte: u8| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\' || byte == b' ';
    if text.bytes().all(plain) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for ch in text.chars() {
        if ch.is_ascii_graphic() && ch != '"' && ch != '\\' || ch == ' ' {
            out.push(ch as u8);
        } else {
            let _ = write!(out, "{}", ch.escape_default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_rfc3339_with_microseconds() {
        let mut out = Vec::new();
        push_time(
            &mut out,
            UNIX_EPOCH + std::time::Duration::from_micros(1_795_450_161_000_042),
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-11-23T16:09:21.000042Z"
        );
    }

    #[test]
    fn request_text_cannot_break_the_line() {
        let mut out = Vec::new();
        push_escaped(&mut out, "evil\n2026 INFO fake \"x\"\\ é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "evil\\n2026 INFO fake \\\"x\\\"\\\\ \\u{e9}"
        );
    }
}
