//! `dyndns check-config` with `[[notify]]` tables judges the notifier's installation from its
//! user's side (`--notifier-user`, here `nobody`): token files, its state folder, the history it
//! follows through the state folder's group, and the sendmail it runs. Owners are set with chown,
//! so these run as root (CI does; elsewhere skipped loudly, a failure with `CI=true`).

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use util::{frontend_binary, Site};

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

fn running_as_root() -> bool {
    util::running_as_root("the check-config notifier test")
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, user: u32, group: u32) {
    nix::unistd::chown(
        path,
        Some(nix::unistd::Uid::from_raw(user)),
        Some(nix::unistd::Gid::from_raw(group)),
    )
    .unwrap();
}

/// A site with the packaged owners and modes and a notifier as packaging would install it for
/// user `nobody`: an ntfy target with a token file (0640 root:nogroup), a sendmail target whose
/// program is root's 0755, and the notifier's state folder (0700 nobody:nogroup).
struct NotifierSite {
    site: Site,
}

impl NotifierSite {
    fn new() -> Option<NotifierSite> {
        if !running_as_root() {
            return None;
        }
        let site = Site::new();
        site.apply_packaged_modes();
        let notifier = NotifierSite { site };
        let sendmail = notifier.sendmail();
        std::fs::write(&sendmail, "#!/bin/sh\ncat >/dev/null\n").unwrap();
        chmod(&sendmail, 0o755);
        std::fs::write(notifier.token(), "tk_secret\n").unwrap();
        chown(&notifier.token(), 0, NOGROUP);
        chmod(&notifier.token(), 0o640);
        std::fs::create_dir(notifier.state_dir()).unwrap();
        chown(&notifier.state_dir(), NOBODY, NOGROUP);
        chmod(&notifier.state_dir(), 0o700);
        let mut config = std::fs::OpenOptions::new()
            .append(true)
            .open(notifier.site.config_path())
            .unwrap();
        write!(
            config,
            r#"
[notifier]
state_dir = "notify-state"

[[notify]]
kind = "ntfy"
url = "http://127.0.0.1:9/dyndns"
token_file = "ntfy.token"

[[notify]]
kind = "sendmail"
command = ["{}", "-t", "-i"]
to = ["ops@example.com"]
from = "dyndns@example.com"
"#,
            sendmail.display()
        )
        .unwrap();
        Some(notifier)
    }

    fn token(&self) -> PathBuf {
        self.site.path().join("ntfy.token")
    }

    fn sendmail(&self) -> PathBuf {
        self.site.path().join("sendmail")
    }

    fn state_dir(&self) -> PathBuf {
        self.site.path().join("notify-state")
    }

    /// How a finding names `key`, written on the config's line that starts with `line_start`:
    /// `<config>:<line>:1: key `<key>``.
    fn place(&self, line_start: &str, key: &str) -> String {
        let config = std::fs::read_to_string(self.site.config_path()).unwrap();
        let line = config
            .lines()
            .position(|line| line.starts_with(line_start))
            .unwrap()
            + 1;
        format!(
            "{}:{line}:1: key `{key}`",
            self.site.config_path().display()
        )
    }

    fn token_place(&self) -> String {
        self.place("token_file = ", "notify[0].token_file")
    }

    /// `dyndns check-config --user nobody ARGS...`: exit code and stdout + stderr.
    fn check_config(&self, args: &[&str]) -> (Option<i32>, String) {
        self.check_config_for("nobody", args)
    }

    /// `dyndns check-config --user FRONTEND_USER ARGS...`.
    fn check_config_for(&self, frontend_user: &str, args: &[&str]) -> (Option<i32>, String) {
        let output = Command::new(frontend_binary())
            .args(["check-config", "--user", frontend_user, "--config"])
            .arg(self.site.config_path())
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    }

    /// As the notifier's user `nobody`.
    fn check_as_nobody(&self, args: &[&str]) -> (Option<i32>, String) {
        let mut all = vec!["--notifier-user", "nobody"];
        all.extend_from_slice(args);
        self.check_config(&all)
    }
}

#[test]
fn check_config_passes_a_packaged_notifier_even_with_strict() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let (code, out) = site.check_as_nobody(&["--strict"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.ends_with("config OK\n"), "{out}");
}

