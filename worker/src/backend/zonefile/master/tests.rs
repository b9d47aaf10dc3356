//! Why this exists: every form of the master-file syntax the reader claims to read, and every error it
//! claims to report with its line, each shown on a small file (the forms were checked against BIND's
//! `named-checkzone` 9.18; `worker/tests/backends/zonefile.rs` has BIND judge whole files).

use super::*;

const ZONE: &str = "example.com";

fn read_ok(text: &str) -> MasterFile {
    match read(text.as_bytes(), ZONE) {
        Ok(file) => file,
        Err(e) => panic!("{e}\n--- file ---\n{text}"),
    }
}

/// (owner, owner written, data) of every record.
fn records(text: &str) -> Vec<(String, bool, RecordData)> {
    read_ok(text)
        .entries
        .into_iter()
        .filter_map(|entry| match entry.kind {
            EntryKind::Record(r) => Some((r.owner, r.owner_written, r.data)),
            _ => None,
        })
        .collect()
}

fn owners(text: &str) -> Vec<String> {
    records(text).into_iter().map(|(owner, ..)| owner).collect()
}

fn address(text: &str) -> RecordData {
    RecordData::Address(text.parse().expect("test address literal is valid"))
}

fn error(text: &str) -> SyntaxError {
    read(text.as_bytes(), ZONE).expect_err("the file is refused")
}

fn serial_text(text: &str) -> (u32, String) {
    let file = read_ok(text);
    for entry in file.entries {
        if let EntryKind::Record(Record {
            data:
                RecordData::Soa {
                    serial,
                    serial_span,
                },
            ..
        }) = entry.kind
        {
            return (serial, text[serial_span].to_owned());
        }
    }
    panic!("no SOA in {text}");
}

#[test]
fn multi_line_soa_serial_is_found_among_comments() {
    let text = "\
$TTL 3600
@   IN  SOA ns1.example.net. hostmaster.example.com. (
            2024010101 ; serial (a comment with ( and \" in it)
            7200       ; refresh
            900        ; retry
            1209600    ; expire
            300 )      ; minimum
    IN  NS  ns1.example.net.
";
    assert_eq!(serial_text(text), (2024010101, "2024010101".to_owned()));
    assert_eq!(owners(text), vec!["example.com", "example.com"]);
}

#[test]
fn soa_with_everything_on_the_last_line_and_the_serial_first() {
    let text = "@ IN SOA ns. hm. (\n\n 7\n 1 2 3 4 )\n";
    assert_eq!(serial_text(text), (7, "7".to_owned()));
}

#[test]
fn entries_cover_whole_lines_including_comments() {
    let text = "; header\n@ IN SOA ns. hm. ( 1\n 2 3 4 5 ) ; tail\n\nwww IN A 192.0.2.1";
    let file = read_ok(text);
    let spans: Vec<&str> = file.entries.iter().map(|e| &text[e.span.clone()]).collect();
    assert_eq!(
        spans,
        vec![
            "@ IN SOA ns. hm. ( 1\n 2 3 4 5 ) ; tail\n",
            "www IN A 192.0.2.1"
        ]
    );
    let lines: Vec<usize> = file.entries.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 5]);
}

#[test]
fn owners_relative_absolute_at_and_origin_changes() {
    let text = "\
www A 192.0.2.1
www.example.com. A 192.0.2.2
@ A 192.0.2.3
$ORIGIN sub.example.com.
x A 192.0.2.4
@ A 192.0.2.5
$ORIGIN deeper
y A 192.0.2.6
$origin example.com.
z A 192.0.2.7
other.example.net. A 192.0.2.8
. NS ns.
";
    assert_eq!(
        owners(text),
        vec![
            "www.example.com",
            "www.example.com",
            "example.com",
            "x.sub.example.com",
            "sub.example.com",
            "y.deeper.sub.example.com",
            "z.example.com",
            "other.example.net",
            "",
        ]
    );
    assert_eq!(read_ok(text).final_origin, "example.com");
}

