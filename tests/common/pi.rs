//! An emulated Raspberry Pi for the tests: a real arm64 or armhf Debian userland (made with
//! mmdebstrap from Debian's packages), entered with chroot, its programs run by qemu-user
//! through binfmt_misc. It has what a Pi that builds packages has: gcc, make, makepkg,
//! fakeroot, bsdtar, the distcc client with ALARM's masquerade folder `/usr/lib/distcc/bin`,
//! a build user, and the stock ALARM makepkg.conf as /etc/makepkg.conf. The ARM binary of
//! alarm-distcc (built with Debian's Rust toolchain, scripts/arm-binaries.sh) is copied in.
//!
//! The root is made once by scripts/pi-root.sh and kept as a tarball in a cache folder
//! (ALARM_DISTCC_PI_CACHE, else ~/.cache/alarm-distcc-tests); each test unpacks a fresh
//! copy on a tmpfs (a 32-bit userland under qemu misreads directories on this 64-bit ext4
//! host) and unmounts it at the end. It shares this machine's network namespace, so a
//! distccd on the host's 127.0.0.1 is the Pi's helper on the LAN.

use super::distccd::have;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiArch {
    Arm64,
    Armhf,
}

impl PiArch {
    pub fn debian(self) -> &'static str {
        match self {
            PiArch::Arm64 => "arm64",
            PiArch::Armhf => "armhf",
        }
    }
    /// ALARM's name for it (CARCH).
    pub fn carch(self) -> &'static str {
        match self {
            PiArch::Arm64 => "aarch64",
            PiArch::Armhf => "armv7h",
        }
    }
    /// ALARM's CHOST (its compiler names).
    pub fn chost(self) -> &'static str {
        match self {
            PiArch::Arm64 => "aarch64-unknown-linux-gnu",
            PiArch::Armhf => "armv7l-unknown-linux-gnueabihf",
        }
    }
    pub fn rust_target(self) -> &'static str {
        match self {
            PiArch::Arm64 => "aarch64-unknown-linux-gnu",
            PiArch::Armhf => "armv7-unknown-linux-gnueabihf",
        }
    }
    /// This machine's cross compiler for it (the helper's compiler).
    pub fn cross_gcc(self) -> &'static str {
        match self {
            PiArch::Arm64 => "aarch64-linux-gnu-gcc",
            PiArch::Armhf => "arm-linux-gnueabihf-gcc",
        }
    }
    fn binfmt(self) -> &'static str {
        match self {
            PiArch::Arm64 => "qemu-aarch64",
            PiArch::Armhf => "qemu-arm",
        }
    }
    /// The stock ALARM config in the corpus.
    pub fn stock(self) -> &'static str {
        match self {
            PiArch::Arm64 => "stock/alarm-7.1.0-aarch64.makepkg.conf",
            PiArch::Armhf => "stock/alarm-7.1.0-armv7h.makepkg.conf",
        }
    }
}

pub const PI_USER: &str = "builder";

/// Debian's generation of a root: `Testing` is today's Arch Linux ARM (makepkg 7.1, gcc 16,
/// make 4.4, ninja 1.13), `Bookworm` the one before (make 4.3, ninja 1.11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    Bookworm,
    Testing,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Bookworm => "bookworm",
            Suite::Testing => "testing",
        }
    }
}

/// The tarball scripts/pi-root.sh keeps in its cache, if it is there already.
fn cached_tarball(debian_arch: &str, suite: Suite) -> bool {
    let cache = std::env::var_os("ALARM_DISTCC_PI_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("alarm-distcc-tests"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/alarm-distcc-tests"))
        });
    cache.is_some_and(|c| {
        std::fs::read_dir(c).is_ok_and(|mut d| {
            d.any(|e| {
                e.is_ok_and(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&format!("pi-{debian_arch}-{}-", suite.name()))
                        && n.ends_with(".tar")
                        && !n.ends_with(".partial.tar")
                })
            })
        })
    })
}

/// The ARM binary of alarm-distcc for `arch`, built by scripts/arm-binaries.sh.
pub fn arm_binary(arch: PiArch) -> PathBuf {
    super::manifest_dir()
        .join("target/debian")
        .join(arch.rust_target())
        .join("release/alarm-distcc")
}

/// The stock ALARM config for `arch` from the shared corpus, or why it is not here.
pub fn stock_config(arch: PiArch) -> Result<PathBuf, String> {
    super::corpus_files()
        .into_iter()
        .find(|p| p.ends_with(arch.stock()))
        .ok_or_else(|| format!("the corpus's {} is not here", arch.stock()))
}

