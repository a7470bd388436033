//! One run's session, below the commands: the config layers read once, then plan, diff,
//! confirm and write. Every editing command and the wizard end here.

use crate::conf::bash_check::compare::computed_hosts;
use crate::conf::bash_check::{Pending, Reading, RunAs};
use crate::conf::buildflags::{self, BuildFlags};
use crate::conf::document::Document;
use crate::conf::edit::Refusal;
use crate::conf::layers::{self, Env, Value};
use crate::conf::plan::{self, HostChange};
use crate::conf::write::Loaded;
use crate::distcc::compat::{self, Checker};
use crate::distcc::elf::{Arch, arch_for_carch};
use crate::distcc::protocol;
use crate::error::bad_input;
use crate::ui::status;
use anyhow::Result;
use std::path::PathBuf;

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
    /// What bash reads from those layers before any edit, once read and found to be what the
    /// plan starts from (None inside: `--no-verify`). Read late for a plain edit, so that the
    /// readings of the text before and after it run side by side.
    start: std::cell::OnceCell<Option<crate::conf::bash_check::Reading>>,
    /// bash reading the layers as they are, started as soon as they are read so that it runs
    /// while the edit is planned; the text after the edit starts beside it (see `verify`).
    early: std::cell::RefCell<Option<crate::conf::bash_check::Pending>>,
}

mod pipeline;
mod read;
mod search;

pub use read::{MAX_CONFIG_BYTES, MAX_VARIABLES};
use read::{main_read_error, parse_config, read_config, refuse_line_endings};

pub use pipeline::is_yes;

const DROP_IN_HEADER: &str = "# distcc settings for makepkg, written by alarm-distcc.\n\
# makepkg reads this file after the main makepkg.conf (and before a per-user file).\n";

impl Session {
    pub fn new(opts: Options, env: Env) -> Session {
        let main = env.main_path(opts.config.as_deref());
        Session { opts, env, main }
    }

