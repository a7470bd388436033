//! Show, then write: unified diffs and atomic, owner- and mode-keeping writes.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A config file as read: the path the user named, the file actually written (symlinks
/// followed, so the link is kept) and its bytes (None when it does not exist yet).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub real: PathBuf,
    pub original: Option<Vec<u8>>,
}

impl Loaded {
    /// `original` as read through `path` (None: the file is to be created).
    pub fn new(path: &Path, original: Option<Vec<u8>>) -> Loaded {
        Loaded {
            path: path.to_path_buf(),
            real: fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            original,
        }
    }
}

pub fn load(path: &Path) -> io::Result<Loaded> {
    let original = match fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(Loaded::new(path, original))
}

pub fn unified_diff(old: &[u8], new: &[u8], old_label: &str, new_label: &str) -> String {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .missing_newline_hint(true)
        .to_string()
}

pub fn colorize(diff: &str) -> String {
    diff.lines()
        .map(|line| {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                return format!("{line}\n");
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

#[derive(Debug)]
pub enum WriteError {
    PermissionDenied(PathBuf),
    /// The replacement cannot be given the file's owner and group: only root gives a file
    /// to another user, or to a group its user is not in.
    Ownership(PathBuf, u32, u32),
    /// Someone else changed the file after it was read.
    Changed(PathBuf),
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::PermissionDenied(p) => {
                write!(f, "permission denied writing {}", p.display())
            }
            WriteError::Ownership(p, uid, gid) => write!(
                f,
                "{} belongs to {}:{}, and only root can give its replacement that owner and \
                 group",
                p.display(),
                user_name(*uid),
                group_name(*gid)
            ),
            WriteError::Changed(p) => write!(
                f,
                "{} changed since it was read; nothing written, run the command again",
                p.display()
            ),
            WriteError::Io(p, e) => write!(f, "could not write {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for WriteError {}

fn io_err(path: &Path) -> impl Fn(io::Error) -> WriteError + '_ {
    move |e| {
        if e.kind() == io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30) {
            WriteError::PermissionDenied(path.to_path_buf())
        } else {
            WriteError::Io(path.to_path_buf(), e)
        }
    }
}

fn temp_prefix(real: &Path) -> String {
    format!(
        ".{}.alarm-distcc-",
        real.file_name()
            .map_or("config".into(), |n| n.to_string_lossy())
    )
}

/// Writes `new` in place of `loaded`: temp file in the same folder, fsync, rename, fsync of
/// the folder. Mode and owner are kept. The file is locked while it is checked against what
/// was read and replaced, so two racing edits never both apply to the same original.
pub fn write_atomic(loaded: &Loaded, new: &[u8]) -> Result<(), WriteError> {
    stage(loaded, new)?.commit()
}

/// A new text written and synced beside the file, not yet in its place: the slow half of a
/// write (the fsync), done while bash checks the edit. Dropped uncommitted, the temp file
/// goes and the file is untouched.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    /// Removed by an interrupt until it is in place.
    registered: crate::leftovers::Registered,
    real: PathBuf,
    dir: PathBuf,
    /// Held until the rename: no other edit replaces the file in between.
    _lock: File,
}

impl Staged {
    /// The rename that puts the new text in place, and the fsync of the folder.
    pub fn commit(self) -> Result<(), WriteError> {
        let Staged {
            tmp,
            registered,
            real,
            dir,
            _lock,
        } = self;
        // An interrupt comes before the rename (and removes the temp file) or after it (and
        // knows the file was written), never between.
        let mut held = crate::leftovers::hold();
        if let Err(e) = tmp.persist(&real) {
            drop(held);
            return Err(io_err(&real)(e.error));
        }
        registered.release(&mut held);
        held.wrote(&real);
        drop(held);
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// The first half of `write_atomic`: lock, the check that the file is still what was read,
/// the temp file with the new text, the file's owner, mode and xattrs, fsync.
pub fn stage(loaded: &Loaded, new: &[u8]) -> Result<Staged, WriteError> {
    let real = &loaded.real;
    let dir = real
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if loaded.original.is_none() && !dir.exists() {
        create_readable_dirs(dir).map_err(io_err(dir))?;
    }
    // The lock lives on the file itself (or on the folder for a new file).
    let lock_file = match &loaded.original {
        Some(_) => File::open(real).map_err(io_err(real))?,
        None => File::open(dir).map_err(io_err(dir))?,
    };
    lock_file.lock().map_err(io_err(real))?;

    let mut current = Vec::new();
    let current = match File::open(real) {
        Ok(mut f) => {
            f.read_to_end(&mut current).map_err(io_err(real))?;
            Some(current)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(real)(e)),
    };
    if current != loaded.original {
        return Err(WriteError::Changed(loaded.path.clone()));
    }
    remove_stale_temps(dir, &temp_prefix(real));

    let (mut tmp, registered) = crate::leftovers::new_file(
        || {
            tempfile::Builder::new()
                .prefix(&temp_prefix(real))
                .tempfile_in(dir)
        },
        |tmp| tmp.path().to_path_buf(),
    )
    .map_err(io_err(dir))?;
    tmp.write_all(new).map_err(io_err(tmp.path()))?;
    if loaded.original.is_some() {
        let meta = fs::metadata(real).map_err(io_err(real))?;
        // Owner first: chown clears setuid/setgid, so the mode comes after it.
        let tmp_meta = fs::metadata(tmp.path()).map_err(io_err(real))?;
        if (tmp_meta.uid(), tmp_meta.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::chown(tmp.path(), Some(meta.uid()), Some(meta.gid())).map_err(
                |e| match e.raw_os_error() {
                    Some(libc::EPERM) => {
                        WriteError::Ownership(real.clone(), meta.uid(), meta.gid())
                    }
                    _ => io_err(real)(e),
                },
            )?;
        }
        copy_xattrs(real, tmp.as_file()).map_err(io_err(real))?;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(io_err(real))?;
    } else {
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o644)).map_err(io_err(real))?;
    }
    tmp.as_file().sync_all().map_err(io_err(real))?;
    Ok(Staged {
        tmp,
        registered,
        real: real.clone(),
        dir: dir.to_path_buf(),
        _lock: lock_file,
    })
}

/// The file's owner and group, when this user cannot give them to a replacement (asked
/// before the question whose yes could only fail).
pub fn unkeepable_owner(real: &Path) -> Option<(u32, u32)> {
    let meta = fs::metadata(real).ok()?;
    // SAFETY: geteuid and getegid have no preconditions.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if uid == 0 || (meta.uid() == uid && (meta.gid() == gid || in_group(meta.gid()))) {
        return None;
    }
    Some((meta.uid(), meta.gid()))
}

fn in_group(gid: u32) -> bool {
    // SAFETY: a size of 0 asks for the count only.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if count <= 0 {
        return false;
    }
    let mut groups = vec![0 as libc::gid_t; count as usize];
    // SAFETY: the buffer holds `count` entries.
    let count = unsafe { libc::getgroups(count, groups.as_mut_ptr()) };
    count > 0 && groups[..count as usize].contains(&gid)
}

