//! Why this exists: the one update path every request style shares: authenticate, check every host
//! against the user's patterns and the zones, answer `nochg` from memory, and spool each change
//! durably before answering `good`. A dialect (`dyndns2.rs`) only parses its request into an
//! [`UpdateRequest`] and renders the [`Outcome`] in its own reply format.

use std::borrow::Cow;
use std::net::IpAddr;

use axum::http::HeaderMap;

use dyndns_config::{address, names, AuthMode, User};
use dyndns_queue::Job;

use smallvec::SmallVec;
use uuid::Uuid;

use crate::accepted::Changed;
use crate::app::AppState;
use crate::auth::{BasicAuth, Credentials, Remembered};
use crate::client_addr::{client_address, peer_is_trusted, Peer};
use crate::lan_hosts::{request_prefix, update_lan_hosts, LanUpdate};
use crate::limits::LoginGate;
use crate::metrics::Dialect;
use crate::reply::{Code, Reply};
use crate::request::{addresses, AddressListError, Addresses, MAX_HOSTS};
use crate::request_log::Jobs;

/// What a dialect asks for, before authorisation: the host names (empty: the user's one host),
/// every address value and every LAN prefix value (`lan_hosts.rs`) as sent, still unparsed, or
/// that the hosts' A and AAAA records be deleted (then no address and no prefix is read, and any
/// sent is ignored). A dialect whose request is malformed gives the answer instead (`badsys`),
/// returned once the user is authenticated.
pub struct UpdateRequest<'a> {
    pub hostnames: SmallVec<[Cow<'a, str>; 2]>,
    pub addresses: SmallVec<[Cow<'a, str>; 2]>,
    pub lan_prefix: SmallVec<[Cow<'a, str>; 2]>,
    /// Delete instead of update (dyndns2's `offline=yes` and `/nic/delete`).
    pub delete: bool,
}

/// What a request asks of each of its hosts.
enum Asked {
    /// Publish these addresses (or why the values sent are unusable).
    Addresses(Result<Addresses, AddressListError>),
    /// Remove the A and AAAA records.
    Delete,
}

/// What became of a request: who asked (for the log), the hosts, one answer per host (or one for
/// the request), and per host the job spooled for it (only `good` has one), so the log ties the
/// reply to the worker's line for the same job. The LAN hosts a prefix moved are not in the reply
/// (routers expect a line per host they named), only in the log, with their jobs.
pub struct Outcome<'a> {
    pub user: Option<Cow<'a, str>>,
    pub hosts: SmallVec<[Cow<'a, str>; 2]>,
    pub reply: Reply,
    pub jobs: SmallVec<[Option<Uuid>; 2]>,
    pub lan_jobs: Vec<(&'a str, Uuid)>,
    /// The request asked for a delete (known once it is parsed; `/nic/delete` says so itself).
    pub delete: bool,
}

impl Outcome<'_> {
    /// The request's one log line (never a query string, a password or a token), and its count
    /// for `/metrics` under its request style.
    pub fn log(&self, state: &AppState, client: Option<IpAddr>, dialect: Dialect) {
        state.requests.count(dialect, &self.reply);
        state.request_log.write(
            self.user.as_deref(),
            &self.hosts,
            client,
            &self.reply,
            Jobs {
                per_host: &self.jobs,
                lan: &self.lan_jobs,
                delete: self.delete,
            },
        );
    }
}

/// The client's address as `[frontend]` says to read it: the peer, or the one header a trusted
/// proxy sets.
pub fn client_of(state: &AppState, peer: Peer, headers: &HeaderMap) -> Option<IpAddr> {
    let frontend = &state.config.frontend;
    client_address(
        peer,
        headers,
        &frontend.trusted_proxies,
        frontend.client_address_header,
    )
}

impl<'a> Outcome<'a> {
    fn early(user: Option<Cow<'a, str>>, code: Code) -> Outcome<'a> {
        Outcome {
            user,
            hosts: SmallVec::new(),
            reply: Reply::one(code),
            jobs: SmallVec::new(),
            lan_jobs: Vec::new(),
            delete: false,
        }
    }
}

/// A user name and password a dialect found outside the Basic header (in the query).
pub type PresentedPassword<'a> = (Cow<'a, str>, Cow<'a, str>);

/// How a dialect's request proves who it is.
pub enum Proof<'q, P> {
    /// Basic auth, else what `P` finds (credentials in the query), else the trusted proxy's
    /// user header in proxy mode.
    Request(P),
    /// An update token (`token.rs`), whatever the auth mode: it is its own credential.
    Token(&'q str),
}

/// Authenticates the request, then answers each host: `nochg` from memory, a refusal, or `good`
/// once its job is durably spooled. `proof` and `parse` are the dialect's. A `Proof::Request`'s
/// closure gives credentials found outside the Basic header; it runs only when no Basic header
/// came, so the usual request pays nothing for it. A token costs one SHA-256 and is not counted
/// against failed logins: at 128 bits and more it cannot be guessed, and a router sharing its
/// address with a password guesser keeps working. `parse` runs once the user is known (so an
/// unauthenticated request costs no parse, and the future carries a borrow, not the parse) and
/// gives the request or the answer it calls for. A LAN prefix in the request then moves the user's
/// LAN hosts (`lan_hosts.rs`); a bad one refuses the request before any job.
pub async fn update<'a, P>(
    state: &'a AppState,
    peer: Peer,
    client: Option<IpAddr>,
    headers: &HeaderMap,
    proof: Proof<'a, P>,
    parse: impl FnOnce() -> Result<UpdateRequest<'a>, Code>,
) -> Outcome<'a>
where
    P: FnOnce() -> Option<PresentedPassword<'a>>,
{
    let found = match proof {
        Proof::Request(presented) => authenticate(state, peer, client, headers, presented).await,
        Proof::Token(token) => {
            crate::token::user_of(&state.config.users, token).ok_or_else(|| Refused::bad_auth(None))
        }
    };
    let user = match found {
        Ok(user) => user,
        Err(Refused { claimed, code }) => return Outcome::early(claimed.map(Cow::Owned), code),
    };
    let user_name = Some(Cow::Borrowed(user.name.as_str()));
    let request = match parse() {
        Ok(request) => request,
        Err(code) => return Outcome::early(user_name, code),
    };
    let hostnames = if request.hostnames.is_empty() {
        default_host(user)
    } else {
        request.hostnames
    };
    let refused = |code| Outcome {
        delete: request.delete,
        ..Outcome::early(user_name.clone(), code)
    };
    if hostnames.is_empty() {
        return refused(Code::NotFqdn);
    }
    if hostnames.len() > MAX_HOSTS {
        return refused(Code::NumHost);
    }
    // A bad prefix refuses the whole request, before any job: half an update is worse. A delete
    // reads no prefix.
    let lan_prefix = match request.delete {
        true => None,
        false => match request_prefix(&request.lan_prefix) {
            Ok(prefix) => prefix,
            Err(_) => return Outcome::early(user_name, Code::DnsErr),
        },
    };
    let asked = if request.delete {
        Asked::Delete
    } else {
        Asked::Addresses(addresses(&request.addresses, client))
    };
    let mut lines = SmallVec::with_capacity(hostnames.len());
    let mut jobs = SmallVec::with_capacity(hostnames.len());
    for hostname in &hostnames {
        let (code, job) = match update_host(state, user, hostname, &asked, client).await {
            Updated::Answered(code) => (code, None),
            Updated::Spooled(code, job) => (code, Some(job)),
        };
        lines.push(code);
        jobs.push(job);
    }
    let lan = match (lan_prefix, &asked) {
        // A request whose addresses do not parse moves no LAN host either.
        (Some(prefix), Asked::Addresses(Ok(wanted))) if !user.lan_hosts.is_empty() => {
            let counted = jobs.iter().any(Option::is_some);
            // A LAN host the request named for IPv4 only got no AAAA from it: the prefix's applies.
            let given_v6: &[Cow<'_, str>] = match wanted.v6 {
                Some(_) => &hostnames,
                None => &[],
            };
            Box::pin(update_lan_hosts(
                state, user, prefix, given_v6, counted, client,
            ))
            .await
        }
        _ => LanUpdate::default(),
    };
    if lan.spool_failed {
        // The reply names no LAN host: its hosts' successes become `911`, so the router retries
        // (its own hosts are then `nochg`, the LAN hosts not yet spooled get their jobs).
        for line in &mut lines {
            if let Code::Good(_) | Code::NoChange(_) = line {
                *line = Code::ServerError;
            }
        }
    }
    Outcome {
        user: user_name,
        hosts: hostnames,
        reply: Reply { lines },
        jobs,
        lan_jobs: lan.jobs,
        delete: request.delete,
    }
}

/// Why a request was not authenticated: the answer, and the user name it claimed (for the log).
pub(crate) struct Refused {
    pub(crate) claimed: Option<String>,
    pub(crate) code: Code,
}

impl Refused {
    fn bad_auth(claimed: Option<&str>) -> Refused {
        Refused {
            claimed: claimed.map(str::to_string),
            code: Code::BadAuth,
        }
    }
}

/// Who is asking: checked Basic credentials (else the ones the dialect found in the query), or the
/// user a trusted proxy names (in proxy mode credentials in a request are never looked at).
///
/// A source locked out for failed logins gets `abuse` for every credential it has not proven
/// before, without a password check; a credential this process verified earlier still passes, so
/// a guesser sharing the router's address (a CGNAT address, an IPv6 /64) does not lock the router
/// out. In proxy mode the web server authenticates and limits failed logins itself: there is
/// nothing to count here. The status page (`status_page.rs`) signs in through this too.
pub(crate) async fn authenticate<'a, 'q>(
    state: &'a AppState,
    peer: Peer,
    client: Option<IpAddr>,
    headers: &HeaderMap,
    presented: impl FnOnce() -> Option<PresentedPassword<'q>>,
) -> Result<&'a User, Refused> {
    match state.config.frontend.auth {
        AuthMode::Proxy => {
            if !peer_is_trusted(peer, &state.config.frontend.trusted_proxies) {
                return Err(Refused::bad_auth(None));
            }
            let name = headers
                .get(state.config.frontend.proxy_user_header.as_str())
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| Refused::bad_auth(None))?;
            state
                .config
                .user(name)
                .ok_or_else(|| Refused::bad_auth(Some(name)))
        }
        AuthMode::Builtin => {
            // No credentials is the challenge a client may need first: always a 401, never `abuse`.
            let decoded = BasicAuth::from_headers(headers);
            let in_query;
            let credentials = match &decoded {
                Some(decoded) => decoded
                    .credentials()
                    .ok_or_else(|| Refused::bad_auth(None))?,
                None => {
                    in_query = presented().ok_or_else(|| Refused::bad_auth(None))?;
                    Credentials {
                        user: &in_query.0,
                        password: &in_query.1,
                    }
                }
            };
            let user = state.config.user(credentials.user);
            let known = user.map(|user| user.name.as_str());
            let locked_out = || Refused {
                claimed: Some(credentials.user.to_string()),
                code: Code::Abuse,
            };
            match (
                state.verifier.remembered(&credentials),
                state.limits.login_gate(client, credentials.user),
            ) {
                (Remembered::Yes, LoginGate::Open | LoginGate::RememberedOnly) => {}
                (_, LoginGate::RememberedOnly | LoginGate::Closed) => {
                    // Refused while locked out: counted, so guessing keeps the lockout going. The
                    // same work whatever the name and password (a right one of a closed user
                    // too), so the answer's time tells a guesser nothing the answer does not.
                    state.limits.record_auth_failure(client, known);
                    return Err(locked_out());
                }
                (Remembered::No(digest), LoginGate::Open) => {
                    // Boxed so the common, remembered case does not carry (and move) the slow
                    // path's state.
                    let check = Box::pin(state.verifier.verify_hash(&credentials, digest));
                    if !check.await {
                        state.limits.record_auth_failure(client, known);
                        return Err(Refused::bad_auth(Some(credentials.user)));
                    }
                }
            }
            user.ok_or_else(|| Refused::bad_auth(Some(credentials.user)))
        }
    }
}

