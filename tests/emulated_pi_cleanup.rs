//! What a killed test run leaves of its emulated Pis: each Pi is a tmpfs of up to 3 GB with
//! /proc and /dev mounted in it, unmounted by the test's clean-up, which a SIGKILL (a CI
//! timeout, a Ctrl-\) never runs. The next test process that makes a Pi detaches the
//! mounts of Pis whose process is gone, and removes their folders (tests/common/pi.rs).

mod common;

use common::pi::*;
use common::*;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CHILD: &str = "ALARM_DISTCC_TEST_KILLED_PI";

/// Run only by the test below, as a process of its own that it kills.
#[test]
#[ignore = "the process the_mounts_of_a_killed_tests_pi_are_swept_by_the_next_one kills"]
fn a_pi_made_by_a_process_killed_later() {
    assert!(
        std::env::var_os(CHILD).is_some(),
        "run by its parent test only"
    );
    let pi = Pi::new(PiArch::Arm64, &stock_config(PiArch::Arm64).unwrap());
    println!("ROOT {}", pi.root.display());
    std::thread::sleep(std::time::Duration::from_secs(600));
}

fn mounted_under(folder: &Path) -> Vec<PathBuf> {
    mount_points()
        .into_iter()
        .filter(|m| m.starts_with(folder))
        .collect()
}

#[test]
fn the_mounts_of_a_killed_tests_pi_are_swept_by_the_next_one() {
    let test = "the_mounts_of_a_killed_tests_pi_are_swept_by_the_next_one";
    if std::env::consts::ARCH != "x86_64" {
        // Under qemu already (the suite run for an ARM target): no emulator inside one.
        return not_on_this_arch(test, "the emulated Pi runs from the x86_64 suite");
    }
    if let Some(why) = cannot_emulate(PiArch::Arm64) {
        return skip(test, &why);
    }
    if let Err(why) = stock_config(PiArch::Arm64) {
        return skip(test, &why);
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "a_pi_made_by_a_process_killed_later",
        ])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut root = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        // libtest may have written "test NAME ... " on the same line first.
        if let Some((_, r)) = line.unwrap().split_once("ROOT ") {
            root = Some(PathBuf::from(r));
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let root = root.expect("the child made its Pi");
    let folder = root.parent().unwrap().to_path_buf();
    let left = mounted_under(&folder);
    for m in [root.clone(), root.join("proc"), root.join("dev")] {
        assert!(
            left.contains(&m),
            "the kill left {} mounted: {left:?}",
            m.display()
        );
    }

    // A Pi folder whose process still runs (this one's) is not touched.
    let own = tempfile::tempdir().unwrap();
    std::fs::write(own.path().join("owner"), this_process()).unwrap();
    std::fs::create_dir(own.path().join("root")).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(own.path().join("root"))
        .status()
        .unwrap();
    assert!(status.success());

    sweep_left_mounts(&std::env::temp_dir());

    let still_own = mounted_under(own.path());
    let _ = Command::new("umount").arg(own.path().join("root")).status();
    assert_eq!(mounted_under(&folder), Vec::<PathBuf>::new());
    assert!(!folder.exists(), "{} is removed", folder.display());
    assert_eq!(
        still_own,
        vec![own.path().join("root")],
        "a running test's Pi stays"
    );
}
