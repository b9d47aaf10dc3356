//! Why this exists: proves the rfc2136 backend against a real BIND `named` and a real Knot `knotd`
//! (started by `dns_server`): A, AAAA and TXT for new hosts land in one UPDATE and read back over
//! DNS, an address moves, a TXT is replaced, a delete removes the RRset, an unchanged batch sends
//! no UPDATE, a large batch is split, a host that is an alias or below a delegation is refused,
//! `create_missing = false` follows NODATA and NXDOMAIN, `check` passes or names what is wrong,
//! and a wrong key, a zone the server does not serve and a stopped server each give the right
//! error class. One server per kind runs every scenario in turn, each on host names of its own,
//! so the binary starts two servers rather than one per scenario.

use std::net::IpAddr;
use std::time::Duration;

use dyndns_worker::backend::rfc2136::Algorithm;
use dyndns_worker::backend::{
    Backend, BackendError, Change, RecordType, Rfc2136, Rfc2136Options, Value,
};
use dyndns_worker::reconcile::{apply_batch, BatchRules, Reconcile};
use dyndns_worker::secret::Secret;

use crate::dns_server::{DnsServer, Kind};

/// Another 32-byte secret, base64: the server's key name with the wrong secret.
const WRONG_SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn backend_with(server: &DnsServer, key_name: &str, secret: &str) -> Rfc2136 {
    Rfc2136::new(Rfc2136Options {
        server: server.address().to_string(),
        key_name: key_name.to_owned(),
        algorithm: Algorithm::parse(server.algorithm()).unwrap(),
        secret: Secret::new(format!("{secret}\n")),
        timeout: Duration::from_secs(5),
    })
    .unwrap()
}

fn backend(server: &DnsServer) -> Rfc2136 {
    backend_with(server, server.key_name(), server.secret())
}

fn host(server: &DnsServer, label: &str) -> String {
    format!("{label}.{}", server.zone())
}

fn address(server: &DnsServer, label: &str, address: &str) -> Change {
    let address: IpAddr = address.parse().unwrap();
    Change::address(&host(server, label), server.zone(), label, address, 60)
}

fn txt(server: &DnsServer, label: &str, values: &[&str]) -> Change {
    let values = values.iter().map(|v| Value::Txt((*v).to_owned())).collect();
    Change::replace(
        &host(server, label),
        server.zone(),
        label,
        RecordType::Txt,
        values,
        60,
    )
}

fn delete(server: &DnsServer, label: &str, record_type: RecordType) -> Change {
    Change::delete(&host(server, label), server.zone(), label, record_type)
}

fn ip(text: &str) -> Value {
    Value::Address(text.parse().unwrap())
}

/// The zone's SOA serial as the server answers it.
fn serial(server: &DnsServer) -> u64 {
    let soa = server.query(server.zone(), "SOA");
    let fields: Vec<&str> = soa[0].split_whitespace().collect();
    fields[2].parse().unwrap()
}

/// Every change of `batch` applied (`changed` as given), or the failure with the server's log.
async fn apply(server: &DnsServer, backend: &Rfc2136, batch: &[Change], changed: bool) {
    for (change, result) in batch
        .iter()
        .zip(backend.apply_batch(server.zone(), batch).await)
    {
        let applied = result.unwrap_or_else(|e| panic!("{}: {e}\n{}", change.host, server.log()));
        assert_eq!(applied.changed, changed, "{change:?}");
    }
}

/// A, AAAA and TXT for new hosts in one UPDATE (the secret as a BIND key file, as `tsig-keygen`
/// writes it); the same batch again sends nothing.
async fn new_hosts_land_in_one_update_and_repeat_as_unchanged(server: &DnsServer) {
    let key_file = format!(
        "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};",
        server.key_name(),
        server.algorithm(),
        server.secret()
    );
    let backend = backend_with(server, server.key_name(), &key_file);
    let token = "gfj9Xq-DHfZ3T1jzkp0wSvlK2WlE0rYyn2SQTjyXyS8";
    let batch = vec![
        address(server, "one", "192.0.2.1"),
        address(server, "one", "2001:db8::1"),
        txt(server, "one", &[token]),
        address(server, "two", "192.0.2.2"),
    ];
    apply(server, &backend, &batch, true).await;
    assert_eq!(backend.round_trips(), 1, "one UPDATE for the whole batch");
    assert_eq!(server.query(&host(server, "one"), "A"), ["192.0.2.1"]);
    assert_eq!(server.query(&host(server, "one"), "AAAA"), ["2001:db8::1"]);
    assert_eq!(
        server.query(&host(server, "one"), "TXT"),
        [format!("\"{token}\"")]
    );
    assert_eq!(server.query(&host(server, "two"), "A"), ["192.0.2.2"]);

    let before = serial(server);
    apply(server, &backend, &batch, false).await;
    assert_eq!(
        backend.round_trips(),
        1,
        "an unchanged batch sends no UPDATE"
    );
    assert_eq!(serial(server), before, "the zone was not touched");
}

