//! Why this exists: Plesk owns its zones, so on a Plesk server dyndns changes records only through
//! Plesk's own CLI (`plesk bin dns`), which keeps Plesk's database, the BIND zone and the panel in step.
//!
//! Facts used here are from the vendor's reference,
//! <https://docs.plesk.com/en-US/obsidian/cli-linux/using-command-line-utilities/dns-dns-zones-on-domains.37771>,
//! and the team's backend notes (`shared/reference/backends.md` §1, beside this repository):
//! - `--info <zone>` prints one record per line, `<owner-fqdn-with-dot> <TYPE> <rdata…>`, blank lines
//!   between, and ends with a `SUCCESS: Getting information for Domain '<zone>' …` status line (we
//!   match only its `SUCCESS:` prefix; the tail is not documented).
//! - `--add <zone> -a|-aaaa <label> -ip <addr>` exits 2 when the record already exists (documented).
//! - `--del` needs the record repeated exactly, so we pass the value as `--info` printed it.
//! - There is no "update": we add the new value first and then delete the old ones, so the name never
//!   has no answer (a moment with two addresses is harmless). No sleeps: we verify with a second `--info`.
//! - The apex label is the empty string, passed as an empty argv element.
//! - TTL: the per-record `-ttl` option is not in the vendor docs, so records get the zone's default TTL
//!   and `Change::ttl` is ignored.
//!
//! Error classification (Plesk's exact error texts are not documented, so this is a judgment):
//! - timeout, failure to start, an unexpected exit code → transient, with the command and its stderr;
//!   re-applying is safe because every apply starts from a fresh `--info`.
//! - a message saying the domain does not exist / cannot be found, or that DNS is switched off for it →
//!   permanent, carrying Plesk's message. See [`says_zone_unusable`].
//! - `--info` printing only the status line is NOT an error: an empty zone looks the same as a zone with
//!   DNS switched off. We go on and add; if DNS is off the `--add` fails with Plesk's message, which
//!   is then classified as above.
//! - output we cannot make sense of (no status line, an A value that is not an address) → permanent:
//!   retrying will not make Plesk print something else.

use std::net::IpAddr;
use std::time::Duration;

use super::{Applied, Backend, BackendError, Change, RecordType};
use crate::command::{self, display_argv, CommandOutput, RunOptions};

/// Drives `plesk bin dns` (or whatever `command_prefix` names, e.g. `/usr/local/psa/bin/dns`).
#[derive(Debug, Clone)]
pub struct Plesk {
    command_prefix: Vec<String>,
    timeout: Duration,
}

/// Plesk's documented exit code for `--add` of a record that is already there.
const EXIT_ALREADY_EXISTS: i32 = 2;

/// One value of the changed name and type, as `--info` listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    address: IpAddr,
    /// The text Plesk printed: `--del` must repeat the record exactly.
    raw: String,
}

impl Plesk {
    /// `command_prefix` is the argv before the subcommand: `["plesk", "bin", "dns"]`. `timeout` bounds
    /// each call (each one starts Plesk's PHP CLI, so allow seconds, not milliseconds).
    pub fn new(command_prefix: Vec<String>, timeout: Duration) -> Plesk {
        Plesk {
            command_prefix,
            timeout,
        }
    }

    async fn run(&self, args: &[&str]) -> Result<(Vec<String>, CommandOutput), BackendError> {
        if self.command_prefix.is_empty() {
            return Err(BackendError::Permanent(
                "plesk backend has an empty command prefix: nothing to run".to_owned(),
            ));
        }
        let argv: Vec<String> = self
            .command_prefix
            .iter()
            .cloned()
            .chain(args.iter().map(|a| (*a).to_owned()))
            .collect();
        tracing::debug!(command = %display_argv(&argv), "running plesk");
        let output = command::run(&argv, &RunOptions::new(self.timeout))
            .await
            .map_err(|e| BackendError::Transient(e.to_string()))?;
        Ok((argv, output))
    }

    /// The values of the change's name and type, from a fresh `--info`.
    async fn listed(&self, change: &Change) -> Result<Vec<Listed>, BackendError> {
        let (argv, output) = self.run(&["--info", &change.zone]).await?;
        if !output.status.success() {
            return Err(failure(&argv, &output));
        }
        if output.stdout_truncated {
            return Err(BackendError::Permanent(format!(
                "the output of `{}` is longer than {} bytes; refusing to act on part of the zone",
                display_argv(&argv),
                command::DEFAULT_OUTPUT_LIMIT
            )));
        }
        let unreadable = |why: String| {
            BackendError::Permanent(format!(
                "cannot read the output of `{}`: {why}",
                display_argv(&argv)
            ))
        };
        let stdout = output.stdout_text();
        let records = parse_info(&stdout).map_err(unreadable)?;
        values_at(&records, &change.host, change.record_type()).map_err(unreadable)
    }

