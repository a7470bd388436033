//! Checks a helper for real over distcc's own protocol (protocol 1: `DIST`, `ARGC`, `ARGV`...,
//! `DOTI`; reply `DONE`, `STAT`, `SERR`, `SOUT`, `DOTO`), then reads the object's ELF header.
//! A TCP connect alone proves nothing: distccd accepts before it checks its `--allow` list.

use crate::distcc::elf::{Arch, CodeModel, object_info};
use crate::distcc::hosts::{DEFAULT_PORT, HostList, Kind};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A tiny self-contained C unit: no headers, so no preprocessing is needed. It reads an
/// extern variable, so the object shows whether the compiler builds PIE code.
pub const PROBE_SOURCE: &str = "extern int alarm_distcc_probe_g;\n\
int alarm_distcc_probe(int a, int b) { return a * b + alarm_distcc_probe_g; }\n";

/// The same for C++: a template only a C++ compiler takes.
pub const PROBE_SOURCE_CXX: &str = "extern int alarm_distcc_probe_g;\n\
template <typename T> static T alarm_distcc_twice(T v) { return v + v; }\n\
int alarm_distcc_probe(int a) { return alarm_distcc_twice(a) + alarm_distcc_probe_g; }\n";

/// C that includes the headers every package includes, in the ways that differ between gcc
/// generations: `va_start` (gcc 15's <stdarg.h> makes it `__builtin_c23_va_start` in C23,
/// its default) and glibc's fortified string and stdio calls (`_FORTIFY_SOURCE=3` uses
/// `__builtin_dynamic_object_size`, gcc 12+). Preprocessed here, as distcc does, and sent as
/// text, it tells whether the helper's gcc knows what the Pi's headers use.
pub const HEADERS_SOURCE: &str = "#include <stdarg.h>\n\
#include <stdio.h>\n\
#include <string.h>\n\
int alarm_distcc_probe_format(char *out, size_t n, const char *format, ...) {\n\
  va_list ap;\n\
  va_start(ap, format);\n\
  int written = vsnprintf(out, n, format, ap);\n\
  va_end(ap);\n\
  return written;\n\
}\n\
void alarm_distcc_probe_copy(char *to, const char *from, size_t n) {\n\
  char kept[16];\n\
  memcpy(kept, from, n < sizeof kept ? n : sizeof kept);\n\
  memcpy(to, kept, sizeof kept);\n\
}\n";

/// What a probe job checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// A compile with no flags: does the name answer, and for which architecture.
    Bare,
    /// C with the config's CFLAGS: what every C job of a build carries.
    CFlags,
    /// C++ with CXXFLAGS through the C++ name.
    Cxx,
    /// C with CFLAGS, as text this machine preprocessed from its own headers: does the
    /// helper's compiler know what the Pi's headers use.
    Headers,
}

impl JobKind {
    /// As shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Bare => "bare",
            JobKind::CFlags => "CFLAGS",
            JobKind::Cxx => "C++",
            JobKind::Headers => "headers",
        }
    }

    /// Whether the object's relocations tell PIE from non-PIE. Not the headers unit's: with
    /// the config's `-fno-plt` its calls go through the GOT whatever the code model.
    pub fn tells_code_model(self) -> bool {
        self != JobKind::Headers
    }

    /// As written in `--json`.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Bare => "bare",
            JobKind::CFlags => "cflags",
            JobKind::Cxx => "cxx",
            JobKind::Headers => "headers",
        }
    }
}

/// One compile request the probe sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub kind: JobKind,
    pub compiler: String,
    /// Flags as makepkg passes them; distcc strips the local ones before sending.
    pub flags: Vec<String>,
    /// Whether this machine's distcc sends this name: only those decide the verdict.
    pub decisive: bool,
    /// Text preprocessed here, sent as distcc sends it (a `.i` file); else the kind's own
    /// unit, which needs no preprocessing. Shared: each attempt keeps its job, and a sweep
    /// may probe many hosts with the same tens of KB.
    pub preprocessed: Option<std::sync::Arc<str>>,
}

