//! Why this exists: a stand-in for Plesk's REST API v2 (no Plesk runs here), so the `plesk-api`
//! backend is tested against the requests and replies Plesk documents, on 127.0.0.1 only.
//!
//! Written from:
//! - <https://docs.plesk.com/en-US/obsidian/api-rpc/about-rest-api.79359/>: the API under
//!   `/api/v2/`, JSON in and out, 2xx for success and 4xx/5xx for errors.
//! - Plesk's own REST client, <https://github.com/plesk/pleskapp>: the key in `X-API-Key`
//!   (`internal/api/factory/factory.go`), HTTP 403 for a refused key, error bodies
//!   `{"code", "message", "errors": [{"property", "message"}]}` (`internal/api/json/types.go`),
//!   `GET /api/v2/domains?name=` answering a list of `{id, name, ascii_name, hosting_type,
//!   base_domain_id, guid, created, www_root}` (`internal/api/json/domains.go`).
//! - The DNS records resource of the panel's OpenAPI reference, as the client generated from it
//!   calls it (<https://github.com/Team-Nifty-GmbH/plesk-sdk>, `src/Requests/Dns/`,
//!   `src/Dto/DnsRecord.php`): `GET /api/v2/dns/records?domain=` (a list of `{id, type, host,
//!   value, opt, ttl}`), `POST /api/v2/dns/records?domain=` with `{type, host, value, opt, ttl}`,
//!   `PUT /api/v2/dns/records/{id}`, `DELETE /api/v2/dns/records/{id}` answering
//!   `{"status": "success"}`.
//!
//! Where the documents are silent the double decides, and says so here: a listed `host` is the
//! owner with a trailing dot (as `plesk bin dns --info` prints it); a posted `host` is a label
//! relative to the domain; an unknown domain or record is a 404; a duplicate record or a bad value
//! is a 400 with `errors`; error `message` texts are the double's own. 429 with `Retry-After` and
//! 5xx replies are injected by a test ([`FakePleskApi::fail_next`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// A record as the double keeps it: the owner with its trailing dot, as Plesk lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: u64,
    pub record_type: String,
    pub host: String,
    pub value: String,
    pub ttl: Option<u32>,
}

/// A reply a test asks for, given to the next request of `method` (any, if `None`).
struct Injected {
    method: Option<&'static str>,
    status: StatusCode,
    retry_after: Option<u64>,
    message: String,
}

#[derive(Default)]
struct Plesk {
    key: String,
    /// Domain name → its zone's records.
    domains: BTreeMap<String, Vec<Stored>>,
    next_id: u64,
    /// One line per request that reached a handler: `LIST example.com`, `POST A home.example.com.
    /// 203.0.113.7 ttl 60`, `PUT ...`, `DELETE A home.example.com. 198.51.100.9`, `DOMAINS x`.
    log: Vec<String>,
    injected: VecDeque<Injected>,
}

type Shared = Arc<Mutex<Plesk>>;

/// The double, serving on a free 127.0.0.1 port from its own thread until dropped.
pub struct FakePleskApi {
    /// `http://127.0.0.1:<port>`: what `[backend.plesk-api] api_url` would hold.
    pub api_url: String,
    plesk: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakePleskApi {
    /// A Plesk holding domain `example.com` with the records a new Plesk domain has (NS, MX and
    /// the apex's address), and API key `key`.
    pub fn start(key: &str) -> FakePleskApi {
        let mut plesk = Plesk {
            key: key.to_owned(),
            next_id: 100,
            ..Plesk::default()
        };
        plesk.domains.insert("example.com".to_owned(), Vec::new());
        let fake_seed = [
            ("NS", "example.com.", "ns1.example.com."),
            ("MX", "example.com.", "mail.example.com."),
            ("A", "example.com.", "192.0.2.10"),
            ("A", "mail.example.com.", "192.0.2.10"),
        ];
        for (record_type, host, value) in fake_seed {
            plesk.add("example.com", record_type, host, value, Some(86400));
        }
        let plesk: Shared = Arc::new(Mutex::new(plesk));
        let app = Router::new()
            .route("/api/v2/dns/records", get(list).post(create))
            .route("/api/v2/dns/records/{id}", put(update).delete(remove))
            .route("/api/v2/domains", get(domains))
            .with_state(Arc::clone(&plesk));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let port = listener.local_addr().expect("local address").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the double's runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("the double serves");
            });
        });
        FakePleskApi {
            api_url: format!("http://127.0.0.1:{port}"),
            plesk,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn plesk(&self) -> MutexGuard<'_, Plesk> {
        self.plesk.lock().expect("the double's state")
    }

    /// Adds a record to `domain` as if made in the panel (`host` with its trailing dot).
    pub fn seed(&self, domain: &str, record_type: &str, host: &str, value: &str, ttl: u32) {
        self.plesk()
            .add(domain, record_type, host, value, Some(ttl));
    }

    /// The records of `type` at `host` (trailing dot), as (value, ttl), in the order they were made.
    pub fn records(&self, host: &str, record_type: &str) -> Vec<(String, Option<u32>)> {
        self.plesk()
            .domains
            .values()
            .flatten()
            .filter(|record| record.host == host && record.record_type == record_type)
            .map(|record| (record.value.clone(), record.ttl))
            .collect()
    }

    /// Every request line so far ([`Plesk::log`]'s format).
    pub fn log(&self) -> Vec<String> {
        self.plesk().log.clone()
    }

    /// The log lines that start with `verb` (`LIST`, `POST`, `PUT`, `DELETE`).
    pub fn requests(&self, verb: &str) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|line| line.starts_with(&format!("{verb} ")))
            .collect()
    }

    /// The next request of `method` (`GET`, `POST`, …; any if `None`) gets `status` with a Plesk
    /// error body, and `Retry-After: <seconds>` when given.
    pub fn fail_next(&self, method: Option<&'static str>, status: u16, retry_after: Option<u64>) {
        let status = StatusCode::from_u16(status).expect("a test status");
        let message = match status.as_u16() {
            429 => "Too many requests".to_owned(),
            _ => format!("Internal error {}", status.as_u16()),
        };
        self.fail_next_with(method, status, retry_after, message);
    }

    /// As [`FakePleskApi::fail_next`], with Plesk's `message` given.
    pub fn fail_next_with(
        &self,
        method: Option<&'static str>,
        status: StatusCode,
        retry_after: Option<u64>,
        message: String,
    ) {
        self.plesk().injected.push_back(Injected {
            method,
            status,
            retry_after,
            message,
        });
    }
}

