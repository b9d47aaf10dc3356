//! `[notifier]` and `[[notify]]`: the shipped examples parse, defaults hold, and every mistake
//! names file:line:column:key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::PathBuf;
use std::time::Duration;

use dyndns_config::notify::{NotifyKind, SendTo};
use dyndns_config::Config;
use util::{example_uncommented, parse, MINIMAL};

fn with(tables: &str) -> String {
    format!("{MINIMAL}\n{tables}\n")
}

#[test]
fn without_notify_tables_there_are_no_targets_and_the_state_dir_has_its_default() {
    let config = parse(MINIMAL).unwrap();
    assert!(config.notify.targets.is_empty());
    assert_eq!(
        config.notify.state_dir,
        PathBuf::from("/var/lib/dyndns-notify")
    );
    let config = parse(&with("[notifier]\nstate_dir = \"notify\"")).unwrap();
    assert_eq!(
        config.notify.state_dir,
        PathBuf::from("/etc/dyndns/notify"),
        "relative to the config's folder"
    );
}

#[test]
fn example_notify_tables_parse_when_uncommented() {
    let (path, text) = example_uncommented();
    let config = Config::parse(&text, &path).unwrap_or_else(|err| panic!("{err}"));
    let kinds: Vec<NotifyKind> = config.notify.targets.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            NotifyKind::Ntfy,
            NotifyKind::Gotify,
            NotifyKind::Webhook,
            NotifyKind::Sendmail
        ]
    );
    let ntfy = &config.notify.targets[0];
    assert_eq!(ntfy.min_interval, Duration::from_secs(300));
    assert_eq!(ntfy.users.as_deref(), Some(&["router".to_string()][..]));
    assert!(ntfy.on_change && ntfy.on_failure);
    let gotify = &config.notify.targets[1];
    assert!(!gotify.on_change && gotify.on_failure);
    let sendmail = &config.notify.targets[3];
    assert_eq!(sendmail.min_interval, Duration::from_secs(3600));
    assert_eq!(
        sendmail.send_to,
        SendTo::Sendmail {
            command: vec!["/usr/sbin/sendmail".into(), "-t".into(), "-i".into()],
            to: vec!["admin@example.com".into()],
            from: "dyndns@example.com".into(),
        }
    );
}

#[test]
fn notify_defaults_and_interval_spellings() {
    let config = parse(&with(
        "[[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\
         [[notify]]\nkind = \"ntfy\"\nurl = \"http://127.0.0.1:9/topic\"\nmin_interval = 0\n\
         [[notify]]\nkind = \"ntfy\"\nurl = \"http://127.0.0.1:9/other\"\nmin_interval = \"1h 30m\"\ntoken_file = \"ntfy.token\"\n\
         [[notify]]\nkind = \"sendmail\"\nto = [\"a@example.com\"]\nfrom = \"b@example.com\"\ncommand = [\"bin/fake-sendmail\", \"-t\"]\n",
    ))
    .unwrap();
    let targets = &config.notify.targets;
    assert_eq!(targets[0].min_interval, Duration::from_secs(300));
    assert_eq!(targets[0].timeout, Duration::from_secs(10));
    assert_eq!(targets[1].min_interval, Duration::ZERO);
    assert_eq!(targets[2].min_interval, Duration::from_secs(5400));
    assert_eq!(
        targets[2].send_to,
        SendTo::Http {
            url: "http://127.0.0.1:9/other".into(),
            token_file: Some("/etc/dyndns/ntfy.token".into()),
        }
    );
    let SendTo::Sendmail { command, .. } = &targets[3].send_to else {
        panic!("sendmail");
    };
    assert_eq!(command[0], "/etc/dyndns/bin/fake-sendmail");
    assert!(targets[0].wants_user("anyone"));
    assert_eq!(
        targets[1].label, "notify[1] ntfy http://127.0.0.1:9/…",
        "no topic in logs"
    );
    assert_eq!(
        dyndns_config::notify::shown_url("https://gotify.example.com"),
        "https://gotify.example.com"
    );
}

