//! Why this exists: every HTTP API backend (Cloudflare, DigitalOcean, PowerDNS, Plesk's REST API)
//! faced with a server that misbehaves in ways no vendor documents (`scripted_api.rs`): a redirect
//! is refused and the credential never follows it, a reply that trickles fails at the timeout, a
//! listing that never ends stops with an error, and a credential the server echoes back never
//! reaches an error's text or `Debug`.

use std::time::{Duration, Instant};

use dyndns_worker::backend::{
    Backend, Cloudflare, DigitalOcean, PleskApi, PleskApiOptions, PowerDns,
};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::scripted_api::{Reply, Request, Scripted};
use crate::util::change;

const ZONE: &str = "hostile.test";
const SECRET: &str = "s3cr3t-Qw7vX2mK9pL4";

fn cloudflare(url: &str) -> Cloudflare {
    Cloudflare::new(url, Secret::new(SECRET), false, Duration::from_secs(5))
}

/// Each HTTP API backend, pointed at `url` with `SECRET`.
fn every_api(url: &str, timeout: Duration) -> Vec<(&'static str, Box<dyn Backend>)> {
    let secret = || Secret::new(SECRET);
    vec![
        (
            "cloudflare",
            Box::new(Cloudflare::new(url, secret(), false, timeout)),
        ),
        (
            "digitalocean",
            Box::new(DigitalOcean::new(url, secret(), timeout)),
        ),
        (
            "powerdns",
            Box::new(PowerDns::new(url, "localhost", secret(), timeout)),
        ),
        (
            "plesk-api",
            Box::new(
                PleskApi::new(PleskApiOptions {
                    api_url: url.to_owned(),
                    api_key: secret(),
                    tls_ca_file: None,
                    timeout,
                })
                .expect("no CA file to read"),
            ),
        ),
    ]
}

#[tokio::test]
async fn a_redirect_is_refused_and_the_credential_never_follows_it() {
    let elsewhere = Scripted::start(|_| Reply::json(200, "[]"));
    for status in [301, 302, 307, 308] {
        let target = elsewhere.url.clone();
        let redirecting = Scripted::start(move |request| {
            Reply::json(status, "").with_header("location", &format!("{target}{}", request.path))
        });
        for (name, api) in every_api(&redirecting.url, Duration::from_secs(5)) {
            let error = api
                .apply(&change(ZONE, "home", "203.0.113.1"))
                .await
                .expect_err(name);
            assert!(!error.is_transient(), "{name} {status}: {error}");
            assert!(
                error.to_string().contains(&format!("HTTP {status}")),
                "{name}: {error}"
            );
            let checked = api.check(ZONE).await.expect_err(name);
            assert!(!checked.is_transient(), "{name} {status}: {checked}");
        }
    }
    assert!(
        elsewhere.requests().is_empty(),
        "a redirect was followed: {:?}",
        elsewhere.requests()
    );
}

#[tokio::test]
async fn a_reply_that_trickles_fails_at_the_timeout_not_at_its_end() {
    // 600 bytes at one per 50 ms would take 30 s; the whole request must end after about 1 s.
    let trickling = Scripted::start(|_| Reply::Trickle {
        length: 600,
        every: Duration::from_millis(50),
    });
    for (name, api) in every_api(&trickling.url, Duration::from_secs(1)) {
        let started = Instant::now();
        let error = api
            .apply(&change(ZONE, "home", "203.0.113.1"))
            .await
            .expect_err(name);
        let took = started.elapsed();
        assert!(error.is_transient(), "{name}: {error}");
        assert!(
            took < Duration::from_secs(5),
            "{name} waited {took:?} for a reply trickling in: {error}"
        );
    }
}

/// What each vendor says in an error reply, all in one body so each backend finds its own field.
fn echoing_error(echo: &str) -> String {
    serde_json::json!({
        "success": false,
        "errors": [{"code": 9109, "message": echo, "property": echo}],
        "id": "Unauthorized",
        "message": echo,
        "error": echo,
        "code": 1,
    })
    .to_string()
}

