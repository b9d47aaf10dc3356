//! Why this exists: one harness that starts the real `dyndns` and `dyndns-worker` binaries on loopback
//! with a temporary spool, config and fake Plesk, so tests read like the user's story.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;

pub mod small_disk;
pub mod web_server;

pub const USER: &str = "router";
pub const PASSWORD: &str = "correct horse";
pub const HOST: &str = "home.dyn.example.com";

/// A bcrypt hash of PASSWORD at the lowest cost, so tests don't spend seconds in argon2.
fn password_hash() -> String {
    bcrypt::hash(PASSWORD, 4).expect("bcrypt hashing cannot fail")
}

pub fn frontend_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dyndns"))
}

/// The worker binary is built beside ours by `cargo test --workspace`.
pub fn worker_binary() -> PathBuf {
    let path = frontend_binary().with_file_name("dyndns-worker");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`",
        path.display()
    );
    path
}

/// Ports handed out below the kernel's ephemeral range (32768 and up on Linux), where no client
/// socket's local port and no other `bind(…:0)` lands: a port the kernel picked for us was free only
/// at that moment, and a test's own HTTP client could take it before the frontend bound it
/// ("address in use", seen in CI).
const TEST_PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A 127.0.0.1 port nothing listens on, never the same twice in one test binary; each binary
/// starts at its own place in [`TEST_PORTS`] so two running at once rarely meet (and a port in
/// use is skipped).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let width = TEST_PORTS.end - TEST_PORTS.start;
    let start = (std::process::id() % u32::from(width)) as u16;
    for _ in 0..width {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % width;
        let port = TEST_PORTS.start + (start + offset) % width;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free 127.0.0.1 port in {TEST_PORTS:?}");
}

/// A temporary installation: config, spool, state, and a fake `plesk` keeping records beside itself.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Extra TOML put in `[frontend]` (e.g. trusted proxies).
    pub frontend_extra: String,
    /// Extra TOML put in `[frontend.limits]`.
    pub limits: String,
}

impl Site {
    pub fn new() -> Site {
        Site::with(
            String::new(),
            "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
        )
    }

    pub fn with(frontend_extra: String, limits: String) -> Site {
        let site = Site {
            dir: tempfile::tempdir().expect("temp dir"),
            port: free_port(),
            frontend_extra,
            limits,
        };
        let plesk_dir = site.path().join("plesk");
        std::fs::create_dir_all(&plesk_dir).unwrap();
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("worker/tests/fake-plesk");
        // cp in a child, not fs::copy: a file this process held open for writing while another test
        // thread forked would fail to execute with ETXTBSY.
        let copied = Command::new("/bin/cp")
            .arg(&fake)
            .arg(plesk_dir.join("plesk"))
            .status()
            .expect("run cp");
        assert!(copied.success(), "cannot copy {}", fake.display());
        std::fs::create_dir_all(site.path().join("state")).unwrap();
        // Packaging creates the spool in production (tmpfiles.d); the frontend only checks it.
        dyndns_queue::SpoolDirs::at(site.path().join("spool"))
            .create_all()
            .unwrap();
        site.write_config();
        site
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("dyndns.toml")
    }

    pub fn write_config(&self) {
        // These tests run no worker alongside the frontend, so /health leaves the worker's
        // heartbeat out unless a test sets the key itself.
        let heartbeat = if self.frontend_extra.contains("heartbeat_max_age_secs") {
            ""
        } else {
            "heartbeat_max_age_secs = 0"
        };
        let text = format!(
            r#"[frontend]
listen = "127.0.0.1:{port}"
{heartbeat}
{frontend_extra}

[frontend.limits]
{limits}

[spool]
dir = "spool"

[worker]
backend = "plesk"
state_dir = "state"
rescan_secs = 1

[[zone]]
name = "dyn.example.com"
backend_zone = "example.com"
ttl = 60

[[user]]
name = "{USER}"
password_hash = "{hash}"
hosts = ["{HOST}", "*.lab.dyn.example.com"]

[[user]]
name = "other"
password_hash = "{hash}"
hosts = ["other.dyn.example.com"]

[backend.plesk]
command = ["plesk/plesk", "bin", "dns"]
timeout_secs = 5
"#,
            port = self.port,
            frontend_extra = self.frontend_extra,
            limits = self.limits,
            hash = password_hash(),
        );
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Points the worker at a DNS primary over RFC 2136 instead of the fake Plesk: the site's zones
    /// move under `zone`, and the TSIG key (name, algorithm, base64 secret) goes into `tsig.key`.
    pub fn switch_to_rfc2136(&self, server: SocketAddr, zone: &str, key: (&str, &str, &str)) {
        let (key_name, algorithm, secret) = key;
        std::fs::write(
            self.path().join("tsig.key"),
            format!("key \"{key_name}\" {{ algorithm {algorithm}; secret \"{secret}\"; }};\n"),
        )
        .unwrap();
        let config = std::fs::read_to_string(self.config_path())
            .unwrap()
            .replace("example.com", zone)
            .replace("backend = \"plesk\"", "backend = \"rfc2136\"")
            + &format!(
                "\n[backend.rfc2136]\nserver = \"{server}\"\ntsig_key_name = \"{key_name}\"\n\
                 tsig_algorithm = \"{algorithm}\"\ntsig_secret_file = \"tsig.key\"\n"
            );
        std::fs::write(self.config_path(), config).unwrap();
    }

    pub fn spool(&self, folder: &str) -> PathBuf {
        self.path().join("spool").join(folder)
    }

    pub fn files_in(&self, folder: &str) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.spool(folder)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Every argv the fake Plesk was called with, one line each.
    pub fn plesk_calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("plesk/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn plesk_records(&self) -> Vec<String> {
        let mut lines: Vec<String> = std::fs::read_to_string(self.path().join("plesk/records"))
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    }

    pub fn plesk_control(&self, name: &str, content: &str) {
        std::fs::write(self.path().join("plesk").join(name), content).unwrap();
    }

    pub fn remove_plesk_control(&self, name: &str) {
        let _ = std::fs::remove_file(self.path().join("plesk").join(name));
    }

    /// `dyndns serve --allow-root` on this site's config, not yet started: the one place its
    /// arguments are made. Tests run as root (CI does); only the privilege tests care who the
    /// frontend runs as, and they use [`Site::start_frontend_as_nobody`].
    pub fn serve_command(&self) -> Command {
        let mut command = Command::new(frontend_binary());
        command
            .args(["serve", "--allow-root", "--config"])
            .arg(self.config_path());
        command
    }

    /// Rewrites the config to listen on the unix socket `<site>/http.sock` and returns its path.
    pub fn listen_on_unix_socket(&self) -> PathBuf {
        let socket = self.path().join("http.sock");
        let text = std::fs::read_to_string(self.config_path()).unwrap();
        let tcp = format!("listen = \"127.0.0.1:{}\"", self.port);
        assert!(text.contains(&tcp), "the config listens on TCP");
        let unix = format!("listen = \"unix:{}\"", socket.display());
        std::fs::write(self.config_path(), text.replace(&tcp, &unix)).unwrap();
        socket
    }

    /// Starts `dyndns serve` on the socket from [`Site::listen_on_unix_socket`], logging to `log`
    /// in the site, and waits until it accepts connections.
    pub fn start_unix_frontend(&self, socket: &Path, log: &str) -> UnixFrontend {
        let log = self.path().join(log);
        let child = self
            .serve_command()
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start dyndns serve");
        let mut frontend = UnixFrontend {
            child,
            socket: socket.to_path_buf(),
        };
        let ready = eventually(Duration::from_secs(20), || {
            if let Ok(Some(status)) = frontend.child.try_wait() {
                panic!(
                    "frontend exited with {status}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::os::unix::net::UnixStream::connect(socket).is_ok()
        });
        assert!(ready, "the frontend never listened on {}", socket.display());
        frontend
    }

    pub fn start_frontend(&self) -> Frontend {
        self.spawn_frontend(self.serve_command())
    }

    /// `dyndns serve` as `nobody`, without `--allow-root`, as the packaged service runs it (after
    /// [`Site::apply_packaged_modes`]).
    pub fn start_frontend_as_nobody(&self) -> Frontend {
        let mut command = as_nobody();
        command
            .arg(frontend_binary())
            .args(["serve", "--config"])
            .arg(self.config_path());
        self.spawn_frontend(command)
    }

    /// Owners and modes as packaging/tmpfiles.d/dyndns.conf sets them, with `nogroup` standing in
    /// for the group `dyndns` (every Debian system has nobody:nogroup). Takes root.
    pub fn apply_packaged_modes(&self) {
        let group = nix::unistd::Group::from_name("nogroup")
            .unwrap()
            .expect("group nogroup exists")
            .gid;
        let set = |path: PathBuf, mode: u32, group: Option<nix::unistd::Gid>| {
            nix::unistd::chown(&path, Some(nix::unistd::Uid::from_raw(0)), group)
                .unwrap_or_else(|err| panic!("chown {}: {err}", path.display()));
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap_or_else(|err| panic!("chmod {}: {err}", path.display()));
        };
        let root = Some(nix::unistd::Gid::from_raw(0));
        // The site folder stands for /etc/dyndns and holds the config, spool and state.
        set(self.path().to_path_buf(), 0o750, Some(group));
        set(self.config_path(), 0o640, Some(group));
        set(self.path().join("spool"), 0o750, Some(group));
        set(self.spool("tmp"), 0o770, Some(group));
        set(self.spool("new"), 0o770, Some(group));
        set(self.spool("cur"), 0o750, Some(group));
        set(self.spool("failed"), 0o700, root);
        set(self.path().join("state"), 0o2750, Some(group));
    }

    /// Starts `command` (a `dyndns serve` line, e.g. [`Site::serve_command`] with a changed
    /// environment) logging to `frontend.log`, and waits until it is ready.
    pub fn spawn_frontend(&self, mut command: Command) -> Frontend {
        let log = std::fs::File::create(self.path().join("frontend.log")).unwrap();
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start dyndns serve");
        let mut frontend = Frontend {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], self.port)),
        };
        frontend.wait_ready(&self.path().join("frontend.log"));
        frontend
    }

    pub fn worker_command(&self) -> Command {
        let mut command = Command::new(worker_binary());
        command.arg("--config").arg(self.config_path());
        command
    }

    /// `dyndns-worker --run-once`, asserting it succeeded.
    pub fn run_worker_once(&self) -> Output {
        let output = self
            .worker_command()
            .arg("--run-once")
            .output()
            .expect("run dyndns-worker");
        assert!(
            output.status.success(),
            "worker failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    pub fn frontend_log(&self) -> String {
        std::fs::read_to_string(self.path().join("frontend.log")).unwrap_or_default()
    }
}

/// A running `dyndns serve`, stopped on drop.
pub struct Frontend {
    pub child: Child,
    pub address: SocketAddr,
}

impl Frontend {
    fn wait_ready(&mut self, log: &Path) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            // The line first: a connect alone may reach another process that holds the port
            // (free_port's port is free only when it is chosen), while ours failed to bind.
            let ready = std::fs::read_to_string(log)
                .is_ok_and(|text| text.contains("dyndns frontend ready"));
            if ready && TcpStream::connect(self.address).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "frontend exited with {status}: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "frontend did not listen on {}: {}",
            self.address,
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    pub fn get(&self, path_and_query: &str, credentials: Option<(&str, &str)>) -> Response {
        self.request(path_and_query, credentials, &[])
    }

    pub fn update(&self, query: &str) -> Response {
        self.get(&format!("/nic/update?{query}"), Some((USER, PASSWORD)))
    }

    pub fn request(
        &self,
        path_and_query: &str,
        credentials: Option<(&str, &str)>,
        headers: &[(&str, &str)],
    ) -> Response {
        http_get(self.address, path_and_query, credentials, headers)
    }
}

/// One HTTP/1.1 GET on a fresh connection (as ddclient does), read to EOF.
pub fn http_get(
    address: SocketAddr,
    path_and_query: &str,
    credentials: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> Response {
    let stream = TcpStream::connect(address).expect("connect to the frontend");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    exchange(stream, path_and_query, credentials, headers)
}

/// Writes one GET with `Connection: close` and reads the answer to EOF.
pub fn exchange(
    mut stream: impl Read + Write,
    path_and_query: &str,
    credentials: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> Response {
    let mut request =
        format!("GET {path_and_query} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    Response::parse(&raw)
}

impl Drop for Frontend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `dyndns serve` on a unix socket, stopped on drop.
pub struct UnixFrontend {
    pub child: Child,
    pub socket: PathBuf,
}

impl UnixFrontend {
    /// One HTTP/1.1 GET over the socket, read to EOF.
    pub fn get(
        &self,
        path_and_query: &str,
        credentials: Option<(&str, &str)>,
        headers: &[(&str, &str)],
    ) -> Response {
        let stream =
            std::os::unix::net::UnixStream::connect(&self.socket).expect("connect to the socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        exchange(stream, path_and_query, credentials, headers)
    }
}

impl Drop for UnixFrontend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 POST of `body` on a fresh connection, read to EOF.
pub fn http_post(
    address: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the frontend");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // A server may answer (and close) before a large body is all sent; the answer is what counts.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    Response::parse(&raw)
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn parse(raw: &[u8]) -> Response {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        Response {
            status,
            headers,
            body: body.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// A command prefix that runs the program after it as `nobody:nogroup` without supplementary
/// groups (util-linux `setpriv`; Debian has it in every installation).
pub fn as_nobody() -> Command {
    let setpriv = Path::new("/usr/bin/setpriv");
    assert!(
        setpriv.exists(),
        "{} is missing (apt-get install util-linux)",
        setpriv.display()
    );
    let mut command = Command::new(setpriv);
    command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    command
}

/// Sends SIGTERM, as systemd does to stop a service.
pub fn terminate(child: &Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal the child");
}

/// True when the tests run as root, which chowning and switching users take. CI runs as root;
/// elsewhere a test that needs it is skipped loudly (it names `what`), and with `CI=true` a missing
/// root is a failure.
pub fn running_as_root(what: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root (CI=true)"
    );
    eprintln!("\n!!!!!!!! WARNING: not root: {what} did NOT run !!!!!!!!\n");
    false
}

/// Polls `condition` every 20 ms for at most `limit`.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
