//! Reads the distcc client's own log (DISTCC_LOG with DISTCC_VERBOSE=1) into jobs: one per
//! distcc process, with where it ran and, for what ran here, distcc's reason. The lines are
//! distcc 3.4's (`src/compile.c`, `src/arg.c`, `src/backoff.c`, `src/exec.c`); each starts
//! with `distcc[PID] `, and a process's lines end with `(dcc_exit) exit: code N`.

use std::collections::HashMap;

/// Why a job ran on this machine instead of a helper.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalReason {
    /// configure's probes (`conftest.c`): one at a time, whatever the slots.
    ConfigureProbe,
    /// A flag distcc keeps local, with distcc's words (`-march=native generates code for
    /// local machine`).
    Flag(String),
    /// A link: distcc never sends one.
    Link,
    /// An input distcc does not send, in its words (`no visible input file` for a `.S`,
    /// `gcc's -x handling is complex; running locally for assembler-with-cpp`).
    LocalInput(String),
    /// `-E` (preprocessing only) or another call that is no compile.
    NotACompile(String),
    /// A helper failed this job and distcc ran it here.
    Fallback { host: String },
    /// The compile failed on the helper and distcc compiled it here again, as it does after
    /// every remote compile error (the helper itself was fine).
    RetriedAfterCompileError { host: String },
    /// Every helper was in backoff after an earlier failure.
    Backoff { host: String },
    /// distcc picked this machine's slot: the helpers' slots were busy (or listed after it).
    LocalSlot,
    /// The log does not say.
    Unknown,
}

impl LocalReason {
    pub fn kind(&self) -> &'static str {
        match self {
            LocalReason::ConfigureProbe => "configure_probe",
            LocalReason::Flag(_) => "local_flag",
            LocalReason::Link => "link",
            LocalReason::LocalInput(_) => "local_input",
            LocalReason::NotACompile(_) => "not_a_compile",
            LocalReason::Fallback { .. } => "fallback",
            LocalReason::RetriedAfterCompileError { .. } => "compile_error_retry",
            LocalReason::Backoff { .. } => "backoff",
            LocalReason::LocalSlot => "local_slot",
            LocalReason::Unknown => "unknown",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            LocalReason::ConfigureProbe => {
                "configure's checks (conftest, zlib's ztest, meson's and cmake's test compiles), which run one at a time".into()
            }
            LocalReason::Flag(why) => format!("a flag distcc keeps local: {why}"),
            LocalReason::Link => "linking, which distcc never sends".into(),
            LocalReason::LocalInput(why) => {
                format!("an input distcc does not send (assembler and the like): {why}")
            }
            LocalReason::NotACompile(why) => format!("not a compile: {why}"),
            LocalReason::Fallback { host } => format!("fallback after {host} failed the job"),
            LocalReason::RetriedAfterCompileError { host } => format!(
                "compiled here again after a compile error on {host} (distcc retries every \
                 remote compile error here)"
            ),
            LocalReason::Backoff { host } => {
                format!("{host} was in backoff after an earlier failure")
            }
            // distcc 3.4's dcc_lock_one (where.c) tries slot 0 of every host, in list
            // order, before slot 1 of any: not a sign that the helpers were full.
            LocalReason::LocalSlot => "distcc gave it one of this machine's slots (it takes \
                                       slot 0 of every listed host before slot 1 of any)"
                .into(),
            LocalReason::Unknown => "the log does not say".into(),
        }
    }
}

