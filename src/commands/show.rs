//! `show`: the distcc setup as makepkg will see it, as text or JSON.

use crate::conf::bash_check::Reading;
use crate::conf::bash_check::compare::{computed_distcc, computed_hosts, computed_jobs};
use crate::conf::document::Document;
use crate::conf::layers::{self, Effective, FromEnvironment, Makepkg, Value};
use crate::conf::makeflags::JobCount;
use crate::distcc::hosts::HostList;
use crate::session::Session;
use crate::ui::{Tone, escape, paint, status};
use anyhow::Result;
use std::path::PathBuf;

fn origin<T>(v: &Value<T>) -> Option<(String, usize)> {
    match v {
        Value::Known(s) => Some((s.path.display().to_string(), s.line)),
        Value::Unknown { path, line, .. } => Some((path.display().to_string(), *line)),
        Value::Unset => None,
    }
}

fn at<T>(v: &Value<T>) -> String {
    origin(v).map_or(String::new(), |(p, l)| format!("  ({}:{l})", escape(&p)))
}

fn jobs_of(eff: &Effective, env: &FromEnvironment) -> Option<JobCount> {
    match &eff.makeflags {
        Value::Known(m) => m.value.jobs.clone(),
        Value::Unset => env.jobs(),
        Value::Unknown { .. } => None,
    }
}

/// Where a value no file sets comes from, when the environment gives it.
const FROM_ENVIRONMENT: &str = "  (from the environment: no file sets it)";

