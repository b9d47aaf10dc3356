//! Why this exists: drives the Plesk backend through the `Backend` trait against `tests/fake-plesk` and
//! checks the exact argv sequence it sends, since on a real server every call is a change to a zone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dyndns_worker::backend::{Applied, Backend, BackendError, Change, Plesk, RecordType, Value};
use dyndns_worker::reconcile::{apply_batch, BatchRules, Reconcile};
use tempfile::TempDir;

use crate::util::{change, ip, process_gone, read_pid_file};

/// A private copy of `tests/fake-plesk` in its own folder; its state files live beside it.
struct FakePlesk {
    dir: TempDir,
    script: PathBuf,
}

impl FakePlesk {
    fn new() -> FakePlesk {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("fake-plesk");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake-plesk");
        // Copied by a separate process: if this process held the new file open for writing while
        // another test thread forks, exec'ing it could fail with ETXTBSY.
        let status = std::process::Command::new("/bin/cp")
            .arg(&source)
            .arg(&script)
            .status()
            .expect("run /bin/cp");
        assert!(status.success(), "copying {} failed", source.display());
        FakePlesk { dir, script }
    }

    fn with_records(self, records: &str) -> FakePlesk {
        self.write("records", records);
        self
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.dir.path().join(name), content).expect("write fake-plesk state");
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    fn backend(&self, timeout: Duration) -> Box<dyn Backend> {
        Box::new(Plesk::new(
            vec![self.script.to_string_lossy().into_owned()],
            timeout,
        ))
    }

    async fn apply(&self, change: Change) -> Result<Applied, BackendError> {
        self.backend(TIMEOUT).apply(&change).await
    }

    /// The argv of every call so far, as fake-plesk logged them.
    fn assert_calls(&self, expected: &[&str]) {
        let calls: Vec<String> = self.read("calls.log").lines().map(str::to_owned).collect();
        assert_eq!(calls, expected);
    }

    fn records(&self) -> Vec<String> {
        self.read("records").lines().map(str::to_owned).collect()
    }

    fn has_record(&self, record: &str) -> bool {
        self.records().iter().any(|r| r == record)
    }
}

const TIMEOUT: Duration = Duration::from_secs(20);

const ZONE: &str = "\
example.com. A 203.0.113.1
example.com. MX 10 mail.example.com.
example.com. TXT v=spf1 a mx ~all
";

#[tokio::test]
async fn fresh_name_is_added_and_verified() {
    let fake = FakePlesk::new().with_records(ZONE);
    let applied = fake
        .apply(change("example.com", "home.dyn", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(
        applied,
        Applied {
            previous: vec![],
            changed: true
        }
    );
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a home.dyn -ip 198.51.100.7",
        "--info example.com",
    ]);
    assert!(fake.has_record("home.dyn.example.com. A 198.51.100.7"));
}

#[tokio::test]
async fn unchanged_address_only_reads() {
    let fake = FakePlesk::new().with_records(&format!("{ZONE}home.example.com. A 198.51.100.7\n"));
    let applied = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(
        applied,
        Applied {
            previous: vec![ip("198.51.100.7").into()],
            changed: false
        }
    );
    fake.assert_calls(&["--info example.com"]);
}

#[tokio::test]
async fn stale_value_is_deleted_after_the_new_one_is_added() {
    let fake = FakePlesk::new().with_records(&format!("{ZONE}home.example.com. A 192.0.2.1\n"));
    let applied = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(
        applied,
        Applied {
            previous: vec![ip("192.0.2.1").into()],
            changed: true
        }
    );
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a home -ip 198.51.100.7",
        "--del example.com -a home -ip 192.0.2.1",
        "--info example.com",
    ]);
    let records = fake.records();
    assert!(records.contains(&"home.example.com. A 198.51.100.7".to_owned()));
    assert!(!records.iter().any(|r| r.contains("192.0.2.1")));
}

#[tokio::test]
async fn two_stale_values_are_both_deleted() {
    let fake = FakePlesk::new().with_records(&format!(
        "{ZONE}home.example.com. A 192.0.2.1\nhome.example.com. A 192.0.2.2\n"
    ));
    let applied = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(applied.previous, vec![ip("192.0.2.1"), ip("192.0.2.2")]);
    assert!(applied.changed);
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a home -ip 198.51.100.7",
        "--del example.com -a home -ip 192.0.2.1",
        "--del example.com -a home -ip 192.0.2.2",
        "--info example.com",
    ]);
}

