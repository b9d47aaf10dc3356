//! Why this exists: dyndns edits zone files people wrote by hand, so it must read every master file
//! BIND's `named-checkzone` accepts (RFC 1035 §5 plus BIND's directives) while keeping where each entry
//! sits in the text, so that everything it does not change is written back byte for byte.
//!
//! Why not a crate: hickory-proto's zone parser returns records without positions (no way to rewrite
//! only a serial or keep comments), rejects lower-case `$ttl` and splits a quoted string inside
//! parentheses at its spaces; record-level parsers such as NLnet Labs' `domain` also drop positions
//! and comments. What we need is smaller and different: tokens with byte spans.
//!
//! What is read, as BIND does it (each checked against `named-checkzone` 9.18):
//! - An entry is one line, or several while parentheses are open (nested ones too). `;` outside a
//!   quoted string starts a comment to the end of the line. A quoted string is one token and may hold
//!   spaces, `;` and parentheses; `\` escapes the next byte or writes one as `\DDD`; a newline inside
//!   quotes is an error unless escaped. A `"` inside a word ends it and starts a quoted string.
//!   Only space and tab separate tokens: BIND rejects a `\r` at the end of a word, and so do we.
//! - An entry whose line starts with space or tab repeats the previous record's owner (also across
//!   `$ORIGIN`); otherwise its first token is the owner: `@` (the origin), relative (origin appended)
//!   or absolute (trailing dot), with escapes decoded and letters folded for comparison.
//! - TTL and class may follow the owner in either order; a TTL is a number or unit groups (`1w2d`,
//!   `1h30m`; `1h30` is not one), below 2^32. Records of a class other than IN are refused.
//! - `$ORIGIN` (relative to the current origin too) and `$TTL` are applied; `$GENERATE` is kept and
//!   reported with the type it makes; `$INCLUDE` is refused: records in another file would be invisible
//!   to the edit. Directive names are case-insensitive; any other `$` word is an error, as in BIND.
//! - A and AAAA data are parsed as addresses (also in RFC 3597's `\# 4 c0000201` form and as
//!   `TYPE1`/`TYPE28`); the SOA's serial is located and parsed; a CNAME is told apart (nothing may
//!   stand beside it). Other data is kept as text, unread.
//! - TXT data (also `TYPE16`, and `\# length hex` holding length-prefixed strings) is one or more
//!   character-strings, quoted or bare words, each at most 255 bytes after `\X` and `\DDD` are
//!   decoded; BIND refuses a TXT record without one, and so do we. The value is the strings joined,
//!   as ACME validators join them (RFC 8555 §8.4 compares the record's text).
//! - Every record gets the TTL BIND gives it (checked with `named-checkzone -D`): its own if written;
//!   else the `$TTL` in effect; else the last TTL written (RFC 1035 §5.1); else, for an SOA, its
//!   MINIMUM field, which then acts as `$TTL`. A TTL above 2^31 - 1 counts as 0 (RFC 2181 §8). BIND
//!   gives an RRset the TTL of its first record and warns about the others.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use crate::backend::{RecordType, Value};

