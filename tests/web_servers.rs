//! Why this exists: the frontend believes one forwarding header (and, with `auth = "proxy"`, one
//! user header), and only as far as the web server in front replaces or appends it. These run the
//! real nginx and Apache (Debian's packages, as `nobody`, on loopback) once each, with the shipped
//! packaging/nginx, packaging/apache and packaging/plesk files (only ports and paths changed), the
//! alternatives packaging/README.md names and the appending defaults, and send every header trick
//! a client has: the address and user the frontend sees are always the ones the web server saw.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "web_servers/shipped.rs"]
mod shipped;
mod util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use util::web_server::{installed, logged_clients, run_checks, Check, WebServer};
use util::{Site, HOST, PASSWORD, USER};

/// Where the client connects from: a loopback address outside `trusted_proxies` (127.0.0.1/32,
/// where the web server connects from).
const CLIENT: &str = "127.0.0.5";

/// What a client may send to pick its address. The web server passes each through as written,
/// unless it sets that header itself.
const TRICKS: &[&[(&str, &str)]] = &[
    &[],
    &[("X-Forwarded-For", "198.51.100.66")],
    &[
        ("X-Forwarded-For", "198.51.100.66"),
        ("x-forwarded-for", "198.51.100.67"),
    ],
    // Not visible ASCII: made the whole appended line unreadable, so the proxy became the client.
    &[("X-Forwarded-For", "b\u{fc}cher")],
    &[("X-Forwarded-For", "198.51.100.66, 127.0.0.1")],
    &[("X-Forwarded-For", "  198.51.100.66 ,")],
    &[("X-Forwarded-For", "")],
    &[("X-Real-IP", "198.51.100.66")],
    &[
        ("X-Real-IP", "198.51.100.66"),
        ("X-Real-IP", "198.51.100.67"),
    ],
    &[("Forwarded", "for=198.51.100.66")],
    &[(
        "Forwarded",
        "FOR=\"[2001:db8::66]:80\", for=unknown, for=_hidden",
    )],
    &[("Forwarded", "for=\"198.51.100.66,\", for=unknown")],
    &[("Forwarded", "for=\"b\u{fc}cher\"")],
];

/// One GET through the web server on `port`, sent from [`CLIENT`]; the reply as it came.
fn send_through(
    port: u16,
    path_and_query: &str,
    credentials: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> util::Response {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(CLIENT.parse().unwrap(), 0))
            .unwrap();
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect to the web server");
        stream.into_std().unwrap()
    });
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let reply = util::exchange(stream, path_and_query, credentials, headers);
    assert_ne!(
        reply.status, 502,
        "the web server could not reach the frontend"
    );
    reply
}

