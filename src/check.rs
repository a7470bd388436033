//! `probe`, `sort --measure` and `doctor`: what stops distcc from helping, found for real.

use crate::app::Session;
use crate::document::Document;
use crate::error::bad_input;
use crate::hosts::{HostList, HostSpec, Kind};
use crate::layers::{self, Value};
use crate::makeflags::JobCount;
use crate::probe::{self, Arch, HostReport, Outcome, Target, Verdict};
use crate::view::{self, Scalar};
use anyhow::{Result, anyhow};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// The last static value of a scalar across the layers.
pub fn layered_scalar(docs: &[(PathBuf, Document)], name: &str) -> Option<String> {
    docs.iter()
        .rev()
        .find_map(|(_, d)| match view::scalar(d, name) {
            Scalar::Static { value, .. } => Some(value),
            _ => None,
        })
}

/// What the helpers must compile for: `--expect-arch`, else CARCH, else this binary's arch.
pub fn expected_arch(docs: &[(PathBuf, Document)], expect: Option<&str>) -> Result<(String, Arch)> {
    let name = match expect {
        Some(e) => e.to_string(),
        None => layered_scalar(docs, "CARCH")
            .filter(|c| !c.contains('@'))
            .unwrap_or_else(|| std::env::consts::ARCH.to_string()),
    };
    let arch = probe::arch_for_carch(&name).ok_or_else(|| {
        bad_input(format!(
            "unknown architecture `{name}`; use --expect-arch aarch64|armv7h|armv6h|x86_64|i686|riscv64"
        ))
    })?;
    Ok((name, arch))
}

/// The compiler names this machine's distcc would send: `gcc`, and `<CHOST>-gcc` after its
/// cross-rewrite.
pub fn default_compilers(docs: &[(PathBuf, Document)]) -> Vec<String> {
    let mut out = vec!["gcc".to_string()];
    if let Some(chost) = layered_scalar(docs, "CHOST").filter(|c| !c.contains('@') && !c.is_empty())
    {
        out.push(format!("{chost}-gcc"));
    }
    out
}

pub fn targets_of(list: &HostList) -> Vec<Target> {
    list.specs()
        .filter(|s| s.kind() != Kind::Global)
        .map(|s| Target {
            spec: s.to_string(),
            kind: s.kind(),
            host: s.host().unwrap_or("").to_string(),
            port: s.port().unwrap_or(crate::hosts::DEFAULT_PORT),
        })
        .collect()
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    })
}

fn describe(o: &Outcome, expected: Arch) -> String {
    match o {
        Outcome::Local => "local (runs here, no daemon)".into(),
        Outcome::NotProbed(why) => format!("not probed: {why}"),
        Outcome::Unresolvable(e) => format!("name not found: {e}"),
        Outcome::Refused => "refused: nothing listens".into(),
        Outcome::TimedOut(stage) => format!("timed out ({stage})"),
        Outcome::Rejected => "rejected: closed before DONE".into(),
        Outcome::CompilerMissing(_) => "compiler missing on helper (exit 110)".into(),
        Outcome::CompileFailed { status, .. } => format!("compile failed (exit {status})"),
        Outcome::ProtocolError(e) => format!("protocol error: {e}"),
        Outcome::Object { arch, .. } if *arch == expected => format!("ok: {arch} object"),
        Outcome::Object { arch, .. } => format!("WRONG ARCH: {arch} object, need {expected}"),
    }
}

