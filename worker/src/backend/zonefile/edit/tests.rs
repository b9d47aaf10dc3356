//! Why this exists: the edit's promises on strings — only the RRset and the serial change, owners stay
//! right when lines go, a multi-line SOA is bumped in place — and the serial arithmetic.

use super::*;

fn change(label: &str, address: &str) -> Change {
    let zone = "example.com";
    let host = if label.is_empty() {
        zone.to_owned()
    } else {
        format!("{label}.{zone}")
    };
    let address = address.parse().expect("test address literal is valid");
    Change::address(&host, zone, label, address, 60)
}

fn ip(text: &str) -> Value {
    Value::Address(text.parse().expect("test address literal is valid"))
}

const TODAY: u32 = 20240615;

fn edited(zone: &str, change: &Change) -> (Vec<Value>, String) {
    let edit = edit_zone(zone.as_bytes(), change, TODAY).expect("edit");
    let text = edit.text.expect("the zone changes");
    (
        edit.previous,
        String::from_utf8(text).expect("UTF-8 in, UTF-8 out"),
    )
}

#[test]
fn serial_is_dated_or_one_more() {
    assert_eq!(dated_serial(TODAY), Some(2024061500));
    assert_eq!(next_serial(5, TODAY), 2024061500);
    assert_eq!(next_serial(2024061500, TODAY), 2024061501);
    assert_eq!(next_serial(2030010107, TODAY), 2030010108);
}

/// A serial at 4294967295 made every later update of the zone a dead letter until someone reset it
/// by hand; secondaries compare serials in RFC 1982 arithmetic, where it simply moves on.
#[test]
fn a_serial_at_its_largest_moves_on_as_rfc_1982_allows() {
    let zone = "@ SOA ns. hm 4294967295 2 3 4 5\n";
    let (_, text) = edited(zone, &change("home", "192.0.2.1"));
    assert!(
        text.starts_with("@ SOA ns. hm 2024061500 2 3 4 5\n"),
        "{text}"
    );
    // Without a dated serial ahead of it (in 2147 and later), it wraps to 0, which follows it.
    assert_eq!(next_serial(u32::MAX, 30000101), 0);
    // A serial past today's by serial arithmetic only counts up, even across the wrap.
    assert_eq!(next_serial(4_000_000_000, TODAY), 4_000_000_001);
}

#[test]
fn civil_dates() {
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(civil_from_days(19_723), (2024, 1, 1));
    assert_eq!(civil_from_days(19_782), (2024, 2, 29));
}

const ZONE: &str = "\
$ORIGIN example.com.
$TTL 300
@ IN SOA ns. hm.example.com. 2024010100 3600 900 1209600 300 ; keep this comment
@ IN NS ns.
www 300 IN A 192.0.2.80
home 60 IN A 198.51.100.1
     60 IN TXT \"belongs to home\"
