//! Why this exists: the frontend's shared state and routes, built from arguments so tests can drive
//! the whole HTTP surface with `oneshot` and no socket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use dyndns_config::Config;
use dyndns_queue::{SpoolDirs, SpoolWriter};

use crate::accepted::Accepted;
use crate::auth::Verifier;
use crate::limits::RateLimits;

/// The wall clock, injectable so tests can fix `received_at`.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

pub struct AppState {
    pub config: Arc<Config>,
    pub verifier: Verifier,
    pub limits: RateLimits,
    pub accepted: Accepted,
    pub spool: Arc<SpoolWriter>,
    clock: Clock,
    /// Last `received_at` handed out, in nanoseconds since the epoch: jobs are ordered by it, so it
    /// never repeats or goes backwards even if the wall clock does.
    last_received: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot use the spool: {0}")]
    Spool(#[from] dyndns_queue::SpoolError),
}

impl AppState {
    pub fn new(config: Arc<Config>, clock: Clock) -> Result<AppState, StartError> {
        let spool = Arc::new(SpoolWriter::open(&config.spool_dir)?);
        let accepted = Accepted::load(&config.worker.state_dir, &SpoolDirs::at(&config.spool_dir));
        Ok(AppState {
            verifier: Verifier::new(&config.users),
            limits: RateLimits::new(config.frontend.limits),
            accepted,
            spool,
            clock,
            last_received: AtomicU64::new(0),
            config,
        })
    }

    /// A strictly increasing receive time for the next job.
    pub fn received_at(&self) -> SystemTime {
        let now = (self.clock)()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let mut previous = self.last_received.load(Ordering::Relaxed);
        loop {
            let next = now.max(previous + 1);
            match self.last_received.compare_exchange_weak(
                previous,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return SystemTime::UNIX_EPOCH + Duration::from_nanos(next),
                Err(actual) => previous = actual,
            }
        }
    }
}

pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/nic/update", get(crate::update::nic_update))
        .route("/update", get(crate::update::nic_update))
        .route("/health", get(health))
        .fallback(not_found)
        .with_state(state)
}

async fn health(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let spool_ok = state.spool.dirs().new().is_dir() && state.spool.dirs().tmp().is_dir();
    let status = if spool_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if spool_ok { "ok" } else { "spool unavailable" },
        "version": env!("CARGO_PKG_VERSION"),
        "zones": state.config.zones.len(),
        "users": state.config.users.len(),
    });
    (status, Json(body))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
}
