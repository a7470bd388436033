//! Reading the config: the layers makepkg reads (and the files they source) as documents,
//! only regular files of sensible size, and what to say when one cannot be read.

use super::{Session, shell_quote};
use crate::conf::document::Document;
use crate::conf::layers::{self, Role};
use crate::error::bad_input;
use anyhow::{Result, anyhow};
use std::path::{Path, PathBuf};

impl Session {
    pub fn layers(&self) -> Result<Vec<(PathBuf, Document)>> {
        let mut docs = Vec::new();
        for layer in layers::layers(&self.main, &self.env) {
            match read_config(&layer.path) {
                Ok(bytes) => docs.push((layer.path.clone(), parse_config(&layer.path, bytes)?)),
                Err(e)
                    if layer.role == Role::Main
                        || matches!(
                            e.kind(),
                            std::io::ErrorKind::FileTooLarge | std::io::ErrorKind::InvalidInput
                        ) =>
                {
                    return Err(main_read_error(&layer.path, e, &self.as_root()));
                }
                Err(_) => {} // a drop-in or user file that vanished or cannot be read
            }
        }
        self.with_sourced_files(docs)
    }

    /// Each file a layer sources at top level, as a layer of its own right after it (and
    /// the files those source, a few levels deep): its values are makepkg's, and an edit of
    /// one of them goes to it.
    fn with_sourced_files(
        &self,
        docs: Vec<(PathBuf, Document)>,
    ) -> Result<Vec<(PathBuf, Document)>> {
        const MAX_DEPTH: usize = 8;
        let mut out: Vec<(PathBuf, Document)> = Vec::new();
        let mut stack: Vec<((PathBuf, Document), usize)> =
            docs.into_iter().rev().map(|d| (d, 0)).collect();
        while let Some(((path, doc), depth)) = stack.pop() {
            let sourced = if depth < MAX_DEPTH {
                doc.sourced_files()
            } else {
                Vec::new()
            };
            out.push((path, doc));
            for (_, file) in sourced.into_iter().rev() {
                if out.iter().any(|(p, _)| *p == file) || stack.iter().any(|((p, _), _)| *p == file)
                {
                    continue;
                }
                match read_config(&file) {
                    Ok(bytes) => {
                        let doc = parse_config(&file, bytes)?;
                        stack.push(((file, doc), depth + 1));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                        return Err(main_read_error(&file, e, &self.as_root()));
                    }
                    // Missing or unreadable: bash reports it when it sources the file.
                    Err(_) => {}
                }
            }
        }
        Ok(out)
    }
}

/// Windows line endings put a `\r` at the end of every value bash reads, and a byte order
/// mark glues itself to the first command: neither is a file to edit as it is.
pub(super) fn refuse_line_endings(path: &Path, text: &[u8]) -> Result<()> {
    if let Some(at) = text.windows(2).position(|w| w == b"\r\n") {
        let line = 1 + text[..at].iter().filter(|&&b| b == b'\n').count();
        return Err(bad_input(format!(
            "{}:{line}: the file has Windows line endings (CRLF): bash reads the \\r at each line's \
             end into the values (DISTCC_HOSTS=\"host\\r\"), and makepkg with it. Convert it \
             first: sed -i 's/\\r$//' {}",
            path.display(),
            shell_quote(&path.display().to_string())
        )));
    }
    if text.starts_with(b"\xef\xbb\xbf") {
        return Err(bad_input(format!(
            "{}:1: the file starts with a UTF-8 byte order mark, which bash reads as part of the \
             first line's command. Remove it first: sed -i '1s/^\\xEF\\xBB\\xBF//' {}",
            path.display(),
            shell_quote(&path.display().to_string())
        )));
    }
    Ok(())
}

/// A makepkg.conf is a few KiB; anything this big is not one, and is refused before reading.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A makepkg.conf sets a few dozen variables. bash lists variables in time that grows with
/// their square (20,000 take it a second), so a file that sets more is refused at once.
pub const MAX_VARIABLES: usize = 10_000;

pub(super) fn read_config(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        // Checked before opening: a FIFO would block the read, a device would be replaced.
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        let kind = if t.is_dir() {
            "a folder"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is {kind}, not a regular file; give the makepkg.conf itself"),
        ));
    }
    let size = meta.len();
    if size > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("{size} bytes"),
        ));
    }
    std::fs::read(path)
}

pub(super) fn parse_config(path: &Path, bytes: Vec<u8>) -> Result<Document> {
    let doc = Document::parse(bytes);
    let names: std::collections::HashSet<&str> = doc
        .items()
        .iter()
        .filter_map(|i| match &i.kind {
            crate::conf::document::ItemKind::Assignment(a) => Some(a.name.as_str()),
            _ => None,
        })
        .collect();
    if names.len() > MAX_VARIABLES {
        return Err(bad_input(format!(
            "{} sets {} variables; a makepkg.conf sets a few dozen, and bash could not be asked \
             about this many in reasonable time: refusing to read it",
            path.display(),
            names.len()
        )));
    }
    if let Some(line) = doc.too_deep_at() {
        return Err(bad_input(format!(
            "{}:{line}: shell nesting deeper than {} levels; this is not a makepkg.conf the tool \
             can read safely",
            path.display(),
            crate::conf::document::MAX_NESTING
        )));
    }
    Ok(doc)
}

pub(super) fn main_read_error(path: &Path, e: std::io::Error, as_root: &str) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => bad_input(format!(
            "{} not found; give the file with --config PATH (or set MAKEPKG_CONF)",
            path.display()
        )),
        std::io::ErrorKind::FileTooLarge => bad_input(format!(
            "{} is {e}, over the {} MiB a makepkg.conf could sensibly be; refusing to read it",
            path.display(),
            MAX_CONFIG_BYTES >> 20
        )),
        std::io::ErrorKind::InvalidInput => bad_input(format!("{} {e}", path.display())),
        std::io::ErrorKind::PermissionDenied => {
            anyhow!("permission denied reading {}; {as_root}", path.display())
        }
        _ => anyhow::Error::new(e).context(format!("reading {}", path.display())),
    }
}

impl Session {
    /// What to do when the file cannot be read or written: sudo with this very command, the
    /// file named (`--config`) when it is not the default, since sudo drops MAKEPKG_CONF; as
    /// root already, the likely causes instead.
    pub(crate) fn as_root(&self) -> String {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return format!(
                "even root cannot: the file may be immutable (lsattr {0}; chattr -i {0}) or on \
                 a read-only filesystem",
                shell_quote(&self.main.display().to_string())
            );
        }
        let mut words: Vec<String> = vec!["alarm-distcc".into()];
        if self.opts.config.is_none() && self.main != self.env.default_conf {
            words.push("--config".into());
            words.push(shell_quote(&self.main.display().to_string()));
        }
        words.extend(std::env::args().skip(1).map(|a| shell_quote(&a)));
        format!("run it as root:\n  sudo {}", words.join(" "))
    }
}