    /// `--add` or `--del` of one value at the change's name and type; `also_fine` is an exit code that
    /// counts as success too.
    async fn edit_record(
        &self,
        subcommand: &str,
        change: &Change,
        value: &str,
        also_fine: Option<i32>,
    ) -> Result<(), BackendError> {
        let (argv, output) = self
            .run(&[
                subcommand,
                &change.zone,
                type_option(change.record_type()),
                &change.label,
                "-ip",
                value,
            ])
            .await?;
        if output.status.success() || (also_fine.is_some() && output.status.code() == also_fine) {
            Ok(())
        } else {
            Err(failure(&argv, &output))
        }
    }
}

#[async_trait::async_trait]
impl Backend for Plesk {
    fn name(&self) -> &'static str {
        "plesk"
    }

    async fn apply(&self, change: &Change) -> Result<Applied, BackendError> {
        change.check_names()?;
        let before = self.listed(change).await?;
        let previous = distinct(&before);
        if previous == [change.address] {
            return Ok(Applied {
                previous,
                changed: false,
            });
        }

        if !previous.contains(&change.address) {
            // "Already exists" means someone (a retry, a human) got there first; the final `--info`
            // checks the outcome either way.
            let address = change.address.to_string();
            self.edit_record("--add", change, &address, Some(EXIT_ALREADY_EXISTS))
                .await?;
        }
        for stale in before.iter().filter(|l| l.address != change.address) {
            // Plesk's own spelling of the value: `--del` must repeat the record exactly.
            self.edit_record("--del", change, &stale.raw, None).await?;
        }

        let after = distinct(&self.listed(change).await?);
        if after != [change.address] {
            return Err(BackendError::Transient(format!(
                "after updating, `{} --info {}` lists {} {:?} for {}; expected only {}",
                display_argv(&self.command_prefix),
                change.zone,
                change.record_type().as_str(),
                after,
                change.host,
                change.address
            )));
        }
        Ok(Applied {
            previous,
            changed: true,
        })
    }
}

fn type_option(record_type: RecordType) -> &'static str {
    match record_type {
        RecordType::A => "-a",
        RecordType::Aaaa => "-aaaa",
    }
}

/// Addresses in listing order, each once (`2001:DB8::7` and `2001:db8::7` are one address).
fn distinct(listed: &[Listed]) -> Vec<IpAddr> {
    let mut addresses: Vec<IpAddr> = Vec::with_capacity(listed.len());
    for l in listed {
        if !addresses.contains(&l.address) {
            addresses.push(l.address);
        }
    }
    addresses
}

/// A failed call: permanent when Plesk says the zone cannot be used at all, transient otherwise.
fn failure(argv: &[String], output: &CommandOutput) -> BackendError {
    let message = plesk_message(output);
    let described = format!(
        "`{}` failed ({}): {message}",
        display_argv(argv),
        output.status
    );
    if says_zone_unusable(&message) {
        BackendError::Permanent(described)
    } else {
        BackendError::Transient(described)
    }
}

