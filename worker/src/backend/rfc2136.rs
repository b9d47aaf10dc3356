//! Why this exists: the `rfc2136` backend — publishes records on any DNS server that takes signed
//! dynamic updates (BIND, Knot, ...). Per batch it opens one TCP connection, reads every RRset
//! with TSIG-signed queries sent back to back, and writes the batch in one TSIG-signed,
//! prerequisite-free UPDATE (split only where a message would grow too large), checking each
//! answer's rcode and signature. Messages and TSIG come from hickory-proto.

mod error;
mod key_file;
mod message;
mod transport;
mod tsig;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType as WireType};

use super::{Backend, BackendError, Change, Published, ReadResults, WriteResults};
use crate::secret::Secret;
pub use error::{Rfc2136Error, Rfc2136SetupError};
use message::Answer;
use transport::Connection;
pub use transport::TransportError;
pub use tsig::Algorithm;

/// An UPDATE carries changes up to this many bytes (counted uncompressed, so the message is
/// smaller): a TCP DNS message holds 65,535, and the zone, header and TSIG need a few hundred.
/// About 700 address changes fit, so 10,000 hosts take 15 UPDATEs.
const MAX_UPDATE_BYTES: usize = 60 * 1024;
/// At most this many queries are on the wire at once: answers are matched by id (16 bits), and
/// a primary need not hold more than this for one client.
const PIPELINE_WINDOW: usize = 1024;

/// What the worker's config gives the backend.
#[derive(Debug, Clone)]
pub struct Rfc2136Options {
    /// `host:port` of the primary that takes updates.
    pub server: String,
    pub key_name: String,
    pub algorithm: Algorithm,
    /// The base64 secret alone, or a BIND key file.
    pub secret: Secret,
    /// For connecting, and for each answer.
    pub timeout: Duration,
}

pub struct Rfc2136 {
    server: String,
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
            .map_err(Rfc2136SetupError::Key)?;
        Ok(Rfc2136 {
            server: options.server,
            key,
            timeout: options.timeout,
            updates: AtomicU64::new(0),
        })
    }
}

/// One signed request and what its answer is read for.
struct Request {
    id: u16,
    bytes: Vec<u8>,
    mac: Vec<u8>,
    owner: Name,
    record_type: WireType,
}

/// One TCP connection to the primary for one batch (or one check).
struct Session<'a> {
    backend: &'a Rfc2136,
    zone: &'a str,
    connection: Connection,
    next_id: u16,
}

