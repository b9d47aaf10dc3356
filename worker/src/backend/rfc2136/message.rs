//! Why this exists: the DNS messages the rfc2136 backend sends (a query for one RRset, a
//! prerequisite-free UPDATE that replaces or deletes RRsets) and what it reads from an answer,
//! built and parsed with hickory-proto, so no wire format is written by hand here.

use std::net::IpAddr;

use hickory_proto::dnssec::rdata::tsig::TSIG;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, MessageType, OpCode, Query, UpdateMessage};
use hickory_proto::rr::rdata::{A, AAAA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType as WireType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};

use crate::backend::{Change, RecordType, Value};

/// A name that is not a DNS name hickory takes (a label over 63 bytes, a name over 255).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a DNS name that fits a message")]
pub struct BadName(pub String);

/// `text` (a host or zone name without the final dot) as a fully qualified name.
pub(super) fn name(text: &str) -> Result<Name, BadName> {
    let fqdn = format!("{}.", text.trim_end_matches('.'));
    Name::from_ascii(&fqdn).map_err(|_| BadName(text.to_owned()))
}

pub(super) fn wire_type(record_type: RecordType) -> WireType {
    match record_type {
        RecordType::A => WireType::A,
        RecordType::Aaaa => WireType::AAAA,
        RecordType::Txt => WireType::TXT,
    }
}

/// A non-recursive query for the RRset of `record_type` at `owner`.
pub(super) fn query(id: u16, owner: &Name, record_type: WireType) -> Message {
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(false);
    message.add_query(Query::query(owner.clone(), record_type));
    message
}

/// A prerequisite-free UPDATE of `zone` (RFC 2136): for each change, delete the RRset of (owner,
/// type) (2.5.2: class ANY, TTL 0, no rdata), then add each wanted value (2.5.1). The primary
/// applies the whole message atomically, so an RRset is never seen empty between the two.
pub(super) fn update<'a>(
    id: u16,
    zone: &Name,
    changes: impl IntoIterator<Item = (&'a Name, &'a Change)>,
) -> Message {
    let mut message = Message::new();
    message
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Update)
        .set_recursion_desired(false);
    message.add_zone(Query::query(zone.clone(), WireType::SOA));
    for (owner, change) in changes {
        let record_type = wire_type(change.record_type);
        let mut delete = Record::update0(owner.clone(), 0, record_type);
        delete.set_dns_class(DNSClass::ANY);
        message.add_update(delete);
        for value in change.values() {
            let rdata = match value {
                Value::Address(IpAddr::V4(v4)) => RData::A(A::from(*v4)),
                Value::Address(IpAddr::V6(v6)) => RData::AAAA(AAAA::from(*v6)),
                // One character-string: a checked TXT value is at most 255 printable bytes.
                Value::Txt(text) => RData::TXT(TXT::new(vec![text.clone()])),
            };
            message.add_update(Record::from_rdata(owner.clone(), change.ttl, rdata));
        }
    }
    message
}

/// At most the bytes `change` adds to an UPDATE: its records uncompressed (the encoder compresses
/// owners, so the message comes out smaller), for splitting a batch before a message grows too big.
pub(super) fn update_bytes(change: &Change) -> usize {
    // Owner in wire form (labels with length bytes, the root), type, class, TTL, rdata length.
    let record = change.host.len() + 2 + 10;
    let values: usize = change
        .values()
        .iter()
        .map(|value| {
            record
                + match value {
                    Value::Address(IpAddr::V4(_)) => 4,
                    Value::Address(IpAddr::V6(_)) => 16,
                    Value::Txt(text) => 1 + text.len(),
                }
        })
        .sum();
    record + values
}

/// What the backend reads from an answer.
#[derive(Debug)]
pub(super) struct Answer {
    /// The header's rcode.
    pub rcode: u16,
    /// The TSIG record's error (BADSIG, BADKEY, BADTIME), 0 when none or unsigned.
    pub tsig_error: u16,
    /// Whether the answer carries a TSIG record at all.
    pub signed: bool,
    pub authoritative: bool,
    /// Records of the asked type at the asked name in the answer section.
    pub records: usize,
    /// Their values, for A, AAAA and TXT.
    pub values: Vec<Value>,
    /// The lowest TTL among them.
    pub ttl: Option<u32>,
}

