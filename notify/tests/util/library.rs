//! The library on a set clock: a notifier over a temporary folder (the worker's history in
//! `state/`, the notifier's own file in `notify/`) with HTTP targets, run `--once` at a time the
//! test gives; shared by the tests that step `now` (`notifier.rs`, `clock_step.rs`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dyndns_config::notify::{NotifyKind, NotifyTarget, SendTo};
use dyndns_notify::deliver::{self, Deliver};
use dyndns_notify::run::{run_once, OnceReport};
use dyndns_notify::Notifier;

use super::time;

pub fn http_target(kind: NotifyKind, url: &str, token_file: Option<&Path>) -> NotifyTarget {
    let id = format!("notify[0] {} {url}", kind.as_str());
    NotifyTarget {
        label: dyndns_config::notify::shown_id(&id),
        id,
        kind,
        send_to: SendTo::Http {
            url: url.into(),
            token_file: token_file.map(Path::to_path_buf),
        },
        on_change: true,
        on_failure: true,
        users: None,
        min_interval: Duration::ZERO,
        timeout: Duration::from_secs(2),
    }
}

pub fn with_delivery(targets: Vec<NotifyTarget>) -> Vec<(NotifyTarget, Arc<dyn Deliver>)> {
    targets
        .into_iter()
        .enumerate()
        .map(|(index, target)| {
            let delivery = deliver::for_target(&target, index).unwrap();
            (target, delivery)
        })
        .collect()
}

pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        std::fs::create_dir(dir.path().join("notify")).unwrap();
        Site { dir }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn open(&self, targets: &[NotifyTarget]) -> Notifier {
        Notifier::open(
            &self.state(),
            &self.dir.path().join("notify"),
            with_delivery(targets.to_vec()),
        )
        .unwrap()
    }
}

pub fn once(notifier: &mut Notifier, now: SystemTime) -> OnceReport {
    run_once(notifier, &move || now).unwrap()
}

/// A first start begins at the end of the history, so it is opened (and saved) before events come.
pub fn started(site: &Site, targets: &[NotifyTarget]) -> Notifier {
    let mut notifier = site.open(targets);
    assert_eq!(once(&mut notifier, time(0)).delivered, 0);
    notifier
}