impl Session<'_> {
    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn transport(&self, source: TransportError) -> Rfc2136Error {
        Rfc2136Error::Transport {
            server: self.backend.server.clone(),
            zone: self.zone.to_owned(),
            source,
        }
    }

    /// `message` (given this session's next id) signed, with what its answer is read for.
    fn sign(
        &mut self,
        what: &'static str,
        mut message: Message,
        owner: Name,
        record_type: WireType,
    ) -> Result<Request, Rfc2136Error> {
        let id = self.id();
        message.set_id(id);
        let signed = self
            .backend
            .key
            .sign(message)
            .map_err(|problem| Rfc2136Error::Build {
                zone: self.zone.to_owned(),
                what,
                problem,
            })?;
        Ok(Request {
            id,
            bytes: signed.bytes,
            mac: signed.mac,
            owner,
            record_type,
        })
    }

    /// Sends `requests` back to back; each answer read, or why it is not taken. An error for the
    /// whole exchange means the connection is of no further use.
    async fn exchange(
        &mut self,
        what: &'static str,
        requests: &[Request],
        accepted_rcodes: &[u16],
    ) -> Result<Vec<Result<Answer, Rfc2136Error>>, Rfc2136Error> {
        let wire: Vec<(u16, Vec<u8>)> = requests
            .iter()
            .map(|request| (request.id, request.bytes.clone()))
            .collect();
        let answers = self
            .connection
            .exchange(&wire)
            .await
            .map_err(|source| self.transport(source))?;
        Ok(requests
            .iter()
            .zip(answers)
            .map(|(request, answer)| self.check(what, request, &answer, accepted_rcodes))
            .collect())
    }

    /// The answer to `request` when its rcode is one of `accepted` and it is signed by our key
    /// over that request. An error answer is reported by its rcode even unsigned: RFC 8945 5.3.2
    /// has BADKEY and BADSIG answered unsigned, and a forged one can only fail a change, never
    /// pass one off as done.
    fn check(
        &self,
        what: &'static str,
        request: &Request,
        bytes: &[u8],
        accepted: &[u16],
    ) -> Result<Answer, Rfc2136Error> {
        let answer =
            message::read(bytes, &request.owner, request.record_type).map_err(|problem| {
                Rfc2136Error::Malformed {
                    server: self.backend.server.clone(),
                    zone: self.zone.to_owned(),
                    problem,
                }
            })?;
        if answer.tsig_error != 0 || !accepted.contains(&answer.rcode) {
            return Err(Rfc2136Error::Rcode {
                server: self.backend.server.clone(),
                zone: self.zone.to_owned(),
                what,
                rcode: answer.error_code(),
            });
        }
        self.backend
            .key
            .verify(&request.mac, bytes, answer.signed)
            .map_err(|problem| Rfc2136Error::Unsigned {
                server: self.backend.server.clone(),
                zone: self.zone.to_owned(),
                what,
                key: self.backend.key.name(),
                problem,
            })?;
        Ok(answer)
    }

    /// One signed UPDATE of this zone carrying `changes`; Ok when the server answered NOERROR,
    /// signed by our key. No changes at all makes the empty UPDATE `check` sends.
    async fn update(
        &mut self,
        zone: &Name,
        changes: &[(Name, &Change)],
    ) -> Result<(), Rfc2136Error> {
        let update = message::update(
            0,
            zone,
            changes.iter().map(|(owner, change)| (owner, *change)),
        );
        let request = self.sign("UPDATE", update, zone.clone(), WireType::SOA)?;
        self.exchange("UPDATE", std::slice::from_ref(&request), &[0])
            .await?
            .pop()
            .unwrap_or_else(|| Err(self.transport(TransportError::Unexpected(request.id))))
            .map(|_| ())
    }
}

impl Rfc2136 {
    async fn connect<'a>(&'a self, zone: &'a str) -> Result<Session<'a>, Rfc2136Error> {
        let connection = Connection::open(&self.server, self.timeout)
            .await
            .map_err(|source| Rfc2136Error::Transport {
                server: self.server.clone(),
                zone: zone.to_owned(),
                source,
            })?;
        let seed = uuid::Uuid::new_v4();
        Ok(Session {
            backend: self,
            zone,
            connection,
            next_id: u16::from_be_bytes([seed.as_bytes()[0], seed.as_bytes()[1]]),
        })
    }

    fn name(zone: &str, text: &str) -> Result<Name, Rfc2136Error> {
        message::name(text).map_err(|source| Rfc2136Error::Name {
            zone: zone.to_owned(),
            source,
        })
    }

    /// Every change's RRset, queried in windows of [`PIPELINE_WINDOW`] over one connection.
    async fn read_all(&self, zone: &str, changes: &[Change]) -> ReadResults {
        let mut session = match self.connect(zone).await {
            Ok(session) => session,
            Err(error) => return fail_each(error, changes.len()),
        };
        let mut results: ReadResults = Vec::with_capacity(changes.len());
        for window in changes.chunks(PIPELINE_WINDOW) {
            // Each change's request, or why it has none (its name).
            let mut requests = Vec::with_capacity(window.len());
            let mut slots = Vec::with_capacity(window.len());
            for change in window {
                let record_type = message::wire_type(change.record_type);
                let request = Rfc2136::name(zone, &change.host).and_then(|owner| {
                    let query = message::query(0, &owner, record_type);
                    session.sign("query", query, owner, record_type)
                });
                match request {
                    Ok(request) => {
                        slots.push(Ok(requests.len()));
                        requests.push(request);
                    }
                    Err(error) => slots.push(Err(error)),
                }
            }
            let mut answers = match session.exchange("query", &requests, &[0, 3]).await {
                Ok(answers) => answers.into_iter().map(Some).collect::<Vec<_>>(),
                Err(error) => {
                    let left = changes.len() - results.len();
                    results.extend(fail_each(error, left));
                    return results;
                }
            };
            for slot in slots {
                let answer = slot.and_then(|at| {
                    answers
                        .get_mut(at)
                        .and_then(Option::take)
                        .unwrap_or_else(|| Err(session.transport(TransportError::Unexpected(0))))
                });
                results.push(answer.map(published).map_err(BackendError::new));
            }
        }
        results
    }

