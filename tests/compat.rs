//! The probe sends what a Pi really sends (its CHOST names, its CFLAGS, a C++ job) and
//! compares each helper with this machine's own compiler, all for real: Debian's ARM cross
//! compilers stand in for the Pi's (a folder first on PATH, with ALARM's names) and serve as
//! the helpers' compilers behind real distccd daemons on 127.0.0.1.

mod common;

use common::distccd::{AARCH64_GCC, AARCH64_GXX, ARMV7H_GCC, ARMV7H_GXX, Distccd, Helper, missing};
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One Pi architecture: its config and its compilers.
struct Pi {
    carch: &'static str,
    gcc: (&'static str, &'static str),
    gxx: (&'static str, &'static str),
    /// The Debian cross compiler of another gcc version, when installed.
    older: Option<(&'static str, &'static str)>,
}

const AARCH64: Pi = Pi {
    carch: "aarch64",
    gcc: AARCH64_GCC,
    gxx: AARCH64_GXX,
    older: Some(("aarch64-linux-gnu-gcc-11", "aarch64-linux-gnu-g++-11")),
};
const ARMV7H: Pi = Pi {
    carch: "armv7h",
    gcc: ARMV7H_GCC,
    gxx: ARMV7H_GXX,
    older: None,
};

impl Pi {
    fn chost(&self) -> &'static str {
        self.gcc.0.strip_suffix("-gcc").unwrap()
    }

    fn march(&self) -> &'static str {
        match self.carch {
            "aarch64" => "-march=armv8-a",
            _ => "-march=armv7-a -mfloat-abi=hard -mfpu=neon",
        }
    }

    fn missing(&self) -> Option<String> {
        missing(&["distccd", self.gcc.1, self.gxx.1])
    }

    /// A config shaped like ALARM's stock one (flags on several lines, CXXFLAGS built from
    /// CFLAGS), with `extra` appended.
    fn config(&self, dir: &Path, helper: &str, extra: &str) -> PathBuf {
        let conf = dir.join("makepkg.conf");
        std::fs::write(
            &conf,
            format!(
                "CARCH=\"{carch}\"\nCHOST=\"{chost}\"\n\
                 CFLAGS=\"{march} -O2 -pipe -fstack-protector-strong -fno-plt -fexceptions \\\n        \
                 -Wp,-D_FORTIFY_SOURCE=3 -Wformat -Werror=format-security \\\n        \
                 -fno-omit-frame-pointer\"\n\
                 CXXFLAGS=\"$CFLAGS -Wp,-D_GLIBCXX_ASSERTIONS\"\nLTOFLAGS=\"\"\n\
                 MAKEFLAGS=\"-j8\"\nBUILDENV=(distcc color !ccache check !sign)\n\
                 OPTIONS=(strip docs !libtool !staticlibs emptydirs zipman purge !debug !lto)\n\
                 DISTCC_HOSTS=\"{helper}\"\n{extra}",
                carch = self.carch,
                chost = self.chost(),
                march = self.march(),
            ),
        )
        .unwrap();
        conf
    }

    /// This machine's compilers as the Pi has them: ALARM's names on PATH.
    fn compilers(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, program) in [self.gcc, self.gxx] {
            let real = which(program);
            std::os::unix::fs::symlink(real, dir.path().join(name)).unwrap();
        }
        dir
    }

    /// `probe` of `helper` from this Pi, with `extra` appended to its config.
    fn probe(&self, helper: &Distccd, extra: &str) -> Probed {
        let dir = tempfile::tempdir().unwrap();
        let conf = self.config(dir.path(), &helper.spec(4), extra);
        let compilers = self.compilers();
        probe(&conf, compilers.path())
    }

    /// A helper serving both names from Debian's cross compilers.
    fn helper(&self) -> Helper {
        Helper::default()
            .serve(self.gcc.0, self.gcc.1)
            .serve(self.gxx.0, self.gxx.1)
    }
}

fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

struct Probed {
    code: i32,
    json: Value,
    text: String,
}

