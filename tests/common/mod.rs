//! Shared helpers for the integration tests: fixture and corpus files, the real binary, and
//! bash as the oracle of what makepkg reads.
#![allow(dead_code)]

pub mod distccd;
pub mod pi;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The shared corpus of real makepkg.conf files. `ALARM_DISTCC_CORPUS` names it (CI sets it);
/// when it is set the folder must exist.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = match std::env::var_os("ALARM_DISTCC_CORPUS") {
        Some(d) => {
            let d = PathBuf::from(d);
            let d = if d.is_relative() {
                manifest_dir().join(d)
            } else {
                d
            };
            assert!(
                d.is_dir(),
                "ALARM_DISTCC_CORPUS={} is not a folder",
                d.display()
            );
            d
        }
        None => {
            let d = manifest_dir().join("../shared/corpus");
            if !d.is_dir() {
                eprintln!("corpus not found (set ALARM_DISTCC_CORPUS); corpus cases skipped");
                return Vec::new();
            }
            d
        }
    };
    files_under(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".conf"))
        .collect()
}

pub fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("fixtures").join(name)
}

/// Editable fixtures (not the ones the tool must refuse).
pub fn fixture_files() -> Vec<PathBuf> {
    files_under(&manifest_dir().join("fixtures"))
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "refuse"))
        .collect()
}

/// Whether the tests run as root (CI does): root ignores file permissions.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"))
}

/// A folder holding a stand-in `makepkg` that reports `version` the way makepkg's script
/// does (its `makepkg_version=` line): whether makepkg reads `makepkg.conf.d` depends on it.
pub fn makepkg_standin(version: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("makepkg-{version}"));
    let file = dir.join("makepkg");
    if !file.exists() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(&dir).unwrap();
        // Unique per thread too: tests of one binary make it at the same moment.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".makepkg.{}.{n}", std::process::id()));
        std::fs::write(
            &tmp,
            format!("#!/bin/bash\ndeclare -r makepkg_version='{version}'\necho \"makepkg (pacman) {version}\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
    }
    dir
}

/// PATH with `dir` first.
pub fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alarm-distcc"));
    in_test_environment(&mut cmd);
    cmd
}

/// The environment the tool runs in under test, for `cmd` (the tool, or a shell that runs it).
pub fn in_test_environment(cmd: &mut Command) {
    // Keep the developer's own makepkg files and environment out of the tests, and read the
    // config as a current Arch makepkg (7.1, with makepkg.conf.d) would, whatever makepkg
    // this machine has.
    cmd.env("PATH", path_with(&makepkg_standin("7.1.0")))
        .env_remove("MAKEPKG_CONF")
        .env("HOME", "/nonexistent-alarm-distcc-home")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SUDO_USER")
        .env_remove("MAKEFLAGS")
        .env_remove("DISTCC_HOSTS")
        .env("NO_COLOR", "1");
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(out: std::process::Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn run(config: &Path, args: &[&str]) -> Run {
    bin()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// Copies `src` into a fresh temp folder as makepkg.conf.
pub fn scratch_copy(src: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join("makepkg.conf");
    std::fs::copy(src, &dst).unwrap();
    (dir, dst)
}

/// What bash holds after sourcing `files` in order, as `declare -p` prints it, by name.
/// Variables of bash itself are left out.
pub fn bash_vars(files: &[&Path]) -> BTreeMap<String, String> {
    let script = r#"for __oracle_file in "$@"; do source "$__oracle_file" >/dev/null 2>&1; done; unset __oracle_file; declare -p"#;
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script, "oracle"])
        .args(files)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent-alarm-distcc-home")
        .env("HOSTNAME", "oracle")
        .output()
        .expect("bash runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut vars = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("declare ") {
            if let Some((k, v)) = current.take() {
                vars.insert(k, v);
            }
            let decl = rest.split_once(' ').map_or("", |x| x.1);
            let name: String = decl
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            current = Some((name, line.to_string()));
        } else if let Some((_, v)) = current.as_mut() {
            v.push_str(line);
        }
    }
    if let Some((k, v)) = current.take() {
        vars.insert(k, v);
    }
    const BASH_OWN: &[&str] = &[
        "BASHOPTS",
        "BASHPID",
        "BASH_ARGC",
        "BASH_ARGV",
        "BASH_LINENO",
        "BASH_SOURCE",
        "BASH_VERSINFO",
        "BASH_VERSION",
        "BASH_EXECUTION_STRING",
        "BASH_ARGV0",
        "BASH_SUBSHELL",
        "BASH_COMMAND",
        "BASH_REMATCH",
        "BASH",
        "DIRSTACK",
        "EPOCHREALTIME",
        "EPOCHSECONDS",
        "EUID",
        "FUNCNAME",
        "GROUPS",
        "HOSTTYPE",
        "IFS",
        "LINENO",
        "MACHTYPE",
        "OPTERR",
        "OPTIND",
        "OSTYPE",
        "PIPESTATUS",
        "PPID",
        "PS4",
        "PWD",
        "RANDOM",
        "SECONDS",
        "SHELLOPTS",
        "SHLVL",
        "SRANDOM",
        "UID",
        "_",
        "BASH_LOADABLES_PATH",
        "BASH_ALIASES",
        "BASH_CMDS",
        "COLUMNS",
        "LINES",
        "HISTCMD",
        "OLDPWD",
        "COMP_WORDBREAKS",
        "PS1",
        "PS2",
        "HOSTNAME",
    ];
    vars.retain(|k, _| !BASH_OWN.contains(&k.as_str()));
    vars
}

