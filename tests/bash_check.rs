//! Every write is checked with real bash: shell constructs that the static reading cannot
//! follow end as an edit that bash reads as intended, or as a refusal that leaves the file
//! byte-identical. Real bash (sourcing the files, as makepkg does) is the oracle here too.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const HELPER: &str = "127.0.0.9:3632/4";

/// Slots distcc counts for a host token (independent of the crate's own parser).
fn slots_of(token: &str) -> u32 {
    let re = regex::Regex::new(r"/(\d+)").unwrap();
    match re.captures(token) {
        Some(c) => c[1].parse().unwrap(),
        None if token == "localhost" => 2,
        None => 4,
    }
}

fn last_jobs(makeflags: &str) -> Option<u32> {
    let re = regex::Regex::new(r"(?:^|\s)-j\s*(\d+)(?:\s|$)").unwrap();
    re.captures_iter(makeflags)
        .last()
        .map(|c| c[1].parse().unwrap())
}

fn distcc_on(vars: &BTreeMap<String, String>) -> bool {
    let entries = vars
        .get("BUILDENV")
        .map(|d| array_values(d))
        .unwrap_or_default();
    entries
        .iter()
        .rev()
        .find(|e| *e == "distcc" || *e == "!distcc")
        .is_some_and(|e| e == "distcc")
}

/// After a successful `add-host HELPER`, bash must read distcc on, the helper listed, -j the
/// total slots, and every other variable as before.
fn assert_added(name: &str, before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) {
    assert!(distcc_on(after), "{name}: distcc not on for bash");
    let hosts = scalar_value(&after["DISTCC_HOSTS"]);
    let tokens: Vec<&str> = hosts.split_whitespace().collect();
    assert!(
        tokens.contains(&HELPER),
        "{name}: bash reads DISTCC_HOSTS={hosts}"
    );
    let total: u32 = tokens.iter().map(|t| slots_of(t)).sum();
    let makeflags = scalar_value(&after["MAKEFLAGS"]);
    assert_eq!(
        last_jobs(&makeflags),
        Some(total),
        "{name}: MAKEFLAGS={makeflags}"
    );
    for (k, v) in before {
        if !["BUILDENV", "DISTCC_HOSTS", "MAKEFLAGS"].contains(&k.as_str()) {
            assert_eq!(after.get(k), Some(v), "{name}: {k} changed");
        }
    }
}

