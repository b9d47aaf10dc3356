//! Why this exists: the `powerdns` backend must be proven against a real PowerDNS Authoritative
//! server, not a fake of its HTTP API, so this starts `pdns_server` (gsqlite3 backend, its own
//! config dir, database, socket dir and loopback ports in a temp dir, unprivileged) with zone
//! `example.test.` created through the API, and reads records back over DNS with `dig`. The smoke
//! tests at the bottom prove the harness with the requests the backend will send.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PDNS_SERVER: &str = "/usr/sbin/pdns_server";
const SQLITE3: &str = "/usr/bin/sqlite3";
const DIG: &str = "/usr/bin/dig";
const CURL: &str = "/usr/bin/curl";
/// Debian's pdns-backend-sqlite3 ships the gsqlite3 schema here (a copy also lies under
/// /usr/share/doc/pdns-backend-sqlite3/, which minimal images may strip).
const SCHEMA: &str = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
/// The programs the harness runs, each with the Debian package that provides it.
const NEEDED: [(&str, &str); 5] = [
    (PDNS_SERVER, "pdns-server"),
    (SCHEMA, "pdns-backend-sqlite3"),
    (SQLITE3, "sqlite3"),
    (DIG, "bind9-dnsutils"),
    (CURL, "curl"),
];
/// How long pdns_server may take to answer after start, and the zone to appear over DNS.
const START_WITHIN: Duration = Duration::from_secs(20);

/// A running pdns_server, killed and reaped on drop; its temp dir goes with it.
pub struct PowerDns {
    child: Child,
    /// e.g. `http://127.0.0.1:40123`; the API lives under `/api/v1/servers/localhost`.
    pub api_url: String,
    pub api_key: String,
    /// The DNS listener on 127.0.0.1 (UDP and TCP).
    pub dns: SocketAddr,
    /// The zone created at start, canonical (trailing dot), as the API names it.
    pub zone: String,
    dir: tempfile::TempDir,
}

