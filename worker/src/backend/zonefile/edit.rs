//! Why this exists: the one change dyndns makes to a zone's text — the RRsets of a batch's names and
//! types replaced, the SOA serial bumped once — kept apart from reading the file and from the disk, so
//! every case is a unit test on a string.
//!
//! - A batch is one pass over the text whatever its size; a change whose host is an alias fails alone.
//! - A change replaces the RRset of its name and type (A, AAAA or TXT): the first old entry becomes
//!   the new records (one line per value), the other old entries go, and an RRset that was not there
//!   is appended at the end. A delete drops every entry of the RRset and writes nothing. Every other
//!   byte is kept, comments included. When a dropped entry's follower relied on it for its (blank)
//!   owner, that follower gets its owner written out.
//! - An RRset already holding exactly the change's values at the change's TTL (the TTL BIND gives
//!   it: its first record's, see `master.rs`) is left alone, so re-applying writes nothing.
//! - The new record's owner is relative (`home`, `@`) where the zone is the `$ORIGIN`, absolute otherwise.
//! - The serial becomes today's `YYYYMMDD00` in UTC if that follows the old one, else the old one plus
//!   one, in RFC 1982 arithmetic (so 4294967295 moves on instead of refusing every update); only its
//!   token is rewritten, wherever in a multi-line SOA it stands.
//! - A host that is an alias (CNAME) is refused: an address beside it would make BIND refuse the
//!   whole zone at its next load. A delete there is done: there is nothing beside it to remove.
//! - A batch changing a type that a `$GENERATE` of the zone makes (A, AAAA, TXT) is refused: the
//!   generated names could be the changed one, and dyndns would then publish a second RRset beside a
//!   record it cannot edit.

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use super::master::{self, EntryKind, RecordData, Syntax};
use crate::backend::{normalized, Change, RecordType, Value};

/// SOA timers for files we create: refresh 1 h, retry 15 min, expire 2 weeks (the usual RFC 1912
/// ballpark); the negative-caching TTL is the file's `$TTL`.
const SOA_TIMERS: &str = "3600 900 1209600";

/// The outcome of editing a zone's text for one change: what the RRset held, and the new text if it
/// must change (the unit tests' view of a batch of one).
#[cfg(test)]
#[derive(Debug, PartialEq, Eq)]
pub struct Edit {
    pub previous: Vec<Value>,
    pub text: Option<Vec<u8>>,
}

/// Why the zone's text cannot be edited; never fixed by retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct EditError {
    /// Where the problem is, when it is on a line.
    pub line: Option<usize>,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Syntax(Syntax),
    #[error("there is no SOA record, so this is not a zone file dyndns can keep")]
    NoSoa,
    #[error("a second SOA record")]
    SecondSoa,
    #[error("this file is the zone {found:?}, not {expected:?}")]
    OtherZone { found: String, expected: String },
    #[error("today ({0}, YYYYMMDD) is past the last date a YYYYMMDDnn serial can hold")]
    DateBeyondSerials(u32),
    #[error("{host} is an alias (CNAME) here; a record beside it is not valid DNS and BIND would refuse the whole zone (RFC 1034 §3.6.2): remove the CNAME to let dyndns keep this name")]
    AliasAtHost { host: String },
    #[error("$GENERATE makes {0} records here; dyndns cannot tell whether they include a name it changes (keep dynamic hosts in a zone without them)")]
    GeneratedRecords(&'static str),
}

impl From<master::SyntaxError> for EditError {
    fn from(error: master::SyntaxError) -> EditError {
        EditError {
            line: Some(error.line),
            problem: Problem::Syntax(error.kind),
        }
    }
}

fn at(line: usize, problem: Problem) -> EditError {
    EditError {
        line: Some(line),
        problem,
    }
}

/// Replaces the RRset of the change's name and type in `text`, or says nothing needs writing.
#[cfg(test)]
pub fn edit_zone(text: &[u8], change: &Change, today: u32) -> Result<Edit, EditError> {
    let mut batch = edit_zone_batch(text, &change.zone, std::slice::from_ref(change), today)?;
    let edited = batch
        .changes
        .pop()
        .expect("a batch edit has one outcome per change")?;
    Ok(Edit {
        previous: edited.previous,
        text: batch.text,
    })
}

/// What one change of a batch found, and whether the batch's text changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    pub previous: Vec<Value>,
    pub changed: bool,
}

/// The outcome of editing a zone's text for a batch: one outcome per change in order (a change that
/// cannot be made, like an address beside an alias, fails alone), and the new text if any changed.
#[derive(Debug, PartialEq, Eq)]
pub struct BatchEdit {
    pub changes: Vec<Result<Edited, EditError>>,
    pub text: Option<Vec<u8>>,
}

