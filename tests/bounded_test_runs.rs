//! scripts/run-bounded.sh, which runs the ARM test binaries under qemu-user one at a time: a
//! binary that hangs is stopped with what it left running and run again (up to 3 times), a
//! failing one fails the run by name, and the log holds each binary's last attempt. Driven
//! with small bash "test binaries" in a deps/ folder, as cargo lays them out.

mod common;

use common::manifest_dir;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Waits in bash itself (so its command line stays the script's) with no long child left
/// when it is killed.
const HANG: &str = "while :; do sleep 1; done";

/// A "test binary" `name` under `built/deps` running `body` (bash).
fn test_binary(built: &Path, name: &str, body: &str) -> PathBuf {
    let deps = built.join("deps");
    std::fs::create_dir_all(&deps).unwrap();
    let path = deps.join(name);
    std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn run_bounded(built: &Path, log: &Path, binaries: &[&Path]) -> Output {
    Command::new(manifest_dir().join("scripts/run-bounded.sh"))
        .arg(log)
        .arg(built)
        .args(binaries)
        // Long enough for bash to start under a loaded machine, short for a test.
        .env("RUN_BOUND", "3s")
        .output()
        .unwrap()
}

/// Whether a process whose command line holds `marker` still runs.
fn runs(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
        std::fs::read(p.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
    })
}

#[test]
fn a_binary_that_hangs_once_is_stopped_with_its_stray_fork_and_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("debug");
    let first = dir.path().join("first-attempt");
    // The first attempt leaves a fork in a session of its own (out of timeout's reach, as
    // qemu-user's stuck fork is) and hangs; the second passes.
    let stray = test_binary(&built, "stray_fork-1", HANG);
    let flaky = test_binary(
        &built,
        "flaky-2",
        &format!(
            "if [[ ! -e {first} ]]; then touch {first}; setsid {stray} & echo 'test one has been running for over 60 seconds'; {HANG}; fi\n\
             echo 'test result: ok. 1 passed; 0 failed; 0 ignored'",
            first = first.display(),
            stray = stray.display()
        ),
    );
    let log = dir.path().join("log");
    let out = run_bounded(&built, &log, &[&flaky]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("flaky-2 hung (attempt 1 of 3"), "{stderr}");
    assert!(!stderr.contains("attempt 2"), "{stderr}");
    assert!(stderr.contains("has been running for over"), "{stderr}");
    // The stray fork is named and gone.
    assert!(
        stderr.contains("stopping ") && stderr.contains("stray_fork-1"),
        "{stderr}"
    );
    assert!(
        !runs(&stray.display().to_string()),
        "the stray fork still runs"
    );
    // Only the attempt that ended is in the log.
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(log.matches("     Running ").count(), 1, "{log}");
    assert!(log.contains("test result: ok. 1 passed"), "{log}");
    assert!(!log.contains("has been running"), "{log}");
}

#[test]
fn a_binary_that_always_hangs_fails_the_run_after_three_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("debug");
    let stuck = test_binary(&built, "stuck-3", HANG);
    let fine = test_binary(
        &built,
        "fine-4",
        "echo 'test result: ok. 2 passed; 0 failed; 0 ignored'",
    );
    let log = dir.path().join("log");
    let out = run_bounded(&built, &log, &[&stuck, &fine]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for attempt in 1..=3 {
        assert!(
            stderr.contains(&format!("stuck-3 hung (attempt {attempt} of 3")),
            "{stderr}"
        );
    }
    assert!(stderr.contains("failed: stuck-3"), "{stderr}");
    assert!(!runs(&stuck.display().to_string()));
    // The binary after it still ran.
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("2 passed"), "{log}");
}

#[test]
fn a_failing_binary_is_named_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let built = dir.path().join("debug");
    let failing = test_binary(
        &built,
        "failing-5",
        "echo 'test one ... FAILED'; echo 'test result: FAILED. 0 passed; 1 failed; 0 ignored'; exit 101",
    );
    let fine = test_binary(
        &built,
        "fine-6",
        "echo 'test result: ok. 3 passed; 0 failed; 0 ignored'",
    );
    let log = dir.path().join("log");
    let out = run_bounded(&built, &log, &[&failing, &fine]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("test one ... FAILED"), "{stderr}");
    assert!(stderr.contains("failed: failing-5"), "{stderr}");
    assert!(!stderr.contains("hung"), "{stderr}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("1 failed") && log.contains("3 passed"),
        "{log}"
    );
}

#[test]
fn without_binaries_it_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_bounded(dir.path(), &dir.path().join("log"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage:"));
}