impl Job {
    pub fn file_name(&self) -> &'static str {
        match (self.kind, &self.preprocessed) {
            (_, Some(_)) => "probe.i",
            (JobKind::Cxx, None) => "probe.cpp",
            _ => "probe.c",
        }
    }

    pub fn source(&self) -> &str {
        match (self.kind, &self.preprocessed) {
            (_, Some(text)) => text,
            (JobKind::Cxx, None) => PROBE_SOURCE_CXX,
            (JobKind::Headers, None) => HEADERS_SOURCE,
            _ => PROBE_SOURCE,
        }
    }

    /// The argv distcc puts on the wire for this job.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.compiler.clone()];
        argv.extend(strip_local_args(&self.flags));
        argv.extend(["-c", self.file_name(), "-o", "probe.o"].map(String::from));
        argv
    }
}

/// A job; a flag that keeps jobs on this machine is never sent, so it is left out.
fn job(kind: JobKind, compiler: &str, flags: &[String], decisive: bool) -> Job {
    Job {
        kind,
        compiler: compiler.to_string(),
        flags: flags
            .iter()
            .filter(|f| kept_local(f).is_none())
            .cloned()
            .collect(),
        decisive,
        preprocessed: None,
    }
}

/// The config's C flags, when any of them would be sent (else no flags job).
fn sent_flags(flags: Option<&[String]>) -> Option<&[String]> {
    flags.filter(|f| f.iter().any(|f| kept_local(f).is_none()))
}

/// The jobs a probe sends. `chost` names the compiler distcc on the Pi sends (it rewrites
/// `cc`/`gcc` to `<CHOST>-gcc` when that is on PATH, as on Arch Linux ARM); without it,
/// `gcc` decides. `gcc` is still asked, for information. Flags that cannot be known are None.
pub fn jobs_for(
    chost: Option<&str>,
    cflags: Option<&[String]>,
    cxxflags: Option<&[String]>,
) -> Vec<Job> {
    let chost = chost.filter(|c| !c.contains('@') && !c.is_empty());
    let (cc, cxx) = match chost {
        Some(c) => (format!("{c}-gcc"), format!("{c}-g++")),
        None => ("gcc".to_string(), "g++".to_string()),
    };
    let mut jobs = Vec::new();
    if chost.is_some() {
        jobs.push(job(JobKind::Bare, "gcc", &[], false));
    }
    jobs.push(job(JobKind::Bare, &cc, &[], true));
    if let Some(flags) = sent_flags(cflags) {
        jobs.push(job(JobKind::CFlags, &cc, flags, true));
    }
    jobs.push(job(JobKind::Cxx, &cxx, cxxflags.unwrap_or(&[]), true));
    jobs
}

/// The jobs for the names this machine's client sends (`sent`): those decide; the config's
/// `<CHOST>-gcc` (ALARM's name) and plain `gcc`, where they differ, go along for information.
pub fn jobs_for_sent(
    sent: &crate::distcc::client::SentNames,
    chost: Option<&str>,
    cflags: Option<&[String]>,
    cxxflags: Option<&[String]>,
) -> Vec<Job> {
    let chost = chost.filter(|c| !c.contains('@') && !c.is_empty());
    let mut jobs = Vec::new();
    let mut others: Vec<String> = vec!["gcc".into()];
    if let Some(c) = chost {
        others.push(format!("{c}-gcc"));
    }
    for other in others {
        if other != sent.cc && !jobs.iter().any(|j: &Job| j.compiler == other) {
            jobs.push(job(JobKind::Bare, &other, &[], false));
        }
    }
    jobs.push(job(JobKind::Bare, &sent.cc, &[], true));
    if let Some(flags) = sent_flags(cflags) {
        jobs.push(job(JobKind::CFlags, &sent.cc, flags, true));
    }
    jobs.push(job(JobKind::Cxx, &sent.cxx, cxxflags.unwrap_or(&[]), true));
    jobs
}

/// The jobs for one compiler name given on the command line: bare, then with the flags.
pub fn jobs_for_compiler(compiler: &str, cflags: Option<&[String]>) -> Vec<Job> {
    let mut jobs = vec![job(JobKind::Bare, compiler, &[], true)];
    if let Some(flags) = sent_flags(cflags) {
        jobs.push(job(JobKind::CFlags, compiler, flags, true));
    }
    jobs
}

