//! Every script `alarm-distcc helper` prints, run as printed on this Debian machine as a
//! helper: as root and as an unprivileged user, each in its own process group, then a real
//! `alarm-distcc probe` from a Pi config must pass against it. Loopback only.

mod common;

use common::distccd::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A printed script running in its own process group; stopped with the group.
struct Running {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        stop_group(&mut self.child);
    }
}

fn stock(name: &str) -> Option<PathBuf> {
    corpus_files()
        .into_iter()
        .find(|p| p.ends_with(format!("stock/alarm-7.1.0-{name}.makepkg.conf")))
}

/// Prints the script with `args` (plus --allow 127.0.0.1 and a free port) for the Pi
/// config `pi`, and starts it as printed with `env`, as root or as the build user.
fn start(pi: &Path, args: &[&str], env: &[(&str, String)], as_user: bool) -> Running {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = free_port();
    let port_arg = port.to_string();
    let mut all = vec!["helper", "--allow", "127.0.0.1", "--port", &port_arg];
    all.extend_from_slice(args);
    let printed = run(pi, &all);
    assert_eq!(printed.code, 0, "{}", printed.stderr);
    let script = dir.path().join("distccd.sh");
    std::fs::write(&script, &printed.stdout).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("distccd.log");
    let mut vars: Vec<(&str, String)> = vec![
        (
            "PATH",
            "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin".into(),
        ),
        ("DISTCCD_LOG", log.display().to_string()),
    ];
    vars.extend(env.iter().cloned());
    let mut cmd = if as_user {
        let home = if is_root() {
            PathBuf::from(format!("/home/{BUILD_USER}"))
        } else {
            dir.path().join("home")
        };
        vars.push(("HOME", home.display().to_string()));
        as_build_user("bash", &vars)
    } else {
        vars.push(("HOME", dir.path().join("home").display().to_string()));
        let mut c = Command::new("env");
        c.arg("-i");
        for (k, v) in &vars {
            c.arg(format!("{k}={v}"));
        }
        c.arg("bash");
        c
    };
    let child = cmd
        .arg(&script)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.path().join("script.err")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let mut running = Running {
        child,
        port,
        log,
        _dir: dir,
    };
    let until = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let err = std::fs::read_to_string(running._dir.path().join("script.err"));
        if let Ok(Some(status)) = running.child.try_wait() {
            panic!("the script stopped ({status}): {err:?}\n{}", printed.stdout);
        }
        assert!(Instant::now() < until, "distccd did not start: {err:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    running
}

fn probe_passes(pi: &Path, helper: &Running) {
    let r = run(
        pi,
        &[
            "probe",
            "--timeout",
            "10",
            &format!("127.0.0.1:{}", helper.port),
        ],
    );
    assert_eq!(
        r.code,
        0,
        "{}{}\nlog:\n{}",
        r.stdout,
        r.stderr,
        std::fs::read_to_string(&helper.log).unwrap_or_default()
    );
    assert!(r.stdout.contains("ok: "), "{}", r.stdout);
}

/// Why this machine cannot play the helper for `arch`, if it cannot.
fn cannot_serve(arch: &str, gcc: &str) -> Option<String> {
    if let Some(why) = missing(&["distccd", gcc]) {
        return Some(why);
    }
    if is_root() && !have("runuser") {
        return Some("runuser is missing".into());
    }
    stock(arch)
        .is_none()
        .then(|| "the corpus's stock configs are not here".into())
}

#[test]
fn debian_script_for_armv8_runs_as_root() {
    if let Some(why) = cannot_serve("aarch64", AARCH64_GCC.1) {
        return skip("debian armv8 script", &why);
    }
    let pi = stock("aarch64").unwrap();
    let state = tempfile::tempdir().unwrap();
    let helper = start(
        &pi,
        &["--distro", "debian"],
        &[(
            "ALARM_DISTCC_HELPER_DIR",
            state.path().join("armv8").display().to_string(),
        )],
        false,
    );
    probe_passes(&pi, &helper);
    let cmdlist = std::fs::read_to_string(state.path().join("armv8/cmdlist")).unwrap();
    assert!(cmdlist.lines().any(|l| l == AARCH64_GCC.0), "{cmdlist}");
    assert!(
        !cmdlist.lines().any(|l| l == "gcc"),
        "only ALARM's names: {cmdlist}"
    );
    let served = state.path().join("armv8/bin").join(AARCH64_GCC.0);
    refuses_unlinkable_objects(&served, &which(AARCH64_GCC.1), state.path());
    assert_eq!(first_on_distccds_path(&helper, AARCH64_GCC.0), served);
}

/// What gcc 15+ headers on the Pi make of va_start, preprocessed there (as json-c's debug.c
/// became on a gcc 16 Pi): a builtin the helper's gcc (`real`) does not know, its tokens
/// marked as system-header code, so gcc does not even warn, -Werror -Wall or not. The gcc a
/// script serves (`served`) must fail it (distcc then compiles the unit on the Pi), never
/// make an object calling a function no library has; a sound unit still compiles.
fn refuses_unlinkable_objects(served: &Path, real: &Path, dir: &Path) {
    let unit = dir.join("va.i");
    std::fs::write(
        &unit,
        "typedef __builtin_va_list va_list;\n\
         int f(int n, ...)\n{\n va_list ap;\n\
         # 4 \"debug.c\" 3\n __builtin_c23_va_start(\n# 4 \"debug.c\"\n ap, n\n\
         # 4 \"debug.c\" 3\n )\n# 4 \"debug.c\"\n ;\n __builtin_va_end(ap);\n return n;\n}\n",
    )
    .unwrap();
    let obj = dir.join("va.o");
    let compile = |gcc: &Path, flags: &[&str]| {
        let _ = std::fs::remove_file(&obj);
        Command::new(gcc)
            .args(flags)
            .arg("-c")
            .arg(&unit)
            .arg("-o")
            .arg(&obj)
            .output()
            .unwrap()
    };
    let strict = ["-O2", "-Werror", "-Wall"];
    // The hazard is real: the helper's own gcc takes it silently.
    let plain = compile(real, &strict);
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let out = compile(served, &strict);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an object was made: {stderr}");
    assert!(stderr.contains("__builtin_c23_va_start"), "{stderr}");
    assert!(
        !obj.exists(),
        "the unlinkable object was left for distccd to send"
    );
    std::fs::write(&unit, "int f(int n) { return n + 1; }\n").unwrap();
    let out = compile(served, &strict);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first `name` on the PATH of the distccd a script started (the one on its port; as a
/// user, distccd is not in the script's process group: it makes its own).
fn first_on_distccds_path(helper: &Running, name: &str) -> PathBuf {
    let port = format!("\0--port\0{}\0", helper.port);
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            if !(cmdline.starts_with("distccd\0") && cmdline.contains(&port)) {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            let path = environ
                .split(|b| *b == 0)
                .find_map(|v| v.strip_prefix(b"PATH="))
                .map(|p| String::from_utf8_lossy(p).into_owned());
            if let Some(found) = path.and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .find(|c| c.exists())
            }) {
                return found;
            }
        }
        assert!(
            Instant::now() < until,
            "no distccd of the script's group with {name} on its PATH"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A helper whose default cross gcc is older than the Pi's, with a newer one installed beside
/// it (`gcc-12-aarch64-linux-gnu` where the default is 11, as `gcc-16-...` beside 14 on an
/// Ubuntu helper for a gcc 16 Pi): the script serves the newest, C and C++ alike, says so,
/// and its wrapper still finds the cross nm.
#[test]
fn debian_script_serves_the_newest_cross_gcc_installed() {
    if let Some(why) = cannot_serve("aarch64", AARCH64_GCC.1)
        .or_else(|| missing(&["aarch64-linux-gnu-gcc-11", "aarch64-linux-gnu-gcc-12"]))
        .or_else(|| missing(&["aarch64-linux-gnu-g++-11", "aarch64-linux-gnu-g++-12"]))
    {
        return skip("debian script, newest cross gcc", &why);
    }
    let pi = stock("aarch64").unwrap();
    let tools = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tools.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, real) in [
        ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-gcc-11"),
        ("aarch64-linux-gnu-gcc-11", "aarch64-linux-gnu-gcc-11"),
        ("aarch64-linux-gnu-gcc-12", "aarch64-linux-gnu-gcc-12"),
        ("aarch64-linux-gnu-g++", "aarch64-linux-gnu-g++-11"),
        ("aarch64-linux-gnu-g++-11", "aarch64-linux-gnu-g++-11"),
        ("aarch64-linux-gnu-g++-12", "aarch64-linux-gnu-g++-12"),
        ("aarch64-linux-gnu-nm", "aarch64-linux-gnu-nm"),
    ] {
        std::os::unix::fs::symlink(which(real), tools.path().join(name)).unwrap();
    }
    let state = tempfile::tempdir().unwrap();
    let helper_dir = state.path().join("armv8");
    let toolchain = tools.path().display().to_string();
    let helper = start(
        &pi,
        &["--distro", "debian", "--toolchain", &toolchain],
        &[("ALARM_DISTCC_HELPER_DIR", helper_dir.display().to_string())],
        false,
    );
    probe_passes(&pi, &helper);
    let served = first_on_distccds_path(&helper, AARCH64_GCC.0);
    assert_eq!(served, helper_dir.join("bin").join(AARCH64_GCC.0));
    let version = |program: &Path| {
        let out = Command::new(program).arg("-dumpversion").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        version(&served),
        version(&which("aarch64-linux-gnu-gcc-12"))
    );
    let gxx = first_on_distccds_path(&helper, AARCH64_GXX.0);
    assert_eq!(version(&gxx), version(&which("aarch64-linux-gnu-g++-12")));
    let said = std::fs::read_to_string(helper._dir.path().join("script.err")).unwrap();
    assert!(
        said.contains(&format!(
            "{}: {toolchain}/aarch64-linux-gnu-gcc-12, gcc {}",
            AARCH64_GCC.0,
            version(&served)
        )),
        "{said}"
    );
    // The wrapper's nm is the cross one, found beside the versioned gcc.
    let wrapper = std::fs::read_to_string(&served).unwrap();
    assert!(
        wrapper.contains(&format!("nm={toolchain}/aarch64-linux-gnu-nm")),
        "{wrapper}"
    );
    refuses_unlinkable_objects(&served, &which("aarch64-linux-gnu-gcc-12"), state.path());
}

#[test]
fn debian_script_for_armv7h_runs_as_a_user() {
    if let Some(why) = cannot_serve("armv7h", ARMV7H_GCC.1) {
        return skip("debian armv7h script", &why);
    }
    let pi = stock("armv7h").unwrap();
    let helper = start(&pi, &["--distro", "debian"], &[], true);
    probe_passes(&pi, &helper);
    // distccd writes the job's summary just after answering.
    let until = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&helper.log).unwrap_or_default();
        if log.contains("COMPILE_OK") || Instant::now() > until {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        log.contains("COMPILE_OK"),
        "the job ran on this helper: {log}"
    );
}

/// A folder like distccd-alarm's /opt/x-tools*: the ALARM names lead to Debian's cross gcc.
fn alarm_toolchain(dir: &Path, name: &str, real: &str) -> PathBuf {
    let bin = dir.join("x-tools/bin");
    std::fs::create_dir_all(&bin).unwrap();
    for d in [dir.join("x-tools"), bin.clone()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let real = Command::new("bash")
        .args(["-c", &format!("command -v {real}")])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap();
    std::os::unix::fs::symlink(real.trim(), bin.join(name)).unwrap();
    // x-tools has the triple's binutils too.
    let nm = real.trim().replace("-gcc", "-nm");
    std::os::unix::fs::symlink(&nm, bin.join(name.replace("-gcc", "-nm"))).unwrap();
    let list = dir.join("cmdlist");
    std::fs::write(&list, format!("{name}\n")).unwrap();
    std::fs::set_permissions(&list, std::fs::Permissions::from_mode(0o644)).unwrap();
    bin
}

fn arch_script(arch: &str, (name, real): (&str, &str), as_user: bool) {
    if let Some(why) = cannot_serve(arch, real) {
        return skip(&format!("arch {arch} script"), &why);
    }
    let pi = stock(arch).unwrap();
    let tools = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tools.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = alarm_toolchain(tools.path(), name, real);
    let bin_arg = bin.display().to_string();
    // The script's own folder, writable by the build user too.
    let state = tempfile::tempdir().unwrap();
    std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let helper_dir = state.path().join("helper");
    // distccd-alarm whitelists in /usr/lib/distcc; here the whitelist comes from the
    // environment, so no system folder is touched.
    let helper = start(
        &pi,
        &["--toolchain", &bin_arg],
        &[
            (
                "DISTCC_CMDLIST",
                tools.path().join("cmdlist").display().to_string(),
            ),
            ("ALARM_DISTCC_HELPER_DIR", helper_dir.display().to_string()),
        ],
        as_user,
    );
    probe_passes(&pi, &helper);
    // distccd runs the script's gcc, which fails unlinkable objects; distccd-alarm's gcc
    // stays what it runs.
    let served = helper_dir.join("bin").join(name);
    assert_eq!(first_on_distccds_path(&helper, name), served);
    let out = Command::new(&served).arg("--version").output().unwrap();
    let real_version = Command::new(bin.join(name))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.stdout, real_version.stdout);
    refuses_unlinkable_objects(&served, &bin.join(name), state.path());
}

#[test]
fn arch_script_for_armv8_runs_as_root_with_its_toolchain() {
    arch_script("aarch64", AARCH64_GCC, false);
}

#[test]
fn arch_script_for_armv7h_runs_as_a_user() {
    arch_script("armv7h", ARMV7H_GCC, true);
}

#[test]
fn arch_script_refuses_a_missing_toolchain() {
    let Some(pi) = stock("aarch64") else {
        return skip("arch script without toolchain", "the corpus is not here");
    };
    let r = run(
        &pi,
        &[
            "helper",
            "--allow",
            "127.0.0.1",
            "--toolchain",
            "/nonexistent/bin",
        ],
    );
    assert_eq!(r.code, 0);
    let out = Command::new("bash")
        .args(["-c", &r.stdout])
        .env("DISTCCD_LOG", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("missing /nonexistent/bin/aarch64-unknown-linux-gnu-gcc"),
        "{err}"
    );
}

/// The Windows side of a WSL2 helper. PowerShell does not run here, so the text is checked:
/// every command the issue asks for (admin check, mirrored mode, the WSL address, portproxy,
/// a firewall rule limited to the Pi, how to undo both), balanced brackets and quotes, and no
/// placeholder left. Each command was reviewed against Microsoft's documentation
/// (New-NetFirewallRule, Get-NetFirewallRule, Remove-NetFirewallRule, netsh interface
/// portproxy, WSL's networkingMode).
#[test]
fn the_powershell_side_of_a_wsl_helper() {
    let conf = fixture("alarm-aarch64-stock.conf");
    let r = run(
        &conf,
        &[
            "helper",
            "--allow",
            "192.168.1.50",
            "--format",
            "powershell",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ps = r.stdout;
    for needle in [
        "WindowsBuiltInRole]::Administrator",
        "networkingMode\\s*=\\s*mirrored",
        "wsl hostname -I",
        "netsh interface portproxy add v4tov4 listenport=$Port listenaddress=0.0.0.0 connectport=$Port connectaddress=$wslAddress",
        "New-NetFirewallRule -DisplayName $Rule -Direction Inbound -Protocol TCP -LocalPort $Port -RemoteAddress '192.168.1.50' -Action Allow",
        "netsh interface portproxy delete v4tov4 listenport=$Port listenaddress=0.0.0.0",
        "Remove-NetFirewallRule -DisplayName '$Rule'",
        "$Port = 3636",
        // How to run a saved script past the default execution policy, and for which Windows.
        "powershell -ExecutionPolicy Bypass -File .\\wsl-distcc.ps1",
        "Windows 10 2004",
        // A failing netsh is caught by its exit code.
        "if ($LASTEXITCODE -ne 0)",
        // Mirrored mode: the Hyper-V firewall lets the LAN in too, for WSL's VM creator.
        "New-NetFirewallHyperVRule -DisplayName $Rule -Direction Inbound -VMCreatorId $WslCreator -Protocol TCP -LocalPorts $Port -RemoteAddresses '192.168.1.50' -Action Allow",
        "{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}",
        // Keeping distccd running, and the forward following a new WSL address.
        "schtasks /create",
        "run this script again then",
    ] {
        assert!(ps.contains(needle), "missing {needle}:\n{ps}");
    }
    // `exit` would close a pasted-in administrator window before its message is read.
    assert!(
        !ps.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.split_whitespace().next() == Some("exit")),
        "{ps}"
    );
    // A re-run after the Pi's address changed replaces the rule instead of keeping it.
    let removed = ps
        .find("| Remove-NetFirewallRule")
        .expect("the old rule is removed");
    let created = ps.find("New-NetFirewallRule").unwrap();
    assert!(removed < created, "{ps}");
    assert!(!ps.contains('@'), "a placeholder is left:\n{ps}");
    for (open, close) in [('{', '}'), ('(', ')'), ('[', ']')] {
        assert_eq!(
            ps.matches(open).count(),
            ps.matches(close).count(),
            "unbalanced {open}{close}:\n{ps}"
        );
    }
    for line in ps.lines().filter(|l| !l.trim_start().starts_with('#')) {
        assert_eq!(
            line.matches('"').count() % 2,
            0,
            "odd double quotes: {line}"
        );
        assert_eq!(
            line.matches('\'').count() % 2,
            0,
            "odd single quotes: {line}"
        );
    }
    // Two Pi addresses: both in the rule, as PowerShell's array.
    let r = run(
        &conf,
        &[
            "helper",
            "--allow",
            "192.168.1.50",
            "--allow",
            "10.0.0.0/24",
            "--format",
            "powershell",
            "--arch",
            "armv7h",
        ],
    );
    assert!(
        r.stdout
            .contains("-RemoteAddress '192.168.1.50','10.0.0.0/24'"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("$Port = 3635"), "{}", r.stdout);
}

/// `--allow`'s default is said the same way in --help, in the script and in README.
#[test]
fn the_allow_default_is_one_story() {
    let help = bin().args(["helper", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    assert!(
        help.contains("[default: the private networks this machine (the Pi) is on]"),
        "{help}"
    );
    let script = bin()
        .args([
            "helper",
            "--arch",
            "armv8",
            "--distro",
            "debian",
            "--allow",
            "10.1.2.0/24",
        ])
        .output()
        .unwrap();
    let script = String::from_utf8_lossy(&script.stdout);
    assert!(
        script.contains("# by default") || script.contains("(by default"),
        "{script}"
    );
    assert!(
        script.contains("the private networks the Pi is on"),
        "{script}"
    );
    assert!(!script.contains("Only this Pi may connect"), "{script}");
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).unwrap();
    assert!(readme.contains("`--allow` defaults to the private networks this machine is on"));
    assert!(!readme.contains("for the Pi's address only"));
}
