//! Why this exists: TLS misconfigurations of an HTTP API backend, on real handshakes: an `https://`
//! `api_url` that points at a plain-HTTP port fails within the timeout for every backend, naming
//! the URL; a certificate for another name is refused for good, even from a trusted CA.

use std::time::{Duration, Instant};

use dyndns_worker::backend::{
    Backend, Cloudflare, DigitalOcean, PleskApi, PleskApiOptions, PowerDns,
};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::fake_plesk_api::FakePleskApi;
use crate::scripted_api::{Reply, Scripted};
use crate::tls_proxy::{self, Certificates};
use crate::util::change;

const ZONE: &str = "example.com";
const SECRET: &str = "8774590b-3eaa-e2f8-8e28-429e7f365687";

#[tokio::test]
async fn an_https_api_url_on_a_plain_http_port_fails_within_the_timeout() {
    let plain = Scripted::start(|_| Reply::json(400, "plain HTTP"));
    let url = plain.url.replace("http://", "https://");
    let timeout = Duration::from_secs(2);
    let secret = || Secret::new(SECRET);
    let apis: Vec<(&str, Box<dyn Backend>)> = vec![
        (
            "cloudflare",
            Box::new(Cloudflare::new(&url, secret(), false, timeout)),
        ),
        (
            "digitalocean",
            Box::new(DigitalOcean::new(&url, secret(), timeout)),
        ),
        (
            "powerdns",
            Box::new(PowerDns::new(&url, "localhost", secret(), timeout)),
        ),
        (
            "plesk-api",
            Box::new(
                PleskApi::new(PleskApiOptions {
                    api_url: url.clone(),
                    api_key: secret(),
                    tls_ca_file: None,
                    timeout,
                })
                .expect("no CA file"),
            ),
        ),
    ];
    for (name, api) in apis {
        let started = Instant::now();
        let error = api
            .apply(&change(ZONE, "home", "203.0.113.1"))
            .await
            .expect_err(name);
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{name}: {error}"
        );
        let text = error.to_string();
        assert!(text.contains(&url), "{name}: {text}");
        assert!(!text.contains(SECRET), "{name}: {text}");
    }
    assert!(
        plain
            .requests()
            .iter()
            .all(|request| !format!("{request:?}").contains(SECRET)),
        "the credential went out in clear"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_for_good_even_from_a_trusted_ca() {
    let Some(certificates) = Certificates::make() else {
        return;
    };
    let fake = FakePleskApi::start(SECRET);
    // The certificate names 127.0.0.1 only; the URL names localhost.
    let api_url = tls_proxy::serve(
        &certificates.path_of("server"),
        &certificates.path_of("server").with_extension("key"),
        &fake.api_url,
    )
    .replace("127.0.0.1", "localhost");
    let api = PleskApi::new(PleskApiOptions {
        api_url,
        api_key: Secret::new(SECRET),
        tls_ca_file: Some(certificates.path_of("ca")),
        timeout: Duration::from_secs(5),
    })
    .expect("the CA file reads");
    let error = api.check(ZONE).await.expect_err("another name");
    assert!(!error.is_transient(), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("is not trusted") && text.contains("not valid for name \"localhost\""),
        "{text}"
    );
}
