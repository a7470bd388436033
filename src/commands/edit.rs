//! The editing commands: add-host, remove-host, set-local, enable, disable, sort.

use crate::conf::plan::{self, HostChange};
use crate::distcc::alarm;
use crate::distcc::hosts::{DEFAULT_PORT, HostList, HostSpec, is_loopback, parse_host_port};
use crate::error::bad_input;
use crate::session::{Focus, Session};
use anyhow::Result;

pub fn add_hosts(session: &Session, specs: &[String]) -> Result<()> {
    let specs = specs
        .iter()
        .map(|s| s.parse::<HostSpec>().map_err(|e| bad_input(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let target = session.target(Focus::Hosts)?;
    let carch = crate::conf::layers::carch(&target.layers).unwrap_or_default();
    let listed = plan::starting_hosts(&target.doc, &session.inherited(&target))
        .map(|(l, _)| l)
        .unwrap_or_default();
    let specs = specs
        .into_iter()
        .map(|spec| with_default_port(spec, &carch, &listed))
        .collect::<Vec<_>>();
    for spec in &specs {
        if let Some(why) = spec.port().and_then(|p| alarm::port_mismatch(p, &carch)) {
            eprintln!(
                "warning: {spec}: {why}; check it with: alarm-distcc probe {}",
                spec.host_port().unwrap_or_default()
            );
        }
    }
    session.apply_hosts(&target, &HostChange::Add(specs))
}

/// A helper given without a port gets the one it most likely listens on: the port of the
/// same host already listed, else distccd-alarm's port for this CARCH (as the wizard
/// offers), else distcc's 3632.
fn with_default_port(spec: HostSpec, carch: &str, listed: &HostList) -> HostSpec {
    let HostSpec::Tcp {
        host,
        port: None,
        slots,
        options,
    } = spec
    else {
        return spec;
    };
    let same_host = listed.specs().find_map(|s| match s {
        HostSpec::Tcp { host: h, port, .. } if h.eq_ignore_ascii_case(&host) => Some(*port),
        _ => None,
    });
    let port = match same_host {
        Some(port) => port,
        None => {
            let port = alarm::default_port(carch);
            if is_loopback(&host) {
                eprintln!(
                    "note: {host} is this machine: it compiles here only through a distccd \
                     running here; for plain local jobs use `alarm-distcc set-local N`"
                );
            }
            if port != DEFAULT_PORT {
                eprintln!(
                    "note: {host}: no port given; using {port}, distccd-alarm's port for {carch} \
                     (write {host}:{DEFAULT_PORT} for a plain distccd)"
                );
                Some(port)
            } else {
                None
            }
        }
    };
    HostSpec::Tcp {
        host,
        port,
        slots,
        options,
    }
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
