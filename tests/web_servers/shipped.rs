//! Why this exists: packaging/nginx and packaging/apache ship the configs admins paste. These
//! helpers read exactly those files, change only ports and paths, and check what each config
//! promises: updates land and the status page is routed, the client address and the user arrive
//! as the web server saw them,
//! the proxy refuses a wrong password, and its access log holds no password and no token.

use std::path::Path;

use crate::util::{Site, HOST, PASSWORD, USER};

/// A token as the token URLs carry it (22+ characters of `[A-Za-z0-9_-]`).
pub const TOKEN: &str = "Zx9_secret-token-ABCDEFGH";

pub use crate::util::web_server::shipped;

/// Writes an htpasswd file (bcrypt, as packaging's comments tell the admin) for [`USER`] and
/// `other`, both with [`PASSWORD`].
pub fn htpasswd(path: &Path) {
    for (user, create) in [(USER, true), ("other", false)] {
        let mut command = std::process::Command::new("/usr/bin/htpasswd");
        command.args(["-b", "-B"]);
        if create {
            command.arg("-c");
        }
        let status = command
            .arg(path)
            .args([user, PASSWORD])
            .status()
            .expect("run htpasswd (apt-get install apache2-utils)");
        assert!(status.success(), "htpasswd {user}");
    }
}