/// An HTTP reply: status and body as text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl PowerDns {
    /// Starts pdns_server with zone `example.test.`, or `None` when a package is missing outside
    /// CI. Missing package: a failure under `CI=true`, a loud warning otherwise — never a silent pass.
    pub fn start() -> Option<PowerDns> {
        for (path, package) in NEEDED {
            if !Path::new(path).exists() {
                let why = format!(
                    "{path} is missing (Debian package {package}): the PowerDNS test was NOT run"
                );
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("{why}");
                }
                eprintln!("\n!!!!!!!! WARNING: {why} !!!!!!!!\n");
                return None;
            }
        }
        let dir = tempfile::tempdir().expect("create temp dir for pdns_server");
        let database = dir.path().join("pdns.sqlite3");
        let status = Command::new(SQLITE3)
            .arg(&database)
            .arg(format!(".read {SCHEMA}"))
            .stdin(Stdio::null())
            .status()
            .expect("run sqlite3");
        assert!(
            status.success(),
            "sqlite3 could not load {SCHEMA} into {}",
            database.display()
        );
        let root = nix::unistd::Uid::effective().is_root();
        if root {
            // pdns_server drops to nobody before it opens the database (and sqlite writes its
            // journal next to it), so nobody must own both the folder and the file.
            for path in [dir.path(), database.as_path()] {
                std::os::unix::fs::chown(path, Some(65534), Some(65534))
                    .expect("chown pdns temp dir to nobody");
            }
        }
        let dns_port = free_port();
        let web_port = free_port();
        let api_key = uuid::Uuid::new_v4().simple().to_string();
        // Everything in a pdns.conf of our own under --config-dir, so /etc/powerdns (a system
        // instance's config, its include-dir and its ports) is never read.
        let mut config = format!(
            "launch=gsqlite3\n\
             gsqlite3-database={database}\n\
             local-address=127.0.0.1\n\
             local-port={dns_port}\n\
             api=yes\n\
             api-key={api_key}\n\
             webserver=yes\n\
             webserver-address=127.0.0.1\n\
             webserver-port={web_port}\n\
             webserver-allow-from=127.0.0.1\n\
             socket-dir={dir}\n\
             daemon=no\n\
             guardian=no\n\
             # No security-status query to the internet: tests talk to loopback only.\n\
             security-poll-suffix=\n\
             # No caches: a read-back right after a PATCH sees the database, not an old answer.\n\
             cache-ttl=0\n\
             negquery-cache-ttl=0\n\
             query-cache-ttl=0\n",
            database = database.display(),
            dir = dir.path().display(),
        );
        if root {
            config.push_str("setuid=nobody\nsetgid=nogroup\n");
        }
        std::fs::write(dir.path().join("pdns.conf"), config).expect("write pdns.conf");
        let log = std::fs::File::create(dir.path().join("pdns.log")).expect("create pdns.log");
        let child = Command::new(PDNS_SERVER)
            .arg(format!("--config-dir={}", dir.path().display()))
            .arg("--disable-syslog")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone pdns.log handle"))
            .stderr(log)
            .spawn()
            .expect("start pdns_server");
        let mut server = PowerDns {
            child,
            api_url: format!("http://127.0.0.1:{web_port}"),
            api_key,
            dns: SocketAddr::from((Ipv4Addr::LOCALHOST, dns_port)),
            zone: "example.test.".to_owned(),
            dir,
        };
        server.wait_for(
            |server| server.api("GET", "", None).status == 200,
            "its API",
        );
        let created = server.api(
            "POST",
            "/zones",
            Some(r#"{"name":"example.test.","kind":"Native","nameservers":["ns1.example.test."]}"#),
        );
        assert_eq!(created.status, 201, "creating example.test.: {created:?}");
        server.wait_for(
            |server| !server.query(&server.zone, "SOA").is_empty(),
            "the SOA of example.test. over DNS",
        );
        Some(server)
    }

    /// Polls `ready` until it holds, failing with pdns_server's log after START_WITHIN or on exit.
    fn wait_for(&mut self, ready: impl Fn(&PowerDns) -> bool, what: &str) {
        let deadline = Instant::now() + START_WITHIN;
        while !ready(self) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pdns_server exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "pdns_server did not serve {what} within {START_WITHIN:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pdns.log")).unwrap_or_default()
    }

    /// `method` on `/api/v1/servers/localhost{path}` with this server's key.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> Reply {
        self.api_with_key(method, path, body, &self.api_key)
    }

    /// As [`Self::api`] with any key, to prove a wrong one is refused.
    pub fn api_with_key(&self, method: &str, path: &str, body: Option<&str>, key: &str) -> Reply {
        let url = format!("{}/api/v1/servers/localhost{path}", self.api_url);
        let mut curl = Command::new(CURL);
        curl.args(["--silent", "--show-error", "--max-time", "5"])
            .args(["--request", method, "--header"])
            .arg(format!("X-API-Key: {key}"))
            // The status on a line of its own after the body.
            .args(["--write-out", "\n%{http_code}"]);
        if let Some(body) = body {
            curl.args([
                "--header",
                "Content-Type: application/json",
                "--data-binary",
                body,
            ]);
        }
        let output = curl.arg(&url).output().expect("run curl");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
        Reply {
            // curl prints 000 when it got no reply (server not up yet).
            status: status.trim().parse().unwrap_or(0),
            body: body.to_owned(),
        }
    }

    /// The records of `name`/`rtype` as this server answers over DNS (dig +short), sorted.
    pub fn query(&self, name: &str, rtype: &str) -> Vec<String> {
        let output = Command::new(DIG)
            .args(["+short", "+time=2", "+tries=1", "-p"])
            .arg(self.dns.port().to_string())
            .arg(format!("@{}", self.dns.ip()))
            .args([name, rtype])
            .output()
            .expect("run dig");
        let mut records: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            // dig +short prints failures (timeouts) as ";;" comments, not records.
            .filter(|line| !line.is_empty() && !line.starts_with(";;"))
            .map(str::to_owned)
            .collect();
        records.sort();
        records
    }
}

