//! One run's session, below the commands: the config layers read once, then plan, diff,
//! confirm and write. Every editing command and the wizard end here.

use crate::conf::buildflags::{self, BuildFlags};
use crate::conf::document::Document;
use crate::conf::edit::Refusal;
use crate::conf::layers::{self, Env, Role, Value};
use crate::conf::plan::{self, HostChange};
use crate::conf::write::Loaded;
use crate::distcc::compat::{self, Checker};
use crate::distcc::elf::{Arch, arch_for_carch};
use crate::distcc::protocol;
use crate::error::bad_input;
use anyhow::{Result, anyhow};
use std::path::{Path, PathBuf};

/// What every command shares from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--config`, when given.
    pub config: Option<PathBuf>,
    pub dry_run: bool,
    pub yes: bool,
    pub drop_in: bool,
    /// `--no-verify`: write without the bash check (unsafe).
    pub no_verify: bool,
    /// Colour on (`--color`, else a terminal without `NO_COLOR`).
    pub color: bool,
}

/// One run's view of the world: options, environment, and the config as read once.
pub struct Session {
    pub opts: Options,
    pub env: Env,
    pub main: PathBuf,
}

/// Where and how long to search for helpers (`discover`, the wizard).
pub struct SearchOptions {
    pub subnets: Vec<String>,
    pub ports: Vec<u16>,
    pub timeout: f64,
    pub public: bool,
}

/// Which value an edit is about: it goes to the file makepkg takes that value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// DISTCC_HOSTS (and the BUILDENV and -j that follow it).
    Hosts,
    /// distcc in BUILDENV.
    Buildenv,
}

/// The file an edit goes to, as read, and the layers makepkg reads around it.
pub struct Target {
    pub loaded: Loaded,
    pub doc: Document,
    /// Every layer with its document, the target included.
    pub layers: Vec<(PathBuf, Document)>,
    /// What bash reads from those layers before any edit (None with `--no-verify`).
    pub bash: Option<crate::conf::bash_check::Reading>,
}

mod pipeline;
mod search;

pub use pipeline::is_yes;

const DROP_IN_HEADER: &str = "# distcc settings for makepkg, written by alarm-distcc.\n\
# makepkg reads this file after the main makepkg.conf (and before a per-user file).\n";

impl Session {
    pub fn new(opts: Options, env: Env) -> Session {
        let main = env.main_path(opts.config.as_deref());
        Session { opts, env, main }
    }

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

