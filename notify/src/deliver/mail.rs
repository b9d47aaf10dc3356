//! Why this exists: the RFC 5322 message a sendmail-compatible program reads on stdin. Header values
//! are ours (ASCII titles, addresses checked by the config), so no header can be injected; the body
//! is UTF-8 text, declared as such. The Message-ID is derived from the headline event and the
//! target, so a message resent after a crash has the same id and a mail client can fold the two.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::message::Message;
use crate::time_text::rfc5322;

/// The whole message, LF line ends (sendmail's local submission converts them).
pub fn render(message: &Message, from: &str, to: &[String], now: SystemTime) -> String {
    let mut text = String::new();
    let _ = writeln!(text, "From: {from}");
    let _ = writeln!(text, "To: {}", to.join(", "));
    let _ = writeln!(text, "Subject: [dyndns] {}", message.title());
    let _ = writeln!(text, "Date: {}", rfc5322(now));
    let _ = writeln!(text, "Message-ID: <{}@dyndns-notify>", message_id(message));
    text.push_str("MIME-Version: 1.0\n");
    text.push_str("Content-Type: text/plain; charset=utf-8\n");
    text.push_str("Content-Transfer-Encoding: 8bit\n");
    // RFC 3834: no vacation replies to a machine's message.
    text.push_str("Auto-Submitted: auto-generated\n");
    text.push('\n');
    text.push_str(&message.body());
    text.push('\n');
    text
}

/// `<job>.<family>.<event>.<target hash>`: the same for the same headline to the same target.
fn message_id(message: &Message) -> String {
    let target = fnv1a(message.target.as_bytes());
    match message.headline() {
        Some(notice) => format!(
            "{}.{}.{}.{target:016x}",
            notice.event.job,
            notice.event.family.as_str(),
            notice.event.event.as_str()
        ),
        None => format!("empty.{target:016x}"),
    }
}

/// FNV-1a, 64 bits: a short stable name for the target, not a secret.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
