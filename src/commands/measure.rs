//! `alarm-distcc sort --measure`: times a real compile on each helper and on this machine,
//! then orders DISTCC_HOSTS by throughput.

use crate::conf::plan::{self, HostChange};
use crate::distcc::compat::Checker;
use crate::distcc::hosts::{HostList, Kind};
use crate::distcc::protocol::{self, JobKind, Outcome, Verdict, targets_of};
use crate::session::{Focus, Session};
use crate::ui::{status, timeout_of, with_spinner};
use anyhow::Result;
use std::collections::HashMap;
use std::time::Duration;

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Some(v[v.len() / 2])
}

/// Seconds this machine takes to compile the benchmark unit, median of `runs`; no flags, as
/// the helpers compile it, so both sides are timed alike. Each compile has the helpers' time
/// bound; one that passes it, or fails, leaves this machine unmeasured.
fn measure_local(runs: u32, timeout: std::time::Duration) -> Option<f64> {
    // Registered for Ctrl-C, like the compiler's process group.
    let (dir, _removed_on_interrupt) =
        crate::leftovers::new_folder(tempfile::tempdir, |dir| dir.path().to_path_buf()).ok()?;
    let src = dir.path().join("bench.c");
    std::fs::write(&src, protocol::benchmark_source()).ok()?;
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let mut cc = std::process::Command::new("cc");
        cc.arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(dir.path().join("bench.o"))
            // gcc's own temp files too, which a killed compiler leaves.
            .env("TMPDIR", dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        match crate::bounded::run(&mut cc, timeout).ok()?.1 {
            crate::bounded::Ended::Exited(status) if status.success() => {}
            _ => return None,
        }
        times.push(start.elapsed().as_secs_f64());
    }
    median(times)
}

/// `sort --measure`'s options, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct MeasureOptions {
    /// Compiles per host with --measure (the median counts), 1 to 20
    #[arg(long, default_value_t = 3, requires = "measure", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
    /// Seconds one compile may take with --measure
    #[arg(long, default_value_t = 30.0, requires = "measure")]
    pub timeout: f64,
    /// Architecture the objects must be for [default: CARCH]
    #[arg(long, value_name = "ARCH")]
    pub expect_arch: Option<String>,
}

/// A helper's median benchmark seconds, or why no run gave an object.
type Benchmark = Result<f64, String>;

/// Median seconds of the benchmark compile on each helper that passes the probe (by spec
/// as written in `targets_of`; the last failure when no run gave an object), and on this
/// machine when it has slots.
fn measure(
    list: &HostList,
    checker: &Checker,
    runs: u32,
    timeout: Duration,
) -> (Vec<(String, Benchmark)>, Option<f64>) {
    // The check gets the same time as each measured compile: a helper slow enough to need
    // the user's --timeout is slow, not broken, and is measured (a dead one is refused at
    // once, or ends at the connect time-out).
    let quick = checker.check(&targets_of(list), timeout);
    let expected = checker.expected;
    let bench = protocol::benchmark_source();
    std::thread::scope(|s| {
        let handles: Vec<_> = quick
            .iter()
            .filter(|j| j.verdict == Verdict::Ok)
            .filter_map(|j| {
                // The name the Pi sends is the one worth timing.
                let compiler = j.report.decisive(JobKind::Bare)?.compiler.clone();
                let argv = [compiler.as_str(), "-c", "bench.c", "-o", "bench.o"].map(String::from);
                let bench = &bench;
                let target = &j.report.target;
                Some(s.spawn(move || {
                    let mut failure = String::from("gave no object");
                    let times: Vec<f64> = (0..runs)
                        .filter_map(|_| {
                            let a = protocol::compile_argv(
                                &target.host,
                                target.port,
                                &argv,
                                bench,
                                timeout,
                                None,
                            );
                            match a.outcome {
                                Outcome::Object { .. } => a.round_trip.map(|d| d.as_secs_f64()),
                                other => {
                                    failure = crate::distcc::advice::describe(&other, expected);
                                    None
                                }
                            }
                        })
                        .collect();
                    (target.spec.clone(), median(times).ok_or(failure))
                }))
            })
            .collect();
        let local_time = if list.local_slots() > 0 {
            measure_local(runs, timeout)
        } else {
            None
        };
        let remote = handles.into_iter().filter_map(|h| h.join().ok()).collect();
        (remote, local_time)
    })
}