#[test]
fn notify_mistakes_name_file_line_column_and_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "kind = \"pager\"\nurl = \"http://x\"",
            "notify[0].kind",
            "unknown kind",
        ),
        ("kind = \"ntfy\"", "notify[0]", "needs `url`"),
        (
            "kind = \"ntfy\"\nurl = \"ftp://x\"",
            "notify[0].url",
            "https://",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t?token=1\"",
            "notify[0].url",
            "no query",
        ),
        (
            "kind = \"gotify\"\nurl = \"http://x\"",
            "notify[0]",
            "token_file",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\non = [\"boot\"]",
            "notify[0].on[0]",
            "unknown event",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\non = []",
            "notify[0].on",
            "names no event",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\nusers = [\"router\", \"eve\"]",
            "notify[0].users[1]",
            "no [[user]] `eve`",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\nmin_interval = \"soon\"",
            "notify[0].min_interval",
            "`soon`",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\nmin_interval = 604801",
            "notify[0].min_interval",
            "a week",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\ntimeout_secs = 0",
            "notify[0].timeout_secs",
            "at least 1",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\nto = [\"a@b\"]",
            "notify[0].to",
            "only applies",
        ),
        (
            "kind = \"ntfy\"\nurl = \"http://x/t\"\ncolour = \"red\"",
            "notify[0].colour",
            "unknown field",
        ),
        (
            "kind = \"sendmail\"\nfrom = \"a@b\"",
            "notify[0]",
            "needs `to`",
        ),
        (
            "kind = \"sendmail\"\nto = [\"a@b\"]",
            "notify[0]",
            "needs `from`",
        ),
        (
            "kind = \"sendmail\"\nto = [\"a@b\\nBcc: x@y\"]\nfrom = \"a@b\"",
            "notify[0].to[0]",
            "line breaks",
        ),
        (
            "kind = \"sendmail\"\nto = [\"nobody\"]\nfrom = \"a@b\"",
            "notify[0].to[0]",
            "local@domain",
        ),
        (
            "kind = \"sendmail\"\nto = [\"a@b\"]\nfrom = \"a@b\"\ncommand = []",
            "notify[0].command",
            "argv",
        ),
        (
            "kind = \"sendmail\"\nto = [\"a@b\"]\nfrom = \"a@b\"\nurl = \"http://x\"",
            "notify[0].url",
            "does not apply",
        ),
    ];
    for (table, key, words) in cases {
        let text = with(&format!("[[notify]]\n{table}"));
        let err = parse(&text).expect_err(table);
        assert_eq!(&err.key, key, "{table}: {err}");
        assert!(err.message.contains(words), "{table}: {err}");
        assert!(
            err.line > 21,
            "{table}: the line of the notify table, got {err}"
        );
        assert!(
            err.to_string().starts_with("/etc/dyndns/test.toml:"),
            "{err}"
        );
    }
}

#[test]
fn two_targets_sending_to_the_same_place_are_refused() {
    let table = "[[notify]]\nkind = \"ntfy\"\nurl = \"http://x/t\"\n";
    let err = parse(&with(&format!("{table}{table}"))).expect_err("duplicate");
    assert_eq!(err.key, "notify[1].kind", "{err}");
}

#[test]
fn a_notifier_table_and_notify_tables_cannot_share_a_name() {
    // Documented: TOML has no `[notify]` table beside `[[notify]]` tables; `[notifier]` is it.
    let err = parse(&with("[notify]\nstate_dir = \"x\"")).expect_err("a [notify] table");
    assert_eq!(err.key, "notify", "{err}");
}

#[test]
fn a_notifier_state_dir_that_is_the_workers_state_dir_or_the_spool_is_refused() {
    for dir in ["state", "./state/", "/etc/dyndns/spool"] {
        let err = parse(&with(&format!("[notifier]\nstate_dir = \"{dir}\"")))
            .expect_err("the worker's folder");
        assert_eq!(err.key, "notifier.state_dir", "{dir}: {err}");
        assert!(
            err.to_string().contains("the notifier's own folder"),
            "{err}"
        );
    }
}
