//! An inotify instance on one folder, and the names of what happened there: the two
//! watches of a build (distcc's backoff marks, its files of helpers' stderr) share it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

pub struct FolderWatch {
    fd: OwnedFd,
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

    /// Waits up to `timeout` for events, then hands each event's file name (without its
    /// NUL padding) to `seen`.
    pub fn wait(&self, timeout: Duration, mut seen: impl FnMut(&[u8])) {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd of our own.
        let ready = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as libc::c_int) };
        if ready <= 0 {
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