/// Why distcc 3.4's client compiles a job carrying `flag` on this machine instead of
/// sending it (`dcc_scan_args`, which distccd runs too), if it does.
pub fn kept_local(flag: &str) -> Option<&'static str> {
    Some(match flag {
        "-march=native" => "-march=native generates code for local machine",
        "-mtune=native" => "-mtune=native optimizes for local machine",
        "-flto" => "LTO cc invocations are not worth distributing",
        "-fprofile-arcs" | "-ftest-coverage" | "--coverage" => "compiler will emit profile info",
        "-frepo" => "compiler will emit .rpo files",
        "-E" => "-E call for cpp must be local",
        f if f.starts_with("-fprofile-generate")
            || f.starts_with("-fprofile-use")
            || f.starts_with("-fauto-profile")
            || f == "-fprofile-correction" =>
        {
            "compiler will emit/use profile info"
        }
        f if f.starts_with("-specs=") => "-specs= must be local",
        f if f.starts_with("-x") => "gcc's -x handling is complex",
        f if f.starts_with("-dr") => "gcc's debug option may write extra files",
        f if f.starts_with("-M")
            && !matches!(f, "-MD" | "-MMD" | "-MG" | "-MP")
            && !f.starts_with("-MF")
            && !f.starts_with("-MT")
            && !f.starts_with("-MQ") =>
        {
            "implies -E"
        }
        f if f.starts_with("-Wa,") && (f.contains(",-a") || f.contains("--MD")) => {
            "the assembler writes a file here"
        }
        _ => return None,
    })
}

/// What distcc's client leaves out of the command it sends: options for the preprocessor
/// and the linker, which run on this machine (distcc src/strip.c, `dcc_strip_local_args`).
pub fn strip_local_args(args: &[String]) -> Vec<String> {
    const WITH_VALUE: [&str; 17] = [
        "-D",
        "-I",
        "-U",
        "-L",
        "-l",
        "-MF",
        "-MT",
        "-MQ",
        "-include",
        "-imacros",
        "-iprefix",
        "-iwithprefix",
        "-isystem",
        "-iwithprefixbefore",
        "-idirafter",
        "-Xpreprocessor",
        "-x",
    ];
    const PREFIXES: [&str; 13] = [
        "-Wp,", "-Wl,", "-D", "-U", "-I", "-l", "-L", "-MF", "-MT", "-MQ", "-isystem", "-stdlib",
        "-x",
    ];
    const ALONE: [&str; 7] = [
        "-undef",
        "-nostdinc",
        "-nostdinc++",
        "-MD",
        "-MMD",
        "-MG",
        "-MP",
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if WITH_VALUE.contains(&a) {
            i += 1;
        } else if !PREFIXES.iter().any(|p| a.starts_with(p)) && !ALONE.contains(&a) {
            out.push(a.to_string());
        }
        i += 1;
    }
    out
}

/// A heavier unit for `sort --measure`: enough work that compile time dominates.
pub fn benchmark_source() -> String {
    let mut s = String::new();
    for i in 0..120 {
        s.push_str(&format!(
            "static unsigned f{i}(unsigned x) {{ unsigned r = x; for (unsigned k = 0; k < {n}u; k++) \
             {{ r = r * 2654435761u + (k ^ {i}u); if (r & 1) r ^= r >> 7; }} return r; }}\n",
            n = 10 + i
        ));
    }
    s.push_str("unsigned alarm_distcc_bench(unsigned x) { return 0");
    for i in 0..120 {
        s.push_str(&format!(" + f{i}(x)"));
    }
    s.push_str("; }\n");
    s
}

