//! Why this exists: the `cloudflare` backend proven against the documented API (`fake_cloudflare.rs`):
//! a batch lands with one batch request, a changed address keeps its record, an unchanged batch
//! writes nothing, listings cross pages, and each failure the API can give comes back in the right
//! class with Cloudflare's own words and never the token.

use std::time::Duration;

use dyndns_worker::backend::{Backend, Change, Cloudflare, RecordType, Value};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::fake_api::Fault;
use crate::fake_cloudflare::{fake, Record, TOKEN};
use crate::util::change;

fn backend(proxied: bool) -> Cloudflare {
    with_token(TOKEN, proxied)
}

fn with_token(token: &str, proxied: bool) -> Cloudflare {
    Cloudflare::new(
        &fake().api_url,
        Secret::new(token),
        proxied,
        Duration::from_secs(5),
    )
}

fn txt(zone: &str, label: &str, text: &str) -> Change {
    Change::replace(
        &format!("{label}.{zone}"),
        zone,
        label,
        RecordType::Txt,
        vec![Value::Txt(text.to_owned())],
        60,
    )
}

fn contents(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|record| record.content.clone())
        .collect()
}

/// A zone holding a few records dyndns does not manage, so every listing crosses pages.
fn zone_with_neighbours(zone: &str) -> String {
    let id = fake().add_zone(zone);
    fake().add_record(zone, "MX", zone, "mail.example.net", 3600);
    fake().add_record(zone, "CNAME", &format!("www.{zone}"), zone, 3600);
    fake().add_record(zone, "TXT", zone, "\"v=spf1 -all\"", 3600);
    fake().add_record(zone, "A", &format!("mail.{zone}"), "192.0.2.25", 3600);
    id
}

#[tokio::test]
async fn a_batch_of_new_hosts_lands_with_one_batch_request() {
    const ZONE: &str = "new-hosts.cf.test";
    zone_with_neighbours(ZONE);
    let api = backend(false);
    let mut batch = Vec::new();
    for label in ["a", "b.dyn", "c"] {
        batch.push(change(ZONE, label, "203.0.113.7"));
        batch.push(change(ZONE, label, "2001:db8::7"));
        batch.push(txt(ZONE, label, "acme-token-7"));
    }
    for result in api.apply_batch(ZONE, &batch).await {
        let applied = result.expect("each change applied");
        assert!(
            applied.changed && applied.previous.is_empty(),
            "{applied:?}"
        );
    }
    assert_eq!(api.round_trips(), 1, "nine RRsets, one batch request");
    let seen = fake().seen(ZONE);
    assert_eq!(seen.batches, 1);
    assert_eq!(seen.zone_lookups, 1, "the zone id is looked up once");
    // The read (4 records, 2 pages), whose ids the write uses; the read back (13 records, 5 pages).
    assert_eq!(seen.list_pages, 2 + 5, "{seen:?}");
    for label in ["a", "b.dyn", "c"] {
        let host = format!("{label}.{ZONE}");
        let a = fake().records(ZONE, &host, "A");
        assert_eq!(contents(&a), ["203.0.113.7"]);
        assert_eq!((a[0].ttl, a[0].proxied), (60, false));
        assert_eq!(
            contents(&fake().records(ZONE, &host, "AAAA")),
            ["2001:db8::7"]
        );
        assert_eq!(
            contents(&fake().records(ZONE, &host, "TXT")),
            ["\"acme-token-7\""],
            "TXT content is sent in quotes"
        );
    }
}

#[tokio::test]
async fn a_changed_address_is_updated_in_place_and_extras_removed() {
    const ZONE: &str = "changed.cf.test";
    zone_with_neighbours(ZONE);
    let host = format!("home.{ZONE}");
    let kept = fake().add_record(ZONE, "A", &host, "198.51.100.1", 60);
    fake().add_record(ZONE, "A", &host, "198.51.100.2", 60);
    let api = backend(false);
    let applied = api
        .apply(&change(ZONE, "home", "203.0.113.9"))
        .await
        .expect("applied");
    assert!(applied.changed);
    assert_eq!(applied.previous.len(), 2, "{applied:?}");
    let records = fake().records(ZONE, &host, "A");
    assert_eq!(contents(&records), ["203.0.113.9"]);
    assert_eq!(
        records[0].id, kept,
        "the first record was updated, not replaced"
    );
    assert_eq!(api.round_trips(), 1);
}

