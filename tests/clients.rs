//! Why this exists: users judge the server by whether the client they already run just works. These
//! start Debian's real ddclient and inadyn (as `nobody`, one-shot, loopback only) against `dyndns
//! serve` with README's "Clients" configurations, only the server, TLS, password and address
//! source replaced, and check what each client and the server saw: directly, and through one
//! nginx with the shipped packaging/nginx/dyndns.conf.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "clients/cases.rs"]
mod cases;
mod util;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use util::web_server::{installed, logged_clients, run_checks, shipped, Check, WebServer};
use util::{Site, HOST, PASSWORD};

/// Matches the site's `*.lab.dyn.example.com`, as README's second ddclient host does.
const LAB_HOST: &str = "nas.lab.dyn.example.com";

/// How long one client run may take; each finishes in well under a second on loopback.
const CLIENT_LIMIT: Duration = Duration::from_secs(30);

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

/// README's ddclient.conf for the server on loopback `port`, publishing `address`.
fn ddclient_conf(port: u16, password: &str, address: IpAddr) -> String {
    let text = readme_block("# /etc/ddclient.conf: dyndns2 against this server");
    let text = replace(&text, "ssl=yes", "ssl=no");
    let text = replace(
        &text,
        "server=dyn.example.com",
        &format!("server=127.0.0.1:{port}"),
    );
    let text = replace(
        &text,
        "password='your password'",
        &format!("password='{password}'"),
    );
    // ddclient 3.10's dyndns2 reads only `use=` (README says why); `ip=` stands for the interface.
    replace(&text, "use=if, if=eth0", &format!("use=ip, ip={address}"))
}

