//! Shapes that once took minutes or gigabytes: each ends on its own, as an edit that bash
//! reads right or a refusal that says why. (Their time and memory are measured in
//! bench/large-files.sh; here they only have to finish.)

mod common;

use common::*;
use std::fmt::Write;

const HEAD: &str = "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\n";

#[test]
fn thirty_two_thousand_appends_are_edited_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let mut text = HEAD.to_string();
    for _ in 0..32_000 {
        text.push_str("MAKEFLAGS+=\" -j2\"\n");
    }
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]).trim(), "-j4");
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let mut text = HEAD.to_string();
    let mut i = 0;
    while text.len() < 16 << 20 {
        let _ = writeln!(text, "V{i}={i}");
        i += 1;
    }
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("over the 1 MiB"), "{}", r.stderr);
}

#[test]
fn a_file_of_many_variables_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    let mut text = HEAD.to_string();
    let mut i = 0;
    while text.len() < (1 << 20) - 64 {
        let _ = writeln!(text, "V{i}={i}");
        i += 1;
    }
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["show"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("variables; a makepkg.conf sets a few dozen"),
        "{}",
        r.stderr
    );
}
