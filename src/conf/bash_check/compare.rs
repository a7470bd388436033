//! What an edit intends makepkg to read, set against what bash reads after it: the pure
//! half of the bash check, from the static readings before and after and bash's readings.

use super::{BashVar, Reading};
use crate::conf::layers::{Effective, Value};
use crate::conf::makeflags::{JobCount, find_job_flags};
use crate::ui::escape;
use std::path::PathBuf;

/// What the edit means makepkg to read, for each distcc value the edit changes (static
/// reading before and after differ); None where the value is not meant to change, so bash's
/// reading after must equal its reading before.
pub struct Intended {
    pub distcc: Option<bool>,
    pub hosts: Option<Option<String>>,
    pub jobs: Option<Option<u32>>,
}

impl Intended {
    pub fn new(before: &Effective, after: &Effective) -> Intended {
        let on = |v: &Value<bool>| match v {
            Value::Known(s) => Some(s.value),
            Value::Unset => Some(false),
            Value::Unknown { .. } => None,
        };
        let hosts = |v: &Value<String>| match v {
            Value::Known(s) => Some(Some(tokens(&s.value))),
            Value::Unset => Some(None),
            Value::Unknown { .. } => None,
        };
        // The count the edit writes is the last fixed `-j` of the new text, whatever the
        // static reading makes of the words around it.
        let text = |v: &Value<crate::conf::view::Makeflags>| match v {
            Value::Known(m) => Some(m.value.text.clone()),
            Value::Unset => None,
            Value::Unknown { text, .. } => Some(text.clone()),
        };
        let (text_before, text_after) = (text(&before.makeflags), text(&after.makeflags));
        let jobs = (text_before != text_after).then(|| {
            text_after.as_deref().and_then(|t| {
                find_job_flags(t.as_bytes())
                    .iter()
                    .rev()
                    .find_map(|f| match f.count {
                        JobCount::Fixed(n) => Some(n),
                        _ => None,
                    })
            })
        });
        Intended {
            distcc: changed(on(&before.distcc), on(&after.distcc)),
            hosts: changed(hosts(&before.hosts), hosts(&after.hosts)),
            jobs,
        }
    }
}

/// The value after, when the edit changes it.
fn changed<T: PartialEq>(before: Option<T>, after: Option<T>) -> Option<T> {
    if before != after { after } else { None }
}

