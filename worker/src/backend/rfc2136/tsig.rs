//! Why this exists: every message the rfc2136 backend sends is signed with the TSIG key (RFC 8945,
//! hmac-sha256 / hmac-sha512) and every answer it acts on must carry the server's signature over
//! it, so only the holder of the key changes the zone and a forged "NOERROR" is never taken for a
//! done update. hickory-proto computes and checks the MACs; this keeps the key, the clock and the
//! request MAC each answer is bound to.

use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::rdata::tsig::TsigAlgorithm;
use hickory_proto::dnssec::tsig::TSigner;
use hickory_proto::op::Message;
use hickory_proto::rr::Name;

/// How far the server's clock may be from ours (RFC 8945 recommends 300 s).
const FUDGE: u16 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSha512,
}

impl Algorithm {
    /// `hmac-sha256` or `hmac-sha512` as BIND and Knot spell them (case and a final dot aside).
    pub fn parse(text: &str) -> Option<Algorithm> {
        match text.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "hmac-sha512" => Some(Algorithm::HmacSha512),
            _ => None,
        }
    }

    fn hickory(self) -> TsigAlgorithm {
        match self {
            Algorithm::HmacSha256 => TsigAlgorithm::HmacSha256,
            Algorithm::HmacSha512 => TsigAlgorithm::HmacSha512,
        }
    }
}

/// Why a key could not be made from the config.
#[derive(Debug, thiserror::Error)]
pub enum KeyProblem {
    #[error("{0:?} is not a DNS name")]
    Name(String),
    #[error("{0}")]
    Signer(String),
}

/// Why an answer is not taken as the server's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    #[error("it carries no TSIG record")]
    Missing,
    #[error("its TSIG does not verify with this key: {0}")]
    Invalid(String),
    #[error("it was signed at {signed} (unix time), more than {FUDGE}s from our clock")]
    OutOfTime { signed: u64 },
}

/// A TSIG key. The secret is never printed (hickory's signer has no Debug; ours masks it).
#[derive(Clone)]
pub struct Key {
    signer: TSigner,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.signer.signer_name().to_ascii())
            .field("algorithm", self.signer.algorithm())
            .field("secret", &"<masked>")
            .finish()
    }
}

