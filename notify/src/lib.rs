//! Why this exists: the notifier, `dyndns-notify`. The root worker only records what it did to DNS
//! in `history.jsonl`; this unprivileged process follows that file and tells people (webhook, ntfy,
//! Gotify, e-mail through sendmail), so no outbound connection or mailer ever runs as root.
//!
//! The promises, kept in `notifier.rs` and `state.rs`:
//! - An event is sent after the worker applied (or gave up on) the change: it exists only then.
//! - The cursor in the history is saved durably (tmp, fsync, rename, fsync of the folder) together
//!   with every message still owed, so a restart neither resends what was delivered nor drops what
//!   was not; a kill between a delivery and the next save resends that one message, at most once.
//! - Events repeated by a worker that crashed between its history append and its state save are
//!   recognised by [`dyndns_queue::HistoryEvent::dedupe_key`] and told once.
//! - A target that fails is retried with backoff; other targets go on (one delivery thread each).
//! - At most one message per host per target per `min_interval`; what was held back is summarised
//!   in the next message.

pub mod category;
pub mod cli;
pub mod deliver;
pub mod instance_lock;
pub mod message;
pub mod notifier;
pub mod outbox;
pub mod reload;
pub mod run;
pub mod state;
mod time_text;
pub mod token;

pub use category::Category;
pub use deliver::{Deliver, DeliveryError};
pub use message::Message;
pub use notifier::{Notifier, NotifierError};
