//! Why this exists: the one log line per request is on the hot path, and tracing's generic formatter
//! spent more instructions on it than the rest of a `nochg` request. This writes the line by hand
//! into the batched stderr:
//!
//! `<time>  INFO dyndns::update: update user="router" hosts="home.dyn.example.com" client=203.0.113.7 result="good 203.0.113.7" jobs=<uuid>`
//!
//! (`delete` in place of `update` for a delete, whose `good` and `nochg` carry no address.)
//!
//! Every value taken from the request (user, host names) is quoted, and inside the quotes anything
//! but printable ASCII, and `"`, `\` and the space, is escaped: a client can neither end the line nor
//! write something that reads as another key, even to a reader that splits at spaces. `jobs=` (one
//! entry per host, `-` for a host without a job) appears when a change was spooled, so a `good`
//! ties to the worker's line for the same job; `lan_jobs="<host>=<uuid>,…"` likewise for the LAN
//! hosts a request's prefix moved (`lan_hosts.rs`), which the reply does not name.

use std::cell::RefCell;
use std::io::Write;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use uuid::Uuid;

use crate::logging::BatchedStderr;
use crate::reply::{push_ip, Reply};

/// The jobs a request spooled: one entry per requested host (`None`: no job), and the LAN hosts
/// its prefix moved, each with its job; `delete` when they remove records (`offline=yes`,
/// `/nic/delete`), so the line says `delete` where it would say `update`.
#[derive(Clone, Copy)]
pub struct Jobs<'a> {
    pub per_host: &'a [Option<Uuid>],
    pub lan: &'a [(&'a str, Uuid)],
    pub delete: bool,
}

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

    #[cfg(test)]
    pub fn disabled() -> RequestLog {
        RequestLog { writer: None }
    }

    pub fn write<S: AsRef<str>>(
        &self,
        user: Option<&str>,
        hosts: &[S],
        client: Option<IpAddr>,
        reply: &Reply,
        jobs: Jobs<'_>,
    ) {
        let Some(writer) = &self.writer else { return };
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            format_line(
                &mut line,
                SystemTime::now(),
                user,
                hosts,
                client,
                reply,
                jobs,
            );
            let _ = (&*writer).write_all(&line);
        });
    }
}

fn format_line<S: AsRef<str>>(
    line: &mut Vec<u8>,
    now: SystemTime,
    user: Option<&str>,
    hosts: &[S],
    client: Option<IpAddr>,
    reply: &Reply,
    Jobs {
        per_host: jobs,
        lan: lan_jobs,
        delete,
    }: Jobs<'_>,
) {
    push_time(line, now);
    line.extend_from_slice(if delete {
        b"  INFO dyndns::update: delete user="
    } else {
        b"  INFO dyndns::update: update user="
    });
    match user {
        Some(user) => {
            line.push(b'"');
            push_escaped(line, user, false);
            line.push(b'"');
        }
        None => line.push(b'-'),
    }
    line.extend_from_slice(b" hosts=");
    if hosts.is_empty() {
        line.push(b'-');
    } else {
        line.push(b'"');
        for (index, host) in hosts.iter().enumerate() {
            if index > 0 {
                line.push(b',');
            }
            // A comma inside a name (sent as %2C) is escaped, so the list splits only between names.
            push_escaped(line, host.as_ref(), true);
        }
        line.push(b'"');
    }
    line.extend_from_slice(b" client=");
    match client {
        Some(ip) => push_ip(line, ip),
        None => line.push(b'-'),
    }
    // Written by us (codes and parsed addresses), quoted because it holds spaces.
    line.extend_from_slice(b" result=\"");
    reply.write_joined(line, b',');
    line.push(b'"');
    if jobs.iter().any(Option::is_some) {
        line.extend_from_slice(b" jobs=");
        for (index, job) in jobs.iter().enumerate() {
            if index > 0 {
                line.push(b',');
            }
            match job {
                Some(id) => push_uuid(line, id),
                None => line.push(b'-'),
            }
        }
    }
    if !lan_jobs.is_empty() {
        line.extend_from_slice(b" lan_jobs=\"");
        for (index, (host, id)) in lan_jobs.iter().enumerate() {
            if index > 0 {
                line.push(b',');
            }
            push_escaped(line, host, true);
            line.push(b'=');
            push_uuid(line, id);
        }
        line.push(b'"');
    }
    line.push(b'\n');
}

