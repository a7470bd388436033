//! The toolchain-drift hook the package ships (packaging/alarm-distcc-toolchain.hook), run
//! by the real pacman: a test root where a package named gcc is installed (no hook: the
//! trigger is Upgrade) and then upgraded (the hook fires, chrooted into the root, where the
//! tool and its libraries are installed with a makepkg.conf that lists a real helper on
//! 127.0.0.1). A helper that no longer matches gets one line with the fix; matching helpers
//! get none; a broken config gets a line, and the transaction succeeds either way.

mod common;

use common::distccd::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct TestRoot {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl TestRoot {
    fn new(makepkg_conf: &str) -> TestRoot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        for d in ["var/lib/pacman", "usr/bin", "etc", "dev", "tmp"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // The tool as the package installs it, with the shared libraries it links (its own
        // architecture's: under qemu-user the tool is ARM, this machine's ldd cannot read it).
        let tool = root.join("usr/bin/alarm-distcc");
        std::fs::copy(env!("CARGO_BIN_EXE_alarm-distcc"), &tool).unwrap();
        for lib in linked_files(&tool) {
            let to = root.join(lib.strip_prefix("/").unwrap());
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&lib, &to).unwrap();
        }
        let null = Command::new("mknod")
            .args(["-m", "666"])
            .arg(root.join("dev/null"))
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(null.success());
        std::fs::write(root.join("etc/makepkg.conf"), makepkg_conf).unwrap();
        let hooks = dir.path().join("hooks");
        std::fs::create_dir(&hooks).unwrap();
        std::fs::copy(
            manifest_dir().join("packaging/alarm-distcc-toolchain.hook"),
            hooks.join("alarm-distcc-toolchain.hook"),
        )
        .unwrap();
        let d = dir.path().display();
        let conf = dir.path().join("pacman.conf");
        std::fs::write(
            &conf,
            format!(
                "[options]\nRootDir = {d}/root\nDBPath = {d}/root/var/lib/pacman\n\
                 CacheDir = {d}/cache\nLogFile = {d}/pacman.log\nGPGDir = {d}/gnupg\n\
                 HookDir = {d}/hooks\nArchitecture = auto\nSigLevel = Never\n\
                 LocalFileSigLevel = Never\n"
            ),
        )
        .unwrap();
        TestRoot { dir, conf }
    }

    /// A package named `name` at `version`, as makepkg would make it (.PKGINFO and a file).
    fn package(&self, name: &str, version: &str) -> PathBuf {
        let tree = self.dir.path().join(format!("tree-{name}-{version}"));
        std::fs::create_dir_all(tree.join("usr/share/dummy")).unwrap();
        std::fs::write(tree.join(format!("usr/share/dummy/{name}")), version).unwrap();
        std::fs::write(
            tree.join(".PKGINFO"),
            format!(
                "pkgname = {name}\npkgbase = {name}\npkgver = {version}-1\npkgdesc = test\n\
                 url = none\nbuilddate = 1\npackager = test\nsize = 1\narch = any\n"
            ),
        )
        .unwrap();
        let file = self
            .dir
            .path()
            .join(format!("{name}-{version}-1-any.pkg.tar"));
        let status = Command::new("bsdtar")
            .arg("-cf")
            .arg(&file)
            .arg("-C")
            .arg(&tree)
            .args([".PKGINFO", "usr"])
            .status()
            .unwrap();
        assert!(status.success());
        file
    }

    /// `pacman -U` of the package file, bounded; (exit code, output).
    fn install(&self, file: &Path) -> (i32, String) {
        let out = Command::new("timeout")
            .arg("120")
            .arg("pacman")
            .arg("--config")
            .arg(&self.conf)
            .args(["-U", "--noconfirm"])
            .arg(file)
            .env("LANG", "C")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }
}

/// The program's ELF interpreter and the libraries it needs, found in its architecture's
/// multiarch folder (readelf reads any architecture's headers).
fn linked_files(program: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(program).unwrap();
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let multiarch = match machine {
        62 => "x86_64-linux-gnu",
        183 => "aarch64-linux-gnu",
        40 => "arm-linux-gnueabihf",
        other => panic!("no multiarch folder known for ELF machine {other}"),
    };
    let headers = Command::new("readelf")
        .args(["-ldW"])
        .arg(program)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&headers.stdout).into_owned();
    let mut files = Vec::new();
    for line in text.lines() {
        if let Some(i) = line.find("program interpreter: ") {
            let path = line[i + 21..].trim_end_matches(']').trim();
            files.push(PathBuf::from(path));
        }
        if line.contains("(NEEDED)")
            && let Some(name) = line.split('[').nth(1).map(|n| n.trim_end_matches(']'))
        {
            let found = [
                format!("/lib/{multiarch}/{name}"),
                format!("/usr/lib/{multiarch}/{name}"),
            ]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{name} ({multiarch}) is not installed"));
            files.push(found);
        }
    }
    assert!(
        files.len() >= 2,
        "readelf found no interpreter or libraries:\n{text}"
    );
    // The interpreter is often a link (/lib64 -> /usr/lib64): copy what it points at.
    files
        .into_iter()
        .map(|f| std::fs::canonicalize(&f).map(|_| f.clone()).unwrap_or(f))
        .collect()
}

