//! Bash decides the starting point of every edit, not only its result: each editing command
//! on constructs the static reading gets wrong either ends as what bash then reads as
//! intended, or is refused with file:line and the file byte-identical. bash is the check's
//! environment as makepkg's would be, and a value that follows from the edit is shown, not
//! refused. Real bash, sourcing the file as makepkg does, is the oracle.

mod common;

use common::*;
use std::ffi::OsStr;
use std::path::Path;

const HELPER: &str = "127.0.0.9:3632/4";
const BASE: &str = "BUILDENV=(!distcc color !ccache check !sign)\n\
DISTCC_HOSTS=\"127.0.0.2:3632/6\"\nMAKEFLAGS=\"-j6\"\n";

/// What makepkg ends with, read by bash itself in `env`: distcc on, the host words, the
/// last fixed -j.
#[derive(Debug, PartialEq)]
struct Read {
    distcc: bool,
    hosts: Vec<String>,
    jobs: Option<u32>,
}

fn bash_reads(conf: &Path, env: &[(&str, &str)]) -> Read {
    let script = r#"source "$1" >/dev/null 2>&1
d=off; for e in "${BUILDENV[@]}"; do [[ $e == distcc ]] && d=on; [[ $e == '!distcc' ]] && d=off; done
printf '%s\n%s\n%s\n' "$d" "${DISTCC_HOSTS-}" "${MAKEFLAGS-}""#;
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script, "oracle"])
        .arg(conf)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let distcc = lines.next() == Some("on");
    let hosts = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let jobs = regex::Regex::new(r"(?:^|\s)-j\s*(\d+)(?:\s|$)")
        .unwrap()
        .captures_iter(lines.next().unwrap_or_default())
        .last()
        .map(|c| c[1].parse().unwrap());
    Read {
        distcc,
        hosts,
        jobs,
    }
}

fn slots(token: &str) -> u32 {
    token
        .rsplit_once('/')
        .and_then(|(_, n)| n.split(',').next()?.parse().ok())
        .unwrap_or(if token == "localhost" { 2 } else { 4 })
}

/// What each command means bash to read after it; None when it holds.
fn broken_intent(args: &[&str], read: &Read) -> Option<String> {
    let total: u32 = read.hosts.iter().map(|t| slots(t)).sum();
    let ok = match args[0] {
        "enable" => read.distcc,
        "disable" => !read.distcc,
        "set-local" => {
            read.hosts.iter().any(|h| h == "localhost/2")
                && !read.distcc | (read.jobs == Some(total))
        }
        "add-host" => {
            read.distcc && read.hosts.iter().any(|h| h == HELPER) && read.jobs == Some(total)
        }
        "remove-host" => !read.hosts.iter().any(|h| h.starts_with("127.0.0.2")),
        _ => unreachable!(),
    };
    (!ok).then(|| format!("bash reads {read:?}"))
}

/// Constructs the static reading of the file gets wrong (or cannot follow), each set after
/// the plain lines of BASE.
fn constructs() -> Vec<(&'static str, String)> {
    vec![
        (
            "BUILDENV with an index",
            format!("{BASE}BUILDENV[0]=distcc\n"),
        ),
        (
            "BUILDENV with a brace",
            format!("{BASE}BUILDENV=({{distcc,color}} !ccache check !sign)\n"),
        ),
        (
            "a $\"...\" entry",
            format!("{BASE}BUILDENV=($\"distcc\" color !ccache check !sign)\n"),
        ),
        (
            "hosts in a command substitution with a comment",
            format!("{BASE}DISTCC_HOSTS=$(echo 127.0.0.2:3632/6 127.0.0.3:3632/2 # two\n)\n"),
        ),
        (
            "hosts in a here-doc inside $( )",
            format!("{BASE}DISTCC_HOSTS=$(cat <<EOF\n127.0.0.2:3632/6 127.0.0.3:3632/2\nEOF\n)\n"),
        ),
        (
            "MAKEFLAGS set by a function called later",
            format!("pin() {{ MAKEFLAGS=-j3; }}\n{BASE}pin\n"),
        ),
    ]
}

