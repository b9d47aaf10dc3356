//! Why this exists: the web-server tests and the client tests start the same real nginx with the
//! shipped packaging files; how to find a Debian program, read a shipped file with only ports and
//! paths changed, run nginx or Apache as `nobody` until drop, and read which client address the
//! frontend behind it took is written once, here.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Debian's program at `path`; `None` (and a loud note) when it is missing, a failure under CI.
pub fn installed(path: &str, package: &str) -> Option<PathBuf> {
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

/// packaging/`name` with each `(from, to)` replaced; each `from` must occur, so a changed file
/// fails here instead of silently testing something else.
pub fn shipped(name: &str, substitutions: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging")
        .join(name);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    for (from, to) in substitutions {
        assert!(
            text.contains(from),
            "{} no longer contains {from:?}",
            path.display()
        );
        text = text.replace(from, to);
    }
    text
}

/// A web server running as `nobody` in its own folder, stopped on drop.
pub struct WebServer {
    dir: tempfile::TempDir,
    child: Child,
}

impl WebServer {
    /// A folder `nobody` owns, for the server's config, pid file, logs and temporary files.
    pub fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("create a temporary folder");
        let nobody = nix::unistd::User::from_name("nobody")
            .expect("read the user database")
            .expect("user nobody exists");
        nix::unistd::chown(dir.path(), Some(nobody.uid), None).expect("chown the folder to nobody");
        dir
    }

    /// nginx (`daemon off`, one process) with `http` as its http block, after the lines every
    /// unprivileged nginx needs (pid file, temporary folders in `dir`, no default access log);
    /// waits until every port in `ports` accepts. Its error log is `dir/error.log`.
    pub fn nginx(program: &Path, dir: tempfile::TempDir, http: &str, ports: &[u16]) -> WebServer {
        let at = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            "daemon off;
master_process off;
pid {pid};
events {{ worker_connections 64; }}
http {{
access_log off;
client_body_temp_path {temp}/body;
proxy_temp_path {temp}/proxy;
fastcgi_temp_path {temp}/fastcgi;
uwsgi_temp_path {temp}/uwsgi;
scgi_temp_path {temp}/scgi;
{http}}}
",
            pid = at("nginx.pid"),
            temp = dir.path().display(),
        );
        std::fs::write(dir.path().join("nginx.conf"), config).expect("write nginx.conf");
        let args = [
            "-e".to_string(),
            at("error.log"),
            "-p".to_string(),
            dir.path().display().to_string(),
            "-c".to_string(),
            at("nginx.conf"),
        ];
        WebServer::start(dir, program, &args, ports)
    }

    /// Runs `program args` as `nobody` and waits until every port in `ports` accepts.
    pub fn start(
        dir: tempfile::TempDir,
        program: &Path,
        args: &[String],
        ports: &[u16],
    ) -> WebServer {
        let log = dir.path().join("stderr.log");
        let child = super::as_nobody()
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create stderr.log"))
            .spawn()
            .expect("start the web server");
        let mut server = WebServer { dir, child };
        for port in ports {
            let up = super::eventually(Duration::from_secs(10), || {
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!(
                        "{} exited with {status}: {}",
                        program.display(),
                        server.logs()
                    );
                }
                std::net::TcpStream::connect(("127.0.0.1", *port)).is_ok()
            });
            assert!(
                up,
                "{} never listened on {port}: {}",
                program.display(),
                server.logs()
            );
        }
        server
    }

    pub fn logs(&self) -> String {
        ["stderr.log", "error.log"]
            .iter()
            .map(|name| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        // SIGTERM: Apache stops its children too, which SIGKILL on the parent would orphan. Only
        // while it runs: a server that failed to start is reaped already, its pid gone, and a
        // panic here during that failure's unwinding would abort the test binary.
        if let Ok(None) = self.child.try_wait() {
            super::terminate(&self.child);
        }
        let stopped = super::eventually(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten().is_some()
        });
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The `client=` of every request line in `site`'s frontend log: the address the frontend took
/// as the client's.
pub fn logged_clients(site: &super::Site) -> Vec<String> {
    site.frontend_log()
        .lines()
        .filter_map(|line| {
            line.split_once("dyndns::update: update ")?
                .1
                .split_once(" client=")
        })
        .map(|(_, rest)| rest.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

/// A named check of one setup; [`run_checks`] runs each, even after one failed.
pub type Check<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Runs every check (a web server is started once per test binary, so its checks share one
/// test) and fails naming each check that failed; each failure's own message is printed above.
pub fn run_checks(setup: &str, checks: Vec<Check<'_>>) {
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, check)| std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).is_err())
        .map(|(name, _)| *name)
        .collect();
    assert!(failed.is_empty(), "{setup}: failed: {failed:?}");
}
