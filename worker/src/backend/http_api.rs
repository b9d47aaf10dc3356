//! Why this exists: what the JSON HTTP API backends (Cloudflare, DigitalOcean; PowerDNS and the
//! Plesk API read their replies with [`Reply`] too) share about talking to an API, so each backend file holds only its vendor's request shapes: one agent setup (a deadline,
//! no redirects, statuses handed back instead of turned into bare errors), the bearer token, replies
//! read with a size cap, `Retry-After`, the vendor's message capped and never carrying the token, and
//! one error type that tells a retry from a dead letter.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::BackendError;
use crate::secret::Secret;

/// A listing page or a write reply; a page of 5,000 records is about 2 MB.
const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;
/// What an error reply may add to a message, in characters.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;

/// Why a listing stopped at a page that brought no record it had not listed before: a server that
/// answers every page number with the same page would otherwise be asked up to the page limit.
pub(crate) const REPEATED_PAGE: &str =
    "the page lists only records of earlier pages, yet says more follow";

/// A reply read whole, as every HTTP backend reads one: its status, what `Retry-After` says in
/// seconds (an HTTP-date or garbage says nothing; the worker caps what it honours), and its body,
/// at most `limit` bytes.
pub(crate) struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub text: String,
}

impl Reply {
    pub(crate) fn read(
        mut response: ureq::http::Response<ureq::Body>,
        limit: u64,
    ) -> Result<Reply, ureq::Error> {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_string()?;
        Ok(Reply {
            status,
            retry_after,
            text,
        })
    }
}

/// Why a request to a DNS provider's API did not give what was asked. Never holds the token.
#[derive(Debug, thiserror::Error)]
pub enum HttpApiError {
    #[error("{api} answered {method} {url} with HTTP {status}: {message}")]
    Status {
        api: &'static str,
        method: &'static str,
        url: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{api} {method} {url} failed: {source}")]
    Transport {
        api: &'static str,
        method: &'static str,
        url: String,
        source: ureq::Error,
    },
    #[error("{api} {method} {url} gave a reply its documentation does not describe: {problem}")]
    Reply {
        api: &'static str,
        method: &'static str,
        url: String,
        problem: String,
    },
    #[error("{api} has no zone {zone}: {hint}")]
    ZoneNotFound {
        api: &'static str,
        zone: String,
        /// What the operator can do about it, in the vendor's terms.
        hint: String,
    },
    #[error("{api} lists {count} zones named {zone} ({statuses}) and not exactly one is active: scope the API token to the account that serves the zone")]
    AmbiguousZone {
        api: &'static str,
        zone: String,
        count: usize,
        /// Each one's status, as listed.
        statuses: String,
    },
    #[error(
        "{api} listed more than {pages} pages of records for zone {zone}; refusing to read on"
    )]
    TooManyPages {
        api: &'static str,
        zone: String,
        pages: u32,
    },
    #[error("the {api} request thread stopped: {message}")]
    Join { api: &'static str, message: String },
}

impl HttpApiError {
    /// Rejections (400, 401, 403, 404, 422, an unknown zone) need a person; 408, 429, 5xx, a dropped
    /// connection, a timeout or a garbled reply may pass.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            HttpApiError::Status { status, .. } => matches!(*status, 408 | 429) || *status >= 500,
            HttpApiError::Transport { .. }
            | HttpApiError::Reply { .. }
            | HttpApiError::Join { .. } => true,
            HttpApiError::ZoneNotFound { .. }
            | HttpApiError::AmbiguousZone { .. }
            | HttpApiError::TooManyPages { .. } => false,
        }
    }

    /// How long the API asked us to wait (`Retry-After` in seconds, on a 429 or 503).
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status the API answered with, if it answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            HttpApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One provider's API: its base URL, the bearer token, and a count of the requests that write.
/// Cloned into `spawn_blocking` (the agent shares its connection pool).
#[derive(Clone)]
pub(crate) struct HttpApi {
    /// The vendor's name in messages: `Cloudflare`.
    pub(crate) name: &'static str,
    agent: ureq::Agent,
    /// Without a trailing `/`: `https://api.cloudflare.com/client/v4`.
    base: String,
    token: Secret,
    /// The vendor's words in an error reply's JSON, if the body is that JSON.
    message_of: fn(&str) -> Option<String>,
    writes: Arc<AtomicU64>,
}

impl std::fmt::Debug for HttpApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpApi")
            .field("name", &self.name)
            .field("base", &self.base)
            .field("token", &"<masked>")
            .finish()
    }
}