enum Outcome {
    /// Written, and bash reads what was intended.
    Edited,
    /// Exit 2, file untouched, the message holding this text.
    Refused(&'static str),
}

const BASE: &str = "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\n";

fn constructs(other: &Path) -> Vec<(&'static str, String, Outcome)> {
    use Outcome::*;
    let b = BASE;
    vec![
        (
            "function called after the block",
            format!("f() {{ MAKEFLAGS=-j1; }}\n{b}f\n"),
            Refused("bash reads MAKEFLAGS=\"-j1\" (bash sets it at"),
        ),
        (
            "function keyword",
            format!("function f {{ DISTCC_HOSTS=127.0.0.3/1; }}\n{b}f\n"),
            Refused("bash reads DISTCC_HOSTS=\"127.0.0.3/1\" (bash sets it at"),
        ),
        (
            "eval",
            format!("{b}eval 'MAKEFLAGS=-j3'\n"),
            Refused("bash reads MAKEFLAGS=\"-j3\""),
        ),
        (
            "source of another file",
            // The sourced file sets MAKEFLAGS last: the edit goes there, where makepkg reads it.
            format!("{b}source {}\n", other.display()),
            Edited,
        ),
        (
            ". of another file",
            format!("{b}. {}\n", other.display()),
            Edited,
        ),
        (
            "printf -v",
            format!("{b}printf -v MAKEFLAGS %s -j5\n"),
            Refused("bash reads MAKEFLAGS=\"-j5\""),
        ),
        (
            "read",
            format!("{b}read -r MAKEFLAGS <<< '-j7'\n"),
            Refused("bash reads MAKEFLAGS=\"-j7\""),
        ),
        (
            "mapfile",
            format!("{b}mapfile -t BUILDENV <<< '!distcc'\n"),
            Refused("distcc in BUILDENV: intended on, bash reads off"),
        ),
        (
            "nameref",
            format!("declare -n R=MAKEFLAGS\n{b}R=-j9\n"),
            Refused("bash reads MAKEFLAGS=\"-j9\""),
        ),
        (
            "trap RETURN",
            format!("trap 'MAKEFLAGS=-j11' RETURN\n{b}"),
            Refused("bash reads MAKEFLAGS=\"-j11\""),
        ),
        (
            "alias",
            format!("shopt -s expand_aliases\nalias mk='MAKEFLAGS=-j13'\n{b}mk\n"),
            Refused("bash reads MAKEFLAGS=\"-j13\""),
        ),
        (
            "indexed element",
            format!("{b}BUILDENV[5]=!distcc\n"),
            Refused("distcc in BUILDENV: intended on, bash reads off"),
        ),
        (
            "indexed array literal",
            "BUILDENV=([0]=!distcc [1]=color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\n".into(),
            Refused("distcc in BUILDENV"),
        ),
        (
            "return before the edited lines",
            format!("return\n{b}"),
            Refused("bash stops reading"),
        ),
        (
            "exit before the edited lines",
            format!("exit 0\n{b}"),
            Refused("bash stops reading"),
        ),
        (
            "ANSI-C quoted value",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=$'127.0.0.2/1'\nMAKEFLAGS=\"-j1\"\n".into(),
            Refused("computed by shell code"),
        ),
        (
            "locale-translated value",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=$\"127.0.0.2/1\"\nMAKEFLAGS=\"-j1\"\n".into(),
            Refused("computed by shell code"),
        ),
        (
            "mixed quotes",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"' -l3'\n".into(),
            Refused("MAKEFLAGS' other words"),
        ),
        (
            "MAKEFLAGS as an array",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=(-j2)\n".into(),
            Refused("MAKEFLAGS"),
        ),
        (
            "escaped blank keeps -l3",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=-j2\\ -l3\n".into(),
            Edited,
        ),
        (
            "unterminated quote",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\nMAKEFLAGS=\"-j2\"\n".into(),
            Refused("unexpected EOF while looking for matching"),
        ),
        (
            "unterminated array",
            "BUILDENV=(!distcc color\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\n".into(),
            Refused("unexpected EOF while looking for matching `)'"),
        ),
        (
            "comment glued to a value",
            "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"#x\n".into(),
            Refused("not a job count make takes"),
        ),
        (
            "byte order mark",
            format!("\u{feff}# makepkg.conf\n{b}"),
            Refused("byte order mark"),
        ),
        (
            "Windows line endings",
            b.replace('\n', "\r\n"),
            Refused("Windows line endings (CRLF): bash reads the \\r"),
        ),
        (
            "$' and a quote in a comment inside $( )",
            format!("X=$(echo hi # it's $'\n)\n{b}"),
            Edited,
        ),
        (
            "here-doc inside $( )",
            format!("X=$(cat <<EOF\nMAKEFLAGS=-j99\nEOF\n)\n{b}"),
            Edited,
        ),
    ]
}

#[test]
fn each_construct_is_edited_as_bash_reads_or_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.inc");
    std::fs::write(&other, "MAKEFLAGS=-j17\n").unwrap();
    let mut failures = Vec::new();
    for (name, text, outcome) in constructs(&other) {
        std::fs::write(&other, "MAKEFLAGS=-j17\n").unwrap();
        let conf = dir.path().join("makepkg.conf");
        std::fs::write(&conf, &text).unwrap();
        let before = bash_vars(&[&conf]);
        let r = run(&conf, &["add-host", HELPER, "--yes"]);
        let now = std::fs::read_to_string(&conf).unwrap();
        match outcome {
            Outcome::Edited => {
                if r.code != 0 {
                    failures.push(format!("{name}: exit {}: {}", r.code, r.stderr));
                    continue;
                }
                assert_added(name, &before, &bash_vars(&[&conf]));
            }
            Outcome::Refused(says) => {
                if r.code != 2 || now != text || !r.stderr.contains(says) {
                    failures.push(format!(
                        "{name}: exit {}, file {}, stderr: {}",
                        r.code,
                        if now == text { "untouched" } else { "CHANGED" },
                        r.stderr
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_refusal_names_the_line_bash_took_the_value_from() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let text = format!("pin() {{\n  MAKEFLAGS=\"-j1\"\n}}\n{BASE}pin\n");
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("bash sets it at {}:2", conf.display())),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

/// A config whose function, called last, sets all three values: every edit command is
/// refused, because bash reads the function's values whatever the edit writes above it.
const PINNED: &str = "BUILDENV=(distcc color)\nDISTCC_HOSTS=\"localhost/2 127.0.0.2:3632/4\"\n\
MAKEFLAGS=\"-j6\"\npin() { BUILDENV=(distcc color); DISTCC_HOSTS=\"localhost/2 127.0.0.2:3632/4\"; \
MAKEFLAGS=\"-j6\"; }\npin\n";

#[test]
fn every_edit_command_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    for args in [
        vec!["add-host", HELPER],
        vec!["remove-host", "127.0.0.2:3632"],
        vec!["set-local", "3"],
        vec!["disable"],
        vec!["sort"],
    ] {
        std::fs::write(&conf, PINNED).unwrap();
        assert_left_alone(&conf, &args, 2, "bash would read something else");
    }
    // enable: the function turns distcc off again after the edit.
    let off = PINNED
        .replacen("BUILDENV=(distcc", "BUILDENV=(!distcc", 2)
        .replace("pin\n", "")
        + "pin\n";
    std::fs::write(&conf, &off).unwrap();
    let r = run(&conf, &["enable", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), off);
}

#[test]
fn a_drop_in_is_checked_against_the_layers_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(&conf, fixture_text("alarm-aarch64-stock.conf")).unwrap();
    let d = dir.path().join("makepkg.conf.d");
    std::fs::create_dir(&d).unwrap();
    // Read after distcc.conf: its MAKEFLAGS wins over the drop-in's.
    std::fs::write(d.join("zz-local.conf"), "pin() { MAKEFLAGS=-j1; }\npin\n").unwrap();
    let r = run(&conf, &["--drop-in", "add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("zz-local.conf:1"), "{}", r.stderr);
    assert!(!d.join("distcc.conf").exists());
    // Without the later layer the drop-in is written, and bash reads it as intended.
    std::fs::remove_file(d.join("zz-local.conf")).unwrap();
    let before = bash_vars(&[&conf]);
    let r = run(&conf, &["--drop-in", "add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_added(
        "drop-in",
        &before,
        &bash_vars(&[&conf, &d.join("distcc.conf")]),
    );
}

fn fixture_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

#[test]
fn edits_that_change_nothing_bash_reads_write_nothing() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    for args in [vec!["set-local", "0"], vec!["disable"]] {
        assert_left_alone(&conf, &args, 0, "nothing to change");
    }
    // A host that is not listed: a typo, refused (exit 2), the file left as it is.
    assert_left_alone(
        &conf,
        &["remove-host", "10.9.9.9"],
        2,
        "not in DISTCC_HOSTS",
    );
}

/// `args` with --yes exits with `code`, says `says`, and leaves the file byte-identical.
fn assert_left_alone(conf: &Path, args: &[&str], code: i32, says: &str) {
    let before = std::fs::read(conf).unwrap();
    let mut full = args.to_vec();
    full.push("--yes");
    let r = run(conf, &full);
    assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
    assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    assert_eq!(std::fs::read(conf).unwrap(), before, "{args:?}");
}

#[test]
fn dry_run_reports_the_verdict() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let r = run(&conf, &["--dry-run", "add-host", HELPER]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("checked with bash"), "{}", r.stderr);
    std::fs::write(&conf, PINNED).unwrap();
    let r = run(&conf, &["--dry-run", "add-host", HELPER]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("bash would read something else"),
        "{}",
        r.stderr
    );
    std::fs::write(&conf, &original).unwrap();
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

#[test]
fn without_bash_the_write_is_refused_unless_no_verify() {
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let original = std::fs::read(&conf).unwrap();
    let without_bash = |extra: &[&str]| {
        let out = bin()
            .env("ALARM_DISTCC_BASH", "/nonexistent/bash")
            .arg("--config")
            .arg(&conf)
            .args(["add-host", HELPER, "--yes"])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = without_bash(&[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("bash could not be run"), "{err}");
    assert!(err.contains("--no-verify"), "{err}");
    assert_eq!(std::fs::read(&conf).unwrap(), original);
    let (code, err) = without_bash(&["--no-verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("not checked with bash"), "{err}");
    assert!(distcc_on(&bash_vars(&[&conf])));
}

#[test]
fn a_config_that_takes_too_long_is_refused_in_bounded_time() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    // The background sleep holds bash's output open: it must be killed with bash.
    let text = format!("{BASE}sleep 30 &\nsleep 30\n");
    std::fs::write(&conf, &text).unwrap();
    let started = Instant::now();
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("did not finish"), "{}", r.stderr);
    assert!(r.stderr.contains("--no-verify"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}

/// A job the config leaves in the background holds none of the check's files: the check
/// ends when bash does (not at its time bound), and the job ends with it.
#[test]
fn a_job_the_config_leaves_running_neither_holds_up_the_check_nor_outlives_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    // A duration no other process here sleeps for, so that it can be found afterwards.
    let marker = "31.4159";
    let text = format!("sleep {marker} &\n{BASE}");
    std::fs::write(&conf, &text).unwrap();
    let started = Instant::now();
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        took < Duration::from_millis(1500),
        "the check waited for the config's job: {took:?}"
    );
    let sleeping = || processes_ending_with(&["sleep", marker]);
    let left = sleeping();
    assert!(left.is_empty(), "still running: {left:?}");
    // Read by bash, whose own job is then stopped.
    let vars = bash_vars(&[&conf]);
    for pid in sleeping() {
        // SAFETY: kill has no memory preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    assert!(vars["DISTCC_HOSTS"].contains(HELPER), "{vars:?}");
}

/// As root, bash runs as SUDO_USER (or nobody), as makepkg would: never as root.
#[test]
fn bash_runs_as_the_user_not_root() {
    if !is_root() {
        skip(
            "bash_runs_as_the_user_not_root",
            "needs root to switch users",
        );
        return;
    }
    ensure_build_user();
    let dir = tempfile::tempdir().unwrap();
    // A folder only root can enter: bash gets the text itself, not the path.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let conf = dir.path().join("makepkg.conf");
    for (sudo_user, who) in [(None, "nobody"), (Some(BUILD_USER), BUILD_USER)] {
        // Read as anyone else, the rest of the file is skipped and the edit refused.
        let text = format!("[[ $(id -un) == {who} ]] || return 0\n{BASE}");
        std::fs::write(&conf, &text).unwrap();
        let mut cmd = bin();
        if let Some(u) = sudo_user {
            cmd.env("SUDO_USER", u);
        }
        let out = cmd
            .arg("--config")
            .arg(&conf)
            .args(["add-host", HELPER, "--yes"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{who}: {err}");
    }
    // And never as root: the same test for root refuses.
    let text = format!("[[ $(id -u) == 0 ]] || return 0\n{BASE}");
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["add-host", HELPER, "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// An `exit`, a `return` or a `readonly` before the assignments: the refusal names the file
/// and line where bash stopped reading or refused the assignment, and the file is untouched.
#[test]
fn a_refusal_names_where_bash_stopped_or_refused() {
    let stock = fixture_text("alarm-aarch64-stock.conf");
    let mut lines: Vec<&str> = stock.lines().collect();
    let cases = [
        ("return 0", "at line 20 (`return 0`)"),
        (
            "[[ -n $HOME ]] && return",
            "at line 20 (`[[ -n $HOME ]] && return`)",
        ),
        ("exit 0", "at line 20 (`exit 0`)"),
        (
            "readonly BUILDENV DISTCC_HOSTS",
            "BUILDENV: readonly variable",
        ),
    ];
    for (line, says) in cases {
        lines.insert(19, line);
        let text = lines.join("\n") + "\n";
        lines.remove(19);
        let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
        std::fs::write(&conf, &text).unwrap();
        let r = run(&conf, &["--yes", "add-host", HELPER]);
        assert_eq!(r.code, 2, "{line}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(says), "{line}: {}", r.stderr);
        assert!(
            r.stderr.contains(&conf.display().to_string()),
            "{line}: {}",
            r.stderr
        );
        if line.starts_with("readonly") {
            assert!(r.stderr.contains(": line "), "{}", r.stderr);
        }
        assert_eq!(
            std::fs::read_to_string(&conf).unwrap(),
            text,
            "{line}: written"
        );
    }
}
