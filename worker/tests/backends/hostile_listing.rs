//! Why this exists: the `cloudflare` and `digitalocean` backends when a listing is not what the
//! documentation promises (the fakes switched to misbehave): a record listed on two pages is one
//! record, a write the API accepted and then lost is caught by the worker's read-back, and a name
//! listed in another case or with a trailing dot is the same name.

use std::time::Duration;

use dyndns_worker::backend::{Backend, Cloudflare, DigitalOcean, Value};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::fake_cloudflare::{self as cf};
use crate::fake_digitalocean::{self as digitalocean};
use crate::util::{change, ip};

fn cloudflare() -> Cloudflare {
    Cloudflare::new(
        &cf::fake().api_url,
        Secret::new(cf::TOKEN),
        false,
        Duration::from_secs(5),
    )
}

fn digitalocean() -> DigitalOcean {
    DigitalOcean::new(
        &digitalocean::fake().api_url,
        Secret::new(digitalocean::TOKEN),
        Duration::from_secs(5),
    )
}

#[tokio::test]
async fn a_cloudflare_record_listed_on_two_pages_is_updated_once_not_deleted() {
    const ZONE: &str = "overlap.cf.test";
    let host = format!("home.{ZONE}");
    cf::fake().add_zone(ZONE);
    cf::fake().add_record(ZONE, "MX", ZONE, "mail.example.net", 3600);
    cf::fake().add_record(ZONE, "CNAME", &format!("www.{ZONE}"), ZONE, 3600);
    // Third of three on page one, and first again on page two.
    let id = cf::fake().add_record(ZONE, "A", &host, "198.51.100.1", 60);
    cf::fake().add_record(ZONE, "A", &format!("mail.{ZONE}"), "192.0.2.25", 3600);
    cf::fake().overlap_pages(ZONE);
    let api = cloudflare();
    let applied = api
        .apply(&change(ZONE, "home", "203.0.113.40"))
        .await
        .expect("applied");
    assert!(applied.changed);
    assert_eq!(applied.previous, [Value::Address(ip("198.51.100.1"))]);
    let records = cf::fake().records(ZONE, &host, "A");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        (records[0].id.as_str(), records[0].content.as_str()),
        (id.as_str(), "203.0.113.40")
    );
    assert_eq!(api.round_trips(), 1);
}

#[tokio::test]
async fn a_digitalocean_record_listed_on_two_pages_is_updated_once_not_deleted() {
    const ZONE: &str = "overlap.do.test";
    digitalocean::fake().add_domain(ZONE);
    for filler in ["f1", "f2"] {
        digitalocean::fake().add_record(ZONE, "A", filler, "192.0.2.1", 300);
    }
    // After three NS records and two fillers: last of page two, and first again on page three.
    let id = digitalocean::fake().add_record(ZONE, "A", "home", "198.51.100.1", 60);
    digitalocean::fake().add_record(ZONE, "A", "f3", "192.0.2.1", 300);
    digitalocean::fake().overlap_pages(ZONE);
    let api = digitalocean();
    let applied = api
        .apply(&change(ZONE, "home", "203.0.113.40"))
        .await
        .expect("applied");
    assert!(applied.changed);
    let records = digitalocean::fake().records(ZONE, "home", "A");
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        (records[0].id, records[0].data.as_str()),
        (id, "203.0.113.40")
    );
    assert_eq!(api.round_trips(), 1, "one PATCH, no DELETE");
}

#[tokio::test]
async fn a_write_cloudflare_accepted_and_lost_is_caught_by_the_read_back() {
    const ZONE: &str = "lost.cf.test";
    cf::fake().add_zone(ZONE);
    cf::fake().add_record(ZONE, "A", &format!("home.{ZONE}"), "198.51.100.1", 60);
    cf::fake().lose_writes(ZONE);
    let api = cloudflare();
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.41"))
        .await
        .expect_err("the write did not take");
    assert!(error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("203.0.113.41") && text.contains("reads back as [198.51.100.1]"),
        "{text}"
    );
    assert_eq!(cf::fake().seen(ZONE).batches, 1);
}

#[tokio::test]
async fn a_name_listed_in_another_case_or_with_a_trailing_dot_is_the_same_name() {
    const CF_ZONE: &str = "case.cf.test";
    cf::fake().add_zone(CF_ZONE);
    cf::fake().add_record(CF_ZONE, "A", "HOME.Case.CF.test.", "203.0.113.42", 60);
    let api = cloudflare();
    let applied = api
        .apply(&change(CF_ZONE, "home", "203.0.113.42"))
        .await
        .expect("read");
    assert!(!applied.changed, "{applied:?}");
    assert_eq!(api.round_trips(), 0);

    const DO_ZONE: &str = "case.do.test";
    digitalocean::fake().add_domain(DO_ZONE);
    digitalocean::fake().add_record(DO_ZONE, "A", "HOME", "203.0.113.42", 60);
    let api = digitalocean();
    let applied = api
        .apply(&change(DO_ZONE, "home", "203.0.113.42"))
        .await
        .expect("read");
    assert!(!applied.changed, "{applied:?}");
    assert_eq!(api.round_trips(), 0);
}

#[tokio::test]
async fn of_two_cloudflare_zones_of_one_name_the_active_one_is_written_and_never_a_guess() {
    const ZONE: &str = "twice.cf.test";
    let host = format!("home.{ZONE}");
    // Listed first: the zone as it was in an account it has moved away from.
    let moved = cf::fake().add_zone_with_status(ZONE, "moved");
    let active = cf::fake().add_zone(ZONE);
    let api = cloudflare();
    api.apply(&change(ZONE, "home", "203.0.113.43"))
        .await
        .expect("applied");
    assert_eq!(cf::fake().records_in(&active, &host, "A").len(), 1);
    assert!(cf::fake().records_in(&moved, &host, "A").is_empty());

    const UNDECIDED: &str = "undecided.cf.test";
    for _ in 0..2 {
        cf::fake().add_zone_with_status(UNDECIDED, "pending");
    }
    let error = api
        .apply(&change(UNDECIDED, "home", "203.0.113.43"))
        .await
        .expect_err("two zones, neither active");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("2 zones named undecided.cf.test (pending, pending)")
            && text.contains("not exactly one is active"),
        "{text}"
    );
}
