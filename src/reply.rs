//! Why this exists: the dyndns2 answers in one place, so every endpoint speaks the protocol the same
//! way (bare codes, `text/plain`, a `Content-Length` body that ddclient 3.10 can read). Words and
//! IPv4 addresses are written by hand, not through `core::fmt`, as this runs for every `nochg`; an
//! IPv6 address (its `::` compression is not worth repeating) goes through `core::fmt`.

use std::net::IpAddr;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use smallvec::{smallvec, SmallVec};

use crate::request::Addresses;

/// One line of a dyndns2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// Accepted and durably spooled; carries the addresses as the client will see them in DNS.
    Good(Addresses),
    /// The address was already the last one accepted for this host; nothing was written.
    NoChange(Addresses),
    NoHost,
    NotFqdn,
    NumHost,
    BadAuth,
    BadSys,
    Abuse,
    DnsErr,
    /// Server-side failure (the spool could not take the job); the client retries later.
    ServerError,
}

impl Code {
    pub fn word(&self) -> &'static str {
        match self {
            Code::Good(_) => "good",
            Code::NoChange(_) => "nochg",
            Code::NoHost => "nohost",
            Code::NotFqdn => "notfqdn",
            Code::NumHost => "numhost",
            Code::BadAuth => "badauth",
            Code::BadSys => "badsys",
            Code::Abuse => "abuse",
            Code::DnsErr => "dnserr",
            Code::ServerError => "911",
        }
    }

    /// Appends the line without its newline: `good 203.0.113.7,2001:db8::7` (No-IP's dual-stack form).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.word().as_bytes());
        if let Code::Good(addresses) | Code::NoChange(addresses) = self {
            let mut separator = b' ';
            for address in [addresses.v4.map(IpAddr::V4), addresses.v6.map(IpAddr::V6)]
                .into_iter()
                .flatten()
            {
                out.push(separator);
                push_ip(out, address);
                separator = b',';
            }
        }
    }
}

/// Appends an address in its canonical text form; IPv4 without the formatting machinery.
pub fn push_ip(out: &mut Vec<u8>, address: IpAddr) {
    match address {
        IpAddr::V4(v4) => {
            // At most 15 bytes: "255.255.255.255". Built on the stack, appended once.
            let mut text = [0u8; 15];
            let mut len = 0;
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    text[len] = b'.';
                    len += 1;
                }
                if octet >= 100 {
                    text[len] = b'0' + octet / 100;
                    len += 1;
                }
                if octet >= 10 {
                    text[len] = b'0' + octet / 10 % 10;
                    len += 1;
                }
                text[len] = b'0' + octet % 10;
                len += 1;
            }
            out.extend_from_slice(&text[..len]);
        }
        IpAddr::V6(v6) => {
            use std::io::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// A whole reply: one line per host, or one line for a request-level failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub lines: SmallVec<[Code; 1]>,
}

impl Reply {
    pub fn one(code: Code) -> Reply {
        Reply {
            lines: smallvec![code],
        }
    }

    /// Appends every line joined by `separator`, without a final one.
    pub fn write_joined(&self, out: &mut Vec<u8>, separator: u8) {
        for (index, code) in self.lines.iter().enumerate() {
            if index > 0 {
                out.push(separator);
            }
            code.write_to(out);
        }
    }

    pub fn body(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(32 * self.lines.len());
        self.write_joined(&mut body, b'\n');
        body.push(b'\n');
        body
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        // Clients decide on the status before reading the body (OPNsense records any 2xx as
        // success, inadyn treats 401 as an auth failure), so failed logins are a 401 challenge.
        let challenge = self.lines.len() == 1 && self.lines[0] == Code::BadAuth;
        // Built directly: one header insert instead of a default content type replaced afterwards.
        let mut response = Response::new(Body::from(self.body()));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if challenge {
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"dyndns\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_addresses_comma_separated() {
        let v4 = Some("203.0.113.7".parse().unwrap());
        let v6 = Some("2001:db8::7".parse().unwrap());
        let reply = Reply {
            lines: smallvec![
                Code::Good(Addresses { v4, v6 }),
                Code::NoChange(Addresses { v4, v6: None }),
                Code::NoHost,
            ],
        };
        assert_eq!(
            reply.body(),
            b"good 203.0.113.7,2001:db8::7\nnochg 203.0.113.7\nnohost\n"
        );
        assert_eq!(Reply::one(Code::ServerError).body(), b"911\n");
        let mut line = Vec::new();
        Code::NoChange(Addresses {
            v4: Some("0.10.200.255".parse().unwrap()),
            v6: None,
        })
        .write_to(&mut line);
        assert_eq!(line, b"nochg 0.10.200.255");
    }
}