/// A host list as distcc splits it: its words, one space apart.
pub fn tokens(hosts: &str) -> String {
    hosts.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The last `-j` count bash's MAKEFLAGS gives make, and its other words.
pub fn jobs_and_rest(value: &str) -> (Option<u32>, Vec<String>) {
    let flags = find_job_flags(value.as_bytes());
    let jobs = flags.last().and_then(|f| match f.count {
        JobCount::Fixed(n) => Some(n),
        _ => None,
    });
    let mut rest = String::new();
    let mut at = 0;
    for f in &flags {
        rest.push_str(&value[at..f.range.start]);
        rest.push(' ');
        at = f.range.end;
    }
    rest.push_str(&value[at..]);
    (jobs, rest.split_whitespace().map(String::from).collect())
}

pub struct Problem {
    /// The variable, as the origin trace names it.
    pub var: String,
    /// Whether the trace follows it (the three distcc variables).
    pub watched: bool,
    pub text: String,
}

/// A value for a message: quoted and escaped, or "nothing (unset)".
pub fn shown(v: &Option<String>) -> String {
    match v {
        Some(v) => format!("\"{}\"", escape(v)),
        None => "nothing (unset)".into(),
    }
}

/// Every way bash's reading after the edit differs from what was intended (or, for what
/// the edit does not touch, from bash's reading before it).
impl Problem {
    fn new(var: &str, watched: bool, text: String) -> Problem {
        Problem {
            var: var.into(),
            watched,
            text,
        }
    }
}

pub fn compare(intended: &Intended, before: &Reading, after: &Reading) -> Vec<Problem> {
    let mut out = Vec::new();
    compare_buildenv(intended, before, after, &mut out);
    compare_hosts(intended, before, after, &mut out);
    compare_makeflags(intended, before, after, &mut out);
    out
}

/// distcc's entry as makepkg decides it, and BUILDENV's other entries.
fn compare_buildenv(
    intended: &Intended,
    before: &Reading,
    after: &Reading,
    out: &mut Vec<Problem>,
) {
    let mut push =
        |var: &str, watched: bool, text: String| out.push(Problem::new(var, watched, text));
    let on_off = |on: bool| if on { "on" } else { "off" };
    match intended.distcc {
        Some(want) if after.distcc_on() != want => push(
            "BUILDENV",
            true,
            format!(
                "distcc in BUILDENV: intended {}, bash reads {}",
                on_off(want),
                on_off(after.distcc_on())
            ),
        ),
        None if after.distcc != before.distcc => push(
            "BUILDENV",
            true,
            format!(
                "distcc in BUILDENV: meant to stay {}, bash reads {}",
                on_off(before.distcc_on()),
                on_off(after.distcc_on())
            ),
        ),
        _ => {}
    }
    if after.buildenv_rest != before.buildenv_rest {
        push(
            "BUILDENV",
            true,
            format!(
                "BUILDENV's other entries: meant to stay ({}), bash reads ({})",
                escape(&before.buildenv_rest.join(" ")),
                escape(&after.buildenv_rest.join(" "))
            ),
        );
    }
}

/// DISTCC_HOSTS (and MAKEFLAGS') shape, and the host list.
fn compare_hosts(intended: &Intended, before: &Reading, after: &Reading, out: &mut Vec<Problem>) {
    let mut push =
        |var: &str, watched: bool, text: String| out.push(Problem::new(var, watched, text));
    for (name, var) in [
        ("DISTCC_HOSTS", &after.hosts),
        ("MAKEFLAGS", &after.makeflags),
    ] {
        if var.as_ref().is_some_and(|v| v.array) {
            push(
                name,
                true,
                format!(
                    "{name} is an array in bash, which makepkg cannot hand to distcc and make \
                     (write it as a string: {name}=\"...\")"
                ),
            );
        }
    }
    let hosts_of = |r: &Reading| r.hosts.as_ref().map(|h| tokens(&h.value));
    match &intended.hosts {
        Some(want) if hosts_of(after) != *want => push(
            "DISTCC_HOSTS",
            true,
            format!(
                "DISTCC_HOSTS: intended {}, bash reads {}",
                shown(want),
                shown(&hosts_of(after))
            ),
        ),
        None if hosts_of(after) != hosts_of(before) => push(
            "DISTCC_HOSTS",
            true,
            format!(
                "DISTCC_HOSTS: meant to stay {}, bash reads {}",
                shown(&hosts_of(before)),
                shown(&hosts_of(after))
            ),
        ),
        _ => {}
    }
}

/// MAKEFLAGS' last -j and its other words.
fn compare_makeflags(
    intended: &Intended,
    before: &Reading,
    after: &Reading,
    out: &mut Vec<Problem>,
) {
    let mut push =
        |var: &str, watched: bool, text: String| out.push(Problem::new(var, watched, text));
    let mf = |r: &Reading| jobs_and_rest(r.makeflags.as_ref().map_or("", |m| &m.value));
    let ((jobs_before, rest_before), (jobs_after, rest_after)) = (mf(before), mf(after));
    let j = |n: Option<u32>| n.map_or("no -j".to_string(), |n| format!("-j{n}"));
    if let Some(m) = &after.makeflags
        && let Some(last) = find_job_flags(m.value.as_bytes()).pop()
        && matches!(last.count, JobCount::Computed(_))
    {
        push(
            "MAKEFLAGS",
            true,
            format!(
                "MAKEFLAGS: bash reads `{}`, which is not a job count make takes (MAKEFLAGS=\"{}\")",
                escape(&last.text),
                escape(&m.value)
            ),
        );
    }
    match intended.jobs {
        Some(want) if jobs_after != want => push(
            "MAKEFLAGS",
            true,
            format!(
                "MAKEFLAGS: intended {}, bash reads {}{}",
                j(want),
                j(jobs_after),
                after
                    .makeflags
                    .as_ref()
                    .map_or(" (MAKEFLAGS unset)".into(), |m| format!(
                        " (MAKEFLAGS=\"{}\")",
                        escape(&m.value)
                    ))
            ),
        ),
        None if jobs_after != jobs_before => push(
            "MAKEFLAGS",
            true,
            format!(
                "MAKEFLAGS: meant to keep {}, bash reads {}",
                j(jobs_before),
                j(jobs_after)
            ),
        ),
        _ => {}
    }
    if rest_after != rest_before {
        push(
            "MAKEFLAGS",
            true,
            format!(
                "MAKEFLAGS' other words: meant to stay \"{}\", bash reads \"{}\"",
                escape(&rest_before.join(" ")),
                escape(&rest_after.join(" "))
            ),
        );
    }
}

/// Every other variable bash reads differently after the edit. One that follows from the
/// edit (`NINJAFLAGS="$MAKEFLAGS"`) is the user's own intent and is shown, not refused; one
/// that read differently in two readings of the unedited text (`again`: state, time,
/// randomness) cannot be told from a wrong edit, and is a problem. Without a second
/// reading every change is a problem.
pub fn others(
    before: &Reading,
    after: &Reading,
    again: Option<&Reading>,
) -> (Vec<String>, Vec<Problem>) {
    let (mut follows, mut problems) = (Vec::new(), Vec::new());
    let names: std::collections::BTreeSet<&String> =
        before.others.keys().chain(after.others.keys()).collect();
    let value = |v: Option<&String>| {
        v.map_or("unset".to_string(), |d| {
            let d = d.trim_end();
            let d = d.splitn(3, ' ').nth(2).unwrap_or(d);
            let d = d.split_once('=').map_or(d, |(_, v)| v);
            let d: String = d.chars().take(120).collect();
            format!("`{}`", escape(&d))
        })
    };
    for name in names {
        let (b, a) = (before.others.get(name), after.others.get(name));
        if b == a {
            continue;
        }
        let steady = again.is_some_and(|r| r.others.get(name) == b);
        if !steady {
            let why = if again.is_some() {
                " (it reads differently each time bash reads the unedited text, so the edit's \
                 effect on it cannot be told)"
            } else {
                ""
            };
            problems.push(Problem::new(
                name,
                false,
                format!(
                    "{} would change too: {} before, {} after{why}",
                    escape(name),
                    value(b),
                    value(a)
                ),
            ));
            continue;
        }
        let contains = |decl: Option<&String>, v: Option<&BashVar>| {
            decl.zip(v)
                .is_some_and(|(d, v)| !v.value.is_empty() && d.contains(&v.value))
        };
        let source = [
            ("MAKEFLAGS", &before.makeflags, &after.makeflags),
            ("DISTCC_HOSTS", &before.hosts, &after.hosts),
        ]
        .into_iter()
        .find(|(_, vb, va)| contains(b, vb.as_ref()) && contains(a, va.as_ref()))
        .map_or("the edit", |(n, _, _)| n);
        follows.push(format!(
            "{} follows {source}: {} -> {}",
            escape(name),
            value(b),
            value(a)
        ));
    }
    (follows, problems)
}

/// A value the static reading of the layers (what every plan is made from) gives otherwise
/// than bash does, before any edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartDifference {
    /// The variable, as the origin trace names it.
    pub var: &'static str,
    /// What bash reads, as a message part ("distcc on in BUILDENV").
    pub bash: String,
    /// Where and what the static reading has; None where no layer sets it as far as it sees.
    pub tool: Option<(PathBuf, usize, String)>,
}

