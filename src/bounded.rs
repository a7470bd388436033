//! Programs the tool runs for an answer (a compiler on the probe's unit, `ninja --version`)
//! with a time bound. Each runs in a process group of its own, so that a time-out ends what
//! it started too (gcc's cc1 and as, a wrapper script's children), and the group is
//! registered for Ctrl-C, which no longer reaches it from the terminal.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How a bounded program ended.
pub enum Ended {
    Exited(ExitStatus),
    /// It was still running at the bound: its whole group was killed.
    TimedOut,
}

/// Starts `cmd` in a group of its own and waits for it at most `timeout`. The child is
/// returned reaped, its pipes still open for reading.
pub fn run(cmd: &mut Command, timeout: Duration) -> std::io::Result<(Child, Ended)> {
    let (mut child, group) = crate::leftovers::new_group(|| cmd.process_group(0).spawn())?;
    let deadline = Instant::now() + timeout;
    let exit = ExitWatch::new(&child);
    let mut nap = Duration::from_micros(500);
    while !ended(&child) {
        if Instant::now() >= deadline {
            // SAFETY: kill has no memory preconditions; the group is the child's own and
            // the child is not reaped yet, so its id is not reused. The child itself too:
            // one stuck before it joined its group (seen under qemu-user) is not in it.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
                libc::kill(child.id() as i32, libc::SIGKILL);
            }
            drop(group);
            let _ = child.wait();
            return Ok((child, Ended::TimedOut));
        }
        match &exit {
            Some(exit) => exit.wait(deadline),
            // No pidfd (a kernel before 5.3, an emulator without it): short naps at first,
            // as most of these programs end within milliseconds.
            None => {
                std::thread::sleep(nap);
                nap = (nap * 2).min(Duration::from_millis(10));
            }
        }
    }
    // Off the interrupt's list before it is reaped: its id may then be reused.
    drop(group);
    let status = child.wait()?;
    Ok((child, Ended::Exited(status)))
}

/// A pidfd of the child: readable once it has ended, so the wait ends then, not at the
/// next tick of a poll loop.
struct ExitWatch {
    fd: std::os::fd::OwnedFd,
}

impl ExitWatch {
    fn new(child: &Child) -> Option<ExitWatch> {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a pid and flags; the child is not reaped, so the pid is
        // still its own.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) };
        let raw = libc::c_int::try_from(raw).ok().filter(|fd| *fd >= 0)?;
        // SAFETY: a new fd, ours alone.
        Some(ExitWatch {
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Waits until the child ends, a signal comes, or `deadline`.
    fn wait(&self, deadline: Instant) {
        use std::os::fd::AsRawFd;
        let left = deadline.saturating_duration_since(Instant::now());
        // Rounded up: a wait of 0 ms would spin through the last fraction of a ms.
        let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd of our own.
        unsafe { libc::poll(&mut pfd, 1, ms) };
    }
}

/// Whether the child has ended, without reaping it (waitid's WNOWAIT).
fn ended(child: &Child) -> bool {
    // SAFETY: an all-zero siginfo_t is valid; waitid writes only into it.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::waitid(
            libc::P_PID,
            child.id() as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    // An error (no such child) counts as ended: wait() then says what happened.
    // SAFETY: si_pid is set by waitid for WEXITED, and left 0 when nothing has ended.
    r != 0 || unsafe { info.si_pid() } != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_out_ends_the_whole_group() {
        // The shell's child outlives the shell unless the group is killed.
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let started = Instant::now();
        let (_, ended) = run(
            Command::new("sh").arg("-c").arg(script),
            Duration::from_millis(300),
        )
        .unwrap();
        assert!(matches!(ended, Ended::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed (and reaped by init, or a zombie until then): not running.
        std::thread::sleep(Duration::from_millis(100));
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = state.rsplit(')').next().unwrap_or("").trim_start();
        assert!(
            state.is_empty() || state.starts_with('Z'),
            "sleep still runs: {state}"
        );
    }

    #[test]
    fn the_wait_ends_when_the_child_ends_not_at_the_deadline() {
        let mut child = Command::new("sh").arg("-c").arg("exit 0").spawn().unwrap();
        let Some(exit) = ExitWatch::new(&child) else {
            let _ = child.wait();
            eprintln!("skipped: no pidfd_open here (the naps stand in)");
            return;
        };
        let started = Instant::now();
        exit.wait(started + Duration::from_secs(600));
        assert!(ended(&child), "woken before the child ended");
        assert!(started.elapsed() < Duration::from_secs(300));
        let _ = child.wait();
    }

    #[test]
    fn an_exit_is_reported_with_its_status_and_output() {
        use std::io::Read;
        let (mut child, ended) = run(
            Command::new("sh")
                .arg("-c")
                .arg("echo out; exit 3")
                .stdout(std::process::Stdio::piped()),
            Duration::from_secs(30),
        )
        .unwrap();
        let Ended::Exited(status) = ended else {
            panic!("timed out")
        };
        assert_eq!(status.code(), Some(3));
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "out\n");
    }
}
