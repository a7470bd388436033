//! What distccmon reads, read the same way: the client's state files under DISTCC_DIR/state
//! (`binstate_PID`, a `struct dcc_task_state` in the writer's native layout, distcc's
//! `src/state.h`), and the backoff marks under DISTCC_DIR/lock (`backoff_tcp_HOST_PORT_0`,
//! whose mtime is when the helper failed, `src/backoff.c`).

use std::path::Path;
use std::time::{Duration, SystemTime};

const MAGIC: u64 = 0x4449_4800;
/// distcc's phases (`enum dcc_phase`).
const PHASE_NAMES: [&str; 8] = [
    "startup",
    "blocked",
    "connect",
    "preprocess",
    "send",
    "compile",
    "receive",
    "done",
];

/// One running distcc process as its state file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub pid: u64,
    pub file: String,
    /// The host text as distcc wrote it (`127.0.0.1`, `localhost`).
    pub host: String,
    pub slot: i32,
    pub phase: &'static str,
}

/// Reads one state file. Both layouts are known by their size: 64-bit (296 bytes: size_t
/// and long are 8) and 32-bit (280), little- or big-endian by the magic.
pub fn parse_task(bytes: &[u8]) -> Option<Task> {
    let (word, len) = match bytes.len() {
        296 => (8usize, 296usize),
        280 => (4, 280),
        _ => return None,
    };
    let read = |at: usize, n: usize, le: bool| -> u64 {
        let b = &bytes[at..at + n];
        let mut v = 0u64;
        if le {
            for (i, x) in b.iter().enumerate() {
                v |= u64::from(*x) << (8 * i);
            }
        } else {
            for x in b {
                v = (v << 8) | u64::from(*x);
            }
        }
        v
    };
    let le = read(word, word, true) == MAGIC;
    if !le && read(word, word, false) != MAGIC {
        return None;
    }
    if read(0, word, le) != len as u64 {
        return None;
    }
    let text = |at: usize| {
        let field = &bytes[at..at + 128];
        let end = field.iter().position(|&b| b == 0).unwrap_or(128);
        String::from_utf8_lossy(&field[..end]).into_owned()
    };
    let pid = read(2 * word, word, le);
    let file = text(3 * word);
    let host = text(3 * word + 128);
    let ints = 3 * word + 256;
    let slot = read(ints, 4, le) as u32 as i32;
    let phase = read(ints + 4, 4, le) as usize;
    Some(Task {
        pid,
        file,
        host,
        slot,
        phase: PHASE_NAMES.get(phase).copied().unwrap_or("unknown"),
    })
}

/// The tasks running now (state files that read as such; others are skipped).
pub fn tasks(distcc_dir: &Path) -> Vec<Task> {
    let Ok(dir) = std::fs::read_dir(distcc_dir.join("state")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("binstate_"))
        .take(4096)
        .filter_map(|e| {
            // A state file is a few hundred bytes; anything bigger is not one.
            let meta = e.metadata().ok()?;
            if meta.len() > 4096 {
                return None;
            }
            parse_task(&std::fs::read(e.path()).ok()?)
        })
        .filter(|t| t.phase != "done")
        // A client that died without removing its file (killed, or cut off) left it
        // behind: distccmon drops such files too (mon.c, the pid no longer exists).
        .filter(|t| alive(t.pid))
        .collect()
}

fn alive(pid: u64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// The build tool that started distcc process `pid`: the nearest ancestor (up to a few
/// levels: make and ninja start compilers through `sh -c` at times) that is one, by the
/// name in /proc/PID/stat.
pub fn started_by(pid: u64) -> Option<String> {
    const TOOLS: [&str; 9] = [
        "make", "gmake", "ninja", "samu", "cmake", "meson", "cargo", "scons", "bmake",
    ];
    let mut at = parent_of(pid)?;
    for _ in 0..4 {
        let (comm, parent) = stat_of(at)?;
        if TOOLS.contains(&comm.as_str()) {
            // cmake's Makefile generator calls GNU make as gmake.
            return Some(if comm == "gmake" { "make".into() } else { comm });
        }
        at = parent;
    }
    None
}

fn parent_of(pid: u64) -> Option<u64> {
    stat_of(pid).map(|(_, p)| p)
}

/// (comm, ppid) from /proc/PID/stat; comm is in parentheses and may hold spaces.
fn stat_of(pid: u64) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_string();
    let ppid = text
        .get(close + 1..)?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((comm, ppid))
}

