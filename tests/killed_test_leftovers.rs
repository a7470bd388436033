//! What a killed test process leaves, and the next one removes. A SIGKILL (a CI timeout, a
//! Ctrl-\) never runs a test's clean-up: an emulated Pi is a tmpfs of up to 3 GB with /proc
//! and /dev mounted in it, and the tool's copy for other users a debug binary of some
//! hundred MB. Each is marked by its process (an `owner` file held locked while it runs), and
//! the next test process that makes one removes those whose process is gone
//! (tests/common/mod.rs and pi.rs).

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

/// (mount point, file system type) of each mount under `folder`, from mountinfo (after its
/// " - " separator comes the type).
fn mount_types_under(folder: &Path) -> Vec<(PathBuf, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let points = mount_points();
    info.lines()
        .zip(points)
        .filter(|(_, point)| point.starts_with(folder))
        .filter_map(|(line, point)| {
            let (_, after) = line.split_once(" - ")?;
            Some((point, after.split(' ').next()?.to_string()))
        })
        .collect()
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
    // What the kill left holds nothing of this machine's that an unlink reaches: its /dev is
    // a tmpfs of its own (every devtmpfs mount is this machine's /dev, which an `rm -rf` of
    // the folder would empty) with the devices a build uses; the ptys are devpts, which
    // refuses unlinks.
    let types = mount_types_under(&folder);
    assert!(
        types.iter().all(|(_, t)| t != "devtmpfs"),
        "this machine's /dev is mounted in the Pi: {types:?}"
    );
    assert!(
        types.contains(&(root.join("dev"), "tmpfs".to_string())),
        "{types:?}"
    );
    for node in ["null", "zero", "urandom", "tty", "ptmx"] {
        use std::os::unix::fs::FileTypeExt;
        let kind = std::fs::metadata(root.join("dev").join(node)).map(|m| m.file_type());
        assert!(
            kind.as_ref().is_ok_and(|k| k.is_char_device()),
            "{node}: {kind:?}"
        );
    }

    // A Pi folder whose process still runs (this one's) is not touched.
    let own = tempfile::tempdir().unwrap();
    hold_as_owner(own.path());
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

#[test]
fn the_tool_copy_of_a_killed_test_process_is_removed_by_the_next_one() {
    let temp = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let dir = temp.path().join(format!("alarm-distcc-tool-{name}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("alarm-distcc"), "a copy").unwrap();
        dir
    };
    let killed = copy("killed");
    let running = copy("running");
    // Made this moment: its owner file is not there yet.
    let being_made = copy("being-made");
    // A link named like a copy, to a folder whose owner has ended: not followed.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("owner"), "").unwrap();
    std::fs::write(elsewhere.path().join("keep"), "").unwrap();
    let link = temp.path().join("alarm-distcc-tool-link");
    std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();

    // The killed copy's owner: a process of its own that holds the lock until it is killed.
    std::fs::write(killed.join("owner"), "").unwrap();
    // Killed at the end even if an assertion fails first: no stray `sleep`.
    struct Holder(std::process::Child);
    impl Drop for Holder {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let holder = Command::new("bash")
        .arg("-c")
        .arg("exec 9>>\"$1\" && flock 9 && echo held && exec sleep 600")
        .arg("holder")
        .arg(killed.join("owner"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut holder = Holder(holder);
    let mut line = String::new();
    std::io::BufReader::new(holder.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held", "the holder took the lock");
    hold_as_owner(&running);

    sweep_left_tool_copies(temp.path());
    for dir in [&killed, &running, &being_made] {
        assert!(
            dir.exists(),
            "{} removed while its owner runs",
            dir.display()
        );
    }

    drop(holder);
    sweep_left_tool_copies(temp.path());
    assert!(!killed.exists(), "the killed process's copy is left");
    assert!(
        running.join("alarm-distcc").exists(),
        "this process's copy was removed"
    );
    assert!(
        being_made.join("alarm-distcc").exists(),
        "a copy without an owner was removed"
    );
    assert!(link.symlink_metadata().is_ok(), "the link was removed");
    assert!(
        elsewhere.path().join("keep").exists(),
        "the sweep followed a link"
    );
}
