//! distccd-alarm's facts (AUR distccd-alarm, reference/makepkg.md §6): armv7h listens on
//! 3635 with /opt/x-tools7h, armv8 on 3636 with /opt/x-tools8; 3633 and 3634 were armv5 and
//! armv6h until 2022.

use crate::distcc::hosts::{DEFAULT_PORT, HostList, HostSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HelperArch {
    Armv8,
    Armv7h,
}

impl HelperArch {
    /// The Pi's architecture that makes such objects.
    pub fn of_objects(arch: crate::distcc::elf::Arch) -> Option<HelperArch> {
        use crate::distcc::elf::Arch;
        match arch {
            Arch::Aarch64 => Some(HelperArch::Armv8),
            Arch::Arm { hard_float: true } => Some(HelperArch::Armv7h),
            _ => None,
        }
    }

    pub fn from_carch(carch: &str) -> Option<HelperArch> {
        match carch {
            "aarch64" | "armv8" => Some(HelperArch::Armv8),
            "armv7h" => Some(HelperArch::Armv7h),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HelperArch::Armv8 => "armv8",
            HelperArch::Armv7h => "armv7h",
        }
    }

    pub fn port(self) -> u16 {
        match self {
            HelperArch::Armv8 => 3636,
            HelperArch::Armv7h => 3635,
        }
    }

    pub fn toolchain_bin(self) -> &'static str {
        match self {
            HelperArch::Armv8 => "/opt/x-tools8/aarch64-unknown-linux-gnu/bin",
            HelperArch::Armv7h => "/opt/x-tools7h/arm-unknown-linux-gnueabihf/bin",
        }
    }

    /// Debian's cross compiler prefix for this architecture.
    pub fn debian_triple(self) -> &'static str {
        match self {
            HelperArch::Armv8 => "aarch64-linux-gnu",
            HelperArch::Armv7h => "arm-linux-gnueabihf",
        }
    }

    /// Debian's packages of those cross compilers.
    pub fn debian_packages(self) -> [&'static str; 2] {
        match self {
            HelperArch::Armv8 => ["gcc-aarch64-linux-gnu", "g++-aarch64-linux-gnu"],
            HelperArch::Armv7h => ["gcc-arm-linux-gnueabihf", "g++-arm-linux-gnueabihf"],
        }
    }

    /// The compiler prefix the Pi sends and the helper whitelists in /usr/lib/distcc.
    pub fn client_triple(self) -> &'static str {
        match self {
            HelperArch::Armv8 => "aarch64-unknown-linux-gnu",
            HelperArch::Armv7h => "armv7l-unknown-linux-gnueabihf",
        }
    }
}

/// distccd-alarm's ports, one per ARM architecture (armv5 and armv6h until 2022).
const ALARM_PORTS: [(u16, &str, &str); 4] = [
    (3633, "arm", "armv5"),
    (3634, "armv6h", "armv6h"),
    (3635, "armv7h", "armv7h"),
    (3636, "aarch64", "armv8"),
];

/// The architecture family and distccd-alarm name served on `port`, if it is one of its ports.
pub fn port_arch(port: u16) -> Option<(&'static str, &'static str)> {
    ALARM_PORTS
        .iter()
        .find(|(p, _, _)| *p == port)
        .map(|(_, a, n)| (*a, *n))
}

/// CARCH as the family ALARM_PORTS uses.
pub fn carch_family(carch: &str) -> &str {
    match carch {
        "armv8" => "aarch64",
        "armv5" | "armv5tel" => "arm",
        other => other,
    }
}

/// distccd-alarm's port for this CARCH.
pub fn port_for(carch: &str) -> Option<u16> {
    ALARM_PORTS
        .iter()
        .find(|(_, a, _)| *a == carch_family(carch))
        .map(|(p, _, _)| *p)
}

/// The port a helper for this CARCH listens on when the user names none: distccd-alarm's,
/// else distcc's own.
pub fn default_port(carch: &str) -> u16 {
    HelperArch::from_carch(carch).map_or(crate::distcc::hosts::DEFAULT_PORT, HelperArch::port)
}

/// Why a helper's port looks wrong for this CARCH: it is another architecture's
/// distccd-alarm port. Only a guess from the number; a probe tells for sure.
pub fn port_mismatch(port: u16, carch: &str) -> Option<String> {
    let (arch, name) = port_arch(port)?;
    if carch.is_empty() || arch == carch_family(carch) {
        return None;
    }
    Some(format!(
        "{port} is distccd-alarm's {name} port ({arch}), but this machine is {carch}, whose \
         helpers listen on {}",
        port_for(carch).map_or("another port".into(), |p| p.to_string())
    ))
}

/// A helper given without a port gets the one it most likely listens on: the port of the
/// same host already listed, else distccd-alarm's port for this CARCH (as the wizard
/// offers), else distcc's 3632. Returns the spec and what to tell the user.
pub fn with_default_port(
    spec: HostSpec,
    carch: &str,
    listed: &HostList,
) -> (HostSpec, Option<String>) {
    let HostSpec::Tcp {
        host,
        port: None,
        slots,
        options,
    } = spec
    else {
        return (spec, None);
    };
    let same_host = listed.specs().find_map(|s| match s {
        HostSpec::Tcp { host: h, port, .. } if h.eq_ignore_ascii_case(&host) => Some(*port),
        _ => None,
    });
    let (port, note) = match same_host {
        Some(port) => (
            port,
            Some(format!(
                "{host}: no port given; using {}, the port it is listed with",
                port.unwrap_or(DEFAULT_PORT)
            )),
        ),
        None => {
            let port = default_port(carch);
            if port != DEFAULT_PORT {
                (
                    Some(port),
                    Some(format!(
                        "{host}: no port given; using {port}, distccd-alarm's port for {carch} \
                         (write {host}:{DEFAULT_PORT} for a plain distccd)"
                    )),
                )
            } else {
                (
                    None,
                    Some(format!(
                        "{host}: no port given; using distcc's {DEFAULT_PORT}"
                    )),
                )
            }
        }
    };
    (
        HostSpec::Tcp {
            host,
            port,
            slots,
            options,
        },
        note,
    )
}

/// A spec as `add-host` writes it: a portless loopback address means this machine's own
/// slots (`localhost/N`, as `set-local` writes); a helper already listed and given without
/// slots or options keeps its own; else the port is defaulted.
pub fn resolve_added(spec: HostSpec, carch: &str, listed: &HostList) -> (HostSpec, Vec<String>) {
    if spec.means_this_machine()
        && let HostSpec::Tcp { host, slots, .. } = &spec
    {
        let local = HostSpec::Local { slots: *slots };
        return (
            local.clone(),
            vec![format!(
                "{spec} has no port, so it means this machine: written as {local}, as \
                 set-local does (a distccd on this machine needs its port: {host}:PORT/N)"
            )],
        );
    }
    let mut notes = Vec::new();
    let (spec, note) = with_default_port(spec, carch, listed);
    notes.extend(note);
    if let HostSpec::Tcp {
        slots: None,
        options,
        ..
    } = &spec
        && options.is_empty()
        && let Some(existing) = listed.specs().find(|s| s.key() == spec.key())
    {
        notes.push(format!(
            "{spec} is listed already as {existing}: its slots and options are kept (give \
             HOST:PORT/N to change them)"
        ));
        return (existing.clone(), notes);
    }
    (spec, notes)
}
