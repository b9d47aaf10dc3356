//! Why this exists: users judge the server by whether the client they already run just works. These
//! start Debian's real ddclient and inadyn (as `nobody`, one-shot, loopback only) against `dyndns
//! serve` with README's "Clients" configurations, only the server, TLS, password and address
//! source replaced, and check what each client and the server saw.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use util::{Site, HOST, PASSWORD};

/// Matches the site's `*.lab.dyn.example.com`, as README's second ddclient host does.
const LAB_HOST: &str = "nas.lab.dyn.example.com";

/// How long one client run may take; each finishes in well under a second on loopback.
const CLIENT_LIMIT: Duration = Duration::from_secs(30);

/// Debian's program at `path`; `None` (and a loud note) when it is missing, a failure under CI.
fn installed(path: &str, package: &str) -> Option<PathBuf> {
    if Path::new(path).exists() {
        return Some(PathBuf::from(path));
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{path} is missing: apt-get install {package} (.ci/run installs it)"
    );
    eprintln!("SKIPPED: {path} is missing; apt-get install {package} to run this test");
    None
}

/// The fenced block in README.md whose first line is `first_line`.
fn readme_block(first_line: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let start = readme
        .find(&format!("```\n{first_line}\n"))
        .unwrap_or_else(|| panic!("README.md has no block starting with {first_line}"))
        + 4;
    let length = readme[start..].find("```").expect("the block ends");
    readme[start..start + length].to_string()
}

/// `text` with `from` replaced, which must be there: README and test stay the same config.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "README's config lost {from:?}:\n{text}"
    );
    text.replacen(from, to, 1)
}

/// README's ddclient.conf for the site's frontend, publishing `address`.
fn ddclient_conf(site: &Site, password: &str, address: IpAddr) -> String {
    let text = readme_block("# /etc/ddclient.conf: dyndns2 against this server");
    let text = replace(&text, "ssl=yes", "ssl=no");
    let text = replace(
        &text,
        "server=dyn.example.com",
        &format!("server=127.0.0.1:{}", site.port),
    );
    let text = replace(
        &text,
        "password='your password'",
        &format!("password='{password}'"),
    );
    // ddclient 3.10's dyndns2 reads only `use=` (README says why); `ip=` stands for the interface.
    replace(&text, "use=if, if=eth0", &format!("use=ip, ip={address}"))
}

/// README's inadyn.conf for the site's frontend, publishing `address`.
fn inadyn_conf(site: &Site, password: &str, address: IpAddr) -> String {
    let text = readme_block("# /etc/inadyn.conf: the custom provider pointed at this server");
    // The checkip command stands for the checkip service, which is on the internet.
    let text = replace(
        &text,
        "ssl = true",
        &format!("ssl = false\n    checkip-command = \"/bin/echo {address}\""),
    );
    let text = replace(
        &text,
        "ddns-server = \"dyn.example.com\"",
        &format!("ddns-server = \"127.0.0.1:{}\"", site.port),
    );
    replace(
        &text,
        "password = \"your password\"",
        &format!("password = \"{password}\""),
    )
}

/// A folder `nobody` owns, for one client's config, cache and output.
struct ClientDir {
    dir: tempfile::TempDir,
}

impl ClientDir {
    fn new() -> ClientDir {
        let dir = tempfile::tempdir().unwrap();
        chown_to_nobody(dir.path());
        ClientDir { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file `nobody` owns with mode 0600, as a config holding a password must be.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        chown_to_nobody(&path);
        path
    }
}

fn chown_to_nobody(path: &Path) {
    let nobody = nix::unistd::User::from_name("nobody")
        .unwrap()
        .expect("user nobody exists");
    nix::unistd::chown(path, Some(nobody.uid), None).unwrap();
}

/// What one client run left: its exit status and its stdout and stderr together.
struct Run {
    status: ExitStatus,
    log: String,
}

/// Runs `program args` as `nobody` in `dir`, killed (and the test failed) after [`CLIENT_LIMIT`].
fn run_as_nobody(dir: &ClientDir, program: &Path, args: &[&str]) -> Run {
    let output = dir.path("output.log");
    let file = std::fs::File::create(&output).unwrap();
    let mut child = util::as_nobody()
        .arg(program)
        .args(args)
        .current_dir(dir.dir.path())
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("start the client");
    let mut status = None;
    let finished = util::eventually(CLIENT_LIMIT, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
    }
    let log = std::fs::read_to_string(&output).unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!(
            "{} ran longer than {CLIENT_LIMIT:?}:\n{log}",
            program.display()
        )
    });
    Run { status, log }
}

