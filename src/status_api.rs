//! Why this exists: the frontend's read side for machines, three routes on `status_data.rs`:
//! - `GET /health`, open to all (a load balancer's probe): 200 while a job can be spooled and the
//!   worker beat recently enough (`[frontend] heartbeat_max_age_secs`), else 503; counts and ages
//!   only, no host, user, path or secret.
//! - `GET /status`, JSON for dashboards, and `GET /metrics`, Prometheus text: behind
//!   `Authorization: Bearer <token>`, matched against `[frontend] status_token_hashes` in constant
//!   time (`token.rs`). No hash configured: both answer 404, as if they did not exist; a missing or
//!   wrong token: 401 with `WWW-Authenticate: Bearer`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::app::{not_found, AppState};
use crate::status_data::{Health, HostSummary, Status};

/// Longer `Authorization` values are not tokens and are not hashed.
const MAX_BEARER_LEN: usize = 1024;

fn time(at: Option<std::time::SystemTime>) -> serde_json::Value {
    at.and_then(dyndns_queue::rfc3339::format)
        .map_or(serde_json::Value::Null, serde_json::Value::String)
}

/// The fields `/health` and `/status` share.
fn health_fields(health: &Health) -> serde_json::Map<String, serde_json::Value> {
    let fields = json!({
        "spool_writable": health.spool_writable,
        "spool_depth": health.spool_depth(),
        "heartbeat_age_secs": health.heartbeat_age.map(|age| age.as_secs()),
        "heartbeat_max_age_secs": health.max_age.map(|age| age.as_secs()),
        "worker_running": health.heartbeat.as_ref().map(dyndns_queue::Heartbeat::is_running),
    });
    match fields {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    // access(2) on two folders, one statvfs(2), two folder listings and the heartbeat's few
    // hundred bytes: cheap enough for every probe of a load balancer.
    let health = state.status.health(state.now());
    let code = if health.is_healthy() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = health_fields(&health);
    body.insert("status".into(), health.verdict().into());
    body.insert("version".into(), env!("CARGO_PKG_VERSION").into());
    (code, Json(body)).into_response()
}

/// `None` when the request may read `/status` and `/metrics`, else the answer it gets.
async fn refused(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let hashes = &state.config.frontend.status_token_hashes.0;
    if hashes.is_empty() {
        return Some(not_found().await.into_response());
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.len() <= MAX_BEARER_LEN)
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if token.is_some_and(|token| crate::token::any_matches(hashes, token)) {
        return None;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "a bearer token is required\n",
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"dyndns\""),
    );
    Some(response)
}

/// Reads on the blocking pool: the first `/status` follows the whole history, which may be
/// megabytes, and must not stall the other connections of this runtime meanwhile.
async fn read_status(state: &Arc<AppState>) -> Option<Status> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || state.status.status(state.now()))
        .await
        .ok()
}

fn host_json(host: &HostSummary) -> serde_json::Value {
    json!({
        "hostname": host.hostname,
        "ipv4": host.ipv4,
        "ipv6": host.ipv6,
        "last_update": time(host.last_update),
        "last_error": host.last_error,
    })
}

pub async fn status(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refused(&state, &headers).await {
        return refusal;
    }
    let Some(status) = read_status(&state).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut body = health_fields(&status.health);
    let heartbeat = status.health.heartbeat.as_ref();
    body.insert("status".into(), status.overall().as_str().into());
    body.insert("host_count".into(), status.hosts.len().into());
    body.insert(
        "hosts".into(),
        status
            .hosts
            .iter()
            .map(host_json)
            .collect::<Vec<_>>()
            .into(),
    );
    body.insert(
        "last_check".into(),
        time(heartbeat.map(|beat| beat.beat_at)),
    );
    body.insert("pending".into(), status.health.spool_depth().into());
    body.insert(
        "failed".into(),
        heartbeat.and_then(|beat| beat.failed).into(),
    );
    body.insert("problems".into(), status.problems.clone().into());
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::Value::Object(body)),
    )
        .into_response()
}

pub async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = refused(&state, &headers).await {
        return refusal;
    }
    let health = state.status.health(state.now());
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::metrics::render(&state.requests, &health),
    )
        .into_response()
}
