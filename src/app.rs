//! Why this exists: the frontend's shared state and routes, built from arguments so tests can drive
//! the whole HTTP surface with `oneshot` and no socket.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use dyndns_config::Config;
use dyndns_queue::{SpoolDirs, SpoolWriter};

use crate::accepted::Accepted;
use crate::auth::Verifier;
use crate::limits::RateLimits;
use crate::metrics::RequestCounters;
use crate::request_log::RequestLog;
use crate::status_data::StatusReader;

/// The wall clock, injectable so tests can fix `received_at`.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

/// One config's view of the frontend. A reload (`reload.rs`) builds a new one from the new config
/// and hands it to new requests; a request keeps the one it started with. Everything that must
/// outlive a config (the `nochg` memory, rate limits, the status readers, counters, the job clock)
/// is behind an `Arc` both share.
pub struct AppState {
    pub config: Arc<Config>,
    pub verifier: Verifier,
    pub limits: Arc<RateLimits>,
    pub accepted: Arc<Accepted>,
    pub spool: Arc<SpoolWriter>,
    pub request_log: Arc<RequestLog>,
    /// What the status page read of the worker's files, kept between loads.
    pub status_page: Arc<crate::status_page::PageCache>,
    /// What `/health`, `/status` and `/metrics` read of the worker's files.
    pub status: Arc<StatusReader>,
    /// Update requests by style and result, for `/metrics`.
    pub requests: Arc<RequestCounters>,
    clock: Clock,
    /// Last `received_at` handed out: jobs are ordered by it, so it never repeats or goes backwards
    /// even if the wall clock does. A time, not nanoseconds in a `u64`: those end in 2554, and a
    /// worker before the future bound recorded jobs dated in 9999. Locked only to spool a change.
    last_received: Arc<Mutex<SystemTime>>,
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
        let now = clock();
        let admissible = |job: &dyndns_queue::Job| {
            let addresses: Vec<_> = job.addresses().collect();
            config.check_job(&job.user, &job.host, &addresses).is_ok()
        };
        let accepted = Accepted::load(&config.worker.state_dir, &dirs, now, admissible);
        let floor = received_floor(accepted.newest_at_load(), now);
        Ok(AppState {
            verifier: Verifier::new(&config.users),
            limits: Arc::new(RateLimits::new(config.frontend.limits)),
            accepted: Arc::new(accepted),
            spool,
            request_log: Arc::new(request_log),
            status_page: Arc::default(),
            status: Arc::new(StatusReader::new(&config)),
            requests: Arc::default(),
            clock,
            last_received: Arc::new(Mutex::new(floor)),
            config,
        })
    }

    /// This state on a new config (checked, with the settings that need a restart already put
    /// back by `reload.rs`): a new verifier that keeps the remembered credentials of users whose
    /// secrets did not change, new rate limits only if `[frontend.limits]` changed, and everything
    /// else shared with this one.
    pub fn reloaded(&self, config: Arc<Config>) -> AppState {
        let limits = if config.frontend.limits == self.config.frontend.limits {
            self.limits.clone()
        } else {
            Arc::new(self.limits.with_new_budgets(config.frontend.limits))
        };
        AppState {
            verifier: self.verifier.reloaded(&self.config.users, &config.users),
            limits,
            accepted: self.accepted.clone(),
            spool: self.spool.clone(),
            request_log: self.request_log.clone(),
            status_page: self.status_page.clone(),
            status: self.status.clone(),
            requests: self.requests.clone(),
            clock: self.clock.clone(),
            last_received: self.last_received.clone(),
            config,
        }
    }

    /// Merges news from the worker's state file into the `nochg` memory, and dates new jobs after
    /// everything it handled: a state file unreadable at start (so the counter began at the clock,
    /// maybe stepped back) made every job stale, answered `good` and then dropped by the worker.
    pub fn refresh_from_state(&self) {
        if let Some(newest) = self.accepted.refresh_from_state() {
            let mut last = self.last_received();
            *last = (*last).max(newest);
        }
    }

    fn last_received(&self) -> std::sync::MutexGuard<'_, SystemTime> {
        // Nothing that can panic runs while it is held.
        self.last_received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The wall clock's time (the injected clock, so tests fix it).
    pub fn now(&self) -> SystemTime {
        (self.clock)()
    }

    /// A strictly increasing receive time for the next job.
    pub fn received_at(&self) -> SystemTime {
        let now = (self.clock)().max(SystemTime::UNIX_EPOCH);
        let mut last = self.last_received();
        let after_last = last.checked_add(Duration::from_nanos(1)).unwrap_or(*last);
        *last = now.max(after_last);
        *last
    }
}

/// Where the `received_at` counter starts: above every time the worker handled and every pending
/// job. The worker treats a job older than what it handled for the host as stale, so after the
/// clock was stepped back across a restart, new jobs dated by the clock alone would be dropped
/// until the clock caught up.
fn received_floor(newest: Option<SystemTime>, now: SystemTime) -> SystemTime {
    let Some(newest) = newest else {
        return SystemTime::UNIX_EPOCH;
    };
    if let Ok(ahead) = newest.duration_since(now) {
        if ahead > Duration::from_secs(1) {
            tracing::warn!(
                newest = %humantime::format_rfc3339_nanos(newest),
                ahead_secs = ahead.as_secs(),
                "the newest handled or pending job is dated after this clock; new jobs are dated after it"
            );
        }
    }
    newest
}

