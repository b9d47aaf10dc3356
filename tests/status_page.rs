//! The status page (`GET /status.html`) after real updates applied by the real worker, loaded as a
//! person would: in headless Chromium (Debian's `chromium`), whose DOM is checked for what a user may
//! and may not see, for a hostile error text shown as text, and for anything fetched from elsewhere;
//! a phone-sized screenshot is kept in `$CARGO_TARGET_TMPDIR/status-page/` (`target/tmp/` by
//! default) to look at.

// Test code: a failed unwrap is the test failing, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::web_server::installed;
use util::{http_get, Frontend, Site, HOST, PASSWORD, USER};

/// What a backend answered, planted in the fake Plesk's failure text: markup, quotes and a
/// right-to-left override that would reorder what follows it.
const HOSTILE_ERROR: &str =
    "<img src=x onerror=alert(1)><script>alert(2)</script> \"q\" & 'a' \u{202e}gnp.exe";

/// A lab host, matched by the user's `*.lab.dyn.example.com`, not written in the config.
const LAB_HOST: &str = "nas.lab.dyn.example.com";
const OTHER_HOST: &str = "other.dyn.example.com";

/// The site of `util` plus `boss`, an admin with the same password, who owns no host.
fn site_with_admin() -> Site {
    let site = Site::new();
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let mut text = std::fs::read_to_string(site.config_path()).unwrap();
    text.push_str(&format!(
        "\n[[user]]\nname = \"boss\"\npassword_hash = \"{hash}\"\nadmin = true\n"
    ));
    std::fs::write(site.config_path(), text).unwrap();
    site
}

fn update_as(frontend: &Frontend, user: &str, host: &str, address: &str) {
    let response = frontend.get(
        &format!("/nic/update?hostname={host}&myip={address}"),
        Some((user, PASSWORD)),
    );
    assert_eq!(
        response.body,
        format!("good {address}\n"),
        "{user} {host} {address}"
    );
}

/// Three hosts of two users applied, then a change of HOST that failed once with a hostile
/// error text and was applied on the next run.
fn site_after_updates() -> (Site, Frontend) {
    let site = site_with_admin();
    let frontend = site.start_frontend();
    update_as(&frontend, USER, HOST, "203.0.113.7");
    update_as(&frontend, USER, LAB_HOST, "203.0.113.8");
    update_as(&frontend, "other", OTHER_HOST, "198.51.100.9");
    site.run_worker_once();
    update_as(&frontend, USER, HOST, "203.0.113.20");
    site.plesk_control("fail", HOSTILE_ERROR);
    let failed = site.worker_command().arg("--run-once").output().unwrap();
    assert_eq!(
        failed.status.code(),
        Some(1),
        "the change waits for a retry"
    );
    site.remove_plesk_control("fail");
    site.run_worker_once();
    assert!(
        site.plesk_records()
            .contains(&format!("{HOST}. A 203.0.113.20")),
        "{:?}",
        site.plesk_records()
    );
    (site, frontend)
}

/// Runs Chromium headless on `url` with `args`, killed after a minute; its stdout.
fn chromium(browser: &Path, profile: &Path, url: &str, args: &[&str]) -> String {
    let out = profile.with_extension("stdout");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            // Tests run as root, where Chromium's sandbox refuses to start.
            "--no-sandbox",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium on {url}: {status}");
    std::fs::read_to_string(&out).unwrap()
}

/// `http://user:password@127.0.0.1:port/status.html`: Chromium sends URL credentials as Basic
/// auth on a top-level navigation, after the 401 challenge.
fn page_url(frontend: &Frontend, user: &str) -> String {
    let password = PASSWORD.replace(' ', "%20");
    format!("http://{user}:{password}@{}/status.html", frontend.address)
}

/// Every `http://` or `https://` URL in `text`.
fn urls(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        let mut rest = text;
        while let Some(at) = rest.find(scheme) {
            let url = &rest[at..];
            let end = url
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
                .unwrap_or(url.len());
            found.push(&url[..end]);
            rest = &url[end..];
        }
    }
    found
}

