//! A hostile distccd of our own on 127.0.0.1: it drips its answer, floods stderr, announces
//! huge bodies, sends terminal escapes and damaged objects. Every networked command must end
//! within its bound, stay small, give the right verdict and never pass a raw control
//! character to the terminal.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// A valid header, then an object body one byte every 50 ms.
    Drip,
    /// An object body announced at 16 MiB, then streamed.
    HugeObject,
    /// A failed compile with 8 MiB of stderr.
    StderrFlood,
    /// A failed compile whose stderr sets the title, clears the screen, writes the clipboard.
    Escapes,
    /// An object whose section table lies past its end.
    DamagedObject,
    /// A right aarch64 object for the probe's jobs, a drip for sort --measure's benchmark.
    DripBenchmark,
}

struct Hostile {
    addr: String,
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((self.addr.as_str(), self.port));
    }
}

fn packet(token: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!("{token}{:08x}", body.len()).into_bytes();
    v.extend_from_slice(body);
    v
}

fn header(token: &str, value: usize) -> Vec<u8> {
    format!("{token}{value:08x}").into_bytes()
}

/// Reads one request (DIST, ARGC, ARGV..., DOTI) as distccd would; its argv.
fn read_request(s: &mut TcpStream) -> std::io::Result<Vec<String>> {
    let mut head = [0u8; 12];
    let mut next = |s: &mut TcpStream| -> std::io::Result<(String, usize)> {
        s.read_exact(&mut head)?;
        let token = String::from_utf8_lossy(&head[..4]).into_owned();
        let value =
            usize::from_str_radix(std::str::from_utf8(&head[4..]).unwrap_or("0"), 16).unwrap_or(0);
        Ok((token, value))
    };
    let (_, _) = next(s)?; // DIST
    let (_, argc) = next(s)?;
    let mut argv = Vec::new();
    for _ in 0..argc {
        let (_, len) = next(s)?;
        let mut arg = Vec::new();
        s.take(len as u64).read_to_end(&mut arg)?;
        argv.push(String::from_utf8_lossy(&arg).into_owned());
    }
    let (_, len) = next(s)?; // DOTI
    std::io::copy(&mut s.take(len as u64), &mut std::io::sink())?;
    Ok(argv)
}

/// A real aarch64 object from Debian's cross gcc, made once.
fn real_object() -> Option<Vec<u8>> {
    static OBJECT: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    OBJECT
        .get_or_init(|| {
            let dir = tempfile::tempdir().ok()?;
            let src = dir.path().join("u.c");
            std::fs::write(&src, "extern int v; int f(void) { return v + 1; }\n").ok()?;
            let obj = dir.path().join("u.o");
            let ok = Command::new("aarch64-linux-gnu-gcc")
                .arg("-c")
                .arg(&src)
                .arg("-o")
                .arg(&obj)
                .status()
                .ok()?
                .success();
            ok.then(|| std::fs::read(&obj).ok()).flatten()
        })
        .clone()
}

/// A relocatable aarch64 ELF header whose section table lies far past its end.
fn damaged_object() -> Vec<u8> {
    let mut o = vec![0u8; 64];
    o[..4].copy_from_slice(b"\x7fELF");
    o[4] = 2;
    o[5] = 1;
    o[6] = 1;
    o[16] = 1;
    o[18] = 0xb7;
    o[40..48].copy_from_slice(&0xffff_ffff_ffff_ff00u64.to_le_bytes());
    o[58..60].copy_from_slice(&64u16.to_le_bytes());
    o[60..62].copy_from_slice(&8u16.to_le_bytes());
    o
}

