//! Why this exists: filesystem events wake the worker the moment a job lands in `new/`; they are only a
//! hint (events can be lost or the watch can fail), so the worker also rescans on a timer.

use std::path::Path;
use std::sync::Arc;

use notify::{RecursiveMode, Watcher};
use tokio::sync::Notify;

pub struct SpoolWatch {
    /// Kept alive for as long as events are wanted; `None` when watching could not start.
    watcher: Option<notify::RecommendedWatcher>,
}

impl SpoolWatch {
    /// Watches `folder` and calls `wake.notify_one()` on every event (and on watch errors, so a
    /// rescan happens at once).
    pub fn start(folder: &Path, wake: Arc<Notify>) -> SpoolWatch {
        let handler = move |_event: notify::Result<notify::Event>| wake.notify_one();
        let watcher = notify::recommended_watcher(handler).and_then(|mut watcher| {
            watcher.watch(folder, RecursiveMode::NonRecursive)?;
            Ok(watcher)
        });
        match watcher {
            Ok(watcher) => SpoolWatch {
                watcher: Some(watcher),
            },
            Err(err) => {
                tracing::warn!(folder = %folder.display(), error = %err, "cannot watch the spool; polling instead");
                SpoolWatch { watcher: None }
            }
        }
    }

    pub fn is_active(&self) -> bool {
        self.watcher.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_file_landing_in_the_folder_wakes_the_waiter() {
        let dir = tempfile::tempdir().expect("temp dir");
        let wake = Arc::new(Notify::new());
        let watch = SpoolWatch::start(dir.path(), wake.clone());
        assert!(watch.is_active(), "inotify is available here");
        std::fs::write(dir.path().join("job.json"), b"{}").expect("write");
        tokio::time::timeout(Duration::from_secs(5), wake.notified())
            .await
            .expect("woken by the event within 5 s");
    }
}
