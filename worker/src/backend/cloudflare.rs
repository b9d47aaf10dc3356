//! Why this exists: the `cloudflare` backend, for zones kept at Cloudflare (API v4): a read is one
//! listing of the zone's records, and a write is one POST to the batch endpoint per 200 record
//! operations, whatever the number of hosts in the batch.
//!
//! The API as documented (https://developers.cloudflare.com/api/resources/dns/subresources/records/,
//! https://developers.cloudflare.com/dns/manage-dns-records/how-to/batch-record-changes/):
//! - `Authorization: Bearer <token>`; every reply is JSON `{"success", "errors": [{"code",
//!   "message"}], "messages", "result", "result_info"}`, errors included.
//! - The zone's id comes from `GET /zones?name=<zone>`, kept per zone name for the life of the
//!   process (forgotten when the zone answers 404, so a re-created zone is found again). Zone
//!   names are unique per account only ("It is possible for multiple accounts to have the same
//!   zone created but in different states",
//!   https://www.pulumi.com/registry/packages/cloudflare@4.x/api-docs/getzone, from Cloudflare's
//!   Terraform provider); of several, the one whose `status` is `active` is used, and with none
//!   or several active, none.
//! - `GET /zones/{id}/dns_records?per_page=5000&page=N`, pages followed by `result_info`; names are
//!   fully qualified, without a trailing dot. The documented maximum page size is far larger; 5,000
//!   keeps a reply near 2 MB.
//! - `POST /zones/{id}/dns_records/batch` with `deletes`, `patches` and `posts` runs in one database
//!   transaction (deletes, then patches, then posts), so a rejected batch changed nothing. A Free
//!   zone takes 200 record operations per batch (others 3,500): each POST carries at most 200, and a
//!   change's operations never straddle two. When a batch of several changes is rejected as invalid
//!   (400, 422), each change is sent again alone, so one bad change does not fail its neighbours.
//! - TTL 1 means "automatic"; others are 60..=86400 (30 on Enterprise). A zone TTL below 60 is
//!   written as 60, and a record with that TTL reads as having the zone's TTL, so it is not rewritten
//!   on every batch.
//! - `proxied` exists for A and AAAA: every A and AAAA record dyndns writes gets `[backend.cloudflare]
//!   proxied`. A record whose address and TTL are already right is not rewritten only to change its
//!   proxy state; it follows at its next write.
//! - TXT content is quoted character-strings: written `"text"`, read with the quotes undone.
//!
//! Record ids are needed to write: `write` takes them from the listing its batch's `read` made a
//! moment before (`last_read.rs`), and lists the zone itself when there is none. A record changed by
//! someone else in between fails its request or shows in the read-back, and is retried.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::http_api::{
    each_failed, encode, off_runtime, HttpApi, HttpApiError, Method, REPEATED_PAGE,
};
use super::last_read::LastRead;
use super::powerdns::unquote;
use super::record_plan::{managed_value, Listed, Plan};
use super::{Backend, BackendError, Change, Failure, ReadResults, RecordType, Value, WriteResults};
use crate::secret::Secret;

/// The vendor's name in messages.
const API: &str = "Cloudflare";
/// Records per listing page.
const PER_PAGE: u32 = 5_000;
/// A zone of more pages than this is not one dyndns should be listing on every batch.
const MAX_PAGES: u32 = 1_000;
/// Record operations one batch request may carry on every plan (Free: 200).
const MAX_BATCH_OPERATIONS: usize = 200;
/// Cloudflare's lowest TTL on all but Enterprise zones.
const MIN_TTL: u32 = 60;
const MAX_TTL: u32 = 86_400;

/// The Cloudflare API v4 as a backend.
pub struct Cloudflare {
    client: Client,
}

impl std::fmt::Debug for Cloudflare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(API)
            .field("api", &self.client.api)
            .field("proxied", &self.client.proxied)
            .finish()
    }
}

impl Cloudflare {
    /// The API at `api_url` (`https://api.cloudflare.com/client/v4`) with an API token; A and AAAA
    /// records written get `proxied`.
    pub fn new(api_url: &str, token: Secret, proxied: bool, timeout: Duration) -> Cloudflare {
        Cloudflare {
            client: Client {
                api: HttpApi::new(API, api_url, token, timeout, message_of),
                proxied,
                zone_ids: Arc::new(Mutex::new(HashMap::new())),
                last_read: Arc::default(),
            },
        }
    }
}

