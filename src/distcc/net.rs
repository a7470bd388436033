//! Addresses: `--allow` networks, the private ranges, and this machine's own addresses.

use crate::error::bad_input;
use anyhow::Result;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
