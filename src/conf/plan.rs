//! What each command changes: pure functions from a document to a new document plus notes.
//! The wizard and the commands both go through these.

use crate::conf::document::Document;
use crate::conf::edit::{self, Refusal};
use crate::conf::makeflags::{JobCount, find_job_flags};
use crate::conf::view::{self, BuildenvState, MakeflagsState};
use crate::distcc::hosts::{HostList, HostSpec, MAX_SLOTS};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Plan {
    pub doc: Document,
    pub notes: Vec<String>,
}

/// What makepkg already has from the files read before the one being edited.
#[derive(Debug, Clone, Default)]
pub struct Inherited {
    pub hosts: Option<HostList>,
    /// MAKEFLAGS as written (quotes removed).
    pub makeflags: Option<String>,
    /// Whether distcc is on in BUILDENV before this file.
    pub distcc: bool,
    /// Whether an earlier file has a distcc entry at all.
    pub distcc_set: bool,
}

/// Whether distcc is on once `doc` is read after what it inherits.
fn distcc_on(doc: &Document, inherited: &Inherited) -> bool {
    match view::buildenv(doc) {
        BuildenvState::Flag { flag, .. } => flag.enabled,
        // A plain `BUILDENV=(...)` without the entry means makepkg's default, off.
        BuildenvState::NoEntry { .. } => false,
        BuildenvState::Inherits { before, .. } if !inherited.distcc_set => {
            before.is_some_and(|f| f.enabled)
        }
        _ => inherited.distcc,
    }
}

/// make's job count once `doc` is read after what it inherits.
fn current_jobs(doc: &Document, inherited: &Inherited) -> Option<JobCount> {
    match view::makeflags(doc) {
        MakeflagsState::Value(m) => m.jobs,
        MakeflagsState::Blocked(_) => None,
        MakeflagsState::Unset => inherited
            .makeflags
            .as_deref()
            .and_then(|m| find_job_flags(m.as_bytes()).pop())
            .map(|f| f.count),
    }
}

#[derive(Debug, Clone)]
pub enum HostChange {
    Add(Vec<HostSpec>),
    Remove(Vec<(String, Option<u16>)>),
    SetLocal(u32),
    /// Re-sort fastest first by slots, the local entry last.
    SortBySlots,
    /// Re-sort by measured speed (by host key); unmeasured hosts go last.
    SortMeasured(HashMap<String, f64>),
    /// Replace the whole list (the wizard's final answer).
    Replace(HostList),
}

/// The host list an edit of `doc` starts from, with its line (0 when the file sets none): the
/// file's own, else the one makepkg already has (a drop-in starts from the main file's list).
pub fn starting_hosts(doc: &Document, inherited: &Inherited) -> Result<(HostList, usize), Refusal> {
    let (own, line) = edit::current_hosts(doc)?;
    Ok(match (line, &inherited.hosts) {
        (None, Some(inh)) => (inh.clone(), 0),
        (line, _) => (own, line.unwrap_or(0)),
    })
}

pub fn plan_hosts(
    doc: &Document,
    change: &HostChange,
    inherited: &Inherited,
) -> Result<Plan, Refusal> {
    let (mut list, line) = starting_hosts(doc, inherited)?;
    let start: Vec<String> = list.tokens.iter().map(|t| t.raw.clone()).collect();
    let mut notes = Vec::new();
    let sorting = matches!(
        change,
        HostChange::SortBySlots | HostChange::SortMeasured(_)
    );
    if sorting && list.tokens.is_empty() {
        // Uncommenting `#DISTCC_HOSTS=""` just to sort nothing would be a pointless edit.
        notes.push(
            "DISTCC_HOSTS names no hosts yet, so there is nothing to sort; add a helper first: \
             alarm-distcc add-host HOST:PORT/SLOTS"
                .into(),
        );
        return Ok(Plan {
            doc: doc.clone(),
            notes,
        });
    }
    apply_change(&mut list, change, line, &mut notes)?;
    refuse_invalid(&list, line)?;
    let unchanged = list
        .tokens
        .iter()
        .map(|t| t.raw.as_str())
        .eq(start.iter().map(String::as_str));
    // (A sort still sets -j to the slots: that is how a -j mismatch is fixed.)
    let nothing_to_list = unchanged && list.tokens.is_empty();
    if nothing_to_list || (unchanged && matches!(change, HostChange::SetLocal(_))) {
        // Writing the same list would still uncomment `#DISTCC_HOSTS=""`, which makes distcc
        // stop reading its hosts file: leave the file alone.
        if nothing_to_list && matches!(change, HostChange::Replace(_)) {
            notes.push(
                "no hosts given, so distcc stays as it is; add a helper: alarm-distcc add-host \
                 HOST:PORT/SLOTS"
                    .into(),
            );
        }
        return Ok(Plan {
            doc: doc.clone(),
            notes,
        });
    }
    let edited = edit::set_hosts(doc, &list)?;
    follow_hosts(doc, edited.doc, &list, change, inherited, notes)
}