/// `probe` (JSON and text) as the Pi runs it: its compilers first on PATH.
fn probe(conf: &Path, compilers: &Path) -> Probed {
    let path = path_with(compilers);
    let run = |json: bool| {
        let mut cmd = bin();
        cmd.env("PATH", &path)
            .arg("--config")
            .arg(conf)
            // Room for a loaded machine or qemu: what is judged here is never a timeout.
            .args(["probe", "--timeout", "20"]);
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let out = run(true);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let text = run(false);
    assert_eq!(
        text.status.code(),
        out.status.code(),
        "the text and --json runs disagree:\n{}\n{}",
        String::from_utf8_lossy(&text.stdout),
        String::from_utf8_lossy(&out.stdout)
    );
    Probed {
        code: out.status.code().unwrap_or(-1),
        json,
        text: String::from_utf8_lossy(&text.stdout).into_owned()
            + &String::from_utf8_lossy(&text.stderr),
    }
}

/// `alarm-distcc --config CONF ARGS` as the Pi runs it, its compilers first on PATH: the
/// exit code, stdout and stderr.
fn on_pi(conf: &Path, compilers: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin()
        .env("PATH", path_with(compilers))
        .arg("--config")
        .arg(conf)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn host(v: &Value) -> &Value {
    &v["hosts"][0]
}

fn attempt<'a>(v: &'a Value, job: &str) -> &'a Value {
    host(v)["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["job"] == job && a["decisive"] == true)
        .unwrap_or_else(|| panic!("no {job} attempt: {v}"))
}

/// (severity, message) of every problem of the first helper.
fn problems(v: &Value) -> Vec<(String, String)> {
    host(v)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["severity"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn fixes_of(v: &Value) -> Vec<String> {
    host(v)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["fix"].as_str().unwrap().to_string())
        .collect()
}

fn skip_unless(test: &str, pi: &Pi) -> bool {
    match pi.missing() {
        Some(why) => {
            skip(test, &why);
            false
        }
        None => true,
    }
}

#[test]
fn a_helper_like_the_pi_agrees_on_everything() {
    for pi in [AARCH64, ARMV7H] {
        if !skip_unless("a_helper_like_the_pi_agrees_on_everything", &pi) {
            return;
        }
        let helper = pi.helper().start();
        let p = pi.probe(&helper, "");
        assert_eq!(p.code, 0, "{}: {}", pi.carch, p.text);
        assert_eq!(host(&p.json)["verdict"], "ok");
        assert_eq!(problems(&p.json), [], "{}", p.json);
        assert_eq!(p.json["local"]["comparable"], true, "{}", p.json);
        // The flags job carried the config's CFLAGS, minus what distcc keeps here.
        let flags = attempt(&p.json, "cflags");
        assert_eq!(flags["result"], "object", "{flags}");
        let argv: Vec<&str> = flags["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(argv.contains(&"-fstack-protector-strong"), "{argv:?}");
        assert!(!argv.iter().any(|a| a.starts_with("-Wp,")), "{argv:?}");
        assert_eq!(argv[0], pi.gcc.0);
        assert_eq!(attempt(&p.json, "cxx")["compiler"], pi.gxx.0);
        assert_eq!(attempt(&p.json, "cxx")["result"], "object");
        // Both sides were read, and agree.
        let compared = &host(&p.json)["compared"];
        assert_eq!(compared["helper_code_model"], "PIE", "{compared}");
        assert_eq!(compared["local_code_model"], "PIE", "{compared}");
        assert!(
            compared["helper_compiler"]
                .as_str()
                .unwrap()
                .starts_with("GCC: ")
        );
        assert_eq!(compared["helper_compiler"], compared["local_compiler"]);
        // The helper really compiled the C++ job, under the name the Pi sends.
        let log = helper.log_when(|l| l.matches("COMPILE_OK").count() >= 3);
        assert!(
            log.lines()
                .any(|l| l.contains("COMPILE_OK") && l.contains(pi.gxx.0)),
            "{log}"
        );
    }
}

#[test]
fn a_helper_without_default_pie_is_an_error() {
    for pi in [AARCH64, ARMV7H] {
        if !skip_unless("a_helper_without_default_pie_is_an_error", &pi) {
            return;
        }
        let helper = Helper::default()
            .serve_with(pi.gcc.0, pi.gcc.1, "-fno-pie")
            .serve(pi.gxx.0, pi.gxx.1)
            .start();
        let p = pi.probe(&helper, "");
        assert_eq!(p.code, 1, "{}", p.text);
        assert_eq!(host(&p.json)["verdict"], "failed");
        let compared = &host(&p.json)["compared"];
        assert_eq!(compared["helper_code_model"], "non-PIE", "{}", p.json);
        assert_eq!(compared["local_code_model"], "PIE", "{}", p.json);
        let errors: Vec<_> = problems(&p.json)
            .into_iter()
            .filter(|(s, _)| s == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{}", p.json);
        assert!(errors[0].1.contains("non-PIE objects"), "{errors:?}");
        assert!(p.text.contains("-fPIE"), "the fix is printed: {}", p.text);
    }
}

#[test]
fn flags_the_helper_rejects_are_named() {
    let pi = AARCH64;
    if !skip_unless("flags_the_helper_rejects_are_named", &pi) {
        return;
    }
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    // gcc 12 (helper and this machine alike) does not know -fhardened (gcc 14+).
    let conf = pi.config(dir.path(), &helper.spec(4), "CFLAGS+=\" -fhardened\"\n");
    let compilers = pi.compilers();
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(attempt(&p.json, "bare")["result"], "object");
    assert_eq!(attempt(&p.json, "cflags")["result"], "compile_failed");
    let errors = problems(&p.json);
    assert!(
        errors
            .iter()
            .any(|(s, m)| s == "error" && m.contains("rejects -fhardened")),
        "{errors:?}"
    );
    // This machine rejects it too: said as a problem of the config itself.
    let config_problems = p.json["problems"].to_string();
    assert!(config_problems.contains("-fhardened"), "{}", p.json);
    assert!(p.text.contains("drop -fhardened from CFLAGS"), "{}", p.text);
    // CXXFLAGS was built before the append, so C++ is unaffected, as in bash.
    assert_eq!(attempt(&p.json, "cxx")["result"], "object");
}

#[test]
fn an_older_helper_gcc_rejects_newer_flags_and_differs_in_version() {
    let pi = AARCH64;
    let (old_gcc, old_gxx) = pi.older.unwrap();
    if let Some(why) = pi.missing().or_else(|| missing(&[old_gcc, old_gxx])) {
        return skip("an_older_helper_gcc", &why);
    }
    let helper = Helper::default()
        .serve(pi.gcc.0, old_gcc)
        .serve(pi.gxx.0, old_gxx)
        .start();
    let compilers = pi.compilers();
    let dir = tempfile::tempdir().unwrap();

    // gcc 12 has -ftrivial-auto-var-init, gcc 11 does not: only the helper rejects it.
    let conf = pi.config(
        dir.path(),
        &helper.spec(4),
        "CFLAGS+=\" -ftrivial-auto-var-init=zero\"\n",
    );
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    let found = problems(&p.json);
    assert!(
        found.iter().any(|(s, m)| s == "error"
            && m.contains("gcc 11")
            && m.contains("rejects -ftrivial-auto-var-init=zero")
            && m.contains("falls back to this Pi")),
        "{found:?}"
    );
    assert_eq!(
        p.json["problems"],
        serde_json::json!([]),
        "this machine takes it"
    );

    // The stock flags: glibc's _FORTIFY_SOURCE=3, in text this machine (the Pi's gcc 12)
    // preprocessed, calls __builtin_dynamic_object_size, which gcc 11 takes for a function
    // that no library has. The headers job finds the unlinkable object.
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    assert!(
        p.text
            .contains("UNLINKABLE: aarch64, calls __builtin_dynamic_object_size"),
        "{}",
        p.text
    );
    assert!(
        problems(&p.json).iter().any(|(s, m)| s == "error"
            && m.contains("`__builtin_dynamic_object_size`")
            && m.contains("gcc 11")
            && m.contains("gcc 12")),
        "{}",
        p.json
    );
    // The fix says how a Debian or Ubuntu helper gets the Pi's version, which its script
    // then serves (tests/helper_scripts.rs).
    let fixes = host(&p.json)["problems"].to_string();
    assert!(
        fixes.contains("apt-get install gcc-12-aarch64-linux-gnu g++-12-aarch64-linux-gnu"),
        "{fixes}"
    );
    // The pacman hook after the Pi's gcc upgrade says so too, with the fix, and never fails.
    let (code, said, _) = on_pi(
        &conf,
        compilers.path(),
        &["toolchain-check", "--timeout", "20"],
    );
    assert_eq!(code, Some(0), "{said}");
    let line = said
        .lines()
        .find(|l| l.contains(&helper.spec(4)))
        .unwrap_or_else(|| panic!("toolchain-check said nothing of the helper: {said}"));
    assert!(line.contains("no longer matches this machine"), "{line}");
    assert!(line.contains("__builtin_dynamic_object_size"), "{line}");
    assert!(line.contains("gcc 12"), "{line}");

    // Without fortification the headers compile alike: only the version differs, a
    // warning without LTO...
    let conf = pi.config(
        dir.path(),
        &helper.spec(4),
        "CFLAGS=\"-march=armv8-a -O2 -pipe -fno-plt\"\n",
    );
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 0, "{}", p.text);
    let found = problems(&p.json);
    // Both sides of the helper are gcc 11: C and C++ each differ from this machine's 12.
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(s, _)| s == "warning"), "{found:?}");
    assert!(
        found[0].1.contains("gcc 11") && found[0].1.contains("gcc 12"),
        "{found:?}"
    );
    assert!(found[1].1.contains("runs C++ gcc 11"), "{found:?}");
    // Each fix says how a Debian or Ubuntu helper gets this machine's version.
    let debian = "apt-get install gcc-12-aarch64-linux-gnu g++-12-aarch64-linux-gnu";
    assert!(
        fixes_of(&p.json).iter().all(|f| f.contains(debian)),
        "{}",
        p.json
    );

    // ...and an error with LTO on (as Arch sets it: -flto=auto, which distcc sends).
    let conf = pi.config(
        dir.path(),
        &helper.spec(4),
        "CFLAGS=\"-march=armv8-a -O2 -pipe -fno-plt\"\nLTOFLAGS=\"-flto=auto\"\nOPTIONS+=(lto)\n",
    );
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(p.json["flags"]["lto"], true);
    assert!(
        problems(&p.json)
            .iter()
            .any(|(s, m)| s == "error" && m.contains("LTO")),
        "{}",
        p.json
    );
    assert!(
        fixes_of(&p.json)
            .iter()
            .any(|f| f.contains(debian) && f.contains("turn LTO off")),
        "{}",
        p.json
    );
}

/// Finding 4: gcc 12 with g++ 11 on the helper. The C++ job is compared on its own, with the
/// same warning (and LTO error) as C.
#[test]
fn a_cxx_compiler_of_another_generation_is_found() {
    let pi = AARCH64;
    let (_, old_gxx) = pi.older.unwrap();
    if let Some(why) = pi.missing().or_else(|| missing(&[old_gxx])) {
        return skip("a_cxx_compiler_of_another_generation_is_found", &why);
    }
    let helper = Helper::default()
        .serve(pi.gcc.0, pi.gcc.1)
        .serve(pi.gxx.0, old_gxx)
        .start();
    let compilers = pi.compilers();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 0, "{}", p.text);
    let found = problems(&p.json);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "warning");
    assert!(found[0].1.contains("C++ gcc 11"), "{found:?}");
    let compared = &host(&p.json)["compared"];
    assert!(
        compared["helper_cxx_compiler"]
            .as_str()
            .unwrap_or("")
            .contains(" 11."),
        "{compared}"
    );
    assert!(
        compared["local_cxx_compiler"]
            .as_str()
            .unwrap_or("")
            .contains(" 12."),
        "{compared}"
    );
    let conf = pi.config(
        dir.path(),
        &helper.spec(4),
        "LTOFLAGS=\"-flto=auto\"\nOPTIONS+=(lto)\n",
    );
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    assert!(
        problems(&p.json)
            .iter()
            .any(|(s, m)| s == "error" && m.contains("C++") && m.contains("LTO")),
        "{}",
        p.json
    );
}

