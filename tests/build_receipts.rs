//! `alarm-distcc build` on the real makepkg with a real cross helper (a distccd on
//! 127.0.0.1 serving Debian's aarch64 cross gcc under ALARM's name), as an unprivileged
//! user: the receipt's units per host against the helper's own log and the package's
//! files, a helper stopped part-way (fallbacks, their reason, the backoff), a flag that keeps
//! jobs local, --baseline's two builds and speed-up, the live view in a real pseudo-terminal
//! and its absence when piped; then `builds --json`, doctor's line from the last receipt,
//! and `sort --from-builds` with its diff and confirm.

mod common;

use alarm_distcc::receipts::receipt::Receipt;
use common::distccd::*;
use common::*;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SOURCES: [&str; 4] = ["main.c", "greet.c", "sum.c", "version.c"];
const NAME: &str = "aarch64-unknown-linux-gnu-gcc";

fn cannot_build() -> Option<String> {
    let mut need = vec![
        "makepkg",
        "pacman",
        "distcc",
        "distccd",
        "fakeroot",
        "bsdtar",
        "aarch64-linux-gnu-gcc",
    ];
    if is_root() {
        need.push("runuser");
    }
    missing(&need).or_else(|| {
        stock().is_none().then(|| {
            "the corpus's stock aarch64 config is not here (set ALARM_DISTCC_CORPUS)".into()
        })
    })
}

fn stock() -> Option<PathBuf> {
    corpus_files()
        .into_iter()
        .find(|p| p.ends_with("stock/alarm-7.1.0-aarch64.makepkg.conf"))
}

/// A Pi in a folder: the stock config, the package, ALARM's compiler name leading to distcc
/// (makepkg's masquerade) and to the cross gcc for what runs here, a state folder.
struct Pi {
    dir: tempfile::TempDir,
    conf: PathBuf,
    pkg: PathBuf,
    state: PathBuf,
    path: String,
}

impl Pi {
    fn new() -> Pi {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("makepkg.conf");
        std::fs::copy(stock().unwrap(), &conf).unwrap();
        let pkg = dir.path().join("pkg");
        copy_package("e2e-package", &pkg);
        let masq = dir.path().join("distcc-bin");
        let local = dir.path().join("local-bin");
        std::fs::create_dir(&masq).unwrap();
        std::fs::create_dir(&local).unwrap();
        std::os::unix::fs::symlink("/usr/bin/distcc", masq.join(NAME)).unwrap();
        std::os::unix::fs::symlink(which("aarch64-linux-gnu-gcc"), local.join(NAME)).unwrap();
        let path = format!("{}:{}:/usr/bin:/bin", masq.display(), local.display());
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        Pi {
            dir,
            conf,
            pkg,
            state,
            path,
        }
    }

    fn edit(&self, args: &[&str]) {
        let r = run(&self.conf, args);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
    }

