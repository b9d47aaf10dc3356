//! Why this exists: the checks of `[notifier]` and `[[notify]]`, apart from the core's, so every
//! refusal of a notification target names its key (`notify[1].url`) like the rest of the file.

use std::time::Duration;

use super::{key_path, Checker};
use crate::locate::Step;
use crate::notify::{
    shown_id, NotifyConfig, NotifyKind, NotifyTarget, SendTo, DEFAULT_NOTIFY_STATE_DIR,
};
use crate::raw::{RawConfig, RawInterval, RawNotify};
use crate::{ConfigError, User};

/// Without `min_interval`: a flapping link sends one message per host every five minutes.
const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(300);
/// The longest `min_interval`: a week; longer would hide a change for longer than anyone waits.
const MAX_MIN_INTERVAL: Duration = Duration::from_secs(7 * 86_400);
/// Without `command`: what Debian's MTAs (exim4, postfix) install; `-t` takes the recipients from
/// the headers, `-i` keeps a line holding one dot from ending the message.
const DEFAULT_SENDMAIL: [&str; 3] = ["/usr/sbin/sendmail", "-t", "-i"];

impl Checker<'_> {
    pub(super) fn check_notify(
        &self,
        raw: &RawConfig,
        users: &[User],
    ) -> Result<NotifyConfig, ConfigError> {
        let state_dir = match raw.notifier.as_ref().and_then(|n| n.state_dir.as_deref()) {
            Some("") => {
                return Err(self.error(&key_path(&["notifier", "state_dir"]), "must name a folder"))
            }
            Some(dir) => self.resolve(dir),
            None => DEFAULT_NOTIFY_STATE_DIR.into(),
        };
        // The notifier's cursor and outboxes beside the worker's files, or among the spool's,
        // would be in a folder it may only read (packaged root's 2750): no save ever succeeds,
        // and each restart starts again from the end of the history.
        let others = [
            self.resolve(&raw.worker.state_dir),
            self.resolve(&raw.spool.dir),
        ];
        if others.iter().any(|other| {
            other
                .components()
                .filter(|c| *c != std::path::Component::CurDir)
                .eq(state_dir
                    .components()
                    .filter(|c| *c != std::path::Component::CurDir))
        }) {
            return Err(self.error(
                &key_path(&["notifier", "state_dir"]),
                "must be the notifier's own folder (packaged /var/lib/dyndns-notify), not \
                 [worker] state_dir or [spool] dir, which it may only read",
            ));
        }
        let mut targets: Vec<NotifyTarget> = Vec::new();
        for (index, entry) in raw.notify.iter().enumerate() {
            let target = self.check_notify_target(index, entry, users)?;
            if targets.iter().any(|other| other.send_to == target.send_to) {
                return Err(self.error(
                    &notify_key(index, "kind"),
                    "another [[notify]] table sends to the same place: merge their `on` and `users`",
                ));
            }
            targets.push(target);
        }
        Ok(NotifyConfig { state_dir, targets })
    }

    fn check_notify_target(
        &self,
        index: usize,
        entry: &RawNotify,
        users: &[User],
    ) -> Result<NotifyTarget, ConfigError> {
        let at = |key: &str| notify_key(index, key);
        let kind = NotifyKind::parse(&entry.kind).ok_or_else(|| {
            self.error(
                &at("kind"),
                format!(
                    "unknown kind `{}` (expected `webhook`, `ntfy`, `gotify` or `sendmail`)",
                    entry.kind
                ),
            )
        })?;
        let send_to = match kind {
            NotifyKind::Sendmail => self.check_sendmail(index, entry)?,
            NotifyKind::Webhook | NotifyKind::Ntfy | NotifyKind::Gotify => {
                for (key, given) in [
                    ("command", entry.command.is_some()),
                    ("to", entry.to.is_some()),
                    ("from", entry.from.is_some()),
                ] {
                    if given {
                        return Err(self.error(&at(key), "only applies to kind `sendmail`"));
                    }
                }
                let Some(url) = &entry.url else {
                    return Err(self.error(
                        &[Step::Key("notify".into()), Step::Index(index)],
                        format!("kind `{}` needs `url`", kind.as_str()),
                    ));
                };
                // ntfy's topic and a webhook's endpoint are paths; gotify's is its base URL.
                let url = self.check_api_url(url, true, &at("url"))?;
                let token_file = match entry.token_file.as_deref() {
                    Some("") => return Err(self.error(&at("token_file"), "must name a file")),
                    Some(file) => Some(self.resolve(file)),
                    None if kind == NotifyKind::Gotify => {
                        return Err(self.error(
                            &[Step::Key("notify".into()), Step::Index(index)],
                            "kind `gotify` needs `token_file` (the application's token)",
                        ))
                    }
                    None => None,
                };
                SendTo::Http { url, token_file }
            }
        };
        let (on_change, on_failure) = match &entry.on {
            None => (true, true),
            Some(list) => {
                let mut on = (false, false);
                for (at_index, word) in list.iter().enumerate() {
                    match word.as_str() {
                        "change" => on.0 = true,
                        "failure" => on.1 = true,
                        other => {
                            let mut path = at("on");
                            path.push(Step::Index(at_index));
                            return Err(self.error(
                                &path,
                                format!("unknown event `{other}` (expected `change` or `failure`)"),
                            ));
                        }
                    }
                }
                if on == (false, false) {
                    return Err(self.error(
                        &at("on"),
                        "names no event: the target would never hear anything",
                    ));
                }
                on
            }
        };
        if let Some(names) = &entry.users {
            for (user_index, name) in names.iter().enumerate() {
                if !users.iter().any(|user| &user.name == name) {
                    let mut path = at("users");
                    path.push(Step::Index(user_index));
                    return Err(self.error(&path, format!("there is no [[user]] `{name}`")));
                }
            }
        }
        let min_interval = match &entry.min_interval {
            None => DEFAULT_MIN_INTERVAL,
            Some(RawInterval::Secs(secs)) => Duration::from_secs(*secs),
            Some(RawInterval::Text(text)) => humantime::parse_duration(text).map_err(|err| {
                self.error(
                    &at("min_interval"),
                    format!(
                        "`{text}`: {err} (seconds, or a duration such as \"5m\" or \"1h 30m\")"
                    ),
                )
            })?,
        };
        if min_interval > MAX_MIN_INTERVAL {
            return Err(self.error(
                &at("min_interval"),
                "must be at most a week (604800 seconds)",
            ));
        }
        let timeout = self.check_timeout(entry.timeout_secs, 10, &at("timeout_secs"))?;
        let id = match &send_to {
            SendTo::Http { url, .. } => format!("notify[{index}] {} {url}", kind.as_str()),
            SendTo::Sendmail { to, .. } => {
                format!("notify[{index}] sendmail to {}", to.join(","))
            }
        };
        Ok(NotifyTarget {
            label: shown_id(&id),
            id,
            kind,
            send_to,
            on_change,
            on_failure,
            users: entry.users.clone(),
            min_interval,
            timeout,
        })
    }

    fn check_sendmail(&self, index: usize, entry: &RawNotify) -> Result<SendTo, ConfigError> {
        let at = |key: &str| notify_key(index, key);
        for (key, given) in [
            ("url", entry.url.is_some()),
            ("token_file", entry.token_file.is_some()),
        ] {
            if given {
                return Err(self.error(&at(key), "does not apply to kind `sendmail`"));
            }
        }
        let command = entry
            .command
            .clone()
            .unwrap_or_else(|| DEFAULT_SENDMAIL.map(String::from).to_vec());
        let command = self.check_argv(command, &at("command"))?;
        let to = entry.to.clone().unwrap_or_default();
        if to.is_empty() {
            return Err(self.error(
                &[Step::Key("notify".into()), Step::Index(index)],
                "kind `sendmail` needs `to` (a list of addresses)",
            ));
        }
        for (to_index, address) in to.iter().enumerate() {
            if let Some(problem) = mail_address_problem(address) {
                let mut path = at("to");
                path.push(Step::Index(to_index));
                return Err(self.error(&path, format!("`{address}`: {problem}")));
            }
        }
        let Some(from) = entry.from.clone() else {
            return Err(self.error(
                &[Step::Key("notify".into()), Step::Index(index)],
                "kind `sendmail` needs `from` (the sender address)",
            ));
        };
        if let Some(problem) = mail_address_problem(&from) {
            return Err(self.error(&at("from"), format!("`{from}`: {problem}")));
        }
        Ok(SendTo::Sendmail { command, to, from })
    }
}

/// Why `address` cannot go into a `To:` or `From:` header as is; `None` when it can. Deliberately
/// simple (`local@domain`, printable ASCII without spaces, quotes or angle brackets): the address
/// lands in a header, and a line break or comma there would add headers or recipients.
fn mail_address_problem(address: &str) -> Option<&'static str> {
    let printable = address
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && !b"<>\",;()[]\\".contains(&byte));
    if !printable {
        return Some(
            "an address is printable ASCII without spaces, quotes, brackets, commas or line breaks",
        );
    }
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            None
        }
        _ => Some("expected local@domain"),
    }
}

fn notify_key(index: usize, key: &str) -> Vec<Step> {
    vec![
        Step::Key("notify".into()),
        Step::Index(index),
        Step::Key(key.into()),
    ]
}