impl Drop for FakePleskApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Plesk {
    fn add(&mut self, domain: &str, record_type: &str, host: &str, value: &str, ttl: Option<u32>) {
        self.next_id += 1;
        let record = Stored {
            id: self.next_id,
            record_type: record_type.to_owned(),
            host: host.to_owned(),
            value: value.to_owned(),
            ttl,
        };
        self.domains
            .get_mut(domain)
            .expect("a seeded domain exists")
            .push(record);
    }

    /// The reply for a request that may not go on: a refused key (403), or an injected failure.
    fn refusal(&mut self, headers: &HeaderMap, method: &'static str) -> Option<Response> {
        let key = headers.get("x-api-key").and_then(|key| key.to_str().ok());
        if key != Some(self.key.as_str()) {
            return Some(error(
                StatusCode::FORBIDDEN,
                "Authentication failed: invalid API key",
            ));
        }
        let position = self
            .injected
            .iter()
            .position(|injected| injected.method.is_none_or(|m| m == method))?;
        let injected = self.injected.remove(position)?;
        let mut reply = error(injected.status, &injected.message);
        if let Some(seconds) = injected.retry_after {
            let value = seconds.to_string().parse().expect("a header value");
            reply.headers_mut().insert("retry-after", value);
        }
        Some(reply)
    }

    fn find(&self, id: u64) -> Option<(String, usize)> {
        self.domains.iter().find_map(|(domain, records)| {
            let index = records.iter().position(|record| record.id == id)?;
            Some((domain.clone(), index))
        })
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"code": 0, "message": message}))).into_response()
}

/// Why a record was refused: the field, and the double's message.
type Invalid = (&'static str, &'static str);

fn invalid((property, message): Invalid) -> Response {
    let body = json!({
        "code": 0,
        "message": "Invalid data",
        "errors": [{"property": property, "message": message}],
    });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn lock(plesk: &Shared) -> MutexGuard<'_, Plesk> {
    plesk.lock().expect("the double's state")
}

fn listed(record: &Stored) -> serde_json::Value {
    json!({
        "id": record.id,
        "type": record.record_type,
        "host": record.host,
        "value": record.value,
        "opt": "",
        "ttl": record.ttl,
    })
}

async fn list(
    State(plesk): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut plesk = lock(&plesk);
    if let Some(refused) = plesk.refusal(&headers, "GET") {
        return refused;
    }
    let domain = query.get("domain").cloned().unwrap_or_default();
    plesk.log.push(format!("LIST {domain}"));
    match plesk.domains.get(&domain) {
        Some(records) => Json(records.iter().map(listed).collect::<Vec<_>>()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("Domain or domain alias {domain} is not found"),
        ),
    }
}

#[derive(Deserialize)]
struct NewRecord {
    #[serde(rename = "type")]
    record_type: String,
    host: String,
    value: String,
    #[serde(default)]
    opt: Option<String>,
    #[serde(default)]
    ttl: Option<u32>,
}