/// An address moves and a TXT RRset is replaced by two values, in one UPDATE; the values before
/// come back as `previous`, and the other RRsets of the host stay.
async fn an_address_moves_and_a_txt_is_replaced(server: &DnsServer) {
    let backend = backend(server);
    apply(
        server,
        &backend,
        &[
            address(server, "mover", "192.0.2.10"),
            address(server, "mover", "2001:db8::10"),
            txt(server, "mover", &["first"]),
        ],
        true,
    )
    .await;
    let batch = [
        address(server, "mover", "192.0.2.11"),
        txt(server, "mover", &["second", "third value"]),
    ];
    let results = backend.apply_batch(server.zone(), &batch).await;
    assert_eq!(backend.round_trips(), 2);
    let moved = results[0].as_ref().unwrap();
    assert!(moved.changed);
    assert_eq!(moved.previous, [ip("192.0.2.10")]);
    let replaced = results[1].as_ref().unwrap();
    assert_eq!(replaced.previous, [Value::Txt("first".to_owned())]);
    let mover = host(server, "mover");
    assert_eq!(server.query(&mover, "A"), ["192.0.2.11"]);
    assert_eq!(server.query(&mover, "AAAA"), ["2001:db8::10"]);
    assert_eq!(
        server.query(&mover, "TXT"),
        ["\"second\"", "\"third value\""]
    );
}

/// A delete removes the RRset and leaves the host's other types; deleting it again sends nothing.
async fn a_delete_removes_the_rrset(server: &DnsServer) {
    let backend = backend(server);
    apply(
        server,
        &backend,
        &[
            address(server, "leaving", "192.0.2.20"),
            address(server, "leaving", "2001:db8::20"),
            txt(server, "leaving", &["bye"]),
        ],
        true,
    )
    .await;
    let batch = [
        delete(server, "leaving", RecordType::A),
        delete(server, "leaving", RecordType::Txt),
    ];
    let results = backend.apply_batch(server.zone(), &batch).await;
    assert_eq!(results[0].as_ref().unwrap().previous, [ip("192.0.2.20")]);
    assert_eq!(
        results[1].as_ref().unwrap().previous,
        [Value::Txt("bye".to_owned())]
    );
    let leaving = host(server, "leaving");
    assert!(server.query(&leaving, "A").is_empty());
    assert!(server.query(&leaving, "TXT").is_empty());
    assert_eq!(server.query(&leaving, "AAAA"), ["2001:db8::20"]);
    let sent = backend.round_trips();
    apply(server, &backend, &batch, false).await;
    assert_eq!(
        backend.round_trips(),
        sent,
        "deleting what is gone sends nothing"
    );
}

/// A delete written straight to the server (the read before it is stale: someone removed the
/// records, or the name, in between) is done, not a failure: the RRset, and the name, stay absent.
async fn a_delete_of_an_absent_rrset_is_done(server: &DnsServer) {
    let backend = backend(server);
    apply(
        server,
        &backend,
        &[address(server, "halfgone", "2001:db8::21")],
        true,
    )
    .await;
    let batch = [
        delete(server, "halfgone", RecordType::A),
        delete(server, "nevewas", RecordType::A),
        delete(server, "nevewas", RecordType::Aaaa),
    ];
    for (change, result) in batch.iter().zip(backend.write(server.zone(), &batch).await) {
        result.unwrap_or_else(|e| panic!("{}: {e}\n{}", change.host, server.log()));
    }
    assert!(server.query(&host(server, "halfgone"), "A").is_empty());
    assert_eq!(
        server.query(&host(server, "halfgone"), "AAAA"),
        ["2001:db8::21"]
    );
    assert!(server.query(&host(server, "nevewas"), "A").is_empty());
    // Through reconcile, even in a zone that creates no names, it is done and sends nothing.
    let sent = backend.round_trips();
    let rules = BatchRules {
        create_missing: false,
    };
    for result in apply_batch(&backend, server.zone(), &batch, rules).await {
        assert!(!result.expect("nothing to delete is done").changed);
    }
    assert_eq!(
        backend.round_trips(),
        sent,
        "nothing to delete sends nothing"
    );
}

