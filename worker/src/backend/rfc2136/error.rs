//! Why this exists: what can go wrong between the rfc2136 backend and a primary, each naming the
//! server and zone once, and which of it a retry may cure (the network, a SERVFAIL) and which it
//! will not (a refusal, a wrong key, an answer that is not the server's).

use super::key_file::KeyFileProblem;
use super::message::{rcode_name, BadName};
use super::transport::TransportError;
use super::tsig::{KeyProblem, SignatureProblem};

/// Why the backend could not be set up from its config.
#[derive(Debug, thiserror::Error)]
pub enum Rfc2136SetupError {
    #[error("[backend.rfc2136] tsig_secret_file: {0}")]
    Secret(KeyFileProblem),
    #[error("[backend.rfc2136] tsig_key_name: {0}")]
    Key(KeyProblem),
}

/// Why a batch (or part of it) did not go through.
#[derive(Debug, thiserror::Error)]
pub enum Rfc2136Error {
    #[error("rfc2136: {server}, zone {zone}: {source}")]
    Transport {
        server: String,
        zone: String,
        source: TransportError,
    },
    #[error("rfc2136: {server} answered {} to the {what} for zone {zone}", rcode_name(*.rcode))]
    Rcode {
        server: String,
        zone: String,
        what: &'static str,
        rcode: u16,
    },
    #[error("rfc2136: {server} sent an answer that cannot be read for zone {zone}: {problem}")]
    Malformed {
        server: String,
        zone: String,
        problem: String,
    },
    #[error("rfc2136: the answer of {server} to the {what} for zone {zone} is not signed by key {key}: {problem}")]
    Unsigned {
        server: String,
        zone: String,
        what: &'static str,
        key: String,
        problem: SignatureProblem,
    },
    #[error("rfc2136: {server} is not authoritative for zone {zone} (no SOA of the zone in an authoritative answer)")]
    NotAuthoritative { server: String, zone: String },
    #[error("rfc2136: zone {zone}: {source}")]
    Name { zone: String, source: BadName },
    #[error("rfc2136: zone {zone}: cannot build the {what}: {problem}")]
    Build {
        zone: String,
        what: &'static str,
        problem: String,
    },
}

impl Rfc2136Error {
    /// Network trouble, a garbled answer and a server's SERVFAIL may pass; a refusal, a bad key,
    /// an answer not signed by our key or a bad name will not.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Rfc2136Error::Transport { source, .. } => !matches!(source, TransportError::TooLong),
            Rfc2136Error::Malformed { .. } => true,
            Rfc2136Error::Rcode { rcode, .. } => *rcode == 2,
            Rfc2136Error::Unsigned { .. }
            | Rfc2136Error::NotAuthoritative { .. }
            | Rfc2136Error::Name { .. }
            | Rfc2136Error::Build { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_failure_is_transient_refusals_and_key_errors_are_permanent() {
        let rcode = |rcode: u16| Rfc2136Error::Rcode {
            server: "127.0.0.1:53".to_owned(),
            zone: "example.test".to_owned(),
            what: "UPDATE",
            rcode,
        };
        assert!(rcode(2).is_transient());
        assert_eq!(
            rcode(17).to_string(),
            "rfc2136: 127.0.0.1:53 answered BADKEY to the UPDATE for zone example.test"
        );
        for permanent in [1, 4, 5, 9, 10, 16, 17, 18] {
            assert!(!rcode(permanent).is_transient(), "{}", rcode(permanent));
        }
    }
}
