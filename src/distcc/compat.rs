//! Whether a helper's objects can stand in for this machine's: the probe's jobs run here
//! too, with the compiler distcc on the Pi would fall back to, and the two are compared
//! (flags accepted, PIE default, compiler version), each difference with its consequence.

use crate::distcc::advice::{advice, notes};
use crate::distcc::elf::{Arch, CodeModel, ObjectInfo, compiler_major, object_info};
use crate::distcc::protocol::{
    self, Attempt, HostReport, Job, JobKind, Outcome, Target, Verdict, kept_local, strip_local_args,
};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Flags distccd (3.3+) turns down by policy: "insecure and not supported".
pub const REFUSED_BY_DISTCCD: [&str; 2] = ["-fplugin=", "-specs="];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One difference that matters, what it does to a build, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concern {
    pub severity: Severity,
    pub message: String,
    pub fix: String,
}

/// A flag of the config that makes distcc compile every job carrying it on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptLocal {
    /// `CFLAGS`, `CXXFLAGS` or both.
    pub var: String,
    pub flag: String,
    pub reason: &'static str,
}

/// The flags in CFLAGS/CXXFLAGS that keep jobs on this machine, each flag once.
pub fn kept_local_flags(cflags: Option<&[String]>, cxxflags: Option<&[String]>) -> Vec<KeptLocal> {
    let mut out: Vec<KeptLocal> = Vec::new();
    for (var, flags) in [("CFLAGS", cflags), ("CXXFLAGS", cxxflags)] {
        for flag in flags.unwrap_or(&[]) {
            let Some(reason) = kept_local(flag) else {
                continue;
            };
            match out.iter_mut().find(|k| k.flag == *flag) {
                Some(k) if !k.var.contains(var) => k.var = format!("{} and {var}", k.var),
                Some(_) => {}
                None => out.push(KeptLocal {
                    var: var.to_string(),
                    flag: flag.clone(),
                    reason,
                }),
            }
        }
    }
    out
}

impl KeptLocal {
    pub fn message(&self) -> String {
        let Self { var, flag, reason } = self;
        format!(
            "{flag} in {var}: distcc compiles every job carrying it on this machine (\"{reason}\")"
        )
    }

    pub fn fix(&self) -> String {
        if self.flag == "-flto" {
            "set LTOFLAGS=\"-flto=auto\" (as Arch Linux does): the same LTO, and distcc sends the \
             jobs"
                .into()
        } else if self.flag.ends_with("=native") {
            "name the Pi's CPU instead (-march=armv8-a for aarch64, -march=armv7-a for armv7h)"
                .into()
        } else {
            format!("drop {} from {}", self.flag, self.var)
        }
    }

    /// As the probe reports it. `-march=native`/`-mtune=native` are doctor's own finding; here
    /// they are said and left out. Any other such flag silently stops distcc for every job.
    pub fn concern(&self) -> Concern {
        Concern {
            severity: if self.flag.ends_with("=native") {
                Severity::Warning
            } else {
                Severity::Error
            },
            message: format!("{}; the probe leaves it out", self.message()),
            fix: self.fix(),
        }
    }
}

/// What this machine's compiler made of one job.
#[derive(Debug, Clone)]
pub enum LocalOutcome {
    Object(ObjectInfo),
    Failed(String),
    /// Still compiling at the probe's time bound (a slow or busy machine): nothing is known.
    TimedOut(Duration),
    /// No such compiler here (or it would not start).
    Missing(String),
}

#[derive(Debug, Clone)]
pub struct LocalRun {
    pub job: Job,
    pub compiler: Option<PathBuf>,
    pub outcome: LocalOutcome,
}

/// This machine's side of the comparison.
#[derive(Debug, Clone)]
pub struct Reference {
    pub runs: Vec<LocalRun>,
    /// Why there is nothing to compare against, when there is not.
    pub not_comparable: Option<String>,
}

impl Reference {
    /// The runs in the order of the jobs sent, with `made`, the run that made the headers
    /// job, in its place.
    fn in_order(self, sent: &[Job], made: Option<LocalRun>) -> Reference {
        let mut runs: Vec<Option<LocalRun>> = self.runs.into_iter().map(Some).collect();
        let mut made = made;
        let ordered = sent
            .iter()
            .filter_map(|job| {
                if made.as_ref().is_some_and(|m| m.job == *job) {
                    return made.take();
                }
                runs.iter_mut()
                    .find(|r| r.as_ref().is_some_and(|r| r.job == *job))?
                    .take()
            })
            .collect();
        Reference {
            runs: ordered,
            not_comparable: self.not_comparable,
        }
    }

    pub fn run(&self, kind: JobKind) -> Option<&LocalRun> {
        self.runs.iter().find(|r| r.job.kind == kind)
    }

    fn object(&self, kind: JobKind) -> Option<&ObjectInfo> {
        match &self.run(kind)?.outcome {
            LocalOutcome::Object(info) => Some(info),
            _ => None,
        }
    }