/// The value part of a `declare -p` line for a scalar: `declare -- X="v"` -> `v`.
pub fn scalar_value(decl: &str) -> String {
    let v = decl
        .trim_end()
        .split_once('=')
        .map(|(_, v)| v)
        .unwrap_or("");
    v.trim_matches('"')
        .replace("\\\"", "\"")
        .replace("\\$", "$")
}

/// Elements of an indexed array from `declare -a X=([0]="a" [1]="b")`.
pub fn array_values(decl: &str) -> Vec<String> {
    let re = regex::Regex::new(r#"\[\d+\]="((?:[^"\\]|\\.)*)""#).unwrap();
    re.captures_iter(decl)
        .map(|c| c[1].replace("\\\"", "\""))
        .collect()
}

/// Whether `text` suggests running `alarm-distcc SUBCOMMAND`, with or without the
/// `--config PATH` it may name (as every suggested command does when one was given).
#[allow(dead_code)]
pub fn suggests(text: &str, subcommand: &str) -> bool {
    text.match_indices("alarm-distcc ").any(|(at, found)| {
        let mut words = text[at + found.len()..].split_whitespace();
        let mut word = words.next();
        if matches!(word, Some("--config" | "-c")) {
            words.next();
            word = words.next();
        }
        word.is_some_and(|w| w.trim_end_matches(['`', ')', ',', ';', '.']) == subcommand)
    })
}

/// Skips a test whose real parts are missing here: says why on the real stderr (not the
/// captured one, so `cargo test` shows it), and fails instead under CI, where
/// scripts/install-test-deps.sh must have installed everything.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("{test}: {why} (CI installs it: scripts/install-test-deps.sh)");
    }
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}

/// The architecture of this machine's own compilers and daemons (gcc, distcc, distccd), as
/// CARCH names it: what "this machine" is to a probe. Under qemu-user the test binary is
/// ARM, but the gcc and distcc it finds stay the host's.
pub fn toolchain_carch() -> String {
    static CARCH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CARCH
        .get_or_init(|| {
            let out = Command::new("gcc").arg("-dumpmachine").output();
            let triple = out
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            match triple.split('-').next().unwrap_or("") {
                "x86_64" => "x86_64".into(),
                "aarch64" => "aarch64".into(),
                "arm" if triple.ends_with("hf") => "armv7h".into(),
                "i386" | "i486" | "i586" | "i686" => "i686".into(),
                "" => std::env::consts::ARCH.into(),
                other => other.into(),
            }
        })
        .clone()
}

