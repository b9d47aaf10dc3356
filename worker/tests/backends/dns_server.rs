//! Why this exists: the RFC 2136 backend must be proven against real primaries, so this starts a real
//! BIND 9 `named` or Knot DNS `knotd` on a free 127.0.0.1 high port, in a temp dir with its own config,
//! zone, TSIG key, pid file and control socket (never the system's), and kills it on drop.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::unistd::{Gid, Uid, User};
use tempfile::TempDir;

pub const NAMED: &str = "/usr/sbin/named";
pub const KNOTD: &str = "/usr/sbin/knotd";
pub const DIG: &str = "/usr/bin/dig";
pub const NSUPDATE: &str = "/usr/bin/nsupdate";

/// The zone each server is primary for.
pub const ZONE: &str = "example.test";
/// The TSIG key allowed to update `ZONE`; `SECRET` is its base64 secret (32 bytes, as
/// `tsig-keygen -a hmac-sha256` makes), the form both BIND's `key` clause and Knot's `key:` take.
pub const KEY_NAME: &str = "ddns-key";
pub const ALGORITHM: &str = "hmac-sha256";
pub const SECRET: &str = "3iDNOwwPMJ3o8IgMdZboYhhXPSmnvhKUg6u64nfjZHE=";

const ZONE_FILE: &str = "\
$TTL 60
@   IN SOA ns1.example.test. hostmaster.example.test. 1 3600 600 86400 60
    IN NS  ns1.example.test.
ns1 IN A   127.0.0.1
";

/// How long a server may take to answer its first SOA query; a loaded CI machine needs seconds.
const START_WITHIN: Duration = Duration::from_secs(20);
/// A port picked free can be taken by a parallel test before the server binds it; then we retry.
const START_ATTEMPTS: usize = 3;

/// True when `binary` exists. Missing: a failure under `CI=true`, a loud warning otherwise (the
/// caller then skips) — never a silent pass.
pub fn available(binary: &str, package: &str) -> bool {
    if Path::new(binary).exists() {
        return true;
    }
    let why = format!("{binary} is missing (Debian package {package}): this test did NOT run");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}");
    }
    eprintln!("\n!!!!!!!! WARNING: {why} !!!!!!!!\n");
    false
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bind,
    Knot,
}

impl Kind {
    fn binary(self) -> &'static str {
        match self {
            Kind::Bind => NAMED,
            Kind::Knot => KNOTD,
        }
    }
}

/// A running primary for `ZONE`; killed and reaped on drop.
pub struct DnsServer {
    kind: Kind,
    child: Child,
    port: u16,
    dir: TempDir,
}

impl DnsServer {
    /// Starts `kind`, or `None` when its package or dig is missing outside CI (see `available`).
    pub fn start(kind: Kind) -> Option<DnsServer> {
        let package = match kind {
            Kind::Bind => "bind9",
            Kind::Knot => "knot",
        };
        if !available(kind.binary(), package) || !available(DIG, "bind9-dnsutils") {
            return None;
        }
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let mut server = DnsServer::spawn(kind, free_port());
            match server.wait_until_answering() {
                Ok(()) => return Some(server),
                // Dropping `server` kills whatever is left of it.
                Err(log) => last_log = log,
            }
        }
        panic!("{kind:?} never answered an SOA query for {ZONE} in {START_ATTEMPTS} attempts; last log:\n{last_log}");
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The server's process id, to check who it runs as and that it is gone after drop.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn zone(&self) -> &'static str {
        ZONE
    }