/// What one compile request got back.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `localhost`: compiles run here, no daemon to ask.
    Local,
    /// An ssh host: the probe speaks TCP only.
    NotProbed(String),
    Unresolvable(String),
    /// Connection refused: the host is up, nothing listens on the port.
    Refused,
    /// No way to the host: no route, network unreachable, host unreachable (a laptop that
    /// is off or asleep, another network), in the kernel's words.
    Unreachable(String),
    TimedOut(&'static str),
    /// Closed before `DONE`: the helper's `--allow` list or its compiler whitelist.
    Rejected,
    /// `STAT` 110: the name is whitelisted but the compiler is not on distccd's PATH.
    CompilerMissing(String),
    CompileFailed {
        status: u32,
        stderr: String,
    },
    ProtocolError(String),
    /// A `DOTO` that is not a sound ELF object (tables past its end, overlapping sections...).
    DamagedObject(String),
    Object {
        arch: Arch,
        size: usize,
        code_model: Option<CodeModel>,
        /// The `.comment` line naming the compiler.
        compiler: Option<String>,
        /// Builtins it calls as plain functions: an object that cannot link.
        undefined_builtins: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub compiler: String,
    /// The job sent; None for hosts that were not asked (local, ssh).
    pub job: Option<Job>,
    pub outcome: Outcome,
    pub connect: Option<Duration>,
    pub round_trip: Option<Duration>,
}

fn header(token: &str, value: usize) -> Vec<u8> {
    format!("{token}{value:08x}").into_bytes()
}

fn string_packet(token: &str, body: &[u8]) -> Vec<u8> {
    let mut v = header(token, body.len());
    v.extend_from_slice(body);
    v
}

/// The protocol-1 request for `argv` with `source` as the (already preprocessed) input.
pub fn request(argv: &[String], source: &str) -> Vec<u8> {
    let mut req = header("DIST", 1);
    req.extend(header("ARGC", argv.len()));
    for a in argv {
        req.extend(string_packet("ARGV", a.as_bytes()));
    }
    req.extend(string_packet("DOTI", source.as_bytes()));
    req
}

enum ReadError {
    Eof,
    Timeout,
    Reset,
    Garbage(String),
}

/// A stream read under one deadline for the whole answer: each read gets only the time left,
/// so a helper that drips its bytes cannot stretch the probe past its timeout.
struct DeadlineReader<'a> {
    stream: &'a mut TcpStream,
    deadline: Instant,
}

impl Read for DeadlineReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = remaining(self.deadline).ok_or(io::ErrorKind::TimedOut)?;
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

fn read_exact_or(stream: &mut DeadlineReader, buf: &mut [u8]) -> Result<(), ReadError> {
    stream.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ReadError::Eof,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ReadError::Timeout,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => ReadError::Reset,
        _ => ReadError::Garbage(e.to_string()),
    })
}

/// Largest object the probe accepts: the probe's units make a few KiB, the benchmark's a few
/// tens; anything near this is not a compile of them.
const MAX_OBJECT: usize = 1 << 20;
/// Compiler messages kept (the rest is read and dropped, so a flood costs no memory).
const MAX_KEPT_TEXT: usize = 64 << 10;

/// How much of a packet's body is kept.
#[derive(Clone, Copy)]
enum Keep {
    /// Read none: a header only.
    NoBody,
    /// Keep up to this many bytes, drop the rest.
    Prefix(usize),
    /// All of it, refusing a body over this size.
    Whole(usize),
}

fn read_packet(
    stream: &mut DeadlineReader,
    token: &str,
    keep: Keep,
) -> Result<(u32, Vec<u8>), ReadError> {
    let mut head = [0u8; 12];
    read_exact_or(stream, &mut head)?;
    if &head[..4] != token.as_bytes() {
        return Err(ReadError::Garbage(format!(
            "expected {token}, got {:?}",
            String::from_utf8_lossy(&head)
        )));
    }
    let hex = std::str::from_utf8(&head[4..]).unwrap_or("");
    let value = u32::from_str_radix(hex, 16)
        .map_err(|_| ReadError::Garbage(format!("bad {token} value {hex:?}")))?;
    let len = value as usize;
    let kept = match keep {
        Keep::NoBody => return Ok((value, Vec::new())),
        Keep::Whole(max) if len > max => {
            return Err(ReadError::Garbage(format!(
                "{token} body of {len} bytes is far more than a probe's object"
            )));
        }
        Keep::Whole(_) => len,
        Keep::Prefix(max) => len.min(max),
    };
    // Grown as bytes arrive: a body that is only announced costs nothing.
    let mut data = Vec::new();
    let mut chunk = [0u8; 16 << 10];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        read_exact_or(stream, &mut chunk[..n])?;
        let room = kept.saturating_sub(data.len());
        data.extend_from_slice(&chunk[..n.min(room)]);
        left -= n;
    }
    Ok((value, data))
}