    /// Problems of this machine's own compiler with the config's flags.
    pub fn concerns(&self) -> Vec<Concern> {
        if self.not_comparable.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for run in &self.runs {
            // The headers job is made only when this machine compiled it (`with_headers_job`).
            if matches!(run.job.kind, JobKind::Bare | JobKind::Headers) {
                continue;
            }
            let var = flags_var(run.job.kind);
            let (stderr, compiler) =
                match (&run.outcome, &run.compiler) {
                    (LocalOutcome::Failed(stderr), Some(compiler)) => (stderr, compiler),
                    (LocalOutcome::TimedOut(bound), Some(compiler)) => {
                        out.push(Concern {
                        severity: Severity::Warning,
                        message: format!(
                            "this machine's {} did not finish the probe's unit with {var} in {} s: \
                             the helper's {} object is not compared with it",
                            compiler.display(),
                            bound.as_secs_f64(),
                            if run.job.kind == JobKind::Cxx { "C++" } else { "C" },
                        ),
                        fix: "run it again with a longer --timeout (this machine is slow or busy)"
                            .into(),
                    });
                        continue;
                    }
                    _ => continue,
                };
            let rejected = rejected_flags(stderr);
            out.push(Concern {
                severity: Severity::Error,
                message: format!(
                    "this machine's {} fails with {var}: {}; makepkg fails here with or without distcc",
                    compiler.display(),
                    if rejected.is_empty() {
                        first_error(stderr)
                    } else {
                        format!("it rejects {}", rejected.join(" "))
                    }
                ),
                fix: if rejected.is_empty() {
                    format!("correct {var} (`alarm-distcc probe` shows where it is set)")
                } else {
                    format!("drop {} from {var} (`alarm-distcc probe` shows where it is set)", rejected.join(" "))
                },
            });
        }
        out
    }
}

fn flags_var(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Cxx => "CXXFLAGS",
        _ => "CFLAGS",
    }
}

/// The program a masquerade link leads to (`distcc`, `ccache`), from its resolved path.
fn masquerade_of(real: &Path) -> Option<&'static str> {
    match real.file_name().and_then(|n| n.to_str()) {
        Some("distcc") => Some("distcc"),
        Some("ccache") => Some("ccache"),
        _ => None,
    }
}

/// The first file named `name` on `path` that is a real compiler: distcc's and ccache's
/// masquerade links (they resolve to `distcc`/`ccache`) are passed over, as distcc does.
pub fn find_on_path(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&path?).find_map(|dir| {
        let candidate = dir.join(name);
        let real = std::fs::canonicalize(&candidate).ok()?;
        let runnable = real
            .metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
        (runnable && masquerade_of(&real).is_none()).then_some(candidate)
    })
}

/// Whether a build's compilers can reach distcc: ALARM's masquerade folder, which makepkg
/// puts first on PATH, or a folder on `path` with a compiler name (`gcc`, `c++`,
/// `aarch64-unknown-linux-gnu-gcc`) that is a link to distcc.
pub fn distcc_masquerade_on(path: Option<OsString>) -> bool {
    if Path::new("/usr/lib/distcc/bin").is_dir() {
        return true;
    }
    let Some(path) = path else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return false;
        };
        // Bounded: a folder such as /usr/bin holds thousands of names, few of them links.
        entries.take(20_000).flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            (name.ends_with("cc") || name.ends_with("++"))
                && name != "distcc"
                && e.file_type().is_ok_and(|t| t.is_symlink())
                && std::fs::canonicalize(e.path())
                    .is_ok_and(|real| masquerade_of(&real) == Some("distcc"))
        })
    })
}

/// The compiler distcc on this machine runs a job with when it compiles locally.
fn local_compiler(job: &Job) -> Option<PathBuf> {
    let fallback = match job.kind {
        JobKind::Cxx => "c++",
        _ => "cc",
    };
    let path = std::env::var_os("PATH");
    find_on_path(&job.compiler, path.clone()).or_else(|| find_on_path(fallback, path))
}

/// Runs `compiler` on the job's unit with its full flags, bounded by `timeout`.
fn compile_here(compiler: &Path, job: &Job, timeout: Duration) -> LocalOutcome {
    let Ok((dir, _removed_on_interrupt)) =
        crate::leftovers::new_folder(tempfile::tempdir, |dir| dir.path().to_path_buf())
    else {
        return LocalOutcome::Missing("no temporary folder".into());
    };
    let src = dir.path().join(job.file_name());
    let obj = dir.path().join("probe.o");
    if std::fs::write(&src, job.source()).is_err() {
        return LocalOutcome::Missing("no temporary folder".into());
    }
    let stderr_file = dir.path().join("stderr");
    let Ok(stderr) = std::fs::File::create(&stderr_file) else {
        return LocalOutcome::Missing("no temporary folder".into());
    };
    let mut cmd = Command::new(compiler);
    cmd.args(&job.flags)
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .env("LC_ALL", "C")
        // gcc's own temp files (cc*.s) go in the folder too: a compiler killed at the time
        // bound or by Ctrl-C cannot remove them itself.
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let status = match crate::bounded::run(&mut cmd, timeout) {
        Ok((_, crate::bounded::Ended::Exited(status))) => status,
        Ok((_, crate::bounded::Ended::TimedOut)) => return LocalOutcome::TimedOut(timeout),
        Err(e) => return LocalOutcome::Missing(format!("{}: {e}", compiler.display())),
    };
    let err = std::fs::read_to_string(&stderr_file).unwrap_or_default();
    if !status.success() {
        return LocalOutcome::Failed(crate::ui::escape(err.trim()));
    }
    match std::fs::read(&obj)
        .map_err(|e| e.to_string())
        .and_then(|o| object_info(&o))
    {
        Ok(info) => LocalOutcome::Object(info),
        Err(e) => LocalOutcome::Failed(e),
    }
}

