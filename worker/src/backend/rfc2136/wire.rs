//! Why this exists: the two DNS message shapes the rfc2136 backend needs (a query, an UPDATE) built
//! and read per RFC 1035 / RFC 2136, small enough to keep by hand instead of a DNS library.

use std::net::IpAddr;

use crate::backend::{Change, RecordType, Value};

pub(super) const TYPE_A: u16 = 1;
pub(super) const TYPE_SOA: u16 = 6;
pub(super) const TYPE_TXT: u16 = 16;
pub(super) const TYPE_AAAA: u16 = 28;
pub(super) const TYPE_TSIG: u16 = 250;
pub(super) const CLASS_IN: u16 = 1;
pub(super) const CLASS_ANY: u16 = 255;
const OPCODE_UPDATE: u16 = 5 << 11;

/// A name that does not fit the DNS wire format (a label over 63 bytes or a name over 255).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a DNS name that fits a message")]
pub struct BadName(pub String);

/// `name` in wire form, lower case (the canonical form TSIG signs), without compression.
pub(super) fn name(name: &str) -> Result<Vec<u8>, BadName> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|len| *len <= 63)
            .ok_or_else(|| BadName(name.to_owned()))?;
        out.push(len);
        out.extend(label.to_ascii_lowercase().as_bytes());
    }
    out.push(0);
    if out.len() > 255 {
        return Err(BadName(name.to_owned()));
    }
    Ok(out)
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend(id.to_be_bytes());
    out.extend(flags.to_be_bytes());
    for count in counts {
        out.extend(count.to_be_bytes());
    }
    out
}

/// A non-recursive query for the RRset of `record_type` at `owner` (wire form).
pub(super) fn query(id: u16, owner: &[u8], record_type: u16) -> Vec<u8> {
    let mut out = header(id, 0, [1, 0, 0, 0]);
    out.extend(owner);
    out.extend(record_type.to_be_bytes());
    out.extend(CLASS_IN.to_be_bytes());
    out
}

/// The update section of one change: delete the RRset of (owner, type), then add the address.
pub(super) fn replace_rrset(owner: &[u8], change: &Change) -> Vec<u8> {
    let record_type = type_code(change.record_type);
    let mut out = Vec::with_capacity(2 * owner.len() + 40);
    // RFC 2136 2.5.2: class ANY, TTL 0, no rdata deletes the whole RRset.
    out.extend(owner);
    out.extend(record_type.to_be_bytes());
    out.extend(CLASS_ANY.to_be_bytes());
    out.extend(0u32.to_be_bytes());
    out.extend(0u16.to_be_bytes());
    // RFC 2136 2.5.1: add to an RRset, once per value.
    for value in change.values() {
        let rdata = match value {
            Value::Address(IpAddr::V4(v4)) => v4.octets().to_vec(),
            Value::Address(IpAddr::V6(v6)) => v6.octets().to_vec(),
            // One character-string: a checked TXT value is at most 255 bytes.
            Value::Txt(text) => {
                let mut rdata = Vec::with_capacity(text.len() + 1);
                rdata.push(u8::try_from(text.len()).unwrap_or(u8::MAX));
                rdata.extend(text.bytes().take(255));
                rdata
            }
        };
        out.extend(owner);
        out.extend(record_type.to_be_bytes());
        out.extend(CLASS_IN.to_be_bytes());
        out.extend(change.ttl.to_be_bytes());
        out.extend(u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        out.extend(rdata);
    }
    out
}

/// The RR type code of a record type.
pub(super) fn type_code(record_type: RecordType) -> u16 {
    match record_type {
        RecordType::A => TYPE_A,
        RecordType::Aaaa => TYPE_AAAA,
        RecordType::Txt => TYPE_TXT,
    }
}

/// A prerequisite-free UPDATE of `zone` (wire form) carrying `updates` (each from [`replace_rrset`],
/// two RRs each).
pub(super) fn update(id: u16, zone: &[u8], updates: &[&[u8]]) -> Vec<u8> {
    let rr_count = u16::try_from(updates.len() * 2).unwrap_or(u16::MAX);
    let mut out = header(id, OPCODE_UPDATE, [1, 0, rr_count, 0]);
    out.extend(zone);
    out.extend(TYPE_SOA.to_be_bytes());
    out.extend(CLASS_IN.to_be_bytes());
    for rrs in updates {
        out.extend(*rrs);
    }
    out
}

/// The TSIG record of a response, and where it starts (what the MAC covers ends there).
#[derive(Debug)]
pub(super) struct TsigRecord<'a> {
    pub start: usize,
    pub time_signed: u64,
    pub fudge: u16,
    pub mac: &'a [u8],
    pub original_id: u16,
    pub error: u16,
    pub other: &'a [u8],
}

/// The parts of a response the backend looks at.
#[derive(Debug)]
pub(super) struct Response<'a> {
    pub id: u16,
    pub rcode: u16,
    /// Values of the asked type in the answer section.
    pub values: Vec<Value>,
    pub tsig: Option<TsigRecord<'a>>,
}

