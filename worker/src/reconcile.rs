//! Why this exists: the one place that turns a zone's batch into backend reads and writes — read what
//! is published, skip what is already right, refuse to create names where the zone says so, write
//! the rest in one batch, read it back — so every backend is a plain adapter and each of these
//! promises is kept (and tested) once.

use crate::backend::{
    Applied, Backend, BackendError, BatchResults, Change, Failure, Published, Value, Wanted,
};

/// What the worker asks of one zone's batch besides its changes.
#[derive(Debug, Clone, Copy)]
pub struct BatchRules {
    /// `[[zone]] create_missing`: false refuses to create a host the backend does not hold.
    pub create_missing: bool,
}

/// Applies every change of one backend zone through `backend`: one read, one write of what
/// differs, one read back of what was written. One result per change, in order.
pub async fn apply_batch<B: Backend + ?Sized>(
    backend: &B,
    zone: &str,
    changes: &[Change],
    rules: BatchRules,
) -> BatchResults {
    let mut results: Vec<Option<Result<Applied, BackendError>>> =
        changes.iter().map(|_| None).collect();
    let mut valid = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        match change.check_in(zone) {
            Ok(()) => valid.push(index),
            Err(refused) => results[index] = Some(Err(BackendError::new(refused))),
        }
    }
    let reads = backend.reads();
    let before = if reads {
        read(backend, zone, changes, &valid).await
    } else {
        valid.iter().map(|_| Ok(Published::default())).collect()
    };
    let mut to_write = Vec::new();
    for (&index, found) in valid.iter().zip(before) {
        let change = &changes[index];
        match found {
            Err(error) => results[index] = Some(Err(error)),
            Ok(found) if reads && already_right(change, &found) => {
                results[index] = Some(Ok(Applied {
                    previous: found.values,
                    changed: false,
                }))
            }
            Ok(found) if reads && !rules.create_missing && creates(change, &found) => {
                results[index] = Some(Err(BackendError::new(Failure::Missing {
                    backend: backend.name(),
                    host: change.host.clone(),
                    zone: zone.to_owned(),
                })))
            }
            Ok(found) => to_write.push((index, found.values)),
        }
    }
    if !to_write.is_empty() {
        write_and_confirm(backend, zone, changes, to_write, &mut results).await;
    }
    results
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult))))
        .collect()
}

/// Writes the changes at `to_write` (each with the values it replaces) and, when the backend can
/// read, confirms each by reading it back.
async fn write_and_confirm<B: Backend + ?Sized>(
    backend: &B,
    zone: &str,
    changes: &[Change],
    to_write: Vec<(usize, Vec<Value>)>,
    results: &mut [Option<Result<Applied, BackendError>>],
) {
    let batch: Vec<Change> = to_write
        .iter()
        .map(|(index, _)| changes[*index].clone())
        .collect();
    let written = backend.write(zone, &batch).await;
    let mut accepted = Vec::with_capacity(to_write.len());
    let mut written = written.into_iter();
    for (index, previous) in to_write {
        match written
            .next()
            .unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult)))
        {
            Ok(()) => accepted.push((index, previous)),
            Err(error) => results[index] = Some(Err(error)),
        }
    }
    if accepted.is_empty() {
        return;
    }
    let indices: Vec<usize> = accepted.iter().map(|(index, _)| *index).collect();
    let after = if backend.reads() {
        read(backend, zone, changes, &indices).await
    } else {
        indices.iter().map(|_| Ok(Published::default())).collect()
    };
    for ((index, previous), found) in accepted.into_iter().zip(after) {
        let change = &changes[index];
        results[index] = Some(match found {
            Err(error) => Err(error),
            Ok(found) if !backend.reads() || found.values == change.values() => Ok(Applied {
                previous,
                changed: true,
            }),
            Ok(found) => Err(BackendError::new(Failure::NotTaken {
                backend: backend.name(),
                host: change.host.clone(),
                record_type: change.record_type.as_str(),
                wanted: list(change.values()),
                found: list(&found.values),
            })),
        });
    }
}

/// Reads the changes at `indices`, one result each, in order.
async fn read<B: Backend + ?Sized>(
    backend: &B,
    zone: &str,
    changes: &[Change],
    indices: &[usize],
) -> Vec<Result<Published, BackendError>> {
    let batch: Vec<Change> = indices
        .iter()
        .map(|index| changes[*index].clone())
        .collect();
    let mut found = backend.read(zone, &batch).await.into_iter();
    indices
        .iter()
        .map(|_| {
            found.next().map_or_else(
                || Err(BackendError::transient(Failure::NoResult)),
                |result| result.map(normalize),
            )
        })
        .collect()
}

/// A backend may list values in any order, or twice.
fn normalize(mut published: Published) -> Published {
    published.values = crate::backend::normalized(published.values);
    published
}

/// The RRset already is what the change wants: the same values, and the same TTL where the backend
/// says (a delete only needs the RRset gone).
fn already_right(change: &Change, found: &Published) -> bool {
    match &change.wanted {
        Wanted::Absent => found.values.is_empty(),
        Wanted::Values(values) => {
            *values == found.values && found.ttl.is_none_or(|ttl| ttl == change.ttl)
        }
    }
}

/// The change would create a host the backend does not hold yet.
fn creates(change: &Change, found: &Published) -> bool {
    !change.is_delete() && !found.name_exists && found.values.is_empty()
}

fn list(values: &[Value]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`apply_batch`] as a method of any backend, with names created as needed: for callers (and
/// tests) that hold one backend and no zone config.
#[async_trait::async_trait]
pub trait Reconcile {
    async fn apply_batch(&self, zone: &str, changes: &[Change]) -> BatchResults;

    /// A batch of one.
    async fn apply(&self, change: &Change) -> Result<Applied, BackendError>;
}

#[async_trait::async_trait]
impl<B: Backend + ?Sized> Reconcile for B {
    async fn apply_batch(&self, zone: &str, changes: &[Change]) -> BatchResults {
        let rules = BatchRules {
            create_missing: true,
        };
        apply_batch(self, zone, changes, rules).await
    }

    async fn apply(&self, change: &Change) -> Result<Applied, BackendError> {
        Reconcile::apply_batch(self, &change.zone, std::slice::from_ref(change))
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult)))
    }
}
