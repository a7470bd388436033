//! A build's receipt: what makepkg did, phase by phase, where each compile unit ran and why,
//! which helpers failed, the speed-up against a recorded local-only build, and advice with
//! its measured share. Made from the distcc client's log (`log`), makepkg's `==>` lines
//! (`phases`) and what the live sampling saw (`state`); pure: no I/O here.

use super::cpu::CpuTrace;
use super::log::{Job, LocalReason, failure_kind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The receipt format's version, so later readers know what they read.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseTime {
    pub phase: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostUse {
    /// `HOST:PORT`, or `localhost` for the Pi itself.
    pub host: String,
    pub units: u32,
    /// The remote compiles' time as the client saw it (send, compile, receive).
    pub compile_seconds: f64,
    /// Slots DISTCC_HOSTS gives it (0 when it is not listed).
    pub slots: u32,
}

/// The name `HostUse` gives the Pi itself, as DISTCC_HOSTS does.
const PI: &str = "localhost";

impl HostUse {
    /// The Pi's own row (its local slots), not a helper's.
    pub fn is_pi(&self) -> bool {
        self.host == PI
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalGroup {
    /// `local_flag`, `link`, `not_a_compile`, `configure_probe`, `fallback`, `backoff`,
    /// `local_slot`, `unknown`.
    pub kind: String,
    pub reason: String,
    /// Compile units among them (links and `-E` calls are jobs, not units).
    pub units: u32,
    pub jobs: u32,
    /// A few of the sources, for the reader.
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelperFailure {
    pub host: String,
    /// Jobs it failed (each then ran on the Pi).
    pub jobs: u32,
    /// timeout, connection refused, connection dropped, refused the compiler, failed.
    pub kind: String,
    pub first_error: String,
}

/// Compiles the helper's compiler rejected, sorted by what the Pi's own retry did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompileErrors {
    /// Failed on the helper and on the Pi: the source's own errors (configure checks meant
    /// to fail, or a real error).
    pub both: u32,
    pub both_examples: Vec<String>,
    /// Failed on the helper, compiled on the Pi: the preprocessed text the helper gets
    /// differs from the source (a warning only it raises, under -Werror).
    pub helper_only: u32,
    pub helper_only_examples: Vec<String>,
    /// What the helper's compiler said about some of them: the unit and its first error
    /// line, read before distcc deleted it (receipts/helper_stderr.rs); up to 3, each
    /// saying something else.
    #[serde(default)]
    pub helper_only_said: Vec<HelperSaid>,
}

/// One unit and the first error line the helper's compiler gave for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HelperSaid {
    pub unit: String,
    pub line: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speedup {
    /// The local-only receipt it is measured against.
    pub baseline_started: String,
    pub baseline_wall_seconds: f64,
    /// Baseline wall time over this one's: 2.0 is twice as fast.
    pub wall: f64,
    /// The same for the build() phase (the make step), when both have it.
    pub build_phase: Option<f64>,
}

/// The run's job pool and how much of it the build used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolUse {
    /// How each build tool took part (`job pool: 8 jobs (...); make 4.4.1 joins ...`).
    pub summary: String,
    pub jobs: u32,
    /// A fifo jobserver was served (make 4.4+); its use below is measured only then.
    pub jobserver: bool,
    /// Most jobs out of the pool at once, over the whole run and in build().
    pub most_in_use: u32,
    pub most_in_use_build: u32,
    /// Jobs out of the pool on average over build().
    pub mean_in_use_build: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub format: u32,
    pub package: Option<String>,
    pub version: Option<String>,
    /// UTC, RFC 3339.
    pub started: String,
    pub started_unix: f64,
    pub wall_seconds: f64,
    pub exit_code: i32,
    /// The main makepkg.conf makepkg read.
    pub config: String,
    /// distcc was on for this build.
    pub distcc: bool,
    /// A `build --baseline` local-only run.
    pub baseline: bool,
    pub distcc_hosts: String,
    pub slots: u32,
    /// makepkg's `-j` (MAKEFLAGS), if any.
    pub jobs: Option<u32>,
    /// The most distcc jobs that ran at once, as sampled.
    pub most_at_once: u32,
    /// The same for each makepkg phase that ran any (build, check...).
    #[serde(default)]
    pub most_at_once_by_phase: BTreeMap<String, u32>,
    pub phases: Vec<PhaseTime>,
    pub units: u32,
    pub units_on_helpers: u32,
    /// Configure checks compiled through distcc (conftest, meson's and cmake's test
    /// compiles): not units of the package, counted apart.
    #[serde(default)]
    pub checks: u32,
    #[serde(default)]
    pub checks_on_helpers: u32,
    pub hosts: Vec<HostUse>,
    pub on_pi: Vec<LocalGroup>,
    pub helper_failures: Vec<HelperFailure>,
    /// Helpers that were in backoff during the build.
    pub backoff: Vec<String>,
    pub speedup: Option<Speedup>,
    /// Why there is no speed-up, when there is none.
    pub speedup_note: Option<String>,
    pub advice: Vec<String>,
    /// The run's job pool (none without a `-j` of 2 or more).
    #[serde(default)]
    pub pool: Option<PoolUse>,
    /// The build tools whose processes started distcc jobs, each with the most it ran at
    /// once (`make`, `ninja`, ...).
    #[serde(default)]
    pub build_systems: BTreeMap<String, u32>,
    /// makepkg was stopped by a signal (Ctrl-C): the build did not run to its end.
    #[serde(default)]
    pub interrupted: bool,
    #[serde(default)]
    pub compile_errors: CompileErrors,
    /// Backoffs alarm-distcc lifted during the build: the helper had answered.
    #[serde(default)]
    pub backoff_lifted: u32,
    /// Where build()'s time went, by the package's compile units in it.
    #[serde(default)]
    pub build_step: Option<BuildStep>,
    /// Built with `--keep-comments` (gcc -C for the run).
    #[serde(default)]
    pub comments_kept: bool,
}

/// build() split by its compile units: the time before the first (configure and its
/// checks, on the Pi), from the first to the last (the units, what helpers can take), and
/// after the last (links and the rest, on the Pi). Seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildStep {
    pub before_units: f64,
    pub units: f64,
    pub after_units: f64,
    /// The Pi's own CPU time in build()'s units and links (distcc's rusage of each job),
    /// configure checks apart: what the helpers cannot take from it.
    #[serde(default)]
    pub pi_work: PiWork,
    /// The share of all the Pi's CPUs' time that was busy from the first unit to the end
    /// of build() (every process, the build system's own steps too), and how many CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_busy: Option<f64>,
    #[serde(default)]
    pub cpus: u32,
}

/// CPU seconds the Pi itself spent on build()'s compile units and links.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PiWork {
    /// For the units a helper compiled: preprocessing and sending them (distcc and the
    /// preprocessor it runs).
    pub preprocessing: f64,
    /// Links through the compiler driver (distcc never sends one).
    pub linking: f64,
    /// The units compiled on the Pi (its own slots, assembler, compiles again after an
    /// error on the helper).
    pub compiling: f64,
}

