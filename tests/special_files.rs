//! Files and filesystems: only regular files are read and replaced; hard links, ACLs,
//! extended attributes and mode bits survive (or the write is refused); a drop-in is
//! readable whatever the umask; a temp file left by a killed write is named.

mod common;

use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

const HELPER: &str = "127.0.0.9:3632/4";

fn stock_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    scratch_copy(&fixture("alarm-aarch64-stock.conf"))
}

#[test]
fn anything_but_a_regular_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.conf");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let sock_path = dir.path().join("sock.conf");
    let _sock = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let folder = dir.path().join("folder.conf");
    std::fs::create_dir(&folder).unwrap();
    for (path, kind) in [
        (fifo.as_path(), "a FIFO"),
        (sock_path.as_path(), "a socket"),
        (folder.as_path(), "a folder"),
        (std::path::Path::new("/dev/null"), "a device"),
    ] {
        for args in [vec!["show"], vec!["add-host", HELPER, "--yes"]] {
            // A FIFO would block the read: the run must end on its own.
            let out = bin()
                .arg("--config")
                .arg(path)
                .args(&args)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{kind} {args:?}: {err}");
            assert!(
                err.contains(&format!("is {kind}, not a regular file")),
                "{err}"
            );
        }
    }
    // Nothing was replaced by a regular file.
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(&fifo).unwrap().file_type()
    ));
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(
        &std::fs::metadata("/dev/null").unwrap().file_type()
    ));
}

#[test]
fn a_symlink_to_a_regular_file_is_edited_through() {
    let (dir, conf) = stock_copy();
    let link = dir.path().join("link.conf");
    std::os::unix::fs::symlink(&conf, &link).unwrap();
    let r = run(&link, &["add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&conf).unwrap().contains(HELPER));
}

#[test]
fn a_file_with_hard_links_is_not_split() {
    let (dir, conf) = stock_copy();
    let other = dir.path().join("other-name.conf");
    std::fs::hard_link(&conf, &other).unwrap();
    let original = std::fs::read(&conf).unwrap();
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("has 2 hard links"), "{}", r.stderr);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert_eq!(
        std::fs::metadata(&conf).unwrap().ino(),
        std::fs::metadata(&other).unwrap().ino()
    );
}

#[test]
fn acls_xattrs_and_mode_bits_are_kept() {
    let (_dir, conf) = stock_copy();
    let has = |c: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(has("setfacl") && has("setfattr")) {
        skip(
            "acls_xattrs_and_mode_bits_are_kept",
            "setfacl/setfattr not installed",
        );
        return;
    }
    let sh = |cmd: &str| {
        let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let c = conf.display();
    sh(&format!("setfattr -n user.origin -v alarm '{c}'"));
    sh(&format!("setfacl -m u:nobody:r '{c}'"));
    // setgid and sticky on a file are odd but the user's; chmod after the ACL keeps the mask.
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o3644)).unwrap();
    let acl_before = sh(&format!("getfacl --omit-header '{c}'"));
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(&conf).unwrap().contains(HELPER));
    assert_eq!(
        sh(&format!("getfattr --only-values -n user.origin '{c}'")),
        "alarm"
    );
    assert_eq!(sh(&format!("getfacl --omit-header '{c}'")), acl_before);
    assert!(acl_before.contains("user:nobody:r--"), "{acl_before}");
    assert_eq!(std::fs::metadata(&conf).unwrap().mode() & 0o7777, 0o3644);
}

#[test]
fn a_new_drop_in_is_readable_whatever_the_umask() {
    let (dir, conf) = stock_copy();
    let out = Command::new("sh")
        .args(["-c", "umask 077; exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_alarm-distcc"))
        .arg("--config")
        .arg(&conf)
        .args(["--drop-in", "add-host", HELPER, "--yes"])
        .env("PATH", path_with(&makepkg_standin("7.1.0")))
        .env("HOME", "/nonexistent-alarm-distcc-home")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = dir.path().join("makepkg.conf.d");
    assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o777, 0o755);
    assert_eq!(
        std::fs::metadata(d.join("distcc.conf")).unwrap().mode() & 0o777,
        0o644
    );
}

#[test]
fn show_and_doctor_name_a_temp_file_left_by_a_killed_write() {
    let (dir, conf) = stock_copy();
    let left = dir.path().join(".makepkg.conf.alarm-distcc-Xy12ab");
    std::fs::write(&left, "half a file").unwrap();
    let r = run(&conf, &["show"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(".makepkg.conf.alarm-distcc-Xy12ab is left from an interrupted write"),
        "{}",
        r.stderr
    );
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(
        r.stdout
            .contains(".makepkg.conf.alarm-distcc-Xy12ab is left from an interrupted write"),
        "{}",
        r.stdout
    );
    // The next write removes it.
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!left.exists());
}

#[test]
fn show_says_where_bash_reads_something_else() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "pin() {\n  MAKEFLAGS=\"-j1\"\n}\nBUILDENV=(distcc)\nDISTCC_HOSTS=\"127.0.0.2/3\"\nMAKEFLAGS=\"-j3\"\npin\n",
    )
    .unwrap();
    let r = run(&conf, &["show"]);
    assert!(
        r.stderr.contains("bash reads MAKEFLAGS=\"-j1\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("bash sets it at {}:2", conf.display())),
        "{}",
        r.stderr
    );
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(
        r.stdout.contains("bash reads MAKEFLAGS=\"-j1\""),
        "{}",
        r.stdout
    );
}