/// Where the static reading and bash's differ on what a plan starts from: distcc on or off,
/// the host list, the fixed job count. A value the config leaves alone and the environment
/// gives (`env`) is not a difference: no layer sets it, for either reading.
pub fn start_differences(
    eff: &Effective,
    reading: &Reading,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<StartDifference> {
    let mut out = Vec::new();
    let on_off = |on: bool| if on { "on" } else { "off" };
    let static_on = match &eff.distcc {
        Value::Known(s) => Some((
            s.value,
            Some((
                s.path.clone(),
                s.line,
                if s.value { "distcc" } else { "!distcc" }.to_string(),
            )),
        )),
        Value::Unset => Some((false, None)),
        Value::Unknown { .. } => None,
    };
    if let Some((on, tool)) = static_on
        && on != reading.distcc_on()
    {
        out.push(StartDifference {
            var: "BUILDENV",
            bash: format!("distcc {} in BUILDENV", on_off(reading.distcc_on())),
            tool,
        });
    }
    let bash_hosts = reading.hosts.as_ref().map(|h| tokens(&h.value));
    let from_env = |name: &str, value: &Option<String>| {
        value.is_some() && env(name).map(|v| tokens(&v)) == value.as_ref().map(|v| tokens(v))
    };
    match &eff.hosts {
        // Empty and unset both list no host.
        Value::Known(s) if tokens(&s.value) != bash_hosts.clone().unwrap_or_default() => {
            out.push(StartDifference {
                var: "DISTCC_HOSTS",
                bash: format!("DISTCC_HOSTS={}", shown(&bash_hosts)),
                tool: Some((s.path.clone(), s.line, format!("\"{}\"", escape(&s.value)))),
            })
        }
        Value::Unset
            if bash_hosts.as_deref().is_some_and(|h| !h.is_empty())
                && !from_env("DISTCC_HOSTS", &bash_hosts) =>
        {
            out.push(StartDifference {
                var: "DISTCC_HOSTS",
                bash: format!("DISTCC_HOSTS={}", shown(&bash_hosts)),
                tool: None,
            })
        }
        _ => {}
    }
    let bash_mf = reading.makeflags.as_ref().map(|m| m.value.clone());
    let (bash_jobs, _) = jobs_and_rest(bash_mf.as_deref().unwrap_or(""));
    match &eff.makeflags {
        Value::Known(s) => {
            let (static_jobs, _) = jobs_and_rest(&s.value.text);
            let fixed = matches!(s.value.jobs, Some(JobCount::Fixed(_)));
            if fixed && bash_jobs != static_jobs {
                out.push(StartDifference {
                    var: "MAKEFLAGS",
                    bash: format!("MAKEFLAGS={}", shown(&bash_mf)),
                    tool: Some((
                        s.path.clone(),
                        s.line,
                        format!("\"{}\"", escape(&s.value.text)),
                    )),
                });
            }
        }
        Value::Unset if bash_jobs.is_some() && !from_env("MAKEFLAGS", &bash_mf) => {
            out.push(StartDifference {
                var: "MAKEFLAGS",
                bash: format!("MAKEFLAGS={}", shown(&bash_mf)),
                tool: None,
            })
        }
        _ => {}
    }
    out
}

/// A host list a layer computes (`$(cat FILE)`, a `case` on the host name), as bash reads
/// it here: what makepkg started from here would hand distcc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedHosts {
    /// What bash reads (may be empty).
    pub value: String,
    /// Where the static reading finds it computed, and the assignment's text.
    pub path: PathBuf,
    pub line: usize,
    pub text: String,
}

