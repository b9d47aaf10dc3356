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
    let before = if reads && !valid.is_empty() {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::Mutex;

    use super::*;
    use crate::backend::{ReadResults, RecordType, WriteResults};

    /// An in-memory backend whose reads and writes a test can see and break.
    #[derive(Default)]
    struct Memory {
        published: Mutex<HashMap<(String, RecordType), Published>>,
        reads: Mutex<usize>,
        writes: Mutex<Vec<Vec<Change>>>,
        /// Writes are accepted but not kept (a server that drops them).
        drop_writes: bool,
        blind: bool,
        fail_reads: bool,
    }

    impl Memory {
        fn holding(host: &str, record_type: RecordType, values: &[&str], ttl: u32) -> Memory {
            let memory = Memory::default();
            memory.published.lock().unwrap().insert(
                (host.to_owned(), record_type),
                Published {
                    values: values.iter().map(|v| Value::Address(ip(v))).collect(),
                    ttl: Some(ttl),
                    name_exists: true,
                },
            );
            memory
        }

        fn writes(&self) -> Vec<Vec<Change>> {
            self.writes.lock().unwrap().clone()
        }
    }

    #[async_trait::async_trait]
    impl Backend for Memory {
        fn name(&self) -> &'static str {
            "memory"
        }

        fn reads(&self) -> bool {
            !self.blind
        }

        async fn read(&self, _zone: &str, changes: &[Change]) -> ReadResults {
            *self.reads.lock().unwrap() += 1;
            if self.fail_reads {
                return BackendError::for_each(Failure::Said("down".to_owned()), changes.len())
                    .into_iter()
                    .map(Err)
                    .collect();
            }
            let published = self.published.lock().unwrap();
            changes
                .iter()
                .map(|change| {
                    let exists = published.keys().any(|(host, _)| *host == change.host);
                    let mut found = published
                        .get(&(change.host.clone(), change.record_type))
                        .cloned()
                        .unwrap_or_default();
                    found.name_exists = exists;
                    Ok(found)
                })
                .collect()
        }

        async fn write(&self, _zone: &str, changes: &[Change]) -> WriteResults {
            self.writes.lock().unwrap().push(changes.to_vec());
            if !self.drop_writes {
                let mut published = self.published.lock().unwrap();
                for change in changes {
                    let key = (change.host.clone(), change.record_type);
                    if change.is_delete() {
                        published.remove(&key);
                    } else {
                        published.insert(
                            key,
                            Published {
                                values: change.values().to_vec(),
                                ttl: Some(change.ttl),
                                name_exists: true,
                            },
                        );
                    }
                }
            }
            changes.iter().map(|_| Ok(())).collect()
        }

        async fn check(&self, zone: &str) -> Result<String, BackendError> {
            Ok(zone.to_owned())
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn home(address: &str) -> Change {
        Change::address("home.example.com", "example.com", "home", ip(address), 60)
    }

    const CREATE: BatchRules = BatchRules {
        create_missing: true,
    };
    const EXISTING_ONLY: BatchRules = BatchRules {
        create_missing: false,
    };

    #[tokio::test]
    async fn an_unchanged_rrset_costs_a_read_and_no_write() {
        let memory = Memory::holding("home.example.com", RecordType::A, &["192.0.2.1"], 60);
        let results = apply_batch(&memory, "example.com", &[home("192.0.2.1")], CREATE).await;
        let applied = results[0].as_ref().unwrap();
        assert!(!applied.changed);
        assert_eq!(applied.previous, [ip("192.0.2.1")]);
        assert!(memory.writes().is_empty());
    }

    #[tokio::test]
    async fn a_different_ttl_is_written() {
        let memory = Memory::holding("home.example.com", RecordType::A, &["192.0.2.1"], 300);
        let results = apply_batch(&memory, "example.com", &[home("192.0.2.1")], CREATE).await;
        assert!(results[0].as_ref().unwrap().changed);
        assert_eq!(memory.writes().len(), 1);
    }

    #[tokio::test]
    async fn a_batch_is_one_read_one_write_and_one_read_back() {
        let memory = Memory::default();
        let changes: Vec<Change> = (1..=50)
            .map(|n| {
                Change::address(
                    &format!("h{n}.example.com"),
                    "example.com",
                    &format!("h{n}"),
                    ip(&format!("192.0.2.{n}")),
                    60,
                )
            })
            .collect();
        let results = apply_batch(&memory, "example.com", &changes, CREATE).await;
        assert!(results.iter().all(|r| r.as_ref().is_ok_and(|a| a.changed)));
        assert_eq!(*memory.reads.lock().unwrap(), 2);
        assert_eq!(memory.writes().len(), 1);
        assert_eq!(memory.writes()[0].len(), 50);
    }

    #[tokio::test]
    async fn a_write_that_did_not_take_is_transient_and_says_what_was_seen() {
        let memory = Memory {
            drop_writes: true,
            ..Memory::holding("home.example.com", RecordType::A, &["192.0.2.1"], 60)
        };
        let results = apply_batch(&memory, "example.com", &[home("192.0.2.9")], CREATE).await;
        let error = results[0].as_ref().unwrap_err();
        assert!(error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("[192.0.2.9]") && text.contains("[192.0.2.1]"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn create_missing_false_refuses_a_new_name_but_updates_an_existing_one() {
        let memory = Memory::holding("home.example.com", RecordType::Aaaa, &["2001:db8::1"], 60);
        let new = Change::address("new.example.com", "example.com", "new", ip("192.0.2.7"), 60);
        let results = apply_batch(
            &memory,
            "example.com",
            &[new, home("192.0.2.1")],
            EXISTING_ONLY,
        )
        .await;
        let refused = results[0].as_ref().unwrap_err();
        assert!(!refused.is_transient(), "{refused}");
        assert!(
            refused.to_string().contains("create_missing = false"),
            "{refused}"
        );
        // The name exists (with AAAA): its A record may be created.
        assert!(results[1].as_ref().unwrap().changed);
        assert_eq!(memory.writes().len(), 1);
        assert_eq!(memory.writes()[0].len(), 1);
    }

    #[tokio::test]
    async fn a_delete_of_an_absent_rrset_is_unchanged_and_a_present_one_is_removed() {
        let memory = Memory::holding("home.example.com", RecordType::A, &["192.0.2.1"], 60);
        let delete =
            |record_type| Change::delete("home.example.com", "example.com", "home", record_type);
        let results = apply_batch(
            &memory,
            "example.com",
            &[delete(RecordType::Aaaa), delete(RecordType::A)],
            EXISTING_ONLY,
        )
        .await;
        assert!(!results[0].as_ref().unwrap().changed);
        assert!(results[1].as_ref().unwrap().changed);
        assert!(memory.published.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_failed_read_fails_each_change_and_writes_nothing() {
        let memory = Memory {
            fail_reads: true,
            ..Memory::default()
        };
        let results = apply_batch(
            &memory,
            "example.com",
            &[home("192.0.2.1"), home("192.0.2.2")],
            CREATE,
        )
        .await;
        assert!(results.iter().all(Result::is_err));
        assert!(memory.writes().is_empty());
    }

    #[tokio::test]
    async fn a_backend_that_cannot_read_gets_every_change_written_and_nothing_read() {
        let memory = Memory {
            blind: true,
            ..Memory::holding("home.example.com", RecordType::A, &["192.0.2.1"], 60)
        };
        let results =
            apply_batch(&memory, "example.com", &[home("192.0.2.1")], EXISTING_ONLY).await;
        assert!(results[0].as_ref().unwrap().changed);
        assert_eq!(*memory.reads.lock().unwrap(), 0);
        assert_eq!(memory.writes().len(), 1);
    }

    #[tokio::test]
    async fn a_change_with_bad_names_fails_alone_and_an_all_bad_batch_calls_nothing() {
        let memory = Memory::default();
        let bad = Change::address(
            "home.example.com",
            "example.com",
            "-ip",
            ip("192.0.2.1"),
            60,
        );
        let results = apply_batch(&memory, "example.com", std::slice::from_ref(&bad), CREATE).await;
        assert!(!results[0].as_ref().unwrap_err().is_transient());
        assert_eq!(*memory.reads.lock().unwrap(), 0);
        let results = apply_batch(&memory, "example.com", &[bad, home("192.0.2.1")], CREATE).await;
        assert!(results[0].is_err());
        assert!(results[1].as_ref().unwrap().changed);
    }
}