/// Without `hostname=`, a user with exactly one fixed host means that one (as nsupdate.info does
/// with its per-host logins).
fn default_host(user: &User) -> SmallVec<[Cow<'_, str>; 2]> {
    match user.hosts.as_slice() {
        [names::HostPattern::Exact(only)] => smallvec::smallvec![Cow::Borrowed(only.as_str())],
        _ => SmallVec::new(),
    }
}

/// What became of one host of a request.
pub(crate) enum Updated {
    /// Answered without a job (`nochg`, refusals, `911`).
    Answered(Code),
    /// `good`: this job is durably in the spool.
    Spooled(Code, Uuid),
}

async fn update_host(
    state: &AppState,
    user: &User,
    hostname: &str,
    asked: &Asked,
    client: Option<IpAddr>,
) -> Updated {
    match check_host(state, user, hostname, asked, client) {
        // Boxed so the `nochg` path does not carry (and move) the spool write's state.
        Ok((host, changed, wanted)) => {
            Box::pin(spool_change(state, user, &host, changed, wanted, client)).await
        }
        Err(code) => Updated::Answered(code),
    }
}

/// Everything before the spool write: the host's normalized name, the families that changed and
/// the addresses to answer with (none for a delete: `good` and `nochg` bare); `Err` is the answer
/// without a job.
fn check_host<'h>(
    state: &AppState,
    user: &User,
    hostname: &'h str,
    asked: &Asked,
    client: Option<IpAddr>,
) -> Result<(Cow<'h, str>, Changed, Addresses), Code> {
    let Ok(host) = names::normalize_host(hostname) else {
        return Err(Code::NotFqdn);
    };
    // Same answer whether the host exists elsewhere or not: never reveal other users' names.
    let Some(zone) = state
        .config
        .zone_for(&host)
        .filter(|_| user.may_update(&host))
    else {
        return Err(Code::NoHost);
    };
    let (changed, wanted) = match asked {
        Asked::Addresses(Ok(wanted)) => {
            let publishable =
                |ip: IpAddr| address::check_address(ip, zone.allow_private_addresses).is_ok();
            if !wanted.v4.map(IpAddr::V4).is_none_or(publishable)
                || !wanted.v6.map(IpAddr::V6).is_none_or(publishable)
            {
                return Err(Code::DnsErr);
            }
            (state.accepted.changed(&host, *wanted), *wanted)
        }
        Asked::Addresses(Err(_)) => return Err(Code::DnsErr),
        Asked::Delete => (state.accepted.to_delete(&host), Addresses::default()),
    };
    if changed.is_empty() {
        return Err(Code::NoChange(wanted));
    }
    if !state.limits.allow_change(&user.name, client) {
        return Err(Code::Abuse);
    }
    Ok((host, changed, wanted))
}

/// Writes the job durably and remembers the change as accepted; `good` only after the fsync.
pub(crate) async fn spool_change(
    state: &AppState,
    user: &User,
    host: &str,
    changed: Changed,
    wanted: Addresses,
    client: Option<IpAddr>,
) -> Updated {
    let received_at = state.received_at();
    let mut job = Job::new(
        user.name.clone(),
        host,
        changed.v4,
        changed.v6,
        received_at,
        client,
    );
    job.delete = changed.deleted();
    let spool = state.spool.clone();
    let spooled = tokio::task::spawn_blocking(move || spool.submit(&job).map(|_| job.id)).await;
    match spooled {
        Ok(Ok(id)) => {
            state.accepted.record_change(host, changed, received_at);
            Updated::Spooled(Code::Good(wanted), id)
        }
        Ok(Err(err)) => {
            tracing::error!(host = %host, error = %err, "cannot spool the change");
            Updated::Answered(Code::ServerError)
        }
        Err(err) => {
            tracing::error!(host = %host, error = %err, "spool task failed");
            Updated::Answered(Code::ServerError)
        }
    }
}
