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
use crate::request_log::RequestLog;

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
    pub request_log: RequestLog,
    clock: Clock,
    /// Last `received_at` handed out, in nanoseconds since the epoch: jobs are ordered by it, so it
    /// never repeats or goes backwards even if the wall clock does.
    last_received: AtomicU64,
}

/// Why the frontend cannot start on this config. The cause is part of the message, not a
/// `source()`, so anyhow's `{:#}` shows it once.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("spool.dir = \"{}\": cannot spool jobs: {cause}. {}", .dir.display(), spool_fix(.cause))]
    Spool {
        dir: std::path::PathBuf,
        cause: dyndns_queue::SpoolError,
    },
}

/// What fixes a spool the frontend cannot write: space on a full disk, a writable mount for a
/// read-only one, else the packaged owners and modes.
fn spool_fix(cause: &dyndns_queue::SpoolError) -> &'static str {
    use nix::errno::Errno;
    let errno = cause
        .os_cause()
        .and_then(std::io::Error::raw_os_error)
        .map(Errno::from_raw);
    match errno {
        Some(Errno::ENOSPC | Errno::EDQUOT) => {
            "The spool's file system is full: free space (or inodes) on it; nothing else needs \
             fixing"
        }
        Some(Errno::EROFS) => {
            "The spool's file system is mounted read-only: make it writable (the packaged \
             dyndns.service has ReadWritePaths=/var/spool/dyndns)"
        }
        _ => {
            "The spool must exist with the packaged owners and modes (tmp/ and new/ writable by \
             the frontend's user): run `systemd-tmpfiles --create dyndns.conf` as root \
             (packaging/tmpfiles.d/dyndns.conf), or correct spool.dir; `dyndns check-config` says \
             what else is off"
        }
    }
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        clock: Clock,
        request_log: RequestLog,
    ) -> Result<AppState, StartError> {
        let spool_error = |cause| StartError::Spool {
            dir: config.spool_dir.clone(),
            cause,
        };
        let dirs = SpoolDirs::at(&config.spool_dir);
        dirs.probe_writable().map_err(spool_error)?;
        let spool = Arc::new(SpoolWriter::open(&config.spool_dir).map_err(spool_error)?);
        let accepted = Accepted::load(&config.worker.state_dir, &dirs);
        Ok(AppState {
            verifier: Verifier::new(&config.users),
            limits: RateLimits::new(config.frontend.limits),
            accepted,
            spool,
            request_log,
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
    // access(2) on two folders and one statvfs(2): cheap enough for every probe of a load balancer.
    let spool_ok = state.spool.dirs().is_writable();
    let status = if spool_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if spool_ok { "ok" } else { "spool not writable" },
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

#[cfg(test)]
mod tests {
    //! The router without a socket: proxy authentication, which trusts a header only from a proxy.

    use super::*;
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use crate::client_addr::Peer;

    fn proxy_config(dir: &std::path::Path) -> Config {
        let text = r#"
[frontend]
listen = "127.0.0.1:8245"
auth = "proxy"
trusted_proxies = ["127.0.0.1/32"]

[frontend.limits]
per_user_per_minute = 0

[spool]
dir = "spool"

[worker]
backend = "zonefile"
state_dir = "state"

[[zone]]
name = "dyn.example.com"

[[user]]
name = "router"
hosts = ["home.dyn.example.com"]

[backend.zonefile]
path = "zone"
"#;
        Config::parse(text, &dir.join("dyndns.toml")).expect("test config is valid")
    }

    async fn call(state: Arc<AppState>, peer: &str, user: Option<&str>) -> (StatusCode, String) {
        let mut request =
            Request::get("/nic/update?hostname=home.dyn.example.com&myip=203.0.113.7");
        if let Some(user) = user {
            request = request.header("X-Remote-User", user);
        }
        let mut request = request.body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(Peer::Tcp(
            format!("{peer}:40000").parse().unwrap(),
        )));
        let response = app(state).oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn proxy_auth_trusts_the_user_header_only_from_a_trusted_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        SpoolDirs::at(&config.spool_dir).create_all().unwrap();
        let state =
            Arc::new(AppState::new(config, system_clock(), RequestLog::disabled()).unwrap());

        let (status, body) = call(state.clone(), "203.0.113.50", Some("router")).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNAUTHORIZED, "badauth\n"),
            "spoofed from outside"
        );
        let (status, _) = call(state.clone(), "127.0.0.1", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "proxy sent no user");
        let (status, _) = call(state.clone(), "127.0.0.1", Some("mallory")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "unknown user");
        let (status, body) = call(state.clone(), "127.0.0.1", Some("router")).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "good 203.0.113.7\n")
        );
    }

    #[test]
    fn received_times_strictly_increase_even_if_the_clock_stands_still() {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        SpoolDirs::at(&config.spool_dir).create_all().unwrap();
        let fixed = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let state = AppState::new(config, Arc::new(move || fixed), RequestLog::disabled()).unwrap();
        let first = state.received_at();
        let second = state.received_at();
        assert_eq!(first, fixed);
        assert!(second > first);
    }

    #[test]
    fn a_full_or_read_only_spool_at_start_says_so_instead_of_sending_to_tmpfiles() {
        let error = |errno: nix::errno::Errno| {
            StartError::Spool {
                dir: "/var/spool/dyndns".into(),
                cause: dyndns_queue::SpoolError::NotWritable {
                    path: "/var/spool/dyndns/tmp".into(),
                    cause: std::io::Error::from(errno),
                },
            }
            .to_string()
        };
        let full = error(nix::errno::Errno::ENOSPC);
        assert!(full.contains("file system is full: free space"), "{full}");
        assert!(!full.contains("systemd-tmpfiles"), "{full}");
        let read_only = error(nix::errno::Errno::EROFS);
        assert!(read_only.contains("mounted read-only"), "{read_only}");
        assert!(!read_only.contains("systemd-tmpfiles"), "{read_only}");
        let denied = error(nix::errno::Errno::EACCES);
        assert!(denied.contains("systemd-tmpfiles --create"), "{denied}");
        assert!(
            denied.starts_with("spool.dir = \"/var/spool/dyndns\": cannot spool jobs: "),
            "the key, as written: {denied}"
        );
    }
}