/// `bash`: what bash reads here, shown where shell code decides a value (None: not run).
pub fn show_text(
    docs: &[(PathBuf, Document)],
    eff: &Effective,
    env: &FromEnvironment,
    bash: Option<&Reading>,
    color: bool,
) -> String {
    let computed = bash.and_then(|r| computed_hosts(eff, r));
    let computed = computed.as_ref();
    let bash_distcc = bash.and_then(|r| computed_distcc(eff, r));
    let bash_jobs = bash.and_then(|r| computed_jobs(eff, r));
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "makepkg reads, in order:");
    for (p, _) in docs {
        let _ = writeln!(out, "  {}", escape(&p.display().to_string()));
    }
    let distcc = match &eff.distcc {
        Value::Known(s) if s.value => paint(color, Tone::Good, "on"),
        Value::Known(_) => paint(color, Tone::Warn, "off"),
        Value::Unknown { text, .. } => {
            let read = match bash_distcc {
                Some(on) => format!("; bash reads it {} here", if on { "on" } else { "off" }),
                None => String::new(),
            };
            paint(
                color,
                if bash_distcc == Some(true) {
                    Tone::Good
                } else {
                    Tone::Warn
                },
                &format!("decided by shell code: {}{read}", escape(text)),
            )
        }
        Value::Unset => paint(color, Tone::Warn, "off (BUILDENV has no distcc entry)"),
    };
    let _ = writeln!(out, "distcc:       {distcc}{}", at(&eff.distcc));
    let list = env
        .hosts_after(&eff.hosts)
        .or_else(|| computed.map(|c| HostList::parse(&c.value)));
    match &eff.hosts {
        Value::Known(s) => {
            let _ = writeln!(
                out,
                "DISTCC_HOSTS: \"{}\"{}",
                escape(&s.value),
                at(&eff.hosts)
            );
        }
        Value::Unset if env.hosts.is_some() => {
            let hosts = escape(env.hosts.as_deref().unwrap_or_default());
            let _ = writeln!(out, "DISTCC_HOSTS: \"{hosts}\"{FROM_ENVIRONMENT}");
        }
        Value::Unknown { text, .. } => {
            let _ = writeln!(
                out,
                "DISTCC_HOSTS: computed: {}{}",
                escape(text),
                at(&eff.hosts)
            );
            if let Some(c) = computed {
                let read = if c.value.is_empty() {
                    "bash reads no host from it here".to_string()
                } else {
                    format!("bash reads it here as \"{}\"", escape(&c.value))
                };
                let _ = writeln!(out, "  {read}");
            }
        }
        Value::Unset => {
            let _ = writeln!(
                out,
                "DISTCC_HOSTS: not set (distcc falls back to ~/.distcc/hosts, /etc/distcc/hosts)"
            );
        }
    }
    let total = list.as_ref().map_or(0, HostList::total_slots);
    if let Some(list) = list.as_ref().filter(|l| !l.tokens.is_empty()) {
        let _ = writeln!(
            out,
            "  {:<28} {:>5} {:>5}  {:<10} KIND",
            "HOST", "PORT", "SLOTS", "OPTIONS"
        );
        for t in &list.tokens {
            match &t.spec {
                Ok(spec) => {
                    let opts: Vec<String> =
                        spec.options().iter().map(ToString::to_string).collect();
                    let _ = writeln!(
                        out,
                        "  {:<28} {:>5} {:>5}  {:<10} {}",
                        escape(spec.host().unwrap_or(&t.raw)),
                        spec.port().map_or("-".into(), |p| p.to_string()),
                        if spec.slots() == 0 {
                            "-".into()
                        } else {
                            spec.slots().to_string()
                        },
                        escape(&opts.join(",")),
                        spec.kind()
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "  {:<28} {}",
                        escape(&t.raw),
                        paint(color, Tone::Bad, &format!("INVALID: {}", e.reason))
                    );
                }
            }
        }
        for spec in list.specs().filter(|s| s.means_this_machine()) {
            let _ = writeln!(
                out,
                "  {}",
                paint(
                    color,
                    Tone::Warn,
                    &format!(
                        "note: `{}` has no port, so distcc sends its jobs to a distccd on this \
                         machine's port 3632; this machine's own slots are localhost/{n} ({})",
                        escape(&spec.to_string()),
                        // set-local cannot write a computed list.
                        if computed.is_some() {
                            format!(
                                "write localhost/{} where the list is computed",
                                spec.slots()
                            )
                        } else {
                            format!("`alarm-distcc set-local {}` rewrites it so", spec.slots())
                        },
                        n = spec.slots()
                    )
                )
            );
        }
        let _ = writeln!(out, "  total slots: {total}");
        for concern in list.slot_concerns() {
            let _ = writeln!(
                out,
                "  {}",
                paint(color, Tone::Warn, &format!("warning: {}", escape(&concern)))
            );
        }
    }
    match &eff.makeflags {
        Value::Known(m) => {
            let _ = writeln!(
                out,
                "MAKEFLAGS:    \"{}\"{}",
                escape(&m.value.text),
                at(&eff.makeflags)
            );
        }
        Value::Unknown { text, .. } => {
            let _ = writeln!(
                out,
                "MAKEFLAGS:    set by shell code: {}{}",
                escape(text),
                at(&eff.makeflags)
            );
        }
        Value::Unset => match &env.makeflags {
            Some(m) => {
                let _ = writeln!(out, "MAKEFLAGS:    \"{}\"{FROM_ENVIRONMENT}", escape(m));
            }
            None => {
                let _ = writeln!(out, "MAKEFLAGS:    not set");
            }
        },
    }
    let distcc_on = matches!(&eff.distcc, Value::Known(s) if s.value) || bash_distcc == Some(true);
    let invalid = list
        .as_ref()
        .and_then(|l| l.invalid().next().map(|b| b.token.clone()));
    let list_ignored = invalid.is_some();
    let verdict = if let Some(token) = invalid {
        // sort would refuse such a list: the token goes first.
        let host = token
            .split(['/', ':', ','])
            .next()
            .unwrap_or(&token)
            .to_string();
        match computed {
            Some(c) => format!(
                "`{}` makes distcc ignore the whole list; remove it from what the list is \
                 computed from (line {})",
                escape(&token),
                c.line
            ),
            None => format!(
                "`{}` makes distcc ignore the whole list; remove it first: alarm-distcc \
                 remove-host {}",
                escape(&token),
                crate::session::shell_quote(&host)
            ),
        }
    } else if matches!(eff.hosts, Value::Unknown { .. }) {
        match computed {
            Some(_) if !distcc_on && total > 0 => {
                "distcc is off here, so -j is this machine's own".to_string()
            }
            // sort cannot write a computed list: -j is for the user to write.
            Some(_) if total > 0 => jobs_line(
                eff,
                env,
                bash_jobs,
                total,
                &format!("sort cannot (the list is computed): write MAKEFLAGS=\"-j{total}\""),
            ),
            _ => "DISTCC_HOSTS is computed when makepkg runs, so -j cannot be checked against \
                  its slots"
                .to_string(),
        }
    } else if distcc_on || total == 0 {
        jobs_line(
            eff,
            env,
            bash_jobs,
            total,
            &format!("`alarm-distcc sort` sets -j{total}"),
        )
    } else {
        // A deliberate `disable`: -j is for this machine alone, not the helpers' slots.
        "distcc is off, so -j is this machine's own; `alarm-distcc enable` sets it to the slots"
            .to_string()
    };
    let tone = if list_ignored {
        Tone::Bad
    } else if verdict.starts_with("MISMATCH") {
        Tone::Warn
    } else if total == 0 {
        Tone::Dim
    } else {
        Tone::Good
    };
    let _ = writeln!(out, "  {}", paint(color, tone, &verdict));
    out
}