impl Drop for PowerDns {
    fn drop(&mut self) {
        // Already gone is fine; wait() reaps it so no zombie or listener outlives the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free for both UDP and TCP right now (pdns_server needs both for DNS; the API
/// needs TCP). The kernel picks it, so parallel tests do not collide; released for pdns_server.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind a loopback UDP port");
        let port = udp
            .local_addr()
            .expect("bound socket has an address")
            .port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The zone's API path; its id is the canonical name, trailing dot included.
fn zone_path(server: &PowerDns) -> String {
    format!("/zones/{}", server.zone)
}

fn replace_home(address: &str) -> String {
    format!(
        r#"{{"rrsets":[{{"name":"home.example.test.","type":"A","ttl":60,"changetype":"REPLACE",
            "records":[{{"content":"{address}","disabled":false}}]}}]}}"#
    )
}

const DELETE_HOME: &str =
    r#"{"rrsets":[{"name":"home.example.test.","type":"A","changetype":"DELETE"}]}"#;

#[test]
fn powerdns_patch_replace_is_answered_over_dns() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    assert!(server.query("home.example.test.", "A").is_empty());
    let reply = server.api(
        "PATCH",
        &zone_path(&server),
        Some(&replace_home("203.0.113.7")),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(server.query("home.example.test.", "A"), ["203.0.113.7"]);
    // REPLACE swaps the whole RRset: the old address does not linger beside the new one.
    let reply = server.api(
        "PATCH",
        &zone_path(&server),
        Some(&replace_home("203.0.113.8")),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(server.query("home.example.test.", "A"), ["203.0.113.8"]);
}

#[test]
fn powerdns_patch_delete_removes_the_rrset() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let reply = server.api(
        "PATCH",
        &zone_path(&server),
        Some(&replace_home("203.0.113.7")),
    );
    assert_eq!(reply.status, 204, "{reply:?}");
    assert_eq!(server.query("home.example.test.", "A"), ["203.0.113.7"]);
    let reply = server.api("PATCH", &zone_path(&server), Some(DELETE_HOME));
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(server.query("home.example.test.", "A").is_empty());
    // Deleting what is already gone succeeds too: a retried batch is harmless.
    let reply = server.api("PATCH", &zone_path(&server), Some(DELETE_HOME));
    assert_eq!(reply.status, 204, "{reply:?}");
}

#[test]
fn powerdns_wrong_api_key_is_refused_with_401_and_changes_nothing() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let reply = server.api_with_key(
        "PATCH",
        &zone_path(&server),
        Some(&replace_home("203.0.113.7")),
        "not-the-key",
    );
    assert_eq!(reply.status, 401, "{reply:?}");
    // Only 422 carries the documented {"error": ...} JSON; 401 (like 400 and 404) is plain text.
    assert_eq!(reply.body.trim(), "Unauthorized");
    assert!(server.query("home.example.test.", "A").is_empty());
}

#[test]
fn powerdns_server_stops_when_the_harness_is_dropped() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let pid = server.child.id();
    drop(server);
    // kill + wait in drop reaped it: no process with that pid is left (not even a zombie).
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pdns_server {pid} outlived its harness"
    );
}

#[test]
fn powerdns_name_without_trailing_dot_is_refused_with_422_and_json_error() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let body = replace_home("203.0.113.7").replace("home.example.test.", "home.example.test");
    let reply = server.api("PATCH", &zone_path(&server), Some(&body));
    assert_eq!(reply.status, 422, "{reply:?}");
    let error: serde_json::Value = serde_json::from_str(&reply.body).expect("422 body is JSON");
    assert_eq!(
        error["error"], "DNS Name 'home.example.test' is not canonical",
        "{reply:?}"
    );
    // The TTL is required too, even for an RRset that exists already.
    let body = replace_home("203.0.113.7").replace(r#""ttl":60,"#, "");
    let reply = server.api("PATCH", &zone_path(&server), Some(&body));
    assert_eq!(reply.status, 422, "{reply:?}");
    assert!(reply.body.contains("'ttl'"), "{reply:?}");
    assert!(server.query("home.example.test.", "A").is_empty());
}

#[test]
fn powerdns_unknown_zone_is_404_in_plain_text() {
    let Some(server) = PowerDns::start() else {
        return;
    };
    let reply = server.api(
        "PATCH",
        "/zones/missing.test.",
        Some(&replace_home("203.0.113.7")),
    );
    assert_eq!(reply.status, 404, "{reply:?}");
    // Not the {"error": ...} JSON of a 422: the backend must not expect JSON on every error.
    assert_eq!(reply.body.trim(), "Not Found");
}
