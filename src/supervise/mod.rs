//! Starting makepkg for a build and making sure nothing outlives the run.
//!
//! makepkg runs in a process group of its own, so everything it starts (make, ninja, the
//! compilers, distcc) can be ended together. On a terminal that group is made the terminal's
//! foreground, as a shell does for a job: Ctrl-C, Ctrl-Z and makepkg's own questions (sudo,
//! pacman) reach it exactly as when it is run by hand. A guard process, in a group of its
//! own, waits on a pipe from this one: if the wrapper dies without saying it is done (killed
//! with SIGKILL, say), the guard ends makepkg's group and removes the run's folder (the job
//! pool's fifo, distcc's private state).

use anyhow::{Context as _, Result};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

/// makepkg's process group while it runs (0 when none), for the Ctrl-C handler.
static GROUP: AtomicI32 = AtomicI32::new(0);

/// Passes Ctrl-C on to makepkg's group; the main handler calls it during a build. When
/// makepkg has the terminal it already got the signal itself, and this does nothing more
/// than a second interrupt would.
pub fn forward_interrupt() {
    let group = GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals a process group; async-signal-safe.
        unsafe {
            libc::kill(-group, libc::SIGINT);
        }
    }
}

/// The guard: ends makepkg's group and removes `run_dir` unless told "done" first.
pub struct Guard {
    stdin: Option<ChildStdin>,
    child: Child,
    /// A group was sent: the guard's next line is "done" (or nothing, if this dies).
    watching: bool,
}

// `kill -SIG -PGID`, without `--`: dash's kill reads `--` as a bad number.
const GUARD_SCRIPT: &str = r#"trap '' INT TERM HUP QUIT TSTP TTIN TTOU PIPE
read -r group || exit 0
read -r word
[ "$word" = done ] && exit 0
kill -TERM "-$group" 2>/dev/null && {
  n=0
  while kill -0 "-$group" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
  kill -KILL "-$group" 2>/dev/null
}
rm -rf -- "$1"
"#;

impl Guard {
    pub fn start(run_dir: &Path) -> Result<Guard> {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(GUARD_SCRIPT)
            .arg("alarm-distcc-guard")
            .arg(run_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: killing the wrapper's group (a shell's `kill %1`) leaves it.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .context("starting the build's guard (/bin/sh)")?;
        let stdin = child.stdin.take();
        Ok(Guard {
            stdin,
            child,
            watching: false,
        })
    }

    /// The group it ends if the wrapper dies.
    pub fn watch(&mut self, group: i32) {
        if let Some(s) = self.stdin.as_mut() {
            without_sigpipe(|| {
                let _ = writeln!(s, "{group}");
                let _ = s.flush();
            });
            self.watching = true;
        }
    }

    /// The run ended normally: the guard leaves without touching anything. Its protocol is
    /// two lines, the group and then "done": a guard that got no group gets a stand-in first.
    pub fn done(mut self) {
        if let Some(mut s) = self.stdin.take() {
            let watching = self.watching;
            without_sigpipe(|| {
                if !watching {
                    let _ = writeln!(s, "0");
                }
                let _ = writeln!(s, "done");
                let _ = s.flush();
            });
        }
        let _ = self.child.wait();
    }
}

/// A write to the guard's pipe must never end this process (SIGPIPE is at its default for
/// the command line's sake): a guard that is gone only means there is nothing to tell it.
fn without_sigpipe(f: impl FnOnce()) {
    // SAFETY: swapping a signal disposition around a write, and restoring it.
    unsafe {
        let old = libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        f();
        libc::signal(libc::SIGPIPE, old);
    }
}

/// The terminal on stdin, when this process is in its foreground (so the job can be handed
/// to makepkg and taken back).
fn foreground_terminal() -> Option<i32> {
    let fd = std::io::stdin().as_raw_fd();
    // SAFETY: isatty/tcgetpgrp/getpgrp only read the state of our own fd and process.
    unsafe {
        if libc::isatty(fd) != 1 {
            return None;
        }
        let fg = libc::tcgetpgrp(fd);
        (fg > 0 && fg == libc::getpgrp()).then_some(fd)
    }
}

/// makepkg, started in its own group; on a terminal that group becomes the foreground.
pub struct Started {
    pub child: Child,
    terminal: Option<i32>,
}

