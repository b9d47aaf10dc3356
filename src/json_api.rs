//! Why this exists: the JSON API for scripts (`POST /api/v1/update`): a body that names hosts and
//! addresses, Basic auth or `Authorization: Bearer <token>`, and a JSON answer per host with the
//! dyndns2 result words. Every decision is the shared update path (`update.rs`); this file only
//! reads the body and writes the answer.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use smallvec::SmallVec;

use crate::app::AppState;
use crate::client_addr::Peer;
use crate::reply::Code;
use crate::request::MAX_HOSTS;
use crate::update::{client_of, update, Outcome, Proof, UpdateRequest};

/// A body larger than this is refused unread: an update names at most 20 hosts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The request body, strictly: an unknown key is an error that names it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    hostname: Option<String>,
    hostnames: Option<Vec<String>>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    /// The router's delegated prefix (`lan_hosts.rs`), checked by the update path.
    ipv6prefix: Option<String>,
}

pub async fn api_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    // A declared length over the limit is refused at once: reading stops at the limit, but waiting
    // for a body the client announced and never sends would hold the connection until it gives up.
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is larger than 64 KiB",
        )
    };
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return too_large();
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large(),
    };
    let asked = match parse(&bytes) {
        Ok(asked) => asked,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let client = client_of(&state, peer, &parts.headers);
    let bearer = bearer_token(&parts.headers);
    if bearer.is_some_and(|token| !crate::token::well_formed(token)) {
        return error(StatusCode::UNAUTHORIZED, "badauth");
    }
    // Basic auth only besides a bearer token: a JSON client can always send a header.
    let no_query_credentials = || None;
    let proof = match bearer {
        Some(token) => Proof::Token(token),
        None => Proof::Request(no_query_credentials),
    };
    let outcome = update(&state, peer, client, &parts.headers, proof, || Ok(asked)).await;
    outcome.log(&state, client, crate::metrics::Dialect::JsonApi);
    render(&outcome)
}

/// `Authorization: Bearer <token>`, if that is the scheme.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The body as an update request, or what is wrong with it.
fn parse<'a>(bytes: &[u8]) -> Result<UpdateRequest<'a>, String> {
    let body: UpdateBody = serde_json::from_slice(bytes)
        .map_err(|error| format!("the body is not an update: {error}"))?;
    let mut hostnames: SmallVec<[Cow<'a, str>; 2]> = SmallVec::new();
    match (body.hostname, body.hostnames) {
        (Some(_), Some(_)) => return Err("give `hostname` or `hostnames`, not both".to_owned()),
        (Some(one), None) => hostnames.push(Cow::Owned(one)),
        (None, Some(many)) => {
            if many.len() > MAX_HOSTS {
                return Err(format!("at most {MAX_HOSTS} hostnames"));
            }
            hostnames.extend(many.into_iter().map(Cow::Owned));
        }
        (None, None) => {}
    }
    let mut addresses: SmallVec<[Cow<'a, str>; 2]> = SmallVec::new();
    if let Some(ipv4) = body.ipv4 {
        ipv4.parse::<Ipv4Addr>()
            .map_err(|_| format!("`ipv4`: {ipv4:?} is not an IPv4 address"))?;
        addresses.push(Cow::Owned(ipv4));
    }
    if let Some(ipv6) = body.ipv6 {
        ipv6.parse::<Ipv6Addr>()
            .map_err(|_| format!("`ipv6`: {ipv6:?} is not an IPv6 address"))?;
        addresses.push(Cow::Owned(ipv6));
    }
    Ok(UpdateRequest {
        hostnames,
        addresses,
        lan_prefix: body.ipv6prefix.into_iter().map(Cow::Owned).collect(),
        delete: false,
    })
}

/// `{"results": [{"hostname", "result", "ipv4", "ipv6"}]}`, or a request-level refusal as
/// `{"error": word}` with its status.
fn render(outcome: &Outcome<'_>) -> Response {
    if outcome.hosts.is_empty() {
        let code = outcome.reply.lines.first().unwrap_or(&Code::ServerError);
        let status = match code {
            Code::BadAuth => StatusCode::UNAUTHORIZED,
            Code::Abuse => StatusCode::TOO_MANY_REQUESTS,
            Code::ServerError => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        return error(status, code.word());
    }
    // A host the server could not take (`911`: the spool refused it) must be sent again, and a
    // script that only looks at the status (`curl -f`) must see that: 503, the results as ever.
    let status = if outcome.reply.lines.contains(&Code::ServerError) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let results: Vec<serde_json::Value> = outcome
        .hosts
        .iter()
        .zip(&outcome.reply.lines)
        .map(|(host, code)| {
            let addresses = match code {
                Code::Good(addresses) | Code::NoChange(addresses) => Some(*addresses),
                _ => None,
            };
            serde_json::json!({
                "hostname": host,
                "result": code.word(),
                "ipv4": addresses.and_then(|a| a.v4).map(|a| a.to_string()),
                "ipv6": addresses.and_then(|a| a.v6).map(|a| a.to_string()),
            })
        })
        .collect();
    json(status, &serde_json::json!({ "results": results }))
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
