//! What a newcomer hit running every command on copies of real configs: each finding is a
//! test here that failed before its fix.

mod common;

use common::*;
use std::path::Path;

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// Finding 1: No hosts: nothing to match -j against, nothing to sort.
#[test]
fn show_and_sort_with_no_hosts_point_at_add_host() {
    let (_d, conf) = scratch_copy(&fixture("computed-jobs-no-hosts.conf"));
    let r = run(&conf, &["show"]);
    assert_eq!(r.code, 0);
    assert!(!r.stdout.contains("MISMATCH"), "{}", r.stdout);
    assert!(!r.stdout.contains("-j0"), "{}", r.stdout);
    assert!(r.stdout.contains("add-host"), "{}", r.stdout);
    let before = text(&conf);
    let r = run(&conf, &["sort", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(text(&conf), before, "no pointless uncommenting");
    assert!(r.stderr.contains("nothing to sort"), "{}", r.stderr);
    assert!(!r.stderr.contains("disable"), "{}", r.stderr);
}

/// Finding 2: disable brings -j down to this machine's own slots, enable puts the total back, each
/// in the same diff as the BUILDENV flip.
#[test]
fn disable_and_enable_move_the_job_count() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "MAKEFLAGS=\"-j18\"\nBUILDENV=(distcc color)\nDISTCC_HOSTS=\"10.0.0.2:3636/16 localhost/2\"\n",
    )
    .unwrap();
    let dry = run(&conf, &["disable", "--dry-run"]);
    assert!(dry.stdout.contains("+MAKEFLAGS=\"-j2\""), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("+BUILDENV=(!distcc color)"),
        "{}",
        dry.stdout
    );
    assert_eq!(run(&conf, &["disable", "--yes"]).code, 0);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j2");
    assert_eq!(array_values(&vars["BUILDENV"])[0], "!distcc");
    assert_eq!(run(&conf, &["enable", "--yes"]).code, 0);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j18");
    assert_eq!(array_values(&vars["BUILDENV"])[0], "distcc");
}

/// Finding 3: set-local alone records the slots, leaves distcc off, and says a helper is needed.
#[test]
fn set_local_alone_does_not_turn_distcc_on() {
    let (_d, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let r = run(&conf, &["set-local", "2", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("no helper listed yet"), "{}", r.stderr);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "localhost/2");
    assert_eq!(array_values(&vars["BUILDENV"])[0], "!distcc");
    let doctor = run(&conf, &["doctor", "--offline"]);
    assert!(
        !doctor.stdout.contains("names no helper"),
        "{}",
        doctor.stdout
    );
}

/// Finding 4: makepkg before 6.1 never reads makepkg.conf.d: --drop-in is refused, and show does not
/// list the drop-ins as read. Without a makepkg to ask, it goes on with a note.
#[test]
fn drop_ins_follow_the_makepkg_version() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), &conf).unwrap();
    let old = path_with(&makepkg_standin("6.0.2"));
    let r = bin()
        .env("PATH", &old)
        .args([
            "--config",
            conf.to_str().unwrap(),
            "--drop-in",
            "add-host",
            "10.0.0.2:3636/4",
            "--yes",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("makepkg 6.0.2") && err.contains("6.1"),
        "{err}"
    );
    assert!(
        !dir.path().join("makepkg.conf.d").exists(),
        "nothing written"
    );

    std::fs::create_dir(dir.path().join("makepkg.conf.d")).unwrap();
    std::fs::write(
        dir.path().join("makepkg.conf.d/distcc.conf"),
        "DISTCC_HOSTS=\"10.0.0.7/4\"\n",
    )
    .unwrap();
    let show = |path: &std::ffi::OsStr| {
        let out = bin()
            .env("PATH", path)
            .args(["--config", conf.to_str().unwrap(), "show"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = show(&old);
    assert!(!shown.contains("10.0.0.7"), "{shown}");
    assert!(shown.contains("does not read"), "{shown}");
    let shown = show(&path_with(&makepkg_standin("7.1.0")));
    assert!(shown.contains("10.0.0.7"), "{shown}");

    // No makepkg at all (a helper PC, say): assume a current one, and say so.
    let empty = tempfile::tempdir().unwrap();
    let r = bin()
        .env("PATH", empty.path())
        .args([
            "--config",
            conf.to_str().unwrap(),
            "--drop-in",
            "set-local",
            "2",
            "--yes",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{err}");
    assert!(err.contains("makepkg is not on PATH"), "{err}");
}

/// Finding 10: A write ends with what changed and the next step, runnable as printed.
#[test]
fn a_write_says_what_changed_and_what_next() {
    let (_d, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    assert_eq!(run(&conf, &["set-local", "2", "--yes"]).code, 0);
    let r = run(&conf, &["add-host", "192.168.1.100:3636/6", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(": added 192.168.1.100:3636/6; no -j -> -j8; distcc on"),
        "{}",
        r.stderr
    );
    let r = run(&conf, &["add-host", "192.168.1.101:3636/4", "--yes"]);
    assert!(
        r.stderr
            .contains(": added 192.168.1.101:3636/4; -j8 -> -j12\n"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "next: alarm-distcc --config {} probe",
            conf.display()
        )),
        "{}",
        r.stderr
    );
}
