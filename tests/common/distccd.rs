//! Real distccd helpers on loopback addresses for the tests. A helper can serve ALARM's
//! compiler names from Debian's cross compilers through a private folder and a
//! `DISTCC_CMDLIST` whitelist (no system folder touched), optionally through a wrapper that
//! adds a known delay per job. Each daemon runs in its own process group and is stopped by it.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join(program);
            f.is_file()
                && f.metadata()
                    .is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// ALARM's compiler names and the Debian cross compiler that serves each.
pub const AARCH64_GCC: (&str, &str) = ("aarch64-unknown-linux-gnu-gcc", "aarch64-linux-gnu-gcc");
pub const ARMV7H_GCC: (&str, &str) = (
    "armv7l-unknown-linux-gnueabihf-gcc",
    "arm-linux-gnueabihf-gcc",
);
pub const AARCH64_GXX: (&str, &str) = ("aarch64-unknown-linux-gnu-g++", "aarch64-linux-gnu-g++");
pub const ARMV7H_GXX: (&str, &str) = (
    "armv7l-unknown-linux-gnueabihf-g++",
    "arm-linux-gnueabihf-g++",
);

/// Reason to skip when a cross compiler is missing, printed by the caller.
pub fn missing(programs: &[&str]) -> Option<String> {
    let gone: Vec<&str> = programs.iter().copied().filter(|p| !have(p)).collect();
    (!gone.is_empty()).then(|| {
        format!(
            "not installed: {} (scripts/install-test-deps.sh installs them on Debian/Ubuntu)",
            gone.join(", ")
        )
    })
}

pub struct Helper {
    listen: String,
    port: Option<u16>,
    allow: String,
    /// (name the client sends, program that compiles, its extra arguments); empty =
    /// distccd's defaults.
    serve: Vec<(String, String, String)>,
    /// Names whitelisted with no program behind them.
    whitelist_only: Vec<String>,
    delay: Option<f64>,
    jobs: u32,
}

impl Default for Helper {
    fn default() -> Self {
        Helper {
            listen: "127.0.0.1".into(),
            port: None,
            allow: "127.0.0.0/8".into(),
            serve: Vec::new(),
            whitelist_only: Vec::new(),
            delay: None,
            jobs: 2,
        }
    }
}

impl Helper {
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.into();
        self
    }
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
    pub fn allow(mut self, allow: &str) -> Self {
        self.allow = allow.into();
        self
    }
    /// Serve `name` (what the Pi sends) with `program` (found on PATH or absolute).
    pub fn serve(self, name: &str, program: &str) -> Self {
        self.serve_with(name, program, "")
    }
    /// Serve `name` with `program` given `args` before the client's own.
    pub fn serve_with(mut self, name: &str, program: &str, args: &str) -> Self {
        self.serve.push((name.into(), program.into(), args.into()));
        self
    }
    /// Whitelist `name` without any program for it (distccd answers exit 110).
    pub fn whitelist(mut self, name: &str) -> Self {
        self.whitelist_only.push(name.into());
        self
    }
    /// Every job sleeps this long before compiling.
    pub fn delay(mut self, seconds: f64) -> Self {
        self.delay = Some(seconds);
        self
    }
    pub fn jobs(mut self, jobs: u32) -> Self {
        self.jobs = jobs;
        self
    }

    pub fn start(self) -> Distccd {
        let dir = tempfile::tempdir().unwrap();
        // Started as root, distccd runs as the `distccd` user: everything it reads or
        // writes must be open to it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let log = dir.path().join("distccd.log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let port = self.port.unwrap_or_else(free_port);
        let mut cmd = Command::new("distccd");
        cmd.args(["--daemon", "--no-detach", "--log-level", "info"])
            .args(["--listen", &self.listen])
            .args(["--jobs", &self.jobs.to_string()])
            .args(["--port", &port.to_string(), "--allow", &self.allow])
            .arg("--log-file")
            .arg(&log)
            .env("TMPDIR", dir.path());
        if !self.serve.is_empty() {
            let bin = dir.path().join("bin");
            std::fs::create_dir(&bin).unwrap();
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
            let mut names = String::new();
            for (name, program, args) in &self.serve {
                let real = which(program);
                let path = bin.join(name);
                if self.delay.is_none() && args.is_empty() {
                    std::os::unix::fs::symlink(&real, &path).unwrap();
                } else {
                    let sleep = self.delay.map_or(String::new(), |d| format!("sleep {d}\n"));
                    let script =
                        format!("#!/bin/sh\n{sleep}exec {} {args} \"$@\"\n", real.display());
                    std::fs::write(&path, script).unwrap();
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                        .unwrap();
                }
                names.push_str(name);
                names.push('\n');
            }
            for name in &self.whitelist_only {
                names.push_str(name);
                names.push('\n');
            }
            let cmdlist = dir.path().join("cmdlist");
            std::fs::write(&cmdlist, names).unwrap();
            std::fs::set_permissions(&cmdlist, std::fs::Permissions::from_mode(0o644)).unwrap();
            cmd.env("DISTCC_CMDLIST", &cmdlist)
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
        }
        // Its own group, so the preforked children are stopped with it; no inherited pipes,
        // so a leftover child can never hold the test runner's output open.
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("distccd is installed (scripts/install-test-deps.sh)");
        let d = Distccd {
            child,
            addr: self.listen.clone(),
            port,
            _dir: dir,
            log,
        };
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((d.addr.as_str(), port)).is_err() {
            assert!(
                Instant::now() < until,
                "distccd did not start: {:?}",
                std::fs::read_to_string(&d.log)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }
}

/// The program's path: absolute as given, else the first on PATH.
pub fn which(program: &str) -> PathBuf {
    if program.starts_with('/') {
        return PathBuf::from(program);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not on PATH"))
}

pub struct Distccd {
    child: Child,
    pub addr: String,
    pub port: u16,
    _dir: tempfile::TempDir,
    pub log: PathBuf,
}

impl Distccd {
    /// A plain distccd on 127.0.0.1 with its default whitelist (the native gcc).
    pub fn start(allow: &str) -> Distccd {
        Helper::default().allow(allow).start()
    }

    pub fn spec(&self, slots: u32) -> String {
        format!("{}:{}/{slots}", self.addr, self.port)
    }

    pub fn host_port(&self) -> String {
        format!("{}:{}", self.addr, self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `COMPILE_OK` lines in the log: jobs this helper compiled.
    pub fn compiled(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("COMPILE_OK"))
            .map(str::to_string)
            .collect()
    }

    /// The `COMPILE_OK` lines once there are at least `n` (distccd logs a job just after
    /// answering it), or whatever there is after 5 s.
    pub fn compiled_at_least(&self, n: usize) -> Vec<String> {
        self.log_when(|log| log.matches("COMPILE_OK").count() >= n);
        self.compiled()
    }

    /// The log once `ready` holds for it, or as it is after 5 s.
    pub fn log_when(&self, ready: impl Fn(&str) -> bool) -> String {
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log_text();
            if ready(&log) || Instant::now() > until {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

/// A distccd log file once every job it took has its outcome line (distccd writes COMPILE_OK
/// just after answering, so a build can end first), or as it is after 5 s.
pub fn settled_log(path: &Path) -> String {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        let taken = log.matches("compile from").count();
        let ended = log.matches("COMPILE_").count();
        if ended >= taken || Instant::now() > until {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Distccd {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

/// Stops a child started in its own process group, with everything it started: TERM, a
/// moment to finish, then KILL for what lingers.
pub fn stop_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}