/// The routes on one fixed state (tests; `routes` is what `dyndns serve` runs).
#[cfg(test)]
pub fn app(state: Arc<AppState>) -> Router {
    routes(crate::reload::Live::new(state))
}

/// The routes on whatever state `live` holds when each request arrives.
pub fn routes(live: crate::reload::Live) -> Router {
    Router::new()
        .route("/nic/update", get(crate::dyndns2::nic_update))
        .route("/nic/delete", get(crate::dyndns2::nic_delete))
        .route("/update", get(crate::dyndns2::nic_update))
        .route("/ddns/update", get(crate::tplink::ddns_update))
        .route("/api/v1/update", post(crate::json_api::api_update))
        // Token URLs: any other one-segment path, and `/u/<token>`; not a token, a 404.
        .route("/{token}", get(crate::token_url::token_update))
        .route("/u/{token}", get(crate::token_url::token_update))
        .route("/health", get(crate::status_api::health))
        .route("/status", get(crate::status_api::status))
        .route("/metrics", get(crate::status_api::metrics))
        .route("/status.html", get(crate::status_page::status_page))
        .fallback(not_found)
        .with_state(live)
}

pub(crate) async fn not_found() -> impl IntoResponse {
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
        let path = "/nic/update?hostname=home.dyn.example.com&myip=203.0.113.7";
        call_at(state, path, peer, user).await
    }

    async fn call_at(
        state: Arc<AppState>,
        path: &str,
        peer: &str,
        user: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = Request::get(path);
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

    #[tokio::test]
    async fn proxy_auth_guards_the_delete_as_it_guards_the_update() {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        let spool = SpoolDirs::at(&config.spool_dir);
        spool.create_all().unwrap();
        let state =
            Arc::new(AppState::new(config, system_clock(), RequestLog::disabled()).unwrap());
        let delete = "/nic/delete?hostname=home.dyn.example.com";
        let offline = "/nic/update?hostname=home.dyn.example.com&offline=yes";
        for path in [delete, offline] {
            let (status, _) = call_at(state.clone(), path, "203.0.113.50", Some("router")).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "spoofed from outside: {path}"
            );
        }
        assert_eq!(std::fs::read_dir(spool.new()).unwrap().count(), 0);
        let (status, body) = call_at(state.clone(), delete, "127.0.0.1", Some("router")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "good\n"));
        let (_, body) = call_at(state.clone(), offline, "127.0.0.1", Some("router")).await;
        assert_eq!(body, "nochg\n");
        assert_eq!(std::fs::read_dir(spool.new()).unwrap().count(), 1);
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
    fn a_clock_stepped_back_across_a_restart_does_not_make_new_jobs_stale() {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        let spool = SpoolDirs::at(&config.spool_dir);
        spool.create_all().unwrap();
        std::fs::create_dir_all(&config.worker.state_dir).unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let hour_ahead = now + Duration::from_secs(3600);
        let mut state = dyndns_queue::AppliedState::default();
        state.record_applied(
            "home.dyn.example.com",
            "203.0.113.7".parse().unwrap(),
            hour_ahead,
            hour_ahead,
        );
        state.record_handled(
            "home.dyn.example.com",
            dyndns_queue::Family::V6,
            hour_ahead + Duration::from_secs(5),
        );
        state
            .save(&dyndns_queue::AppliedState::path_in(
                &config.worker.state_dir,
            ))
            .unwrap();
        let app = AppState::new(
            config.clone(),
            Arc::new(move || now),
            RequestLog::disabled(),
        )
        .unwrap();
        assert!(app.received_at() > hour_ahead + Duration::from_secs(5));

        // A pending job dated later still counts, up to a day past everything handled.
        let pending_at = |at: SystemTime| {
            let job = dyndns_queue::Job::new(
                "router",
                "home.dyn.example.com",
                Some("203.0.113.8".parse().unwrap()),
                None,
                at,
                None,
            );
            SpoolWriter::open(spool.root())
                .unwrap()
                .submit(&job)
                .unwrap();
            job
        };
        let pending = pending_at(hour_ahead + Duration::from_secs(60));
        let app = AppState::new(
            config.clone(),
            Arc::new(move || now),
            RequestLog::disabled(),
        )
        .unwrap();
        assert!(app.received_at() > pending.received_at);

        // One dated far beyond (forged, or a broken clock) is ignored: the worker dead-letters it,
        // and dating new jobs after it would make the worker dead-letter those too.
        let forged = pending_at(hour_ahead + Duration::from_secs(2 * 86_400));
        let app = AppState::new(config, Arc::new(move || now), RequestLog::disabled()).unwrap();
        let next = app.received_at();
        assert!(next > pending.received_at);
        assert!(
            next < forged.received_at,
            "a forged future job moved the clock floor"
        );
    }

    #[test]
    fn an_applied_state_unreadable_at_start_still_raises_the_job_clock_once_read() {
        // The clock was stepped back and applied.json could not be read at start: new jobs were
        // dated by the clock, older than what the worker had handled, so each was answered `good`
        // and then superseded by the worker without a word, until the frontend restarted.
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        SpoolDirs::at(&config.spool_dir).create_all().unwrap();
        std::fs::create_dir_all(&config.worker.state_dir).unwrap();
        let path = dyndns_queue::AppliedState::path_in(&config.worker.state_dir);
        std::fs::write(&path, "{ half written by hand").unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let app = AppState::new(config, Arc::new(move || now), RequestLog::disabled()).unwrap();
        assert_eq!(app.received_at(), now);

        let handled = now + Duration::from_secs(3600);
        let mut state = dyndns_queue::AppliedState::default();
        state.record_applied(
            "home.dyn.example.com",
            "203.0.113.7".parse().unwrap(),
            handled,
            handled,
        );
        state.save(&path).unwrap();
        app.refresh_from_state();
        assert!(app.received_at() > handled);
    }

    #[test]
    fn a_job_handled_in_9999_does_not_overflow_the_job_clock() {
        // Before the worker bounded job times it applied jobs dated in 9999, and applied.json
        // kept them: the counter in nanoseconds since 1970 ends in 2554, so the floor saturated and
        // the next job's time overflowed (a panic per change, or in a release build a wrap to 1970
        // that the worker superseded without a word).
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        SpoolDirs::at(&config.spool_dir).create_all().unwrap();
        std::fs::create_dir_all(&config.worker.state_dir).unwrap();
        let far = humantime::parse_rfc3339("9999-12-31T23:00:00Z").unwrap();
        let mut state = dyndns_queue::AppliedState::default();
        state.record_applied(
            "home.dyn.example.com",
            "203.0.113.7".parse().unwrap(),
            far,
            far,
        );
        state
            .save(&dyndns_queue::AppliedState::path_in(
                &config.worker.state_dir,
            ))
            .unwrap();
        let app = AppState::new(config, system_clock(), RequestLog::disabled()).unwrap();
        let first = app.received_at();
        let second = app.received_at();
        assert!(first > far && second > first, "{first:?} {second:?}");
        let job = dyndns_queue::Job::new(
            "router",
            "home.dyn.example.com",
            Some("203.0.113.8".parse().unwrap()),
            None,
            second,
            None,
        );
        assert!(job.to_json().is_ok(), "a job dated after it can be spooled");
    }

    #[test]
    fn a_pending_job_the_worker_will_refuse_does_not_make_nochg_lie() {
        // The worker dead-letters a job the config does not allow without recording it, so the
        // frontend never learns it failed: seeded from it, `nochg` answered for its address until a
        // restart (a user renamed with jobs pending, or a file planted in new/).
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        let spool = SpoolDirs::at(&config.spool_dir);
        spool.create_all().unwrap();
        let writer = SpoolWriter::open(spool.root()).unwrap();
        let pending = |user: &str, host: &str, address: &str| {
            let job = dyndns_queue::Job::new(
                user,
                host,
                Some(address.parse().unwrap()),
                None,
                SystemTime::now(),
                None,
            );
            writer.submit(&job).unwrap();
        };
        pending("ghost", "home.dyn.example.com", "203.0.113.8");
        pending("router", "elsewhere.dyn.example.com", "203.0.113.8");
        pending("router", "home.dyn.example.com", "10.0.0.8");
        let app = AppState::new(config, system_clock(), RequestLog::disabled()).unwrap();
        let v4 = |text: &str| crate::request::Addresses {
            v4: Some(text.parse().unwrap()),
            v6: None,
        };
        for (host, address) in [
            ("home.dyn.example.com", "203.0.113.8"),
            ("elsewhere.dyn.example.com", "203.0.113.8"),
            ("home.dyn.example.com", "10.0.0.8"),
        ] {
            assert!(
                !app.accepted.changed(host, v4(address)).is_empty(),
                "{host} {address} counted as accepted"
            );
        }

        // A job the worker will apply still counts.
        pending("router", "home.dyn.example.com", "203.0.113.9");
        let config = Arc::new(proxy_config(dir.path()));
        let app = AppState::new(config, system_clock(), RequestLog::disabled()).unwrap();
        assert!(app
            .accepted
            .changed("home.dyn.example.com", v4("203.0.113.9"))
            .is_empty());
    }

    #[test]
    fn a_fifo_in_the_spool_does_not_hang_the_frontends_start() {
        let dir = tempfile::tempdir().unwrap();
        let config = Arc::new(proxy_config(dir.path()));
        let spool = SpoolDirs::at(&config.spool_dir);
        spool.create_all().unwrap();
        for folder in [spool.new(), spool.cur()] {
            nix::unistd::mkfifo(&folder.join("0.fifo.json"), nix::sys::stat::Mode::S_IRWXU)
                .unwrap();
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = AppState::new(config, system_clock(), RequestLog::disabled()).is_ok();
            let _ = tx.send(started);
        });
        let started = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("AppState::new returned within five seconds");
        assert!(started);
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
