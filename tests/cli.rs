//! The binary's behaviour: the seed scenario, show, confirm/dry-run/--yes, bad input.

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn corpus_or_fixture_aarch64() -> std::path::PathBuf {
    corpus_files()
        .into_iter()
        .find(|p| p.ends_with("stock/alarm-7.1.0-aarch64.makepkg.conf"))
        .unwrap_or_else(|| fixture("alarm-aarch64-stock.conf"))
}

fn changed_lines(a: &str, b: &str) -> Vec<(Option<String>, Option<String>)> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    assert_eq!(a.len(), b.len(), "lines were added or removed");
    a.iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| (Some(x.to_string()), Some(y.to_string())))
        .collect()
}

#[test]
fn seed_on_stock_aarch64_changes_exactly_three_lines_in_place() {
    for src in [
        corpus_or_fixture_aarch64(),
        fixture("alarm-aarch64-stock.conf"),
    ] {
        let (_dir, conf) = scratch_copy(&src);
        let original = std::fs::read_to_string(&conf).unwrap();
        assert_eq!(run(&conf, &["set-local", "2", "--yes"]).code, 0);
        assert_eq!(
            run(&conf, &["add-host", "192.168.1.100:3636/6", "-y"]).code,
            0
        );
        let edited = std::fs::read_to_string(&conf).unwrap();
        let changes = changed_lines(&original, &edited);
        let new: Vec<String> = changes.iter().map(|c| c.1.clone().unwrap()).collect();
        assert_eq!(
            new,
            [
                "MAKEFLAGS=\"-j8\"",
                "BUILDENV=(distcc color !ccache check !sign)",
                "DISTCC_HOSTS=\"192.168.1.100:3636/6 localhost/2\"",
            ]
        );
        let old: Vec<String> = changes.iter().map(|c| c.0.clone().unwrap()).collect();
        assert_eq!(
            old,
            [
                "#MAKEFLAGS=\"-j2\"",
                "BUILDENV=(!distcc color !ccache check !sign)",
                "#DISTCC_HOSTS=\"\""
            ]
        );

        // Repeating changes nothing, not even the mtime.
        let mtime = std::fs::metadata(&conf).unwrap().mtime_nsec();
        std::thread::sleep(std::time::Duration::from_millis(20));
        for args in [["set-local", "2"], ["add-host", "192.168.1.100:3636/6"]] {
            let r = run(&conf, &[args[0], args[1], "--yes"]);
            assert_eq!(r.code, 0);
            assert!(r.stderr.contains("nothing to change"), "{}", r.stderr);
        }
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), edited);
        assert_eq!(std::fs::metadata(&conf).unwrap().mtime_nsec(), mtime);

        assert_eq!(
            run(&conf, &["remove-host", "192.168.1.100:3636", "-y"]).code,
            0
        );
        let after_remove = std::fs::read_to_string(&conf).unwrap();
        assert!(after_remove.contains("\nDISTCC_HOSTS=\"localhost/2\"\n"));
        assert!(after_remove.contains("\nMAKEFLAGS=\"-j2\"\n"));

        assert_eq!(run(&conf, &["disable", "-y"]).code, 0);
        let disabled = std::fs::read_to_string(&conf).unwrap();
        assert!(disabled.contains("\nBUILDENV=(!distcc color !ccache check !sign)\n"));
        assert!(
            disabled.contains("DISTCC_HOSTS=\"localhost/2\""),
            "host list kept"
        );
    }
}

