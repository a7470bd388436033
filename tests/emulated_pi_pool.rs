//! The job pool on an emulated Pi: the Pi's own ARM alarm-distcc configures its stock
//! ALARM config (`set-local 2`, `add-host HELPER/6`: -j8), then `alarm-distcc build` runs
//! the Pi's real makepkg through a helper whose cross gcc has the Pi's major version (a
//! distccd in the helper's root of the same Debian generation) on the suite's own package
//! (tests/pool-package: meson, or make calling ninja) or on real packages from Debian's
//! sources with PKGBUILDs written the way Arch writes them (tests/real-packages: meson +
//! ninja, cmake + ninja, cmake + make, a plain Makefile, autotools + libtool).
//!
//! Today's generation (Debian testing: makepkg 7.1, gcc 16, make 4.4, ninja 1.13): make and
//! ninja join the run's fifo jobserver, so the build step runs more jobs at once than
//! ninja's own cores + 2, never more than the pool. The one before (bookworm: make 4.3,
//! ninja 1.11): the same packages still build, ninja gets -j8 from the pool's wrapper, and
//! the receipt says which way each tool got its jobs.

mod common;

use alarm_distcc::distcc::elf::{Arch, elf_arch};
use alarm_distcc::receipts::receipt::Receipt;
use common::distccd::settled_log;
use common::pi::*;
use common::*;

const HELPER_SLOTS: u32 = 6;
const JOBS: u32 = 8;