#[tokio::test]
async fn address_already_present_beside_a_stale_one_is_not_added_again() {
    let fake = FakePlesk::new().with_records(&format!(
        "{ZONE}home.example.com. A 198.51.100.7\nhome.example.com. A 192.0.2.1\n"
    ));
    let applied = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect("apply");
    assert!(applied.changed);
    fake.assert_calls(&[
        "--info example.com",
        "--del example.com -a home -ip 192.0.2.1",
        "--info example.com",
    ]);
}

#[tokio::test]
async fn already_exists_on_add_is_tolerated() {
    let fake = FakePlesk::new().with_records(ZONE);
    fake.write("add-races", "");
    let applied = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect("exit 2 from --add is not an error");
    assert!(applied.changed);
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a home -ip 198.51.100.7",
        "--info example.com",
    ]);
}

#[tokio::test]
async fn aaaa_is_compared_as_an_address_not_as_text() {
    let fake =
        FakePlesk::new().with_records(&format!("{ZONE}home.example.com. AAAA 2001:DB8::7\n"));
    let applied = fake
        .apply(change("example.com", "home", "2001:db8::7"))
        .await
        .expect("apply");
    assert!(!applied.changed);
    fake.assert_calls(&["--info example.com"]);
}

#[tokio::test]
async fn aaaa_change_uses_aaaa_option_and_plesks_spelling_for_delete() {
    let fake = FakePlesk::new().with_records(&format!(
        "{ZONE}home.example.com. A 198.51.100.7\nhome.example.com. AAAA 2001:DB8::1\n"
    ));
    let applied = fake
        .apply(change("example.com", "home", "2001:db8::7"))
        .await
        .expect("apply");
    assert_eq!(applied.previous, vec![ip("2001:db8::1")]);
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -aaaa home -ip 2001:db8::7",
        "--del example.com -aaaa home -ip 2001:DB8::1",
        "--info example.com",
    ]);
    // The A record of the same name is another RRset and stays.
    assert!(fake.has_record("home.example.com. A 198.51.100.7"));
}

#[tokio::test]
async fn apex_label_is_an_empty_argument() {
    let fake = FakePlesk::new().with_records(ZONE);
    let applied = fake
        .apply(change("example.com", "", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(applied.previous, vec![ip("203.0.113.1")]);
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a '' -ip 198.51.100.7",
        "--del example.com -a '' -ip 203.0.113.1",
        "--info example.com",
    ]);
    assert!(fake.has_record("example.com. A 198.51.100.7"));
}

#[tokio::test]
async fn failing_plesk_is_transient_with_its_message() {
    let fake = FakePlesk::new().with_records(ZONE);
    fake.write("fail", "ERROR: Unable to connect to the Plesk database\n");
    let err = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect_err("fails");
    assert!(err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("Unable to connect to the Plesk database"),
        "{message}"
    );
    assert!(message.contains("--info example.com"), "{message}");
    fake.assert_calls(&["--info example.com"]);
}

#[tokio::test]
async fn hanging_plesk_times_out_and_its_process_group_is_killed() {
    let fake = FakePlesk::new().with_records(ZONE);
    fake.write("hang", "");
    let started = Instant::now();
    let err = fake
        .backend(Duration::from_secs(1))
        .apply(&change("example.com", "home", "198.51.100.7"))
        .await
        .expect_err("times out");
    let took = started.elapsed();
    assert!(
        err.is_transient() && err.to_string().contains("timed out after 1s"),
        "{err:?}"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    let sleep = read_pid_file(&fake.dir.path().join("hang.pid"), Duration::from_secs(1)).await;
    assert!(
        process_gone(sleep, Duration::from_secs(2)).await,
        "fake-plesk's sleep {sleep} survived the timeout"
    );
}

/// A Plesk whose `--add` hangs while `--info` answers (a locked database, say) costs one timeout
/// per batch, not one per change: the rest of the batch is left for the retry, as the command
/// backend does. A batch of 1,000 hosts once held its zone (and SIGTERM) for 1,000 timeouts.
#[tokio::test]
async fn a_hanging_change_stops_the_batch_after_one_timeout() {
    let fake = FakePlesk::new().with_records(ZONE);
    fake.write("hang-changes", "");
    let batch: Vec<Change> = (1..=3)
        .map(|n| change("example.com", &format!("h{n}"), &format!("198.51.100.{n}")))
        .collect();
    let started = Instant::now();
    let results = fake
        .backend(Duration::from_secs(1))
        .apply_batch("example.com", &batch)
        .await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    let first = results[0].as_ref().unwrap_err();
    assert!(
        first.is_transient() && first.to_string().contains("timed out"),
        "{first}"
    );
    for result in &results[1..] {
        let error = result.as_ref().unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(error.to_string().contains("not run"), "{error}");
    }
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a h1 -ip 198.51.100.1",
    ]);
}