fn ddclient(dir: &ClientDir, program: &Path, conf: &Path, cache: &str) -> Run {
    let cache = dir.path(cache);
    run_as_nobody(
        dir,
        program,
        &[
            "-daemon=0",
            "-foreground",
            "-file",
            conf.to_str().unwrap(),
            "-cache",
            cache.to_str().unwrap(),
        ],
    )
}

/// `inadyn --once` with its cache in `dir/<cache>`, `extra` arguments after.
fn inadyn(dir: &ClientDir, program: &Path, conf: &Path, cache: &str, extra: &[&str]) -> Run {
    let cache = dir.path(cache);
    if !cache.exists() {
        std::fs::create_dir(&cache).unwrap();
        chown_to_nobody(&cache);
        // A cache file per host, as a previous run leaves it: without one inadyn first resolves the
        // host name in DNS, which would leave the loopback. Its address differs from every test's.
        for host in [HOST, LAB_HOST] {
            let file = cache.join(format!("{host}.cache"));
            std::fs::write(&file, "192.0.2.1").unwrap();
            chown_to_nobody(&file);
        }
    }
    let mut args = vec![
        "--once",
        "--foreground",
        "--no-pidfile",
        // The default level (notice) leaves out the per-host "Successful alias table update".
        "--loglevel=info",
        "--cache-dir",
        cache.to_str().unwrap(),
        "-f",
        conf.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_as_nobody(dir, program, &args)
}

/// Every job the frontend spooled: host and the address it carries.
fn spooled(site: &Site) -> Vec<(String, IpAddr)> {
    let mut jobs: Vec<(String, IpAddr)> = site
        .files_in("new")
        .iter()
        .map(|name| {
            let bytes = std::fs::read(site.spool("new").join(name)).unwrap();
            let job = dyndns_queue::Job::parse(&bytes).unwrap();
            let address = job
                .ipv4
                .map(IpAddr::V4)
                .or(job.ipv6.map(IpAddr::V6))
                .expect("a job carries an address");
            (job.host, address)
        })
        .collect();
    jobs.sort();
    jobs
}

/// Waits (bounded) until the frontend's request log has a line ending in `result="<result>"...`.
fn assert_logged(site: &Site, result: &str) {
    let needle = format!("result=\"{result}\"");
    let found = util::eventually(Duration::from_secs(10), || {
        site.frontend_log().contains(&needle)
    });
    assert!(
        found,
        "the request log has no {needle}:\n{}",
        site.frontend_log()
    );
}

const V4: &str = "203.0.113.7";
const V6: &str = "2001:db8::7";

fn address(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn ddclient_updates_two_hosts_in_one_run_then_gets_nochg() {
    let Some(program) = installed("/usr/bin/ddclient", "ddclient") else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    let dir = ClientDir::new();
    let conf = dir.write(
        "ddclient.conf",
        &ddclient_conf(&site, PASSWORD, address(V4)),
    );

    let first = ddclient(&dir, &program, &conf, "first.cache");
    assert!(first.status.success(), "ddclient failed:\n{}", first.log);
    for host in [HOST, LAB_HOST] {
        assert!(
            first.log.contains(&format!(
                "SUCCESS:  updating {host}: good: IP address set to {V4}"
            )),
            "ddclient did not report {host} updated:\n{}",
            first.log
        );
    }
    assert_logged(&site, &format!("good {V4},good {V4}"));
    assert_eq!(
        spooled(&site),
        vec![
            (HOST.to_string(), address(V4)),
            (LAB_HOST.to_string(), address(V4))
        ]
    );

    // A fresh cache, as after a reinstall: ddclient asks again and the server has nothing to do.
    let repeat = ddclient(&dir, &program, &conf, "repeat.cache");
    assert!(
        repeat.status.success(),
        "ddclient failed on nochg:\n{}",
        repeat.log
    );
    assert!(!repeat.log.contains("FAILED"), "{}", repeat.log);
    assert!(
        repeat
            .log
            .contains(&format!("updating {HOST}: nochg: No update required")),
        "{}",
        repeat.log
    );
    assert_logged(&site, &format!("nochg {V4},nochg {V4}"));
    assert_eq!(spooled(&site).len(), 2, "nochg spooled nothing");
}

#[test]
fn ddclient_stops_with_badauth_on_a_wrong_password() {
    let Some(program) = installed("/usr/bin/ddclient", "ddclient") else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    let dir = ClientDir::new();
    let conf = dir.write(
        "ddclient.conf",
        &ddclient_conf(&site, "wrong password", address(V4)),
    );

    let run = ddclient(&dir, &program, &conf, "cache");
    assert_eq!(run.status.code(), Some(1), "{}", run.log);
    assert!(
        run.log.contains("FAILED:   updating") && run.log.contains("badauth"),
        "ddclient did not report badauth:\n{}",
        run.log
    );
    assert_logged(&site, "badauth");
    assert!(spooled(&site).is_empty());
}

#[test]
fn ddclient_ipv6_update_lands() {
    let Some(program) = installed("/usr/bin/ddclient", "ddclient") else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    let dir = ClientDir::new();
    let conf = dir.write(
        "ddclient.conf",
        &ddclient_conf(&site, PASSWORD, address(V6)),
    );

    let run = ddclient(&dir, &program, &conf, "cache");
    assert!(run.status.success(), "ddclient failed:\n{}", run.log);
    assert!(
        run.log
            .contains(&format!("updating {HOST}: good: IP address set to {V6}")),
        "{}",
        run.log
    );
    assert_logged(&site, &format!("good {V6},good {V6}"));
    assert_eq!(
        spooled(&site),
        vec![
            (HOST.to_string(), address(V6)),
            (LAB_HOST.to_string(), address(V6))
        ]
    );
}

#[test]
fn inadyn_update_lands_then_forced_repeat_gets_nochg() {
    let Some(program) = installed("/usr/sbin/inadyn", "inadyn") else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    let dir = ClientDir::new();
    let conf = dir.write("inadyn.conf", &inadyn_conf(&site, PASSWORD, address(V4)));

    let first = inadyn(&dir, &program, &conf, "cache", &[]);
    assert!(first.status.success(), "inadyn failed:\n{}", first.log);
    assert!(
        first.log.contains(&format!(
            "Successful alias table update for {HOST} => new IP# {V4}"
        )),
        "{}",
        first.log
    );
    assert_logged(&site, &format!("good {V4}"));
    assert_eq!(spooled(&site), vec![(HOST.to_string(), address(V4))]);

    // Its cache now says the address is published; --force asks the server anyway.
    let repeat = inadyn(&dir, &program, &conf, "cache", &["--force"]);
    assert!(
        repeat.status.success(),
        "inadyn failed on nochg:\n{}",
        repeat.log
    );
    assert!(
        repeat
            .log
            .contains(&format!("Successful alias table update for {HOST}")),
        "{}",
        repeat.log
    );
    assert_logged(&site, &format!("nochg {V4}"));
    assert_eq!(spooled(&site).len(), 1, "nochg spooled nothing");
}

#[test]
fn inadyn_stops_with_authentication_failure_on_a_wrong_password() {
    let Some(program) = installed("/usr/sbin/inadyn", "inadyn") else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    let dir = ClientDir::new();
    let conf = dir.write(
        "inadyn.conf",
        &inadyn_conf(&site, "wrong password", address(V4)),
    );

    let run = inadyn(&dir, &program, &conf, "cache", &[]);
    assert_eq!(run.status.code(), Some(50), "{}", run.log);
    assert!(
        run.log.contains("badauth") && run.log.contains("Authentication failure"),
        "inadyn did not report badauth:\n{}",
        run.log
    );
    assert_logged(&site, "badauth");
    assert!(spooled(&site).is_empty());
}

#[test]
fn inadyn_ipv6_update_lands() {
    let Some(program) = installed("/usr/sbin/inadyn", "inadyn") else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    let dir = ClientDir::new();
    let conf = dir.write("inadyn.conf", &inadyn_conf(&site, PASSWORD, address(V6)));

    let run = inadyn(&dir, &program, &conf, "cache", &[]);
    assert!(run.status.success(), "inadyn failed:\n{}", run.log);
    assert!(
        run.log.contains(&format!(
            "Successful alias table update for {HOST} => new IP# {V6}"
        )),
        "{}",
        run.log
    );
    assert_logged(&site, &format!("good {V6}"));
    assert_eq!(spooled(&site), vec![(HOST.to_string(), address(V6))]);
}
