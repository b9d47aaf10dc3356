//! Why this exists: the `digitalocean` backend proven against the documented API
//! (`fake_digitalocean.rs`): new hosts cost one request per record and nothing more, a changed
//! address keeps its record, an unchanged batch writes nothing, listings cross pages, and each failure
//! the API can give comes back in the right class with DigitalOcean's own words and never the token.

use std::time::Duration;

use dyndns_worker::backend::{Backend, Change, DigitalOcean, RecordType, Value};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::fake_api::Fault;
use crate::fake_digitalocean::{fake, Record, TOKEN};
use crate::util::change;

fn backend() -> DigitalOcean {
    with_token(TOKEN)
}

fn with_token(token: &str) -> DigitalOcean {
    DigitalOcean::new(&fake().api_url, Secret::new(token), Duration::from_secs(5))
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

fn data(records: &[Record]) -> Vec<String> {
    records.iter().map(|record| record.data.clone()).collect()
}

#[tokio::test]
async fn new_hosts_cost_one_request_per_record() {
    const ZONE: &str = "new-hosts.do.test";
    fake().add_domain(ZONE);
    let api = backend();
    let mut batch = Vec::new();
    for label in ["a", "b.dyn"] {
        batch.push(change(ZONE, label, "203.0.113.7"));
        batch.push(change(ZONE, label, "2001:db8::7"));
        batch.push(txt(ZONE, label, "acme-token-7"));
    }
    batch.push(change(ZONE, "", "203.0.113.8"));
    for result in api.apply_batch(ZONE, &batch).await {
        let applied = result.expect("each change applied");
        assert!(
            applied.changed && applied.previous.is_empty(),
            "{applied:?}"
        );
    }
    assert_eq!(api.round_trips(), 7, "seven records, seven POSTs");
    let seen = fake().seen(ZONE);
    assert_eq!((seen.creates, seen.updates, seen.deletes), (7, 0, 0));
    // The read (3 NS records, 1 page), whose ids the write uses; the read back (10 records, 4 pages).
    assert_eq!(seen.list_pages, 1 + 4, "{seen:?}");
    for label in ["a", "b.dyn"] {
        let a = fake().records(ZONE, label, "A");
        assert_eq!(data(&a), ["203.0.113.7"]);
        assert_eq!(a[0].ttl, 60);
        assert_eq!(data(&fake().records(ZONE, label, "AAAA")), ["2001:db8::7"]);
        assert_eq!(
            data(&fake().records(ZONE, label, "TXT")),
            ["acme-token-7"],
            "TXT data is the text itself"
        );
    }
    assert_eq!(
        data(&fake().records(ZONE, "@", "A")),
        ["203.0.113.8"],
        "the apex is @"
    );
}

#[tokio::test]
async fn a_changed_address_is_updated_in_place_and_extras_removed() {
    const ZONE: &str = "changed.do.test";
    fake().add_domain(ZONE);
    let kept = fake().add_record(ZONE, "A", "home", "198.51.100.1", 60);
    fake().add_record(ZONE, "A", "home", "198.51.100.2", 60);
    let api = backend();
    let applied = api
        .apply(&change(ZONE, "home", "203.0.113.9"))
        .await
        .expect("applied");
    assert_eq!(applied.previous.len(), 2, "{applied:?}");
    let records = fake().records(ZONE, "home", "A");
    assert_eq!(data(&records), ["203.0.113.9"]);
    assert_eq!(
        records[0].id, kept,
        "the first record was updated, not replaced"
    );
    let seen = fake().seen(ZONE);
    assert_eq!((seen.creates, seen.updates, seen.deletes), (0, 1, 1));
    assert_eq!(api.round_trips(), 2);
}

#[tokio::test]
async fn an_unchanged_batch_writes_nothing() {
    const ZONE: &str = "unchanged.do.test";
    fake().add_domain(ZONE);
    let api = backend();
    let batch = [change(ZONE, "home", "203.0.113.10"), txt(ZONE, "home", "t")];
    for result in api.apply_batch(ZONE, &batch).await {
        result.expect("first batch applied");
    }
    for result in api.apply_batch(ZONE, &batch).await {
        assert!(!result.expect("second batch read").changed);
    }
    assert_eq!(api.round_trips(), 2, "only the first batch's two POSTs");
}

#[tokio::test]
async fn a_zone_ttl_below_digitaloceans_minimum_is_written_as_30_and_then_left_alone() {
    const ZONE: &str = "short-ttl.do.test";
    fake().add_domain(ZONE);
    let api = backend();
    let mut short = change(ZONE, "home", "203.0.113.11");
    short.ttl = 10;
    api.apply(&short).await.expect("applied");
    assert_eq!(fake().records(ZONE, "home", "A")[0].ttl, 30);
    assert!(!api.apply(&short).await.expect("read").changed);
    assert_eq!(api.round_trips(), 1);
}

#[tokio::test]
async fn a_delete_removes_every_record_of_the_type_and_only_that_type() {
    const ZONE: &str = "delete.do.test";
    fake().add_domain(ZONE);
    let api = backend();
    let gone = Change::delete(&format!("gone.{ZONE}"), ZONE, "gone", RecordType::Txt);
    fake().add_record(ZONE, "TXT", "gone", "token-1", 30);
    fake().add_record(ZONE, "TXT", "gone", "token-2", 30);
    fake().add_record(ZONE, "A", "gone", "192.0.2.1", 30);
    assert!(api.apply(&gone).await.expect("deleted").changed);
    assert!(fake().records(ZONE, "gone", "TXT").is_empty());
    assert_eq!(fake().records(ZONE, "gone", "A").len(), 1);
    assert_eq!(api.round_trips(), 2, "one DELETE per record");
}

#[tokio::test]
async fn a_read_finds_records_and_names_on_every_page() {
    const ZONE: &str = "pages.do.test";
    fake().add_domain(ZONE);
    for n in 0..7 {
        fake().add_record(ZONE, "A", &format!("h{n}"), "192.0.2.1", 60);
    }
    fake().add_record(ZONE, "MX", "last", "mail.example.net.", 60);
    fake().add_record(ZONE, "AAAA", "last", "2001:db8::1", 300);
    let found = backend()
        .read(
            ZONE,
            &[
                change(ZONE, "last", "2001:db8::2"),
                change(ZONE, "last", "192.0.2.2"),
                change(ZONE, "nowhere", "192.0.2.3"),
            ],
        )
        .await;
    let aaaa = found[0].as_ref().expect("read");
    assert_eq!(
        aaaa.values,
        [Value::Address("2001:db8::1".parse().expect("ip"))]
    );
    assert_eq!(aaaa.ttl, Some(300));
    let a = found[1].as_ref().expect("read");
    assert!(a.values.is_empty() && a.name_exists, "{a:?}");
    assert!(!found[2].as_ref().expect("read").name_exists);
    assert_eq!(fake().seen(ZONE).list_pages, 4, "12 records, 3 a page");
}

#[tokio::test]
async fn rate_limiting_is_transient_with_retry_after_and_stops_the_batch() {
    const ZONE: &str = "limited.do.test";
    fake().add_domain(ZONE);
    let api = backend();
    let batch = [
        change(ZONE, "one", "203.0.113.12"),
        change(ZONE, "two", "203.0.113.13"),
        change(ZONE, "three", "203.0.113.14"),
    ];
    // The write lists the domain (one page), then POSTs the first record: that POST is throttled.
    fake().fail_after(
        ZONE,
        1,
        Fault::RateLimited {
            retry_after_secs: 9,
        },
    );
    let written = api.write(ZONE, &batch).await;
    for result in &written {
        let error = result.as_ref().expect_err("throttled");
        assert!(error.is_transient(), "{error}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(9)));
        assert!(
            error.to_string().contains("API Rate limit exceeded"),
            "{error}"
        );
    }
    assert_eq!(api.round_trips(), 1, "nothing sent after the 429");
    assert_eq!(fake().seen(ZONE).creates, 0);
}

#[tokio::test]
async fn a_server_error_is_transient() {
    const ZONE: &str = "broken.do.test";
    fake().add_domain(ZONE);
    fake().fail_next(ZONE, Fault::ServerError);
    let error = backend()
        .apply(&change(ZONE, "home", "203.0.113.20"))
        .await
        .expect_err("500");
    assert!(error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("HTTP 500: Unexpected server-side error (server_error)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_permanent_with_digitaloceans_message_and_never_shown() {
    const ZONE: &str = "wrong-token.do.test";
    fake().add_domain(ZONE);
    let wrong = "dop_v1_wrong-4Tz9";
    let api = with_token(wrong);
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.21"))
        .await
        .expect_err("refused");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("HTTP 401: Unable to authenticate you (Unauthorized)"),
        "{text}"
    );
    for shown in [text, format!("{error:?}"), format!("{api:?}")] {
        assert!(!shown.contains(wrong), "{shown}");
    }
}

#[tokio::test]
async fn an_unknown_domain_is_permanent_and_named() {
    let error = backend()
        .apply(&change("absent.do.test", "home", "203.0.113.22"))
        .await
        .expect_err("no domain");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("DigitalOcean has no zone absent.do.test"),
        "{text}"
    );
    assert!(text.contains("could not be found"), "{text}");
}

#[tokio::test]
async fn check_finds_the_domain_and_counts_its_records() {
    const ZONE: &str = "check.do.test";
    fake().add_domain(ZONE);
    fake().add_record(ZONE, "A", "home", "192.0.2.1", 60);
    let api = backend();
    assert_eq!(
        api.check(ZONE).await.expect("checked"),
        format!("domain {ZONE}, 4 records")
    );
    assert_eq!(api.round_trips(), 0);
    assert!(api.check("absent-check.do.test").await.is_err());
}

#[tokio::test]
async fn a_write_without_a_read_lists_the_ids_itself_and_a_read_serves_one_write_only() {
    const ZONE: &str = "no-read.example";
    fake().add_domain(ZONE);
    let api = backend();
    let pages = || fake().seen(ZONE).list_pages;
    // No read came first: the write lists the domain for the ids it needs.
    let written = api
        .write(ZONE, &[change(ZONE, "home", "203.0.113.7")])
        .await;
    assert!(written.iter().all(Result::is_ok), "{written:?}");
    assert!(pages() > 0);
    // A read's listing serves the write right after it, once: the next write lists again.
    let moved = [change(ZONE, "home", "203.0.113.8")];
    let before_read = pages();
    let _ = api.read(ZONE, &moved).await;
    let after_read = pages();
    assert!(after_read > before_read);
    assert!(api.write(ZONE, &moved).await.iter().all(Result::is_ok));
    assert_eq!(pages(), after_read, "the read's ids were used");
    let again = [change(ZONE, "home", "203.0.113.9")];
    assert!(api.write(ZONE, &again).await.iter().all(Result::is_ok));
    assert!(pages() > after_read, "a taken listing is not used twice");
    assert_eq!(data(&fake().records(ZONE, "home", "A")), ["203.0.113.9"]);
}