#[tokio::test]
async fn unknown_zone_is_permanent_with_plesks_message() {
    let fake = FakePlesk::new().with_records(ZONE);
    fake.write("unknown-zones", "nope.example\n");
    let err = fake
        .apply(change("nope.example", "home", "198.51.100.7"))
        .await
        .expect_err("unknown zone");
    assert!(
        !err.is_transient()
            && err
                .to_string()
                .contains("Unable to find domain 'nope.example'"),
        "{err:?}"
    );
    fake.assert_calls(&["--info nope.example"]);
}

#[tokio::test]
async fn zone_with_dns_switched_off_fails_permanently_on_add() {
    let fake = FakePlesk::new().with_records(ZONE);
    fake.write("dns-off-zones", "example.com\n");
    let err = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect_err("dns is off");
    assert!(
        !err.is_transient() && err.to_string().contains("switched off"),
        "{err:?}"
    );
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a home -ip 198.51.100.7",
    ]);
}

#[tokio::test]
async fn change_that_does_not_stick_is_transient_and_says_what_was_seen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let info = dir.path().join("info.txt");
    std::fs::write(
        &info,
        "home.example.com. A 192.0.2.1\nSUCCESS: Getting information for Domain 'example.com' complete.\n",
    )
    .expect("write canned output");
    // Every call prints the same canned `--info` output and exits 0 (the arguments after the script
    // become bash's $0, $1, … and are ignored): a Plesk that accepts changes but never makes them.
    let backend = Plesk::new(
        vec![
            "/bin/bash".to_owned(),
            "-c".to_owned(),
            format!("/bin/cat '{}'", info.display()),
            "plesk".to_owned(),
        ],
        TIMEOUT,
    );
    let err = backend
        .apply(&change("example.com", "home", "198.51.100.7"))
        .await
        .expect_err("not verified");
    assert!(err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("192.0.2.1"), "{message}");
    assert!(message.contains("to [198.51.100.7]"), "{message}");
}

#[tokio::test]
async fn mismatched_host_and_label_is_refused_before_any_call() {
    let fake = FakePlesk::new().with_records(ZONE);
    let mut bad = change("example.com", "home", "198.51.100.7");
    bad.label = "-ip".to_owned();
    let err = fake
        .backend(TIMEOUT)
        .apply(&bad)
        .await
        .expect_err("refused");
    assert!(!err.is_transient(), "{err:?}");
    fake.assert_calls(&[]);
}

#[tokio::test]
async fn a_value_that_does_not_parse_is_a_permanent_error_for_that_change_only() {
    // Seen in review: an `--info` A value that is not an address. It must refuse this change with a
    // message naming the value, make no change call, and leave changes of other names working.
    let fake = FakePlesk::new()
        .with_records("home.example.com. A 203.0.113.300\nother.example.com. A 192.0.2.1\n");
    let err = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect_err("unreadable value");
    assert!(!err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("home.example.com. A value \"203.0.113.300\" is not an address"),
        "{message}"
    );
    assert!(message.contains("--info example.com"), "{message}");
    fake.assert_calls(&["--info example.com"]);

    fake.apply(change("example.com", "other", "192.0.2.2"))
        .await
        .expect("another name is unaffected");
    assert!(fake.has_record("other.example.com. A 192.0.2.2"));
    assert!(fake.has_record("home.example.com. A 203.0.113.300"));
}

#[tokio::test]
async fn a_cname_at_the_host_is_refused_before_any_change() {
    // Plesk would refuse the A record (or, worse, keep both): either way no retry can help.
    let fake =
        FakePlesk::new().with_records(&format!("{ZONE}home.example.com. CNAME example.com.\n"));
    let err = fake
        .apply(change("example.com", "home", "198.51.100.7"))
        .await
        .expect_err("an alias");
    assert!(!err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("--info example.com`, home.example.com. is an alias (CNAME example.com.)"),
        "{message}"
    );
    fake.assert_calls(&["--info example.com"]);
}

