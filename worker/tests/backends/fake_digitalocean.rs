//! Why this exists: a stand-in for DigitalOcean's API v2 domain records (which cannot run here) for
//! the `digitalocean` backend's tests, written from DigitalOcean's documentation of the requests the
//! backend sends and the replies they get:
//! - Domain records (https://docs.digitalocean.com/reference/api/digitalocean/#tag/Domain-Records,
//!   https://docs.digitalocean.com/products/networking/dns/reference/api/domain-records/):
//!   `GET /v2/domains/{domain}/records?page=&per_page=` answers `{"domain_records": [...],
//!   "links": {"pages": {"first", "prev", "next", "last"}}, "meta": {"total"}}`; a record is `{"id",
//!   "type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag"}` with `name`
//!   relative to the domain (`@` for the apex); `POST .../records` answers 201 `{"domain_record"}`,
//!   `PATCH`/`PUT .../records/{id}` 200 `{"domain_record"}`, `DELETE .../records/{id}` 204; the
//!   lowest TTL is 30.
//! - Errors are `{"id": "...", "message": "..."}`: 401 `Unauthorized`, 404 `not_found` ("The
//!   resource you were accessing could not be found."), 422 `unprocessable_entity`, 429
//!   `too_many_requests` with `Retry-After` (https://docs.digitalocean.com/notes/2023/api-rate-limit/),
//!   500 `server_error`.
//!
//! Deliberately small pages: `per_page` is capped at 3 (DigitalOcean's documented cap is 200), so
//! every listing in a test crosses pages.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

use crate::fake_api::{serve_forever, Fault, Faults};

/// The token the fake accepts.
pub const TOKEN: &str = "dop_v1_test-token-Kd73p";
/// The fake's largest page.
pub const MAX_PER_PAGE: usize = 3;

/// One domain record as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: u64,
    pub record_type: String,
    /// Relative to the domain; `@` for the apex.
    pub name: String,
    pub data: String,
    pub ttl: u32,
}

impl Record {
    fn to_json(&self) -> Value {
        json!({"id": self.id, "type": self.record_type, "name": self.name, "data": self.data,
               "priority": null, "port": null, "ttl": self.ttl, "weight": null, "flags": null,
               "tag": null})
    }
}

/// What the fake saw, per domain.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub list_pages: usize,
    pub creates: usize,
    pub updates: usize,
    pub deletes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// Domain → its records by id (ids grow, so this is creation order).
    domains: HashMap<String, BTreeMap<u64, Record>>,
    next_id: u64,
    faults: Faults,
    seen: HashMap<String, Seen>,
}

type Shared = Arc<Mutex<Inner>>;

/// The fake, shared by every test of the binary; tests keep apart by domain.
pub struct FakeDigitalOcean {
    /// The base URL to configure as `api_url`: `http://127.0.0.1:<port>/v2`.
    pub api_url: String,
    inner: Shared,
}

/// The one fake of this test binary, started on first use.
pub fn fake() -> &'static FakeDigitalOcean {
    static FAKE: OnceLock<FakeDigitalOcean> = OnceLock::new();
    FAKE.get_or_init(|| {
        let inner = Shared::default();
        let router = Router::new()
            .route(
                "/v2/domains/{domain}/records",
                get(list_records).post(create_record),
            )
            .route(
                "/v2/domains/{domain}/records/{id}",
                axum::routing::patch(update_record)
                    .put(update_record)
                    .delete(delete_record),
            )
            .with_state(inner.clone());
        let address = serve_forever(router);
        FakeDigitalOcean {
            api_url: format!("http://{address}/v2"),
            inner,
        }
    })
}

impl FakeDigitalOcean {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake DigitalOcean state")
    }

    /// Adds domain `name` (each test its own) with the NS records DigitalOcean makes for it.
    pub fn add_domain(&self, name: &str) {
        self.lock().domains.insert(name.to_owned(), BTreeMap::new());
        for server in ["ns1", "ns2", "ns3"] {
            self.add_record(name, "NS", "@", &format!("{server}.digitalocean.com"), 1800);
        }
    }

    /// Adds a record as if made in the control panel; returns its id.
    pub fn add_record(
        &self,
        domain: &str,
        record_type: &str,
        name: &str,
        data: &str,
        ttl: u32,
    ) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let records = inner
            .domains
            .get_mut(domain)
            .unwrap_or_else(|| panic!("the test made no domain {domain}"));
        records.insert(
            id,
            Record {
                id,
                record_type: record_type.to_owned(),
                name: name.to_owned(),
                data: data.to_owned(),
                ttl,
            },
        );
        id
    }

    /// The records of `record_type` named `name` (relative) in `domain`, in creation order.
    pub fn records(&self, domain: &str, name: &str, record_type: &str) -> Vec<Record> {
        self.lock().domains[domain]
            .values()
            .filter(|record| record.name == name && record.record_type == record_type)
            .cloned()
            .collect()
    }

    /// The next request about `domain` gets `fault` instead of an answer.
    pub fn fail_next(&self, domain: &str, fault: Fault) {
        self.fail_after(domain, 0, fault);
    }

    /// The request about `domain` after the next `passing` ones gets `fault`.
    pub fn fail_after(&self, domain: &str, passing: usize, fault: Fault) {
        self.lock().faults.arm(domain, passing, fault);
    }

    /// The requests about `domain` so far.
    pub fn seen(&self, domain: &str) -> Seen {
        self.lock().seen.get(domain).copied().unwrap_or_default()
    }
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    reply(status, &json!({"id": id, "message": message}))
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "The resource you were accessing could not be found.",
    )
}