/// One distcc process: a compile, a link or another call of the compiler.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Job {
    pub pid: u32,
    /// The source file (`compile from X to Y`, or the argv's source).
    pub input: Option<String>,
    /// Where it finally ran: `HOST:PORT` of a helper, or `localhost`.
    pub ran_on: Option<String>,
    /// Helpers that failed it (`HOST:PORT`), with the first error each gave.
    pub failures: Vec<(String, String)>,
    /// A helper distcc skipped because it was in backoff.
    pub backoff: Option<String>,
    scan_local: Option<String>,
    argv: Vec<String>,
    pub compile_from: bool,
    /// The compiler on a helper returned an error (`remote compilation of 'X' failed,
    /// retrying locally`): the source's error or a difference, not the helper's failure.
    pub remote_compile_error: bool,
    /// The file distcc kept the helper's stderr in (its name: `(dcc_r_file) received N bytes
    /// to file PATH`), and what it said when it reported an error (helper_stderr.rs).
    pub server_stderr: Option<String>,
    pub helper_said: Option<String>,
    /// The remote compile's time as the client saw it (`compiled on HOST in Ts`).
    pub remote_seconds: Option<f64>,
    pub elapsed_seconds: Option<f64>,
    /// CPU seconds this machine spent on the job: distcc's own and its children's (the
    /// preprocessor for a unit sent out, the compiler or linker for one run here), from
    /// `(dcc_exit) exit: code N; self: U user S sys; children: U user S sys`.
    pub cpu_seconds: Option<f64>,
    pub ok: bool,
    pub exit_code: Option<i32>,
    /// When its first and last line were read (seconds since the build started).
    pub first_seen: f64,
    pub last_seen: f64,
}

impl Job {
    /// A distcc call (not the lines of a child it forked): it says what it runs.
    pub fn is_job(&self) -> bool {
        !self.argv.is_empty() || self.ran_on.is_some() || self.compile_from
    }

    pub fn on_helper(&self) -> bool {
        self.ran_on.as_deref().is_some_and(|h| h != "localhost")
    }

    fn has_compile_flag(&self) -> bool {
        self.argv.iter().any(|a| a == "-c" || a == "-S")
    }

    /// A build system's check while configuring, not a file of the package: autoconf's
    /// `conftest.c`, meson's `meson-private/` test files and `sanitycheckc.c`, cmake's
    /// try-compiles (`CMakeFiles/CMakeScratch/`, `CMakeTmp/`) and compiler-id sources,
    /// zlib's hand-written configure's `ztest$$.c` (its shell's pid), config.guess's
    /// `dummy.c` in its `$TMPDIR/cgXXXXXX` folder (autotools packages that ship their own).
    pub fn is_configure_check(&self) -> bool {
        let input = self.input.as_deref().unwrap_or("");
        let base = input.rsplit('/').next().unwrap_or(input);
        // distcc's "compile from" names the source without its folder: the argv has it.
        let in_check_folder = |text: &str| {
            text.contains("meson-private/")
                || text.contains("CMakeFiles/CMakeScratch/")
                || text.contains("CMakeFiles/CMakeTmp/")
                // cmake's try-compile targets, whatever folder they run in.
                || text.contains("/cmTC_")
                || text.starts_with("cmTC_")
        };
        // config.guess's folder: `$TMPDIR/cgXXXXXX` (mktemp), else `cg$$-$RANDOM` or
        // `cg-$$`; a package's own `cgi/dummy.c` is none of them.
        let config_guess = |text: &str| {
            let mut parts = text.rsplit('/');
            let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            text.starts_with('/')
                && parts.next().is_some_and(|b| b.starts_with("dummy."))
                && parts
                    .next()
                    .and_then(|d| d.strip_prefix("cg"))
                    .is_some_and(|tail| {
                        (tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_alphanumeric()))
                            || tail.strip_prefix('-').is_some_and(digits)
                            || tail
                                .split_once('-')
                                .is_some_and(|(a, b)| digits(a) && digits(b))
                    })
        };
        let zlib_probe = base
            .strip_prefix("ztest")
            .and_then(|rest| rest.split('.').next())
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        base.starts_with("conftest")
            || zlib_probe
            || base.starts_with("sanitycheck")
            || base.starts_with("sanity_check_for_")
            || base.starts_with("CMakeCCompilerId")
            || base.starts_with("CMakeCXXCompilerId")
            || base.starts_with("CMakeCCompilerABI")
            || base.starts_with("CMakeCXXCompilerABI")
            || in_check_folder(input)
            || self
                .argv
                .iter()
                .any(|a| in_check_folder(a) || config_guess(a))
    }

    /// Whether this job compiled a source of the package to an object (a compile unit;
    /// configure checks are counted apart).
    pub fn is_unit(&self) -> bool {
        if self.is_configure_check() {
            return false;
        }
        // A compile that never finished on its helper (the build was interrupted, the
        // client cut off: distccd logs CLI_DISCONN) made no object there.
        if self.on_helper() && !self.ok {
            return false;
        }
        if self.on_helper() || self.compile_from {
            return true;
        }
        match self.local_reason() {
            LocalReason::Link | LocalReason::NotACompile(_) => false,
            _ => self.has_compile_flag(),
        }
    }

    /// Why it ran here (meaningless for a job that ran on a helper).
    pub fn local_reason(&self) -> LocalReason {
        if self.is_configure_check() {
            return LocalReason::ConfigureProbe;
        }
        if let Some(why) = &self.scan_local {
            if why.contains("called for link") {
                return LocalReason::Link;
            }
            if why.contains("no visible input file") || why.contains("-x handling") {
                return LocalReason::LocalInput(why.clone());
            }
            if why.contains("-E call") || why.contains("not for compile") {
                return LocalReason::NotACompile(why.clone());
            }
            return LocalReason::Flag(why.clone());
        }
        if let Some((host, _)) = self.failures.first() {
            if self.remote_compile_error {
                return LocalReason::RetriedAfterCompileError { host: host.clone() };
            }
            return LocalReason::Fallback { host: host.clone() };
        }
        if let Some(host) = &self.backoff {
            return LocalReason::Backoff { host: host.clone() };
        }
        if self.compile_from {
            return LocalReason::LocalSlot;
        }
        if !self.has_compile_flag() && !self.argv.is_empty() && !self.argv.iter().any(|a| a == "-E")
        {
            return LocalReason::Link;
        }
        LocalReason::Unknown
    }
}

