//! The Pi, emulated for real: an arm64 and an armhf Debian userland under qemu-user (see
//! tests/common/pi.rs), where the tool's own ARM binary edits the Pi's /etc/makepkg.conf as
//! the seed does by hand (`set-local 2`, `add-host`), `probe` and `doctor` judge a real
//! distccd on this machine's 127.0.0.1 serving the cross gcc, and the Pi's real makepkg, run
//! as a user, builds a multi-file C package through the Pi's real distcc client.
//!
//! The helper serves only the name ALARM's distccd-alarm serves, `<triple>-gcc`. The Pi's
//! client sends that name only when it is on the Pi's PATH (distcc's rewrite): without it the
//! probe must say the helper fails (and the real client indeed sends `gcc`); with it (ALARM's
//! case, a symlink here) the probe says ok and the build's compiles reach the helper.

mod common;

use alarm_distcc::distcc::elf::{Arch, elf_arch};
use common::distccd::*;
use common::pi::*;
use common::*;
use std::process::Command;

const SOURCES: [&str; 4] = ["main.c", "greet.c", "sum.c", "version.c"];

fn expected_arch(arch: PiArch) -> Arch {
    match arch {
        PiArch::Arm64 => Arch::Aarch64,
        PiArch::Armhf => Arch::Arm { hard_float: true },
    }
}

