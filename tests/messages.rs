//! What the commands say: the sudo and root hints, the probe's reasons and ports, helper
//! scripts that say what is true, the limits, a closed pipe, colours, the man page and the
//! README's own commands.
mod common;

use common::*;

fn stock() -> (tempfile::TempDir, std::path::PathBuf) {
    scratch_copy(&fixture("alarm-aarch64-stock.conf"))
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
        "docs/guarantees.md",
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

/// What a config holds reaches the terminal escaped, also where this tool colours its own
/// text: an SGR sequence in a value (reverse video, concealed text) is not passed as colour.
/// The command `show` gives to remove such an entry runs as printed, in bash.
#[test]
fn sequences_in_a_config_never_reach_the_terminal_and_the_advised_removal_works() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "BUILDENV=(distcc)\nDISTCC_HOSTS=\"h\x1b[8mx:3636/4 localhost/2\"\n\
         MAKEFLAGS=\"-j6\x1b[7m\"\n",
    )
    .unwrap();
    let r = run(&conf, &["--color", "always", "show"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // This tool's own colour passes; the config's sequences are shown as text.
    assert!(r.stdout.contains("\x1b[32mon"), "{:?}", r.stdout);
    for hidden in ["\x1b[8m", "\x1b[7m"] {
        assert!(!r.stdout.contains(hidden), "{:?}", r.stdout);
        assert!(!r.stderr.contains(hidden), "{:?}", r.stderr);
    }
    assert!(
        r.stdout.contains("\"h\\x1b[8mx:3636/4 localhost/2\""),
        "{:?}",
        r.stdout
    );
    assert!(r.stdout.contains("\"-j6\\x1b[7m\""), "{:?}", r.stdout);
    // An ignored list is not shown in the colour of a good verdict.
    let verdict = r
        .stdout
        .lines()
        .find(|l| l.contains("makes distcc ignore the whole list"))
        .expect("the verdict on the list");
    assert!(verdict.contains("\x1b[31m"), "{verdict:?}");

    // The advice, run by bash exactly as printed (with --yes), removes the entry.
    let advice = r
        .stdout
        .split("remove it first: ")
        .nth(1)
        .and_then(|rest| rest.split('\x1b').next())
        .expect("a command to remove the entry")
        .trim()
        .to_string();
    assert!(advice.contains("remove-host $'h\\x1b[8mx'"), "{advice}");
    let mut shell = std::process::Command::new("bash");
    shell
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!(
            "alarm-distcc() {{ \"$ALARM_DISTCC_BIN\" \"$@\"; }}; {advice} --yes"
        ))
        .env("ALARM_DISTCC_BIN", env!("CARGO_BIN_EXE_alarm-distcc"));
    in_test_environment(&mut shell);
    let out = shell.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "localhost/2");
}

/// The words the commands print for the shell read back as they were, in real bash:
/// control characters and spaces that are not one (which `$'...'` spells out), quotes and
/// backslashes.
#[test]
fn quoted_words_read_back_as_they_were_in_bash() {
    use alarm_distcc::session::shell_quote;
    for word in [
        "plain-host",
        "with space",
        "it's",
        "h\x1b[8mx",
        "back\\slash'quote",
        "no\u{a0}break",
        "c1\u{9b}31m",
        "tab\tand\nnewline",
        "\x07bell1f",
    ] {
        let quoted = shell_quote(word);
        assert!(
            !quoted.chars().any(|c| c.is_control()),
            "{word:?} -> {quoted:?}"
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c"])
            .arg(format!("printf %s {quoted}"))
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            word,
            "{word:?} -> {quoted:?}"
        );
    }
}