fn push_uuid(line: &mut Vec<u8>, id: &Uuid) {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    line.extend_from_slice(id.hyphenated().encode_lower(&mut text).as_bytes());
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

/// The longest value written whole: longer than any user name (256 bytes) or host name (253) can
/// be. A request header may hold hundreds of kilobytes, and escaping can make that five times as
/// long: without a cap one unauthenticated request could write megabytes into the log.
const MAX_LOGGED_BYTES: usize = 256;

/// Text for inside a quoted value: printable ASCII as is; `"`, `\\`, the space (and `,` in a list
/// item) as `\xNN`, other ASCII controls as `\n`, `\t`, `\u{..}`, and non-ASCII as `\u{..}`. Past
/// [`MAX_LOGGED_BYTES`] the value is cut at a character and ends in `\u{2026}` (an ellipsis).
fn push_escaped(out: &mut Vec<u8>, text: &str, in_list: bool) {
    let mut end = text.len().min(MAX_LOGGED_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let (text, cut) = text.split_at(end);
    let plain = |byte: u8| {
        byte.is_ascii_graphic() && byte != b'"' && byte != b'\\' && !(in_list && byte == b',')
    };
    if text.bytes().all(plain) {
        out.extend_from_slice(text.as_bytes());
    } else {
        for ch in text.chars() {
            if ch.is_ascii() && plain(ch as u8) {
                out.push(ch as u8);
            } else if matches!(ch, '"' | '\\' | ' ' | ',') {
                let _ = write!(out, "\\x{:02x}", u32::from(ch));
            } else {
                let _ = write!(out, "{}", ch.escape_default());
            }
        }
    }
    if !cut.is_empty() {
        out.extend_from_slice(b"\\u{2026}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Code;
    use crate::request::Addresses;

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

    fn line(user: Option<&str>, hosts: &[&str], reply: Reply, jobs: &[Option<Uuid>]) -> String {
        let mut out = Vec::new();
        let client = Some("203.0.113.7".parse().unwrap());
        let jobs = Jobs {
            per_host: jobs,
            lan: &[],
            delete: false,
        };
        format_line(&mut out, UNIX_EPOCH, user, hosts, client, &reply, jobs);
        String::from_utf8(out).unwrap()
    }

    /// The `key=value` pairs after the message, the way a reader that knows quotes splits them.
    fn fields(line: &str) -> Vec<(String, String)> {
        let rest = line
            .split_once(": update ")
            .unwrap()
            .1
            .trim_end_matches('\n');
        let mut fields = Vec::new();
        let mut chars = rest.chars().peekable();
        while chars.peek().is_some() {
            let key: String = chars.by_ref().take_while(|ch| *ch != '=').collect();
            let mut value = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                for ch in chars.by_ref() {
                    if ch == '"' {
                        break;
                    }
                    value.push(ch);
                }
                chars.next(); // the space after the closing quote
            } else {
                value = chars.by_ref().take_while(|ch| *ch != ' ').collect();
            }
            fields.push((key, value));
        }
        fields
    }

    #[test]
    fn hostile_names_cannot_fake_another_key_or_line() {
        let hostile = [
            "x user=\"admin\" result=good",
            "x\" result=\"good 1.2.3.4",
            "a=b c=d",
            "evil\n2026-01-01T00:00:00.000000Z  INFO dyndns::update: update user=\"admin\"",
            "back\\slash\\\" jobs=x",
            "comma,inside",
            "bücher\u{1b}[31m",
            "evil\u{2028}2026 fake line \u{202e}doog=tluser",
        ];
        for text in hostile {
            let logged = line(
                Some(text),
                &[text, "home.dyn.example.com"],
                Reply::one(Code::NoHost),
                &[],
            );
            assert_eq!(logged.matches('\n').count(), 1, "{logged}");
            assert!(logged.ends_with("\n"));
            let keys: Vec<String> = fields(&logged).into_iter().map(|(key, _)| key).collect();
            assert_eq!(keys, ["user", "hosts", "client", "result"], "{logged}");
            let after_message = logged.split_once(": update ").unwrap().1;
            for naive in after_message.split(' ') {
                let key = naive.split('=').next().unwrap();
                assert!(
                    ["user", "hosts", "client", "result"].contains(&key),
                    "a reader splitting at spaces sees {key:?} in {logged}"
                );
            }
            let hosts = &fields(&logged)[1].1;
            assert_eq!(
                hosts.matches(',').count(),
                1,
                "one separator for two hosts: {hosts}"
            );
        }
        let logged = line(
            Some("x user=\"admin\""),
            &[],
            Reply::one(Code::BadAuth),
            &[],
        );
        assert!(
            logged.contains(" user=\"x\\x20user=\\x22admin\\x22\" hosts=- "),
            "{logged}"
        );
    }

    #[test]
    fn a_huge_claimed_user_cannot_flood_the_log() {
        // Basic auth's user is the attacker's choice before any check; a header of 400 KiB of
        // control characters wrote a line of 2 MB for one refused request.
        let huge = "\u{1}".repeat(400 * 1024);
        let logged = line(Some(&huge), &[], Reply::one(Code::BadAuth), &[]);
        assert!(logged.len() < 2 * 1024, "{} bytes", logged.len());
        assert!(logged.contains("\\u{1}\\u{2026}\" hosts=-"), "{logged}");
        let cut_in_a_character = format!("{}é", "a".repeat(MAX_LOGGED_BYTES - 1));
        let logged = line(
            Some(&cut_in_a_character),
            &[],
            Reply::one(Code::BadAuth),
            &[],
        );
        assert!(
            logged.contains(&format!(
                "user=\"{}\\u{{2026}}\"",
                "a".repeat(MAX_LOGGED_BYTES - 1)
            )),
            "{logged}"
        );
        let whole = "a".repeat(MAX_LOGGED_BYTES);
        let logged = line(Some(&whole), &[], Reply::one(Code::BadAuth), &[]);
        assert!(logged.contains(&format!("user=\"{whole}\" ")), "{logged}");
    }

    #[test]
    fn good_lines_carry_the_job_id_per_host() {
        let id = Uuid::now_v7();
        let addresses = Addresses {
            v4: Some("203.0.113.7".parse().unwrap()),
            v6: None,
        };
        let reply = Reply {
            lines: smallvec::smallvec![Code::NoChange(addresses), Code::Good(addresses)],
        };
        let logged = line(
            Some("router"),
            &["a.dyn.example.com", "b.dyn.example.com"],
            reply,
            &[None, Some(id)],
        );
        assert!(
            logged.ends_with(&format!(
                " update user=\"router\" hosts=\"a.dyn.example.com,b.dyn.example.com\" client=203.0.113.7 result=\"nochg 203.0.113.7,good 203.0.113.7\" jobs=-,{id}\n"
            )),
            "{logged}"
        );
        let nochg = line(
            Some("router"),
            &["a.dyn.example.com"],
            Reply::one(Code::NoChange(addresses)),
            &[None],
        );
        assert!(!nochg.contains("jobs="), "{nochg}");
    }

    #[test]
    fn lan_hosts_moved_by_a_prefix_are_logged_with_their_jobs() {
        let (nas, pc) = (Uuid::now_v7(), Uuid::now_v7());
        let addresses = Addresses {
            v4: Some("203.0.113.7".parse().unwrap()),
            v6: None,
        };
        let mut out = Vec::new();
        let jobs = Jobs {
            per_host: &[None],
            lan: &[("nas.dyn.example.com", nas), ("pc.dyn.example.com", pc)],
            delete: false,
        };
        let reply = Reply::one(Code::NoChange(addresses));
        format_line(
            &mut out,
            UNIX_EPOCH,
            Some("router"),
            &["home.dyn.example.com"],
            None,
            &reply,
            jobs,
        );
        let logged = String::from_utf8(out).unwrap();
        assert!(
            logged.ends_with(&format!(
                " result=\"nochg 203.0.113.7\" lan_jobs=\"nas.dyn.example.com={nas},pc.dyn.example.com={pc}\"\n"
            )),
            "{logged}"
        );
        let keys: Vec<String> = fields(&logged).into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["user", "hosts", "client", "result", "lan_jobs"]);
    }

    #[test]
    fn a_delete_is_logged_as_a_delete_not_an_update() {
        let id = Uuid::now_v7();
        let mut out = Vec::new();
        let jobs = Jobs {
            per_host: &[Some(id)],
            lan: &[],
            delete: true,
        };
        let reply = Reply::one(Code::Good(Addresses::default()));
        let hosts = ["home.dyn.example.com"];
        format_line(
            &mut out,
            UNIX_EPOCH,
            Some("router"),
            &hosts,
            None,
            &reply,
            jobs,
        );
        let logged = String::from_utf8(out).unwrap();
        assert!(
            logged.ends_with(&format!(
                "  INFO dyndns::update: delete user=\"router\" hosts=\"home.dyn.example.com\" client=- result=\"good\" jobs={id}\n"
            )),
            "{logged}"
        );
    }
}
