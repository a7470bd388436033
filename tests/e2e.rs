//! The seed's build, for real: a Pi config edited only by alarm-distcc commands, then the
//! real makepkg (as an unprivileged user) builds a small C package through the real distcc
//! client, whose jobs a real distccd on a loopback address compiles with Debian's ARM cross
//! gcc under ALARM's compiler name. The objects and the binary (under qemu) are checked.
//! Needs: makepkg, pacman-package-manager, distcc, the cross gcc, qemu-user-static,
//! fakeroot, bsdtar (scripts/install-test-deps.sh); elsewhere each test says it is skipped.

mod common;

use alarm_distcc::distcc::elf::{Arch, elf_arch};
use common::distccd::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What one Pi flavour needs.
struct Flavour {
    stock: &'static str,
    chost: &'static str,
    gcc: (&'static str, &'static str),
    qemu: &'static str,
    arch: Arch,
    /// distccd-alarm's port for it.
    port: u16,
}

const AARCH64: Flavour = Flavour {
    stock: "stock/alarm-7.1.0-aarch64.makepkg.conf",
    chost: "aarch64-unknown-linux-gnu",
    gcc: AARCH64_GCC,
    qemu: "qemu-aarch64-static",
    arch: Arch::Aarch64,
    port: 3636,
};

const ARMV7H: Flavour = Flavour {
    stock: "stock/alarm-7.1.0-armv7h.makepkg.conf",
    chost: "armv7l-unknown-linux-gnueabihf",
    gcc: ARMV7H_GCC,
    qemu: "qemu-arm-static",
    arch: Arch::Arm { hard_float: true },
    port: 3635,
};

const SOURCES: [&str; 4] = ["main.c", "greet.c", "sum.c", "version.c"];

/// Why this machine cannot run the end-to-end build, if it cannot.
fn cannot_build(f: &Flavour) -> Option<String> {
    let mut need = vec![
        "makepkg", "pacman", "distcc", "distccd", "fakeroot", "bsdtar", f.gcc.1, f.qemu,
    ];
    if is_root() {
        need.push("runuser");
    }
    if let Some(why) = missing(&need) {
        return Some(why);
    }
    if stock(f).is_none() {
        return Some(format!(
            "the corpus's {} is not here (set ALARM_DISTCC_CORPUS)",
            f.stock
        ));
    }
    None
}

fn stock(f: &Flavour) -> Option<PathBuf> {
    corpus_files().into_iter().find(|p| p.ends_with(f.stock))
}

/// A Pi in a folder: its makepkg.conf (a copy of the stock one), the package to build, and
/// the compiler folders makepkg finds first on PATH.
struct Pi {
    dir: tempfile::TempDir,
    conf: PathBuf,
    build: PathBuf,
    path: String,
    flavour: &'static Flavour,
}

impl Pi {
    fn new(f: &'static Flavour) -> Pi {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("makepkg.conf");
        std::fs::copy(stock(f).unwrap(), &conf).unwrap();
        let build = dir.path().join("build");
        std::fs::create_dir(&build).unwrap();
        let pkg = manifest_dir().join("tests/e2e-package");
        for entry in std::fs::read_dir(pkg).unwrap().flatten() {
            std::fs::copy(entry.path(), build.join(entry.file_name())).unwrap();
        }
        // What /usr/lib/distcc/bin is on the Pi: the compiler name leads to distcc, which
        // runs local jobs with the next one on PATH, the real (cross) compiler.
        let name = format!("{}-gcc", f.chost);
        let masq = dir.path().join("distcc-bin");
        let local = dir.path().join("local-bin");
        std::fs::create_dir(&masq).unwrap();
        std::fs::create_dir(&local).unwrap();
        std::os::unix::fs::symlink("/usr/bin/distcc", masq.join(&name)).unwrap();
        std::os::unix::fs::symlink(which(f.gcc.1), local.join(&name)).unwrap();
        let path = format!("{}:{}:/usr/bin:/bin", masq.display(), local.display());
        Pi {
            dir,
            conf,
            build,
            path,
            flavour: f,
        }
    }

    fn alarm_distcc(&self, args: &[&str]) -> Run {
        let r = run(&self.conf, args);
        assert_eq!(r.code, 0, "alarm-distcc {args:?}: {}{}", r.stdout, r.stderr);
        r
    }

    /// Real makepkg on the package, bounded in time; (exit code, its output).
    fn makepkg(&self) -> (i32, String) {
        self.makepkg_with(&[])
    }