    pub fn key_name(&self) -> &'static str {
        KEY_NAME
    }

    pub fn algorithm(&self) -> &'static str {
        ALGORITHM
    }

    /// The key's secret, base64 as in the server's config (decode it for a library that wants bytes).
    pub fn secret(&self) -> &'static str {
        SECRET
    }

    /// The records of `record_type` at `name` as the server answers them (`dig +short`), sorted.
    pub fn query(&self, name: &str, record_type: &str) -> Vec<String> {
        let output = self.dig(&[name, record_type]);
        assert!(
            output.status.success(),
            "dig {name} {record_type} against {:?} on port {} failed: {}{}",
            self.kind,
            self.port,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut answers: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        answers.sort();
        answers
    }

    /// The server's own log (its stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn dig(&self, question: &[&str]) -> Output {
        Command::new(DIG)
            .args(["+short", "+time=1", "+tries=1", "-p"])
            .arg(self.port.to_string())
            .arg("@127.0.0.1")
            .args(question)
            .env_clear()
            .output()
            .expect("run dig")
    }

    fn spawn(kind: Kind, port: u16) -> DnsServer {
        let dir = tempfile::tempdir().expect("create the server's temp dir");
        let d = dir.path();
        std::fs::write(d.join(format!("{ZONE}.zone")), ZONE_FILE).expect("write zone file");
        let (config, args): (PathBuf, Vec<String>) = match kind {
            Kind::Bind => {
                let config = d.join("named.conf");
                std::fs::write(&config, named_conf(d, port)).expect("write named.conf");
                // -g: foreground, log to stderr; -4: no IPv6 sockets at all.
                let args = ["-g", "-4", "-c"].map(str::to_owned).to_vec();
                (config, args)
            }
            Kind::Knot => {
                // knotd does not create its database folder (it fails every update with "not exists").
                std::fs::create_dir(d.join("db")).expect("create knot's database folder");
                let config = d.join("knot.conf");
                std::fs::write(&config, knot_conf(d, port)).expect("write knot.conf");
                // Foreground is knotd's default (-d would daemonise).
                (config, vec!["-c".to_owned()])
            }
        };
        let log = File::create(d.join("server.log")).expect("create server log");
        let mut command = Command::new(kind.binary());
        command
            .args(&args)
            .arg(&config)
            .env_clear()
            .current_dir(d)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log);
        // Tests run as root here and in CI: the server runs as nobody from the start (no privilege to
        // drop, nothing it could touch outside its folder), so the folder must be nobody's.
        if Uid::effective().is_root() {
            let nobody = User::from_name("nobody")
                .expect("read the user database")
                .expect("user nobody exists on Debian");
            own_tree(d, nobody.uid, nobody.gid);
            command.uid(nobody.uid.as_raw()).gid(nobody.gid.as_raw());
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", kind.binary()));
        DnsServer {
            kind,
            child,
            port,
            dir,
        }
    }

    /// Bounded poll: the zone's SOA answers over UDP and TCP, or the server exited (port taken, bad
    /// config) and its log is returned.
    fn wait_until_answering(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_WITHIN;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server process") {
                return Err(format!("exited with {status}:\n{}", self.log()));
            }
            let answers = |transport: &str| {
                let output = self.dig(&[transport, ZONE, "SOA"]);
                output.status.success() && !output.stdout.is_empty()
            };
            if answers("+notcp") && answers("+tcp") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no SOA answer within {START_WITHIN:?}:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        // Kill and reap: no server outlives its test, and none is left a zombie.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 127.0.0.1 port free for both UDP and TCP right now (the server binds both).
fn free_port() -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a UDP port on 127.0.0.1");
        let port = udp
            .local_addr()
            .expect("bound socket has an address")
            .port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    panic!("no 127.0.0.1 port free for both UDP and TCP in 100 tries");
}

fn own_tree(dir: &Path, uid: Uid, gid: Gid) {
    let chown = |path: &Path| {
        std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw()))
            .unwrap_or_else(|error| panic!("chown {}: {error}", path.display()))
    };
    chown(dir);
    for entry in std::fs::read_dir(dir).expect("list the server's temp dir") {
        chown(&entry.expect("read a temp dir entry").path());
    }
}

/// Everything under the temp dir: pid file, session key, managed keys, journal; no `controls`
/// channel (no rndc port, no /etc/bind/rndc.key).
fn named_conf(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"options {{
    directory "{d}";
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    allow-query {{ 127.0.0.1; }};
}};
controls {{ }};
key "{KEY_NAME}" {{ algorithm {ALGORITHM}; secret "{SECRET}"; }};
zone "{ZONE}" {{
    type primary;
    file "{d}/{ZONE}.zone";
    update-policy {{ grant {KEY_NAME} zonesub A AAAA TXT; }};
}};
"#
    )
}

/// rundir holds knot.sock and the pid file; the zone file is never written back (journal only). The
/// key may change A, AAAA and TXT anywhere in the zone, as BIND's `zonesub A AAAA TXT` grant.
fn knot_conf(dir: &Path, port: u16) -> String {
    let d = dir.display();
    format!(
        r#"server:
    rundir: "{d}"
    pidfile: "{d}/knot.pid"
    listen: 127.0.0.1@{port}
database:
    storage: "{d}/db"
key:
  - id: {KEY_NAME}
    algorithm: {ALGORITHM}
    secret: {SECRET}
acl:
  - id: ddns
    key: {KEY_NAME}
    action: update
    update-type: [A, AAAA, TXT]
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: all
zone:
  - domain: {ZONE}
    acl: ddns
"#
    )
}