fn answer(s: &mut TcpStream, mode: Mode, stop: &AtomicBool) -> std::io::Result<()> {
    let argv = read_request(s)?;
    s.write_all(&header("DONE", 1))?;
    let benchmark = argv.iter().any(|a| a == "bench.c");
    match mode {
        Mode::DripBenchmark if !benchmark => {
            s.write_all(&header("STAT", 0))?;
            s.write_all(&packet("SERR", b""))?;
            s.write_all(&packet("SOUT", b""))?;
            s.write_all(&packet("DOTO", &real_object().unwrap_or_default()))?;
        }
        Mode::Drip | Mode::DripBenchmark => {
            s.write_all(&header("STAT", 0))?;
            s.write_all(&packet("SERR", b""))?;
            s.write_all(&packet("SOUT", b""))?;
            s.write_all(&header("DOTO", 900_000))?;
            while !stop.load(Ordering::SeqCst) {
                s.write_all(b"\x7f")?;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Mode::HugeObject => {
            s.write_all(&header("STAT", 0))?;
            s.write_all(&packet("SERR", b""))?;
            s.write_all(&packet("SOUT", b""))?;
            s.write_all(&header("DOTO", 16 << 20))?;
            let chunk = vec![0u8; 64 << 10];
            for _ in 0..256 {
                s.write_all(&chunk)?;
            }
        }
        Mode::StderrFlood => {
            s.write_all(&header("STAT", 1 << 8))?;
            s.write_all(&header("SERR", 8 << 20))?;
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..128 {
                s.write_all(&chunk)?;
            }
            s.write_all(&packet("SOUT", b""))?;
            s.write_all(&packet("DOTO", b""))?;
        }
        Mode::Escapes => {
            s.write_all(&header("STAT", 1 << 8))?;
            s.write_all(&packet(
                "SERR",
                b"gcc: error: \x1b]0;owned\x07\x1b[2J\x1b]52;c;aGVsbG8=\x07bad things\n",
            ))?;
            s.write_all(&packet("SOUT", b""))?;
            s.write_all(&packet("DOTO", b""))?;
        }
        Mode::DamagedObject => {
            s.write_all(&header("STAT", 0))?;
            s.write_all(&packet("SERR", b""))?;
            s.write_all(&packet("SOUT", b""))?;
            s.write_all(&packet("DOTO", &damaged_object()))?;
        }
    }
    s.flush()
}

fn hostile(mode: Mode) -> Hostile {
    hostile_at("127.0.0.1", 0, mode)
}

fn hostile_at(addr: &str, port: u16, mode: Mode) -> Hostile {
    let listener = TcpListener::bind((addr, port)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut s) = conn else { continue };
            let flag = flag.clone();
            std::thread::spawn(move || {
                let _ = answer(&mut s, mode, &flag);
            });
        }
    });
    Hostile {
        addr: addr.to_string(),
        port,
        stop,
    }
}

struct Measured {
    code: i32,
    out: String,
    elapsed: Duration,
    max_rss_kib: i64,
}

/// Runs `cmd` and reads its own peak memory from wait4 (not the test process's children in
/// general, which other tests share).
// wait4 reaps the child itself (std cannot report its peak memory).
#[allow(clippy::zombie_processes)]
fn measured(mut cmd: Command) -> Measured {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid, and wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let elapsed = started.elapsed();
    let mut out = out_t.join().unwrap();
    out.extend(err_t.join().unwrap());
    Measured {
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        out: String::from_utf8_lossy(&out).into_owned(),
        elapsed,
        // c_long: i64 here, i32 on 32-bit ARM.
        #[allow(clippy::useless_conversion)]
        max_rss_kib: i64::from(usage.ru_maxrss),
    }
}

fn config_with(port: u16) -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, conf) = scratch_copy(&fixture("alarm-aarch64-stock.conf"));
    let text = std::fs::read_to_string(&conf)
        .unwrap()
        .replace(
            "#DISTCC_HOSTS=\"\"",
            &format!("DISTCC_HOSTS=\"127.0.0.1:{port}/4\""),
        )
        .replace("BUILDENV=(!distcc", "BUILDENV=(distcc");
    std::fs::write(&conf, text).unwrap();
    (dir, conf)
}

fn tool(conf: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.arg("--config").arg(conf).args(args);
    cmd
}

const MIB: i64 = 1024;

/// The peak memory of the tool doing nothing (`--version`): what the process costs before
/// any answer is read (under qemu-user that includes the emulator's own).
fn baseline_kib() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        let mut cmd = bin();
        cmd.arg("--version");
        measured(cmd).max_rss_kib
    })
}

fn assert_clean(what: &str, m: &Measured, max_secs: u64, max_mib: i64) {
    // The figures behind BENCHMARKS.md (`cargo test --test hostile_helpers -- --nocapture`).
    let base = baseline_kib();
    eprintln!(
        "{what}: {:.2} s, peak {} KiB ({} KiB at rest)",
        m.elapsed.as_secs_f64(),
        m.max_rss_kib,
        base
    );
    assert!(
        m.elapsed < Duration::from_secs(max_secs),
        "{what}: took {:?}\n{}",
        m.elapsed,
        m.out
    );
    assert!(
        m.max_rss_kib - base < max_mib * MIB,
        "{what}: peak {} KiB, {} KiB at rest\n{}",
        m.max_rss_kib,
        base,
        m.out
    );
    assert!(
        !m.out.bytes().any(|b| b == 0x1b || b == 0x07),
        "{what}: a raw control character reached the output:\n{:?}",
        m.out
    );
}