pub fn start(mut cmd: Command) -> Result<Started> {
    let terminal = foreground_terminal();
    cmd.process_group(0);
    let fd = terminal.unwrap_or(-1);
    // SAFETY: only async-signal-safe calls between fork and exec: on a terminal the child
    // takes it for its new group (SIGTTOU ignored meanwhile, as shells do); either way it
    // starts with SIGTTOU at its default, which this process ignores during the run.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            if fd >= 0 {
                libc::tcsetpgrp(fd, libc::getpid());
            }
            libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            Ok(())
        });
    }
    if terminal.is_some() {
        // The live view goes on writing to the terminal from the background, even where
        // `stty tostop` would stop a background writer.
        // SAFETY: a signal disposition of our own process.
        unsafe {
            libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        }
    }
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    GROUP.store(pid, Ordering::SeqCst);
    if let Some(fd) = terminal {
        // The parent does it too, so neither order of the two races loses the terminal.
        with_ttou_ignored(|| {
            // SAFETY: setting the foreground group of our own terminal.
            unsafe {
                libc::tcsetpgrp(fd, pid);
            }
        });
    }
    Ok(Started { child, terminal })
}

fn with_ttou_ignored(f: impl FnOnce()) {
    // SAFETY: swapping a signal disposition and restoring it.
    unsafe {
        let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        f();
        libc::signal(libc::SIGTTOU, old);
    }
}

impl Started {
    /// Waits for makepkg. If its group is stopped (Ctrl-Z), this process stops too, as
    /// the user's shell expects of its job, and hands the terminal back when continued.
    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        let pid = self.child.id() as i32;
        loop {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            let rc = unsafe { libc::waitpid(pid, &mut status, libc::WUNTRACED) };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if libc::WIFSTOPPED(status) {
                if let Some(fd) = self.terminal {
                    with_ttou_ignored(|| {
                        // SAFETY: taking our terminal back, then stopping ourselves.
                        unsafe {
                            libc::tcsetpgrp(fd, libc::getpgrp());
                        }
                    });
                }
                // SAFETY: stops this process until the shell continues it.
                unsafe {
                    libc::raise(libc::SIGTSTP);
                }
                if let Some(fd) = self.terminal {
                    with_ttou_ignored(|| unsafe {
                        libc::tcsetpgrp(fd, pid);
                    });
                }
                // SAFETY: continuing makepkg's own group.
                unsafe {
                    libc::kill(-pid, libc::SIGCONT);
                }
                continue;
            }
            GROUP.store(0, Ordering::SeqCst);
            self.give_back_terminal();
            return Ok(std::process::ExitStatus::from_raw(status));
        }
    }

    fn give_back_terminal(&mut self) {
        if let Some(fd) = self.terminal.take() {
            with_ttou_ignored(|| {
                // SAFETY: the foreground returns to our own group.
                unsafe {
                    libc::tcsetpgrp(fd, libc::getpgrp());
                }
            });
            // SAFETY: the default disposition back, as it was before the run.
            unsafe {
                libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            }
        }
    }

    /// makepkg's process group (its pid).
    pub fn group(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.give_back_terminal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A normal end: the guard leaves the group and the folder alone, and this process is
    /// still here (the guard used to read a stand-in "0" as its word, end its own group and
    /// leave the "done" to a closed pipe).
    #[test]
    fn a_guard_told_done_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let mut guard = Guard::start(dir.path()).unwrap();
        guard.watch(sleeper.id() as i32);
        std::thread::sleep(std::time::Duration::from_millis(200));
        guard.done();
        assert!(sleeper.try_wait().unwrap().is_none(), "the group was ended");
        assert!(dir.path().exists(), "the folder was removed");
        let _ = sleeper.kill();
        let _ = sleeper.wait();

        // Told nothing but done, before any group: it leaves too.
        let guard = Guard::start(dir.path()).unwrap();
        guard.done();
        assert!(dir.path().exists());
    }

    /// The wrapper gone without a word: the guard ends the group and removes the folder.
    #[test]
    fn a_guard_left_alone_ends_the_group_and_removes_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let mut sleeper = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let mut guard = Guard::start(&run).unwrap();
        guard.watch(sleeper.id() as i32);
        // As if this process died: its end of the pipe closes.
        drop(guard.stdin.take());
        let status = sleeper.wait().unwrap();
        assert!(!status.success());
        let _ = guard.child.wait();
        assert!(!run.exists(), "the run's folder is left");
    }
}
