//! Why this exists: one way to hand a [`Message`] to each kind of target, behind one trait, so the
//! notifier's bookkeeping (retries, rate limits, the cursor) exists once and a test can give it a
//! delivery of its own. `deliver/http.rs` holds what the HTTP kinds share, `deliver/formats.rs`
//! their request shapes, `deliver/sendmail.rs` the mail and its child process.

use std::sync::Arc;

use dyndns_config::notify::{NotifyKind, NotifyTarget, SendTo};

use crate::message::Message;
use crate::token::{Token, TokenError};

mod formats;
mod http;
pub mod mail;
mod sendmail;

pub use http::HttpTarget;
pub use sendmail::SendmailTarget;

/// Why a message did not reach its target. Never holds a token.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{target}: POST {url} answered HTTP {status}: {text}")]
    Status {
        target: String,
        url: String,
        status: u16,
        text: String,
    },
    #[error("{target}: POST {url} failed: {cause}")]
    Transport {
        target: String,
        url: String,
        cause: String,
    },
    #[error("{target}: {command} {problem}")]
    Command {
        target: String,
        command: String,
        problem: String,
    },
    #[error("{target}: the delivery thread stopped: {problem}")]
    Thread { target: String, problem: String },
}

/// Hands one message to one target; blocking, bounded by the target's timeout.
pub trait Deliver: Send + Sync {
    fn deliver(&self, message: &Message) -> Result<(), DeliveryError>;
}

/// A configured target with its delivery.
pub type Configured = (NotifyTarget, Arc<dyn Deliver>);

/// Every `[[notify]]` target of `config` with its delivery, tokens read now.
pub fn for_config(config: &dyndns_config::Config) -> Result<Vec<Configured>, TokenError> {
    config
        .notify
        .targets
        .iter()
        .enumerate()
        .map(|(index, target)| Ok((target.clone(), for_target(target, index)?)))
        .collect()
}

/// The delivery for a configured target: its token read now (at start or reload, before any
/// message).
pub fn for_target(target: &NotifyTarget, index: usize) -> Result<Arc<dyn Deliver>, TokenError> {
    Ok(match &target.send_to {
        SendTo::Http { url, token_file } => {
            let token = match token_file {
                Some(path) => Some(Token::load(path, &format!("notify[{index}].token_file"))?),
                None => None,
            };
            let format = match target.kind {
                NotifyKind::Ntfy => formats::Format::Ntfy,
                NotifyKind::Gotify => formats::Format::Gotify,
                NotifyKind::Webhook | NotifyKind::Sendmail => formats::Format::Webhook,
            };
            Arc::new(HttpTarget::new(
                &target.label,
                format,
                url,
                token,
                target.timeout,
            ))
        }
        SendTo::Sendmail { command, to, from } => Arc::new(SendmailTarget::new(
            &target.label,
            command.clone(),
            to.clone(),
            from.clone(),
            target.timeout,
        )),
    })
}
