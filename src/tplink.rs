//! Why this exists: the TP-Link style update (`GET /ddns/update`), as the ddns_tplink server we
//! replace answers it, so a TP-Link (ER605/Omada "Custom" DDNS) setup keeps working when only the
//! host name in its URL changes. Its query and its plain-text answers in, out; every decision in
//! between is the shared update path (`update.rs`).
//!
//! The contract (the seed's README, `shared/reference/dyndns2-protocol.md` "TP-Link"):
//! `?hostname=[DOMAIN]&myip=[IP]&username=[USERNAME]&password=[PASSWORD]` (`ip=` too, and it wins
//! over `myip`); answers `DNS updated` / `IP unchanged` (200), `Missing parameters` (400),
//! `Unauthorized` (403), `Invalid hostname`, `Unknown hostname`, `Invalid IP` (400), `Too many
//! requests` (429), `Failed to update DNS` (500), each body exactly that text. One host a request;
//! without an address the client's own is taken, as for dyndns2.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use smallvec::{smallvec, SmallVec};

use crate::app::AppState;
use crate::auth::BasicAuth;
use crate::client_addr::Peer;
use crate::reply::{Code, Reply};
use crate::request::{decode, query_credentials, query_pairs};
use crate::update::{client_of, update, Proof, UpdateRequest};

pub async fn ddns_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let client = client_of(&state, peer, &parts.headers);
    let query = parts.uri.query();
    let asked = TpLinkQuery::parse(query);
    // The seed checks its parameters before the password: a request without them is a 400, not a
    // login attempt (a router whose URL template is wrong learns that, not "Unauthorized").
    let credentials_sent =
        BasicAuth::from_headers(&parts.headers).is_some() || query_credentials(query).is_some();
    let Some(hostname) = asked.hostname.filter(|_| credentials_sent) else {
        return answer(StatusCode::BAD_REQUEST, "Missing parameters");
    };
    let outcome = update(
        &state,
        peer,
        client,
        &parts.headers,
        Proof::Request(|| query_credentials(query)),
        || {
            Ok(UpdateRequest {
                hostnames: smallvec![hostname],
                addresses: asked.address.into_iter().collect(),
                // TP-Link's custom DDNS has no prefix placeholder.
                lan_prefix: SmallVec::new(),
                delete: false,
            })
        },
    )
    .await;
    outcome.log(&state, client, crate::metrics::Dialect::TpLink);
    render(&outcome.reply)
}

/// The parameters a TP-Link request carries besides its credentials.
#[derive(Debug, Default, PartialEq, Eq)]
struct TpLinkQuery<'a> {
    /// One host name, taken whole (a comma in it makes it an invalid host name).
    hostname: Option<Cow<'a, str>>,
    /// `ip`, else `myip`.
    address: Option<Cow<'a, str>>,
}

impl<'a> TpLinkQuery<'a> {
    fn parse(query: Option<&'a str>) -> TpLinkQuery<'a> {
        let mut parsed = TpLinkQuery::default();
        let mut myip = None;
        for (key, value) in query_pairs(query.unwrap_or("")) {
            let Some(value) = value.map(decode) else {
                continue;
            };
            if value.trim().is_empty() {
                continue;
            }
            match key.as_ref() {
                "hostname" => parsed.hostname = Some(value),
                "ip" => parsed.address = Some(value),
                "myip" => myip = Some(value),
                _ => {}
            }
        }
        if parsed.address.is_none() {
            parsed.address = myip;
        }
        parsed
    }
}

/// The seed's status and text for the shared outcome.
fn render(reply: &Reply) -> Response {
    let (status, text) = match reply.lines.first() {
        Some(Code::Good(_)) => (StatusCode::OK, "DNS updated"),
        Some(Code::NoChange(_)) => (StatusCode::OK, "IP unchanged"),
        Some(Code::BadAuth) => (StatusCode::FORBIDDEN, "Unauthorized"),
        Some(Code::NotFqdn | Code::NumHost) => (StatusCode::BAD_REQUEST, "Invalid hostname"),
        Some(Code::NoHost) => (StatusCode::BAD_REQUEST, "Unknown hostname"),
        Some(Code::DnsErr) => (StatusCode::BAD_REQUEST, "Invalid IP"),
        Some(Code::Abuse) => (StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
        Some(Code::BadSys) => (StatusCode::BAD_REQUEST, "Missing parameters"),
        Some(Code::ServerError) | None => {
            (StatusCode::INTERNAL_SERVER_ERROR, "Failed to update DNS")
        }
    };
    answer(status, text)
}

fn answer(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_wins_over_myip_and_empty_values_count_as_missing() {
        let parsed = TpLinkQuery::parse(Some(
            "hostname=home.dyn.example.com&myip=203.0.113.1&ip=203.0.113.2&username=u&password=p",
        ));
        assert_eq!(parsed.hostname.as_deref(), Some("home.dyn.example.com"));
        assert_eq!(parsed.address.as_deref(), Some("203.0.113.2"));
        let parsed = TpLinkQuery::parse(Some("hostname=&myip=203.0.113.1"));
        assert_eq!(parsed.hostname, None);
        assert_eq!(parsed.address.as_deref(), Some("203.0.113.1"));
        assert_eq!(TpLinkQuery::parse(None), TpLinkQuery::default());
    }
}