/// Skips (part of) a test that cannot mean anything on this machine's architecture: says
/// why on the real stderr, under CI too (nothing is missing that an install would bring).
pub fn not_on_this_arch(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test} ({} binary, {} compilers): {why}",
        std::env::consts::ARCH,
        toolchain_carch()
    );
}

/// The file in a folder a test process made, held locked by that process, so that the next
/// test process can tell a folder whose maker was killed before its clean-up.
pub const OWNER: &str = "owner";

/// The folder `tool_for_any_user` copies the tool into is named with this.
const TOOL_COPY_PREFIX: &str = "alarm-distcc-tool-";

/// Marks `folder` as this process's for as long as it runs: its `OWNER` file, held locked
/// (the kernel lets go of the lock when the process ends, however it ends). A lock rather
/// than the process's start time, which qemu-user makes up for a process reading its own.
pub fn hold_as_owner(folder: &Path) {
    use std::os::fd::AsRawFd;
    let owner = std::fs::File::create(folder.join(OWNER)).unwrap();
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(owner.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0, "locking {}", folder.display());
    // Held until the process ends.
    std::mem::forget(owner);
}

/// Whether `folder`'s `OWNER` file is there and no process holds it locked.
pub fn owner_has_ended(folder: &Path) -> bool {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(owner) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(folder.join(OWNER))
    else {
        return false;
    };
    // SAFETY: flock on a descriptor this function owns; closing it lets go of the lock.
    unsafe { libc::flock(owner.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Removes the tool copies of test processes killed before their exit handler ran (each a
/// debug binary of some hundred MB): only folders whose owner has ended, never through a
/// link. Folders without an `OWNER` file (one being made) are left.
pub fn sweep_left_tool_copies(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let named = entry
            .file_name()
            .to_string_lossy()
            .starts_with(TOOL_COPY_PREFIX);
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if named && is_dir && owner_has_ended(&entry.path()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A copy of the tool that any user can run, in an open folder of its own: the build's own
/// folder may be closed to other users (a clone under `mktemp -d`), and some tests run the
/// tool as an unprivileged user. One copy per test binary, removed when it exits (a static
/// is never dropped, so an exit handler does it); copies of killed test processes are
/// removed by the next one.
pub fn tool_for_any_user() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    extern "C" fn remove_copy() {
        if let Some(tool) = COPY.get().and_then(|t| t.parent()) {
            let _ = std::fs::remove_dir_all(tool);
        }
    }
    COPY.get_or_init(|| {
        sweep_left_tool_copies(Path::new("/tmp"));
        let dir = tempfile::Builder::new()
            .prefix(TOOL_COPY_PREFIX)
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        hold_as_owner(&dir);
        // SAFETY: registers a plain function with no arguments, once.
        unsafe {
            libc::atexit(remove_copy);
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tool = dir.join("alarm-distcc");
        std::fs::copy(env!("CARGO_BIN_EXE_alarm-distcc"), &tool).unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        tool
    })
    .clone()
}

/// The unprivileged user the tests run makepkg and helper scripts as when they run as root.
pub const BUILD_USER: &str = "alarmbuild";

/// Creates `BUILD_USER` (with a home it owns) if it is missing.
pub fn ensure_build_user() {
    ensure_user(BUILD_USER);
}

/// Creates the user `name` (with a home it owns) if it is missing. Test binaries and their
/// threads create users at once: one at a time under a lock file, and the home's owner
/// checked (a home left by an earlier user of the same name would not be writable).
pub fn ensure_user(name: &str) {
    static DONE: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    if done.iter().any(|n| n == name) {
        return;
    }
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open("/tmp/alarm-distcc-tests-useradd.lock")
        .unwrap();
    lock.lock().unwrap();
    let exists = || {
        Command::new("id")
            .arg(name)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !exists() {
        let _ = Command::new("useradd")
            .args(["-m", "-s", "/bin/bash", name])
            .status();
        assert!(exists(), "could not create the user {name}");
    }
    let home = PathBuf::from(format!("/home/{name}"));
    let _ = std::fs::create_dir_all(&home);
    let status = Command::new("chown")
        .arg(format!("{name}:"))
        .arg(&home)
        .status()
        .unwrap();
    assert!(status.success(), "chown of {}", home.display());
    done.push(name.to_string());
}

/// Hands `dir` (recursively) to `BUILD_USER` when the tests run as root, so makepkg, run as
/// that user, can write in it.
pub fn give_to_build_user(dir: &Path) {
    if !is_root() {
        return;
    }
    ensure_build_user();
    let status = Command::new("chown")
        .args(["-R", BUILD_USER])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success(), "chown -R {BUILD_USER} {}", dir.display());
}

/// The files of a test package (`tests/NAME`) copied into `to`, made first.
pub fn copy_package(name: &str, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(manifest_dir().join("tests").join(name))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// A command run as `BUILD_USER` when the tests run as root (else as this user), with a
/// clean environment holding only `vars`.
pub fn as_build_user(program: &str, vars: &[(&str, String)]) -> Command {
    let mut cmd = if is_root() {
        ensure_build_user();
        let mut c = Command::new("runuser");
        c.args(["-u", BUILD_USER, "--", "env", "-i"]);
        c
    } else {
        let mut c = Command::new("env");
        c.arg("-i");
        c
    };
    for (k, v) in vars {
        cmd.arg(format!("{k}={v}"));
    }
    cmd.arg(program);
    cmd
}

/// The processes whose command line ends with `args` (NUL-separated, as /proc gives it),
/// looked for in /proc: procps need not be installed.
pub fn processes_ending_with(args: &[&str]) -> Vec<i32> {
    let wanted: Vec<u8> = args.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.ends_with(&wanted))
        })
        .collect()
}

/// What `cmd` leaves on a terminal `columns` wide once it has ended (`timeout` at most), its
/// lines joined by "\n": a spinner's line, overwritten with \r and an erase, is not kept.
#[allow(dead_code)]
pub fn on_screen(columns: u16, cmd: &Command, timeout: std::time::Duration) -> String {
    use expectrl::Expect;
    let mut s = spawn_in_columns(columns, cmd);
    s.set_expect_timeout(Some(timeout));
    let seen = s.expect(expectrl::Eof).unwrap();
    String::from_utf8_lossy(seen.get(0).unwrap_or_default())
        .replace("\r\n", "\n")
        .lines()
        .map(|l| {
            l.rsplit('\r')
                .next()
                .unwrap_or("")
                .trim_start_matches("\x1b[2K")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `alarm-distcc --config CONF ARGS` shows on a console `columns` wide with `TERM=term`
/// (a Pi's `linux`, `screen`), colours off: `on_screen` of the tool as the tests run it.
pub fn on_console(
    term: &str,
    columns: u16,
    conf: &Path,
    args: &[&str],
    timeout: std::time::Duration,
) -> String {
    let mut cmd = bin();
    cmd.env("TERM", term)
        .env("NO_COLOR", "1")
        .arg("--config")
        .arg(conf)
        .args(args);
    on_screen(columns, &cmd, timeout)
}

/// `text`'s words joined by single spaces: what a reader sees, wherever lines were broken.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `cmd` in a pty `columns` wide from its start, as a console is (a pty starts at 80): the
/// tests that read whole sentences use a wide one. The size is set from here once the pty
/// is made (expectrl sets its own 80 columns meanwhile, which under qemu can come after
/// anything the child does first); the child waits for it before the tool starts.
pub fn spawn_in_columns(columns: u16, cmd: &Command) -> expectrl::session::OsSession {
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(format!(
            "i=0; until [ \"$(stty size)\" = \"24 {columns}\" ] || [ $i -ge 1000 ]; do \
             sleep 0.01; i=$((i+1)); done; exec \"$0\" \"$@\""
        ))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(name, v),
            None => wrapped.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let mut s = expectrl::session::OsSession::spawn(wrapped).expect("spawn in a pty");
    s.get_process_mut()
        .set_window_size(columns, 24)
        .expect("the pty's size");
    s.set_expect_timeout(Some(std::time::Duration::from_secs(15)));
    s
}
