//! README's first command: `dyndns demo` runs the whole flow with no config, and the curl line it
//! prints really changes the zone file it names.

mod util;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use util::{eventually, free_port, frontend_binary, http_get};

#[test]
fn demo_prints_a_curl_line_that_lands_in_the_zone_file() {
    let port = free_port();
    let mut demo = Command::new(frontend_binary())
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dyndns demo");
    let mut curl_line = String::new();
    let mut zone_file = String::new();
    let mut stdout = BufReader::new(demo.stdout.take().unwrap()).lines();
    for line in stdout.by_ref().take(30) {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("curl -u ") {
            curl_line = rest.to_string();
        }
        if let Some(path) = line.trim().strip_prefix("cat ") {
            zone_file = path.to_string();
            break;
        }
    }
    // curl -u 'demo:<password>' 'http://127.0.0.1:<port>/nic/update?hostname=...&myip=203.0.113.7'
    let parts: Vec<&str> = curl_line.split('\'').collect();
    assert!(parts.len() >= 4, "no curl line printed: {curl_line:?}");
    let (user, password) = parts[1].split_once(':').unwrap();
    let url = parts[3];
    let path = &url[url.find("/nic/update").expect("an update URL")..];
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let reply = http_get(address, path, Some((user, password)), &[]);
    assert_eq!(reply.body, "good 203.0.113.7\n");
    let landed = eventually(Duration::from_secs(10), || {
        std::fs::read_to_string(&zone_file).is_ok_and(|text| text.contains("203.0.113.7"))
    });
    let again = http_get(address, path, Some((user, password)), &[]);
    util::terminate(&demo);
    let rest: Vec<String> = stdout.map_while(Result::ok).collect();
    let status = demo.wait().unwrap();
    assert!(landed, "the change never reached {zone_file}");
    assert_eq!(again.body, "nochg 203.0.113.7\n");
    assert!(status.success(), "{status}");
    assert!(
        rest.iter().any(|line| line.contains("1 change(s) applied")),
        "{rest:?}"
    );
}
