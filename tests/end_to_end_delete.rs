//! The delete, end to end with the real binaries on the zone-file backend: `GET /nic/delete` and
//! `offline=yes` go through the one update path (credentials, host checks, the spool) and the
//! worker removes the host's A and AAAA records from the zone file; a repeat is `nochg`, and the
//! old address is `good` again afterwards and lands.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::time::Duration;

use util::{eventually, Frontend, Site, HOST, PASSWORD, USER};

/// A site whose worker writes `zones/example.com.zone` (no reload: nothing serves it here).
fn zone_file_site() -> Site {
    on_zone_file(Site::new())
}

fn on_zone_file(site: Site) -> Site {
    let text = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace("backend = \"plesk\"", "backend = \"zonefile\"")
        + "\n[backend.zonefile]\npath = \"zones/{zone}.zone\"\n";
    std::fs::write(site.config_path(), text).unwrap();
    std::fs::create_dir_all(site.path().join("zones")).unwrap();
    site
}

/// The zone file's records of `home.dyn`, each as `TYPE value`, sorted.
fn home_records(site: &Site) -> Vec<String> {
    let text = std::fs::read_to_string(site.path().join("zones/example.com.zone"))
        .expect("the worker wrote the zone file");
    let mut records: Vec<String> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (name, rest) = fields.split_first()?;
            if *name != "home.dyn" && *name != "home.dyn.example.com." {
                return None;
            }
            let at = rest
                .iter()
                .position(|field| matches!(*field, "A" | "AAAA"))?;
            Some(rest[at..].join(" "))
        })
        .collect();
    records.sort();
    records
}

fn delete(frontend: &Frontend, query: &str) -> util::Response {
    frontend.get(&format!("/nic/delete?{query}"), Some((USER, PASSWORD)))
}

/// The job files waiting in `new/`, parsed.
fn pending_jobs(site: &Site) -> Vec<dyndns_queue::Job> {
    site.files_in("new")
        .iter()
        .map(|name| {
            dyndns_queue::Job::parse(&std::fs::read(site.spool("new").join(name)).unwrap())
                .expect("the frontend writes valid jobs")
        })
        .collect()
}

#[test]
fn nic_delete_removes_a_and_aaaa_from_the_zone_file_and_the_old_address_lands_again() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7,2001:db8::7"));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::7\n");
    site.run_worker_once();
    assert_eq!(home_records(&site), ["A 203.0.113.7", "AAAA 2001:db8::7"]);

    let reply = delete(&frontend, &format!("hostname={HOST}"));
    assert_eq!((reply.status, reply.body.as_str()), (200, "good\n"));
    let jobs = pending_jobs(&site);
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        job.delete,
        [dyndns_queue::Family::V4, dyndns_queue::Family::V6]
    );
    assert_eq!((job.ipv4, job.ipv6), (None, None));
    let version = std::fs::read_to_string(site.spool("new").join(&site.files_in("new")[0]))
        .unwrap()
        .contains(r#""version":2"#);
    assert!(version, "a delete is a version-2 job");

    // A repeat before the worker ran is `nochg` from memory, without a job.
    assert_eq!(
        delete(&frontend, &format!("hostname={HOST}")).body,
        "nochg\n"
    );
    assert_eq!(site.files_in("new").len(), 1);

    site.run_worker_once();
    assert!(home_records(&site).is_empty(), "{:?}", home_records(&site));
    assert!(site.files_in("cur").is_empty() && site.files_in("failed").is_empty());

    // After the worker: still `nochg`, and so for a frontend started afresh (from applied.json).
    assert_eq!(
        delete(&frontend, &format!("hostname={HOST}")).body,
        "nochg\n"
    );
    drop(frontend);
    let frontend = site.start_frontend();
    assert_eq!(
        delete(&frontend, &format!("hostname={HOST}")).body,
        "nochg\n"
    );
    assert!(site.files_in("new").is_empty());

    // The old address is a change again, and lands.
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7,2001:db8::7"));
    assert_eq!(reply.body, "good 203.0.113.7,2001:db8::7\n");
    site.run_worker_once();
    assert_eq!(home_records(&site), ["A 203.0.113.7", "AAAA 2001:db8::7"]);
}