    /// Reads every layer and picks the file to edit: the drop-in with --drop-in, else the
    /// file makepkg takes the focused value from (a drop-in or per-user file that sets
    /// DISTCC_HOSTS wins over the main file), else the main file.
    pub fn target(&self, focus: Focus) -> Result<Target> {
        let mut layers = self.layers()?;
        let path = if self.opts.drop_in {
            let per_user = self.env.user_file().as_deref() == Some(self.main.as_path())
                || self.main.ends_with(".config/pacman/makepkg.conf")
                || self.main.ends_with(".makepkg.conf");
            if per_user {
                return Err(bad_input(format!(
                    "{} is a per-user file: makepkg reads drop-ins only beside the system file \
                     ({}), never {}. Leave out --drop-in to edit this file, or give --drop-in \
                     with --config {}",
                    self.main.display(),
                    layers::drop_in_dir(&self.env.default_conf).display(),
                    layers::drop_in_dir(&self.main).display(),
                    self.env.default_conf.display()
                )));
            }
            if !self.env.makepkg().reads_drop_ins() {
                let layers::Makepkg::Version(v) = self.env.makepkg() else {
                    unreachable!("an unknown makepkg is assumed to read drop-ins")
                };
                return Err(bad_input(format!(
                    "makepkg {v} here does not read {} (drop-ins came with pacman 6.1), so a \
                     drop-in would never be used; leave out --drop-in to edit {}",
                    layers::drop_in_dir(&self.main).display(),
                    self.main.display()
                )));
            }
            if *self.env.makepkg() == layers::Makepkg::NotFound {
                eprintln!(
                    "note: makepkg is not on PATH here; assuming pacman 6.1 or later, which reads \
                     {}",
                    layers::drop_in_dir(&self.main).display()
                );
            }
            layers::distcc_drop_in(&self.main)
        } else {
            let eff = layers::effective(&layers);
            let (source, name) = match focus {
                Focus::Hosts => (layers::source_of(&eff.hosts), "DISTCC_HOSTS"),
                Focus::Buildenv => (layers::source_of(&eff.distcc), "distcc in BUILDENV"),
            };
            match source {
                Some(p) if p != self.main => {
                    eprintln!(
                        "note: editing {}: makepkg takes {name} from it, not from {}",
                        p.display(),
                        self.main.display()
                    );
                    p
                }
                _ => self.main.clone(),
            }
        };
        // The target is one of the layers already read (or a drop-in still to be created).
        let original = match layers.iter().find(|(p, _)| p == &path) {
            Some((_, doc)) => Some(doc.as_bytes().to_vec()),
            None => match read_config(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(main_read_error(&path, e, &self.as_root())),
            },
        };
        let loaded = Loaded::new(&path, original);
        let doc = match &loaded.original {
            Some(bytes) => parse_config(&path, bytes.clone())?,
            None if self.opts.drop_in => Document::parse(DROP_IN_HEADER),
            None => {
                return Err(main_read_error(
                    &path,
                    std::io::ErrorKind::NotFound.into(),
                    &self.as_root(),
                ));
            }
        };
        if !layers.iter().any(|(p, _)| p == &path) {
            // A new drop-in goes among the drop-ins by name: after the main file (first), before
            // the per-user file (last), whatever their paths.
            let dir = layers::drop_in_dir(&self.main);
            let at = 1 + layers[1..]
                .iter()
                .take_while(|(p, _)| p.starts_with(&dir) && *p < path)
                .count();
            layers.insert(at, (path.clone(), doc.clone()));
        }
        refuse_line_endings(&path, doc.as_bytes())?;
        let bash = self.bash_reading(&layers)?;
        Ok(Target {
            loaded,
            doc,
            layers,
            bash,
        })
    }

    pub fn refusal(&self, path: &Path, mut r: Refusal) -> anyhow::Error {
        // Only advice that works here: no drop-in where makepkg reads none, nor from one.
        if let Some(at) = r.message.find(", or use --drop-in")
            && (!self.env.makepkg().reads_drop_ins() || self.opts.drop_in)
        {
            r.message.truncate(at);
        }
        if r.line == 0 {
            bad_input(format!("{}: {}", path.display(), r.message))
        } else {
            bad_input(format!("{}:{}: {}", path.display(), r.line, r.message))
        }
    }

    pub fn edit_hosts(&self, change: &HostChange) -> Result<()> {
        let target = self.target(Focus::Hosts)?;
        self.apply_hosts(&target, change)
    }

    /// Plans `change` on an already read target, then diff, confirm, write.
    pub fn apply_hosts(&self, target: &Target, change: &HostChange) -> Result<()> {
        let inherited = self.inherited(target);
        let plan = plan::plan_hosts(&target.doc, change, &inherited)
            .map_err(|r| self.refusal(&target.loaded.path, r))?;
        self.apply(target, plan)
    }

    pub fn edit_enabled(&self, enabled: bool) -> Result<()> {
        let target = self.target(Focus::Buildenv)?;
        let inherited = self.inherited(&target);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let plan = plan::plan_enable(&target.doc, enabled, &inherited, cpus)
            .map_err(|r| self.refusal(&target.loaded.path, r))?;
        self.apply(&target, plan)
    }

    /// What makepkg has from the layers before the target (a new drop-in starts from it).
    pub fn inherited(&self, target: &Target) -> plan::Inherited {
        let Some(pos) = target
            .layers
            .iter()
            .position(|(p, _)| p == &target.loaded.path)
        else {
            return plan::Inherited::default();
        };
        let before = layers::effective(&target.layers[..pos]);
        plan::Inherited {
            hosts: layers::hosts_of(&before.hosts),
            makeflags: match before.makeflags {
                Value::Known(m) => Some(m.value.text),
                _ => None,
            },
            distcc: matches!(before.distcc, Value::Known(ref s) if s.value),
            distcc_set: matches!(before.distcc, Value::Known(_)),
        }
    }

