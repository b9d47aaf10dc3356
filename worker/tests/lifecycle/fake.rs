//! Why this exists: a backend whose writes a test scripts per host and family (applied, transient
//! or permanent failure) for each change of a batch, or takes down for a while, which keeps and
//! publishes the records it was asked for, when each write came and the batches they came in.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use dyndns_queue::Family;
use dyndns_worker::backend::{
    Backend, BackendError, Change, Failure, PowerDnsError, Published, ReadResults, RecordType,
    Value, WriteResults,
};
use tokio::time::Instant;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    Apply,
    Transient(&'static str),
    Permanent(&'static str),
    /// A 429 from an HTTP API with `Retry-After: <seconds>`.
    TooManyRequests(u64),
}

/// A call the worker made.
#[derive(Debug, Clone)]
pub struct Call {
    pub change: Change,
    pub at: Instant,
}

type Hook = Box<dyn FnMut(&Change) + Send>;

#[derive(Default)]
pub struct FakeBackend {
    /// Answers per (host, family), in order; once used up, every call applies.
    script: Mutex<HashMap<(String, Family), VecDeque<Step>>>,
    calls: Mutex<Vec<Call>>,
    batches: Mutex<Vec<(String, Vec<Change>)>>,
    records: Mutex<HashMap<(String, Family), IpAddr>>,
    /// Runs inside each call, before it answers: the test acting "while the backend works".
    hook: Mutex<Option<Hook>>,
    /// How long each write takes (tokio time, which the tests pause).
    write_delay: Mutex<std::time::Duration>,
    /// Until then every write fails for now with this message, whatever the script says.
    down_until: Mutex<Option<(Instant, &'static str)>>,
}

impl FakeBackend {
    pub fn script(&self, host: &str, family: Family, steps: impl IntoIterator<Item = Step>) {
        self.script
            .lock()
            .expect("script lock")
            .entry((host.to_owned(), family))
            .or_default()
            .extend(steps);
    }

    pub fn on_call(&self, hook: impl FnMut(&Change) + Send + 'static) {
        *self.hook.lock().expect("hook lock") = Some(Box::new(hook));
    }

    /// Makes each write take `delay`, as a remote API would.
    pub fn delay_writes(&self, delay: std::time::Duration) {
        *self.write_delay.lock().expect("delay lock") = delay;
    }

    /// An outage: for `length` of tokio time from now every write fails for now with `message`,
    /// its `{address}` filled with the change's, as a command backend's error quotes its argv.
    pub fn down_for(&self, length: std::time::Duration, message: &'static str) {
        *self.down_until.lock().expect("down lock") = Some((Instant::now() + length, message));
    }

    /// Publishes `address` at `host` before the worker runs, as if a person had added it.
    pub fn hold(&self, host: &str, address: IpAddr) {
        let family = match address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        self.records
            .lock()
            .expect("records lock")
            .insert((host.to_owned(), family), address);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls lock").clone()
    }

    pub fn record(&self, host: &str, family: Family) -> Option<IpAddr> {
        self.records
            .lock()
            .expect("records lock")
            .get(&(host.to_owned(), family))
            .copied()
    }
}

/// The one address of an address change (a test that deletes looks at `is_delete` first).
pub trait SoleAddress {
    fn sole_address(&self) -> IpAddr;
}

impl SoleAddress for Change {
    fn sole_address(&self) -> IpAddr {
        match self.values() {
            [Value::Address(address)] => *address,
            other => panic!("the worker made a change that is not one address: {other:?}"),
        }
    }
}

fn family_of(change: &Change) -> Family {
    match change.record_type {
        RecordType::Aaaa => Family::V6,
        _ => Family::V4,
    }
}

#[async_trait::async_trait]
impl Backend for FakeBackend {
    fn name(&self) -> &'static str {
        "fake"
    }

    /// What the fake holds, as a DNS server would publish it.
    async fn read(&self, _zone: &str, changes: &[Change]) -> ReadResults {
        let records = self.records.lock().expect("records lock");
        changes
            .iter()
            .map(|change| {
                let held = records.get(&(change.host.clone(), family_of(change)));
                Ok(Published {
                    values: held
                        .map(|address| Value::Address(*address))
                        .into_iter()
                        .collect(),
                    ttl: None,
                    name_exists: records.keys().any(|(host, _)| *host == change.host),
                })
            })
            .collect()
    }

    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let delay = *self.write_delay.lock().expect("delay lock");
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.batches
            .lock()
            .expect("batches lock")
            .push((zone.to_owned(), changes.to_vec()));
        let mut results = Vec::with_capacity(changes.len());
        for change in changes {
            results.push(self.write_change(change));
            // A real backend awaits its I/O: let a hook's signal reach the worker's other tasks.
            tokio::task::yield_now().await;
        }
        results
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        Ok(format!("fake zone {zone}"))
    }

    /// One round trip per write call, as a batched backend's one request.
    fn round_trips(&self) -> u64 {
        self.batches.lock().expect("batches lock").len() as u64
    }
}

impl FakeBackend {
    /// The batches the worker handed over: (zone, changes), in order.
    pub fn batches(&self) -> Vec<(String, Vec<Change>)> {
        self.batches.lock().expect("batches lock").clone()
    }

    fn write_change(&self, change: &Change) -> Result<(), BackendError> {
        self.calls.lock().expect("calls lock").push(Call {
            change: change.clone(),
            at: Instant::now(),
        });
        if let Some(hook) = self.hook.lock().expect("hook lock").as_mut() {
            hook(change);
        }
        if let Some((until, message)) = *self.down_until.lock().expect("down lock") {
            if Instant::now() < until {
                let text = message.replace("{address}", &change.sole_address().to_string());
                return Err(BackendError::transient(Failure::Said(text)));
            }
        }
        let key = (change.host.clone(), family_of(change));
        let step = self
            .script
            .lock()
            .expect("script lock")
            .get_mut(&key)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Step::Apply);
        match step {
            Step::Apply => {
                let mut records = self.records.lock().expect("records lock");
                if change.is_delete() {
                    records.remove(&key);
                } else {
                    records.insert(key, change.sole_address());
                }
                Ok(())
            }
            Step::Transient(message) => {
                Err(BackendError::transient(Failure::Said(message.to_owned())))
            }
            Step::Permanent(message) => {
                Err(BackendError::permanent(Failure::Said(message.to_owned())))
            }
            Step::TooManyRequests(seconds) => Err(BackendError::transient(PowerDnsError::Status {
                method: "PATCH",
                url: "http://127.0.0.1:8081/api/v1/servers/localhost/zones/example.com.".to_owned(),
                status: 429,
                message: "Too Many Requests".to_owned(),
                retry_after: Some(std::time::Duration::from_secs(seconds)),
            })),
        }
    }
}