/// The host-list change itself, with what to say about it.
fn apply_change(
    list: &mut HostList,
    change: &HostChange,
    line: usize,
    notes: &mut Vec<String>,
) -> Result<(), Refusal> {
    match change {
        HostChange::Add(specs) => {
            for spec in specs {
                list.add(spec.clone());
            }
        }
        HostChange::Remove(targets) => {
            // A host given that is not listed is most likely a typo: nothing is removed (as
            // `cargo remove` does), and the error says what is listed, to copy from.
            let listed = list.render();
            // Each matched against the list as it was: a host given twice, or with and
            // without its port, is still listed.
            let unlisted: Vec<String> = targets
                .iter()
                .filter(|(host, port)| list.clone().remove(host, *port) == 0)
                .map(|(host, port)| match port {
                    Some(p) => format!("{host}:{p}"),
                    None => host.clone(),
                })
                .collect();
            if !unlisted.is_empty() {
                let (names, verb) = match unlisted.as_slice() {
                    [one] => (one.clone(), "is"),
                    many => (many.join(", "), "are"),
                };
                let listed = if listed.is_empty() {
                    "which lists no host".to_string()
                } else {
                    format!("which lists: {listed}")
                };
                return Err(Refusal {
                    line,
                    message: format!(
                        "{names} {verb} not in DISTCC_HOSTS, {listed}; nothing was removed"
                    ),
                });
            }
            for (host, port) in targets {
                list.remove(host, *port);
            }
        }
        HostChange::SetLocal(n) => {
            if *n > MAX_SLOTS {
                return Err(Refusal {
                    line: 0,
                    message: format!("{n} local slots is more than {MAX_SLOTS}"),
                });
            }
            let (_, replaced) = list.set_local(*n);
            for raw in replaced {
                notes.push(format!(
                    "replaced `{raw}` with the local entry: {raw} is a network host that needs a \
                     distccd on this machine; only the word `localhost` runs compiles here directly"
                ));
            }
        }
        HostChange::SortBySlots => list.sort_by_slots(),
        HostChange::SortMeasured(scores) => list.sort_measured(scores),
        HostChange::Replace(new) => *list = new.clone(),
    }
    Ok(())
}

/// A list holding a token distcc rejects is not written: distcc would ignore all of it.
fn refuse_invalid(list: &HostList, line: usize) -> Result<(), Refusal> {
    let Some(bad) = list.invalid().next() else {
        return Ok(());
    };
    let host = bad
        .token
        .split(['/', ':', ','])
        .next()
        .unwrap_or(&bad.token);
    Err(Refusal {
        line,
        message: format!(
            "DISTCC_HOSTS holds `{}`, which distcc rejects ({}); distcc then ignores the \
             whole list. Remove it first: alarm-distcc remove-host {host}",
            bad.token, bad.reason
        ),
    })
}

