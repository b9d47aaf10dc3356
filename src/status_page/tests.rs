//! The page through the router without a socket: it signs in exactly as an update does.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use base64::Engine;
use http_body_util::BodyExt;
use tower::ServiceExt;

use dyndns_config::Config;
use dyndns_queue::{EventKind, Family, SpoolDirs};

use super::view::tests::event;

use super::*;
use crate::app::{app, system_clock};
use crate::request_log::RequestLog;

fn state(dir: &Path, frontend: &str) -> Arc<AppState> {
    state_with(dir, frontend, "")
}

/// The config of [`state`] with `users` appended.
fn state_with(dir: &Path, frontend: &str, users: &str) -> Arc<AppState> {
    let hash = bcrypt::hash("secret", 4).unwrap();
    let text = format!(
        r#"
[frontend]
listen = "127.0.0.1:8245"
{frontend}

[frontend.limits]
auth_failures_per_source_per_minute = 2

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[user]]
name = "router"
password_hash = "{hash}"
hosts = ["home.dyn.example.com"]

[[user]]
name = "other"
password_hash = "{hash}"
hosts = ["other.dyn.example.com"]

{users}

[backend.zonefile]
path = "zone"
"#
    );
    let config = Arc::new(Config::parse(&text, &dir.join("dyndns.toml")).unwrap());
    SpoolDirs::at(&config.spool_dir).create_all().unwrap();
    std::fs::create_dir_all(&config.worker.state_dir).unwrap();
    Arc::new(AppState::new(config, system_clock(), RequestLog::disabled()).unwrap())
}

async fn load(
    state: Arc<AppState>,
    peer: &str,
    headers: &[(&str, String)],
) -> (StatusCode, Option<String>, String) {
    let mut request = Request::get("/status.html");
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let mut request = request.body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(Peer::Tcp(
        format!("{peer}:40000").parse().unwrap(),
    )));
    let response = app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

fn basic(user: &str, password: &str) -> (&'static str, String) {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    ("authorization", format!("Basic {token}"))
}

#[tokio::test]
async fn proxy_mode_page_trusts_the_user_header_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(
        dir.path(),
        "auth = \"proxy\"\ntrusted_proxies = [\"127.0.0.1/32\"]",
    );
    let user = ("x-remote-user", "router".to_owned());
    let (status, challenge, _) =
        load(state.clone(), "203.0.113.50", std::slice::from_ref(&user)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "spoofed from outside");
    assert!(challenge.is_some());
    let (status, _, body) = load(state.clone(), "127.0.0.1", &[user]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("home.dyn.example.com"), "{body}");
    assert!(!body.contains("other.dyn.example.com"), "{body}");
}

