//! The page through the router without a socket: it signs in exactly as an update does.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use base64::Engine;
use http_body_util::BodyExt;
use tower::ServiceExt;

use dyndns_config::Config;
use dyndns_queue::SpoolDirs;

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
    dyndns_queue::Heartbeat {
        v: dyndns_queue::HEARTBEAT_VERSION,
        pid: 7,
        started_at: beat_at,
        beat_at,
        interval_secs: 30,
        mode: dyndns_queue::RunMode::Continuous,
        version: "0.1.0".into(),
        stopped_at: None,
        counts: Default::default(),
        failed: Some(4),
    }
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