    /// A command line to suggest, runnable as printed: `--config` is repeated when it was given.
    pub fn command(&self, args: &str) -> String {
        match &self.opts.config {
            Some(c) => format!(
                "alarm-distcc --config {} {args}",
                shell_quote(&c.display().to_string())
            ),
            None => format!("alarm-distcc {args}"),
        }
    }

    /// The names a build on this machine sends, when this machine is the Pi the config is
    /// for (its architecture); else (a config checked from another machine) the config's
    /// CHOST names, the Pi's as ALARM's gcc has them.
    pub fn sent_names(
        &self,
        expected: Arch,
        chost: Option<&str>,
    ) -> crate::distcc::client::SentNames {
        use crate::distcc::client::{SentNames, sent_names};
        let here = match std::env::consts::ARCH {
            "arm" => Some(Arch::Arm { hard_float: true }),
            other => arch_for_carch(other),
        };
        let same = |a: Arch, b: Arch| std::mem::discriminant(&a) == std::mem::discriminant(&b);
        if here.is_some_and(|h| same(h, expected)) {
            return sent_names(&std::env::var_os("PATH").unwrap_or_default(), chost);
        }
        let chost = chost.filter(|c| !c.contains('@') && !c.is_empty());
        SentNames {
            cc: chost.map_or("gcc".into(), |c| format!("{c}-gcc")),
            cxx: chost.map_or("g++".into(), |c| format!("{c}-g++")),
            triple: None,
            why: format!(
                "this machine is {}, not the {expected} Pi: the Pi's names are taken from CHOST",
                std::env::consts::ARCH
            ),
        }
    }

    /// What the helpers must compile for: `--expect-arch`, else CARCH, else this binary's arch.
    pub fn expected_arch(
        &self,
        docs: &[(PathBuf, Document)],
        expect: Option<&str>,
    ) -> Result<(String, Arch)> {
        let name = match expect {
            Some(e) => e.to_string(),
            None => layers::carch(docs).unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        };
        let arch = arch_for_carch(&name).ok_or_else(|| {
            bad_input(format!(
                "unknown architecture `{name}`; use --expect-arch aarch64|armv7h|armv6h|x86_64|i686|riscv64"
            ))
        })?;
        Ok((name, arch))
    }

    /// What a probe sends and compares, from the config: the names this machine's distcc
    /// sends (from CHOST, or `compiler`), the build flags, and the architecture to expect.
    pub fn checker(
        &self,
        docs: &[(PathBuf, Document)],
        expect: Option<&str>,
        compiler: Option<&str>,
    ) -> Result<(Checker, BuildFlags)> {
        let (carch, expected) = self.expected_arch(docs, expect)?;
        let flags = buildflags::build_flags(docs);
        let cflags = flags.cflags.as_deref().ok();
        let chost = layers::layered_scalar(docs, "CHOST");
        let mut names = None;
        let jobs = match compiler {
            Some(c) => protocol::jobs_for_compiler(c, cflags),
            None => {
                let sent = self.sent_names(expected, chost.as_deref());
                names = Some(sent.why.clone());
                protocol::jobs_for_sent(
                    &sent,
                    chost.as_deref(),
                    cflags,
                    flags.cxxflags.as_deref().ok(),
                )
            }
        };
        let kept = compat::kept_local_flags(cflags, flags.cxxflags.as_deref().ok());
        let mut checker = Checker::new(jobs, expected, carch, flags.lto, kept);
        checker.names = names;
        Ok((checker, flags))
    }
}

/// Windows line endings put a `\r` at the end of every value bash reads, and a byte order
/// mark glues itself to the first command: neither is a file to edit as it is.
fn refuse_line_endings(path: &Path, text: &[u8]) -> Result<()> {
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

fn read_config(path: &Path) -> std::io::Result<Vec<u8>> {
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

fn parse_config(path: &Path, bytes: Vec<u8>) -> Result<Document> {
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

fn main_read_error(path: &Path, e: std::io::Error, as_root: &str) -> anyhow::Error {
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

/// `word` as the shell reads it back: bare when safe, else in single quotes.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+%[]".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