#[test]
fn status_page_in_chromium_shows_a_user_their_hosts_and_nothing_from_elsewhere() {
    let Some(browser) = installed("/usr/bin/chromium", "chromium") else {
        return;
    };
    let (site, frontend) = site_after_updates();
    let profile = site.path().join("chromium-profile");

    let dom = chromium(
        &browser,
        &profile,
        &page_url(&frontend, USER),
        &["--dump-dom"],
    );
    for shown in [
        HOST,
        LAB_HOST,
        "203.0.113.20",
        "203.0.113.8",
        "Signed in as",
        "Last 30 days",
        "recovered since",
    ] {
        assert!(dom.contains(shown), "{shown} is not on the page: {dom}");
    }
    assert!(
        !dom.contains(OTHER_HOST) && !dom.contains("198.51.100.9"),
        "another user's host is shown: {dom}"
    );
    // The backend's text is there as text: no element was made of it, no override reorders it.
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<img") && !dom.contains("<script"), "{dom}");
    assert!(
        !dom.contains('\u{202e}') && dom.contains("\\u{202e}"),
        "{dom}"
    );
    // Nothing to fetch: no URL at all in the page (its own address appears nowhere either).
    assert_eq!(urls(&dom), Vec::<&str>::new(), "{dom}");
    // Nor an element or a rule that could load one (the hostile text's `src=` is text, escaped).
    for tag in [
        "<link", "<iframe", "<object", "<embed", "<source", "<video", "<audio", "<svg", "@import",
        "url(",
    ] {
        assert!(!dom.contains(tag), "{tag} in {dom}");
    }

    // As a phone sees it: the screenshot is kept to look at.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("phone.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &browser,
        &profile,
        &page_url(&frontend, USER),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=390,844",
            "--hide-scrollbars",
        ],
    );
    let png = std::fs::read(&shot).unwrap_or_else(|err| panic!("{}: {err}", shot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} is no screenshot ({} bytes)",
        shot.display(),
        png.len()
    );
    eprintln!("status page screenshot: {}", shot.display());

    // The admin sees every host and the queue, in the same browser.
    let dom = chromium(
        &browser,
        &profile,
        &page_url(&frontend, "boss"),
        &["--dump-dom"],
    );
    for shown in [
        HOST,
        LAB_HOST,
        OTHER_HOST,
        "198.51.100.9",
        "Pending",
        "admin",
    ] {
        assert!(
            dom.contains(shown),
            "{shown} is not on the admin's page: {dom}"
        );
    }
}

#[test]
fn status_page_asks_for_basic_auth_and_forbids_every_external_resource() {
    let site = site_with_admin();
    let frontend = site.start_frontend();

    let anonymous = frontend.get("/status.html", None);
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Basic realm=\"dyndns\", charset=\"UTF-8\"")
    );
    let wrong = frontend.get("/status.html", Some((USER, "wrong")));
    assert_eq!(wrong.status, 401);
    // Credentials in the query, which dyndns2 takes, are not taken here.
    let query = frontend.get(
        &format!(
            "/status.html?username={USER}&password={}",
            PASSWORD.replace(' ', "%20")
        ),
        None,
    );
    assert_eq!(query.status, 401);

    let page = frontend.get("/status.html", Some((USER, PASSWORD)));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("content-security-policy"),
        Some(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
        )
    );
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.body.contains("name=\"viewport\""), "{}", page.body);
    assert!(
        page.body.contains(HOST),
        "the user's configured host is listed before any update"
    );
    assert!(page.body.contains("Never ran"), "{}", page.body);
}

/// The worker's heartbeat as the page reads it: a `--run-once` worker stops cleanly.
#[test]
fn status_page_tells_a_stopped_worker_from_one_never_run() {
    let site = site_with_admin();
    let frontend = site.start_frontend();
    site.run_worker_once();
    let page = http_get(
        frontend.address,
        "/status.html",
        Some(("boss", PASSWORD)),
        &[],
    );
    assert!(page.body.contains("stopped cleanly"), "{}", page.body);
    assert!(
        page.body.contains("<dt>Pending</dt><dd>0</dd>"),
        "{}",
        page.body
    );
}

/// As packaged: the frontend runs as its own user (here `nobody`, group `nogroup` standing in for
/// `dyndns`) and reads what the root worker wrote in the set-group-ID state folder; it writes
/// nothing there, and `failed/` (root's, unlistable to it) is counted as the worker's beat says.
#[test]
fn status_page_as_the_packaged_frontend_user_reads_the_worker_files_and_writes_nothing() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "this test needs root (CI=true)"
        );
        eprintln!("WARNING: not root, the packaged status page test SKIPPED");
        return;
    }
    let site = site_with_admin();
    site.apply_packaged_modes();
    let frontend = site.start_frontend_as_nobody();
    update_as(&frontend, USER, HOST, "203.0.113.7");
    site.run_worker_once();
    let state_dir = site.path().join("state");
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&state_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    assert!(
        before.iter().any(|name| name == "history.jsonl"),
        "{before:?}"
    );

    let page = frontend.get("/status.html", Some(("boss", PASSWORD)));
    assert_eq!(page.status, 200, "{}", site.frontend_log());
    for shown in [HOST, "203.0.113.7", "stopped cleanly", "1 change,"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    assert!(
        !page.body.contains("<h2>Notes</h2>"),
        "a file the frontend's group should read was not read: {}",
        page.body
    );
    assert!(
        page.body
            .contains("<dt>Failed</dt><dd>0 (the worker's count at its beat of"),
        "{}",
        page.body
    );
    assert_eq!(listing(), before, "the page wrote in the state folder");
}