/// The kernel's reason a connect found no way to the host, in short words.
fn unreachable_reason(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EHOSTUNREACH) => "no route to host".into(),
        Some(libc::ENETUNREACH) => "network unreachable".into(),
        Some(libc::EHOSTDOWN) => "host is down".into(),
        Some(libc::EADDRNOTAVAIL) => "address not available here".into(),
        Some(libc::EACCES) | Some(libc::EPERM) => "blocked by this machine's firewall".into(),
        _ => e.to_string(),
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
}

/// Connects to `addrs` in turn within the deadline.
fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<(TcpStream, Duration), Outcome> {
    let start = Instant::now();
    let mut last = Outcome::Refused;
    for addr in addrs {
        let Some(left) = remaining(deadline) else {
            return Err(Outcome::TimedOut("connect"));
        };
        match TcpStream::connect_timeout(addr, left) {
            Ok(s) => return Ok((s, start.elapsed())),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                last = Outcome::TimedOut("connect")
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => last = Outcome::Refused,
            Err(e) => last = Outcome::Unreachable(unreachable_reason(&e)),
        }
    }
    Err(last)
}

/// One compile request to `host:port`, bounded by `timeout` in all.
pub fn compile(host: &str, port: u16, job: &Job, timeout: Duration) -> Attempt {
    compile_argv(
        host,
        port,
        &job.argv(),
        job.source(),
        timeout,
        Some(job.clone()),
    )
}

/// A request with a given argv (the benchmark sends its own unit).
pub fn compile_argv(
    host: &str,
    port: u16,
    argv: &[String],
    source: &str,
    timeout: Duration,
    job: Option<Job>,
) -> Attempt {
    let deadline = Instant::now() + timeout;
    let mut attempt = Attempt {
        compiler: argv.first().cloned().unwrap_or_default(),
        job,
        outcome: Outcome::Refused,
        connect: None,
        round_trip: None,
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match (bare, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => {
            attempt.outcome = Outcome::Unresolvable(e.to_string());
            return attempt;
        }
    };
    let (mut stream, connect_time) = match connect(&addrs, deadline) {
        Ok(s) => s,
        Err(o) => {
            attempt.outcome = o;
            return attempt;
        }
    };
    attempt.connect = Some(connect_time);
    let sent = Instant::now();
    attempt.outcome = exchange(&mut stream, &request(argv, source), deadline);
    if matches!(
        attempt.outcome,
        Outcome::Object { .. } | Outcome::CompileFailed { .. } | Outcome::CompilerMissing(_)
    ) {
        attempt.round_trip = Some(sent.elapsed());
    }
    attempt
}

fn exchange(stream: &mut TcpStream, request: &[u8], deadline: Instant) -> Outcome {
    let set_timeouts = |s: &TcpStream| -> bool {
        match remaining(deadline) {
            Some(left) => {
                s.set_read_timeout(Some(left)).is_ok() && s.set_write_timeout(Some(left)).is_ok()
            }
            None => false,
        }
    };
    if !set_timeouts(stream) {
        return Outcome::TimedOut("connect");
    }
    if let Err(e) = stream.write_all(request) {
        return match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Outcome::TimedOut("send"),
            _ => Outcome::Rejected,
        };
    }
    let map = |e: ReadError, stage: &'static str| match e {
        ReadError::Eof | ReadError::Reset => Outcome::Rejected,
        ReadError::Timeout => Outcome::TimedOut(stage),
        ReadError::Garbage(g) => Outcome::ProtocolError(g),
    };
    let mut reader = DeadlineReader { stream, deadline };
    let mut step = |token: &str, keep: Keep, stage: &'static str| {
        read_packet(&mut reader, token, keep).map_err(|e| map(e, stage))
    };
    let result = (|| {
        let (version, _) = step("DONE", Keep::NoBody, "waiting for the reply")?;
        if version != 1 {
            return Err(Outcome::ProtocolError(format!(
                "DONE version {version}, sent 1"
            )));
        }
        let (status, _) = step("STAT", Keep::NoBody, "reading the reply")?;
        let (_, serr) = step("SERR", Keep::Prefix(MAX_KEPT_TEXT), "reading the reply")?;
        let (_, _sout) = step("SOUT", Keep::Prefix(0), "reading the reply")?;
        let (_, obj) = step("DOTO", Keep::Whole(MAX_OBJECT), "reading the object")?;
        Ok((status, serr, obj))
    })();
    let (status, serr, obj) = match result {
        Ok(r) => r,
        // EOF after DONE is a protocol error, not a rejection.
        Err(o) => return o,
    };
    // Text from the helper: escaped here, once, so no command can print it raw.
    let stderr = crate::ui::escape(String::from_utf8_lossy(&serr).trim());
    if status != 0 {
        let exit = status >> 8;
        return if exit == 110 {
            Outcome::CompilerMissing(stderr)
        } else {
            Outcome::CompileFailed {
                status: exit,
                stderr,
            }
        };
    }
    match object_info(&obj) {
        Ok(info) => Outcome::Object {
            arch: info.arch,
            size: obj.len(),
            code_model: info.code_model,
            compiler: info.compiler,
            undefined_builtins: info.undefined_builtins,
        },
        Err(e) => Outcome::DamagedObject(e),
    }
}