/// One update (as [`USER`]) through the web server on `port` with `headers`; returns the reply's
/// body and the client address the frontend logged for it.
fn update_through(
    site: &Site,
    port: u16,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> (String, String) {
    let before = logged_clients(site).len();
    let reply = send_through(port, path_and_query, Some((USER, PASSWORD)), headers);
    // The log writer flushes its batch every 10 ms.
    let logged = util::eventually(Duration::from_secs(5), || {
        logged_clients(site).len() > before
    });
    assert!(logged, "no request line for {headers:?}: {reply:?}");
    let client = logged_clients(site).pop().unwrap();
    (reply.body, client)
}

/// A frontend trusting 127.0.0.1 (the web server), reading `header`.
fn frontend_site(header: &str) -> Site {
    let site = Site::with(
        format!("trusted_proxies = [\"127.0.0.1/32\"]\nclient_address_header = \"{header}\""),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    give_other_the_token(&site);
    site
}

/// User `other` (one host) gets [`shipped::TOKEN`] as its update token, so token URLs can be
/// sent through the web servers.
fn give_other_the_token(site: &Site) {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(shipped::TOKEN.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let config = std::fs::read_to_string(site.config_path())
        .unwrap()
        .replace(
            "name = \"other\"\n",
            &format!("name = \"other\"\ntoken_hashes = [\"sha256:{hex}\"]\n"),
        );
    std::fs::write(site.config_path(), config).unwrap();
}

/// Every trick through the web server on `port` reaches the frontend as [`CLIENT`].
fn assert_no_trick_picks_an_address(site: &Site, port: u16, setup: &str) {
    for headers in TRICKS {
        assert_trick_picks_no_address(site, port, setup, headers);
    }
}

/// Every trick with `header` (in any spelling) through the web server on `port` reaches the
/// frontend as [`CLIENT`].
fn header_cannot_pick_the_address(site: &Site, port: u16, setup: &str, header: &str) {
    let tricks: Vec<_> = TRICKS
        .iter()
        .filter(|headers| {
            headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(header))
        })
        .collect();
    assert!(!tricks.is_empty(), "no trick with {header}");
    for headers in tricks {
        assert_trick_picks_no_address(site, port, setup, headers);
    }
}

fn assert_trick_picks_no_address(site: &Site, port: u16, setup: &str, headers: &[(&str, &str)]) {
    let (body, client) =
        update_through(site, port, &format!("/nic/update?hostname={HOST}"), headers);
    assert_eq!(
        client, CLIENT,
        "{setup}: the client chose its address with {headers:?}"
    );
    // Loopback is never published: the address the frontend used is the real one.
    assert_eq!(body, "dnserr\n", "{setup}: {headers:?}");
}

/// The checks every shipped config passes: updates land and no forwarding header a client
/// sends becomes its address.
fn address_checks<'a>(site: &'a Site, port: u16, setup: &'a str) -> Vec<Check<'a>> {
    let mut checks: Vec<Check<'a>> = vec![(
        "updates land, client address as the proxy saw it",
        Box::new(move || shipped::updates_land(site, port, setup)),
    )];
    for (name, header) in [
        ("X-Forwarded-For cannot be spoofed", "X-Forwarded-For"),
        ("X-Real-IP cannot be spoofed", "X-Real-IP"),
        ("Forwarded cannot be spoofed", "Forwarded"),
    ] {
        checks.push((
            name,
            Box::new(move || header_cannot_pick_the_address(site, port, setup, header)),
        ));
    }
    checks
}

/// [`address_checks`], and for `auth = "proxy"`: the proxy refuses a wrong password and the
/// user header cannot be spoofed.
fn proxy_auth_checks<'a>(site: &'a Site, port: u16, setup: &'a str) -> Vec<Check<'a>> {
    let mut checks = address_checks(site, port, setup);
    checks.push((
        "the proxy refuses a wrong password",
        Box::new(move || shipped::proxy_refuses_a_wrong_password(site, port, setup)),
    ));
    checks.push((
        "the user header cannot be spoofed",
        Box::new(move || shipped::user_header_cannot_be_spoofed(site, port, setup)),
    ));
    checks
}