#[tokio::test]
async fn an_unchanged_batch_writes_nothing() {
    const ZONE: &str = "unchanged.cf.test";
    zone_with_neighbours(ZONE);
    let api = backend(false);
    let batch = [change(ZONE, "home", "203.0.113.10"), txt(ZONE, "home", "t")];
    for result in api.apply_batch(ZONE, &batch).await {
        result.expect("first batch applied");
    }
    let pages = fake().seen(ZONE).list_pages;
    for result in api.apply_batch(ZONE, &batch).await {
        let applied = result.expect("second batch read");
        assert!(!applied.changed, "{applied:?}");
    }
    assert_eq!(api.round_trips(), 1, "the second batch sent no write");
    assert_eq!(fake().seen(ZONE).batches, 1);
    assert_eq!(
        fake().seen(ZONE).list_pages - pages,
        2,
        "one listing of 6 records, 3 a page"
    );
}

#[tokio::test]
async fn a_zone_ttl_below_cloudflares_minimum_is_written_as_60_and_then_left_alone() {
    const ZONE: &str = "short-ttl.cf.test";
    fake().add_zone(ZONE);
    let api = backend(false);
    let mut short = change(ZONE, "home", "203.0.113.11");
    short.ttl = 30;
    api.apply(&short).await.expect("applied");
    let records = fake().records(ZONE, &format!("home.{ZONE}"), "A");
    assert_eq!(records[0].ttl, 60);
    let again = api.apply(&short).await.expect("read");
    assert!(!again.changed, "TTL 60 is what a TTL of 30 becomes here");
    assert_eq!(api.round_trips(), 1);
}

#[tokio::test]
async fn a_dashboard_ttl_is_replaced_by_the_zones() {
    const ZONE: &str = "auto-ttl.cf.test";
    fake().add_zone(ZONE);
    let host = format!("home.{ZONE}");
    let id = fake().add_record(ZONE, "A", &host, "203.0.113.12", 1);
    let api = backend(false);
    let applied = api
        .apply(&change(ZONE, "home", "203.0.113.12"))
        .await
        .expect("applied");
    assert!(applied.changed, "automatic TTL is not the zone's 60");
    let records = fake().records(ZONE, &host, "A");
    assert_eq!((records[0].id.as_str(), records[0].ttl), (id.as_str(), 60));
}

#[tokio::test]
async fn a_delete_removes_every_record_of_the_type_and_only_that_type() {
    const ZONE: &str = "delete.cf.test";
    zone_with_neighbours(ZONE);
    let host = format!("gone.{ZONE}");
    fake().add_record(ZONE, "A", &host, "198.51.100.1", 60);
    fake().add_record(ZONE, "A", &host, "198.51.100.2", 60);
    fake().add_record(ZONE, "AAAA", &host, "2001:db8::1", 60);
    let api = backend(false);
    let applied = api
        .apply(&Change::delete(&host, ZONE, "gone", RecordType::A))
        .await
        .expect("deleted");
    assert!(applied.changed);
    assert!(fake().records(ZONE, &host, "A").is_empty());
    assert_eq!(fake().records(ZONE, &host, "AAAA").len(), 1);
    assert_eq!(api.round_trips(), 1, "both deletes in one batch");
}

#[tokio::test]
async fn a_read_finds_records_and_names_on_every_page() {
    const ZONE: &str = "pages.cf.test";
    zone_with_neighbours(ZONE);
    for n in 0..7 {
        fake().add_record(ZONE, "A", &format!("h{n}.{ZONE}"), "192.0.2.1", 60);
    }
    let last = format!("last.{ZONE}");
    fake().add_record(ZONE, "MX", &last, "mail.example.net", 60);
    fake().add_record(ZONE, "TXT", &last, "\"joined\" \" strings\"", 300);
    let api = backend(false);
    let found = api
        .read(
            ZONE,
            &[
                txt(ZONE, "last", "x"),
                change(ZONE, "last", "192.0.2.2"),
                change(ZONE, "nowhere", "192.0.2.3"),
            ],
        )
        .await;
    let txt_found = found[0].as_ref().expect("read");
    assert_eq!(txt_found.values, [Value::Txt("joined strings".to_owned())]);
    assert_eq!(txt_found.ttl, Some(300));
    let a_found = found[1].as_ref().expect("read");
    assert!(
        a_found.values.is_empty() && a_found.name_exists,
        "{a_found:?}"
    );
    assert!(!found[2].as_ref().expect("read").name_exists);
    assert_eq!(fake().seen(ZONE).list_pages, 5, "13 records, 3 a page");
}

#[tokio::test]
async fn proxied_is_sent_as_configured_on_addresses_only() {
    const ZONE: &str = "proxied.cf.test";
    fake().add_zone(ZONE);
    let api = backend(true);
    for result in api
        .apply_batch(
            ZONE,
            &[change(ZONE, "web", "203.0.113.13"), txt(ZONE, "web", "t")],
        )
        .await
    {
        result.expect("applied");
    }
    let host = format!("web.{ZONE}");
    assert!(fake().records(ZONE, &host, "A")[0].proxied);
    assert!(!fake().records(ZONE, &host, "TXT")[0].proxied);
}

