//! The editing commands: add-host, remove-host, set-local, enable, disable, sort.

use crate::conf::plan::{self, HostChange};
use crate::distcc::alarm;
use crate::distcc::hosts::{HostOption, HostSpec, parse_host_port};
use crate::error::bad_input;
use crate::session::{Focus, Session};
use crate::ui::status;
use anyhow::Result;

pub fn add_hosts(session: &Session, specs: &[String]) -> Result<()> {
    let specs = specs
        .iter()
        .map(|s| s.parse::<HostSpec>().map_err(|e| bad_input(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let target = session.target(Focus::Hosts)?;
    // A host without a port gets the port ALARM's distccd serves CARCH on: CARCH as bash
    // reads it (a `source` line or shell logic can set it), read now only when it is needed.
    let needs_carch = specs
        .iter()
        .any(|s| matches!(s, HostSpec::Tcp { port: None, .. }));
    let from_bash = if needs_carch {
        session
            .starting_point(&target)?
            .and_then(|r| r.carch.clone())
            .filter(|c| !c.contains(['@', '%']) && !c.is_empty())
    } else {
        None
    };
    let carch = from_bash
        .or_else(|| crate::conf::layers::carch(&target.layers))
        .unwrap_or_default();
    let listed = plan::starting_hosts(&target.doc, &session.inherited(&target))
        .map(|(l, _)| l)
        .unwrap_or_default();
    let specs = specs
        .into_iter()
        .map(|spec| {
            let (spec, notes) = alarm::resolve_added(spec, &carch, &listed);
            for n in notes {
                // Notes quote the config's entries.
                status!("note: {}", crate::ui::escape(&n));
            }
            spec
        })
        .collect::<Vec<_>>();
    // The same host twice in one command: the last one is what the list gets.
    for (i, spec) in specs.iter().enumerate() {
        let later = specs[i + 1..].iter().rfind(|s| s.key() == spec.key());
        if let Some(last) = later
            && last != spec
            && !specs[..i].iter().any(|s| s.key() == spec.key())
        {
            status!(
                "note: {spec} and {last} name the same host; the last one given, {last}, is \
                 written"
            );
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        // Said once per host, of the spec that is written: the last one given.
        if specs[i + 1..].iter().any(|s| s.key() == spec.key()) {
            continue;
        }
        if spec.is_loopback_tcp() {
            // As the wizard says it: fine for trying the tool, but no helper.
            let host = spec.host_port().unwrap_or_else(|| spec.to_string());
            status!("{}", super::this_machine_note(&host));
        }
        if spec.options().contains(&HostOption::Cpp) {
            // As doctor says it (no-pump-mode): the list is written as asked.
            status!(
                "warning: {spec} uses ,cpp (pump mode), but makepkg does not run pump: every job \
                 warns and falls back; drop ,cpp and keep ,lzo"
            );
        }
        if let Some(why) = spec.port().and_then(|p| alarm::port_mismatch(p, &carch)) {
            status!(
                "warning: {spec}: {why}; check it with: alarm-distcc probe {}",
                spec.host_port().unwrap_or_default()
            );
        }
    }
    let mut after = listed.clone();
    for spec in &specs {
        after.add(spec.clone());
    }
    for concern in after.slot_concerns() {
        status!("warning: {}", crate::ui::escape(&concern));
    }
    session.apply_hosts(&target, &HostChange::Add(specs))
}

/// A host to remove, as `show` prints it or shorter: slots and options are ignored, the
/// host and port match.
fn removal_target(arg: &str) -> Result<(String, Option<u16>)> {
    match arg.parse::<HostSpec>() {
        Ok(HostSpec::Tcp { host, port, .. }) => Ok((host, port)),
        Ok(HostSpec::Local { .. }) => Ok(("localhost".into(), None)),
        Ok(HostSpec::Ssh { host, .. }) => Ok((host, None)),
        _ => parse_host_port(arg).or_else(|e| {
            // An entry distcc rejects for a character it never allows is removed by its name.
            crate::distcc::hosts::invalid_entry_name(arg)
                .map(|name| (name.to_string(), None))
                .ok_or_else(|| bad_input(e.to_string()))
        }),
    }
}

pub fn remove_hosts(session: &Session, hosts: &[String]) -> Result<()> {
    let targets = hosts
        .iter()
        .map(|h| removal_target(h))
        .collect::<Result<Vec<_>>>()?;
    session.edit_hosts(&HostChange::Remove(targets))
}

pub fn set_local(session: &Session, slots: u32) -> Result<()> {
    session.edit_hosts(&HostChange::SetLocal(slots))
}

pub fn set_enabled(session: &Session, enabled: bool) -> Result<()> {
    session.edit_enabled(enabled)
}

pub fn sort(session: &Session) -> Result<()> {
    session.edit_hosts(&HostChange::SortBySlots)
}