/// Replaces the RRset of every change's name and type in one pass over `text`, bumping the serial
/// once. Every change's zone is `zone`; of two changes to one RRset the later wins (the earlier
/// reports the same outcome). An error about the file as a whole is the `Err`.
pub fn edit_zone_batch(
    text: &[u8],
    zone: &str,
    changes: &[Change],
    today: u32,
) -> Result<BatchEdit, EditError> {
    let zone_name = zone.to_ascii_lowercase();
    let file = master::read(text, &zone_name)?;

    let mut soa = None;
    for (i, entry) in file.entries.iter().enumerate() {
        match &entry.kind {
            EntryKind::Generate { makes: Some(t) }
                if changes.iter().any(|c| c.record_type == *t) =>
            {
                return Err(at(entry.line, Problem::GeneratedRecords(t.as_str())))
            }
            EntryKind::Record(record) => {
                if let RecordData::Soa {
                    serial,
                    serial_span,
                } = &record.data
                {
                    if soa.is_some() {
                        return Err(at(entry.line, Problem::SecondSoa));
                    }
                    if record.owner != zone_name {
                        // A path template without `{zone}` would send every zone to one file.
                        return Err(at(
                            entry.line,
                            Problem::OtherZone {
                                found: record.owner.clone(),
                                expected: zone_name,
                            },
                        ));
                    }
                    soa = Some((i, *serial, serial_span.clone()));
                }
            }
            _ => {}
        }
    }
    let (soa_index, old_serial, serial_span) = soa.ok_or(EditError {
        line: None,
        problem: Problem::NoSoa,
    })?;

    // The change that decides each RRset: the last one naming it.
    let keys: Vec<(String, RecordType)> = changes
        .iter()
        .map(|c| (c.host.to_ascii_lowercase(), c.record_type))
        .collect();
    let winner: HashMap<&(String, RecordType), usize> =
        keys.iter().enumerate().map(|(n, key)| (key, n)).collect();
    let hosts: HashSet<&str> = keys.iter().map(|(host, _)| host.as_str()).collect();

    // Per change: indexes of the entries holding its RRset, its values in file order, and the TTL
    // of its first entry (BIND's TTL for the RRset).
    let mut matching: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    let mut previous: Vec<Vec<Value>> = vec![Vec::new(); changes.len()];
    let mut ttl: Vec<Option<u32>> = vec![None; changes.len()];
    // The first alias (CNAME) line of each changed host.
    let mut aliases: HashMap<&str, usize> = HashMap::new();
    for (i, entry) in file.entries.iter().enumerate() {
        let EntryKind::Record(record) = &entry.kind else {
            continue;
        };
        let Some(&host) = hosts.get(record.owner.as_str()) else {
            continue;
        };
        if record.data == RecordData::Cname {
            aliases.entry(host).or_insert(entry.line);
            continue;
        }
        let Some(value) = record.data.value() else {
            continue;
        };
        let key = (record.owner.clone(), value.record_type());
        if let Some(&n) = winner.get(&key) {
            if matching[n].is_empty() {
                ttl[n] = record.ttl;
            }
            matching[n].push(i);
            previous[n].push(value);
        }
    }

    let mut outcomes: Vec<Result<Edited, EditError>> = Vec::with_capacity(changes.len());
    for (n, change) in changes.iter().enumerate() {
        let host = keys[n].0.as_str();
        // A delete beside an alias has nothing to remove (no data may share a CNAME's owner):
        // it is done, like any delete of what is not there.
        let alias = aliases.get(host).filter(|_| !change.is_delete());
        outcomes.push(match alias {
            Some(&line) => Err(at(
                line,
                Problem::AliasAtHost {
                    host: host.to_owned(),
                },
            )),
            None => {
                let previous = normalized(std::mem::take(&mut previous[n]));
                let other_ttl = !change.is_delete() && ttl[n] != Some(change.ttl);
                Ok(Edited {
                    changed: previous != change.values() || other_ttl,
                    previous,
                })
            }
        });
    }
    // The entries to rewrite: each written change's first entry becomes its record, the rest go.
    let written: Vec<bool> = (0..changes.len())
        .map(|n| winner[&keys[n]] == n && matches!(&outcomes[n], Ok(e) if e.changed))
        .collect();
    let mut roles: HashMap<usize, (usize, bool)> = HashMap::new();
    for (n, entries) in matching.iter().enumerate() {
        if written[n] {
            for (k, &i) in entries.iter().enumerate() {
                roles.insert(i, (n, k == 0));
            }
        }
    }
    let appended: Vec<usize> = (0..changes.len())
        .filter(|&n| written[n] && matching[n].is_empty() && !changes[n].is_delete())
        .collect();
    let any_written = written.contains(&true);
    // A change overtaken by a later one in the batch reports the later one's outcome.
    for n in 0..changes.len() {
        let last = winner[&keys[n]];
        if last != n {
            outcomes[n] = outcomes[last].clone();
        }
    }
    if !any_written {
        return Ok(BatchEdit {
            changes: outcomes,
            text: None,
        });
    }
    let serial = next_serial(old_serial, today);

    let mut out = Vec::with_capacity(text.len() + 64 * appended.len() + 64);
    // Bytes of `text` up to here are in `out` already (or deliberately dropped).
    let mut copied = 0;
    // The owner a blank-owner entry would inherit in the text written so far.
    let mut last_owner: Option<&str> = None;
    for (i, entry) in file.entries.iter().enumerate() {
        out.extend_from_slice(&text[copied..entry.span.start]);
        copied = entry.span.end;
        let EntryKind::Record(record) = &entry.kind else {
            out.extend_from_slice(&text[entry.span.clone()]);
            continue;
        };
        if let Some(&(n, first)) = roles.get(&i) {
            if first && !changes[n].is_delete() {
                out.extend_from_slice(record_lines(&changes[n], &record.origin).as_bytes());
                last_owner = Some(&record.owner);
            }
            continue;
        }
        if !record.owner_written && last_owner != Some(record.owner.as_str()) {
            // Its owner came from an entry we dropped: spell it out.
            out.extend_from_slice(record.owner.as_bytes());
            out.push(b'.');
        }
        last_owner = Some(&record.owner);
        if i == soa_index {
            out.extend_from_slice(&text[entry.span.start..serial_span.start]);
            out.extend_from_slice(serial.to_string().as_bytes());
            out.extend_from_slice(&text[serial_span.end..entry.span.end]);
        } else {
            out.extend_from_slice(&text[entry.span.clone()]);
        }
    }
    out.extend_from_slice(&text[copied..]);
    if !appended.is_empty() && !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    for n in appended {
        out.extend_from_slice(record_lines(&changes[n], &file.final_origin).as_bytes());
    }
    Ok(BatchEdit {
        changes: outcomes,
        text: Some(out),
    })
}