/// Why a response could not be read.
pub(super) type Malformed = &'static str;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|end| *end <= self.buf.len());
        let end = end.ok_or("the message ends early")?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn skip_name(&mut self) -> Result<(), Malformed> {
        loop {
            let len = self.bytes(1)?[0];
            match len {
                0 => return Ok(()),
                len if len & 0xC0 == 0xC0 => {
                    self.bytes(1)?;
                    return Ok(());
                }
                len if len & 0xC0 == 0 => {
                    self.bytes(usize::from(len))?;
                }
                _ => return Err("a name has an unknown label type"),
            }
        }
    }
}

/// Reads `message`, collecting the answers of `record_type` and the trailing TSIG record.
pub(super) fn parse(message: &[u8], record_type: u16) -> Result<Response<'_>, Malformed> {
    let mut reader = Reader {
        buf: message,
        pos: 0,
    };
    let id = reader.u16()?;
    let flags = reader.u16()?;
    let qd = reader.u16()?;
    let an = reader.u16()?;
    let ns = reader.u16()?;
    let ar = reader.u16()?;
    for _ in 0..qd {
        reader.skip_name()?;
        reader.bytes(4)?;
    }
    let mut values = Vec::new();
    let mut tsig = None;
    let total = usize::from(an) + usize::from(ns) + usize::from(ar);
    for index in 0..total {
        let start = reader.pos;
        reader.skip_name()?;
        let rr_type = reader.u16()?;
        let _class = reader.u16()?;
        let _ttl = reader.u32()?;
        let rdlen = reader.u16()?;
        let rdata = reader.bytes(usize::from(rdlen))?;
        if index < usize::from(an) && rr_type == record_type {
            match (rr_type, rdata.len()) {
                (TYPE_A, 4) => values.push(Value::Address(IpAddr::from([
                    rdata[0], rdata[1], rdata[2], rdata[3],
                ]))),
                (TYPE_AAAA, 16) => {
                    let mut octets = [0u8; 16];
                    octets.copy_from_slice(rdata);
                    values.push(Value::Address(IpAddr::from(octets)));
                }
                (TYPE_TXT, _) => values.push(Value::Txt(txt_text(rdata)?)),
                _ => return Err("an address record has the wrong length"),
            }
        }
        if rr_type == TYPE_TSIG {
            if index + 1 != total {
                return Err("the TSIG record is not the last record");
            }
            tsig = Some(parse_tsig(rdata, start)?);
        }
    }
    Ok(Response {
        id,
        rcode: flags & 0x000F,
        values,
        tsig,
    })
}

/// A TXT record's character-strings joined.
fn txt_text(rdata: &[u8]) -> Result<String, Malformed> {
    let mut text = Vec::with_capacity(rdata.len());
    let mut rest = rdata;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len);
        if tail.len() < len {
            return Err("a TXT string is cut short");
        }
        text.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

fn parse_tsig(rdata: &[u8], start: usize) -> Result<TsigRecord<'_>, Malformed> {
    let mut reader = Reader { buf: rdata, pos: 0 };
    reader.skip_name()?;
    let high = u64::from(reader.u16()?);
    let low = u64::from(reader.u32()?);
    let fudge = reader.u16()?;
    let mac_len = reader.u16()?;
    let mac = reader.bytes(usize::from(mac_len))?;
    let original_id = reader.u16()?;
    let error = reader.u16()?;
    let other_len = reader.u16()?;
    let other = reader.bytes(usize::from(other_len))?;
    Ok(TsigRecord {
        start,
        time_signed: (high << 32) | low,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

/// The mnemonic of an rcode (RFC 6895), extended ones (TSIG's) included.
pub(super) fn rcode_name(rcode: u16) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADSIG",
        17 => "BADKEY",
        18 => "BADTIME",
        _ => "an unknown rcode",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer as servers send it: the answer's owner is a compression pointer to the question.
    fn answer() -> Vec<u8> {
        let mut message = query(9, &name("home.example.test").unwrap(), TYPE_A);
        message[2] = 0x84;
        message[7] = 1;
        message.extend([0xC0, 12]);
        message.extend(TYPE_A.to_be_bytes());
        message.extend(CLASS_IN.to_be_bytes());
        message.extend(60u32.to_be_bytes());
        message.extend(4u16.to_be_bytes());
        message.extend([192, 0, 2, 1]);
        message
    }

    #[test]
    fn compressed_answer_is_read() {
        let message = answer();
        let response = parse(&message, TYPE_A).unwrap();
        assert_eq!(response.id, 9);
        assert_eq!(response.rcode, 0);
        assert_eq!(
            response.values,
            [Value::Address(IpAddr::from([192, 0, 2, 1]))]
        );
        assert!(response.tsig.is_none());
    }

    #[test]
    fn a_cut_or_garbled_answer_is_malformed_never_a_panic() {
        let message = answer();
        for cut in 0..message.len() {
            assert!(parse(&message[..cut], TYPE_A).is_err(), "cut at {cut}");
        }
        for at in 0..message.len() {
            for byte in [0x00, 0x3F, 0x40, 0xC0, 0xFF] {
                let mut garbled = message.clone();
                garbled[at] = byte;
                let _ = parse(&garbled, TYPE_A);
            }
        }
    }

    #[test]
    fn names_too_long_for_the_wire_are_refused() {
        assert!(name(&"a".repeat(64)).is_err());
        assert!(name(&vec!["a".repeat(63); 5].join(".")).is_err());
        assert_eq!(name("Example.TEST.").unwrap(), b"\x07example\x04test\x00");
    }
}
