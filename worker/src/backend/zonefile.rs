//! Why this exists: for a plain BIND/Knot/NSD primary, dyndns itself keeps the zone file — a valid file
//! with a bumped SOA serial, written atomically — and then runs the server's reload command.
//!
//! What the file looks like and what we touch (see the team's backend notes, `shared/reference/backends.md` §8):
//! - A missing (or empty) file is created with `$ORIGIN`, `$TTL`, a one-line SOA and one NS record. The
//!   nameserver defaults to `localhost.`: it is outside the zone, so the file needs no glue record and
//!   `named-checkzone` accepts it as is; set a real one for a zone that is delegated.
//! - An existing file is read line by line. We recognise the SOA (it must fit on one line; only its
//!   serial token is rewritten) and A/AAAA records, following `$ORIGIN`, `@`, relative and absolute
//!   owners and blank owners (which repeat the previous one). Every line we do not rewrite is kept
//!   byte for byte, comments included. Records inside `$INCLUDE`d files are not seen.
//! - A change replaces the RRset of its name and type: the first old line becomes the new record, the
//!   other old lines go, and a record that was not there is appended. When a dropped line's follower
//!   relied on it for its (blank) owner, that follower gets its owner written out.
//! - The serial becomes max(old + 1, today's `YYYYMMDD00` in UTC).
//!
//! Writes go to a temporary file beside the zone (same mode and owner as the old file, so a `root:bind
//! 0640` zone stays readable by named), are synced, renamed over the zone and the folder synced. One
//! mutex per backend serialises read-edit-write-reload, so concurrent applies cannot lose an update.
//!
//! Reloads: a zone counts as "reload pending" until a reload after its last write succeeded in this
//! process. A failed reload is a transient error although the file is already right; the retry finds
//! nothing to write but still reloads. A fresh process treats every zone as pending, which covers a
//! crash between write and reload at the cost of one extra reload per zone after start.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::fcntl::OFlag;
use tokio::sync::Mutex;

use super::{Applied, Backend, BackendError, Change, RecordType};
use crate::command::{self, display_argv, RunOptions};

/// Zone files larger than this are refused rather than read: a dynamic zone is small.
const MAX_ZONE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Mode of a zone file we create: named usually runs as its own user and must read it.
const NEW_FILE_MODE: u32 = 0o644;

/// SOA timers for files we create: refresh 1 h, retry 15 min, expire 2 weeks (the usual RFC 1912
/// ballpark); the negative-caching TTL is `default_ttl`.
const SOA_TIMERS: &str = "3600 900 1209600";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFileOptions {
    /// The zone file; `{zone}` is replaced by the change's zone: `/var/lib/bind/db.{zone}`.
    pub path_template: PathBuf,
    /// Run after each write, e.g. `["rndc", "reload", "{zone}"]` (`{zone}` is replaced in each element).
    pub reload: Option<Vec<String>>,
    pub reload_timeout: Duration,
    /// NS and SOA MNAME of a created file; default `localhost.` (needs no glue). A name without a
    /// trailing dot is taken as absolute anyway.
    pub nameserver: Option<String>,
    /// SOA RNAME of a created file, in zone-file form; default `hostmaster.<zone>.`.
    pub hostmaster: Option<String>,
    /// `$TTL` and negative-caching TTL of a created file.
    pub default_ttl: u32,
}

#[derive(Debug)]
pub struct ZoneFile {
    options: ZoneFileOptions,
    /// Held for a whole apply. The set holds the zones whose last write was followed by a successful
    /// reload in this process; any other zone has a reload pending.
    reloaded: Mutex<HashSet<String>>,
}

impl ZoneFile {
    pub fn new(options: ZoneFileOptions) -> ZoneFile {
        ZoneFile {
            options,
            reloaded: Mutex::new(HashSet::new()),
        }
    }

