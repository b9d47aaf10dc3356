//! Why this exists: the `plesk-api` backend, for Plesk servers where the worker should not run as
//! root beside `plesk bin dns` (or runs on another machine): the same records, changed through
//! Plesk's REST API v2 with an API key.
//!
//! Facts used, and where they come from:
//! - The REST API lives at `https://<host>:8443/api/v2/`, only the Plesk administrator may use it,
//!   and its full reference is the OpenAPI document each panel serves (Tools & Settings > Remote API
//!   (REST) > API Reference and Playground):
//!   <https://docs.plesk.com/en-US/obsidian/api-rpc/about-rest-api.79359/>.
//! - An API key goes in the `X-API-Key` header; a refused key is HTTP 403; errors are JSON
//!   `{"code", "message", "errors": [{"property", "message"}]}`; `GET /api/v2/domains?name=` lists
//!   the domain of that name: Plesk's own REST client, <https://github.com/plesk/pleskapp>
//!   (`internal/api/factory/factory.go`, `internal/api/json/{types,domains}.go`).
//! - Keys are made by `plesk bin secret_key --create [-ip-address <client>] [-description <text>]`
//!   and bound to that address (or to the caller's):
//!   <https://docs.plesk.com/en-US/obsidian/cli-linux/using-command-line-utilities/secret_key-authentication-in-plesk-xml-api.73880/>.
//! - The DNS records resource (`GET`/`POST /api/v2/dns/records?domain=<domain or alias>`, `PUT`/
//!   `DELETE /api/v2/dns/records/{id}`, a record being `{id, type, host, value, opt, ttl}`) is in
//!   the panel's OpenAPI reference, not in the public web pages; we follow a client generated from
//!   it (<https://github.com/Team-Nifty-GmbH/plesk-sdk>, `src/Requests/Dns/`) and the team's notes
//!   (`shared/reference/backends.md` §2).
//!
//! Not documented, so decided here and written where it is used:
//! - `host` when adding is the label relative to the zone (`home.dyn`, empty for the apex), as the
//!   CLI and Plesk's XML API take it; listings show the owner with a trailing dot, and other
//!   spellings are read too (`plesk_api/records.rs`). A label that itself ends in the zone's name
//!   would be misread by Plesk; the worker's read-back would notice and retry.
//! - An unknown domain is a 404; a rejected record a 400 or 422; a `DELETE` or `PUT` of a record
//!   gone since the listing a 404, taken as done (the read-back judges).
//!
//! Per batch of a zone: `read` is one listing, kept for the write right after it (record ids;
//! `last_read.rs`; a write without one lists again); `write` is then, per change, a `POST` per missing value, a `PUT` per kept record whose TTL
//! differs, and a `DELETE` per other record of the type — added before deleted, like the CLI
//! backend, so the name never goes without an answer and a crash in between is repaired by the
//! next run. The API has no batch edit.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dyndns_names::names::{self, NameError};

use super::last_read::LastRead;
use super::{Backend, BackendError, Change, ReadResults, WriteResults};
use crate::secret::Secret;

mod client;
mod records;

pub use client::CaFileError;
use client::Client;
use records::{value_text, Listing};

/// What a `plesk-api` backend is built from (`[backend.plesk-api]`, with the key already loaded).
pub struct PleskApiOptions {
    /// `https://plesk.example.com:8443`: scheme, host and port, no path.
    pub api_url: String,
    pub api_key: Secret,
    /// PEM file of the only certificates trusted for `api_url`; `None`: the public web PKI.
    pub tls_ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum PleskApiError {
    #[error("Plesk answered {method} {url} with HTTP {status}: {message}{}", hint(*status))]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("Plesk {method} {url} failed: {source}")]
    Transport {
        method: &'static str,
        url: String,
        source: ureq::Error,
    },
    #[error("the TLS certificate of {url} is not trusted ({source}): trust its CA, or the certificate itself, with [backend.plesk-api] tls_ca_file; it must name the host in subjectAltName, and one trusted itself must not be a CA certificate")]
    Untrusted { url: String, source: ureq::Error },
    #[error("Plesk {method} {url} gave a reply that is not {expected}: {problem}")]
    Reply {
        method: &'static str,
        url: String,
        expected: &'static str,
        /// The parser's words, which may quote the reply, so with the key masked.
        problem: String,
    },
    #[error("Plesk has no domain {zone} (GET {url} does not list it): backend_zone must name a domain in Plesk")]
    NoSuchDomain { zone: String, url: String },
    #[error("zone {zone:?} is not a host name: {source}")]
    Zone { zone: String, source: NameError },
    #[error("the Plesk API worker thread stopped: {0}")]
    Join(String),
}

/// What a person should look at after a refusal Plesk explains only in its own words.
fn hint(status: u16) -> &'static str {
    match status {
        401 | 403 => " (the API key was refused: check [backend.plesk-api] api_key_file, and that the key was created for the address the worker connects from)",
        404 => " (Plesk does not know this domain: backend_zone must name a domain or domain alias in Plesk)",
        _ => "",
    }
}