/// Orders DISTCC_HOSTS by measured throughput (slots per second of one compile).
pub fn run(session: &Session, opts: &MeasureOptions) -> Result<()> {
    let target = session.checked_target(Focus::Hosts)?;
    let inherited = session.inherited(&target);
    let (list, _) = plan::starting_hosts(&target.doc, &inherited)
        .map_err(|r| session.plan_refused(&target, r))?;
    let (checker, _) = session.checker(&target.layers, opts.expect_arch.as_deref(), None)?;
    let timeout = timeout_of(opts.timeout)?;
    let runs = opts.runs.clamp(1, 20);
    let (remote_times, local_time) = with_spinner("measuring helpers".into(), || {
        measure(&list, &checker, runs, timeout)
    });
    let mut scores: HashMap<String, f64> = HashMap::new();
    let mut rows = Vec::new();
    for spec in list.specs().filter(|s| s.kind() != Kind::Global) {
        let secs = match spec.kind() {
            Kind::Local => local_time,
            _ => remote_times
                .iter()
                .find(|(s, _)| *s == spec.to_string())
                .and_then(|(_, t)| t.as_ref().ok().copied()),
        };
        let score = secs
            .filter(|s| *s > 0.0)
            .map(|secs| f64::from(spec.slots()) / secs);
        if let Some(score) = score {
            scores.insert(spec.key(), score);
        }
        rows.push((spec, secs, score));
    }
    println!(
        "{}; {runs} run(s) each, median compile time",
        super::target_line(&checker)
    );
    println!("{:<28} {:>12} {:>14}", "HOST", "COMPILE", "SLOTS/SECOND");
    for (spec, secs, score) in &rows {
        let spec = spec.to_string();
        match (secs, score) {
            (Some(t), Some(s)) => println!("{spec:<28} {:>9.1} ms {s:>14.1}", t * 1000.0),
            _ => println!("{spec:<28} {:>12} {:>14}", "not measured", "-"),
        }
    }
    for (spec, _, _) in rows.iter().filter(|r| r.2.is_none()) {
        let benchmark_failure = remote_times
            .iter()
            .find(|(s, _)| *s == spec.to_string())
            .and_then(|(_, t)| t.as_ref().err());
        match spec.kind() {
            // It passed the probe: only its benchmark went wrong.
            Kind::Tcp if benchmark_failure.is_some() => status!(
                "warning: {spec} passed the probe, but its benchmark compile {}; it goes after \
                 the measured helpers (a longer --timeout gives it more time)",
                benchmark_failure.map_or("", |w| w.as_str())
            ),
            Kind::Tcp => status!(
                "warning: {spec} failed the probe (details: {}); it goes after the measured \
                 helpers. To remove it: {}",
                crate::ui::command(&format!("probe {}", spec.host_port().unwrap_or_default())),
                crate::ui::command(&format!(
                    "remove-host {}",
                    spec.host_port().unwrap_or_default()
                ))
            ),
            Kind::Ssh => status!("note: {spec} is an ssh host, which is not measured"),
            _ => status!(
                "note: this machine could not be timed: `cc` is missing, failed, or ran past \
                 --timeout"
            ),
        }
    }
    let total: f64 = scores.values().sum();
    if let Some(local) = scores.get("localhost")
        && total > 0.0
        && *local < total / 5.0
    {
        status!(
            "advice: this machine gives {:.0}% of the measured speed; distcc's man page advises \
             leaving a client under a fifth of the total out of the list: {}",
            100.0 * local / total,
            crate::ui::command("set-local 0")
        );
    }
    let plan = plan::plan_hosts(&target.doc, &HostChange::SortMeasured(scores), &inherited)
        .map_err(|r| session.plan_refused(&target, r))?;
    session.apply(&target, plan)
}