/// BASE with distcc on, where -j follows the slots.
fn base_on() -> String {
    BASE.replacen("!distcc", "distcc", 1)
}

/// `run`, with variables set (Some) or removed (None) in the tool's environment.
fn run_in_env(conf: &Path, vars: &[(&str, Option<&OsStr>)], args: &[&str]) -> Run {
    let mut cmd = bin();
    for (k, v) in vars {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.arg("--config").arg(conf).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const COMMANDS: &[&[&str]] = &[
    &["enable"],
    &["disable"],
    &["set-local", "2"],
    &["add-host", HELPER],
    &["remove-host", "127.0.0.2"],
];

#[test]
fn every_edit_is_what_bash_reads_or_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let place = regex::Regex::new(r"makepkg\.conf:\d+:").unwrap();
    let mut failures = Vec::new();
    let mut refused = 0;
    for (name, text) in constructs() {
        for args in COMMANDS {
            std::fs::write(&conf, &text).unwrap();
            let mut all = vec!["--yes"];
            all.extend_from_slice(args);
            let r = run(&conf, &all);
            let now = std::fs::read_to_string(&conf).unwrap();
            // The new text is staged beside the file while bash reads: refused or written,
            // nothing but the file is left.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n != "makepkg.conf")
                .collect();
            if !left.is_empty() {
                failures.push(format!("{name}, {args:?}: left {left:?}"));
            }
            match r.code {
                // Written, or "nothing to change": either way bash must read the intent.
                0 => {
                    if let Some(why) = broken_intent(args, &bash_reads(&conf, &[])) {
                        failures.push(format!("{name}, {args:?}: exit 0, but {why}"));
                    }
                }
                2 => {
                    refused += 1;
                    if now != text || !place.is_match(&r.stderr) {
                        failures.push(format!(
                            "{name}, {args:?}: refused, file {}, stderr: {}",
                            if now == text { "untouched" } else { "CHANGED" },
                            r.stderr
                        ));
                    }
                }
                code => failures.push(format!("{name}, {args:?}: exit {code}: {}", r.stderr)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The constructs are meant to be hard: most of these edits cannot start right.
    assert!(refused >= 15, "only {refused} refusals");
}

#[test]
fn the_refusal_names_both_readings() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let text = format!("{BASE}BUILDENV[0]=distcc\n");
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["--yes", "disable"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let c = conf.display();
    assert!(
        r.stderr.contains(&format!(
            "bash reads distcc on in BUILDENV (bash sets it at {c}:4), though {c}:1 says !distcc"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

#[test]
fn bash_reads_the_config_in_the_users_environment() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    // An MSYS2-style config: makepkg there always has MSYSTEM.
    let text = format!(": \"${{MSYSTEM:?not an MSYS2 shell}}\"\n{}", base_on());
    std::fs::write(&conf, &text).unwrap();
    let args = ["--yes", "set-local", "2"];
    let without = run_in_env(&conf, &[("MSYSTEM", None)], &args);
    assert_eq!(without.code, 2, "{}", without.stderr);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
    let with = run_in_env(&conf, &[("MSYSTEM", Some(OsStr::new("MINGW64")))], &args);
    assert_eq!(with.code, 0, "{}", with.stderr);
    let read = bash_reads(&conf, &[("MSYSTEM", "MINGW64")]);
    assert_eq!(broken_intent(&["set-local"], &read), None);
    assert_eq!(read.jobs, Some(8));
}

/// An exported MAKEFLAGS or DISTCC_HOSTS that no file sets is what makepkg has (makechrootpkg's
/// `MAKEFLAGS=-jN` prefix, an export in ~/.bashrc): `show` and `doctor` say so, `probe` checks
/// the environment's helpers, and an edit starts from it. Without the environment's values in
/// the plan, `add-host` wrote the new helper alone and makepkg lost the environment's; `show`
/// said "not set".
#[test]
fn values_only_the_environment_gives_are_shown_and_edited_from() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let text =
        "BUILDENV=(distcc color !ccache check !sign)\n#MAKEFLAGS=\"-j2\"\n#DISTCC_HOSTS=\"\"\n";
    std::fs::write(&conf, text).unwrap();
    let env = [
        (
            "DISTCC_HOSTS",
            Some(OsStr::new("127.0.0.2:3632/6 localhost/2")),
        ),
        ("MAKEFLAGS", Some(OsStr::new("-j4"))),
    ];
    let show = run_in_env(&conf, &env, &["show"]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    for line in [
        "DISTCC_HOSTS: \"127.0.0.2:3632/6 localhost/2\"  (from the environment: no file sets it)",
        "MAKEFLAGS:    \"-j4\"  (from the environment: no file sets it)",
        "total slots: 8",
    ] {
        assert!(show.stdout.contains(line), "{line}\n{}", show.stdout);
    }
    let json = run_in_env(&conf, &env, &["show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["makeflags"]["jobs"], 4, "{v}");
    assert_eq!(v["hosts"]["source"]["environment"], "DISTCC_HOSTS", "{v}");
    // Text from the environment is escaped like text from the files.
    let hostile = run_in_env(
        &conf,
        &[("MAKEFLAGS", Some(OsStr::new("-j4 \u{1b}]0;owned\u{7}")))],
        &["show"],
    );
    assert_eq!(hostile.code, 0, "{}", hostile.stderr);
    assert!(
        !hostile.stdout.contains('\u{1b}') && !hostile.stdout.contains('\u{7}'),
        "{:?}",
        hostile.stdout
    );
    // Without the environment's values, the same file has neither.
    let bare = run_in_env(
        &conf,
        &[("DISTCC_HOSTS", None), ("MAKEFLAGS", None)],
        &["show"],
    );
    assert!(
        bare.stdout.contains("MAKEFLAGS:    not set"),
        "{}",
        bare.stdout
    );
    let doctor = run_in_env(&conf, &env, &["doctor", "--offline"]);
    assert!(
        doctor.stdout.contains(
            "MAKEFLAGS in the environment (no file sets it) has -j4 but the hosts have 8 slots"
        ),
        "{}",
        doctor.stdout
    );
    // probe checks the environment's helpers (here a loopback port nothing listens on).
    let probe = run_in_env(
        &conf,
        &[("DISTCC_HOSTS", Some(OsStr::new("127.0.0.1:1/1")))],
        &["probe", "--timeout", "2"],
    );
    assert_eq!(probe.code, 1, "{}{}", probe.stdout, probe.stderr);
    assert!(
        probe.stdout.contains("127.0.0.1:1/1") && probe.stdout.contains("nothing listens"),
        "{}",
        probe.stdout
    );
    let unset = run_in_env(&conf, &[("DISTCC_HOSTS", None)], &["probe"]);
    assert_eq!(unset.code, 2, "{}", unset.stderr);
    assert!(
        unset.stderr.contains("DISTCC_HOSTS is not set"),
        "{}",
        unset.stderr
    );
    // The edit starts from what makepkg has: the environment's helpers stay, -j follows.
    let r = run_in_env(&conf, &env, &["--yes", "add-host", HELPER]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let read = bash_reads(
        &conf,
        &[("DISTCC_HOSTS", "127.0.0.9:1/1"), ("MAKEFLAGS", "-j1")],
    );
    assert_eq!(
        read,
        Read {
            distcc: true,
            hosts: vec![
                "127.0.0.2:3632/6".into(),
                HELPER.into(),
                "localhost/2".into()
            ],
            jobs: Some(12),
        }
    );
}

#[test]
fn what_would_run_other_code_stays_out_of_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(&conf, base_on()).unwrap();
    // Were BASH_ENV or an exported function honoured, bash would read -j99 or nothing.
    let startup = dir.path().join("env.sh");
    std::fs::write(&startup, "MAKEFLAGS=-j99\n").unwrap();
    let r = run_in_env(
        &conf,
        &[
            ("BASH_ENV", Some(startup.as_os_str())),
            ("BASH_FUNC_source%%", Some(OsStr::new("() { :; }"))),
            ("SHELLOPTS", Some(OsStr::new("nounset"))),
        ],
        &["--yes", "set-local", "2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(bash_reads(&conf, &[]).jobs, Some(8));
}

#[test]
fn a_value_that_follows_the_edit_is_shown_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(&conf, format!("{}NINJAFLAGS=\"$MAKEFLAGS\"\n", base_on())).unwrap();
    let r = run(&conf, &["--yes", "set-local", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("also changes: NINJAFLAGS follows MAKEFLAGS: `\"-j6\"` -> `\"-j8\"`"),
        "{}",
        r.stderr
    );
    assert_eq!(bash_reads(&conf, &[]).jobs, Some(8));
}

#[test]
fn a_value_that_differs_on_every_reading_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let text = format!("{BASE}SEED=\"$RANDOM$RANDOM$MAKEFLAGS\"\n");
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["--yes", "set-local", "2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("SEED would change too")
            && r.stderr.contains("reads differently each time"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

#[test]
fn a_plain_edit_reads_each_text_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(&conf, BASE).unwrap();
    // A bash that counts its starts; the tool takes it from ALARM_DISTCC_BASH.
    let log = dir.path().join("starts");
    let counting = dir.path().join("bash");
    std::fs::write(
        &counting,
        format!("#!/bin/sh\necho x >> {}\nexec bash \"$@\"\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &counting,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // The check may run as another user (root runs it as nobody): the log must be theirs too.
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for args in COMMANDS {
        std::fs::write(&conf, BASE).unwrap();
        std::fs::write(&log, "").unwrap();
        let mut all = vec!["--yes"];
        all.extend_from_slice(args);
        let r = run_in_env(
            &conf,
            &[("ALARM_DISTCC_BASH", Some(counting.as_os_str()))],
            &all,
        );
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        // One bash reads the text before the edit (in a subshell) and the text after it; a
        // bash of its own reads the text before again only when another value changes (none
        // does here).
        let starts = std::fs::read_to_string(&log).unwrap().lines().count();
        assert_eq!(starts, 1, "{args:?} started bash {starts} times");
    }
}

#[test]
fn the_port_rule_follows_the_carch_bash_reads() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared.conf");
    std::fs::write(&shared, "CARCH=\"x86_64\"\n").unwrap();
    let conf = dir.path().join("makepkg.conf");
    // CARCH set after a `source` line: bash reads aarch64, so ALARM's distccd port 3636.
    std::fs::write(
        &conf,
        format!(
            "source {}\nCARCH=\"aarch64\"\nBUILDENV=(distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\n",
            shared.display()
        ),
    )
    .unwrap();
    let r = run(&conf, &["--yes", "add-host", "desktop/4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(bash_reads(&conf, &[]).hosts, vec!["desktop:3636/4"]);
}

#[test]
fn a_multi_name_export_line_is_edited_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "BUILDENV=(distcc color)\nDISTCC_HOSTS=\"127.0.0.2:3632/6\"\nNPROC=4\n\
         export NPROC OMP_NUM_THREADS=\"$NPROC\" MAKEFLAGS=\"-j$NPROC\"\n",
    )
    .unwrap();
    let r = run(&conf, &["--yes", "set-local", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.ends_with("export NPROC OMP_NUM_THREADS=\"$NPROC\" MAKEFLAGS=\"-j8\"\n"),
        "{text}"
    );
    let read = bash_reads(&conf, &[]);
    assert_eq!(broken_intent(&["set-local"], &read), None, "{read:?}");
    assert_eq!(read.jobs, Some(8));
}

#[test]
fn a_value_only_bash_sees_set_is_named_with_bashs_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let text =
        "BUILDENV=(distcc color)\nMAKEFLAGS=\"-j2\"\nread -r DISTCC_HOSTS <<< '127.0.0.3:3632/1'\n";
    std::fs::write(&conf, text).unwrap();
    let r = run(&conf, &["--yes", "set-local", "2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "bash reads DISTCC_HOSTS=\"127.0.0.3:3632/1\" (bash sets it at {}:3), though no line \
             this tool reads sets it",
            conf.display()
        )),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}