/// `read` returns the TTL the server answers, so a change of TTL alone is written.
async fn a_new_ttl_alone_is_written(server: &DnsServer) {
    let backend = backend(server);
    let first = address(server, "ttl", "192.0.2.30");
    apply(server, &backend, std::slice::from_ref(&first), true).await;
    let found = backend
        .read(server.zone(), std::slice::from_ref(&first))
        .await;
    assert_eq!(found[0].as_ref().unwrap().ttl, Some(60));
    let longer = Change { ttl: 300, ..first };
    apply(server, &backend, std::slice::from_ref(&longer), true).await;
    let found = backend.read(server.zone(), &[longer]).await;
    assert_eq!(found[0].as_ref().unwrap().ttl, Some(300));
}

/// More changes than one UPDATE carries: split into a few messages, every host lands.
async fn a_large_batch_is_split_and_lands_whole(server: &DnsServer) {
    let backend = backend(server);
    let batch: Vec<Change> = (0..2000)
        .map(|n| {
            address(
                server,
                &format!("bulk{n}"),
                &format!("10.1.{}.{}", n / 256, n % 256),
            )
        })
        .collect();
    apply(server, &backend, &batch, true).await;
    let updates = backend.round_trips();
    assert!(
        (2..=20).contains(&updates),
        "2,000 changes took {updates} UPDATEs"
    );
    for n in [0, 699, 700, 1999] {
        assert_eq!(
            server.query(&host(server, &format!("bulk{n}")), "A"),
            [format!("10.1.{}.{}", n / 256, n % 256)]
        );
    }
}

/// What a refused batch gives for each change: permanent, naming `zone` and one of `rcodes`.
fn assert_refused(
    results: Vec<Result<dyndns_worker::backend::Applied, BackendError>>,
    zone: &str,
    rcodes: &[&str],
) {
    assert!(!results.is_empty());
    for result in results {
        let error = result.unwrap_err();
        assert!(!error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(text.contains(zone), "{text}");
        assert!(rcodes.iter().any(|rcode| text.contains(rcode)), "{text}");
    }
}

/// A wrong secret and an unknown key name: permanent, as the server's TSIG error says, and
/// nothing is written.
async fn a_wrong_key_is_permanent_and_writes_nothing(server: &DnsServer) {
    let batch = [address(server, "evil", "192.0.2.66")];
    for backend in [
        backend_with(server, server.key_name(), WRONG_SECRET),
        backend_with(server, "other-key", server.secret()),
    ] {
        let results = backend.apply_batch(server.zone(), &batch).await;
        assert_refused(results, server.zone(), &["BADSIG", "BADKEY"]);
        // The UPDATE itself, not only the signed query before it, is refused.
        let written = backend.write(server.zone(), &batch).await;
        let error = written.into_iter().next().unwrap().unwrap_err();
        assert!(!error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(text.contains("to the UPDATE"), "{text}");
        assert!(
            ["BADSIG", "BADKEY"].iter().any(|r| text.contains(r)),
            "{text}"
        );
    }
    assert!(server.query(&host(server, "evil"), "A").is_empty());
}

/// A zone the server does not serve: permanent (REFUSED or NOTAUTH), for reads and writes.
async fn a_zone_the_server_does_not_serve_is_permanent(server: &DnsServer) {
    let backend = backend(server);
    let stranger = Change::address(
        "home.other.test",
        "other.test",
        "home",
        "192.0.2.7".parse().unwrap(),
        60,
    );
    let results = backend
        .apply_batch("other.test", std::slice::from_ref(&stranger))
        .await;
    assert_refused(results, "other.test", &["REFUSED", "NOTAUTH"]);
    // Past the read too: the UPDATE itself is refused.
    let written = backend.write("other.test", &[stranger]).await;
    let error = written.into_iter().next().unwrap().unwrap_err();
    assert!(!error.is_transient(), "{error}");
    assert!(
        ["REFUSED", "NOTAUTH"]
            .iter()
            .any(|r| error.to_string().contains(r)),
        "{error}"
    );
}

/// A host that is an alias (CNAME) or lies below a delegation takes no record: the primary would
/// answer the UPDATE NOERROR and ignore it (an alias) or keep it where no query finds it (below a
/// zone cut), so it would read back wrong and be retried for ever. Both are refused for good at
/// the read, before any UPDATE; deleting an RRset the alias cannot hold is already done.
async fn an_alias_or_a_name_below_a_delegation_takes_no_record(server: &DnsServer) {
    let backend = backend(server);
    let batch = [
        address(server, "alias", "192.0.2.30"),
        txt(server, "alias", &["token"]),
        address(server, "home.sub", "192.0.2.31"),
        delete(server, "alias", RecordType::A),
    ];
    let results = backend.apply_batch(server.zone(), &batch).await;
    for (result, (said, label)) in results.iter().zip([
        ("is an alias (CNAME ns1.example.test", "alias"),
        ("is an alias (CNAME ns1.example.test", "alias"),
        ("below a delegation", "home.sub"),
    ]) {
        let error = result.as_ref().unwrap_err();
        assert!(!error.is_transient(), "{error}");
        let text = error.to_string();
        assert!(
            text.contains(said) && text.contains(&host(server, label)),
            "{text}"
        );
    }
    assert!(!results[3].as_ref().unwrap().changed);
    assert_eq!(backend.round_trips(), 0, "no UPDATE was sent");
}

/// `create_missing = false` takes the name's existence from the server's answer: NODATA (a name
/// holding only a TXT, or only names below it) is a name that exists, NXDOMAIN one that does not.
async fn create_missing_false_follows_nodata_and_nxdomain(server: &DnsServer) {
    let backend = backend(server);
    apply(
        server,
        &backend,
        &[
            txt(server, "txtonly", &["hello"]),
            address(server, "leaf.branch", "192.0.2.40"),
        ],
        true,
    )
    .await;
    let rules = BatchRules {
        create_missing: false,
    };
    let batch = [
        address(server, "txtonly", "192.0.2.41"),
        address(server, "branch", "192.0.2.42"),
        address(server, "nobody", "192.0.2.43"),
    ];
    let results = apply_batch(&backend, server.zone(), &batch, rules).await;
    assert!(results[0].as_ref().unwrap().changed);
    assert!(results[1].as_ref().unwrap().changed);
    let refused = results[2].as_ref().unwrap_err();
    assert!(!refused.is_transient(), "{refused}");
    assert!(
        refused.to_string().contains("create_missing = false"),
        "{refused}"
    );
    assert_eq!(server.query(&host(server, "txtonly"), "A"), ["192.0.2.41"]);
    assert!(server.query(&host(server, "nobody"), "A").is_empty());
}

/// `check` passes for the served zone and changes nothing; it fails, permanently, for a zone the
/// server does not serve, for a name in the zone that is no zone, and for a wrong key.
async fn check_proves_the_key_and_the_zone(server: &DnsServer) {
    let before = serial(server);
    let said = backend(server)
        .check(server.zone())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert!(said.contains(server.zone()), "{said}");
    assert_eq!(serial(server), before, "check changed the zone");

    let error = backend(server).check("other.test").await.unwrap_err();
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("other.test"), "{error}");

    // A name inside the zone is not a zone of its own: the answer holds no SOA of it.
    let error = backend(server)
        .check(&host(server, "one"))
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("not authoritative"), "{error}");

    let error = backend_with(server, server.key_name(), WRONG_SECRET)
        .check(server.zone())
        .await
        .unwrap_err();
    assert!(!error.is_transient(), "{error}");
    assert!(
        ["BADSIG", "NOTAUTH"]
            .iter()
            .any(|r| error.to_string().contains(r)),
        "{error}"
    );
}

