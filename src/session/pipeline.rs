//! The write pipeline every edit ends in: planned document -> bash check -> diff -> confirm ->
//! atomic write. Nothing is written that bash would read differently from what was intended.

use super::{Session, Target};
use crate::conf::bash_check::compare::{
    Intended, StartDifference, compare, others, start_differences,
};
use crate::conf::bash_check::{self, BashError, LayerText, Pending, Reading, RunAs};
use crate::conf::document::Document;
use crate::conf::layers::{self, Value};
use crate::conf::plan::Plan;
use crate::conf::write::{self, WriteError};
use crate::error::{Cancelled, bad_input};
use crate::ui::{escape, status};
use anyhow::{Result, anyhow};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// What the bash check found for an edit.
enum Verdict {
    /// bash reads what was intended, and something changed; with the other values that
    /// follow from the edit (`NINJAFLAGS follows MAKEFLAGS: ...`), to show with the diff.
    Intended(Vec<String>),
    /// bash reads exactly what it read before: the edit would change nothing makepkg sees.
    NoChange,
    /// `--no-verify`.
    Unchecked,
}

impl Session {
    /// Shows the diff, asks, writes, then names the next step (`probe`) when there is a
    /// helper to check. Shared by every editing command.
    pub fn apply(&self, target: &Target, plan: Plan) -> Result<()> {
        self.apply_then(target, plan, true)
    }

    /// `apply` for a caller that says the next steps itself (the wizard: set up the helpers,
    /// then probe), so that `probe` is not named twice, first and out of order.
    pub fn apply_without_next_step(&self, target: &Target, plan: Plan) -> Result<()> {
        self.apply_then(target, plan, false)
    }

    fn apply_then(&self, target: &Target, plan: Plan, say_next: bool) -> Result<()> {
        let path = &target.loaded.path;
        for note in &plan.notes {
            // Notes quote the config's entries.
            status!("note: {}", escape(note));
        }
        let old = target.loaded.original.clone().unwrap_or_default();
        let new = plan.doc.as_bytes();
        if target.loaded.original.is_some() && old == new {
            // "Nothing to change" is only true of what bash reads too.
            self.starting_point(target)?;
            status!("nothing to change in {}", path.display());
            return Ok(());
        }
        check_links(&target.loaded.real)?;
        let mut layers_after = target.layers.clone();
        if let Some(slot) = layers_after.iter_mut().find(|(p, _)| p == path) {
            slot.1 = plan.doc.clone();
        }
        // With --yes, the new text is written and synced beside the file while bash reads;
        // only the rename waits for bash's verdict. A failure to stage is told only if the
        // edit passes.
        let mut staged = None;
        let verdict = self.verify(target, &layers_after, || {
            if self.opts.yes && !self.opts.dry_run {
                staged = Some(write::stage(&target.loaded, new));
            }
        })?;
        if let Verdict::NoChange = verdict {
            status!(
                "nothing to change in {}: bash reads the same values with or without this edit",
                path.display()
            );
            return Ok(());
        }

        let old_label = if target.loaded.original.is_some() {
            path.display().to_string()
        } else {
            "/dev/null".into()
        };
        let diff = write::unified_diff(&old, new, &old_label, &path.display().to_string());
        let diff = escape(&diff);
        print!(
            "{}",
            if self.opts.color {
                write::colorize(&diff)
            } else {
                diff
            }
        );
        if let Verdict::Intended(follows) = &verdict {
            for f in follows {
                status!("also changes: {}", escape(f));
            }
        }
        let changed = layers::changed_vars(&target.doc, &plan.doc);
        for o in layers::overrides(&layers_after, path, &changed) {
            status!(
                "warning: {o}, which makepkg reads later and which overrides this change; edit \
                 that file instead",
            );
        }
        let checked = match verdict {
            Verdict::Unchecked => "not checked with bash (--no-verify)",
            _ => "checked with bash: makepkg reads the intended values",
        };
        if self.opts.dry_run {
            status!("dry run: {checked}; {} not written", path.display());
            return Ok(());
        }
        if !self.opts.yes {
            // No question whose yes could only fail: the diff is shown, then the fix.
            if let Some(e) = blocked_write(&target.loaded.real) {
                return Err(self.write_error(e));
            }
            self.confirm(path)?;
        }
        let staged = match staged {
            Some(staged) => staged,
            None => write::stage(&target.loaded, new),
        };
        staged
            .and_then(|s| s.commit())
            .map_err(|e| self.write_error(e))?;
        let before = layers::effective(&target.layers);
        let after = layers::effective(&layers_after);
        let summary = layers::change_summary(&before, &after);
        status!(
            "{} {}{}",
            if target.loaded.original.is_some() {
                "wrote"
            } else {
                "created"
            },
            path.display(),
            if summary.is_empty() {
                String::new()
            } else {
                // The summary quotes the values, which come from the config.
                format!(": {}", escape(&summary.join("; ")))
            }
        );
        let helpers = layers::hosts_of(&after.hosts).is_some_and(|l| {
            l.specs()
                .any(|s| s.kind() == crate::distcc::hosts::Kind::Tcp)
        });
        if say_next && helpers && matches!(after.distcc, Value::Known(ref s) if s.value) {
            status!(
                "next: {} (checks each helper with a real compile)",
                crate::ui::command("probe")
            );
        }
        Ok(())
    }