#[tokio::test]
async fn a_rejected_change_fails_alone_and_its_neighbours_land() {
    const ZONE: &str = "rejected.cf.test";
    fake().add_zone(ZONE);
    fake().add_record(ZONE, "CNAME", &format!("alias.{ZONE}"), ZONE, 300);
    let api = backend(false);
    let results = api
        .apply_batch(
            ZONE,
            &[
                change(ZONE, "one", "203.0.113.14"),
                change(ZONE, "alias", "203.0.113.15"),
                change(ZONE, "two", "203.0.113.16"),
            ],
        )
        .await;
    let error = results[1]
        .as_ref()
        .expect_err("A beside a CNAME is refused");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("CNAME record with that host already exists"),
        "{text}"
    );
    assert!(text.contains("81053"), "{text}");
    for landed in [&results[0], &results[2]] {
        assert!(landed.as_ref().expect("applied").changed);
    }
    assert_eq!(api.round_trips(), 4, "the batch, then each change alone");
}

#[tokio::test]
async fn more_than_200_record_operations_go_in_several_batches() {
    const ZONE: &str = "big.cf.test";
    fake().add_zone(ZONE);
    let api = backend(false);
    let batch: Vec<Change> = (0..250)
        .map(|n| change(ZONE, &format!("h{n}"), "203.0.113.17"))
        .collect();
    for result in api.apply_batch(ZONE, &batch).await {
        result.expect("applied");
    }
    assert_eq!(api.round_trips(), 2, "200 operations, then 50");
    assert_eq!(fake().records(ZONE, &format!("h249.{ZONE}"), "A").len(), 1);
}

#[tokio::test]
async fn rate_limiting_is_transient_with_cloudflares_retry_after() {
    const ZONE: &str = "limited.cf.test";
    fake().add_zone(ZONE);
    let api = backend(false);
    api.apply(&change(ZONE, "home", "203.0.113.18"))
        .await
        .expect("zone id cached");
    fake().fail_next(
        ZONE,
        Fault::RateLimited {
            retry_after_secs: 7,
        },
    );
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.19"))
        .await
        .expect_err("throttled");
    assert!(error.is_transient(), "{error}");
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
    assert!(error.to_string().contains("consider throttling"), "{error}");
}

#[tokio::test]
async fn a_server_error_is_transient() {
    const ZONE: &str = "broken.cf.test";
    fake().add_zone(ZONE);
    fake().fail_next(ZONE, Fault::ServerError);
    let error = backend(false)
        .apply(&change(ZONE, "home", "203.0.113.20"))
        .await
        .expect_err("502");
    assert!(error.is_transient(), "{error}");
    assert!(error.to_string().contains("HTTP 502"), "{error}");
    assert!(!error.to_string().contains(TOKEN), "{error}");
}

#[tokio::test]
async fn a_wrong_token_is_permanent_with_cloudflares_message_and_never_shown() {
    const ZONE: &str = "wrong-token.cf.test";
    fake().add_zone(ZONE);
    let wrong = "wrong-token-8Hq2";
    let api = with_token(wrong, false);
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.21"))
        .await
        .expect_err("refused");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(text.contains("Invalid access token (code 9109)"), "{text}");
    assert!(text.contains("HTTP 403"), "{text}");
    for shown in [text, format!("{error:?}"), format!("{api:?}")] {
        assert!(!shown.contains(wrong), "{shown}");
    }
    let checked = api.check(ZONE).await.expect_err("check refused too");
    assert!(
        checked.to_string().contains("Invalid access token"),
        "{checked}"
    );
}

#[tokio::test]
async fn an_unknown_zone_is_permanent_and_named() {
    let error = backend(false)
        .apply(&change("absent.cf.test", "home", "203.0.113.22"))
        .await
        .expect_err("no zone");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("Cloudflare has no zone absent.cf.test"),
        "{text}"
    );
    assert!(text.contains("Zone → DNS → Edit"), "{text}");
}

#[tokio::test]
async fn check_finds_the_zone_and_counts_its_records() {
    const ZONE: &str = "check.cf.test";
    let id = zone_with_neighbours(ZONE);
    let said = backend(false).check(ZONE).await.expect("checked");
    assert_eq!(said, format!("zone {ZONE} (id {id}), 4 records"));
    assert_eq!(fake().seen(ZONE).batches, 0, "check writes nothing");
}
