//! Why this exists: proves the rfc2136 backend against a real BIND `named` and a real Knot `knotd`
//! (started by `dns_server`): batches land and read back, unchanged addresses cost no write, and a
//! wrong key or a stopped server gives the right error class.

use std::net::IpAddr;
use std::time::Duration;

use dyndns_worker::backend::rfc2136::Algorithm;
use dyndns_worker::backend::{Change, Rfc2136, Rfc2136Options};
use dyndns_worker::reconcile::Reconcile;
use dyndns_worker::secret::Secret;

use crate::dns_server::{DnsServer, Kind};

fn backend(server: &DnsServer, secret: &str) -> (Rfc2136, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("tsig.key");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let backend = Rfc2136::new(Rfc2136Options {
        server: server.address().to_string(),
        key_name: server.key_name().to_owned(),
        algorithm: Algorithm::parse(server.algorithm()).unwrap(),
        secret: Secret::new(std::fs::read_to_string(&secret_file).unwrap()),
        timeout: Duration::from_secs(5),
    })
    .unwrap();
    (backend, dir)
}

fn change(server: &DnsServer, label: &str, address: &str) -> Change {
    Change::address(
        &format!("{label}.{}", server.zone()),
        server.zone(),
        label,
        address.parse::<IpAddr>().unwrap(),
        60,
    )
}

async fn batch_of_three_lands_then_repeats_as_unchanged_then_one_host_moves(kind: Kind) {
    let Some(server) = DnsServer::start(kind) else {
        return;
    };
    // The secret as a BIND key file (`tsig-keygen`'s format) rather than bare base64.
    let key_file = format!(
        "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};",
        server.key_name(),
        server.algorithm(),
        server.secret()
    );
    let (backend, _dir) = backend(&server, &key_file);
    let zone = server.zone();
    let batch = vec![
        change(&server, "one", "192.0.2.1"),
        change(&server, "two", "192.0.2.2"),
        change(&server, "three", "2001:db8::3"),
    ];
    for result in backend.apply_batch(zone, &batch).await {
        let applied = result.unwrap_or_else(|e| panic!("{kind:?}: {e}\n{}", server.log()));
        assert!(applied.changed);
        assert!(applied.previous.is_empty());
    }
    assert_eq!(server.query(&format!("one.{zone}"), "A"), ["192.0.2.1"]);
    assert_eq!(server.query(&format!("two.{zone}"), "A"), ["192.0.2.2"]);
    assert_eq!(
        server.query(&format!("three.{zone}"), "AAAA"),
        ["2001:db8::3"]
    );

    for result in backend.apply_batch(zone, &batch).await {
        let applied = result.unwrap();
        assert!(
            !applied.changed,
            "{kind:?}: an unchanged address was written"
        );
    }

    let moved = change(&server, "two", "192.0.2.22");
    let applied = backend.apply_batch(zone, &[moved]).await.remove(0).unwrap();
    assert!(applied.changed);
    assert_eq!(applied.previous, ["192.0.2.2".parse::<IpAddr>().unwrap()]);
    assert_eq!(server.query(&format!("two.{zone}"), "A"), ["192.0.2.22"]);
    assert_eq!(server.query(&format!("one.{zone}"), "A"), ["192.0.2.1"]);
}

async fn wrong_secret_is_a_permanent_error_and_writes_nothing(kind: Kind) {
    let Some(server) = DnsServer::start(kind) else {
        return;
    };
    // Another 32-byte secret, base64.
    let (backend, _dir) = backend(&server, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let result = backend
        .apply_batch(server.zone(), &[change(&server, "evil", "192.0.2.66")])
        .await
        .remove(0);
    let error = result.unwrap_err();
    assert!(!error.is_transient(), "{kind:?}: {error}");
    let text = error.to_string();
    assert!(text.contains(server.zone()), "{text}");
    assert!(
        ["BADSIG", "BADKEY", "NOTAUTH", "REFUSED"]
            .iter()
            .any(|rcode| text.contains(rcode)),
        "{text}"
    );
    assert!(server
        .query(&format!("evil.{}", server.zone()), "A")
        .is_empty());
}

async fn stopped_server_is_a_transient_error(kind: Kind) {
    let Some(server) = DnsServer::start(kind) else {
        return;
    };
    let (backend, _dir) = backend(&server, server.secret());
    let zone = server.zone().to_owned();
    let host = change(&server, "gone", "192.0.2.9");
    drop(server);
    let error = backend
        .apply_batch(&zone, &[host])
        .await
        .remove(0)
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn bind_batch_lands_repeats_unchanged_and_moves_one_host() {
    batch_of_three_lands_then_repeats_as_unchanged_then_one_host_moves(Kind::Bind).await;
}

#[tokio::test]
async fn knot_batch_lands_repeats_unchanged_and_moves_one_host() {
    batch_of_three_lands_then_repeats_as_unchanged_then_one_host_moves(Kind::Knot).await;
}

#[tokio::test]
async fn bind_wrong_secret_is_permanent() {
    wrong_secret_is_a_permanent_error_and_writes_nothing(Kind::Bind).await;
}

#[tokio::test]
async fn knot_wrong_secret_is_permanent() {
    wrong_secret_is_a_permanent_error_and_writes_nothing(Kind::Knot).await;
}

#[tokio::test]
async fn bind_stopped_server_is_transient() {
    stopped_server_is_a_transient_error(Kind::Bind).await;
}

#[tokio::test]
async fn knot_stopped_server_is_transient() {
    stopped_server_is_a_transient_error(Kind::Knot).await;
}

async fn zone_the_server_does_not_serve_is_permanent(kind: Kind) {
    let Some(server) = DnsServer::start(kind) else {
        return;
    };
    let (backend, _dir) = backend(&server, server.secret());
    let stranger = Change::address(
        "home.other.test",
        "other.test",
        "home",
        "192.0.2.7".parse().unwrap(),
        60,
    );
    let error = backend
        .apply_batch("other.test", &[stranger])
        .await
        .remove(0)
        .unwrap_err();
    assert!(!error.is_transient(), "{kind:?}: {error}");
    let text = error.to_string();
    assert!(text.contains("other.test"), "{text}");
    assert!(
        ["REFUSED", "NOTAUTH", "NOTZONE"]
            .iter()
            .any(|rcode| text.contains(rcode)),
        "{text}"
    );
}

#[tokio::test]
async fn bind_refused_zone_is_permanent() {
    zone_the_server_does_not_serve_is_permanent(Kind::Bind).await;
}

#[tokio::test]
async fn knot_refused_zone_is_permanent() {
    zone_the_server_does_not_serve_is_permanent(Kind::Knot).await;
}

/// More changes than one UPDATE carries: the batch is split and every host still lands.
#[tokio::test]
async fn bind_batch_larger_than_one_update_lands_whole() {
    let Some(server) = DnsServer::start(Kind::Bind) else {
        return;
    };
    let (backend, _dir) = backend(&server, server.secret());
    let batch: Vec<Change> = (0..450)
        .map(|n| {
            change(
                &server,
                &format!("h{n}"),
                &format!("10.0.{}.{}", n / 256, n % 256),
            )
        })
        .collect();
    for result in backend.apply_batch(server.zone(), &batch).await {
        assert!(result.unwrap().changed);
    }
    for n in [0, 199, 200, 449] {
        assert_eq!(
            server.query(&format!("h{n}.{}", server.zone()), "A"),
            [format!("10.0.{}.{}", n / 256, n % 256)]
        );
    }
}
