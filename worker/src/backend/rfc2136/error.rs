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

const SERVFAIL: u16 = 2;
/// RFC 8945 5.2.3: the request's time lies outside the fudge of the server's clock.
const BADTIME: u16 = 18;

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
    /// A read answered without authority: a referral (the host is below a delegation to another
    /// server) or a server that is not the zone's primary. An update would land where no one
    /// looks, and its read back would never match.
    #[error("rfc2136: {server} answers for {host} without authority (zone {zone}): the name is below a delegation to another server, or {server} is not the zone's primary")]
    NotAuthoritativeFor {
        server: String,
        zone: String,
        host: String,
    },
    /// The host is an alias: an address or TXT record beside a CNAME is not valid DNS, and the
    /// primary ignores such an update while answering NOERROR.
    #[error("rfc2136: {host} is an alias (CNAME {target}) at {server} (zone {zone}): a record beside it is not valid DNS (RFC 1034 3.6.2) and the server ignores it; remove the CNAME to let dyndns keep this name")]
    Alias {
        server: String,
        zone: String,
        host: String,
        target: String,
    },
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
    /// an answer not signed by our key or a bad name will not. Nor is a clock's disagreement
    /// permanent (BADTIME, or an answer signed outside the fudge): the job is right and the clock
    /// of one side is off — a step an hour back here makes every UPDATE fail so until NTP or the
    /// operator sets it right — so the change waits and is applied then, instead of every update
    /// of that time being dead-lettered.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Rfc2136Error::Transport { source, .. } => !matches!(source, TransportError::TooLong),
            Rfc2136Error::Malformed { .. } => true,
            Rfc2136Error::Rcode { rcode, .. } => *rcode == SERVFAIL || *rcode == BADTIME,
            Rfc2136Error::Unsigned {
                problem: SignatureProblem::OutOfTime { .. },
                ..
            } => true,
            Rfc2136Error::Unsigned { .. }
            | Rfc2136Error::NotAuthoritative { .. }
            | Rfc2136Error::NotAuthoritativeFor { .. }
            | Rfc2136Error::Alias { .. }
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
        assert!(rcode(18).is_transient(), "BADTIME: see below");
        assert_eq!(
            rcode(17).to_string(),
            "rfc2136: 127.0.0.1:53 answered BADKEY to the UPDATE for zone example.test"
        );
        for permanent in [1, 4, 5, 9, 10, 16, 17] {
            assert!(!rcode(permanent).is_transient(), "{}", rcode(permanent));
        }
    }

    #[test]
    fn a_clock_an_hour_off_the_primarys_is_retried_not_dead_lettered() {
        let badtime = Rfc2136Error::Rcode {
            server: "127.0.0.1:53".to_owned(),
            zone: "example.test".to_owned(),
            what: "UPDATE",
            rcode: 18,
        };
        assert!(badtime.is_transient(), "{badtime}");
        let answer = |problem| Rfc2136Error::Unsigned {
            server: "127.0.0.1:53".to_owned(),
            zone: "example.test".to_owned(),
            what: "UPDATE",
            key: "dyndns".to_owned(),
            problem,
        };
        let signed_an_hour_off = answer(SignatureProblem::OutOfTime {
            signed: 1_795_906_200,
        });
        assert!(signed_an_hour_off.is_transient(), "{signed_an_hour_off}");
        // A signature that does not verify is still not the server's, whatever the clocks say.
        let forged = answer(SignatureProblem::Invalid("bad MAC".to_owned()));
        assert!(!forged.is_transient(), "{forged}");
    }
}
