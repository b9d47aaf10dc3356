//! Why this exists: what the HTTP kinds (webhook, ntfy, Gotify) share: one agent with a deadline and
//! no redirects (a redirect would carry the token wherever it points), rustls as the worker's API
//! backends use it, a 2xx as the only success, and a capped reply text in errors.

use std::time::Duration;

use super::formats::{Format, Request};
use super::{Deliver, DeliveryError};
use crate::message::Message;
use crate::token::Token;

/// What an error reply may add to a log line, in characters.
const MAX_REPLY_CHARS: usize = 300;
/// Replies are read (to reuse the connection) up to this many bytes.
const MAX_REPLY_BYTES: u64 = 64 * 1024;

pub struct HttpTarget {
    /// The target's label, for errors.
    id: String,
    format: Format,
    url: String,
    /// `url` as errors show it (no path: it may be the secret).
    shown: String,
    token: Option<Token>,
    agent: ureq::Agent,
}

impl HttpTarget {
    pub fn new(
        id: &str,
        format: Format,
        url: &str,
        token: Option<Token>,
        timeout: Duration,
    ) -> HttpTarget {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .build();
        HttpTarget {
            id: id.to_owned(),
            format,
            url: url.trim_end_matches('/').to_owned(),
            shown: dyndns_config::notify::shown_url(url),
            token,
            agent: ureq::Agent::new_with_config(config),
        }
    }
}

impl Deliver for HttpTarget {
    fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let Request {
            url,
            headers,
            content_type,
            body,
        } = self.format.request(&self.url, self.token.as_ref(), message);
        let mut request = self.agent.post(&url).content_type(content_type);
        for (name, value) in &headers {
            request = request.header(*name, value);
        }
        let transport = |cause: ureq::Error| DeliveryError::Transport {
            target: self.id.clone(),
            url: self.shown.clone(),
            // ureq's errors name the host at most, never the path or a header.
            cause: cause.to_string(),
        };
        let mut response = request.send(body).map_err(transport)?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(DeliveryError::Status {
            target: self.id.clone(),
            url: self.shown.clone(),
            status,
            text: text
                .chars()
                .take(MAX_REPLY_CHARS)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        })
    }
}