#[test]
fn plain_flto_keeps_every_job_on_the_pi() {
    let pi = AARCH64;
    if !skip_unless("plain_flto_keeps_every_job_on_the_pi", &pi) {
        return;
    }
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    // makepkg adds `-flto` when LTOFLAGS is empty: distcc 3.4 never sends such a job.
    let conf = pi.config(dir.path(), &helper.spec(4), "OPTIONS+=(lto)\n");
    let compilers = pi.compilers();
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(host(&p.json)["verdict"], "ok", "the helper itself is fine");
    let kept = &p.json["flags"]["kept_local"];
    assert_eq!(kept[0]["flag"], "-flto", "{}", p.json);
    assert!(p.text.contains("LTOFLAGS=\"-flto=auto\""), "{}", p.text);
    // What the probe sent is what distcc would send: no -flto.
    assert!(
        !attempt(&p.json, "cflags")["argv"]
            .to_string()
            .contains("\"-flto\"")
    );
}

#[test]
fn plugin_flags_are_refused_by_distccd_policy() {
    let pi = AARCH64;
    if !skip_unless("plugin_flags_are_refused_by_distccd_policy", &pi) {
        return;
    }
    let helper = pi.helper().start();
    let p = pi.probe(
        &helper,
        "CFLAGS+=\" -fplugin=/usr/lib/alarm-probe-plugin.so\"\n",
    );
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(attempt(&p.json, "cflags")["result"], "rejected");
    let found = problems(&p.json);
    assert!(
        found.iter().any(|(s, m)| s == "error"
            && m.contains("-fplugin=/usr/lib/alarm-probe-plugin.so")
            && m.contains("insecure")),
        "{found:?}"
    );
    let log = helper.log_when(|l| l.contains("insecure"));
    assert!(log.contains("insecure and not supported"), "{log}");
}

