//! Why this exists: a stand-in for Cloudflare's API v4 (which cannot run here) for the `cloudflare`
//! backend's tests, written from Cloudflare's documentation of the requests the backend sends and
//! the replies they get:
//! - DNS records: list, batch (https://developers.cloudflare.com/api/resources/dns/subresources/records/,
//!   https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/list/,
//!   https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/batch/):
//!   every reply is `{"success", "errors": [{"code", "message"}], "messages", "result",
//!   "result_info": {"page", "per_page", "count", "total_count", "total_pages"}}`; a batch runs its
//!   `deletes`, `patches`, `puts`, `posts` in that order in one transaction, so a rejected batch
//!   changes nothing; TTL is 1 (automatic) or 60..=86400; TXT content "must consist of quoted
//!   character strings"; "A/AAAA records cannot exist on the same name as CNAME records"; only A,
//!   AAAA and CNAME records can be proxied.
//! - Batch limits (https://developers.cloudflare.com/dns/manage-dns-records/how-to/batch-record-changes/):
//!   200 record operations per batch on the Free plan, which this fake enforces.
//! - Zones by name (https://developers.cloudflare.com/api/resources/zones/methods/list/):
//!   `GET /zones?name=` answers an empty `result` for a zone the token cannot see.
//! - Errors: a well-formed but wrong token gets 403 `{"code": 9109, "message": "Invalid access
//!   token"}` and a missing header 400 code 6003 (as Cloudflare answers them:
//!   https://github.com/cert-manager/cert-manager/pull/4465); over the rate limit
//!   (https://developers.cloudflare.com/fundamentals/api/reference/limits/) 429 with `Retry-After`
//!   and code 971 "Please wait and consider throttling your request speed"; a 5xx is an HTML page
//!   from Cloudflare's edge, not JSON.
//!
//! Deliberately small pages: `per_page` is capped at 3 (Cloudflare's documented cap is far larger),
//! so every listing in a test crosses pages.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::fake_api::{serve_forever, Fault, Faults};

/// The token the fake accepts.
pub const TOKEN: &str = "cf-test-token-Zq81x";
/// The fake's largest page.
pub const MAX_PER_PAGE: usize = 3;
/// Record operations one batch may carry (Free plan).
pub const MAX_BATCH_OPERATIONS: usize = 200;

/// One DNS record as the fake holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub record_type: String,
    pub name: String,
    pub content: String,
    pub ttl: u32,
    pub proxied: bool,
}

impl Record {
    fn to_json(&self, zone_id: &str, zone: &str) -> Value {
        json!({
            "id": self.id,
            "zone_id": zone_id,
            "zone_name": zone,
            "name": self.name,
            "type": self.record_type,
            "content": self.content,
            "proxiable": matches!(self.record_type.as_str(), "A" | "AAAA" | "CNAME"),
            "proxied": self.proxied,
            "ttl": self.ttl,
            "settings": {},
            "meta": {},
            "comment": null,
            "tags": [],
            "created_on": "2026-01-01T05:20:00.12345Z",
            "modified_on": "2026-01-01T05:20:00.12345Z",
        })
    }
}

#[derive(Debug, Default)]
struct Zone {
    name: String,
    /// By id; ids grow, so this is creation order.
    records: BTreeMap<String, Record>,
}

/// What the fake saw, per zone name.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub zone_lookups: usize,
    pub list_pages: usize,
    pub batches: usize,
}

#[derive(Debug, Default)]
struct Inner {
    zones: HashMap<String, Zone>,
    next_id: u64,
    faults: Faults,
    seen: HashMap<String, Seen>,
}

impl Inner {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("{:032x}", self.next_id)
    }
}

type Shared = Arc<Mutex<Inner>>;

/// The fake, shared by every test of the binary; tests keep apart by zone.
pub struct FakeCloudflare {
    /// The base URL to configure as `api_url`: `http://127.0.0.1:<port>/client/v4`.
    pub api_url: String,
    inner: Shared,
}