#[async_trait::async_trait]
impl Backend for Cloudflare {
    fn name(&self) -> &'static str {
        "cloudflare"
    }

    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        let (client, zone, changes) = (self.client.clone(), zone.to_owned(), changes.to_vec());
        let count = changes.len();
        let read = move || client.read(&zone, &changes);
        off_runtime(API, read, |error| each_failed(error, count)).await
    }

    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let (client, zone, changes) = (self.client.clone(), zone.to_owned(), changes.to_vec());
        let count = changes.len();
        let write = move || client.write(&zone, &changes);
        off_runtime(API, write, |error| each_failed(error, count)).await
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let (client, zone) = (self.client.clone(), zone.to_owned());
        let check = move || {
            let id = client.zone_id(&zone)?;
            let listing = client.list(&zone, &id)?;
            Ok(format!("zone {zone} (id {id}), {} records", listing.count))
        };
        off_runtime(API, check, Err)
            .await
            .map_err(BackendError::new)
    }

    fn round_trips(&self) -> u64 {
        self.client.api.writes()
    }
}

/// What a blocking request needs, cloned into `spawn_blocking`.
#[derive(Clone)]
struct Client {
    api: HttpApi,
    proxied: bool,
    /// Zone name → zone id, found once.
    zone_ids: Arc<Mutex<HashMap<String, String>>>,
    /// The listing (and zone id) the batch's read made, for its write (record ids).
    last_read: Arc<LastRead<(Listing, String)>>,
}

type Listing = super::record_plan::Listing<String>;

/// The TTL Cloudflare is given for a zone TTL.
fn wire_ttl(ttl: u32) -> u32 {
    ttl.clamp(MIN_TTL, MAX_TTL)
}

/// Only A and AAAA records can be proxied; TXT records are sent without the field.
fn proxiable(record_type: RecordType) -> bool {
    matches!(record_type, RecordType::A | RecordType::Aaaa)
}

/// The `content` of a value: an address, or TXT text in the quotes Cloudflare documents (the text
/// is checked printable ASCII without `"` or `\`, so the quotes are its whole encoding).
fn content_of(value: &Value) -> String {
    match value {
        Value::Address(address) => address.to_string(),
        Value::Txt(text) => format!("\"{text}\""),
    }
}