/// The text of a zone file dyndns creates for `changes` (all in `zone`, the later of two changes to
/// one RRset winning); `nameserver` and `hostmaster` are absolute.
pub fn new_zone(
    zone: &str,
    changes: &[&Change],
    nameserver: &str,
    hostmaster: &str,
    default_ttl: u32,
    today: u32,
) -> Result<Vec<u8>, EditError> {
    let serial = dated_serial(today).ok_or(EditError {
        line: None,
        problem: Problem::DateBeyondSerials(today),
    })?;
    let mut text = format!(
        "; Zone {zone}, kept by dyndns: the SOA serial and the A, AAAA and TXT records of dynamic\n\
         ; hosts are rewritten on updates; every other line is kept as it is.\n\
         $ORIGIN {zone}.\n\
         $TTL {default_ttl}\n\
         @ IN SOA {nameserver} {hostmaster} {serial} {SOA_TIMERS} {default_ttl}\n\
         @ IN NS {nameserver}\n"
    );
    let mut seen = HashSet::new();
    let mut lines: Vec<String> = changes
        .iter()
        .rev()
        .filter(|change| seen.insert((change.host.as_str(), change.record_type)))
        .map(|change| record_lines(change, zone))
        .collect();
    lines.reverse();
    for line in lines {
        text.push_str(&line);
    }
    Ok(text.into_bytes())
}

/// `<owner> <ttl> IN <TYPE> <value>` and a newline for each value, the owner relative when
/// `origin` is the zone; nothing for a delete.
fn record_lines(change: &Change, origin: &str) -> String {
    let owner = if !origin.eq_ignore_ascii_case(&change.zone) {
        format!("{}.", change.host)
    } else if change.label.is_empty() {
        "@".to_owned()
    } else {
        change.label.clone()
    };
    let mut lines = String::new();
    for value in change.values() {
        let data = match value {
            Value::Address(address) => address.to_string(),
            // Checked before any write (`Change::check_names`): printable ASCII without `"` or
            // `\`, at most 255 bytes, so one quoted character-string holds it as it is.
            Value::Txt(text) => format!("\"{text}\""),
        };
        lines.push_str(&format!(
            "{owner} {} IN {} {data}\n",
            change.ttl,
            change.record_type.as_str(),
        ));
    }
    lines
}

/// Today's `YYYYMMDD00`, the serial of a new zone; `None` after the year 4294.
pub fn dated_serial(today_yyyymmdd: u32) -> Option<u32> {
    today_yyyymmdd.checked_mul(100)
}

/// The serial after `old` as secondaries compare serials (RFC 1982, modulo 2^32): today's
/// [`dated_serial`] if that follows `old`, else `old + 1`, wrapping from 4294967295 to 0.
pub fn next_serial(old: u32, today_yyyymmdd: u32) -> u32 {
    // RFC 1982 §3.2: `dated` follows `old` when it is 1 to 2^31 - 1 ahead, counting modulo 2^32.
    let follows = |dated: &u32| (1..1 << 31).contains(&dated.wrapping_sub(old));
    dated_serial(today_yyyymmdd)
        .filter(follows)
        .unwrap_or(old.wrapping_add(1))
}

/// Today's UTC date as `YYYYMMDD`.
pub fn today_utc() -> u32 {
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

#[cfg(test)]
mod tests;