#[test]
fn bad_host_specs_exit_2_quote_the_input_and_leave_the_file() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    for bad in [
        "h:0",
        "h:65536",
        "h/0",
        "h/-3",
        "h/100000",
        "h,zstd",
        "h,lzofoo",
        "h:",
        "@host:3632",
        "a.example,b.example",
        "two words",
        "q\"uote",
        "$(reboot)",
        "`id`",
        "h;rm",
        "192.168.1.300",
        "[::1",
        "h,cpp",
    ] {
        let r = run(&conf, &["add-host", "--yes", "--", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("`{bad}`")),
            "{bad}: {}",
            r.stderr
        );
        assert_eq!(
            std::fs::read(&conf).unwrap(),
            original,
            "{bad} changed the file"
        );
    }
    for bad in ["h:99999", "::1", ""] {
        let r = run(&conf, &["remove-host", "--yes", bad]);
        assert_eq!(r.code, 2, "{bad}: {}", r.stderr);
    }
    let r = run(&conf, &["set-local", "-1", "--yes"]);
    assert_eq!(r.code, 2);
    let r = run(&conf, &["set-local", "5000", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

#[test]
fn dry_run_and_no_terminal_never_write() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let r = run(&conf, &["--dry-run", "add-host", "10.0.0.2:3632/4"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("+DISTCC_HOSTS=\"10.0.0.2:3632/4\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.starts_with(&format!("--- {}", conf.display())),
        "{}",
        r.stdout
    );
    // No terminal and no --yes: nothing written, exit 1, and the way out is named.
    let r = run(&conf, &["add-host", "10.0.0.2:3632/4"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert_eq!(
        std::fs::read_dir(conf.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn missing_config_is_bad_input_with_a_hint() {
    let r = run(Path::new("/nonexistent/makepkg.conf"), &["show"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--config"), "{}", r.stderr);
    let out = bin()
        .env("MAKEPKG_CONF", fixture("seed-loopback.conf"))
        .args(["show", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"]["total_slots"], 8, "MAKEPKG_CONF is honoured");
}

#[test]
fn show_reports_values_sources_and_mismatch() {
    let conf = fixture("trailing-comments.conf");
    let r = run(&conf, &["show"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("distcc:       off"), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("{}:6", conf.display())),
        "{}",
        r.stdout
    );
    // distcc is off there: -j is this machine's own, no mismatch.
    assert!(!r.stdout.contains("MISMATCH"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("distcc is off, so -j is this machine's own"),
        "{}",
        r.stdout
    );
    let r = run(&conf, &["show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["distcc"]["enabled"], false);
    assert_eq!(v["hosts"]["entries"][0]["host"], "10.0.0.9");
    assert_eq!(v["hosts"]["entries"][0]["port"], 3636);
    assert_eq!(v["hosts"]["entries"][0]["slots"], 12);
    assert_eq!(v["hosts"]["source"]["line"], 6);
    assert_eq!(v["makeflags"]["jobs_computed"], "$(nproc)");
    assert_eq!(v["makeflags"]["matches_slots"], false);

    let r = run(&fixture("refuse/bad-token.conf"), &["show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["hosts"]["entries"][1]["valid"], false);
}

/// The write options are listed (and taken after the command) only where something is
/// written; before the command they are taken everywhere.
#[test]
fn write_options_only_where_something_is_written() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    for cmd in ["show", "probe", "doctor", "helper", "man"] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(!help.contains("--dry-run"), "{cmd}: {help}");
        assert_eq!(run(&conf, &[cmd, "--dry-run"]).code, 2, "{cmd}");
    }
    for cmd in [
        "add-host",
        "remove-host",
        "set-local",
        "enable",
        "disable",
        "sort",
        "discover",
        "wizard",
    ] {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("--dry-run") && help.contains("--no-verify"),
            "{cmd}: {help}"
        );
    }
    assert_eq!(run(&conf, &["--dry-run", "show"]).code, 0);
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--dry-run"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("dry run"), "{}", r.stderr);
}

#[test]
fn computed_job_count_is_replaced_and_said() {
    let (_dir, conf) = scratch_copy(&fixture("trailing-comments.conf"));
    // distcc is off there: set-local alone keeps it off and leaves -j alone.
    let r = run(&conf, &["enable", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("computed job count"), "{}", r.stderr);
    let r = run(&conf, &["set-local", "2", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("MAKEFLAGS=\"-e -j14 -O line\" ## Change this for DistCC/SMP systems"),
        "{text}"
    );
    assert!(text.contains("BUILDENV=(distcc color !ccache check !sign) # Enable distcc option"));
    assert!(text.contains("DISTCC_HOSTS=\"10.0.0.9:3636/12 localhost/2\"   # the big desktop"));
}

#[test]
fn seed_loopback_entry_is_replaced_with_localhost() {
    let (_dir, conf) = scratch_copy(&fixture("seed-loopback.conf"));
    let r = run(&conf, &["set-local", "2", "--yes"]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.contains("127.0.0.1/2"), "{}", r.stderr);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.contains("DISTCC_HOSTS=\"192.168.1.100:3636/6 localhost/2\""),
        "{text}"
    );
}

#[test]
fn permission_denied_says_sudo_and_changes_nothing() {
    let is_root = is_root();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), &conf).unwrap();
    let original = std::fs::read(&conf).unwrap();
    let out = if is_root {
        // root ignores permissions: run as an unprivileged user against root's folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(tool_for_any_user())
            .arg("--config")
            .arg(&conf)
            .args(["set-local", "2", "--yes"])
            .env("HOME", "/nonexistent")
            .output()
            .expect("setpriv (util-linux) runs")
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
        let out = bin()
            .arg("--config")
            .arg(&conf)
            .args(["set-local", "2", "--yes"])
            .output()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        out
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sudo alarm-distcc"), "{stderr}");
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn every_file_round_trips_and_shows() {
    for f in corpus_files().into_iter().chain(fixture_files()) {
        let bytes = std::fs::read(&f).unwrap();
        let doc = alarm_distcc::document::Document::parse(bytes.clone());
        assert_eq!(doc.to_bytes(), bytes, "{}", f.display());
        let r = run(&f, &["show"]);
        assert_eq!(r.code, 0, "{}: {}", f.display(), r.stderr);
    }
}

#[test]
fn user_file_without_buildenv_gets_an_append() {
    let (_dir, conf) = scratch_copy(&fixture("user-no-buildenv.conf"));
    assert_eq!(run(&conf, &["enable", "--yes"]).code, 0);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.ends_with("MAKEFLAGS=\"-j$(nproc)\"\nBUILDENV+=(distcc)\n"),
        "{text}"
    );
    let vars = bash_vars(&[Path::new("/dev/null"), &conf]);
    assert_eq!(array_values(&vars["BUILDENV"]), ["distcc"]);
}

#[test]
fn every_refusal_names_the_line_and_leaves_the_file() {
    let cases: &[(&str, &[&str], i32, &str)] = &[
        (
            "DISTCC_HOSTS=\"a/2\"\nDISTCC_HOSTS+=\" b/2\"\n",
            &["add-host", "c/2"],
            2,
            ":2: DISTCC_HOSTS is built with `+=`",
        ),
        (
            "DISTCC_HOSTS=\"a/2 # the desktop\nb/2\"\n",
            &["add-host", "c/2"],
            2,
            ":1: DISTCC_HOSTS holds a `#` comment",
        ),
        (
            "BUILDENV=\"distcc\"\n",
            &["enable"],
            2,
            ":1: BUILDENV is not an array",
        ),
        (
            "BUILDENV=\"color\"\n",
            &["enable"],
            2,
            ":1: BUILDENV is not an array",
        ),
        (
            "MAKEFLAGS=\"$EXTRA\"\nBUILDENV=(distcc)\n",
            &["set-local", "2"],
            2,
            ":1: MAKEFLAGS is computed by shell code",
        ),
        (
            "BUILDENV=(!distcc)\nif true; then BUILDENV=(distcc); fi\n",
            &["enable"],
            2,
            ":2: BUILDENV is set inside shell logic",
        ),
        (
            "BUILDENV=(!distcc)\n",
            &["probe"],
            2,
            "DISTCC_HOSTS is not set",
        ),
        (
            "DISTCC_HOSTS=\"$(cat x)\"\n",
            &["probe"],
            2,
            "DISTCC_HOSTS is computed",
        ),
        (
            "DISTCC_HOSTS=\"127.0.0.1:1\"\n",
            &["probe", "--timeout", "0"],
            2,
            "--timeout 0",
        ),
        (
            "DISTCC_HOSTS=\"127.0.0.1:1\"\n",
            &["probe", "--timeout", "NaN"],
            2,
            "--timeout NaN",
        ),
        (
            "CARCH=\"aarch64\"\n",
            &["helper", "--allow", "10.0.0.2", "--port", "0"],
            2,
            "--port 0",
        ),
        (
            "CARCH=\"aarch64\"\n",
            &["helper", "--allow", "10.0.0.2", "--jobs", "0"],
            2,
            "--jobs 0",
        ),
        ("CARCH=\"aarch64\"\n", &["probe", "h/0"], 2, "`h/0`"),
        (
            "CARCH=\"sparc\"\nDISTCC_HOSTS=\"127.0.0.1:1\"\n",
            &["probe"],
            2,
            "unknown architecture `sparc`",
        ),
    ];
    for (text, args, code, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("makepkg.conf");
        std::fs::write(&conf, text).unwrap();
        // Before the command, where every command takes it (after it, only those that write).
        let mut all = vec!["--yes"];
        all.extend_from_slice(args);
        let r = run(&conf, &all);
        assert_eq!(r.code, *code, "{args:?} on {text:?}: {}", r.stderr);
        if *code == 2 {
            assert!(
                r.stderr.contains(needle),
                "{args:?} on {text:?}: {}",
                r.stderr
            );
            assert_eq!(
                std::fs::read_to_string(&conf).unwrap(),
                *text,
                "{args:?} changed the file"
            );
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }
}

#[test]
fn color_always_colours_the_diff_and_never_does_not() {
    let conf = fixture("alarm-aarch64-stock.conf");
    let r = run(
        &conf,
        &[
            "--dry-run",
            "--color",
            "always",
            "add-host",
            "10.0.0.2:3636/4",
        ],
    );
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("\x1b[32m+BUILDENV=(distcc"),
        "{:?}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\x1b[31m-BUILDENV=(!distcc"),
        "{:?}",
        r.stdout
    );
    let r = run(&conf, &["set-local", "2", "--dry-run", "--color", "never"]);
    assert!(!r.stdout.contains('\x1b'), "{:?}", r.stdout);
}

#[test]
fn build_with_makepkgs_clean_flag_says_where_makepkgs_flags_go() {
    let out = bin().args(["build", "-c"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a value is required for '--config")
            && err.contains("alarm-distcc build -- -c"),
        "{err}"
    );
    // Other commands' mistakes get no makepkg hint.
    let out = bin().args(["show", "-c"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("build --"));
}

/// Slot counts a Pi cannot use are said where they are written and read: a typo such as
/// /600 for /6 on one helper, a total beyond what one client can feed.
#[test]
fn slot_counts_beyond_what_a_pi_can_feed_are_pointed_out() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let r = run(&conf, &["--dry-run", "add-host", "127.0.0.5:3636/600"]);
    assert!(
        r.stderr.contains("127.0.0.5:3636/600 has 600 slots") && r.stderr.contains("a typo"),
        "{}",
        r.stderr
    );
    let r = run(
        &conf,
        &["--yes", "add-host", "127.0.0.5:3636/40", "127.0.0.6:3636/8"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("48 slots in all are more than one Pi can feed"),
        "{}",
        r.stderr
    );
    let show = run(&conf, &["show"]);
    assert!(
        show.stdout.contains("more than one Pi can feed"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("distcc's FAQ"), "{}", show.stdout);
    let doctor = run(&conf, &["doctor", "--offline"]);
    assert!(
        doctor
            .stdout
            .contains("warning  48 slots in all are more than one Pi can feed"),
        "{}",
        doctor.stdout
    );
    // An ordinary setup says nothing of the kind.
    let (_dir2, conf2) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let r = run(&conf2, &["--yes", "add-host", "127.0.0.5:3636/6"]);
    assert!(!r.stderr.contains("slots in all"), "{}", r.stderr);
    assert!(!run(&conf2, &["show"]).stdout.contains("warning"));
}

/// The seed's `127.0.0.1/2`: show says what distcc does with it and doctor's fix names the
/// number, so the command works as printed.
#[test]
fn the_seeds_loopback_entry_is_explained_with_its_number() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        "#DISTCC_HOSTS=\"\"",
        "DISTCC_HOSTS=\"10.0.0.5:3636/6 127.0.0.1/2\"",
    );
    std::fs::write(&conf, text).unwrap();
    let show = run(&conf, &["show"]);
    assert!(
        show.stdout.contains("`127.0.0.1/2` has no port")
            && show.stdout.contains("set-local 2` rewrites it"),
        "{}",
        show.stdout
    );
    let doctor = run(&conf, &["doctor", "--offline"]);
    assert!(
        doctor
            .stdout
            .contains("set-local 2 writes it as localhost/2"),
        "{}",
        doctor.stdout
    );
    assert!(!doctor.stdout.contains("set-local N"), "{}", doctor.stdout);
    let r = run(&conf, &["--dry-run", "add-host", "10.0.0.7/4"]);
    assert!(
        r.stdout
            .contains("+DISTCC_HOSTS=\"10.0.0.5:3636/6 10.0.0.7:3636/4 127.0.0.1/2\""),
        "{}",
        r.stdout
    );
}

/// A no-break space between hosts: distcc splits on ASCII white space only, so it sees one
/// host it cannot use. show and add-host say so, naming the character, never printing it.
#[test]
fn a_unicode_space_in_the_host_list_is_read_as_distcc_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "CARCH=\"aarch64\"\nBUILDENV=(distcc)\nDISTCC_HOSTS=\"10.0.0.5:3636/6\u{a0}localhost/2\"\nMAKEFLAGS=\"-j8\"\n",
    )
    .unwrap();
    let before = std::fs::read(&conf).unwrap();
    let show = run(&conf, &["show"]);
    assert!(
        show.stdout.contains("U+00A0 (a no-break space)"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("total slots: 0"), "{}", show.stdout);
    assert!(
        !show.stdout.contains('\u{a0}'),
        "the invisible character itself is shown"
    );
    let r = run(&conf, &["--yes", "add-host", "10.0.0.7:3636/4"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("U+00A0"), "{}", r.stderr);
    assert!(!r.stderr.contains('\u{a0}'), "{}", r.stderr);
    assert_eq!(std::fs::read(&conf).unwrap(), before);
}
