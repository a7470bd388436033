//! Where receipts are kept: one JSON object per line in
//! `$XDG_STATE_HOME/alarm-distcc/builds.jsonl` (default `~/.local/state/alarm-distcc/`),
//! appended under a lock, read back skipping lines it cannot read (a newer format, a torn
//! write) and bounded in size.

use super::receipt::Receipt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The newest receipts kept when reading; older ones stay in the file, unread.
pub const READ_LAST: usize = 2000;
/// Bytes read from the end of the file at most.
const MAX_READ: u64 = 16 * 1024 * 1024;

/// The tool's state folder: `ALARM_DISTCC_STATE_DIR` (tests), else
/// `$XDG_STATE_HOME/alarm-distcc`, else `~/.local/state/alarm-distcc`. Under sudo it is the
/// invoking user's (`~USER/.local/state/alarm-distcc`): their builds are the ones recorded
/// (makepkg never runs as root), and `sudo alarm-distcc sort --from-builds` reads them.
pub fn dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ALARM_DISTCC_STATE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(home) = crate::conf::layers::invoking_sudo_user_home() {
        return Some(home.join(".local/state/alarm-distcc"));
    }
    dirs::state_dir().map(|d| d.join("alarm-distcc"))
}

/// The receipts file in the state folder.
pub fn path() -> Option<PathBuf> {
    dir().map(|d| d.join("builds.jsonl"))
}

/// Appends one receipt as one line, with the file locked so two builds never interleave.
pub fn append(file: &Path, receipt: &Receipt) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_string(receipt).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    f.lock()?;
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// The receipts in the file, oldest first, and how many lines could not be read.
pub fn read(file: &Path) -> std::io::Result<(Vec<Receipt>, usize)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let mut text = Vec::new();
    let from_middle = len > MAX_READ;
    if from_middle {
        f.seek(SeekFrom::Start(len - MAX_READ))?;
    }
    f.take(MAX_READ).read_to_end(&mut text)?;
    let text = String::from_utf8_lossy(&text);
    let mut lines: Vec<&str> = text.lines().collect();
    if from_middle && !lines.is_empty() {
        // The first line is cut.
        lines.remove(0);
    }
    let mut bad = 0;
    let mut receipts: Vec<Receipt> = Vec::new();
    for line in lines.iter().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Receipt>(line) {
            Ok(r) => receipts.push(r),
            Err(_) => bad += 1,
        }
    }
    if receipts.len() > READ_LAST {
        receipts.drain(..receipts.len() - READ_LAST);
    }
    Ok((receipts, bad))
}

#[cfg(test)]
mod tests {
    use super::super::phases::Phases;
    use super::super::receipt::{Context, Receipt};
    use super::*;

    #[test]
    fn appends_and_reads_back_skipping_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state/builds.jsonl");
        let r = Receipt::new(&Context::default(), &[], &Phases::default(), &[]);
        append(&file, &r).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap()
            .write_all(b"{\"format\": 99, torn\n")
            .unwrap();
        append(&file, &r).unwrap();
        let (read_back, bad) = read(&file).unwrap();
        assert_eq!(read_back, vec![r.clone(), r]);
        assert_eq!(bad, 1);
        assert_eq!(read(&dir.path().join("none")).unwrap().0, vec![]);
    }
}