impl Client {
    fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        let listed = self
            .zone_id(zone)
            .and_then(|id| Ok((self.list(zone, &id)?, id)));
        match listed {
            Ok((listing, id)) => {
                let found = changes
                    .iter()
                    .map(|change| Ok(listing.published(change, wire_ttl(change.ttl))))
                    .collect();
                self.last_read.keep(zone, (listing, id));
                found
            }
            Err(error) => each_failed(error, changes.len()),
        }
    }

    fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let listed = match self.last_read.take(zone) {
            Some(listed) => Ok(listed),
            None => self
                .zone_id(zone)
                .and_then(|id| Ok((self.list(zone, &id)?, id))),
        };
        let (listing, zone_id) = match listed {
            Ok(listed) => listed,
            Err(error) => return each_failed(error, changes.len()),
        };
        let plans: Vec<Plan<String>> = changes
            .iter()
            .map(|change| {
                let proxied = proxiable(change.record_type).then_some(self.proxied);
                listing.plan(change, wire_ttl(change.ttl), proxied)
            })
            .collect();
        let mut results: Vec<Option<Result<(), BackendError>>> =
            changes.iter().map(|_| None).collect();
        let mut chunk = Vec::new();
        let mut operations = 0;
        for (index, plan) in plans.iter().enumerate() {
            if plan.is_empty() {
                results[index] = Some(Ok(()));
                continue;
            }
            if !chunk.is_empty() && operations + plan.len() > MAX_BATCH_OPERATIONS {
                self.send_chunk(zone, &zone_id, changes, &plans, &chunk, &mut results);
                chunk.clear();
                operations = 0;
            }
            chunk.push(index);
            operations += plan.len();
        }
        if !chunk.is_empty() {
            self.send_chunk(zone, &zone_id, changes, &plans, &chunk, &mut results);
        }
        results
            .into_iter()
            .map(|result| result.unwrap_or_else(|| Err(BackendError::transient(Failure::NoResult))))
            .collect()
    }

    /// Sends the changes at `chunk` in one batch request; when Cloudflare rejects it as invalid and
    /// it carried several changes, sends each alone so only the bad one fails.
    fn send_chunk(
        &self,
        zone: &str,
        zone_id: &str,
        changes: &[Change],
        plans: &[Plan<String>],
        chunk: &[usize],
        results: &mut [Option<Result<(), BackendError>>],
    ) {
        let batch: Vec<(&Change, &Plan<String>)> = chunk
            .iter()
            .map(|index| (&changes[*index], &plans[*index]))
            .collect();
        match self.post_batch(zone, zone_id, &batch) {
            Ok(()) => {
                for index in chunk {
                    results[*index] = Some(Ok(()));
                }
            }
            Err(error) if chunk.len() > 1 && matches!(error.status(), Some(400 | 422)) => {
                for (index, one) in chunk.iter().zip(&batch) {
                    results[*index] = Some(
                        self.post_batch(zone, zone_id, std::slice::from_ref(one))
                            .map_err(BackendError::new),
                    );
                }
            }
            Err(error) => {
                for (index, failed) in chunk.iter().zip(BackendError::for_each(error, chunk.len()))
                {
                    results[*index] = Some(Err(failed));
                }
            }
        }
    }

    /// One `POST /zones/{id}/dns_records/batch` carrying every operation of `batch`.
    fn post_batch(
        &self,
        zone: &str,
        zone_id: &str,
        batch: &[(&Change, &Plan<String>)],
    ) -> Result<(), HttpApiError> {
        let mut deletes = Vec::new();
        let mut patches = Vec::new();
        let mut posts = Vec::new();
        for (change, plan) in batch {
            let ttl = wire_ttl(change.ttl);
            let proxied = proxiable(change.record_type).then_some(self.proxied);
            for id in &plan.delete {
                deletes.push(serde_json::json!({ "id": id }));
            }
            for (id, value) in &plan.update {
                let mut patch =
                    serde_json::json!({ "id": id, "content": content_of(value), "ttl": ttl });
                if let Some(proxied) = proxied {
                    patch["proxied"] = proxied.into();
                }
                patches.push(patch);
            }
            for value in &plan.create {
                let mut post = serde_json::json!({
                    "type": change.record_type.as_str(),
                    "name": change.host,
                    "content": content_of(value),
                    "ttl": ttl,
                });
                if let Some(proxied) = proxied {
                    post["proxied"] = proxied.into();
                }
                posts.push(post);
            }
        }
        let body = serde_json::json!({ "deletes": deletes, "patches": patches, "posts": posts });
        let path = format!("/zones/{}/dns_records/batch", encode(zone_id));
        self.call::<serde_json::Value>(zone, Method::Post, &path, Some(body.to_string()))
            .map(drop)
    }

    /// The zone's id, from the cache or `GET /zones?name=`.
    fn zone_id(&self, zone: &str) -> Result<String, HttpApiError> {
        if let Some(id) = self.cached_zones().get(zone) {
            return Ok(id.clone());
        }
        #[derive(Deserialize)]
        struct ZoneEntry {
            id: String,
            name: String,
            #[serde(default)]
            status: String,
        }
        let path = format!("/zones?name={}", encode(zone));
        let (zones, _) = self.get::<Vec<ZoneEntry>>(zone, &path)?;
        let mut named: Vec<ZoneEntry> = zones
            .into_iter()
            .filter(|entry| entry.name.eq_ignore_ascii_case(zone))
            .collect();
        if named.len() > 1 {
            // Names are unique per account only: a token that sees several accounts may list the
            // zone as it was in one it moved away from, or as added and never activated in
            // another. Only the active one answers for the name.
            let active: Vec<usize> = (0..named.len())
                .filter(|at| named[*at].status == "active")
                .collect();
            let [at] = active[..] else {
                return Err(HttpApiError::AmbiguousZone {
                    api: API,
                    zone: zone.to_owned(),
                    count: named.len(),
                    statuses: named
                        .iter()
                        .map(|entry| entry.status.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            named.swap(0, at);
        }
        let Some(found) = named.into_iter().next() else {
            return Err(HttpApiError::ZoneNotFound {
                api: API,
                zone: zone.to_owned(),
                hint: "no zone of that name is visible to this API token: add the zone to the \
                       account, or give the token the permission Zone → DNS → Edit for it"
                    .to_owned(),
            });
        };
        let plausible = !found.id.is_empty()
            && found.id.len() <= 64
            && found.id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !plausible {
            return Err(self.api.reply_error(
                Method::Get,
                &path,
                format!("zone id {:?} is not an identifier", found.id),
            ));
        }
        self.cached_zones()
            .insert(zone.to_owned(), found.id.clone());
        Ok(found.id)
    }

    fn cached_zones(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the map cannot leave it half-written: each use is one insert or get.
        self.zone_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every record of the zone, page after page.
    fn list(&self, zone: &str, zone_id: &str) -> Result<Listing, HttpApiError> {
        #[derive(Deserialize)]
        struct RawRecord {
            id: String,
            name: String,
            #[serde(rename = "type")]
            record_type: String,
            #[serde(default)]
            content: String,
            #[serde(default)]
            ttl: u32,
            #[serde(default)]
            proxied: bool,
        }
        let mut listing = Listing::new();
        for page in 1..=MAX_PAGES {
            let path = format!(
                "/zones/{}/dns_records?per_page={PER_PAGE}&page={page}",
                encode(zone_id)
            );
            let (records, info) = self.get::<Vec<RawRecord>>(zone, &path)?;
            let got = records.len();
            let mut fresh = 0;
            for raw in records {
                let managed = managed_value(&raw.record_type, &raw.content, unquote);
                let id = raw.id;
                fresh += usize::from(listing.add(
                    id.clone(),
                    raw.name.trim_end_matches('.').to_ascii_lowercase(),
                    managed.map(|value| Listed {
                        id,
                        value,
                        ttl: raw.ttl,
                        proxied: raw.proxied,
                    }),
                ));
            }
            let more = match info {
                Some(ResultInfo {
                    total_pages: Some(total),
                    ..
                }) => page < total,
                Some(ResultInfo { per_page, .. }) => got > 0 && got >= per_page.unwrap_or(1),
                None => false,
            };
            if !more || got == 0 {
                return Ok(listing);
            }
            if fresh == 0 {
                return Err(self.api.reply_error(Method::Get, &path, REPEATED_PAGE));
            }
        }
        Err(HttpApiError::TooManyPages {
            api: API,
            zone: zone.to_owned(),
            pages: MAX_PAGES,
        })
    }

    fn get<T: DeserializeOwned>(
        &self,
        zone: &str,
        path: &str,
    ) -> Result<(T, Option<ResultInfo>), HttpApiError> {
        self.call_with_info(zone, Method::Get, path, None)
    }

    fn call<T: DeserializeOwned>(
        &self,
        zone: &str,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<T, HttpApiError> {
        self.call_with_info(zone, method, path, body)
            .map(|(result, _)| result)
    }

    /// One request; the reply's `result` (and `result_info`) when Cloudflare says it succeeded.
    fn call_with_info<T: DeserializeOwned>(
        &self,
        zone: &str,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(T, Option<ResultInfo>), HttpApiError> {
        let text = match self.api.request(method, path, body) {
            Ok(text) => text,
            Err(error) => {
                if error.status() == Some(404) && path.starts_with("/zones/") {
                    // The cached id may be of a zone deleted since: look it up again next time.
                    self.cached_zones().remove(zone);
                }
                return Err(error);
            }
        };
        let reply: Envelope<T> = serde_json::from_str(&text)
            .map_err(|error| self.api.reply_error(method, path, error))?;
        if reply.success == Some(false) {
            return Err(self.api.refused(method, path, 200, &text));
        }
        let result = reply
            .result
            .ok_or_else(|| self.api.reply_error(method, path, "no `result`"))?;
        Ok((result, reply.result_info))
    }
}

/// Every Cloudflare API v4 reply.
#[derive(Deserialize)]
struct Envelope<T> {
    success: Option<bool>,
    result: Option<T>,
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
struct ResultInfo {
    per_page: Option<usize>,
    total_pages: Option<u32>,
}

/// Cloudflare's words: each of `errors[]` as `message (code N)`, joined.
fn message_of(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorReply {
        #[serde(default)]
        errors: Vec<ApiMessage>,
    }
    #[derive(Deserialize)]
    struct ApiMessage {
        #[serde(default)]
        code: Option<i64>,
        #[serde(default)]
        message: String,
    }
    let reply: ErrorReply = serde_json::from_str(body).ok()?;
    let said: Vec<String> = reply
        .errors
        .iter()
        .map(|error| match error.code {
            Some(code) => format!("{} (code {code})", error.message),
            None => error.message.clone(),
        })
        .collect();
    (!said.is_empty()).then(|| said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_cloudflares_errors_with_their_codes() {
        assert_eq!(
            message_of(
                r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#
            )
            .as_deref(),
            Some("Authentication error (code 10000)")
        );
        assert_eq!(message_of("<html>502 Bad Gateway</html>"), None);
        assert_eq!(message_of(r#"{"success":false,"errors":[]}"#), None);
    }

    #[test]
    fn ttls_below_cloudflares_minimum_are_raised_to_it() {
        assert_eq!(wire_ttl(1), 60);
        assert_eq!(wire_ttl(30), 60);
        assert_eq!(wire_ttl(300), 300);
        assert_eq!(wire_ttl(100_000), 86_400);
    }

    #[test]
    fn txt_content_is_quoted() {
        assert_eq!(content_of(&Value::Txt("token-1".to_owned())), "\"token-1\"");
    }
}
