//! Why this exists: the `powerdns` backend, for operators who run PowerDNS Authoritative: applies a
//! zone's batch through its HTTP API in three round trips whatever the batch size (one GET to read
//! the zone, one PATCH of `REPLACE` rrsets for what differs, one GET to confirm it took), so an
//! unchanged address costs no write and a write that did not take is noticed.
//!
//! The API's quirks this follows: names carry a trailing dot; every rrset needs a `ttl`; a PATCH
//! answers 204 with no body and is applied atomically (a 422 rejects the whole batch); errors are
//! JSON `{"error": ...}` for 422 but plain text for 401 and 404.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{Applied, Backend, BackendError, BatchResults, Change, RecordType};

/// The zone read back is JSON of every rrset; a zone of 100,000 hosts stays far below this.
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;
/// What an error reply may add to a message, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum PowerDnsError {
    #[error("cannot read the PowerDNS API key file {path}: {source}")]
    KeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the PowerDNS API key file {path} is empty")]
    EmptyKey { path: PathBuf },
    #[error("PowerDNS answered {method} {url} with HTTP {status}: {message}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("PowerDNS {method} {url} failed: {source}")]
    Transport {
        method: &'static str,
        url: String,
        source: ureq::Error,
    },
    #[error("PowerDNS {method} {url} gave a reply that is not a zone: {source}")]
    Reply {
        method: &'static str,
        url: String,
        source: serde_json::Error,
    },
    #[error(
        "PowerDNS accepted the change of {host} {record_type} to {wanted} but reads back [{found}]"
    )]
    NotTaken {
        host: String,
        record_type: &'static str,
        wanted: IpAddr,
        found: String,
    },
    #[error("the PowerDNS API worker thread stopped: {0}")]
    Join(String),
}

impl PowerDnsError {
    /// Rejections (401/403/404/422 and other 4xx) need a person; 5xx, 429, a dropped connection,
    /// a timeout and a write that did not take may pass.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            PowerDnsError::KeyFile { .. } | PowerDnsError::EmptyKey { .. } => false,
            PowerDnsError::Status { status, .. } => *status == 429 || *status >= 500,
            PowerDnsError::Transport { .. }
            | PowerDnsError::Reply { .. }
            | PowerDnsError::NotTaken { .. }
            | PowerDnsError::Join(_) => true,
        }
    }

    /// How long the server asked us to wait (`Retry-After` in seconds on a 429 or 503).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            PowerDnsError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The PowerDNS Authoritative HTTP API as a backend.
pub struct PowerDns {
    client: Client,
}

/// What a blocking batch needs, cloned into `spawn_blocking` (the agent shares its pool).
#[derive(Clone)]
struct Client {
    agent: ureq::Agent,
    /// `{api_url}/api/v1/servers/{server_id}/zones`.
    zones_url: String,
    api_key: String,
    patches: Arc<AtomicU64>,
}

impl std::fmt::Debug for PowerDns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerDns")
            .field("zones_url", &self.client.zones_url)
            .field("api_key", &"<masked>")
            .finish()
    }
}

impl PowerDns {
    /// Reads the API key from `api_key_file` (first line, trimmed) once, at start.
    pub fn new(
        api_url: &str,
        server_id: &str,
        api_key_file: &Path,
        timeout: Duration,
    ) -> Result<PowerDns, PowerDnsError> {
        let text =
            std::fs::read_to_string(api_key_file).map_err(|source| PowerDnsError::KeyFile {
                path: api_key_file.to_path_buf(),
                source,
            })?;
        let api_key = text.lines().next().unwrap_or("").trim().to_owned();
        if api_key.is_empty() {
            return Err(PowerDnsError::EmptyKey {
                path: api_key_file.to_path_buf(),
            });
        }
        Ok(PowerDns::with_key(api_url, server_id, api_key, timeout))
    }

    /// As [`PowerDns::new`] with the key itself (tests hold it in memory).
    pub fn with_key(api_url: &str, server_id: &str, api_key: String, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            // Statuses are classified here, with the body's message, not turned into bare errors.
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .build();
        PowerDns {
            client: Client {
                agent: ureq::Agent::new_with_config(config),
                zones_url: format!(
                    "{}/api/v1/servers/{server_id}/zones",
                    api_url.trim_end_matches('/')
                ),
                api_key,
                patches: Arc::new(AtomicU64::new(0)),
            },
        }
    }