impl ComputedHosts {
    /// `file:line`, and what bash reads there, for messages (escaped where they are shown).
    pub fn described(&self) -> String {
        let read = if self.value.is_empty() {
            "bash reads no host from it here".to_string()
        } else {
            format!("bash reads it here as \"{}\"", self.value)
        };
        format!(
            "computed at {}:{} ({}); {read}",
            self.path.display(),
            self.line,
            self.text,
        )
    }
}

/// distcc on or off as bash reads it, where shell code decides it (the static reading
/// cannot tell); None where the static reading has it.
pub fn computed_distcc(eff: &Effective, reading: &Reading) -> Option<bool> {
    matches!(eff.distcc, Value::Unknown { .. }).then(|| reading.distcc_on())
}

/// make's job count as bash reads MAKEFLAGS here, where the static reading has no plain
/// count (MAKEFLAGS set by shell code, or a count computed like `-j$(nproc)`); None where it
/// has one. `Some(None)`: bash reads no `-j` count.
pub fn computed_jobs(eff: &Effective, reading: &Reading) -> Option<Option<u32>> {
    let computed = match &eff.makeflags {
        Value::Unknown { .. } => true,
        Value::Known(m) => matches!(m.value.jobs, Some(JobCount::Computed(_))),
        Value::Unset => false,
    };
    computed.then(|| jobs_and_rest(reading.makeflags.as_ref().map_or("", |m| &m.value)).0)
}

/// DISTCC_HOSTS as bash reads it, where the static reading cannot (a computed value); None
/// where the static reading has it (plain, or unset).
pub fn computed_hosts(eff: &Effective, reading: &Reading) -> Option<ComputedHosts> {
    let Value::Unknown { path, line, text } = &eff.hosts else {
        return None;
    };
    Some(ComputedHosts {
        value: reading
            .hosts
            .as_ref()
            // A list read from a hosts file keeps the file's comments, which distcc skips.
            .map(|h| crate::distcc::hosts::without_comments(&h.value))
            .unwrap_or_default(),
        path: path.clone(),
        line: *line,
        text: text.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makeflags_jobs_and_other_words() {
        assert_eq!(
            jobs_and_rest("-j2 -l3 --jobs=8"),
            (Some(8), vec!["-l3".to_string()])
        );
        assert_eq!(jobs_and_rest(""), (None, vec![]));
    }
}
