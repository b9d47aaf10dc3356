//! Why this exists: the `rfc2136` backend — publishes addresses on any DNS server that takes signed
//! dynamic updates (BIND, Knot, ...): it reads each RRset, sends the changed ones in one TSIG-signed
//! UPDATE per batch over TCP, checks the signed answer and reads the names back.

mod key_file;
mod tsig;
mod wire;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Applied, Backend, BackendError, BatchResults, Change};
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
    pub secret_file: PathBuf,
    /// For connecting and for each answer.
    pub timeout: Duration,
}

/// Why the backend could not be set up from its config.
#[derive(Debug, thiserror::Error)]
pub enum Rfc2136SetupError {
    #[error("[backend.rfc2136] tsig_secret_file {path}: {source}")]
    ReadSecret {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("[backend.rfc2136] tsig_secret_file {path}: {problem}")]
    Secret {
        path: PathBuf,
        problem: key_file::KeyFileProblem,
    },
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
    #[error("rfc2136: {server} accepted the UPDATE of zone {zone} but {host} {record_type} reads back as {found:?}, not {wanted}")]
    NotTaken {
        server: String,
        zone: String,
        host: String,
        record_type: &'static str,
        found: Vec<IpAddr>,
        wanted: IpAddr,
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
            | Rfc2136Error::Malformed { .. }
            | Rfc2136Error::NotTaken { .. } => true,
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
}

impl Rfc2136 {
    /// Reads the secret (the worker runs as root; the file may be readable by root only).
    pub fn new(options: Rfc2136Options) -> Result<Rfc2136, Rfc2136SetupError> {
        let secret = read_secret(&options.secret_file)?;
        let key = tsig::Key::new(&options.key_name, options.algorithm, secret)
            .map_err(Rfc2136SetupError::KeyName)?;
        Ok(Rfc2136 {
            server: options.server,
            key_name: options.key_name,
            key,
            timeout: options.timeout,
        })
    }
}

fn read_secret(path: &Path) -> Result<Vec<u8>, Rfc2136SetupError> {
    let text = std::fs::read_to_string(path).map_err(|source| Rfc2136SetupError::ReadSecret {
        path: path.to_owned(),
        source,
    })?;
    key_file::secret(&text).map_err(|problem| Rfc2136SetupError::Secret {
        path: path.to_owned(),
        problem,
    })
}

/// One change ready for the wire.
struct Pending<'a> {
    index: usize,
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

    /// The addresses the RRset of `pending` holds now (empty when the name or type is absent).
    async fn read(&mut self, pending: &Pending<'_>) -> Result<Vec<IpAddr>, Rfc2136Error> {
        let id = self.id();
        let message = wire::query(id, &pending.owner, pending.record_type);
        let answer = self.round_trip(&message).await?;
        let response = wire::parse(&answer, pending.record_type).map_err(|p| self.malformed(p))?;
        match response.rcode {
            // NXDOMAIN: the name does not exist yet, so it holds no address.
            0 | 3 => {
                let mut addresses = response.addresses;
                addresses.sort();
                addresses.dedup();
                Ok(addresses)
            }
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

    /// Reads, writes what differs, reads back; fills `results` for the changes it settles and
    /// returns the error that stopped the rest.
    async fn run(
        &self,
        zone: &str,
        pending: &[Pending<'_>],
        results: &mut [Option<Result<Applied, BackendError>>],
    ) -> Result<(), Rfc2136Error> {
        let mut session = self.connect(zone).await?;
        let mut previous = Vec::with_capacity(pending.len());
        for one in pending {
            previous.push(session.read(one).await?);
        }
        let mut to_write = Vec::new();
        for (one, previous) in pending.iter().zip(previous) {
            if previous == [one.change.address] {
                results[one.index] = Some(Ok(Applied {
                    previous,
                    changed: false,
                }));
            } else {
                let rrs = wire::replace_rrset(&one.owner, one.change.address, one.change.ttl);
                to_write.push((one, previous, rrs));
            }
        }
        let mut start = 0;
        while start < to_write.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < to_write.len()
                && end - start < MAX_CHANGES_PER_UPDATE
                && (end == start || bytes + to_write[end].2.len() <= MAX_UPDATE_BYTES)
            {
                bytes += to_write[end].2.len();
                end += 1;
            }
            let chunk = &to_write[start..end];
            let updates: Vec<&[u8]> = chunk.iter().map(|(_, _, rrs)| rrs.as_slice()).collect();
            session.update(&updates).await?;
            for (one, previous, _) in chunk {
                let now = session.read(one).await?;
                results[one.index] = Some(if now == [one.change.address] {
                    Ok(Applied {
                        previous: previous.clone(),
                        changed: true,
                    })
                } else {
                    Err(BackendError::new(Rfc2136Error::NotTaken {
                        server: self.server.clone(),
                        zone: zone.to_owned(),
                        host: one.change.host.clone(),
                        record_type: one.change.record_type().as_str(),
                        found: now,
                        wanted: one.change.address,
                    }))
                });
            }
            start = end;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Backend for Rfc2136 {
    fn name(&self) -> &'static str {
        "rfc2136"
    }

    async fn apply_batch(&self, zone: &str, changes: &[Change]) -> BatchResults {
        let mut results: Vec<Option<Result<Applied, BackendError>>> =
            changes.iter().map(|_| None).collect();
        let mut pending = Vec::with_capacity(changes.len());
        for (index, change) in changes.iter().enumerate() {
            if let Err(refused) = change.check_in(zone) {
                results[index] = Some(Err(BackendError::new(refused)));
                continue;
            }
            match wire::name(&change.host) {
                Ok(owner) => pending.push(Pending {
                    index,
                    change,
                    owner,
                    record_type: match change.address {
                        IpAddr::V4(_) => wire::TYPE_A,
                        IpAddr::V6(_) => wire::TYPE_AAAA,
                    },
                }),
                Err(source) => {
                    results[index] = Some(Err(BackendError::new(Rfc2136Error::Name {
                        zone: zone.to_owned(),
                        source,
                    })))
                }
            }
        }
        if !pending.is_empty() {
            if let Err(stopped) = self.run(zone, &pending, &mut results).await {
                let open = results.iter().filter(|r| r.is_none()).count();
                let mut errors = BackendError::for_each(stopped, open).into_iter();
                for slot in results.iter_mut().filter(|r| r.is_none()) {
                    *slot = errors.next().map(Err);
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(BackendError::transient(super::Failure::NoResult))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_secret_file_names_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.key");
        let error = Rfc2136::new(Rfc2136Options {
            server: "127.0.0.1:53".to_owned(),
            key_name: "dyndns".to_owned(),
            algorithm: Algorithm::HmacSha256,
            secret_file: path.clone(),
            timeout: Duration::from_secs(1),
        })
        .err()
        .unwrap();
        let text = error.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("tsig_secret_file"), "{text}");
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