/// How to fix what the probe found on `host`.
pub fn advice(r: &HostReport, expected: Arch, carch: &str) -> Vec<String> {
    let t = &r.target;
    let at = format!("{}:{}", t.host, t.port);
    let mut out = Vec::new();
    for a in &r.attempts {
        let line = match &a.outcome {
            Outcome::Object { arch, .. } if *arch != expected => format!(
                "{at} compiled `{}` for {arch}, but this machine needs {expected}: on the helper, \
                 put the cross toolchain's bin first on distccd's PATH (for {carch}: `alarm-distcc \
                 helper` prints the commands; distccd-alarm uses /opt/x-tools8/aarch64-unknown-linux-gnu/bin \
                 for armv8 and /opt/x-tools7h/arm-unknown-linux-gnueabihf/bin for armv7h)",
                a.compiler
            ),
            Outcome::Rejected => format!(
                "{at} closed the connection for `{}`: its --allow list does not include this \
                 machine, or `{}` is not whitelisted in /usr/lib/distcc on the helper",
                a.compiler, a.compiler
            ),
            Outcome::Refused => {
                format!("nothing listens on {at}: start distccd there, check the port")
            }
            Outcome::TimedOut(stage) => format!(
                "{at} did not answer in time ({stage}): a firewall, a wrong address, or an overloaded helper"
            ),
            Outcome::CompilerMissing(err) => format!(
                "{at} whitelists `{}` but cannot run it: add its folder to distccd's PATH ({err})",
                a.compiler
            ),
            Outcome::CompileFailed { stderr, .. } => {
                format!("{at} failed to compile with `{}`: {stderr}", a.compiler)
            }
            Outcome::ProtocolError(e) => format!("{at} does not speak distcc's protocol: {e}"),
            Outcome::Unresolvable(e) => format!("{} cannot be resolved: {e}", t.host),
            _ => continue,
        };
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

pub struct ProbeOptions {
    pub hosts: Vec<String>,
    pub timeout: f64,
    pub compiler: Option<String>,
    pub expect_arch: Option<String>,
    pub json: bool,
}

fn timeout_of(secs: f64) -> Result<Duration> {
    if !(secs.is_finite() && secs > 0.0 && secs <= 600.0) {
        return Err(bad_input(format!(
            "--timeout {secs}: give seconds between 0 and 600"
        )));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn list_to_probe(docs: &[(PathBuf, Document)], hosts: &[String]) -> Result<HostList> {
    if hosts.is_empty() {
        return match layers::effective(docs).hosts {
            Value::Known(s) => Ok(HostList::parse(&s.value)),
            Value::Unknown { path, line, text } => Err(bad_input(format!(
                "{}:{line}: DISTCC_HOSTS is computed ({text}); name the hosts to probe",
                path.display()
            ))),
            Value::Unset => Err(bad_input(
                "DISTCC_HOSTS is not set; name the hosts to probe, or add one with add-host",
            )),
        };
    }
    let mut list = HostList::default();
    for h in hosts {
        let spec: HostSpec = h
            .parse()
            .map_err(|e: crate::hosts::SpecError| bad_input(e.to_string()))?;
        list.tokens.push(crate::hosts::HostToken::new(spec));
    }
    Ok(list)
}

fn with_spinner<T>(message: String, work: impl FnOnce() -> T) -> T {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    let out = work();
    bar.finish_and_clear();
    out
}

pub fn run_probe(session: &Session, opts: &ProbeOptions) -> Result<()> {
    let docs = session.layers()?;
    let timeout = timeout_of(opts.timeout)?;
    let list = list_to_probe(&docs, &opts.hosts)?;
    if let Some(bad) = list.invalid().next() {
        return Err(bad_input(bad.to_string()));
    }
    let (carch, expected) = expected_arch(&docs, opts.expect_arch.as_deref())?;
    let compilers = match &opts.compiler {
        Some(c) => vec![c.clone()],
        None => default_compilers(&docs),
    };
    let targets = targets_of(&list);
    if targets.is_empty() {
        return Err(bad_input("no hosts to probe"));
    }
    let reports = with_spinner(format!("probing {} host(s)", targets.len()), || {
        probe::probe_all(&targets, &compilers, probe::PROBE_SOURCE, timeout)
    });
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&probe_json(&reports, expected, &carch))?
        );
    } else {
        print!("{}", probe_table(&reports, expected, &carch));
    }
    let failed = reports
        .iter()
        .filter(|r| r.verdict(expected) == Verdict::Failed)
        .count();
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {} host(s) cannot compile for {carch}",
            reports.len()
        ));
    }
    Ok(())
}

pub fn probe_table(reports: &[HostReport], expected: Arch, carch: &str) -> String {
    use std::fmt::Write;
    let mut out = format!("target: {carch} ({expected})\n");
    let _ = writeln!(
        out,
        "{:<26} {:<32} {:<40} {:>9} {:>10}",
        "HOST", "COMPILER", "RESULT", "CONNECT", "COMPILE"
    );
    for r in reports {
        for a in &r.attempts {
            let _ = writeln!(
                out,
                "{:<26} {:<32} {:<40} {:>9} {:>10}",
                r.target.spec,
                if a.compiler.is_empty() {
                    "-"
                } else {
                    &a.compiler
                },
                describe(&a.outcome, expected),
                ms(a.connect),
                ms(a.round_trip)
            );
        }
    }
    for r in reports {
        for line in advice(r, expected, carch) {
            let _ = writeln!(out, "fix: {line}");
        }
    }
    out
}

