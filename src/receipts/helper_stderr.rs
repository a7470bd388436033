//! What a helper's compiler said about a unit that failed there. distcc 3.4 keeps the
//! helper's stderr in `$TMPDIR/distcc_server_stderr_XXXXXXXX.txt` and, when its retry on the
//! Pi succeeds, deletes it unshown (compile.c: "we can abandon the remote errors"). The
//! client log names the file (`(dcc_r_file) received N bytes to file PATH`), but by the
//! time the log is read the file may be gone: so each one is read as distcc writes it
//! (inotify's IN_MODIFY on distcc's `$TMPDIR`, the build's own folder), and what it says is
//! kept when it reports an error. Not IN_CLOSE_WRITE: distcc closes each temporary file
//! empty the moment it makes it, so that would wake the watch for every job.
//! Kept by file name (distcc's random one), which the log's path ends with. Bounded: a few
//! KB of each, and the latest few hundred files.

use super::inotify::{FolderWatch, Wake};
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// distcc's name for the file (`dcc_make_tmpnam("distcc_server_stderr", ".txt")`).
pub const PREFIX: &str = "distcc_server_stderr_";
const MAX_BYTES: u64 = 4096;
const MAX_FILES: usize = 256;

/// The file name of `path` when it is one of distcc's files of a helper's stderr.
pub fn server_stderr_name(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    (name.starts_with(PREFIX) && name.ends_with(".txt")).then_some(name)
}

/// The watch on distcc's temporary folder, and what it caught: file name -> text.
pub struct StderrCatch {
    watch: FolderWatch,
    dir: PathBuf,
    caught: HashMap<String, String>,
    order: VecDeque<String>,
}

impl StderrCatch {
    /// None when the folder cannot be watched (then the receipt says what it did before).
    pub fn new(dir: &Path) -> Option<StderrCatch> {
        Some(StderrCatch {
            watch: FolderWatch::new(dir, libc::IN_MODIFY)?,
            dir: dir.to_path_buf(),
            caught: HashMap::new(),
            order: VecDeque::new(),
        })
    }

    /// Waits up to `timeout` (or until `wake`) for files to be written, and reads those that
    /// are distcc's (again at each write: the last read has it all).
    pub fn wait(&mut self, timeout: Duration, wake: Option<&Wake>) {
        let mut closed = Vec::new();
        self.watch.wait(timeout, wake, |name| {
            if let Ok(name) = std::str::from_utf8(name)
                && server_stderr_name(name).is_some()
            {
                closed.push(name.to_string());
            }
        });
        for name in closed {
            self.catch(name);
        }
    }

    fn catch(&mut self, name: String) {
        let Some(text) = read_error_report(&self.dir.join(&name)) else {
            return;
        };
        if self.caught.insert(name.clone(), text).is_none() {
            self.order.push_back(name);
        }
        while self.order.len() > MAX_FILES {
            if let Some(old) = self.order.pop_front() {
                self.caught.remove(&old);
            }
        }
    }

    /// What was caught so far, taken: file name -> text.
    pub fn take_caught(&mut self) -> HashMap<String, String> {
        self.order.clear();
        std::mem::take(&mut self.caught)
    }
}

/// The start of the file when it is this user's own regular file and reports an error
/// (a compile that only warned, which distcc already showed, is not kept). Never follows
/// a link: any program of the build can write in that folder.
fn read_error_report(path: &Path) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != me || meta.len() == 0 {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut bytes).ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    text.contains("error").then_some(text)
}

/// The line of a compiler's stderr that says what failed: its first `error:` line (gcc
/// and clang: `FILE:LINE:COL: error: ... [-Werror=...]`), else its first line; trimmed
/// and cut to a line's length. Not escaped: that is for whoever shows it.
pub fn first_error(text: &str) -> String {
    let text = without_colors(text);
    let line = text
        .lines()
        .find(|l| l.contains("error:"))
        .or_else(|| text.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("")
        .trim();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_string(),
    }
}