#[test]
fn a_missing_cxx_compiler_is_reported_for_cxx_only() {
    for pi in [AARCH64, ARMV7H] {
        if !skip_unless("a_missing_cxx_compiler_is_reported_for_cxx_only", &pi) {
            return;
        }
        // The C++ name is whitelisted, but no such program is on distccd's PATH.
        let helper = Helper::default()
            .serve(pi.gcc.0, pi.gcc.1)
            .whitelist(pi.gxx.0)
            .start();
        let p = pi.probe(&helper, "");
        assert_eq!(p.code, 0, "C still distributes: {}", p.text);
        assert_eq!(host(&p.json)["verdict"], "ok");
        assert_eq!(attempt(&p.json, "cxx")["result"], "compiler_missing");
        assert_eq!(attempt(&p.json, "cflags")["result"], "object");
        let found = problems(&p.json);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "warning");
        assert!(
            found[0].1.contains(pi.gxx.0) && found[0].1.contains("C++"),
            "{found:?}"
        );
    }
}

#[test]
fn only_the_name_the_pi_sends_decides() {
    let pi = AARCH64;
    if !skip_unless("only_the_name_the_pi_sends_decides", &pi) {
        return;
    }
    // The helper compiles for aarch64 under `gcc` but refuses ALARM's name, which is what
    // the Pi sends for every job: it is no help at all.
    let helper = Helper::default().serve("gcc", pi.gcc.1).start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let compilers = pi.compilers();
    let p = probe(&conf, compilers.path());
    assert_eq!(p.code, 1, "{}", p.text);
    assert_eq!(host(&p.json)["verdict"], "failed");
    let gcc = host(&p.json)["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["compiler"] == "gcc")
        .unwrap();
    assert_eq!(gcc["result"], "object");
    assert_eq!(gcc["decisive"], false);
    let advice = host(&p.json)["advice"].to_string();
    assert!(
        advice.contains("takes `gcc`") && advice.contains(&format!("whitelist `{}`", pi.gcc.0)),
        "{advice}"
    );
    // doctor agrees: the helper fails.
    let (code, text, _) = on_pi(&conf, compilers.path(), &["doctor", "--timeout", "5"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("fails the probe"), "{text}");
    assert!(!text.contains("compiles for aarch64"), "{text}");
}

#[test]
fn doctor_and_sort_measure_judge_the_same_way() {
    let pi = AARCH64;
    if !skip_unless("doctor_and_sort_measure_judge_the_same_way", &pi) {
        return;
    }
    let good = pi.helper().start();
    let nopie = Helper::default()
        .serve_with(pi.gcc.0, pi.gcc.1, "-fno-pie")
        .serve(pi.gxx.0, pi.gxx.1)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(
        dir.path(),
        &format!("{} {}", nopie.spec(8), good.spec(4)),
        "",
    );
    let compilers = pi.compilers();
    let with_pi = |args: &[&str]| {
        let (code, out, err) = on_pi(&conf, compilers.path(), args);
        (code.unwrap_or(-1), out + &err)
    };
    let (code, text) = with_pi(&["doctor", "--timeout", "5"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains(&format!("{} fails the probe", nopie.spec(8))),
        "{text}"
    );
    assert!(text.contains("non-PIE"), "{text}");
    assert!(
        text.contains(&format!(
            "{} compiles for aarch64 as this machine would",
            good.spec(4)
        )),
        "{text}"
    );
    // sort --measure times only the helper that passes; the other goes last, named.
    let (code, text) = with_pi(&["sort", "--measure", "--runs", "1", "--yes"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("failed the probe"), "{text}");
    let vars = bash_vars(&[&conf]);
    let hosts = scalar_value(&vars["DISTCC_HOSTS"]);
    assert!(
        hosts.starts_with(&good.spec(4)),
        "the helper that passes goes first: {hosts}"
    );
    drop::<Distccd>(good);
}

/// The wizard's check of a helper as it is entered judges it the same way, in a real
/// pseudo-terminal: a helper without default PIE is "not usable yet", with the cause.
#[test]
fn the_wizards_check_reports_the_difference() {
    use expectrl::session::OsSession;
    use expectrl::{Eof, Expect};
    let pi = AARCH64;
    if !skip_unless("the_wizards_check_reports_the_difference", &pi) {
        return;
    }
    let nopie = Helper::default()
        .serve_with(pi.gcc.0, pi.gcc.1, "-fno-pie")
        .serve(pi.gxx.0, pi.gxx.1)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), "", "");
    let original = std::fs::read(&conf).unwrap();
    let compilers = pi.compilers();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    cmd.arg("--config")
        .arg(&conf)
        .args(["wizard", "--dry-run", "--timeout", "5"])
        // A search, if ever started, stays on loopback.
        .args(["--subnet", "127.0.0.248/29"])
        .env("PATH", path_with(compilers.path()))
        .env("HOME", "/nonexistent-alarm-distcc-home")
        .env_remove("MAKEPKG_CONF")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut s = OsSession::spawn(cmd).expect("spawn in a pty");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(20)));
    let mut answer = |prompt: &str, keys: &str| {
        s.expect(prompt)
            .unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
        s.send(keys).unwrap();
    };
    answer("Slots for this machine", "2\r");
    answer("Search the network for helpers (", "n\r");
    answer("Add a helper?", "y\r");
    answer("Helper address", &format!("{}\r", nopie.spec(4)));
    s.expect("not usable yet:").unwrap();
    let check = s.expect("Keep this helper anyway?").unwrap();
    let said = String::from_utf8_lossy(check.before()).into_owned();
    assert!(
        said.contains("makes non-PIE objects, this machine's compiler PIE ones"),
        "{said}"
    );
    s.send("n\r").unwrap();
    s.expect("Add a helper?").unwrap();
    s.send("n\r").unwrap();
    let _ = s.expect(Eof);
    assert_eq!(std::fs::read(&conf).unwrap(), original);
}

