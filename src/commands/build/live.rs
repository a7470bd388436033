//! makepkg's output passed through as it comes, and on a terminal a status line below it:
//! makepkg runs on a pseudo-terminal of its own (so it colours and formats as on the user's),
//! its lines are written above the status line, which is redrawn at most four times a second
//! and never inside one of makepkg's lines (a prompt without a newline stays as it is).

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One host's part of the status line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HostLine {
    pub host: String,
    pub busy: u32,
    pub slots: u32,
    pub done: u32,
    /// Its jobs that failed and ran on the Pi instead.
    pub fell_back: u32,
}

/// What the status line shows, kept up to date by the sampler.
#[derive(Debug, Default, Clone)]
pub struct Status {
    /// Each listed host, the Pi as `localhost`.
    pub hosts: Vec<HostLine>,
    pub backoff: Vec<String>,
    pub started: Option<Instant>,
}

impl Status {
    pub fn line(&self, width: usize) -> String {
        let mut parts = Vec::new();
        let elapsed = self.started.map_or(0, |s| s.elapsed().as_secs());
        parts.push(format!("distcc {}:{:02}", elapsed / 60, elapsed % 60));
        for h in &self.hosts {
            let name = if h.host == "localhost" { "Pi" } else { &h.host };
            let fell = if h.fell_back > 0 {
                format!(" {} fell back", h.fell_back)
            } else {
                String::new()
            };
            let mark = if self.backoff.contains(&h.host) {
                " BACKOFF"
            } else {
                ""
            };
            parts.push(format!(
                "{name} {}/{} busy {} done{fell}{mark}",
                h.busy, h.slots, h.done
            ));
        }
        let mut line = parts.join(" | ");
        if line.chars().count() > width.saturating_sub(1) {
            line = line
                .chars()
                .take(width.saturating_sub(2))
                .collect::<String>()
                + "…";
        }
        line
    }
}

/// The terminal's size (columns, rows) of stdout, if it is one.
pub fn terminal_size() -> Option<(u16, u16)> {
    // SAFETY: TIOCGWINSZ fills a plain struct for a terminal fd and fails otherwise.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some((ws.ws_col, ws.ws_row))
    }
}

static RESIZED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    RESIZED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Gives the pty this terminal's size again (after the window changed).
fn resize(master: libc::c_int) {
    if let Some((cols, rows)) = terminal_size() {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on our own pty master; the kernel sends makepkg SIGWINCH.
        unsafe {
            libc::ioctl(master, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// A new pseudo-terminal of the given size: (master, slave).
pub fn open_pty(size: Option<(u16, u16)>) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut master = -1;
    let mut slave = -1;
    let ws = size.map(|(cols, rows)| libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let wsp = ws
        .as_ref()
        .map_or(std::ptr::null(), |w| w as *const libc::winsize);
    // SAFETY: openpty writes two fds into the given ints; the name and termios are unused.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            wsp as *mut libc::winsize,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are new and ours alone.
    let (m, s) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // The master must not leak into makepkg (it would keep the terminal open).
    // SAFETY: setting FD_CLOEXEC on our own fd.
    unsafe {
        libc::fcntl(m.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC);
    }
    Ok((m, s))
}

/// Copies the pty's output to stdout with the status line below it until the pty closes
/// (every writer is gone) or `done()` says the child ended and nothing came for a moment.
/// Each complete line read is handed to `on_line` with the time it came.
pub fn pass_through(
    master: OwnedFd,
    status: &Arc<Mutex<Status>>,
    mut on_line: impl FnMut(&str),
    done: impl Fn() -> bool,
) {
    let mut out = std::io::stdout();
    let width = || terminal_size().map_or(80, |(c, _)| usize::from(c));
    let mut shown = false;
    let mut partial = false;
    let mut last_draw = Instant::now() - Duration::from_secs(1);
    let mut last_text = String::new();
    let mut line = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let fd = master.as_raw_fd();
    let mut quiet_since: Option<Instant> = None;
    // A window resized during the build resizes makepkg's terminal too.
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGWINCH, on_winch as *const () as libc::sighandler_t);
    }
    loop {
        if RESIZED.swap(false, std::sync::atomic::Ordering::SeqCst) {
            resize(fd);
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 100) };
        if ready > 0 {
            // SAFETY: reading into our own buffer from our own fd.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                // EIO: the last writer closed the slave.
                break;
            }
            quiet_since = None;
            let chunk = &buf[..n as usize];
            if shown {
                let _ = out.write_all(b"\r\x1b[2K");
                shown = false;
            }
            let _ = out.write_all(chunk);
            let _ = out.flush();
            partial = chunk.last() != Some(&b'\n');
            for &b in chunk {
                if b == b'\n' {
                    on_line(&String::from_utf8_lossy(&line));
                    line.clear();
                } else if line.len() < 64 * 1024 {
                    line.push(b);
                }
            }
        } else if done() {
            // The child is gone; a grandchild may hold the pty: wait a little, then stop.
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_millis(300) {
                break;
            }
        }
        let due = last_draw.elapsed() >= Duration::from_millis(250);
        if !partial && due {
            // Host names come from the config: escaped, as everything shown from outside.
            let text = status
                .lock()
                .map(|s| crate::ui::escape(&s.line(width())))
                .unwrap_or_default();
            // The same line again is not drawn again.
            if !shown || text != last_text {
                let _ = write!(out, "\r\x1b[2K\x1b[2m{text}\x1b[0m");
                let _ = out.flush();
                shown = true;
                last_text = text;
            }
            last_draw = Instant::now();
        }
    }
    if !line.is_empty() {
        on_line(&String::from_utf8_lossy(&line));
    }
    if shown {
        let _ = out.write_all(b"\r\x1b[2K");
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_fits_the_width() {
        let line = |host: &str, busy, slots, done, fell_back| HostLine {
            host: host.into(),
            busy,
            slots,
            done,
            fell_back,
        };
        let s = Status {
            hosts: vec![
                line("127.0.0.1:3636", 3, 6, 12, 2),
                line("localhost", 1, 2, 3, 0),
            ],
            backoff: vec!["127.0.0.1:3636".into()],
            started: None,
        };
        assert_eq!(
            s.line(200),
            "distcc 0:00 | 127.0.0.1:3636 3/6 busy 12 done 2 fell back BACKOFF | Pi 1/2 busy 3 done"
        );
        assert!(s.line(20).chars().count() < 20);
    }
}
