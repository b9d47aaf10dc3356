//! Why this exists: the HTTP side of the `plesk-api` backend in one place — the `X-API-Key`
//! header, which certificates are trusted, the size caps on what Plesk sends back, and how each
//! status and transport failure becomes a typed [`PleskApiError`] with Plesk's own words.
//!
//! Plesk's error replies are JSON `{"code": <int>, "message": "<text>"}`, with `"errors":
//! [{"property", "message"}]` on a rejected field (the shape Plesk's own `pleskapp` client reads,
//! github.com/plesk/pleskapp `internal/api/json/types.go`); anything else (a proxy's HTML page)
//! is shown as text. Both are capped, and the key is masked should a reply ever echo it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use super::records::Record;
use super::PleskApiError;
use crate::backend::http_api::{keyed_message, Reply};
use crate::secret::Secret;

/// A zone's listing is JSON of every record; 100,000 records stay far below this.
const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;
/// A PEM file of a few certificates; anything larger is not one.
const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// Why `tls_ca_file` cannot be used; found at start, before any change is taken.
#[derive(Debug, thiserror::Error)]
#[error("[backend.plesk-api] tls_ca_file {}: {problem}", path.display())]
pub struct CaFileError {
    path: PathBuf,
    problem: CaProblem,
}

#[derive(Debug, thiserror::Error)]
enum CaProblem {
    #[error("{0}")]
    Read(std::io::Error),
    #[error("larger than 1 MiB: not a PEM file of certificates")]
    TooLarge,
    #[error("not PEM: {0}")]
    Pem(ureq::Error),
    #[error("holds a private key: give only certificates, and keep the key on the Plesk server")]
    PrivateKey,
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NoCertificate,
}

/// The certificates of a PEM file, the only ones trusted for the API when `tls_ca_file` is set.
pub(super) fn load_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>, CaFileError> {
    let fail = |problem| CaFileError {
        path: path.to_owned(),
        problem,
    };
    let file = crate::secret::open_regular_file(path).map_err(|e| fail(CaProblem::Read(e)))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|e| fail(CaProblem::Read(e)))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(fail(CaProblem::TooLarge));
    }
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| fail(CaProblem::Pem(e)))? {
            PemItem::Certificate(certificate) => certificates.push(certificate),
            PemItem::PrivateKey(_) => return Err(fail(CaProblem::PrivateKey)),
            _ => {}
        }
    }
    if certificates.is_empty() {
        return Err(fail(CaProblem::NoCertificate));
    }
    Ok(certificates)
}

/// What a blocking request needs, cloned into `spawn_blocking` (the agent shares its pool).
#[derive(Clone)]
pub(super) struct Client {
    agent: ureq::Agent,
    /// `{api_url}/api/v2`.
    api: String,
    api_key: Secret,
    writes: Arc<AtomicU64>,
}

