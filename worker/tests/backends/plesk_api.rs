//! Why this exists: the `plesk-api` backend proven against the documented Plesk REST API (the
//! double in `fake_plesk_api.rs`): new names get their records, a changed address is added before
//! the old one goes, an unchanged one costs no write, and each refusal Plesk can give comes back
//! in the right class with Plesk's words and never the key.

use std::time::Duration;

use dyndns_worker::backend::{
    from_config as backend_from_config, Backend, BackendError, Change, PleskApi, PleskApiOptions,
    RecordType, Value,
};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::fake_plesk_api::FakePleskApi;

const ZONE: &str = "example.com";
const KEY: &str = "8774590b-3eaa-e2f8-8e28-429e7f365687";

fn backend(fake: &FakePleskApi, key: &str) -> PleskApi {
    PleskApi::new(PleskApiOptions {
        api_url: fake.api_url.clone(),
        api_key: Secret::new(key),
        tls_ca_file: None,
        timeout: Duration::from_secs(5),
    })
    .expect("no CA file to read")
}

fn address(label: &str, text: &str) -> Change {
    Change::address(
        &format!("{label}.{ZONE}"),
        ZONE,
        label,
        text.parse().expect("test address literal"),
        60,
    )
}

fn txt(label: &str, text: &str) -> Change {
    Change::replace(
        &format!("{label}.{ZONE}"),
        ZONE,
        label,
        RecordType::Txt,
        vec![Value::Txt(text.to_owned())],
        60,
    )
}

fn values(fake: &FakePleskApi, host: &str, record_type: &str) -> Vec<String> {
    fake.records(host, record_type)
        .into_iter()
        .map(|(value, _)| value)
        .collect()
}

#[tokio::test]
async fn a_new_host_gets_its_a_aaaa_and_txt_records_from_three_posts() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    let batch = [
        address("home", "203.0.113.7"),
        address("home", "2001:db8::7"),
        txt("home", "acme-token-1"),
    ];
    for result in api.apply_batch(ZONE, &batch).await {
        let applied = result.expect("each change applied");
        assert!(
            applied.changed && applied.previous.is_empty(),
            "{applied:?}"
        );
    }
    assert_eq!(
        fake.records("home.example.com.", "A"),
        [("203.0.113.7".to_owned(), Some(60))]
    );
    assert_eq!(values(&fake, "home.example.com.", "AAAA"), ["2001:db8::7"]);
    assert_eq!(values(&fake, "home.example.com.", "TXT"), ["acme-token-1"]);
    assert_eq!(fake.requests("POST").len(), 3, "{:?}", fake.log());
    // The read, whose record ids the write uses, and the read-back: two listings for the batch.
    assert_eq!(fake.requests("LIST").len(), 2, "{:?}", fake.log());
    assert_eq!(api.round_trips(), 3);
}

#[tokio::test]
async fn a_changed_address_is_added_before_the_old_record_is_deleted() {
    let fake = FakePleskApi::start(KEY);
    fake.seed(ZONE, "A", "home.example.com.", "198.51.100.9", 60);
    fake.seed(ZONE, "AAAA", "home.example.com.", "2001:db8::9", 60);
    let api = backend(&fake, KEY);
    let applied = api
        .apply(&address("home", "203.0.113.7"))
        .await
        .expect("applied");
    assert!(applied.changed);
    assert_eq!(
        applied.previous,
        [Value::Address("198.51.100.9".parse().unwrap())]
    );
    let writes: Vec<String> = fake
        .log()
        .into_iter()
        .filter(|line| !line.starts_with("LIST "))
        .collect();
    assert_eq!(
        writes,
        [
            "POST A home.example.com. 203.0.113.7 ttl 60",
            "DELETE A home.example.com. 198.51.100.9",
        ],
        "the new address first, so the name always answers"
    );
    assert_eq!(values(&fake, "home.example.com.", "A"), ["203.0.113.7"]);
    assert_eq!(values(&fake, "home.example.com.", "AAAA"), ["2001:db8::9"]);
}

#[tokio::test]
async fn an_unchanged_address_costs_one_listing_and_no_write() {
    let fake = FakePleskApi::start(KEY);
    fake.seed(ZONE, "A", "home.example.com.", "203.0.113.7", 60);
    let api = backend(&fake, KEY);
    let applied = api
        .apply(&address("home", "203.0.113.7"))
        .await
        .expect("applied");
    assert!(!applied.changed, "{applied:?}");
    assert_eq!(fake.log(), ["LIST example.com"]);
    assert_eq!(api.round_trips(), 0);
}