/// The one fake of this test binary, started on first use.
pub fn fake() -> &'static FakeCloudflare {
    static FAKE: OnceLock<FakeCloudflare> = OnceLock::new();
    FAKE.get_or_init(|| {
        let inner = Shared::default();
        let router = Router::new()
            .route("/client/v4/zones", get(list_zones))
            .route("/client/v4/zones/{zone_id}/dns_records", get(list_records))
            .route("/client/v4/zones/{zone_id}/dns_records/batch", post(batch))
            .with_state(inner.clone());
        let address = serve_forever(router);
        FakeCloudflare {
            api_url: format!("http://{address}/client/v4"),
            inner,
        }
    })
}

impl FakeCloudflare {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("fake Cloudflare state")
    }

    /// Adds zone `name` (each test its own); returns its id.
    pub fn add_zone(&self, name: &str) -> String {
        let mut inner = self.lock();
        let id = inner.new_id();
        inner.zones.insert(
            id.clone(),
            Zone {
                name: name.to_owned(),
                records: BTreeMap::new(),
            },
        );
        id
    }

    /// Adds a record to zone `zone` as if made in the dashboard; returns its id.
    pub fn add_record(
        &self,
        zone: &str,
        record_type: &str,
        name: &str,
        content: &str,
        ttl: u32,
    ) -> String {
        let mut inner = self.lock();
        let id = inner.new_id();
        let zone = zone_named(&mut inner, zone);
        zone.records.insert(
            id.clone(),
            Record {
                id: id.clone(),
                record_type: record_type.to_owned(),
                name: name.to_owned(),
                content: content.to_owned(),
                ttl,
                proxied: false,
            },
        );
        id
    }

    /// The records of `record_type` at `name` in zone `zone`, in creation order.
    pub fn records(&self, zone: &str, name: &str, record_type: &str) -> Vec<Record> {
        let mut inner = self.lock();
        zone_named(&mut inner, zone)
            .records
            .values()
            .filter(|record| record.name == name && record.record_type == record_type)
            .cloned()
            .collect()
    }

    /// The next request about zone `zone` gets `fault` instead of an answer.
    pub fn fail_next(&self, zone: &str, fault: Fault) {
        self.fail_after(zone, 0, fault);
    }

    /// The request about `zone` after the next `passing` ones gets `fault`.
    pub fn fail_after(&self, zone: &str, passing: usize, fault: Fault) {
        self.lock().faults.arm(zone, passing, fault);
    }

    /// The requests about zone `zone` so far.
    pub fn seen(&self, zone: &str) -> Seen {
        self.lock().seen.get(zone).copied().unwrap_or_default()
    }
}

fn zone_named<'a>(inner: &'a mut Inner, name: &str) -> &'a mut Zone {
    inner
        .zones
        .values_mut()
        .find(|zone| zone.name == name)
        .unwrap_or_else(|| panic!("the test made no zone {name}"))
}

/// A Cloudflare reply: `status` with the JSON envelope around `result` or `errors`.
fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn success(result: Value, result_info: Option<Value>) -> Response {
    let mut body = json!({"success": true, "errors": [], "messages": [], "result": result});
    if let Some(info) = result_info {
        body["result_info"] = info;
    }
    reply(StatusCode::OK, body)
}

fn failure(status: StatusCode, errors: Vec<(u32, String)>) -> Response {
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|(code, message)| json!({"code": code, "message": message}))
        .collect();
    reply(
        status,
        json!({"success": false, "errors": errors, "messages": [], "result": null}),
    )
}

/// The token check every endpoint makes, then any fault armed for the zone.
fn refuse(inner: &mut Inner, headers: &HeaderMap, zone: &str) -> Option<Response> {
    let Some(authorization) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Some(failure(
            StatusCode::BAD_REQUEST,
            vec![(6003, "Invalid request headers".to_owned())],
        ));
    };
    if authorization != format!("Bearer {TOKEN}") {
        return Some(failure(
            StatusCode::FORBIDDEN,
            vec![(9109, "Invalid access token".to_owned())],
        ));
    }
    match inner.faults.take(zone)? {
        Fault::RateLimited { retry_after_secs } => {
            let mut response = failure(
                StatusCode::TOO_MANY_REQUESTS,
                vec![(
                    971,
                    "Please wait and consider throttling your request speed".to_owned(),
                )],
            );
            response.headers_mut().insert(
                "retry-after",
                retry_after_secs
                    .to_string()
                    .parse()
                    .expect("a header value"),
            );
            Some(response)
        }
        Fault::ServerError => Some(
            (
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad \
                 Gateway</h1></center><hr><center>cloudflare</center></body></html>",
            )
                .into_response(),
        ),
    }
}