/// A user's name, or its number when the system has none for it.
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is valid; getpwuid_r writes only into it and `buf`.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let r = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    if r != 0 || found.is_null() {
        return uid.to_string();
    }
    // SAFETY: on success pw_name points to a NUL-terminated name inside `buf`.
    unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned()
}

/// A group's name, or its number when the system has none for it.
pub fn group_name(gid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero group is valid; getgrgid_r writes only into it and `buf`.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    let r = unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut found) };
    if r != 0 || found.is_null() {
        return gid.to_string();
    }
    // SAFETY: on success gr_name points to a NUL-terminated name inside `buf`.
    unsafe { std::ffi::CStr::from_ptr(grp.gr_name) }
        .to_string_lossy()
        .into_owned()
}

/// Folders for a new file (a drop-in's `makepkg.conf.d`), 0755 whatever the umask: makepkg
/// runs as a user and must be able to read them.
fn create_readable_dirs(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    for d in missing.iter().rev() {
        fs::create_dir(d)?;
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

/// Extended attributes (POSIX ACLs among them) of `from`, set on `to`, so the replacement
/// keeps them.
fn copy_xattrs(from: &Path, to: &File) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(from.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: a null buffer of size 0 asks for the size only.
    let size = unsafe { libc::listxattr(path.as_ptr(), std::ptr::null_mut(), 0) };
    if size < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOTSUP) => Ok(()),
            _ => Err(e),
        };
    }
    let mut names = vec![0u8; size as usize];
    // SAFETY: the buffer is `names.len()` bytes long.
    let size = unsafe { libc::listxattr(path.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    names.truncate(size as usize);
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let cname = CString::new(name).map_err(io::Error::other)?;
        // SAFETY: as above, size first, then a buffer of that size.
        let len = unsafe { libc::getxattr(path.as_ptr(), cname.as_ptr(), std::ptr::null_mut(), 0) };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut value = vec![0u8; len as usize];
        let len = unsafe {
            libc::getxattr(
                path.as_ptr(),
                cname.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        if len < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the value buffer holds `len` bytes; the fd is open.
        let set = unsafe {
            libc::fsetxattr(
                to.as_raw_fd(),
                cname.as_ptr(),
                value.as_ptr().cast(),
                len as usize,
                0,
            )
        };
        if set < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "could not keep the attribute {}: {e}",
                    String::from_utf8_lossy(name)
                ),
            ));
        }
    }
    Ok(())
}

