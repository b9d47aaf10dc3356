//! Why this exists: the request each HTTP kind sends, written from the vendors' documentation:
//! - ntfy (<https://docs.ntfy.sh/publish/>): `POST` of the text to the topic URL, with `Title`,
//!   `Tags` (emoji short codes) and `Priority` (1 to 5, 3 the default) headers, and an access token
//!   as `Authorization: Bearer tk_…`.
//! - Gotify (<https://gotify.net/docs/pushmsg>): `POST <server>/message` of JSON
//!   `{"title", "message", "priority"}` with the application token in `X-Gotify-Key`.
//! - A webhook: `POST` of our own JSON (README, "Notifications"), the token, if any, as a bearer.

use serde::Serialize;

use crate::category::Category;
use crate::message::Message;
use crate::time_text::rfc3339;
use crate::token::Token;

/// The version of the webhook's JSON; a receiver may check it.
pub const WEBHOOK_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Webhook,
    Ntfy,
    Gotify,
}

pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub content_type: &'static str,
    pub body: String,
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    version: u32,
    host: &'a str,
    category: &'static str,
    title: String,
    message: String,
    /// Every event the message lists, oldest first, as `history.jsonl` holds them.
    events: Vec<&'a dyndns_queue::HistoryEvent>,
    /// Events held back and only counted (older than `events`).
    omitted: u32,
    /// The oldest event the message covers.
    since: Option<String>,
}

#[derive(Serialize)]
struct GotifyBody {
    title: String,
    message: String,
    priority: u8,
}

impl Format {
    pub fn request(self, url: &str, token: Option<&Token>, message: &Message) -> Request {
        let bearer = token.map(|token| ("Authorization", format!("Bearer {}", token.reveal())));
        match self {
            Format::Webhook => {
                let body = WebhookBody {
                    version: WEBHOOK_VERSION,
                    host: &message.host,
                    category: message.category().as_str(),
                    title: message.title(),
                    message: message.body(),
                    events: message.notices.iter().map(|notice| &notice.event).collect(),
                    omitted: message.omitted.count(),
                    since: message.since().map(rfc3339),
                };
                Request {
                    url: url.to_owned(),
                    headers: bearer.into_iter().collect(),
                    content_type: "application/json",
                    // Serialising these plain types cannot fail; an empty body would be refused.
                    body: serde_json::to_string(&body).unwrap_or_default(),
                }
            }
            Format::Ntfy => {
                let (tags, priority) = match message.category() {
                    Category::Change => ("globe_with_meridians", "3"),
                    Category::Recovery => ("white_check_mark", "3"),
                    Category::Failure => ("warning", "4"),
                };
                let mut headers = vec![
                    ("Title", message.title()),
                    ("Tags", tags.to_owned()),
                    ("Priority", priority.to_owned()),
                ];
                headers.extend(bearer);
                Request {
                    url: url.to_owned(),
                    headers,
                    content_type: "text/plain; charset=utf-8",
                    body: message.body(),
                }
            }
            Format::Gotify => {
                let priority = match message.category() {
                    Category::Change | Category::Recovery => 5,
                    Category::Failure => 8,
                };
                let body = GotifyBody {
                    title: message.title(),
                    message: message.body(),
                    priority,
                };
                Request {
                    url: format!("{url}/message"),
                    headers: token
                        .map(|token| ("X-Gotify-Key", token.reveal().to_owned()))
                        .into_iter()
                        .collect(),
                    content_type: "application/json",
                    body: serde_json::to_string(&body).unwrap_or_default(),
                }
            }
        }
    }
}
