//! Why this exists: the dyndns2 dialect (`/nic/update`, `/update`, and `/nic/delete`), the request
//! style ddclient, inadyn and most routers speak: its query in (credentials by Basic auth, or
//! `username`/`password` or `user`/`pass` in the query for clients that cannot send it), its reply
//! lines out; every decision in between is the shared update path (`update.rs`). `offline=yes` and
//! `/nic/delete` ask that path to delete the hosts' A and AAAA records instead of setting them.

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
    answer(&state, peer, request, parse, false).await
}

/// `GET /nic/delete?hostname=a,b`: the update path's delete, credentials and hosts as for an update;
/// every other parameter (`myip=`, `system=`, `offline=`) is ignored.
pub async fn nic_delete(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    request: Request,
) -> Response {
    answer(&state, peer, request, parse_delete, true).await
}

/// Runs a dyndns2 request through the update path, `parse` reading its query; `delete_route`
/// (`/nic/delete`) logs even a request refused before its query is read as a delete.
async fn answer(
    state: &AppState,
    peer: Peer,
    request: Request,
    parse: fn(Option<&str>) -> Result<UpdateRequest<'_>, Code>,
    delete_route: bool,
) -> Response {
    // Borrow headers and query from the request instead of copying them (this is the hot path).
    let (parts, _body) = request.into_parts();
    let client = client_of(state, peer, &parts.headers);
    let query = parts.uri.query();
    let mut outcome = update(
        state,
        peer,
        client,
        &parts.headers,
        Proof::Request(|| query_credentials(query)),
        || parse(query),
    )
    .await;
    outcome.delete |= delete_route;
    // One line per request; never the query string (it may carry credentials) or a password.
    outcome.log(state, client, crate::metrics::Dialect::Dyndns2);
    outcome.reply.into_response()
}

/// The query as an update request (a delete with `offline=yes`: its addresses are not read); an
/// unknown `system=` is `badsys` (answered once the user is authenticated, as Dyn did).
fn parse(query: Option<&str>) -> Result<UpdateRequest<'_>, Code> {
    let query = UpdateQuery::parse(query);
    if query
        .system
        .as_deref()
        .is_some_and(|system| !matches!(system, "dyndns" | "statdns" | "custom"))
    {
        return Err(Code::BadSys);
    }
    let delete = query.offline;
    Ok(UpdateRequest {
        hostnames: query.hostnames,
        addresses: if delete {
            Default::default()
        } else {
            query.addresses
        },
        lan_prefix: if delete {
            Default::default()
        } else {
            query.lan_prefix
        },
        delete,
    })
}

/// `/nic/delete`'s query: only the host names count.
fn parse_delete(query: Option<&str>) -> Result<UpdateRequest<'_>, Code> {
    Ok(UpdateRequest {
        hostnames: UpdateQuery::parse(query).hostnames,
        addresses: Default::default(),
        lan_prefix: Default::default(),
        delete: true,
    })
}
