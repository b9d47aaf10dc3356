//! Why this exists: a backend whose write needs what its read just listed (record ids, Plesk's
//! spelling of a value) keeps that listing for the write that follows it in the same batch, so a
//! batch lists the zone once to read and write, not twice. A listing of another zone, or older than
//! [`MAX_AGE`], is never used: the write then lists again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reconcile writes right after it reads; anything older was not read for this write.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(10);

/// The last listing a read made, for one write to take.
pub(crate) struct LastRead<T> {
    slot: Mutex<Option<(String, Instant, T)>>,
}

impl<T> Default for LastRead<T> {
    fn default() -> Self {
        LastRead {
            slot: Mutex::new(None),
        }
    }
}

impl<T> std::fmt::Debug for LastRead<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LastRead")
    }
}

impl<T> LastRead<T> {
    /// Keeps `listing` of `zone`, replacing any older one.
    pub(crate) fn keep(&self, zone: &str, listing: T) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Some((zone.to_owned(), Instant::now(), listing));
        }
    }

    /// The listing of `zone` a read kept less than [`MAX_AGE`] ago, once.
    pub(crate) fn take(&self, zone: &str) -> Option<T> {
        let (kept_zone, at, listing) = self.slot.lock().ok()?.take()?;
        (kept_zone == zone && at.elapsed() < MAX_AGE).then_some(listing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_taken_once_and_only_for_its_zone() {
        let last = LastRead::default();
        last.keep("example.com", 1);
        assert_eq!(last.take("example.org"), None, "another zone's listing");
        assert_eq!(
            last.take("example.com"),
            None,
            "a failed take empties the slot"
        );
        last.keep("example.com", 2);
        assert_eq!(last.take("example.com"), Some(2));
        assert_eq!(last.take("example.com"), None, "taken once");
    }
}