impl Answer {
    /// The rcode that says most: a TSIG error rather than the NOTAUTH beside it.
    pub fn error_code(&self) -> u16 {
        if self.tsig_error != 0 {
            self.tsig_error
        } else {
            self.rcode
        }
    }
}

/// Reads `bytes`, collecting the records of `record_type` at `owner` in the answer section.
pub(super) fn read(bytes: &[u8], owner: &Name, record_type: WireType) -> Result<Answer, String> {
    let message = Message::from_vec(bytes).map_err(|error| error.to_string())?;
    let mut values = Vec::new();
    let mut records = 0;
    let mut ttl: Option<u32> = None;
    for record in message
        .answers()
        .iter()
        .filter(|record| record.record_type() == record_type && record.name() == owner)
    {
        records += 1;
        ttl = Some(ttl.map_or(record.ttl(), |low| low.min(record.ttl())));
        match record.data() {
            RData::A(a) => values.push(Value::Address(IpAddr::V4(a.0))),
            RData::AAAA(aaaa) => values.push(Value::Address(IpAddr::V6(aaaa.0))),
            // The character-strings joined, as `Value::Txt` holds them.
            RData::TXT(txt) => values.push(Value::Txt(
                txt.txt_data()
                    .iter()
                    .map(|part| String::from_utf8_lossy(part))
                    .collect(),
            )),
            _ => {}
        }
    }
    let tsig = message
        .signature()
        .iter()
        .find_map(|record| match record.data() {
            RData::DNSSEC(DNSSECRData::TSIG(tsig)) => Some(tsig),
            _ => None,
        });
    let tsig_error = match tsig {
        Some(tsig) => tsig_error(tsig).ok_or("its TSIG record cannot be read back")?,
        None => 0,
    };
    Ok(Answer {
        rcode: u16::from(message.response_code()),
        tsig_error,
        signed: tsig.is_some(),
        authoritative: message.authoritative(),
        records,
        values,
        ttl,
    })
}

/// The error field of a TSIG record, which hickory 0.25 keeps private: read from the record's
/// own encoding (algorithm name, time, fudge, MAC, original id, error, ...).
fn tsig_error(tsig: &TSIG) -> Option<u16> {
    let mut bytes = Vec::new();
    tsig.emit(&mut BinEncoder::new(&mut bytes)).ok()?;
    let mut decoder = BinDecoder::new(&bytes);
    Name::read(&mut decoder).ok()?;
    decoder.read_slice(8).ok()?;
    let mac_len = decoder.read_u16().ok()?.unverified();
    decoder.read_slice(usize::from(mac_len)).ok()?;
    decoder.read_u16().ok()?;
    Some(decoder.read_u16().ok()?.unverified())
}