/// How a scripted server answers a request.
type Script = fn(&Request) -> Reply;

/// The credential headers of `request`, as a server that quotes them sees them.
fn echo(request: &Request) -> String {
    format!(
        "authorization={:?} x-api-key={:?}",
        request.header("authorization").unwrap_or_default(),
        request.header("x-api-key").unwrap_or_default()
    )
}

#[tokio::test]
async fn a_credential_the_server_echoes_never_reaches_an_error() {
    let replies: [(&str, Script); 5] = [
        ("JSON 401", |request| {
            Reply::json(401, echoing_error(&echo(request)))
        }),
        ("JSON 422", |request| {
            Reply::json(422, echoing_error(&echo(request)))
        }),
        ("text 500", |request| Reply::json(500, echo(request))),
        ("JSON 200 of the wrong shape", |request| {
            Reply::json(200, serde_json::Value::String(echo(request)).to_string())
        }),
        ("JSON 200 with a wrong type inside", |request| {
            let echo = echo(request);
            Reply::json(
                200,
                serde_json::json!({
                    "success": true, "result": echo, "domain_records": echo,
                    "rrsets": echo,
                })
                .to_string(),
            )
        }),
    ];
    for (what, reply) in replies {
        let server = Scripted::start(reply);
        for (name, api) in every_api(&server.url, Duration::from_secs(5)) {
            let error = api
                .apply(&change(ZONE, "home", "203.0.113.1"))
                .await
                .expect_err(name);
            let checked = api.check(ZONE).await.expect_err(name);
            for shown in [
                error.to_string(),
                format!("{error:?}"),
                checked.to_string(),
                format!("{checked:?}"),
            ] {
                assert!(
                    !shown.contains(SECRET),
                    "{name}, {what}: the credential is shown: {shown}"
                );
            }
        }
        assert!(
            server
                .requests()
                .iter()
                .all(|request| echo(request).contains(SECRET)),
            "{what}: each request carried the credential, so each reply echoed it"
        );
    }
}

#[tokio::test]
async fn a_listing_whose_pages_never_end_stops_with_an_error() {
    // Each page brings a record not seen before and promises another page. (DigitalOcean's
    // listing is the same loop with a limit of 5,000 pages: 15 s here.)
    let endless = Scripted::start(|request| {
        if request.path.starts_with("/zones?") {
            return Reply::json(
                200,
                serde_json::json!({"success": true, "result": [{"id": "0123abcd", "name": ZONE}]})
                    .to_string(),
            );
        }
        let page: u64 = request
            .query("page")
            .and_then(|page| page.parse().ok())
            .unwrap_or(1);
        let body = serde_json::json!({
            "success": true,
            "result": [{"id": format!("{page:032x}"), "name": format!("h{page}.{ZONE}"),
                        "type": "A", "content": "192.0.2.1", "ttl": 60}],
            "result_info": {"page": page, "per_page": 5000, "count": 1,
                            "total_count": page + 1, "total_pages": page + 1},
        });
        Reply::json(200, body.to_string())
    });
    let api = cloudflare(&endless.url);
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.1"))
        .await
        .expect_err("no end");
    assert!(
        error
            .to_string()
            .contains("more than 1000 pages of records"),
        "{error}"
    );
    assert_eq!(
        endless.requests().len(),
        1 + 1_000,
        "the zone id, then 1,000 pages"
    );
}