    /// Reads every layer and picks the file to edit: the drop-in with --drop-in, else the
    /// file makepkg takes the focused value from (a drop-in or per-user file that sets
    /// DISTCC_HOSTS wins over the main file), else the main file.
    pub fn target(&self, focus: Focus) -> Result<Target> {
        // bash starts now, so that its start-up runs while the layers are read and the edit
        // is planned. Failing to start here is not an error yet: the reading is made again
        // when it is needed, and that one says why.
        let standby = if self.opts.no_verify {
            None
        } else {
            Pending::standby(&RunAs::for_process()).ok()
        };
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
                status!(
                    "note: makepkg is not on PATH here; assuming pacman 6.1 or later, which reads \
                     {}",
                    layers::drop_in_dir(&self.main).display()
                );
            }
            let drop_in = layers::distcc_drop_in(&self.main);
            // A layer read after the drop-in that sets a value the edit writes would override
            // it: the edit belongs there, which is where it goes without --drop-in.
            let dir = layers::drop_in_dir(&self.main);
            let later = layers.iter().skip(1).find(|(p, doc)| {
                (!p.starts_with(&dir) || *p > drop_in) && {
                    let eff = layers::effective(&[(p.clone(), doc.clone())]);
                    layers::source_of(&eff.hosts).is_some()
                        || layers::source_of(&eff.distcc).is_some()
                        || layers::source_of(&eff.makeflags).is_some()
                }
            });
            if let Some((p, _)) = later {
                return Err(bad_input(format!(
                    "{} is read after {} and sets a value this edit writes, so a drop-in would \
                     be overridden; leave out --drop-in, and the edit goes to {}",
                    p.display(),
                    drop_in.display(),
                    p.display()
                )));
            }
            drop_in
        } else {
            let eff = layers::effective(&layers);
            let (mut source, mut name) = match focus {
                Focus::Hosts => (layers::source_of(&eff.hosts), "DISTCC_HOSTS"),
                Focus::Buildenv => (layers::source_of(&eff.distcc), "distcc in BUILDENV"),
            };
            // Every edit may write all three values: a later layer that sets any of them
            // would override the edit, so the edit goes to the last such layer.
            let position = |p: &Option<PathBuf>| {
                p.as_ref()
                    .and_then(|p| layers.iter().position(|(l, _)| l == p))
            };
            for (other, other_name) in [
                (layers::source_of(&eff.makeflags), "MAKEFLAGS"),
                (layers::source_of(&eff.distcc), "distcc in BUILDENV"),
                (layers::source_of(&eff.hosts), "DISTCC_HOSTS"),
            ] {
                if position(&other) > position(&source) {
                    (source, name) = (other, other_name);
                }
            }
            match source {
                Some(p) if p != self.main => {
                    status!(
                        "note: editing {}: makepkg takes {name} from it, not from {}, so what \
                         this edit writes goes there",
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
        let early = standby.and_then(|mut pending| {
            let texts = pipeline::texts_of(&layers);
            pending
                .add(&pipeline::layer_texts(&texts))
                .ok()
                .map(|()| pending)
        });
        Ok(Target {
            loaded,
            doc,
            layers,
            start: std::cell::OnceCell::new(),
            early: std::cell::RefCell::new(early),
        })
    }

    /// The target, with bash's reading of the layers read now and the starting point checked:
    /// for commands that ask, measure or search before they plan.
    pub fn checked_target(&self, focus: Focus) -> Result<Target> {
        let target = self.target(focus)?;
        self.starting_point(&target)?;
        Ok(target)
    }

    /// A plan refused on the static reading: bash's own reason goes first when bash cannot
    /// read the config at all (a syntax error reads better from bash).
    pub fn plan_refused(&self, target: &Target, mut r: Refusal) -> anyhow::Error {
        let read_now;
        let reading = match target.start.get() {
            Some(reading) => reading.as_ref(),
            None => match self.read_start(target) {
                Ok(reading) => {
                    read_now = reading;
                    read_now.as_ref()
                }
                Err(e) => return e,
            },
        };
        // Only advice that works here: no drop-in where makepkg reads none, nor from one.
        if let Some(at) = r.message.find(", or use --drop-in")
            && (!self.env.makepkg().reads_drop_ins() || self.opts.drop_in)
        {
            r.message.truncate(at);
        }
        // A computed list refused: what bash reads from it is the plain line to write.
        if let Some(c) =
            reading.and_then(|reading| computed_hosts(&layers::effective(&target.layers), reading))
            && c.path == target.loaded.path
            && c.line == r.line
            && !c.value.is_empty()
        {
            r.message.push_str(&format!(
                ".\nbash reads it here as \"{}\": to keep that list, write \
                 DISTCC_HOSTS=\"{}\" in place of line {}",
                c.value, c.value, c.line
            ));
        }
        let path = &target.loaded.path;
        if r.line == 0 {
            bad_input(format!("{}: {}", path.display(), r.message))
        } else {
            bad_input(format!("{}:{}: {}", path.display(), r.line, r.message))
        }
    }

    /// What bash reads from the layers before the edit (None with `--no-verify`), once it is
    /// found to agree with the reading every plan is made from: distcc on or off, the hosts,
    /// the job count. Where they differ, the edit would be planned on values makepkg never
    /// reads: refused with the file and line of each.
    pub fn starting_point<'t>(&self, target: &'t Target) -> Result<Option<&'t Reading>> {
        if let Some(r) = target.start.get() {
            return Ok(r.as_ref());
        }
        let reading = self.read_start(target)?;
        if let Some(r) = &reading {
            self.check_start(target, r)?;
        }
        Ok(target.start.get_or_init(|| reading).as_ref())
    }

    pub fn edit_hosts(&self, change: &HostChange) -> Result<()> {
        let target = self.target(Focus::Hosts)?;
        self.apply_hosts(&target, change)
    }

    /// Plans `change` on an already read target, then diff, confirm, write.
    pub fn apply_hosts(&self, target: &Target, change: &HostChange) -> Result<()> {
        let inherited = self.inherited(target);
        let plan = plan::plan_hosts(&target.doc, change, &inherited)
            .map_err(|r| self.plan_refused(target, r))?;
        self.apply(target, plan)
    }

    pub fn edit_enabled(&self, enabled: bool) -> Result<()> {
        let target = self.target(Focus::Buildenv)?;
        let inherited = self.inherited(&target);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let plan = plan::plan_enable(&target.doc, enabled, &inherited, cpus)
            .map_err(|r| self.plan_refused(&target, r))?;
        self.apply(&target, plan)
    }

    /// What makepkg has from the layers before the target (a new drop-in starts from it), or
    /// from the environment where no layer sets a value.
    pub fn inherited(&self, target: &Target) -> plan::Inherited {
        let Some(pos) = target
            .layers
            .iter()
            .position(|(p, _)| p == &target.loaded.path)
        else {
            return plan::Inherited::default();
        };
        let before = layers::effective(&target.layers[..pos]);
        // What no earlier layer sets, makepkg has from the environment it runs in.
        let env = layers::FromEnvironment::of_process(&before);
        plan::Inherited {
            hosts: env.hosts_after(&before.hosts),
            makeflags: match before.makeflags {
                Value::Known(m) => Some(m.value.text),
                _ => env.makeflags,
            },
            distcc: matches!(before.distcc, Value::Known(ref s) if s.value),
            distcc_set: matches!(before.distcc, Value::Known(_)),
        }
    }

    /// How the user runs the tool on this config (`--config` repeated when it was given);
    /// `app` hands it to `ui::set_tool`, and suggestions take it from `ui::command`.
    pub fn tool(&self) -> String {
        match &self.opts.config {
            Some(c) => format!(
                "alarm-distcc --config {}",
                shell_quote(&c.display().to_string())
            ),
            None => "alarm-distcc".to_string(),
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
        use crate::distcc::client::{arch_of_triple, chost_names, client_triple, sent_names};
        let path = std::env::var_os("PATH").unwrap_or_default();
        // The client decides the name, so its own architecture says whether this machine is
        // the Pi (an ARM binary under qemu on a PC still runs the PC's distcc).
        let Some(triple) = client_triple(&path) else {
            let why = match chost {
                Some(c) if !c.is_empty() => format!(
                    "distcc is not installed here, so the names are guessed from CHOST ({c}): \
                     what the Pi sends depends on its own distcc"
                ),
                _ => "distcc is not installed here and CHOST is not set: plain gcc".into(),
            };
            return chost_names(chost, why);
        };
        let same = |a: Arch, b: Arch| std::mem::discriminant(&a) == std::mem::discriminant(&b);
        if arch_of_triple(&triple).is_some_and(|h| same(h, expected)) {
            return sent_names(&triple, &path);
        }
        chost_names(
            chost,
            format!(
                "distcc here is {triple}, not the {expected} Pi's: the Pi's names are taken \
                 from CHOST"
            ),
        )
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

/// `word` as the shell reads it back: bare when safe, else in single quotes, or, when it
/// holds a character a terminal would not show as itself (a control character, a space that
/// is not one), in `$'...'` with that character written as an escape bash decodes.
pub fn shell_quote(word: &str) -> String {
    if word
        .chars()
        .any(|c| c.is_control() || crate::ui::is_unseen(c))
    {
        let mut quoted = String::from("$'");
        for c in word.chars() {
            match c {
                '\\' => quoted.push_str("\\\\"),
                '\'' => quoted.push_str("\\'"),
                // Always two (or four, eight) digits: bash reads no more than that.
                c if c.is_ascii_control() => quoted.push_str(&format!("\\x{:02x}", c as u32)),
                c if c.is_control() || crate::ui::is_unseen(c) => {
                    if (c as u32) <= 0xffff {
                        quoted.push_str(&format!("\\u{:04x}", c as u32));
                    } else {
                        quoted.push_str(&format!("\\U{:08x}", c as u32));
                    }
                }
                c => quoted.push(c),
            }
        }
        quoted.push('\'');
        return quoted;
    }
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
