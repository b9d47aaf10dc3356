//! Why this exists: drives the zone-file backend through the `Backend` trait on real files and has BIND's
//! own `named-checkzone` judge every file it writes.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dyndns_worker::backend::{Applied, Backend, ZoneFile, ZoneFileOptions};
use dyndns_worker::reconcile::Reconcile;
use tempfile::TempDir;

use crate::named;
use crate::util::{change, ip};

pub struct Setup {
    pub dir: TempDir,
}

impl Setup {
    /// The backend with these options; they are valid in every test that uses this.
    pub fn backend(&self) -> ZoneFile {
        ZoneFile::new(self.options()).expect("test options are valid")
    }

    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn options(&self) -> ZoneFileOptions {
        ZoneFileOptions {
            path_template: self.dir.path().join("db.{zone}"),
            reload: None,
            reload_timeout: Duration::from_secs(10),
            nameserver: None,
            hostmaster: None,
            default_ttl: 300,
        }
    }

    pub fn path(&self, zone: &str) -> PathBuf {
        self.dir.path().join(format!("db.{zone}"))
    }

    pub fn text(&self, zone: &str) -> String {
        std::fs::read_to_string(self.path(zone)).expect("zone file exists")
    }

    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("list temp dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }
}

pub fn serial(text: &str) -> u32 {
    let soa = text
        .lines()
        .find(|l| !l.starts_with(';') && l.split_whitespace().any(|w| w == "SOA"))
        .expect("an SOA line");
    let words: Vec<&str> = soa.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "SOA").expect("SOA word");
    words[at + 3].parse().expect("numeric serial")
}

