//! The job pool on an emulated Pi: the Pi's own ARM alarm-distcc configures its stock
//! ALARM config (`set-local 2`, `add-host HELPER/6`: -j8), then `alarm-distcc build` runs
//! the Pi's real makepkg on a meson + ninja package (tests/pool-package, the way Arch's
//! PKGBUILDs build meson projects) through a helper whose cross gcc has the Pi's major
//! version: a distccd in the helper's root of the same Debian generation.
//!
//! Today's generation (Debian testing: makepkg 7.1, gcc 16, make 4.4, ninja 1.13): ninja
//! joins the run's fifo jobserver, so the build step runs more jobs at once than ninja's
//! own cores + 2, never more than the pool. The one before (bookworm: make 4.3, ninja
//! 1.11): the same package still builds, ninja gets -j8 from the pool's wrapper, and the
//! receipt says which way each tool got its jobs.

mod common;

use alarm_distcc::distcc::elf::{Arch, elf_arch};
use alarm_distcc::receipts::receipt::Receipt;
use common::pi::*;
use common::*;

const HELPER_SLOTS: u32 = 6;
const JOBS: u32 = 8;

/// What the Pi builds: the suite's own 17-file package, or a real one.
#[derive(Clone, Copy, PartialEq)]
enum Package {
    PoolTest,
    /// pixman 0.42.2 from Debian's sources, built as Arch's PKGBUILD builds it.
    Pixman,
}

fn pi_builds_meson_through_the_pool(arch: PiArch, suite: Suite, package: Package) {
    let test = format!(
        "the job pool on an emulated {} {} Pi{}",
        suite.name(),
        arch.debian(),
        if package == Package::Pixman {
            ", building pixman"
        } else {
            ""
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
        Package::PoolTest => None,
        Package::Pixman => match debian_source("pixman", "0.42.2") {
            Ok(t) => Some(t),
            Err(why) => return skip(&test, &why),
        },
    };
    let pi = Pi::of_suite(arch, suite, &stock);
    let helper = Pi::helper_root(arch, suite);

    // The helper: distccd serving ALARM's compiler name with Debian's cross gcc of the
    // Pi's generation; each job first waits a second, so the jobs that run at once show.
    let sent = format!("{}-gcc", arch.chost());
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

    // The seed's steps by the Pi's own alarm-distcc; ALARM's gcc has the CHOST name.
    pi.root_ok("alarm-distcc --yes set-local 2");
    pi.root_ok(&format!(
        "alarm-distcc --yes add-host 127.0.0.1:{port}/{HELPER_SLOTS}"
    ));
    pi.root_ok(&format!("ln -s {} /usr/bin/{sent}", arch.cross_gcc()));
    let versions = pi.root_ok("make --version | head -1; ninja --version");

    let pkg = pi.path("home/builder/pkg");
    match &tarball {
        None => copy_package("pool-package", &pkg),
        Some(tarball) => {
            copy_package("real-packages/pixman", &pkg);
            std::fs::copy(tarball, pkg.join(tarball.file_name().unwrap())).unwrap();
            std::fs::copy(
                manifest_dir().join("tests/real-packages/arch-meson"),
                pi.path("usr/local/bin/arch-meson"),
            )
            .unwrap();
        }
    }
    // The package builds for the Pi's CARCH (arch=(any) needs no change).
    pi.root_ok("mkdir -p /home/builder/state /home/builder/tmp && chown -R builder: /home/builder");
    let build = pi.sh(
        Some(PI_USER),
        1800,
        &[
            ("POOL_BUILD", "meson"),
            ("TMPDIR", "/home/builder/tmp"),
            ("ALARM_DISTCC_STATE_DIR", "/home/builder/state"),
        ],
        "cd ~/pkg && alarm-distcc build -f --nodeps --noconfirm",
    );
    let out = text(&build);
    let helper_log =
        std::fs::read_to_string(helper.path("var/log/distccd.log")).unwrap_or_default();
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
    assert!(
        r.build_systems.contains_key("ninja"),
        "{:?}",
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
        Package::PoolTest => {
            assert_eq!(r.units, 17, "{out}");
            "src/build/pooltest.p/u01.c.o"
        }
        Package::Pixman => {
            assert!(r.units >= 30, "{out}");
            assert!(r.phases.iter().any(|p| p.phase == "build"), "{out}");
            // One of the library's own objects (meson puts them in `<target>.p/`).
            "src/build/pixman/libpixman-1.so.0.42.2.p/pixman.c.o"
        }
    };
    // No real unit stayed on the Pi for a failure that was not the helper's: every unit on
    // the Pi has a reason of its own (its slot, a link, assembler), none a backoff.
    for group in &r.on_pi {
        assert!(
            !matches!(group.kind.as_str(), "backoff" | "fallback" | "unknown"),
            "{group:?}\n{out}"
        );
    }
    assert_eq!(r.compile_errors.helper_only, 0, "{out}");
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

/// Debian's upstream tarball of a source package, fetched once into the test cache.
fn debian_source(pkg: &str, version: &str) -> Result<std::path::PathBuf, String> {
    let out = std::process::Command::new(manifest_dir().join("scripts/debian-source.sh"))
        .args([pkg, version])
        .output()
        .map_err(|e| format!("scripts/debian-source.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Debian's source of {pkg} {version} could not be fetched: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().into())
}

#[test]
fn a_pi_of_todays_generation_gives_ninja_every_slot() {
    pi_builds_meson_through_the_pool(PiArch::Arm64, Suite::Testing, Package::PoolTest);
}

#[test]
fn a_bookworm_pi_still_builds_meson_with_the_pools_wrapper() {
    pi_builds_meson_through_the_pool(PiArch::Arm64, Suite::Bookworm, Package::PoolTest);
}

/// A real meson package, the way Arch builds it, through the pool on a Pi of today's
/// generation.
#[test]
fn a_real_meson_package_gets_every_slot_on_a_pi_of_todays_generation() {
    pi_builds_meson_through_the_pool(PiArch::Arm64, Suite::Testing, Package::Pixman);
}