#[test]
fn probe_and_doctor_bound_every_hostile_answer() {
    for (mode, verdict) in [
        (Mode::Drip, "timed out (reading the object)"),
        (Mode::HugeObject, "far more than a probe's object"),
        (Mode::StderrFlood, "compile failed"),
        (Mode::Escapes, "\\x1b]0;owned\\x07"),
        (Mode::DamagedObject, "returned a damaged object"),
    ] {
        let h = hostile(mode);
        let (_dir, conf) = config_with(h.port);
        let m = measured(tool(
            &conf,
            &["--color", "never", "probe", "--timeout", "2"],
        ));
        assert_clean(&format!("probe {mode:?}"), &m, 12, 64);
        assert_eq!(m.code, 1, "probe {mode:?}: {}", m.out);
        assert!(m.out.contains(verdict), "probe {mode:?}: {}", m.out);
        let m = measured(tool(
            &conf,
            &["--color", "never", "doctor", "--timeout", "2"],
        ));
        assert_clean(&format!("doctor {mode:?}"), &m, 12, 64);
        assert_eq!(m.code, 1, "doctor {mode:?}: {}", m.out);
        assert!(
            m.out.contains("fails the probe"),
            "doctor {mode:?}: {}",
            m.out
        );
    }
}

#[test]
fn discover_and_sort_measure_stay_bounded() {
    for mode in [
        Mode::Drip,
        Mode::StderrFlood,
        Mode::Escapes,
        Mode::DamagedObject,
    ] {
        let h = hostile(mode);
        let (_dir, conf) = config_with(h.port);
        let port = h.port.to_string();
        let m = measured(tool(
            &conf,
            &[
                "discover",
                "--subnet",
                "127.0.0.1/32",
                "--port",
                &port,
                "--timeout",
                "2",
            ],
        ));
        assert_clean(&format!("discover {mode:?}"), &m, 15, 128);
        assert!(!m.out.contains("usable:"), "discover {mode:?}: {}", m.out);
        let m = measured(tool(
            &conf,
            &["sort", "--measure", "--timeout", "2", "--dry-run"],
        ));
        assert_clean(&format!("sort --measure {mode:?}"), &m, 20, 64);
        assert!(
            m.out.contains("failed the probe") && m.out.contains("remove-host"),
            "sort --measure {mode:?}: {}",
            m.out
        );
    }
}

#[test]
fn a_benchmark_that_times_out_after_a_passed_probe_is_said_so() {
    if real_object().is_none() {
        skip(
            "a_benchmark_that_times_out_after_a_passed_probe_is_said_so",
            "aarch64-linux-gnu-gcc is not installed",
        );
        return;
    }
    let h = hostile(Mode::DripBenchmark);
    let (_dir, conf) = config_with(h.port);
    let m = measured(tool(
        &conf,
        &[
            "sort",
            "--measure",
            "--runs",
            "2",
            "--timeout",
            "2",
            "--dry-run",
        ],
    ));
    assert_clean("sort --measure DripBenchmark", &m, 20, 64);
    assert!(
        m.out
            .contains("passed the probe, but its benchmark compile timed out"),
        "{}",
        m.out
    );
    assert!(!m.out.contains("failed the probe"), "{}", m.out);
}

/// Six hostile helpers at once on a /28: discover stays within its memory and time.
#[test]
fn discover_of_many_hostile_helpers_stays_small() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let modes = [
        Mode::Drip,
        Mode::HugeObject,
        Mode::StderrFlood,
        Mode::Escapes,
        Mode::DamagedObject,
        Mode::Drip,
    ];
    let _servers: Vec<Hostile> = modes
        .iter()
        .enumerate()
        .map(|(i, m)| hostile_at(&format!("127.0.0.{}", i + 33), port, *m))
        .collect();
    let (_dir, conf) = config_with(port);
    let port = port.to_string();
    let m = measured(tool(
        &conf,
        &[
            "discover",
            "--subnet",
            "127.0.0.32/28",
            "--port",
            &port,
            "--timeout",
            "2",
            "--json",
        ],
    ));
    assert_clean("discover /28", &m, 20, 128);
    let found = m.out.matches("\"host\"").count();
    assert_eq!(found, 6, "{}", m.out);
    assert!(!m.out.contains("\"usable\": true"), "{}", m.out);
}
