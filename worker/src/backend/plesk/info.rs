//! Why this exists: `plesk bin dns --info <zone>` is the only way to learn a Plesk zone's records, and
//! its output is text written for people, so reading it is kept apart and tested line by line. What
//! cannot be read is a typed error, never a guess: an A value that is not an address means we misread
//! the output, and acting on a misreading could delete the wrong record.
//!
//! The format (vendor reference, cited in `plesk.rs`): one record per line, `<owner-fqdn-with-dot>
//! <TYPE> <rdata…>`, blank lines between, a final `SUCCESS: Getting information for Domain '<zone>' …`
//! status line (only its `SUCCESS:` prefix is matched; the tail is not documented).

use std::net::IpAddr;

use crate::backend::{RecordType, Value};

/// Why `--info` output could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("no `SUCCESS: Getting information for Domain …` status line")]
    NoStatusLine,
    #[error("{owner}. {record_type} value {value:?} is not an address")]
    NotAnAddress {
        owner: String,
        record_type: &'static str,
        value: String,
    },
    #[error("{owner}. {record_type} value {value:?} is an address of the other family")]
    WrongFamily {
        owner: String,
        record_type: &'static str,
        value: String,
    },
    /// Not a misreading: the name is an alias, and no address may stand beside a CNAME.
    #[error("{owner}. is an alias (CNAME {target}); an address record beside it is not valid DNS (RFC 1034 §3.6.2): remove the CNAME in Plesk to let dyndns keep this name")]
    Alias { owner: String, target: String },
}

/// One value of the changed name and type, as `--info` listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub value: Value,
    /// The text Plesk printed: `--del` must repeat the record exactly.
    pub raw: String,
}

/// The values of `record_type` at `host` in `--info` output. Values at other names and of other
/// types are not read, so an odd record elsewhere in the zone does not block this change.
pub fn values_at(
    stdout: &str,
    host: &str,
    record_type: RecordType,
) -> Result<Vec<Listed>, InfoError> {
    let host = normalize_name(host);
    let records = parse_info(stdout)?;
    if let Some(alias) = records
        .iter()
        .find(|r| r.owner == host && r.record_type == "CNAME")
    {
        return Err(InfoError::Alias {
            owner: host,
            target: alias.rdata.to_owned(),
        });
    }
    records
        .iter()
        .filter(|r| r.owner == host && r.record_type == record_type.as_str())
        .map(|r| {
            let owner = host.clone();
            let record_type_name = record_type.as_str();
            let value = r.rdata.to_owned();
            if record_type == RecordType::Txt {
                // Plesk lists a TXT value as it stores it, without quotes.
                return Ok(Listed {
                    value: Value::Txt(value.clone()),
                    raw: value,
                });
            }
            let record_type = record_type_name;
            let address: IpAddr = r.rdata.parse().map_err(|_| InfoError::NotAnAddress {
                owner: owner.clone(),
                record_type,
                value: value.clone(),
            })?;
            if RecordType::of(&address).as_str() != record_type {
                return Err(InfoError::WrongFamily {
                    owner,
                    record_type,
                    value,
                });
            }
            Ok(Listed {
                value: Value::Address(address),
                raw: value,
            })
        })
        .collect()
}

/// Whether `--info` lists any record at `host` (output that cannot be read lists none).
pub fn name_exists(stdout: &str, host: &str) -> bool {
    let host = normalize_name(host);
    parse_info(stdout).is_ok_and(|records| records.iter().any(|r| r.owner == host))
}

/// How many records `--info` lists.
pub fn count(stdout: &str) -> Result<usize, InfoError> {
    parse_info(stdout).map(|records| records.len())
}

/// One line of `--info`: owner lower-cased without its trailing dot, type upper-cased, rdata as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InfoRecord<'a> {
    owner: String,
    record_type: String,
    rdata: &'a str,
}

/// Splits `--info` output into records. Only the first two fields are split off, so a TXT value keeps
/// its spaces. The `SUCCESS:` status line must be present: without it this is not the output we know.
fn parse_info(stdout: &str) -> Result<Vec<InfoRecord<'_>>, InfoError> {
    let mut records = Vec::new();
    let mut saw_status = false;
    for line in stdout.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with("SUCCESS:") {
            saw_status = true;
            continue;
        }
        let (owner, rest) = split_field(line);
        let (record_type, rdata) = split_field(rest);
        if record_type.is_empty() {
            // Not a record line (a notice Plesk printed); it cannot be about our name.
            continue;
        }
        records.push(InfoRecord {
            owner: normalize_name(owner),
            record_type: record_type.to_ascii_uppercase(),
            rdata,
        });
    }
    if saw_status {
        Ok(records)
    } else {
        Err(InfoError::NoStatusLine)
    }
}

