//! Why this exists: zone files as people write them (BIND-tutorial style with a multi-line SOA, blank
//! owners and `@`; `$ORIGIN` changes with relative and absolute owners; TXT data with quotes,
//! semicolons and parentheses; class and TTL in both orders) go through the backend, and BIND judges
//! the result twice: `named-checkzone` accepts it, and its canonical dump of every record other than
//! the SOA and the changed RRset is the same before and after. Bytes outside the edit are compared too.

use std::path::Path;

use dyndns_worker::reconcile::Reconcile;

use crate::named;
use crate::util::{change, ip};
use crate::zonefile::Setup;

const ZONE: &str = "example.com";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/backends/zones")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// BIND's records other than the SOA and `host`'s RRset of `record_type`.
fn unrelated(records: &[String], host: &str, record_type: &str) -> Vec<String> {
    let owner = format!("{host}.");
    records
        .iter()
        .filter(|record| {
            let fields: Vec<&str> = record.split(' ').collect();
            fields[3] != "SOA" && !(fields[0] == owner && fields[3] == record_type)
        })
        .cloned()
        .collect()
}

/// Applies `label`'s new `address` to the fixture `name` and checks everything this file promises.
/// `lines` are the (old, new) whole lines the edit changes: an empty old line is appended, an empty
/// new line dropped. Every other byte must stay, the serial aside, which must grow in place.
async fn check_edit(
    name: &str,
    label: &str,
    address: &str,
    previous: &[&str],
    old_serial: &str,
    lines: &[(&str, &str)],
) {
    let setup = Setup::new();
    let path = setup.path(ZONE);
    let original = fixture(name);
    std::fs::write(&path, &original).expect("seed zone");
    named::assert_accepts(ZONE, &path);
    let before = named::records(ZONE, &path);

    let change = change(ZONE, label, address);
    let applied = setup.backend().apply(&change).await.expect("apply");
    assert!(applied.changed);
    assert_eq!(
        applied.previous,
        previous.iter().map(|p| ip(p)).collect::<Vec<_>>(),
        "{name}"
    );
    let written = setup.text(ZONE);
    named::assert_accepts(ZONE, &path);

    // Bytes: the serial grew in place, and the only other differences are the given lines.
    let at = original.find(old_serial).expect("old serial in fixture");
    assert_eq!(
        written[..at],
        original[..at],
        "{name}: text before the serial"
    );
    let digits = written[at..]
        .find(|c: char| !c.is_ascii_digit())
        .expect("text after the serial");
    let new_serial = &written[at..at + digits];
    assert!(
        new_serial.parse::<u64>().expect("digits") > old_serial.parse::<u64>().expect("digits"),
        "{name}: serial {old_serial} -> {new_serial}"
    );
    let mut expected = format!(
        "{}{new_serial}{}",
        &original[..at],
        &original[at + old_serial.len()..]
    );
    for (old, new) in lines {
        expected = match (old.is_empty(), new.is_empty()) {
            (true, _) => format!("{expected}{new}\n"),
            (false, true) => expected.replacen(&format!("{old}\n"), "", 1),
            (false, false) => expected.replacen(&format!("{old}\n"), &format!("{new}\n"), 1),
        };
    }
    assert_eq!(written, expected, "{name}");

    // Meaning: BIND sees the same records except the SOA and the changed RRset, which is the address.
    if let (Some(before), Some(after)) = (before, named::records(ZONE, &path)) {
        let record_type = change.record_type.as_str();
        assert_eq!(
            unrelated(&before, &change.host, record_type),
            unrelated(&after, &change.host, record_type),
            "{name}: records dyndns does not own changed"
        );
        let rrset: Vec<&String> = after
            .iter()
            .filter(|r| {
                r.starts_with(&format!("{}. ", change.host))
                    && r.split(' ').nth(3) == Some(record_type)
            })
            .collect();
        assert_eq!(
            rrset,
            vec![&format!("{}. 60 IN {record_type} {address}", change.host)],
            "{name}"
        );
    }
}

