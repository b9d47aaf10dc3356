//! Why this exists: some people only want to know when their address changes (the token-URL
//! system we replace does just that). `backend = "none"` changes no DNS: the worker still records
//! every change in `applied.json` (state and history) and logs it, as for any backend.
//!
//! It is an honest adapter, not a stub: it holds in memory what it was told to publish, so a read
//! returns the last write, an identical second change is `unchanged`, and the worker's read-back
//! holds. Memory starts empty with each worker start, so the first change after a restart is
//! written (recorded) again, which costs nothing. A zone with `create_missing = false` refuses every
//! host here: this backend holds no names until it is told of them.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{
    Backend, BackendError, Change, Published, ReadResults, RecordType, Value, WriteResults,
};

/// Publishes nothing; remembers what it was told. It makes no round trips (`round_trips` is 0).
#[derive(Debug, Default)]
pub struct NoneBackend {
    /// The RRsets it was told of, by host and type, with their TTL.
    told: Mutex<HashMap<(String, RecordType), Told>>,
}

/// One RRset as it was written.
#[derive(Debug)]
struct Told {
    values: Vec<Value>,
    ttl: u32,
}

impl NoneBackend {
    pub fn new() -> NoneBackend {
        NoneBackend::default()
    }
}

#[async_trait::async_trait]
impl Backend for NoneBackend {
    fn name(&self) -> &'static str {
        "none"
    }

    async fn read(&self, _zone: &str, changes: &[Change]) -> ReadResults {
        // A panic elsewhere while holding the lock leaves the map whole: every insert is one call.
        let told = self.told.lock().unwrap_or_else(PoisonError::into_inner);
        changes
            .iter()
            .map(|change| {
                let rrset = told.get(&(change.host.clone(), change.record_type));
                Ok(Published {
                    values: rrset.map(|rrset| rrset.values.clone()).unwrap_or_default(),
                    ttl: rrset.map(|rrset| rrset.ttl),
                    name_exists: [RecordType::A, RecordType::Aaaa, RecordType::Txt]
                        .into_iter()
                        .any(|other| told.contains_key(&(change.host.clone(), other))),
                })
            })
            .collect()
    }

    async fn write(&self, _zone: &str, changes: &[Change]) -> WriteResults {
        let mut told = self.told.lock().unwrap_or_else(PoisonError::into_inner);
        for change in changes {
            let key = (change.host.clone(), change.record_type);
            if change.is_delete() {
                told.remove(&key);
            } else {
                let rrset = Told {
                    values: change.values().to_vec(),
                    ttl: change.ttl,
                };
                told.insert(key, rrset);
            }
        }
        changes.iter().map(|_| Ok(())).collect()
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        Ok(format!(
            "publishes nothing for zone {zone}: changes are only recorded in applied.json and the log"
        ))
    }
}