/// BUILDENV and -j after the host list changed (`edited` is `doc` with the new list): only
/// adding a helper turns distcc on, and -j follows the slots while distcc is on.
fn follow_hosts(
    doc: &Document,
    edited: Document,
    list: &HostList,
    change: &HostChange,
    inherited: &Inherited,
    mut notes: Vec<String>,
) -> Result<Plan, Refusal> {
    let has_helper = list.has_helper();
    let on = distcc_on(doc, inherited);
    // Only adding a helper turns distcc on; other edits keep a deliberate `disable`.
    let turns_on = matches!(change, HostChange::Add(_) | HostChange::Replace(_));
    if has_helper && !on && !turns_on {
        notes.push(
            "distcc stays off, as BUILDENV says; `alarm-distcc enable` turns it on (and sets \
             -j to the total slots)"
                .into(),
        );
        return Ok(Plan { doc: edited, notes });
    }
    let total = list.total_slots();
    if !has_helper {
        // Without a helper distcc has nothing to hand out: BUILDENV stays as it is, and -j
        // follows the slots only while distcc is on.
        notes.push(if list.tokens.is_empty() && on {
            "no hosts left: distcc would compile everything locally; `alarm-distcc disable` \
             turns it off"
                .into()
        } else if on {
            "no helper left in DISTCC_HOSTS, so every compile runs here; add one (alarm-distcc \
             add-host HOST:PORT/SLOTS), or turn distcc off: alarm-distcc disable"
                .into()
        } else {
            "no helper listed yet, so distcc stays off; add one: alarm-distcc add-host \
             HOST:PORT/SLOTS"
                .to_string()
        });
        if !on || total == 0 {
            return Ok(Plan { doc: edited, notes });
        }
        edit::set_jobs(doc, total, inherited.makeflags.as_deref())?;
        let jobs = edit::set_jobs(&edited, total, inherited.makeflags.as_deref())?;
        notes.extend(jobs.notes);
        return Ok(Plan {
            doc: jobs.doc,
            notes,
        });
    }
    // The later edits are tried on the file as read too, so a refusal names the user's line
    // rather than one shifted by the host-list edit.
    // distcc already on (here or in an earlier layer) needs no `BUILDENV+=(distcc)`.
    if !on {
        edit::set_distcc(doc, true)?;
    }
    edit::set_jobs(doc, total, inherited.makeflags.as_deref())?;
    let enabled = if on {
        edited
    } else {
        edit::set_distcc(&edited, true)?.doc
    };
    let jobs = edit::set_jobs(&enabled, total, inherited.makeflags.as_deref())?;
    notes.extend(jobs.notes);
    Ok(Plan {
        doc: jobs.doc,
        notes,
    })
}