/// A request, with its body where it has one.
enum Method {
    Get,
    Post(String),
    Put(String),
    Delete,
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post(_) => "POST",
            Method::Put(_) => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl Client {
    pub fn new(
        api_url: &str,
        api_key: Secret,
        roots: Option<Vec<Certificate<'static>>>,
        timeout: Duration,
    ) -> Client {
        let tls = match roots {
            Some(roots) => TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&roots))
                .build(),
            // Mozilla's roots, built in: the same answer on every machine the worker runs on.
            None => TlsConfig::default(),
        };
        let config = ureq::Agent::config_builder()
            // Statuses are classified here, with the body's message, not turned into bare errors.
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            // A redirect would carry the key to wherever it points.
            .max_redirects(0)
            .tls_config(tls)
            .build();
        Client {
            agent: ureq::Agent::new_with_config(config),
            api: format!("{}/api/v2", api_url.trim_end_matches('/')),
            api_key,
            writes: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn api(&self) -> &str {
        &self.api
    }

    /// POST, PUT and DELETE requests sent so far, answered or not.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Every record of `zone` (a checked host name: letters, digits, `-`, `.`, safe in a query).
    pub fn records(&self, zone: &str) -> Result<Vec<Record>, PleskApiError> {
        let url = format!("{}/dns/records?domain={zone}", self.api);
        let text = self.expect_ok(Method::Get, &url)?;
        serde_json::from_str(&text).map_err(|source| PleskApiError::Reply {
            method: "GET",
            url,
            expected: "a list of DNS records",
            problem: self.api_key.masked_in(source.to_string()),
        })
    }

    /// Whether Plesk has a domain named `zone` (its `name` or, for an IDN, its `ascii_name`).
    pub fn has_domain(&self, zone: &str) -> Result<bool, PleskApiError> {
        #[derive(serde::Deserialize)]
        struct Domain {
            #[serde(default)]
            name: String,
            #[serde(default)]
            ascii_name: String,
        }
        let url = format!("{}/domains?name={zone}", self.api);
        let text = self.expect_ok(Method::Get, &url)?;
        let domains: Vec<Domain> =
            serde_json::from_str(&text).map_err(|source| PleskApiError::Reply {
                method: "GET",
                url,
                expected: "a list of domains",
                problem: self.api_key.masked_in(source.to_string()),
            })?;
        Ok(domains.iter().any(|domain| {
            domain.name.eq_ignore_ascii_case(zone) || domain.ascii_name.eq_ignore_ascii_case(zone)
        }))
    }

    /// Adds a record to `zone`'s zone.
    pub fn create(&self, zone: &str, record: &serde_json::Value) -> Result<(), PleskApiError> {
        let url = format!("{}/dns/records?domain={zone}", self.api);
        self.expect_ok(Method::Post(record.to_string()), &url)
            .map(drop)
    }

    /// Rewrites record `id` (for its TTL; the other fields are sent as they are). One gone since
    /// the listing (404) is left to the worker's read-back, which then misses its value and retries.
    pub fn update(&self, id: u64, record: &serde_json::Value) -> Result<(), PleskApiError> {
        let url = format!("{}/dns/records/{id}", self.api);
        let reply = self.send(Method::Put(record.to_string()), &url)?;
        if reply.status == 404 {
            return Ok(());
        }
        self.ok_or_status("PUT", &url, reply).map(drop)
    }

    /// Removes record `id`; one already gone (404) is what was wanted.
    pub fn delete(&self, id: u64) -> Result<(), PleskApiError> {
        let url = format!("{}/dns/records/{id}", self.api);
        let reply = self.send(Method::Delete, &url)?;
        if reply.status == 404 {
            return Ok(());
        }
        self.ok_or_status("DELETE", &url, reply).map(drop)
    }

    fn expect_ok(&self, method: Method, url: &str) -> Result<String, PleskApiError> {
        let name = method.name();
        let reply = self.send(method, url)?;
        self.ok_or_status(name, url, reply)
    }

    fn send(&self, method: Method, url: &str) -> Result<Reply, PleskApiError> {
        let name = method.name();
        if !matches!(method, Method::Get) {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let key = self.api_key.first_line();
        let sent = match method {
            Method::Get => with_key(self.agent.get(url), key).call(),
            Method::Delete => with_key(self.agent.delete(url), key).call(),
            Method::Post(body) => with_key(self.agent.post(url), key)
                .content_type("application/json")
                .send(body),
            Method::Put(body) => with_key(self.agent.put(url), key)
                .content_type("application/json")
                .send(body),
        };
        let transport = |source| PleskApiError::transport(name, url, source);
        Reply::read(sent.map_err(transport)?, MAX_REPLY_BYTES).map_err(transport)
    }

    /// The body of a 2xx reply, or the error its status and Plesk's message make.
    fn ok_or_status(
        &self,
        method: &'static str,
        url: &str,
        reply: Reply,
    ) -> Result<String, PleskApiError> {
        if (200..300).contains(&reply.status) {
            return Ok(reply.text);
        }
        Err(PleskApiError::Status {
            method,
            url: url.to_owned(),
            status: reply.status,
            message: message_of(&reply.text, &self.api_key),
            retry_after: reply.retry_after,
        })
    }
}

fn with_key<B>(request: ureq::RequestBuilder<B>, key: &str) -> ureq::RequestBuilder<B> {
    request
        .header("X-API-Key", key)
        .header("Accept", "application/json")
}

/// Plesk's own words: `message` and each rejected field of a JSON error, else the reply's text;
/// capped, and with `key` masked.
fn message_of(body: &str, key: &Secret) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(reply) => json_message(&reply).unwrap_or_else(|| body.trim().to_owned()),
        Err(_) => body.trim().to_owned(),
    };
    keyed_message(text, key)
}

fn json_message(reply: &serde_json::Value) -> Option<String> {
    let mut text = reply.get("message")?.as_str()?.trim().to_owned();
    let fields: Vec<String> = reply
        .get("errors")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|error| {
            let message = error.get("message")?.as_str()?;
            Some(match error.get("property").and_then(|p| p.as_str()) {
                Some(property) => format!("{property}: {message}"),
                None => message.to_owned(),
            })
        })
        .collect();
    if !fields.is_empty() {
        text = format!("{text} ({})", fields.join("; "));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::http_api::MAX_MESSAGE_CHARS;

    #[test]
    fn the_message_is_plesks_json_with_its_fields_or_the_text() {
        assert_eq!(
            message_of(
                r#"{"code":0,"message":"Domain not found"}"#,
                &Secret::new("k3y")
            ),
            "Domain not found"
        );
        assert_eq!(
            message_of(
                r#"{"code":0,"message":"Invalid data","errors":[{"property":"value","message":"Invalid IP address"}]}"#,
                &Secret::new("k3y")
            ),
            "Invalid data (value: Invalid IP address)"
        );
        assert_eq!(
            message_of("<html>Bad Gateway</html>\n", &Secret::new("k3y")),
            "<html>Bad Gateway</html>"
        );
        assert_eq!(message_of("", &Secret::new("k3y")), "no message");
    }

    #[test]
    fn the_message_never_carries_the_key_and_is_capped() {
        let echoed = message_of(
            r#"{"code":1,"message":"key s3cr3t-key is unknown"}"#,
            &Secret::new("s3cr3t-key"),
        );
        assert_eq!(echoed, "key <masked> is unknown");
        let long = message_of(&"x".repeat(10_000), &Secret::new("k3y"));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
    }

    #[test]
    fn a_ca_file_must_hold_certificates_and_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not pem\n").unwrap();
        let error = load_ca_file(&empty).unwrap_err().to_string();
        assert!(
            error.contains("tls_ca_file") && error.contains("no PEM certificate"),
            "{error}"
        );
        let missing = load_ca_file(&dir.path().join("absent.pem")).unwrap_err();
        assert!(missing.to_string().contains("absent.pem"), "{missing}");
    }

    #[test]
    fn a_ca_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ca.pem");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = sender.send(load_ca_file(&path).map(drop).map_err(|e| e.to_string()));
        });
        let Ok(loaded) = receiver.recv_timeout(Duration::from_secs(5)) else {
            // Let the waiting thread go before failing.
            let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
            panic!("loading a FIFO waited for a writer");
        };
        let error = loaded.unwrap_err();
        assert!(error.contains("not a regular file"), "{error}");
    }
}
