//! Why this exists: `GET /status.html`, the page a person opens to see what their hosts point at,
//! when that last changed or failed, and 30 days of changes; an admin (`[[user]] admin = true`)
//! sees every host and the worker's queue. It signs in exactly as an update does
//! (`update::authenticate`: Basic auth against the same hashes, the same lockout and remembered
//! credentials, or the trusted proxy's user header in proxy mode). Credentials in the query are
//! not taken (they would stay in the browser's history), and a user with only update tokens has no
//! password to give: the page answers them 401 like any wrong password.
//!
//! It only reads what the root worker wrote in the state folder (as its group): `applied.json`,
//! `history.jsonl*` and `heartbeat.json`, and for an admin the spool folders' listings. The
//! addresses, last failures, heartbeat and job counts come from the same [`StatusReader`] as
//! `/status`, so the two never disagree; only the 30-day timeline is the page's own
//! (`history_window.rs`). Reading is bounded and cached between loads and done off the async
//! threads, one load at a time, so loading the page in a loop costs the frontend a few `stat`s,
//! not a re-read of the history.
//!
//! [`StatusReader`]: crate::status_data::StatusReader

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use dyndns_queue::{HistoryEvent, SpoolDirs};

use crate::app::AppState;
use crate::client_addr::Peer;
use crate::reply::Code;
use crate::status_data::Health;
use crate::update::{authenticate, client_of, PresentedPassword, Refused};

mod history_window;
mod render;
mod view;

use history_window::HistoryWindow;
use view::{DeadLetters, Queue, Sources, WorkerState};

/// Nothing but the page itself: no script, no connection, no frame, no form; inline CSS only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The timeline's history, kept between loads. One load reads it at a time.
#[derive(Default)]
pub struct PageCache {
    history: Mutex<HistoryWindow>,
}

/// `GET /status.html`.
pub async fn status_page(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let client = client_of(&state, peer, &parts.headers);
    let no_query_credentials = || None::<PresentedPassword<'static>>;
    let signed_in = authenticate(&state, peer, client, &parts.headers, no_query_credentials).await;
    let name = match signed_in {
        Ok(user) => user.name.clone(),
        Err(Refused { claimed, code }) => {
            // A browser's first request carries no credentials: that challenge is routine.
            if claimed.is_some() || code != Code::BadAuth {
                tracing::info!(
                    target: "dyndns::status_page",
                    user = ?claimed,
                    client = ?client,
                    result = code.word(),
                    "status page refused"
                );
            }
            return refusal(&code);
        }
    };
    tracing::info!(target: "dyndns::status_page", user = ?name, client = ?client, "status page shown");
    let now = state.now();
    let shared = Arc::clone(&state);
    let shown = tokio::task::spawn_blocking(move || page_html(&shared, &name, now)).await;
    match shown {
        Ok(Some(html)) => page_response(StatusCode::OK, html),
        // The user vanished (cannot happen without a reload) or the page's task panicked.
        _ => page_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "<!DOCTYPE html><title>dyndns status</title><p>The status page failed; see the \
             frontend's log.</p>\n"
                .to_owned(),
        ),
    }
}

/// 401 with the Basic challenge a browser answers with its login prompt; 429 while locked out.
fn refusal(code: &Code) -> Response {
    let (status, text) = match code {
        Code::Abuse => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins from your address; try again in a minute.\n",
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "Sign in to see the status page.\n",
        ),
    };
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"dyndns\", charset=\"UTF-8\""),
        );
    }
    response
}

fn page_response(status: StatusCode, html: String) -> Response {
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        // Per user and changing: never kept by a browser or a proxy.
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The page of user `name`, read and rendered (blocking: it reads files). `None` if the config has
/// no such user.
fn page_html(state: &AppState, name: &str, now: SystemTime) -> Option<String> {
    let config = &state.config;
    let user = config.user(name)?;
    let mut notes = Vec::new();
    let files = state.status.worker_files(now);
    if let Some(err) = &files.applied_error {
        notes.push(format!("Current addresses unknown: {err}"));
    }
    let mut history = state
        .status_page
        .history
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let since = view::window_start(now);
    if let Err(err) = history.refresh(&config.worker.state_dir, since) {
        notes.push(format!("History unreadable: {err}"));
    } else if let Some(err) = &files.history_error {
        notes.push(format!("Last failures unknown: {err}"));
    }
    tracing::debug!(
        target: "dyndns::status_page",
        bytes = history.bytes_read(),
        "history read for the status page since start"
    );
    if history.cut() {
        notes.push(format!(
            "The history is longer than the {} MiB this page reads: the timeline starts later than \
             30 days ago (`dyndns-worker history` shows it all).",
            history_window::MAX_HISTORY_BYTES >> 20
        ));
    }
    if history.unreadable() > 0 {
        notes.push(format!(
            "{} history lines could not be read and are left out.",
            history.unreadable()
        ));
    }
    let events: Vec<&HistoryEvent> = history.events().collect();
    let health = state.status.health(now);
    let worker = match &health.heartbeat_error {
        None => WorkerState::of(health.heartbeat.as_ref(), now),
        Some(err) => {
            notes.push(format!("Worker state unknown: {err}"));
            WorkerState::Unknown
        }
    };
    let queue = user.admin.then(|| Queue {
        pending: health.new,
        in_flight: health.cur,
        failed: dead_letters(&SpoolDirs::at(&config.spool_dir), &health),
        dead_letters_in_window: 0,
    });
    let page = view::build(Sources {
        config,
        user,
        now,
        applied: &files.applied,
        last_errors: &files.last_errors,
        events: &events,
        worker,
        queue,
        notes,
    });
    Some(render::render(&page))
}

/// The dead letters in `failed/`: counted where this user may list it, else as the worker counted
/// them at its last beat (`failed/` is root's alone).
fn dead_letters(spool: &SpoolDirs, health: &Health) -> DeadLetters {
    match spool.count_failed() {
        Some(count) => DeadLetters::Listed(count),
        None => health
            .heartbeat
            .as_ref()
            .and_then(|beat| Some((beat.failed?, beat.beat_at)))
            .map_or(DeadLetters::Unknown, |(count, at)| DeadLetters::AtBeat {
                count,
                at,
            }),
    }
}

#[cfg(test)]
mod tests;
