//! Why this exists: proves the command backend's contract with a real child: a small shell script
//! (the worker still runs it as an argv, `/bin/sh <script> …`, never `sh -c`) that logs the argv it
//! got and its environment, and exits with the status a test asks for, or hangs.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dyndns_config::CommandConfig;
use dyndns_worker::backend::{Backend, BackendError, Change, CommandBackend, RecordType, Value};
use dyndns_worker::command::DEFAULT_PATH;
use dyndns_worker::reconcile::Reconcile;

use crate::util::{process_gone, read_pid_file};

const ZONE: &str = "example.com";

/// Logs `call [arg] [arg] …` per run and its environment, then does what the files beside it say:
/// `hang` (write its pid, sleep), `exit-code` (exit with it), `signal` (kill itself).
const SCRIPT: &str = r#"dir=$(dirname "$0")
{ printf 'call'; for arg in "$@"; do printf ' [%s]' "$arg"; done; printf '\n'; } >> "$dir/calls.log"
env > "$dir/env.txt"
if [ -e "$dir/hang" ]; then echo $$ > "$dir/hang.pid"; exec sleep 3600; fi
if [ -e "$dir/signal" ]; then kill -9 $$; fi
echo "the provider said no" >&2
exit "$(cat "$dir/exit-code" 2>/dev/null || echo 0)"
"#;

/// A temp dir with the script, and the backend that runs it.
struct Script {
    dir: tempfile::TempDir,
}

