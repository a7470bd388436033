//! Checks a helper for real over distcc's own protocol (protocol 1: `DIST`, `ARGC`, `ARGV`...,
//! `DOTI`; reply `DONE`, `STAT`, `SERR`, `SOUT`, `DOTO`), then reads the object's ELF header.
//! A TCP connect alone proves nothing: distccd accepts before it checks its `--allow` list.

use crate::distcc::elf::{Arch, elf_arch};
use crate::distcc::hosts::{DEFAULT_PORT, HostList, Kind};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A tiny self-contained C unit: no headers, so no preprocessing is needed.
pub const PROBE_SOURCE: &str = "int alarm_distcc_probe(int a, int b) { return a * b + 42; }\n";

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
    Refused,
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
    Object {
        arch: Arch,
        size: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub compiler: String,
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

/// The protocol-1 request compiling `source` with `compiler`.
pub fn request(compiler: &str, source: &str) -> Vec<u8> {
    let argv = [compiler, "-c", "probe.c", "-o", "probe.o"];
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

fn read_exact_or(stream: &mut TcpStream, buf: &mut [u8]) -> Result<(), ReadError> {
    stream.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => ReadError::Eof,
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ReadError::Timeout,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => ReadError::Reset,
        _ => ReadError::Garbage(e.to_string()),
    })
}

/// Largest body the probe accepts (an object of a tiny unit is a few KiB).
const MAX_BODY: usize = 16 << 20;

fn read_packet(
    stream: &mut TcpStream,
    token: &str,
    body: bool,
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
    if !body {
        return Ok((value, Vec::new()));
    }
    let len = value as usize;
    if len > MAX_BODY {
        return Err(ReadError::Garbage(format!(
            "{token} body of {len} bytes is absurd"
        )));
    }
    let mut data = vec![0u8; len];
    read_exact_or(stream, &mut data)?;
    Ok((value, data))
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
            Err(_) => last = Outcome::Refused,
        }
    }
    Err(last)
}

/// One compile request to `host:port` with `compiler`, bounded by `timeout` in all.
pub fn compile(host: &str, port: u16, compiler: &str, source: &str, timeout: Duration) -> Attempt {
    let deadline = Instant::now() + timeout;
    let mut attempt = Attempt {
        compiler: compiler.to_string(),
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
    attempt.outcome = exchange(&mut stream, compiler, source, deadline);
    if matches!(
        attempt.outcome,
        Outcome::Object { .. } | Outcome::CompileFailed { .. } | Outcome::CompilerMissing(_)
    ) {
        attempt.round_trip = Some(sent.elapsed());
    }
    attempt
}

fn exchange(stream: &mut TcpStream, compiler: &str, source: &str, deadline: Instant) -> Outcome {
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
    if let Err(e) = stream.write_all(&request(compiler, source)) {
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
    let mut step = |token: &str, body: bool| -> Result<(u32, Vec<u8>), Outcome> {
        if !set_timeouts(stream) {
            return Err(Outcome::TimedOut("reply"));
        }
        read_packet(stream, token, body).map_err(|e| map(e, "reply"))
    };
    let result = (|| {
        let (version, _) = step("DONE", false)?;
        if version != 1 {
            return Err(Outcome::ProtocolError(format!(
                "DONE version {version}, sent 1"
            )));
        }
        let (status, _) = step("STAT", false)?;
        let (_, serr) = step("SERR", true)?;
        let (_, _sout) = step("SOUT", true)?;
        let (_, obj) = step("DOTO", true)?;
        Ok((status, serr, obj))
    })();
    let (status, serr, obj) = match result {
        Ok(r) => r,
        // EOF after DONE is a protocol error, not a rejection.
        Err(o) => return o,
    };
    let stderr = String::from_utf8_lossy(&serr).trim().to_string();
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
    match elf_arch(&obj) {
        Ok(arch) => Outcome::Object {
            arch,
            size: obj.len(),
        },
        Err(e) => Outcome::ProtocolError(e),
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
    /// Right architecture for every name that compiled, and at least one did.
    pub fn verdict(&self, expected: Arch) -> Verdict {
        match self.target.kind {
            Kind::Local => return Verdict::Local,
            Kind::Ssh | Kind::Global => return Verdict::NotProbed,
            Kind::Tcp => {}
        }
        let objects: Vec<Arch> = self
            .attempts
            .iter()
            .filter_map(|a| match a.outcome {
                Outcome::Object { arch, .. } => Some(arch),
                _ => None,
            })
            .collect();
        if !objects.is_empty() && objects.iter().all(|a| *a == expected) {
            Verdict::Ok
        } else {
            Verdict::Failed
        }
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

/// The compiler names the Pi's distcc sends: `gcc`, and `<CHOST>-gcc` after its cross-rewrite.
pub fn compilers_for(chost: Option<&str>) -> Vec<String> {
    let mut out = vec!["gcc".to_string()];
    if let Some(chost) = chost.filter(|c| !c.contains('@') && !c.is_empty()) {
        out.push(format!("{chost}-gcc"));
    }
    out
}

/// Probes every target at once; each is bounded by `timeout`, so the whole run takes about
/// one timeout however many hosts never answer.
pub fn probe_all(
    targets: &[Target],
    compilers: &[String],
    source: &str,
    timeout: Duration,
) -> Vec<HostReport> {
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
                outcome: o,
                connect: None,
                round_trip: None,
            });
            continue;
        }
        for c in compilers {
            expected += 1;
            let (tx, host, port, c, source) = (
                tx.clone(),
                t.host.clone(),
                t.port,
                c.clone(),
                source.to_string(),
            );
            std::thread::spawn(move || {
                let _ = tx.send((i, compile(&host, port, &c, &source, timeout)));
            });
        }
    }
    drop(tx);
    // The threads bound themselves; this bound only guards against a stuck name lookup.
    let hard_stop = Instant::now() + timeout + Duration::from_secs(2);
    for _ in 0..expected {
        let Some(left) = remaining(hard_stop) else {
            break;
        };
        match rx.recv_timeout(left) {
            Ok((i, a)) => reports[i].attempts.push(a),
            Err(_) => break,
        }
    }
    for r in &mut reports {
        r.attempts.sort_by(|a, b| {
            compilers
                .iter()
                .position(|c| *c == a.compiler)
                .cmp(&compilers.iter().position(|c| *c == b.compiler))
        });
        for c in compilers {
            if r.target.kind == Kind::Tcp && !r.attempts.iter().any(|a| &a.compiler == c) {
                r.attempts.push(Attempt {
                    compiler: c.clone(),
                    outcome: Outcome::TimedOut("name lookup"),
                    connect: None,
                    round_trip: None,
                });
            }
        }
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_matches_the_documented_bytes() {
        let req = request("gcc", "int add(int a, int b) { return a + b; }\n");
        let text = String::from_utf8(req).unwrap();
        assert!(text.starts_with(
            "DIST00000001ARGC00000005ARGV00000003gccARGV00000002-cARGV00000007probe.c"
        ));
        assert!(text.contains("DOTI00000028int add"));
    }
}