    /// Sources the layers before and after the edit with real bash and compares what makepkg
    /// would read with what the edit intends. Any difference refuses the write (exit 2).
    /// `meanwhile` runs while bash reads.
    fn verify(
        &self,
        target: &Target,
        after: &[(PathBuf, Document)],
        meanwhile: impl FnOnce(),
    ) -> Result<Verdict> {
        if self.opts.no_verify {
            meanwhile();
            status!(
                "warning: --no-verify: the edit is not checked with bash; makepkg may read \
                 something else than intended"
            );
            return Ok(Verdict::Unchecked);
        }
        let run_as = RunAs::for_process();
        let path = &target.loaded.path;
        let after_texts = texts_of(after);
        let before_texts = texts_of(&target.layers);
        let (after_set, before_set) = (layer_texts(&after_texts), layer_texts(&before_texts));
        // The text before (unless read already; started early when the target was read) and
        // after, side by side.
        let read_before = target.start.get().is_none();
        let early = target.early.borrow_mut().take();
        let pending = match early.filter(|_| read_before) {
            Some(mut early) => early.add(&after_set).map(|()| early),
            None if read_before => Pending::start(&before_set, &run_as).and_then(|mut p| {
                p.add(&after_set)?;
                Ok(p)
            }),
            None => Pending::start(&after_set, &run_as),
        };
        let pending = pending.map_err(|e| bash_failure(e, "nothing written: "))?;
        meanwhile();
        let mut readings = pending
            .readings()
            .map_err(|e| bash_failure(e, "nothing written: "))?
            .into_iter();
        let mut next = || {
            readings
                .next()
                .unwrap_or(Err(BashError::Setup("a reading is missing".into())))
        };
        if read_before {
            let reading = next().map_err(|e| {
                bash_failure(
                    with_stop_line(e, &before_texts, &run_as),
                    "nothing written: ",
                )
            })?;
            self.check_start(target, &reading)?;
            let _ = target.start.set(Some(reading));
        }
        let Some(Some(before)) = target.start.get() else {
            return Ok(Verdict::Unchecked);
        };
        let after_reading = next().map_err(|e| {
            bash_failure(
                with_stop_line(e, &after_texts, &run_as),
                &format!("{}: not written: after this edit, ", path.display()),
            )
        })?;
        // What the edit means makepkg to end with: the layers up to the edited file. A later
        // layer that overrides it makes bash disagree, and the write is refused.
        let upto = target
            .layers
            .iter()
            .position(|(p, _)| p == path)
            .map_or(target.layers.len(), |i| i + 1);
        let intended = Intended::new(
            &layers::effective(&target.layers[..upto]),
            &layers::effective(&after[..upto]),
        );
        let mut problems = compare(&intended, before, &after_reading);
        let mut again = None;
        if before.others != after_reading.others {
            // Other values changed: the unedited text is read again to tell a value that
            // follows from the edit from one that differs on every reading.
            again = bash_check::read(&before_set, &run_as).ok();
        }
        let (follows, unsteady) = others(before, &after_reading, again.as_ref());
        problems.extend(unsteady);
        if problems.is_empty() {
            return Ok(if *before == after_reading {
                Verdict::NoChange
            } else {
                Verdict::Intended(follows)
            });
        }
        let trace = bash_check::trace(&layer_texts(&after_texts), &run_as);
        let origins = &trace.origins;
        let mut lines: Vec<String> = problems
            .iter()
            .map(|p| match origins.get(p.var.as_str()) {
                Some(o) if p.watched => format!(
                    "{} (bash sets it at {}:{})",
                    p.text,
                    o.path.display(),
                    o.line
                ),
                _ => p.text.clone(),
            })
            .collect();
        lines.extend(where_bash_stopped(&trace, &after_texts));
        Err(bad_input(format!(
            "{}: not written: bash would read something else than this edit intends:\n  {}",
            path.display(),
            lines.join("\n  ")
        )))
    }