/// -j against the slots, with what bash reads where shell code gives the count
/// (`bash_jobs`, None when the count is plain or bash was not run); `fix` says how a plain
/// MAKEFLAGS line gets the slots' count.
fn jobs_line(
    eff: &Effective,
    env: &FromEnvironment,
    bash_jobs: Option<Option<u32>>,
    total: u32,
    fix: &str,
) -> String {
    if total == 0 {
        return jobs_verdict(None, 0, fix);
    }
    match (&eff.makeflags, bash_jobs) {
        // sort refuses to rewrite MAKEFLAGS inside shell logic: the code is the user's.
        (Value::Unknown { .. }, Some(Some(n))) if n == total => {
            format!("-j{n} matches the {total} slots (as bash reads it here)")
        }
        (Value::Unknown { .. }, Some(jobs)) => format!(
            "MISMATCH: bash reads {} here, but the hosts have {total} slots; MAKEFLAGS is set \
             by shell code: make it give -j{total}",
            jobs.map_or("no -j".to_string(), |n| format!("-j{n}"))
        ),
        (Value::Unknown { .. }, None) => {
            "MAKEFLAGS is set by shell code, so -j cannot be checked against the slots".into()
        }
        (_, Some(Some(n))) => format!(
            "{} (bash reads -j{n} here)",
            jobs_verdict(jobs_of(eff, env), total, fix)
        ),
        _ => jobs_verdict(jobs_of(eff, env), total, fix),
    }
}

fn jobs_verdict(jobs: Option<JobCount>, total: u32, fix: &str) -> String {
    if total == 0 {
        // Nothing to match -j against yet.
        return "no hosts yet: add a helper first (`alarm-distcc add-host HOST:PORT/SLOTS`); -j \
                then follows the slots"
            .into();
    }
    match jobs {
        Some(JobCount::Fixed(n)) if n == total => format!("-j{n} matches the {total} slots"),
        Some(JobCount::Fixed(n)) => {
            format!("MISMATCH: -j{n} but the hosts have {total} slots; {fix}")
        }
        Some(JobCount::Computed(e)) => {
            format!("MISMATCH: -j{e} is computed when makepkg runs, not the {total} slots; {fix}")
        }
        Some(JobCount::Unlimited) => format!("MISMATCH: -j without a limit; {fix}"),
        None if total > 0 => format!("MISMATCH: no -j, so make runs one job; {fix}"),
        None => "no -j".into(),
    }
}