#[tokio::test]
async fn bind_tutorial_zone_with_multi_line_soa_takes_an_a_change() {
    check_edit(
        "bind-tutorial.zone",
        "home.dyn",
        "203.0.113.10",
        &["198.51.100.7"],
        "2024061501",
        &[(
            "home.dyn        60      IN      A       198.51.100.7",
            "home.dyn 60 IN A 203.0.113.10",
        )],
    )
    .await;
}

#[tokio::test]
async fn blank_owner_aaaa_in_a_tutorial_zone_is_replaced() {
    check_edit(
        "bind-tutorial.zone",
        "home.dyn",
        "2001:db8::8",
        &["2001:db8::7"],
        "2024061501",
        &[(
            "                60      IN      AAAA    2001:db8::7",
            "home.dyn 60 IN AAAA 2001:db8::8",
        )],
    )
    .await;
}

#[tokio::test]
async fn blank_owner_apex_address_among_apex_records_is_replaced() {
    check_edit(
        "bind-tutorial.zone",
        "",
        "192.0.2.2",
        &["192.0.2.1"],
        "2024061501",
        &[("        IN      A       192.0.2.1", "@ 60 IN A 192.0.2.2")],
    )
    .await;
}

#[tokio::test]
async fn class_before_ttl_record_is_replaced() {
    check_edit(
        "bind-tutorial.zone",
        "office.dyn",
        "203.0.113.11",
        &["198.51.100.8"],
        "2024061501",
        &[(
            "office.dyn      IN      60      A       198.51.100.8",
            "office.dyn 60 IN A 203.0.113.11",
        )],
    )
    .await;
}

#[tokio::test]
async fn rrset_split_across_origins_is_replaced_once_and_written_absolute() {
    check_edit(
        "origin-changes.zone",
        "home.dyn",
        "203.0.113.10",
        &["198.51.100.1", "198.51.100.4"],
        "7",
        &[
            (
                "home            60 IN A     198.51.100.1",
                "home.dyn.example.com. 60 IN A 203.0.113.10",
            ),
            (
                "home.dyn.example.com. 60 IN A 198.51.100.4 ; same RRset as the first, written absolute",
                "",
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn at_under_a_relative_origin_is_the_right_name() {
    check_edit(
        "origin-changes.zone",
        "lab.dyn",
        "203.0.113.12",
        &["198.51.100.3"],
        "7",
        &[(
            "@               60 IN A     198.51.100.3   ; lab.dyn.example.com.",
            "lab.dyn.example.com. 60 IN A 203.0.113.12",
        )],
    )
    .await;
}

#[tokio::test]
async fn new_name_is_appended_relative_to_the_final_origin() {
    check_edit(
        "origin-changes.zone",
        "new.dyn",
        "2001:db8::9",
        &[],
        "7",
        &[("", "new.dyn 60 IN AAAA 2001:db8::9")],
    )
    .await;
}

#[tokio::test]
async fn zone_with_quotes_semicolons_and_generic_data_takes_a_change() {
    check_edit(
        "tricky-text.zone",
        "home.dyn",
        "203.0.113.10",
        &["198.51.100.1"],
        "2030010100",
        &[(
            "home.dyn 1H IN  A       \\# 4 C6336401",
            "home.dyn 60 IN A 203.0.113.10",
        )],
    )
    .await;
}

#[tokio::test]
async fn type28_aaaa_is_replaced() {
    check_edit(
        "tricky-text.zone",
        "home.dyn",
        "2001:db8::2",
        &["2001:db8::1"],
        "2030010100",
        &[(
            "home.dyn IN TYPE28 2001:db8::1",
            "home.dyn 60 IN AAAA 2001:db8::2",
        )],
    )
    .await;
}

#[tokio::test]
async fn generic_form_holding_the_address_already_writes_nothing() {
    let setup = Setup::new();
    std::fs::write(setup.path(ZONE), fixture("tricky-text.zone")).expect("seed zone");
    // The record's TTL is `1H`: the same address at the same TTL is already right.
    let mut same = change(ZONE, "home.dyn", "198.51.100.1");
    same.ttl = 3600;
    let applied = setup.backend().apply(&same).await.expect("apply");
    assert!(!applied.changed);
    assert_eq!(setup.text(ZONE), fixture("tricky-text.zone"));
}