/// Why a master file cannot be read, placed on the line where the offending entry starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct SyntaxError {
    pub line: usize,
    pub kind: Syntax,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Syntax {
    #[error("$INCLUDE {file:?} is not supported: dyndns edits one file and cannot see records in another (copy them into this file)")]
    Include { file: String },
    #[error("unknown directive {0:?} (BIND knows $ORIGIN, $TTL, $INCLUDE and $GENERATE)")]
    UnknownDirective(String),
    #[error("{0} needs an argument")]
    MissingArgument(&'static str),
    #[error("{0:?} is not a TTL (a number, or groups like 1h30m, below 2^32)")]
    BadTtl(String),
    #[error("a `(` opened here is never closed")]
    UnclosedParenthesis,
    #[error("a `)` without a `(` before it")]
    UnopenedParenthesis,
    #[error("a quoted string opened here is not closed before the end of its line")]
    UnterminatedQuote,
    #[error("the entry starts with a blank, but there is no previous owner to repeat")]
    NoOwner,
    #[error("{0:?} is not a valid name")]
    BadName(String),
    #[error("the record has no type")]
    NoType,
    #[error("class {0} in a zone of class IN")]
    OtherClass(String),
    #[error("{record_type} value {value:?} is not an address of that family")]
    BadAddress {
        record_type: &'static str,
        value: String,
    },
    #[error("the SOA record has {0} data fields, not 7")]
    SoaFields(usize),
    #[error("SOA serial {0:?} is not a number from 0 to 4294967295")]
    BadSerial(String),
    #[error("SOA minimum {0:?} is not a TTL")]
    BadMinimum(String),
    #[error("TXT data {0:?} is not one or more character-strings of at most 255 bytes each")]
    BadTxt(String),
}

/// A read master file: its entries in order. Blank and comment-only lines are in no entry.
#[derive(Debug)]
pub struct MasterFile {
    pub entries: Vec<Entry>,
    /// `$ORIGIN` in effect at the end of the file.
    pub final_origin: String,
}

/// One directive or record, with the whole lines it occupies.
#[derive(Debug)]
pub struct Entry {
    /// Byte range of its lines in the text, the final newline included (absent at the end of a file
    /// without one).
    pub span: Range<usize>,
    /// 1-based line of its first byte.
    pub line: usize,
    pub kind: EntryKind,
}

#[derive(Debug)]
pub enum EntryKind {
    /// `$ORIGIN` or `$TTL`, already applied to the entries after it.
    Directive,
    /// `$GENERATE`: the address type it makes, if it makes A or AAAA records.
    Generate {
        makes: Option<RecordType>,
    },
    Record(Record),
}

#[derive(Debug)]
pub struct Record {
    /// Absolute, letters lower-cased, no trailing dot, in presentation form (bytes other than letters,
    /// digits, `-`, `_`, `*` and `/` as `\DDD`), the root as "".
    pub owner: String,
    /// False when the entry starts with a blank and repeats the previous owner.
    pub owner_written: bool,
    /// `$ORIGIN` in effect for this entry.
    pub origin: String,
    /// The TTL BIND gives this record on its own (see the module doc); `None` where BIND refuses
    /// the zone for want of one (no TTL written, no `$TTL`, no SOA before it without one).
    pub ttl: Option<u32>,
    pub data: RecordData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    Address(IpAddr),
    Soa {
        serial: u32,
        /// Byte range of the serial in the text.
        serial_span: Range<usize>,
    },
    /// An alias: no other data may share its owner (RFC 1034 §3.6.2), so no address either.
    Cname,
    /// A TXT record's character-strings decoded and joined. Bytes that are not UTF-8 are shown as
    /// U+FFFD: such a value never equals one dyndns writes (printable ASCII), which is all a
    /// comparison needs.
    Txt(String),
    /// Any other type, not read further.
    Other,
}

impl RecordData {
    /// The value of an RRset dyndns keeps (A, AAAA, TXT) this record holds, if it is one.
    pub fn value(&self) -> Option<Value> {
        match self {
            RecordData::Address(address) => Some(Value::Address(*address)),
            RecordData::Txt(text) => Some(Value::Txt(text.clone())),
            RecordData::Soa { .. } | RecordData::Cname | RecordData::Other => None,
        }
    }
}

/// Reads `text` with `origin` (absolute, no trailing dot) as the initial `$ORIGIN`.
pub fn read(text: &[u8], origin: &str) -> Result<MasterFile, SyntaxError> {
    let mut reader = Reader {
        origin: origin.to_ascii_lowercase(),
        last_owner: None,
        default_ttl: None,
        last_ttl: None,
    };
    let mut entries = Vec::new();
    let mut lexer = Lexer {
        text,
        pos: 0,
        line: 1,
    };
    while let Some(raw) = lexer.next_entry()? {
        if raw.tokens.is_empty() {
            continue;
        }
        let kind = reader.entry(text, &raw).map_err(|kind| SyntaxError {
            line: raw.line,
            kind,
        })?;
        entries.push(Entry {
            span: raw.span,
            line: raw.line,
            kind,
        });
    }
    Ok(MasterFile {
        entries,
        final_origin: reader.origin,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Word,
    /// The span includes both quotes.
    Quoted,
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    span: Range<usize>,
}

/// An entry's tokens before they mean anything.
struct RawEntry {
    span: Range<usize>,
    line: usize,
    /// The entry's first line starts with a space or tab.
    blank_start: bool,
    tokens: Vec<Token>,
}

struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    /// 1-based line of `pos`.
    line: usize,
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

impl Lexer<'_> {
    /// The next entry (possibly without tokens: a blank or comment line), `None` at the end.
    fn next_entry(&mut self) -> Result<Option<RawEntry>, SyntaxError> {
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        let start = self.pos;
        let line = self.line;
        let blank_start = is_blank(self.text[start]);
        let mut tokens = Vec::new();
        // Line of each `(` still open, innermost last.
        let mut open: Vec<usize> = Vec::new();
        let error = |line, kind| SyntaxError { line, kind };
        loop {
            let Some(&byte) = self.text.get(self.pos) else {
                if let Some(&opened) = open.first() {
                    return Err(error(opened, Syntax::UnclosedParenthesis));
                }
                break;
            };
            match byte {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    if open.is_empty() {
                        break;
                    }
                }
                b' ' | b'\t' => self.pos += 1,
                b';' => {
                    while self.text.get(self.pos).is_some_and(|&b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                b'(' => {
                    open.push(self.line);
                    self.pos += 1;
                }
                b')' => {
                    if open.pop().is_none() {
                        return Err(error(self.line, Syntax::UnopenedParenthesis));
                    }
                    self.pos += 1;
                }
                b'"' => tokens.push(self.quoted()?),
                _ => tokens.push(self.word()),
            }
        }
        Ok(Some(RawEntry {
            span: start..self.pos,
            line,
            blank_start,
            tokens,
        }))
    }

    fn quoted(&mut self) -> Result<Token, SyntaxError> {
        let start = self.pos;
        let line = self.line;
        self.pos += 1;
        loop {
            match self.text.get(self.pos) {
                None | Some(b'\n') => {
                    return Err(SyntaxError {
                        line,
                        kind: Syntax::UnterminatedQuote,
                    })
                }
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Token {
                        kind: TokenKind::Quoted,
                        span: start..self.pos,
                    });
                }
                Some(b'\\') => self.escape(),
                Some(_) => self.pos += 1,
            }
        }
    }

    fn word(&mut self) -> Token {
        let start = self.pos;
        while let Some(&byte) = self.text.get(self.pos) {
            match byte {
                b' ' | b'\t' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                b'\\' => self.escape(),
                _ => self.pos += 1,
            }
        }
        Token {
            kind: TokenKind::Word,
            span: start..self.pos,
        }
    }

    /// Steps over `\` and the byte it escapes (an escaped newline still counts as a line).
    fn escape(&mut self) {
        self.pos += 1;
        match self.text.get(self.pos) {
            Some(b'\n') => {
                self.line += 1;
                self.pos += 1;
            }
            Some(_) => self.pos += 1,
            None => {}
        }
    }
}

/// What carries over from one entry to the next.
struct Reader {
    origin: String,
    last_owner: Option<String>,
    /// `$TTL` in effect (or an SOA's MINIMUM standing in for it).
    default_ttl: Option<u32>,
    /// The last TTL written on a record.
    last_ttl: Option<u32>,
}

impl Reader {
    fn entry(&mut self, text: &[u8], raw: &RawEntry) -> Result<EntryKind, Syntax> {
        let bytes = |token: &Token| &text[token.span.clone()];
        let first = bytes(&raw.tokens[0]);
        if !raw.blank_start && raw.tokens[0].kind == TokenKind::Word && first.starts_with(b"$") {
            return self.directive(first, &raw.tokens[1..], text);
        }

        let (owner, owner_written, rest) = if raw.blank_start {
            let owner = self.last_owner.clone().ok_or(Syntax::NoOwner)?;
            (owner, false, &raw.tokens[..])
        } else {
            (
                self.name(unquoted(&raw.tokens[0], first))?,
                true,
                &raw.tokens[1..],
            )
        };
        self.last_owner = Some(owner.clone());

        // Up to one TTL and one class, in either order, before the type.
        let mut rest = rest;
        let (mut written_ttl, mut seen_class) = (None, false);
        while let Some(token) = rest.first().filter(|t| t.kind == TokenKind::Word) {
            let word = bytes(token);
            if let Some(ttl) = parse_ttl(word).filter(|_| written_ttl.is_none()) {
                written_ttl = Some(ttl);
            } else if !seen_class && is_class(word) {
                if !is_class_in(word) {
                    return Err(Syntax::OtherClass(lossy(word)));
                }
                seen_class = true;
            } else {
                break;
            }
            rest = &rest[1..];
        }
        let (type_token, data) = rest.split_first().ok_or(Syntax::NoType)?;
        let (data, soa_minimum) = match record_type(bytes(type_token)) {
            Some(Type::Address(t)) => (RecordData::Address(address(t, data, text)?), None),
            Some(Type::Soa) => soa(data, text)?,
            Some(Type::Cname) => (RecordData::Cname, None),
            Some(Type::Txt) => (RecordData::Txt(txt(data, text)?), None),
            None => (RecordData::Other, None),
        };
        Ok(EntryKind::Record(Record {
            owner,
            owner_written,
            origin: self.origin.clone(),
            ttl: self.ttl(written_ttl, soa_minimum),
            data,
        }))
    }

    /// The TTL BIND gives a record with `written` as its own TTL field and, for an SOA, its
    /// MINIMUM (see the module doc).
    fn ttl(&mut self, written: Option<u32>, soa_minimum: Option<u32>) -> Option<u32> {
        if let Some(ttl) = written.map(capped) {
            self.last_ttl = Some(ttl);
            return Some(ttl);
        }
        if let Some(ttl) = self.default_ttl.or(self.last_ttl) {
            return Some(ttl);
        }
        let minimum = soa_minimum.map(capped)?;
        self.default_ttl = Some(minimum);
        Some(minimum)
    }

    fn directive(&mut self, name: &[u8], args: &[Token], text: &[u8]) -> Result<EntryKind, Syntax> {
        let arg = |i: usize, directive| {
            args.get(i)
                .map(|t| unquoted(t, &text[t.span.clone()]))
                .ok_or(Syntax::MissingArgument(directive))
        };
        if name.eq_ignore_ascii_case(b"$ORIGIN") {
            self.origin = self.name(arg(0, "$ORIGIN")?)?;
            Ok(EntryKind::Directive)
        } else if name.eq_ignore_ascii_case(b"$TTL") {
            let ttl = arg(0, "$TTL")?;
            let ttl = parse_ttl(ttl).ok_or_else(|| Syntax::BadTtl(lossy(ttl)))?;
            self.default_ttl = Some(capped(ttl));
            Ok(EntryKind::Directive)
        } else if name.eq_ignore_ascii_case(b"$INCLUDE") {
            Err(Syntax::Include {
                file: lossy(arg(0, "$INCLUDE")?),
            })
        } else if name.eq_ignore_ascii_case(b"$GENERATE") {
            // `$GENERATE range lhs [ttl] [class] type rhs`: the type is the first word after the
            // owner template that is neither a TTL nor a class.
            let makes = args
                .iter()
                .skip(2)
                .map(|t| &text[t.span.clone()])
                .find(|w| parse_ttl(w).is_none() && !is_class(w))
                .and_then(record_type)
                .and_then(|t| match t {
                    Type::Address(t) => Some(t),
                    Type::Txt => Some(RecordType::Txt),
                    Type::Soa | Type::Cname => None,
                });
            Ok(EntryKind::Generate { makes })
        } else {
            Err(Syntax::UnknownDirective(lossy(name)))
        }
    }

    /// `written` resolved against the current origin, in the form of [`Record::owner`].
    fn name(&self, written: &[u8]) -> Result<String, Syntax> {
        match written {
            b"@" => return Ok(self.origin.clone()),
            b"." => return Ok(String::new()),
            _ => {}
        }
        let bad = || Syntax::BadName(lossy(written));
        let mut labels: Vec<String> = Vec::new();
        let mut label: Vec<u8> = Vec::new();
        let mut absolute = false;
        let mut i = 0;
        while i < written.len() {
            let byte = match written[i] {
                b'.' => {
                    // A leading dot or `..`: an empty label.
                    if label.is_empty() {
                        return Err(bad());
                    }
                    labels.push(presentation(&label));
                    label.clear();
                    i += 1;
                    absolute = i == written.len();
                    continue;
                }
                b'\\' => {
                    let digits = written
                        .get(i + 1..i + 4)
                        .filter(|d| d.iter().all(u8::is_ascii_digit));
                    if let Some(digits) = digits {
                        i += 4;
                        let value = digits
                            .iter()
                            .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
                        u8::try_from(value).map_err(|_| bad())?
                    } else {
                        i += 2;
                        *written.get(i - 1).ok_or_else(bad)?
                    }
                }
                other => {
                    i += 1;
                    other
                }
            };
            label.push(byte.to_ascii_lowercase());
            if label.len() > 63 {
                return Err(bad());
            }
        }
        if !absolute {
            if label.is_empty() {
                return Err(bad());
            }
            labels.push(presentation(&label));
        }
        let mut name = labels.join(".");
        if !absolute && !self.origin.is_empty() {
            name.push('.');
            name.push_str(&self.origin);
        }
        Ok(name)
    }
}

/// A label in the presentation form of [`Record::owner`].
fn presentation(label: &[u8]) -> String {
    let mut out = String::with_capacity(label.len());
    for &byte in label {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'*' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("\\{byte:03}"));
        }
    }
    out
}

