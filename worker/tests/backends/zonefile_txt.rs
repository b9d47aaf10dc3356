//! Why this exists: the zone-file backend keeps TXT RRsets (ACME DNS-01) and deletes RRsets, driven
//! through `Reconcile` as the worker drives every backend: added, replaced, deleted, an unchanged
//! one never written, each write one round trip, and BIND's `named-checkzone` reading every file
//! written back to exactly the values asked for. Its TTLs are checked against BIND's own reading.

use std::os::unix::fs::MetadataExt;

use dyndns_worker::backend::{Backend, Change, RecordType, Value};
use dyndns_worker::reconcile::Reconcile;

use crate::named;
use crate::util::{change, delete_change, ip, txt_change};
use crate::zonefile::{serial, Setup};

const ZONE: &str = "example.com";

/// A zone whose serial (4000000000) is ahead of any date serial, so each write adds exactly one.
const SEEDED: &str = "$ORIGIN example.com.\n$TTL 300\n\
    @ IN SOA ns.example.net. hostmaster.example.com. 4000000000 3600 900 1209600 300\n\
    @ IN NS ns.example.net.\n";

fn txt(label: &str, values: &[&str]) -> Change {
    txt_change(ZONE, label, values)
}

fn delete(label: &str, record_type: RecordType) -> Change {
    delete_change(ZONE, label, record_type)
}

fn addr(address: &str) -> Value {
    Value::Address(ip(address))
}

fn text(value: &str) -> Value {
    Value::Txt(value.to_owned())
}

/// BIND's reading of the zone file: the records of `owner` (relative to the zone), as
/// `TTL TYPE data` lines, sorted; empty when named-checkzone is missing outside CI.
fn bind_reads(setup: &Setup, owner: &str) -> Vec<String> {
    let absolute = format!("{owner}.{ZONE}. ");
    named::records(ZONE, &setup.path(ZONE))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|line| line.strip_prefix(&absolute).map(str::to_owned))
        .map(|rest| rest.replacen(" IN ", " ", 1))
        .collect()
}

fn inode(setup: &Setup) -> u64 {
    std::fs::metadata(setup.path(ZONE)).expect("stat").ino()
}

#[tokio::test]
async fn a_txt_rrset_is_added_replaced_and_deleted_each_in_one_write() {
    let setup = Setup::new();
    std::fs::write(setup.path(ZONE), SEEDED).expect("seed zone");
    let backend = setup.backend();
    let acme = "acme-challenge.home.dyn";

    // Added: one value with a space and a semicolon, which a zone file must quote.
    let added = backend.apply(&txt(acme, &["a b; c"])).await.expect("add");
    assert!(added.changed && added.previous.is_empty(), "{added:?}");
    assert_eq!(backend.round_trips(), 1);
    assert_eq!(bind_reads(&setup, acme), ["60 TXT \"a b; c\""]);

    // Replaced by two values: the old one reported, both new ones served.
    let replaced = backend
        .apply(&txt(acme, &["token-2", "token-1"]))
        .await
        .expect("replace");
    assert!(replaced.changed, "{replaced:?}");
    assert_eq!(replaced.previous, [text("a b; c")]);
    assert_eq!(backend.round_trips(), 2);
    assert_eq!(
        bind_reads(&setup, acme),
        ["60 TXT \"token-1\"", "60 TXT \"token-2\""]
    );
    let read = backend
        .read(ZONE, &[txt(acme, &[])])
        .await
        .remove(0)
        .expect("read");
    assert_eq!(read.values, [text("token-1"), text("token-2")]);
    assert_eq!(read.ttl, Some(60));

    // The same values again: nothing written, the file not even replaced.
    let before = inode(&setup);
    let same = backend
        .apply(&txt(acme, &["token-1", "token-2"]))
        .await
        .expect("same");
    assert!(!same.changed, "{same:?}");
    assert_eq!(backend.round_trips(), 2);
    assert_eq!(inode(&setup), before);

    // Deleted: the host's last record goes, and with it the name.
    let serial_before = serial(&setup.text(ZONE));
    let deleted = backend
        .apply(&delete(acme, RecordType::Txt))
        .await
        .expect("delete");
    assert!(deleted.changed, "{deleted:?}");
    assert_eq!(deleted.previous, [text("token-1"), text("token-2")]);
    assert_eq!(backend.round_trips(), 3);
    assert_eq!(serial(&setup.text(ZONE)), serial_before + 1);
    assert!(bind_reads(&setup, acme).is_empty());
    assert!(!setup.text(ZONE).contains("acme-challenge"));
    let gone = backend
        .read(ZONE, &[txt(acme, &[])])
        .await
        .remove(0)
        .expect("read");
    assert!(!gone.name_exists && gone.values.is_empty(), "{gone:?}");

    // Deleting what is not there writes nothing.
    let again = backend
        .apply(&delete(acme, RecordType::Txt))
        .await
        .expect("delete again");
    assert!(!again.changed, "{again:?}");
    assert_eq!(backend.round_trips(), 3);
    named::assert_accepts(ZONE, &setup.path(ZONE));
}

