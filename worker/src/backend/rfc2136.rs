//! Why this exists: the `rfc2136` backend — publishes records on any DNS server that takes signed
//! dynamic updates (BIND, Knot, ...): it reads each RRset with a query over one TCP connection, and
//! writes a batch in one TSIG-signed UPDATE (split only where a message would grow too large),
//! checking the rcode and the answer's signature.

mod key_file;
mod tsig;
mod wire;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Backend, BackendError, Change, Published, ReadResults, WriteResults};
use crate::secret::Secret;
pub use tsig::Algorithm;

/// At most this many changes go into one UPDATE message ...
const MAX_CHANGES_PER_UPDATE: usize = 200;
/// ... and at most this many bytes (a TCP DNS message may hold 65,535; TSIG and the zone need room).
const MAX_UPDATE_BYTES: usize = 60 * 1024;

/// What the worker's config gives the backend.
#[derive(Debug, Clone)]
pub struct Rfc2136Options {
    /// `host:port` of the primary that takes updates.
    pub server: String,
    pub key_name: String,
    pub algorithm: Algorithm,
    /// The base64 secret alone, or a BIND key file.
    pub secret: Secret,
    /// For connecting and for each answer.
    pub timeout: Duration,
}

/// Why the backend could not be set up from its config.
#[derive(Debug, thiserror::Error)]
pub enum Rfc2136SetupError {
    #[error("[backend.rfc2136] tsig_secret_file: {0}")]
    Secret(key_file::KeyFileProblem),
    #[error("[backend.rfc2136] tsig_key_name: {0}")]
    KeyName(wire::BadName),
}

/// Why a batch (or part of it) did not go through.
#[derive(Debug, thiserror::Error)]
pub enum Rfc2136Error {
    #[error("rfc2136: cannot connect to {server} for zone {zone}: {source}")]
    Connect {
        server: String,
        zone: String,
        source: std::io::Error,
    },
    #[error("rfc2136: {server} did not answer within {secs}s for zone {zone}")]
    Timeout {
        server: String,
        zone: String,
        secs: u64,
    },
    #[error("rfc2136: talking to {server} for zone {zone}: {source}")]
    Io {
        server: String,
        zone: String,
        source: std::io::Error,
    },
    #[error("rfc2136: {server} answered {rcode} to the {what} for zone {zone}")]
    Rcode {
        server: String,
        zone: String,
        what: &'static str,
        rcode: &'static str,
    },
    #[error("rfc2136: {server} sent a malformed answer for zone {zone}: {problem}")]
    Malformed {
        server: String,
        zone: String,
        problem: &'static str,
    },
    #[error(
        "rfc2136: the answer of {server} to the UPDATE for zone {zone} is not signed by key {key}"
    )]
    Unsigned {
        server: String,
        zone: String,
        key: String,
    },
    #[error("rfc2136: zone {zone}: {source}")]
    Name { zone: String, source: wire::BadName },
}

impl Rfc2136Error {
    /// Network trouble and a server's SERVFAIL may pass; a refusal, a bad key or a bad name will not.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Rfc2136Error::Connect { .. }
            | Rfc2136Error::Timeout { .. }
            | Rfc2136Error::Io { .. }
            | Rfc2136Error::Malformed { .. } => true,
            Rfc2136Error::Rcode { rcode, .. } => *rcode == "SERVFAIL",
            Rfc2136Error::Unsigned { .. } | Rfc2136Error::Name { .. } => false,
        }
    }
}

pub struct Rfc2136 {
    server: String,
    key_name: String,
    key: tsig::Key,
    timeout: Duration,
    /// UPDATE messages sent so far (the bench's round trips).
    updates: AtomicU64,
}

impl Rfc2136 {
    /// Reads the secret (the worker runs as root; the file may be readable by root only).
    pub fn new(options: Rfc2136Options) -> Result<Rfc2136, Rfc2136SetupError> {
        let secret = key_file::secret(options.secret.text()).map_err(Rfc2136SetupError::Secret)?;
        let key = tsig::Key::new(&options.key_name, options.algorithm, secret)
            .map_err(Rfc2136SetupError::KeyName)?;
        Ok(Rfc2136 {
            server: options.server,
            key_name: options.key_name,
            key,
            timeout: options.timeout,
            updates: AtomicU64::new(0),
        })
    }
}

/// One change ready for the wire.
struct Pending<'a> {
    change: &'a Change,
    owner: Vec<u8>,
    record_type: u16,
}

/// One TCP connection to the server for one batch.
struct Session<'a> {
    backend: &'a Rfc2136,
    zone: &'a str,
    stream: TcpStream,
    next_id: u16,
}

