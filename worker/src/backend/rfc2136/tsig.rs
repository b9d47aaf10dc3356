//! Why this exists: signs UPDATE messages and checks the server's signed responses with a TSIG key
//! (RFC 8945, hmac-sha256 / hmac-sha512), so only the holder of the key can change the zone and a
//! forged "NOERROR" is never taken for a done update.

use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::wire::{self, BadName, TsigRecord, CLASS_ANY, TYPE_TSIG};

/// How far the server's clock may be from ours (RFC 8945 recommends 300 s).
const FUDGE: u16 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha256,
    HmacSha512,
}

impl Algorithm {
    pub fn parse(text: &str) -> Option<Algorithm> {
        match text.trim_end_matches('.').to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(Algorithm::HmacSha256),
            "hmac-sha512" => Some(Algorithm::HmacSha512),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Algorithm::HmacSha256 => "hmac-sha256",
            Algorithm::HmacSha512 => "hmac-sha512",
        }
    }

    fn mac(self, secret: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac>(mut mac: M, parts: &[&[u8]]) -> Vec<u8> {
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of every length (RFC 2104 hashes long ones), so `new_from_slice` cannot fail.
        match self {
            Algorithm::HmacSha256 => match Hmac::<Sha256>::new_from_slice(secret) {
                Ok(mac) => run(mac, parts),
                Err(_) => Vec::new(),
            },
            Algorithm::HmacSha512 => match Hmac::<Sha512>::new_from_slice(secret) {
                Ok(mac) => run(mac, parts),
                Err(_) => Vec::new(),
            },
        }
    }
}

/// A TSIG key. The secret is never printed (Debug masks it).
#[derive(Clone)]
pub struct Key {
    name: Vec<u8>,
    algorithm: Algorithm,
    algorithm_name: Vec<u8>,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .field("secret", &"<masked>")
            .finish()
    }
}

impl Key {
    pub fn new(name: &str, algorithm: Algorithm, secret: Vec<u8>) -> Result<Key, BadName> {
        Ok(Key {
            name: wire::name(name)?,
            algorithm,
            algorithm_name: wire::name(algorithm.name())?,
            secret,
        })
    }

    /// The TSIG variables of RFC 8945 4.3.3 that follow the message in the MAC.
    fn variables(&self, time_signed: u64, fudge: u16, error: u16, other: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.name.len() + self.algorithm_name.len() + 24);
        out.extend(&self.name);
        out.extend(CLASS_ANY.to_be_bytes());
        out.extend(0u32.to_be_bytes());
        out.extend(&self.algorithm_name);
        out.extend(&time_signed.to_be_bytes()[2..]);
        out.extend(fudge.to_be_bytes());
        out.extend(error.to_be_bytes());
        out.extend(u16::try_from(other.len()).unwrap_or(0).to_be_bytes());
        out.extend(other);
        out
    }

    /// Appends the TSIG record to `message` (a request without additional records of its own) and
    /// returns the MAC, which the response's MAC covers.
    pub fn sign(&self, message: &mut Vec<u8>, time_signed: u64) -> Vec<u8> {
        let variables = self.variables(time_signed, FUDGE, 0, &[]);
        let mac = self.algorithm.mac(&self.secret, &[message, &variables]);
        let mut rdata = Vec::with_capacity(self.algorithm_name.len() + mac.len() + 16);
        rdata.extend(&self.algorithm_name);
        rdata.extend(&time_signed.to_be_bytes()[2..]);
        rdata.extend(FUDGE.to_be_bytes());
        rdata.extend(u16::try_from(mac.len()).unwrap_or(0).to_be_bytes());
        rdata.extend(&mac);
        rdata.extend(&message[0..2]);
        rdata.extend(0u16.to_be_bytes());
        rdata.extend(0u16.to_be_bytes());
        message.extend(&self.name);
        message.extend(TYPE_TSIG.to_be_bytes());
        message.extend(CLASS_ANY.to_be_bytes());
        message.extend(0u32.to_be_bytes());
        message.extend(u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
        message.extend(rdata);
        let additional = u16::from_be_bytes([message[10], message[11]]).saturating_add(1);
        message[10..12].copy_from_slice(&additional.to_be_bytes());
        mac
    }

    /// Whether `tsig`, the TSIG record of `response`, is this key's signature over the response to
    /// the request that carried `request_mac` (RFC 8945 5.3).
    pub fn verifies(&self, request_mac: &[u8], response: &[u8], tsig: &TsigRecord<'_>) -> bool {
        if tsig.mac.is_empty() || response.len() < 12 || tsig.start > response.len() {
            return false;
        }
        let mut unsigned = response[..tsig.start].to_vec();
        unsigned[0..2].copy_from_slice(&tsig.original_id.to_be_bytes());
        let additional = u16::from_be_bytes([unsigned[10], unsigned[11]]).saturating_sub(1);
        unsigned[10..12].copy_from_slice(&additional.to_be_bytes());
        let request_mac_len = u16::try_from(request_mac.len()).unwrap_or(0).to_be_bytes();
        let variables = self.variables(tsig.time_signed, tsig.fudge, tsig.error, tsig.other);
        let expected = self.algorithm.mac(
            &self.secret,
            &[&request_mac_len, request_mac, &unsigned, &variables],
        );
        bool::from(expected.ct_eq(tsig.mac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "response" signed by `signer` over a request that carried `request_mac`, as a server would.
    fn signed_response(signer: &Key, request_mac: &[u8]) -> Vec<u8> {
        let mut response = wire::query(7, &wire::name("a.example.test").unwrap(), wire::TYPE_A);
        response[2] = 0x80;
        let variables = signer.variables(1_000, FUDGE, 0, &[]);
        let len = u16::try_from(request_mac.len()).unwrap().to_be_bytes();
        let mac = signer
            .algorithm
            .mac(&signer.secret, &[&len, request_mac, &response, &variables]);
        // Reuse `sign`'s record layout, then put the response MAC in place of the request one.
        let start = response.len();
        let request_style = signer.sign(&mut response, 1_000);
        let at = response[start..]
            .windows(request_style.len())
            .position(|w| w == request_style.as_slice())
            .unwrap();
        response[start + at..start + at + mac.len()].copy_from_slice(&mac);
        response
    }

    #[test]
    fn a_response_signed_by_another_secret_is_not_taken_for_ours() {
        for algorithm in [Algorithm::HmacSha256, Algorithm::HmacSha512] {
            let ours = Key::new("dyndns", algorithm, b"right".to_vec()).unwrap();
            let theirs = Key::new("dyndns", algorithm, b"wrong".to_vec()).unwrap();
            let request_mac = vec![1u8; 32];
            let good = signed_response(&ours, &request_mac);
            let parsed = wire::parse(&good, wire::TYPE_A).unwrap();
            let tsig = parsed.tsig.unwrap();
            assert!(ours.verifies(&request_mac, &good, &tsig), "{algorithm:?}");
            assert!(
                !theirs.verifies(&request_mac, &good, &tsig),
                "{algorithm:?}"
            );
            // Bound to the request: the same answer to another request does not verify.
            assert!(!ours.verifies(&[2u8; 32], &good, &tsig), "{algorithm:?}");
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
}