    /// One UPDATE per run of changes up to [`MAX_UPDATE_BYTES`]. A refused UPDATE fails its own
    /// changes and the next one is still sent; a broken connection fails the rest with it.
    async fn write_all(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let zone_name = match Rfc2136::name(zone, zone) {
            Ok(name) => name,
            Err(error) => return fail_each(error, changes.len()),
        };
        let mut session = match self.connect(zone).await {
            Ok(session) => session,
            Err(error) => return fail_each(error, changes.len()),
        };
        let mut results: WriteResults = Vec::with_capacity(changes.len());
        let mut start = 0;
        while start < changes.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < changes.len() {
                let more = message::update_bytes(&changes[end]);
                if end > start && bytes + more > MAX_UPDATE_BYTES {
                    break;
                }
                bytes += more;
                end += 1;
            }
            let chunk = &changes[start..end];
            let owners: Result<Vec<(Name, &Change)>, Rfc2136Error> = chunk
                .iter()
                .map(|change| Ok((Rfc2136::name(zone, &change.host)?, change)))
                .collect();
            let sent = match owners {
                Ok(owners) => {
                    self.updates.fetch_add(1, Ordering::Relaxed);
                    session.update(&zone_name, &owners).await
                }
                Err(error) => Err(error),
            };
            match sent {
                Ok(()) => results.extend(chunk.iter().map(|_| Ok(()))),
                Err(error @ Rfc2136Error::Transport { .. })
                | Err(error @ Rfc2136Error::Malformed { .. }) => {
                    results.extend(fail_each(error, changes.len() - start));
                    return results;
                }
                Err(error) => results.extend(fail_each(error, chunk.len())),
            }
            start = end;
        }
        results
    }

    /// A signed SOA query (the key is known, the server answers authoritatively for the zone),
    /// then a signed UPDATE that changes nothing (the server takes updates for the zone from
    /// this key; an empty update leaves the zone and its serial as they are).
    async fn check_zone(&self, zone: &str) -> Result<String, Rfc2136Error> {
        let zone_name = Rfc2136::name(zone, zone)?;
        let mut session = self.connect(zone).await?;
        let query = message::query(0, &zone_name, WireType::SOA);
        let request = session.sign("SOA query", query, zone_name.clone(), WireType::SOA)?;
        let answer = session
            .exchange("SOA query", std::slice::from_ref(&request), &[0, 3])
            .await?
            .pop()
            .unwrap_or_else(|| Err(session.transport(TransportError::Unexpected(request.id))))?;
        if !answer.authoritative || answer.records == 0 {
            return Err(Rfc2136Error::NotAuthoritative {
                server: self.server.clone(),
                zone: zone.to_owned(),
            });
        }
        session.update(&zone_name, &[]).await?;
        Ok(format!(
            "{} serves zone {zone} and takes signed updates from key {}",
            self.server,
            self.key.name()
        ))
    }
}

/// `count` results failed by one error.
fn fail_each<T>(error: Rfc2136Error, count: usize) -> Vec<Result<T, BackendError>> {
    BackendError::for_each(error, count)
        .into_iter()
        .map(Err)
        .collect()
}