impl Session<'_> {
    fn error_io(&self, source: std::io::Error) -> Rfc2136Error {
        Rfc2136Error::Io {
            server: self.backend.server.clone(),
            zone: self.zone.to_owned(),
            source,
        }
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Sends `message` and returns the answer with the same id (RFC 1035 4.2.2 framing).
    async fn round_trip(&mut self, message: &[u8]) -> Result<Vec<u8>, Rfc2136Error> {
        let timeout = self.backend.timeout;
        let len = u16::try_from(message.len()).map_err(|_| Rfc2136Error::Malformed {
            server: self.backend.server.clone(),
            zone: self.zone.to_owned(),
            problem: "a request grew beyond 65,535 bytes",
        })?;
        let exchange = async {
            let mut framed = Vec::with_capacity(message.len() + 2);
            framed.extend(len.to_be_bytes());
            framed.extend(message);
            self.stream.write_all(&framed).await?;
            loop {
                let answer_len = self.stream.read_u16().await?;
                let mut answer = vec![0u8; usize::from(answer_len)];
                self.stream.read_exact(&mut answer).await?;
                // An answer to an earlier request that timed out is skipped, not taken for this one.
                if answer.get(0..2) == message.get(0..2) {
                    return Ok::<_, std::io::Error>(answer);
                }
            }
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(Rfc2136Error::Timeout {
                server: self.backend.server.clone(),
                zone: self.zone.to_owned(),
                secs: timeout.as_secs(),
            }),
            Ok(Err(source)) => Err(self.error_io(source)),
            Ok(Ok(answer)) => Ok(answer),
        }
    }

    fn malformed(&self, problem: &'static str) -> Rfc2136Error {
        Rfc2136Error::Malformed {
            server: self.backend.server.clone(),
            zone: self.zone.to_owned(),
            problem,
        }
    }

    fn rcode(&self, what: &'static str, rcode: u16) -> Rfc2136Error {
        Rfc2136Error::Rcode {
            server: self.backend.server.clone(),
            zone: self.zone.to_owned(),
            what,
            rcode: wire::rcode_name(rcode),
        }
    }

    /// The RRset of `pending` as published now (empty when the name or type is absent).
    async fn read(&mut self, pending: &Pending<'_>) -> Result<Published, Rfc2136Error> {
        let id = self.id();
        let message = wire::query(id, &pending.owner, pending.record_type);
        let answer = self.round_trip(&message).await?;
        let response = wire::parse(&answer, pending.record_type).map_err(|p| self.malformed(p))?;
        match response.rcode {
            // NOERROR with no answer (NODATA): the name exists without this type.
            0 => Ok(Published {
                values: response.values,
                ttl: None,
                name_exists: true,
            }),
            // NXDOMAIN: the name does not exist yet.
            3 => Ok(Published::default()),
            rcode => Err(self.rcode("query", rcode)),
        }
    }

    /// One signed UPDATE carrying `updates`; Ok when the server answered NOERROR, signed by our key.
    async fn update(&mut self, updates: &[&[u8]]) -> Result<(), Rfc2136Error> {
        let zone = wire::name(self.zone).map_err(|source| Rfc2136Error::Name {
            zone: self.zone.to_owned(),
            source,
        })?;
        let id = self.id();
        let mut message = wire::update(id, &zone, updates);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let request_mac = self.backend.key.sign(&mut message, now);
        let answer = self.round_trip(&message).await?;
        let response = wire::parse(&answer, 0).map_err(|p| self.malformed(p))?;
        debug_assert_eq!(response.id, id);
        // A TSIG error (BADSIG, BADKEY, BADTIME) says more than the NOTAUTH beside it.
        if let Some(tsig) = &response.tsig {
            if tsig.error != 0 {
                return Err(self.rcode("UPDATE", tsig.error));
            }
        }
        if response.rcode != 0 {
            return Err(self.rcode("UPDATE", response.rcode));
        }
        match &response.tsig {
            Some(tsig) if self.backend.key.verifies(&request_mac, &answer, tsig) => Ok(()),
            _ => Err(Rfc2136Error::Unsigned {
                server: self.backend.server.clone(),
                zone: self.zone.to_owned(),
                key: self.backend.key_name.clone(),
            }),
        }
    }
}

impl Rfc2136 {
    async fn connect<'a>(&'a self, zone: &'a str) -> Result<Session<'a>, Rfc2136Error> {
        let connect = TcpStream::connect(self.server.as_str());
        let stream = match tokio::time::timeout(self.timeout, connect).await {
            Err(_) => {
                return Err(Rfc2136Error::Timeout {
                    server: self.server.clone(),
                    zone: zone.to_owned(),
                    secs: self.timeout.as_secs(),
                })
            }
            Ok(Err(source)) => {
                return Err(Rfc2136Error::Connect {
                    server: self.server.clone(),
                    zone: zone.to_owned(),
                    source,
                })
            }
            Ok(Ok(stream)) => stream,
        };
        let seed = uuid::Uuid::new_v4();
        Ok(Session {
            backend: self,
            zone,
            stream,
            next_id: u16::from_be_bytes([seed.as_bytes()[0], seed.as_bytes()[1]]),
        })
    }