impl PiWork {
    fn of(jobs: &[&Job]) -> PiWork {
        let mut w = PiWork::default();
        for j in jobs {
            let (total, cpu) = if j.on_helper() {
                if !j.is_unit() {
                    continue;
                }
                (&mut w.preprocessing, j.cpu_seconds)
            } else if j.is_unit() {
                (&mut w.compiling, j.cpu_seconds.or(j.elapsed_seconds))
            } else if j.local_reason() == LocalReason::Link {
                (&mut w.linking, j.cpu_seconds.or(j.elapsed_seconds))
            } else {
                continue;
            };
            // A job here without distcc's exit line (killed) counts its wall time.
            *total += cpu.unwrap_or(0.0);
        }
        PiWork {
            preprocessing: round(w.preprocessing),
            linking: round(w.linking),
            compiling: round(w.compiling),
        }
    }
}

impl BuildStep {
    /// From build()'s span and the units' first and last log lines (seconds since the
    /// start); none without a build() or a unit in it.
    fn of(build: Option<(f64, f64)>, jobs: &[Job], cpu: &CpuTrace) -> Option<BuildStep> {
        let (start, end) = build?;
        let in_build: Vec<&Job> = jobs
            .iter()
            .filter(|j| j.is_job() && j.first_seen >= start && j.first_seen <= end)
            .collect();
        let inside: Vec<&&Job> = in_build.iter().filter(|j| j.is_unit()).collect();
        let first = inside.iter().map(|j| j.first_seen).reduce(f64::min)?;
        let last = inside
            .iter()
            .map(|j| j.last_seen)
            .reduce(f64::max)?
            .min(end);
        Some(BuildStep {
            before_units: round(first - start),
            units: round((last - first).max(0.0)),
            after_units: round((end - last).max(0.0)),
            pi_work: PiWork::of(&in_build),
            cpu_busy: cpu
                .busy_between(first, end)
                .map(|b| (b * 100.0).round() / 100.0),
            cpus: cpu.cpus,
        })
    }
}

/// What the build command knows besides the logs.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub started: String,
    pub started_unix: f64,
    pub wall_seconds: f64,
    pub exit_code: i32,
    pub config: String,
    pub distcc: bool,
    pub baseline: bool,
    pub distcc_hosts: String,
    /// (HOST:PORT or localhost, slots) as listed.
    pub listed: Vec<(String, u32)>,
    pub jobs: Option<u32>,
    pub most_at_once: u32,
    pub most_at_once_by_phase: BTreeMap<String, u32>,
    pub backoff_seen: Vec<String>,
    /// PKGEXT and the compressor command for it (`COMPRESSXZ=(...)`), from the config.
    pub pkgext: Option<String>,
    pub compressor: Option<(String, Vec<String>)>,
    pub pool: Option<PoolUse>,
    pub build_systems: BTreeMap<String, u32>,
    /// Whether the compilers can reach distcc (ALARM's masquerade folder /usr/lib/distcc/bin
    /// exists here, or a compiler name on PATH links to distcc), and CC/CXX as the build's
    /// environment had them: why nothing may have gone through distcc.
    pub distcc_reachable: bool,
    pub cc_env: Vec<(String, String)>,
    pub backoff_lifted: u32,
    /// `build --keep-comments`: gcc kept comments through the Pi's preprocessing.
    pub comments_kept: bool,
    /// The Pi's CPUs' counters as the build ran.
    pub cpu: CpuTrace,
}

