//! The editing commands: add-host, remove-host, set-local, enable, disable, sort.

use crate::conf::plan::HostChange;
use crate::distcc::hosts::{HostSpec, parse_host_port};
use crate::error::bad_input;
use crate::session::Session;
use anyhow::Result;

pub fn add_hosts(session: &Session, specs: &[String]) -> Result<()> {
    let specs = specs
        .iter()
        .map(|s| s.parse::<HostSpec>().map_err(|e| bad_input(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    session.edit_hosts(&HostChange::Add(specs))
}

pub fn remove_hosts(session: &Session, hosts: &[String]) -> Result<()> {
    let targets = hosts
        .iter()
        .map(|h| parse_host_port(h).map_err(|e| bad_input(e.to_string())))
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