/// Temp files that a write killed before its rename left beside `real` (removed by the next
/// write; makepkg never reads them).
pub fn leftover_temps(real: &Path) -> Vec<PathBuf> {
    let dir = real
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let prefix = temp_prefix(real);
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Temp files left by a writer that was killed before its rename.
fn remove_stale_temps(dir: &Path, prefix: &str) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(prefix) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_symlink_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.conf");
        fs::write(&target, "A=1\n").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("makepkg.conf");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let loaded = load(&link).unwrap();
        write_atomic(&loaded, b"A=2\n").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"A=2\n");
        assert_eq!(fs::metadata(&target).unwrap().mode() & 0o777, 0o640);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn keeps_the_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("makepkg.conf");
        fs::write(&path, "A=1\n").unwrap();
        // Only root can give a file away; elsewhere the owner is already the writer.
        let other = std::os::unix::fs::chown(&path, Some(65534), Some(65534)).is_ok();
        let before = fs::metadata(&path).unwrap();
        write_atomic(&load(&path).unwrap(), b"A=2\n").unwrap();
        let after = fs::metadata(&path).unwrap();
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        if other {
            assert_eq!(after.uid(), 65534);
        }
        assert_ne!(
            after.ino(),
            before.ino(),
            "replaced by rename, not rewritten in place"
        );
    }

    #[test]
    fn refuses_when_changed_since_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("makepkg.conf");
        fs::write(&path, "A=1\n").unwrap();
        let loaded = load(&path).unwrap();
        fs::write(&path, "A=3\n").unwrap();
        assert!(matches!(
            write_atomic(&loaded, b"A=2\n"),
            Err(WriteError::Changed(_))
        ));
        assert_eq!(fs::read(&path).unwrap(), b"A=3\n");
    }

    #[test]
    fn a_staged_write_changes_nothing_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("makepkg.conf");
        fs::write(&path, "A=1\n").unwrap();
        let loaded = load(&path).unwrap();
        // Dropped (bash refused the edit): the file as it was, no temp file left.
        let staged = stage(&loaded, b"A=2\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"A=1\n");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "the synced temp file"
        );
        drop(staged);
        assert_eq!(fs::read(&path).unwrap(), b"A=1\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Committed: in place, by rename.
        stage(&loaded, b"A=2\n").unwrap().commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"A=2\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