/// Why an emulated Pi of `arch` cannot run here, if it cannot.
pub fn cannot_emulate(arch: PiArch) -> Option<String> {
    cannot_emulate_suite(arch, Suite::Bookworm)
}

/// Why a root of `suite` for this machine (the helper's, or a build host of that
/// generation) cannot be made and entered here, if it cannot.
pub fn cannot_make_root(suite: Suite) -> Option<String> {
    if !super::is_root() {
        return Some("making and entering a root needs root (mount, chroot)".into());
    }
    if !cached_tarball("amd64", suite) && !have("mmdebstrap") {
        return Some("mmdebstrap is not installed (scripts/install-test-deps.sh)".into());
    }
    if std::env::consts::ARCH != "x86_64" {
        return Some(format!(
            "the helper's root is amd64 and this test binary is {}",
            std::env::consts::ARCH
        ));
    }
    None
}

/// Why an emulated Pi of `arch` and `suite` cannot run here, if it cannot.
pub fn cannot_emulate_suite(arch: PiArch, suite: Suite) -> Option<String> {
    if !super::is_root() {
        return Some("making and entering a root needs root (mount, chroot)".into());
    }
    let binfmt = Path::new("/proc/sys/fs/binfmt_misc").join(arch.binfmt());
    if !std::fs::read_to_string(&binfmt).is_ok_and(|s| s.starts_with("enabled")) {
        return Some(format!(
            "{} is not registered with binfmt_misc (scripts/install-test-deps.sh registers it)",
            arch.binfmt()
        ));
    }
    if !cached_tarball(arch.debian(), suite) && !have("mmdebstrap") {
        return Some("mmdebstrap is not installed (scripts/install-test-deps.sh)".into());
    }
    let tool = arm_binary(arch);
    if !tool.exists() {
        return Some(format!(
            "{} is not built (scripts/install-test-deps.sh builds it)",
            tool.display()
        ));
    }
    None
}