/// What Plesk said: stderr, or stdout when stderr is empty, trimmed and capped for the job's error.
fn plesk_message(output: &CommandOutput) -> String {
    const MAX_CHARS: usize = 1000;
    let stderr = output.stderr_text();
    let stdout = output.stdout_text();
    let text = match (stderr.trim(), stdout.trim()) {
        ("", "") => return "no output".to_owned(),
        ("", out) => out,
        (err, _) => err,
    };
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// True for messages meaning "this zone cannot take records here": the domain is unknown to Plesk, or
/// its DNS service is switched off. Plesk's wording is not documented, so this matches loosely, but a
/// message about a missing *record* (a `--del` that lost a race) stays transient.
fn says_zone_unusable(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    let domain_missing = m.contains("domain")
        && !m.contains("record")
        && [
            "does not exist",
            "doesn't exist",
            "not found",
            "unable to find",
            "no such",
        ]
        .iter()
        .any(|p| m.contains(p));
    let dns_off = m.contains("dns")
        && ["switched off", "turned off", "is disabled"]
            .iter()
            .any(|p| m.contains(p));
    domain_missing || dns_off
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
fn parse_info(stdout: &str) -> Result<Vec<InfoRecord<'_>>, String> {
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
        Err("no `SUCCESS: Getting information for Domain …` status line".to_owned())
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

/// The values of `record_type` at `host`. A value that is not an address of that family means we
/// misread the output, so it is an error rather than skipped.
fn values_at(
    records: &[InfoRecord<'_>],
    host: &str,
    record_type: RecordType,
) -> Result<Vec<Listed>, String> {
    let host = normalize_name(host);
    records
        .iter()
        .filter(|r| r.owner == host && r.record_type == record_type.as_str())
        .map(|r| {
            let address: IpAddr = r.rdata.parse().map_err(|_| {
                format!(
                    "{host}. {} value {:?} is not an address",
                    record_type.as_str(),
                    r.rdata
                )
            })?;
            if RecordType::of(&address) != record_type {
                return Err(format!(
                    "{host}. {} value {:?} is the wrong address family",
                    record_type.as_str(),
                    r.rdata
                ));
            }
            Ok(Listed {
                address,
                raw: r.rdata.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
example.com. A 203.0.113.1

Home.Dyn.Example.COM. A 203.0.113.7
home.dyn.example.com. AAAA 2001:DB8::7
home.dyn.example.com. TXT v=spf1 a mx ~all
example.com. MX 10 mail.example.com.
_sip._tcp.example.com. SRV 10 5 5060 sip.example.com.

SUCCESS: Getting information for Domain 'example.com' complete.
";

    fn addresses(listed: &[Listed]) -> Vec<IpAddr> {
        listed.iter().map(|l| l.address).collect()
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
        let records = parse_info(INFO).expect("sample output parses");
        let listed = values_at(&records, "home.dyn.example.com", RecordType::A).expect("values");
        assert_eq!(addresses(&listed), vec![ip("203.0.113.7")]);
    }

    #[test]
    fn apex_values_are_found_by_zone_name() {
        let records = parse_info(INFO).expect("sample output parses");
        let listed = values_at(&records, "example.com", RecordType::A).expect("values");
        assert_eq!(addresses(&listed), vec![ip("203.0.113.1")]);
        let none = values_at(&records, "example.com", RecordType::Aaaa).expect("values");
        assert!(none.is_empty());
    }

    #[test]
    fn aaaa_values_compare_as_addresses_but_keep_plesk_spelling_for_delete() {
        let records = parse_info(INFO).expect("sample output parses");
        let listed = values_at(&records, "home.dyn.example.com", RecordType::Aaaa).expect("values");
        assert_eq!(addresses(&listed), vec![ip("2001:db8::7")]);
        assert_eq!(listed[0].raw, "2001:DB8::7");
    }

    #[test]
    fn same_address_spelled_twice_counts_once() {
        let listed = vec![
            Listed {
                address: ip("2001:db8::7"),
                raw: "2001:DB8::7".to_owned(),
            },
            Listed {
                address: ip("2001:db8::7"),
                raw: "2001:db8:0::7".to_owned(),
            },
        ];
        assert_eq!(distinct(&listed), vec![ip("2001:db8::7")]);
    }

    #[test]
    fn status_line_alone_is_an_empty_zone() {
        let records =
            parse_info("\nSUCCESS: Getting information for Domain 'example.com' complete.\n")
                .expect("status-only output parses");
        assert!(records.is_empty());
    }

    #[test]
    fn output_without_status_line_is_rejected() {
        let err = parse_info("example.com. A 203.0.113.1\n").expect_err("no status line");
        assert!(err.contains("SUCCESS"), "{err}");
    }

    #[test]
    fn a_value_that_is_not_an_address_is_an_error() {
        let records = parse_info(
            "x.example.com. A not-an-ip\nSUCCESS: Getting information for Domain 'example.com'\n",
        )
        .expect("parses");
        let err = values_at(&records, "x.example.com", RecordType::A).expect_err("bad value");
        assert!(err.contains("not-an-ip"), "{err}");
    }

    #[test]
    fn zone_level_messages_are_permanent_record_level_ones_are_not() {
        assert!(says_zone_unusable("Unable to find domain 'nope.example'."));
        assert!(says_zone_unusable(
            "Domain nope.example does not exist in Plesk"
        ));
        assert!(says_zone_unusable(
            "Unable to add record: DNS service for the domain is switched off"
        ));
        assert!(!says_zone_unusable(
            "Unable to delete record: no such record in domain example.com"
        ));
        assert!(!says_zone_unusable("Database connection failed"));
    }
}