/// A frontend on the unix socket in its site, trusting it (as every socket peer), reading
/// X-Forwarded-For, `auth` as given; started, with the socket's path.
fn unix_frontend_site(auth: &str) -> (Site, util::UnixFrontend, PathBuf) {
    let site = Site::with(
        format!("client_address_header = \"X-Forwarded-For\"\nauth = \"{auth}\"\nproxy_user_header = \"X-Remote-User\""),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    give_other_the_token(&site);
    shipped::open_to_web_server(&site);
    let socket = site.listen_on_unix_socket();
    let frontend = site.start_unix_frontend(&socket, "frontend.log");
    (site, frontend, socket)
}

#[test]
fn nginx_with_the_shipped_configs_never_lets_a_client_choose_its_address_or_user() {
    let Some(nginx) = installed("/usr/sbin/nginx", "nginx") else {
        return;
    };
    let xff = frontend_site("X-Forwarded-For");
    let real_ip = frontend_site("X-Real-IP");
    let forwarded = frontend_site("Forwarded");
    let _frontends = [&xff, &real_ip, &forwarded].map(|site| site.start_frontend());
    let (pass_unix, _pass_frontend, pass_socket) = unix_frontend_site("builtin");
    let (proxy_unix, _proxy_frontend, proxy_socket) = unix_frontend_site("proxy");
    let (plesk, _plesk_frontend) = {
        let site = frontend_site("X-Forwarded-For");
        let frontend = site.start_frontend();
        (site, frontend)
    };
    let ports = [0; 9].map(|_| util::free_port());
    // Nothing listens here: the frontend behind ports[7] and ports[8] is down.
    let stopped = util::free_port();
    let dir = WebServer::folder();
    let at = |name: &str| dir.path().join(name).display().to_string();
    shipped::htpasswd(&dir.path().join("htpasswd"));
    // The shipped files, with only the frontend's address and the file paths changed.
    let log_path = "/var/log/nginx/dyndns.access.log";
    let error_log_path = "/var/log/nginx/dyndns.error.log";
    let error_log_line = format!("    error_log {error_log_path} crit;\n");
    let files = [
        (
            "dyndns-log.conf",
            shipped::shipped("nginx/dyndns-log.conf", &[]),
        ),
        (
            "pass-tcp.conf",
            shipped::shipped(
                "nginx/dyndns.conf",
                &[
                    ("127.0.0.1:8245", &format!("127.0.0.1:{}", xff.port)),
                    (log_path, &at("pass-tcp.access.log")),
                    (error_log_path, &at("pass-tcp.error.log")),
                ],
            ),
        ),
        (
            "pass-unix.conf",
            shipped::shipped(
                "nginx/dyndns.conf",
                &[
                    (
                        "http://127.0.0.1:8245",
                        &format!("http://unix:{}", pass_socket.display()),
                    ),
                    (log_path, &at("pass-unix.access.log")),
                    (error_log_path, &at("pass-unix.error.log")),
                ],
            ),
        ),
        (
            "proxy-unix.conf",
            shipped::shipped(
                "nginx/dyndns-proxy-auth.conf",
                &[
                    ("/run/dyndns/http.sock", &proxy_socket.display().to_string()),
                    ("/etc/nginx/dyndns.htpasswd", &at("htpasswd")),
                    (log_path, &at("proxy-unix.access.log")),
                    (error_log_path, &at("proxy-unix.error.log")),
                ],
            ),
        ),
        (
            "plesk.conf",
            shipped::shipped(
                "plesk/nginx-directives.conf",
                &[
                    ("127.0.0.1:8245", &format!("127.0.0.1:{}", plesk.port)),
                    (error_log_path, &at("plesk.error.log")),
                ],
            ),
        ),
        (
            "down.conf",
            shipped::shipped(
                "nginx/dyndns.conf",
                &[
                    ("127.0.0.1:8245", &format!("127.0.0.1:{stopped}")),
                    (log_path, &at("down.access.log")),
                    (error_log_path, &at("quiet.error.log")),
                ],
            ),
        ),
        (
            // Without the shipped `error_log … crit`: proves the check below can see a leak.
            "down-loud.conf",
            shipped::shipped(
                "nginx/dyndns.conf",
                &[
                    ("127.0.0.1:8245", &format!("127.0.0.1:{stopped}")),
                    (log_path, &at("down.access.log")),
                    (&error_log_line, ""),
                ],
            ),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let include = |port: u16, file: &str| {
        format!(
            "server {{\n    listen 127.0.0.1:{port};\n    include {};\n}}\n",
            at(file)
        )
    };
    // Each with an error log of its own, at nginx's default level.
    let down_server = |port: u16, file: &str, error_log: &str| {
        format!(
            "server {{\n    listen 127.0.0.1:{port};\n    error_log {};\n    include {};\n}}\n",
            at(error_log),
            at(file)
        )
    };
    // packaging/README.md's alternatives to the shipped header line, with only the port changed.
    let server = |port: u16, frontend: u16, headers: &str| {
        format!(
            "server {{
    listen 127.0.0.1:{port};
    location /nic/update {{
        proxy_pass http://127.0.0.1:{frontend};
        proxy_set_header Host $host;
{headers}
        proxy_set_header X-Forwarded-Proto $scheme;
    }}
}}
"
        )
    };
    // As Plesk writes a subdomain's server block: its own access log in the combined
    // format, which records queries, then the additional directives.
    let plesk_server = format!(
        "server {{\n    listen 127.0.0.1:{};\n    access_log {};\n    include {};\n}}\n",
        ports[6],
        at("plesk.access.log"),
        at("plesk.conf")
    );
    let http = format!(
        "include {log};
# RFC 7239 wants an IPv6 node quoted and in brackets.
map $remote_addr $dyndns_forwarded {{
    ~:      \"for=\\\"[$remote_addr]\\\"\";
    default \"for=$remote_addr\";
}}
{pass_tcp}{pass_unix}{proxy_unix}{appending}{real_ip}{forwarded}{plesk_server}{down}{down_loud}",
        log = at("dyndns-log.conf"),
        pass_tcp = include(ports[0], "pass-tcp.conf"),
        pass_unix = include(ports[1], "pass-unix.conf"),
        proxy_unix = include(ports[2], "proxy-unix.conf"),
        down = down_server(ports[7], "down.conf", "down.error.log"),
        down_loud = down_server(ports[8], "down-loud.conf", "down-loud.error.log"),
        appending = server(
            ports[3],
            xff.port,
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"
        ),
        real_ip = server(
            ports[4],
            real_ip.port,
            "        proxy_set_header X-Real-IP $remote_addr;"
        ),
        forwarded = server(
            ports[5],
            forwarded.port,
            "        proxy_set_header Forwarded $dyndns_forwarded;"
        ),
    );
    let logs =
        ["pass-tcp", "pass-unix", "proxy-unix"].map(|name| at(&format!("{name}.access.log")));
    let plesk_log = at("plesk.access.log");
    let error_logs = ["down-loud.error.log", "down.error.log", "quiet.error.log"].map(at);
    let _nginx = WebServer::nginx(&nginx, dir, &http, &ports);

    for (site, port, setup) in [
        (&xff, ports[0], "nginx/dyndns.conf over TCP"),
        (&pass_unix, ports[1], "nginx/dyndns.conf over the socket"),
    ] {
        shipped::updates_land(site, port, setup);
        assert_no_trick_picks_an_address(site, port, setup);
        shipped::send_secrets(port);
        shipped::health_is_routed_and_status_is_not(port, setup);
    }
    let setup = "nginx/dyndns-proxy-auth.conf over the socket";
    shipped::health_is_routed_and_status_is_not(ports[2], setup);
    shipped::proxy_refuses_a_wrong_password(&proxy_unix, ports[2], setup);
    shipped::user_header_cannot_be_spoofed(&proxy_unix, ports[2], setup);
    assert_no_trick_picks_an_address(&proxy_unix, ports[2], setup);
    shipped::send_secrets(ports[2]);
    for log in &logs {
        shipped::access_log_keeps_no_secrets(Path::new(log), log);
    }
    assert_no_trick_picks_an_address(&xff, ports[3], "X-Forwarded-For appended to");
    assert_no_trick_picks_an_address(&real_ip, ports[4], "X-Real-IP");
    assert_no_trick_picks_an_address(&forwarded, ports[5], "Forwarded");
    let setup = "plesk/nginx-directives.conf";
    shipped::updates_land(&plesk, ports[6], setup);
    assert_no_trick_picks_an_address(&plesk, ports[6], setup);
    shipped::send_secrets(ports[6]);
    let plesk_log = std::fs::read_to_string(plesk_log).unwrap_or_default();
    assert_eq!(
        plesk_log, "",
        "{setup}: Plesk's access log recorded update requests"
    );
    // The shipped `error_log … crit` keeps the request line of each 502 (secrets and all) out of
    // nginx's error logs; without it, nginx writes it there (README's warning).
    for port in [ports[7], ports[8]] {
        shipped::send_secrets_to_a_stopped_frontend(port, 502);
    }
    let [loud, server_level, location_level] =
        error_logs.map(|log| std::fs::read_to_string(log).unwrap_or_default());
    assert!(
        loud.contains("password=correct%20horse") && loud.contains(shipped::TOKEN),
        "without error_log crit, nginx's error log no longer records the request line of a 502, so this test proves nothing: {loud}"
    );
    let shipped_logs = server_level + &location_level;
    assert!(
        !shipped_logs.contains("request:") && !shipped_logs.contains(shipped::TOKEN),
        "the shipped nginx config let a 502's request line into the error log: {shipped_logs}"
    );
}

#[test]
fn apache_with_the_shipped_configs_never_lets_a_client_choose_its_address_or_user() {
    let Some(apache) = installed("/usr/sbin/apache2", "apache2") else {
        return;
    };
    let modules = Path::new("/usr/lib/apache2/modules");
    let xff = frontend_site("X-Forwarded-For");
    let _frontend = xff.start_frontend();
    let (pass_unix, _pass_frontend, pass_socket) = unix_frontend_site("builtin");
    let (proxy_unix, _proxy_frontend, proxy_socket) = unix_frontend_site("proxy");
    let plesk = frontend_site("X-Forwarded-For");
    let _plesk_frontend = plesk.start_frontend();
    let ports = [0; 6].map(|_| util::free_port());
    // Nothing listens here: the frontend behind ports[5] is down.
    let stopped = util::free_port();
    let dir = WebServer::folder();
    let root = dir.path().display().to_string();
    let at = |name: &str| dir.path().join(name).display().to_string();
    shipped::htpasswd(&dir.path().join("htpasswd"));
    // The shipped files, with only the frontend's address and the file paths changed.
    let log_path = "/var/log/apache2/dyndns.access.log";
    let files = [
        (
            "pass-tcp.conf",
            shipped::shipped(
                "apache/dyndns.conf",
                &[
                    ("127.0.0.1:8245", &format!("127.0.0.1:{}", xff.port)),
                    (log_path, &at("pass-tcp.access.log")),
                ],
            ),
        ),
        (
            "pass-unix.conf",
            shipped::shipped(
                "apache/dyndns.conf",
                &[
                    (
                        "\"http://127.0.0.1:8245/$1\"",
                        &format!("\"unix:{}|http://localhost/$1\"", pass_socket.display()),
                    ),
                    (log_path, &at("pass-unix.access.log")),
                ],
            ),
        ),
        (
            "proxy-unix.conf",
            shipped::shipped(
                "apache/dyndns-proxy-auth.conf",
                &[
                    ("/run/dyndns/http.sock", &proxy_socket.display().to_string()),
                    ("/etc/apache2/dyndns.htpasswd", &at("htpasswd")),
                    (log_path, &at("proxy-unix.access.log")),
                ],
            ),
        ),
        (
            "plesk.conf",
            shipped::shipped(
                "plesk/apache-directives.conf",
                &[("127.0.0.1:8245", &format!("127.0.0.1:{}", plesk.port))],
            ),
        ),
        (
            "down.conf",
            shipped::shipped(
                "apache/dyndns.conf",
                &[
                    ("127.0.0.1:8245", &format!("127.0.0.1:{stopped}")),
                    (log_path, &at("down.access.log")),
                ],
            ),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let include = |port: u16, file: &str| {
        format!(
            "Listen 127.0.0.1:{port}\n<VirtualHost 127.0.0.1:{port}>\nInclude {}\n</VirtualHost>\n",
            at(file)
        )
    };
    let load = [
        "mpm_event",
        "authz_core",
        "authn_core",
        "authn_file",
        "authz_user",
        "auth_basic",
        "proxy",
        "proxy_http",
        "headers",
        "setenvif",
    ]
    .map(|name| {
        format!(
            "LoadModule {name}_module {}/mod_{name}.so\n",
            modules.display()
        )
    })
    .concat();
    // The last virtual host is Apache's default, which appends the client's address to whatever
    // X-Forwarded-For the client sent.
    let config = format!(
        "ServerRoot {root}
DefaultRuntimeDir {root}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
LogLevel warn
ServerName localhost
{load}{pass_tcp}{pass_unix}{proxy_unix}{plesk}{down}Listen 127.0.0.1:{appending}
<VirtualHost 127.0.0.1:{appending}>
<Location \"/nic/update\">
    ProxyPass \"http://127.0.0.1:{frontend}/nic/update\"
</Location>
</VirtualHost>
",
        pass_tcp = include(ports[0], "pass-tcp.conf"),
        pass_unix = include(ports[1], "pass-unix.conf"),
        proxy_unix = include(ports[2], "proxy-unix.conf"),
        plesk = include(ports[4], "plesk.conf"),
        down = include(ports[5], "down.conf"),
        appending = ports[3],
        frontend = xff.port,
    );
    std::fs::write(dir.path().join("httpd.conf"), config).unwrap();
    let args = [
        "-f".to_string(),
        format!("{root}/httpd.conf"),
        "-DFOREGROUND".to_string(),
    ];
    let logs =
        ["pass-tcp", "pass-unix", "proxy-unix"].map(|name| at(&format!("{name}.access.log")));
    let error_log = at("error.log");
    let _apache = WebServer::start(dir, &apache, &args, &ports);

    let mut checks = address_checks(&xff, ports[0], "apache/dyndns.conf over TCP");
    checks.extend(address_checks(
        &pass_unix,
        ports[1],
        "apache/dyndns.conf over the socket",
    ));
    checks.extend(proxy_auth_checks(
        &proxy_unix,
        ports[2],
        "apache/dyndns-proxy-auth.conf over the socket",
    ));
    // Plesk's own access log records queries whatever is pasted (the file says so): no log check.
    checks.extend(address_checks(
        &plesk,
        ports[4],
        "plesk/apache-directives.conf",
    ));
    checks.push((
        "the access logs keep no query password and no token",
        Box::new(|| {
            for port in [ports[0], ports[1], ports[2]] {
                shipped::send_secrets(port);
            }
            for log in &logs {
                shipped::access_log_keeps_no_secrets(Path::new(log), log);
            }
        }),
    ));
    checks.push((
        "/health is routed, /status and /metrics are not",
        Box::new(|| {
            for (port, setup) in [
                (ports[0], "apache/dyndns.conf over TCP"),
                (ports[1], "apache/dyndns.conf over the socket"),
                (ports[2], "apache/dyndns-proxy-auth.conf over the socket"),
            ] {
                shipped::health_is_routed_and_status_is_not(port, setup);
            }
        }),
    ));
    checks.push((
        "Apache's default appending X-Forwarded-For",
        Box::new(|| {
            assert_no_trick_picks_an_address(&xff, ports[3], "X-Forwarded-For appended to");
        }),
    ));
    checks.push((
        "the error log keeps no secret while the frontend is down",
        Box::new(|| {
            shipped::send_secrets_to_a_stopped_frontend(ports[5], 503);
            let log = std::fs::read_to_string(&error_log).unwrap();
            assert!(log.contains("AH01114"), "no proxy error logged: {log}");
            assert!(
                !log.contains("correct%20horse") && !log.contains(shipped::TOKEN),
                "Apache's error log records the query or the token: {log}"
            );
        }),
    ));
    run_checks("apache", checks);
}

#[test]
fn tricks_are_not_addresses_the_frontend_would_publish_anyway() {
    // Guards the tests above: were a trick believed, the reply would be `good` for it, not the
    // `dnserr` of a loopback client.
    let site = Site::with(
        "trusted_proxies = [\"127.0.0.1/32\"]".into(),
        "per_user_per_minute = 0\nper_source_per_minute = 0\n".into(),
    );
    let frontend = site.start_frontend();
    let reply = frontend.request(
        &format!("/nic/update?hostname={HOST}"),
        Some((USER, PASSWORD)),
        &[("X-Forwarded-For", "198.51.100.66")],
    );
    assert_eq!(reply.body, "good 198.51.100.66\n");
}
