//! Why this exists: the token-URL style of the server we replace — `GET /<token>` or
//! `GET /u/<token>`, with `?ip=` or `?ip_address=` (else the client's address) and `hostname=` only
//! when the token's user has more than one host — so its users switch by changing only the host name
//! in the URL they have. The answer is the dyndns2 line; every decision is the shared update path
//! (`update.rs`). The token is never logged: the request log has no path, only the user it names.

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use smallvec::SmallVec;

use crate::app::AppState;
use crate::client_addr::Peer;
use crate::request::{decode, query_pairs, split_list};
use crate::update::{client_of, update, PresentedPassword, Proof, UpdateRequest};

pub async fn token_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    let path = parts.uri.path();
    let token = path
        .strip_prefix("/u/")
        .or_else(|| path.strip_prefix('/'))
        .unwrap_or("");
    // Anything else under `/` is not ours: a plain 404, as for any unknown path.
    if !crate::token::well_formed(token) {
        return crate::app::not_found().await.into_response();
    }
    let client = client_of(&state, peer, &parts.headers);
    let query = parts.uri.query();
    let outcome = update(
        &state,
        peer,
        client,
        &parts.headers,
        Proof::<fn() -> Option<PresentedPassword<'static>>>::Token(token),
        || Ok(parse(query)),
    )
    .await;
    outcome.log(&state, client, crate::metrics::Dialect::TokenUrl);
    outcome.reply.into_response()
}

/// `hostname=` (optional), `ip=` / `ip_address=` (optional; `myip=` too, for dyndns2 habits) and
/// the LAN prefix (`ipv6prefix=` or `ip6lanprefix=`, optional).
fn parse(query: Option<&str>) -> UpdateRequest<'_> {
    let mut hostnames = SmallVec::new();
    let mut addresses: SmallVec<[Cow<'_, str>; 2]> = SmallVec::new();
    let mut lan_prefix = SmallVec::new();
    for (key, value) in query_pairs(query.unwrap_or("")) {
        let Some(value) = value.map(decode) else {
            continue;
        };
        match key.as_ref() {
            "hostname" => split_list(value, &mut hostnames),
            "ip" | "ip_address" | "myip" => split_list(value, &mut addresses),
            "ipv6prefix" | "ip6lanprefix" => split_list(value, &mut lan_prefix),
            _ => {}
        }
    }
    UpdateRequest {
        hostnames,
        addresses,
        lan_prefix,
        delete: false,
    }
}
