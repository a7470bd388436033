//! The rules of the edit commands where the issues left room, each on a copy of a real or
//! stock config with bash as the judge: distcc on and off (only add-host and enable turn it
//! on, a deliberate disable stays), -j following the slots, this machine's own slots (the
//! seed's `127.0.0.1/2`), re-adding and removing helpers, the default port, drop-ins and the
//! makepkg version, a bad token, and the line a write prints.
mod common;

use common::*;
use std::path::Path;

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

fn stock() -> (tempfile::TempDir, std::path::PathBuf) {
    scratch_copy(&fixture("alarm-aarch64-stock.conf"))
}

fn distcc_entry(conf: &std::path::Path) -> String {
    let vars = bash_vars(&[conf]);
    array_values(&vars["BUILDENV"])
        .into_iter()
        .rev()
        .find(|e| e == "distcc" || e == "!distcc")
        .unwrap_or_default()
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

/// Finding 2: Only enable (and add-host) turn distcc on; while it is off nothing calls -j a mismatch.
#[test]
fn edits_keep_a_deliberate_disable() {
    let (_dir, conf) = stock();
    for args in [
        vec!["add-host", "192.168.1.100:3636/6", "10.1.1.1/4"],
        vec!["set-local", "2"],
        vec!["disable"],
    ] {
        let mut a = args.clone();
        a.push("--yes");
        assert_eq!(run(&conf, &a).code, 0, "{args:?}");
    }
    assert_eq!(distcc_entry(&conf), "!distcc");
    for args in [
        vec!["remove-host", "10.1.1.1"],
        vec!["set-local", "3"],
        vec!["set-local", "0"],
        vec!["sort"],
    ] {
        let mut a = args.clone();
        a.push("--yes");
        let r = run(&conf, &a);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert_eq!(distcc_entry(&conf), "!distcc", "{args:?} turned distcc on");
    }
    let r = run(&conf, &["show"]);
    assert!(!r.stdout.contains("MISMATCH"), "{}", r.stdout);
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(!suggests(&r.stdout, "sort"), "{}", r.stdout);
}

/// Finding 3: The seed's `127.0.0.1/2` through add-host means this machine: localhost/2, no port.
#[test]
fn a_portless_loopback_address_is_this_machines_slots() {
    let (_dir, conf) = stock();
    let r = run(
        &conf,
        &["add-host", "127.0.0.1/2", "192.168.1.100:3636/6", "--yes"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("written as localhost/2"), "{}", r.stderr);
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "192.168.1.100:3636/6 localhost/2"
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    // doctor has no set-local fix to give any more.
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(!r.stdout.contains("set-local"), "{}", r.stdout);
}

/// Finding 7: remove-host takes a host as show prints it.
#[test]
fn remove_host_takes_a_full_spec() {
    let (_dir, conf) = stock();
    assert_eq!(
        run(&conf, &["add-host", "192.168.1.100:3636/6", "--yes"]).code,
        0
    );
    let r = run(&conf, &["remove-host", "192.168.1.100:3636/6", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("removed 192.168.1.100:3636/6"),
        "{}",
        r.stderr
    );
    assert_eq!(scalar_value(&bash_vars(&[&conf])["DISTCC_HOSTS"]), "");
}

/// Finding 8: Re-adding a listed helper without slots keeps its slots.
#[test]
fn re_adding_without_slots_keeps_them() {
    let (_dir, conf) = stock();
    assert_eq!(
        run(&conf, &["add-host", "192.168.1.100:3636/6", "--yes"]).code,
        0
    );
    let before = std::fs::read(&conf).unwrap();
    let r = run(&conf, &["add-host", "192.168.1.100", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("its slots and options are kept"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&conf).unwrap(), before);
    // New slots still change them.
    let r = run(&conf, &["add-host", "192.168.1.100:3636/8", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(scalar_value(&bash_vars(&[&conf])["MAKEFLAGS"]), "-j8");
}

/// Finding 8: a port of another architecture is warned about when it is added, and a host
/// without a port gets the port the wizard would offer.
#[test]
fn add_host_warns_of_another_archs_port_and_defaults_like_the_wizard() {
    let (_d, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let r = run(&conf, &["add-host", "192.168.1.100:3635/6", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: 192.168.1.100:3635/6: 3635 is distccd-alarm's armv7h port"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("+DISTCC_HOSTS"), "the diff still shows");
    let r = run(&conf, &["add-host", "laptop.local/6", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("using 3636"), "{}", r.stderr);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "laptop.local:3636/6");
    // The same host again without a port updates that entry.
    assert_eq!(run(&conf, &["add-host", "laptop.local/8", "--yes"]).code, 0);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "laptop.local:3636/8");
    // The boss14420 case: a port guess alone is a warning in doctor, not an error.
    let dir = tempfile::tempdir().unwrap();
    let armv6 = dir.path().join("makepkg.conf");
    std::fs::write(
        &armv6,
        "CARCH=\"armv6h\"\nDISTCC_HOSTS=\"10.0.0.2:3633/4\"\n",
    )
    .unwrap();
    let r = run(&armv6, &["doctor", "--offline"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("warning") && l.contains("3633 is distccd-alarm's armv5 port")),
        "{}",
        r.stdout
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

/// Finding 10: No advice that cannot work: no --drop-in where makepkg reads none.
#[test]
fn no_drop_in_advice_where_makepkg_reads_none() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "BUILDENV=(distcc)\nDISTCC_HOSTS=\"$(echo 127.0.0.2/2)\"\n",
    )
    .unwrap();
    let with = |version: &str| {
        bin()
            .env("PATH", path_with(&makepkg_standin(version)))
            .arg("--config")
            .arg(&conf)
            .args(["add-host", "127.0.0.9:3632/4", "--yes"])
            .output()
            .unwrap()
    };
    let old = with("6.0.2");
    let err = String::from_utf8_lossy(&old.stderr);
    assert_eq!(old.status.code(), Some(2), "{err}");
    assert!(!err.contains("--drop-in"), "{err}");
    let new = with("7.1.0");
    let err = String::from_utf8_lossy(&new.stderr);
    assert!(err.contains("--drop-in"), "{err}");
}

/// Finding 11: --drop-in on a per-user file is refused: makepkg never reads its .d folder.
#[test]
fn a_drop_in_beside_a_per_user_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let user = dir.path().join(".config/pacman/makepkg.conf");
    std::fs::create_dir_all(user.parent().unwrap()).unwrap();
    std::fs::write(&user, "MAKEFLAGS=\"-j2\"\n").unwrap();
    let r = run(
        &user,
        &["--drop-in", "add-host", "127.0.0.9:3632/4", "--yes"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("is a per-user file"), "{}", r.stderr);
    assert!(!user.with_extension("conf.d").exists());
}

/// Finding 12: fixes that work and name the file. A bad token is removed first (sort would
/// refuse the list), the message says it once, and a computed list is not "no hosts yet".
#[test]
fn fixes_for_a_bad_token_and_a_computed_list() {
    let conf = fixture("refuse/bad-token.conf");
    let r = run(&conf, &["show"]);
    let remove = format!(
        "alarm-distcc --config {} remove-host 10.0.0.3",
        conf.display()
    );
    assert!(r.stdout.contains(&remove), "{}", r.stdout);
    assert!(!suggests(&r.stdout, "sort"), "{}", r.stdout);
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(r.stdout.contains(&remove), "{}", r.stdout);
    assert!(!r.stdout.contains(" sort"), "{}", r.stdout);
    assert_eq!(r.stdout.matches("whole").count(), 1, "{}", r.stdout);
    // The fix printed works.
    let (_dir, copy) = scratch_copy(&conf);
    let fixed = run(&copy, &["remove-host", "10.0.0.3", "--yes"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);

    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("makepkg.conf");
    std::fs::write(
        &case,
        "BUILDENV=(distcc)\ncase x in x) DISTCC_HOSTS=\"a/2\";; esac\n",
    )
    .unwrap();
    let r = run(&case, &["show"]);
    assert!(!r.stdout.contains("no hosts yet"), "{}", r.stdout);
    // What makepkg would get from it is what bash reads.
    assert!(
        r.stdout.contains("bash reads it here as \"a/2\""),
        "{}",
        r.stdout
    );
}

/// distcc turned on by shell code (`[[ ... ]] && BUILDENV+=(distcc)`): show and doctor say
/// what bash reads here, in this environment, and judge -j and the helpers by it.
#[test]
fn distcc_decided_by_shell_code_is_judged_as_bash_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "CARCH=\"aarch64\"\nBUILDENV=(color check)\n\
         [[ $ALARM_TEST_DISTCC == on ]] && BUILDENV+=(distcc)\n\
         DISTCC_HOSTS=\"127.0.0.1:3632/4 localhost/2\"\nMAKEFLAGS=\"-j3\"\n",
    )
    .unwrap();
    let with = |on: &str, args: &[&str]| -> Run {
        bin()
            .env("ALARM_TEST_DISTCC", on)
            .arg("--config")
            .arg(&conf)
            .args(args)
            .output()
            .unwrap()
            .into()
    };
    let show = with("on", &["show"]);
    assert!(
        show.stdout
            .contains("decided by shell code: BUILDENV+=(distcc); bash reads it on here"),
        "{}",
        show.stdout
    );
    // On: -j is judged against the slots.
    assert!(show.stdout.contains("MISMATCH: -j3"), "{}", show.stdout);
    let doctor = with("on", &["doctor", "--offline"]);
    assert!(
        doctor
            .stdout
            .contains("ok       distcc in BUILDENV is decided by shell code")
            && doctor.stdout.contains("bash reads it on here"),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor
            .stdout
            .contains("MAKEFLAGS -j is 3 but the hosts have 6 slots"),
        "{}",
        doctor.stdout
    );

    let show = with("off", &["show"]);
    assert!(
        show.stdout.contains("bash reads it off here"),
        "{}",
        show.stdout
    );
    assert!(!show.stdout.contains("MISMATCH"), "{}", show.stdout);
    let doctor = with("off", &["doctor", "--offline"]);
    assert!(
        doctor
            .stdout
            .contains("warning  distcc in BUILDENV is decided by shell code")
            && doctor
                .stdout
                .contains("bash reads it off here: makepkg will not use the helpers"),
        "{}",
        doctor.stdout
    );
    assert!(!doctor.stdout.contains("MAKEFLAGS -j"), "{}", doctor.stdout);
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

/// MAKEFLAGS set inside shell logic (which sort will not rewrite) or with a computed count:
/// show and doctor judge -j as bash reads it here, never as "no -j", and name no command
/// that would refuse.
#[test]
fn a_job_count_from_shell_code_is_judged_as_bash_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let write = |makeflags: &str| {
        std::fs::write(
            &conf,
            format!(
                "CARCH=\"aarch64\"\nBUILDENV=(distcc color check)\n\
                 DISTCC_HOSTS=\"127.0.0.1:3632/4 localhost/2\"\n{makeflags}\n"
            ),
        )
        .unwrap();
    };
    write("if true; then\n  MAKEFLAGS=\"-j3\"\nfi");
    let show = run(&conf, &["show"]);
    assert!(
        show.stdout.contains(
            "MISMATCH: bash reads -j3 here, but the hosts have 6 slots; MAKEFLAGS is set by \
             shell code: make it give -j6"
        ),
        "{}",
        show.stdout
    );
    assert!(!show.stdout.contains("no -j"), "{}", show.stdout);
    assert!(!show.stdout.contains(" sort"), "{}", show.stdout);
    let doctor = run(&conf, &["doctor", "--offline"]);
    assert!(
        doctor.stdout.contains(&format!(
            "MAKEFLAGS is set by shell code at {}:5; bash reads -j3 here, but the hosts have 6 \
             slots",
            conf.display()
        )),
        "{}",
        doctor.stdout
    );
    assert!(
        doctor.stdout.contains("fix: make that code give -j6"),
        "{}",
        doctor.stdout
    );
    let json: serde_json::Value =
        serde_json::from_str(&run(&conf, &["show", "--json"]).stdout).unwrap();
    assert_eq!(json["jobs_read_by_bash"], 3, "{json}");
    // What sort would be asked to do, it refuses: the advice is not to run it.
    let sort = run(&conf, &["sort", "--dry-run"]);
    assert_eq!(sort.code, 2, "{}", sort.stderr);

    write("if true; then\n  MAKEFLAGS=\"-j6\"\nfi");
    let show = run(&conf, &["show"]);
    assert!(
        show.stdout
            .contains("-j6 matches the 6 slots (as bash reads it here)"),
        "{}",
        show.stdout
    );
    let doctor = run(&conf, &["doctor", "--offline"]);
    assert!(!doctor.stdout.contains("MAKEFLAGS"), "{}", doctor.stdout);

    // A computed count on a plain line: sort replaces it, and both say what it is now.
    write("MAKEFLAGS=\"-j$(nproc)\"");
    let nproc = std::process::Command::new("nproc").output().unwrap();
    let nproc = String::from_utf8_lossy(&nproc.stdout).trim().to_string();
    let show = run(&conf, &["show"]);
    assert!(
        show.stdout
            .contains(&format!("sort` sets -j6 (bash reads -j{nproc} here)")),
        "{}",
        show.stdout
    );
    let doctor = run(&conf, &["doctor", "--offline"]);
    assert!(
        doctor.stdout.contains(&format!(
            "but the hosts have 6 slots (bash reads -j{nproc} here)"
        )),
        "{}",
        doctor.stdout
    );
}