#[test]
fn check_config_fails_when_the_notifier_user_cannot_read_a_token_file() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let token = site.token();
    chown(&token, 0, 0);
    chmod(&token, 0o600);
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: user nobody cannot read {} (0600 root:root), so dyndns-notify would not \
             start; make it 0640 root:dyndns-notify (or 0600 dyndns-notify)",
            site.token_place(),
            token.display()
        )),
        "{out}"
    );

    std::fs::remove_file(&token).unwrap();
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: {} does not exist, so dyndns-notify would not start",
            site.token_place(),
            token.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_warns_when_a_token_file_is_readable_by_everyone_or_group_writable() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let token = site.token();
    // Others may enter the site folder (not list it): the token is what everyone could read.
    chmod(site.site.path(), 0o751);
    chmod(&token, 0o644);
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "warning: {}: every user of this machine can read the token in {} (0644 \
             root:nogroup, in folders all may enter)",
            site.token_place(),
            token.display()
        )),
        "{out}"
    );
    let (code, _) = site.check_as_nobody(&["--strict"]);
    assert_eq!(code, Some(1));

    chmod(&token, 0o660);
    let (code, out) = site.check_as_nobody(&["--strict"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "warning: {}: {} is writable by its group or everyone (0660 root:nogroup), who \
             could swap the token",
            site.token_place(),
            token.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_warns_when_the_frontend_user_can_read_a_token_file() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    // `daemon` stands for the frontend here: the token's owner, while the notifier (`nobody`)
    // reads it through its group.
    let token = site.token();
    chmod(site.site.path(), 0o751);
    chown(&token, 1, NOGROUP);
    let (_, out) = site.check_config_for("daemon", &["--notifier-user", "nobody"]);
    assert!(
        out.contains(&format!(
            "warning: {}: user daemon (the frontend's) can read the token in {} (0640 \
             daemon:nogroup), so a compromised frontend could send as the notifier",
            site.token_place(),
            token.display()
        )),
        "{out}"
    );
    let (code, out) = site.check_as_nobody(&["--strict"]);
    assert_eq!(
        code,
        Some(0),
        "the frontend as the notifier's own user reads it anyway: {out}"
    );
}

#[test]
fn check_config_fails_when_the_notifier_cannot_write_its_state_folder() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let dir = site.state_dir();
    chown(&dir, 0, NOGROUP);
    chmod(&dir, 0o750);
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: {}: user nobody cannot write in it (0750 root:nogroup), so dyndns-notify \
             cannot save its cursor",
            site.place("state_dir = \"notify-state\"", "notifier.state_dir"),
            dir.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("systemd-tmpfiles --create dyndns.conf"),
        "{out}"
    );

    std::fs::remove_dir(&dir).unwrap();
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: {}: does not exist, so dyndns-notify cannot save its cursor",
            site.place("state_dir = \"notify-state\"", "notifier.state_dir"),
            dir.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_fails_when_the_notifier_cannot_follow_the_history() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let state = site.site.path().join("state");
    let history = state.join("history.jsonl");
    std::fs::write(&history, "").unwrap();
    chmod(&history, 0o600);
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: user nobody cannot read it (0600 root:nogroup), so dyndns-notify sends \
             nothing",
            history.display()
        )),
        "{out}"
    );

    chmod(&state, 0o2700);
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: {}: user nobody cannot read it (2700 root:nogroup), so dyndns-notify \
             cannot follow history.jsonl and sends nothing; packaged 2750 root:dyndns, packaged: \
             user dyndns-notify in group dyndns",
            site.place("state_dir = \"state\"", "worker.state_dir"),
            state.display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_fails_when_the_sendmail_program_is_missing_or_not_runnable() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    chmod(&site.sendmail(), 0o744);
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: user nobody cannot run {} (0744 root:root), so no e-mail would be sent",
            site.place("command = [\"/", "notify[1].command"),
            site.sendmail().display()
        )),
        "{out}"
    );

    std::fs::remove_file(site.sendmail()).unwrap();
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: `{}` is not an executable file, so no e-mail would be sent",
            site.place("command = [\"/", "notify[1].command"),
            site.sendmail().display()
        )),
        "{out}"
    );
}

#[test]
fn check_config_names_a_missing_notifier_user_as_a_finding_not_a_crash() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let (code, out) = site.check_config(&["--notifier-user", "dyndns-no-such-notifier"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(
            "warning: [[notify]] is configured but there is no user `dyndns-no-such-notifier` on \
             this machine, so what the notifier may read and write (its token files, state folder \
             and the history) was not judged; create it (`systemd-sysusers dyndns.conf`"
        ),
        "{out}"
    );
    assert!(out.contains("--notifier-user NAME"), "{out}");
    let (code, _) = site.check_config(&["--notifier-user", "dyndns-no-such-notifier", "--strict"]);
    assert_eq!(code, Some(1));

    let (code, out) = site.check_config(&["--notifier-user", "root"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("error: --notifier-user root: the notifier must not run as root"),
        "{out}"
    );
}

#[test]
fn check_config_fails_when_root_left_a_state_or_lock_file_the_notifier_cannot_open() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    let dir = site.state_dir();
    // What `sudo dyndns-notify --once` left before the notifier refused it: root's 0600 files.
    for name in ["notify-state.json", "notify.lock"] {
        let path = dir.join(name);
        std::fs::write(&path, "").unwrap();
        chmod(&path, 0o600);
    }
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    for (name, needs) in [
        ("notify-state.json", "read"),
        ("notify.lock", "read and write"),
    ] {
        let path = dir.join(name);
        assert!(
            out.contains(&format!(
                "error: {}: {}: user nobody cannot {needs} it (0600 root:root), so dyndns-notify \
                 would not start; chown nobody: {}",
                site.place("state_dir = \"notify-state\"", "notifier.state_dir"),
                path.display(),
                path.display()
            )),
            "{name}: {out}"
        );
    }
    for name in ["notify-state.json", "notify.lock"] {
        chown(&dir.join(name), NOBODY, NOGROUP);
    }
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn check_config_fails_when_a_token_file_is_empty_as_the_notifier_would() {
    let Some(site) = NotifierSite::new() else {
        return;
    };
    std::fs::write(site.token(), "").unwrap();
    let (code, out) = site.check_as_nobody(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "error: {}: {} is empty, so dyndns-notify would not start",
            site.token_place(),
            site.token().display()
        )),
        "{out}"
    );
}
