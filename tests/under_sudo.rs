//! The tool run through a real sudo, as a Pi's owner runs it (`sudo alarm-distcc add-host
//! ...`): sudo resets the environment (HOME becomes root's), yet makepkg runs as the user, so
//! the files that count and the bash check are the user's. The other tests set SUDO_USER by
//! hand; this one lets sudo itself make the environment.

mod common;
use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A user of this test alone, so that its per-user makepkg.conf touches no other test.
const SUDO_USER: &str = "alarmsudo";
/// A sudoers drop-in: sudo ignores names with a dot, so the file is checked under such a name
/// and renamed into place.
const SUDOERS: &str = "/etc/sudoers.d/alarm-distcc-tests";

/// Removes what the test put outside its own folder, however it ends.
struct Placed(Vec<PathBuf>);

impl Drop for Placed {
    fn drop(&mut self) {
        // Last placed first: a folder after what it holds.
        for p in self.0.iter().rev() {
            let _ = std::fs::remove_file(p).or_else(|_| std::fs::remove_dir(p));
        }
    }
}

/// A copy of the tool that only root can replace (not under /tmp, where a folder's name, once
/// removed, is anyone's), and a rule that lets SUDO_USER run it as root without a password,
/// with SETENV for the test's default-config variable; checked by visudo before sudo reads it.
/// (A rule pinned to the file's digest would do under /tmp, but sudo then runs it by its
/// descriptor, which the ARM suites' binfmt_misc cannot follow.)
fn allow_sudo(placed: &mut Placed) -> PathBuf {
    let dir = PathBuf::from("/run/alarm-distcc-tests");
    std::fs::create_dir_all(&dir).unwrap();
    placed.0.push(dir.clone());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let tool = dir.join("alarm-distcc");
    placed.0.push(tool.clone());
    std::fs::copy(env!("CARGO_BIN_EXE_alarm-distcc"), &tool).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let staged = PathBuf::from(format!("{SUDOERS}.staged"));
    std::fs::write(
        &staged,
        format!(
            "{SUDO_USER} ALL=(root) NOPASSWD:SETENV: {}\n",
            tool.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o440)).unwrap();
    let check = Command::new("visudo")
        .arg("-cf")
        .arg(&staged)
        .output()
        .unwrap();
    if !check.status.success() {
        let _ = std::fs::remove_file(&staged);
        panic!("visudo: {}", String::from_utf8_lossy(&check.stderr));
    }
    std::fs::rename(&staged, SUDOERS).unwrap();
    placed.0.push(PathBuf::from(SUDOERS));
    tool
}

/// `sudo -n VAR=... tool ARGS` run by SUDO_USER, from `/` (the test's folder may be closed to
/// that user).
fn sudo_tool(tool: &Path, default_conf: &Path, args: &[&str]) -> Run {
    Command::new("runuser")
        .args(["-u", SUDO_USER, "--", "sudo", "-n"])
        .arg(format!(
            "ALARM_DISTCC_DEFAULT_CONF={}",
            default_conf.display()
        ))
        .arg(tool)
        .args(args)
        .current_dir("/")
        .output()
        .unwrap()
        .into()
}