/// The root's tarball, made by scripts/pi-root.sh unless its cache has it.
fn ensure_tarball(debian_arch: &str, suite: Suite) -> PathBuf {
    let out = Command::new(super::manifest_dir().join("scripts/pi-root.sh"))
        .arg(debian_arch)
        .arg(suite.name())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/pi-root.sh runs");
    assert!(
        out.status.success(),
        "scripts/pi-root.sh {debian_arch} {} failed",
        suite.name()
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The file in a Pi's folder that names the test process that mounted it.
const OWNER: &str = super::OWNER;

/// The mount points in this mount namespace, deepest last (mountinfo's order).
pub fn mount_points() -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as octal escapes.
fn unescape_mountinfo(p: &str) -> String {
    let (mut out, mut rest) = (String::new(), p);
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        match u8::from_str_radix(rest.get(i + 1..i + 4).unwrap_or(""), 8) {
            Ok(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            Err(_) => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out + rest
}

/// Detaches the mounts of Pis whose test process was killed before its clean-up (each
/// holds up to 3 GB of tmpfs), and removes their emptied folders. A Pi's folder in
/// `temp` is known by its `OWNER` file; one whose owner still runs is left alone. Run
/// once per test process, before its first Pi.
pub fn sweep_left_mounts(temp: &Path) {
    let mut left: Vec<PathBuf> = mount_points()
        .into_iter()
        .filter(|m| {
            let Some(folder) = pi_folder_of(temp, m) else {
                return false;
            };
            super::owner_has_ended(&folder)
        })
        .collect();
    left.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    for m in &left {
        let _ = Command::new("umount").arg("-l").arg(m).status();
    }
    let mut folders: Vec<PathBuf> = left.iter().filter_map(|m| pi_folder_of(temp, m)).collect();
    folders.dedup();
    let still_mounted = mount_points();
    for folder in folders {
        // Only what is no longer mounted, and without following anything: an empty root
        // folder and the owner file.
        if still_mounted.iter().any(|m| m.starts_with(&folder)) {
            continue;
        }
        let _ = std::fs::remove_dir(folder.join("root"));
        let _ = std::fs::remove_file(folder.join(OWNER));
        let _ = std::fs::remove_dir(&folder);
    }
}

/// The Pi folder (`temp`/X, holding `root`) that mount point `m` belongs to, if any.
fn pi_folder_of(temp: &Path, m: &Path) -> Option<PathBuf> {
    let rest = m.strip_prefix(temp).ok()?;
    let mut parts = rest.components();
    let folder = temp.join(parts.next()?);
    (parts.next()?.as_os_str() == "root" && folder.join(OWNER).is_file()).then_some(folder)
}

/// One emulated Pi: a fresh copy of the root on its own tmpfs, /proc and a /dev of its own
/// mounted.
pub struct Pi {
    pub arch: PiArch,
    pub root: PathBuf,
    _dir: tempfile::TempDir,
    mounts: Vec<PathBuf>,
}

impl Pi {
    /// A bookworm Pi with its stock ALARM config (`stock`, a corpus file) and alarm-distcc.
    pub fn new(arch: PiArch, stock: &Path) -> Pi {
        Pi::of_suite(arch, Suite::Bookworm, stock)
    }

    /// A Pi of `suite` with its stock ALARM config and alarm-distcc's ARM binary.
    pub fn of_suite(arch: PiArch, suite: Suite, stock: &Path) -> Pi {
        let pi = Pi::unpack(arch, &ensure_tarball(arch.debian(), suite));
        std::fs::copy(stock, pi.root.join("etc/makepkg.conf")).unwrap();
        std::fs::copy(arm_binary(arch), pi.root.join("usr/local/bin/alarm-distcc")).unwrap();
        pi
    }

    /// The helper's root of `suite` (amd64: distccd, Debian's ARM cross gcc of that
    /// generation), which is also a build host of that generation for this machine, with
    /// this test build's own alarm-distcc. `arch` is the Pi it serves.
    pub fn helper_root(arch: PiArch, suite: Suite) -> Pi {
        let pi = Pi::unpack(arch, &ensure_tarball("amd64", suite));
        std::fs::copy(
            env!("CARGO_BIN_EXE_alarm-distcc"),
            pi.root.join("usr/local/bin/alarm-distcc"),
        )
        .unwrap();
        pi
    }

    fn unpack(arch: PiArch, tar: &Path) -> Pi {
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| sweep_left_mounts(&std::env::temp_dir()));
        let dir = tempfile::tempdir().unwrap();
        super::hold_as_owner(dir.path());
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let mut pi = Pi {
            arch,
            root: root.clone(),
            _dir: dir,
            mounts: Vec::new(),
        };
        pi.mount(&["-t", "tmpfs", "-o", "size=3g,mode=755", "tmpfs"], &root);
        let status = Command::new("tar")
            .args(["-xf"])
            .arg(tar)
            .args(["--numeric-owner", "-C"])
            .arg(&root)
            .status()
            .unwrap();
        assert!(status.success(), "unpacking {}", tar.display());
        pi.mount(&["-t", "proc", "proc"], &root.join("proc"));
        pi.private_dev(&root.join("dev"));
        pi
    }

    /// The Pi's /dev: a small tmpfs of its own with the devices a build uses, and the
    /// host's ptys. Not the host's /dev bound in: a Pi left mounted by a killed test (or an
    /// `rm -rf` of its folder before the next test sweeps it) would then empty this machine's
    /// /dev, since every devtmpfs mount is the same one. Here an unlink removes a node of
    /// this tmpfs only, and devpts refuses unlinks.
    fn private_dev(&mut self, dev: &Path) {
        self.mount(&["-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs"], dev);
        // (name, major, minor), each read-write for all as on any Linux.
        for (name, major, minor) in [
            ("null", 1, 3),
            ("zero", 1, 5),
            ("full", 1, 7),
            ("random", 1, 8),
            ("urandom", 1, 9),
            ("tty", 5, 0),
            // Opens a pty of the devpts at ./pts (Linux 4.7+): the host's, bound in below.
            ("ptmx", 5, 2),
        ] {
            let path = std::ffi::CString::new(dev.join(name).into_os_string().into_encoded_bytes())
                .unwrap();
            // SAFETY: a valid C string; mknod only reads it.
            let made = unsafe {
                libc::mknod(
                    path.as_ptr(),
                    libc::S_IFCHR | 0o666,
                    libc::makedev(major, minor),
                )
            };
            assert_eq!(
                made,
                0,
                "mknod {}: {}",
                dev.join(name).display(),
                std::io::Error::last_os_error()
            );
            // mknod's mode is cut by the umask.
            std::fs::set_permissions(
                dev.join(name),
                std::os::unix::fs::PermissionsExt::from_mode(0o666),
            )
            .unwrap();
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            std::os::unix::fs::symlink(target, dev.join(name)).unwrap();
        }
        let shm = dev.join("shm");
        std::fs::create_dir(&shm).unwrap();
        std::fs::set_permissions(&shm, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
            .unwrap();
        // The host's ptys, so a test's terminal is a terminal in the Pi too.
        let pts = dev.join("pts");
        std::fs::create_dir(&pts).unwrap();
        self.mount(&["--bind", "/dev/pts"], &pts);
    }

    fn mount(&mut self, args: &[&str], at: &Path) {
        let status = Command::new("mount").args(args).arg(at).status().unwrap();
        assert!(status.success(), "mount {args:?} {}", at.display());
        self.mounts.push(at.to_path_buf());
    }

    /// A path inside the root, as this machine sees it.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// `script` run by bash inside the Pi, as root or as the build user, with a clean
    /// environment plus `vars`, bounded by `seconds`.
    pub fn sh(
        &self,
        user: Option<&str>,
        seconds: u32,
        vars: &[(&str, &str)],
        script: &str,
    ) -> Output {
        let home = match user {
            Some(u) => format!("/home/{u}"),
            None => "/root".into(),
        };
        let mut cmd = Command::new("timeout");
        cmd.args(["-k", "5", &seconds.to_string(), "chroot"])
            .arg(&self.root);
        if let Some(u) = user {
            cmd.args(["runuser", "-u", u, "--"]);
        }
        cmd.args(["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"])
            .arg(format!("HOME={home}"));
        for (k, v) in vars {
            cmd.arg(format!("{k}={v}"));
        }
        cmd.args(["bash", "-c", script])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The same as root, asserting success; its stdout and stderr together.
    pub fn root_ok(&self, script: &str) -> String {
        let out = self.sh(None, 300, &[], script);
        let text = text(&out);
        assert!(out.status.success(), "in the Pi: {script}\n{text}");
        text
    }
}

/// A distccd running inside a root (a helper of the Pi's generation), started by the test
/// (not detached) in a process group of its own and stopped with it: nothing outlives the
/// test, and no other test's daemon is touched. It listens on 127.0.0.1:`port` (the root
/// shares this machine's network); each name in `names` is served by a script that waits
/// `delay` seconds, then runs `compiler` with `extra` arguments. Its log is
/// /var/log/distccd.log in the root.
pub struct RootDistccd {
    child: std::process::Child,
    pub port: u16,
}

impl Pi {
    pub fn serve_distccd(
        &self,
        names: &[&str],
        compiler: &str,
        extra: &str,
        delay: f64,
        jobs: u32,
    ) -> RootDistccd {
        let port = super::distccd::free_port();
        let mut setup = String::from("mkdir -p /opt/helper/bin && : > /opt/helper/cmdlist && ");
        for n in names {
            setup.push_str(&format!(
                "printf '#!/bin/sh\\nsleep {delay}\\nexec {compiler} {extra} \"$@\"\\n' > /opt/helper/bin/{n} && \
                 chmod 755 /opt/helper/bin/{n} && echo {n} >> /opt/helper/cmdlist && "
            ));
        }
        setup.push_str("touch /var/log/distccd.log && chmod 666 /var/log/distccd.log");
        self.root_ok(&setup);
        let child = Command::new("chroot")
            .arg(&self.root)
            .args([
                "env",
                "-i",
                "DISTCC_CMDLIST=/opt/helper/cmdlist",
                "PATH=/opt/helper/bin:/usr/bin:/bin",
                "distccd",
                "--daemon",
                "--no-detach",
                "--listen",
                "127.0.0.1",
                "--allow",
                "127.0.0.1",
                "--log-file",
                "/var/log/distccd.log",
                "--log-level",
                "info",
            ])
            .args(["--port", &port.to_string(), "--jobs", &jobs.to_string()])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chroot runs distccd");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < until,
                "distccd in the root did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        RootDistccd { child, port }
    }
}

impl Drop for RootDistccd {
    fn drop(&mut self) {
        super::distccd::stop_group(&mut self.child);
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Drop for Pi {
    fn drop(&mut self) {
        for at in self.mounts.iter().rev() {
            let ok = Command::new("umount")
                .arg(at)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                // Something inside still holds it: detach now, freed when it exits.
                let _ = Command::new("umount").arg("-l").arg(at).status();
            }
        }
    }
}