/// Turns distcc on or off, and -j with it: on, the total slots of the hosts (as `sort`
/// sets it); off, this machine's own slots (its `localhost/N`, else `cpus`), so the Pi does
/// not run a helper-sized -j alone. A -j computed by shell code is left alone when turning off.
pub fn plan_enable(
    doc: &Document,
    enabled: bool,
    inherited: &Inherited,
    cpus: u32,
) -> Result<Plan, Refusal> {
    let e = edit::set_distcc(doc, enabled)?;
    let mut notes = e.notes;
    // A list the tool cannot read (computed, `+=`) leaves -j alone: flipping BUILDENV is
    // still safe.
    let list = starting_hosts(doc, inherited).ok().map(|(l, _)| l);
    let wanted = match (&list, enabled) {
        (Some(l), true) if l.total_slots() > 0 => Some(l.total_slots()),
        (Some(l), false) if l.local_slots() > 0 => Some(l.local_slots()),
        (_, false) => Some(cpus.max(1)),
        _ => None,
    };
    let has_helper = list.as_ref().is_some_and(HostList::has_helper);
    if enabled && list.is_some() && !has_helper {
        notes.push(
            "DISTCC_HOSTS names no helper yet, so every compile still runs here; add one: \
             alarm-distcc add-host HOST:PORT/SLOTS"
                .into(),
        );
    }
    let current = current_jobs(doc, inherited);
    // Turning distcc on sets -j to the slots, also where make had no -j at all (one job at a
    // time leaves the helpers idle); turning it off keeps a config without -j so.
    let blocked = matches!(view::makeflags(doc), MakeflagsState::Blocked(_));
    let change_jobs = match (wanted, &current) {
        (Some(w), Some(JobCount::Fixed(n))) => *n != w,
        (Some(_), Some(_)) => enabled,
        (Some(_), None) => enabled && !blocked,
        _ => false,
    };
    let mut out = e.doc;
    if let (true, Some(w)) = (change_jobs, wanted) {
        let jobs = edit::set_jobs(&out, w, inherited.makeflags.as_deref())?;
        out = jobs.doc;
        notes.extend(jobs.notes);
        if !enabled {
            notes.push(format!(
                "-j{w}: this machine's own {} now that it compiles alone",
                if list.as_ref().is_some_and(|l| l.local_slots() > 0) {
                    "slots (its localhost entry)"
                } else {
                    "CPU count"
                }
            ));
        }
    }
    Ok(Plan { doc: out, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_on_stock_block() {
        let doc = Document::parse(
            "#MAKEFLAGS=\"-j2\"\nBUILDENV=(!distcc color !ccache check !sign)\n#DISTCC_HOSTS=\"\"\n",
        );
        let p = plan_hosts(&doc, &HostChange::SetLocal(2), &Inherited::default()).unwrap();
        let spec: HostSpec = "192.168.1.100:3636/6".parse().unwrap();
        let p = plan_hosts(&p.doc, &HostChange::Add(vec![spec]), &Inherited::default()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(p.doc.as_bytes()),
            "MAKEFLAGS=\"-j8\"\nBUILDENV=(distcc color !ccache check !sign)\n\
             DISTCC_HOSTS=\"192.168.1.100:3636/6 localhost/2\"\n"
        );
    }

    #[test]
    fn a_host_to_remove_is_matched_against_the_list_as_it_was() {
        let doc = Document::parse(
            "MAKEFLAGS=\"-j8\"\nBUILDENV=(distcc)\nDISTCC_HOSTS=\"a:3636/6 localhost/2\"\n",
        );
        let remove = |targets: &[(&str, Option<u16>)]| {
            let targets = targets.iter().map(|(h, p)| (h.to_string(), *p)).collect();
            plan_hosts(&doc, &HostChange::Remove(targets), &Inherited::default())
        };
        // Given twice, or with and without its port: removed, not called unlisted.
        for targets in [
            &[("a", None), ("a", None)][..],
            &[("a", Some(3636)), ("a", None)][..],
        ] {
            let p = remove(targets).unwrap();
            assert!(
                String::from_utf8_lossy(p.doc.as_bytes()).contains("DISTCC_HOSTS=\"localhost/2\""),
                "{targets:?}"
            );
        }
        // One typo beside a listed host: refused at the list's line, nothing removed.
        let refused = remove(&[("a", None), ("b", Some(3636))]).unwrap_err();
        assert_eq!(refused.line, 3);
        assert_eq!(
            refused.message,
            "b:3636 is not in DISTCC_HOSTS, which lists: a:3636/6 localhost/2; nothing was \
             removed"
        );
    }

    #[test]
    fn set_local_alone_leaves_distcc_and_jobs_as_they_are() {
        let doc =
            Document::parse("MAKEFLAGS=\"-j2\"\nBUILDENV=(!distcc color)\n#DISTCC_HOSTS=\"\"\n");
        let p = plan_hosts(&doc, &HostChange::SetLocal(2), &Inherited::default()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(p.doc.as_bytes()),
            "MAKEFLAGS=\"-j2\"\nBUILDENV=(!distcc color)\nDISTCC_HOSTS=\"localhost/2\"\n"
        );
        assert!(
            p.notes.iter().any(|n| n.contains("stays off")),
            "{:?}",
            p.notes
        );
    }

    #[test]
    fn sorting_no_hosts_changes_nothing() {
        let doc = Document::parse("MAKEFLAGS=\"-j$(nproc)\"\n#DISTCC_HOSTS=\"\"\n");
        for change in [
            HostChange::SortBySlots,
            HostChange::SortMeasured(HashMap::new()),
        ] {
            let p = plan_hosts(&doc, &change, &Inherited::default()).unwrap();
            assert_eq!(p.doc.as_bytes(), doc.as_bytes());
            assert!(p.notes[0].contains("add-host"), "{:?}", p.notes);
        }
    }

    #[test]
    fn disable_and_enable_move_the_job_count_with_them() {
        let on = Document::parse(
            "MAKEFLAGS=\"-j18\"\nBUILDENV=(distcc color)\nDISTCC_HOSTS=\"a/16 localhost/2\"\n",
        );
        let off = plan_enable(&on, false, &Inherited::default(), 4).unwrap();
        let text = String::from_utf8_lossy(off.doc.as_bytes()).into_owned();
        assert!(
            text.starts_with("MAKEFLAGS=\"-j2\"\nBUILDENV=(!distcc"),
            "{text}"
        );
        let back = plan_enable(&off.doc, true, &Inherited::default(), 4).unwrap();
        assert_eq!(back.doc.as_bytes(), on.as_bytes());
        // No local entry: this machine's CPU count.
        let doc = Document::parse("MAKEFLAGS=\"-j8\"\nBUILDENV=(distcc)\nDISTCC_HOSTS=\"a/8\"\n");
        let off = plan_enable(&doc, false, &Inherited::default(), 4).unwrap();
        assert!(String::from_utf8_lossy(off.doc.as_bytes()).contains("-j4"));
        let on = plan_enable(
            &Document::parse("BUILDENV=(!distcc)\n"),
            true,
            &Inherited::default(),
            4,
        )
        .unwrap();
        assert!(on.notes[0].contains("no helper"), "{:?}", on.notes);
        // A computed -j is left alone when turning off.
        let doc = Document::parse("MAKEFLAGS=\"-j$(nproc)\"\nBUILDENV=(distcc)\n");
        let off = plan_enable(&doc, false, &Inherited::default(), 4).unwrap();
        assert!(String::from_utf8_lossy(off.doc.as_bytes()).contains("-j$(nproc)"));
    }

    #[test]
    fn enable_gives_make_the_slots_where_it_had_no_job_count() {
        let doc = Document::parse(
            "#MAKEFLAGS=\"-j2\"\nBUILDENV=(!distcc color)\nDISTCC_HOSTS=\"a/6 localhost/2\"\n",
        );
        let on = plan_enable(&doc, true, &Inherited::default(), 4).unwrap();
        assert_eq!(
            String::from_utf8_lossy(on.doc.as_bytes()),
            "MAKEFLAGS=\"-j8\"\nBUILDENV=(distcc color)\nDISTCC_HOSTS=\"a/6 localhost/2\"\n"
        );
        // The job count an earlier layer (or the environment) gives is what make has.
        let inherited = Inherited {
            makeflags: Some("-j8".into()),
            ..Inherited::default()
        };
        let sets_makeflags = |p: &Plan| {
            String::from_utf8_lossy(p.doc.as_bytes())
                .lines()
                .any(|l| l.starts_with("MAKEFLAGS="))
        };
        let on = plan_enable(&doc, true, &inherited, 4).unwrap();
        assert!(!sets_makeflags(&on), "{on:?}");
        // Turning it off leaves a config without -j so.
        let off = plan_enable(&on.doc, false, &Inherited::default(), 4).unwrap();
        assert!(!sets_makeflags(&off), "{off:?}");
        // A MAKEFLAGS the tool cannot edit is left alone: distcc is still turned on.
        let doc = Document::parse(
            "if true; then MAKEFLAGS=\"-l4\"; fi\nBUILDENV=(!distcc)\nDISTCC_HOSTS=\"a/6\"\n",
        );
        let on = plan_enable(&doc, true, &Inherited::default(), 4).unwrap();
        assert!(
            String::from_utf8_lossy(on.doc.as_bytes())
                .starts_with("if true; then MAKEFLAGS=\"-l4\"; fi\nBUILDENV=(distcc)"),
            "{on:?}"
        );
    }

    #[test]
    fn refuses_a_list_distcc_would_drop() {
        let doc = Document::parse("DISTCC_HOSTS=\"a,zstd\"\n");
        let spec: HostSpec = "b".parse().unwrap();
        let err =
            plan_hosts(&doc, &HostChange::Add(vec![spec]), &Inherited::default()).unwrap_err();
        assert!(err.message.contains("remove-host a"), "{err}");
    }
}
