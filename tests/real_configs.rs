//! Reading real configs right: the per-user `BUILDENV=("${BUILDENV[@]}" ...)` idiom, files
//! sourced at top level, functions defined but not called, template placeholders. Real bash
//! says what makepkg reads after each edit.

mod common;

use common::*;
use std::path::Path;

/// A main config (with its drop-in folder) in a temp folder, read as makepkg 7.1 would.
fn tree(main: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(&conf, main).unwrap();
    std::fs::create_dir(dir.path().join("makepkg.conf.d")).unwrap();
    (dir, conf)
}

fn distcc_on(files: &[&Path]) -> bool {
    let vars = bash_vars(files);
    array_values(&vars["BUILDENV"])
        .iter()
        .rev()
        .find(|e| *e == "distcc" || *e == "!distcc")
        .is_some_and(|e| e == "distcc")
}

#[test]
fn a_later_layer_that_extends_buildenv_inherits_distcc() {
    let (dir, conf) = tree("BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"127.0.0.2:3632/4\"\n");
    let user = dir.path().join("makepkg.conf.d/user.conf");
    std::fs::write(&user, "BUILDENV=(\"${BUILDENV[@]}\" ccache)\n").unwrap();
    let r = run(&conf, &["show"]);
    assert!(r.stdout.contains("distcc:       off  ("), "{}", r.stdout);
    let r = run(&conf, &["enable", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(distcc_on(&[&conf, &user]));
    let r = run(&conf, &["show"]);
    assert!(r.stdout.contains("distcc:       on  ("), "{}", r.stdout);
    // The entry ahead of the inherited ones loses to theirs: show says so, enable fixes it.
    std::fs::write(
        &conf,
        "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"127.0.0.2:3632/4\"\n",
    )
    .unwrap();
    std::fs::write(&user, "BUILDENV=(distcc \"${BUILDENV[@]}\" ccache)\n").unwrap();
    let r = run(&conf, &["show"]);
    assert!(r.stdout.contains("distcc:       off  ("), "{}", r.stdout);
    let r = run(&conf, &["enable", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(distcc_on(&[&conf, &user]));
}

#[test]
fn a_sourced_file_is_a_layer_shown_and_edited_in_place() {
    let (dir, conf) = tree("");
    let helpers = dir.path().join("helpers.inc");
    std::fs::write(
        &helpers,
        "DISTCC_HOSTS=\"127.0.0.5:3632/4\"\nMAKEFLAGS=\"-j4\"\n",
    )
    .unwrap();
    std::fs::write(
        &conf,
        format!("BUILDENV=(distcc color)\nsource {}\n", helpers.display()),
    )
    .unwrap();
    let r = run(&conf, &["show"]);
    assert!(
        r.stdout.contains(&format!(
            "DISTCC_HOSTS: \"127.0.0.5:3632/4\"  ({}:1)",
            helpers.display()
        )),
        "{}",
        r.stdout
    );
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("wrote {}", helpers.display())),
        "{}",
        r.stderr
    );
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "127.0.0.5:3632/4 127.0.0.9:3632/4"
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    // No redundant BUILDENV line: distcc is on already.
    assert!(
        !std::fs::read_to_string(&helpers)
            .unwrap()
            .contains("BUILDENV")
    );
}

#[test]
fn a_sourced_file_bash_overrides_is_named_in_the_refusal() {
    let (dir, conf) = tree("");
    let helpers = dir.path().join("helpers.inc");
    std::fs::write(&helpers, "DISTCC_HOSTS=\"127.0.0.5:3632/4\"\n").unwrap();
    // The main file sets the list after sourcing: the sourced value never counts.
    let text = format!(
        "BUILDENV=(distcc color)\nMAKEFLAGS=\"-j4\"\n. {}\nDISTCC_HOSTS=\"127.0.0.6:3632/4\"\n",
        helpers.display()
    );
    std::fs::write(&conf, &text).unwrap();
    let before = std::fs::read(&helpers).unwrap();
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    // The static reading puts the sourced file after the main one, so the edit would start
    // there; bash reads the main file's later line: refused before planning, naming both.
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("{}:1: nothing written", helpers.display())),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains(&format!("bash sets it at {}:4", conf.display())),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
    assert_eq!(std::fs::read(&helpers).unwrap(), before);
}

#[test]
fn a_function_never_called_does_not_block_the_edit() {
    let text = "pin() {\n  MAKEFLAGS=\"-j1\"\n}\nBUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\n";
    let (_dir, conf) = tree(text);
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j4");
}

#[test]
fn a_template_placeholder_is_no_architecture() {
    let (_dir, conf) = tree("CARCH=\"@CARCH@\"\nBUILDENV=(!distcc color)\n");
    let r = run(&conf, &["--dry-run", "add-host", "127.0.0.9"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("@CARCH@"), "{}", r.stderr);
    let r = run(&conf, &["doctor", "--offline"]);
    assert!(!r.stdout.contains("@CARCH@"), "{}", r.stdout);
}

#[test]
fn each_name_of_an_export_line_is_a_plain_assignment() {
    let text = "BUILDENV=(distcc color)\nDISTCC_HOSTS=\"127.0.0.5:3632/4\"\nexport A=1 MAKEFLAGS=\"-j4\"\n";
    let (_dir, conf) = tree(text);
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        std::fs::read_to_string(&conf)
            .unwrap()
            .ends_with("export A=1 MAKEFLAGS=\"-j8\"\n")
    );
    let vars = bash_vars(&[&conf]);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    assert_eq!(scalar_value(&vars["A"]), "1");
}

/// A file sourced by a computed path is not a layer the tool edits: bash reads it from disk,
/// and the refusal names it and its line.
#[test]
fn a_sourced_file_the_tool_does_not_edit_is_named() {
    let (dir, conf) = tree("");
    // Readable by whoever bash runs as (nobody, under root).
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let pin = dir.path().join("pin.inc");
    std::fs::write(&pin, "MAKEFLAGS=\"-j1\"\n").unwrap();
    std::fs::set_permissions(&pin, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let text = format!(
        "BUILDENV=(!distcc color)\nDISTCC_HOSTS=\"\"\nMAKEFLAGS=\"-j2\"\nsource \"{}/${{X:-pin}}.inc\"\n",
        dir.path().display()
    );
    std::fs::write(&conf, &text).unwrap();
    let r = run(&conf, &["add-host", "127.0.0.9:3632/4", "--yes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("bash sets it at {}:1", pin.display())),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), text);
}