    /// What bash reads from the target's layers before the edit (None with `--no-verify`):
    /// the early reading, else a new one. A config bash cannot read is refused before any
    /// edit is planned, with bash's own reason.
    pub(super) fn read_start(&self, target: &Target) -> Result<Option<Reading>> {
        if self.opts.no_verify {
            return Ok(None);
        }
        let texts = texts_of(&target.layers);
        let run_as = RunAs::for_process();
        let early = target.early.borrow_mut().take();
        match early {
            Some(early) => early.reading(),
            None => read_layers(&texts, &run_as),
        }
        .map(Some)
        .map_err(|e| bash_failure(with_stop_line(e, &texts, &run_as), "nothing written: "))
    }

    /// What bash reads from `docs` in this environment: `Err` when bash cannot read the
    /// config (the reason), `Ok(None)` when bash cannot be run here.
    pub fn bash_reading(
        &self,
        docs: &[(PathBuf, Document)],
    ) -> std::result::Result<Option<Reading>, String> {
        match read_layers(&texts_of(docs), &RunAs::for_process()) {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_config() => Err(e.to_string()),
            Err(_) => Ok(None),
        }
    }

    /// What bash reads from `docs`, set against the static reading: one line per value where
    /// the two differ (with bash's line where it can be found). `Err` when bash cannot read
    /// the config at all (the reason), `Ok(None)` when bash cannot be run here.
    pub fn bash_differences(
        &self,
        docs: &[(PathBuf, Document)],
    ) -> std::result::Result<Option<(Reading, Vec<String>)>, String> {
        let Some(reading) = self.bash_reading(docs)? else {
            return Ok(None);
        };
        let texts = texts_of(docs);
        let run_as = RunAs::for_process();
        let differences = start_differences(&layers::effective(docs), &reading, &env_value);
        let lines = difference_lines(&differences, &texts, &run_as);
        Ok(Some((reading, lines)))
    }

    /// Refuses an edit whose plan would start from values bash does not read.
    pub(super) fn check_start(&self, target: &Target, reading: &Reading) -> Result<()> {
        let differences =
            start_differences(&layers::effective(&target.layers), reading, &env_value);
        if differences.is_empty() {
            return Ok(());
        }
        let texts = texts_of(&target.layers);
        let lines = difference_lines(&differences, &texts, &RunAs::for_process());
        let place = differences
            .iter()
            .find_map(|d| {
                d.tool
                    .as_ref()
                    .map(|(p, l, _)| format!("{}:{l}", p.display()))
            })
            .unwrap_or_else(|| target.loaded.path.display().to_string());
        Err(bad_input(format!(
            "{place}: nothing written: this tool's reading of the config, which the edit would \
             start from, is not what bash reads:\n  {}\nWrite the value as a plain assignment \
             this tool can read (for example BUILDENV=(distcc ...), DISTCC_HOSTS=\"...\", \
             MAKEFLAGS=\"-jN\"), then run the command again",
            lines.join("\n  ")
        )))
    }

