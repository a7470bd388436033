//! The probe predicts the compiler name this machine's distcc client really sends: distcc
//! rewrites gcc to `<its triple>-gcc` only when that name is on PATH. Tested both ways with
//! the real distcc client's own triple (`distcc --version`), on a config for this machine's
//! architecture (on another architecture the config's CHOST names are used, and said).

mod common;

use common::*;
use std::path::Path;

fn decisive_names(conf: &Path, path: &std::ffi::OsStr) -> (Vec<String>, String) {
    let out = bin()
        .env("PATH", path)
        .arg("--config")
        .arg(conf)
        .args(["probe", "127.0.0.1:1", "--timeout", "1", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let names = v["hosts"][0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["decisive"] == true)
        .map(|a| a["compiler"].as_str().unwrap().to_string())
        .collect();
    (names, v["names_sent"].as_str().unwrap_or("").to_string())
}

#[test]
fn the_name_sent_follows_the_triple_on_path() {
    let Some(distcc) = which("distcc") else {
        return skip(
            "the_name_sent_follows_the_triple_on_path",
            "distcc is not installed",
        );
    };
    let version = String::from_utf8_lossy(
        &std::process::Command::new(&distcc)
            .arg("--version")
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    // distcc 3.4 drops -pc- from its own triple before the rewrite.
    let triple = version
        .split_whitespace()
        .nth(2)
        .unwrap()
        .replace("-pc-", "-");
    // The config is for the client's own architecture (the Pi's own client).
    let carch = match triple.split('-').next().unwrap() {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        "arm" | "armv7l" => "armv7h",
        other => return not_on_this_arch("sent_names", &format!("no CARCH for {other}")),
    };
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        format!("CARCH=\"{carch}\"\nCHOST=\"{triple}\"\nBUILDENV=(distcc)\n"),
    )
    .unwrap();
    // PATH with distcc only: no `<triple>-gcc`, so the client sends plain gcc.
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(&distcc, bin_dir.join("distcc")).unwrap();
    let (names, why) = decisive_names(&conf, bin_dir.as_os_str());
    assert_eq!(names[0], "gcc", "{names:?} {why}");
    assert!(why.contains("sends plain gcc"), "{why}");
    // With the triple name on PATH (as ALARM's gcc has it), the rewritten name is sent.
    let target = which("gcc").unwrap();
    std::os::unix::fs::symlink(&target, bin_dir.join(format!("{triple}-gcc"))).unwrap();
    let (names, why) = decisive_names(&conf, bin_dir.as_os_str());
    assert_eq!(names[0], format!("{triple}-gcc"), "{names:?} {why}");
    assert!(why.contains("rewrites gcc"), "{why}");
}

#[test]
fn another_architectures_config_uses_its_chost() {
    let conf = fixture("alarm-aarch64-stock.conf");
    if toolchain_carch() == "aarch64" {
        return not_on_this_arch(
            "another_architectures_config_uses_its_chost",
            "this machine's distcc is aarch64's",
        );
    }
    let (names, why) = decisive_names(&conf, &std::env::var_os("PATH").unwrap());
    assert_eq!(names[0], "aarch64-unknown-linux-gnu-gcc", "{names:?}");
    assert!(why.contains("taken from CHOST"), "{why}");
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
