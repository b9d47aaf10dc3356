//! Why this exists: the `powerdns` backend proven against a real `pdns_server` (gsqlite3): a batch
//! lands with one PATCH and is answered over DNS, an unchanged batch writes nothing, TXT is
//! replaced and a delete removes the RRset, and each failure the API can give comes back in the
//! right class with PowerDNS's own words.

use std::time::Duration;

use dyndns_config::BackendKind;
use dyndns_worker::backend::{build, Backend, Change, PowerDns as Api, RecordType, Value};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::powerdns_server::PowerDns;
use crate::util::change;

/// The harness's zone as the worker names it (no trailing dot).
const ZONE: &str = "example.test";

fn backend(server: &PowerDns, key: &str) -> Api {
    Api::new(
        &server.api_url,
        "localhost",
        Secret::new(key),
        Duration::from_secs(5),
    )
}

fn three_hosts() -> Vec<Change> {
    vec![
        change(ZONE, "a", "203.0.113.1"),
        change(ZONE, "b.dyn", "203.0.113.2"),
        change(ZONE, "c", "2001:db8::3"),
    ]
}

fn soa_serial(server: &PowerDns) -> u64 {
    let soa = server.query("example.test.", "SOA");
    let fields: Vec<&str> = soa[0].split_whitespace().collect();
    fields[2].parse().expect("SOA serial is a number")
}

#[tokio::test]
async fn a_batch_of_three_hosts_lands_with_one_patch_and_is_answered_over_dns() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    let results = api.apply_batch(ZONE, &three_hosts()).await;
    for result in &results {
        let applied = result.as_ref().expect("each change applied");
        assert!(
            applied.changed && applied.previous.is_empty(),
            "{applied:?}"
        );
    }
    assert_eq!(api.patches(), 1, "one PATCH for the whole batch");
    assert_eq!(server.query("a.example.test.", "A"), ["203.0.113.1"]);
    assert_eq!(server.query("b.dyn.example.test.", "A"), ["203.0.113.2"]);
    assert_eq!(server.query("c.example.test.", "AAAA"), ["2001:db8::3"]);
}

#[tokio::test]
async fn a_second_identical_batch_writes_nothing_and_reports_unchanged() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    for result in api.apply_batch(ZONE, &three_hosts()).await {
        result.expect("first batch applied");
    }
    let serial = soa_serial(&server);
    let results = api.apply_batch(ZONE, &three_hosts()).await;
    for result in results {
        let applied = result.expect("second batch applied");
        assert!(!applied.changed, "{applied:?}");
        assert_eq!(applied.previous.len(), 1, "{applied:?}");
    }
    assert_eq!(api.patches(), 1, "the unchanged batch sent no PATCH");
    assert_eq!(soa_serial(&server), serial, "the zone was not touched");
}