/// README's inadyn.conf for the server on loopback `port`, publishing `address`.
fn inadyn_conf(port: u16, password: &str, address: IpAddr) -> String {
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
        &format!("ddns-server = \"127.0.0.1:{port}\""),
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

/// The clients as Debian installs them.
const DDCLIENT: (&str, &str) = ("/usr/bin/ddclient", "ddclient");
const INADYN: (&str, &str) = ("/usr/sbin/inadyn", "inadyn");

/// One client story, told with the client at `program` against the server on loopback `port`.
type Story = fn(&Path, &Site, u16);

/// Every story, with the client it runs.
const STORIES: [(&str, (&str, &str), Story); 6] = [
    (
        "ddclient: two hosts in one run land, a repeat is nochg",
        DDCLIENT,
        cases::ddclient_updates_two_hosts_in_one_run_then_gets_nochg,
    ),
    (
        "ddclient: a wrong password stops it (badauth)",
        DDCLIENT,
        cases::ddclient_stops_with_badauth_on_a_wrong_password,
    ),
    (
        "ddclient: an IPv6 update lands",
        DDCLIENT,
        cases::ddclient_ipv6_update_lands,
    ),
    (
        "inadyn: the update lands, a forced repeat is nochg",
        INADYN,
        cases::inadyn_update_lands_then_forced_repeat_gets_nochg,
    ),
    (
        "inadyn: a wrong password stops it (authentication failure)",
        INADYN,
        cases::inadyn_stops_with_authentication_failure_on_a_wrong_password,
    ),
    (
        "inadyn: an IPv6 update lands",
        INADYN,
        cases::inadyn_ipv6_update_lands,
    ),
];

/// Tells `story` with the client talking to a frontend of its own directly.
fn directly(client: (&str, &str), story: Story) {
    let Some(program) = installed(client.0, client.1) else {
        return;
    };
    let site = Site::new();
    let _frontend = site.start_frontend();
    story(&program, &site, site.port);
}

#[test]
fn ddclient_updates_two_hosts_in_one_run_then_gets_nochg() {
    directly(
        DDCLIENT,
        cases::ddclient_updates_two_hosts_in_one_run_then_gets_nochg,
    );
}

#[test]
fn ddclient_stops_with_badauth_on_a_wrong_password() {
    directly(
        DDCLIENT,
        cases::ddclient_stops_with_badauth_on_a_wrong_password,
    );
}

#[test]
fn ddclient_ipv6_update_lands() {
    directly(DDCLIENT, cases::ddclient_ipv6_update_lands);
}

#[test]
fn inadyn_update_lands_then_forced_repeat_gets_nochg() {
    directly(
        INADYN,
        cases::inadyn_update_lands_then_forced_repeat_gets_nochg,
    );
}

#[test]
fn inadyn_stops_with_authentication_failure_on_a_wrong_password() {
    directly(
        INADYN,
        cases::inadyn_stops_with_authentication_failure_on_a_wrong_password,
    );
}

#[test]
fn inadyn_ipv6_update_lands() {
    directly(INADYN, cases::inadyn_ipv6_update_lands);
}

/// Where the clients connect from: Linux's source address toward any loopback destination.
const CLIENT_ADDRESS: &str = "127.0.0.1";

/// nginx's source address toward the frontends (`proxy_bind`, set beside the shipped file, not in
/// it), the only one they trust: were nginx's header not believed, the frontend would log this
/// address as the client's instead of [`CLIENT_ADDRESS`].
const NGINX_ADDRESS: &str = "127.0.0.2";

/// The access log at `log` shows the clients' requests, and neither a password (right or wrong,
/// as written or URL-encoded) nor a query.
fn access_log_keeps_no_password(log: &Path) {
    use base64::Engine;
    let text =
        std::fs::read_to_string(log).unwrap_or_else(|err| panic!("read {}: {err}", log.display()));
    assert!(text.contains("\"GET /nic/update HTTP/1."), "{text}");
    let mut secrets = vec!["?".to_string(), "password".to_string()];
    for password in [PASSWORD, "wrong password"] {
        secrets.push(password.to_string());
        secrets.push(password.replace(' ', "%20"));
        secrets.push(password.replace(' ', "+"));
        secrets.push(
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", util::USER)),
        );
    }
    for secret in secrets {
        assert!(
            !text.contains(&secret),
            "{secret:?} in the access log: {text}"
        );
    }
}

#[test]
fn ddclient_and_inadyn_work_through_the_shipped_nginx_config() {
    let Some(nginx) = installed("/usr/sbin/nginx", "nginx") else {
        return;
    };
    let programs = STORIES.map(|(_, client, _)| installed(client.0, client.1));
    if programs.iter().any(Option::is_none) {
        return;
    }
    // A frontend per story, as in the direct tests, all behind one nginx.
    let sites = STORIES.map(|_| {
        Site::with(
            format!("trusted_proxies = [\"{NGINX_ADDRESS}/32\"]"),
            "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
        )
    });
    let _frontends: Vec<_> = sites.iter().map(Site::start_frontend).collect();
    let ports = STORIES.map(|_| util::free_port());
    let dir = WebServer::folder();
    let at = |name: &str| dir.path().join(name);
    let access_log = at("dyndns.access.log");
    std::fs::write(at("dyndns-log.conf"), shipped("nginx/dyndns-log.conf", &[])).unwrap();
    let mut http = format!("include {};\n", at("dyndns-log.conf").display());
    for (index, (site, port)) in sites.iter().zip(ports).enumerate() {
        // packaging/nginx/dyndns.conf with only the frontend's port and the log's path changed.
        let file = at(&format!("dyndns-{index}.conf"));
        let text = shipped(
            "nginx/dyndns.conf",
            &[
                ("127.0.0.1:8245", &format!("127.0.0.1:{}", site.port)),
                (
                    "/var/log/nginx/dyndns.access.log",
                    &access_log.display().to_string(),
                ),
                (
                    "/var/log/nginx/dyndns.error.log",
                    &at("dyndns.error.log").display().to_string(),
                ),
            ],
        );
        std::fs::write(&file, text).unwrap();
        http.push_str(&format!(
            "server {{\n    listen 127.0.0.1:{port};\n    proxy_bind {NGINX_ADDRESS};\n    include {};\n}}\n",
            file.display()
        ));
    }
    let _nginx = WebServer::nginx(&nginx, dir, &http, &ports);

    let mut checks: Vec<Check<'_>> = Vec::new();
    for (((name, _, story), program), (site, port)) in
        STORIES.iter().zip(&programs).zip(sites.iter().zip(ports))
    {
        let program = program
            .as_deref()
            .expect("checked above: every client is installed");
        checks.push((
            name,
            Box::new(move || {
                story(program, site, port);
                let clients = logged_clients(site);
                assert!(
                    !clients.is_empty() && clients.iter().all(|client| client == CLIENT_ADDRESS),
                    "{name}: the frontend saw {clients:?}, not the client's {CLIENT_ADDRESS}"
                );
            }),
        ));
    }
    checks.push((
        "nginx's access log holds no password",
        Box::new(|| access_log_keeps_no_password(&access_log)),
    ));
    run_checks("through packaging/nginx/dyndns.conf", checks);
}
