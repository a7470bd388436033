//! Faults and hostile input: the file is always the old or the new version, never a mix,
//! never truncated; temp files do not pile up; a clear error where the tool gives up.

mod common;

use common::distccd::missing;
use common::*;
use expectrl::Expect;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn tool() -> Command {
    let mut c = bin();
    c.stdin(Stdio::null());
    c
}

/// Whether a running check holds `folder` (its lock), as /proc/locks lists it: trying the
/// lock would take it for a moment, when a check's clean-up could find the folder free.
fn is_held(folder: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(folder) else {
        return false;
    };
    // /proc/locks names the file as MAJOR:MINOR:INODE, the device numbers in hex.
    let dev = meta.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let file = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    std::fs::read_to_string("/proc/locks").is_ok_and(|locks| {
        locks.lines().any(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            // A lock held, not one waited for ("->").
            fields.get(1) == Some(&"FLOCK") && fields.contains(&file.as_str())
        })
    })
}

/// The fields of `/proc/PID/stat` after the command's name (which may hold spaces and
/// parentheses): the state first, then the parent's id.
fn stat_after_name(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// The throwaway folder of the check `tool` runs: where its bash works (`/proc/PID/cwd` of a
/// child of it), once bash has its first text. Other tests' checks run meanwhile.
fn check_folder_of(tool: u32) -> Option<std::path::PathBuf> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_after_name(&pid.to_string()).and_then(|fields| fields.get(1)?.parse::<u32>().ok())
                == Some(tool)
        })
        .filter_map(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).ok())
        .find(|cwd| {
            cwd.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("alarm-distcc-bash-"))
        })
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".alarm-distcc-"))
        .collect()
}

#[test]
fn file_replaced_while_the_prompt_waits_is_not_overwritten() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    cmd.arg("--config")
        .arg(&conf)
        .args(["add-host", "10.0.0.2:3632/4"])
        .env("TERM", "xterm");
    let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(15)));
    s.expect("Write ").unwrap();
    // Someone else (a pacman upgrade, an editor) replaces the file meanwhile.
    let theirs = b"# replaced by someone else\nBUILDENV=(!distcc)\n";
    std::fs::write(conf.with_extension("new"), theirs).unwrap();
    std::fs::rename(conf.with_extension("new"), &conf).unwrap();
    s.send("y\r").unwrap();
    s.expect("changed since it was read").unwrap();
    assert_eq!(std::fs::read(&conf).unwrap(), theirs);
    assert!(temp_files(conf.parent().unwrap()).is_empty());
}