/// The token check, the domain's existence, then any fault armed for it.
fn refuse(inner: &mut Inner, headers: &HeaderMap, domain: &str) -> Option<Response> {
    let authorized = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !authorized {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unable to authenticate you",
        ));
    }
    if !inner.domains.contains_key(domain) {
        return Some(not_found());
    }
    match inner.faults.take(domain)? {
        Fault::RateLimited { retry_after_secs } => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "API Rate limit exceeded.",
            );
            let headers = response.headers_mut();
            headers.insert("retry-after", retry_after_secs.into());
            headers.insert("ratelimit-limit", 5000.into());
            headers.insert("ratelimit-remaining", 0.into());
            Some(response)
        }
        Fault::ServerError => Some(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Unexpected server-side error",
        )),
    }
}

async fn list_records(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = shared.lock().expect("fake DigitalOcean state");
    if let Some(refused) = refuse(&mut inner, &headers, &domain) {
        return refused;
    }
    inner.seen.entry(domain.clone()).or_default().list_pages += 1;
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let page = number("page", 1).max(1);
    let per_page = number("per_page", 20).clamp(1, MAX_PER_PAGE);
    let records = &inner.domains[&domain];
    let total = records.len();
    let listed: Vec<Value> = records
        .values()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(Record::to_json)
        .collect();
    let last = total.div_ceil(per_page).max(1);
    // Links are absolute, as DigitalOcean writes them (here to the fake's own documented host).
    let link = |page: usize| {
        format!("https://api.digitalocean.com/v2/domains/{domain}/records?page={page}&per_page={per_page}")
    };
    let mut pages = serde_json::Map::new();
    if page > 1 {
        pages.insert("first".to_owned(), link(1).into());
        pages.insert("prev".to_owned(), link(page - 1).into());
    }
    if page < last {
        pages.insert("next".to_owned(), link(page + 1).into());
        pages.insert("last".to_owned(), link(last).into());
    }
    reply(
        StatusCode::OK,
        &json!({"domain_records": listed, "links": {"pages": pages}, "meta": {"total": total}}),
    )
}

/// DigitalOcean's documented checks of a record's fields.
fn unprocessable(record: &Record) -> Option<Response> {
    let refuse = |message: String| {
        Some(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            &message,
        ))
    };
    match record.record_type.as_str() {
        "A" if !matches!(record.data.parse(), Ok(IpAddr::V4(_))) => {
            refuse(format!("Data {} is not a valid IPv4 address", record.data))
        }
        "AAAA" if !matches!(record.data.parse(), Ok(IpAddr::V6(_))) => {
            refuse(format!("Data {} is not a valid IPv6 address", record.data))
        }
        _ if record.ttl < 30 => refuse(format!("TTL {} must be at least 30", record.ttl)),
        _ if record.name.is_empty() => refuse("Name can't be blank".to_owned()),
        _ => None,
    }
}

async fn create_record(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    body: String,
) -> Response {
    let mut inner = shared.lock().expect("fake DigitalOcean state");
    if let Some(refused) = refuse(&mut inner, &headers, &domain) {
        return refused;
    }
    inner.seen.entry(domain.clone()).or_default().creates += 1;
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let field = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let record = Record {
        id: inner.next_id + 1,
        record_type: field("type"),
        name: field("name"),
        data: field("data"),
        ttl: body.get("ttl").and_then(Value::as_u64).unwrap_or(1800) as u32,
    };
    if let Some(refused) = unprocessable(&record) {
        return refused;
    }
    inner.next_id += 1;
    let json = record.to_json();
    if let Some(records) = inner.domains.get_mut(&domain) {
        records.insert(record.id, record);
    }
    reply(StatusCode::CREATED, &json!({"domain_record": json}))
}

async fn update_record(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path((domain, id)): Path<(String, u64)>,
    body: String,
) -> Response {
    let mut inner = shared.lock().expect("fake DigitalOcean state");
    if let Some(refused) = refuse(&mut inner, &headers, &domain) {
        return refused;
    }
    inner.seen.entry(domain.clone()).or_default().updates += 1;
    let Some(old) = inner.domains[&domain].get(&id).cloned() else {
        return not_found();
    };
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    let field = |key: &str, old: String| {
        body.get(key)
            .and_then(Value::as_str)
            .map_or(old, str::to_owned)
    };
    let record = Record {
        id,
        record_type: field("type", old.record_type),
        name: field("name", old.name),
        data: field("data", old.data),
        ttl: body
            .get("ttl")
            .and_then(Value::as_u64)
            .map_or(old.ttl, |ttl| ttl as u32),
    };
    if let Some(refused) = unprocessable(&record) {
        return refused;
    }
    let json = record.to_json();
    if let Some(records) = inner.domains.get_mut(&domain) {
        records.insert(id, record);
    }
    reply(StatusCode::OK, &json!({"domain_record": json}))
}

async fn delete_record(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path((domain, id)): Path<(String, u64)>,
) -> Response {
    let mut inner = shared.lock().expect("fake DigitalOcean state");
    if let Some(refused) = refuse(&mut inner, &headers, &domain) {
        return refused;
    }
    inner.seen.entry(domain.clone()).or_default().deletes += 1;
    match inner
        .domains
        .get_mut(&domain)
        .and_then(|records| records.remove(&id))
    {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}
