//! The Arch way: config layers and drop-ins, helper-side setup, completions, man page,
//! PKGBUILD.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        Tree { _dir: dir, root }
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn main(&self) -> PathBuf {
        self.root.join("etc/makepkg.conf")
    }

    /// The binary with this tree's main file as makepkg's default and its own home.
    fn bin(&self, args: &[&str]) -> (i32, String, String) {
        let out = bin()
            .env("ALARM_DISTCC_DEFAULT_CONF", self.main())
            .env("HOME", self.root.join("home"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn layered_tree() -> Tree {
    let t = Tree::new();
    std::fs::create_dir_all(t.root.join("etc")).unwrap();
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), t.main()).unwrap();
    t.write(
        "etc/makepkg.conf.d/rust.conf",
        "#RUSTFLAGS=\"-C opt-level=2\"\n",
    );
    t.write("etc/makepkg.conf.d/zz-local.conf", "MAKEFLAGS=\"-j16\"\n");
    t.write("etc/makepkg.conf.d/not-a-conf.txt", "MAKEFLAGS=\"-j99\"\n");
    t.write(
        "home/.config/pacman/makepkg.conf",
        "DISTCC_HOSTS=\"10.0.0.9/8\"\nBUILDENV+=(distcc)\n",
    );
    t
}

#[test]
fn show_resolves_every_layer_with_its_source() {
    let t = layered_tree();
    let (code, out, err) = t.bin(&["show", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let files: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files[1].ends_with("rust.conf") && files[2].ends_with("zz-local.conf"));
    assert!(files[3].ends_with("home/.config/pacman/makepkg.conf"));
    assert_eq!(v["hosts"]["value"], "10.0.0.9/8");
    assert!(
        v["hosts"]["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("pacman/makepkg.conf")
    );
    assert_eq!(v["makeflags"]["jobs"], 16);
    assert!(
        v["makeflags"]["source"]["file"]
            .as_str()
            .unwrap()
            .ends_with("zz-local.conf")
    );
    assert_eq!(v["distcc"]["enabled"], true);

    // The same values bash gets by sourcing the files in makepkg's order.
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let vars = bash_vars(&refs);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j16");
    assert_eq!(scalar_value(&vars["DISTCC_HOSTS"]), "10.0.0.9/8");

    // A non-default main file: makepkg skips the user file.
    let other = t.root.join("other.conf");
    std::fs::copy(t.main(), &other).unwrap();
    let (_, out, _) = t.bin(&["--config", other.to_str().unwrap(), "show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 1);

    // XDG_CONFIG_HOME wins over ~/.makepkg.conf; without an XDG file, ~/.makepkg.conf counts.
    t.write("home/.makepkg.conf", "DISTCC_HOSTS=\"10.0.0.7/2\"\n");
    let (_, out, _) = t.bin(&["show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hosts"]["value"], "10.0.0.9/8");
    std::fs::remove_file(t.root.join("home/.config/pacman/makepkg.conf")).unwrap();
    let (_, out, _) = t.bin(&["show", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["hosts"]["value"], "10.0.0.7/2");
    let xdg = t.write("xdg/pacman/makepkg.conf", "DISTCC_HOSTS=\"10.0.0.5/3\"\n");
    let out = bin()
        .env("ALARM_DISTCC_DEFAULT_CONF", t.main())
        .env("HOME", t.root.join("home"))
        .env("XDG_CONFIG_HOME", xdg.parent().unwrap().parent().unwrap())
        .args(["show", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"]["value"], "10.0.0.5/3");
}

/// An edit goes to the file whose value makepkg ends up using, and says so.
#[test]
fn edits_go_to_the_layer_makepkg_takes_the_value_from() {
    let t = layered_tree();
    let (code, _, err) = t.bin(&["add-host", "10.0.0.3:3632/2", "--yes"]);
    assert_eq!(code, 0, "{err}");
    let user = t.root.join("home/.config/pacman/makepkg.conf");
    assert!(
        err.contains(&format!("note: editing {}", user.display())),
        "{err}"
    );
    let text = std::fs::read_to_string(&user).unwrap();
    assert!(
        text.starts_with("DISTCC_HOSTS=\"10.0.0.9/8 10.0.0.3:3632/2\"\n"),
        "{text}"
    );
    // What makepkg reads after every layer: the new host is in, -j is the total.
    let main = std::fs::read_to_string(t.main()).unwrap();
    assert!(
        main.contains("#DISTCC_HOSTS=\"\""),
        "main untouched: {main}"
    );
    let files = [
        t.main(),
        t.root.join("etc/makepkg.conf.d/rust.conf"),
        t.root.join("etc/makepkg.conf.d/zz-local.conf"),
        user.clone(),
    ];
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let vars = bash_vars(&refs);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "10.0.0.9/8 10.0.0.3:3632/2"
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j10");
    // enable/disable go to the file that decides BUILDENV's distcc: the user file too.
    let (code, _, err) = t.bin(&["disable", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read_to_string(&user)
            .unwrap()
            .contains("BUILDENV+=(!distcc)")
    );
}

/// An edit goes where makepkg reads it: a later drop-in that sets MAKEFLAGS would override
/// the main file, so the edit goes to that drop-in (named in a note and in the diff), and
/// bash reads the intended values. --drop-in would write a file that sorts before it: refused
/// with the command that works.
#[test]
fn an_edit_goes_to_the_later_layer_that_would_override_it() {
    let t = Tree::new();
    std::fs::create_dir_all(t.root.join("etc")).unwrap();
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), t.main()).unwrap();
    let original = std::fs::read(t.main()).unwrap();
    let local = t.root.join("etc/makepkg.conf.d/zz-local.conf");
    t.write("etc/makepkg.conf.d/zz-local.conf", "MAKEFLAGS=\"-j16\"\n");
    let (code, _, err) = t.bin(&["add-host", "10.0.0.3:3632/2", "--yes", "--drop-in"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("zz-local.conf is read after") && err.contains("leave out --drop-in"),
        "{err}"
    );
    assert!(!t.root.join("etc/makepkg.conf.d/distcc.conf").exists());
    let (code, out, err) = t.bin(&["add-host", "10.0.0.3:3632/2", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("editing")
            && err.contains("zz-local.conf: makepkg takes MAKEFLAGS from it")
            && err.contains("so what this edit writes goes there"),
        "{err}"
    );
    assert!(
        out.contains("+++ ") && out.contains("zz-local.conf"),
        "{out}"
    );
    assert_eq!(std::fs::read(t.main()).unwrap(), original);
    let vars = bash_vars(&[&t.main(), &local]);
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j2");
    assert!(scalar_value(&vars["DISTCC_HOSTS"]).contains("10.0.0.3:3632/2"));
    assert!(array_values(&vars["BUILDENV"]).contains(&"distcc".to_string()));
    // Removing the host changes only DISTCC_HOSTS (and -j): no word of BUILDENV.
    let (code, _, err) = t.bin(&["remove-host", "10.0.0.3", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("BUILDENV"), "{err}");
}

#[test]
fn drop_in_keeps_the_main_file_stock() {
    let t = Tree::new();
    std::fs::create_dir_all(t.root.join("etc")).unwrap();
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), t.main()).unwrap();
    let main = t.main();
    let original = std::fs::read(&main).unwrap();
    let cfg = main.to_str().unwrap();
    let (code, out, _) = t.bin(&["--config", cfg, "--drop-in", "--dry-run", "set-local", "2"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("--- /dev/null"), "{out}");
    assert!(
        !t.root.join("etc/makepkg.conf.d").exists(),
        "dry run created nothing"
    );
    for args in [["set-local", "2"], ["add-host", "192.168.1.100:3636/6"]] {
        let (code, _, err) = t.bin(&["--config", cfg, args[0], args[1], "--drop-in", "--yes"]);
        assert_eq!(code, 0, "{err}");
    }
    assert_eq!(
        std::fs::read(&main).unwrap(),
        original,
        "main file untouched"
    );
    let drop_in = t.root.join("etc/makepkg.conf.d/distcc.conf");
    let text = std::fs::read_to_string(&drop_in).unwrap();
    assert!(
        text.starts_with("# distcc settings for makepkg, written by alarm-distcc."),
        "{text}"
    );
    assert!(text.contains("BUILDENV+=(distcc)\n"), "{text}");
    let vars = bash_vars(&[&main, &drop_in]);
    let buildenv = array_values(&vars["BUILDENV"]);
    assert_eq!(
        buildenv
            .iter()
            .rev()
            .find(|e| e.contains("distcc"))
            .unwrap(),
        "distcc"
    );
    assert_eq!(
        buildenv[1..],
        ["color", "!ccache", "check", "!sign", "distcc"][..buildenv.len() - 1]
    );
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "192.168.1.100:3636/6 localhost/2"
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    // makepkg's other defaults from the main file survive.
    assert_eq!(scalar_value(&vars["CARCH"]), "aarch64");
}

#[test]
fn drop_in_starts_from_the_main_files_hosts() {
    let t = Tree::new();
    t.write(
        "etc/makepkg.conf",
        "BUILDENV=(distcc color)\nDISTCC_HOSTS=\"10.0.0.2/6\"\nMAKEFLAGS=\"-j6 -O line\"\n",
    );
    let cfg = t.main();
    let (code, _, err) = t.bin(&[
        "--config",
        cfg.to_str().unwrap(),
        "--drop-in",
        "add-host",
        "10.0.0.3:3632/2",
        "-y",
    ]);
    assert_eq!(code, 0, "{err}");
    let vars = bash_vars(&[&cfg, &t.root.join("etc/makepkg.conf.d/distcc.conf")]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "10.0.0.2/6 10.0.0.3:3632/2"
    );
    assert_eq!(
        scalar_value(&vars["MAKEFLAGS"]),
        "-j8 -O line",
        "the main file's other flags survive"
    );
}

fn helper(conf: &Path, args: &[&str]) -> (i32, String, String) {
    let r = run(conf, &[&["helper"], args].concat());
    (r.code, r.stdout, r.stderr)
}

fn bash_syntax_ok(script: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.sh");
    std::fs::write(&f, script).unwrap();
    Command::new("bash")
        .arg("-n")
        .arg(&f)
        .status()
        .unwrap()
        .success()
}

#[test]
fn helper_script_and_conf_for_each_arch() {
    let aarch64 = fixture("alarm-aarch64-stock.conf");
    let (code, script, err) = helper(&aarch64, &["--allow", "192.168.1.50"]);
    assert_eq!(code, 0, "{err}");
    assert!(bash_syntax_ok(&script), "{script}");
    assert!(script.contains("TOOLCHAIN=/opt/x-tools8/aarch64-unknown-linux-gnu/bin\n"));
    // distccd-alarm's gcc behind the wrapper that fails unlinkable objects, first on PATH.
    assert!(script.contains("export PATH=$HELPER_DIR/bin:$TOOLCHAIN:$PATH"));
    assert!(script.contains(
        "write_gcc_wrapper \"$TOOLCHAIN/aarch64-unknown-linux-gnu-gcc\" \"$nm\" \"$HELPER_DIR/bin/aarch64-unknown-linux-gnu-gcc\""
    ));
    assert!(script.contains("--allow 192.168.1.50"));
    assert!(script.contains("--port 3636"));
    assert!(script.contains("distccd --daemon --no-detach"));
    assert!(!script.contains("enable-tcp-insecure") && !script.contains("make-me-a-botnet"));
    assert!(err.is_empty(), "a private address does not warn: {err}");

    let armv7h = fixture("indented-folds.conf"); // CARCH="armv7h"
    let (code, script, _) = helper(&armv7h, &["--allow", "10.0.0.0/24", "--jobs", "6"]);
    assert_eq!(code, 0);
    assert!(bash_syntax_ok(&script));
    assert!(script.contains("/opt/x-tools7h/arm-unknown-linux-gnueabihf/bin"));
    assert!(script.contains("--port 3635") && script.contains("--jobs 6"));

    // Debian/Ubuntu helpers: apt-get, Debian's cross gcc behind ALARM's names, a whitelist
    // of exactly those names, and plain words about the gcc version.
    let (code, script, _) = helper(&armv7h, &["--distro", "debian", "--allow", "10.0.0.2"]);
    assert_eq!(code, 0);
    assert!(bash_syntax_ok(&script), "{script}");
    for needle in [
        "apt-get install -y",
        "gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf",
        "TOOLCHAIN=/usr/bin\n",
        "armv7l-unknown-linux-gnueabihf-$tool",
        "export DISTCC_CMDLIST=",
        "its version differs",
        "--port 3635",
    ] {
        assert!(script.contains(needle), "missing {needle}: {script}");
    }
    assert!(!script.contains("pacman"), "{script}");
    let (code, script, _) = helper(
        &armv7h,
        &["--toolchain", "/home/me/x tools/bin", "--allow", "10.0.0.2"],
    );
    assert_eq!(code, 0);
    assert!(
        script.contains("TOOLCHAIN='/home/me/x tools/bin'\n"),
        "{script}"
    );
    let (code, _, err) = helper(
        &armv7h,
        &[
            "--distro", "debian", "--format", "conf", "--allow", "10.0.0.2",
        ],
    );
    assert_eq!(code, 2, "{err}");
    // WSL2 NAT: the script allows Windows' address on the WSL switch, which is where the
    // forwarded connections come from.
    assert!(script.contains("WSL2") && script.contains("ALLOW+=(--allow \"$gateway\")"));

    let (code, conf, _) = helper(
        &aarch64,
        &[
            "--format",
            "conf",
            "--arch",
            "armv7h",
            "--allow",
            "192.168.1.50",
        ],
    );
    assert_eq!(code, 0);
    assert!(bash_syntax_ok(&conf));
    assert!(conf.contains("DISTCC_ARGS=\"--allow 192.168.1.50 --log-level info"));
    assert!(conf.contains("systemctl enable --now distccd-armv7h.service"));
    assert!(conf.contains("alarm-distcc probe"), "{conf}");

    let (code, _, err) = helper(&aarch64, &["--allow", "0.0.0.0/0"]);
    assert_eq!(code, 0);
    assert!(err.contains("beyond a private network"), "{err}");
    let (code, _, err) = helper(&aarch64, &["--allow", "not-an-address"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = helper(
        &fixture("pacman-stock-defaults-comment.conf"),
        &["--allow", "10.0.0.2"],
    );
    assert_eq!(code, 2, "x86_64 has no distccd-alarm port: {err}");
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let bin_path = env!("CARGO_BIN_EXE_alarm-distcc");
    let out = Command::new("bash")
        .args([
            "--norc",
            "-c",
            &format!("source <('{bin_path}' completions bash) && complete -p alarm-distcc"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("alarm-distcc"));
    for shell in ["zsh", "fish"] {
        let out = Command::new(bin_path)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stdout.len() > 200, "{shell}");
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("alarm-distcc.1");
    let roff = Command::new(bin_path).arg("man").output().unwrap().stdout;
    std::fs::write(&page, &roff).unwrap();
    let text = String::from_utf8_lossy(&roff);
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH OPTIONS",
        ".SH COMMANDS",
    ] {
        assert!(text.contains(section), "missing {section}");
    }
    if Path::new("/usr/bin/man").exists() {
        let out = Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let rendered = String::from_utf8_lossy(&out.stdout);
        assert!(
            rendered.contains("add-host") && rendered.contains("NAME"),
            "{rendered}"
        );
    }
}

/// The real makepkg reads the recipe (as an unprivileged user: makepkg refuses root).
#[test]
fn pkgbuild_passes_the_real_makepkg_printsrcinfo() {
    if !Command::new("bash")
        .args(["-c", "command -v makepkg && command -v pacman"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip(
            "makepkg --printsrcinfo",
            "makepkg or pacman is not installed",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        manifest_dir().join("packaging/PKGBUILD"),
        dir.path().join("PKGBUILD"),
    )
    .unwrap();
    if is_root() {
        ensure_build_user();
        assert!(
            Command::new("chown")
                .args(["-R", BUILD_USER])
                .arg(dir.path())
                .status()
                .unwrap()
                .success()
        );
    }
    let out = as_build_user(
        "makepkg",
        &[
            ("PATH", "/usr/bin:/bin".to_string()),
            ("HOME", dir.path().display().to_string()),
        ],
    )
    .arg("--printsrcinfo")
    .current_dir(dir.path())
    .output()
    .unwrap();
    let srcinfo = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{srcinfo}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = cargo_version();
    for line in [
        "pkgbase = alarm-distcc".to_string(),
        format!("\tpkgver = {version}"),
        "\tpkgrel = 1".to_string(),
        "\tarch = aarch64".to_string(),
        "\tarch = armv7h".to_string(),
        "\tlicense = MIT".to_string(),
        "\tmakedepends = cargo".to_string(),
        "\toptdepends = distcc: the compiler this tool configures".to_string(),
        format!("\tsource = alarm-distcc-{version}.tar.gz"),
        "pkgname = alarm-distcc".to_string(),
    ] {
        assert!(
            srcinfo.lines().any(|l| l == line),
            "missing `{line}`:\n{srcinfo}"
        );
    }
}

fn cargo_version() -> String {
    let cargo_toml = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    cargo_toml
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"')
        .to_string()
}

#[test]
fn pkgbuild_is_valid_bash_with_the_right_fields() {
    let pkgbuild = manifest_dir().join("packaging/PKGBUILD");
    assert!(
        Command::new("bash")
            .arg("-n")
            .arg(&pkgbuild)
            .status()
            .unwrap()
            .success()
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", r#"source "$1"; echo "$pkgname|$pkgver|${arch[*]}|${license[*]}|${makedepends[*]}"; declare -F | awk '{print $3}' | sort | tr '\n' ' '; declare -f build package"#, "x"])
        .arg(&pkgbuild)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let version = cargo_version();
    assert!(
        text.starts_with(&format!(
            "alarm-distcc|{version}|aarch64 armv7h x86_64|MIT|cargo"
        )),
        "{text}"
    );
    assert!(text.contains("build check package prepare"), "{text}");
    for needle in [
        "--locked",
        "--frozen",
        "completions bash",
        "man >",
        "/usr/bin/alarm-distcc",
        "licenses/$pkgname/LICENSE",
    ] {
        assert!(
            text.contains(needle) || std::fs::read_to_string(&pkgbuild).unwrap().contains(needle),
            "{needle}"
        );
    }
}

#[test]
fn under_sudo_the_invoking_users_file_counts() {
    let is_root = is_root();
    let t = layered_tree();
    let alice = t.root.join("alice");
    t.write(
        "alice/.config/pacman/makepkg.conf",
        "DISTCC_HOSTS=\"10.0.0.42/6\"\n",
    );
    let passwd = t.write(
        "passwd",
        &format!(
            "root:x:0:0::/root:/bin/bash\nalice:x:1000:1000::{}:/bin/bash\n",
            alice.display()
        ),
    );
    let out = bin()
        .env("ALARM_DISTCC_DEFAULT_CONF", t.main())
        .env("HOME", t.root.join("home")) // root's own home, with its own user file
        .env("SUDO_USER", "alice")
        .env("ALARM_DISTCC_PASSWD", &passwd)
        .args(["show", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = v["files"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    if is_root {
        assert!(last.starts_with(alice.to_str().unwrap()), "{last}");
        assert_eq!(v["hosts"]["value"], "10.0.0.42/6");
    } else {
        // Not under sudo: SUDO_USER means nothing and HOME's file counts.
        assert!(last.contains("/home/.config/pacman/"), "{last}");
    }
}

#[test]
fn a_new_drop_in_is_read_before_the_user_file_whatever_their_names() {
    // The home folder sorts before /etc-like paths by name; makepkg still reads it last.
    let t = Tree::new();
    std::fs::create_dir_all(t.root.join("etc")).unwrap();
    std::fs::copy(fixture("alarm-aarch64-stock.conf"), t.main()).unwrap();
    t.write(
        "aaa-home/.config/pacman/makepkg.conf",
        "DISTCC_HOSTS=\"10.0.0.9/8\"\n",
    );
    let out = bin()
        .env("ALARM_DISTCC_DEFAULT_CONF", t.main())
        .env("HOME", t.root.join("aaa-home"))
        .args(["--drop-in", "add-host", "10.0.0.3:3632/2", "--yes"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // bash reads the user file last, so the drop-in's list would never be used: refused,
    // with the command that works.
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("aaa-home/.config/pacman/makepkg.conf is read after")
            && err.contains("leave out --drop-in"),
        "{err}"
    );
    assert!(!t.root.join("etc/makepkg.conf.d/distcc.conf").exists());
    // Without --drop-in the edit goes to the user file, which makepkg reads last.
    let out = bin()
        .env("ALARM_DISTCC_DEFAULT_CONF", t.main())
        .env("HOME", t.root.join("aaa-home"))
        .args(["add-host", "10.0.0.3:3632/2", "--yes"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let user = t.root.join("aaa-home/.config/pacman/makepkg.conf");
    let vars = bash_vars(&[&t.main(), &user]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        "10.0.0.9/8 10.0.0.3:3632/2"
    );
}
