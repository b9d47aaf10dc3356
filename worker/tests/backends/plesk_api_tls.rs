//! Why this exists: the `plesk-api` backend's one TLS decision, proven on real handshakes: with
//! `tls_ca_file` it trusts exactly the certificates in that file (a private CA, or the panel's own
//! certificate), without it only the public CAs, and a refused certificate is a permanent failure
//! that names the key to set. There is no switch to skip verification.

use std::path::PathBuf;
use std::time::Duration;

use dyndns_worker::backend::{Backend, PleskApi, PleskApiOptions};
use dyndns_worker::secret::Secret;

use crate::fake_plesk_api::FakePleskApi;
use crate::tls_proxy::{self, Certificates};

const KEY: &str = "8774590b-3eaa-e2f8-8e28-429e7f365687";

fn backend(api_url: &str, tls_ca_file: Option<PathBuf>) -> PleskApi {
    PleskApi::new(PleskApiOptions {
        api_url: api_url.to_owned(),
        api_key: Secret::new(KEY),
        tls_ca_file,
        timeout: Duration::from_secs(5),
    })
    .expect("the CA file reads")
}

#[tokio::test]
async fn a_private_ca_in_tls_ca_file_is_trusted_and_only_it() {
    let Some(certificates) = Certificates::make() else {
        return;
    };
    let fake = FakePleskApi::start(KEY);
    let api_url = tls_proxy::serve(
        &certificates.path_of("server"),
        &certificates.path_of("server").with_extension("key"),
        &fake.api_url,
    );

    let trusted = backend(&api_url, Some(certificates.path_of("ca")));
    let found = trusted
        .check("example.com")
        .await
        .expect("trusted over TLS");
    assert_eq!(found, "domain example.com, 4 records");

    for (what, ca) in [
        ("the public CAs", None),
        ("another CA", Some(certificates.path_of("other-ca"))),
    ] {
        let error = backend(&api_url, ca)
            .check("example.com")
            .await
            .expect_err(what);
        assert!(!error.is_transient(), "{what}: {error}");
        let text = error.to_string();
        assert!(
            text.contains("is not trusted") && text.contains("tls_ca_file"),
            "{what}: {text}"
        );
    }
}

#[tokio::test]
async fn the_panels_own_certificate_can_be_the_trusted_one_if_it_names_the_host_and_is_no_ca() {
    let Some(certificates) = Certificates::make() else {
        return;
    };
    let fake = FakePleskApi::start(KEY);
    let check = |name: &'static str| {
        let pem = certificates.path_of(name);
        let api_url = tls_proxy::serve(&pem, &pem.with_extension("key"), &fake.api_url);
        async move { backend(&api_url, Some(pem)).check("example.com").await }
    };
    let found = check("self-signed").await.expect("trusted over TLS");
    assert_eq!(found, "domain example.com, 4 records");
    // rustls refuses a CA certificate as the server's own, and one that names no host.
    for (refused, reason) in [
        ("self-signed-ca", "CaUsedAsEndEntity"),
        ("self-signed-unnamed", "not valid for any names"),
    ] {
        let error = check(refused).await.expect_err(refused);
        assert!(!error.is_transient(), "{refused}: {error}");
        let text = error.to_string();
        assert!(
            text.contains("is not trusted") && text.contains(reason),
            "{refused}: {text}"
        );
    }
}