/// An HTTP method this module sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl HttpApi {
    pub(crate) fn new(
        name: &'static str,
        base_url: &str,
        token: Secret,
        timeout: Duration,
        message_of: fn(&str) -> Option<String>,
    ) -> HttpApi {
        let config = ureq::Agent::config_builder()
            // Statuses are classified here, with the body's message, not turned into bare errors.
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            // A redirect would carry the token to wherever it points.
            .max_redirects(0)
            .build();
        HttpApi {
            name,
            agent: ureq::Agent::new_with_config(config),
            base: base_url.trim_end_matches('/').to_owned(),
            token,
            message_of,
            writes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Requests sent so far that write (everything but GET), answered or not.
    pub(crate) fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Sends `method` to `path` (below the base URL, with its query) with a JSON `body`, and returns
    /// the body of a 2xx reply, or the error its status and the vendor's message make.
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<String, HttpApiError> {
        let url = format!("{}{path}", self.base);
        let bearer = format!("Bearer {}", self.token.first_line());
        if method != Method::Get {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        let body = body.unwrap_or_default();
        let reply = match method {
            Method::Get => self.agent.get(&url).header("Authorization", &bearer).call(),
            Method::Delete => self
                .agent
                .delete(&url)
                .header("Authorization", &bearer)
                .call(),
            Method::Post => self
                .agent
                .post(&url)
                .header("Authorization", &bearer)
                .content_type("application/json")
                .send(body),
            Method::Patch => self
                .agent
                .patch(&url)
                .header("Authorization", &bearer)
                .content_type("application/json")
                .send(body),
        };
        let transport = |source| HttpApiError::Transport {
            api: self.name,
            method: method.as_str(),
            url: url.clone(),
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
        Err(HttpApiError::Status {
            api: self.name,
            method: method.as_str(),
            url,
            status,
            message: self.message(&text),
            retry_after,
        })
    }

    /// A reply that parsed but is not what the vendor documents.
    pub(crate) fn reply_error(
        &self,
        method: Method,
        path: &str,
        problem: impl std::fmt::Display,
    ) -> HttpApiError {
        HttpApiError::Reply {
            api: self.name,
            method: method.as_str(),
            url: format!("{}{path}", self.base),
            problem: self.capped(&problem.to_string()),
        }
    }

    /// A 2xx reply whose body says the request failed (Cloudflare's `"success": false`).
    pub(crate) fn refused(
        &self,
        method: Method,
        path: &str,
        status: u16,
        body: &str,
    ) -> HttpApiError {
        HttpApiError::Status {
            api: self.name,
            method: method.as_str(),
            url: format!("{}{path}", self.base),
            status,
            message: self.message(body),
            retry_after: None,
        }
    }

    /// The vendor's words from an error body (its JSON message, else the text), capped, never
    /// empty, and with the token cut out should an API ever echo it.
    fn message(&self, body: &str) -> String {
        let text = (self.message_of)(body).unwrap_or_else(|| body.trim().to_owned());
        if text.is_empty() {
            return "no message".to_owned();
        }
        self.capped(&text)
    }

    fn capped(&self, text: &str) -> String {
        let token = self.token.first_line();
        let text = if token.is_empty() {
            text.to_owned()
        } else {
            text.replace(token, "<token>")
        };
        cap_message(text)
    }
}

/// A vendor's message as an error may carry it: at most [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn cap_message(text: String) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A vendor's message with `key` masked (should a server, or a proxy before it, quote the
/// request's headers), "no message" for none, and capped.
pub(crate) fn keyed_message(text: String, key: &Secret) -> String {
    let text = key.masked_in(text);
    if text.is_empty() {
        return "no message".to_owned();
    }
    cap_message(text)
}

/// Runs `work` (blocking requests) on tokio's blocking pool; should it panic, `stopped` makes the
/// answer from a `Join` error.
pub(crate) async fn off_runtime<T: Send + 'static>(
    api: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
    stopped: impl FnOnce(HttpApiError) -> T,
) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(done) => done,
        Err(join) => stopped(HttpApiError::Join {
            api,
            message: join.to_string(),
        }),
    }
}

/// The same failure for each of `count` changes of a batch.
pub(crate) fn each_failed<T>(error: HttpApiError, count: usize) -> Vec<Result<T, BackendError>> {
    BackendError::for_each(error, count)
        .into_iter()
        .map(Err)
        .collect()
}

/// `text` as a URL path segment or query value: unreserved characters kept, every other byte
/// percent-encoded (zone names are host names already; this keeps a vendor's id from reshaping a URL).
pub(crate) fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> HttpApi {
        HttpApi::new(
            "Example",
            "http://127.0.0.1:9/v1/",
            Secret::new("s3cr3t-token"),
            Duration::from_secs(1),
            |body| {
                serde_json::from_str::<serde_json::Value>(body)
                    .ok()?
                    .get("message")?
                    .as_str()
                    .map(str::to_owned)
            },
        )
    }

    #[test]
    fn messages_are_the_vendors_words_capped_and_without_the_token() {
        let api = api();
        assert_eq!(
            api.message(r#"{"message": "Unable to authenticate you"}"#),
            "Unable to authenticate you"
        );
        assert_eq!(
            api.message("<html>Bad gateway</html>\n"),
            "<html>Bad gateway</html>"
        );
        assert_eq!(api.message(""), "no message");
        assert_eq!(
            api.message(r#"{"message": "token s3cr3t-token is not valid"}"#),
            "token <token> is not valid"
        );
        let long = api.message(&"x".repeat(2000));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn debug_output_masks_the_token() {
        let shown = format!("{:?}", api());
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:9/v1"), "{shown}");
    }

    #[test]
    fn rejections_are_permanent_and_overload_is_transient() {
        let status = |status| HttpApiError::Status {
            api: "Example",
            method: "GET",
            url: "u".to_owned(),
            status,
            message: "m".to_owned(),
            retry_after: None,
        };
        for permanent in [400, 401, 403, 404, 422] {
            assert!(!status(permanent).is_transient(), "{permanent}");
        }
        for transient in [408, 429, 500, 502, 503] {
            assert!(status(transient).is_transient(), "{transient}");
        }
    }

    #[test]
    fn encoding_keeps_host_names_and_escapes_the_rest() {
        assert_eq!(encode("example.com"), "example.com");
        assert_eq!(encode("a/b?c=d e"), "a%2Fb%3Fc%3Dd%20e");
    }
}