#[test]
fn blank_owner_repeats_the_previous_owner_also_across_origin() {
    let text = "\
home A 192.0.2.1
     AAAA 2001:db8::1
\tTXT \"tab-indented\"
$ORIGIN sub.example.com.
  MX 10 mail
";
    let got = records(text);
    let written: Vec<(&str, bool)> = got.iter().map(|(o, w, _)| (o.as_str(), *w)).collect();
    assert_eq!(
        written,
        vec![
            ("home.example.com", true),
            ("home.example.com", false),
            ("home.example.com", false),
            ("home.example.com", false),
        ]
    );
    assert_eq!(got[1].2, address("2001:db8::1"));
}

#[test]
fn owner_case_and_escapes_are_folded_for_comparison() {
    let text = "HOME A 192.0.2.1\nho\\109e A 192.0.2.2\nho\\me A 192.0.2.3\na\\.b A 192.0.2.4\n";
    assert_eq!(
        owners(text),
        vec![
            "home.example.com",
            "home.example.com",
            "home.example.com",
            "a\\046b.example.com"
        ]
    );
}

#[test]
fn wildcard_and_underscore_owners() {
    let text = "* A 192.0.2.1\n_acme-challenge TXT \"x\"\n";
    assert_eq!(
        owners(text),
        vec!["*.example.com", "_acme-challenge.example.com"]
    );
}

#[test]
fn ttl_and_class_in_either_order_or_absent() {
    let text = "\
a 300 IN A 192.0.2.1
b IN 300 A 192.0.2.2
c IN A 192.0.2.3
d 1h A 192.0.2.4
e A 192.0.2.5
f in a 192.0.2.6
g CLASS1 TYPE1 192.0.2.7
h 1W2d3H4m5S in A 192.0.2.8
";
    let got = records(text);
    assert_eq!(got.len(), 8);
    for (i, (_, _, data)) in got.iter().enumerate() {
        assert_eq!(*data, address(&format!("192.0.2.{}", i + 1)), "record {i}");
    }
}

#[test]
fn ttls_are_read_as_bind_reads_them() {
    assert_eq!(parse_ttl(b"0"), Some(0));
    assert_eq!(parse_ttl(b"4294967295"), Some(u32::MAX));
    assert_eq!(parse_ttl(b"1h30m"), Some(5400));
    assert_eq!(parse_ttl(b"30m1h"), Some(5400));
    assert_eq!(parse_ttl(b"1h1h"), Some(7200));
    assert_eq!(parse_ttl(b"1w"), Some(604_800));
    for not_a_ttl in [&b"4294967296"[..], b"1h30", b"1x", b"h", b"", b"-1", b"1d2"] {
        assert_eq!(parse_ttl(not_a_ttl), None, "{:?}", lossy(not_a_ttl));
    }
}