/// A quoted token's content without its quotes; a word as it is.
fn unquoted<'t>(token: &Token, bytes: &'t [u8]) -> &'t [u8] {
    match token.kind {
        TokenKind::Quoted => &bytes[1..bytes.len() - 1],
        TokenKind::Word => bytes,
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A TTL as BIND reads it: all digits, or groups of digits each followed by a unit (s, m, h, d, w,
/// either case); below 2^32.
pub fn parse_ttl(word: &[u8]) -> Option<u32> {
    if word.is_empty() {
        return None;
    }
    if word.iter().all(u8::is_ascii_digit) {
        return std::str::from_utf8(word).ok()?.parse().ok();
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for &byte in word {
        if byte.is_ascii_digit() {
            let n = number.unwrap_or(0) * 10 + u64::from(byte - b'0');
            if n > u64::from(u32::MAX) {
                return None;
            }
            number = Some(n);
            continue;
        }
        let seconds: u64 = match byte.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3_600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return None,
        };
        total += number.take()? * seconds;
        if total > u64::from(u32::MAX) {
            return None;
        }
    }
    if number.is_some() {
        return None;
    }
    u32::try_from(total).ok()
}

fn is_class(word: &[u8]) -> bool {
    const CLASSES: [&[u8]; 7] = [b"IN", b"CH", b"CHAOS", b"HS", b"HESIOD", b"NONE", b"ANY"];
    CLASSES.iter().any(|c| word.eq_ignore_ascii_case(c)) || numbered(word, b"CLASS").is_some()
}

fn is_class_in(word: &[u8]) -> bool {
    word.eq_ignore_ascii_case(b"IN") || numbered(word, b"CLASS") == Some(1)
}

/// `n` for `PREFIXn` (RFC 3597's `TYPE1`, `CLASS1`), any case.
fn numbered(word: &[u8], prefix: &[u8]) -> Option<u32> {
    if word.len() <= prefix.len() || !word[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return None;
    }
    let digits = &word[prefix.len()..];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// RFC 2181 §8: a TTL with the top bit set is taken as zero, as BIND does (with a warning).
fn capped(ttl: u32) -> u32 {
    if ttl > i32::MAX as u32 {
        0
    } else {
        ttl
    }
}

/// The types dyndns tells apart.
enum Type {
    Address(RecordType),
    Soa,
    Cname,
    Txt,
}

fn record_type(word: &[u8]) -> Option<Type> {
    let number = numbered(word, b"TYPE");
    if word.eq_ignore_ascii_case(b"A") || number == Some(1) {
        Some(Type::Address(RecordType::A))
    } else if word.eq_ignore_ascii_case(b"AAAA") || number == Some(28) {
        Some(Type::Address(RecordType::Aaaa))
    } else if word.eq_ignore_ascii_case(b"SOA") || number == Some(6) {
        Some(Type::Soa)
    } else if word.eq_ignore_ascii_case(b"CNAME") || number == Some(5) {
        Some(Type::Cname)
    } else if word.eq_ignore_ascii_case(b"TXT") || number == Some(16) {
        Some(Type::Txt)
    } else {
        None
    }
}

/// The address in an A or AAAA record's data: one address, or `\# length hex…` (RFC 3597 §5).
fn address(record_type: RecordType, data: &[Token], text: &[u8]) -> Result<IpAddr, Syntax> {
    let words: Vec<&[u8]> = data.iter().map(|t| &text[t.span.clone()]).collect();
    let bad = || Syntax::BadAddress {
        record_type: record_type.as_str(),
        value: words.iter().map(|w| lossy(w)).collect::<Vec<_>>().join(" "),
    };
    if data.iter().any(|t| t.kind == TokenKind::Quoted) {
        return Err(bad());
    }
    let parsed = match words.as_slice() {
        [single] => {
            let text = std::str::from_utf8(single).map_err(|_| bad())?;
            match record_type {
                RecordType::A => text.parse::<Ipv4Addr>().map(IpAddr::V4).ok(),
                RecordType::Aaaa => text.parse::<Ipv6Addr>().map(IpAddr::V6).ok(),
                // Only address types are read as addresses.
                RecordType::Txt => None,
            }
        }
        [marker, length, hex @ ..] if *marker == b"\\#" => generic(record_type, length, hex),
        _ => None,
    };
    parsed.ok_or_else(bad)
}

fn generic(record_type: RecordType, length: &[u8], hex: &[&[u8]]) -> Option<IpAddr> {
    let bytes = generic_bytes(length, hex)?;
    match record_type {
        RecordType::A => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        RecordType::Aaaa => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        RecordType::Txt => None,
    }
}

/// The RDATA of RFC 3597's `\# length hex…`, the hex possibly split into several words.
fn generic_bytes(length: &[u8], hex: &[&[u8]]) -> Option<Vec<u8>> {
    let length: usize = std::str::from_utf8(length).ok()?.parse().ok()?;
    let digits: Vec<u8> = hex.concat();
    if digits.len() != length * 2 {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// A TXT record's character-strings, decoded and joined: quoted strings and bare words, or
/// `\# length hex` holding length-prefixed strings (RFC 1035 §3.3.14).
fn txt(data: &[Token], text: &[u8]) -> Result<String, Syntax> {
    let bad = || {
        let words: Vec<String> = data.iter().map(|t| lossy(&text[t.span.clone()])).collect();
        Syntax::BadTxt(words.join(" "))
    };
    let words: Vec<&[u8]> = data.iter().map(|t| &text[t.span.clone()]).collect();
    let joined = match (data.first(), words.as_slice()) {
        (None, _) => return Err(bad()),
        (Some(first), [marker, length, hex @ ..])
            if first.kind == TokenKind::Word && *marker == b"\\#" =>
        {
            let rdata = generic_bytes(length, hex).ok_or_else(bad)?;
            let mut joined = Vec::with_capacity(rdata.len());
            let mut rest = rdata.as_slice();
            // At least one string: a zero-length TXT RDATA is refused, as BIND refuses it.
            if rest.is_empty() {
                return Err(bad());
            }
            while let Some((&length, after)) = rest.split_first() {
                let string = after.get(..usize::from(length)).ok_or_else(bad)?;
                joined.extend_from_slice(string);
                rest = &after[usize::from(length)..];
            }
            joined
        }
        _ => {
            let mut joined = Vec::new();
            for (token, word) in data.iter().zip(&words) {
                let string = decoded(unquoted(token, word)).ok_or_else(bad)?;
                if string.len() > 255 {
                    return Err(bad());
                }
                joined.extend_from_slice(&string);
            }
            joined
        }
    };
    Ok(String::from_utf8_lossy(&joined).into_owned())
}

/// A character-string's bytes with `\DDD` (a decimal byte) and `\X` (X itself) decoded; `None`
/// for a `\DDD` above 255.
fn decoded(written: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(written.len());
    let mut i = 0;
    while let Some(&byte) = written.get(i) {
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }
        let digits = written
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(u8::is_ascii_digit));
        if let Some(digits) = digits {
            let value = digits
                .iter()
                .fold(0u16, |v, d| v * 10 + u16::from(d - b'0'));
            out.push(u8::try_from(value).ok()?);
            i += 4;
        } else {
            // A trailing lone `\` cannot reach here: the lexer always takes the byte after it.
            out.extend(written.get(i + 1));
            i += 2;
        }
    }
    Some(out)
}

/// `mname rname serial refresh retry expire minimum`: the serial and where it is, and the minimum.
fn soa(data: &[Token], text: &[u8]) -> Result<(RecordData, Option<u32>), Syntax> {
    if data.len() != 7 {
        return Err(Syntax::SoaFields(data.len()));
    }
    let token = &data[2];
    let word = &text[token.span.clone()];
    let serial = Some(word)
        .filter(|w| token.kind == TokenKind::Word && w.iter().all(u8::is_ascii_digit))
        .and_then(|w| std::str::from_utf8(w).ok()?.parse::<u32>().ok())
        .ok_or_else(|| Syntax::BadSerial(lossy(word)))?;
    let minimum = &text[data[6].span.clone()];
    let minimum = parse_ttl(minimum).ok_or_else(|| Syntax::BadMinimum(lossy(minimum)))?;
    Ok((
        RecordData::Soa {
            serial,
            serial_span: token.span.clone(),
        },
        Some(minimum),
    ))
}

#[cfg(test)]
mod tests;
