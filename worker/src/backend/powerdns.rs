//! Why this exists: the `powerdns` backend, for operators who run PowerDNS Authoritative: reads a
//! zone with one GET and writes a batch with one PATCH of `REPLACE`/`DELETE` rrsets, whatever the
//! batch size.
//!
//! The API's quirks this follows: names carry a trailing dot; every rrset needs a `ttl`; a PATCH
//! answers 204 with no body and is applied atomically (a 422 rejects the whole batch); errors are
//! JSON `{"error": ...}` for 422 but plain text for 401 and 404; TXT content is in quotes.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::http_api::{keyed_message, Reply};
use super::{
    Backend, BackendError, Change, Published, ReadResults, RecordType, Value, WriteResults,
};
use crate::secret::Secret;

/// The zone read back is JSON of every rrset; a zone of 100,000 hosts stays far below this.
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PowerDnsError {
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
    #[error("PowerDNS {method} {url} gave a reply that is not a zone: {problem}")]
    Reply {
        method: &'static str,
        url: String,
        /// The parser's words, which may quote the reply, so with the key masked.
        problem: String,
    },
    #[error("the PowerDNS API worker thread stopped: {0}")]
    Join(String),
}

impl PowerDnsError {
    /// Rejections (401/403/404/422 and other 4xx) need a person; 5xx, 429, a dropped connection,
    /// a timeout and a write that did not take may pass.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            PowerDnsError::Status { status, .. } => *status == 429 || *status >= 500,
            PowerDnsError::Transport { .. }
            | PowerDnsError::Reply { .. }
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
    api_key: Secret,
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
    /// The API at `api_url` (`http://127.0.0.1:8081`), server `server_id`, with its key.
    pub fn new(api_url: &str, server_id: &str, api_key: Secret, timeout: Duration) -> Self {
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

    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        let client = self.client.clone();
        let url = self.client.zone_url(zone);
        let keys: Vec<(String, RecordType)> = changes
            .iter()
            .map(|change| (format!("{}.", change.host), change.record_type))
            .collect();
        let read = tokio::task::spawn_blocking(move || client.published(&url))
            .await
            .unwrap_or_else(|join| Err(PowerDnsError::Join(join.to_string())));
        match read {
            Ok(zone) => keys
                .iter()
                .map(|(name, record_type)| {
                    let mut found = zone
                        .rrsets
                        .get(&(name.clone(), *record_type))
                        .cloned()
                        .unwrap_or_default();
                    found.name_exists = zone.names.contains(name);
                    Ok(found)
                })
                .collect(),
            Err(error) => BackendError::for_each(error, changes.len())
                .into_iter()
                .map(Err)
                .collect(),
        }
    }

    /// One PATCH for the whole batch; PowerDNS applies it atomically, so a rejection fails every
    /// change it carried.
    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let client = self.client.clone();
        let url = self.client.zone_url(zone);
        let rrsets: Vec<serde_json::Value> = changes.iter().map(rrset_of).collect();
        let body = serde_json::json!({ "rrsets": rrsets }).to_string();
        let patched = tokio::task::spawn_blocking(move || client.patch(&url, body))
            .await
            .unwrap_or_else(|join| Err(PowerDnsError::Join(join.to_string())));
        match patched {
            Ok(()) => changes.iter().map(|_| Ok(())).collect(),
            Err(error) => BackendError::for_each(error, changes.len())
                .into_iter()
                .map(Err)
                .collect(),
        }
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let client = self.client.clone();
        let url = self.client.zone_url(zone);
        let zone = tokio::task::spawn_blocking(move || client.published(&url))
            .await
            .unwrap_or_else(|join| Err(PowerDnsError::Join(join.to_string())))
            .map_err(BackendError::new)?;
        Ok(format!("{} names", zone.names.len()))
    }

    fn round_trips(&self) -> u64 {
        self.patches()
    }
}