/// Checks a posted or put record and gives its owner with the trailing dot.
fn owner_of(record: &NewRecord, domain: &str) -> Result<String, Invalid> {
    let valid = match record.record_type.as_str() {
        "A" => record.value.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv4()),
        "AAAA" => record.value.parse::<IpAddr>().is_ok_and(|ip| ip.is_ipv6()),
        "TXT" => !record.value.is_empty(),
        _ => return Err(("type", "This record type is not supported here")),
    };
    if !valid {
        return Err(("value", "The value is not valid for this record type"));
    }
    if record.opt.as_deref().is_some_and(|opt| !opt.is_empty()) {
        return Err(("opt", "Not used for this record type"));
    }
    // The double's reading of `host`: a label relative to the domain, empty for the apex.
    if record.host.ends_with('.') || record.host.contains(' ') {
        return Err(("host", "Give the host relative to the domain"));
    }
    Ok(if record.host.is_empty() {
        format!("{domain}.")
    } else {
        format!("{}.{domain}.", record.host)
    })
}

async fn create(
    State(plesk): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    Json(record): Json<NewRecord>,
) -> Response {
    let mut plesk = lock(&plesk);
    if let Some(refused) = plesk.refusal(&headers, "POST") {
        return refused;
    }
    let domain = query.get("domain").cloned().unwrap_or_default();
    let Some(records) = plesk.domains.get(&domain) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("Domain or domain alias {domain} is not found"),
        );
    };
    let host = match owner_of(&record, &domain) {
        Ok(host) => host,
        Err(refused) => return invalid(refused),
    };
    let duplicate = records.iter().any(|stored| {
        stored.host == host
            && stored.record_type == record.record_type
            && stored.value == record.value
    });
    if duplicate {
        return invalid(("value", "The DNS record already exists"));
    }
    let ttl = record
        .ttl
        .map_or(String::new(), |ttl| format!(" ttl {ttl}"));
    plesk.log.push(format!(
        "POST {} {host} {}{ttl}",
        record.record_type, record.value
    ));
    plesk.add(
        &domain,
        &record.record_type,
        &host,
        &record.value,
        record.ttl,
    );
    let id = plesk.next_id;
    (StatusCode::CREATED, Json(json!({"id": id}))).into_response()
}

async fn update(
    State(plesk): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    Json(record): Json<NewRecord>,
) -> Response {
    let mut plesk = lock(&plesk);
    if let Some(refused) = plesk.refusal(&headers, "PUT") {
        return refused;
    }
    let Some((domain, index)) = plesk.find(id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("DNS record {id} is not found"),
        );
    };
    let host = match owner_of(&record, &domain) {
        Ok(host) => host,
        Err(refused) => return invalid(refused),
    };
    let ttl = record
        .ttl
        .map_or(String::new(), |ttl| format!(" ttl {ttl}"));
    plesk.log.push(format!(
        "PUT {} {host} {}{ttl}",
        record.record_type, record.value
    ));
    let stored = &mut plesk.domains.get_mut(&domain).expect("found above")[index];
    stored.record_type = record.record_type;
    stored.host = host;
    stored.value = record.value;
    stored.ttl = record.ttl;
    Json(json!({"status": "success"})).into_response()
}

async fn remove(State(plesk): State<Shared>, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    let mut plesk = lock(&plesk);
    if let Some(refused) = plesk.refusal(&headers, "DELETE") {
        return refused;
    }
    let Some((domain, index)) = plesk.find(id) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("DNS record {id} is not found"),
        );
    };
    let gone = plesk
        .domains
        .get_mut(&domain)
        .expect("found above")
        .remove(index);
    plesk.log.push(format!(
        "DELETE {} {} {}",
        gone.record_type, gone.host, gone.value
    ));
    Json(json!({"status": "success"})).into_response()
}

async fn domains(
    State(plesk): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut plesk = lock(&plesk);
    if let Some(refused) = plesk.refusal(&headers, "GET") {
        return refused;
    }
    let name = query.get("name").cloned();
    plesk
        .log
        .push(format!("DOMAINS {}", name.as_deref().unwrap_or("*")));
    let found: Vec<serde_json::Value> = plesk
        .domains
        .keys()
        .enumerate()
        .filter(|(_, domain)| name.as_deref().is_none_or(|name| name == domain.as_str()))
        .map(|(index, domain)| {
            json!({
                "id": index + 1,
                "name": domain,
                "ascii_name": domain,
                "hosting_type": "virtual",
                "base_domain_id": 0,
                "guid": format!("00000000-0000-4000-8000-{:012}", index + 1),
                "created": "2024-01-01",
                "www_root": format!("/var/www/vhosts/{domain}/httpdocs"),
            })
        })
        .collect();
    Json(found).into_response()
}