/// `GET /zones?name=`: the zones of that name (none for a zone the token cannot see).
async fn list_zones(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = shared.lock().expect("fake Cloudflare state");
    let name = query.get("name").cloned().unwrap_or_default();
    if let Some(refused) = refuse(&mut inner, &headers, &name) {
        return refused;
    }
    inner.seen.entry(name.clone()).or_default().zone_lookups += 1;
    let zones: Vec<Value> = inner
        .zones
        .iter()
        .filter(|(_, zone)| zone.name == name)
        .map(|(id, zone)| {
            json!({"id": id, "name": zone.name, "status": "active", "paused": false,
                   "type": "full", "account": {"id": "0123456789abcdef0123456789abcdef",
                   "name": "Test account"}})
        })
        .collect();
    let count = zones.len();
    success(
        Value::Array(zones),
        Some(
            json!({"page": 1, "per_page": 20, "count": count, "total_count": count,
                    "total_pages": usize::from(count > 0)}),
        ),
    )
}

/// An unknown zone id, as Cloudflare answers it.
fn no_route(zone_id: &str) -> Response {
    failure(
        StatusCode::NOT_FOUND,
        vec![(
            7003,
            format!("Could not route to /zones/{zone_id}/dns_records, perhaps your object identifier is invalid?"),
        )],
    )
}