#[tokio::test]
async fn a_new_address_replaces_the_old_one_and_reports_it_as_previous() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    let first = [change(ZONE, "home", "2001:db8::1")];
    api.apply_batch(ZONE, &first).await[0]
        .as_ref()
        .expect("first AAAA applied");
    let second = [change(ZONE, "home", "2001:db8::2")];
    let applied = api
        .apply_batch(ZONE, &second)
        .await
        .remove(0)
        .expect("second AAAA applied");
    assert!(applied.changed);
    assert_eq!(
        applied.previous,
        ["2001:db8::1".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(server.query("home.example.test.", "AAAA"), ["2001:db8::2"]);
}

fn txt(label: &str, values: &[&str]) -> Change {
    let values = values.iter().map(|v| Value::Txt((*v).to_owned())).collect();
    Change::replace(
        &format!("{label}.{ZONE}"),
        ZONE,
        label,
        RecordType::Txt,
        values,
        60,
    )
}

/// TXT (sent quoted, as PowerDNS wants its content) lands beside an address, is replaced whole
/// by two values, then a DELETE removes it and the address; each step is read back over DNS,
/// and deleting what is gone sends no PATCH.
#[tokio::test]
async fn a_txt_is_replaced_and_a_delete_removes_the_rrset() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    let first = [
        txt("home", &["first token"]),
        change(ZONE, "home", "203.0.113.5"),
    ];
    for result in api.apply_batch(ZONE, &first).await {
        assert!(result.expect("TXT and A applied").changed);
    }
    assert_eq!(
        server.query("home.example.test.", "TXT"),
        ["\"first token\""]
    );
    assert_eq!(server.query("home.example.test.", "A"), ["203.0.113.5"]);

    let replaced = api
        .apply_batch(ZONE, &[txt("home", &["second", "third value"])])
        .await
        .remove(0)
        .expect("TXT replaced");
    assert!(replaced.changed);
    assert_eq!(replaced.previous, [Value::Txt("first token".to_owned())]);
    assert_eq!(
        server.query("home.example.test.", "TXT"),
        ["\"second\"", "\"third value\""]
    );

    let gone = [
        Change::delete("home.example.test", ZONE, "home", RecordType::Txt),
        Change::delete("home.example.test", ZONE, "home", RecordType::A),
    ];
    for result in api.apply_batch(ZONE, &gone).await {
        assert!(result.expect("deleted").changed);
    }
    assert!(server.query("home.example.test.", "TXT").is_empty());
    assert!(server.query("home.example.test.", "A").is_empty());
    assert_eq!(api.patches(), 3, "one PATCH per batch");
    for result in api.apply_batch(ZONE, &gone).await {
        assert!(!result.expect("already gone").changed);
    }
    assert_eq!(api.patches(), 3, "deleting what is gone sends no PATCH");
}

/// A DELETE sent for an RRset that is gone (the read before it is stale: removed by hand in
/// between), or at a name the zone never held, is done, not a failure; the other family stays.
#[tokio::test]
async fn a_delete_of_an_absent_rrset_is_done() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    for result in api
        .apply_batch(ZONE, &[change(ZONE, "half", "2001:db8::5")])
        .await
    {
        result.expect("AAAA applied");
    }
    let absent = [
        Change::delete("half.example.test", ZONE, "half", RecordType::A),
        Change::delete("never.example.test", ZONE, "never", RecordType::A),
        Change::delete("never.example.test", ZONE, "never", RecordType::Aaaa),
    ];
    for (change, result) in absent.iter().zip(api.write(ZONE, &absent).await) {
        result.unwrap_or_else(|e| panic!("{}: {e}", change.host));
    }
    assert!(server.query("half.example.test.", "A").is_empty());
    assert_eq!(server.query("half.example.test.", "AAAA"), ["2001:db8::5"]);
    assert!(server.query("never.example.test.", "A").is_empty());
}

#[tokio::test]
async fn a_wrong_api_key_is_a_permanent_error_naming_401() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, "not-the-key");
    let results = api.apply_batch(ZONE, &three_hosts()).await;
    assert_eq!(results.len(), 3);
    for result in results {
        let error = result.expect_err("a wrong key applies nothing");
        assert!(!error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("HTTP 401") && text.contains("Unauthorized"),
            "{text}"
        );
    }
    assert!(server.query("a.example.test.", "A").is_empty());
}

#[tokio::test]
async fn an_unknown_zone_is_a_permanent_error_naming_404() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    let error = api
        .apply(&change("missing.test", "home", "203.0.113.1"))
        .await
        .expect_err("no such zone");
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("HTTP 404"), "{error}");
}