/// A delete at an alias has nothing to remove (no address may stand beside a CNAME): it is done,
/// with no `--del`, and never dead-lettered as "an alias".
#[tokio::test]
async fn a_delete_at_a_cname_is_done_without_a_change() {
    let fake =
        FakePlesk::new().with_records(&format!("{ZONE}home.example.com. CNAME example.com.\n"));
    let applied = fake
        .apply(Change::delete(
            "home.example.com",
            "example.com",
            "home",
            RecordType::A,
        ))
        .await
        .expect("nothing to delete is done");
    assert!(!applied.changed, "{applied:?}");
    fake.assert_calls(&["--info example.com"]);
    assert!(fake.has_record("home.example.com. CNAME example.com."));
}

fn txt(label: &str, texts: &[&str]) -> Change {
    Change::replace(
        &format!("{label}.example.com"),
        "example.com",
        label,
        RecordType::Txt,
        texts
            .iter()
            .map(|text| Value::Txt((*text).to_owned()))
            .collect(),
        60,
    )
}

#[tokio::test]
async fn a_txt_value_with_spaces_is_added_before_the_old_one_goes() {
    let fake = FakePlesk::new().with_records(&format!("{ZONE}home.example.com. TXT old token\n"));
    let applied = fake
        .apply(txt("home", &["new token; with spaces"]))
        .await
        .expect("apply");
    assert!(applied.changed);
    assert_eq!(applied.previous, [Value::Txt("old token".to_owned())]);
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -txt new token; with spaces -domain home",
        "--del example.com -txt old token -domain home",
        "--info example.com",
    ]);
    assert!(fake.has_record("home.example.com. TXT new token; with spaces"));
    // The zone's own TXT at the apex is another RRset: untouched.
    assert!(fake.has_record("example.com. TXT v=spf1 a mx ~all"));
}

#[tokio::test]
async fn a_delete_removes_every_value_of_its_type_and_a_batch_shares_one_listing() {
    let fake = FakePlesk::new().with_records(&format!(
        "{ZONE}home.example.com. A 192.0.2.1\nhome.example.com. A 192.0.2.2\nhome.example.com. AAAA 2001:db8::1\n"
    ));
    let backend = fake.backend(TIMEOUT);
    let results = backend
        .apply_batch(
            "example.com",
            &[
                Change::delete("home.example.com", "example.com", "home", RecordType::A),
                txt("lab", &["acme-token"]),
            ],
        )
        .await;
    assert!(
        results.iter().all(|r| r.as_ref().is_ok_and(|a| a.changed)),
        "{results:?}"
    );
    fake.assert_calls(&[
        "--info example.com",
        "--del example.com -a home -ip 192.0.2.1",
        "--del example.com -a home -ip 192.0.2.2",
        "--add example.com -txt acme-token -domain lab",
        "--info example.com",
    ]);
    assert!(fake.has_record("home.example.com. AAAA 2001:db8::1"));
    assert!(!fake
        .records()
        .iter()
        .any(|r| r.starts_with("home.example.com. A ")));
}

/// `create_missing = false` on Plesk holds to what `--info` lists: a name with only a TXT exists,
/// a name that only has names below it (not listed) and one never seen do not, and nothing is
/// added for them.
#[tokio::test]
async fn create_missing_false_holds_to_the_names_info_lists() {
    let fake = FakePlesk::new().with_records(&format!(
        "{ZONE}txtonly.example.com. TXT hello\nleaf.branch.example.com. A 192.0.2.40\n"
    ));
    let rules = BatchRules {
        create_missing: false,
    };
    let batch = [
        change("example.com", "txtonly", "192.0.2.41"),
        change("example.com", "branch", "192.0.2.42"),
        change("example.com", "nobody", "192.0.2.43"),
    ];
    let results = apply_batch(&*fake.backend(TIMEOUT), "example.com", &batch, rules).await;
    assert!(results[0].as_ref().unwrap().changed);
    for refused in &results[1..] {
        let error = refused.as_ref().unwrap_err();
        assert!(!error.is_transient(), "{error}");
        assert!(
            error.to_string().contains("create_missing = false"),
            "{error}"
        );
    }
    fake.assert_calls(&[
        "--info example.com",
        "--add example.com -a txtonly -ip 192.0.2.41",
        "--info example.com",
    ]);
}