    /// The changes ready for the wire, or each one's error.
    fn pending<'a>(
        &self,
        zone: &str,
        changes: &'a [Change],
    ) -> Result<Vec<Pending<'a>>, Rfc2136Error> {
        changes
            .iter()
            .map(|change| {
                let owner = wire::name(&change.host).map_err(|source| Rfc2136Error::Name {
                    zone: zone.to_owned(),
                    source,
                })?;
                Ok(Pending {
                    change,
                    owner,
                    record_type: wire::type_code(change.record_type),
                })
            })
            .collect()
    }

    async fn read_all(
        &self,
        zone: &str,
        changes: &[Change],
    ) -> Result<Vec<Published>, Rfc2136Error> {
        let pending = self.pending(zone, changes)?;
        let mut session = self.connect(zone).await?;
        let mut found = Vec::with_capacity(pending.len());
        for one in &pending {
            found.push(session.read(one).await?);
        }
        Ok(found)
    }

    /// One UPDATE per chunk of at most [`MAX_CHANGES_PER_UPDATE`] changes and
    /// [`MAX_UPDATE_BYTES`]; returns how many changes went through before an error stopped it.
    async fn write_all(&self, zone: &str, changes: &[Change]) -> (usize, Option<Rfc2136Error>) {
        let pending = match self.pending(zone, changes) {
            Ok(pending) => pending,
            Err(error) => return (0, Some(error)),
        };
        let mut session = match self.connect(zone).await {
            Ok(session) => session,
            Err(error) => return (0, Some(error)),
        };
        let rrs: Vec<Vec<u8>> = pending
            .iter()
            .map(|one| wire::replace_rrset(&one.owner, one.change))
            .collect();
        let mut start = 0;
        while start < rrs.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < rrs.len()
                && end - start < MAX_CHANGES_PER_UPDATE
                && (end == start || bytes + rrs[end].len() <= MAX_UPDATE_BYTES)
            {
                bytes += rrs[end].len();
                end += 1;
            }
            let updates: Vec<&[u8]> = rrs[start..end].iter().map(Vec::as_slice).collect();
            self.updates.fetch_add(1, Ordering::Relaxed);
            if let Err(error) = session.update(&updates).await {
                return (start, Some(error));
            }
            start = end;
        }
        (rrs.len(), None)
    }
}

#[async_trait::async_trait]
impl Backend for Rfc2136 {
    fn name(&self) -> &'static str {
        "rfc2136"
    }

    /// One query per change over one TCP connection.
    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        match self.read_all(zone, changes).await {
            Ok(found) => found.into_iter().map(Ok).collect(),
            Err(error) => BackendError::for_each(error, changes.len())
                .into_iter()
                .map(Err)
                .collect(),
        }
    }

    /// One signed UPDATE per chunk; the changes of a chunk that failed, and those after it, fail
    /// with its error.
    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let (done, error) = self.write_all(zone, changes).await;
        let mut results: WriteResults = (0..done).map(|_| Ok(())).collect();
        if let Some(error) = error {
            results.extend(
                BackendError::for_each(error, changes.len() - done)
                    .into_iter()
                    .map(Err),
            );
        }
        results
    }

    /// The zone's SOA, read over the connection an update would use.
    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let soa = Change::delete(zone, zone, "", super::RecordType::A);
        let owner = wire::name(zone).map_err(|source| {
            BackendError::new(Rfc2136Error::Name {
                zone: zone.to_owned(),
                source,
            })
        })?;
        let mut session = self.connect(zone).await.map_err(BackendError::new)?;
        let found = session
            .read(&Pending {
                change: &soa,
                owner,
                record_type: wire::TYPE_SOA,
            })
            .await
            .map_err(BackendError::new)?;
        if found.name_exists {
            Ok(format!("{} serves zone {zone}", self.server))
        } else {
            Err(BackendError::permanent(super::Failure::Said(format!(
                "{} does not serve zone {zone} (NXDOMAIN for its SOA)",
                self.server
            ))))
        }
    }

    fn round_trips(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_that_is_not_base64_is_refused_at_start() {
        let error = Rfc2136::new(Rfc2136Options {
            server: "127.0.0.1:53".to_owned(),
            key_name: "dyndns".to_owned(),
            algorithm: Algorithm::HmacSha256,
            secret: Secret::new("not base64 !!!"),
            timeout: Duration::from_secs(1),
        })
        .err()
        .unwrap();
        let text = error.to_string();
        assert!(text.contains("tsig_secret_file"), "{text}");
        assert!(
            !text.contains("!!!"),
            "the secret must not be shown: {text}"
        );
    }

    #[test]
    fn server_failure_is_transient_refusals_are_permanent() {
        let rcode = |rcode: u16| Rfc2136Error::Rcode {
            server: "127.0.0.1:53".to_owned(),
            zone: "example.test".to_owned(),
            what: "UPDATE",
            rcode: wire::rcode_name(rcode),
        };
        assert!(rcode(2).is_transient());
        for permanent in [5, 9, 10, 16, 17] {
            assert!(!rcode(permanent).is_transient(), "{}", rcode(permanent));
        }
    }
}