    fn own(&self) {
        give_to_build_user(self.dir.path());
    }

    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PATH", self.path.clone()),
            ("HOME", self.dir.path().join("home").display().to_string()),
            ("LANG", "C".into()),
            ("CC", NAME.into()),
            // Debian's client would rewrite the name to its own triple; the Pi sends CHOST's.
            ("DISTCC_NO_REWRITE_CROSS", "1".into()),
            ("ALARM_DISTCC_STATE_DIR", self.state.display().to_string()),
        ]
    }

    /// `alarm-distcc --config CONF <args>` as the build user, in the package folder.
    fn tool(&self, args: &[&str]) -> Command {
        self.tool_with(args, &[])
    }

    /// The same with `extra` variables in its (otherwise clean) environment.
    fn tool_with(&self, args: &[&str], extra: &[(&'static str, String)]) -> Command {
        self.own();
        let tool = tool_for_any_user();
        let mut vars = self.vars();
        vars.extend_from_slice(extra);
        let mut cmd = as_build_user("timeout", &vars);
        cmd.arg("300")
            .arg(tool)
            .arg("--config")
            .arg(&self.conf)
            .args(args)
            .current_dir(&self.pkg);
        cmd
    }

    fn build(&self, extra: &[&str]) -> Output {
        let mut args = vec!["build", "-f", "-C", "--nodeps", "--noconfirm"];
        args.extend_from_slice(extra);
        self.tool(&args).stdin(Stdio::null()).output().unwrap()
    }

    /// `build --baseline`, which must succeed.
    fn baseline(&self) -> Output {
        let out = self
            .tool(&["build", "--baseline", "--nodeps", "--noconfirm"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        out
    }

    fn receipts(&self) -> Vec<Receipt> {
        let text = std::fs::read_to_string(self.state.join("builds.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// A real cross helper (each job first waits `delay` seconds, if given) and a Pi whose
/// config lists it with `slots` and `local` slots of its own, as the seed's commands write it.
fn helper_and_pi(delay: Option<f64>, slots: u32, local: u32) -> (Distccd, Pi) {
    let mut helper = Helper::default()
        .serve(NAME, "aarch64-linux-gnu-gcc")
        .jobs(4);
    if let Some(d) = delay {
        helper = helper.delay(d);
    }
    let helper = helper.start();
    let pi = Pi::new();
    pi.edit(&["add-host", &helper.spec(slots), "--yes"]);
    pi.edit(&["set-local", &local.to_string(), "--yes"]);
    (helper, pi)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn helper_units(r: &Receipt, helper: &Distccd) -> u32 {
    r.hosts
        .iter()
        .find(|h| h.host == helper.host_port())
        .map_or(0, |h| h.units)
}

#[test]
fn the_receipt_counts_what_the_helper_compiled_and_says_why_the_rest_ran_here() {
    if let Some(why) = cannot_build() {
        return skip("build receipts", &why);
    }
    let (helper, pi) = helper_and_pi(None, 4, 0);

    // 1. Every unit on the helper: the receipt's count is the helper's own.
    let out = pi.build(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let compiled = helper.compiled_at_least(SOURCES.len());
    let receipts = pi.receipts();
    assert_eq!(receipts.len(), 1);
    let r = &receipts[0];
    assert_eq!(r.units as usize, SOURCES.len(), "{}", text(&out));
    assert_eq!(helper_units(r, &helper) as usize, compiled.len());
    assert_eq!(r.units_on_helpers as usize, SOURCES.len());
    assert_eq!(r.package.as_deref(), Some("distcc-hello"));
    assert_eq!(r.version.as_deref(), Some("1.0-1"));
    assert!(r.distcc && r.exit_code == 0);
    assert_eq!(r.jobs, Some(4));
    assert!(
        r.phases.iter().any(|p| p.phase == "build"),
        "{:?}",
        r.phases
    );
    assert!(r.on_pi.iter().any(|g| g.kind == "link" && g.units == 0));
    assert!(r.speedup.is_none() && r.speedup_note.as_deref().unwrap().contains("--baseline"));
    // Piped: makepkg's output as usual, the receipt after it, no live view.
    let all = text(&out);
    assert!(all.contains("==> Finished making: distcc-hello"), "{all}");
    assert!(all.contains("compile units: 4 of 4 on helpers"), "{all}");
    // (The live view's host lines: "HOST 1/4 busy 2 done".)
    assert!(
        !all.contains("/4 busy") && !all.contains("\x1b[2K"),
        "{all}"
    );

    // 2. A flag distcc keeps local: every unit here, with distcc's reason.
    let text_conf = std::fs::read_to_string(&pi.conf).unwrap();
    std::fs::write(
        &pi.conf,
        format!("{text_conf}CFLAGS+=\" -ftest-coverage\"\n"),
    )
    .unwrap();
    let before = helper.compiled().len();
    let out = pi.build(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = pi.receipts().pop().unwrap();
    assert_eq!((r.units, r.units_on_helpers), (4, 0), "{}", text(&out));
    let group = r.on_pi.iter().find(|g| g.units == 4).expect("a group of 4");
    assert_eq!(group.kind, "local_flag");
    assert!(group.reason.contains("profile info"), "{}", group.reason);
    assert!(
        r.advice[0].starts_with("0 of 4 units went to helpers"),
        "{:?}",
        r.advice
    );
    assert_eq!(helper.compiled().len(), before, "the helper got a job");
    std::fs::write(&pi.conf, text_conf).unwrap();

    // doctor reads the last receipt.
    let doctor = run(&pi.conf, &["doctor", "--offline"]);
    let doctor_out = {
        let mut c = bin();
        c.env("ALARM_DISTCC_STATE_DIR", &pi.state)
            .arg("--config")
            .arg(&pi.conf)
            .args(["doctor", "--offline"]);
        let o = c.output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(!doctor.stdout.contains("last build"), "{}", doctor.stdout);
    assert!(
        doctor_out.contains("warning  last build: distcc-hello at")
            && doctor_out.contains("0 of 4 unit(s) went to helpers; 4 ran on the Pi because of a flag distcc keeps local"),
        "{doctor_out}"
    );

    // builds --json: one line per receipt, as kept.
    let mut c = bin();
    c.env("ALARM_DISTCC_STATE_DIR", &pi.state)
        .args(["builds", "--json"]);
    let o = c.output().unwrap();
    let lines: Vec<Receipt> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, pi.receipts());
}

#[test]
fn a_helper_stopped_part_way_shows_its_fallbacks_and_backoff() {
    if let Some(why) = cannot_build() {
        return skip("build with a stopped helper", &why);
    }
    // Each job waits on the helper, so the build is still sending when the helper stops.
    let (helper, pi) = helper_and_pi(Some(3.0), 2, 2);
    let spec = helper.host_port();
    let log = helper.log_path().to_path_buf();
    let mut cmd = pi.tool(&["build", "-f", "-C", "--nodeps", "--noconfirm"]);
    let started = Instant::now();
    let running = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop the helper once it has a job in hand.
    let before = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .matches("compile from")
        .count();
    while std::fs::read_to_string(&log)
        .unwrap_or_default()
        .matches("compile from")
        .count()
        <= before
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no job reached the helper"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(helper);
    let out = running.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = pi.receipts().pop().unwrap();
    assert_eq!(r.units, 4, "{}", text(&out));
    let failure = r
        .helper_failures
        .iter()
        .find(|f| f.host == spec)
        .unwrap_or_else(|| {
            panic!(
                "no failure for {spec}: {:?}\n{}",
                r.helper_failures,
                text(&out)
            )
        });
    assert!(failure.jobs >= 1);
    assert!(
        [
            "connection dropped",
            "connection refused",
            "timeout",
            "failed"
        ]
        .contains(&failure.kind.as_str()),
        "{failure:?}"
    );
    assert!(
        r.on_pi.iter().any(|g| g.kind == "fallback" && g.units >= 1),
        "{:?}",
        r.on_pi
    );
    assert!(r.backoff.contains(&spec), "{:?}", r.backoff);
    let all = text(&out);
    assert!(all.contains(&format!("helper {spec} failed")), "{all}");
    assert!(all.contains("went into backoff"), "{all}");
    // The advice's command works as printed: it names the config the build was given.
    let probe = format!("alarm-distcc --config {} probe {spec}", pi.conf.display());
    assert!(
        r.advice.iter().any(|a| a.contains(&probe)),
        "{:?}",
        r.advice
    );
}

#[test]
fn baseline_records_two_builds_and_the_speedup_between_them() {
    if let Some(why) = cannot_build() {
        return skip("build --baseline", &why);
    }
    let (helper, pi) = helper_and_pi(None, 4, 0);
    let out = pi.baseline();
    let rs = pi.receipts();
    assert_eq!(rs.len(), 2, "{}", text(&out));
    let (base, with) = (&rs[0], &rs[1]);
    assert!(base.baseline && !base.distcc && base.units_on_helpers == 0);
    assert_eq!(helper_units(with, &helper), 4);
    let s = with.speedup.as_ref().expect("a speed-up from the baseline");
    assert_eq!(s.baseline_started, base.started);
    let expected = base.wall_seconds / with.wall_seconds;
    assert!((s.wall - expected).abs() < 0.01, "{s:?} vs {expected}");
    // The baseline ran with this machine's -j, not the helpers' slots.
    let all = text(&out);
    let flags: Vec<&str> = all
        .lines()
        .filter_map(|l| l.strip_prefix("alarm-distcc-makeflags:"))
        .collect();
    assert_eq!(flags.len(), 2, "{all}");
    assert!(
        !flags[0].contains("-j4") && flags[1].contains("-j4"),
        "{flags:?}"
    );
    assert!(all.contains("speed-up: "), "{all}");
}

/// Everything `cmd` writes to a real pseudo-terminal until it ends; `during` sees the output
/// so far after each read.
fn in_a_terminal(cmd: Command, mut during: impl FnMut(&str)) -> String {
    use expectrl::session::OsSession as Session;
    let mut s = Session::spawn(cmd).expect("a pty");
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        match s.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                all.extend_from_slice(&buf[..n]);
                during(&String::from_utf8_lossy(&all));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                during(&String::from_utf8_lossy(&all));
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(_) => break,
        }
        assert!(Instant::now() < until, "the build did not finish");
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// A build in a real terminal whose helper is stopped once it has a job in hand: the
/// helper's HOST:PORT and everything the terminal showed.
fn build_stopping_the_helper(pi: &Pi, helper: Distccd) -> (String, String) {
    let spec = helper.host_port();
    let log = helper.log_path().to_path_buf();
    let mut helper = Some(helper);
    let mut cmd = pi.tool(&["build", "-f", "-C", "--nodeps", "--noconfirm"]);
    cmd.env("TERM", "xterm");
    let out = in_a_terminal(cmd, |_| {
        if helper.is_some()
            && std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("compile from")
        {
            helper = None;
        }
    });
    assert!(helper.is_none(), "no job reached the helper:\n{out:?}");
    (spec, out)
}

#[test]
fn the_live_view_marks_a_helper_that_fails_and_goes_into_backoff() {
    if let Some(why) = cannot_build() {
        return skip("build live view, stopped helper", &why);
    }
    let (helper, pi) = helper_and_pi(Some(3.0), 2, 0);
    let (spec, out) = build_stopping_the_helper(&pi, helper);
    assert!(
        out.contains(&format!("{spec} 0/2 busy 0 done")),
        "the helper's part of the status line:\n{out:?}"
    );
    assert!(
        (1..=4).any(|n| out.contains(&format!("{n} fell back"))),
        "no fallback on the status line:\n{out:?}"
    );
    assert!(out.contains(" BACKOFF"), "no backoff mark:\n{out:?}");
    assert!(
        out.contains("Finished making: distcc-hello 1.0-1"),
        "{out:?}"
    );
}

/// A helper stopped mid-build: its jobs fall back and run on the Pi (slowly, as a Pi's
/// compiler does), and from then on the status line counts them on the Pi, not as the
/// stopped helper's busy slots.
#[test]
fn the_live_view_frees_a_stopped_helpers_slots_while_its_jobs_run_here() {
    if let Some(why) = cannot_build() {
        return skip("build live view, fallbacks running here", &why);
    }
    // distcc gives the helper 3 of the 4 units and the Pi 1 (slot 0 of each host, then
    // slot 1...); the helper's 3 fall back and queue for the Pi's one slot.
    let (helper, pi) = helper_and_pi(Some(3.0), 4, 1);
    // The Pi's own compiler takes its time.
    let local = pi.dir.path().join("local-bin").join(NAME);
    std::fs::remove_file(&local).unwrap();
    std::fs::write(
        &local,
        format!(
            "#!/bin/sh\nsleep 4\nexec {} \"$@\"\n",
            which("aarch64-linux-gnu-gcc").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (spec, out) = build_stopping_the_helper(&pi, helper);
    // Every drawing of the helper's part once it has fallbacks: none busy.
    let parts: Vec<&str> = out
        .split(" | ")
        .filter(|p| p.starts_with(&spec) && p.contains("fell back"))
        .collect();
    assert!(!parts.is_empty(), "no fallback was drawn:\n{out:?}");
    for p in &parts {
        assert!(
            p.starts_with(&format!("{spec} 0/4 busy")),
            "the stopped helper still shows busy slots: {p:?}"
        );
    }
}

#[test]
fn the_live_view_draws_in_a_terminal_and_keeps_makepkgs_lines() {
    if let Some(why) = cannot_build() {
        return skip("build live view", &why);
    }
    let (helper, pi) = helper_and_pi(Some(1.0), 4, 0);
    let mut cmd = pi.tool(&["build", "-f", "-C", "--nodeps", "--noconfirm"]);
    cmd.env("TERM", "xterm");
    let out = in_a_terminal(cmd, |_| {});

    // Drawn, and updated: the helper's busy slots and then its finished units.
    assert!(out.contains(&format!("{} ", helper.host_port())), "{out:?}");
    assert!(
        out.contains("busy 0 done") && out.contains("busy 4 done"),
        "the status line never showed the units done:\n{out:?}"
    );
    assert!(
        (1..=4).any(|n| out.contains(&format!(" {n}/4 busy"))),
        "no busy slot was ever shown:\n{out:?}"
    );
    // makepkg's lines are whole: the status line is cleared before each, never inside one.
    for line in out.split('\n') {
        let visible = line.rsplit("\x1b[2K").next().unwrap_or(line);
        if visible.contains("==>") {
            assert!(
                !visible.contains("busy"),
                "a makepkg line was garbled: {line:?}"
            );
        }
    }
    assert!(
        out.contains("Finished making: distcc-hello 1.0-1"),
        "{out:?}"
    );
    // How busy this machine's CPUs were from the first unit on (/proc/stat; each of the
    // helper's jobs waits 1 s, so the span is long enough to sample).
    let r = pi.receipts().pop().unwrap();
    let step = r.build_step.as_ref().expect("build() had units");
    let busy = step.cpu_busy.expect("the CPU trace covers the units");
    assert!(busy > 0.0 && busy <= 1.0, "{busy}");
    // All the CPUs /proc/stat lists: at least those this process may run on.
    assert!(step.cpus as usize >= std::thread::available_parallelism().map_or(1, |n| n.get()));
    assert!(
        out.contains(&format!("the Pi's {} CPUs were", step.cpus)),
        "{out:?}"
    );
    assert!(out.contains("compile units: 4 of 4 on helpers"), "{out:?}");
}

/// The terminals a Pi is used from: the Linux console, and screen or tmux (over ssh). Their
/// `tput sgr0` ends with SI (`\x0f`), which makepkg prints around every `==>` line.
const PI_TERMS: [&str; 3] = ["linux", "screen", "tmux-256color"];

#[test]
fn receipts_read_makepkgs_lines_on_the_console_screen_and_tmux() {
    if let Some(why) = cannot_build() {
        return skip("build receipts on the Pi's terminals", &why);
    }
    for term in PI_TERMS {
        let (_helper, pi) = helper_and_pi(None, 4, 0);
        let cmd = pi.tool_with(
            &["build", "--baseline", "--nodeps", "--noconfirm"],
            &[("TERM", term.to_string())],
        );
        let out = in_a_terminal(cmd, |_| {});
        // makepkg coloured its lines with this TERM's own codes, SI included.
        assert!(
            out.contains("\x0f"),
            "{term}: no SI in makepkg's colours:\n{out:?}"
        );
        let rs = pi.receipts();
        assert_eq!(rs.len(), 2, "{term}:\n{out:?}");
        for r in &rs {
            assert_eq!(r.package.as_deref(), Some("distcc-hello"), "{term}: {r:?}");
            assert_eq!(r.version.as_deref(), Some("1.0-1"), "{term}");
            let phases: Vec<&str> = r.phases.iter().map(|p| p.phase.as_str()).collect();
            assert!(
                phases.contains(&"build") && phases.contains(&"package"),
                "{term}: {phases:?}"
            );
        }
        assert!(
            rs[1].speedup.is_some(),
            "{term}: no speed-up against the baseline: {:?}",
            rs[1].speedup_note
        );
        assert!(
            out.contains("speed-up: ") && !out.contains("(package unknown)"),
            "{term}"
        );
    }
}

#[test]
fn sort_from_builds_ranks_helpers_by_their_recorded_throughput() {
    use alarm_distcc::receipts::phases::Phases;
    use alarm_distcc::receipts::receipt::Context;
    // Two receipts as `build` keeps them: the second helper did its units five times faster.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("makepkg.conf");
    std::fs::write(
        &conf,
        "CARCH=\"aarch64\"\nBUILDENV=(distcc)\nDISTCC_HOSTS=\"127.0.0.21:3636/4 127.0.0.22:3636/4\"\nMAKEFLAGS=\"-j8\"\n",
    )
    .unwrap();
    let log = |host: &str, secs: f64, pid: u32| {
        format!(
            "distcc[{pid}] compile from a{pid}.c to a.o\n\
             distcc[{pid}] exec on {host}/4: gcc -c a{pid}.c -o a.o\n\
             distcc[{pid}] 100 bytes from a{pid}.c compiled on x in {secs}s, rate 1kB/s\n\
             distcc[{pid}] compile a{pid}.c on {host}/4 completed ok\n\
             distcc[{pid}] (dcc_exit) exit: code 0; x\n"
        )
    };
    let mut reader = alarm_distcc::receipts::log::LogReader::default();
    for i in 0..10 {
        reader.feed(log("127.0.0.21:3636", 1.0, i).as_bytes(), 0.0);
        reader.feed(log("127.0.0.22:3636", 0.2, 100 + i).as_bytes(), 0.0);
    }
    reader.finish(1.0);
    let ctx = Context {
        distcc: true,
        listed: vec![("127.0.0.21:3636".into(), 4), ("127.0.0.22:3636".into(), 4)],
        ..Context::default()
    };
    let receipt = Receipt::new(&ctx, &reader.done, &Phases::default(), &[]);
    let state = dir.path().join("state");
    alarm_distcc::receipts::store::append(&state.join("builds.jsonl"), &receipt).unwrap();
    let before = std::fs::read(&conf).unwrap();

    let mut c = bin();
    c.env("ALARM_DISTCC_STATE_DIR", &state)
        .arg("--config")
        .arg(&conf)
        .args(["sort", "--from-builds", "--dry-run"]);
    let o = c.output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("+DISTCC_HOSTS=\"127.0.0.22:3636/4 127.0.0.21:3636/4\""),
        "{out}"
    );
    assert!(out.contains("5.00"), "{out}");
    assert_eq!(std::fs::read(&conf).unwrap(), before, "--dry-run wrote");

    // The same confirm as sort, answered in a real terminal.
    use expectrl::Expect;
    let mut cmd = bin();
    cmd.env("ALARM_DISTCC_STATE_DIR", &state)
        .env("TERM", "xterm")
        .arg("--config")
        .arg(&conf)
        .args(["sort", "--from-builds"]);
    let mut s = expectrl::session::OsSession::spawn(cmd).unwrap();
    s.set_expect_timeout(Some(Duration::from_secs(15)));
    s.expect("[y/N]").unwrap();
    s.send("y\r").unwrap();
    let _ = s.expect(expectrl::Eof);
    let after = std::fs::read_to_string(&conf).unwrap();
    assert!(
        after.contains("DISTCC_HOSTS=\"127.0.0.22:3636/4 127.0.0.21:3636/4\""),
        "{after}"
    );

    // Without records for the listed helpers it says what to do, and writes nothing.
    let empty = dir.path().join("empty");
    let mut c = bin();
    c.env("ALARM_DISTCC_STATE_DIR", &empty)
        .arg("--config")
        .arg(&conf)
        .args(["sort", "--from-builds", "--yes"]);
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    // Its commands name the config given, so they act on it as printed.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "run `alarm-distcc --config {} build` first",
            conf.display()
        )),
        "{stderr}"
    );

    // Under sudo (README's flow: writing /etc/makepkg.conf needs it), the invoking user's
    // receipts count: sudo's environment, root's own HOME, no ALARM_DISTCC_STATE_DIR.
    if !is_root() {
        return skip("sort --from-builds under sudo", "not running as root");
    }
    let home = dir.path().join("home-of-pi");
    let user_store = home.join(".local/state/alarm-distcc/builds.jsonl");
    alarm_distcc::receipts::store::append(&user_store, &receipt).unwrap();
    let passwd = dir.path().join("passwd");
    std::fs::write(
        &passwd,
        format!(
            "root:x:0:0::/root:/bin/bash\npi:x:1000:1000::{}:/bin/bash\n",
            home.display()
        ),
    )
    .unwrap();
    let under_sudo = |args: &[&str]| {
        let mut c = bin();
        c.env_remove("ALARM_DISTCC_STATE_DIR")
            .env_remove("XDG_STATE_HOME")
            .env("HOME", "/root")
            .env("SUDO_USER", "pi")
            .env("ALARM_DISTCC_PASSWD", &passwd)
            .arg("--config")
            .arg(&conf)
            .args(args);
        let o = c.output().unwrap();
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    std::fs::write(
        &conf,
        "CARCH=\"aarch64\"\nBUILDENV=(distcc)\nDISTCC_HOSTS=\"127.0.0.21:3636/4 127.0.0.22:3636/4\"\nMAKEFLAGS=\"-j8\"\n",
    )
    .unwrap();
    let (code, out) = under_sudo(&["sort", "--from-builds", "--dry-run"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("+DISTCC_HOSTS=\"127.0.0.22:3636/4 127.0.0.21:3636/4\""),
        "{out}"
    );
    let (_, out) = under_sudo(&["doctor", "--offline"]);
    assert!(out.contains("last build"), "{out}");
    let (code, out) = under_sudo(&["builds"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("no build"), "{out}");
}

#[test]
fn no_speedup_is_claimed_when_nothing_went_through_distcc() {
    if let Some(why) = cannot_build() {
        return skip("no speed-up without distcc", &why);
    }
    let (_helper, mut pi) = helper_and_pi(None, 4, 0);
    let with_masquerade = pi.path.clone();
    // makepkg's compilers reach distcc only through a masquerade folder first on PATH: here
    // the compiler is found without it.
    pi.path = with_masquerade
        .split(':')
        .skip(1)
        .collect::<Vec<_>>()
        .join(":");
    let out = pi.baseline();
    let r = pi.receipts().pop().unwrap();
    assert!(r.distcc && r.units == 0, "{r:?}");
    assert!(r.speedup.is_none(), "{:?}", r.speedup);
    assert!(
        r.speedup_note
            .as_deref()
            .is_some_and(|n| n.contains("no compile went through distcc")),
        "{:?}",
        r.speedup_note
    );
    let advice = r.advice.join("\n");
    assert!(
        advice.contains("no compile went through distcc"),
        "{advice}"
    );
    if !std::path::Path::new("/usr/lib/distcc/bin").is_dir() {
        assert!(advice.contains("/usr/lib/distcc/bin"), "{advice}");
    }
    assert!(!text(&out).contains("speed-up: 1."), "{}", text(&out));

    // With distcc reached: a baseline, then a rebuild that compiles nothing (-e keeps the
    // objects): no speed-up for it either.
    pi.path = with_masquerade;
    pi.baseline();
    assert!(pi.receipts().pop().unwrap().speedup.is_some());
    let out = pi.build(&["-e"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = pi.receipts().pop().unwrap();
    assert_eq!(r.units, 0, "{}", text(&out));
    assert!(r.speedup.is_none(), "{:?}\n{}", r.speedup, text(&out));
    // distcc was on PATH this time: the advice says nothing was compiled, not that the
    // masquerade folder is missing.
    let advice = r.advice.join("\n");
    assert!(
        advice.contains("no compile went through distcc")
            && advice.contains("the build had nothing to compile")
            && !advice.contains("that folder is missing"),
        "{advice}"
    );
}

#[test]
fn a_build_that_never_started_keeps_no_receipt_and_a_failed_one_is_not_ok() {
    if let Some(why) = cannot_build() {
        return skip("failed builds in the receipts", &why);
    }
    let (_helper, pi) = helper_and_pi(None, 4, 0);
    // No PKGBUILD: makepkg stops at once.
    std::fs::remove_file(pi.pkg.join("PKGBUILD")).unwrap();
    let out = pi.build(&[]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no receipt kept"), "{}", text(&out));
    assert!(pi.receipts().is_empty(), "{:?}", pi.receipts());

    // A build that fails in build(): kept, shown failed, and doctor does not call it ok.
    std::fs::copy(
        manifest_dir().join("tests/e2e-package/PKGBUILD"),
        pi.pkg.join("PKGBUILD"),
    )
    .unwrap();
    // (The package's sources are not checksummed: makepkg gets as far as build().)
    std::fs::write(pi.pkg.join("sum.c"), "this is not C\n").unwrap();
    let out = pi.build(&[]);
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 0, "{}", text(&out));
    let r = pi.receipts().pop().expect("a receipt for the failed build");
    assert_eq!(r.exit_code, code);
    assert!(!r.interrupted);
    let with_state = |args: &[&str]| {
        let mut c = bin();
        c.env("ALARM_DISTCC_STATE_DIR", &pi.state)
            .arg("--config")
            .arg(&pi.conf)
            .args(args);
        let o = c.output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let doctor = with_state(&["doctor", "--offline"]);
    assert!(
        doctor.contains("warning  last build:")
            && doctor.contains(&format!("makepkg exited {code}")),
        "{doctor}"
    );
    let builds = with_state(&["builds"]);
    assert!(
        builds.contains("RESULT") && builds.contains(&format!("failed {code}")),
        "{builds}"
    );
}

#[test]
fn build_refuses_root_as_makepkg_does() {
    if !is_root() {
        return skip("build_refuses_root_as_makepkg_does", "not running as root");
    }
    let (_dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let r = run(&conf, &["build"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("makepkg refuses to run as root"),
        "{}",
        r.stderr
    );
}

/// What build says before makepkg starts (the job pool) fits a narrow console (a Pi's 80
/// columns; here 60) as every status line does, continued 4 columns in.
#[test]
fn builds_own_lines_fit_a_narrow_terminal() {
    if let Some(why) = cannot_build() {
        return skip("build's lines on a narrow terminal", &why);
    }
    let (_helper, pi) = helper_and_pi(None, 4, 0);
    let mut cmd = pi.tool(&["build", "-f", "-C", "--nodeps", "--noconfirm"]);
    cmd.env("TERM", "linux");
    let shown = on_screen(60, &cmd, Duration::from_secs(120));
    let lines: Vec<&str> = shown.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("job pool: "))
        .unwrap_or_else(|| panic!("no job pool line:\n{shown}"));
    let said: Vec<&str> = std::iter::once(lines[at])
        .chain(
            lines[at + 1..]
                .iter()
                .copied()
                .take_while(|l| l.starts_with("    ")),
        )
        .collect();
    assert!(said.len() > 1, "nothing was continued:\n{shown}");
    for line in &said {
        assert!(line.chars().count() <= 60, "{line:?} in:\n{shown}");
    }
    let words = said
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(words.contains("its sub-makes share make's own"), "{words}");
    assert!(
        shown.contains("Finished making: distcc-hello 1.0-1"),
        "{shown}"
    );
}