#[test]
fn quoted_strings_hold_spaces_semicolons_parentheses_and_escaped_quotes() {
    let text = "\
t1 TXT \"v=spf1 a mx ~all\" ; comment
t2 TXT \"a ; b\" \"c ( d\" \"e \\\"f\\\"\"
t3 TXT ( \"first part\"
         \"second ; part )\" ) ; the end
t4 TXT \"escaped\\
newline\"
after A 192.0.2.1
";
    let file = read_ok(text);
    assert_eq!(file.entries.len(), 5);
    assert_eq!(
        file.entries.iter().map(|e| e.line).collect::<Vec<_>>(),
        vec![1, 2, 3, 5, 7]
    );
    assert_eq!(
        owners(text).last().map(String::as_str),
        Some("after.example.com")
    );
}

#[test]
fn a_quote_inside_a_word_ends_the_word() {
    // BIND reads `a"b c"d` as three strings: `a`, `b c`, `d`.
    let text = "t TXT a\"b c\"d\nx A 192.0.2.1\n";
    assert_eq!(owners(text), vec!["t.example.com", "x.example.com"]);
}

#[test]
fn nested_parentheses_are_one_entry() {
    let text = "@ IN SOA ns. hm. ( 1 ( 2 3 )\n 4 5 )\nx A 192.0.2.1\n";
    assert_eq!(serial_text(text).0, 1);
    assert_eq!(owners(text), vec!["example.com", "x.example.com"]);
}

#[test]
fn a_parenthesis_before_the_owner_still_leaves_it_written() {
    let text = "( h ) IN A 192.0.2.1\n";
    assert_eq!(
        records(text),
        vec![("h.example.com".to_owned(), true, address("192.0.2.1"))]
    );
}

#[test]
fn generic_address_forms_are_read() {
    let text = "\
a IN TYPE1 \\# 4 C0000201
b IN A \\# 4 c0 00 02 02
c IN AAAA \\# 16 20010db8000000000000000000000003
d IN TYPE28 2001:db8::4
";
    let got: Vec<RecordData> = records(text).into_iter().map(|(.., d)| d).collect();
    assert_eq!(
        got,
        vec![
            address("192.0.2.1"),
            address("192.0.2.2"),
            address("2001:db8::3"),
            address("2001:db8::4"),
        ]
    );
}

#[test]
fn other_types_are_kept_unread() {
    let text = "\
@ MX 10 mail
@ SPF \"v=spf1 -all\"
_sip._tcp SRV 10 5 5060 sip
@ CAA 0 issue \"letsencrypt.org\"
x TYPE65534 \\# 3 abcdef
";
    assert!(records(text)
        .iter()
        .all(|(_, _, data)| *data == RecordData::Other));
}

#[test]
fn generate_reports_the_type_it_makes() {
    let text = "\
$GENERATE 1-10 host$ A 192.0.2.$
$GENERATE 1-10 v6-$ 60 IN AAAA 2001:db8::$
$GENERATE 1-10 $.2.0.192.in-addr.arpa. PTR host$.example.com.
$GENERATE 1-10 _acme-challenge.h$ TXT \"token-$\"
";
    let makes: Vec<Option<RecordType>> = read_ok(text)
        .entries
        .into_iter()
        .map(|e| match e.kind {
            EntryKind::Generate { makes } => makes,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        makes,
        vec![
            Some(RecordType::A),
            Some(RecordType::Aaaa),
            None,
            Some(RecordType::Txt)
        ]
    );
}

#[test]
fn directives_are_case_insensitive_and_ttl_takes_units() {
    let text = "$ttl 1h\n$TTL 1W2D\n$Origin example.com.\n@ in soa ns. hm. 1 2 3 4 5\n";
    assert_eq!(serial_text(text).0, 1);
}

#[test]
fn a_file_without_final_newline_and_blank_lines() {
    let text = "\n\n   \n; only a comment\nx A 192.0.2.1";
    let file = read_ok(text);
    assert_eq!(file.entries.len(), 1);
    assert_eq!(file.entries[0].line, 5);
    assert_eq!(&text[file.entries[0].span.clone()], "x A 192.0.2.1");
}

#[test]
fn error_table_names_the_line_and_what_is_wrong() {
    let cases: &[(&str, &str, usize, Syntax)] = &[
        (
            "include",
            "x A 192.0.2.1\n$INCLUDE other.db\n",
            2,
            Syntax::Include {
                file: "other.db".to_owned(),
            },
        ),
        (
            "include with origin, any case",
            "\n\n$include \"/etc/bind/db.x\" sub\n",
            3,
            Syntax::Include {
                file: "/etc/bind/db.x".to_owned(),
            },
        ),
        (
            "unclosed parenthesis",
            "x A 192.0.2.1\n@ SOA ns. hm. ( 1 2\n 3 4 5\ny A 192.0.2.2\n",
            2,
            Syntax::UnclosedParenthesis,
        ),
        (
            "stray closing parenthesis",
            "x A 192.0.2.1\ny TXT \"a\" )\n",
            2,
            Syntax::UnopenedParenthesis,
        ),
        (
            "unterminated quote",
            "x A 192.0.2.1\ny TXT \"never closed\n",
            2,
            Syntax::UnterminatedQuote,
        ),
        (
            "unterminated quote at the end of the file",
            "y TXT \"never closed",
            1,
            Syntax::UnterminatedQuote,
        ),
        (
            "quote broken by a newline inside parentheses",
            "y TXT ( \"a\n b\" )\n",
            1,
            Syntax::UnterminatedQuote,
        ),
        (
            "blank owner before any record",
            "$TTL 60\n   A 192.0.2.1\n",
            2,
            Syntax::NoOwner,
        ),
        (
            "unknown directive",
            "$FOO bar\n",
            1,
            Syntax::UnknownDirective("$FOO".to_owned()),
        ),
        (
            "origin without a name",
            "$ORIGIN ; nothing\n",
            1,
            Syntax::MissingArgument("$ORIGIN"),
        ),
        (
            "bad $TTL",
            "$TTL 1h30\n",
            1,
            Syntax::BadTtl("1h30".to_owned()),
        ),
        (
            "A value not an address",
            "x A not-an-address\n",
            1,
            Syntax::BadAddress {
                record_type: "A",
                value: "not-an-address".to_owned(),
            },
        ),
        (
            "A value with a leading zero (BIND: bad dotted quad)",
            "x A 192.0.2.01\n",
            1,
            Syntax::BadAddress {
                record_type: "A",
                value: "192.0.2.01".to_owned(),
            },
        ),
        (
            "AAAA value of the other family",
            "x AAAA 192.0.2.1\n",
            1,
            Syntax::BadAddress {
                record_type: "AAAA",
                value: "192.0.2.1".to_owned(),
            },
        ),
        (
            "a carriage return is part of the word, as in BIND",
            "x A 192.0.2.1\r\n",
            1,
            Syntax::BadAddress {
                record_type: "A",
                value: "192.0.2.1\r".to_owned(),
            },
        ),
        (
            "generic data of the wrong length",
            "x A \\# 3 c00002\n",
            1,
            Syntax::BadAddress {
                record_type: "A",
                value: "\\# 3 c00002".to_owned(),
            },
        ),
        (
            "class other than IN",
            "x CH A 192.0.2.1\n",
            1,
            Syntax::OtherClass("CH".to_owned()),
        ),
        ("owner with no type", "x 300 IN\n", 1, Syntax::NoType),
        (
            "empty label",
            "a..b A 192.0.2.1\n",
            1,
            Syntax::BadName("a..b".to_owned()),
        ),
        (
            "SOA missing a field",
            "@ SOA ns. hm. ( 1 2 3\n 4 )\n",
            1,
            Syntax::SoaFields(6),
        ),
        (
            "SOA serial not a number",
            "@ SOA ns. hm. 1h 2 3 4 5\n",
            1,
            Syntax::BadSerial("1h".to_owned()),
        ),
        (
            "SOA serial too large",
            "@ SOA ns. hm. 4294967296 2 3 4 5\n",
            1,
            Syntax::BadSerial("4294967296".to_owned()),
        ),
        (
            "SOA minimum not a TTL",
            "@ SOA ns. hm. 1 2 3 4 5x\n",
            1,
            Syntax::BadMinimum("5x".to_owned()),
        ),
        (
            "TXT without a string (BIND: unexpected end of input)",
            "x A 192.0.2.1\ny TXT ; nothing\n",
            2,
            Syntax::BadTxt(String::new()),
        ),
        (
            "TXT string of 256 bytes (BIND: syntax error)",
            &format!("y TXT \"{}\"\n", "a".repeat(256)),
            1,
            Syntax::BadTxt(format!("\"{}\"", "a".repeat(256))),
        ),
        (
            "TXT escape above 255",
            "y TXT \"a\\256\"\n",
            1,
            Syntax::BadTxt("\"a\\256\"".to_owned()),
        ),
        (
            "generic TXT without a string (BIND: unexpected end of input)",
            "y TXT \\# 0\n",
            1,
            Syntax::BadTxt("\\# 0".to_owned()),
        ),
        (
            "generic TXT whose string runs past the data",
            "y TYPE16 \\# 3 056162\n",
            1,
            Syntax::BadTxt("\\# 3 056162".to_owned()),
        ),
    ];
    for (what, text, line, kind) in cases {
        let err = error(text);
        assert_eq!(
            err,
            SyntaxError {
                line: *line,
                kind: kind.clone()
            },
            "{what}"
        );
        assert!(
            err.to_string().starts_with(&format!("line {line}: ")),
            "{what}: {err}"
        );
    }
}

#[test]
fn include_error_names_the_included_file() {
    let err = error("$INCLUDE keys/Kexample.com.+013+12345.key\n");
    let message = err.to_string();
    assert!(message.contains("Kexample.com.+013+12345.key"), "{message}");
    assert!(message.contains("$INCLUDE"), "{message}");
}

/// (owner, TTL, data) of every record.
fn ttls(text: &str) -> Vec<(String, Option<u32>)> {
    read_ok(text)
        .entries
        .into_iter()
        .filter_map(|entry| match entry.kind {
            EntryKind::Record(r) => Some((r.owner, r.ttl)),
            _ => None,
        })
        .collect()
}

fn txt(text: &str) -> Vec<String> {
    records(text)
        .into_iter()
        .filter_map(|(.., data)| match data {
            RecordData::Txt(text) => Some(text),
            _ => None,
        })
        .collect()
}

/// Each file was loaded with `named-checkzone -D`; the TTLs are the ones BIND printed.
#[test]
fn ttls_are_the_ones_bind_gives() {
    // No $TTL and an SOA without TTL: its MINIMUM becomes the default (BIND: "no TTL specified;
    // using SOA MINTTL instead"), so a TTL written on one record does not carry to the next.
    let soa_minimum = "\
@ IN SOA ns. hm. 1 2 3 4 555
a A 192.0.2.1
b 100 A 192.0.2.2
c A 192.0.2.3
$TTL 300
d A 192.0.2.4
e 200 A 192.0.2.5
f A 192.0.2.6
$ttl 1h
g TXT \"x\"
";
    let got: Vec<Option<u32>> = ttls(soa_minimum).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        got,
        [555, 555, 100, 555, 300, 200, 300, 3600].map(Some).to_vec()
    );

    // An SOA with its own TTL and no $TTL: each record without one takes the last one written
    // (BIND: "using RFC1035 TTL semantics").
    let rfc1035 = "\
www 100 A 192.0.2.1
@ IN SOA ns. hm. 1 2 3 4 555
@ NS ns.
d IN 20 A 192.0.2.3
e A 192.0.2.3
";
    let got: Vec<Option<u32>> = ttls(rfc1035).into_iter().map(|(_, t)| t).collect();
    assert_eq!(got, [100, 100, 100, 20, 20].map(Some).to_vec());

    // Above 2^31 - 1 is zero (RFC 2181 §8; BIND: "> MAXTTL, setting $TTL to 0"), also for $TTL.
    let large =
        "$TTL 2147483648\na A 192.0.2.1\nb 2147483647 A 192.0.2.2\nc 4294967295 A 192.0.2.3\n";
    let got: Vec<Option<u32>> = ttls(large).into_iter().map(|(_, t)| t).collect();
    assert_eq!(got, [0, 2_147_483_647, 0].map(Some).to_vec());

    // No TTL anywhere before a record that is not an SOA: BIND refuses the zone; we know none.
    assert_eq!(
        ttls("a A 192.0.2.1\n@ SOA ns. hm. 1 2 3 4 5\n"),
        [
            ("a.example.com".to_owned(), None),
            ("example.com".to_owned(), Some(5))
        ]
    );
}

#[test]
fn txt_strings_are_decoded_and_joined() {
    // BIND prints these as "a;b" "c;d" "e\"f" "AB" "g\\h" "i\010" "\255" "\010".
    let text = "\
a TXT \"a;b\" c\\;d \"e\\\"f\" \\065\\066 \"g\\\\h\" ( \"i\\
\" ) \\255 \"\\
\"
b TXT a\"b c\"d
c TXT \"\"
d TYPE16 \\# 8 03616263 0344 4546
e txt ( \"v=DKIM1; k=rsa; \" ; a comment
   \"p=MIGf\" )
f TXT \"\\\"quoted\\\" ; not a comment\"
";
    assert_eq!(
        txt(text),
        [
            "a;bc;de\"fABg\\hi\n\u{FFFD}\n",
            "ab cd",
            "",
            "abcDEF",
            "v=DKIM1; k=rsa; p=MIGf",
            "\"quoted\" ; not a comment",
        ]
    );
    // The entry of the multi-line record spans its three lines; the next starts on line 4.
    let lines: Vec<usize> = read_ok(text).entries.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 4, 5, 6, 7, 9]);
}

#[test]
fn a_string_of_255_bytes_is_the_longest() {
    let text = format!("y TXT \"{}\" \"{}\"\n", "a".repeat(255), "b".repeat(255));
    assert_eq!(
        txt(&text),
        [format!("{}{}", "a".repeat(255), "b".repeat(255))]
    );
}
