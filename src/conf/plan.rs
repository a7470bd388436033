//! What each command changes: pure functions from a document to a new document plus notes.
//! The wizard and the commands both go through these.

use crate::conf::document::Document;
use crate::conf::edit::{self, Refusal};
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
    let mut notes = Vec::new();
    match change {
        HostChange::Add(specs) => {
            for spec in specs {
                list.add(spec.clone());
            }
        }
        HostChange::Remove(targets) => {
            for (host, port) in targets {
                if list.remove(host, *port) == 0 {
                    let shown = match port {
                        Some(p) => format!("{host}:{p}"),
                        None => host.clone(),
                    };
                    notes.push(format!("{shown} is not in DISTCC_HOSTS"));
                }
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
        HostChange::Replace(new) => list = new.clone(),
    }
    if let Some(bad) = list.invalid().next() {
        let host = bad
            .token
            .split(['/', ':', ','])
            .next()
            .unwrap_or(&bad.token);
        return Err(Refusal {
            line,
            message: format!(
                "DISTCC_HOSTS holds `{}`, which distcc rejects ({}); distcc then ignores the \
                 whole list. Remove it first: alarm-distcc remove-host {host}",
                bad.token, bad.reason
            ),
        });
    }
    let total = list.total_slots();
    let edited = edit::set_hosts(doc, &list)?;
    // The later edits are tried on the file as read too, so a refusal names the user's line
    // rather than one shifted by the host-list edit.
    if total > 0 {
        edit::set_distcc(doc, true)?;
        edit::set_jobs(doc, total, inherited.makeflags.as_deref())?;
    }
    if total == 0 {
        notes.push(
            "no hosts left: distcc would compile everything locally; `alarm-distcc disable` \
             turns it off"
                .into(),
        );
        return Ok(Plan {
            doc: edited.doc,
            notes,
        });
    }
    let enabled = edit::set_distcc(&edited.doc, true)?;
    let jobs = edit::set_jobs(&enabled.doc, total, inherited.makeflags.as_deref())?;
    notes.extend(jobs.notes);
    Ok(Plan {
        doc: jobs.doc,
        notes,
    })
}

pub fn plan_enable(doc: &Document, enabled: bool) -> Result<Plan, Refusal> {
    let e = edit::set_distcc(doc, enabled)?;
    Ok(Plan {
        doc: e.doc,
        notes: e.notes,
    })
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
    fn refuses_a_list_distcc_would_drop() {
        let doc = Document::parse("DISTCC_HOSTS=\"a,zstd\"\n");
        let spec: HostSpec = "b".parse().unwrap();
        let err =
            plan_hosts(&doc, &HostChange::Add(vec![spec]), &Inherited::default()).unwrap_err();
        assert!(err.message.contains("remove-host a"), "{err}");
    }
}
