//! Why this exists: the notifier's part of the config (`[notifier]` and the `[[notify]]`
//! targets) as the checked types `dyndns-notify` reads; the frontend and the worker load it with
//! the rest of the file and ignore it, so one file still describes the whole installation.

use std::path::PathBuf;
use std::time::Duration;

/// Where the notifier keeps its cursor when `[notifier] state_dir` is not given.
pub const DEFAULT_NOTIFY_STATE_DIR: &str = "/var/lib/dyndns-notify";

/// `[notifier]` and every `[[notify]]` table.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// The notifier's own folder (its cursor and outbox), owned by the notifier's user; never the
    /// worker's `state_dir`, which the notifier may only read.
    pub state_dir: PathBuf,
    pub targets: Vec<NotifyTarget>,
}

/// One `[[notify]]` table.
#[derive(Debug, Clone)]
pub struct NotifyTarget {
    /// `notify[<index>]` with its kind and where it sends, for logs and the notifier's state (a
    /// target keeps its outbox across restarts while this stays the same).
    pub id: String,
    /// The id as logs show it: the URL cut to its origin ([`shown_url`]).
    pub label: String,
    pub kind: NotifyKind,
    pub send_to: SendTo,
    /// `on` holds "change": applied changes that wrote DNS (and recoveries).
    pub on_change: bool,
    /// `on` holds "failure": dead letters and backend failures.
    pub on_failure: bool,
    /// Only events of these users; `None` for every user.
    pub users: Option<Vec<String>>,
    /// At most one message per host per this long; what came between is summarised in the next.
    pub min_interval: Duration,
    /// For one delivery: the HTTP request, or the sendmail command.
    pub timeout: Duration,
}

impl NotifyTarget {
    /// Whether an event of `user` is for this target.
    pub fn wants_user(&self, user: &str) -> bool {
        self.users
            .as_ref()
            .is_none_or(|users| users.iter().any(|name| name == user))
    }
}

/// `url` as logs and errors show it: scheme and host only (`https://ntfy.sh/…`). An ntfy topic
/// or a webhook's path is often the secret itself ("the topic is essentially a password", ntfy's
/// docs say), so it stays out of the journal like a token.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<url>".into();
    };
    match rest.split_once('/') {
        Some((authority, path)) if !path.is_empty() => format!("{scheme}://{authority}/…"),
        _ => format!("{scheme}://{}", rest.trim_end_matches('/')),
    }
}

/// A target id (or any text) with every URL in it cut by [`shown_url`].
pub fn shown_id(id: &str) -> String {
    id.split(' ')
        .map(|word| {
            if word.contains("://") {
                shown_url(word)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyKind {
    Webhook,
    Ntfy,
    Gotify,
    Sendmail,
}

impl NotifyKind {
    pub const ALL: [NotifyKind; 4] = [
        NotifyKind::Webhook,
        NotifyKind::Ntfy,
        NotifyKind::Gotify,
        NotifyKind::Sendmail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Webhook => "webhook",
            NotifyKind::Ntfy => "ntfy",
            NotifyKind::Gotify => "gotify",
            NotifyKind::Sendmail => "sendmail",
        }
    }

    pub fn parse(name: &str) -> Option<NotifyKind> {
        NotifyKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

/// Where a target's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendTo {
    /// `webhook`, `ntfy`, `gotify`: the URL (for gotify the server's base URL), and the file whose
    /// first line is the token, read by the notifier at start (never by the config).
    Http {
        url: String,
        token_file: Option<PathBuf>,
    },
    /// `sendmail`: an argv (never a shell) that reads an RFC 5322 message on stdin.
    Sendmail {
        command: Vec<String>,
        to: Vec<String>,
        from: String,
    },
}