#[tokio::test]
async fn a_rejected_patch_fails_every_change_of_the_batch_with_powerdns_message() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    // An A record beside a CNAME is refused by PowerDNS (422), and a PATCH is atomic.
    let cname = r#"{"rrsets":[{"name":"alias.example.test.","type":"CNAME","ttl":60,"changetype":"REPLACE",
        "records":[{"content":"a.example.test.","disabled":false}]}]}"#;
    let reply = server.api("PATCH", "/zones/example.test.", Some(cname));
    assert_eq!(reply.status, 204, "{reply:?}");
    let api = backend(&server, &server.api_key);
    let batch = [
        change(ZONE, "a", "203.0.113.1"),
        change(ZONE, "alias", "203.0.113.9"),
    ];
    let results = api.apply_batch(ZONE, &batch).await;
    for result in results {
        let error = result.expect_err("an atomic PATCH that was refused applies nothing");
        assert!(!error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(
            text.contains("HTTP 422") && text.contains("alias.example.test."),
            "{text}"
        );
    }
    assert!(server.query("a.example.test.", "A").is_empty());
}

#[tokio::test]
async fn a_stopped_server_is_a_transient_error() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let api = backend(&server, &server.api_key);
    drop(server);
    let results = api.apply_batch(ZONE, &three_hosts()).await;
    assert_eq!(results.len(), 3);
    for result in results {
        let error = result.expect_err("nobody answers");
        assert!(error.is_transient(), "{error}");
    }
}

/// A config using the PowerDNS backend with `api_url` and the key in `dir/pdns.key`.
fn config(dir: &std::path::Path, api_url: &str) -> dyndns_config::Config {
    let text = format!(
        r#"
[frontend]
listen = "127.0.0.1:8245"

[spool]
dir = "spool"

[worker]
backend = "powerdns"
state_dir = "state"

[[zone]]
name = "dyn.example.test"
backend_zone = "example.test"

[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
hosts = ["home.dyn.example.test"]

[backend.powerdns]
api_url = "{api_url}"
api_key_file = "pdns.key"
"#
    );
    dyndns_config::Config::parse(&text, &dir.join("dyndns.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_configured_backend_reads_its_key_file_and_applies() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pdns.key"), format!("{}\n", server.api_key)).unwrap();
    let backend = build(&config(dir.path(), &server.api_url), BackendKind::PowerDns).unwrap();
    assert_eq!(backend.name(), "powerdns");
    let applied = backend
        .apply(&change(ZONE, "home.dyn", "198.51.100.4"))
        .await
        .expect("applied through the configured backend");
    assert!(applied.changed);
    assert_eq!(
        server.query("home.dyn.example.test.", "A"),
        ["198.51.100.4"]
    );
}

#[test]
fn a_missing_api_key_file_stops_the_worker_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let error = match build(
        &config(dir.path(), "http://127.0.0.1:9"),
        BackendKind::PowerDns,
    ) {
        Ok(_) => panic!("a backend without its key was built"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("pdns.key"), "{error}");
}

/// One canned HTTP reply on a loopback port, for the statuses a real pdns_server will not give.
fn canned(reply: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

#[tokio::test]
async fn too_many_requests_is_transient_and_carries_retry_after() {
    let url = canned(
        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow",
    );
    let api = Api::new(
        &url,
        "localhost",
        Secret::new("key"),
        Duration::from_secs(5),
    );
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.1"))
        .await
        .expect_err("429");
    assert!(error.is_transient(), "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)), "{error}");
    assert!(error.to_string().contains("HTTP 429: slow"), "{error}");
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let url = canned(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops!",
    );
    let api = Api::new(
        &url,
        "localhost",
        Secret::new("key"),
        Duration::from_secs(5),
    );
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.1"))
        .await
        .expect_err("500");
    assert!(error.is_transient(), "{error}");
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn a_server_that_does_not_answer_in_time_is_transient() {
    // The kernel completes the connection from the backlog; nobody ever replies.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let api = Api::new(
        &url,
        "localhost",
        Secret::new("key"),
        Duration::from_secs(1),
    );
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.1"))
        .await
        .expect_err("no reply within the timeout");
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("GET"), "{error}");
    drop(silent);
}