/// Helpers in backoff now: `HOST:PORT` and how long ago each failed. distcc's backoff
/// lasts DISTCC_BACKOFF_PERIOD seconds (60 by default).
/// Removes `host_port`'s backoff mark, as distcc itself does when a helper's compile error
/// fails the same way here (`dcc_enjoyed_host`). True when there was one.
pub fn clear_backoff(distcc_dir: &Path, host_port: &str) -> bool {
    let Some((host, port)) = host_port.rsplit_once(':') else {
        return false;
    };
    let mark = distcc_dir
        .join("lock")
        .join(format!("backoff_tcp_{host}_{port}_0"));
    std::fs::remove_file(mark).is_ok()
}

pub fn backoffs(distcc_dir: &Path, period: Duration) -> Vec<(String, Duration)> {
    let Ok(dir) = std::fs::read_dir(distcc_dir.join("lock")) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    let mut found: Vec<(String, Duration)> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix("backoff_tcp_")?;
            // HOST_PORT_0; a host name may hold `_`, the last two fields never do.
            let mut parts = rest.rsplitn(3, '_');
            let _slot = parts.next()?;
            let port = parts.next()?;
            let host = parts.next()?;
            let age = now
                .duration_since(e.metadata().ok()?.modified().ok()?)
                .unwrap_or_default();
            (age < period).then(|| (format!("{host}:{port}"), age))
        })
        .collect();
    found.sort();
    found
}

/// distcc's backoff period: DISTCC_BACKOFF_PERIOD seconds, 60 when unset (`src/backoff.c`).
pub fn backoff_period() -> Duration {
    let secs = std::env::var("DISTCC_BACKOFF_PERIOD")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Wakes the moment distcc marks a helper for backoff (inotify on DISTCC_DIR/lock), so a
/// mark that punishes a working helper is lifted before the next jobs pick their hosts.
pub struct BackoffWatch {
    watch: super::inotify::FolderWatch,
}

impl BackoffWatch {
    pub fn new(distcc_dir: &Path) -> Option<BackoffWatch> {
        let watch = super::inotify::FolderWatch::new(
            &distcc_dir.join("lock"),
            libc::IN_CREATE | libc::IN_MODIFY | libc::IN_ATTRIB,
        )?;
        Some(BackoffWatch { watch })
    }

    /// Waits up to `timeout` (or until `wake`) for a backoff mark to be made or renewed;
    /// true if one was.
    pub fn wait(&self, timeout: Duration, wake: Option<&super::inotify::Wake>) -> bool {
        let mut marked = false;
        self.watch.wait(timeout, wake, |name| {
            marked |= name.starts_with(b"backoff_");
        });
        marked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(word: usize, le: bool, pid: u64, file: &str, host: &str, phase: u32) -> Vec<u8> {
        let len = if word == 8 { 296 } else { 280 };
        let mut b = vec![0u8; len];
        let put = |b: &mut Vec<u8>, at: usize, n: usize, v: u64| {
            for i in 0..n {
                let byte = (v >> (8 * i)) as u8;
                b[if le { at + i } else { at + n - 1 - i }] = byte;
            }
        };
        put(&mut b, 0, word, len as u64);
        put(&mut b, word, word, MAGIC);
        put(&mut b, 2 * word, word, pid);
        b[3 * word..3 * word + file.len()].copy_from_slice(file.as_bytes());
        b[3 * word + 128..3 * word + 128 + host.len()].copy_from_slice(host.as_bytes());
        put(&mut b, 3 * word + 256, 4, 1);
        put(&mut b, 3 * word + 260, 4, u64::from(phase));
        b
    }

    #[test]
    fn both_layouts_and_byte_orders_read() {
        for (word, le) in [(8, true), (4, true), (4, false), (8, false)] {
            let t = parse_task(&state(word, le, 4242, "main.c", "127.0.0.1", 5)).unwrap();
            assert_eq!(t.pid, 4242);
            assert_eq!(t.file, "main.c");
            assert_eq!(t.host, "127.0.0.1");
            assert_eq!(t.slot, 1);
            assert_eq!(t.phase, "compile");
        }
        let mut bad = state(8, true, 1, "x", "y", 5);
        bad[8] ^= 0xff;
        assert_eq!(parse_task(&bad), None);
        assert_eq!(parse_task(&[0u8; 17]), None);
    }

    #[test]
    fn a_dead_clients_state_file_is_no_running_job() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        let me = u64::from(std::process::id());
        // A pid far above pid_max: no such process.
        let gone = 4_000_000_000u64;
        let word = std::mem::size_of::<usize>();
        for pid in [me, gone] {
            std::fs::write(
                dir.path().join(format!("state/binstate_{pid}")),
                state(
                    word,
                    cfg!(target_endian = "little"),
                    pid,
                    "a.c",
                    "127.0.0.1",
                    5,
                ),
            )
            .unwrap();
        }
        let running: Vec<u64> = tasks(dir.path()).iter().map(|t| t.pid).collect();
        assert_eq!(running, [me]);
    }
}