/// `GET /zones/{id}/dns_records?page=&per_page=`: one page, in creation order.
async fn list_records(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(zone_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = shared.lock().expect("fake Cloudflare state");
    let Some(name) = inner.zones.get(&zone_id).map(|zone| zone.name.clone()) else {
        return no_route(&zone_id);
    };
    if let Some(refused) = refuse(&mut inner, &headers, &name) {
        return refused;
    }
    inner.seen.entry(name.clone()).or_default().list_pages += 1;
    let number = |key: &str, default: usize| {
        query
            .get(key)
            .and_then(|text| text.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let page = number("page", 1).max(1);
    let per_page = number("per_page", 100).clamp(1, MAX_PER_PAGE);
    let zone = &inner.zones[&zone_id];
    let total = zone.records.len();
    let records: Vec<Value> = zone
        .records
        .values()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|record| record.to_json(&zone_id, &zone.name))
        .collect();
    let count = records.len();
    success(
        Value::Array(records),
        Some(json!({"page": page, "per_page": per_page, "count": count,
                    "total_count": total, "total_pages": total.div_ceil(per_page)})),
    )
}

/// `POST /zones/{id}/dns_records/batch`: deletes, patches, puts, posts, all or nothing.
async fn batch(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(zone_id): Path<String>,
    body: String,
) -> Response {
    let mut inner = shared.lock().expect("fake Cloudflare state");
    let Some(name) = inner.zones.get(&zone_id).map(|zone| zone.name.clone()) else {
        return no_route(&zone_id);
    };
    if let Some(refused) = refuse(&mut inner, &headers, &name) {
        return refused;
    }
    inner.seen.entry(name.clone()).or_default().batches += 1;
    let Ok(body) = serde_json::from_str::<Value>(&body) else {
        return failure(
            StatusCode::BAD_REQUEST,
            vec![(9207, "Request body is invalid JSON".to_owned())],
        );
    };
    let list = |key: &str| {
        body.get(key)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (deletes, patches, puts, posts) = (
        list("deletes"),
        list("patches"),
        list("puts"),
        list("posts"),
    );
    let operations = deletes.len() + patches.len() + puts.len() + posts.len();
    if operations > MAX_BATCH_OPERATIONS {
        return failure(
            StatusCode::BAD_REQUEST,
            vec![(
                1004,
                format!(
                    "Batch of {operations} exceeds the limit of {MAX_BATCH_OPERATIONS} records"
                ),
            )],
        );
    }
    // The transaction: work on a copy, keep it only if every operation is valid.
    let mut records = inner.zones[&zone_id].records.clone();
    let mut done = json!({"deletes": [], "patches": [], "puts": [], "posts": []});
    let mut errors = Vec::new();
    for delete in &deletes {
        let id = delete.get("id").and_then(Value::as_str).unwrap_or_default();
        match records.remove(id) {
            Some(record) => push(&mut done, "deletes", record.to_json(&zone_id, &name)),
            None => errors.push((81044, format!("Record {id} does not exist."))),
        }
    }
    for (key, operations) in [("patches", &patches), ("puts", &puts)] {
        for change in operations {
            let id = change
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let Some(old) = records.get(&id).cloned() else {
                errors.push((81044, format!("Record {id} does not exist.")));
                continue;
            };
            let field = |field: &str| change.get(field).and_then(Value::as_str).map(str::to_owned);
            let record = Record {
                id: id.clone(),
                record_type: field("type").unwrap_or(old.record_type),
                name: field("name").unwrap_or(old.name),
                content: field("content").unwrap_or(old.content),
                ttl: change
                    .get("ttl")
                    .and_then(Value::as_u64)
                    .map_or(old.ttl, |ttl| ttl as u32),
                proxied: change
                    .get("proxied")
                    .and_then(Value::as_bool)
                    .unwrap_or(old.proxied),
            };
            records.remove(&id);
            match valid(&records, &name, &record) {
                Ok(()) => {
                    push(&mut done, key, record.to_json(&zone_id, &name));
                    records.insert(id, record);
                }
                Err(error) => errors.push(error),
            }
        }
    }
    let mut next_id = inner.next_id;
    for post in &posts {
        let field = |field: &str| {
            post.get(field)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        next_id += 1;
        let record = Record {
            id: format!("{next_id:032x}"),
            record_type: field("type"),
            name: field("name"),
            content: field("content"),
            ttl: post.get("ttl").and_then(Value::as_u64).unwrap_or(1) as u32,
            proxied: post
                .get("proxied")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        match valid(&records, &name, &record) {
            Ok(()) => {
                push(&mut done, "posts", record.to_json(&zone_id, &name));
                records.insert(record.id.clone(), record);
            }
            Err(error) => errors.push(error),
        }
    }
    if !errors.is_empty() {
        return failure(StatusCode::BAD_REQUEST, errors);
    }
    inner.next_id = next_id;
    if let Some(zone) = inner.zones.get_mut(&zone_id) {
        zone.records = records;
    }
    success(done, None)
}

fn push(done: &mut Value, key: &str, record: Value) {
    if let Some(list) = done.get_mut(key).and_then(Value::as_array_mut) {
        list.push(record);
    }
}

/// Cloudflare's documented rules for one record joining `others` in zone `zone`.
fn valid(
    others: &BTreeMap<String, Record>,
    zone: &str,
    record: &Record,
) -> Result<(), (u32, String)> {
    let invalid = |message: String| Err((1004, format!("DNS Validation Error: {message}")));
    if record.name != zone && !record.name.ends_with(&format!(".{zone}")) {
        return invalid(format!("{} is not in zone {zone}", record.name));
    }
    if record.ttl != 1 && !(60..=86_400).contains(&record.ttl) {
        return invalid(format!(
            "TTL {} must be 1 (automatic) or 60..=86400",
            record.ttl
        ));
    }
    match record.record_type.as_str() {
        "A" if !matches!(record.content.parse(), Ok(IpAddr::V4(_))) => {
            return invalid(format!("{} is not an IPv4 address", record.content))
        }
        "AAAA" if !matches!(record.content.parse(), Ok(IpAddr::V6(_))) => {
            return invalid(format!("{} is not an IPv6 address", record.content))
        }
        "TXT"
            if !(record.content.len() >= 2
                && record.content.starts_with('"')
                && record.content.ends_with('"')) =>
        {
            return invalid("TXT content must consist of quoted character strings".to_owned())
        }
        "TXT" if record.proxied => {
            return Err((9004, "This record type cannot be proxied.".to_owned()))
        }
        _ => {}
    }
    let same_name = others.values().filter(|other| other.name == record.name);
    for other in same_name {
        let address = |t: &str| matches!(t, "A" | "AAAA");
        if (address(&record.record_type) && other.record_type == "CNAME")
            || (record.record_type == "CNAME" && address(&other.record_type))
        {
            return Err((
                81053,
                "An A, AAAA, or CNAME record with that host already exists.".to_owned(),
            ));
        }
        if other.record_type == record.record_type && other.content == record.content {
            return Err((81058, "An identical record already exists.".to_owned()));
        }
    }
    Ok(())
}