/// Lets `nobody` (the web server) through a site's folder to the frontend's socket in it.
pub fn open_to_web_server(site: &Site) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(site.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Updates through `port` land: `good`, a job in the spool, and the frontend logs the client.
pub fn updates_land(site: &Site, port: u16, setup: &str) {
    for (path, address) in [
        ("/nic/update", "198.51.100.10"),
        ("/update", "198.51.100.11"),
    ] {
        let jobs = site.files_in("new").len();
        let (reply, client) = crate::update_through(
            site,
            port,
            &format!("{path}?hostname={HOST}&myip={address}"),
            &[],
        );
        assert_eq!(reply, format!("good {address}\n"), "{setup} {path}");
        assert_eq!(
            site.files_in("new").len(),
            jobs + 1,
            "{setup} {path}: no job"
        );
        assert_eq!(client, crate::CLIENT, "{setup} {path}");
    }
    // Credentials in the query (routers that cannot send Basic auth) pass the shipped
    // pass-through configs; in proxy mode the web server asks for Basic auth instead.
    let config = std::fs::read_to_string(site.config_path()).unwrap();
    if !config.contains("auth = \"proxy\"") {
        let address = format!("198.51.100.{}", 100 + port % 100);
        let query = format!(
            "/nic/update?hostname={HOST}&myip={address}&username={USER}&password={}",
            PASSWORD.replace(' ', "%20")
        );
        let reply = crate::send_through(port, &query, None, &[]);
        assert_eq!(
            reply.status, 200,
            "{setup}: query credentials: {}",
            reply.body
        );
        assert!(
            reply.body == format!("good {address}\n") || reply.body == format!("nochg {address}\n"),
            "{setup}: query credentials: {}",
            reply.body
        );
        // A token URL (`/u/<token>`, the form the shipped configs route) updates its user's host.
        let reply = crate::send_through(port, &format!("/u/{TOKEN}?ip={address}"), None, &[]);
        assert!(
            reply.status == 200
                && (reply.body == format!("good {address}\n")
                    || reply.body == format!("nochg {address}\n")),
            "{setup}: token URL: {} {}",
            reply.status,
            reply.body
        );
    }
    status_page_is_routed(port, setup);
}

/// The status page is routed too: a person signs in with the update credentials and gets the page
/// with the frontend's Content-Security-Policy; without credentials, the Basic challenge (the
/// frontend's, or in proxy mode the web server's).
pub fn status_page_is_routed(port: u16, setup: &str) {
    let page = crate::send_through(port, "/status.html", Some((USER, PASSWORD)), &[]);
    assert_eq!(page.status, 200, "{setup}: the status page: {page:?}");
    assert!(page.body.contains(HOST), "{setup}: {}", page.body);
    assert!(
        page.header("content-security-policy")
            .is_some_and(|policy| policy.starts_with("default-src 'none'")),
        "{setup}: the page's CSP header was lost: {page:?}"
    );
    let anonymous = crate::send_through(port, "/status.html", None, &[]);
    assert_eq!(anonymous.status, 401, "{setup}: {anonymous:?}");
    assert!(
        anonymous
            .header("www-authenticate")
            .is_some_and(|challenge| challenge.starts_with("Basic ")),
        "{setup}: no Basic challenge: {anonymous:?}"
    );
}

/// Sends the secrets some clients put in URLs: a query password and a token path.
pub fn send_secrets(port: u16) {
    let query = format!("/nic/update?hostname={HOST}&username={USER}&password=correct%20horse");
    crate::send_through(port, &query, None, &[]);
    crate::send_through(port, &format!("/u/{TOKEN}?ip=198.51.100.12"), None, &[]);
}

/// Sends [`send_secrets`]' requests from 127.0.0.1 through `port`, whose frontend is down: each is
/// answered `status` (nginx: 502, Apache: 503).
pub fn send_secrets_to_a_stopped_frontend(port: u16, status: u16) {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let query = format!("/nic/update?hostname={HOST}&username={USER}&password=correct%20horse");
    for path in [query, format!("/u/{TOKEN}?ip=198.51.100.12")] {
        let reply = crate::util::http_get(address, &path, None, &[]);
        assert_eq!(reply.status, status, "{path}: {reply:?}");
    }
}

/// The access log at `log` shows the update requests but neither the query password nor the
/// token.
pub fn access_log_keeps_no_secrets(log: &Path, setup: &str) {
    let text = std::fs::read_to_string(log)
        .unwrap_or_else(|err| panic!("{setup}: read {}: {err}", log.display()));
    assert!(
        text.contains("/nic/update "),
        "{setup}: nothing logged: {text}"
    );
    for secret in [
        "password=",
        "correct%20horse",
        "correct horse",
        TOKEN,
        "myip=",
    ] {
        assert!(
            !text.contains(secret),
            "{setup}: {secret} in the access log: {text}"
        );
    }
}

/// In proxy mode the web server refuses a wrong password (401) without asking the frontend, and
/// passes a right one.
pub fn proxy_refuses_a_wrong_password(site: &Site, port: u16, setup: &str) {
    let jobs = site.files_in("new").len();
    let seen = crate::util::web_server::logged_clients(site).len();
    let path = format!("/nic/update?hostname={HOST}&myip=198.51.100.13");
    let reply = crate::send_through(port, &path, Some((USER, "wrong")), &[]);
    assert_eq!(reply.status, 401, "{setup}: {reply:?}");
    let reply = crate::send_through(port, &path, None, &[("X-Remote-User", USER)]);
    assert_eq!(reply.status, 401, "{setup}: no credentials: {reply:?}");
    assert_eq!(
        site.files_in("new").len(),
        jobs,
        "{setup}: a refused request spooled"
    );
    // The two updates of updates_land are all the frontend saw: the refused ones never came.
    updates_land(site, port, setup);
    assert_eq!(
        crate::util::web_server::logged_clients(site).len(),
        seen + 2,
        "{setup}: the frontend saw a request the proxy refused"
    );
}

/// A client naming another user in the user header is still the user it logged in as: `other`
/// does not own [`HOST`], so the answer is `nohost` and nothing is spooled.
pub fn user_header_cannot_be_spoofed(site: &Site, port: u16, setup: &str) {
    let jobs = site.files_in("new").len();
    let path = format!("/nic/update?hostname={HOST}&myip=198.51.100.14");
    for header in ["X-Remote-User", "x-remote-user"] {
        let reply = crate::send_through(port, &path, Some(("other", PASSWORD)), &[(header, USER)]);
        assert_eq!(reply.body, "nohost\n", "{setup}: {header} was believed");
    }
    assert_eq!(
        site.files_in("new").len(),
        jobs,
        "{setup}: spoofed user spooled"
    );
}

/// `/health` goes through to the frontend (its JSON, 200: these sites leave the heartbeat out);
/// `/status` and `/metrics` are not routed by the shipped files (they are commented out), so
/// the web server answers 404 itself.
pub fn health_is_routed_and_status_is_not(port: u16, setup: &str) {
    let health = crate::send_through(port, "/health", None, &[]);
    assert_eq!(health.status, 200, "{setup}: {health:?}");
    assert!(
        health.body.contains("\"status\":\"ok\""),
        "{setup}: {health:?}"
    );
    for path in ["/status", "/metrics"] {
        let response = crate::send_through(port, path, None, &[("Authorization", "Bearer x")]);
        assert_eq!(response.status, 404, "{setup} {path}: {response:?}");
        assert!(
            !response.body.contains("a bearer token is required"),
            "{setup} {path} reached the frontend"
        );
    }
}