/// What the probe sends, made on this machine the first time a helper is checked.
#[derive(Debug, Clone)]
struct Sent {
    jobs: Vec<Job>,
    /// Why this machine, the Pi, could not make the headers job, when it could not.
    unsent: Option<Unsent>,
    /// This machine's own object of the headers job, from the compile that made its text:
    /// the reference does not compile it again.
    headers_here: Option<LocalRun>,
}

/// The probe's jobs and, when this machine's compiler builds for `expected` (it is the Pi's,
/// or one like it), one more: the headers unit with the config's C flags, preprocessed here
/// as distcc on the Pi does, so the helper gets the text a build sends. Only text this
/// machine compiles itself is sent: a failure there is then the helper's.
fn with_headers_job(jobs: &[Job], expected: Arch, timeout: Duration) -> Sent {
    let mut sent = Sent {
        jobs: jobs.to_vec(),
        unsent: None,
        headers_here: None,
    };
    let Some(template) = [JobKind::CFlags, JobKind::Bare]
        .into_iter()
        .find_map(|kind| jobs.iter().find(|j| j.decisive && j.kind == kind))
    else {
        return sent;
    };
    let made = match preprocess_here(template, expected, timeout) {
        Ok(made) => made,
        Err(why) => {
            sent.unsent = why;
            return sent;
        }
    };
    let job = Job {
        kind: JobKind::Headers,
        preprocessed: Some(made.text.into()),
        ..template.clone()
    };
    // Beside the job it was made from, where the table shows it.
    let at = sent
        .jobs
        .iter()
        .position(|j| j == template)
        .map_or(sent.jobs.len(), |i| i + 1);
    sent.jobs.insert(at, job.clone());
    sent.headers_here = Some(LocalRun {
        job,
        compiler: Some(made.compiler),
        outcome: LocalOutcome::Object(made.object),
    });
    sent
}

/// The headers unit as this machine's compiler preprocessed and compiled it.
struct MadeHere {
    text: String,
    compiler: PathBuf,
    object: ObjectInfo,
}

/// Why the headers job was not made on this machine, the Pi.
#[derive(Debug, Clone)]
pub struct Unsent {
    why: String,
    /// A longer `--timeout` would help.
    timed_out: bool,
}

impl Unsent {
    fn other(why: String) -> Unsent {
        Unsent {
            why,
            timed_out: false,
        }
    }
}

/// Far more than the headers unit becomes (tens of KB): a larger text is not sent.
const MAX_PREPROCESSED: u64 = 4 << 20;

/// The headers unit preprocessed by the compiler distcc here would use, with `job`'s flags,
/// if that compiler builds for `expected` and compiles the unit, each step bounded by
/// `timeout`. Err(None) when there is no such compiler here (not the Pi, nothing to send);
/// Err(Some(why)) when it did not do its part.
fn preprocess_here(
    job: &Job,
    expected: Arch,
    timeout: Duration,
) -> Result<MadeHere, Option<Unsent>> {
    let compiler = local_compiler(job).ok_or(None)?;
    let (dir, _removed_on_interrupt) =
        crate::leftovers::new_folder(tempfile::tempdir, |dir| dir.path().to_path_buf())
            .map_err(|_| Some(Unsent::other("no temporary folder".to_string())))?;
    let shown = compiler.display().to_string();
    let run = |args: &[&std::ffi::OsStr], out: &str| -> Result<(), Unsent> {
        let file = |name: &str| {
            std::fs::File::create(dir.path().join(name)).map_err(|e| Unsent::other(e.to_string()))
        };
        let (stdout, stderr) = (file(out)?, file("stderr")?);
        let mut cmd = Command::new(&compiler);
        cmd.args(args)
            .current_dir(dir.path())
            .env("LC_ALL", "C")
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        match crate::bounded::run(&mut cmd, timeout) {
            Ok((_, crate::bounded::Ended::Exited(status))) if status.success() => Ok(()),
            Ok((_, crate::bounded::Ended::Exited(_))) => Err(Unsent::other(format!(
                "{shown} failed: {}",
                crate::ui::escape(&first_error(
                    &std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
                ))
            ))),
            Ok((_, crate::bounded::Ended::TimedOut)) => Err(Unsent {
                why: format!("{shown} did not finish in {} s", timeout.as_secs_f64()),
                timed_out: true,
            }),
            Err(e) => Err(Unsent::other(format!("{shown}: {e}"))),
        }
    };
    // Not the Pi's compiler: the reference says so; nothing here to send.
    run(&["-dumpmachine".as_ref()], "machine").map_err(|_| None)?;
    let machine = std::fs::read_to_string(dir.path().join("machine")).map_err(|_| None)?;
    if crate::distcc::client::arch_of_triple(machine.trim()) != Some(expected) {
        return Err(None);
    }
    std::fs::write(dir.path().join("probe.c"), protocol::HEADERS_SOURCE)
        .map_err(|e| Some(Unsent::other(e.to_string())))?;
    // One run leaves both: the text distcc would send (probe.i) and proof that this
    // machine compiles it (probe.o).
    let mut args: Vec<&std::ffi::OsStr> = job.flags.iter().map(|f| f.as_ref()).collect();
    args.extend(["-save-temps", "-c", "probe.c", "-o", "probe.o"].map(std::ffi::OsStr::new));
    run(&args, "stdout").map_err(Some)?;
    let text = dir.path().join("probe.i");
    let size = std::fs::metadata(&text)
        .map_err(|e| Some(Unsent::other(e.to_string())))?
        .len();
    if size > MAX_PREPROCESSED {
        return Err(Some(Unsent::other(format!(
            "its text is {size} bytes, more than a probe sends"
        ))));
    }
    let text = std::fs::read_to_string(text).map_err(|e| Some(Unsent::other(e.to_string())))?;
    let object = std::fs::read(dir.path().join("probe.o"))
        .map_err(|e| e.to_string())
        .and_then(|o| object_info(&o))
        .map_err(|e| {
            Some(Unsent::other(format!(
                "{shown} made no object it could read: {e}"
            )))
        })?;
    Ok(MadeHere {
        text,
        compiler,
        object,
    })
}

