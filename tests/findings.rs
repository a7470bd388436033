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

/// Finding 7: a failing helper is one problem, however many compiler names failed, and
/// `localhost` (never probed) is not counted among the hosts that cannot compile.
#[test]
fn a_failing_helper_counts_once() {
    use common::distccd::*;
    let native = Distccd::start("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        format!(
            "CARCH=\"aarch64\"\nCHOST=\"aarch64-unknown-linux-gnu\"\nMAKEFLAGS=\"-j4\"\n\
             BUILDENV=(distcc color)\nDISTCC_HOSTS=\"{} localhost/2\"\n",
            native.spec(2)
        ),
    )
    .unwrap();
    let r = run(&conf, &["doctor"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout.matches("fails the probe").count(),
        1,
        "{}",
        r.stdout
    );
    let errors = r.stdout.lines().filter(|l| l.starts_with("error")).count();
    assert!(
        r.stderr.contains(&format!("{errors} problem(s)")),
        "{}{}",
        r.stdout,
        r.stderr
    );
    assert!(
        r.stdout
            .contains(&format!("remove-host {}", native.host_port())),
        "{}",
        r.stdout
    );
    let r = run(&conf, &["probe"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("1 of 1 helper(s)"), "{}", r.stderr);
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

/// Finding 9: output to a reader that went away ends quietly, for every kind of command.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let conf = fixture("alarm-aarch64-stock.conf");
    let cfg = conf.to_str().unwrap();
    for args in [
        vec!["completions", "zsh"],
        vec!["man"],
        vec!["--config", cfg, "show"],
        vec!["--config", cfg, "doctor", "--offline"],
        vec!["--config", cfg, "helper", "--allow", "10.0.0.2"],
        vec!["--config", cfg, "--dry-run", "add-host", "10.0.0.2:3636/4"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // the reader is gone before the first byte
        let out = bin().args(&args).stdout(writer).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        const SIGPIPE: i32 = 13;
        assert!(
            out.status.signal() == Some(SIGPIPE) || out.status.code() == Some(0),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

/// Finding 11: --color colours the levels and verdicts of doctor, probe and show, not only
/// the diff; --color never and NO_COLOR leave them plain.
#[test]
fn color_reaches_doctor_probe_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let dead = common::distccd::free_port();
    std::fs::write(
        &conf,
        format!(
            "CARCH=\"aarch64\"\nMAKEFLAGS=\"-j2\"\nBUILDENV=(distcc)\n\
             DISTCC_HOSTS=\"127.0.0.1:{dead}/4\"\n"
        ),
    )
    .unwrap();
    let red = "\x1b[31m";
    for (args, colour) in [
        (vec!["doctor", "--offline"], "\x1b[33mwarning"),
        (vec!["probe", "--timeout", "2"], red),
        (vec!["show"], "\x1b[32mon"),
    ] {
        let mut always = vec!["--color", "always"];
        always.extend(&args);
        let r = run(&conf, &always);
        assert!(r.stdout.contains(colour), "{args:?}: {:?}", r.stdout);
        let mut never = vec!["--color", "never"];
        never.extend(&args);
        let r = run(&conf, &never);
        assert!(!r.stdout.contains('\x1b'), "{args:?}: {:?}", r.stdout);
        let r = run(&conf, &args);
        assert!(
            !r.stdout.contains('\x1b'),
            "NO_COLOR: {args:?}: {:?}",
            r.stdout
        );
    }
}

/// Finding 12: one man page with every command, exit status, files, environment and
/// examples, and no references to pages that are never installed.
#[test]
fn the_man_page_is_whole_and_refers_to_nothing_missing() {
    let out = bin().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    for section in [
        ".SH COMMANDS",
        ".SH \"EXIT STATUS\"",
        ".SH FILES",
        ".SH ENVIRONMENT",
        ".SH EXAMPLES",
        ".SH \"SEE ALSO\"",
    ] {
        assert!(page.contains(section), "missing {section}");
    }
    for word in [
        "MAKEPKG_CONF",
        "SUDO_USER",
        "XDG_CONFIG_HOME",
        "NO_COLOR",
        "add\\-host",
        "--distro",
    ] {
        let word = word.replace("--", "\\-\\-");
        assert!(page.contains(&word), "missing {word}");
    }
    assert!(
        !page.contains("alarm\\-distcc\\-show"),
        "dangling page reference"
    );
    assert!(!page.contains("distcc-show(1)"), "dangling page reference");
    // groff, when installed, renders it without a warning.
    let groff = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    if let Ok(mut g) = groff {
        use std::io::Write;
        g.stdin.take().unwrap().write_all(page.as_bytes()).unwrap();
        let out = g.wait_with_output().unwrap();
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Finding 14: README names what it needs and how to make the package's source tarball, and
/// that command works as written.
#[test]
fn readme_commands_are_complete_and_work() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    assert!(
        !readme.contains("seed how-to"),
        "a reference to a file not in the repo"
    );
    assert!(readme.contains("C toolchain (`cc`"));
    assert!(readme.contains("through `sudo` when you are not root"));
    let archive = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("git archive "))
        .expect("README gives the tarball command");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        archive.contains(&format!("--prefix=alarm-distcc-{version}/")),
        "{archive}"
    );
    if !manifest_dir().join(".git").exists() {
        return skip("README tarball command", "not a git checkout");
    }
    let out_dir = tempfile::tempdir().unwrap();
    let tarball = out_dir
        .path()
        .join(format!("alarm-distcc-{version}.tar.gz"));
    let target = format!("packaging/alarm-distcc-{version}.tar.gz");
    assert!(archive.contains(&target), "{archive}");
    let command = archive.replace(&target, tarball.to_str().unwrap());
    let made = std::process::Command::new("bash")
        .args(["-c", &command])
        .current_dir(manifest_dir())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let list = std::process::Command::new("tar")
        .arg("tzf")
        .arg(&tarball)
        .output()
        .unwrap();
    let files = String::from_utf8_lossy(&list.stdout);
    for f in [
        "Cargo.toml",
        "Cargo.lock",
        "LICENSE",
        "README.md",
        "src/main.rs",
    ] {
        assert!(
            files
                .lines()
                .any(|l| l == format!("alarm-distcc-{version}/{f}")),
            "{f} missing from the tarball"
        );
    }
}