/// Discovery judges what it finds the same way: a helper that builds for the Pi but not as
/// the Pi's compiler does is "incompatible", not usable, with its cause; one whose older gcc
/// makes objects of the Pi's headers that do not link is "unlinkable", and says so.
#[test]
fn discover_marks_incompatible_and_unlinkable_helpers() {
    let pi = AARCH64;
    let (old_gcc, old_gxx) = pi.older.unwrap();
    if let Some(why) = pi.missing().or_else(|| missing(&[old_gcc, old_gxx])) {
        return skip("discover_marks_incompatible_and_unlinkable_helpers", &why);
    }
    let _nopie = Helper::default()
        .listen("127.0.0.41")
        .port(3636)
        .serve_with(pi.gcc.0, pi.gcc.1, "-fno-pie")
        .serve(pi.gxx.0, pi.gxx.1)
        .start();
    let _older = Helper::default()
        .listen("127.0.0.42")
        .port(3636)
        .serve(pi.gcc.0, old_gcc)
        .serve(pi.gxx.0, old_gxx)
        .start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), "", "");
    let compilers = pi.compilers();
    let discover = |json: bool| {
        let mut cmd = bin();
        cmd.env("PATH", path_with(compilers.path()))
            .arg("--config")
            .arg(&conf)
            .args(["discover", "--subnet", "127.0.0.40/30", "--port", "3636"])
            .args(["--timeout", "5"]);
        if json {
            cmd.arg("--json");
        }
        cmd.output().unwrap()
    };
    let out = discover(true);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let found = |host: &str| {
        v["helpers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["host"] == host)
            .unwrap_or_else(|| panic!("{host} not found: {v}"))
            .clone()
    };
    let nopie = found("127.0.0.41");
    assert_eq!(nopie["verdict"], "incompatible", "{v}");
    assert_eq!(nopie["usable"], false);
    assert!(nopie["causes"].to_string().contains("non-PIE"), "{v}");
    // The stock _FORTIFY_SOURCE=3 in the Pi's (gcc 12) headers: gcc 11 does not know
    // __builtin_dynamic_object_size.
    let older = found("127.0.0.42");
    assert_eq!(older["verdict"], "unlinkable", "{v}");
    assert_eq!(older["usable"], false);
    assert!(
        older["causes"]
            .to_string()
            .contains("__builtin_dynamic_object_size"),
        "{v}"
    );
    let text = String::from_utf8_lossy(&discover(false).stdout).into_owned();
    let row = text
        .lines()
        .find(|l| l.starts_with("127.0.0.42:3636"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("compiles for aarch64, but its older gcc makes objects that do not link"),
        "{row}"
    );
}

/// What cannot be known is said, never guessed: CFLAGS computed by shell code sends no flags
/// job, and without the Pi's compiler here nothing is compared.
#[test]
fn what_cannot_be_known_is_said() {
    let pi = AARCH64;
    if !skip_unless("what_cannot_be_known_is_said", &pi) {
        return;
    }
    let helper = pi.helper().start();
    let p = pi.probe(&helper, "CFLAGS=\"-O2 $(getconf LONG_BIT)\"\n");
    assert_eq!(p.code, 0, "{}", p.text);
    assert_eq!(p.json["flags"]["cflags"], Value::Null);
    let not_sent = p.json["flags"]["not_sent"].to_string();
    assert!(
        not_sent.contains("CFLAGS is computed") && not_sent.contains("makepkg.conf:12"),
        "{not_sent}"
    );
    assert!(
        !host(&p.json)["attempts"].to_string().contains("\"cflags\""),
        "no flags job: {}",
        p.json
    );
    assert!(p.text.contains("CFLAGS: not sent"), "{}", p.text);

    // The same helper probed from a machine without the Pi's compiler: x86_64 `cc` is not
    // the Pi's, so nothing is compared, and the probe says why.
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let p = probe(&conf, empty.path());
    assert_eq!(p.code, 0, "{}", p.text);
    assert_eq!(p.json["local"]["comparable"], false);
    let why = p.json["local"]["not_comparable"].as_str().unwrap();
    assert!(why.contains("not the Pi's compiler"), "{why}");
    assert_eq!(host(&p.json)["compared"]["local_code_model"], Value::Null);
}

/// When this machine has the Pi's C compiler but its C++ falls back to a compiler for
/// another architecture (`c++` here is x86_64), C++ is not compared, and not blamed on the
/// flags.
#[test]
fn a_foreign_cxx_fallback_is_not_compared() {
    let pi = ARMV7H;
    if !skip_unless("a_foreign_cxx_fallback_is_not_compared", &pi) {
        return;
    }
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let only_gcc = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which(pi.gcc.1), only_gcc.path().join(pi.gcc.0)).unwrap();
    let p = probe(&conf, only_gcc.path());
    assert_eq!(p.code, 0, "{}", p.text);
    assert_eq!(p.json["problems"], serde_json::json!([]), "{}", p.json);
    let cxx = p.json["local"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job"] == "cxx")
        .unwrap();
    assert_eq!(cxx["result"], "missing", "{cxx}");
    assert!(
        cxx["error"]
            .as_str()
            .unwrap()
            .contains("C++ is not compared"),
        "{cxx}"
    );
}

/// This machine's compiler, as slow as a busy Pi: a script that, for the jobs whose
/// arguments match `when` (a shell pattern), starts a 60 s sleep and waits for it, its pid
/// written to `pids`; for the others it is the Pi's real compiler. Its folder's name holds
/// an escape sequence, which the probe shows: it must come out escaped. Returns the folder
/// to put on PATH.
fn slow_compilers(pi: &Pi, when: &str, pids: &Path) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin\x1b[2J");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(which(pi.gxx.1), bin.join(pi.gxx.0)).unwrap();
    // The real gcc, whose assembler hangs: cc1 has written its .s file (into TMPDIR, unless
    // -pipe) when the time bound ends them.
    let slow_as = dir.path().join("slow-as");
    std::fs::create_dir(&slow_as).unwrap();
    let script = |path: &Path, text: String| {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        &slow_as.join("as"),
        format!(
            "#!/bin/sh\nsleep 60 & echo $! >> '{pids}'; wait; exit 1\n",
            pids = pids.display()
        ),
    );
    script(
        &bin.join(pi.gcc.0),
        format!(
            "#!/bin/sh\ncase \"$*\" in\n  {when}) exec '{real}' -B '{slow_as}/' \"$@\" ;;\nesac\nexec '{real}' \"$@\"\n",
            real = which(pi.gcc.1).display(),
            slow_as = slow_as.display(),
        ),
    );
    (dir, bin)
}

/// Whether a process runs (a zombie or a reaped one does not).
fn runs(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
    !(state.is_empty() || state.starts_with('Z'))
}

/// A local reference compile still running at the probe's time bound says so, with the
/// option that gives it longer, and is ended with all it started. It is not "makepkg fails
/// here": nothing failed.
#[test]
fn a_local_compile_that_runs_out_of_time_says_so_and_is_ended() {
    let pi = AARCH64;
    if !skip_unless(
        "a_local_compile_that_runs_out_of_time_says_so_and_is_ended",
        &pi,
    ) {
        return;
    }
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    // The tool's TMPDIR, which its probe leaves as it found it (gcc's own temp files too).
    let tmpdir = tempfile::tempdir().unwrap();
    let probe_in = |compilers: &Path, json: bool| {
        let mut cmd = bin();
        cmd.env("PATH", path_with(compilers))
            .env("TMPDIR", tmpdir.path())
            .arg("--config")
            .arg(&conf)
            // Long enough for the helper's real compiles on a loaded machine or qemu, far
            // shorter than the slow compiler's sleep.
            .args(["probe", "--timeout", "6"]);
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.code(),
            stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ended = |pids: &Path| {
        let pids = std::fs::read_to_string(pids).unwrap_or_default();
        let started: Vec<&str> = pids.lines().collect();
        assert!(!started.is_empty(), "the slow compiler never ran");
        std::thread::sleep(std::time::Duration::from_millis(200));
        for pid in started {
            assert!(
                !runs(pid),
                "the slow compile's child {pid} outlived the probe"
            );
        }
        let left: Vec<_> = std::fs::read_dir(tmpdir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    };

    // The probe's JSON with a slow compiler for `when`; the helper passes either way.
    let slow_probe = |when: &str, pids_name: &str| {
        let pids = dir.path().join(pids_name);
        let compilers = slow_compilers(&pi, when, &pids);
        let (code, out, err) = probe_in(&compilers.1, true);
        let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        assert_eq!(code, Some(0), "the helper is fine: {out}{err}");
        (compilers, pids, json)
    };

    // Every local compile is slow: nothing to compare, and the probe says why.
    let (compilers, pids, json) = slow_probe("*", "all.pids");
    assert_eq!(json["local"]["comparable"], false, "{json}");
    let why = json["local"]["not_comparable"].as_str().unwrap();
    assert!(
        why.contains("did not finish the probe's unit in 6 s"),
        "{why}"
    );
    assert!(why.contains("a longer --timeout"), "{why}");
    ended(&pids);
    let (_, out, err) = probe_in(&compilers.1, false);
    let text = out + &err;
    assert!(
        text.contains("did not finish the probe's unit in 6 s"),
        "{text}"
    );
    // The folder's name is shown, escaped: the terminal is never cleared by it.
    assert!(text.contains("bin\\x1b[2J"), "{text}");
    assert!(!text.contains('\x1b'), "{text}");
    assert!(!text.contains("with or without distcc"), "{text}");

    // Only the job with the config's CFLAGS is slow: the rest is compared, and that one is
    // a warning that names the option, not an error about the flags.
    let (compilers, pids, json) = slow_probe("*-fstack-protector-strong*", "cflags.pids");
    assert_eq!(json["local"]["comparable"], true, "{json}");
    let cflags = json["local"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job"] == "cflags")
        .unwrap();
    assert_eq!(cflags["result"], "timed_out", "{cflags}");
    let local_problems = json["local"]["problems"].as_array().unwrap();
    assert_eq!(local_problems.len(), 1, "{json}");
    assert_eq!(local_problems[0]["severity"], "warning", "{json}");
    let message = local_problems[0]["message"].as_str().unwrap();
    assert!(
        message.contains("did not finish the probe's unit with CFLAGS in 6 s"),
        "{message}"
    );
    assert!(
        local_problems[0]["fix"]
            .as_str()
            .unwrap()
            .contains("--timeout"),
        "{json}"
    );
    ended(&pids);
    let (_, out, err) = probe_in(&compilers.1, false);
    let text = out + &err;
    assert!(!text.contains("with or without distcc"), "{text}");
    assert!(text.contains("longer --timeout"), "{text}");
}

/// The Pi's compiler, logging each run's arguments to `log` as it starts and ends; the run
/// that makes the headers job (`-save-temps`) waits `delay` seconds first.
fn logged_compilers(pi: &Pi, log: &Path, delay: u32) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    for (name, program) in [pi.gcc, pi.gxx] {
        let script = dir.path().join(name);
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"start: $*\" >> '{log}'\n\
                 case \"$*\" in *-save-temps*) sleep {delay} ;; esac\n\
                 '{real}' \"$@\"\nstatus=$?\necho \"end: $*\" >> '{log}'\nexit $status\n",
                log = log.display(),
                real = which(program).display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// `probe` (JSON and text) of a helper like the Pi, with the Pi's compilers logged as
/// `logged_compilers` does: the probe and the log.
fn probe_logged(pi: &Pi, delay: u32) -> (Probed, String) {
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let log = dir.path().join("compiles.log");
    let compilers = logged_compilers(pi, &log, delay);
    let p = probe(&conf, compilers.path());
    (p, std::fs::read_to_string(&log).unwrap_or_default())
}

/// On the Pi, the headers unit is preprocessed and compiled once, by the run that makes the
/// text sent: the reference does not compile it again. Its rows show no code model, which
/// its calls through the GOT (`-fno-plt`) would give as PIE whatever the compiler's default.
#[test]
fn the_pis_headers_unit_is_compiled_here_once_and_shown_without_a_code_model() {
    for pi in [AARCH64, ARMV7H] {
        if !skip_unless(
            "the_pis_headers_unit_is_compiled_here_once_and_shown_without_a_code_model",
            &pi,
        ) {
            return;
        }
        let (p, runs) = probe_logged(&pi, 0);
        assert_eq!(p.code, 0, "{}: {}", pi.carch, p.text);
        let headers = attempt(&p.json, "headers");
        assert_eq!(headers["result"], "object", "{headers}");
        assert_eq!(headers["code_model"], Value::Null, "{headers}");
        let local = p.json["local"]["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["job"] == "headers")
            .unwrap_or_else(|| panic!("no local headers run: {}", p.json));
        assert_eq!(local["result"], "object", "{local}");
        assert_eq!(local["code_model"], Value::Null, "{local}");
        // The CFLAGS job, same flags and compiler, still says PIE.
        assert_eq!(attempt(&p.json, "cflags")["code_model"], "PIE");

        // Two probes (JSON and text): one run each made the text, and nothing compiled the
        // preprocessed text here.
        let making: Vec<&str> = runs
            .lines()
            .filter(|l| l.starts_with("start:") && l.contains("-save-temps"))
            .collect();
        assert_eq!(making.len(), 2, "{runs}");
        assert!(
            !runs.lines().any(|l| l.contains("probe.i")),
            "the headers text was compiled again here:\n{runs}"
        );

        let row = p
            .text
            .lines()
            .find(|l| l.contains("headers") && l.contains("ok:"))
            .unwrap_or_else(|| panic!("no headers row: {}", p.text));
        assert!(!row.contains("PIE"), "{row}");
        let here = p
            .text
            .lines()
            .find(|l| l.trim_start().starts_with("headers:"))
            .unwrap_or_else(|| panic!("no local headers line: {}", p.text));
        assert!(here.contains("gcc "), "{here}");
        assert!(!here.contains("PIE"), "{here}");
    }
}

/// When the Pi cannot make the headers job in time, probe and doctor say that the helpers
/// were not checked for it, with the option that helps; the rest is still compared.
#[test]
fn a_headers_unit_the_pi_cannot_make_in_time_is_a_warning() {
    let pi = AARCH64;
    if !skip_unless(
        "a_headers_unit_the_pi_cannot_make_in_time_is_a_warning",
        &pi,
    ) {
        return;
    }
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let pids = dir.path().join("pids");
    let compilers = slow_compilers(&pi, "*-save-temps*", &pids);
    let run = |args: &[&str]| on_pi(&conf, &compilers.1, args);
    let (code, out, err) = run(&["probe", "--timeout", "6", "--json"]);
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(code, Some(0), "a warning, not a failure: {out}{err}");
    let general = json["problems"].as_array().unwrap();
    let unsent = general
        .iter()
        .find(|p| {
            p["message"]
                .as_str()
                .unwrap()
                .contains("were not sent this machine's own headers")
        })
        .unwrap_or_else(|| panic!("no warning of the unsent headers: {json}"));
    assert_eq!(unsent["severity"], "warning", "{unsent}");
    assert!(
        unsent["message"]
            .as_str()
            .unwrap()
            .contains("did not finish in 6 s"),
        "{unsent}"
    );
    assert!(
        unsent["fix"].as_str().unwrap().contains("longer --timeout"),
        "{unsent}"
    );
    // No headers job went out; the others were compared as usual.
    assert!(
        !host(&json)["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["job"] == "headers"),
        "{json}"
    );
    assert_eq!(json["local"]["comparable"], true, "{json}");
    assert_eq!(attempt(&json, "cflags")["result"], "object");
    let started = std::fs::read_to_string(&pids).unwrap_or_default();
    assert!(!started.is_empty(), "the slow compile never ran");
    std::thread::sleep(std::time::Duration::from_millis(200));
    for pid in started.lines() {
        assert!(!runs(pid), "the slow compile {pid} outlived the probe");
    }

    // doctor's exit code also reflects this machine (its masquerade folder, say).
    let (_, out, err) = run(&["doctor", "--timeout", "6"]);
    let text = out + &err;
    assert!(!text.contains("fails the probe"), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("were not sent this machine's own headers"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("warning"), "{line}");
    assert!(
        text.contains("were not sent this machine's own headers"),
        "{text}"
    );
    assert!(text.contains("longer --timeout"), "{text}");
}

/// This machine's compiles of the probe's own units run while it makes the headers job,
/// not after it (the helpers wait for that job); its runs are still listed in the order
/// the jobs were sent.
#[test]
fn the_pis_own_units_compile_while_it_makes_the_headers_job() {
    let pi = AARCH64;
    if !skip_unless(
        "the_pis_own_units_compile_while_it_makes_the_headers_job",
        &pi,
    ) {
        return;
    }
    let (p, runs) = probe_logged(&pi, 2);
    assert_eq!(p.code, 0, "{}", p.text);
    let lines: Vec<&str> = runs.lines().collect();
    let making = |edge: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(edge) && l.contains("-save-temps"))
            .unwrap_or_else(|| panic!("no {edge} of the headers run:\n{runs}"))
    };
    // The first probe's: before its headers run ended (which took 2 s more), the other
    // units had started.
    let to = making("end:");
    let beside: Vec<&&str> = lines[..to]
        .iter()
        .filter(|l| l.starts_with("start:") && l.contains("-c ") && !l.contains("-save-temps"))
        .collect();
    assert!(
        beside.len() >= 3,
        "bare, CFLAGS and C++ should start while the headers job is made:\n{runs}"
    );
    // Listed as sent: each decisive attempt's job, in order, has its run here.
    let sent: Vec<&str> = host(&p.json)["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["decisive"] == true)
        .map(|a| a["job"].as_str().unwrap())
        .collect();
    let here: Vec<&str> = p.json["local"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job"].as_str().unwrap())
        .collect();
    assert_eq!(here, sent, "{}", p.json);
    assert!(here.contains(&"headers"), "{here:?}");
}

/// The Pi's compile of the headers unit succeeds but leaves an object that is not sound ELF:
/// nothing is sent for that job, and probe says why as a warning, never a verdict.
#[test]
fn a_headers_object_the_pi_cannot_read_is_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let pi = AARCH64;
    if !skip_unless("a_headers_object_the_pi_cannot_read_is_a_warning", &pi) {
        return;
    }
    let helper = pi.helper().start();
    let dir = tempfile::tempdir().unwrap();
    let conf = pi.config(dir.path(), &helper.spec(4), "");
    let compilers = pi.compilers();
    let gcc = compilers.path().join(pi.gcc.0);
    std::fs::remove_file(&gcc).unwrap();
    std::fs::write(
        &gcc,
        format!(
            "#!/bin/sh\n'{real}' \"$@\" || exit\ncase \"$*\" in *-save-temps*) echo 'not ELF' > probe.o ;; esac\n",
            real = which(pi.gcc.1).display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&gcc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, out, err) = on_pi(
        &conf,
        compilers.path(),
        &["probe", "--timeout", "20", "--json"],
    );
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(code, Some(0), "{out}{err}");
    let unsent = json["problems"].to_string();
    assert!(
        unsent.contains("were not sent this machine's own headers")
            && unsent.contains("made no object it could read"),
        "{json}"
    );
    assert!(
        !host(&json)["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["job"] == "headers"),
        "{json}"
    );
}