/// Not root, on a config in a root-owned folder: the diff is shown, then the sudo command,
/// and no question is asked whose yes could only fail (found by hand on /etc/makepkg.conf).
/// A read-only file in a folder the user owns is still written, as the rename needs only
/// the folder (as `sed -i`), and keeps its mode.
#[test]
fn a_config_the_user_cannot_write_gets_the_sudo_command_instead_of_a_question() {
    use expectrl::process::unix::WaitStatus;
    use expectrl::{Eof, Expect};
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        return skip(
            "a_config_the_user_cannot_write_gets_the_sudo_command_instead_of_a_question",
            "needs root to run as another user against root's folder",
        );
    }
    let (dir, conf) = stock();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let original = std::fs::read(&conf).unwrap();
    let tool = tool_for_any_user();
    let vars = [
        ("PATH", std::env::var("PATH").unwrap()),
        ("HOME", "/nonexistent".to_string()),
        ("TERM", "linux".to_string()),
    ];
    // add-host as the build user in a pty: (exit code, all it said).
    let add_in_a_terminal = || {
        let mut cmd = as_build_user(tool.to_str().unwrap(), &vars);
        cmd.arg("--config")
            .arg(&conf)
            .args(["add-host", "127.0.0.1:3636/4"]);
        let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
        s.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
        let seen = s.expect(Eof).unwrap();
        // At the end of output, the match is the whole of it.
        let said = String::from_utf8_lossy(seen.get(0).unwrap_or_default()).into_owned();
        match s.get_process().wait().unwrap() {
            WaitStatus::Exited(_, code) => (code, said),
            other => panic!("{other:?}"),
        }
    };
    let (code, said) = add_in_a_terminal();
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("+DISTCC_HOSTS=\"127.0.0.1:3636/4\""),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "permission denied writing {}",
            dir.path().display()
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "sudo alarm-distcc --config {} add-host 127.0.0.1:3636/4",
            conf.display()
        )),
        "{said}"
    );
    assert!(!said.contains("[y/N]"), "asked: {said}");
    assert_eq!(std::fs::read(&conf).unwrap(), original);

    // The user's own folder and file, but root's group (a copy made with sudo cp, then
    // chown USER): the replacement cannot keep that group, and nothing is asked whose yes
    // could only fail; the fix is named.
    let chown = |owner: &str, path: &std::path::Path, recursive: bool| {
        let mut c = std::process::Command::new("chown");
        if recursive {
            c.arg("-R");
        }
        assert!(c.arg(owner).arg(path).status().unwrap().success());
    };
    chown(&format!("{BUILD_USER}:"), dir.path(), true);
    chown(&format!("{BUILD_USER}:root"), &conf, false);
    let (code, said) = add_in_a_terminal();
    assert_eq!(code, 1, "{said}");
    let seen = words(&said);
    assert!(
        seen.contains(&format!(
            "belongs to {BUILD_USER}:root, and only root can give its replacement that owner \
             and group; nothing was changed: give the file your group (chgrp {BUILD_USER} {})",
            conf.display()
        )),
        "{said}"
    );
    assert!(!said.contains("[y/N]"), "asked: {said}");
    let out = as_build_user(tool.to_str().unwrap(), &vars)
        .arg("--config")
        .arg(&conf)
        .args(["--yes", "add-host", "127.0.0.1:3636/4"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("only root can give its replacement"), "{err}");
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert_eq!(
        std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&conf).unwrap()),
        0
    );

    // Root's file in the user's folder, writable by the user's group: the rename would work,
    // but the replacement would be the user's. No chgrp can fix that: only sudo is named.
    chown(&format!("root:{BUILD_USER}"), &conf, false);
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o664)).unwrap();
    let (code, said) = add_in_a_terminal();
    assert_eq!(code, 1, "{said}");
    let seen = words(&said);
    assert!(
        seen.contains(&format!(
            "belongs to root:{BUILD_USER}, and only root can give its replacement that owner \
             and group; nothing was changed: run it as root: sudo alarm-distcc --config {} \
             add-host 127.0.0.1:3636/4",
            conf.display()
        )),
        "{said}"
    );
    assert!(!seen.contains("chgrp"), "{said}");
    assert!(!said.contains("[y/N]"), "asked: {said}");
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&conf).unwrap()),
        0
    );

    // The user's own folder, a read-only file: written, mode kept.
    chown(&format!("{BUILD_USER}:"), dir.path(), true);
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = as_build_user(tool.to_str().unwrap(), &vars)
        .arg("--config")
        .arg(&conf)
        .args(["--yes", "add-host", "127.0.0.1:3636/4"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        scalar_value(&bash_vars(&[&conf])["DISTCC_HOSTS"]),
        "127.0.0.1:3636/4"
    );
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o444);
}

/// A loopback address with a port is this machine's own distccd, not a helper: add-host
/// says so, as the wizard does, and writes it all the same (tests and trials use one).
#[test]
fn a_loopback_helper_is_said_to_be_this_machine() {
    let (_dir, conf) = stock();
    for host in ["127.0.0.1:3700", "localhost:3700", "[::1]:3700"] {
        let r = run(&conf, &["--dry-run", "add-host", &format!("{host}/4")]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("note: {host} is this machine, not a helper")),
            "{host}: {}",
            r.stderr
        );
    }
    // A helper on the network gets no such note (--dry-run: nothing is sent).
    let r = run(&conf, &["--dry-run", "add-host", "192.168.1.100:3636/6"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("this machine"), "{}", r.stderr);
}