    /// The file for `zone`. The zone was checked by [`Change::check_names`], so it has no `/` or `..`.
    fn path_for(&self, zone: &str) -> PathBuf {
        let template = self.options.path_template.as_os_str().as_bytes();
        PathBuf::from(std::ffi::OsString::from_vec(replace_bytes(
            template,
            b"{zone}",
            zone.as_bytes(),
        )))
    }

    async fn reload(&self, zone: &str) -> Result<(), BackendError> {
        let Some(template) = &self.options.reload else {
            return Ok(());
        };
        let argv: Vec<String> = template.iter().map(|a| a.replace("{zone}", zone)).collect();
        let output = command::run(&argv, &RunOptions::new(self.options.reload_timeout))
            .await
            .map_err(|e| {
                BackendError::Transient(format!("zone {zone} is written but not reloaded: {e}"))
            })?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = output.stderr_text();
        let stdout = output.stdout_text();
        let said = [stderr.trim(), stdout.trim()]
            .into_iter()
            .find(|text| !text.is_empty())
            .unwrap_or("no output");
        Err(BackendError::Transient(format!(
            "zone {zone} is written but not reloaded: `{}` failed ({}): {said}",
            display_argv(&argv),
            output.status,
        )))
    }

    fn soa_names(&self, zone: &str) -> Result<(String, String), BackendError> {
        let absolute = |name: &str, what: &str| {
            let bare = name.strip_suffix('.').unwrap_or(name);
            if super::is_dns_name(bare) {
                Ok(format!("{bare}."))
            } else {
                Err(BackendError::Permanent(format!(
                    "zonefile backend: {what} {name:?} is not a plain DNS name"
                )))
            }
        };
        let nameserver = absolute(
            self.options.nameserver.as_deref().unwrap_or("localhost."),
            "nameserver",
        )?;
        let hostmaster = match &self.options.hostmaster {
            Some(h) => absolute(h, "hostmaster")?,
            None => format!("hostmaster.{zone}."),
        };
        Ok((nameserver, hostmaster))
    }
}

#[async_trait::async_trait]
impl Backend for ZoneFile {
    fn name(&self) -> &'static str {
        "zonefile"
    }

    async fn apply(&self, change: &Change) -> Result<Applied, BackendError> {
        change.check_names()?;
        let path = self.path_for(&change.zone);
        let mut reloaded = self.reloaded.lock().await;

        let existing = blocking({
            let path = path.clone();
            move || read_zone_file(&path)
        })
        .await?;
        // An empty file (made by `touch`, say) is filled in like a missing one, keeping its mode.
        let edit = match existing.as_ref().filter(|f| !f.text.trim().is_empty()) {
            Some(file) => edit_zone(&file.text, change, today_utc()).map_err(|e| e.at(&path))?,
            None => {
                let (nameserver, hostmaster) = self.soa_names(&change.zone)?;
                Edit {
                    previous: Vec::new(),
                    text: Some(new_zone(
                        change,
                        &nameserver,
                        &hostmaster,
                        self.options.default_ttl,
                        today_utc(),
                    )),
                }
            }
        };

        let changed = edit.text.is_some();
        if let Some(text) = edit.text {
            let owner = existing.map(|f| (f.mode, f.uid, f.gid));
            blocking({
                let path = path.clone();
                move || write_zone_file(&path, &text, owner)
            })
            .await?;
            reloaded.remove(&change.zone);
        }
        if self.options.reload.is_some() && !reloaded.contains(&change.zone) {
            self.reload(&change.zone).await?;
            reloaded.insert(change.zone.clone());
        }
        Ok(Applied {
            previous: edit.previous,
            changed,
        })
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| BackendError::Transient(format!("zone file task failed: {e}")))?
}

