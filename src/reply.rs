//! Why this exists: the dyndns2 answers in one place, so every endpoint speaks the protocol the same
//! way (bare codes, `text/plain`, a `Content-Length` body that ddclient 3.10 can read).

use std::fmt;
use std::net::IpAddr;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// One line of a dyndns2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// Accepted and durably spooled; carries the addresses as the client will see them in DNS.
    Good(Vec<IpAddr>),
    /// The address was already the last one accepted for this host; nothing was written.
    NoChange(Vec<IpAddr>),
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
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())?;
        if let Code::Good(addresses) | Code::NoChange(addresses) = self {
            // No-IP's form for dual stack: `good 203.0.113.7,2001:db8::7`.
            for (index, address) in addresses.iter().enumerate() {
                f.write_str(if index == 0 { " " } else { "," })?;
                write!(f, "{address}")?;
            }
        }
        Ok(())
    }
}

/// A whole reply: one line per host, or one line for a request-level failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub lines: Vec<Code>,
}

impl Reply {
    pub fn one(code: Code) -> Reply {
        Reply { lines: vec![code] }
    }

    pub fn body(&self) -> String {
        let mut body = String::with_capacity(32 * self.lines.len());
        for code in &self.lines {
            body.push_str(&code.to_string());
            body.push('\n');
        }
        body
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let body = self.body();
        // Clients decide on the status before reading the body (OPNsense records any 2xx as
        // success, inadyn treats 401 as an auth failure), so failed logins are a 401 challenge.
        let challenge = self.lines.len() == 1 && self.lines[0] == Code::BadAuth;
        let status = if challenge {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if challenge {
            headers.insert(
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
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let v6: IpAddr = "2001:db8::7".parse().unwrap();
        let reply = Reply {
            lines: vec![
                Code::Good(vec![v4, v6]),
                Code::NoChange(vec![v4]),
                Code::NoHost,
            ],
        };
        assert_eq!(
            reply.body(),
            "good 203.0.113.7,2001:db8::7\nnochg 203.0.113.7\nnohost\n"
        );
        assert_eq!(Reply::one(Code::ServerError).body(), "911\n");
    }
}