#[tokio::test]
async fn the_apex_is_written_with_an_empty_host() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    let change = Change::address(ZONE, ZONE, "", "203.0.113.8".parse().unwrap(), 60);
    api.apply(&change).await.expect("applied");
    assert_eq!(values(&fake, "example.com.", "A"), ["203.0.113.8"]);
    assert_eq!(
        fake.requests("DELETE"),
        ["DELETE A example.com. 192.0.2.10"]
    );
}

#[tokio::test]
async fn a_different_ttl_alone_is_fixed_in_place() {
    let fake = FakePleskApi::start(KEY);
    fake.seed(ZONE, "A", "home.example.com.", "203.0.113.7", 3600);
    let api = backend(&fake, KEY);
    let applied = api
        .apply(&address("home", "203.0.113.7"))
        .await
        .expect("applied");
    assert!(applied.changed);
    assert_eq!(
        fake.requests("PUT"),
        ["PUT A home.example.com. 203.0.113.7 ttl 60"]
    );
    assert!(fake.requests("POST").is_empty() && fake.requests("DELETE").is_empty());
    assert_eq!(
        fake.records("home.example.com.", "A"),
        [("203.0.113.7".to_owned(), Some(60))]
    );
}

#[tokio::test]
async fn a_delete_removes_every_record_of_its_type_and_nothing_else() {
    let fake = FakePleskApi::start(KEY);
    fake.seed(ZONE, "A", "home.example.com.", "198.51.100.1", 60);
    fake.seed(ZONE, "A", "home.example.com.", "198.51.100.2", 60);
    fake.seed(ZONE, "AAAA", "home.example.com.", "2001:db8::9", 60);
    let api = backend(&fake, KEY);
    let delete = Change::delete("home.example.com", ZONE, "home", RecordType::A);
    let applied = api.apply(&delete).await.expect("deleted");
    assert!(applied.changed);
    assert!(fake.records("home.example.com.", "A").is_empty());
    assert_eq!(values(&fake, "home.example.com.", "AAAA"), ["2001:db8::9"]);
    assert_eq!(fake.requests("DELETE").len(), 2);
}

fn permanent_text(error: &BackendError) -> String {
    assert!(!error.is_transient(), "expected permanent: {error}");
    error.to_string()
}

#[tokio::test]
async fn a_wrong_key_is_permanent_with_plesks_message_and_never_the_key() {
    let fake = FakePleskApi::start(KEY);
    let wrong = "0000aaaa-bbbb-cccc-dddd-eeeeffff0000";
    let api = backend(&fake, wrong);
    let error = api
        .apply(&address("home", "203.0.113.7"))
        .await
        .expect_err("the key is refused");
    let text = permanent_text(&error);
    assert!(text.contains("HTTP 403"), "{text}");
    assert!(
        text.contains("Authentication failed: invalid API key"),
        "{text}"
    );
    assert!(text.contains("api_key_file"), "{text}");
    assert!(!text.contains(wrong) && !text.contains(KEY), "{text}");
    assert!(
        !format!("{error:?}{api:?}").contains(wrong),
        "Debug shows the key"
    );
    assert!(
        fake.log().is_empty(),
        "nothing got past the key: {:?}",
        fake.log()
    );
}