#[tokio::test]
async fn a_listing_that_repeats_its_page_stops_at_the_second() {
    // Every page number gets page one again, which says more follow.
    let repeating = Scripted::start(|request| {
        let body = if request.path.starts_with("/zones?") {
            serde_json::json!({"success": true, "result": [{"id": "0123abcd", "name": ZONE}]})
        } else if request.path.starts_with("/zones/") {
            serde_json::json!({
                "success": true,
                "result": [{"id": "0123", "name": format!("h.{ZONE}"), "type": "A",
                            "content": "192.0.2.1", "ttl": 60}],
                "result_info": {"page": 1, "per_page": 1, "count": 1},
            })
        } else {
            serde_json::json!({
                "domain_records": [{"id": 1, "type": "A", "name": "h", "data": "192.0.2.1",
                                    "ttl": 60}],
                "links": {"pages": {"next": "https://api.digitalocean.com/v2/domains/x/records?page=2"}},
            })
        };
        Reply::json(200, body.to_string())
    });
    for (name, api) in every_api(&repeating.url, Duration::from_secs(5))
        .into_iter()
        .take(2)
    {
        let before = repeating.requests().len();
        let error = api
            .apply(&change(ZONE, "home", "203.0.113.1"))
            .await
            .expect_err(name);
        assert!(
            error
                .to_string()
                .contains("lists only records of earlier pages"),
            "{name}: {error}"
        );
        assert!(error.is_transient(), "{name}: {error}");
        let listed = repeating
            .requests()
            .iter()
            .skip(before)
            .filter(|request| request.path.contains("records"))
            .count();
        assert_eq!(listed, 2, "{name}");
    }
}

#[tokio::test]
async fn a_retry_after_that_is_no_number_of_seconds_leaves_the_wait_to_the_backoff() {
    for said in [
        "-5",
        "Wed, 21 Oct 2026 07:28:00 GMT",
        "soon",
        "1e9",
        "99999999999999999999999",
        "",
    ] {
        let limited = Scripted::start(move |_| {
            Reply::json(429, r#"{"message": "slow down"}"#).with_header("retry-after", said)
        });
        for (name, api) in every_api(&limited.url, Duration::from_secs(5)) {
            let error = api
                .apply(&change(ZONE, "home", "203.0.113.1"))
                .await
                .expect_err(name);
            assert!(error.is_transient(), "{name} {said:?}: {error}");
            assert_eq!(error.retry_after(), None, "{name} {said:?}");
        }
    }
}

#[tokio::test]
async fn a_garbled_reply_is_transient_and_a_refusal_inside_a_200_is_permanent() {
    // Cloudflare's envelope says `success: false` with its errors, under a 200.
    let refusing = Scripted::start(|_| {
        Reply::json(
            200,
            r#"{"success": false, "errors": [{"code": 1003, "message": "Invalid or missing zone id."}], "result": null}"#,
        )
    });
    let api = cloudflare(&refusing.url);
    let error = api
        .apply(&change(ZONE, "home", "203.0.113.1"))
        .await
        .expect_err("refused");
    assert!(!error.is_transient(), "{error}");
    assert!(
        error
            .to_string()
            .contains("HTTP 200: Invalid or missing zone id. (code 1003)"),
        "{error}"
    );

    for garbled in [
        "<html>maintenance</html>",
        r#"{"success": true, "result": null}"#,
        r#"{"success": true, "result": [{"id": 7, "name": "hostile.test"}]}"#,
        r#"{"domain_records": [{"id": "seven", "type": "A", "name": "@", "data": "x"}]}"#,
        r#"{"rrsets": [{"name": "hostile.test.", "type": "A", "ttl": "sixty"}]}"#,
        r#"[{"id": 1, "type": "A"}]"#,
    ] {
        let server = Scripted::start(move |_| Reply::json(200, garbled));
        for (name, api) in every_api(&server.url, Duration::from_secs(5)) {
            let error = api
                .apply(&change(ZONE, "home", "203.0.113.1"))
                .await
                .expect_err(name);
            assert!(error.is_transient(), "{name}, {garbled}: {error}");
        }
    }
}

#[tokio::test]
async fn a_digitalocean_404_names_the_url_so_a_wrong_api_url_shows() {
    // DigitalOcean answers an unknown path as it answers an unknown domain.
    let server = Scripted::start(|_| {
        Reply::json(
            404,
            r#"{"id": "not_found", "message": "The resource you requested could not be found."}"#,
        )
    });
    let without_v2 = DigitalOcean::new(&server.url, Secret::new(SECRET), Duration::from_secs(5));
    let error = without_v2.check(ZONE).await.expect_err("404");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains(&format!("{}/domains/{ZONE}/records", server.url))
            && text.contains("api_url"),
        "{text}"
    );
}