impl Script {
    fn new() -> Script {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("record.sh"), SCRIPT).expect("write the script");
        Script { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `[backend.command] command` with every placeholder, and `{values}` last.
    fn argv(&self) -> Vec<String> {
        let script = self.path("record.sh").to_string_lossy().into_owned();
        [
            "/bin/sh",
            &script,
            "{action}",
            "{host}",
            "{zone}",
            "{label}",
            "{type}",
            "{value}",
            "ttl={ttl}",
            "{values}",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect()
    }

    fn backend(&self, timeout: Duration, transient_exit_codes: &[i32]) -> CommandBackend {
        CommandBackend::new(&CommandConfig {
            command: self.argv(),
            timeout,
            transient_exit_codes: transient_exit_codes.to_vec(),
        })
        .expect("the test template is valid")
    }

    /// The default config: 10 s, `[75]`.
    fn default_backend(&self) -> CommandBackend {
        self.backend(Duration::from_secs(10), &[75])
    }

    fn exit_with(&self, code: i32) {
        std::fs::write(self.path("exit-code"), code.to_string()).expect("write exit-code");
    }

    fn touch(&self, name: &str) {
        std::fs::write(self.path(name), "").expect("touch");
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.path("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address literal")
}

fn home(address: &str) -> Change {
    Change::address("home.dyn.example.com", ZONE, "home.dyn", ip(address), 60)
}

#[tokio::test]
async fn every_placeholder_is_replaced_and_exit_0_is_applied() {
    let script = Script::new();
    let backend = script.default_backend();
    let applied = backend
        .apply(&home("192.0.2.7"))
        .await
        .expect("exit 0 is done");
    // The command cannot read: nothing before, and written whatever was there.
    assert!(applied.changed && applied.previous.is_empty());
    let apex = Change::address(ZONE, ZONE, "", ip("2001:db8::7"), 300);
    backend.apply(&apex).await.expect("exit 0 is done");
    assert_eq!(
        script.calls(),
        [
            "call [replace] [home.dyn.example.com] [example.com] [home.dyn] [A] [192.0.2.7] [ttl=60] [192.0.2.7]",
            // The apex label is an empty element, still an element.
            "call [replace] [example.com] [example.com] [] [AAAA] [2001:db8::7] [ttl=300] [2001:db8::7]",
        ]
    );
    assert_eq!(backend.round_trips(), 2);
}

#[tokio::test]
async fn several_values_are_one_value_element_and_one_values_element_each() {
    let script = Script::new();
    let backend = script.default_backend();
    let challenge = Change::replace(
        "home.dyn.example.com",
        ZONE,
        "home.dyn",
        RecordType::Txt,
        vec![
            Value::Txt("token two".to_owned()),
            Value::Txt("tokenOne".to_owned()),
        ],
        60,
    );
    backend.apply(&challenge).await.expect("exit 0 is done");
    assert_eq!(
        script.calls(),
        ["call [replace] [home.dyn.example.com] [example.com] [home.dyn] [TXT] [token two tokenOne] [ttl=60] [token two] [tokenOne]"]
    );
}

#[tokio::test]
async fn a_delete_has_an_empty_value_and_no_values() {
    let script = Script::new();
    let backend = script.default_backend();
    let delete = Change::delete("home.dyn.example.com", ZONE, "home.dyn", RecordType::Aaaa);
    backend.apply(&delete).await.expect("exit 0 is done");
    assert_eq!(
        script.calls(),
        ["call [delete] [home.dyn.example.com] [example.com] [home.dyn] [AAAA] [] [ttl=0]"]
    );
}

#[tokio::test]
async fn a_host_that_tries_to_add_arguments_stays_one_element() {
    let script = Script::new();
    let backend = script.default_backend();
    // What `check_in` would refuse, handed to `write` directly: even then no value adds, splits or
    // expands an element.
    let mut hostile = home("192.0.2.7");
    hostile.host = "x.example.com --delete-zone {zone} ; rm -rf /".to_owned();
    let written = backend.write(ZONE, &[hostile.clone()]).await;
    assert!(written[0].is_ok(), "{written:?}");
    assert_eq!(
        script.calls(),
        ["call [replace] [x.example.com --delete-zone {zone} ; rm -rf /] [example.com] [home.dyn] [A] [192.0.2.7] [ttl=60] [192.0.2.7]"]
    );
    // Through the worker's reconcile, the name is refused before any argv is built.
    let refused = backend.apply(&hostile).await.expect_err("not a host name");
    assert!(!refused.is_transient(), "{refused}");
    assert_eq!(
        script.calls().len(),
        1,
        "the command ran for a refused name"
    );
}

#[tokio::test]
async fn the_environment_is_only_path_and_lang() {
    let script = Script::new();
    script
        .default_backend()
        .apply(&home("192.0.2.7"))
        .await
        .expect("done");
    let env = std::fs::read_to_string(script.path("env.txt")).expect("the script wrote env");
    let mut lines: Vec<&str> = env
        .lines()
        // dash exports PWD to its children by itself; nothing else may come from the worker.
        .filter(|line| !line.starts_with("PWD="))
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, ["LANG=C".to_owned(), format!("PATH={DEFAULT_PATH}")]);
}

#[tokio::test]
async fn listed_exit_statuses_are_transient_others_and_signals_permanent_with_stderr() {
    let script = Script::new();
    let backend = script.default_backend();

    script.exit_with(75);
    let error = backend
        .apply(&home("192.0.2.7"))
        .await
        .expect_err("exit 75");
    assert!(error.is_transient(), "{error}");
    assert!(
        error.to_string().contains("the provider said no"),
        "{error}"
    );
    assert!(
        error.to_string().contains("transient_exit_codes"),
        "{error}"
    );

    script.exit_with(1);
    let error = backend.apply(&home("192.0.2.7")).await.expect_err("exit 1");
    assert!(!error.is_transient(), "{error}");
    let message = error.to_string();
    assert!(
        message.contains("exit status: 1") && message.contains("the provider said no"),
        "{message}"
    );
    assert!(
        message.contains("/bin/sh") && message.contains("home.dyn.example.com"),
        "{message}"
    );

    // The operator's own list replaces the default: 75 is now permanent, 3 transient.
    let custom = script.backend(Duration::from_secs(10), &[3]);
    script.exit_with(3);
    let error = custom.apply(&home("192.0.2.7")).await.expect_err("exit 3");
    assert!(error.is_transient(), "{error}");
    script.exit_with(75);
    let error = custom.apply(&home("192.0.2.7")).await.expect_err("exit 75");
    assert!(!error.is_transient(), "{error}");

    script.touch("signal");
    let error = backend.apply(&home("192.0.2.7")).await.expect_err("killed");
    assert!(!error.is_transient(), "{error}");
    assert!(error.to_string().contains("signal: 9"), "{error}");
    assert_eq!(backend.round_trips() + custom.round_trips(), 5);
}

#[tokio::test]
async fn a_timeout_kills_the_command_is_transient_and_stops_the_batch() {
    let script = Script::new();
    script.touch("hang");
    let backend = script.backend(Duration::from_millis(500), &[75]);
    let other = Change::address("lab.dyn.example.com", ZONE, "lab.dyn", ip("192.0.2.8"), 60);
    let started = Instant::now();
    let results = backend.apply_batch(ZONE, &[home("192.0.2.7"), other]).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let first = results[0].as_ref().expect_err("timed out");
    assert!(first.is_transient(), "{first}");
    assert!(first.to_string().contains("timed out"), "{first}");
    let second = results[1].as_ref().expect_err("not run");
    assert!(second.is_transient(), "{second}");
    assert!(
        second
            .to_string()
            .contains("not run for lab.dyn.example.com"),
        "{second}"
    );
    assert_eq!(script.calls().len(), 1, "{:?}", script.calls());
    assert_eq!(backend.round_trips(), 1);

    let sleeper = read_pid_file(&script.path("hang.pid"), Duration::from_secs(1)).await;
    assert!(
        process_gone(sleeper, Duration::from_secs(2)).await,
        "the hung command {sleeper} outlived its timeout"
    );
}

#[tokio::test]
async fn check_finds_the_program_without_running_it() {
    let script = Script::new();
    let said = script
        .default_backend()
        .check(ZONE)
        .await
        .expect("/bin/sh is there");
    assert!(said.contains("/bin/sh"), "{said}");
    assert!(script.calls().is_empty(), "check ran the command");

    let missing = CommandBackend::new(&CommandConfig {
        command: vec!["/nonexistent/dns-set".to_owned(), "{host}".to_owned()],
        timeout: Duration::from_secs(1),
        transient_exit_codes: vec![75],
    })
    .expect("valid template");
    let error: BackendError = missing.check(ZONE).await.expect_err("no such program");
    assert!(
        error
            .to_string()
            .contains("`/nonexistent/dns-set` is not an executable file"),
        "{error}"
    );
    // Running it anyway is retried: installing the program fixes it.
    let error = missing
        .apply(&home("192.0.2.7"))
        .await
        .expect_err("cannot start");
    assert!(error.is_transient(), "{error}");
}

#[tokio::test]
async fn a_worker_config_with_backend_command_builds_it() {
    let script = Script::new();
    let argv: Vec<String> = script.argv().iter().map(|arg| format!("{arg:?}")).collect();
    let config = crate::none::config_with(
        script.dir.path(),
        "command",
        &format!("[backend.command]\ncommand = [{}]\n", argv.join(", ")),
    );
    let backends = dyndns_worker::backend::from_config(&config).expect("builds");
    let backend = backends
        .for_zone(&config.zones[0])
        .expect("the zone's backend");
    assert_eq!(backend.name(), "command");
    assert!(!backend.reads());
    backend.apply(&home("192.0.2.9")).await.expect("done");
    assert_eq!(script.calls().len(), 1);
}