/// Every scenario on one server of `kind`; last, the server stops and every call is transient.
async fn every_scenario(kind: Kind) {
    let Some(server) = DnsServer::start(kind) else {
        return;
    };
    new_hosts_land_in_one_update_and_repeat_as_unchanged(&server).await;
    an_address_moves_and_a_txt_is_replaced(&server).await;
    a_delete_removes_the_rrset(&server).await;
    a_delete_of_an_absent_rrset_is_done(&server).await;
    a_new_ttl_alone_is_written(&server).await;
    a_large_batch_is_split_and_lands_whole(&server).await;
    a_wrong_key_is_permanent_and_writes_nothing(&server).await;
    a_zone_the_server_does_not_serve_is_permanent(&server).await;
    an_alias_or_a_name_below_a_delegation_takes_no_record(&server).await;
    create_missing_false_follows_nodata_and_nxdomain(&server).await;
    check_proves_the_key_and_the_zone(&server).await;

    let backend = backend(&server);
    let zone = server.zone().to_owned();
    let change = address(&server, "gone", "192.0.2.9");
    drop(server);
    for result in backend
        .apply_batch(&zone, std::slice::from_ref(&change))
        .await
    {
        assert!(result.unwrap_err().is_transient());
    }
    for result in backend.write(&zone, &[change]).await {
        assert!(result.unwrap_err().is_transient());
    }
    assert!(backend.check(&zone).await.unwrap_err().is_transient());
}

#[tokio::test]
async fn bind_takes_a_aaaa_txt_and_deletes_and_refuses_what_it_should() {
    every_scenario(Kind::Bind).await;
}

#[tokio::test]
async fn knot_takes_a_aaaa_txt_and_deletes_and_refuses_what_it_should() {
    every_scenario(Kind::Knot).await;
}