fn cannot_run() -> Option<String> {
    if !is_root() {
        return Some("pacman's hooks chroot into the test root, which needs root".into());
    }
    missing(&[
        "pacman",
        "bsdtar",
        "readelf",
        "mknod",
        "distccd",
        "aarch64-linux-gnu-gcc",
        "aarch64-linux-gnu-g++",
    ])
}

fn conf_for(helper: &Distccd) -> String {
    format!(
        "CARCH=\"aarch64\"\nCHOST=\"aarch64-unknown-linux-gnu\"\nBUILDENV=(distcc)\n\
         DISTCC_HOSTS=\"{}\"\nMAKEFLAGS=\"-j4\"\n",
        helper.spec(4)
    )
}

#[test]
fn upgrading_gcc_fires_the_hook_which_names_a_helper_that_no_longer_matches() {
    if let Some(why) = cannot_run() {
        return skip("pacman hook", &why);
    }
    // A helper that answers ALARM's names with this machine's x86_64 compiler.
    let helper = Helper::default()
        .serve("aarch64-unknown-linux-gnu-gcc", "gcc")
        .serve("aarch64-unknown-linux-gnu-g++", "g++")
        .start();
    let root = TestRoot::new(&conf_for(&helper));
    let (code, out) = root.install(&root.package("gcc", "14.1.0"));
    assert_eq!(code, 0, "{out}");
    // A first install is no upgrade: the hook stays out of it.
    assert!(!out.contains("Checking distcc helpers"), "{out}");
    assert_eq!(helper.log_text().matches("compile from").count(), 0);

    let (code, out) = root.install(&root.package("gcc", "14.2.1"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Checking distcc helpers against the new toolchain"),
        "{out}"
    );
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("alarm-distcc:"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one line per helper that does not match:\n{out}"
    );
    assert!(
        lines[0].contains(&helper.spec(4)) && lines[0].contains("x86_64"),
        "{out}"
    );
    assert!(!out.contains("error:"), "{out}");
    assert!(
        helper.log_text().contains("connection from"),
        "the hook probed nothing"
    );

    // Another package's upgrade does not fire it.
    let (_, _) = root.install(&root.package("zlib", "1"));
    let (code, out) = root.install(&root.package("zlib", "2"));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("Checking distcc helpers"), "{out}");
}

#[test]
fn the_hook_is_silent_when_helpers_match_and_never_fails_the_transaction() {
    if let Some(why) = cannot_run() {
        return skip("pacman hook", &why);
    }
    let helper = Helper::default()
        .serve("aarch64-unknown-linux-gnu-gcc", "aarch64-linux-gnu-gcc")
        .serve("aarch64-unknown-linux-gnu-g++", "aarch64-linux-gnu-g++")
        .start();
    let root = TestRoot::new(&conf_for(&helper));
    let (code, out) = root.install(&root.package("binutils", "2.42"));
    assert_eq!(code, 0, "{out}");
    let (code, out) = root.install(&root.package("binutils", "2.43"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Checking distcc helpers"), "{out}");
    assert!(!out.contains("alarm-distcc:"), "not silent:\n{out}");
    assert!(
        // distccd logs a job just after answering it: wait for the line, bounded.
        helper
            .log_when(|log| log.contains("COMPILE_OK"))
            .contains("COMPILE_OK"),
        "the hook probed nothing"
    );

    // A config the tool cannot read (a folder in its place): one line, and pacman carries on.
    let conf = root.dir.path().join("root/etc/makepkg.conf");
    std::fs::remove_file(&conf).unwrap();
    std::fs::create_dir(&conf).unwrap();
    let (code, out) = root.install(&root.package("binutils", "2.44"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("alarm-distcc: the helpers could not be checked")),
        "{out}"
    );
    assert!(!out.contains("command failed"), "{out}");
}