/// The PATCH rrset that makes a change: `REPLACE` with its values, or `DELETE`.
fn rrset_of(change: &Change) -> serde_json::Value {
    let name = format!("{}.", change.host);
    let record_type = change.record_type.as_str();
    if change.is_delete() {
        return serde_json::json!({"name": name, "type": record_type, "changetype": "DELETE"});
    }
    let records: Vec<serde_json::Value> = change
        .values()
        .iter()
        .map(|value| {
            let content = match value {
                Value::Address(address) => address.to_string(),
                // Checked printable ASCII without `"` or `\`: the quotes are the whole encoding.
                Value::Txt(text) => format!("\"{text}\""),
            };
            serde_json::json!({"content": content, "disabled": false})
        })
        .collect();
    serde_json::json!({
        "name": name,
        "type": record_type,
        "ttl": change.ttl,
        "changetype": "REPLACE",
        "records": records,
    })
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

/// A zone as read: each (name with trailing dot, type) dyndns manages, and every name with a record.
struct Zone {
    rrsets: HashMap<(String, RecordType), Published>,
    names: HashSet<String>,
}

impl Client {
    fn zone_url(&self, zone: &str) -> String {
        format!("{}/{zone}.", self.zones_url)
    }

    fn patch(&self, url: &str, body: String) -> Result<(), PowerDnsError> {
        self.patches.fetch_add(1, Ordering::Relaxed);
        let reply = self
            .agent
            .patch(url)
            .header("X-API-Key", self.api_key.first_line())
            .content_type("application/json")
            .send(body);
        self.expect_ok("PATCH", url, reply).map(drop)
    }

    /// GETs the zone and keeps its enabled A, AAAA and TXT values.
    fn published(&self, url: &str) -> Result<Zone, PowerDnsError> {
        let reply = self
            .agent
            .get(url)
            .header("X-API-Key", self.api_key.first_line())
            .call();
        let text = self.expect_ok("GET", url, reply)?;
        let reply: ZoneReply =
            serde_json::from_str(&text).map_err(|source| PowerDnsError::Reply {
                method: "GET",
                url: url.to_owned(),
                problem: self.api_key.masked_in(source.to_string()),
            })?;
        let mut zone = Zone {
            rrsets: HashMap::new(),
            names: HashSet::new(),
        };
        for rrset in reply.rrsets {
            let enabled = rrset.records.iter().filter(|record| !record.disabled);
            let (record_type, values): (RecordType, Vec<Value>) = match rrset.record_type.as_str() {
                "A" | "AAAA" => (
                    if rrset.record_type == "A" {
                        RecordType::A
                    } else {
                        RecordType::Aaaa
                    },
                    enabled
                        .filter_map(|record| record.content.parse().ok())
                        .map(Value::Address)
                        .collect(),
                ),
                "TXT" => (
                    RecordType::Txt,
                    enabled
                        .map(|record| Value::Txt(unquote(&record.content)))
                        .collect(),
                ),
                _ => {
                    zone.names.insert(rrset.name);
                    continue;
                }
            };
            zone.names.insert(rrset.name.clone());
            zone.rrsets.insert(
                (rrset.name, record_type),
                Published {
                    values,
                    ttl: rrset.ttl,
                    name_exists: true,
                },
            );
        }
        Ok(zone)
    }

    /// The body of a 2xx reply, or the error its status and message make.
    fn expect_ok(
        &self,
        method: &'static str,
        url: &str,
        reply: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, PowerDnsError> {
        let transport = |source| PowerDnsError::Transport {
            method,
            url: url.to_owned(),
            source,
        };
        let Reply {
            status,
            retry_after,
            text,
        } = Reply::read(reply.map_err(transport)?, MAX_REPLY_BYTES).map_err(transport)?;
        if (200..300).contains(&status) {
            return Ok(text);
        }
        Err(PowerDnsError::Status {
            method,
            url: url.to_owned(),
            status,
            message: message_of(&text, &self.api_key),
            retry_after,
        })
    }
}

/// The text of TXT content as PowerDNS shows it (`"a" "b"`): the character-strings joined, quotes
/// and `\` escapes undone. Content without quotes is taken as it is.
pub(super) fn unquote(content: &str) -> String {
    if !content.trim_start().starts_with('"') {
        return content.to_owned();
    }
    let mut text = String::new();
    let mut inside = false;
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        match (c, inside) {
            ('"', _) => inside = !inside,
            ('\\', true) => text.extend(chars.next()),
            (c, true) => text.push(c),
            (_, false) => {}
        }
    }
    text
}

/// PowerDNS's own words: the `error` of a JSON reply (422), else the plain text (401, 404); capped,
/// and with `key` masked should a server (or a proxy before it) quote the request's headers.
fn message_of(body: &str, key: &Secret) -> String {
    #[derive(Deserialize)]
    struct ErrorReply {
        error: String,
    }
    let text = match serde_json::from_str::<ErrorReply>(body) {
        Ok(reply) => reply.error,
        Err(_) => body.trim().to_owned(),
    };
    keyed_message(text, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_message_is_powerdns_json_error_or_its_plain_text() {
        assert_eq!(
            message_of(
                r#"{"error": "RRset example.test. IN A: ttl is missing"}"#,
                &Secret::new("k3y")
            ),
            "RRset example.test. IN A: ttl is missing"
        );
        assert_eq!(
            message_of("Unauthorized\n", &Secret::new("k3y")),
            "Unauthorized"
        );
        assert_eq!(message_of("", &Secret::new("k3y")), "no message");
    }

    #[test]
    fn a_key_the_server_quotes_is_masked() {
        let key = Secret::new("s3cr3t-key");
        assert_eq!(
            message_of("Unauthorized: X-API-Key s3cr3t-key\n", &key),
            "Unauthorized: X-API-Key <masked>"
        );
        assert_eq!(
            message_of(r#"{"error": "bad key s3cr3t-key"}"#, &key),
            "bad key <masked>"
        );
    }

    #[test]
    fn txt_content_is_unquoted_and_its_strings_joined() {
        assert_eq!(unquote(r#""abc def""#), "abc def");
        assert_eq!(unquote(r#""ab" "cd""#), "abcd");
        assert_eq!(unquote(r#""a\"b""#), "a\"b");
        assert_eq!(unquote("bare"), "bare");
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