/// The sum of the four times in `0; self: 0.000000 user 0.005855 sys; children: 0.003314
/// user 0.024498 sys` (distcc's `dcc_exit`, from getrusage); none unless all four read.
fn rusage_seconds(exit_line: &str) -> Option<f64> {
    let (_, times) = exit_line.split_once("; self: ")?;
    let (own, children) = times.split_once("; children: ")?;
    let pair = |text: &str| -> Option<f64> {
        let mut words = text.split_whitespace();
        let user: f64 = words.next()?.parse().ok()?;
        (words.next()? == "user").then_some(())?;
        let sys: f64 = words.next()?.parse().ok()?;
        Some(user + sys)
    };
    Some(pair(own)? + pair(children)?)
}

/// Reads the log as it grows: whole lines only, each stamped with the time it was read.
#[derive(Debug, Default)]
pub struct LogReader {
    partial: Vec<u8>,
    open: HashMap<u32, Job>,
    pub done: Vec<Job>,
    /// Lines that were too long to be distcc's (kept out of memory).
    pub skipped: usize,
}

/// A line longer than this is not one of distcc's: it is dropped unread (bounded memory).
const MAX_LINE: usize = 64 * 1024;

impl LogReader {
    pub fn feed(&mut self, bytes: &[u8], now: f64) {
        self.partial.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = self.partial[start..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.partial[start..start + nl]).into_owned();
            self.line(&line, now);
            start += nl + 1;
        }
        self.partial.drain(..start);
        if self.partial.len() > MAX_LINE {
            self.partial.clear();
            self.skipped += 1;
        }
    }

    /// Every job still open (the log ended, or the process was killed) is closed as it is.
    pub fn finish(&mut self, now: f64) {
        if !self.partial.is_empty() {
            let line = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            self.line(&line, now);
        }
        // A forked child's few lines (the preprocessor's, the compiler's) are no job.
        let mut rest: Vec<Job> = self
            .open
            .drain()
            .map(|(_, j)| j)
            .filter(Job::is_job)
            .collect();
        rest.sort_by(|a, b| a.first_seen.total_cmp(&b.first_seen));
        self.done.extend(rest);
    }

    /// What the helpers' compilers said, for the jobs that failed there: `caught` is
    /// helper_stderr.rs's, file name -> text.
    pub fn attach_helper_stderr(&mut self, caught: &HashMap<String, String>) {
        for job in self.done.iter_mut().filter(|j| j.remote_compile_error) {
            if let Some(name) = &job.server_stderr {
                job.helper_said = caught.get(name).cloned();
            }
        }
    }

    /// Jobs finished so far and jobs still running.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.done
            .iter()
            .chain(self.open.values().filter(|j| j.is_job()))
    }

    fn line(&mut self, line: &str, now: f64) {
        let Some(rest) = line.strip_prefix("distcc[") else {
            return;
        };
        let Some((pid, msg)) = rest.split_once("] ") else {
            return;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            return;
        };
        let job = self.open.entry(pid).or_insert_with(|| Job {
            pid,
            first_seen: now,
            ..Job::default()
        });
        job.last_seen = now;
        read_message(job, msg);
        if msg.starts_with("(dcc_exit) exit:") {
            let job = self.open.remove(&pid).expect("just seen");
            if job.is_job() {
                self.done.push(job);
            }
        }
    }
}