struct ExistingFile {
    text: String,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// Reads the zone, or `None` when there is no file yet.
fn read_zone_file(path: &Path) -> Result<Option<ExistingFile>, BackendError> {
    let io_error = |what: &str, e: std::io::Error| {
        BackendError::Transient(format!("{what} zone file {}: {e}", path.display()))
    };
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("cannot inspect", e)),
        // The rename that replaces the file would replace the link, not its target.
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(BackendError::Permanent(format!(
                "zone file {} is a symlink; point the path at the real file",
                path.display()
            )))
        }
        Ok(_) => {}
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(path)
        .map_err(|e| io_error("cannot open", e))?;
    let meta = file.metadata().map_err(|e| io_error("cannot inspect", e))?;
    if !meta.is_file() {
        return Err(BackendError::Permanent(format!(
            "zone file {} is not a regular file",
            path.display()
        )));
    }
    if meta.len() > MAX_ZONE_FILE_BYTES {
        return Err(BackendError::Permanent(format!(
            "zone file {} is {} bytes, more than the {MAX_ZONE_FILE_BYTES} we read",
            path.display(),
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_ZONE_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error("cannot read", e))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        BackendError::Permanent(format!("zone file {} is not UTF-8", path.display()))
    })?;
    Ok(Some(ExistingFile {
        text,
        mode: meta.permissions().mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    }))
}

/// Atomically replaces `path` with `text`, keeping the old file's mode and owner when there was one.
fn write_zone_file(
    path: &Path,
    text: &str,
    previous: Option<(u32, u32, u32)>,
) -> Result<(), BackendError> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        BackendError::Transient(format!(
            "cannot write zone file {}: {what}: {e}",
            path.display()
        ))
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| failed("the path has no file name", &"path ends in .."))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    // Removed again on drop unless persisted: an error below leaves no stray file.
    let mut temp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| failed("creating a temporary file beside it", &e))?;

    let mode = previous.map_or(NEW_FILE_MODE, |(mode, _, _)| mode);
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| failed("setting the mode of the temporary file", &e))?;
    if let Some((_, uid, gid)) = previous {
        let meta = temp
            .as_file()
            .metadata()
            .map_err(|e| failed("inspecting the temporary file", &e))?;
        if (meta.uid(), meta.gid()) != (uid, gid) {
            std::os::unix::fs::fchown(temp.as_file(), Some(uid), Some(gid))
                .map_err(|e| failed(&format!("giving the new file owner {uid}:{gid}"), &e))?;
        }
    }
    temp.write_all(text.as_bytes())
        .map_err(|e| failed("writing the temporary file", &e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| failed("syncing the temporary file", &e))?;
    temp.persist(path)
        .map_err(|e| failed("renaming the temporary file into place", &e.error))?;
    // The rename is durable only once the folder is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| failed(&format!("syncing folder {}", dir.display()), &e))?;
    Ok(())
}

/// The outcome of editing a zone's text: what the RRset held, and the new text if it must change.
#[derive(Debug)]
struct Edit {
    previous: Vec<IpAddr>,
    text: Option<String>,
}

/// A problem with the file's content, placed on a line; never fixed by retrying.
#[derive(Debug)]
struct ZoneError {
    line: usize,
    message: String,
}

impl ZoneError {
    fn at(self, path: &Path) -> BackendError {
        BackendError::Permanent(format!(
            "zone file {}:{}: {}",
            path.display(),
            self.line,
            self.message
        ))
    }
}

/// The text of a zone file dyndns creates for `change`.
fn new_zone(
    change: &Change,
    nameserver: &str,
    hostmaster: &str,
    default_ttl: u32,
    today: u32,
) -> String {
    let zone = &change.zone;
    let serial = next_serial(None, today).expect("a fresh serial is today's YYYYMMDD00 and fits");
    format!(
        "; Zone {zone}, kept by dyndns: the SOA serial and the A/AAAA records of dynamic hosts are\n\
         ; rewritten on updates; every other line is kept as it is. The SOA must stay on one line.\n\
         $ORIGIN {zone}.\n\
         $TTL {default_ttl}\n\
         @ IN SOA {nameserver} {hostmaster} {serial} {SOA_TIMERS} {default_ttl}\n\
         @ IN NS {nameserver}\n\
         {}\n",
        record_line(change, zone)
    )
}