/// The C++ job here. C++ may be found under another name than C (`c++` when there is no
/// `<CHOST>-g++`), so it counts only if that compiler builds for `expected` at all: its
/// failure with CXXFLAGS then says something about the flags.
fn cxx_here(compiler: &Path, job: &Job, expected: Arch, timeout: Duration) -> LocalOutcome {
    let not_compared = |what: String| {
        LocalOutcome::Missing(format!(
            "{} {what}, not {expected}: C++ is not compared",
            compiler.display()
        ))
    };
    match compile_here(compiler, job, timeout) {
        LocalOutcome::Object(info) if info.arch != expected => {
            not_compared(format!("builds {}", info.arch))
        }
        LocalOutcome::Failed(err) => {
            let bare = Job {
                flags: Vec::new(),
                ..job.clone()
            };
            match compile_here(compiler, &bare, timeout) {
                LocalOutcome::Object(info) if info.arch == expected => LocalOutcome::Failed(err),
                LocalOutcome::Object(info) => not_compared(format!("builds {}", info.arch)),
                _ => not_compared("does not build C++".into()),
            }
        }
        other => other,
    }
}

/// This machine's compiler on the decisive jobs.
pub fn reference(jobs: &[Job], expected: Arch, timeout: Duration) -> Reference {
    let runs: Vec<LocalRun> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .filter(|j| j.decisive)
            .map(|job| {
                s.spawn(move || {
                    let compiler = local_compiler(job);
                    let outcome = match &compiler {
                        Some(c) if job.kind == JobKind::Cxx => cxx_here(c, job, expected, timeout),
                        Some(c) => compile_here(c, job, timeout),
                        None => LocalOutcome::Missing(format!("no `{}` here", job.compiler)),
                    };
                    LocalRun {
                        job: job.clone(),
                        compiler,
                        outcome,
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let bare = runs.iter().find(|r| r.job.kind == JobKind::Bare);
    let not_comparable = match bare.map(|r| (&r.outcome, &r.compiler)) {
        Some((LocalOutcome::Object(info), _)) if info.arch == expected => None,
        Some((LocalOutcome::Object(info), Some(c))) => Some(format!(
            "this machine's {} builds {}, not {expected}: it is not the Pi's compiler, so the \
             helper is not compared with it",
            c.display(),
            info.arch
        )),
        Some((LocalOutcome::TimedOut(bound), Some(c))) => Some(format!(
            "this machine's {} did not finish the probe's unit in {} s: nothing to compare the \
             helper with (a longer --timeout gives it more time)",
            c.display(),
            bound.as_secs_f64()
        )),
        Some((LocalOutcome::Failed(e), Some(c))) => Some(format!(
            "this machine's {} cannot compile the probe ({}): nothing to compare the helper with",
            c.display(),
            first_error(e)
        )),
        _ => Some(format!(
            "no compiler here ({} or cc): nothing to compare the helper with",
            bare.map_or("gcc", |r| r.job.compiler.as_str())
        )),
    };
    Reference {
        runs,
        not_comparable,
    }
}

/// The options a compiler's error output names as rejected.
pub fn rejected_flags(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in stderr.lines() {
        let lower = line.to_ascii_lowercase();
        let rejects = [
            "unrecognized command-line option",
            "unrecognized command line option",
            "unrecognized argument in option",
            "unknown argument",
            "bad value",
        ]
        .iter()
        .any(|p| lower.contains(p));
        if !rejects {
            continue;
        }
        // gcc's "bad value 'armv8-a' for '-march=' switch": the flag is both words.
        let flag = match (
            quoted(line),
            line.split_once(" for ").and_then(|(_, r)| quoted(r)),
        ) {
            (Some(value), Some(prefix)) if lower.contains("bad value") && prefix.ends_with('=') => {
                Some(format!("{prefix}{value}"))
            }
            (flag, _) => flag,
        };
        if let Some(flag) = flag
            && !out.contains(&flag)
        {
            out.push(flag);
        }
    }
    out
}

/// The first quoted word of a compiler message ('x', ‘x’ or "x").
fn quoted(line: &str) -> Option<String> {
    for (open, close) in [('‘', '’'), ('\'', '\''), ('"', '"')] {
        if let Some(start) = line.find(open) {
            let rest = &line[start + open.len_utf8()..];
            if let Some(end) = rest.find(close) {
                return Some(rest[..end].to_string());
            }
        }
    }
    None
}

fn first_error(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.contains("error"))
        .or_else(|| stderr.lines().next())
        .unwrap_or("no output")
        .trim()
        .to_string()
}

/// What was compared for one helper, for `--json`.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub helper_compiler: Option<String>,
    pub local_compiler: Option<String>,
    /// The C++ job's `.comment` on each side (g++ can be another generation than gcc).
    pub helper_cxx_compiler: Option<String>,
    pub local_cxx_compiler: Option<String>,
    pub helper_code_model: Option<CodeModel>,
    pub local_code_model: Option<CodeModel>,
}

/// A helper's probe report with everything judged.
#[derive(Debug, Clone)]
pub struct Judged {
    pub report: HostReport,
    pub verdict: Verdict,
    /// The probe's own fixes (the names the Pi sends, as the probe saw them).
    pub fixes: Vec<String>,
    /// Differences from this machine's compiler, and flag trouble.
    pub concerns: Vec<Concern>,
    pub notes: Vec<String>,
    pub comparison: Comparison,
}

impl Judged {
    /// Every fix for a failed helper, one line each.
    pub fn causes(&self) -> Vec<String> {
        let mut out = self.fixes.clone();
        out.extend(
            self.concerns
                .iter()
                .filter(|c| c.severity == Severity::Error)
                .map(|c| format!("{}; {}", c.message, c.fix)),
        );
        out
    }
}

fn object_of(a: Option<&Attempt>, expected: Arch) -> Option<(Option<CodeModel>, Option<&str>)> {
    match &a?.outcome {
        Outcome::Object {
            arch,
            code_model,
            compiler,
            ..
        } if *arch == expected => Some((*code_model, compiler.as_deref())),
        _ => None,
    }
}

/// `gcc 12.2.0` from a `.comment` line.
pub fn version_of(comment: Option<&str>) -> String {
    comment
        .and_then(|c| c.strip_prefix("GCC: "))
        .map(|c| format!("gcc {}", c.rsplit(' ').next().unwrap_or(c)))
        .or_else(|| comment.map(str::to_string))
        .unwrap_or_else(|| "an unknown compiler".into())
}

/// The helper's trouble with the job carrying the config's flags.
fn flags_concern(
    at: &str,
    job_attempt: &Attempt,
    helper_version: &str,
    reference: Option<&LocalRun>,
    expected: Arch,
) -> Option<Concern> {
    let job = job_attempt.job.as_ref()?;
    let var = flags_var(job.kind);
    let what = match job.kind {
        JobKind::Cxx => "C++ job",
        _ => "C job",
    };
    let sent = strip_local_args(&job.flags);
    let local_failed = matches!(reference.map(|r| &r.outcome), Some(LocalOutcome::Failed(_)));
    match &job_attempt.outcome {
        Outcome::Object { arch, .. } if *arch == expected => None,
        Outcome::Object { arch, .. } => Some(Concern {
            severity: Severity::Error,
            message: format!("{at} compiles `{}` with {var} into {arch} objects, not {expected}", job.compiler),
            fix: "put the cross compiler first on distccd's PATH on the helper (`alarm-distcc helper` prints the commands)".into(),
        }),
        Outcome::CompileFailed { stderr, .. } => {
            let rejected = rejected_flags(stderr);
            let named = if rejected.is_empty() {
                first_error(stderr)
            } else {
                format!("rejects {}", rejected.join(" "))
            };
            let the_flag = if rejected.is_empty() {
                "the flag".to_string()
            } else {
                rejected.join(" ")
            };
            if local_failed {
                return Some(Concern {
                    severity: Severity::Error,
                    message: format!(
                        "{at}: {helper_version} {named}, and so does this machine's compiler: \
                         every {what} fails, with or without distcc"
                    ),
                    fix: format!("drop {the_flag} from {var}"),
                });
            }
            let severity = if rejected.is_empty() && job.kind == JobKind::Cxx {
                Severity::Warning
            } else {
                Severity::Error
            };
            Some(Concern {
                severity,
                message: format!(
                    "{at}: the helper's {helper_version} {named}: every {what} fails there and \
                     falls back to this Pi"
                ),
                fix: format!(
                    "install a newer toolchain on the helper, or drop {the_flag} from {var}"
                ),
            })
        }
        Outcome::Rejected => {
            let policy: Vec<&String> = sent
                .iter()
                .filter(|f| REFUSED_BY_DISTCCD.iter().any(|p| f.starts_with(p)))
                .collect();
            if let Some(flag) = policy.first() {
                return Some(Concern {
                    severity: Severity::Error,
                    message: format!(
                        "{at}: distccd refuses every job carrying {flag} (\"insecure and not \
                         supported\", distcc 3.3+): every {what} compiles on this Pi, with only a \
                         warning"
                    ),
                    fix: format!("drop {flag} from {var} (or build such packages without distcc)"),
                });
            }
            let name_problem = job.kind == JobKind::Cxx;
            Some(Concern {
                severity: if name_problem { Severity::Warning } else { Severity::Error },
                message: if name_problem {
                    format!(
                        "{at} closed the connection for `{}`: C++ jobs fall back to this Pi",
                        job.compiler
                    )
                } else {
                    format!("{at} closed the connection for the job with {var}, though it takes the bare one")
                },
                fix: if name_problem {
                    format!(
                        "whitelist `{}` on the helper (/usr/lib/distcc or DISTCC_CMDLIST; `alarm-distcc helper` prints the commands)",
                        job.compiler
                    )
                } else {
                    "read the helper's distccd log for the reason".into()
                },
            })
        }
        Outcome::CompilerMissing(_) => Some(Concern {
            severity: if job.kind == JobKind::Cxx { Severity::Warning } else { Severity::Error },
            message: format!(
                "{at} has no `{}` on distccd's PATH: {what}s fall back to this Pi",
                job.compiler
            ),
            fix: "install the cross compiler (C++ included) on the helper and put its bin on distccd's PATH".into(),
        }),
        // The C jobs decide the verdict, so theirs is an error; C++ only warns.
        other => Some(Concern {
            severity: if job.kind == JobKind::Cxx {
                Severity::Warning
            } else {
                Severity::Error
            },
            message: format!(
                "{at}: the {what} with {var} got no answer ({})",
                crate::distcc::advice::describe(other, expected)
            ),
            fix: "probe again; if it stays, read the helper's distccd log".into(),
        }),
    }
}

/// How a Debian or Ubuntu helper gets gcc `major` for the Pi's `expected` objects (where its
/// release packages that version), which its script then serves.
fn debian_install_hint(expected: Arch, major: u32) -> String {
    let Some(arch) = crate::distcc::alarm::HelperArch::of_objects(expected) else {
        return String::new();
    };
    let triple = arch.debian_triple();
    format!(
        " (a Debian or Ubuntu helper: `apt-get install gcc-{major}-{triple} \
         g++-{major}-{triple}` where its release has them; the script of `alarm-distcc helper \
         --distro debian` serves the newest installed)"
    )
}

/// What the Pi's own headers become on the helper: objects that call builtins its gcc does
/// not know (no library has them), or text it cannot compile at all. Both come from a gcc
/// older than the Pi's, and the first is silent: distcc takes the object.
fn headers_concern(
    at: &str,
    report: &HostReport,
    helper_version: &str,
    reference: Option<&Reference>,
    expected: Arch,
) -> Option<Concern> {
    let local = reference.and_then(|r| {
        r.object(JobKind::Headers)
            .or(r.object(JobKind::CFlags))
            .or(r.object(JobKind::Bare))
    });
    let local_version = local.map(|i| version_of(i.compiler.as_deref()));
    let install = match local.and_then(ObjectInfo::compiler_major) {
        Some(major) => format!(
            "install gcc {major} on the helper, this machine's major version{}",
            debian_install_hint(expected, major)
        ),
        None => "install the Pi's gcc version on the helper".into(),
    };
    let theirs = local_version.map_or("the Pi's gcc".into(), |v| format!("this machine's {v}"));
    for kind in [JobKind::Headers, JobKind::CFlags, JobKind::Bare] {
        let Some(a) = report.decisive(kind) else {
            continue;
        };
        if let Outcome::Object {
            arch,
            undefined_builtins,
            ..
        } = &a.outcome
            && *arch == expected
            && !undefined_builtins.is_empty()
        {
            let names: Vec<String> = undefined_builtins
                .iter()
                .map(|b| format!("`{}`", crate::ui::escape(b)))
                .collect();
            return Some(Concern {
                severity: Severity::Error,
                message: format!(
                    "{at}: the helper's {helper_version} makes objects that call {} as a \
                     function: the headers of {theirs} use that builtin, and the helper's gcc \
                     does not know it. No library has it, so those objects do not link, and a \
                     shared library built from them links but fails when it is loaded",
                    names.join(", ")
                ),
                fix: install,
            });
        }
    }
    match &report.decisive(JobKind::Headers)?.outcome {
        Outcome::CompileFailed { stderr, .. } => Some(Concern {
            severity: Severity::Error,
            message: format!(
                "{at}: the helper's {helper_version} cannot compile what {theirs} makes of its \
                 own headers ({}): units that include them fail there and are compiled on this \
                 Pi again",
                first_error(stderr)
            ),
            fix: install,
        }),
        _ => None,
    }
}

/// PIE on one side and not on the other. The flagged pair is compared when both carry code;
/// the bare pair otherwise (LTO objects have none).
fn code_model_concern(
    at: &str,
    report: &HostReport,
    reference: &Reference,
    expected: Arch,
    comparison: &mut Comparison,
) -> Option<Concern> {
    let (helper, local) = [JobKind::CFlags, JobKind::Bare]
        .into_iter()
        .find_map(|kind| {
            let helper = object_of(report.decisive(kind), expected)?.0?;
            let local = reference.object(kind)?.code_model?;
            Some((helper, local))
        })?;
    comparison.helper_code_model = Some(helper);
    comparison.local_code_model = Some(local);
    if helper == local {
        return None;
    }
    let (built, flag) = match local {
        CodeModel::Pie => ("with", "-fPIE"),
        CodeModel::NotPie => ("without", "-fno-pie"),
    };
    Some(Concern {
        severity: Severity::Error,
        message: format!(
            "{at} makes {helper} objects, this machine's compiler {local} ones: links mixing \
             them fail (\"relocation ... recompile with -fPIC\")"
        ),
        fix: format!(
            "use a helper toolchain built {built} default PIE, or add {flag} to CFLAGS and \
             CXXFLAGS so both agree"
        ),
    })
}

/// Another gcc major version on the helper: an error when LTO objects must be linked
/// together, else a warning. `what` names the compiler compared ("" for C, "C++ " for g++).
fn version_concern(
    at: &str,
    what: &str,
    helper_comment: Option<&str>,
    local_comment: Option<&str>,
    lto: bool,
    expected: Arch,
) -> Option<Concern> {
    let helper_major = helper_comment.and_then(compiler_major)?;
    let local_major = local_comment.and_then(compiler_major)?;
    if helper_major == local_major {
        return None;
    }
    let (helper, local) = (version_of(helper_comment), version_of(local_comment));
    let package = if what.is_empty() { "gcc" } else { "g++" };
    let debian = debian_install_hint(expected, local_major);
    Some(if lto {
        Concern {
            severity: Severity::Error,
            message: format!(
                "{at} runs {what}{helper}, this machine {local}: with LTO on, objects from \
                 different major versions cannot be linked together"
            ),
            fix: format!(
                "install {package} {local_major} on the helper{debian}, or turn LTO off \
                 (`!lto` in OPTIONS)"
            ),
        }
    } else {
        Concern {
            severity: Severity::Warning,
            message: format!(
                "{at} runs {what}{helper}, this machine {local}: objects usually link, but \
                 warnings, defaults and bugs differ between major versions"
            ),
            fix: format!("install {package} {local_major} on the helper to match{debian}"),
        }
    })
}

/// Judges one report against this machine's compiler.
pub fn judge(
    report: HostReport,
    expected: Arch,
    carch: &str,
    lto: bool,
    reference: Option<&Reference>,
) -> Judged {
    let fixes = advice(&report, expected, carch);
    let notes = notes(&report, expected);
    let mut comparison = Comparison::default();
    // When the name itself does not work there, the fixes say why; nothing to compare.
    let concerns = match object_of(report.decisive(JobKind::Bare), expected) {
        Some(bare) => compare(&report, bare, expected, lto, reference, &mut comparison),
        None => Vec::new(),
    };
    let verdict = if concerns.iter().any(|c| c.severity == Severity::Error) {
        Verdict::Failed
    } else {
        report.verdict(expected)
    };
    Judged {
        report,
        verdict,
        fixes,
        concerns,
        notes,
        comparison,
    }
}

/// The flags jobs' trouble, then (when this machine's compiler is the Pi's) PIE and version.
fn compare(
    report: &HostReport,
    bare: (Option<CodeModel>, Option<&str>),
    expected: Arch,
    lto: bool,
    reference: Option<&Reference>,
    comparison: &mut Comparison,
) -> Vec<Concern> {
    let at = format!("{}:{}", report.target.host, report.target.port);
    let comparable = reference.filter(|r| r.not_comparable.is_none());
    let helper_comment = object_of(report.decisive(JobKind::CFlags), expected)
        .unwrap_or(bare)
        .1;
    comparison.helper_compiler = helper_comment.map(str::to_string);
    let helper_version = version_of(helper_comment);
    let mut concerns = Vec::new();
    for kind in [JobKind::CFlags, JobKind::Cxx] {
        if let Some(a) = report.decisive(kind) {
            let local = comparable.and_then(|r| r.run(kind));
            concerns.extend(flags_concern(&at, a, &helper_version, local, expected));
        }
    }
    let headers = headers_concern(&at, report, &helper_version, comparable, expected);
    // It names both versions and what the difference breaks: the general warning would
    // only contradict it ("objects usually link").
    let version_said = headers.is_some();
    concerns.extend(headers);
    if let Some(reference) = comparable {
        concerns.extend(code_model_concern(
            &at, report, reference, expected, comparison,
        ));
        let local_comment = reference
            .object(JobKind::CFlags)
            .or(reference.object(JobKind::Bare))
            .and_then(|i| i.compiler.clone());
        comparison.local_compiler = local_comment.clone();
        if !version_said {
            concerns.extend(version_concern(
                &at,
                "",
                helper_comment,
                local_comment.as_deref(),
                lto,
                expected,
            ));
        }
        // The C++ side on its own: a helper's g++ can be another generation than its gcc.
        let helper_cxx = object_of(report.decisive(JobKind::Cxx), expected).and_then(|o| o.1);
        let local_cxx = reference
            .object(JobKind::Cxx)
            .and_then(|i| i.compiler.clone());
        comparison.helper_cxx_compiler = helper_cxx.map(str::to_string);
        comparison.local_cxx_compiler = local_cxx.clone();
        concerns.extend(version_concern(
            &at,
            "C++ ",
            helper_cxx,
            local_cxx.as_deref(),
            lto,
            expected,
        ));
    }
    concerns
}

/// Everything a probe needs, built once per command from the config.
pub struct Checker {
    pub jobs: Vec<Job>,
    pub expected: Arch,
    pub carch: String,
    pub lto: bool,
    pub kept_local: Vec<KeptLocal>,
    /// How the compiler names sent were found (this machine's distcc, or CHOST).
    pub names: Option<String>,
    /// This machine's compiler is asked once, the first time a helper is checked.
    reference: OnceLock<Reference>,
    /// `jobs` and the headers job, made here the first time a helper is checked; or why
    /// this machine, the Pi, could not make it.
    sent: OnceLock<Sent>,
}

impl Checker {
    pub fn new(
        jobs: Vec<Job>,
        expected: Arch,
        carch: String,
        lto: bool,
        kept_local: Vec<KeptLocal>,
    ) -> Checker {
        Checker {
            jobs,
            expected,
            carch,
            lto,
            kept_local,
            reference: OnceLock::new(),
            sent: OnceLock::new(),
            names: None,
        }
    }

    /// Problems of the config and of this machine's compiler, whatever the helper.
    pub fn general_concerns(&self) -> Vec<Concern> {
        let mut out: Vec<Concern> = self.kept_local.iter().map(KeptLocal::concern).collect();
        if let Some(r) = self.reference() {
            out.extend(r.concerns());
        }
        out.extend(self.headers_unsent());
        out
    }

    /// The headers job could not be made on this machine, the Pi: what the check missed.
    pub fn headers_unsent(&self) -> Option<Concern> {
        let Unsent { why, timed_out } = self.sent.get()?.unsent.as_ref()?;
        Some(Concern {
            severity: Severity::Warning,
            message: format!(
                "the helpers were not sent this machine's own headers, preprocessed, as a build \
                 sends them ({why}): a helper whose gcc is older than this machine's can make \
                 objects that do not link, and that was not checked"
            ),
            fix: if *timed_out {
                "run it again with a longer --timeout (this machine is slow or busy)".into()
            } else {
                "fix what this machine's compiler reports, then probe again".into()
            },
        })
    }

    /// Probes the targets (and this machine's compiler, at the same time) and judges each.
    pub fn check(&self, targets: &[Target], timeout: Duration) -> Vec<Judged> {
        let reports = std::thread::scope(|s| {
            // This machine's compiles of the probe's own units run while it makes the
            // headers job (a Pi has the cores), not after it: the helpers wait for that job.
            let own_units = self
                .reference
                .get()
                .is_none()
                .then(|| s.spawn(|| reference(&self.jobs, self.expected, timeout)));
            let sent = self
                .sent
                .get_or_init(|| with_headers_job(&self.jobs, self.expected, timeout));
            let reports = protocol::probe_all(targets, &sent.jobs, timeout);
            if let Some(Ok(own)) = own_units.map(|h| h.join()) {
                self.reference
                    .get_or_init(|| own.in_order(&sent.jobs, sent.headers_here.clone()));
            }
            reports
        });
        reports
            .into_iter()
            .map(|r| judge(r, self.expected, &self.carch, self.lto, self.reference()))
            .collect()
    }

    pub fn reference(&self) -> Option<&Reference> {
        self.reference.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_flags_are_named_in_any_quoting() {
        let gcc12 = "aarch64-linux-gnu-gcc: error: unrecognized command-line option ‘-fhardened’\n";
        assert_eq!(rejected_flags(gcc12), ["-fhardened"]);
        let c_locale = "cc1: error: unrecognized command-line option '-fstrict-flex-arrays=3'\n\
                        cc1: error: unrecognized command-line option '-fhardened'; did you mean '-fharden-compares'?";
        assert_eq!(
            rejected_flags(c_locale),
            ["-fstrict-flex-arrays=3", "-fhardened"]
        );
        assert!(rejected_flags("t.c:1: error: expected ';'").is_empty());
        // An x86_64 gcc given the Pi's CPU: the fix must name the whole flag.
        let x86 = "cc1: error: bad value ‘armv8-a’ for ‘-march=’ switch\n";
        assert_eq!(rejected_flags(x86), ["-march=armv8-a"]);
    }

    #[test]
    fn masquerade_links_are_passed_over() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let dir = tempfile::tempdir().unwrap();
        let (masq, real) = (dir.path().join("masq"), dir.path().join("real"));
        std::fs::create_dir_all(&masq).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        let distcc = dir.path().join("distcc");
        std::fs::write(&distcc, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&distcc, std::fs::Permissions::from_mode(0o755)).unwrap();
        symlink(&distcc, masq.join("x-gcc")).unwrap();
        let gcc = real.join("x-gcc");
        std::fs::write(&gcc, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&gcc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([&masq, &real]).unwrap();
        assert_eq!(find_on_path("x-gcc", Some(path.clone())), Some(gcc));

        // The same link makes distcc reachable; a PATH of real compilers (and distcc itself
        // beside them) does not, unless ALARM's folder exists on this machine.
        assert!(distcc_masquerade_on(Some(path)));
        symlink(&distcc, real.join("distcc")).unwrap();
        let without = std::env::join_paths([&real]).unwrap();
        assert_eq!(
            distcc_masquerade_on(Some(without)),
            Path::new("/usr/lib/distcc/bin").is_dir()
        );
    }
}
