//! distccd-alarm's facts (AUR distccd-alarm, reference/makepkg.md §6): armv7h listens on
//! 3635 with /opt/x-tools7h, armv8 on 3636 with /opt/x-tools8; 3633 and 3634 were armv5 and
//! armv6h until 2022.

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HelperArch {
    Armv8,
    Armv7h,
}

impl HelperArch {
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