/// Helpers whose every failure so far in this log was a compile error they answered with
/// (`remote compilation of 'X' failed`): distcc's backoff after those punishes a helper
/// that works. A connection or protocol failure keeps the backoff.
pub fn only_compile_errors<'a>(jobs: impl Iterator<Item = &'a Job>) -> Vec<String> {
    let mut answered: Vec<String> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    for j in jobs {
        for (host, _) in &j.failures {
            let list = if j.remote_compile_error {
                &mut answered
            } else {
                &mut failed
            };
            if !list.contains(host) {
                list.push(host.clone());
            }
        }
    }
    answered.retain(|h| !failed.contains(h));
    answered
}

/// `HOST:PORT` from distcc's host text as DISTCC_HOSTS has it (`127.0.0.1:3632/4,lzo`, or
/// `HOST/4` for distcc's default port 3632).
pub fn host_key(text: &str) -> String {
    let text = text.trim().trim_end_matches(':');
    let text = text.split(',').next().unwrap_or(text);
    let text = text.split('/').next().unwrap_or(text);
    let has_port = match text.rfind(']') {
        Some(close) => text[close..].contains(':'),
        None => text.contains(':'),
    };
    if has_port || text == "localhost" {
        text.to_string()
    } else {
        format!("{text}:{}", crate::distcc::hosts::DEFAULT_PORT)
    }
}