#[tokio::test]
async fn a_source_locked_out_by_failed_logins_gets_429_from_the_page_too() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path(), "");
    let (status, challenge, _) = load(state.clone(), "203.0.113.9", &[]).await;
    assert_eq!(
        (status, challenge.as_deref()),
        (
            StatusCode::UNAUTHORIZED,
            Some("Basic realm=\"dyndns\", charset=\"UTF-8\"")
        ),
        "no credentials: the challenge"
    );
    for _ in 0..3 {
        load(state.clone(), "203.0.113.9", &[basic("router", "guess")]).await;
    }
    let (status, _, _) = load(state.clone(), "203.0.113.9", &[basic("other", "secret")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a guessing source");
    let (status, _, body) = load(state.clone(), "203.0.113.10", &[basic("other", "secret")]).await;
    assert_eq!(status, StatusCode::OK, "another source");
    assert!(body.contains("other.dyn.example.com"), "{body}");
}

#[tokio::test]
async fn a_token_only_user_has_no_password_for_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let token = crate::token::new_token();
    let users = format!(
        "[[user]]\nname = \"script\"\ntoken_hashes = [\"{}\"]\nhosts = [\"script.dyn.example.com\"]",
        crate::token::hash_line(&token)
    );
    let state = state_with(dir.path(), "", &users);
    for password in [token.as_str(), ""] {
        let (status, challenge, _) =
            load(state.clone(), "203.0.113.9", &[basic("script", password)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "password {password:?}");
        assert!(challenge.is_some());
    }
}

#[tokio::test]
async fn an_admin_sees_the_dead_letters_the_worker_counted_when_failed_cannot_be_listed() {
    let dir = tempfile::tempdir().unwrap();
    let admin = format!(
        "[[user]]\nname = \"boss\"\npassword_hash = \"{}\"\nadmin = true",
        bcrypt::hash("secret", 4).unwrap()
    );
    let state = state_with(dir.path(), "", &admin);
    let spool = SpoolDirs::at(&state.config.spool_dir);
    std::fs::write(spool.failed().join("job.json"), "{}").unwrap();
    let beat_at = std::time::SystemTime::now();
    crate::status_data::beat_for_tests(beat_at, Some(4))
        .write(&state.config.worker.state_dir)
        .unwrap();
    let admin = basic("boss", "secret");
    let (status, _, body) = load(state.clone(), "203.0.113.9", std::slice::from_ref(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<dt>Failed</dt><dd>1</dd>"),
        "listed here: {body}"
    );

    // As the packaged frontend, which may not list root's failed/ (gone stands in for it).
    std::fs::remove_dir_all(spool.failed()).unwrap();
    let (_, _, body) = load(state.clone(), "203.0.113.9", &[admin]).await;
    assert!(
        body.contains("<dt>Failed</dt><dd>4 (the worker's count at its beat of"),
        "{body}"
    );
}

fn history_line(event: &HistoryEvent) -> Vec<u8> {
    let mut line = serde_json::to_vec(event).unwrap();
    line.push(b'\n');
    line
}

/// The page as `router`, and `/status`'s reading, each bounded: a hang fails instead of stalling.
async fn page_and_status(state: &Arc<AppState>) -> (String, crate::status_data::Status) {
    let watchdog = std::time::Duration::from_secs(20);
    let credentials = [basic("router", "secret")];
    let page = load(state.clone(), "203.0.113.9", &credentials);
    let (status, _, body) = tokio::time::timeout(watchdog, page)
        .await
        .expect("the page hung");
    assert_eq!(status, StatusCode::OK, "{body}");
    let reader = Arc::clone(state);
    let read = tokio::task::spawn_blocking(move || reader.status.status(SystemTime::now()));
    let status = tokio::time::timeout(watchdog, read)
        .await
        .expect("/status hung")
        .unwrap();
    (body, status)
}

#[tokio::test]
async fn a_history_replaced_by_a_fifo_or_a_symlink_is_unreadable_and_blocks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path(), "");
    let state_dir = state.config.worker.state_dir.clone();
    let history = state_dir.join(dyndns_queue::HISTORY_FILE_NAME);
    nix::unistd::mkfifo(&history, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let (body, status) = page_and_status(&state).await;
    assert!(body.contains("History unreadable"), "{body}");
    assert_eq!(status.problems, ["history.jsonl unreadable"]);

    // A symlink to a history elsewhere (with a failure in it) is not followed.
    std::fs::remove_file(&history).unwrap();
    let elsewhere = dir.path().join("elsewhere.jsonl");
    let failure = event(
        "home.dyn.example.com",
        SystemTime::now(),
        EventKind::DeadLetter,
        Family::V4,
    );
    std::fs::write(&elsewhere, history_line(&failure)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &history).unwrap();
    let (body, status) = page_and_status(&state).await;
    assert!(body.contains("symbolic link"), "{body}");
    assert!(!body.contains("<code>refused</code>"), "{body}");
    assert_eq!(status.problems, ["history.jsonl unreadable"]);
    assert!(status.hosts.is_empty(), "{:?}", status.hosts);
}

#[tokio::test]
async fn a_huge_line_and_binary_junk_in_the_history_are_skipped_and_what_follows_still_counts() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path(), "");
    let history = state
        .config
        .worker
        .state_dir
        .join(dyndns_queue::HISTORY_FILE_NAME);
    let mut bytes = vec![b'x'; 3 << 20];
    bytes.push(b'\n');
    bytes.extend_from_slice(b"\0\xff\xfe{\"v\":1,\x01\n\x1b[2J junk\n");
    bytes.extend(history_line(&event(
        "home.dyn.example.com",
        SystemTime::now(),
        EventKind::DeadLetter,
        Family::V4,
    )));
    std::fs::write(&history, bytes).unwrap();
    let (body, status) = page_and_status(&state).await;
    assert!(body.contains("<code>refused</code>"), "{body}");
    assert!(
        body.contains("3 history lines could not be read and are left out."),
        "{body}"
    );
    let home = status
        .hosts
        .iter()
        .find(|host| host.hostname == "home.dyn.example.com")
        .expect("the host's failure after the junk");
    assert!(home.last_error.as_ref().is_some_and(|error| error.current));
    assert!(status.problems.is_empty(), "{:?}", status.problems);
}

/// The worker appends and rotates (every few events here) while the page and `/status` are read
/// at the same time, over and over: neither loses, repeats or half-reads an event, and both end
/// where a whole read of the history ends.
#[test]
fn rotation_while_the_page_and_status_are_read_at_once_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path(), "");
    let host = "home.dyn.example.com";
    let start = SystemTime::now() - std::time::Duration::from_secs(3600);
    let events: Vec<HistoryEvent> = (0..200u64)
        .map(|n| {
            let kind = if n % 4 == 3 {
                EventKind::BackendFailure
            } else {
                EventKind::Applied
            };
            event(
                host,
                start + std::time::Duration::from_secs(n),
                kind,
                Family::V4,
            )
        })
        .collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    let reads = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut log = dyndns_queue::HistoryLog::new(&state.config.worker.state_dir, 4096, 1000);
            for pair in events.chunks(2) {
                log.append(pair).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        for reader in 0..2 {
            let (state, done, reads) = (&state, &done, &reads);
            scope.spawn(move || {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    if reader == 0 {
                        page_html(state, "router", SystemTime::now()).unwrap();
                    } else {
                        state.status.status(SystemTime::now());
                    }
                    reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
        writer.join().unwrap();
    });
    let rotated = std::fs::read_dir(&state.config.worker.state_dir)
        .unwrap()
        .count();
    assert!(rotated > 10, "the history rotated: {rotated} files");
    let now = SystemTime::now();
    let html = page_html(&state, "router", now).unwrap();
    assert!(html.contains("150 changes, 50 failures"), "{html}");
    assert!(!html.contains("could not be read"), "{html}");
    let status = state.status.status(now);
    let whole = dyndns_queue::LastErrors::from_events(&events);
    let shown = status.hosts.iter().find(|summary| summary.hostname == host);
    assert_eq!(
        shown.and_then(|summary| summary.last_error.as_ref()),
        whole.get(host),
        "after {} concurrent reads",
        reads.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert!(status.problems.is_empty(), "{:?}", status.problems);
}