/// What bash reads from the two layers as SUDO_USER, in the user's own environment, as makepkg
/// run by that user does.
fn user_bash_reads(main: &Path, user_file: &Path, home: &Path) -> Vec<String> {
    let out: Run = Command::new("runuser")
        .args(["-u", SUDO_USER, "--", "env", "-i"])
        .arg(format!("HOME={}", home.display()))
        .arg(format!("USER={SUDO_USER}"))
        .args([
            "bash",
            "--norc",
            "--noprofile",
            "-c",
            r#"source "$1"; source "$2"; printf '%s\n' "$DISTCC_HOSTS" "${BUILDENV[*]}" "$MAKEFLAGS""#,
            "_",
        ])
        .arg(main)
        .arg(user_file)
        .current_dir("/")
        .output()
        .unwrap()
        .into();
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn through_sudo_the_users_file_is_edited_and_checked_as_the_user() {
    let test = "through_sudo_the_users_file_is_edited_and_checked_as_the_user";
    if !is_root() {
        return skip(test, "needs root (to make a user and a sudoers rule)");
    }
    for cmd in ["sudo", "visudo"] {
        if !distccd::have(cmd) {
            return skip(test, &format!("{cmd} is not installed"));
        }
    }
    ensure_user(SUDO_USER);
    // One sudoers rule and one user file at a time: the ARM suites run this test too.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open("/tmp/alarm-distcc-tests-sudo.lock")
        .unwrap();
    lock.lock().unwrap();
    let mut placed = Placed(Vec::new());
    let tool = allow_sudo(&mut placed);

    let tree = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tree.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let main = tree.path().join("makepkg.conf");
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), &main).unwrap();
    std::fs::set_permissions(&main, std::fs::Permissions::from_mode(0o644)).unwrap();

    let home = PathBuf::from(format!("/home/{SUDO_USER}"));
    let user_dir = home.join(".config/pacman");
    std::fs::create_dir_all(&user_dir).unwrap();
    let user_file = user_dir.join("makepkg.conf");
    placed.0.push(user_file.clone());
    let uid = Command::new("id").args(["-u", SUDO_USER]).output().unwrap();
    let uid: u32 = String::from_utf8_lossy(&uid.stdout).trim().parse().unwrap();
    // bash stops at line 1 unless it reads the file as the user, in the user's environment:
    // sudo's own has HOME=/root.
    let guard = |expected_home: &Path| {
        format!(
            "[[ $USER == {SUDO_USER} && $HOME == {} && $(id -u) == {uid} ]] || exit 1\n\
             DISTCC_HOSTS=\"10.0.0.42/6\"\n",
            expected_home.display()
        )
    };
    let write_user_file = |text: &str| {
        std::fs::write(&user_file, text).unwrap();
        std::fs::set_permissions(&user_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let status = Command::new("chown")
            .args(["-R", &format!("{SUDO_USER}:")])
            .arg(home.join(".config"))
            .status()
            .unwrap();
        assert!(status.success());
    };
    write_user_file(&guard(&home));

    // show: the user's file is the last layer, as makepkg run by that user reads it.
    let shown = sudo_tool(&tool, &main, &["show", "--json"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(
        v["files"].as_array().unwrap().last().unwrap(),
        user_file.to_str().unwrap()
    );
    assert_eq!(v["hosts"]["value"], "10.0.0.42/6");

    // add-host: the edit goes to the user's file (it sets DISTCC_HOSTS), is checked as the
    // user, and the file stays the user's, with its mode.
    let main_before = std::fs::read(&main).unwrap();
    let added = sudo_tool(&tool, &main, &["--yes", "add-host", "10.0.0.7:3632/4"]);
    assert_eq!(added.code, 0, "{}", added.stderr);
    assert!(
        added
            .stderr
            .contains(&format!("wrote {}", user_file.display())),
        "{}",
        added.stderr
    );
    let meta = std::fs::metadata(&user_file).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (uid, 0o600));
    assert_eq!(std::fs::read(&main).unwrap(), main_before);
    let read = user_bash_reads(&main, &user_file, &home);
    assert_eq!(read[0], "10.0.0.42/6 10.0.0.7:3632/4", "{read:?}");
    assert!(read[1].split(' ').any(|w| w == "distcc"), "{read:?}");
    assert_eq!(read[2], "-j10", "{read:?}");

    // The control: a file that holds only in sudo's own environment (HOME=/root) is one bash
    // stops in when the check runs as the user. Refused with the line, nothing written.
    write_user_file(&guard(Path::new("/root")));
    let before = std::fs::read(&user_file).unwrap();
    let refused = sudo_tool(&tool, &main, &["--yes", "add-host", "10.0.0.8:3632/4"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("{} at line 1", user_file.display())),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read(&user_file).unwrap(), before);
}