/// The C compiler names the probe sent in its decisive attempts.
fn decisive_c_names(v: &serde_json::Value) -> Vec<String> {
    v["hosts"][0]["attempts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|a| a["decisive"] == true)
                .filter_map(|a| a["compiler"].as_str())
                .filter(|c| c.ends_with("gcc") || *c == "cc")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The probe's compiles on the Pi (its reference) run under qemu: 60 s each, as a loaded CI
/// machine's emulated gcc once took over 20 s for the tiny probe unit.
fn probe_json(pi: &Pi) -> (i32, serde_json::Value, String) {
    let out = pi.sh(None, 300, &[], "alarm-distcc probe --timeout 60 --json");
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("probe --json: {e}: {}", text(&out)));
    (out.status.code().unwrap_or(-1), v, text(&out))
}

/// The real client inside the Pi compiles one unit through the masquerade folder, as make
/// would; its log (DISTCC_VERBOSE) says which name it sent.
fn client_sends(pi: &Pi, hosts: &str) -> String {
    let script = "cd /tmp && printf 'int one(void) { return 1; }\\n' > one.c && \
        rm -rf /tmp/distcc-state /tmp/client.log && mkdir /tmp/distcc-state && \
        PATH=/usr/lib/distcc/bin:$PATH gcc -c one.c -o one.o; cat /tmp/client.log";
    let out = pi.sh(
        Some(PI_USER),
        120,
        &[
            ("DISTCC_HOSTS", hosts),
            ("DISTCC_VERBOSE", "1"),
            ("DISTCC_LOG", "/tmp/client.log"),
            ("DISTCC_DIR", "/tmp/distcc-state"),
        ],
        script,
    );
    text(&out)
}

/// Whether readelf lists a section of this name in the object.
fn has_section(obj: &std::path::Path, name: &str) -> bool {
    let out = Command::new("readelf")
        .arg("-SW")
        .arg(obj)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .any(|w| w == name)
}

fn comment(obj: &std::path::Path) -> String {
    let out = Command::new("readelf")
        .args(["-p", ".comment"])
        .arg(obj)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn the_pi_builds_through_the_helper_it_configured(arch: PiArch) {
    let test = format!("emulated {} Pi", arch.debian());
    if std::env::consts::ARCH != "x86_64" {
        // Under qemu already (the suite run for an ARM target): no emulator inside one.
        return not_on_this_arch(&test, "the emulated Pi runs from the x86_64 suite");
    }
    let stock = match cannot_emulate(arch)
        .or_else(|| missing(&["distccd", "readelf", arch.cross_gcc()]))
        .map_or_else(|| stock_config(arch), Err)
    {
        Ok(stock) => stock,
        Err(why) => return skip(&test, &why),
    };
    let pi = Pi::new(arch, &stock);

    // distcc's own triple, as the Pi's client knows it (distcc 3.4 drops `-pc-`).
    let version = pi.root_ok("distcc --version");
    let triple = version
        .split_whitespace()
        .nth(2)
        .unwrap()
        .replace("-pc-", "-");
    let sent = format!("{triple}-gcc");
    // The helper's compiler marks its objects (-frecord-gcc-switches), so each object tells
    // whether the helper or the Pi compiled it.
    let helper = Helper::default()
        .serve_with(&sent, arch.cross_gcc(), "-frecord-gcc-switches")
        .jobs(6)
        .start();

    // The seed's steps, by the Pi's own alarm-distcc on the Pi's /etc/makepkg.conf.
    pi.root_ok("alarm-distcc --yes set-local 2");
    pi.root_ok(&format!("alarm-distcc --yes add-host {}", helper.spec(6)));
    let conf = pi.path("etc/makepkg.conf");
    let vars = bash_vars(&[&conf]);
    assert_eq!(
        scalar_value(&vars["DISTCC_HOSTS"]),
        format!("{} localhost/2", helper.spec(6))
    );
    assert_eq!(scalar_value(&vars["MAKEFLAGS"]), "-j8");
    assert!(array_values(&vars["BUILDENV"]).contains(&"distcc".to_string()));

    // Debian's gcc has no `<triple>-gcc` name: the client sends plain `gcc`, which this
    // helper does not serve. The probe predicts that and fails the helper.
    let (code, v, out) = probe_json(&pi);
    let names = decisive_c_names(&v);
    assert!(
        !names.is_empty() && names.iter().all(|n| n == "gcc"),
        "{names:?}\n{out}"
    );
    assert_eq!(v["hosts"][0]["verdict"], "failed", "{out}");
    assert_ne!(code, 0, "{out}");
    let log = client_sends(&pi, &helper.spec(6));
    assert!(
        log.contains(&format!("exec on {}: gcc ", helper.spec(6))),
        "the real client did not send gcc:\n{log}"
    );
    assert!(!log.contains("Re-writing call"), "{log}");
    assert!(
        !helper.compiled().iter().any(|l| l.contains("one.c")),
        "{}",
        helper.log_text()
    );

    // ALARM's case: the triple name exists. Now the client rewrites gcc to it, and the
    // probe sends that name and passes the helper.
    let native = match arch {
        PiArch::Arm64 => "aarch64-linux-gnu-gcc",
        PiArch::Armhf => "arm-linux-gnueabihf-gcc",
    };
    pi.root_ok(&format!("ln -s {native} /usr/bin/{sent}"));
    let (code, v, out) = probe_json(&pi);
    let names = decisive_c_names(&v);
    assert!(
        !names.is_empty() && names.iter().all(|n| *n == sent),
        "{names:?}\n{out}"
    );
    assert_eq!(v["hosts"][0]["verdict"], "ok", "{out}");
    assert_eq!(code, 0, "{out}");
    let log = client_sends(&pi, &helper.spec(6));
    assert!(
        log.contains(&format!("Re-writing call to 'gcc' to '{sent}'")),
        "{log}"
    );
    let served = helper.log_when(|l| {
        l.lines()
            .any(|l| l.contains("COMPILE_OK") && l.contains("one.c"))
    });
    assert!(
        served
            .lines()
            .any(|l| l.contains("COMPILE_OK") && l.contains("one.c") && l.contains(&sent)),
        "{served}"
    );
    let doctor = pi.sh(
        None,
        300,
        &[],
        "alarm-distcc --color never doctor --timeout 60",
    );
    assert!(doctor.status.success(), "doctor: {}", text(&doctor));
    assert!(text(&doctor).contains("ok"), "{}", text(&doctor));

    // The Pi's real makepkg builds the package as a user, with the config the tool wrote.
    let pkg = pi.path("home/builder/pkg");
    copy_package("e2e-package", &pkg);
    let status = Command::new("chown")
        .args(["-R", "2000:2000"])
        .arg(&pkg)
        .status()
        .unwrap();
    assert!(status.success());
    let before = helper.compiled().len();
    let build = pi.sh(
        Some(PI_USER),
        900,
        &[("DISTCC_DIR", "/home/builder/.distcc-fresh")],
        "mkdir -p ~/.distcc-fresh && cd ~/pkg && makepkg -f --nodeps --noconfirm",
    );
    let build_out = text(&build);
    assert!(
        build.status.success(),
        "makepkg in the Pi failed:\n{build_out}\nhelper log:\n{}",
        helper.log_text()
    );
    assert!(build_out.contains("alarm-distcc-makeflags:"), "{build_out}");
    assert!(
        build_out
            .lines()
            .any(|l| l.starts_with("alarm-distcc-makeflags:")
                && l.split_whitespace()
                    .any(|w| w == "-j8" || w.ends_with("j8"))),
        "make did not get -j8:\n{build_out}"
    );

    // Every object is for the Pi; those marked by the helper's compiler are exactly the
    // units the helper's log says it compiled, and there is at least one.
    let mut from_helper = Vec::new();
    for c in SOURCES {
        let o = pkg.join("src").join(c.replace(".c", ".o"));
        let bytes = std::fs::read(&o).unwrap_or_else(|e| panic!("{}: {e}", o.display()));
        assert_eq!(elf_arch(&bytes).unwrap(), expected_arch(arch), "{c}");
        assert!(comment(&o).contains("GCC: ("), "{c}: {}", comment(&o));
        if has_section(&o, ".GCC.command.line") {
            from_helper.push(c);
        }
    }
    if arch == PiArch::Armhf {
        let attrs = Command::new("readelf")
            .arg("-A")
            .arg(pkg.join("src/main.o"))
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&attrs.stdout).contains("Tag_ABI_VFP_args: VFP registers"),
            "main.o is not hard-float"
        );
    }
    let compiled: Vec<String> =
        helper.compiled_at_least(before + from_helper.len().max(1))[before..].to_vec();
    assert!(
        !compiled.is_empty(),
        "0 of {} compiles reached the helper:\n{build_out}\n{}",
        SOURCES.len(),
        helper.log_text()
    );
    for c in SOURCES {
        assert_eq!(
            compiled.iter().any(|l| l.contains(c)),
            from_helper.contains(&c),
            "{c}: the helper's log and the object disagree\n{}",
            compiled.join("\n")
        );
    }
    assert!(compiled.iter().all(|l| l.contains(&sent)), "{compiled:?}");

    // The program runs on the Pi, and the package exists.
    let run = pi.sh(None, 60, &[], "/home/builder/pkg/src/hello");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "hello from alarm-distcc: 42 (v1)\n"
    );
    let pkgs: Vec<String> = std::fs::read_dir(&pkg)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("distcc-hello-1.0-1-{}.pkg.tar", arch.carch())))
        .collect();
    assert_eq!(pkgs.len(), 1, "no package:\n{build_out}");
}