/// What the Pi builds: the suite's own 17-file package, or a real one.
#[derive(Clone, Copy)]
enum Package {
    /// tests/pool-package, built by the build system POOL_BUILD names (`meson`, `nested`:
    /// make calling ninja).
    PoolTest(&'static str),
    Real(&'static RealPackage),
}

/// A real package from Debian's sources, built by a PKGBUILD written the way Arch writes
/// them (tests/real-packages/DIR).
struct RealPackage {
    dir: &'static str,
    /// The build tool whose processes start the compiles (`ninja`, `make`).
    tool: &'static str,
    /// One of the package's own objects, from the package folder.
    object: &'static str,
    /// The fewest units it has (configure checks apart).
    units: u32,
    /// `alarm-distcc build`'s own options for it.
    build_opts: &'static str,
    /// Units that fail only on the helper whatever the run keeps: -Werror warnings in code
    /// from macros, which the preprocessed text no longer shows.
    macro_warnings: bool,
}

/// pixman 0.42.2: meson + ninja (arch-meson, meson compile).
const PIXMAN: RealPackage = RealPackage {
    dir: "pixman",
    tool: "ninja",
    object: "src/build/pixman/libpixman-1.so.0.42.2.p/pixman.c.o",
    units: 30,
    build_opts: "",
    macro_warnings: false,
};

/// json-c 0.16: cmake + ninja, -Werror with /* fall through */ comments: built with
/// `--keep-comments`, the receipt's advice for it.
const JSON_C: RealPackage = RealPackage {
    dir: "json-c",
    tool: "ninja",
    object: "src/build/CMakeFiles/json-c.dir/json_tokener.c.o",
    units: 20,
    build_opts: "--keep-comments",
    macro_warnings: false,
};

/// cJSON 1.7.15: cmake + make (cmake's default generator, Unix Makefiles), -Werror, its
/// flags each checked by a try-compile. Two of its tests call `cJSON_SetNumberValue` and
/// `cJSON_ArrayForEach`, macros that compare an array's address with NULL: gcc 16 leaves
/// that out of -Waddress in a macro, but the preprocessed text the helper gets has no
/// macros, so those two fail there and the Pi compiles them (-C cannot help;
/// -fdirectives-only would, but cJSON builds with -Wunused-macros, which it refuses). Built
/// with `--keep-comments`, so the receipt can tell that what is left is the macros'.
const CJSON: RealPackage = RealPackage {
    dir: "cjson",
    tool: "make",
    object: "src/build/CMakeFiles/cjson.dir/cJSON.c.o",
    units: 25,
    build_opts: "--keep-comments",
    macro_warnings: true,
};

/// zlib 1.2.13: its own configure script and a plain Makefile.
const ZLIB: RealPackage = RealPackage {
    dir: "zlib",
    tool: "make",
    object: "src/zlib-1.2.13.dfsg/deflate.lo",
    units: 20,
    build_opts: "",
    macro_warnings: false,
};

/// lzo 2.10: autotools + libtool.
const LZO: RealPackage = RealPackage {
    dir: "lzo",
    tool: "make",
    object: "src/lzo-2.10/src/.libs/lzo1x_1.o",
    units: 40,
    build_opts: "",
    macro_warnings: false,
};

fn pi_builds_through_the_pool(arch: PiArch, suite: Suite, package: Package) {
    let test = format!(
        "the job pool on an emulated {} {} Pi{}",
        suite.name(),
        arch.debian(),
        match package {
            Package::Real(p) => format!(", building {}", p.dir),
            Package::PoolTest(_) => String::new(),
        }
    );
    if std::env::consts::ARCH != "x86_64" {
        return not_on_this_arch(&test, "the emulated Pi runs from the x86_64 suite");
    }
    let stock = match cannot_emulate_suite(arch, suite)
        .or_else(|| cannot_make_root(suite))
        .map_or_else(|| stock_config(arch), Err)
    {
        Ok(stock) => stock,
        Err(why) => return skip(&test, &why),
    };
    let tarball = match package {
        Package::PoolTest(_) => None,
        Package::Real(p) => match debian_source(p.dir) {
            Ok(t) => Some(t),
            Err(why) => return skip(&test, &why),
        },
    };
    let pi = Pi::of_suite(arch, suite, &stock);
    let helper = Pi::helper_root(arch, suite);

    // The helper: distccd serving the name the Pi's client sends with Debian's cross gcc of
    // the Pi's generation; each job first waits a second, so the jobs that run at once show.
    // The name is distcc's own triple (ALARM's CHOST on a real Pi, where distcc is built
    // for it; Debian's armhf distcc says arm-unknown-linux-gnueabihf), less its `-pc-`.
    let sent = format!(
        "{}-gcc",
        pi.root_ok("distcc --version")
            .split_whitespace()
            .nth(2)
            .unwrap()
            .replace("-pc-", "-")
    );
    let distccd = helper.serve_distccd(
        &[&sent],
        &format!("/usr/bin/{}", arch.cross_gcc()),
        "-frecord-gcc-switches",
        1.0,
        HELPER_SLOTS,
    );
    let port = distccd.port;
    let gcc_major = |root: &Pi, gcc: &str| {
        root.root_ok(&format!("{gcc} -dumpversion"))
            .trim()
            .split('.')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        gcc_major(&pi, "gcc"),
        gcc_major(&helper, arch.cross_gcc()),
        "the helper's cross gcc has the Pi's major version"
    );

    // The seed's steps by the Pi's own alarm-distcc; the Pi's gcc under the name distcc's
    // client rewrites `gcc` to (it does only when that name is on PATH).
    pi.root_ok("alarm-distcc --yes set-local 2");
    pi.root_ok(&format!(
        "alarm-distcc --yes add-host 127.0.0.1:{port}/{HELPER_SLOTS}"
    ));
    pi.root_ok(&format!("ln -s {} /usr/bin/{sent}", arch.cross_gcc()));
    let versions = pi.root_ok("make --version | head -1; ninja --version");

    let pkg = pi.path("home/builder/pkg");
    match (&tarball, package) {
        (Some(tarball), Package::Real(p)) => {
            copy_package(&format!("real-packages/{}", p.dir), &pkg);
            std::fs::copy(tarball, pkg.join(tarball.file_name().unwrap())).unwrap();
            std::fs::copy(
                manifest_dir().join("tests/real-packages/arch-meson"),
                pi.path("usr/local/bin/arch-meson"),
            )
            .unwrap();
        }
        _ => copy_package("pool-package", &pkg),
    }
    // The package builds for the Pi's CARCH (arch=(any) needs no change).
    pi.root_ok("mkdir -p /home/builder/state /home/builder/tmp && chown -R builder: /home/builder");
    let build = pi.sh(
        Some(PI_USER),
        1800,
        &[
            (
                "POOL_BUILD",
                match package {
                    Package::PoolTest(kind) => kind,
                    Package::Real(_) => "",
                },
            ),
            ("TMPDIR", "/home/builder/tmp"),
            ("ALARM_DISTCC_STATE_DIR", "/home/builder/state"),
        ],
        &format!(
            "cd ~/pkg && alarm-distcc build {} -f --nodeps --noconfirm",
            match package {
                Package::Real(p) => p.build_opts,
                Package::PoolTest(_) => "",
            }
        ),
    );
    let out = text(&build);
    let helper_log = settled_log(&helper.path("var/log/distccd.log"));
    drop(distccd);
    assert!(build.status.success(), "{out}\nhelper:\n{helper_log}");
    let r: Receipt = serde_json::from_str(
        std::fs::read_to_string(pi.path("home/builder/state/builds.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();

    // Which way each tool got its jobs, as this generation allows.
    let pool = r.pool.as_ref().expect("a job pool");
    match suite {
        Suite::Testing => {
            assert!(
                versions.contains("GNU Make 4.4") && versions.contains("1.13."),
                "{versions}"
            );
            assert!(pool.jobserver, "{}", pool.summary);
            assert!(
                pool.summary.contains("ninja 1.13.2 joins the jobserver"),
                "{}",
                pool.summary
            );
        }
        Suite::Bookworm => {
            assert!(
                versions.contains("GNU Make 4.3") && versions.contains("1.11."),
                "{versions}"
            );
            assert!(!pool.jobserver, "{}", pool.summary);
            assert!(
                pool.summary
                    .contains("given -j8 by alarm-distcc's ninja wrapper"),
                "{}",
                pool.summary
            );
        }
    }
    assert!(out.contains(&pool.summary), "the receipt says it: {out}");
    assert_eq!(r.jobs, Some(JOBS));
    let tool = match package {
        Package::Real(p) => p.tool,
        Package::PoolTest(_) => "ninja",
    };
    if let Package::PoolTest("nested") = package {
        assert!(
            r.build_systems.contains_key("make"),
            "{:?}",
            r.build_systems
        );
    }
    assert!(
        r.build_systems.contains_key(tool),
        "{tool}: {:?}",
        r.build_systems
    );

    // More jobs at once than ninja's own default on this (emulated, 2-core) Pi, never more
    // than the pool.
    let cores = pi.root_ok("nproc").trim().parse::<u32>().unwrap();
    let ninja_default = if cores <= 1 {
        2
    } else if cores == 2 {
        3
    } else {
        cores + 2
    };
    let most = r.most_at_once_by_phase.get("build").copied().unwrap_or(0);
    assert!(most <= JOBS, "{most} at once of {JOBS}");
    if ninja_default < JOBS - 1 {
        assert!(most > ninja_default, "at most {most} at once:\n{out}");
    }

    // Units on the helper are its own log's, at least one; configure checks apart.
    let compiled = helper_log.matches("COMPILE_OK").count();
    assert!(r.units_on_helpers >= 1, "{out}");
    assert_eq!(
        compiled,
        (r.units_on_helpers + r.checks_on_helpers) as usize,
        "{out}\n{helper_log}"
    );
    let object = match package {
        Package::PoolTest("nested") => {
            // make's 17 units and ninja's 17 of the same files.
            assert_eq!(r.units, 34, "{out}");
            "src/u01.o"
        }
        Package::PoolTest(_) => {
            assert_eq!(r.units, 17, "{out}");
            "src/build/pooltest.p/u01.c.o"
        }
        Package::Real(p) => {
            assert!(r.units >= p.units, "{out}");
            assert!(r.phases.iter().any(|p| p.phase == "build"), "{out}");
            // The Pi's own work in build(), from distcc's own times: it preprocessed what
            // the helper compiled, and linked the library through the compiler driver.
            let step = r.build_step.as_ref().expect("build() has compile units");
            assert!(
                step.pi_work.preprocessing > 0.0 && step.pi_work.linking > 0.0,
                "{:?}\n{out}",
                step.pi_work
            );
            assert!(out.contains("the Pi's own CPU time in build()"), "{out}");
            // And how busy the Pi's CPUs were (its /proc/stat: this machine's, shared with
            // the helper), read by the ARM binary under qemu.
            let busy = step.cpu_busy.expect("the CPU trace covers the units");
            assert!(busy > 0.0 && busy <= 1.0 && step.cpus >= 1, "{step:?}");
            assert!(
                out.contains(&format!("the Pi's {} CPUs were", step.cpus)),
                "{out}"
            );
            p.object
        }
    };
    // No real unit stayed on the Pi for a failure that was not the helper's: every unit on
    // the Pi has a reason of its own (its slot, a link, assembler), none a backoff or a
    // compile again after an error on the helper (a configure check meant to fail is a
    // check, not a unit). Save the warnings that preprocessed text raises in code from
    // macros, which nothing for the run prevents: the receipt names them and says so.
    let macro_warnings = match package {
        Package::Real(p) => p.macro_warnings,
        Package::PoolTest(_) => false,
    };
    for group in &r.on_pi {
        assert!(
            !matches!(group.kind.as_str(), "backoff" | "fallback" | "unknown"),
            "{group:?}\n{out}"
        );
        if group.kind == "compile_error_retry" {
            assert_eq!(group.units, r.compile_errors.helper_only, "{out}");
        }
    }
    if macro_warnings {
        assert!(r.compile_errors.helper_only >= 1, "{out}");
        // The helper's gcc said which warning, though distcc showed none of it: the tool
        // read it in the Pi's /tmp before distcc deleted it.
        let said = &r.compile_errors.helper_only_said;
        assert!(
            said.iter().any(|s| s.line.contains("[-Werror=address]")),
            "{said:?}\n{out}"
        );
        assert!(out.contains("the helper's compiler said about"), "{out}");
        let advice = r.advice.join("\n");
        assert!(
            advice.contains(
                "the comments were kept (--keep-comments), so these most likely warn in code from a macro"
            ),
            "{advice}"
        );
    } else {
        assert_eq!(r.compile_errors.helper_only, 0, "{out}");
    }
    eprintln!("{}", r.render());

    // The objects are ARM, and the run left nothing in TMPDIR.
    let bytes = std::fs::read(pkg.join(object)).unwrap();
    let expected = match arch {
        PiArch::Arm64 => Arch::Aarch64,
        PiArch::Armhf => Arch::Arm { hard_float: true },
    };
    assert_eq!(elf_arch(&bytes).unwrap(), expected);
    let left: Vec<_> = std::fs::read_dir(pi.path("home/builder/tmp"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Debian's upstream tarball of a real package (its folder's `debian-source` names the
/// source package and version), fetched once into the test cache.
fn debian_source(dir: &str) -> Result<std::path::PathBuf, String> {
    let named = std::fs::read_to_string(
        manifest_dir().join(format!("tests/real-packages/{dir}/debian-source")),
    )
    .unwrap();
    let words: Vec<&str> = named.split_whitespace().collect();
    let out = std::process::Command::new(manifest_dir().join("scripts/debian-source.sh"))
        .args(&words)
        .output()
        .map_err(|e| format!("scripts/debian-source.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Debian's source of {} could not be fetched: {}",
            named.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

#[test]
fn a_pi_of_todays_generation_gives_ninja_every_slot() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::PoolTest("meson"));
}

#[test]
fn a_bookworm_pi_still_builds_meson_with_the_pools_wrapper() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Bookworm, Package::PoolTest("meson"));
}

/// A real meson package, the way Arch builds it, through the pool on a Pi of today's
/// generation.
#[test]
fn a_real_meson_package_gets_every_slot_on_a_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::Real(&PIXMAN));
}

/// cmake + ninja, and -Werror with fall-through comments, the way Arch-style PKGBUILDs
/// build json-c.
#[test]
fn a_real_cmake_ninja_package_gets_every_slot_on_a_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::Real(&JSON_C));
}

/// cmake + make: `cmake -B build` with cmake's default generator, `cmake --build` running
/// make, the way Arch builds cJSON.
#[test]
fn a_real_cmake_make_package_gets_every_slot_on_a_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::Real(&CJSON));
}

/// A plain Makefile behind a hand-written configure script.
#[test]
fn a_real_plain_makefile_package_gets_every_slot_on_a_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::Real(&ZLIB));
}

