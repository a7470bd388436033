//! The confirm prompt in a real pseudo-terminal: a whole line is read, pacman style; only
//! `y` or `yes` writes, anything else (Enter, EOF, `okay`, `nope`) leaves the file alone.

mod common;

use common::*;
use expectrl::Expect;
use expectrl::process::unix::WaitStatus;
use std::process::Command;
use std::time::Duration;

fn answer_with(keys: &str) -> (i32, bool) {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    cmd.arg("--config")
        .arg(&conf)
        .args(["add-host", "127.0.0.9:3636/6"])
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env("PATH", path_with(&makepkg_standin("7.1.0")));
    let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(15)));
    s.expect("? [y/N] ").unwrap();
    s.send(keys).unwrap();
    let _ = s.expect(expectrl::Eof);
    let code = match s.get_process().wait().unwrap() {
        WaitStatus::Exited(_, c) => c,
        other => panic!("{other:?}"),
    };
    (code, std::fs::read(&conf).unwrap() != original)
}

#[test]
fn only_a_whole_yes_writes() {
    for yes in ["y\r", "yes\r", "YES\r", " Yes \r"] {
        assert_eq!(answer_with(yes), (0, true), "{yes:?}");
    }
    // `okay` starts with y and `nope` with n: neither acts on its first key.
    for no in ["okay\r", "maybe\r", "nope\r", "\r", "\x04"] {
        assert_eq!(answer_with(no), (1, false), "{no:?}");
    }
}
