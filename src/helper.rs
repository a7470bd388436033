//! What to run on a helper (an x86-64 Arch box, or Arch under WSL) to serve this Pi, from
//! distccd-alarm's facts: armv7h listens on 3635 with /opt/x-tools7h, armv8 on 3636 with
//! /opt/x-tools8 (AUR distccd-alarm, reference/makepkg.md §6).

use crate::error::bad_input;
use anyhow::Result;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

    /// The compiler prefix the Pi sends and the helper whitelists in /usr/lib/distcc.
    pub fn client_triple(self) -> &'static str {
        match self {
            HelperArch::Armv8 => "aarch64-unknown-linux-gnu",
            HelperArch::Armv7h => "armv7l-unknown-linux-gnueabihf",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HelperFormat {
    Script,
    Conf,
}

/// An `--allow` value: an address or network, checked against the private ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    pub text: String,
    pub addr: IpAddr,
    pub bits: u8,
}

pub fn parse_allow(text: &str) -> Result<Allow> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| {
        bad_input(format!(
            "--allow `{text}`: expected ADDRESS or ADDRESS/BITS"
        ))
    })?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        None => max,
        Some(b) => match b.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => return Err(bad_input(format!("--allow `{text}`: BITS must be 0-{max}"))),
        },
    };
    Ok(Allow {
        text: text.to_string(),
        addr,
        bits,
    })
}

fn within(addr: IpAddr, bits: u8, net: IpAddr, net_bits: u8) -> bool {
    if bits < net_bits {
        return false;
    }
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(net_bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(net_bits))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Allow {
    /// Inside one private or loopback network (what distccd's --allow-private covers).
    pub fn is_private(&self) -> bool {
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        let private: [(IpAddr, u8); 7] = [
            (v4(10, 0, 0, 0), 8),
            (v4(172, 16, 0, 0), 12),
            (v4(192, 168, 0, 0), 16),
            (v4(127, 0, 0, 0), 8),
            (IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
            (IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0)), 7),
            (IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10),
        ];
        private
            .iter()
            .any(|(net, bits)| within(self.addr, self.bits, *net, *bits))
    }
}

/// This machine's own IPv4 addresses on its networks, read from the kernel's routing table
/// (/proc/net/fib_trie); no traffic is sent.
pub fn own_lan_addresses() -> Vec<String> {
    let Ok(trie) = std::fs::read_to_string("/proc/net/fib_trie") else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    let mut last_addr: Option<&str> = None;
    for line in trie.lines() {
        let t = line.trim_start_matches([' ', '|', '+', '-']).trim();
        if t.parse::<Ipv4Addr>().is_ok() {
            last_addr = Some(t);
        } else if t.contains("/32 host LOCAL")
            && let Some(a) = last_addr
            && let Ok(ip) = a.parse::<Ipv4Addr>()
            && !ip.is_loopback()
            && !out.iter().any(|o| o == a)
        {
            out.push(a.to_string());
        }
    }
    out
}

pub struct HelperSetup {
    pub arch: HelperArch,
    pub allow: Vec<Allow>,
    pub port: u16,
    pub jobs: Option<u32>,
}