impl PleskApiError {
    /// Rejections (401/403, an unknown domain, a refused record, an untrusted certificate) need a
    /// person; 429, 5xx, a dropped connection, a timeout and an unreadable reply may pass.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            PleskApiError::Status { status, .. } => *status == 429 || *status >= 500,
            PleskApiError::Transport { .. }
            | PleskApiError::Reply { .. }
            | PleskApiError::Join(_) => true,
            PleskApiError::Untrusted { .. }
            | PleskApiError::NoSuchDomain { .. }
            | PleskApiError::Zone { .. } => false,
        }
    }

    /// How long Plesk asked us to wait (`Retry-After` in seconds).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            PleskApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the failure belongs to the one record sent (Plesk refused its data), so the batch's
    /// other changes still go; anything else (the key, the domain, overload, the connection) would
    /// fail them too, and they are not sent.
    fn stops_batch(&self) -> bool {
        !matches!(
            self,
            PleskApiError::Status {
                status: 400 | 409 | 422,
                ..
            }
        )
    }

    fn transport(method: &'static str, url: &str, source: ureq::Error) -> PleskApiError {
        if untrusted_certificate(&source) {
            PleskApiError::Untrusted {
                url: url.to_owned(),
                source,
            }
        } else {
            PleskApiError::Transport {
                method,
                url: url.to_owned(),
                source,
            }
        }
    }
}

/// The server's certificate was refused: retrying will not change it, the config must.
fn untrusted_certificate(error: &ureq::Error) -> bool {
    let refused = |error: &rustls::Error| matches!(error, rustls::Error::InvalidCertificate(_));
    match error {
        ureq::Error::Rustls(error) => refused(error),
        // The handshake's own failure arrives as the I/O error rustls wraps it in.
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(refused),
        _ => false,
    }
}

/// Plesk's REST API as a backend.
pub struct PleskApi {
    client: Client,
    /// The listing the batch's read made, for its write (record ids).
    last_read: Arc<LastRead<Listing>>,
}

impl std::fmt::Debug for PleskApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PleskApi")
            .field("api", &self.client.api())
            .field("api_key", &"<masked>")
            .finish()
    }
}

impl PleskApi {
    /// The API at `options.api_url`; reads `tls_ca_file` now, so a bad one stops the start.
    pub fn new(options: PleskApiOptions) -> Result<PleskApi, CaFileError> {
        let roots = match &options.tls_ca_file {
            Some(path) => Some(client::load_ca_file(path)?),
            None => None,
        };
        Ok(PleskApi {
            client: Client::new(&options.api_url, options.api_key, roots, options.timeout),
            last_read: Arc::default(),
        })
    }

    /// POST, PUT and DELETE requests sent so far: for tests and the bench.
    pub fn writes(&self) -> u64 {
        self.client.writes()
    }
}

#[async_trait::async_trait]
impl Backend for PleskApi {
    fn name(&self) -> &'static str {
        "plesk-api"
    }

    async fn read(&self, zone: &str, changes: &[Change]) -> ReadResults {
        if changes.is_empty() {
            return Vec::new();
        }
        let client = self.client.clone();
        let owned_zone = zone.to_owned();
        let listed = blocking(move || {
            checked(&owned_zone)?;
            let records = client.records(&owned_zone)?;
            Ok(Listing::new(&owned_zone, records))
        })
        .await;
        match listed {
            Ok(listing) => {
                let found = changes
                    .iter()
                    .map(|change| {
                        Ok(listing.published(&change.host, change.record_type, change.ttl))
                    })
                    .collect();
                self.last_read.keep(zone, listing);
                found
            }
            Err(error) => fail_all(error, changes.len()),
        }
    }

    async fn write(&self, zone: &str, changes: &[Change]) -> WriteResults {
        if changes.is_empty() {
            return Vec::new();
        }
        let client = self.client.clone();
        let listed = self.last_read.take(zone);
        let zone = zone.to_owned();
        let changes = changes.to_vec();
        let count = changes.len();
        tokio::task::spawn_blocking(move || write_batch(&client, &zone, listed, &changes))
            .await
            .unwrap_or_else(|join| fail_all(PleskApiError::Join(join.to_string()), count))
    }

    async fn check(&self, zone: &str) -> Result<String, BackendError> {
        let client = self.client.clone();
        let zone = zone.to_owned();
        blocking(move || {
            checked(&zone)?;
            if !client.has_domain(&zone)? {
                return Err(PleskApiError::NoSuchDomain {
                    url: format!("{}/domains?name={zone}", client.api()),
                    zone,
                });
            }
            let records = client.records(&zone)?;
            Ok(format!("domain {zone}, {} records", records.len()))
        })
        .await
        .map_err(BackendError::new)
    }

    fn round_trips(&self) -> u64 {
        self.writes()
    }
}