    /// Whether `real` (and its folder, for the atomic rename) can be written, before any
    /// question is asked; the same advice as a failed write.
    pub fn check_writable(&self, real: &Path) -> Result<()> {
        match blocked_write(real) {
            None => Ok(()),
            Some(WriteError::PermissionDenied(p)) => Err(anyhow!(
                "cannot write {} (permission denied), so the answers could not be saved: {}",
                p.display(),
                self.as_root()
            )),
            Some(e) => Err(self.write_error(e)),
        }
    }

    /// A pacman-style question: a whole line is read, and only `y` or `yes` writes.
    fn confirm(&self, path: &Path) -> Result<()> {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(anyhow!(
                "not written: no terminal to confirm on; pass --yes to write {} (or --dry-run to \
                 only look)",
                path.display()
            ));
        }
        let mut err = std::io::stderr();
        let _ = write!(err, "Write {}? [y/N] ", path.display());
        let _ = err.flush();
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        if read.as_ref().is_ok_and(|n| *n == 0) {
            // End of input (Ctrl-D): the shell prompt must start on a line of its own.
            let _ = writeln!(err);
        }
        read.map_err(anyhow::Error::new)?;
        if is_yes(&line) {
            Ok(())
        } else {
            Err(Cancelled(format!("not written: {} is unchanged", path.display())).into())
        }
    }

    pub(super) fn write_error(&self, e: WriteError) -> anyhow::Error {
        match e {
            WriteError::PermissionDenied(p) => anyhow!(
                "permission denied writing {}; nothing was changed: {}",
                p.display(),
                self.as_root()
            ),
            WriteError::Ownership(ref p, uid, _) => {
                // SAFETY: geteuid has no preconditions.
                let own = unsafe { libc::geteuid() } == uid;
                let way = if own {
                    // SAFETY: getegid has no preconditions.
                    let group = write::group_name(unsafe { libc::getegid() });
                    format!(
                        "give the file your group (chgrp {} {}), or {}",
                        super::shell_quote(&group),
                        super::shell_quote(&p.display().to_string()),
                        self.as_root()
                    )
                } else {
                    self.as_root()
                };
                anyhow!("{e}; nothing was changed: {way}")
            }
            other => anyhow::Error::new(other),
        }
    }
}

/// Why writing `real` would fail for this user, known before the write: a folder it cannot
/// write, or an owner or group its replacement could not be given.
fn blocked_write(real: &Path) -> Option<WriteError> {
    if let Some(p) = unwritable(real) {
        return Some(WriteError::PermissionDenied(p));
    }
    write::unkeepable_owner(real)
        .map(|(uid, gid)| WriteError::Ownership(real.to_path_buf(), uid, gid))
}

/// The folder the write needs and this user cannot write (where the temp file is made and
/// renamed over `real`; for a new drop-in folder, the nearest folder that exists), if any.
/// `real` itself need not be writable: the rename replaces it, as `sed -i` does.
fn unwritable(real: &Path) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let dir = real
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let existing = dir
        .ancestors()
        .find(|d| d.as_os_str().is_empty() || d.exists())?;
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: a valid NUL-terminated path; access has no other preconditions.
    let denied = unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0;
    denied.then(|| existing.to_path_buf())
}

/// `y` or `yes` in any case, with blanks around; anything else (Enter included) is no.
pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// A bash reading that failed. The config's own fault (a syntax error, an `exit`) is bad
/// input, exit 2; this machine's (no bash, no temp folder) a failure, exit 1. Where the text
/// itself is not the cause (or may not be: a time-out), `--no-verify` is the way past.
/// `LINE: text` of the line where bash ended a file's reading with `exit` or `return`, if
/// the traced run shows one: the lines after it are never read, by bash or makepkg.
fn stop_line(trace: &bash_check::Trace, path: &Path, text: &[u8]) -> Option<String> {
    let line = *trace.last_lines.get(path)?;
    let at = String::from_utf8_lossy(text)
        .lines()
        .nth(line.checked_sub(1)?)?
        .trim()
        .to_string();
    let words: Vec<&str> = at
        .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
        .collect();
    (words.contains(&"exit") || words.contains(&"return")).then(|| {
        format!(
            "bash stops reading {} at line {line} (`{}`), and reads nothing after it",
            path.display(),
            crate::ui::escape(&at)
        )
    })
}