/// A message ready for the wire and the MAC its answer must be bound to.
pub struct Signed {
    pub bytes: Vec<u8>,
    pub mac: Vec<u8>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Key {
    pub fn new(name: &str, algorithm: Algorithm, secret: Vec<u8>) -> Result<Key, KeyProblem> {
        let name = Name::from_ascii(name).map_err(|_| KeyProblem::Name(name.to_owned()))?;
        let signer = TSigner::new(secret, algorithm.hickory(), name, FUDGE)
            .map_err(|error| KeyProblem::Signer(error.to_string()))?;
        Ok(Key { signer })
    }

    /// The key's name as the config gives it (without the final dot), for messages.
    pub fn name(&self) -> String {
        self.signer
            .signer_name()
            .to_ascii()
            .trim_end_matches('.')
            .to_owned()
    }

    /// Appends the TSIG record to `message` (signed now) and encodes it.
    pub fn sign(&self, mut message: Message) -> Result<Signed, String> {
        // TSIG's time field has 48 bits; hickory takes 32, which last until 2106.
        let time = u32::try_from(now()).unwrap_or(u32::MAX);
        message
            .finalize(&self.signer, time)
            .map_err(|error| error.to_string())?;
        let mac = message
            .signature()
            .iter()
            .find_map(|record| match record.data() {
                hickory_proto::rr::RData::DNSSEC(
                    hickory_proto::dnssec::rdata::DNSSECRData::TSIG(tsig),
                ) => Some(tsig.mac().to_vec()),
                _ => None,
            })
            .ok_or("hickory signed the message without a TSIG record")?;
        let bytes = message.to_vec().map_err(|error| error.to_string())?;
        Ok(Signed { bytes, mac })
    }

    /// Whether `answer` (as received; `signed` when it carries a TSIG record) is signed by this
    /// key over the answer to the request that carried `request_mac` (RFC 8945 5.3), at a time
    /// within the fudge of our clock.
    pub fn verify(
        &self,
        request_mac: &[u8],
        answer: &[u8],
        signed: bool,
    ) -> Result<(), SignatureProblem> {
        if !signed {
            return Err(SignatureProblem::Missing);
        }
        let (_, window, signed_at) = self
            .signer
            .verify_message_byte(Some(request_mac), answer, true)
            .map_err(|error| SignatureProblem::Invalid(error.to_string()))?;
        if window.contains(&now()) {
            Ok(())
        } else {
            Err(SignatureProblem::OutOfTime { signed: signed_at })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{MessageType, Query};
    use hickory_proto::rr::RecordType;

    fn query(id: u16) -> Message {
        let mut message = Message::new();
        message.set_id(id).set_message_type(MessageType::Query);
        message.add_query(Query::query(
            Name::from_ascii("a.example.test.").unwrap(),
            RecordType::A,
        ));
        message
    }

    /// The answer a server holding `key` gives to a request that carried `request_mac`.
    fn answer_signed_by(key: &Key, request_mac: &[u8]) -> Vec<u8> {
        let mut answer = query(7);
        answer.set_message_type(MessageType::Response);
        let time = now();
        let pre = hickory_proto::dnssec::rdata::tsig::TSIG::new(
            key.signer.algorithm().clone(),
            time,
            FUDGE,
            Vec::new(),
            7,
            0,
            Vec::new(),
        );
        let tbs = hickory_proto::dnssec::rdata::tsig::message_tbs(
            Some(request_mac),
            &answer,
            &pre,
            key.signer.signer_name(),
        )
        .unwrap();
        let mac = key.signer.sign(&tbs).unwrap();
        answer.add_tsig(hickory_proto::dnssec::rdata::tsig::make_tsig_record(
            key.signer.signer_name().clone(),
            pre.set_mac(mac),
        ));
        answer.to_vec().unwrap()
    }

    #[test]
    fn an_answer_signed_by_another_secret_or_for_another_request_is_refused() {
        for algorithm in [Algorithm::HmacSha256, Algorithm::HmacSha512] {
            let ours = Key::new("dyndns", algorithm, b"right".to_vec()).unwrap();
            let theirs = Key::new("dyndns", algorithm, b"wrong".to_vec()).unwrap();
            let request = ours.sign(query(7)).unwrap();
            let good = answer_signed_by(&ours, &request.mac);
            assert_eq!(
                ours.verify(&request.mac, &good, true),
                Ok(()),
                "{algorithm:?}"
            );
            assert!(matches!(
                theirs.verify(&request.mac, &good, true),
                Err(SignatureProblem::Invalid(_))
            ));
            // Bound to the request: the same answer to another request does not verify.
            let other = ours.sign(query(8)).unwrap();
            assert!(
                ours.verify(&other.mac, &good, true).is_err(),
                "{algorithm:?}"
            );
            // An unsigned answer is not taken either, nor one claiming a TSIG it does not carry.
            let mut unsigned = query(7);
            unsigned.set_message_type(MessageType::Response);
            let unsigned = unsigned.to_vec().unwrap();
            assert_eq!(
                ours.verify(&request.mac, &unsigned, false),
                Err(SignatureProblem::Missing)
            );
            assert!(ours.verify(&request.mac, &unsigned, true).is_err());
        }
    }

    #[test]
    fn debug_of_a_key_masks_the_secret() {
        let key = Key::new("dyndns", Algorithm::HmacSha256, b"hunter2".to_vec()).unwrap();
        let shown = format!("{key:?}");
        assert!(
            shown.contains("<masked>") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[test]
    fn algorithms_parse_as_bind_and_knot_spell_them() {
        assert_eq!(
            Algorithm::parse("HMAC-SHA256."),
            Some(Algorithm::HmacSha256)
        );
        assert_eq!(Algorithm::parse("hmac-sha512"), Some(Algorithm::HmacSha512));
        assert_eq!(Algorithm::parse("hmac-md5"), None);
    }
}