/// What an answer to a query says is published: NOERROR with or without records (NODATA: the
/// name exists without this type), or NXDOMAIN (the name does not exist).
fn published(answer: Answer) -> Published {
    if answer.rcode == 3 {
        return Published::default();
    }
    Published {
        ttl: answer.ttl.filter(|_| !answer.values.is_empty()),
        values: answer.values,
        name_exists: true,
    }
}

#[async_trait::async_trait]
impl Backend for Rfc2136 {
    fn name(&self) -> &'static str {
        "rfc2136"
    }

    /// One signed query per change, pipelined over one TCP connection.
    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        self.read_all(zone, changes).await
    }

    /// One signed UPDATE per run of changes that fits a message.
    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        self.write_all(zone, changes).await
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        self.check_zone(zone).await.map_err(BackendError::new)
    }

    fn round_trips(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Failure;
    use hickory_proto::op::{MessageType, ResponseCode};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A primary that answers every request NOERROR, unsigned or signed by `signer` (a key the
    /// worker does not hold, and not over the request: what a forger could send).
    async fn forger(signer: Option<tsig::Key>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let signer = signer.clone();
                tokio::spawn(async move {
                    while let Ok(len) = stream.read_u16().await {
                        let mut request = vec![0; usize::from(len)];
                        stream.read_exact(&mut request).await.unwrap();
                        let mut answer = Message::from_vec(&request).unwrap();
                        answer.take_signature();
                        answer
                            .set_message_type(MessageType::Response)
                            .set_response_code(ResponseCode::NoError);
                        let bytes = match &signer {
                            Some(key) => key.sign(answer).unwrap().bytes,
                            None => answer.to_vec().unwrap(),
                        };
                        let len = u16::try_from(bytes.len()).unwrap().to_be_bytes();
                        stream.write_all(&len).await.unwrap();
                        stream.write_all(&bytes).await.unwrap();
                    }
                });
            }
        });
        address
    }

    fn backend(server: String) -> Rfc2136 {
        Rfc2136::new(Rfc2136Options {
            server,
            key_name: "ddns-key".to_owned(),
            algorithm: Algorithm::HmacSha256,
            secret: Secret::new("c2VjcmV0"),
            timeout: Duration::from_secs(5),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn a_noerror_not_signed_by_our_key_over_our_request_is_refused() {
        let other = tsig::Key::new("ddns-key", Algorithm::HmacSha256, b"other".to_vec()).unwrap();
        for (signer, problem) in [(None, "carries no TSIG"), (Some(other), "does not verify")] {
            let backend = backend(forger(signer).await);
            let change = Change::address(
                "home.example.test",
                "example.test",
                "home",
                "192.0.2.1".parse().unwrap(),
                60,
            );
            for (what, error) in [
                (
                    "UPDATE",
                    backend
                        .write("example.test", std::slice::from_ref(&change))
                        .await,
                ),
                (
                    "query",
                    backend
                        .read("example.test", std::slice::from_ref(&change))
                        .await
                        .into_iter()
                        .map(|r| r.map(|_| ()))
                        .collect(),
                ),
            ] {
                let error = error.into_iter().next().unwrap().unwrap_err();
                assert!(!error.is_transient(), "{error}");
                let text = error.to_string();
                assert!(
                    text.contains(&format!("answer of {}", backend.server)),
                    "{text}"
                );
                assert!(text.contains(what) && text.contains(problem), "{text}");
                assert!(
                    matches!(error, BackendError::Permanent(ref f) if matches!(**f, Failure::Rfc2136(Rfc2136Error::Unsigned { .. }))),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn a_secret_that_is_not_base64_is_refused_without_showing_it() {
        let error = Rfc2136::new(Rfc2136Options {
            server: "127.0.0.1:53".to_owned(),
            key_name: "dyndns".to_owned(),
            algorithm: Algorithm::HmacSha256,
            secret: Secret::new("not base64 at all!"),
            timeout: Duration::from_secs(1),
        })
        .err()
        .unwrap();
        let text = error.to_string();
        assert!(text.contains("tsig_secret_file"), "{text}");
        assert!(!text.contains("not base64 at all"), "{text}");
    }
}
