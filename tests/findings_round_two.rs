//! Issue 18, what a new user hit: each finding fixed here has a test that failed before.

mod common;

use common::*;

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

/// Finding 2: Only enable (and add-host) turn distcc on; while it is off nothing calls -j a mismatch.
#[test]
fn edits_keep_a_deliberate_disable() {
    let (_dir, conf) = stock();
    for args in [
        vec!["add-host", "192.168.1.100:3636/6"],
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
    assert!(!r.stdout.contains("fix: alarm-distcc sort"), "{}", r.stdout);
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

/// Finding 5: The sudo hint names the file when it came from MAKEPKG_CONF (sudo drops it).
#[test]
fn the_sudo_hint_names_the_file() {
    if !is_root() {
        return skip(
            "the_sudo_hint_names_the_file",
            "needs root to run as another user",
        );
    }
    ensure_build_user();
    let (dir, conf) = stock();
    // Readable, not writable, by the build user.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let tool = tool_for_any_user();
    let out = as_build_user(
        tool.to_str().unwrap(),
        &[
            ("MAKEPKG_CONF", conf.display().to_string()),
            ("PATH", std::env::var("PATH").unwrap()),
            ("HOME", "/nonexistent".into()),
        ],
    )
    .args(["--yes", "set-local", "2"])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "sudo alarm-distcc --config {} --yes set-local 2",
            conf.display()
        )),
        "{err}"
    );
}

/// Finding 6: probe HOST without a port uses the listed port, and says so.
#[test]
fn probe_without_a_port_uses_the_listed_one() {
    let (_dir, conf) = stock();
    let port = common::distccd::free_port();
    let r = run(
        &conf,
        &["add-host", &format!("127.0.0.1:{port}/4"), "--yes"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&conf, &["probe", "127.0.0.1", "--timeout", "1", "--json"]);
    assert!(
        r.stderr
            .contains(&format!("using {port}, the port it is listed with")),
        "{}",
        r.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["hosts"][0]["port"], port, "{v}");
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

/// Finding 14: probe shows the compiler's own reason, and the fix keeps the flag's prefix.
#[test]
fn probe_shows_the_compilers_reason() {
    use common::distccd::*;
    if let Some(why) = missing(&["distccd", "gcc"]) {
        return skip("probe_shows_the_compilers_reason", &why);
    }
    // ALARM's compiler name served by this machine's x86_64 gcc: the classic wrong helper.
    let d = Helper::default()
        .listen("127.0.0.1")
        .port(free_port())
        .serve("aarch64-unknown-linux-gnu-gcc", "gcc")
        .start();
    let (_dir, conf) = stock();
    let r = run(&conf, &["probe", &d.spec(4), "--timeout", "10"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("compiler says:"), "{}", r.stdout);
    assert!(r.stdout.contains("armv8-a"), "{}", r.stdout);
    assert!(r.stdout.contains("-march=armv8-a"), "{}", r.stdout);
}

/// Finding 9: An armv7h helper seen from an aarch64 Pi: the rejection names the likely cause.
#[test]
fn a_rejection_on_another_archs_port_names_the_cause() {
    use common::distccd::*;
    if let Some(why) = missing(&["distccd", ARMV7H_GCC.1]) {
        return skip("a_rejection_on_another_archs_port_names_the_cause", &why);
    }
    let d = Helper::default()
        .listen("127.0.0.77")
        .port(3635)
        .serve(ARMV7H_GCC.0, ARMV7H_GCC.1)
        .start();
    let (_dir, conf) = stock();
    let r = run(&conf, &["probe", &d.spec(4), "--timeout", "5"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("likely cause: 3635 is distccd-alarm's armv7h port"),
        "{}",
        r.stdout
    );
    let r = run(
        &conf,
        &[
            "discover",
            "--subnet",
            "127.0.0.77/32",
            "--port",
            "3635",
            "--timeout",
            "2",
        ],
    );
    assert!(
        r.stdout
            .contains("likely: 3635 is distccd-alarm's armv7h port"),
        "{}",
        r.stdout
    );
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
    assert!(!r.stdout.contains("alarm-distcc sort"), "{}", r.stdout);
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
    assert!(
        r.stdout.contains("computed when makepkg runs"),
        "{}",
        r.stdout
    );
}

/// Finding 16: Helper scripts: only the real distccd-alarm port is called that; a user's run has a
/// log of its own; the default --allow is a private network of this machine, never a
/// public address.
#[test]
fn helper_scripts_say_what_is_true() {
    let (_dir, conf) = stock();
    let r = run(&conf, &["helper", "--allow", "127.0.0.1", "--port", "3699"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("3699 is distccd-alarm's"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("port 3699 (distccd-alarm's armv8 port would be 3636)")
    );
    assert!(
        r.stdout
            .contains("LOG=${DISTCCD_LOG:-/tmp/distccd-armv8-$(id -un).log}")
    );
    assert!(r.stdout.contains("cannot write the log"));
    let r = run(&conf, &["helper", "--allow", "127.0.0.1"]);
    assert!(
        r.stdout.contains("3636 is distccd-alarm's armv8 port"),
        "{}",
        r.stdout
    );

    let r = run(&conf, &["helper"]);
    if r.code == 0 {
        let allow = regex::Regex::new(r"--allow (\S+)").unwrap();
        for c in allow.captures_iter(&r.stdout) {
            let a = &c[1];
            assert!(
                a.starts_with("10.") || a.starts_with("192.168.") || a.starts_with("172."),
                "a default --allow outside the private ranges: {a}"
            );
        }
    } else {
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains("no private network"), "{}", r.stderr);
    }
}

/// Finding 5, as root: an immutable file cannot be written even by root, and the advice
/// names that cause instead of a sudo that would fail the same way.
#[test]
fn as_root_the_advice_is_not_sudo() {
    if !is_root() {
        return skip("as_root_the_advice_is_not_sudo", "needs root");
    }
    let (dir, conf) = stock();
    let set = std::process::Command::new("chattr")
        .arg("+i")
        .arg(dir.path())
        .status();
    if !set.is_ok_and(|s| s.success()) {
        return skip(
            "as_root_the_advice_is_not_sudo",
            "chattr +i is not supported here",
        );
    }
    let r = run(&conf, &["set-local", "2", "--yes"]);
    let _ = std::process::Command::new("chattr")
        .arg("-i")
        .arg(dir.path())
        .status();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("sudo"), "{}", r.stderr);
    assert!(r.stderr.contains("immutable"), "{}", r.stderr);
}

/// Limits in messages: the real limit is said, and options that mean nothing are refused.
#[test]
fn limits_are_said_as_they_are() {
    let (_dir, conf) = stock();
    let original = std::fs::read(&conf).unwrap();
    for (args, says) in [
        (vec!["set-local", "-1"], "from 0 to 1024"),
        (vec!["set-local", "2000"], "from 0 to 1024"),
        (vec!["sort", "--measure", "--runs", "0"], "1..=20"),
        (vec!["sort", "--runs", "2"], "--measure"),
        (
            vec!["probe", "127.0.0.1:1", "--timeout", "0"],
            "above 0 and at most 600",
        ),
    ] {
        let r = run(&conf, &args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("4294967295"), "{args:?}: {}", r.stderr);
    }
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}
