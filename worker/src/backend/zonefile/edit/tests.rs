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
    let edit = edit_zone(ZONE.as_bytes(), &change("www", "192.0.2.80"), TODAY).expect("edit");
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
    let zone = "@ SOA ns. hm 1 2 3 4 5\nhome AAAA 2001:DB8:0::7\nhome TYPE28 \\# 16 20010db8000000000000000000000007\n";
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
            Problem::GeneratedAddresses("A"),
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