pub fn show_json(
    docs: &[(PathBuf, Document)],
    eff: &Effective,
    env: &FromEnvironment,
) -> serde_json::Value {
    use serde_json::json;
    let src = |v: Option<(String, usize)>| match v {
        Some((file, line)) => json!({"file": file, "line": line}),
        None => serde_json::Value::Null,
    };
    let list = env.hosts_after(&eff.hosts);
    let total = list.as_ref().map_or(0, HostList::total_slots);
    // A value no file sets but the environment gives: its source names the variable.
    let from_env = |name: &str| json!({"environment": name});
    let entries: Vec<serde_json::Value> = list
        .iter()
        .flat_map(|l| l.tokens.iter())
        .map(|t| match &t.spec {
            Ok(s) => json!({
                "spec": t.raw, "valid": true, "kind": s.kind().to_string(),
                "host": s.host(), "port": s.port(), "slots": s.slots(),
                "options": s.options().iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
            Err(e) => json!({"spec": t.raw, "valid": false, "error": e.reason}),
        })
        .collect();
    let jobs = jobs_of(eff, env);
    json!({
        "files": docs.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
        "distcc": {
            "enabled": matches!(&eff.distcc, Value::Known(s) if s.value),
            "known": !matches!(eff.distcc, Value::Unknown { .. }),
            "source": src(origin(&eff.distcc)),
        },
        "hosts": {
            "value": match (&eff.hosts, &env.hosts) {
                (Value::Known(s), _) => json!(s.value),
                (Value::Unset, Some(h)) => json!(h),
                _ => serde_json::Value::Null,
            },
            "set": !matches!(eff.hosts, Value::Unset) || env.hosts.is_some(),
            "source": match (&eff.hosts, &env.hosts) {
                (Value::Unset, Some(_)) => from_env("DISTCC_HOSTS"),
                _ => src(origin(&eff.hosts)),
            },
            "entries": entries,
            "total_slots": total,
        },
        "makeflags": {
            "value": match (&eff.makeflags, &env.makeflags) {
                (Value::Known(m), _) => json!(m.value.text),
                (Value::Unset, Some(m)) => json!(m),
                _ => serde_json::Value::Null,
            },
            "jobs": match &jobs { Some(JobCount::Fixed(n)) => json!(n), _ => serde_json::Value::Null },
            "jobs_computed": match &jobs { Some(JobCount::Computed(e)) => json!(e), _ => serde_json::Value::Null },
            "matches_slots": matches!(jobs, Some(JobCount::Fixed(n)) if n == total),
            "source": match (&eff.makeflags, &env.makeflags) {
                (Value::Unset, Some(_)) => from_env("MAKEFLAGS"),
                _ => src(origin(&eff.makeflags)),
            },
        },
    })
}

/// What the files read depend on: the makepkg version found here.
fn makepkg_note(session: &Session) -> Option<String> {
    let dir = layers::drop_in_dir(&session.main);
    match session.env.makepkg() {
        Makepkg::Version(v) if !session.env.makepkg().reads_drop_ins() && dir.is_dir() => {
            Some(format!(
                "makepkg {v} here does not read {} (drop-ins came with pacman 6.1)",
                dir.display()
            ))
        }
        Makepkg::NotFound => Some(
            "makepkg is not on PATH here; assuming pacman 6.1 or later (reads makepkg.conf.d)"
                .into(),
        ),
        _ => None,
    }
}

pub fn run(session: &Session, json: bool) -> Result<()> {
    let docs = session.layers()?;
    let eff = layers::effective(&docs);
    let env = FromEnvironment::of_process(&eff);
    let read_by_bash = session.bash_differences(&docs);
    let reading = match &read_by_bash {
        Ok(Some((reading, _))) => Some(reading),
        _ => None,
    };
    if json {
        let mut v = show_json(&docs, &eff, &env);
        if let Some(c) = reading.and_then(|r| computed_hosts(&eff, r)) {
            v["hosts_read_by_bash"] = serde_json::json!(c.value);
        }
        if let Some(on) = reading.and_then(|r| computed_distcc(&eff, r)) {
            v["enabled_read_by_bash"] = serde_json::json!(on);
        }
        if let Some(jobs) = reading.and_then(|r| computed_jobs(&eff, r)) {
            v["jobs_read_by_bash"] = serde_json::json!(jobs);
        }
        v["makepkg"] = match session.env.makepkg() {
            Makepkg::Version(version) => serde_json::json!({
                "version": version,
                "reads_drop_ins": session.env.makepkg().reads_drop_ins(),
            }),
            Makepkg::NotFound => serde_json::Value::Null,
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
        notes_on_the_files(&docs, read_by_bash);
    } else {
        // Values come from the files and the environment: only this tool's own colour codes
        // reach the terminal.
        let text = crate::ui::escape_except_colors(&show_text(
            &docs,
            &eff,
            &env,
            reading,
            session.opts.color,
        ));
        // Every command it suggests runs as printed, on the same file.
        let text = text.replace("alarm-distcc ", &crate::ui::command(""));
        let text = match makepkg_note(session) {
            // Right under the list of files it explains.
            Some(note) => {
                let (files, rest) = text.split_at(text.find("distcc:").unwrap_or(0));
                format!("{files}  ({})\n{rest}", crate::ui::escape(&note))
            }
            None => text,
        };
        // In a narrow terminal a long line (CFLAGS, a note) continues a little further in.
        print!(
            "{}",
            crate::ui::fit_report(&text, &console::Term::stdout(), 4)
        );
        notes_on_the_files(&docs, read_by_bash);
    }
    Ok(())
}

/// Where bash reads something else than the plain lines say, and what an interrupted write
/// left behind.
fn notes_on_the_files(
    docs: &[(std::path::PathBuf, crate::conf::document::Document)],
    read_by_bash: std::result::Result<Option<(Reading, Vec<String>)>, String>,
) {
    match read_by_bash {
        Ok(Some((_, differences))) => {
            for d in differences {
                status!("note: {}", crate::ui::escape(&d));
            }
        }
        Ok(None) => {
            status!("note: bash could not be run here, so this is the static reading only")
        }
        Err(why) => status!(
            "warning: makepkg cannot read this config: {}",
            crate::ui::escape(&why)
        ),
    }
    for (path, _) in docs {
        for temp in crate::conf::write::leftover_temps(path) {
            status!(
                "note: {} is left from an interrupted write (makepkg does not read it); the next \
                 edit removes it, or: rm {}",
                temp.display(),
                crate::session::shell_quote(&temp.display().to_string())
            );
        }
    }
}