#[tokio::test]
async fn deleting_an_address_rrset_keeps_the_other_family_and_then_the_name_goes() {
    let setup = Setup::new();
    let text = format!(
        "{SEEDED}home.dyn 60 IN A 192.0.2.1\n         60 IN A 192.0.2.2\n\
         home.dyn 60 IN AAAA 2001:db8::1 ; the v6 side\nwww 60 IN A 192.0.2.80\n"
    );
    std::fs::write(setup.path(ZONE), text).expect("seed zone");
    let backend = setup.backend();

    let v4 = backend
        .apply(&delete("home.dyn", RecordType::A))
        .await
        .expect("delete A");
    assert!(v4.changed, "{v4:?}");
    assert_eq!(v4.previous, [addr("192.0.2.1"), addr("192.0.2.2")]);
    assert_eq!(bind_reads(&setup, "home.dyn"), ["60 AAAA 2001:db8::1"]);
    named::assert_accepts(ZONE, &setup.path(ZONE));

    let v6 = backend
        .apply(&delete("home.dyn", RecordType::Aaaa))
        .await
        .expect("delete AAAA");
    assert!(v6.changed, "{v6:?}");
    assert!(bind_reads(&setup, "home.dyn").is_empty());
    assert_eq!(bind_reads(&setup, "www"), ["60 A 192.0.2.80"]);
    assert_eq!(backend.round_trips(), 2);
    named::assert_accepts(ZONE, &setup.path(ZONE));
}

#[tokio::test]
async fn a_batch_of_txt_address_and_delete_changes_is_one_zone_write() {
    let setup = Setup::new();
    let seeded = format!("{SEEDED}old 60 IN A 192.0.2.9\nkeep 60 IN TXT \"kept\"\n");
    std::fs::write(setup.path(ZONE), seeded).expect("seed zone");
    let backend = setup.backend();
    let mut batch: Vec<Change> = (0..30)
        .map(|n| {
            txt(
                &format!("acme-challenge.h{n}.dyn"),
                &[&format!("token {n}; x")],
            )
        })
        .collect();
    batch.extend((0..30).map(|n| change(ZONE, &format!("h{n}.dyn"), &format!("10.0.0.{n}"))));
    batch.push(delete("old", RecordType::A));
    batch.push(txt("keep", &["kept"]));

    let results = backend.apply_batch(ZONE, &batch).await;

    let changed: Vec<bool> = results
        .iter()
        .map(|r| r.as_ref().expect("each applies").changed)
        .collect();
    assert_eq!(changed.iter().filter(|c| **c).count(), 61, "{changed:?}");
    assert!(!changed[61], "the unchanged TXT RRset is not rewritten");
    assert_eq!(backend.round_trips(), 1, "one zone write for the batch");
    assert_eq!(serial(&setup.text(ZONE)), 4_000_000_001);
    assert_eq!(
        bind_reads(&setup, "acme-challenge.h7.dyn"),
        ["60 TXT \"token 7; x\""]
    );
    assert!(bind_reads(&setup, "old").is_empty());
    named::assert_accepts(ZONE, &setup.path(ZONE));

    // The same batch again: nothing differs, nothing is written.
    let again = backend.apply_batch(ZONE, &batch).await;
    assert!(again.iter().all(|r| r.as_ref().is_ok_and(|a| !a.changed)));
    assert_eq!(backend.round_trips(), 1);
}