pub fn probe_json(reports: &[HostReport], expected: Arch, carch: &str) -> serde_json::Value {
    use serde_json::json;
    json!({
        "expected_arch": expected.to_string(),
        "carch": carch,
        "hosts": reports.iter().map(|r| json!({
            "spec": r.target.spec,
            "host": r.target.host,
            "port": r.target.port,
            "kind": r.target.kind.to_string(),
            "verdict": match r.verdict(expected) { Verdict::Ok => "ok", Verdict::Local => "local", Verdict::Failed => "failed" },
            "attempts": r.attempts.iter().map(|a| json!({
                "compiler": a.compiler,
                "result": outcome_name(&a.outcome),
                "detail": describe(&a.outcome, expected),
                "arch": match a.outcome { Outcome::Object { arch, .. } => Some(arch.to_string()), _ => None },
                "connect_ms": a.connect.map(|d| d.as_secs_f64() * 1000.0),
                "round_trip_ms": a.round_trip.map(|d| d.as_secs_f64() * 1000.0),
            })).collect::<Vec<_>>(),
            "advice": advice(r, expected, carch),
        })).collect::<Vec<_>>(),
    })
}

pub fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Local => "local",
        Outcome::NotProbed(_) => "not_probed",
        Outcome::Unresolvable(_) => "unresolvable",
        Outcome::Refused => "refused",
        Outcome::TimedOut(_) => "timed_out",
        Outcome::Rejected => "rejected",
        Outcome::CompilerMissing(_) => "compiler_missing",
        Outcome::CompileFailed { .. } => "compile_failed",
        Outcome::ProtocolError(_) => "protocol_error",
        Outcome::Object { .. } => "object",
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some(v[v.len() / 2])
}

/// Seconds this machine takes to compile the benchmark unit, median of `runs`.
fn measure_local(runs: u32) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let src = dir.path().join("bench.c");
    std::fs::write(&src, probe::benchmark_source()).ok()?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let ok = std::process::Command::new("cc")
            .args(["-O2", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(dir.path().join("bench.o"))
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
        times.push(start.elapsed().as_secs_f64());
    }
    median(times)
}

pub struct MeasureOptions {
    pub runs: u32,
    pub timeout: f64,
    pub expect_arch: Option<String>,
}

/// Median seconds of the benchmark compile on each helper that passes the quick probe (by
/// spec as written in `targets_of`), and on this machine when it has slots.
fn measure(
    list: &HostList,
    compilers: &[String],
    expected: Arch,
    runs: u32,
    timeout: Duration,
) -> (Vec<(String, Option<f64>)>, Option<f64>) {
    let quick = probe::probe_all(
        &targets_of(list),
        compilers,
        probe::PROBE_SOURCE,
        timeout.min(Duration::from_secs(4)),
    );
    let bench = probe::benchmark_source();
    std::thread::scope(|s| {
        let handles: Vec<_> = quick
            .iter()
            .filter(|r| r.verdict(expected) == Verdict::Ok)
            .map(|r| {
                // The name that gave the right object is the one worth timing.
                let compiler = r
                    .attempts
                    .iter()
                    .find(|a| matches!(a.outcome, Outcome::Object { arch, .. } if arch == expected))
                    .map_or("gcc", |a| a.compiler.as_str());
                let bench = &bench;
                s.spawn(move || {
                    let times: Vec<f64> = (0..runs)
                        .filter_map(|_| {
                            let a = probe::compile(
                                &r.target.host,
                                r.target.port,
                                compiler,
                                bench,
                                timeout,
                            );
                            match a.outcome {
                                Outcome::Object { .. } => a.round_trip.map(|d| d.as_secs_f64()),
                                _ => None,
                            }
                        })
                        .collect();
                    (r.target.spec.clone(), median(times))
                })
            })
            .collect();
        let local_time = if list.local_slots() > 0 {
            measure_local(runs)
        } else {
            None
        };
        let remote = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        (remote, local_time)
    })
}