/// A host to probe, from the host list.
#[derive(Debug, Clone)]
pub struct Target {
    pub spec: String,
    pub kind: Kind,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct HostReport {
    pub target: Target,
    pub attempts: Vec<Attempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Local,
    /// An ssh host or a global option: nothing to probe over TCP.
    NotProbed,
    Failed,
}

impl HostReport {
    /// Every C job whose name the Pi sends came back as an object for `expected`. (C++ and
    /// the comparison with this machine's compiler are judged in `compat`.)
    pub fn verdict(&self, expected: Arch) -> Verdict {
        match self.target.kind {
            Kind::Local => return Verdict::Local,
            Kind::Ssh | Kind::Global => return Verdict::NotProbed,
            Kind::Tcp => {}
        }
        let decisive: Vec<&Attempt> = self
            .attempts
            .iter()
            .filter(|a| {
                a.job
                    .as_ref()
                    .is_some_and(|j| j.decisive && j.kind != JobKind::Cxx)
            })
            .collect();
        let right =
            |a: &&Attempt| matches!(a.outcome, Outcome::Object { arch, .. } if arch == expected);
        if !decisive.is_empty() && decisive.iter().all(right) {
            Verdict::Ok
        } else {
            Verdict::Failed
        }
    }

    /// The attempt for a job kind among the names the Pi sends.
    pub fn decisive(&self, kind: JobKind) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| a.job.as_ref().is_some_and(|j| j.decisive && j.kind == kind))
    }

    pub fn connect_time(&self) -> Option<Duration> {
        self.attempts.iter().filter_map(|a| a.connect).min()
    }
}

/// The network hosts of a list, as probe targets (global options left out).
pub fn targets_of(list: &HostList) -> Vec<Target> {
    list.specs()
        .filter(|s| s.kind() != Kind::Global)
        .map(|s| Target {
            spec: s.to_string(),
            kind: s.kind(),
            host: s.host().unwrap_or("").to_string(),
            port: s.port().unwrap_or(DEFAULT_PORT),
        })
        .collect()
}

