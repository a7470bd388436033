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

fn pi_builds_meson_through_the_pool(arch: PiArch, suite: Suite) {
    let test = format!(
        "the job pool on an emulated {} {} Pi",
        suite.name(),
        arch.debian()
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
    copy_package("pool-package", &pkg);
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
    assert_eq!(r.units, 17, "{out}");
    eprintln!("{}", r.render());

    // The objects are ARM, and the run left nothing in TMPDIR.
    let bytes = std::fs::read(pkg.join("src/build/pooltest.p/u01.c.o")).unwrap();
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

#[test]
fn a_pi_of_todays_generation_gives_ninja_every_slot() {
    pi_builds_meson_through_the_pool(PiArch::Arm64, Suite::Testing);
}

#[test]
fn a_bookworm_pi_still_builds_meson_with_the_pools_wrapper() {
    pi_builds_meson_through_the_pool(PiArch::Arm64, Suite::Bookworm);
}