/// The mnemonic of an rcode (RFC 6895), the TSIG ones included.
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

    fn change(values: Vec<Value>, record_type: RecordType) -> Change {
        Change::replace(
            "home.example.test",
            "example.test",
            "home",
            record_type,
            values,
            60,
        )
    }

    #[test]
    fn an_update_deletes_each_rrset_then_adds_its_values_and_fits_its_estimate() {
        let owner = name("home.example.test").unwrap();
        let zone = name("example.test").unwrap();
        let txt = change(
            vec![Value::Txt("one".to_owned()), Value::Txt("x".repeat(255))],
            RecordType::Txt,
        );
        let gone = Change::delete("home.example.test", "example.test", "home", RecordType::A);
        let message = update(7, &zone, [(&owner, &txt), (&owner, &gone)]);
        let updates = message.name_servers();
        assert_eq!(updates.len(), 4);
        assert_eq!(updates[0].dns_class(), DNSClass::ANY);
        assert_eq!(updates[0].record_type(), WireType::TXT);
        assert_eq!(updates[0].ttl(), 0);
        assert_eq!(updates[1].dns_class(), DNSClass::IN);
        assert_eq!(updates[1].ttl(), 60);
        assert_eq!(updates[3].record_type(), WireType::A);
        assert_eq!(updates[3].dns_class(), DNSClass::ANY);
        assert!(message.answers().is_empty(), "no prerequisite");
        let bytes = message.to_vec().unwrap();
        assert!(
            bytes.len() <= 12 + 18 + update_bytes(&txt) + update_bytes(&gone),
            "{} bytes",
            bytes.len()
        );
        // A server reading it sees the long TXT value whole, in one character-string.
        let back = Message::from_vec(&bytes).unwrap();
        assert_eq!(back.op_code(), OpCode::Update);
        match back.name_servers()[2].data() {
            RData::TXT(text) => assert_eq!(text.txt_data()[0].len(), 255),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_answer_gives_the_values_at_the_owner_and_their_lowest_ttl() {
        let owner = name("home.example.test").unwrap();
        let mut answer = query(9, &owner, WireType::TXT);
        answer
            .set_message_type(MessageType::Response)
            .set_authoritative(true);
        answer.add_answer(Record::from_rdata(
            owner.clone(),
            60,
            RData::TXT(TXT::new(vec!["ab".to_owned(), "cd".to_owned()])),
        ));
        answer.add_answer(Record::from_rdata(
            owner.clone(),
            30,
            RData::TXT(TXT::new(vec!["ef".to_owned()])),
        ));
        // Another owner's record (a CNAME target, say) is not this RRset.
        answer.add_answer(Record::from_rdata(
            name("other.example.test").unwrap(),
            10,
            RData::TXT(TXT::new(vec!["no".to_owned()])),
        ));
        let read = read(&answer.to_vec().unwrap(), &owner, WireType::TXT).unwrap();
        assert_eq!(read.rcode, 0);
        assert!(read.authoritative && !read.signed);
        assert_eq!(read.records, 2);
        assert_eq!(
            read.values,
            [Value::Txt("abcd".to_owned()), Value::Txt("ef".to_owned())]
        );
        assert_eq!(read.ttl, Some(30));
    }

    #[test]
    fn the_tsig_error_of_an_unsigned_refusal_is_read() {
        let owner = name("home.example.test").unwrap();
        let mut answer = query(3, &owner, WireType::A);
        answer
            .set_message_type(MessageType::Response)
            .set_response_code(hickory_proto::op::ResponseCode::NotAuth);
        let tsig = TSIG::new(
            hickory_proto::dnssec::rdata::tsig::TsigAlgorithm::HmacSha256,
            1_000,
            300,
            Vec::new(),
            3,
            17,
            Vec::new(),
        );
        answer.add_tsig(hickory_proto::dnssec::rdata::tsig::make_tsig_record(
            name("ddns-key").unwrap(),
            tsig,
        ));
        let read = read(&answer.to_vec().unwrap(), &owner, WireType::A).unwrap();
        assert_eq!((read.rcode, read.tsig_error, read.signed), (9, 17, true));
        assert_eq!(rcode_name(read.error_code()), "BADKEY");
    }

    #[test]
    fn a_cut_or_garbled_answer_is_an_error_never_a_panic() {
        let owner = name("home.example.test").unwrap();
        let mut answer = query(9, &owner, WireType::A);
        answer.set_message_type(MessageType::Response);
        answer.add_answer(Record::from_rdata(
            owner.clone(),
            60,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        let bytes = answer.to_vec().unwrap();
        for cut in 0..bytes.len() {
            assert!(
                read(&bytes[..cut], &owner, WireType::A).is_err(),
                "cut at {cut}"
            );
        }
        for at in 0..bytes.len() {
            for byte in [0x00, 0x3F, 0x40, 0xC0, 0xFF] {
                let mut garbled = bytes.clone();
                garbled[at] = byte;
                let _ = read(&garbled, &owner, WireType::A);
            }
        }
    }

    #[test]
    fn names_too_long_for_the_wire_are_refused() {
        assert!(name(&"a".repeat(64)).is_err());
        assert!(name(&vec!["a".repeat(63); 5].join(".")).is_err());
        assert_eq!(
            name("Example.TEST").unwrap(),
            name("example.test.").unwrap()
        );
    }
}
