//! Why this exists: proves the command runner's promises — cleared environment, captured and capped
//! output, and a deadline that kills the whole process group — with real child processes.

use std::time::{Duration, Instant};

use dyndns_worker::command::{run, CommandError, RunOptions, DEFAULT_PATH};

use crate::util::{process_gone, read_pid_file};

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[tokio::test]
async fn environment_is_only_what_the_caller_sets() {
    let output = run(
        &argv(&["/usr/bin/env"]),
        &RunOptions::new(Duration::from_secs(10)),
    )
    .await
    .expect("env runs");
    assert!(output.status.success());
    let mut lines: Vec<String> = output.stdout_text().lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        vec!["LANG=C".to_owned(), format!("PATH={DEFAULT_PATH}")]
    );

    let mut options = RunOptions::new(Duration::from_secs(10));
    options.env = vec![("ONLY".to_owned(), "this".to_owned())];
    let output = run(&argv(&["/usr/bin/env"]), &options)
        .await
        .expect("env runs");
    assert_eq!(output.stdout_text(), "ONLY=this\n");
}

#[tokio::test]
async fn exit_code_stdout_and_stderr_are_returned() {
    let output = run(
        &argv(&["/bin/bash", "-c", "echo out; echo err >&2; exit 3"]),
        &RunOptions::new(Duration::from_secs(10)),
    )
    .await
    .expect("bash runs");
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(output.stdout_text(), "out\n");
    assert_eq!(output.stderr_text(), "err\n");
    assert!(!output.stdout_truncated && !output.stderr_truncated);
}

#[tokio::test]
async fn stdin_is_empty() {
    let output = run(
        &argv(&["/bin/cat"]),
        &RunOptions::new(Duration::from_secs(10)),
    )
    .await
    .expect("cat runs");
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn long_output_is_cut_at_the_limit_without_blocking_the_child() {
    let mut options = RunOptions::new(Duration::from_secs(10));
    options.output_limit = 10;
    // 1 MiB is far more than a pipe buffer: the child finishes only if we keep reading.
    let output = run(
        &argv(&["/usr/bin/head", "-c", "1048576", "/dev/zero"]),
        &options,
    )
    .await
    .expect("head runs");
    assert!(output.status.success());
    assert_eq!(output.stdout.len(), 10);
    assert!(output.stdout_truncated);
}

#[tokio::test]
async fn missing_program_is_a_spawn_error_naming_it() {
    let err = run(
        &argv(&["/nonexistent/dyndns-test-program", "--flag"]),
        &RunOptions::new(Duration::from_secs(10)),
    )
    .await
    .expect_err("cannot start");
    assert!(matches!(err, CommandError::Spawn { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("/nonexistent/dyndns-test-program --flag"),
        "{err}"
    );
}

#[tokio::test]
async fn empty_argv_is_refused() {
    let err = run(&[], &RunOptions::new(Duration::from_secs(1)))
        .await
        .expect_err("nothing to run");
    assert!(matches!(err, CommandError::Empty), "{err:?}");
}

#[tokio::test]
async fn timeout_kills_the_child_and_its_grandchild() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("grandchild.pid");
    // Run through /bin/bash rather than exec'ing a freshly written file, which can fail with ETXTBSY
    // while another test thread forks.
    let script = dir.path().join("spawns-sleep.sh");
    std::fs::write(
        &script,
        format!(
            "/bin/sleep 3600 &\necho $! > '{}'\nwait\n",
            pid_file.display()
        ),
    )
    .expect("write script");

    let started = Instant::now();
    let err = run(
        &argv(&["/bin/bash", &script.to_string_lossy()]),
        &RunOptions::new(Duration::from_secs(1)),
    )
    .await
    .expect_err("must time out");
    let took = started.elapsed();
    assert!(matches!(err, CommandError::TimedOut { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out after 1s"), "{err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "took {took:?}"
    );

    let grandchild = read_pid_file(&pid_file, Duration::from_secs(1)).await;
    assert!(
        process_gone(grandchild, Duration::from_secs(2)).await,
        "grandchild sleep {grandchild} survived the timeout"
    );
}

/// The child's exit is its answer: a backgrounded grandchild that keeps the stdout pipe open is
/// killed then, instead of holding the command until the deadline and turning exit 0 into a
/// timeout.
#[tokio::test]
async fn a_grandchild_holding_stdout_open_is_killed_when_the_child_exits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("grandchild.pid");
    let started = Instant::now();
    let output = run(
        &argv(&[
            "/bin/bash",
            "-c",
            &format!(
                "/bin/sleep 3600 & echo $! > '{}'; echo done",
                pid_file.display()
            ),
        ]),
        &RunOptions::new(Duration::from_secs(10)),
    )
    .await
    .expect("the child exited");
    assert!(output.status.success());
    assert_eq!(output.stdout_text(), "done\n");
    assert!(started.elapsed() < Duration::from_secs(5));

    let grandchild = read_pid_file(&pid_file, Duration::from_secs(1)).await;
    assert!(
        process_gone(grandchild, Duration::from_secs(2)).await,
        "grandchild sleep {grandchild} survived its parent's exit"
    );
}

/// A process that left the group (`setsid`) cannot be killed with it; if it holds the pipe, the
/// output is read a moment longer and the exit status still stands.
#[tokio::test]
async fn a_process_that_left_the_group_holding_stdout_does_not_hold_the_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("escaped.pid");
    let started = Instant::now();
    let output = run(
        &argv(&[
            "/bin/bash",
            "-c",
            &format!(
                "/usr/bin/setsid /bin/sh -c 'echo $$ > {0}; exec /bin/sleep 3600' & \
                 for _ in $(seq 500); do [ -s {0} ] && break; sleep 0.01; done; echo done",
                pid_file.display()
            ),
        ]),
        &RunOptions::new(Duration::from_secs(30)),
    )
    .await
    .expect("the child exited");
    let escaped = read_pid_file(&pid_file, Duration::from_secs(2)).await;
    // Not ours to leave running once the test is done.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(escaped),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(output.status.success());
    assert_eq!(output.stdout_text(), "done\n");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn background_processes_left_by_a_finished_command_are_killed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("leftover.pid");
    // The leftover lets go of our pipes, so the command itself finishes at once.
    let output = run(
        &argv(&[
            "/bin/bash",
            "-c",
            &format!(
                "/bin/sleep 3600 </dev/null >/dev/null 2>&1 & echo $! > '{}'",
                pid_file.display()
            ),
        ]),
        &RunOptions::new(Duration::from_secs(10)),
    )
    .await
    .expect("bash runs");
    assert!(output.status.success());
    let leftover = read_pid_file(&pid_file, Duration::from_secs(1)).await;
    assert!(
        process_gone(leftover, Duration::from_secs(2)).await,
        "background sleep {leftover} outlived its command"
    );
}