impl HelperSetup {
    /// Warnings for what a careful user would not want on a helper.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.allow {
            if !a.is_private() {
                out.push(format!(
                    "--allow {} reaches beyond a private network: anyone who can reach port {} \
                     could use the helper's compilers; allow only this Pi's address",
                    a.text, self.port
                ));
            }
        }
        if self.port != self.arch.port() {
            out.push(format!(
                "port {} is not distccd-alarm's {} port ({}); the Pi's DISTCC_HOSTS must name the same port",
                self.port,
                self.arch.name(),
                self.arch.port()
            ));
        }
        out
    }

    fn args(&self, extra: &str) -> String {
        let mut args: Vec<String> = self
            .allow
            .iter()
            .map(|a| format!("--allow {}", a.text))
            .collect();
        args.push(extra.to_string());
        args.push(format!("--log-file /tmp/distccd-{}.log", self.arch.name()));
        args.push(format!("--port {}", self.port));
        if let Some(j) = self.jobs {
            args.push(format!("--jobs {j}"));
        }
        args.join(" ").replace("  ", " ")
    }

    pub fn script(&self) -> String {
        let a = self.arch;
        let name = a.name();
        format!(
            r#"#!/usr/bin/env bash
# distccd for an Arch Linux ARM {name} Pi, generated by alarm-distcc.
# Run it on the helper: an x86_64 Arch Linux machine, or Arch Linux under WSL (no systemd
# needed; it stays in the foreground, stop it with Ctrl-C).
set -euo pipefail

# Once: install distcc and the ARM cross toolchain from the AUR package distccd-alarm
# (it builds distccd-alarm-armv7h and distccd-alarm-armv8; install distccd-alarm-{name}):
#   sudo pacman -S --needed git base-devel distcc
#   git clone https://aur.archlinux.org/distccd-alarm.git && cd distccd-alarm && makepkg -si
if [[ ! -d {bin} ]]; then
  echo "missing {bin}: install distccd-alarm-{name} first (see the comments above)" >&2
  exit 1
fi

# The cross compiler must come first on distccd's PATH; otherwise the helper's native
# x86_64 gcc answers and the Pi gets objects it cannot link. The Pi sends {triple}-gcc,
# which distccd-alarm whitelists in /usr/lib/distcc.
export PATH={bin}:$PATH

# Only this Pi may connect; {port} is distccd-alarm's {name} port.
export DISTCC_ARGS="{args}"

# WSL2 uses NAT by default: the Pi must reach port {port} on the Windows machine. Either set
# networkingMode=mirrored in %UserProfile%\.wslconfig (Windows 11 22H2+) and allow the port
# in the Hyper-V firewall, or forward it:
#   netsh interface portproxy add v4tov4 listenport={port} connectaddress=<WSL address> connectport={port}
# Then check from the Pi: alarm-distcc probe

exec /usr/bin/distccd --daemon --no-detach $DISTCC_ARGS
"#,
            bin = a.toolchain_bin(),
            triple = a.client_triple(),
            port = self.port,
            args = self.args("")
        )
    }

    pub fn conf(&self) -> String {
        let a = self.arch;
        let name = a.name();
        format!(
            r#"# /etc/conf.d/distccd-{name} on the helper (package distccd-alarm-{name}),
# generated by alarm-distcc.
PATH={bin}:$PATH
DISTCC_ARGS="{args}"

# Then enable the helper's service (not the plain distccd.service):
#   sudo systemctl enable --now distccd-{name}.service
# and allow TCP port {port} in the helper's firewall. Check from the Pi: alarm-distcc probe
"#,
            bin = a.toolchain_bin(),
            port = self.port,
            args = self.args("--log-level info")
        )
    }
}

/// `alarm-distcc helper`: prints the setup for the helper machine, warnings on stderr.
pub fn run(
    session: &crate::app::Session,
    arch: Option<HelperArch>,
    allow: &[String],
    port: Option<u16>,
    jobs: Option<u32>,
    format: HelperFormat,
) -> Result<()> {
    let docs = session.layers().unwrap_or_default();
    let arch = match arch {
        Some(a) => a,
        None => {
            let carch = crate::check::layered_scalar(&docs, "CARCH")
                .unwrap_or_else(|| std::env::consts::ARCH.to_string());
            HelperArch::from_carch(&carch).ok_or_else(|| {
                bad_input(format!(
                    "CARCH is `{carch}`, which distccd-alarm does not serve; give --arch armv8|armv7h"
                ))
            })?
        }
    };
    let allow = if allow.is_empty() {
        let own = own_lan_addresses();
        if own.is_empty() {
            return Err(bad_input(
                "could not find this machine's LAN address; give --allow ADDRESS (this Pi's IP)",
            ));
        }
        own
    } else {
        allow.to_vec()
    };
    let setup = HelperSetup {
        arch,
        allow: allow
            .iter()
            .map(|a| parse_allow(a))
            .collect::<Result<_>>()?,
        port: match port {
            Some(0) => return Err(bad_input("--port 0 is not a port")),
            Some(p) => p,
            None => arch.port(),
        },
        jobs: match jobs {
            Some(0) => return Err(bad_input("--jobs 0 would serve nothing")),
            j => j,
        },
    };
    for w in setup.warnings() {
        eprintln!("warning: {w}");
    }
    print!(
        "{}",
        match format {
            HelperFormat::Script => setup.script(),
            HelperFormat::Conf => setup.conf(),
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_networks() {
        assert!(parse_allow("192.168.1.50").unwrap().is_private());
        assert!(parse_allow("10.0.0.0/8").unwrap().is_private());
        assert!(parse_allow("fe80::1/64").unwrap().is_private());
        assert!(!parse_allow("10.0.0.0/7").unwrap().is_private());
        assert!(!parse_allow("0.0.0.0/0").unwrap().is_private());
        assert!(!parse_allow("8.8.8.8").unwrap().is_private());
        assert!(parse_allow("1.2.3.4/33").is_err());
    }
}
