//! Why this exists: the `digitalocean` backend, for domains kept at DigitalOcean (API v2): a read is
//! one listing of the domain's records, kept for the write right after it (record ids;
//! `last_read.rs`), and a write is one request per record that has to change (the API has no batch
//! endpoint), never one for a record already right.
//!
//! The API as documented (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Domain-Records,
//! https://docs.digitalocean.com/products/networking/dns/reference/api/domain-records/):
//! - `Authorization: Bearer <token>`; errors are JSON `{"id": "not_found", "message": "..."}`; a 429
//!   carries `Retry-After` in seconds (https://docs.digitalocean.com/notes/2023/api-rate-limit/).
//! - The domain is the path: `GET /domains/{zone}/records?per_page=200&page=N` (200 is the
//!   documented largest page) answers 404 when the account has no such domain. While the reply's
//!   `links.pages.next` is there another page follows; it is asked for by number, so the token is
//!   never sent to a URL a reply named.
//! - Record names are relative to the domain, `@` for the apex; TXT `data` is the text itself,
//!   unquoted; the lowest TTL is 30 (a lower zone TTL is written as 30, and reads back as the
//!   zone's TTL so it is not rewritten on every batch).
//! - `PATCH /domains/{zone}/records/{id}` `{"data", "ttl"}` updates a record in place, `POST
//!   /domains/{zone}/records` creates one, `DELETE .../records/{id}` removes one (a 404 there means
//!   it is gone already). For each change, updates come first, then creations, then deletions, so a
//!   name that keeps a value never goes without a record meanwhile.
//! - A failure that would fail every request (401, 403, 429, 5xx, a dropped connection) stops the
//!   batch: the changes not yet sent get the same error instead of a request each. A 400, 404 or 422
//!   fails only its own change.
//!
//! Record ids are needed to write, so `write` lists the domain again rather than trusting ids from
//! an earlier `read`: the `Backend` trait does not promise a read of the same batch came first, and
//! the records may have changed since.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::http_api::{
    each_failed, encode, off_runtime, HttpApi, HttpApiError, Method, REPEATED_PAGE,
};
use super::last_read::LastRead;
use super::record_plan::{managed_value, Listed, Plan};
use super::{Backend, BackendError, Change, Failure, ReadResults, Value, WriteResults};
use crate::secret::Secret;

/// The vendor's name in messages.
const API: &str = "DigitalOcean";
/// Records per listing page: the documented maximum.
const PER_PAGE: u32 = 200;
/// A domain of more pages than this is not one dyndns should be listing on every batch.
const MAX_PAGES: u32 = 5_000;
/// DigitalOcean's lowest TTL.
const MIN_TTL: u32 = 30;

/// The DigitalOcean API v2 as a backend.
#[derive(Debug)]
pub struct DigitalOcean {
    client: Client,
}

impl DigitalOcean {
    /// The API at `api_url` (`https://api.digitalocean.com/v2`) with a personal access token.
    pub fn new(api_url: &str, token: Secret, timeout: Duration) -> DigitalOcean {
        DigitalOcean {
            client: Client {
                api: HttpApi::new(API, api_url, token, timeout, message_of),
                last_read: Arc::default(),
            },
        }
    }
}

#[async_trait::async_trait]
impl Backend for DigitalOcean {
    fn name(&self) -> &'static str {
        "digitalocean"
    }

    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        let (client, zone, changes) = (self.client.clone(), zone.to_owned(), changes.to_vec());
        let count = changes.len();
        let read = move || match client.list(&zone) {
            Ok(listing) => {
                let found = changes
                    .iter()
                    .map(|change| Ok(listing.published(change, wire_ttl(change.ttl))))
                    .collect();
                client.last_read.keep(&zone, listing);
                found
            }
            Err(error) => each_failed(error, changes.len()),
        };
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
            let listing = client.list(&zone)?;
            Ok(format!("domain {zone}, {} records", listing.count))
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
#[derive(Debug, Clone)]
struct Client {
    api: HttpApi,
    /// The listing the batch's read made, for its write (record ids).
    last_read: Arc<LastRead<Listing>>,
}

type Listing = super::record_plan::Listing<u64>;

/// The TTL DigitalOcean is given for a zone TTL.
fn wire_ttl(ttl: u32) -> u32 {
    ttl.max(MIN_TTL)
}

/// The `data` of a value: an address, or the TXT text as it is (DigitalOcean quotes it itself).
fn data_of(value: &Value) -> String {
    match value {
        Value::Address(address) => address.to_string(),
        Value::Txt(text) => text.clone(),
    }
}

/// The error stops every request after it, not only its change's.
fn stops_batch(error: &HttpApiError) -> bool {
    !matches!(error.status(), Some(400 | 404 | 422))
}

impl Client {
    fn records_path(zone: &str) -> String {
        format!("/domains/{}/records", encode(zone))
    }

    fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        let listed = match self.last_read.take(zone) {
            Some(listing) => Ok(listing),
            None => self.list(zone),
        };
        let listing = match listed {
            Ok(listing) => listing,
            Err(error) => return each_failed(error, changes.len()),
        };
        let mut results = Vec::with_capacity(changes.len());
        let mut stopped: Option<Arc<Failure>> = None;
        for change in changes {
            if let Some(failure) = &stopped {
                results.push(Err(BackendError::new(Failure::Shared(Arc::clone(failure)))));
                continue;
            }
            let plan = listing.plan(change, wire_ttl(change.ttl), None);
            match self.apply(zone, change, &plan) {
                Ok(()) => results.push(Ok(())),
                Err(error) if stops_batch(&error) => {
                    let failure = Arc::new(Failure::from(error));
                    results.push(Err(BackendError::new(Failure::Shared(Arc::clone(
                        &failure,
                    )))));
                    stopped = Some(failure);
                }
                Err(error) => results.push(Err(BackendError::new(error))),
            }
        }
        results
    }

    /// The plan's requests for one change: updates, then creations, then deletions.
    fn apply(&self, zone: &str, change: &Change, plan: &Plan<u64>) -> Result<(), HttpApiError> {
        let records = Self::records_path(zone);
        let ttl = wire_ttl(change.ttl);
        for (id, value) in &plan.update {
            let body = serde_json::json!({ "data": data_of(value), "ttl": ttl });
            self.api.request(
                Method::Patch,
                &format!("{records}/{id}"),
                Some(body.to_string()),
            )?;
        }
        for value in &plan.create {
            let name = if change.label.is_empty() {
                "@"
            } else {
                change.label.as_str()
            };
            let body = serde_json::json!({
                "type": change.record_type.as_str(),
                "name": name,
                "data": data_of(value),
                "ttl": ttl,
            });
            self.api
                .request(Method::Post, &records, Some(body.to_string()))?;
        }
        for id in &plan.delete {
            match self
                .api
                .request(Method::Delete, &format!("{records}/{id}"), None)
            {
                Ok(_) => {}
                // Gone already: what the delete wanted.
                Err(error) if error.status() == Some(404) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Every record of the domain, page after page.
    fn list(&self, zone: &str) -> Result<Listing, HttpApiError> {
        #[derive(Deserialize)]
        struct Page {
            domain_records: Vec<RawRecord>,
            links: Option<Links>,
        }
        #[derive(Deserialize)]
        struct Links {
            pages: Option<Pages>,
        }
        #[derive(Deserialize)]
        struct Pages {
            next: Option<String>,
        }
        #[derive(Deserialize)]
        struct RawRecord {
            id: u64,
            #[serde(rename = "type")]
            record_type: String,
            name: String,
            #[serde(default)]
            data: String,
            ttl: Option<u32>,
        }
        let mut listing = Listing::new();
        for page in 1..=MAX_PAGES {
            let path = format!(
                "{}?per_page={PER_PAGE}&page={page}",
                Self::records_path(zone)
            );
            let text = match self.api.request(Method::Get, &path, None) {
                Ok(text) => text,
                // DigitalOcean answers a path it does not know (a wrong `api_url`) with the same
                // 404 as a domain it does not hold: the URL tells them apart.
                Err(HttpApiError::Status {
                    status: 404,
                    message,
                    url,
                    ..
                }) => {
                    return Err(HttpApiError::ZoneNotFound {
                        api: API,
                        zone: zone.to_owned(),
                        hint: format!(
                            "GET {url} answered 404 ({message}): add the domain under Networking \
                             → Domains, use a token of the account that holds it, or correct \
                             [backend.digitalocean] api_url"
                        ),
                    })
                }
                Err(error) => return Err(error),
            };
            let reply: Page = serde_json::from_str(&text)
                .map_err(|error| self.api.reply_error(Method::Get, &path, error))?;
            let got = reply.domain_records.len();
            let mut fresh = 0;
            for raw in reply.domain_records {
                let host = match raw.name.as_str() {
                    "@" | "" => zone.to_owned(),
                    name => format!("{}.{zone}", name.to_ascii_lowercase()),
                };
                // TXT data is the text itself.
                let managed = managed_value(&raw.record_type, &raw.data, str::to_owned);
                fresh += usize::from(listing.add(
                    raw.id,
                    host,
                    managed.map(|value| Listed {
                        id: raw.id,
                        value,
                        ttl: raw.ttl.unwrap_or(0),
                        proxied: false,
                    }),
                ));
            }
            let next = reply
                .links
                .and_then(|links| links.pages)
                .and_then(|pages| pages.next);
            if next.is_none() || got == 0 {
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
}

/// DigitalOcean's words: `message (id)` of an error reply.
fn message_of(body: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorReply {
        #[serde(default)]
        id: String,
        message: String,
    }
    let reply: ErrorReply = serde_json::from_str(body).ok()?;
    Some(if reply.id.is_empty() {
        reply.message
    } else {
        format!("{} ({})", reply.message, reply.id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_digitaloceans_message_and_id() {
        assert_eq!(
            message_of(r#"{"id":"Unauthorized","message":"Unable to authenticate you"}"#)
                .as_deref(),
            Some("Unable to authenticate you (Unauthorized)")
        );
        assert_eq!(message_of("<html>502</html>"), None);
    }

    #[test]
    fn ttls_below_digitaloceans_minimum_are_raised_to_it() {
        assert_eq!(wire_ttl(1), 30);
        assert_eq!(wire_ttl(60), 60);
    }

    #[test]
    fn only_rejections_of_one_change_let_the_batch_go_on() {
        let status = |status| HttpApiError::Status {
            api: API,
            method: "POST",
            url: "u".to_owned(),
            status,
            message: "m".to_owned(),
            retry_after: None,
        };
        for alone in [400, 404, 422] {
            assert!(!stops_batch(&status(alone)), "{alone}");
        }
        for everyone in [401, 403, 429, 500] {
            assert!(stops_batch(&status(everyone)), "{everyone}");
        }
    }
}