#[test]
fn offline_yes_deletes_like_nic_delete_and_ignores_myip() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    frontend.update(&format!("hostname={HOST}&myip=203.0.113.7,2001:db8::7"));
    site.run_worker_once();

    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.9&offline=YES"));
    assert_eq!((reply.status, reply.body.as_str()), (200, "good\n"));
    let jobs = pending_jobs(&site);
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].ipv4, jobs[0].delete.len()),
        (None, 2),
        "myip ignored"
    );
    let reply = frontend.update(&format!("hostname={HOST}&offline=yes"));
    assert_eq!(reply.body, "nochg\n");
    site.run_worker_once();
    assert!(home_records(&site).is_empty(), "{:?}", home_records(&site));

    // `offline=no` is a plain update; the old address is `good` again after a delete.
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7&offline=no"));
    assert_eq!(reply.body, "good 203.0.113.7\n");
    site.run_worker_once();
    assert_eq!(home_records(&site), ["A 203.0.113.7"]);
}

#[test]
fn a_delete_names_several_hosts_and_takes_query_credentials() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    let hosts = "a.lab.dyn.example.com,b.lab.dyn.example.com";
    let reply = frontend.update(&format!("hostname={hosts}&myip=203.0.113.7"));
    assert_eq!(reply.body, "good 203.0.113.7\ngood 203.0.113.7\n");
    site.run_worker_once();

    let reply = frontend.get(
        &format!("/nic/delete?hostname={hosts}&username={USER}&password=correct%20horse"),
        None,
    );
    assert_eq!((reply.status, reply.body.as_str()), (200, "good\ngood\n"));
    assert_eq!(site.files_in("new").len(), 2);
    site.run_worker_once();
    let zone = std::fs::read_to_string(site.path().join("zones/example.com.zone")).unwrap();
    assert!(!zone.contains("203.0.113.7"), "{zone}");
}

#[test]
fn deleting_another_users_host_is_nohost_and_spools_nothing() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    let reply = delete(&frontend, "hostname=other.dyn.example.com");
    assert_eq!((reply.status, reply.body.as_str()), (200, "nohost\n"));
    // The owner may, and the other user's attempt did not make it `nochg`.
    let reply = frontend.get(
        "/nic/delete?hostname=other.dyn.example.com",
        Some(("other", PASSWORD)),
    );
    assert_eq!(reply.body, "good\n");
    assert_eq!(site.files_in("new").len(), 1);
}

#[test]
fn a_delete_without_credentials_is_a_401_and_a_wrong_password_badauth() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    let reply = frontend.get(&format!("/nic/delete?hostname={HOST}"), None);
    assert_eq!((reply.status, reply.body.as_str()), (401, "badauth\n"));
    assert!(reply.header("www-authenticate").is_some());
    let reply = frontend.get(
        &format!("/nic/update?hostname={HOST}&offline=yes"),
        Some((USER, "guess")),
    );
    assert_eq!((reply.status, reply.body.as_str()), (401, "badauth\n"));
    assert!(site.files_in("new").is_empty());
}

#[test]
fn a_bad_delete_request_gets_the_dyndns2_answer_and_never_a_job() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    let many: Vec<String> = (0..21)
        .map(|n| format!("h{n}.lab.dyn.example.com"))
        .collect();
    let thousand: Vec<String> = (0..1000)
        .map(|n| format!("h{n}.lab.dyn.example.com"))
        .collect();
    for (query, answer) in [
        ("hostname=a..b.dyn.example.com".to_owned(), "notfqdn"),
        ("hostname=home.dyn.example.com%00".to_owned(), "notfqdn"),
        ("hostname=%FF.lab.dyn.example.com".to_owned(), "notfqdn"),
        ("hostname=".to_owned(), "notfqdn"),
        (format!("hostname={}", many.join(",")), "numhost"),
        (format!("hostname={}", thousand.join(",")), "numhost"),
        ("hostname=elsewhere.example.org".to_owned(), "nohost"),
    ] {
        let reply = delete(&frontend, &query);
        assert_eq!(reply.body.trim(), answer, "{query}");
        let reply = frontend.update(&format!("{query}&offline=yes"));
        assert_eq!(reply.body.trim(), answer, "offline=yes&{query}");
    }
    assert!(site.files_in("new").is_empty());
    // A trailing dot and upper case are the host itself, normalized.
    let reply = delete(&frontend, "hostname=HOME.dyn.example.com.");
    assert_eq!(reply.body, "good\n");
    let jobs = pending_jobs(&site);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].host, HOST);
}