/// The first whitespace-separated field and the trimmed rest.
fn split_field(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((field, rest)) => (field, rest.trim_start()),
        None => (text, ""),
    }
}

fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "SUCCESS: Getting information for Domain 'example.com' complete.\n";

    const INFO: &str = "\
example.com. A 203.0.113.1

Home.Dyn.Example.COM. A 203.0.113.7
home.dyn.example.com. AAAA 2001:DB8::7
home.dyn.example.com. TXT v=spf1 a mx ~all
example.com. MX 10 mail.example.com.
_sip._tcp.example.com. SRV 10 5 5060 sip.example.com.

SUCCESS: Getting information for Domain 'example.com' complete.
";

    fn addresses(listed: &[Listed]) -> Vec<Value> {
        listed.iter().map(|l| l.value.clone()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address literal is valid")
    }

    #[test]
    fn info_keeps_txt_spaces_and_skips_blank_and_status_lines() {
        let records = parse_info(INFO).expect("sample output parses");
        assert_eq!(records.len(), 6);
        assert_eq!(
            records[3],
            InfoRecord {
                owner: "home.dyn.example.com".to_owned(),
                record_type: "TXT".to_owned(),
                rdata: "v=spf1 a mx ~all",
            }
        );
        assert_eq!(records[4].rdata, "10 mail.example.com.");
    }

    #[test]
    fn owner_comparison_ignores_case_and_trailing_dot() {
        let listed = values_at(INFO, "home.dyn.example.com", RecordType::A).expect("values");
        assert_eq!(addresses(&listed), vec![ip("203.0.113.7")]);
    }

    #[test]
    fn apex_values_are_found_by_zone_name() {
        let listed = values_at(INFO, "example.com", RecordType::A).expect("values");
        assert_eq!(addresses(&listed), vec![ip("203.0.113.1")]);
        let none = values_at(INFO, "example.com", RecordType::Aaaa).expect("values");
        assert!(none.is_empty());
    }

    #[test]
    fn aaaa_values_compare_as_addresses_but_keep_plesk_spelling_for_delete() {
        let listed = values_at(INFO, "home.dyn.example.com", RecordType::Aaaa).expect("values");
        assert_eq!(addresses(&listed), vec![ip("2001:db8::7")]);
        assert_eq!(listed[0].raw, "2001:DB8::7");
    }

    #[test]
    fn status_line_alone_is_an_empty_zone() {
        let output = format!("\n{STATUS}");
        let records = parse_info(&output).expect("status-only output parses");
        assert!(records.is_empty());
    }

    #[test]
    fn output_without_status_line_is_rejected() {
        let err = values_at("example.com. A 203.0.113.1\n", "example.com", RecordType::A)
            .expect_err("no status line");
        assert_eq!(err, InfoError::NoStatusLine);
        assert!(err.to_string().contains("SUCCESS"), "{err}");
    }

    #[test]
    fn a_value_that_does_not_parse_is_a_typed_error_naming_name_and_value() {
        for value in [
            "not-an-ip",
            "203.0.113",
            "203.0.113.7.1",
            "",
            "203.0.113.7/24",
        ] {
            let out = format!("x.example.com. A {value}\n{STATUS}");
            let err = values_at(&out, "x.example.com", RecordType::A).expect_err(value);
            if value.is_empty() {
                // A line with a type but no value: the value is the empty string.
                assert!(matches!(err, InfoError::NotAnAddress { .. }), "{err}");
                continue;
            }
            assert_eq!(
                err,
                InfoError::NotAnAddress {
                    owner: "x.example.com".to_owned(),
                    record_type: "A",
                    value: value.to_owned(),
                }
            );
            assert!(err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn an_a_value_of_the_other_family_is_an_error() {
        let out = format!("x.example.com. A 2001:db8::1\n{STATUS}");
        let err = values_at(&out, "x.example.com", RecordType::A).expect_err("v6 in A");
        assert!(matches!(err, InfoError::WrongFamily { .. }), "{err}");
    }

    #[test]
    fn a_bad_value_at_another_name_does_not_block_this_one() {
        let out = format!("other.example.com. A garbage\nx.example.com. A 192.0.2.1\n{STATUS}");
        let listed = values_at(&out, "x.example.com", RecordType::A).expect("values");
        assert_eq!(addresses(&listed), vec![ip("192.0.2.1")]);
    }
}