impl Receipt {
    pub fn new(
        ctx: &Context,
        jobs: &[Job],
        phases: &super::phases::Phases,
        previous: &[Receipt],
    ) -> Receipt {
        let units: Vec<&Job> = jobs.iter().filter(|j| j.is_unit()).collect();
        let hosts = hosts_used(ctx, &units);
        let on_pi = on_pi_groups(jobs);
        let mut failures: BTreeMap<String, HelperFailure> = BTreeMap::new();
        let mut compile_errors = CompileErrors::default();
        for j in jobs.iter().filter(|j| j.remote_compile_error) {
            let (count, examples) = if j.ok {
                (
                    &mut compile_errors.helper_only,
                    &mut compile_errors.helper_only_examples,
                )
            } else {
                (&mut compile_errors.both, &mut compile_errors.both_examples)
            };
            *count += 1;
            if let Some(input) = &j.input
                && examples.len() < 3
                && !examples.contains(input)
            {
                examples.push(input.clone());
            }
            if j.ok
                && let Some(said) = &j.helper_said
            {
                let line = super::helper_stderr::first_error(said);
                let said = &mut compile_errors.helper_only_said;
                if said.len() < 3 && !said.iter().any(|s| s.line == line) {
                    said.push(HelperSaid {
                        unit: j.input.clone().unwrap_or_else(|| "?".into()),
                        line,
                    });
                }
            }
        }
        // A remote compile error is the source's (it failed here too) or a difference
        // between the helper's compile and the Pi's: either way not the helper failing.
        for j in jobs.iter().filter(|j| !j.remote_compile_error) {
            for (host, error) in &j.failures {
                let f = failures.entry(host.clone()).or_insert(HelperFailure {
                    host: host.clone(),
                    jobs: 0,
                    kind: failure_kind(error).into(),
                    first_error: error.clone(),
                });
                f.jobs += 1;
            }
        }
        let mut backoff: Vec<String> = ctx.backoff_seen.clone();
        for j in jobs {
            if let Some(h) = &j.backoff
                && !backoff.contains(h)
            {
                backoff.push(h.clone());
            }
        }
        backoff.sort();
        backoff.dedup();
        let end = ctx.wall_seconds;
        let phases_out: Vec<PhaseTime> = phases
            .durations(end)
            .into_iter()
            .map(|(p, s)| PhaseTime {
                phase: p.into(),
                seconds: round(s),
            })
            .collect();
        let units_on_helpers = units.iter().filter(|j| j.on_helper()).count() as u32;
        let build_step = BuildStep::of(phases.span("build", end), jobs, &ctx.cpu);
        let mut receipt = Receipt {
            format: FORMAT,
            package: phases.package.clone(),
            version: phases.version.clone(),
            started: ctx.started.clone(),
            started_unix: ctx.started_unix,
            wall_seconds: round(ctx.wall_seconds),
            exit_code: ctx.exit_code,
            config: ctx.config.clone(),
            distcc: ctx.distcc,
            baseline: ctx.baseline,
            distcc_hosts: ctx.distcc_hosts.clone(),
            slots: ctx.listed.iter().map(|(_, s)| s).sum(),
            jobs: ctx.jobs,
            most_at_once: ctx.most_at_once,
            most_at_once_by_phase: ctx.most_at_once_by_phase.clone(),
            phases: phases_out,
            units: units.len() as u32,
            units_on_helpers,
            checks: jobs
                .iter()
                .filter(|j| j.is_configure_check() && j.is_job())
                .count() as u32,
            checks_on_helpers: jobs
                .iter()
                .filter(|j| j.is_configure_check() && j.on_helper())
                .count() as u32,
            hosts,
            on_pi,
            helper_failures: failures.into_values().collect(),
            backoff,
            speedup: None,
            speedup_note: None,
            advice: Vec::new(),
            pool: ctx.pool.clone(),
            build_systems: ctx.build_systems.clone(),
            // makepkg traps INT and ends with it: 130; a signal it did not trap is 128+N too.
            interrupted: ctx.exit_code == 130 || ctx.exit_code == 143 || ctx.exit_code == 129,
            compile_errors,
            backoff_lifted: ctx.backoff_lifted,
            build_step,
            comments_kept: ctx.comments_kept,
        };
        receipt.compare(previous);
        receipt.advice = super::advice::advice(&receipt, ctx);
        receipt
    }

    /// The build() phase's seconds, if makepkg had one.
    pub fn phase(&self, name: &str) -> Option<f64> {
        self.phases
            .iter()
            .find(|p| p.phase == name)
            .map(|p| p.seconds)
    }

    /// A local-only build (distcc off, or the --baseline run) that finished.
    pub fn is_local_baseline(&self) -> bool {
        self.exit_code == 0 && (!self.distcc || self.baseline)
    }

    /// The speed-up against the last local-only receipt of the same package; never a
    /// number without one.
    fn compare(&mut self, previous: &[Receipt]) {
        if !self.distcc || self.baseline {
            self.speedup_note = Some(
                "a local-only build: it is what the next distcc build of this package is \
                 measured against"
                    .into(),
            );
            return;
        }
        if self.exit_code != 0 {
            self.speedup_note = Some("the build failed: no speed-up is measured".into());
            return;
        }
        if self.units == 0 {
            self.speedup_note = Some(
                "no compile went through distcc in this build, so no speed-up is measured".into(),
            );
            return;
        }
        let base = previous
            .iter()
            .rev()
            .find(|r| r.is_local_baseline() && r.package.is_some() && r.package == self.package);
        let Some(base) = base else {
            self.speedup_note = Some(
                "no local-only build of this package is recorded, so no speed-up is measured: \
                 `alarm-distcc build --baseline` builds it once without distcc first"
                    .into(),
            );
            return;
        };
        if self.wall_seconds <= 0.0 {
            return;
        }
        // A baseline whose compiles distcc saw (a masquerade folder on PATH) must have made
        // the same units: a rebuild that compiled less is no measure.
        if base.units > 0 && base.units != self.units {
            self.speedup_note = Some(format!(
                "the local-only build compiled {} unit(s) and this one {}: not the same work, \
                 so no speed-up is measured (`build --baseline` builds both from a clean src/)",
                base.units, self.units
            ));
            return;
        }
        let build_phase = match (base.phase("build"), self.phase("build")) {
            (Some(b), Some(t)) if t > 0.0 => Some(round(b / t)),
            _ => None,
        };
        self.speedup = Some(Speedup {
            baseline_started: base.started.clone(),
            baseline_wall_seconds: base.wall_seconds,
            wall: round(base.wall_seconds / self.wall_seconds),
            build_phase,
        });
        if base.version != self.version {
            self.speedup_note = Some(format!(
                "measured against version {} (this is {})",
                base.version.as_deref().unwrap_or("?"),
                self.version.as_deref().unwrap_or("?")
            ));
        }
    }