/// A host to remove that is not listed (a typo, most likely): nothing is removed, not even
/// the other hosts given, and the error names what is listed, with exit code 2.
#[test]
fn removing_an_unlisted_host_names_the_listed_ones() {
    let (_dir, conf) = stock();
    let r = run(&conf, &["remove-host", "192.168.1.100"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("192.168.1.100 is not in DISTCC_HOSTS, which lists no host"),
        "{}",
        r.stderr
    );
    let r = run(
        &conf,
        &["--yes", "add-host", "192.168.1.100:3636/6", "localhost/2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let before = std::fs::read(&conf).unwrap();
    // One listed host beside a typo: the listed one stays too.
    let r = run(
        &conf,
        &["--yes", "remove-host", "localhost", "192.168.1.10:3636"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let line = std::fs::read_to_string(&conf)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("DISTCC_HOSTS="))
        .unwrap()
        + 1;
    assert!(
        r.stderr.contains(&format!(
            "{}:{line}: 192.168.1.10:3636 is not in DISTCC_HOSTS, which lists: \
             192.168.1.100:3636/6 localhost/2; nothing was removed",
            conf.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&conf).unwrap(), before);
    // Both typos are named at once.
    let r = run(&conf, &["--yes", "remove-host", "192.168.1.10", "10.0.0.9"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("192.168.1.10, 10.0.0.9 are not in DISTCC_HOSTS"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&conf).unwrap(), before);
}

/// One host given twice in one add-host: the last one is written, and said; each host's
/// notes come once. A pump-mode `,cpp` is written as asked, with doctor's warning.
#[test]
fn a_host_given_twice_and_pump_mode_are_said_when_added() {
    let (_dir, conf) = stock();
    let r = run(
        &conf,
        &[
            "--yes",
            "add-host",
            "192.168.1.100:3636/4",
            "192.168.1.100:3636/6,lzo,cpp",
            "localhost/2",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "note: 192.168.1.100:3636/4 and 192.168.1.100:3636/6,lzo,cpp name the same host; the \
             last one given, 192.168.1.100:3636/6,lzo,cpp, is written"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.matches("uses ,cpp (pump mode)").count(),
        1,
        "{}",
        r.stderr
    );
    let hosts = scalar_value(&bash_vars(&[&conf])["DISTCC_HOSTS"]);
    assert_eq!(hosts, "192.168.1.100:3636/6,lzo,cpp localhost/2");
    // The same spec twice is no conflict: nothing to say about it.
    let r = run(
        &conf,
        &[
            "--dry-run",
            "add-host",
            "192.168.1.7:3636/4",
            "192.168.1.7:3636/4",
        ],
    );
    assert!(!r.stderr.contains("name the same host"), "{}", r.stderr);
}

/// A line wider than the terminal is allowed only for a command to type that is wider by
/// itself: it starts its line (a break inside would break it when copied).
fn a_whole_command(line: &str) -> bool {
    line.trim_start()
        .trim_start_matches(['(', '`'])
        .starts_with("alarm-distcc ")
}

/// doctor and show in a narrow terminal (a Pi's console, a split tmux pane): a long line
/// continues further in (a doctor finding under its text, not under the level), and no line
/// is wider than the terminal; into a pipe each stays one line, with the same words.
#[test]
fn doctor_and_show_fit_a_narrow_terminal_and_keep_pipes_one_line_a_finding() {
    let (_dir, conf) = stock();
    let r = run(
        &conf,
        &["--yes", "add-host", "127.0.0.1:3700/4", "localhost/2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (_bare_dir, bare) = stock();
    for (config, args, hang) in [
        (&conf, ["doctor", "--offline"], "         "),
        (&bare, ["show", "--color=never"], "      "),
    ] {
        let piped = run(config, &args);
        assert!(
            piped.stdout.lines().any(|l| l.chars().count() > 60),
            "nothing to wrap: {}",
            piped.stdout
        );
        let shown = on_console(
            "linux",
            60,
            config,
            &args,
            std::time::Duration::from_secs(15),
        );
        for line in shown.lines() {
            assert!(
                line.chars().count() <= 60 || a_whole_command(line),
                "{line:?} in:\n{shown}"
            );
        }
        let continued: Vec<&str> = shown
            .lines()
            .filter(|l| l.starts_with(hang) && !l.trim_start().starts_with("fix:"))
            .collect();
        assert!(!continued.is_empty(), "no line was continued:\n{shown}");
        assert!(
            words(&shown).contains(&words(&piped.stdout)),
            "the terminal lost words:\n{shown}\npiped:\n{}",
            piped.stdout
        );
    }
}

/// An edit's status lines (what was written, the next step) fit a narrow console, continued
/// 4 columns in, without losing a word or breaking a command to type; the diff above them is
/// the file's lines, as they are.
#[test]
fn an_edits_status_lines_fit_a_narrow_terminal() {
    let args = ["--yes", "add-host", "127.0.0.1:3700/4"];
    let (_piped_dir, piped_conf) = stock();
    let piped = run(&piped_conf, &args);
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    let status = |t: &str| -> Vec<String> {
        t.lines()
            .skip_while(|l| !l.starts_with("wrote "))
            .map(str::to_string)
            .collect()
    };
    let piped_status = status(&piped.stderr);
    assert!(
        piped_status.iter().any(|l| l.chars().count() > 60),
        "nothing to wrap: {}",
        piped.stderr
    );
    let (_dir, conf) = stock();
    let shown = on_console(
        "screen",
        60,
        &conf,
        &args,
        std::time::Duration::from_secs(15),
    );
    let shown_status = status(&shown);
    assert!(shown_status.len() > piped_status.len(), "{shown}");
    // The next step's command, whole on one line (a break inside it would break it when
    // copied); only a command wider than the terminal itself may pass its edge.
    let command = format!("alarm-distcc --config {} probe", conf.display());
    assert!(
        shown_status.iter().any(|l| l.contains(&command)),
        "{command:?} broken in:\n{shown}"
    );
    for line in &shown_status {
        assert!(
            line.chars().count() <= 60 || a_whole_command(line),
            "{line:?} in:\n{shown}"
        );
        assert!(
            ["wrote ", "next:", "    "]
                .iter()
                .any(|p| line.starts_with(p)),
            "{line:?} in:\n{shown}"
        );
    }
    // The same words, the temp folder's name apart (each run has its own).
    let words = |lines: &[String], path: &std::path::Path| {
        lines
            .join(" ")
            .replace(&path.display().to_string(), "CONF")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        words(&shown_status, &conf),
        words(&piped_status, &piped_conf)
    );
}

/// A note's suggested command names the config given with --config: copied as printed, it
/// acts on the same file (here a copy), not on /etc/makepkg.conf.
#[test]
fn a_notes_command_names_the_config_given() {
    let (_dir, conf) = stock();
    let r = run(&conf, &["--yes", "add-host", "127.0.0.1:3700/4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&conf, &["--dry-run", "remove-host", "127.0.0.1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let disable = format!("`alarm-distcc --config {} disable`", conf.display());
    assert!(r.stderr.contains(&disable), "{}", r.stderr);
    // Run as printed, it turns distcc off in that file.
    let r = run(&conf, &["--yes", "disable"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let vars = bash_vars(&[&conf]);
    assert_eq!(array_values(&vars["BUILDENV"])[0], "!distcc");
}

/// An error breaks between words on a narrow console too, continued 4 columns in, with the
/// same words as into a pipe.
#[test]
fn an_error_fits_a_narrow_terminal() {
    let args = ["add-host", "127.0.0.100:3636/6x"];
    let (_dir, conf) = stock();
    let piped = run(&conf, &args);
    assert_eq!(piped.code, 2, "{}", piped.stderr);
    assert!(
        piped.stderr.lines().any(|l| l.chars().count() > 60),
        "nothing to wrap: {}",
        piped.stderr
    );
    let shown = on_console(
        "linux",
        60,
        &conf,
        &args,
        std::time::Duration::from_secs(15),
    );
    let lines: Vec<&str> = shown.lines().filter(|l| !l.is_empty()).collect();
    assert!(lines.len() > 1, "{shown}");
    assert!(lines[0].starts_with("error: "), "{shown}");
    for line in &lines[1..] {
        assert!(line.starts_with("    "), "{line:?} in:\n{shown}");
    }
    for line in &lines {
        assert!(line.chars().count() <= 60, "{line:?} in:\n{shown}");
    }
    assert_eq!(words(&shown), words(&piped.stderr));
}