/// Orders DISTCC_HOSTS by measured throughput (slots per second of one compile).
pub fn run_sort_measure(session: &Session, opts: &MeasureOptions) -> Result<()> {
    let target = session.target()?;
    let inherited = session.inherited(&target);
    let (list, _) = crate::plan::starting_hosts(&target.doc, &inherited)
        .map_err(|r| session.refusal(&target.loaded.path, r))?;
    let (carch, expected) = expected_arch(&target.layers, opts.expect_arch.as_deref())?;
    let timeout = timeout_of(opts.timeout)?;
    let runs = opts.runs.clamp(1, 20);
    let compilers = default_compilers(&target.layers);
    let (remote_times, local_time) = with_spinner("measuring helpers".into(), || {
        measure(&list, &compilers, expected, runs, timeout)
    });
    let mut scores: HashMap<String, f64> = HashMap::new();
    let mut rows = Vec::new();
    for spec in list.specs() {
        let secs = match spec.kind() {
            Kind::Local => local_time,
            Kind::Tcp => remote_times
                .iter()
                .find(|(s, _)| *s == spec.to_string())
                .and_then(|(_, t)| *t),
            _ => None,
        };
        if let Some(secs) = secs.filter(|s| *s > 0.0) {
            let score = f64::from(spec.slots()) / secs;
            scores.insert(spec.key(), score);
            rows.push((spec.to_string(), Some(secs), Some(score)));
        } else if spec.kind() != Kind::Global {
            rows.push((spec.to_string(), None, None));
        }
    }
    println!("target: {carch} ({expected}); {runs} run(s) each, median compile time");
    println!("{:<28} {:>12} {:>14}", "HOST", "COMPILE", "SLOTS/SECOND");
    for (spec, secs, score) in &rows {
        match (secs, score) {
            (Some(t), Some(s)) => println!("{spec:<28} {:>9.1} ms {s:>14.1}", t * 1000.0),
            _ => println!("{spec:<28} {:>12} {:>14}", "not measured", "-"),
        }
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.2.is_none())
        .map(|r| r.0.as_str())
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "warning: {} could not be measured (failed the probe, or an ssh host) and go last: {} \
             (see `alarm-distcc probe`)",
            failed.len(),
            failed.join(", ")
        );
    }
    let total: f64 = scores.values().sum();
    if let Some(local) = scores.get("localhost")
        && total > 0.0
        && *local < total / 5.0
    {
        eprintln!(
            "advice: this machine gives {:.0}% of the measured speed; distcc's man page advises \
             leaving a client under a fifth of the total out of the list: alarm-distcc set-local 0",
            100.0 * local / total
        );
    }
    let plan = crate::plan::plan_hosts(
        &target.doc,
        &crate::plan::HostChange::SortMeasured(scores),
        &inherited,
    )
    .map_err(|r| session.refusal(&target.loaded.path, r))?;
    session.apply(&target, plan)
}

/// distccd-alarm's ports, one per ARM architecture (armv5 and armv6h until 2022).
const ALARM_PORTS: [(u16, &str, &str); 4] = [
    (3633, "arm", "armv5"),
    (3634, "armv6h", "armv6h"),
    (3635, "armv7h", "armv7h"),
    (3636, "aarch64", "armv8"),
];

fn alarm_port_arch(port: u16) -> Option<(&'static str, &'static str)> {
    ALARM_PORTS
        .iter()
        .find(|(p, _, _)| *p == port)
        .map(|(_, a, n)| (*a, *n))
}

fn carch_family(carch: &str) -> &str {
    match carch {
        "armv8" => "aarch64",
        "armv5" | "armv5tel" => "arm",
        other => other,
    }
}

fn alarm_port_for(carch: &str) -> Option<u16> {
    ALARM_PORTS
        .iter()
        .find(|(_, a, _)| *a == carch_family(carch))
        .map(|(p, _, _)| *p)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub message: String,
    pub fix: String,
}

fn finding(level: Level, message: impl Into<String>, fix: impl Into<String>) -> Finding {
    Finding {
        level,
        message: message.into(),
        fix: fix.into(),
    }
}

/// Facts about this machine the doctor reads (kept apart so tests can give their own).
#[derive(Debug, Clone)]
pub struct Machine {
    pub distcc_binary: bool,
    pub masquerade_dir: bool,
    pub mem_total_kib: Option<u64>,
    pub swap_total_kib: Option<u64>,
}