/// autotools + libtool. 148 units (libtool builds each twice, PIC and not), 15 of them
/// compiled by the emulated Pi itself in its own slots: about 18 minutes here, too long for
/// the CI run (`cargo test --test emulated_pi_pool -- --ignored` runs it).
#[test]
#[ignore = "heavy: about 18 min under qemu-user; run with --ignored (CONTRIBUTING.md)"]
fn a_real_autotools_package_gets_every_slot_on_a_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::Real(&LZO));
}

/// make 4.4 calling ninja 1.13: both join the one pool, so the compiles at once never pass
/// N (without it, make's -j8 and ninja's own count would add up).
#[test]
fn nested_make_and_ninja_share_the_pool_on_a_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Testing, Package::PoolTest("nested"));
}

/// The same meson package on an armhf Pi of today's generation.
#[test]
fn a_real_meson_package_gets_every_slot_on_an_armhf_pi_of_todays_generation() {
    pi_builds_through_the_pool(PiArch::Armhf, Suite::Testing, Package::Real(&PIXMAN));
}

/// The same meson package on a bookworm Pi (make 4.3, ninja 1.11): it still builds, ninja
/// gets the pool's -j from the wrapper, and the receipt says so.
#[test]
fn a_real_meson_package_still_builds_on_a_bookworm_pi() {
    pi_builds_through_the_pool(PiArch::Arm64, Suite::Bookworm, Package::Real(&PIXMAN));
}