    /// The same with more variables in makepkg's environment.
    fn makepkg_with(&self, extra: &[(&str, &str)]) -> (i32, String) {
        let home = self.dir.path().join("home");
        // A fresh client state each time: distcc backs off a host that failed recently.
        let _ = std::fs::remove_dir_all(home.join(".distcc"));
        std::fs::create_dir_all(home.join(".distcc")).unwrap();
        let vars = [
            ("PATH", self.path.clone()),
            ("HOME", home.display().to_string()),
            ("LANG", "C".into()),
            ("CC", format!("{}-gcc", self.flavour.chost)),
            // Debian's client would rewrite `gcc` to its own triple; the Pi sends CHOST's.
            ("DISTCC_NO_REWRITE_CROSS", "1".into()),
            ("DISTCC_DIR", home.join(".distcc").display().to_string()),
        ];
        let vars: Vec<(&str, String)> = vars
            .into_iter()
            .chain(extra.iter().map(|(k, v)| (*k, v.to_string())))
            .collect();
        give_to_build_user(self.dir.path());
        let mut cmd = as_build_user("timeout", &vars);
        let makepkg = [
            "300",
            "makepkg",
            "--config",
            self.conf.to_str().unwrap(),
            "-f",
            "--cleanbuild",
            "--nodeps",
            "--noconfirm",
        ];
        let out = cmd.args(makepkg).current_dir(&self.build).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    fn objects(&self) -> Vec<(String, Arch)> {
        SOURCES
            .iter()
            .map(|c| {
                let o = self.build.join("src").join(c.replace(".c", ".o"));
                let bytes = std::fs::read(&o).unwrap_or_else(|e| panic!("{}: {e}", o.display()));
                (c.to_string(), elf_arch(&bytes).unwrap())
            })
            .collect()
    }
}

fn package_file(build: &Path, carch: &str) -> Option<PathBuf> {
    std::fs::read_dir(build)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(&format!("distcc-hello-1.0-1-{carch}.pkg.tar"))
        })
}