fn read_message(job: &mut Job, msg: &str) {
    if let Some(rest) = msg.strip_prefix("compile from ") {
        job.compile_from = true;
        if let Some((from, _)) = rest.split_once(" to ") {
            job.input = Some(from.to_string());
        }
    } else if let Some(rest) = msg.strip_prefix("(dcc_scan_args) ") {
        if let Some(args) = rest.strip_prefix("scanning arguments: ") {
            job.argv = args.split_whitespace().map(str::to_string).collect();
        } else if let Some(input) = rest.strip_prefix("found input file \"") {
            job.input = Some(input.trim_end_matches('"').to_string());
        } else if rest.contains("must be local") || rest.contains("i give up") {
            job.scan_local = Some(
                rest.trim_end_matches("; must be local")
                    .trim_end_matches(" must be local")
                    .to_string(),
            );
        } else if rest.contains("not for compile")
            || rest.contains("compile ") && rest.contains("local")
            // Assembler and odd inputs: `-x handling is complex; running locally for
            // assembler`, `no visible input file`.
            || rest.contains("running locally")
            || rest.contains("no visible input file")
        {
            job.scan_local = Some(rest.to_string());
        }
    } else if let Some(rest) = msg.strip_prefix("exec on ") {
        if let Some((host, argv)) = rest.split_once(": ") {
            job.ran_on = Some(if host == "localhost" {
                "localhost".into()
            } else {
                host_key(host)
            });
            if job.argv.is_empty() {
                job.argv = argv.split_whitespace().map(str::to_string).collect();
            }
            if job.input.is_none() {
                job.input = source_in(&job.argv);
            }
        }
    } else if let Some(rest) = msg.strip_prefix("(dcc_r_file) received ") {
        if let Some((_, path)) = rest.split_once(" bytes to file ")
            && let Some(name) = super::helper_stderr::server_stderr_name(path)
        {
            job.server_stderr = Some(name.to_string());
        }
    } else if let Some(rest) = msg.strip_prefix("(dcc_check_backoff) still in backoff period for ")
    {
        job.backoff = Some(host_key(rest));
    } else if msg.contains("remote compilation of '") && msg.contains("failed") {
        job.remote_compile_error = true;
    } else if let Some((_, after)) = msg.split_once("failed to distribute ") {
        // `Warning: failed to distribute X to HOST, running locally instead`
        if let Some((_, tail)) = after.rsplit_once(" to ")
            && let Some((host, _)) = tail.split_once(", running locally")
        {
            let host = host_key(host);
            if !job.failures.iter().any(|(h, _)| *h == host) {
                job.failures.push((host, "failed".into()));
            }
        }
    } else if let Some(idx) = msg.find("ERROR: ") {
        let error = msg[idx + 7..].trim().to_string();
        // An error while a helper was chosen belongs to that helper.
        if let Some(host) = job.ran_on.clone().filter(|h| h != "localhost") {
            match job.failures.iter_mut().find(|(h, _)| *h == host) {
                Some((_, e)) if e == "failed" => *e = error,
                Some(_) => {}
                None => job.failures.push((host, error)),
            }
        }
    } else if msg.contains(" compiled on ")
        && let Some((_, tail)) = msg.rsplit_once(" in ")
    {
        let secs = tail.split('s').next().unwrap_or("");
        job.remote_seconds = secs.trim().parse().ok();
    } else if let Some(rest) = msg.strip_prefix("compile ")
        && let Some((_, tail)) = rest.rsplit_once(" on ")
    {
        if let Some(host) = tail.strip_suffix(" completed ok") {
            job.ok = true;
            job.ran_on = Some(if host == "localhost" {
                "localhost".into()
            } else {
                host_key(host)
            });
        }
    } else if let Some(rest) = msg.strip_prefix("elapsed compilation time ") {
        job.elapsed_seconds = rest.trim_end_matches('s').parse().ok();
    } else if let Some(rest) = msg.strip_prefix("(dcc_exit) exit: code ") {
        job.exit_code = rest.split(';').next().and_then(|c| c.trim().parse().ok());
        job.cpu_seconds = rusage_seconds(rest);
    }
}

/// The source file among a compiler's arguments.
fn source_in(argv: &[String]) -> Option<String> {
    const SOURCES: [&str; 10] = [
        ".c", ".cc", ".cpp", ".cxx", ".C", ".c++", ".m", ".S", ".s", ".i",
    ];
    argv.iter()
        .skip(1)
        .find(|a| !a.starts_with('-') && SOURCES.iter().any(|s| a.ends_with(s)))
        .cloned()
}

