//! Why this exists: the zone-file backend applies a batch (every pending change of one zone) with one
//! read, one edit, one write and one reload; a change that is wrong on its own fails alone, and a
//! failure of the file fails every change of the batch with that failure's class.

use std::os::unix::fs::MetadataExt;

use dyndns_worker::backend::{Change, ZoneFile};
use dyndns_worker::reconcile::Reconcile;

use crate::named;
use crate::util::{change, ip};
use crate::zonefile::{serial, Setup};

const ZONE: &str = "example.com";

/// A zone whose serial (4000000000) is ahead of any date serial, so each write adds exactly one.
const SEEDED: &str = "$ORIGIN example.com.\n$TTL 300\n\
    @ IN SOA ns.example.net. hostmaster.example.com. 4000000000 3600 900 1209600 300\n\
    @ IN NS ns.example.net.\n\
    www IN CNAME example.net.\n";

fn hosts(count: usize, last_octet_base: u8) -> Vec<Change> {
    (0..count)
        .map(|n| {
            let address = format!("10.{}.{}.{}", n / 256, n % 256, last_octet_base);
            change(ZONE, &format!("h{n}.dyn"), &address)
        })
        .collect()
}

#[tokio::test]
async fn a_batch_of_many_hosts_writes_the_zone_file_once() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    std::fs::write(&path, SEEDED).expect("seed zone");
    let inode = std::fs::metadata(&path).expect("stat").ino();
    let backend = setup.backend();

    let changes = hosts(200, 1);
    let results = backend.apply_batch(ZONE, &changes).await;

    assert_eq!(results.len(), 200);
    for result in &results {
        let applied = result.as_ref().expect("every change applies");
        assert!(
            applied.changed && applied.previous.is_empty(),
            "{applied:?}"
        );
    }
    let text = setup.text(ZONE);
    // One write: the serial moved by exactly one step, and the file was replaced once.
    assert_eq!(serial(&text), 4_000_000_001);
    assert_ne!(std::fs::metadata(&path).expect("stat").ino(), inode);
    for n in [0, 137, 199] {
        let line = format!("h{n}.dyn 60 IN A 10.0.{n}.1");
        assert!(text.contains(&line), "{line} missing:\n{text}");
    }
    named::assert_accepts(ZONE, &path);

    // The same batch again changes nothing and writes nothing.
    let inode = std::fs::metadata(&path).expect("stat").ino();
    let again = backend.apply_batch(ZONE, &changes).await;
    assert!(again.iter().all(|r| r.as_ref().is_ok_and(|a| !a.changed)));
    assert_eq!(std::fs::metadata(&path).expect("stat").ino(), inode);

    // A batch moving every host writes once more, and each change reports its own old address.
    let moved = backend.apply_batch(ZONE, &hosts(200, 2)).await;
    assert_eq!(
        moved[5].as_ref().expect("applies").previous,
        [ip("10.0.5.1")]
    );
    let text = setup.text(ZONE);
    assert_eq!(serial(&text), 4_000_000_002);
    assert!(!text.contains("10.0.5.1"), "{text}");
    named::assert_accepts(ZONE, &path);
}

#[tokio::test]
async fn a_batch_creating_the_zone_file_holds_every_change() {
    let setup = Setup::new();
    let results = setup.backend().apply_batch(ZONE, &hosts(3, 1)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let text = setup.text(ZONE);
    for n in 0..3 {
        assert!(
            text.contains(&format!("h{n}.dyn 60 IN A 10.0.{n}.1")),
            "{text}"
        );
    }
    named::assert_accepts(ZONE, &setup.path(ZONE));
}

#[tokio::test]
async fn one_bad_change_in_a_zone_file_batch_fails_alone() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    std::fs::write(&path, SEEDED).expect("seed zone");
    let mut wrong_label = change(ZONE, "home", "192.0.2.9");
    wrong_label.label = "-ip".to_owned();
    let changes = vec![
        change(ZONE, "a", "192.0.2.1"),
        wrong_label,
        // An address beside an alias is not valid DNS.
        change(ZONE, "www", "192.0.2.2"),
        change(ZONE, "b", "2001:db8::2"),
    ];

    let results = ZoneFile::apply_batch(&setup.backend(), ZONE, &changes).await;

    assert!(results[0].as_ref().is_ok_and(|a| a.changed), "{results:?}");
    assert!(results[3].as_ref().is_ok_and(|a| a.changed), "{results:?}");
    for n in [1, 2] {
        let error = results[n].as_ref().expect_err("refused alone");
        assert!(!error.is_transient(), "{error:?}");
    }
    let alias = results[2].as_ref().expect_err("alias").to_string();
    assert!(alias.contains("is an alias (CNAME)"), "{alias}");
    let text = setup.text(ZONE);
    assert!(text.contains("a 60 IN A 192.0.2.1") && text.contains("b 60 IN AAAA 2001:db8::2"));
    assert!(
        !text.contains("192.0.2.9") && !text.contains("192.0.2.2"),
        "{text}"
    );
    assert_eq!(serial(&text), 4_000_000_001);
    named::assert_accepts(ZONE, &path);
}

#[tokio::test]
async fn a_file_failure_fails_every_change_of_the_batch_with_its_class() {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    let text = format!("{SEEDED}$INCLUDE /etc/bind/db.more-hosts\n");
    std::fs::write(&path, &text).expect("seed zone");
    let results = setup.backend().apply_batch(ZONE, &hosts(3, 1)).await;
    assert_eq!(results.len(), 3);
    for result in &results {
        let error = result.as_ref().expect_err("the file cannot be kept");
        assert!(!error.is_transient(), "{error:?}");
        assert!(error.to_string().contains("$INCLUDE"), "{error}");
    }
    assert_eq!(setup.text(ZONE), text, "nothing written");

    // A reload that fails is transient for every change of the batch.
    std::fs::write(&path, SEEDED).expect("seed zone");
    let mut options = setup.options();
    options.reload = Some(vec!["/bin/false".to_owned()]);
    let backend = ZoneFile::new(options).expect("valid options");
    let results = backend.apply_batch(ZONE, &hosts(3, 1)).await;
    for result in &results {
        let error = result.as_ref().expect_err("not reloaded");
        assert!(error.is_transient(), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("the reload owed to the DNS server"),
            "{error}"
        );
    }
}