    /// PATCH requests sent so far (successful or not): for tests and the bench, which prove a batch
    /// costs one write.
    pub fn patches(&self) -> u64 {
        self.client.patches.load(Ordering::Relaxed)
    }
}

#[async_trait::async_trait]
impl Backend for PowerDns {
    fn name(&self) -> &'static str {
        "powerdns"
    }

    async fn apply_batch(&self, zone: &str, changes: &[Change]) -> BatchResults {
        let client = self.client.clone();
        let zone = zone.to_owned();
        let owned = changes.to_vec();
        match tokio::task::spawn_blocking(move || client.apply_batch(&zone, &owned)).await {
            Ok(results) => results,
            Err(join) => {
                BackendError::for_each(PowerDnsError::Join(join.to_string()), changes.len())
                    .into_iter()
                    .map(Err)
                    .collect()
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct ZoneReply {
    #[serde(default)]
    rrsets: Vec<RrSet>,
}

#[derive(Debug, Deserialize)]
struct RrSet {
    name: String,
    #[serde(rename = "type")]
    record_type: String,
    #[serde(default)]
    ttl: Option<u32>,
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Debug, Deserialize)]
struct Record {
    content: String,
    #[serde(default)]
    disabled: bool,
}

/// The published values of each (name with trailing dot, type), with the rrset's TTL.
type Published = HashMap<(String, &'static str), (Vec<IpAddr>, Option<u32>)>;

fn key_of(change: &Change) -> (String, &'static str) {
    (format!("{}.", change.host), change.record_type().as_str())
}

impl Client {
    fn apply_batch(&self, zone: &str, changes: &[Change]) -> BatchResults {
        let mut results: Vec<Option<Result<Applied, BackendError>>> =
            (0..changes.len()).map(|_| None).collect();
        // Names are checked before they go into a URL or a PATCH body.
        let mut valid = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            match change.check_in(zone) {
                Ok(()) => valid.push(index),
                Err(error) => results[index] = Some(Err(BackendError::new(error))),
            }
        }
        let url = format!("{}/{zone}.", self.zones_url);
        let fail_all = |results: &mut Vec<Option<Result<Applied, BackendError>>>,
                        indices: &[usize],
                        error: PowerDnsError| {
            for (index, error) in indices
                .iter()
                .zip(BackendError::for_each(error, indices.len()))
            {
                results[*index] = Some(Err(error));
            }
        };
        if !valid.is_empty() {
            match self.published(&url) {
                Err(error) => fail_all(&mut results, &valid, error),
                Ok(before) => {
                    self.write_and_confirm(&url, changes, &valid, &before, &mut results, fail_all)
                }
            }
        }
        results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(BackendError::transient(super::Failure::NoResult)))
            })
            .collect()
    }

    fn write_and_confirm(
        &self,
        url: &str,
        changes: &[Change],
        valid: &[usize],
        before: &Published,
        results: &mut Vec<Option<Result<Applied, BackendError>>>,
        fail_all: impl Fn(&mut Vec<Option<Result<Applied, BackendError>>>, &[usize], PowerDnsError),
    ) {
        let mut to_write = Vec::new();
        // One rrset per (name, type): the last change of a name wins, as it would applied in order.
        let mut rrsets: HashMap<(String, &'static str), serde_json::Value> = HashMap::new();
        for &index in valid {
            let change = &changes[index];
            let key = key_of(change);
            let (previous, ttl) = before.get(&key).cloned().unwrap_or_default();
            if previous == [change.address] && ttl == Some(change.ttl) {
                results[index] = Some(Ok(Applied {
                    previous,
                    changed: false,
                }));
                continue;
            }
            rrsets.insert(
                key.clone(),
                serde_json::json!({
                    "name": key.0,
                    "type": key.1,
                    "ttl": change.ttl,
                    "changetype": "REPLACE",
                    "records": [{"content": change.address.to_string(), "disabled": false}],
                }),
            );
            to_write.push((index, previous));
        }
        if to_write.is_empty() {
            return;
        }
        let indices: Vec<usize> = to_write.iter().map(|(index, _)| *index).collect();
        let body = serde_json::json!({ "rrsets": rrsets.into_values().collect::<Vec<_>>() });
        self.patches.fetch_add(1, Ordering::Relaxed);
        let patched = self
            .agent
            .patch(url)
            .header("X-API-Key", &self.api_key)
            .content_type("application/json")
            .send(body.to_string());
        if let Err(error) = self.expect_ok("PATCH", url, patched) {
            // PowerDNS applies a PATCH atomically: a rejection fails every change it carried.
            fail_all(results, &indices, error);
            return;
        }
        let after = match self.published(url) {
            Ok(after) => after,
            Err(error) => {
                fail_all(results, &indices, error);
                return;
            }
        };
        for (index, previous) in to_write {
            let change = &changes[index];
            let found = after
                .get(&key_of(change))
                .map(|(values, _)| values.as_slice());
            results[index] = Some(if found == Some(&[change.address][..]) {
                Ok(Applied {
                    previous,
                    changed: true,
                })
            } else {
                let found = found
                    .unwrap_or_default()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(BackendError::new(PowerDnsError::NotTaken {
                    host: change.host.clone(),
                    record_type: change.record_type().as_str(),
                    wanted: change.address,
                    found,
                }))
            });
        }
    }

    /// GETs the zone and keeps its enabled A and AAAA values.
    fn published(&self, url: &str) -> Result<Published, PowerDnsError> {
        let reply = self
            .agent
            .get(url)
            .header("X-API-Key", &self.api_key)
            .call();
        let text = self.expect_ok("GET", url, reply)?;
        let zone: ZoneReply =
            serde_json::from_str(&text).map_err(|source| PowerDnsError::Reply {
                method: "GET",
                url: url.to_owned(),
                source,
            })?;
        let mut published = Published::new();
        for rrset in zone.rrsets {
            let record_type = match rrset.record_type.as_str() {
                "A" => RecordType::A.as_str(),
                "AAAA" => RecordType::Aaaa.as_str(),
                _ => continue,
            };
            let values = rrset
                .records
                .iter()
                .filter(|record| !record.disabled)
                .filter_map(|record| record.content.parse().ok())
                .collect();
            published.insert((rrset.name, record_type), (values, rrset.ttl));
        }
        Ok(published)
    }

    /// The body of a 2xx reply, or the error its status and message make.
    fn expect_ok(
        &self,
        method: &'static str,
        url: &str,
        reply: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, PowerDnsError> {
        let mut reply = reply.map_err(|source| PowerDnsError::Transport {
            method,
            url: url.to_owned(),
            source,
        })?;
        let status = reply.status().as_u16();
        let retry_after = reply
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = reply
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .map_err(|source| PowerDnsError::Transport {
                method,
                url: url.to_owned(),
                source,
            })?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(PowerDnsError::Status {
            method,
            url: url.to_owned(),
            status,
            message: message_of(&text),
            retry_after,
        })
    }
}

/// PowerDNS's own words: the `error` of a JSON reply (422), else the plain text (401, 404).
fn message_of(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorReply {
        error: String,
    }
    let text = match serde_json::from_str::<ErrorReply>(body) {
        Ok(reply) => reply.error,
        Err(_) => body.trim().to_owned(),
    };
    if text.is_empty() {
        return "no message".to_owned();
    }
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_is_powerdns_json_error_or_its_plain_text() {
        assert_eq!(
            message_of(r#"{"error": "RRset example.test. IN A: ttl is missing"}"#),
            "RRset example.test. IN A: ttl is missing"
        );
        assert_eq!(message_of("Unauthorized\n"), "Unauthorized");
        assert_eq!(message_of(""), "no message");
    }

    #[test]
    fn rejections_are_permanent_and_overload_is_transient() {
        let status = |status| PowerDnsError::Status {
            method: "PATCH",
            url: "u".to_owned(),
            status,
            message: "m".to_owned(),
            retry_after: None,
        };
        for permanent in [401, 403, 404, 422] {
            assert!(!status(permanent).is_transient(), "{permanent}");
        }
        for transient in [429, 500, 503] {
            assert!(status(transient).is_transient(), "{transient}");
        }
    }
}