/// `<owner> <ttl> IN <TYPE> <address>`, the owner relative when `origin` is the zone.
fn record_line(change: &Change, origin: &str) -> String {
    let owner = if origin != change.zone {
        format!("{}.", change.host)
    } else if change.label.is_empty() {
        "@".to_owned()
    } else {
        change.label.clone()
    };
    format!(
        "{owner} {} IN {} {}",
        change.ttl,
        change.record_type().as_str(),
        change.address
    )
}

/// Replaces the RRset of the change's name and type in `text`, or says nothing needs writing.
fn edit_zone(text: &str, change: &Change, today: u32) -> Result<Edit, ZoneError> {
    let zone = parse_zone(text, &change.zone)?;
    let soa = zone.soa.as_ref().ok_or(ZoneError {
        line: 1,
        message: "no SOA record on one line; dyndns only edits zones with a one-line SOA"
            .to_owned(),
    })?;
    // A path template without `{zone}` would send every zone to one file.
    let zone_name = change.zone.to_ascii_lowercase();
    if soa.owner != zone_name {
        return Err(ZoneError {
            line: soa.line + 1,
            message: format!("this file is the zone {:?}, not {zone_name:?}", soa.owner),
        });
    }
    let host = change.host.to_ascii_lowercase();
    let record_type = change.record_type();
    let matching: Vec<&RecordLine> = zone
        .records
        .iter()
        .filter(|r| r.owner == host && matches!(r.address, Some((t, _)) if t == record_type))
        .collect();
    let mut previous: Vec<IpAddr> = Vec::new();
    for (_, address) in matching.iter().filter_map(|r| r.address) {
        if !previous.contains(&address) {
            previous.push(address);
        }
    }
    if previous == [change.address] {
        return Ok(Edit {
            previous,
            text: None,
        });
    }

    let serial = next_serial(Some(soa.serial), today).ok_or(ZoneError {
        line: soa.line + 1,
        message: format!(
            "SOA serial {} cannot grow further; reset it by hand (RFC 1982)",
            soa.serial
        ),
    })?;
    let replaced = matching.first().map(|r| r.line);
    let dropped: HashSet<usize> = matching.iter().skip(1).map(|r| r.line).collect();
    let record_at: HashMap<usize, &RecordLine> = zone.records.iter().map(|r| (r.line, r)).collect();

    let mut out = String::with_capacity(text.len() + 64);
    // The owner a blank-owner line would inherit in the text written so far.
    let mut last_owner: Option<&str> = None;
    for (i, line) in zone.lines.iter().enumerate() {
        if Some(i) == replaced {
            let origin = record_at.get(&i).map_or(&change.zone, |r| &r.origin);
            out.push_str(&record_line(change, origin));
            out.push('\n');
            last_owner = Some(host.as_str());
            continue;
        }
        if dropped.contains(&i) {
            continue;
        }
        let mut line = if i == soa.line {
            format!(
                "{}{serial}{}",
                &line[..soa.serial_span.0],
                &line[soa.serial_span.1..]
            )
        } else {
            (*line).to_owned()
        };
        if let Some(record) = record_at.get(&i) {
            if !record.owner_explicit && last_owner != Some(record.owner.as_str()) {
                // Its owner came from a line we dropped: spell it out.
                line = format!("{}.{line}", record.owner);
            }
            last_owner = Some(&record.owner);
        }
        out.push_str(&line);
        out.push('\n');
    }
    if replaced.is_none() {
        out.push_str(&record_line(change, &zone.final_origin));
        out.push('\n');
    }
    Ok(Edit {
        previous,
        text: Some(out),
    })
}

/// The SOA line: its index and where its serial is, so only that token is rewritten.
#[derive(Debug)]
struct SoaLine {
    line: usize,
    owner: String,
    serial: u32,
    serial_span: (usize, usize),
}