#[test]
fn an_arm64_pi_builds_through_the_helper_it_configured() {
    the_pi_builds_through_the_helper_it_configured(PiArch::Arm64);
}

#[test]
fn an_armhf_pi_builds_through_the_helper_it_configured() {
    the_pi_builds_through_the_helper_it_configured(PiArch::Armhf);
}

/// A Pi of today's generation (Debian testing: gcc 16, which compiles C23 by default) and a
/// helper whose cross gcc is older (this machine's, gcc 12, as on Debian 12 or Ubuntu's
/// LTS under WSL). gcc 16's <stdarg.h> turns `va_start` into `__builtin_c23_va_start`,
/// which gcc 12 takes for a plain function: an object that cannot link, and distcc takes it
/// without a word (seen building json-c by hand: its libjson-c.so linked, its tests did
/// not). The probe sends the unit the Pi preprocessed from its own headers, as distcc does,
/// and judges the object: the helper fails, naming the builtin.
#[test]
fn a_helper_older_than_the_pis_gcc_is_failed_for_objects_that_cannot_link() {
    let test = "emulated Pi of today's generation, helper of an older gcc";
    if std::env::consts::ARCH != "x86_64" {
        return not_on_this_arch(test, "the emulated Pi runs from the x86_64 suite");
    }
    let arch = PiArch::Arm64;
    let stock = match cannot_emulate_suite(arch, Suite::Testing)
        .or_else(|| missing(&["distccd", arch.cross_gcc()]))
        .map_or_else(|| stock_config(arch), Err)
    {
        Ok(stock) => stock,
        Err(why) => return skip(test, &why),
    };
    let pi = Pi::of_suite(arch, Suite::Testing, &stock);
    // The name this Pi's client sends (it has no `<triple>-gcc`), served by this machine's
    // cross gcc.
    let helper = Helper::default()
        .serve("gcc", arch.cross_gcc())
        .jobs(2)
        .start();
    pi.root_ok(&format!("alarm-distcc --yes add-host {}", helper.spec(2)));
    let (code, v, out) = probe_json(&pi);
    let host = &v["hosts"][0];
    let attempts = host["attempts"].as_array().unwrap();
    let of_job = |job: &str| {
        attempts
            .iter()
            .find(|a| a["job"] == job && a["decisive"] == true)
            .unwrap_or_else(|| panic!("no decisive {job} attempt:\n{out}"))
    };
    // The header-less units are fine objects: the headers are what differs.
    for job in ["bare", "cflags"] {
        assert_eq!(of_job(job)["result"], "object", "{out}");
        assert_eq!(
            of_job(job)["undefined_builtins"],
            serde_json::json!([]),
            "{out}"
        );
    }
    let headers = of_job("headers");
    // Sent as distcc sends it: text preprocessed on the Pi, with the preprocessor's flags
    // (-Wp,-D_FORTIFY_SOURCE=3) used here and left out of what is sent.
    let argv: Vec<&str> = headers["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(argv.contains(&"probe.i"), "{argv:?}");
    assert!(!argv.iter().any(|a| a.starts_with("-Wp,")), "{argv:?}");
    assert!(
        headers["undefined_builtins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "__builtin_c23_va_start"),
        "{out}"
    );
    assert_eq!(host["verdict"], "failed", "{out}");
    assert_eq!(code, 1, "{out}");
    let problems = host["problems"].to_string();
    assert!(
        problems.contains("__builtin_c23_va_start") && problems.contains("install gcc 16"),
        "{problems}"
    );
    // The Pi's own gcc knows its builtins: its object of the same text is sound.
    let local = v["local"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job"] == "headers")
        .unwrap_or_else(|| panic!("no local headers run:\n{out}"));
    assert_eq!(local["result"], "object", "{out}");
    assert_eq!(local["undefined_builtins"], serde_json::json!([]), "{out}");
    assert!(
        local["compiler_version"]
            .as_str()
            .is_some_and(|c| c.contains(" 16.")),
        "{out}"
    );
}