    /// The lines `build` prints and `builds --last` shows.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let name = match (&self.package, &self.version) {
            (Some(p), Some(v)) => format!("{p} {v}"),
            (Some(p), None) => p.clone(),
            _ => "(package unknown)".into(),
        };
        let verdict = if self.exit_code == 0 {
            "built"
        } else if self.interrupted {
            "interrupted"
        } else {
            "failed"
        };
        let _ = writeln!(
            out,
            "receipt: {name} {verdict} in {} ({}{})",
            secs(self.wall_seconds),
            if self.distcc {
                "distcc on"
            } else {
                "distcc off"
            },
            if self.baseline { ", baseline run" } else { "" }
        );
        let phases: Vec<String> = self
            .phases
            .iter()
            .filter(|p| p.seconds >= 0.05)
            .map(|p| format!("{} {}", p.phase, secs(p.seconds)))
            .collect();
        if !phases.is_empty() {
            let _ = writeln!(out, "  phases: {}", phases.join(", "));
        }
        if let Some(b) = &self.build_step {
            let _ = writeln!(
                out,
                "  build(): {} before the first compile unit (configure and its checks, on the \
                 Pi), {} from the first to the last, {} after it (links and the rest, on the Pi)",
                secs(b.before_units),
                secs(b.units),
                secs(b.after_units)
            );
            let w = &b.pi_work;
            if w.preprocessing + w.linking + w.compiling > 0.0 {
                let _ = writeln!(
                    out,
                    "  the Pi's own CPU time in build(): {} preprocessing what the helpers \
                     compiled, {} linking, {} compiling units itself",
                    secs(w.preprocessing),
                    secs(w.linking),
                    secs(w.compiling)
                );
            }
            if let Some(busy) = b.cpu_busy {
                let _ = writeln!(out, "  {}", cpus_busy(b.cpus, busy));
            }
        }
        self.render_units(&mut out);
        self.render_on_pi(&mut out);
        self.render_parallel(&mut out);
        match (&self.speedup, &self.speedup_note) {
            (Some(s), note) => {
                let build = s
                    .build_phase
                    .map_or(String::new(), |b| format!(", build() {b:.2}x"));
                let _ = writeln!(
                    out,
                    "  speed-up: {:.2}x against the local-only build of {} ({}){build}{}",
                    s.wall,
                    s.baseline_started,
                    secs(s.baseline_wall_seconds),
                    note.as_deref().map_or(String::new(), |n| format!("; {n}"))
                );
            }
            (None, Some(note)) => {
                let _ = writeln!(out, "  speed-up: {note}");
            }
            (None, None) => {}
        }
        for a in &self.advice {
            let _ = writeln!(out, "advice: {a}");
        }
        out
    }

    /// Compile units per host, and the configure checks.
    fn render_units(&self, out: &mut String) {
        use std::fmt::Write;
        if self.distcc || self.units > 0 {
            let _ = writeln!(
                out,
                "  compile units: {} of {} on helpers",
                self.units_on_helpers, self.units
            );
            if self.checks > 0 {
                let _ = writeln!(
                    out,
                    "  configure checks: {} of {} on helpers (not units of the package)",
                    self.checks_on_helpers, self.checks
                );
            }
            for h in &self.hosts {
                let rate = if h.units > 0 && h.compile_seconds > 0.0 {
                    format!(
                        ", {:.2} units/s per slot",
                        f64::from(h.units) / h.compile_seconds
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(out, "    {:<24} {:>4} unit(s){}", h.host, h.units, rate);
            }
        }
    }

    /// What ran on the Pi and why, compile errors, helper failures, backoffs.
    fn render_on_pi(&self, out: &mut String) {
        use std::fmt::Write;
        for g in &self.on_pi {
            let what = if g.units > 0 {
                format!("{} unit(s)", g.units)
            } else {
                format!("{} job(s)", g.jobs)
            };
            let ex = if g.examples.is_empty() {
                String::new()
            } else {
                format!(" (e.g. {})", g.examples.join(", "))
            };
            let _ = writeln!(out, "  on the Pi: {what}: {}{ex}", g.reason);
        }
        let ce = &self.compile_errors;
        if ce.both > 0 {
            let _ = writeln!(
                out,
                "  compile errors: {} on a helper and on the Pi alike, the sources' own (e.g. {}): \
                 not the helper's fault",
                ce.both,
                ce.both_examples.join(", ")
            );
        }
        if ce.helper_only > 0 {
            let _ = writeln!(
                out,
                "  {} unit(s) failed on a helper but compiled on the Pi (e.g. {}): the helper \
                 compiles the Pi's preprocessed text, which can warn where the source does not{}",
                ce.helper_only,
                ce.helper_only_examples.join(", "),
                if self.comments_kept && ce.helper_only_said.is_empty() {
                    " (comments were kept: code from macros, most likely)"
                } else {
                    ""
                }
            );
            for HelperSaid { unit, line } in &ce.helper_only_said {
                let _ = writeln!(out, "    the helper's compiler said about {unit}: {line}");
            }
        }
        if self.backoff_lifted > 0 {
            let _ = writeln!(
                out,
                "  backoff lifted {} time(s): distcc backs a helper off after any compile error, \
                 but one that answered works, so its next units still went out",
                self.backoff_lifted
            );
        }
        for f in &self.helper_failures {
            let _ = writeln!(
                out,
                "  helper {} failed {} job(s): {} ({})",
                f.host, f.jobs, f.kind, f.first_error
            );
        }
        for b in &self.backoff {
            let _ = writeln!(
                out,
                "  helper {b} went into backoff: distcc sends it nothing for a while after a failure"
            );
        }
    }

    /// The jobs at once, the job pool and the build tools.
    fn render_parallel(&self, out: &mut String) {
        use std::fmt::Write;
        if let Some(jobs) = self.jobs
            && self.distcc
        {
            let by_phase = if self.most_at_once_by_phase.len() > 1 {
                let parts: Vec<String> = self
                    .most_at_once_by_phase
                    .iter()
                    .map(|(p, n)| format!("{p} {n}"))
                    .collect();
                format!(" ({})", parts.join(", "))
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  parallel: -j{jobs}, at most {} distcc job(s) at once{by_phase}, {} slot(s) listed",
                self.most_at_once, self.slots
            );
        }
        if let Some(p) = &self.pool {
            let _ = writeln!(out, "  {}", p.summary);
            if p.jobserver {
                let mean = p
                    .mean_in_use_build
                    .map_or(String::new(), |m| format!(", {m:.1} on average"));
                let _ = writeln!(
                    out,
                    "    pool use in build(): at most {} of {} jobs at once{mean}",
                    p.most_in_use_build, p.jobs
                );
            }
        }
        if !self.build_systems.is_empty() {
            let parts: Vec<String> = self
                .build_systems
                .iter()
                .map(|(tool, n)| format!("{tool} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "  distcc jobs started by (most at once): {}",
                parts.join(", ")
            );
        }
    }

    /// doctor's one line about this receipt.
    pub fn summary(&self) -> String {
        let name = self.package.as_deref().unwrap_or("a package");
        if !self.distcc {
            return format!(
                "last build: {name} at {}, distcc off ({} local)",
                self.started,
                secs(self.wall_seconds)
            );
        }
        let mut line = format!(
            "last build: {name} at {}: {} of {} unit(s) went to helpers",
            self.started, self.units_on_helpers, self.units
        );
        if let Some(g) = self.on_pi.iter().find(|g| g.units > 0)
            && self.units_on_helpers < self.units
        {
            line.push_str(&format!(
                "; {} ran on the Pi because of {}",
                g.units, g.reason
            ));
        }
        line
    }
}

/// Units per host, the listed ones first in list order, the Pi last.
fn hosts_used(ctx: &Context, units: &[&Job]) -> Vec<HostUse> {
    let mut hosts: BTreeMap<String, HostUse> = BTreeMap::new();
    for (host, slots) in &ctx.listed {
        hosts.entry(host.clone()).or_insert(HostUse {
            host: host.clone(),
            units: 0,
            compile_seconds: 0.0,
            slots: *slots,
        });
    }
    for j in units {
        let host = j.ran_on.clone().unwrap_or_else(|| PI.into());
        let e = hosts.entry(host.clone()).or_insert(HostUse {
            host,
            units: 0,
            compile_seconds: 0.0,
            slots: 0,
        });
        e.units += 1;
        // Only a helper's own compiles: a failed attempt's time is not the Pi's.
        if j.on_helper() {
            e.compile_seconds += j.remote_seconds.unwrap_or(0.0);
        }
    }
    // Helpers in list order, the Pi last.
    let order: Vec<String> = ctx.listed.iter().map(|(h, _)| h.clone()).collect();
    let mut hosts: Vec<HostUse> = hosts.into_values().collect();
    hosts.sort_by_key(|h| {
        (
            h.is_pi(),
            order
                .iter()
                .position(|o| *o == h.host)
                .unwrap_or(usize::MAX),
        )
    });
    hosts
}

/// The jobs that ran on the Pi, grouped by distcc's reason, most units first.
fn on_pi_groups(jobs: &[Job]) -> Vec<LocalGroup> {
    let mut groups: BTreeMap<LocalReason, LocalGroup> = BTreeMap::new();
    for j in jobs.iter().filter(|j| !j.on_helper()) {
        let reason = j.local_reason();
        let g = groups.entry(reason.clone()).or_insert(LocalGroup {
            kind: reason.kind().into(),
            reason: reason.describe(),
            units: 0,
            jobs: 0,
            examples: Vec::new(),
        });
        g.jobs += 1;
        if j.is_unit() {
            g.units += 1;
        }
        if let Some(input) = &j.input
            && g.examples.len() < 3
            && !g.examples.contains(input)
        {
            g.examples.push(input.clone());
        }
    }
    let mut on_pi: Vec<LocalGroup> = groups.into_values().collect();
    on_pi.sort_by(|a, b| b.units.cmp(&a.units).then(b.jobs.cmp(&a.jobs)));
    on_pi
}

/// The build step's CPU reading, as the receipt and its advice say it.
pub(super) fn cpus_busy(cpus: u32, busy: f64) -> String {
    format!(
        "the Pi's {cpus} CPUs were {:.0}% busy from the first compile unit to the end of build()",
        busy * 100.0
    )
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn secs(s: f64) -> String {
    if s >= 60.0 {
        format!("{}m{:02.0}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!("{s:.1}s")
    }
}

pub(super) fn share(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.0}%", 100.0 * part / whole)
    } else {
        "-".into()
    }
}

/// UTC time as RFC 3339 (`2026-12-01T12:00:00Z`), from seconds since the epoch.
pub fn rfc3339(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::super::advice::{helper_only_advice, saturated_pi_advice};
    use super::super::log::LogReader;
    use super::super::phases::Phases;
    use super::*;
    use std::collections::HashMap;

    fn jobs(text: &str) -> Vec<Job> {
        let mut r = LogReader::default();
        r.feed(text.as_bytes(), 0.0);
        r.finish(1.0);
        r.done
    }

    fn remote(pid: u32, file: &str) -> String {
        format!(
            "distcc[{pid}] compile from {file} to x.o\n\
             distcc[{pid}] exec on 10.0.0.2:3636/4: gcc -c {file} -o x.o\n\
             distcc[{pid}] 100 bytes from {file} compiled on 10.0.0.2 in 0.5000s, rate 1kB/s\n\
             distcc[{pid}] compile {file} on 10.0.0.2:3636/4 completed ok\n\
             distcc[{pid}] (dcc_exit) exit: code 0; x\n"
        )
    }

    fn ctx(distcc: bool) -> Context {
        Context {
            started: rfc3339(1_796_130_000.0),
            wall_seconds: 30.0,
            distcc,
            listed: vec![("10.0.0.2:3636".into(), 4), ("localhost".into(), 2)],
            jobs: Some(6),
            pkgext: Some(".pkg.tar.xz".into()),
            compressor: Some((
                "COMPRESSXZ".into(),
                vec!["xz".into(), "-c".into(), "-z".into(), "-".into()],
            )),
            ..Context::default()
        }
    }

    fn phases(build: f64, compress: f64) -> Phases {
        let mut p = Phases::default();
        p.line("==> Making package: hello 1.0-1 (date)", 1.0);
        p.line("==> Starting build()...", 2.0);
        p.line("==> Entering fakeroot environment...", 2.0 + build);
        p.line("==> Creating package \"hello\"...", 3.0 + build);
        p.line(
            "==> Finished making: hello 1.0-1 (date)",
            3.0 + build + compress,
        );
        p
    }

    /// build() runs from 2 s to 12 s; a configure check at 3 s, units from 6 s to 9 s, one
    /// of them in the Pi's own slot, and a link.
    fn build_step_log() -> LogReader {
        let mut r = LogReader::default();
        r.feed(
            b"distcc[7] compile from conftest.c to conftest.o\n\
              distcc[7] exec on localhost: gcc -c conftest.c -o conftest.o\n\
              distcc[7] (dcc_exit) exit: code 0; x\n",
            3.0,
        );
        r.feed(remote(1, "a.c").as_bytes(), 6.0);
        // distcc's rusage: its own and its preprocessor's CPU time, 0.25 s in all.
        r.feed(
            remote(2, "b.c")
                .replace(
                    "exit: code 0; x",
                    "exit: code 0; self: 0.010000 user 0.015000 sys; children: 0.200000 user \
                     0.025000 sys",
                )
                .as_bytes(),
            9.0,
        );
        // One unit in the Pi's own slot (its rusage), and the link (only its elapsed time:
        // no exit line, as when a job is killed).
        r.feed(
            b"distcc[3] compile from c.c to c.o\n\
              distcc[3] exec on localhost: gcc -c c.c -o c.o\n\
              distcc[3] elapsed compilation time 2.9s\n\
              distcc[3] (dcc_exit) exit: code 0; self: 0 user 0 sys; children: 2 user 0.5 sys\n\
              distcc[4] (dcc_scan_args) called for link?  i give up\n\
              distcc[4] exec on localhost: gcc a.o b.o c.o -o hello\n\
              distcc[4] elapsed compilation time 1.25s\n",
            8.0,
        );
        r.finish(20.0);
        r
    }

    #[test]
    fn a_pi_kept_busy_by_what_no_helper_takes_is_told_more_slots_would_not_help() {
        // The Pi's counters before the first unit (6 s) and after build()'s end (12 s).
        let with_cpu = |busy_ticks: u64, cpus: u32| {
            let mut c = ctx(true);
            c.cpu = CpuTrace::of(vec![(5.5, 0, 0), (12.5, busy_ticks, 1000)], cpus);
            Receipt::new(&c, &build_step_log().done, &phases(10.0, 15.0), &[])
        };
        let says_so = |r: &Receipt| {
            r.advice
                .iter()
                .any(|a| a.contains("more helper slots would not shorten this build"))
        };
        let busy = with_cpu(930, 2);
        assert_eq!(busy.build_step.as_ref().unwrap().cpu_busy, Some(0.93));
        let text = busy.render();
        assert!(
            text.contains("the Pi's 2 CPUs were 93% busy from the first compile unit"),
            "{text}"
        );
        assert!(says_so(&busy), "{:?}", busy.advice);
        let advice = busy.advice.join("\n");
        // 11.2 s of CPU time: 0.25 s preprocessing, 1.25 s links, 2.5 s compiling here.
        assert!(
            advice.contains(
                "0.2s preprocessing the units it sent and 1.2s linking by distcc's \
                 count, the other 7.2s the build system's own steps"
            ),
            "{advice}"
        );
        // Half idle: the Pi could have fed more.
        assert!(!says_so(&with_cpu(500, 2)));
        // The helper's 4 slots full all along (12 s of compiles over the units' 3 s): the
        // helper was the limit, whatever kept the Pi busy.
        let mut full = busy.clone();
        full.hosts
            .iter_mut()
            .filter(|h| !h.is_pi())
            .for_each(|h| h.compile_seconds = 12.0);
        assert_eq!(saturated_pi_advice(&full), None);
        // One CPU, busy mostly with its own compile (2.5 s of 5.6 s): that one a helper
        // could take (the advice on localhost's slots says how).
        assert!(!says_so(&with_cpu(930, 1)));
        // No trace, nothing said.
        let none = Receipt::new(&ctx(true), &build_step_log().done, &phases(10.0, 15.0), &[]);
        assert_eq!(none.build_step.as_ref().unwrap().cpu_busy, None);
        assert!(!none.render().contains("CPUs were") && !says_so(&none));
    }

    #[test]
    fn build_step_splits_at_the_first_and_last_unit() {
        let r = build_step_log();
        let receipt = Receipt::new(&ctx(true), &r.done, &phases(10.0, 15.0), &[]);
        assert_eq!(
            receipt.build_step,
            Some(BuildStep {
                before_units: 4.0,
                units: 3.0,
                after_units: 3.0,
                // a.c has no exit figures; the configure check is no unit.
                pi_work: PiWork {
                    preprocessing: 0.25,
                    linking: 1.25,
                    compiling: 2.5,
                },
                // No CPU trace in this context.
                cpu_busy: None,
                cpus: 0,
            })
        );
        let text = receipt.render();
        assert!(
            text.contains("build(): 4.0s before the first compile unit"),
            "{text}"
        );
        assert!(
            text.contains(
                "the Pi's own CPU time in build(): 0.2s preprocessing what the helpers \
                 compiled, 1.2s linking, 2.5s compiling units itself"
            ),
            "{text}"
        );
        // No unit in build(): nothing to split.
        let none = Receipt::new(&ctx(true), &[], &phases(10.0, 15.0), &[]);
        assert_eq!(none.build_step, None);
    }

    #[test]
    fn no_compile_after_compiler_calls_is_an_up_to_date_build_not_a_missing_path() {
        // Meson asking the compiler its version, through distcc, then nothing to compile.
        let log = "distcc[5] (dcc_scan_args) compiler apparently called not for compile\n\
                   distcc[5] exec on localhost: gcc --version\n\
                   distcc[5] (dcc_exit) exit: code 0; x\n";
        let r = Receipt::new(&ctx(true), &jobs(log), &phases(10.0, 15.0), &[]);
        let advice = r.advice.join("\n");
        assert!(
            advice.contains("distcc saw 1 call(s) of the compiler but no compile")
                && !advice.contains("/usr/lib/distcc/bin"),
            "{advice}"
        );
        // No call at all, and no masquerade folder: the folder is the reason.
        let r = Receipt::new(&ctx(true), &[], &phases(10.0, 15.0), &[]);
        assert!(
            r.advice.join("\n").contains("/usr/lib/distcc/bin"),
            "{:?}",
            r.advice
        );
    }

    #[test]
    fn what_the_helpers_compiler_said_is_quoted_for_units_that_failed_only_there() {
        // Two units failed on the helper and compiled here, one failed both ways; the
        // helper's stderr files were caught for all three (helper_stderr.rs).
        let unit = |pid: u32, file: &str, ok: bool| {
            format!(
                "distcc[{pid}] exec on 127.0.0.1:3632/2: gcc -c {file} -o x.o\n\
                 distcc[{pid}] (dcc_r_file) received 82 bytes to file /tmp/distcc_server_stderr_{pid:08x}.txt\n\
                 distcc[{pid}] (dcc_build_somewhere) Warning: remote compilation of '{file}' failed, retrying locally\n\
                 distcc[{pid}] Warning: failed to distribute {file} to 127.0.0.1:3632/2, running locally instead\n\
                 distcc[{pid}] exec on localhost: gcc -c {file} -o x.o\n\
                 distcc[{pid}] compile {file} on localhost {}\n\
                 distcc[{pid}] (dcc_exit) exit: code {}; x\n",
                if ok { "completed ok" } else { "failed" },
                if ok { 0 } else { 1 }
            )
        };
        let mut reader = LogReader::default();
        let log = [
            unit(1, "a.c", true),
            unit(2, "b.c", true),
            unit(3, "conftest.c", false),
        ];
        reader.feed(log.concat().as_bytes(), 0.0);
        reader.finish(1.0);
        let warned = |file: &str, flag: &str| {
            format!("{file}: In function 'f':\n{file}:3:7: error: it warns [-Werror={flag}]\n")
        };
        let caught: HashMap<String, String> = [
            (1, warned("a.c", "address")),
            (2, warned("b.c", "implicit-fallthrough=")),
            (3, warned("conftest.c", "x")),
        ]
        .into_iter()
        .map(|(pid, text)| (format!("distcc_server_stderr_{pid:08x}.txt"), text))
        .collect();
        reader.attach_helper_stderr(&caught);
        let r = Receipt::new(&ctx(true), &reader.done, &phases(10.0, 15.0), &[]);
        assert_eq!(r.compile_errors.helper_only, 2);
        assert_eq!(
            r.compile_errors.helper_only_said,
            [
                HelperSaid {
                    unit: "a.c".into(),
                    line: "a.c:3:7: error: it warns [-Werror=address]".into()
                },
                HelperSaid {
                    unit: "b.c".into(),
                    line: "b.c:3:7: error: it warns [-Werror=implicit-fallthrough=]".into()
                }
            ]
        );
        let text = r.render();
        assert!(
            text.contains(
                "    the helper's compiler said about a.c: a.c:3:7: error: it warns [-Werror=address]"
            ),
            "{text}"
        );
        assert!(!text.contains("conftest.c:3:7"), "{text}");
        let advice = helper_only_advice(&r);
        assert!(
            advice.contains(
                "The helper's compiler said about a.c: \"a.c:3:7: error: it warns [-Werror=address]\"."
            ) && advice.contains("preprocessed text"),
            "{advice}"
        );
        // What only an older gcc says: the advice names that cause alone, and the risk to
        // the units it did compile.
        let mut older = r.clone();
        older.compile_errors.helper_only_said.push(HelperSaid {
            unit: "c.c".into(),
            line: "c.c:9:1: error: implicit declaration of function \
                   '__builtin_dynamic_object_size' [-Werror=implicit-function-declaration]"
                .into(),
        });
        let advice = helper_only_advice(&older);
        assert!(
            advice.contains("The helper's compiler said about c.c:")
                && advice.contains("its gcc is older than this Pi's")
                && advice.contains("do not link")
                && !advice.contains("preprocessed text"),
            "{advice}"
        );
        // Debian's gcc 11 given a flag of gcc 12's, as it says it in a UTF-8 locale.
        older.compile_errors.helper_only_said = vec![HelperSaid {
            unit: "d.c".into(),
            line: "aarch64-linux-gnu-gcc-11: error: unrecognized command-line option \
                   ‘-ftrivial-auto-var-init=zero’"
                .into(),
        }];
        assert!(
            helper_only_advice(&older).contains("its gcc is older than this Pi's"),
            "{advice}"
        );
        // Not caught (another TMPDIR, or deleted first): the receipt says what it did before.
        let mut reader = LogReader::default();
        reader.feed(unit(1, "a.c", true).as_bytes(), 0.0);
        reader.finish(1.0);
        reader.attach_helper_stderr(&HashMap::new());
        let r = Receipt::new(&ctx(true), &reader.done, &phases(10.0, 15.0), &[]);
        assert_eq!(r.compile_errors.helper_only, 1);
        assert!(r.compile_errors.helper_only_said.is_empty());
        assert!(!r.render().contains("said about"));
    }

    #[test]
    fn helper_only_failures_are_explained_by_what_the_build_kept() {
        let mut r = Receipt::new(&ctx(true), &[], &phases(10.0, 15.0), &[]);
        r.compile_errors.helper_only = 2;
        r.compile_errors.helper_only_examples = vec!["a.c".into(), "b.c".into()];
        let advice = |r: &Receipt| helper_only_advice(r);
        // Comments may be the cause: --keep-comments, and the macros' case beside it.
        let text = advice(&r);
        assert!(
            text.contains("`alarm-distcc build --keep-comments` keeps comments for the run")
                && text.contains("warn in code from a macro, and stay on the Pi"),
            "{text}"
        );
        // With comments kept, what is left is the macros': no --keep-comments again.
        r.comments_kept = true;
        let text = advice(&r);
        assert!(
            text.contains(
                "the comments were kept (--keep-comments), so these most likely warn in code from a macro"
            ) && !text.contains("keeps comments for the run"),
            "{text}"
        );
        assert!(
            r.render()
                .contains("(comments were kept: code from macros, most likely)")
        );
    }

    #[test]
    fn units_per_host_and_local_groups() {
        let log = format!(
            "{}{}distcc[9] (dcc_scan_args) called for link?  i give up\n\
             distcc[9] exec on localhost: gcc a.o b.o -o hello\n\
             distcc[9] (dcc_exit) exit: code 0; x\n",
            remote(1, "a.c"),
            remote(2, "b.c")
        );
        let r = Receipt::new(&ctx(true), &jobs(&log), &phases(10.0, 15.0), &[]);
        assert_eq!(r.units, 2);
        assert_eq!(r.units_on_helpers, 2);
        assert_eq!(r.hosts[0].host, "10.0.0.2:3636");
        assert_eq!(r.hosts[0].units, 2);
        assert_eq!(r.hosts[1].host, "localhost");
        assert_eq!(r.on_pi[0].kind, "link");
        assert_eq!(r.on_pi[0].units, 0);
        assert_eq!(r.slots, 6);
        assert!(r.speedup.is_none());
        assert!(r.speedup_note.as_deref().unwrap().contains("--baseline"));
        assert!(
            r.advice.iter().any(|a| a
                .starts_with("compression took 15.0s of 30.0s (50%): COMPRESSXZ=(xz -c -z -T0 -)")),
            "{:?}",
            r.advice
        );
        let text = r.render();
        assert!(text.contains("compile units: 2 of 2 on helpers"), "{text}");
    }

    #[test]
    fn speedup_only_against_a_recorded_local_build() {
        let mut local_ctx = ctx(false);
        local_ctx.wall_seconds = 60.0;
        let base = Receipt::new(&local_ctx, &[], &phases(40.0, 10.0), &[]);
        assert!(base.is_local_baseline());
        let r = Receipt::new(
            &ctx(true),
            &jobs(&remote(1, "a.c")),
            &phases(10.0, 10.0),
            std::slice::from_ref(&base),
        );
        let s = r.speedup.unwrap();
        assert_eq!(s.wall, 2.0);
        assert_eq!(s.build_phase, Some(4.0));
        // Another package's local build is no baseline.
        let mut other = base;
        other.package = Some("other".into());
        let r = Receipt::new(&ctx(true), &[], &phases(10.0, 1.0), &[other]);
        assert!(r.speedup.is_none());
    }

    #[test]
    fn zero_units_out_names_the_reason() {
        let log = "distcc[3] (dcc_scan_args) scanning arguments: gcc -march=native -c a.c -o a.o\n\
             distcc[3] (dcc_scan_args) -march=native generates code for local machine; must be local\n\
             distcc[3] exec on localhost: gcc -march=native -c a.c -o a.o\n\
             distcc[3] (dcc_exit) exit: code 0; x\n";
        let r = Receipt::new(&ctx(true), &jobs(log), &phases(10.0, 1.0), &[]);
        assert_eq!((r.units, r.units_on_helpers), (1, 0));
        assert!(
            r.advice[0].starts_with(
                "0 of 1 units went to helpers: a flag distcc keeps local: -march=native"
            ),
            "{:?}",
            r.advice
        );
        assert!(r.summary().contains("0 of 1 unit(s) went to helpers"));
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_130_000.5), "2026-12-01T13:00:00Z");
    }
}