/// Probes every target at once; each is bounded by `timeout`, so the whole run takes about
/// one timeout however many hosts never answer.
pub fn probe_all(targets: &[Target], jobs: &[Job], timeout: Duration) -> Vec<HostReport> {
    let (tx, rx) = mpsc::channel();
    let mut reports: Vec<HostReport> = targets
        .iter()
        .map(|t| HostReport {
            target: t.clone(),
            attempts: Vec::new(),
        })
        .collect();
    let mut expected = 0;
    for (i, t) in targets.iter().enumerate() {
        let not_probed = match t.kind {
            Kind::Local => Some(Outcome::Local),
            Kind::Ssh => Some(Outcome::NotProbed("ssh hosts are not probed".into())),
            Kind::Global => Some(Outcome::NotProbed("a global option".into())),
            Kind::Tcp => None,
        };
        if let Some(o) = not_probed {
            reports[i].attempts.push(Attempt {
                compiler: String::new(),
                job: None,
                outcome: o,
                connect: None,
                round_trip: None,
            });
            continue;
        }
        for (j, job) in jobs.iter().enumerate() {
            expected += 1;
            let (tx, host, port, job) = (tx.clone(), t.host.clone(), t.port, job.clone());
            std::thread::spawn(move || {
                let _ = tx.send((i, j, compile(&host, port, &job, timeout)));
            });
        }
    }
    drop(tx);
    // The threads bound themselves; this bound only guards against a stuck name lookup.
    let hard_stop = Instant::now() + timeout + Duration::from_secs(2);
    let mut answered: Vec<Vec<Option<Attempt>>> = vec![vec![None; jobs.len()]; targets.len()];
    for _ in 0..expected {
        let Some(left) = remaining(hard_stop) else {
            break;
        };
        match rx.recv_timeout(left) {
            Ok((i, j, a)) => answered[i][j] = Some(a),
            Err(_) => break,
        }
    }
    for (r, answers) in reports.iter_mut().zip(answered) {
        if r.target.kind != Kind::Tcp {
            continue;
        }
        // In job order; a job that never reported was stuck resolving the name.
        for (job, a) in jobs.iter().zip(answers) {
            r.attempts.push(a.unwrap_or_else(|| Attempt {
                compiler: job.compiler.clone(),
                job: Some(job.clone()),
                outcome: Outcome::TimedOut("name lookup"),
                connect: None,
                round_trip: None,
            }));
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_the_documented_bytes() {
        let argv = ["gcc", "-c", "probe.c", "-o", "probe.o"].map(String::from);
        let req = request(&argv, "int add(int a, int b) { return a + b; }\n");
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with(
            "DIST00000001ARGC00000005ARGV00000003gccARGV00000002-cARGV00000007probe.c"
        ));
        assert!(text.contains("DOTI00000028int add"));
    }
}

#[cfg(test)]
mod job_tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn local_args_are_stripped_as_distcc_does() {
        let flags = words(
            "-O2 -Wp,-D_FORTIFY_SOURCE=3 -DX -D Y -I inc -isystem /x -Wl,-z,now -MD -fhardened \
             -fplugin=/p.so -specs=/s -x c",
        );
        assert_eq!(
            strip_local_args(&flags),
            words("-O2 -fhardened -fplugin=/p.so -specs=/s")
        );
    }

    #[test]
    fn the_names_the_pi_sends_decide() {
        let cflags = words("-O2 -pipe");
        let jobs = jobs_for(Some("aarch64-unknown-linux-gnu"), Some(&cflags), Some(&[]));
        let seen: Vec<(&str, JobKind, bool)> = jobs
            .iter()
            .map(|j| (j.compiler.as_str(), j.kind, j.decisive))
            .collect();
        assert_eq!(
            seen,
            [
                ("gcc", JobKind::Bare, false),
                ("aarch64-unknown-linux-gnu-gcc", JobKind::Bare, true),
                ("aarch64-unknown-linux-gnu-gcc", JobKind::CFlags, true),
                ("aarch64-unknown-linux-gnu-g++", JobKind::Cxx, true),
            ]
        );
        assert_eq!(
            jobs[2].argv(),
            words("aarch64-unknown-linux-gnu-gcc -O2 -pipe -c probe.c -o probe.o")
        );
        // Flags that keep a job on the Pi are not sent.
        let lto = words("-O2 -flto -march=native");
        let jobs = jobs_for(None, Some(&lto), Some(&lto));
        assert_eq!(jobs[1].flags, ["-O2"]);
        assert_eq!(jobs[2].flags, ["-O2"]);
        assert_eq!(kept_local("-flto=auto"), None);
        // A template CHOST, or none: gcc decides, and unknown flags send no flags job.
        let jobs = jobs_for(Some("@CHOST@"), None, None);
        assert_eq!(jobs.len(), 2);
        assert!(jobs[0].decisive && jobs[0].compiler == "gcc");
        assert_eq!(jobs[1].file_name(), "probe.cpp");
    }
}