impl Machine {
    pub fn read() -> Machine {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| {
            meminfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        };
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("distcc").is_file()))
            .unwrap_or(false);
        Machine {
            distcc_binary: on_path,
            masquerade_dir: std::path::Path::new("/usr/lib/distcc/bin").is_dir(),
            mem_total_kib: field("MemTotal:"),
            swap_total_kib: field("SwapTotal:"),
        }
    }
}

/// Everything that stops distcc from helping, from the config alone (and this machine).
pub fn diagnose(docs: &[(PathBuf, Document)], machine: &Machine) -> Vec<Finding> {
    let eff = layers::effective(docs);
    let mut out = Vec::new();
    let at = |p: &PathBuf, l: usize| format!("{}:{l}", p.display());
    let enabled = match &eff.distcc {
        Value::Known(s) => s.value,
        Value::Unknown { path, line, text } => {
            out.push(finding(
                Level::Warning,
                format!(
                    "distcc in BUILDENV is decided by shell code at {} ({text})",
                    at(path, *line)
                ),
                "make BUILDENV a plain top-level array",
            ));
            false
        }
        Value::Unset => false,
    };
    if enabled {
        out.push(finding(Level::Ok, "distcc is on in BUILDENV", ""));
    } else {
        out.push(finding(
            Level::Warning,
            "distcc is off in BUILDENV: makepkg will not use the helpers",
            "alarm-distcc enable",
        ));
    }
    let list = match &eff.hosts {
        Value::Known(s) => Some((HostList::parse(&s.value), at(&s.path, s.line))),
        Value::Unknown { path, line, text } => {
            out.push(finding(
                Level::Warning,
                format!("DISTCC_HOSTS is computed at {} ({text})", at(path, *line)),
                "write the list literally",
            ));
            None
        }
        Value::Unset => None,
    };
    let total = list.as_ref().map_or(0, |(l, _)| l.total_slots());
    let remote = list.as_ref().map_or(0, |(l, _)| {
        l.specs()
            .filter(|s| matches!(s.kind(), Kind::Tcp | Kind::Ssh))
            .count()
    });
    if enabled && remote == 0 {
        out.push(finding(
            Level::Error,
            "distcc is on but DISTCC_HOSTS names no helper: every compile runs here",
            "alarm-distcc add-host HOST:PORT/SLOTS",
        ));
    }
    let carch = layered_scalar(docs, "CARCH").unwrap_or_default();
    if let Some((list, where_)) = &list {
        for bad in list.invalid() {
            out.push(finding(
                Level::Error,
                format!(
                    "{where_}: `{}` is rejected by distcc ({}), which then ignores the whole list",
                    bad.token, bad.reason
                ),
                format!(
                    "alarm-distcc remove-host {}",
                    bad.token.split(['/', ':', ',']).next().unwrap_or("")
                ),
            ));
        }
        for spec in list.specs() {
            if spec.is_loopback_tcp() {
                out.push(finding(Level::Warning, format!("`{spec}` is a network host on this machine: it needs a distccd running here; only `localhost` compiles locally without one"), "alarm-distcc set-local N (or start a local distccd on purpose)"));
            }
            if spec.options().contains(&crate::hosts::HostOption::Cpp) {
                out.push(finding(Level::Warning, format!("`{spec}` uses ,cpp (pump mode), but makepkg does not run pump: every job warns and falls back"), "drop ,cpp and keep ,lzo"));
            }
            if let Some(port) = spec.port() {
                let wrong = alarm_port_arch(port)
                    .filter(|(arch, _)| !carch.is_empty() && *arch != carch_family(&carch))
                    .map(|(arch, name)| {
                        format!(
                            "{port} is distccd-alarm's {name} port ({arch}), but this machine is \
                             {carch}, whose helpers listen on {}",
                            alarm_port_for(&carch).map_or("another port".into(), |p| p.to_string())
                        )
                    });
                if let Some(why) = wrong {
                    out.push(finding(
                        Level::Error,
                        format!("`{spec}`: {why}"),
                        "alarm-distcc remove-host, then add-host with the right port",
                    ));
                }
            }
        }
    }
    if let Value::Known(m) = &eff.makeflags {
        match &m.value.jobs {
            _ if total == 0 => {}
            Some(JobCount::Fixed(n)) if *n == total => {}
            Some(j) => out.push(finding(
                Level::Warning,
                format!(
                    "MAKEFLAGS -j is {} but the hosts have {total} slots",
                    match j {
                        JobCount::Fixed(n) => n.to_string(),
                        JobCount::Computed(e) => e.clone(),
                        JobCount::Unlimited => "unlimited".into(),
                    }
                ),
                "alarm-distcc sort",
            )),
            None if total > 0 => out.push(finding(
                Level::Warning,
                format!("MAKEFLAGS has no -j: make runs one job at a time, not {total}"),
                "alarm-distcc sort",
            )),
            None => {}
        }
    } else if total > 0 {
        out.push(finding(
            Level::Warning,
            format!("MAKEFLAGS is not set: make runs one job at a time, not {total}"),
            "alarm-distcc sort",
        ));
    }
    for flags in ["CFLAGS", "CXXFLAGS"] {
        if let Some(v) = layered_scalar(docs, flags)
            && (v.contains("-march=native") || v.contains("-mtune=native"))
        {
            out.push(finding(
                Level::Error,
                format!("{flags} has -march=native/-mtune=native: distcc then distributes nothing"),
                format!("name the CPU instead in {flags} (e.g. -march=armv8-a)"),
            ));
        }
    }
    if enabled {
        let buildenv_sccache = docs.iter().any(|(_, d)| {
            d.assignments("BUILDENV").any(|(_, a)| {
                crate::document::array_elements(d.slice(a.value.clone()))
                    .iter()
                    .any(|e| e.value.as_static() == Some("sccache"))
            })
        });
        if buildenv_sccache {
            out.push(finding(
                Level::Error,
                "sccache and distcc are both on in BUILDENV: makepkg refuses that pair",
                "turn one of them off (!sccache)",
            ));
        }
        if !machine.distcc_binary {
            out.push(finding(
                Level::Error,
                "distcc is not installed: makepkg stops with \"Cannot find the distcc binary\"",
                "sudo pacman -S distcc",
            ));
        }
        if !machine.masquerade_dir {
            out.push(finding(
                Level::Error,
                "/usr/lib/distcc/bin is missing: makepkg cannot route the compilers through distcc",
                "sudo pacman -S distcc",
            ));
        }
    }
    if let (Some(mem), Some(0)) = (machine.mem_total_kib, machine.swap_total_kib)
        && mem < 4 * 1024 * 1024
    {
        out.push(finding(Level::Warning, format!("no swap and {} MiB of memory: big builds (linking, git clones) run out of memory on a Pi", mem / 1024), "set up a couple of GiB of swap (Arch wiki: Swap#Swap_file)"));
    }
    out
}