/// The zone goes into URLs: only a canonical host name may.
fn checked(zone: &str) -> Result<(), PleskApiError> {
    names::check_canonical_host(zone).map_err(|source| PleskApiError::Zone {
        zone: zone.to_owned(),
        source,
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PleskApiError> + Send + 'static,
) -> Result<T, PleskApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| Err(PleskApiError::Join(join.to_string())))
}

fn fail_all<T>(error: PleskApiError, count: usize) -> Vec<Result<T, BackendError>> {
    BackendError::for_each(error, count)
        .into_iter()
        .map(Err)
        .collect()
}

/// The record ids from the batch's read (or one listing when there is none), then each change in
/// turn. A failure that is the record's own fails its change alone; any other stops the batch and
/// fails every change not yet done with it.
fn write_batch(
    client: &Client,
    zone: &str,
    listed: Option<Listing>,
    changes: &[Change],
) -> WriteResults {
    let listing = match listed {
        Some(listing) => listing,
        None => match checked(zone).and_then(|()| client.records(zone)) {
            Ok(records) => Listing::new(zone, records),
            Err(error) => return fail_all(error, changes.len()),
        },
    };
    let mut results = Vec::with_capacity(changes.len());
    for (done, change) in changes.iter().enumerate() {
        match write_change(client, zone, &listing, change) {
            Ok(()) => results.push(Ok(())),
            Err(error) if error.stops_batch() => {
                results.extend(fail_all(error, changes.len() - done));
                break;
            }
            Err(error) => results.push(Err(BackendError::new(error))),
        }
    }
    results
}

/// New values first, then TTL fixes, then removals: the name keeps an answer throughout.
fn write_change(
    client: &Client,
    zone: &str,
    listing: &Listing,
    change: &Change,
) -> Result<(), PleskApiError> {
    let plan = listing.plan(change);
    let record = |value| {
        serde_json::json!({
            "type": change.record_type.as_str(),
            "host": change.label,
            "value": value_text(value),
            "ttl": change.ttl,
        })
    };
    for value in &plan.add {
        client.create(zone, &record(value))?;
    }
    for (id, value) in &plan.retime {
        client.update(*id, &record(value))?;
    }
    for id in &plan.remove {
        client.delete(*id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> PleskApiError {
        PleskApiError::Status {
            method: "GET",
            url: "https://plesk.example.com:8443/api/v2/dns/records?domain=example.com".to_owned(),
            status,
            message: "m".to_owned(),
            retry_after: None,
        }
    }

    #[test]
    fn refusals_are_permanent_and_overload_is_transient() {
        for permanent in [400, 401, 403, 404, 409, 422] {
            assert!(!status(permanent).is_transient(), "{permanent}");
        }
        for transient in [429, 500, 502, 503] {
            assert!(status(transient).is_transient(), "{transient}");
        }
    }

    #[test]
    fn only_a_refused_record_lets_the_rest_of_the_batch_go_on() {
        for own in [400, 409, 422] {
            assert!(!status(own).stops_batch(), "{own}");
        }
        for shared in [401, 403, 404, 429, 500] {
            assert!(status(shared).stops_batch(), "{shared}");
        }
    }

    #[test]
    fn a_refused_key_says_what_to_check() {
        let text = status(403).to_string();
        assert!(
            text.contains("HTTP 403: m (the API key was refused"),
            "{text}"
        );
        assert!(text.contains("api_key_file"), "{text}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let api = PleskApi::new(PleskApiOptions {
            api_url: "https://plesk.example.com:8443".to_owned(),
            api_key: Secret::new("s3cr3t-key"),
            tls_ca_file: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let debug = format!("{api:?}");
        assert!(!debug.contains("s3cr3t-key"), "{debug}");
        assert!(
            debug.contains("https://plesk.example.com:8443/api/v2"),
            "{debug}"
        );
    }
}