/// TTLs as BIND reads them from a hand-written file ($TTL, a TTL carried from the record before
/// (RFC 1035), the SOA's minimum standing in for a missing $TTL), compared with its own dump.
#[tokio::test]
async fn read_reports_the_ttl_bind_serves() {
    let setup = Setup::new();
    let zone = "\
@ IN SOA ns.example.net. hostmaster.example.com. 1 3600 900 1209600 555
@ IN NS ns.example.net.
a A 192.0.2.1
b 100 A 192.0.2.2
c A 192.0.2.3
$TTL 1h
d TXT \"x\" \"y\"
e 20 TXT ( \"multi\"
           \"line\" )
e    TXT \"second, at the RRset's first TTL\"
";
    std::fs::write(setup.path(ZONE), zone).expect("seed zone");
    let backend = setup.backend();
    let asked = [
        change(ZONE, "a", "192.0.2.1"),
        change(ZONE, "b", "192.0.2.2"),
        change(ZONE, "c", "192.0.2.3"),
        txt("d", &[]),
        txt("e", &[]),
    ];
    let read: Vec<(Option<u32>, Vec<Value>)> = backend
        .read(ZONE, &asked)
        .await
        .into_iter()
        .map(|r| {
            let published = r.expect("read");
            (published.ttl, published.values)
        })
        .collect();
    assert_eq!(
        read,
        [
            (Some(555), vec![addr("192.0.2.1")]),
            (Some(100), vec![addr("192.0.2.2")]),
            (Some(555), vec![addr("192.0.2.3")]),
            (Some(3600), vec![text("xy")]),
            (
                Some(20),
                vec![text("multiline"), text("second, at the RRset's first TTL")]
            ),
        ]
    );
    // BIND agrees on every TTL (where named-checkzone is installed).
    for (label, (ttl, _)) in ["a", "b", "c", "d", "e"].iter().zip(&read) {
        let ttl = ttl.expect("a TTL").to_string();
        for line in bind_reads(&setup, label) {
            assert!(line.starts_with(&format!("{ttl} ")), "{label}: {line}");
        }
    }

    // The same address at another TTL is rewritten, at the change's TTL.
    let a = backend
        .apply(&change(ZONE, "a", "192.0.2.1"))
        .await
        .expect("apply");
    assert!(a.changed, "{a:?}");
    assert_eq!(bind_reads(&setup, "a"), ["60 A 192.0.2.1"]);
    named::assert_accepts(ZONE, &setup.path(ZONE));
}

#[tokio::test]
async fn a_hand_written_txt_with_escapes_is_read_and_replaced() {
    let setup = Setup::new();
    let zone = format!(
        "{SEEDED}spf 60 TXT \"v=spf1 \\\"ip4:192.0.2.1\\\" \" ( -all ) ; comment\n\
         raw 60 TXT \\065\\066 c\\;d\n"
    );
    std::fs::write(setup.path(ZONE), &zone).expect("seed zone");
    named::assert_accepts(ZONE, &setup.path(ZONE));
    let backend = setup.backend();
    let read = backend
        .read(ZONE, &[txt("spf", &[]), txt("raw", &[])])
        .await;
    let values: Vec<Vec<Value>> = read.into_iter().map(|r| r.expect("read").values).collect();
    assert_eq!(
        values,
        [
            vec![text("v=spf1 \"ip4:192.0.2.1\" -all")],
            vec![text("ABc;d")]
        ]
    );

    // Asking for what is there (the escaped value is printable ASCII) writes nothing.
    let same = backend.apply(&txt("raw", &["ABc;d"])).await.expect("same");
    assert!(!same.changed, "{same:?}");
    let replaced = backend
        .apply(&txt("spf", &["v=spf1 -all"]))
        .await
        .expect("replace");
    assert!(replaced.changed);
    assert_eq!(bind_reads(&setup, "spf"), ["60 TXT \"v=spf1 -all\""]);
    assert_eq!(bind_reads(&setup, "raw"), ["60 TXT \"AB\" \"c;d\""]);
    named::assert_accepts(ZONE, &setup.path(ZONE));
}

/// A delete written straight to the file (the read before it is stale: the records were removed
/// by hand in between), of a host that keeps its other family, of a name the file never held and
/// of an alias, is done without touching the file; with no zone file at all, none is made.
#[tokio::test]
async fn a_delete_of_an_absent_rrset_is_done_and_writes_nothing() {
    let setup = Setup::new();
    let absent = [
        delete("never.dyn", RecordType::A),
        delete("never.dyn", RecordType::Aaaa),
    ];
    let backend = setup.backend();
    for result in backend.write(ZONE, &absent).await {
        result.expect("nothing to delete in no file is done");
    }
    assert!(setup.files().is_empty(), "{:?}", setup.files());

    let seeded =
        format!("{SEEDED}half.dyn 60 IN AAAA 2001:db8::1\nalias.dyn 60 IN CNAME half.dyn\n");
    std::fs::write(setup.path(ZONE), &seeded).expect("seed zone");
    let batch = [
        delete("half.dyn", RecordType::A),
        delete("never.dyn", RecordType::Aaaa),
        delete("alias.dyn", RecordType::A),
    ];
    for (change, result) in batch.iter().zip(backend.write(ZONE, &batch).await) {
        result.unwrap_or_else(|e| panic!("{}: {e}", change.host));
    }
    assert_eq!(
        setup.text(ZONE),
        seeded,
        "nothing to delete: the file is not touched"
    );
    assert_eq!(bind_reads(&setup, "half.dyn"), ["60 AAAA 2001:db8::1"]);
}
