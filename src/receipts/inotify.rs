//! An inotify instance on one folder, and the names of what happened there: the two
//! watches of a build (distcc's backoff marks, its files of helpers' stderr) share it. A
//! `Wake` ends their waits at once when the build is over, so that joining them costs no
//! timeout.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

pub struct FolderWatch {
    fd: OwnedFd,
}

/// An eventfd: once woken, every wait on it returns at once, from then on.
pub struct Wake {
    fd: OwnedFd,
}

impl Wake {
    pub fn new() -> Option<Wake> {
        // SAFETY: a new eventfd, owned below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        // SAFETY: `raw` is ours alone when valid.
        (raw >= 0).then(|| Wake {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Wakes every wait, now and later (the count is never read, so it stays readable).
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a local to our own eventfd.
        unsafe { libc::write(self.fd.as_raw_fd(), (&raw const one).cast(), 8) };
    }
}

impl FolderWatch {
    /// Watches `dir` for `mask` (libc's `IN_*`); None when it cannot.
    pub fn new(dir: &Path, mask: u32) -> Option<FolderWatch> {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: a new inotify instance, owned below.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return None;
        }
        // SAFETY: `raw` is ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: a NUL-terminated path and our own inotify fd.
        let wd = unsafe { libc::inotify_add_watch(raw, path.as_ptr(), mask | libc::IN_ONLYDIR) };
        (wd >= 0).then_some(FolderWatch { fd })
    }

    /// Waits up to `timeout` for events, or until `wake` is woken, then hands each pending
    /// event's file name (without its NUL padding) to `seen`.
    pub fn wait(&self, timeout: Duration, wake: Option<&Wake>, mut seen: impl FnMut(&[u8])) {
        let mut pfds =
            [self.fd.as_raw_fd(), wake.map_or(-1, |w| w.fd.as_raw_fd())].map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        // SAFETY: two pollfds of our own (poll skips a negative fd).
        let ready = unsafe { libc::poll(pfds.as_mut_ptr(), 2, timeout.as_millis() as libc::c_int) };
        if ready <= 0 || pfds[0].revents == 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reading events into our own buffer from our own fd.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let n = n as usize;
            let header = std::mem::size_of::<libc::inotify_event>();
            let mut at = 0usize;
            while at + header <= n {
                // SAFETY: the kernel wrote whole events; read the header unaligned.
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
                let name_start = at + header;
                let name_end = (name_start + ev.len as usize).min(n);
                let name = &buf[name_start..name_end];
                seen(&name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())]);
                at = name_end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_wake_ends_the_wait_at_once_and_events_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let watch = FolderWatch::new(dir.path(), libc::IN_CREATE).unwrap();
        let wake = Wake::new().unwrap();
        std::fs::write(dir.path().join("made"), "").unwrap();
        let mut names = Vec::new();
        watch.wait(Duration::from_secs(30), Some(&wake), |n| {
            names.push(n.to_vec())
        });
        assert_eq!(names, [b"made".to_vec()]);
        // Nothing pending: woken, it returns long before its timeout, and stays woken.
        let waiting = Arc::new(watch);
        let wake = Arc::new(wake);
        let (w, k) = (Arc::clone(&waiting), Arc::clone(&wake));
        let started = Instant::now();
        let thread = std::thread::spawn(move || w.wait(Duration::from_secs(60), Some(&k), |_| {}));
        std::thread::sleep(Duration::from_millis(50));
        wake.wake();
        thread.join().unwrap();
        assert!(started.elapsed() < Duration::from_secs(30));
        let again = Instant::now();
        waiting.wait(Duration::from_secs(60), Some(&wake), |_| {});
        assert!(again.elapsed() < Duration::from_secs(30));
    }

    use std::sync::Arc;
}
