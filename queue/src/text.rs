//! Why this exists: text from the spool reaches people — in `.reason` files here, in the worker's
//! log there — and some characters that are not control characters still disguise it; this is the
//! one list of them.

/// Not control characters, but they end a line in some viewers (line and paragraph separators) or
/// reorder what follows (bidirectional embeddings, overrides and isolates).
pub fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
