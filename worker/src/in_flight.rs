//! Why this exists: a backend's batches run while the worker goes on with its passes, so a slow
//! backend (a Plesk zone of a thousand hosts, a primary answering near its timeout) holds back only
//! its own zones: the zones of every other backend keep being applied and recorded meanwhile. This
//! holds the chains of batches at work, which backends are busy and which targets are in flight,
//! so no backend gets a second chain and no change is planned twice.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};

use crate::apply::{DoneBatch, ZoneBatch};
use crate::backend::Backend;
use crate::batch::Target;

/// Tells backends apart by identity (`Backends::only` serves every zone with one).
pub(crate) fn backend_id(backend: &Arc<dyn Backend>) -> usize {
    Arc::as_ptr(backend).cast::<()>() as usize
}

/// The batches of one backend, one zone after the other, as a future the worker polls.
pub(crate) type ChainRun = Pin<Box<dyn Future<Output = ChainDone> + Send>>;

/// What a chain did: its batches with their results, and those a SIGTERM kept from starting
/// (their jobs stay in `cur/`).
pub(crate) struct ChainDone {
    pub backend: usize,
    pub done: Vec<DoneBatch>,
    pub not_started: Vec<ZoneBatch>,
}

/// The chains at work.
#[derive(Default)]
pub(crate) struct InFlight {
    runs: FuturesUnordered<ChainRun>,
    busy: HashSet<usize>,
    targets: HashSet<Target>,
}

impl InFlight {
    /// `run` is at work for `backend` on `targets`.
    pub fn start(&mut self, backend: usize, targets: Vec<Target>, run: ChainRun) {
        self.busy.insert(backend);
        self.targets.extend(targets);
        self.runs.push(run);
    }

    /// The backend has a chain at work: it gets the next one after it.
    pub fn is_busy(&self, backend: usize) -> bool {
        self.busy.contains(&backend)
    }

    /// The target's change is at its backend now.
    pub fn holds(&self, target: &Target) -> bool {
        self.targets.contains(target)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The next chain to finish, or `None` when none is at work. Cancel-safe: a chain that
    /// finished is released and returned in the same poll.
    pub async fn next(&mut self) -> Option<ChainDone> {
        let done = self.runs.next().await?;
        self.release(&done);
        Some(done)
    }

    /// A chain that has already finished, without waiting.
    pub fn finished(&mut self) -> Option<ChainDone> {
        let done = self.runs.next().now_or_never()??;
        self.release(&done);
        Some(done)
    }

    fn release(&mut self, done: &ChainDone) {
        self.busy.remove(&done.backend);
        let batches = done
            .done
            .iter()
            .map(|done| &done.batch)
            .chain(&done.not_started);
        for batch in batches {
            for ready in &batch.ready {
                self.targets.remove(&ready.planned.target);
            }
        }
    }
}