/// set-local 2, then add-host HELPER:PORT/6, as the seed does by hand; the build goes
/// through the helper and yields ARM objects, a binary that runs, and a package.
fn builds_through_the_helper(f: &'static Flavour, listen: &str, carch: &str) {
    if let Some(why) = cannot_build(f) {
        return skip(&format!("e2e {carch}"), &why);
    }
    let helper = Helper::default()
        .listen(listen)
        .port(f.port)
        .serve(f.gcc.0, f.gcc.1)
        .jobs(6)
        .start();
    let pi = Pi::new(f);
    pi.alarm_distcc(&["set-local", "2", "--yes"]);
    pi.alarm_distcc(&["add-host", &helper.spec(6), "--yes"]);
    let vars = bash_vars(&[&pi.conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        format!("{} localhost/2", helper.spec(6))
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    assert!(array_values(&vars["BUILDENV"]).contains(&"distcc".to_string()));
    let probe = pi.alarm_distcc(&["probe", "--timeout", "10"]);
    assert!(probe.stdout.contains("ok: "), "{}", probe.stdout);

    // distcc fills the hosts slot by slot (the helper's first, then this machine's first,
    // ...), so with localhost/2 listed some units may run here: at least one goes out.
    let compiled = build_and_check(&pi, &helper, "-j8", carch, 1);
    assert!(
        SOURCES
            .iter()
            .any(|c| compiled.iter().any(|l| l.contains(c))),
        "nothing was compiled on the helper:\n{}",
        helper.log_text()
    );
    // Without local slots (what distcc advises for a slow Pi), every unit goes out.
    pi.alarm_distcc(&["set-local", "0", "--yes"]);
    let compiled = build_and_check(&pi, &helper, "-j6", carch, SOURCES.len());
    for c in SOURCES {
        assert!(
            compiled.iter().any(|l| l.contains(c)),
            "{c} not compiled on the helper:\n{}",
            helper.log_text()
        );
    }
}

/// One clean makepkg run: make got `jobs`, the objects are for the Pi, the binary runs
/// under qemu, the package exists. Returns the helper's COMPILE_OK lines of this run (once
/// there are `expected`, or after a while).
fn build_and_check(
    pi: &Pi,
    helper: &Distccd,
    jobs: &str,
    carch: &str,
    expected: usize,
) -> Vec<String> {
    let f = pi.flavour;
    let before = helper.compiled().len();
    let (code, out) = pi.makepkg();
    assert_eq!(
        code,
        0,
        "makepkg failed:\n{out}\nhelper log:\n{}",
        helper.log_text()
    );
    // make ran with the -j alarm-distcc wrote.
    let flags = out
        .lines()
        .find_map(|l| l.strip_prefix("alarm-distcc-makeflags:"))
        .unwrap_or_else(|| panic!("no MAKEFLAGS line:\n{out}"));
    assert!(
        flags
            .split_whitespace()
            .any(|w| w == jobs || w == &jobs[1..]),
        "{flags}"
    );
    for (c, arch) in pi.objects() {
        assert_eq!(arch, f.arch, "{c}");
    }
    let run = Command::new(f.qemu)
        .arg(pi.build.join("src/hello"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hello from alarm-distcc: 42 (v1)\n"
    );
    assert!(
        package_file(&pi.build, carch).is_some(),
        "no package in {}:\n{out}",
        pi.build.display()
    );
    helper.compiled_at_least(before + expected)[before..]
        .iter()
        .filter(|l| l.contains(f.gcc.0))
        .cloned()
        .collect()
}

#[test]
fn aarch64_pi_builds_through_a_real_cross_helper() {
    builds_through_the_helper(&AARCH64, "127.0.0.121", "aarch64");
}

#[test]
fn armv7h_pi_builds_through_a_real_cross_helper() {
    builds_through_the_helper(&ARMV7H, "127.0.0.122", "armv7h");
}

/// The classic mistake: the helper's compiler name leads to its native x86_64 gcc. probe
/// and doctor say so before the build; the build then fails at the link.
#[test]
fn wrong_helper_is_predicted_and_the_build_fails() {
    if let Some(why) = cannot_build(&AARCH64) {
        return skip("e2e wrong helper", &why);
    }
    let native = if toolchain_carch() == "x86_64" {
        "/usr/bin/gcc"
    } else {
        return skip(
            "e2e wrong helper",
            "needs an x86_64 machine for the wrong helper",
        );
    };
    let helper = Helper::default()
        .listen("127.0.0.123")
        .port(AARCH64.port)
        .serve(AARCH64.gcc.0, native)
        .start();
    let pi = Pi::new(&AARCH64);
    pi.alarm_distcc(&["add-host", &helper.spec(6), "--yes"]);

    let probe = run(&pi.conf, &["probe", "--timeout", "10"]);
    assert_eq!(probe.code, 1, "{}", probe.stdout);
    assert!(
        probe
            .stdout
            .contains("WRONG ARCH: x86_64 object, need aarch64"),
        "{}",
        probe.stdout
    );
    let doctor = run(&pi.conf, &["doctor", "--timeout", "10"]);
    assert_eq!(doctor.code, 1, "{}", doctor.stdout);
    assert!(
        doctor.stdout.contains(&helper.spec(6)) && doctor.stdout.contains("x86_64"),
        "{}",
        doctor.stdout
    );

    // With the stock CFLAGS (-march=armv8-a) the x86_64 gcc fails every job; distcc
    // retries each one on the Pi, so the build succeeds without any help from the helper.
    let (code, out) = pi.makepkg();
    assert_eq!(code, 0, "distcc falls back to local compiles:\n{out}");
    let log = helper.log_when(|log| log.matches("COMPILE_ERROR").count() >= SOURCES.len());
    for c in SOURCES {
        assert!(
            log.lines()
                .any(|l| l.contains("COMPILE_ERROR") && l.contains(c)),
            "{c} failed on the helper:\n{log}"
        );
        assert!(
            !log.lines()
                .any(|l| l.contains("COMPILE_OK") && l.contains(c)),
            "{log}"
        );
    }
    assert!(out.contains("retrying locally"), "{out}");
    for (c, arch) in pi.objects() {
        assert_eq!(arch, Arch::Aarch64, "{c} compiled locally");
    }

    // Without -march the same helper hands back x86_64 objects, and the link fails.
    let conf = std::fs::read_to_string(&pi.conf).unwrap();
    assert!(conf.contains("-march=armv8-a "));
    std::fs::write(&pi.conf, conf.replace("-march=armv8-a ", "")).unwrap();
    let (code, out) = pi.makepkg();
    assert_ne!(
        code, 0,
        "the build cannot succeed with x86_64 objects:\n{out}"
    );
    assert!(
        out.contains("Relocations in generic ELF") || out.contains("file in wrong format"),
        "the aarch64 linker rejects the x86_64 objects:\n{out}"
    );
    let objects = pi.objects();
    assert!(
        objects.iter().all(|(_, arch)| *arch == Arch::X86_64),
        "{objects:?}"
    );
}

/// A helper that compiles for aarch64 only under `gcc` gets no job at all from a real
/// makepkg build, since the Pi's distcc sends `<CHOST>-gcc`: probe and doctor, which judge
/// by that name, say so before the build.
#[test]
fn a_helper_without_the_pis_compiler_name_gets_no_job() {
    if let Some(why) = cannot_build(&AARCH64) {
        return skip("e2e name", &why);
    }
    let helper = Helper::default()
        .listen("127.0.0.124")
        .port(AARCH64.port)
        .serve("gcc", AARCH64.gcc.1)
        .start();
    let pi = Pi::new(&AARCH64);
    pi.alarm_distcc(&["add-host", &helper.spec(6), "--yes"]);
    pi.alarm_distcc(&["set-local", "0", "--yes"]);

    let probe = run(&pi.conf, &["probe", "--timeout", "10"]);
    assert_eq!(probe.code, 1, "{}", probe.stdout);
    assert!(
        probe.stdout.contains("takes `gcc`")
            && probe
                .stdout
                .contains(&format!("whitelist `{}`", AARCH64.gcc.0)),
        "{}",
        probe.stdout
    );
    let doctor = run(&pi.conf, &["doctor", "--timeout", "10"]);
    assert_eq!(doctor.code, 1, "{}", doctor.stdout);
    assert!(
        doctor
            .stdout
            .contains(&format!("{} fails the probe", helper.spec(6))),
        "{}",
        doctor.stdout
    );

    // The build succeeds, every unit compiled here: the helper refused each job's name.
    let (code, out) = pi.makepkg();
    assert_eq!(code, 0, "distcc falls back to local compiles:\n{out}");
    let log = helper.log_when(|log| {
        log.matches(&format!(
            "lookup of {} in DISTCC_CMDLIST failed",
            AARCH64.gcc.0
        ))
        .count()
            >= SOURCES.len()
    });
    // (The probe's own `gcc` compile may be logged late; the package's files never are.)
    assert!(
        !log.lines()
            .any(|l| l.contains("COMPILE_OK") && SOURCES.iter().any(|c| l.contains(c))),
        "no job compiled on the helper:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "lookup of {} in DISTCC_CMDLIST failed",
            AARCH64.gcc.0
        )),
        "{log}"
    );
    for (c, arch) in pi.objects() {
        assert_eq!(arch, Arch::Aarch64, "{c} compiled locally");
    }
}

/// distcc issue #229, for real: an armv7h helper whose gcc does not default to PIE hands back
/// objects this Pi's (PIE) link refuses ("recompile with -fPIC"). probe predicts it; the same
/// build with a helper like the Pi links.
#[test]
fn a_helper_without_default_pie_breaks_the_armv7h_link_as_probe_says() {
    if let Some(why) = cannot_build(&ARMV7H) {
        return skip("e2e pie", &why);
    }
    let good = Helper::default()
        .listen("127.0.0.125")
        .port(ARMV7H.port)
        .serve(ARMV7H.gcc.0, ARMV7H.gcc.1)
        .start();
    let nopie = Helper::default()
        .listen("127.0.0.126")
        .port(ARMV7H.port)
        .serve_with(ARMV7H.gcc.0, ARMV7H.gcc.1, "-fno-pie")
        .start();
    let pi = Pi::new(&ARMV7H);
    // The Pi's own compiler is the one first on PATH after distcc's masquerade folder.
    let local = pi.path.split(':').nth(1).unwrap().to_string();
    let probe = |pi: &Pi| {
        let out = bin()
            .env("PATH", path_with(Path::new(&local)))
            .arg("--config")
            .arg(&pi.conf)
            .args(["probe", "--timeout", "10"])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    // A default (PIE) link, as a package without -static does.
    let dynamic = [("STATIC", "")];
    pi.alarm_distcc(&["set-local", "0", "--yes"]);

    pi.alarm_distcc(&["add-host", &good.spec(4), "--yes"]);
    let (code, out) = probe(&pi);
    assert_eq!(code, 0, "{out}");
    let (code, out) = pi.makepkg_with(&dynamic);
    assert_eq!(code, 0, "a helper like the Pi links:\n{out}");
    let package_jobs = |d: &Distccd| {
        d.log_when(|log| {
            log.lines()
                .filter(|l| l.contains("COMPILE_OK") && SOURCES.iter().any(|c| l.contains(c)))
                .count()
                >= SOURCES.len()
        })
        .lines()
        .filter(|l| l.contains("COMPILE_OK") && SOURCES.iter().any(|c| l.contains(c)))
        .count()
    };
    assert_eq!(package_jobs(&good), SOURCES.len(), "{}", good.log_text());

    pi.alarm_distcc(&["remove-host", &good.host_port(), "--yes"]);
    pi.alarm_distcc(&["add-host", &nopie.spec(4), "--yes"]);
    let (code, out) = probe(&pi);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("makes non-PIE objects"), "{out}");
    let (code, out) = pi.makepkg_with(&dynamic);
    assert_ne!(code, 0, "the PIE link cannot take non-PIE objects:\n{out}");
    assert!(out.contains("recompile with -fPIC"), "{out}");
    assert_eq!(
        package_jobs(&nopie),
        SOURCES.len(),
        "the objects came from the helper:\n{}",
        nopie.log_text()
    );
}