/// A line that starts a resource record.
#[derive(Debug)]
struct RecordLine {
    line: usize,
    /// Absolute, lower case, no trailing dot.
    owner: String,
    /// False when the line starts with whitespace and repeats the previous owner.
    owner_explicit: bool,
    /// `$ORIGIN` in effect on this line.
    origin: String,
    /// Set for A and AAAA records.
    address: Option<(RecordType, IpAddr)>,
}

#[derive(Debug)]
struct ParsedZone<'a> {
    /// The text split at `\n` (a final newline does not make an extra empty line).
    lines: Vec<&'a str>,
    soa: Option<SoaLine>,
    records: Vec<RecordLine>,
    final_origin: String,
}

fn parse_zone<'a>(text: &'a str, zone: &str) -> Result<ParsedZone<'a>, ZoneError> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut origin = zone.to_ascii_lowercase();
    let mut last_owner: Option<String> = None;
    let mut depth = 0usize;
    let mut soa: Option<SoaLine> = None;
    let mut records = Vec::new();

    for (i, line) in lines.iter().enumerate() {
        let number = i + 1;
        let tokens = tokenize(line);
        let continuation = depth > 0;
        for token in &tokens {
            match token.kind {
                TokenKind::Open => depth += 1,
                TokenKind::Close => depth = depth.saturating_sub(1),
                TokenKind::Word => {}
            }
        }
        // Inside a multi-line record (a TXT in parentheses): not the start of anything.
        if continuation {
            continue;
        }
        let words: Vec<&Token> = tokens
            .iter()
            .filter(|t| t.kind == TokenKind::Word)
            .collect();
        let Some(first) = words.first() else {
            continue;
        };
        let first_text = &line[first.span.0..first.span.1];
        if first_text.starts_with('$') {
            if first_text.eq_ignore_ascii_case("$ORIGIN") {
                if let Some(name) = words.get(1) {
                    origin = absolute_name(&line[name.span.0..name.span.1], &origin);
                }
            }
            continue;
        }

        let owner_explicit = !line.starts_with(|c: char| c.is_whitespace());
        let (owner, fields) = if owner_explicit {
            (absolute_name(first_text, &origin), &words[1..])
        } else {
            match &last_owner {
                Some(owner) => (owner.clone(), &words[..]),
                // No owner to repeat: not a record BIND would accept either; leave it alone.
                None => continue,
            }
        };
        last_owner = Some(owner.clone());

        // Up to two of TTL and class precede the type, in either order.
        let mut rest = fields;
        for _ in 0..2 {
            match rest.first() {
                Some(t) if is_ttl_or_class(&line[t.span.0..t.span.1]) => rest = &rest[1..],
                _ => break,
            }
        }
        let Some(type_token) = rest.first() else {
            continue;
        };
        let record_type = &line[type_token.span.0..type_token.span.1];
        let data = &rest[1..];
        let mut address = None;

        if record_type.eq_ignore_ascii_case("SOA") {
            if depth > 0 {
                return Err(ZoneError {
                    line: number,
                    message: "the SOA spans several lines; dyndns needs it on one line to bump its serial".to_owned(),
                });
            }
            if soa.is_some() {
                return Err(ZoneError {
                    line: number,
                    message: "a second SOA record".to_owned(),
                });
            }
            let serial_token = data.get(2).ok_or(ZoneError {
                line: number,
                message: "the SOA has no serial".to_owned(),
            })?;
            let serial_text = &line[serial_token.span.0..serial_token.span.1];
            let serial = serial_text.parse::<u32>().map_err(|_| ZoneError {
                line: number,
                message: format!("SOA serial {serial_text:?} is not a number"),
            })?;
            soa = Some(SoaLine {
                line: i,
                owner: owner.clone(),
                serial,
                serial_span: serial_token.span,
            });
        } else if let Some(t) = [RecordType::A, RecordType::Aaaa]
            .into_iter()
            .find(|t| record_type.eq_ignore_ascii_case(t.as_str()))
        {
            if depth > 0 {
                return Err(ZoneError {
                    line: number,
                    message: format!("{} record spans several lines", t.as_str()),
                });
            }
            let value = data.first().map_or("", |v| &line[v.span.0..v.span.1]);
            let parsed: IpAddr = value.parse().map_err(|_| ZoneError {
                line: number,
                message: format!("{} value {value:?} is not an address", t.as_str()),
            })?;
            if RecordType::of(&parsed) != t {
                return Err(ZoneError {
                    line: number,
                    message: format!("{} value {value:?} is the wrong address family", t.as_str()),
                });
            }
            address = Some((t, parsed));
        }
        records.push(RecordLine {
            line: i,
            owner,
            owner_explicit,
            origin: origin.clone(),
            address,
        });
    }
    Ok(ParsedZone {
        lines,
        soa,
        records,
        final_origin: origin,
    })
}