/// A config bash stopped reading (an `exit`) gets the file and line it stopped at.
fn with_stop_line(e: BashError, texts: &Texts, run_as: &RunAs) -> BashError {
    let BashError::Stopped { path, stderr, .. } = e else {
        return e;
    };
    let trace = bash_check::trace(&layer_texts(texts), run_as);
    let at = texts
        .iter()
        .find(|(p, _, _)| *p == path)
        .and_then(|(p, text, _)| stop_line(&trace, p, text));
    BashError::Stopped { path, stderr, at }
}

fn bash_failure(e: BashError, lead: &str) -> anyhow::Error {
    let hint = if !e.is_config() || e == BashError::TimedOut {
        "\n(to write without the check, which is unsafe, add --no-verify)"
    } else {
        ""
    };
    let message = format!("{lead}{e}{hint}");
    if e.is_config() {
        bad_input(message)
    } else {
        anyhow!(message)
    }
}

/// The atomic rename would split a file with several names: refuse rather than do it silently.
fn check_links(real: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if let Ok(meta) = std::fs::metadata(real)
        && meta.nlink() > 1
    {
        return Err(bad_input(format!(
            "{} has {} hard links: replacing it atomically would leave the other names with the \
             old text. Nothing written; make it a single file (or a symlink) first",
            real.display(),
            meta.nlink()
        )));
    }
    Ok(())
}

/// Each layer's path, text, and whether another layer sources it (bash then reads it at
/// that `source` line).
type Texts = Vec<(PathBuf, Vec<u8>, bool)>;

pub(super) fn texts_of(docs: &[(PathBuf, Document)]) -> Texts {
    let sourced: std::collections::HashSet<PathBuf> = docs
        .iter()
        .flat_map(|(_, d)| d.sourced_files().into_iter().map(|(_, f)| f))
        .collect();
    docs.iter()
        .map(|(p, d)| (p.clone(), d.as_bytes().to_vec(), sourced.contains(p)))
        .collect()
}

pub(super) fn layer_texts(texts: &Texts) -> Vec<LayerText<'_>> {
    texts
        .iter()
        .map(|(path, text, sourced)| LayerText {
            path,
            text,
            sourced: *sourced,
        })
        .collect()
}

fn read_layers(texts: &Texts, run_as: &RunAs) -> Result<Reading, BashError> {
    bash_check::read(&layer_texts(texts), run_as)
}

/// A variable as bash gets it from the environment this process passes on.
fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// One line per difference: what bash reads (and where it sets it, from a traced run made
/// only when there is a difference), and where the static reading has something else; then
/// where bash stopped reading a file, and bash's own complaints.
fn difference_lines(differences: &[StartDifference], texts: &Texts, run_as: &RunAs) -> Vec<String> {
    if differences.is_empty() {
        return Vec::new();
    }
    let trace = bash_check::trace(&layer_texts(texts), run_as);
    let mut lines: Vec<String> = differences
        .iter()
        .map(|d| {
            let at = trace
                .origins
                .get(d.var)
                .map(|o| format!(" (bash sets it at {}:{})", o.path.display(), o.line))
                .unwrap_or_default();
            match &d.tool {
                Some((path, line, says)) => format!(
                    "bash reads {}{at}, though {}:{line} says {says}",
                    d.bash,
                    path.display()
                ),
                None => format!(
                    "bash reads {}{at}, though no line this tool reads sets it",
                    d.bash
                ),
            }
        })
        .collect();
    lines.extend(where_bash_stopped(&trace, texts));
    lines
}

/// From a traced run: where bash stopped reading a file early, and bash's own complaints.
fn where_bash_stopped(trace: &bash_check::Trace, texts: &Texts) -> Vec<String> {
    texts
        .iter()
        .filter_map(|(p, text, _)| stop_line(trace, p, text))
        .chain(
            trace
                .errors
                .iter()
                .map(|e| format!("bash says: {}", crate::ui::escape(e))),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_is_yes() {
        for yes in ["y\n", "Y\n", "yes\n", " YeS \n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "okay\n", "maybe\n", "nope\n", "yess\n", "n\n"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