#[test]
fn racing_edits_never_mix() {
    for round in 0..5 {
        let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
        let children: Vec<_> = (0..8)
            .map(|i| {
                tool()
                    .arg("--config")
                    .arg(&conf)
                    .args([
                        "add-host",
                        &format!("10.0.{round}.{}:3632/{}", i + 1, i + 1),
                        "--yes",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut applied = Vec::new();
        for (i, c) in children.into_iter().enumerate() {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => applied.push(format!("10.0.{round}.{}:3632/{}", i + 1, i + 1)),
                Some(1) => assert!(err.contains("changed since it was read"), "{err}"),
                other => panic!("unexpected exit {other:?}: {err}"),
            }
        }
        assert!(!applied.is_empty(), "one edit always gets through");
        // The result is a whole file that bash reads, holding exactly the applied edits.
        let vars = bash_vars(&[&conf]);
        let hosts = scalar_value(&vars["DISTCC_HOSTS"]);
        let mut listed: Vec<String> = hosts.split_whitespace().map(String::from).collect();
        listed.sort();
        applied.sort();
        assert_eq!(listed, applied, "round {round}");
        let total: u32 = listed
            .iter()
            .map(|h| h.rsplit('/').next().unwrap().parse::<u32>().unwrap())
            .sum();
        assert_eq!(scalar_value(&vars["MAKEFLAGS"]), format!("-j{total}"));
        assert!(temp_files(conf.parent().unwrap()).is_empty());
    }
}

#[test]
fn killed_mid_write_leaves_old_or_new_and_temps_are_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    // A big file so that writes take long enough to be interrupted.
    let mut text = std::fs::read_to_string(fixture("alarm-aarch64-stock.conf")).unwrap();
    // Just under the 1 MiB a config may have, so a write takes a while.
    for i in 0..20_000 {
        text.push_str(&format!("# padding line {i} so the write takes a while\n"));
    }
    std::fs::write(&conf, &text).unwrap();
    let mut versions = vec![std::fs::read(&conf).unwrap()];
    let mut killed_mid_way = 0;
    for i in 0..60u64 {
        let slots = (i % 7) + 1;
        let mut child = tool()
            .arg("--config")
            .arg(&conf)
            .args(["set-local", &slots.to_string(), "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(500 + (i * 7919) % 9000));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid_way += 1;
        }
        let now = std::fs::read(&conf).unwrap();
        if !versions.contains(&now) {
            // A new version must be a complete, valid edit of the previous one.
            let doc = alarm_distcc::document::Document::parse(now.clone());
            assert_eq!(doc.to_bytes(), now);
            assert!(
                now.ends_with(b"# padding line 19999 so the write takes a while\n"),
                "truncated"
            );
            let vars = bash_vars(&[&conf]);
            assert_eq!(
                scalar_value(&vars["DISTCC_HOSTS"]),
                format!("localhost/{slots}")
            );
            versions.push(now);
        }
    }
    assert!(
        killed_mid_way > 0,
        "no run was interrupted; the test proves nothing"
    );
    // The next run that gets to write cleans up whatever the killed runs left.
    let r = run(&conf, &["set-local", "9", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}

/// A copy of the stock config that bash takes a while to read: it sleeps `marker` seconds, a
/// duration no other process here sleeps for, so that the sleep can be looked for.
fn slow_config(marker: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let (dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str(&format!("sleep {marker}\n"));
    std::fs::write(&conf, &text).unwrap();
    (dir, conf, text)
}

/// Waits until the check that the tool `pid` runs is under way: bash sleeps in the config,
/// and the new text is staged in `staged_in`. Returns the check's folder.
fn check_under_way(pid: u32, marker: &str, staged_in: &Path) -> std::path::PathBuf {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(folder) = check_folder_of(pid)
            && !processes_ending_with(&["sleep", marker]).is_empty()
            && !temp_files(staged_in).is_empty()
        {
            return folder;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the check did not get going"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// After an interrupted check: the config as it was, no staged temp file, no check folder,
/// and bash with its sleep gone (well before the sleep would have ended).
fn assert_nothing_left(conf: &Path, text: &str, folder: &Path, marker: &str, what: &str) {
    assert_eq!(std::fs::read_to_string(conf).unwrap(), text, "{what}");
    let temps = temp_files(conf.parent().unwrap());
    assert!(temps.is_empty(), "{what}: {temps:?}");
    assert!(!folder.exists(), "{what}: {} is left", folder.display());
    let mut left = processes_ending_with(&["sleep", marker]);
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    while !left.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        left = processes_ending_with(&["sleep", marker]);
    }
    for pid in &left {
        // SAFETY: kill has no memory preconditions.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    assert!(left.is_empty(), "{what}: still running: {left:?}");
}

/// SIGKILL gives the tool no chance to remove the bash check's folder. The next check removes
/// it once it is old enough (a folder is locked a moment after it is made), never one a
/// running check holds.
#[test]
fn a_check_killed_part_way_leaves_its_folder_to_the_next_one() {
    let marker = "1.41421";
    let (dir, slow, _) = slow_config(marker);
    let conf = dir.path().join("plain.conf");
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), &conf).unwrap();
    let mut child = tool()
        .arg("--config")
        .arg(&slow)
        .args(["set-local", "3", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let folder = check_under_way(child.id(), marker, dir.path());
    assert!(is_held(&folder), "the running check holds its folder");
    // (Its bash, in a process group of its own, ends once its sleeps do.)
    child.kill().unwrap();
    child.wait().unwrap();
    let unheld = |f: &Path| f.is_dir() && !is_held(f);
    assert!(
        unheld(&folder),
        "the killed check's folder is gone or still held"
    );
    // A new folder is not removed, whoever holds it: it may be a check's first moment.
    let r = run(&conf, &["set-local", "4", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(unheld(&folder), "a new folder was removed");
    // Old enough, it goes with the next check.
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::open(&folder)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let r = run(&conf, &["set-local", "5", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!folder.exists(), "{} is still there", folder.display());
}

/// Ctrl-C while bash checks an edit (`--yes`, so the new text is already staged beside the
/// file): the file is untouched, and neither the staged temp file, the check's folder nor
/// bash (with the job it was running) is left.
#[test]
fn ctrl_c_during_the_check_leaves_nothing_behind() {
    let marker = "2.71828";
    let (dir, conf, text) = slow_config(marker);
    let child = tool()
        .arg("--config")
        .arg(&conf)
        .args(["set-local", "4", "--yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let folder = check_under_way(child.id(), marker, dir.path());
    // SAFETY: kill has no memory preconditions; the child is ours and not yet reaped.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("cancelled: nothing written"), "{stderr}");
    assert_nothing_left(&conf, &text, &folder, marker, "SIGINT");
}

/// The same from a real terminal, with the TERMs Pi users have: Ctrl-C typed while bash
/// checks the edit.
#[test]
fn ctrl_c_typed_during_the_check_leaves_nothing_behind() {
    let marker = "2.71829";
    for term in ["linux", "screen", "tmux-256color"] {
        let (dir, conf, text) = slow_config(marker);
        let mut cmd = tool();
        cmd.arg("--config")
            .arg(&conf)
            .args(["set-local", "4", "--yes"])
            .env("TERM", term);
        let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
        s.set_expect_timeout(Some(Duration::from_secs(15)));
        let pid = s.get_process().pid().as_raw() as u32;
        let folder = check_under_way(pid, marker, dir.path());
        s.send("\x03").unwrap();
        s.expect("cancelled: nothing written")
            .unwrap_or_else(|e| panic!("{term}: {e}"));
        let _ = s.expect(expectrl::Eof);
        let status = s.get_process().wait().unwrap();
        assert!(
            matches!(status, expectrl::process::unix::WaitStatus::Exited(_, 130)),
            "{term}: {status:?}"
        );
        assert_nothing_left(&conf, &text, &folder, marker, term);
    }
}

#[test]
fn a_full_disk_fails_cleanly() {
    // RLIMIT_FSIZE stands in for a full disk: writes fail with EFBIG (SIGXFSZ ignored). The
    // bash check's private copies fail first; with --no-verify the write itself fails.
    for (extra, says) in [
        (None, "could not prepare the bash check"),
        (Some("--no-verify"), "could not write"),
    ] {
        let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
        let original = std::fs::read(&conf).unwrap();
        let out = Command::new("bash")
            .args(["-c", r#"trap '' XFSZ; ulimit -f 1; exec "$@""#, "x"])
            .arg(env!("CARGO_BIN_EXE_alarm-distcc"))
            .arg("--config")
            .arg(&conf)
            .args(["set-local", "2", "--yes"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(std::fs::read(&conf).unwrap(), original);
        assert!(temp_files(conf.parent().unwrap()).is_empty());
    }
}

#[test]
fn hostile_inputs_get_a_clear_answer() {
    let dir = tempfile::tempdir().unwrap();
    // 100 MB (sparse): refused before it is read.
    let huge = dir.path().join("huge.conf");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let r = run(&huge, &["add-host", "10.0.0.2", "--yes"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("refusing to read"), "{}", r.stderr);
    assert_eq!(std::fs::metadata(&huge).unwrap().len(), 100 << 20);

    // A 1,000,000-byte line: read, edited around, kept byte for byte.
    let long = dir.path().join("long.conf");
    let mut text = format!("# {}\n", "x".repeat(1_000_000));
    text.push_str("BUILDENV=(!distcc color)\n#MAKEFLAGS=\"-j2\"\n");
    std::fs::write(&long, &text).unwrap();
    let r = run(&long, &["add-host", "10.0.0.2/6", "localhost/2", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = std::fs::read_to_string(&long).unwrap();
    assert!(after.starts_with(&text[..1_000_003]));
    assert!(
        after.ends_with(
            "BUILDENV=(distcc color)\nDISTCC_HOSTS=\"10.0.0.2/6 localhost/2\"\nMAKEFLAGS=\"-j8\"\n"
        ),
        "{}",
        &after[after.len() - 80..]
    );

    // Deeply nested quotes and substitutions: a clear refusal, the file untouched.
    let deep = dir.path().join("deep.conf");
    let nested = format!(
        "BUILDENV=(!distcc)\nMAKEFLAGS=\"{}\"\n",
        "\"$(echo ".repeat(50_000)
    );
    std::fs::write(&deep, &nested).unwrap();
    let r = run(&deep, &["set-local", "2", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nesting deeper than"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&deep).unwrap(), nested);
}

/// Ctrl-C once the file is in place says it was written, not "nothing written" (an edit
/// that reports nothing must have changed nothing). strace holds the real tool in its rename,
/// on the way out, while the interrupt arrives.
#[test]
fn an_interrupt_after_the_write_says_the_file_was_written() {
    let can_trace = || {
        Command::new("strace")
            .args(["-qq", "-o", "/dev/null", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if let Some(why) = missing(&["strace"]) {
        return skip("an interrupt after the write", &why);
    }
    if !can_trace() {
        return skip(
            "an interrupt after the write",
            "strace cannot trace here (ptrace is not permitted)",
        );
    }
    let (dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let before = std::fs::read_to_string(&conf).unwrap();
    let renames = "rename,renameat,renameat2";
    let mut strace = Command::new("strace");
    in_test_environment(&mut strace);
    let child = strace
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={renames}"))
        .arg("-e")
        .arg(format!("inject={renames}:delay_exit=3000000"))
        .arg(env!("CARGO_BIN_EXE_alarm-distcc"))
        .arg("--config")
        .arg(&conf)
        .args(["set-local", "3", "--yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&conf).unwrap() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the edit was never written"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The tool is strace's only child.
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id())).unwrap();
    let tool: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // The file changes inside rename(), a moment before strace stops the tool's main thread
    // on its way out. Signalled in that moment, the main thread would take the SIGINT and
    // keep it pending through the 3 s hold; stopped ('t'), it cannot, and the handler's
    // thread takes it now.
    let state = || {
        let stat = std::fs::read_to_string(format!("/proc/{tool}/stat")).unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
    };
    while state() != Some('t') {
        assert!(
            std::time::Instant::now() < deadline,
            "the tool was never held in its rename: {:?}",
            state()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: kill has no memory preconditions; the tool is held in its rename, not reaped.
    assert_eq!(unsafe { libc::kill(tool, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("interrupted: {} written already", conf.display())),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\x1b'),
        "no terminal, no escape: {stderr:?}"
    );
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "localhost/3");
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );
}