#[test]
fn a_delete_dead_lettered_by_the_worker_is_accepted_again() {
    // The backend refuses the delete for good; the frontend must not keep answering `nochg` for
    // a delete that never happened.
    let site = zone_file_site();
    let frontend = site.start_frontend();
    frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    site.run_worker_once();
    assert_eq!(
        delete(&frontend, &format!("hostname={HOST}")).body,
        "good\n"
    );
    // Forge the failure: the zone file is a directory now, which the backend refuses for good.
    let zone = site.path().join("zones/example.com.zone");
    let kept = site.path().join("zone.kept");
    std::fs::rename(&zone, &kept).unwrap();
    std::fs::create_dir(&zone).unwrap();
    let refused = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(refused.status.code(), Some(3), "exit 3: dead letters");
    assert_eq!(site.files_in("failed").len(), 2, "the job and its reason");
    let accepted_again = eventually(Duration::from_secs(10), || {
        delete(&frontend, &format!("hostname={HOST}")).body == "good\n"
    });
    assert!(accepted_again, "the failed delete is a change again");
}

#[test]
fn a_delete_counts_against_the_change_limit_like_an_update() {
    let site = on_zone_file(Site::with(
        String::new(),
        "per_user_per_minute = 1\nper_source_per_minute = 0\n".into(),
    ));
    let frontend = site.start_frontend();
    let reply = frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));
    assert_eq!(reply.body, "good 203.0.113.7\n");
    let reply = delete(&frontend, &format!("hostname={HOST}"));
    assert_eq!(reply.body, "abuse\n");
    assert_eq!(
        site.files_in("new").len(),
        1,
        "no job for the refused delete"
    );
}

/// The request log says `delete` for a delete (its `good` and `nochg` carry no address), with the
/// job's id for a `good`, also for `offline=yes` and a delete refused before its query is read;
/// never the query's password.
#[test]
fn the_request_log_names_a_delete_and_its_job() {
    let site = zone_file_site();
    let frontend = site.start_frontend();
    let reply = frontend.get(
        &format!("/nic/delete?hostname={HOST}&username={USER}&password=correct%20horse"),
        None,
    );
    assert_eq!(reply.body, "good\n");
    let job = pending_jobs(&site).remove(0).id;
    assert_eq!(
        frontend
            .update(&format!("hostname={HOST}&offline=yes"))
            .body,
        "nochg\n"
    );
    let reply = frontend.get(
        &format!("/nic/delete?hostname={HOST}"),
        Some((USER, "guess")),
    );
    assert_eq!(reply.body, "badauth\n");
    frontend.update(&format!("hostname={HOST}&myip=203.0.113.7"));

    let lines = || -> Vec<String> {
        site.frontend_log()
            .lines()
            .filter(|line| line.contains("dyndns::update: "))
            .map(str::to_string)
            .collect()
    };
    // The log writer flushes its batch every 10 ms.
    eventually(Duration::from_secs(5), || lines().len() >= 4);
    let lines = lines();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let expected = [
        format!(": delete user=\"{USER}\" hosts=\"{HOST}\" client=127.0.0.1 result=\"good\" jobs={job}"),
        format!(": delete user=\"{USER}\" hosts=\"{HOST}\" client=127.0.0.1 result=\"nochg\""),
        format!(": delete user=\"{USER}\" hosts=- client=127.0.0.1 result=\"badauth\""),
        format!(": update user=\"{USER}\" hosts=\"{HOST}\" client=127.0.0.1 result=\"good 203.0.113.7\""),
    ];
    for (line, expected) in lines.iter().zip(expected) {
        assert!(line.contains(&expected), "{line}\nwants {expected}");
        assert!(!line.contains("horse"), "{line}");
    }
}