/// The text without its terminal colours: meson builds with `-fdiagnostics-color=always`
/// (its default `b_colorout`), so the helper's gcc colours what it says.
fn without_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let end = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(tail.len());
        rest = match tail[end..].strip_prefix(['m', 'K']) {
            Some(after) => after,
            // Not a colour: kept, for the escaping where it is shown.
            None => {
                out.push_str("\x1b[");
                tail
            }
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const FAILED: &str = "cJSON.c: In function 'cJSON_SetNumberHelper':\n\
        cJSON.c:410:5: error: the comparison will always evaluate as 'true' [-Werror=address]\n\
        cc1: all warnings being treated as errors\n";

    fn write(path: &Path, text: &str) {
        let mut f = std::fs::File::create(path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn catches_an_error_report_as_it_is_written_even_when_removed_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut catch = StderrCatch::new(dir.path()).expect("inotify on a folder of our own");
        let failed = dir.path().join("distcc_server_stderr_0badf00d.txt");
        write(&failed, FAILED);
        // distcc removes it after its retry; the text was read as it was written.
        catch.wait(Duration::from_secs(5), None);
        std::fs::remove_file(&failed).unwrap();
        // Warnings only (distcc showed them), empty, or not distcc's: not kept.
        write(
            &dir.path().join("distcc_server_stderr_00000001.txt"),
            "a.c:1:1: warning: unused [-Wunused]\n",
        );
        write(&dir.path().join("distcc_server_stderr_00000002.txt"), "");
        write(&dir.path().join("other_error.txt"), FAILED);
        catch.wait(Duration::from_millis(200), None);
        let caught = catch.take_caught();
        assert_eq!(caught.len(), 1, "{caught:?}");
        assert_eq!(caught["distcc_server_stderr_0badf00d.txt"], FAILED);
    }

    #[test]
    fn keeps_the_latest_files_and_a_bounded_start_of_each() {
        let dir = tempfile::tempdir().unwrap();
        let mut catch = StderrCatch::new(dir.path()).unwrap();
        let long = format!("error: {}\n", "x".repeat(10_000));
        for i in 0..MAX_FILES + 10 {
            write(
                &dir.path().join(format!("distcc_server_stderr_{i:08x}.txt")),
                &long,
            );
            // Read as they come: the inotify queue holds far more, but stays small here.
            if i % 64 == 0 {
                catch.wait(Duration::from_millis(50), None);
            }
        }
        catch.wait(Duration::from_millis(200), None);
        let caught = catch.take_caught();
        assert_eq!(caught.len(), MAX_FILES);
        assert!(caught.values().all(|t| t.len() == MAX_BYTES as usize));
        assert!(!caught.contains_key("distcc_server_stderr_00000000.txt"));
    }

    #[test]
    fn never_follows_a_link_nor_reads_another_users_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("secret");
        write(&target, FAILED);
        let link = dir.path().join("distcc_server_stderr_11111111.txt");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_error_report(&link), None);
        assert!(read_error_report(&target).is_some());
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let theirs = dir.path().join("distcc_server_stderr_22222222.txt");
            write(&theirs, FAILED);
            std::os::unix::fs::chown(&theirs, Some(65534), None).unwrap();
            assert_eq!(read_error_report(&theirs), None);
        } else {
            eprintln!("skipped the other user's file: needs root to give a file away");
        }
    }

    #[test]
    fn the_first_error_line_is_what_failed() {
        assert_eq!(
            first_error(FAILED),
            "cJSON.c:410:5: error: the comparison will always evaluate as 'true' \
             [-Werror=address]"
        );
        assert_eq!(first_error("\n  cc1: killed\n"), "cc1: killed");
        // As gcc colours it under meson (-fdiagnostics-color=always).
        assert_eq!(
            first_error(
                "\x1b[01m\x1b[Ka.c:3:7:\x1b[m\x1b[K \x1b[01;31m\x1b[Kerror: \x1b[m\x1b[Kthis \
                 statement may fall through [\x1b[01;31m\x1b[K-Werror=implicit-fallthrough=\
                 \x1b[m\x1b[K]\n"
            ),
            "a.c:3:7: error: this statement may fall through [-Werror=implicit-fallthrough=]"
        );
        assert_eq!(first_error("error: \x1b[2J"), "error: \x1b[2J");
        let long = format!("a.c:1: error: {}", "y".repeat(500));
        assert_eq!(first_error(&long).chars().count(), 203);
        assert_eq!(
            server_stderr_name("/tmp//distcc_server_stderr_3fbd0471.txt"),
            Some("distcc_server_stderr_3fbd0471.txt")
        );
        assert_eq!(server_stderr_name("/tmp/distcc_3fbd0471.i"), None);
    }
}