big IN TXT ( \"first\"
   \"home IN A 10.0.0.1\" )
HOME.example.com. 60 IN A 198.51.100.2
";

#[test]
fn replacing_an_rrset_keeps_other_lines_and_owners() {
    let (previous, text) = edited(ZONE, &change("home", "203.0.113.7"));
    assert_eq!(previous, vec![ip("198.51.100.1"), ip("198.51.100.2")]);
    let expected = "\
$ORIGIN example.com.
$TTL 300
@ IN SOA ns. hm.example.com. 2024061500 3600 900 1209600 300 ; keep this comment
@ IN NS ns.
www 300 IN A 192.0.2.80
home 60 IN A 203.0.113.7
     60 IN TXT \"belongs to home\"
big IN TXT ( \"first\"
   \"home IN A 10.0.0.1\" )
";
    assert_eq!(text, expected);
}

#[test]
fn multi_line_soa_failed_the_backend_now_its_serial_is_bumped_in_place() {
    let zone = "\
$TTL 1h
@   IN  SOA ns1.example.net. hostmaster.example.com. (
            2024061507 ; serial
            2h 15m 2w 5m )
    IN  NS  ns1.example.net.
home IN A 192.0.2.1
";
    let (previous, text) = edited(zone, &change("home", "198.51.100.7"));
    assert_eq!(previous, vec![ip("192.0.2.1")]);
    assert_eq!(
        text,
        zone.replace("2024061507", "2024061508")
            .replace("home IN A 192.0.2.1", "home 60 IN A 198.51.100.7")
    );
}

#[test]
fn dropping_a_line_spells_out_its_followers_owner() {
    let zone = "\
@ IN SOA ns. hm 1 2 3 4 5
home IN A 198.51.100.1
other IN A 192.0.2.9
home IN A 198.51.100.2
     IN TXT \"x\"
";
    let (_, text) = edited(zone, &change("home", "203.0.113.7"));
    assert!(text.contains("\nhome.example.com.     IN TXT"), "{text}");
    assert!(!text.contains("198.51.100"), "{text}");
}

#[test]
fn a_follower_of_the_replaced_line_keeps_its_blank_owner() {
    let zone = "\
@ IN SOA ns. hm 1 2 3 4 5
home TXT \"first\"
     A 198.51.100.1
     MX 10 mail
";
    let (_, text) = edited(zone, &change("home", "203.0.113.7"));
    assert!(
        text.ends_with("home 60 IN A 203.0.113.7\n     MX 10 mail\n"),
        "{text}"
    );
}

#[test]
fn a_blank_owner_address_at_the_apex_is_replaced_with_an_explicit_owner() {
    let zone = "\
@ IN SOA ns. hm ( 1 2 3 4 5 )
  IN NS ns.
  IN A 192.0.2.1
  IN MX 10 mail
";
    let (previous, text) = edited(zone, &change("", "192.0.2.2"));
    assert_eq!(previous, vec![ip("192.0.2.1")]);
    assert!(
        text.contains("\n@ 60 IN A 192.0.2.2\n  IN MX 10 mail\n"),
        "{text}"
    );
}

#[test]
fn unchanged_rrset_needs_no_write() {
    let mut www = change("www", "192.0.2.80");
    www.ttl = 300;
    let edit = edit_zone(ZONE.as_bytes(), &www, TODAY).expect("edit");
    assert_eq!(
        edit,
        Edit {
            previous: vec![ip("192.0.2.80")],
            text: None
        }
    );
}

#[test]
fn an_address_spelled_another_way_or_in_generic_form_is_the_same_address() {
    let zone = "@ SOA ns. hm 1 2 3 4 60\nhome AAAA 2001:DB8:0::7\nhome TYPE28 \\# 16 20010db8000000000000000000000007\n";
    let edit = edit_zone(zone.as_bytes(), &change("home", "2001:db8::7"), TODAY).expect("edit");
    assert_eq!(edit.text, None);
}

#[test]
fn record_after_a_different_origin_is_written_absolute() {
    let zone = "\
@ IN SOA ns. hm 1 2 3 4 5
$ORIGIN sub.example.com.
x IN A 192.0.2.1
";
    let (_, text) = edited(zone, &change("", "2001:db8::1"));
    assert!(
        text.ends_with("x IN A 192.0.2.1\nexample.com. 60 IN AAAA 2001:db8::1\n"),
        "{text}"
    );
}

#[test]
fn a_record_is_appended_after_a_file_without_final_newline() {
    let zone = "@ IN SOA ns. hm 1 2 3 4 5\n@ NS ns. ; last";
    let (_, text) = edited(zone, &change("home", "192.0.2.1"));
    assert!(
        text.ends_with("@ NS ns. ; last\nhome 60 IN A 192.0.2.1\n"),
        "{text}"
    );
}

#[test]
fn only_the_changed_type_is_touched() {
    let zone = "@ SOA ns. hm 1 2 3 4 5\nhome A 192.0.2.1\nhome AAAA 2001:db8::1\n";
    let (previous, text) = edited(zone, &change("home", "2001:db8::2"));
    assert_eq!(previous, vec![ip("2001:db8::1")]);
    assert!(text.contains("home A 192.0.2.1\n"), "{text}");
    assert!(text.contains("home 60 IN AAAA 2001:db8::2\n"), "{text}");
}

#[test]
fn refusals_name_their_line() {
    let cases: &[(&str, &str, Option<usize>, Problem)] = &[
        ("no SOA", "home A 192.0.2.1\n", None, Problem::NoSoa),
        (
            "second SOA",
            "@ SOA ns. hm 1 2 3 4 5\n@ SOA ns. hm 2 2 3 4 5\n",
            Some(2),
            Problem::SecondSoa,
        ),
        (
            "another zone's file",
            "$ORIGIN example.org.\n@ SOA ns. hm 1 2 3 4 5\n",
            Some(2),
            Problem::OtherZone {
                found: "example.org".to_owned(),
                expected: "example.com".to_owned(),
            },
        ),
        (
            "generated addresses",
            "@ SOA ns. hm 1 2 3 4 5\n$GENERATE 1-9 h$ A 192.0.2.$\n",
            Some(2),
            Problem::GeneratedRecords("A"),
        ),
        (
            "include",
            "@ SOA ns. hm 1 2 3 4 5\n$INCLUDE db.more\n",
            Some(2),
            Problem::Syntax(Syntax::Include {
                file: "db.more".to_owned(),
            }),
        ),
    ];
    for (what, zone, line, problem) in cases {
        let err = edit_zone(zone.as_bytes(), &change("home", "192.0.2.7"), TODAY).expect_err(what);
        assert_eq!(
            err,
            EditError {
                line: *line,
                problem: problem.clone()
            },
            "{what}"
        );
    }
}

#[test]
fn generate_of_other_types_is_kept() {
    let zone = "@ SOA ns. hm 1 2 3 4 5\n$GENERATE 1-9 $ PTR host$.example.com.\n";
    let (_, text) = edited(zone, &change("home", "192.0.2.1"));
    assert!(
        text.contains("$GENERATE 1-9 $ PTR host$.example.com.\n"),
        "{text}"
    );
}

#[test]
fn bytes_that_are_not_utf8_are_kept() {
    let mut zone = b"@ SOA ns. hm 1 2 3 4 5\nt TXT \"caf".to_vec();
    zone.extend_from_slice(&[0xe9, b'"', b'\n']);
    let edit = edit_zone(&zone, &change("home", "192.0.2.1"), TODAY).expect("edit");
    let text = edit.text.expect("changed");
    assert!(text.windows(6).any(|w| w == b"\"caf\xe9\""), "{text:?}");
}

#[test]
fn a_created_zone_reads_back_with_the_record() {
    let home = change("home", "192.0.2.1");
    let text = new_zone(
        "example.com",
        &[&home],
        "localhost.",
        "hostmaster.example.com.",
        300,
        TODAY,
    )
    .expect("today fits a serial");
    let edit = edit_zone(&text, &home, TODAY).expect("own output reads");
    assert_eq!(edit.text, None);
    assert_eq!(edit.previous, vec![ip("192.0.2.1")]);
}

#[test]
fn a_created_zone_past_the_last_serial_date_is_an_error_not_a_panic() {
    let home = change("home", "192.0.2.1");
    let year_4295 = 42_950_101;
    let err = new_zone(
        "example.com",
        &[&home],
        "localhost.",
        "hostmaster.example.com.",
        300,
        year_4295,
    )
    .expect_err("4295010100 does not fit a u32 serial");
    assert_eq!(
        err,
        EditError {
            line: None,
            problem: Problem::DateBeyondSerials(year_4295),
        }
    );
}

fn txt_change(label: &str, values: &[&str]) -> Change {
    let values = values.iter().map(|v| Value::Txt((*v).to_owned())).collect();
    Change::replace(
        &format!("{label}.example.com"),
        "example.com",
        label,
        RecordType::Txt,
        values,
        60,
    )
}

fn delete(label: &str, record_type: RecordType) -> Change {
    let host = if label.is_empty() {
        "example.com".to_owned()
    } else {
        format!("{label}.example.com")
    };
    Change::delete(&host, "example.com", label, record_type)
}

/// Every RRset of `text` as (owner, type) -> (values sorted, TTL of the first record).
fn rrsets(text: &[u8]) -> HashMap<(String, RecordType), (Vec<Value>, Option<u32>)> {
    let file = master::read(text, "example.com").expect("the edited text reads");
    let mut sets: HashMap<(String, RecordType), (Vec<Value>, Option<u32>)> = HashMap::new();
    for entry in file.entries {
        let EntryKind::Record(record) = entry.kind else {
            continue;
        };
        let value = match record.data {
            RecordData::Address(address) => Value::Address(address),
            RecordData::Txt(text) => Value::Txt(text),
            _ => continue,
        };
        let set = sets
            .entry((record.owner, value.record_type()))
            .or_insert_with(|| (Vec::new(), record.ttl));
        set.0.push(value);
        set.0.sort();
    }
    sets
}

fn txt(text: &str) -> Value {
    Value::Txt(text.to_owned())
}

#[test]
fn a_txt_rrset_with_spaces_and_semicolons_is_replaced_and_reads_back() {
    let zone = "\
$TTL 300
@ SOA ns. hm 1 2 3 4 5
_acme-challenge.home TXT \"old token\" ; from the last renewal
home A 192.0.2.1
_acme-challenge.home 300 TXT ( \"second\"
    \"part\" )
after A 192.0.2.2
";
    let wanted = ["v=spf1 a; -all (x)", "token two", ""];
    let (previous, text) = edited(zone, &txt_change("_acme-challenge.home", &wanted));
    assert_eq!(previous, [txt("old token"), txt("secondpart")]);
    let expected = "\
$TTL 300
@ SOA ns. hm 2024061500 2 3 4 5
_acme-challenge.home 60 IN TXT \"\"
_acme-challenge.home 60 IN TXT \"token two\"
_acme-challenge.home 60 IN TXT \"v=spf1 a; -all (x)\"
home A 192.0.2.1
after A 192.0.2.2
";
    assert_eq!(text, expected);
    let sets = rrsets(text.as_bytes());
    let key = (
        "_acme-challenge.home.example.com".to_owned(),
        RecordType::Txt,
    );
    assert_eq!(
        sets[&key],
        (
            vec![txt(""), txt("token two"), txt("v=spf1 a; -all (x)")],
            Some(60)
        )
    );
    // Read back as the change: nothing more to write.
    let again = edit_zone(
        text.as_bytes(),
        &txt_change("_acme-challenge.home", &wanted),
        TODAY,
    )
    .expect("edit");
    assert_eq!(again.text, None);
}

#[test]
fn a_txt_change_leaves_the_hosts_addresses_and_an_address_change_its_txt() {
    let (_, text) = edited(ZONE, &txt_change("home", &["new"]));
    assert!(text.contains("home 60 IN A 198.51.100.1\n"), "{text}");
    assert!(
        text.contains("HOME.example.com. 60 IN A 198.51.100.2\n"),
        "{text}"
    );
    assert!(text.contains("home 60 IN TXT \"new\"\n"), "{text}");
    assert!(!text.contains("belongs to home"), "{text}");
}

#[test]
fn a_delete_drops_every_entry_of_the_rrset_and_appends_nothing() {
    let edit = edit_zone(ZONE.as_bytes(), &delete("home", RecordType::A), TODAY).expect("edit");
    assert_eq!(edit.previous, [ip("198.51.100.1"), ip("198.51.100.2")]);
    let text = String::from_utf8(edit.text.expect("the zone changes")).expect("UTF-8");
    let expected = "\
$ORIGIN example.com.
$TTL 300
@ IN SOA ns. hm.example.com. 2024061500 3600 900 1209600 300 ; keep this comment
@ IN NS ns.
www 300 IN A 192.0.2.80
home.example.com.     60 IN TXT \"belongs to home\"
big IN TXT ( \"first\"
   \"home IN A 10.0.0.1\" )
";
    assert_eq!(text, expected);
}

#[test]
fn deleting_a_hosts_last_record_removes_the_name() {
    let zone = "\
@ SOA ns. hm 1 2 3 4 5
gone 60 A 192.0.2.1
    60 A 192.0.2.3 ; a second address, owner repeated
kept 60 A 192.0.2.2
";
    let edit = edit_zone(zone.as_bytes(), &delete("gone", RecordType::A), TODAY).expect("edit");
    let text = edit.text.expect("the zone changes");
    assert_eq!(
        String::from_utf8_lossy(&text),
        "@ SOA ns. hm 2024061500 2 3 4 5\nkept 60 A 192.0.2.2\n"
    );
    let file = master::read(&text, "example.com").expect("reads");
    assert!(!file
        .entries
        .iter()
        .any(|e| matches!(&e.kind, EntryKind::Record(r) if r.owner == "gone.example.com")));
    // Deleting it again finds nothing and writes nothing.
    let again = edit_zone(&text, &delete("gone", RecordType::A), TODAY).expect("edit");
    assert_eq!((again.previous, again.text), (vec![], None));
}

#[test]
fn deleting_a_txt_rrset_keeps_the_hosts_address() {
    let zone = "\
@ SOA ns. hm 1 2 3 4 5
_acme-challenge TXT \"a\"
_acme-challenge TXT \"b\"
                A 192.0.2.1
";
    let edit = edit_zone(
        zone.as_bytes(),
        &delete("_acme-challenge", RecordType::Txt),
        TODAY,
    )
    .expect("edit");
    assert_eq!(edit.previous, [txt("a"), txt("b")]);
    let text = String::from_utf8(edit.text.expect("changes")).expect("UTF-8");
    assert_eq!(
        text,
        "@ SOA ns. hm 2024061500 2 3 4 5\n_acme-challenge.example.com.                A 192.0.2.1\n"
    );
}

#[test]
fn a_batch_replacing_deleting_and_adding_bumps_the_serial_once() {
    let batch = [
        change("home", "203.0.113.7"),
        delete("www", RecordType::A),
        txt_change("big", &["one string now"]),
        txt_change("new", &["a", "b"]),
        delete("absent", RecordType::Txt),
    ];
    let edit = edit_zone_batch(ZONE.as_bytes(), "example.com", &batch, TODAY).expect("edit");
    let changed: Vec<bool> = edit
        .changes
        .iter()
        .map(|c| c.as_ref().expect("each applies").changed)
        .collect();
    assert_eq!(changed, [true, true, true, true, false]);
    let text = edit.text.expect("the zone changes");
    let sets = rrsets(&text);
    let set = |owner: &str, t| sets.get(&(format!("{owner}example.com"), t)).cloned();
    assert_eq!(
        set("home.", RecordType::A),
        Some((vec![ip("203.0.113.7")], Some(60)))
    );
    assert_eq!(set("www.", RecordType::A), None);
    assert_eq!(
        set("big.", RecordType::Txt),
        Some((vec![txt("one string now")], Some(60)))
    );
    assert_eq!(
        set("new.", RecordType::Txt),
        Some((vec![txt("a"), txt("b")], Some(60)))
    );
    assert_eq!(
        set("home.", RecordType::Txt),
        Some((vec![txt("belongs to home")], Some(60)))
    );
    let text = String::from_utf8(text).expect("UTF-8");
    assert_eq!(text.matches("2024061500").count(), 1, "{text}");
}

#[test]
fn the_same_values_at_another_ttl_are_rewritten() {
    let (previous, text) = edited(ZONE, &change("www", "192.0.2.80"));
    assert_eq!(previous, [ip("192.0.2.80")]);
    assert!(text.contains("\nwww 60 IN A 192.0.2.80\n"), "{text}");
    // BIND serves an RRset at its first record's TTL, so only that one counts.
    let zone = "@ SOA ns. hm 1 2 3 4 5\nx 60 A 192.0.2.1\nx 300 A 192.0.2.2\n";
    let both = Change::replace(
        "x.example.com",
        "example.com",
        "x",
        RecordType::A,
        vec![ip("192.0.2.2"), ip("192.0.2.1")],
        60,
    );
    assert_eq!(
        edit_zone(zone.as_bytes(), &both, TODAY).expect("edit").text,
        None
    );
}

#[test]
fn txt_beside_an_alias_is_refused_and_generated_txt_refuses_only_txt() {
    let zone = "@ SOA ns. hm 1 2 3 4 5\nwww CNAME example.net.\n";
    let err = edit_zone(zone.as_bytes(), &txt_change("www", &["x"]), TODAY).expect_err("alias");
    assert_eq!(err.line, Some(2));
    assert!(matches!(err.problem, Problem::AliasAtHost { .. }), "{err}");

    let zone = "@ SOA ns. hm 1 2 3 4 5\n$GENERATE 1-9 h$ TXT \"t$\"\n";
    let err = edit_zone(zone.as_bytes(), &txt_change("h1", &["x"]), TODAY).expect_err("generated");
    assert_eq!(
        err,
        EditError {
            line: Some(2),
            problem: Problem::GeneratedRecords("TXT")
        }
    );
    let (_, text) = edited(zone, &change("h1", "192.0.2.1"));
    assert!(text.ends_with("h1 60 IN A 192.0.2.1\n"), "{text}");
}

#[test]
fn a_created_zone_holds_txt_and_no_deleted_rrset() {
    let token = txt_change("_acme-challenge", &["tok en;1"]);
    let gone = delete("old", RecordType::A);
    let text = new_zone(
        "example.com",
        &[&token, &gone],
        "localhost.",
        "hostmaster.example.com.",
        300,
        TODAY,
    )
    .expect("today fits a serial");
    let text = String::from_utf8(text).expect("UTF-8");
    assert!(
        text.ends_with("@ IN NS localhost.\n_acme-challenge 60 IN TXT \"tok en;1\"\n"),
        "{text}"
    );
}