fn is_ttl_or_class(token: &str) -> bool {
    token.starts_with(|c: char| c.is_ascii_digit())
        || ["IN", "CH", "HS", "CS"]
            .iter()
            .any(|class| token.eq_ignore_ascii_case(class))
}

/// `name` resolved against `origin`; lower case, no trailing dot, the root as "".
fn absolute_name(name: &str, origin: &str) -> String {
    let name = name.to_ascii_lowercase();
    if name == "@" {
        origin.to_owned()
    } else if let Some(absolute) = name.strip_suffix('.') {
        absolute.to_owned()
    } else if origin.is_empty() {
        name
    } else {
        format!("{name}.{origin}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Word,
    Open,
    Close,
}

#[derive(Debug)]
struct Token {
    kind: TokenKind,
    /// Byte range in the line.
    span: (usize, usize),
}

/// Splits one master-file line (RFC 1035 §5.1): whitespace-separated words, `"quoted strings"` as one
/// word, `(` and `)` on their own, `;` to the end of the line a comment, `\x` escapes a character.
fn tokenize(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            ';' => break,
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                tokens.push(Token {
                    kind: if c == '(' {
                        TokenKind::Open
                    } else {
                        TokenKind::Close
                    },
                    span: (start, start + 1),
                });
            }
            '"' => {
                chars.next();
                let mut end = line.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        _ => {}
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Word,
                    span: (start, end),
                });
            }
            _ => {
                let mut end = line.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, ';' | '(' | ')' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                    if c == '\\' {
                        chars.next();
                    }
                }
                tokens.push(Token {
                    kind: TokenKind::Word,
                    span: (start, end),
                });
            }
        }
    }
    tokens
}

/// max(old + 1, today's `YYYYMMDD00`); `None` when old + 1 does not fit a serial.
fn next_serial(old: Option<u32>, today_yyyymmdd: u32) -> Option<u32> {
    let dated = today_yyyymmdd.checked_mul(100)?;
    match old {
        None => Some(dated),
        Some(old) => Some(old.checked_add(1)?.max(dated)),
    }
}

/// Today's UTC date as `YYYYMMDD`.
fn today_utc() -> u32 {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    let (year, month, day) = civil_from_days(days);
    year * 10_000 + month * 100 + day
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // Years fit u32 for any clock this side of the heat death.
    (year as u32, month as u32, day as u32)
}

fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(label: &str, address: &str) -> Change {
        let zone = "example.com".to_owned();
        Change {
            host: if label.is_empty() {
                zone.clone()
            } else {
                format!("{label}.{zone}")
            },
            zone,
            label: label.to_owned(),
            address: address.parse().expect("test address literal is valid"),
            ttl: 60,
        }
    }

    const TODAY: u32 = 20240615;

    #[test]
    fn serial_is_dated_or_one_more() {
        assert_eq!(next_serial(None, TODAY), Some(2024061500));
        assert_eq!(next_serial(Some(5), TODAY), Some(2024061500));
        assert_eq!(next_serial(Some(2024061500), TODAY), Some(2024061501));
        assert_eq!(next_serial(Some(2030010107), TODAY), Some(2030010108));
        assert_eq!(next_serial(Some(u32::MAX), TODAY), None);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn tokenizer_handles_quotes_comments_and_parens() {
        let line = r#"txt IN TXT ( "a; b" "c\"d" ) ; comment"#;
        let words: Vec<&str> = tokenize(line)
            .iter()
            .map(|t| &line[t.span.0..t.span.1])
            .collect();
        assert_eq!(
            words,
            vec!["txt", "IN", "TXT", "(", r#""a; b""#, r#""c\"d""#, ")"]
        );
    }

    const ZONE: &str = "\
$ORIGIN example.com.
$TTL 300
@ IN SOA ns. hm.example.com. 2024010100 3600 900 1209600 300 ; keep this comment
@ IN NS ns.
www 300 IN A 192.0.2.80
home 60 IN A 198.51.100.1
     60 IN TXT \"belongs to home\"
big IN TXT ( \"first\"
   \"home IN A 10.0.0.1\" )
HOME.example.com. 60 IN A 198.51.100.2
";

    #[test]
    fn replacing_an_rrset_keeps_other_lines_and_owners() {
        let edit = edit_zone(ZONE, &change("home", "203.0.113.7"), TODAY).expect("edit");
        assert_eq!(
            edit.previous,
            vec![
                "198.51.100.1".parse::<IpAddr>().expect("literal"),
                "198.51.100.2".parse::<IpAddr>().expect("literal"),
            ]
        );
        let expected = "\
$ORIGIN example.com.
$TTL 300
@ IN SOA ns. hm.example.com. 2024061500 3600 900 1209600 300 ; keep this comment
@ IN NS ns.
www 300 IN A 192.0.2.80
home 60 IN A 203.0.113.7
     60 IN TXT \"belongs to home\"
big IN TXT ( \"first\"
   \"home IN A 10.0.0.1\" )
";
        assert_eq!(edit.text.as_deref(), Some(expected));
    }

    #[test]
    fn dropping_a_line_spells_out_its_followers_owner() {
        let zone = "\
@ IN SOA ns. hm 1 2 3 4 5
home IN A 198.51.100.1
other IN A 192.0.2.9
home IN A 198.51.100.2
     IN TXT \"x\"
";
        let edit = edit_zone(zone, &change("home", "203.0.113.7"), TODAY).expect("edit");
        let text = edit.text.expect("changed");
        assert!(text.contains("home.example.com.     IN TXT"), "{text}");
        assert!(!text.contains("198.51.100"), "{text}");
    }

    #[test]
    fn unchanged_rrset_needs_no_write() {
        let edit = edit_zone(ZONE, &change("www", "192.0.2.80"), TODAY).expect("edit");
        assert!(edit.text.is_none());
    }

    #[test]
    fn record_after_a_different_origin_is_written_absolute() {
        let zone = "\
@ IN SOA ns. hm 1 2 3 4 5
$ORIGIN sub.example.com.
x IN A 192.0.2.1
";
        let edit = edit_zone(zone, &change("", "2001:db8::1"), TODAY).expect("edit");
        let text = edit.text.expect("changed");
        assert!(
            text.ends_with("x IN A 192.0.2.1\nexample.com. 60 IN AAAA 2001:db8::1\n"),
            "{text}"
        );
    }

    #[test]
    fn multi_line_soa_is_refused_with_its_line() {
        let zone = "@ IN SOA ns. hm. (\n 1 2 3 4 5 )\n";
        let err = edit_zone(zone, &change("home", "192.0.2.1"), TODAY).expect_err("refused");
        assert_eq!(err.line, 1);
    }
}
