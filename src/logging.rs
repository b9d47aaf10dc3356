//! Why this exists: the frontend logs one line per request, so lines are appended to an in-memory
//! batch and a background thread writes each batch to stderr with one system call. A request never
//! waits for a `write`, and no thread is woken per line (a per-line channel cost more CPU than the
//! request itself on a 2-core host).

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread gathers lines after the first one arrives: the delay before a line
/// shows up in the log, and the batching window under load.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Past this size a request writes the batch itself, so a stalled stderr (a full journald pipe) bounds
/// memory and slows requests down instead of dropping lines.
const MAX_BATCH: usize = 4 * 1024 * 1024;

#[derive(Default)]
struct Batch {
    lines: Vec<u8>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    batch: Mutex<Batch>,
    has_lines: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Batch> {
        // A panic while appending bytes leaves nothing inconsistent: keep logging.
        self.batch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The `MakeWriter` handed to tracing; every event is one `write_all` of a whole line.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

impl Write for &BatchedStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut batch = self.shared.lock();
        let was_empty = batch.lines.is_empty();
        batch.lines.extend_from_slice(bytes);
        if batch.lines.len() >= MAX_BATCH {
            let full = std::mem::take(&mut batch.lines);
            // Written under the lock so lines keep their order.
            let _ = std::io::stderr().write_all(&full);
        } else if was_empty {
            self.shared.has_lines.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = &'a BatchedStderr;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

/// Flushes what is left and stops the writer thread when dropped; keep it until the process exits.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.has_lines.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_batches(shared: &Shared) {
    let mut spare = Vec::new();
    loop {
        {
            let mut batch = shared.lock();
            while batch.lines.is_empty() && !batch.closed {
                batch = shared
                    .has_lines
                    .wait(batch)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if batch.lines.is_empty() && batch.closed {
                return;
            }
        }
        std::thread::sleep(BATCH_WINDOW);
        std::mem::swap(&mut shared.lock().lines, &mut spare);
        let _ = std::io::stderr().write_all(&spare);
        spare.clear();
    }
}

/// Installs the global subscriber (level from `RUST_LOG`, default `info`). Returns the guard and
/// the writer, which the request log shares so all lines keep their order.
pub fn init() -> Option<(LogGuard, BatchedStderr)> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let shared = Arc::new(Shared::default());
    let writer = BatchedStderr {
        shared: shared.clone(),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer.clone())
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .ok()?;
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name("dyndns-log".into())
        .spawn(move || write_batches(&thread_shared))
        .ok();
    Some((LogGuard { shared, thread }, writer))
}