/// How a helper's failure reads in a receipt: the kind, from distcc's error text.
pub fn failure_kind(error: &str) -> &'static str {
    let e = error.to_ascii_lowercase();
    if e.contains("timeout") || e.contains("timed out") {
        "timeout"
    } else if e.contains("refused") {
        "connection refused"
    } else if e.contains("no route") || e.contains("unreachable") {
        "unreachable"
    } else if e.contains("reset") || e.contains("eof") || e.contains("closed") {
        "connection dropped"
    } else if e.contains("whitelist") || e.contains("not allowed") || e.contains("110") {
        "refused the compiler"
    } else {
        "failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Job> {
        let mut r = LogReader::default();
        r.feed(text.as_bytes(), 0.0);
        r.finish(1.0);
        r.done
    }

    #[test]
    fn cpu_time_from_distccs_exit_line() {
        assert_eq!(
            rusage_seconds(
                "0; self: 0.000000 user 0.005855 sys; children: 0.003314 user 0.024498 sys"
            ),
            Some(0.005855 + 0.003314 + 0.024498)
        );
        // Older or cut lines: no figure rather than a wrong one.
        assert_eq!(rusage_seconds("0; x"), None);
        assert_eq!(rusage_seconds("0; self: 1 user 2 sys"), None);
        assert_eq!(
            rusage_seconds("0; self: 1 user x sys; children: 1 user 1 sys"),
            None
        );
    }

    #[test]
    fn config_guess_probing_the_compiler_is_a_configure_check() {
        // lzo's configure runs its own config.guess first: distcc 3.4's lines for it.
        let jobs = read(
            "distcc[1] (dcc_scan_args) scanning arguments: cc -c -o /tmp/cgGxDc7X/dummy.o /tmp/cgGxDc7X/dummy.c\n\
             distcc[1] (dcc_scan_args) found input file \"/tmp/cgGxDc7X/dummy.c\"\n\
             distcc[1] compile from dummy.c to dummy.o\n\
             distcc[1] exec on 127.0.0.1:50997/6: aarch64-unknown-linux-gnu-gcc -c -o /tmp/cgGxDc7X/dummy.o /tmp/cgGxDc7X/dummy.c\n\
             distcc[1] compile dummy.c on 127.0.0.1:50997/6 completed ok\n\
             distcc[2] compile from dummy.c to dummy.o\n\
             distcc[2] exec on 127.0.0.1:50997/6: aarch64-unknown-linux-gnu-gcc -c -o src/dummy.o src/dummy.c\n\
             distcc[2] compile dummy.c on 127.0.0.1:50997/6 completed ok\n",
        );
        let by_argv = |path: &str| jobs.iter().find(|j| j.argv.iter().any(|a| a == path));
        let probe = by_argv("/tmp/cgGxDc7X/dummy.c").unwrap();
        assert_eq!(probe.local_reason(), LocalReason::ConfigureProbe);
        assert!(!probe.is_unit());
        // A package's own dummy.c is a unit, in a folder named cg-something too.
        assert!(by_argv("src/dummy.c").unwrap().is_unit());
        let own = read(
            "distcc[3] compile from dummy.c to dummy.o\n\
             distcc[3] exec on 127.0.0.1:50997/6: aarch64-unknown-linux-gnu-gcc -c -o /build/p/src/cgi/dummy.o /build/p/src/cgi/dummy.c\n\
             distcc[3] compile dummy.c on 127.0.0.1:50997/6 completed ok\n",
        );
        assert!(own[0].is_unit(), "{:?}", own[0].local_reason());
        // config.guess's other folder names, where mktemp is missing.
        for folder in ["/tmp/cg4242-17", "/tmp/cg-4242"] {
            let other = read(&format!(
                "distcc[4] compile from dummy.c to dummy.o\n\
                 distcc[4] exec on 127.0.0.1:50997/6: aarch64-unknown-linux-gnu-gcc -c -o {folder}/dummy.o {folder}/dummy.c\n\
                 distcc[4] compile dummy.c on 127.0.0.1:50997/6 completed ok\n"
            ));
            assert!(!other[0].is_unit(), "{folder}");
        }
    }

    #[test]
    fn assembler_sources_get_distccs_own_reason() {
        // distcc 3.4's lines for `gcc -c a.S` and `gcc -c -x assembler-with-cpp a.S`.
        let jobs = read(
            "distcc[1] (dcc_scan_args) no visible input file\n\
             distcc[1] exec on localhost: x86_64-linux-gnu-gcc -c a.S -o a.o\n\
             distcc[1] compile (null) on localhost completed ok\n\
             distcc[1] (dcc_exit) exit: code 0; self 0.000000 user 0.000000 sys\n\
             distcc[2] (dcc_scan_args) gcc's -x handling is complex; running locally for assembler-with-cpp\n\
             distcc[2] exec on localhost: x86_64-linux-gnu-gcc -c -x assembler-with-cpp a.S -o a.o\n\
             distcc[2] compile (null) on localhost completed ok\n\
             distcc[2] (dcc_exit) exit: code 0; self 0.000000 user 0.000000 sys\n",
        );
        let kinds: Vec<&str> = jobs.iter().map(|j| j.local_reason().kind()).collect();
        assert_eq!(kinds, ["local_input", "local_input"]);
        assert!(
            jobs[1]
                .local_reason()
                .describe()
                .contains("assembler-with-cpp")
        );
        assert!(jobs.iter().all(Job::is_unit));
    }

    #[test]
    fn the_file_of_the_helpers_stderr_is_named_for_its_job() {
        // distcc 3.4's lines (DISTCC_VERBOSE=1) for a unit the helper's compiler failed and
        // the Pi compiled again: the helper's stderr went to a file, deleted at the exit.
        let jobs = read(
            "distcc[23773] exec on 127.0.0.1:3978/2: aarch64-unknown-linux-gnu-gcc -c a.c -o a.o\n\
             distcc[23773] (dcc_r_token_int) got SERR00000052\n\
             distcc[23773] (dcc_r_file) received 82 bytes to file /tmp/distcc_server_stderr_301a0471.txt\n\
             distcc[23773] ERROR: compile a.c on 127.0.0.1:3978/2 failed\n\
             distcc[23773] (dcc_build_somewhere) Warning: remote compilation of 'a.c' failed, retrying locally\n\
             distcc[23773] Warning: failed to distribute a.c to 127.0.0.1:3978/2, running locally instead\n\
             distcc[23773] exec on localhost: aarch64-unknown-linux-gnu-gcc -c a.c -o a.o\n\
             distcc[23773] compile a.c on localhost completed ok\n\
             distcc[23773] (dcc_exit) exit: code 0; self: 0.000000 user 0.003461 sys; children: 0.020180 user 0.005483 sys\n\
             distcc[23773] (dcc_cleanup_tempfiles_inner) deleted 2 temporary files\n\
             distcc[9] (dcc_r_file) received 0 bytes to file /tmp/distcc_7f00aa01.o\n",
        );
        assert_eq!(
            jobs[0].server_stderr.as_deref(),
            Some("distcc_server_stderr_301a0471.txt")
        );
        assert!(jobs[0].remote_compile_error && jobs[0].ok);
        assert!(jobs.iter().skip(1).all(|j| j.server_stderr.is_none()));
    }

    #[test]
    fn a_remote_compile_is_a_unit_on_its_helper() {
        let jobs = read(
            "distcc[1] compile from a.c to a.o\n\
             distcc[1] exec on 127.0.0.1:3632/2: gcc -c a.c -o a.o\n\
             distcc[1] 143 bytes from a.c compiled on 127.0.0.1 in 0.0848s, rate 2kB/s\n\
             distcc[1] compile a.c on 127.0.0.1:3632/2 completed ok\n\
             distcc[1] elapsed compilation time 0.085255s\n\
             distcc[1] (dcc_exit) exit: code 0; self: 0 user 0 sys\n",
        );
        assert_eq!(jobs.len(), 1);
        let j = &jobs[0];
        assert!(j.is_unit() && j.on_helper() && j.ok);
        assert_eq!(j.ran_on.as_deref(), Some("127.0.0.1:3632"));
        assert_eq!(j.remote_seconds, Some(0.0848));
        assert_eq!(j.exit_code, Some(0));
    }

    #[test]
    fn local_jobs_carry_distccs_reason() {
        let jobs = read(
            "distcc[2] (dcc_scan_args) scanning arguments: gcc -march=native -c a.c -o a2.o\n\
             distcc[2] (dcc_scan_args) -march=native generates code for local machine; must be local\n\
             distcc[2] exec on localhost: gcc -march=native -c a.c -o a2.o\n\
             distcc[2] compile (null) on localhost completed ok\n\
             distcc[2] (dcc_exit) exit: code 0; x\n\
             distcc[3] (dcc_scan_args) called for link?  i give up\n\
             distcc[3] exec on localhost: gcc m.o a.o -o m\n\
             distcc[3] (dcc_exit) exit: code 0; x\n\
             distcc[4] compile from a.c to a3.o\n\
             distcc[4] exec on 127.0.0.1:47999/2: gcc -c a.c -o a3.o\n\
             distcc[4] ERROR: nonblocking connect to 127.0.0.1:47999 failed: Connection refused\n\
             distcc[4] Warning: failed to distribute a.c to 127.0.0.1:47999/2, running locally instead\n\
             distcc[4] exec on localhost: gcc -c a.c -o a3.o\n\
             distcc[4] compile a.c on localhost completed ok\n\
             distcc[4] (dcc_exit) exit: code 0; x\n\
             distcc[5] compile from a.c to a3.o\n\
             distcc[5] (dcc_check_backoff) still in backoff period for 127.0.0.1:47999/2\n\
             distcc[5] (dcc_build_somewhere) Warning: failed to distribute, running locally instead\n\
             distcc[5] exec on localhost: gcc -c a.c -o a3.o\n\
             distcc[5] (dcc_exit) exit: code 0; x\n\
             distcc[6] (dcc_scan_args) -E call for cpp must be local\n\
             distcc[6] exec on localhost: gcc -E a.c -o a.i\n\
             distcc[6] (dcc_exit) exit: code 0; x\n\
             distcc[7] compile from conftest.c to conftest.o\n\
             distcc[7] exec on localhost: gcc -c conftest.c -o conftest.o\n\
             distcc[7] (dcc_exit) exit: code 0; x\n\
             distcc[8] compile from b.c to b.o\n\
             distcc[8] exec on localhost: gcc -c b.c -o b.o\n\
             distcc[8] (dcc_exit) exit: code 0; x\n\
             distcc[9] compile from ztest29844.c to ztest29844.o\n\
             distcc[9] exec on localhost: gcc -c ztest29844.c -o ztest29844.o\n\
             distcc[9] (dcc_exit) exit: code 0; x\n\
             distcc[10] compile from ztest.c to ztest.o\n\
             distcc[10] exec on localhost: gcc -c ztest.c -o ztest.o\n\
             distcc[10] (dcc_exit) exit: code 0; x\n",
        );
        let reasons: Vec<(String, bool)> = jobs
            .iter()
            .map(|j| (j.local_reason().kind().to_string(), j.is_unit()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("local_flag".into(), true),
                ("link".into(), false),
                ("fallback".into(), true),
                ("backoff".into(), true),
                ("not_a_compile".into(), false),
                ("configure_probe".into(), false),
                ("local_slot".into(), true),
                // zlib's configure's probe (ztest$$), and a file merely named ztest.
                ("configure_probe".into(), false),
                ("local_slot".into(), true),
            ]
        );
        assert_eq!(
            jobs[2].failures,
            [(
                "127.0.0.1:47999".to_string(),
                "nonblocking connect to 127.0.0.1:47999 failed: Connection refused".to_string()
            )]
        );
        assert_eq!(failure_kind(&jobs[2].failures[0].1), "connection refused");
        assert_eq!(
            jobs[0].local_reason().describe(),
            "a flag distcc keeps local: -march=native generates code for local machine"
        );
    }

    #[test]
    fn lines_arrive_in_pieces_and_bounded() {
        let mut r = LogReader::default();
        r.feed(
            b"distcc[9] compile from x.c to x.o\ndistcc[9] exec on local",
            0.0,
        );
        r.feed(
            b"host: gcc -c x.c\ndistcc[9] (dcc_exit) exit: code 0; x\n",
            0.5,
        );
        r.feed(&vec![b'a'; MAX_LINE + 10], 0.6);
        r.finish(1.0);
        assert_eq!(r.done.len(), 1);
        assert_eq!(r.done[0].ran_on.as_deref(), Some("localhost"));
        assert_eq!(r.done[0].last_seen, 0.5);
        assert_eq!(r.skipped, 1);
    }
}
