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
    /// Watches `folder` and calls `wake.notify_one()` when an entry may have arrived (and on watch
    /// errors, so a rescan happens at once).
    pub fn start(folder: &Path, wake: Arc<Notify>) -> SpoolWatch {
        let handler = move |event: notify::Result<notify::Event>| {
            if event.as_ref().is_ok_and(|event| !may_bring_a_job(event)) {
                return;
            }
            wake.notify_one();
        };
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

/// Whether `event` may mean a new entry in the folder. Not opens, reads or closes: the worker's own
/// rescan opens the folder, and waking on that made an idle worker rescan in a busy loop. Not entries
/// leaving (its own claims rename them away) either.
fn may_bring_a_job(event: &notify::Event) -> bool {
    use notify::event::{EventKind, ModifyKind, RenameMode};
    if event.need_rescan() {
        return true;
    }
    match event.kind {
        EventKind::Access(_) | EventKind::Remove(_) => false,
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Other => true,
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

    #[tokio::test]
    async fn reading_the_folder_does_not_wake_the_waiter() {
        // Each rescan lists the folder; if that woke the worker, an idle worker spun at full CPU.
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("job.json"), b"{}").expect("write");
        let wake = Arc::new(Notify::new());
        let watch = SpoolWatch::start(dir.path(), wake.clone());
        assert!(watch.is_active(), "inotify is available here");
        for _ in 0..3 {
            let listed = std::fs::read_dir(dir.path()).expect("list").count();
            assert_eq!(listed, 1);
            std::fs::read(dir.path().join("job.json")).expect("read");
        }
        let woken = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
        assert!(
            woken.is_err(),
            "listing and reading the folder woke the worker"
        );
        std::fs::remove_file(dir.path().join("job.json")).expect("remove");
        let woken = tokio::time::timeout(Duration::from_millis(300), wake.notified()).await;
        assert!(
            woken.is_err(),
            "an entry leaving the folder woke the worker"
        );
    }
}
