//! Why this exists: the dyndns2 dialect (`/nic/update`, `/update`), the request style ddclient,
//! inadyn and most routers speak: its query in (credentials by Basic auth, or `username`/`password`
//! or `user`/`pass` in the query for clients that cannot send it), its reply lines out; every
//! decision in between is the shared update path (`update.rs`).

use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::client_addr::Peer;
use crate::reply::Code;
use crate::request::{query_credentials, UpdateQuery};
use crate::update::{client_of, update, Proof, UpdateRequest};

pub async fn nic_update(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    // Borrow headers and query from the request instead of copying them (this is the hot path).
    let (parts, _body) = request.into_parts();
    let client = client_of(&state, peer, &parts.headers);
    let query = parts.uri.query();
    let outcome = update(
        &state,
        peer,
        client,
        &parts.headers,
        Proof::Request(|| query_credentials(query)),
        || parse(query),
    )
    .await;
    // One line per request; never the query string (it may carry credentials) or a password.
    outcome.log(&state, client);
    outcome.reply.into_response()
}

/// The query as an update request; an unknown `system=` is `badsys` (answered once the user is
/// authenticated, as Dyn did).
fn parse(query: Option<&str>) -> Result<UpdateRequest<'_>, Code> {
    let query = UpdateQuery::parse(query);
    if query
        .system
        .as_deref()
        .is_some_and(|system| !matches!(system, "dyndns" | "statdns" | "custom"))
    {
        return Err(Code::BadSys);
    }
    Ok(UpdateRequest {
        hostnames: query.hostnames,
        addresses: query.addresses,
        lan_prefix: query.lan_prefix,
    })
}