#[tokio::test]
async fn an_unknown_domain_is_permanent_with_plesks_message() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    let change = Change::address(
        "home.example.net",
        "example.net",
        "home",
        "203.0.113.7".parse().unwrap(),
        60,
    );
    let text = permanent_text(&api.apply(&change).await.expect_err("unknown domain"));
    assert!(text.contains("HTTP 404"), "{text}");
    assert!(
        text.contains("Domain or domain alias example.net is not found"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_record_fails_alone_and_the_batch_goes_on() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    fake.fail_next_with(
        Some("POST"),
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        None,
        "Unable to add the DNS record".to_owned(),
    );
    let results = api
        .apply_batch(
            ZONE,
            &[address("a", "203.0.113.1"), address("b", "203.0.113.2")],
        )
        .await;
    let text = permanent_text(results[0].as_ref().expect_err("refused"));
    assert!(
        text.contains("HTTP 422: Unable to add the DNS record"),
        "{text}"
    );
    assert!(results[1].as_ref().is_ok_and(|applied| applied.changed));
    assert_eq!(values(&fake, "b.example.com.", "A"), ["203.0.113.2"]);
}

#[tokio::test]
async fn too_many_requests_is_transient_with_retry_after_and_stops_the_batch() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    fake.fail_next(Some("POST"), 429, Some(7));
    let results = api
        .apply_batch(
            ZONE,
            &[address("a", "203.0.113.1"), address("b", "203.0.113.2")],
        )
        .await;
    for result in &results {
        let error = result.as_ref().expect_err("rate limited");
        assert!(error.is_transient(), "{error}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(7)), "{error}");
        assert!(error.to_string().contains("Too many requests"), "{error}");
    }
    assert!(
        fake.requests("POST").is_empty(),
        "no second POST into a rate limit: {:?}",
        fake.log()
    );
}

#[tokio::test]
async fn a_server_error_is_transient() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    fake.fail_next(Some("GET"), 500, None);
    let error = api
        .apply(&address("home", "203.0.113.7"))
        .await
        .expect_err("server error");
    assert!(error.is_transient(), "{error}");
    assert!(
        error.to_string().contains("HTTP 500: Internal error 500"),
        "{error}"
    );
    assert_eq!(error.retry_after(), None);
}

#[tokio::test]
async fn a_stopped_server_is_transient() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    drop(fake);
    let error = api
        .apply(&address("home", "203.0.113.7"))
        .await
        .expect_err("nothing listens");
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn check_finds_the_domain_and_refuses_an_unknown_one_or_a_wrong_key() {
    let fake = FakePleskApi::start(KEY);
    let api = backend(&fake, KEY);
    let found = api.check(ZONE).await.expect("the domain is there");
    assert_eq!(found, "domain example.com, 4 records");
    let text = permanent_text(&api.check("example.net").await.expect_err("no such domain"));
    assert!(text.contains("Plesk has no domain example.net"), "{text}");
    let wrong = backend(&fake, "not-the-key");
    let text = permanent_text(&wrong.check(ZONE).await.expect_err("refused key"));
    assert!(
        text.contains("HTTP 403") && !text.contains("not-the-key"),
        "{text}"
    );
    assert!(
        fake.requests("POST").is_empty() && fake.requests("DELETE").is_empty(),
        "check changes nothing"
    );
}

#[tokio::test]
async fn the_config_builds_the_plesk_api_backend_with_the_key_from_its_file_and_check_passes() {
    let fake = FakePleskApi::start(KEY);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plesk-api.key"), format!("{KEY}\n")).unwrap();
    let text = format!(
        r#"
[frontend]
listen = "127.0.0.1:8245"
[spool]
dir = "spool"
[worker]
backend = "plesk-api"
state_dir = "state"
[[zone]]
name = "dyn.example.com"
backend_zone = "example.com"
[[user]]
name = "router"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$MUYtLpQejgKl1J9PB/YwlQ$6NO5xyJ0YEsD8q9p/JJ8rdhbSqhKRg0oAgDSgb77FP0"
hosts = ["home.dyn.example.com"]
[backend.plesk-api]
api_url = "{}"
api_key_file = "plesk-api.key"
timeout_secs = 5
"#,
        fake.api_url
    );
    let path = dir.path().join("dyndns.toml");
    let config = dyndns_config::Config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let backends = backend_from_config(&config).unwrap_or_else(|e| panic!("{e}"));
    let checked = dyndns_worker::check::check_zones(&config, &backends).await;
    assert_eq!(
        checked[0].to_string(),
        "ok   zone dyn.example.com on plesk-api (backend zone example.com): domain example.com, 4 records"
    );
    let zone = &config.zones[0];
    let api = backends.for_zone(zone).expect("the zone's backend");
    assert_eq!(api.name(), "plesk-api");
    let change = Change::address(
        "home.dyn.example.com",
        ZONE,
        "home.dyn",
        "198.51.100.4".parse().unwrap(),
        60,
    );
    api.apply(&change)
        .await
        .expect("applied through the configured backend");
    assert_eq!(
        values(&fake, "home.dyn.example.com.", "A"),
        ["198.51.100.4"]
    );
}