pub fn run_doctor(session: &Session, offline: bool, timeout: f64) -> Result<()> {
    let docs = session.layers()?;
    let mut findings = diagnose(&docs, &Machine::read());
    if !offline {
        let eff = layers::effective(&docs);
        if let Some(list) = layers::hosts_of(&eff.hosts) {
            let targets: Vec<Target> = targets_of(&list)
                .into_iter()
                .filter(|t| t.kind == Kind::Tcp)
                .collect();
            if !targets.is_empty() {
                let (carch, expected) = expected_arch(&docs, None)?;
                let reports = with_spinner("probing helpers".into(), || {
                    probe::probe_all(
                        &targets,
                        &default_compilers(&docs),
                        probe::PROBE_SOURCE,
                        timeout_of(timeout).unwrap_or(Duration::from_secs(4)),
                    )
                });
                for r in &reports {
                    if r.verdict(expected) == Verdict::Ok {
                        findings.push(finding(
                            Level::Ok,
                            format!(
                                "{} compiles for {carch} ({})",
                                r.target.spec,
                                ms(r.attempts.iter().filter_map(|a| a.round_trip).min())
                            ),
                            "",
                        ));
                    } else {
                        for a in advice(r, expected, &carch) {
                            findings.push(finding(
                                Level::Error,
                                format!("{} fails the probe", r.target.spec),
                                a,
                            ));
                        }
                    }
                }
            }
        }
    }
    for f in &findings {
        let level = match f.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Error => "error  ",
        };
        println!("{level}  {}", f.message);
        if !f.fix.is_empty() {
            println!("         fix: {}", f.fix);
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if errors > 0 {
        return Err(anyhow!("{errors} problem(s) stop distcc from helping"));
    }
    Ok(())
}