#[tokio::test]
async fn missing_file_is_created_valid() {
    let setup = Setup::new();
    let backend: Box<dyn Backend> = Box::new(setup.backend());
    let applied = backend
        .apply(&change("example.com", "home.dyn", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(
        applied,
        Applied {
            previous: vec![],
            changed: true
        }
    );
    let text = setup.text("example.com");
    assert!(text.contains("$ORIGIN example.com.\n"), "{text}");
    assert!(text.contains("$TTL 300\n"), "{text}");
    assert!(text.contains("@ IN NS localhost.\n"), "{text}");
    assert!(text.contains("hostmaster.example.com."), "{text}");
    assert!(text.ends_with("home.dyn 60 IN A 198.51.100.7\n"), "{text}");
    assert!(serial(&text) >= 2024010100);
    assert_eq!(setup.files(), vec!["db.example.com".to_owned()]);
    let mode = std::fs::metadata(setup.path("example.com"))
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
    named::assert_accepts("example.com", &setup.path("example.com"));
}

#[tokio::test]
async fn new_address_replaces_the_old_and_bumps_the_serial() {
    let setup = Setup::new();
    let backend = setup.backend();
    backend
        .apply(&change("example.com", "home", "198.51.100.7"))
        .await
        .expect("first apply");
    let first = setup.text("example.com");

    let applied = backend
        .apply(&change("example.com", "home", "198.51.100.8"))
        .await
        .expect("second apply");
    assert_eq!(
        applied,
        Applied {
            previous: vec![ip("198.51.100.7").into()],
            changed: true
        }
    );
    let second = setup.text("example.com");
    assert!(serial(&second) > serial(&first));
    assert!(second.contains("home 60 IN A 198.51.100.8\n"), "{second}");
    assert!(!second.contains("198.51.100.7"), "{second}");
    named::assert_accepts("example.com", &setup.path("example.com"));
}

#[tokio::test]
async fn unchanged_address_writes_nothing() {
    let setup = Setup::new();
    let backend = setup.backend();
    let home = change("example.com", "home", "2001:db8::7");
    backend.apply(&home).await.expect("first apply");
    let path = setup.path("example.com");
    let before = std::fs::read_to_string(&path).expect("read");
    let inode_before = std::fs::metadata(&path).expect("metadata");

    // Same address, spelled differently in the file: still unchanged.
    std::fs::write(&path, before.replace("2001:db8::7", "2001:DB8:0::7")).expect("respell");
    let respelled = std::fs::read_to_string(&path).expect("read");
    let inode_respelled = std::fs::metadata(&path).expect("metadata");

    let applied = backend.apply(&home).await.expect("second apply");
    assert_eq!(
        applied,
        Applied {
            previous: vec![ip("2001:db8::7").into()],
            changed: false
        }
    );
    // No rename happened (same inode) and the content is untouched.
    use std::os::unix::fs::MetadataExt;
    let after = std::fs::metadata(&path).expect("metadata");
    assert_eq!(after.ino(), inode_respelled.ino());
    assert_eq!(inode_before.ino(), inode_respelled.ino());
    assert_eq!(std::fs::read_to_string(&path).expect("read"), respelled);
}

#[tokio::test]
async fn lines_dyndns_does_not_own_are_kept_verbatim() {
    let setup = Setup::new();
    let original = "\
; hand-written header, keep me
$ORIGIN example.com.
$TTL 3600
@   IN SOA ns1.example.net. admin.example.com. ( 2030010105 7200 900 1209600 300 ) ; serial here
@   IN NS  ns1.example.net.
@   IN MX  10 mail.example.net.
www 3600 IN A 192.0.2.80
txt IN TXT ( \"v=spf1 a mx\"
      \"home IN A 10.9.9.9\" )
home 60 IN A 192.0.2.1
     60 IN TXT \"home's note\"
";
    std::fs::write(setup.path("example.com"), original).expect("seed zone");
    let backend = setup.backend();
    let applied = backend
        .apply(&change("example.com", "home", "198.51.100.7"))
        .await
        .expect("apply");
    assert_eq!(applied.previous, vec![ip("192.0.2.1")]);

    let expected = original
        .replace("2030010105", "2030010106")
        .replace("home 60 IN A 192.0.2.1", "home 60 IN A 198.51.100.7");
    assert_eq!(setup.text("example.com"), expected);
    named::assert_accepts("example.com", &setup.path("example.com"));
}

#[tokio::test]
async fn apex_and_aaaa_records() {
    let setup = Setup::new();
    let backend = setup.backend();
    backend
        .apply(&change("example.com", "", "192.0.2.10"))
        .await
        .expect("apex A");
    backend
        .apply(&change("example.com", "", "2001:db8::10"))
        .await
        .expect("apex AAAA");
    let applied = backend
        .apply(&change("example.com", "", "2001:db8::11"))
        .await
        .expect("apex AAAA again");
    assert_eq!(applied.previous, vec![ip("2001:db8::10")]);
    let text = setup.text("example.com");
    assert!(text.contains("@ 60 IN A 192.0.2.10\n"), "{text}");
    assert!(text.contains("@ 60 IN AAAA 2001:db8::11\n"), "{text}");
    assert!(!text.contains("2001:db8::10"), "{text}");
    named::assert_accepts("example.com", &setup.path("example.com"));
}

#[tokio::test]
async fn custom_nameserver_and_hostmaster() {
    let setup = Setup::new();
    let mut options = setup.options();
    options.nameserver = Some("ns.example.net".to_owned());
    options.hostmaster = Some("dns-admin.example.net.".to_owned());
    ZoneFile::new(options)
        .expect("valid options")
        .apply(&change("example.org", "home", "192.0.2.1"))
        .await
        .expect("apply");
    let text = setup.text("example.org");
    assert!(
        text.contains("@ IN SOA ns.example.net. dns-admin.example.net. "),
        "{text}"
    );
    assert!(text.contains("@ IN NS ns.example.net.\n"), "{text}");
    named::assert_accepts("example.org", &setup.path("example.org"));
}

#[tokio::test]
async fn reload_runs_after_a_write_with_the_zone_substituted() {
    let setup = Setup::new();
    let marker = setup.dir.path().join("reloaded-example.com");
    let mut options = setup.options();
    options.reload = Some(vec![
        "/bin/touch".to_owned(),
        setup
            .dir
            .path()
            .join("reloaded-{zone}")
            .to_string_lossy()
            .into_owned(),
    ]);
    let backend = ZoneFile::new(options).expect("valid options");
    backend
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect("apply");
    assert!(marker.exists(), "reload command did not run");

    // Nothing written and the last reload succeeded: no reload.
    std::fs::remove_file(&marker).expect("remove marker");
    let applied = backend
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect("apply unchanged");
    assert!(!applied.changed);
    assert!(!marker.exists(), "reloaded although nothing changed");
}

#[tokio::test]
async fn failed_reload_is_transient_and_retried_on_the_next_apply() {
    let setup = Setup::new();
    let allow = setup.dir.path().join("reload-ok");
    let mut options = setup.options();
    // Succeeds only while the file `reload-ok` exists.
    options.reload = Some(vec![
        "/usr/bin/test".to_owned(),
        "-e".to_owned(),
        allow.to_string_lossy().into_owned(),
    ]);
    let backend = ZoneFile::new(options).expect("valid options");
    let home = change("example.com", "home", "192.0.2.1");

    // A fresh process owes each zone a reload: while it fails, nothing is read or written.
    let err = backend
        .apply(&home)
        .await
        .expect_err("the owed reload fails");
    assert!(err.is_transient(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("the reload owed to the DNS server")
            && message.contains("`/usr/bin/test -e "),
        "{message}"
    );
    assert!(!setup.path("example.com").exists());

    // The reload works: the change is written and reloaded.
    std::fs::write(&allow, "").expect("allow reload");
    assert!(backend.apply(&home).await.expect("applied").changed);

    // The reload after a write fails: transient, although the file is already right.
    let moved = change("example.com", "home", "192.0.2.2");
    std::fs::remove_file(&allow).expect("forbid reload");
    let err = backend.apply(&moved).await.expect_err("reload fails");
    assert!(err.is_transient(), "{err:?}");
    assert!(
        err.to_string()
            .contains("zone example.com is written but not reloaded"),
        "{err}"
    );
    assert!(setup.text("example.com").contains("home 60 IN A 192.0.2.2"));

    // The retry finds the file right but must still reload; the reload now works.
    std::fs::write(&allow, "").expect("allow reload");
    let applied = backend.apply(&moved).await.expect("retry reloads");
    assert!(!applied.changed);

    // Reloaded once since the last write: another unchanged apply does not reload (it would fail).
    std::fs::remove_file(&allow).expect("forbid reload");
    backend.apply(&moved).await.expect("no reload needed");
}

#[tokio::test]
async fn mode_of_an_existing_file_is_kept() {
    let setup = Setup::new();
    let path = setup.path("example.com");
    std::fs::write(
        &path,
        "@ IN SOA localhost. hostmaster 1 3600 900 1209600 300\n@ IN NS localhost.\n",
    )
    .expect("seed");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    setup
        .backend()
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect("apply");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(serial(&setup.text("example.com")) > 1);
    assert_eq!(setup.files(), vec!["db.example.com".to_owned()]);
}

#[tokio::test]
async fn concurrent_applies_to_one_zone_keep_both_records() {
    let setup = Setup::new();
    let backend = Arc::new(setup.backend());
    let mut tasks = Vec::new();
    for i in 1..=8 {
        let backend = Arc::clone(&backend);
        tasks.push(tokio::spawn(async move {
            backend
                .apply(&change(
                    "example.com",
                    &format!("h{i}"),
                    &format!("192.0.2.{i}"),
                ))
                .await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("apply");
    }
    let text = setup.text("example.com");
    for i in 1..=8 {
        assert!(
            text.contains(&format!("h{i} 60 IN A 192.0.2.{i}\n")),
            "{text}"
        );
    }
    named::assert_accepts("example.com", &setup.path("example.com"));
}

#[tokio::test]
async fn symlinked_zone_file_is_refused() {
    let setup = Setup::new();
    let real = setup.dir.path().join("real");
    std::fs::write(&real, "@ IN SOA localhost. hostmaster 1 2 3 4 5\n").expect("seed");
    std::os::unix::fs::symlink(&real, setup.path("example.com")).expect("symlink");
    let err = setup
        .backend()
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect_err("refused");
    assert!(
        !err.is_transient() && err.to_string().contains("symbolic link"),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreadable_zone_content_is_permanent_and_names_the_line() {
    let setup = Setup::new();
    std::fs::write(
        setup.path("example.com"),
        "@ IN SOA localhost. hostmaster 1 2 3 4 5\nhome IN A not-an-address\n",
    )
    .expect("seed");
    let err = setup
        .backend()
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect_err("refused");
    let expected = format!("{}:2:", setup.path("example.com").display());
    assert!(
        !err.is_transient() && err.to_string().contains(&expected),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_folder_is_transient_and_names_the_path() {
    let setup = Setup::new();
    let mut options = setup.options();
    options.path_template = setup.dir.path().join("no-such-dir/db.{zone}");
    let err = ZoneFile::new(options)
        .expect("valid options")
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect_err("cannot write");
    assert!(
        err.is_transient() && err.to_string().contains("no-such-dir/db.example.com"),
        "{err:?}"
    );
}

#[tokio::test]
async fn file_of_another_zone_is_refused() {
    let setup = Setup::new();
    let mut options = setup.options();
    // A template without {zone}: every zone would land in one file.
    options.path_template = setup.dir.path().join("db.shared");
    let backend = ZoneFile::new(options).expect("valid options");
    backend
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect("first zone creates the file");
    let err = backend
        .apply(&change("example.org", "home", "192.0.2.1"))
        .await
        .expect_err("second zone refused");
    assert!(
        !err.is_transient() && err.to_string().contains("not \"example.org\""),
        "{err:?}"
    );
}

#[tokio::test]
async fn empty_file_is_filled_in_and_keeps_its_mode() {
    let setup = Setup::new();
    let path = setup.path("example.com");
    std::fs::write(&path, "\n").expect("touch");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let applied = setup
        .backend()
        .apply(&change("example.com", "home", "192.0.2.1"))
        .await
        .expect("apply");
    assert!(applied.changed);
    assert!(setup.text("example.com").contains("$ORIGIN example.com.\n"));
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    named::assert_accepts("example.com", &path);
}

#[test]
fn bad_soa_name_stops_the_backend_at_start_not_every_change() {
    let setup = Setup::new();
    let mut options = setup.options();
    options.nameserver = Some("ns1.example.com. IN NS evil.".to_owned());
    let err = ZoneFile::new(options).expect_err("refused at start");
    assert!(
        err.to_string()
            .starts_with("[backend.zonefile] nameserver = \"ns1.example.com. IN NS evil.\""),
        "{err}"
    );
}
