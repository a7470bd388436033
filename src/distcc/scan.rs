//! Finding helpers on the network: which IPv4 networks to look at (this machine's own, from
//! the kernel's routing table), a connect sweep that tries every address and port at once
//! under one deadline, then the real protocol-1 probe of what answered, with the ELF check.

use crate::distcc::compat::{Checker, Judged};
use crate::distcc::elf::Arch;
use crate::distcc::hosts::{HostList, Kind};
use crate::distcc::protocol::{JobKind, Outcome, Target, Verdict};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// distcc's own port, then distccd-alarm's armv6h, armv7h and armv8 ports.
pub const DEFAULT_PORTS: [u16; 4] = [3632, 3634, 3635, 3636];

/// The largest network scanned by default: 1022 addresses.
pub const MAX_DEFAULT_BITS: u8 = 22;

/// An IPv4 network, `ADDRESS/BITS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub bits: u8,
}

impl FromStr for Subnet {
    type Err = String;

    fn from_str(text: &str) -> Result<Subnet, String> {
        let (addr, bits) = text.split_once('/').unwrap_or((text, "32"));
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("`{text}`: expected an IPv4 network, e.g. 192.168.1.0/24"))?;
        let bits: u8 = bits
            .parse()
            .ok()
            .filter(|b| *b <= 32)
            .ok_or_else(|| format!("`{text}`: the bits after / must be 0-32"))?;
        Ok(Subnet::new(addr, bits))
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.bits)
    }
}

fn mask(bits: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0)
}

impl Subnet {
    /// The network holding `addr` (host bits cleared).
    pub fn new(addr: Ipv4Addr, bits: u8) -> Subnet {
        Subnet {
            base: Ipv4Addr::from(u32::from(addr) & mask(bits)),
            bits,
        }
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & mask(self.bits) == u32::from(self.base)
    }

    /// Inside 10/8, 172.16/12, 192.168/16 or 127/8.
    pub fn is_private(&self) -> bool {
        [
            Subnet::new(Ipv4Addr::new(10, 0, 0, 0), 8),
            Subnet::new(Ipv4Addr::new(172, 16, 0, 0), 12),
            Subnet::new(Ipv4Addr::new(192, 168, 0, 0), 16),
            Subnet::new(Ipv4Addr::new(127, 0, 0, 0), 8),
        ]
        .iter()
        .any(|net| self.bits >= net.bits && net.contains(self.base))
    }

    /// The host addresses: without the network and broadcast addresses, except in a /31 or
    /// /32, which have none.
    pub fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> {
        let first = u32::from(self.base) + u32::from(self.bits < 31);
        (0..self.host_count()).map(move |i| Ipv4Addr::from(first + i as u32))
    }

    pub fn host_count(&self) -> u64 {
        let size = 1u64 << (32 - u32::from(self.bits));
        if self.bits >= 31 { size } else { size - 2 }
    }

    /// At most `bits` wide: the part of a bigger network around `own`, with why.
    pub fn capped(&self, own: Ipv4Addr, bits: u8) -> (Subnet, Option<String>) {
        if self.bits >= bits {
            return (*self, None);
        }
        let small = Subnet::new(own, bits);
        (
            small,
            Some(format!(
                "{self} has {} addresses; scanning {small} around this machine's {own} \
                 (give --subnet for more)",
                self.host_count()
            )),
        )
    }
}

/// This machine's directly connected IPv4 networks and its address on each, from the kernel
/// (/proc/net/route and /proc/net/fib_trie): no traffic. Loopback is left out.
pub fn own_networks() -> Vec<(Subnet, Ipv4Addr)> {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let own = crate::distcc::net::own_lan_addresses();
    let mut out: Vec<(Subnet, Ipv4Addr)> = Vec::new();
    for net in routes.lines().skip(1).filter_map(connected_network) {
        if let Some(addr) = own
            .iter()
            .filter_map(|a| a.parse::<Ipv4Addr>().ok())
            .find(|a| net.contains(*a))
            && !out.iter().any(|(n, _)| *n == net)
        {
            out.push((net, addr));
        }
    }
    out
}

/// A directly connected route of /proc/net/route (up, no gateway, not the default route).
fn connected_network(line: &str) -> Option<Subnet> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 8 || f[0] == "lo" {
        return None;
    }
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let (dest, flags, mask) = (hex(f[1])?, hex(f[3])?, hex(f[7])?);
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    if dest == 0 || flags & RTF_UP == 0 || flags & RTF_GATEWAY != 0 {
        return None;
    }
    // The kernel prints the addresses in network byte order as a host-order number.
    let dest = Ipv4Addr::from(dest.to_le_bytes());
    let bits = mask.count_ones() as u8;
    Some(Subnet::new(dest, bits))
}

/// The networks to scan: the ones given (each private, or `public` said), else this
/// machine's own, each capped at a /22 around its address. Also returns what to tell the
/// user about the choice.
pub fn choose_subnets(
    given: &[String],
    public: bool,
) -> Result<(Vec<Subnet>, Vec<String>), String> {
    let mut notes = Vec::new();
    if !given.is_empty() {
        let nets = given
            .iter()
            .map(|g| g.parse::<Subnet>())
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(outside) = nets.iter().find(|n| !n.is_private()) {
            if !public {
                return Err(format!(
                    "network {outside} is outside the private ranges (10/8, 172.16/12, \
                     192.168/16, 127/8): scanning other people's networks is not something this \
                     tool does casually. If that network is yours, say so with --public"
                ));
            }
            notes.push(format!(
                "scanning {outside}, outside the private ranges (--public)"
            ));
        }
        let too_big = nets.iter().find(|n| n.bits < 16);
        if let Some(big) = too_big {
            return Err(format!(
                "network {big} has {} addresses; give a /16 or smaller",
                big.host_count()
            ));
        }
        return Ok((nets, notes));
    }
    let own = own_networks();
    if own.is_empty() {
        return Err(
            "found no network of this machine (the kernel's routing table lists none); give \
             --subnet ADDRESS/BITS"
                .into(),
        );
    }
    let mut nets = Vec::new();
    let mut skipped = Vec::new();
    for (net, addr) in own {
        let (net, why) = net.capped(addr, MAX_DEFAULT_BITS);
        // The same guard as for a --subnet given by hand.
        if !net.is_private() && !public {
            skipped.push(net.to_string());
            continue;
        }
        notes.extend(why);
        if !nets.contains(&net) {
            nets.push(net);
        }
    }
    if !skipped.is_empty() {
        let msg = format!(
            "this machine's network {} is outside the private ranges, so it is not searched \
             without --public (only if it is yours)",
            skipped.join(", ")
        );
        if nets.is_empty() {
            return Err(msg);
        }
        notes.push(msg);
    }
    Ok((nets, notes))
}

/// Lets this process hold enough sockets for one wave of a /22 with four ports.
fn raise_fd_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 256;
        }
        let want = lim.rlim_max.min(8192);
        if want > lim.rlim_cur {
            lim.rlim_cur = want;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        }
    }
    // Leave room for the files and probes that follow.
    (lim.rlim_cur as usize).saturating_sub(64).max(64)
}

/// Tries every address at once (non-blocking connects, in waves as large as the file limit
/// allows), each wave bounded by `timeout`; returns those that accepted. `progress` is told
/// how many are done.
pub fn sweep(
    addrs: &[SocketAddrV4],
    timeout: Duration,
    progress: &dyn Fn(usize),
) -> Vec<SocketAddrV4> {
    let wave = raise_fd_limit();
    let mut open = Vec::new();
    let mut done = 0;
    for chunk in addrs.chunks(wave) {
        open.extend(sweep_wave(chunk, timeout));
        done += chunk.len();
        progress(done);
    }
    open
}

fn sweep_wave(addrs: &[SocketAddrV4], timeout: Duration) -> Vec<SocketAddrV4> {
    let deadline = Instant::now() + timeout;
    let mut open = Vec::new();
    let mut pending: Vec<(Socket, SocketAddrV4)> = Vec::new();
    for addr in addrs {
        let Ok(socket) = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)) else {
            continue;
        };
        if socket.set_nonblocking(true).is_err() {
            continue;
        }
        match socket.connect(&SockAddr::from(*addr)) {
            Ok(()) => open.push(*addr),
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == std::io::ErrorKind::WouldBlock =>
            {
                pending.push((socket, *addr))
            }
            Err(_) => {} // refused or unreachable at once
        }
    }
    while !pending.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut fds: Vec<libc::pollfd> = pending
            .iter()
            .map(|(s, _)| libc::pollfd {
                fd: s.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            })
            .collect();
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()` pollfd.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        let mut still = Vec::with_capacity(pending.len());
        for ((socket, addr), fd) in pending.into_iter().zip(&fds) {
            if fd.revents == 0 {
                still.push((socket, addr));
            } else if matches!(socket.take_error(), Ok(None)) {
                open.push(addr);
            }
        }
        pending = still;
    }
    open
}

/// What a found daemon is to this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundVerdict {
    /// Compiled the probe for this machine's architecture.
    Usable,
    WrongArch(Arch),
    /// Closed before answering: its --allow list or its compiler whitelist.
    Rejected,
    CompilerMissing,
    CompileFailed,
    /// Accepted the connection, never answered.
    Silent,
    /// Answered, but not as distccd.
    NotDistcc,
    /// Answered with an object that is not sound ELF.
    Damaged,
    /// Accepted the sweep's connection, then refused the probe's.
    Gone,
    /// Compiles for this machine's architecture, but not as this machine's compiler does
    /// (flags rejected, PIE default, version with LTO): `probe` says what.
    Incompatible,
    /// Its objects of this machine's headers call builtins its older gcc does not know:
    /// they do not link.
    Unlinkable,
}

impl FoundVerdict {
    pub fn name(self) -> &'static str {
        match self {
            FoundVerdict::Usable => "usable",
            FoundVerdict::WrongArch(_) => "wrong_arch",
            FoundVerdict::Rejected => "rejected",
            FoundVerdict::CompilerMissing => "compiler_missing",
            FoundVerdict::CompileFailed => "compile_failed",
            FoundVerdict::Silent => "silent",
            FoundVerdict::NotDistcc => "not_distcc",
            FoundVerdict::Damaged => "damaged_object",
            FoundVerdict::Gone => "gone",
            FoundVerdict::Incompatible => "incompatible",
            FoundVerdict::Unlinkable => "unlinkable",
        }
    }

    pub fn describe(self, expected: Arch) -> String {
        match self {
            FoundVerdict::Usable => format!("usable: compiles for {expected}"),
            FoundVerdict::WrongArch(arch) => format!("wrong arch: {arch} objects, need {expected}"),
            FoundVerdict::Rejected => {
                "rejected: not allowed from here (--allow) or compiler not whitelisted".into()
            }
            FoundVerdict::CompilerMissing => "compiler missing on the helper".into(),
            FoundVerdict::CompileFailed => "the compile failed on the helper".into(),
            FoundVerdict::Silent => {
                "silent: accepts connections, no answer within --timeout".into()
            }
            FoundVerdict::NotDistcc => "answers, but not as distccd".into(),
            FoundVerdict::Damaged => "returned a damaged object".into(),
            FoundVerdict::Gone => "went away while being probed".into(),
            FoundVerdict::Incompatible => {
                format!("compiles for {expected}, but unlike this machine's compiler")
            }
            FoundVerdict::Unlinkable => {
                format!("compiles for {expected}, but its older gcc makes objects that do not link")
            }
        }
    }
}

/// The verdict of one judged probe: the names this machine's distcc sends decide; else the
/// most telling failure.
pub fn verdict_of(judged: &Judged, expected: Arch) -> FoundVerdict {
    if judged.verdict == Verdict::Ok {
        return FoundVerdict::Usable;
    }
    let outcomes: Vec<&Outcome> = judged
        .report
        .attempts
        .iter()
        .filter(|a| {
            a.job
                .as_ref()
                .is_some_and(|j| j.decisive && j.kind != JobKind::Cxx)
        })
        .map(|a| &a.outcome)
        .collect();
    let arches: Vec<Arch> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Object { arch, .. } => Some(*arch),
            _ => None,
        })
        .collect();
    if let Some(wrong) = arches.iter().find(|a| **a != expected) {
        return FoundVerdict::WrongArch(*wrong);
    }
    if !arches.is_empty() {
        let unlinkable = outcomes.iter().any(|o| {
            matches!(o, Outcome::Object { undefined_builtins, .. } if !undefined_builtins.is_empty())
        });
        return if unlinkable {
            FoundVerdict::Unlinkable
        } else {
            FoundVerdict::Incompatible
        };
    }
    // Refuses the name this machine sends, but builds for another architecture under
    // another name (a native helper): that says most about it.
    let other_arch = judged.report.attempts.iter().find_map(|a| match a.outcome {
        Outcome::Object { arch, .. } if arch != expected => Some(arch),
        _ => None,
    });
    if let Some(arch) = other_arch {
        return FoundVerdict::WrongArch(arch);
    }
    let has = |f: &dyn Fn(&Outcome) -> bool| outcomes.iter().any(|o| f(o));
    if has(&|o| matches!(o, Outcome::CompilerMissing(_))) {
        FoundVerdict::CompilerMissing
    } else if has(&|o| matches!(o, Outcome::CompileFailed { .. })) {
        FoundVerdict::CompileFailed
    } else if has(&|o| matches!(o, Outcome::Rejected)) {
        FoundVerdict::Rejected
    } else if has(&|o| matches!(o, Outcome::DamagedObject(_))) {
        FoundVerdict::Damaged
    } else if has(&|o| matches!(o, Outcome::ProtocolError(_))) {
        FoundVerdict::NotDistcc
    } else if has(&|o| matches!(o, Outcome::TimedOut(_))) {
        FoundVerdict::Silent
    } else {
        FoundVerdict::Gone
    }
}

impl Found {
    /// The verdict in words, with the likely cause of a rejection on another architecture's
    /// distccd-alarm port (an armv7h helper on 3635 seen from an aarch64 Pi).
    pub fn verdict_text(&self, expected: Arch, carch: &str) -> String {
        let text = self.verdict.describe(expected);
        match (
            self.verdict,
            crate::distcc::alarm::port_mismatch(self.addr.port(), carch),
        ) {
            (FoundVerdict::Rejected, Some(why)) => format!("{text}; likely: {why}"),
            _ => text,
        }
    }
}

/// A daemon that answered.
#[derive(Debug, Clone)]
pub struct Found {
    pub addr: SocketAddrV4,
    /// Its name, when one is known without waiting (see `names`).
    pub name: Option<String>,
    pub verdict: FoundVerdict,
    /// Why it is not usable, one cause per line (empty when it is).
    pub causes: Vec<String>,
    /// Already in DISTCC_HOSTS (same address or name, same port).
    pub listed: bool,
}

impl Found {
    /// As DISTCC_HOSTS would name it.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

/// What to look for and how long to wait.
pub struct Search<'a> {
    pub subnets: &'a [Subnet],
    pub ports: &'a [u16],
    pub timeout: Duration,
    pub checker: &'a Checker,
    pub listed: &'a HostList,
}

/// Sweeps, probes what answered, and names it: every daemon found, by address and port.
pub fn search(s: &Search, progress: &dyn Fn(usize, usize)) -> Vec<Found> {
    let mut addrs: Vec<SocketAddrV4> = Vec::new();
    for net in s.subnets {
        for host in net.hosts() {
            for port in s.ports {
                let a = SocketAddrV4::new(host, *port);
                if !addrs.contains(&a) {
                    addrs.push(a);
                }
            }
        }
    }
    let total = addrs.len();
    let open = sweep(&addrs, s.timeout, &|done| progress(done, total));
    let targets: Vec<Target> = open
        .iter()
        .map(|a| Target {
            spec: a.to_string(),
            kind: Kind::Tcp,
            host: a.ip().to_string(),
            port: a.port(),
        })
        .collect();
    let probe_timeout = (s.timeout * 3).clamp(Duration::from_secs(2), Duration::from_secs(30));
    let judged = s.checker.check(&targets, probe_timeout);
    let names = names(&open, s.timeout);
    let mut found: Vec<Found> = open
        .iter()
        .zip(&judged)
        .map(|(addr, judged)| {
            let name = names
                .iter()
                .find(|(a, _)| a == addr.ip())
                .map(|(_, n)| n.clone());
            Found {
                addr: *addr,
                listed: is_listed(s.listed, addr, name.as_deref()),
                // From /etc/hosts or a name server: outside text, shown escaped.
                name: name.map(|n| crate::ui::escape(&n)),
                verdict: verdict_of(judged, s.checker.expected),
                causes: if judged.verdict == Verdict::Ok {
                    Vec::new()
                } else {
                    judged.causes()
                },
            }
        })
        .collect();
    found.sort_by_key(|f| (u32::from(*f.addr.ip()), f.addr.port()));
    found
}

fn is_listed(list: &HostList, addr: &SocketAddrV4, name: Option<&str>) -> bool {
    list.specs().any(|spec| {
        spec.kind() == Kind::Tcp
            && spec.port() == Some(addr.port())
            && spec.host().is_some_and(|h| {
                h == addr.ip().to_string() || name.is_some_and(|n| n.eq_ignore_ascii_case(h))
            })
    })
}

/// Names for the addresses that answered: /etc/hosts first (no traffic); for addresses off
/// this machine, a reverse lookup that may take at most `timeout` in all.
fn names(addrs: &[SocketAddrV4], timeout: Duration) -> Vec<(Ipv4Addr, String)> {
    let hosts_file = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let mut out = Vec::new();
    let mut ask = Vec::new();
    for ip in addrs.iter().map(|a| *a.ip()) {
        if out.iter().any(|(a, _)| *a == ip) || ask.contains(&ip) {
            continue;
        }
        match name_in_hosts_file(&hosts_file, ip) {
            Some(n) => out.push((ip, n)),
            // Loopback is this machine: never ask a name server about it.
            None if !ip.is_loopback() => ask.push(ip),
            None => {}
        }
    }
    if ask.is_empty() {
        return out;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    for ip in ask {
        let tx = tx.clone();
        std::thread::spawn(move || {
            if let Some(n) = reverse_lookup(ip) {
                let _ = tx.send((ip, n));
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + timeout;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(pair) => out.push(pair),
            Err(_) => break,
        }
    }
    out
}

fn name_in_hosts_file(text: &str, ip: Ipv4Addr) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.split('#').next()?;
        let mut words = line.split_whitespace();
        let addr: Ipv4Addr = words.next()?.parse().ok()?;
        (addr == ip)
            .then(|| words.next().map(str::to_string))
            .flatten()
    })
}

fn reverse_lookup(ip: Ipv4Addr) -> Option<String> {
    let addr = SockAddr::from(SocketAddr::V4(SocketAddrV4::new(ip, 0)));
    let mut host = [0 as libc::c_char; 256];
    // SAFETY: a valid sockaddr of the given length and a writable buffer of its length.
    let rc = unsafe {
        libc::getnameinfo(
            addr.as_ptr().cast(),
            addr.len(),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo wrote a NUL-terminated string into `host`.
    let name = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_list_their_hosts() {
        let net: Subnet = "127.0.0.0/27".parse().unwrap();
        assert_eq!(net.hosts().count(), 30);
        assert_eq!(net.hosts().next(), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(net.hosts().last(), Some(Ipv4Addr::new(127, 0, 0, 30)));
        let one: Subnet = "127.0.0.5".parse().unwrap();
        assert_eq!(
            one.hosts().collect::<Vec<_>>(),
            [Ipv4Addr::new(127, 0, 0, 5)]
        );
        assert_eq!(
            "192.168.1.77/24".parse::<Subnet>().unwrap().to_string(),
            "192.168.1.0/24"
        );
        assert!("192.168.1.0/33".parse::<Subnet>().is_err());
        assert!("fe80::/64".parse::<Subnet>().is_err());
    }

    #[test]
    fn private_ranges() {
        for p in [
            "10.1.0.0/16",
            "172.20.0.0/16",
            "192.168.1.0/24",
            "127.0.0.0/27",
        ] {
            assert!(p.parse::<Subnet>().unwrap().is_private(), "{p}");
        }
        for p in ["8.8.8.0/24", "172.32.0.0/16", "10.0.0.0/7", "0.0.0.0/0"] {
            assert!(!p.parse::<Subnet>().unwrap().is_private(), "{p}");
        }
    }

    #[test]
    fn given_subnets_must_be_private_unless_said_public() {
        let given = |v: &[&str], public| {
            choose_subnets(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>(), public)
        };
        let (nets, notes) = given(&["127.0.0.0/27"], false).unwrap();
        assert_eq!(nets, ["127.0.0.0/27".parse().unwrap()]);
        assert!(notes.is_empty());
        let err = given(&["8.8.8.0/24"], false).unwrap_err();
        assert!(err.contains("--public"), "{err}");
        let (_, notes) = given(&["8.8.8.0/24"], true).unwrap();
        assert!(notes[0].contains("--public"));
        assert!(
            given(&["10.0.0.0/8"], false)
                .unwrap_err()
                .contains("/16 or smaller")
        );
        assert!(given(&["nonsense"], false).is_err());
    }

    #[test]
    fn big_networks_are_capped_around_this_machine() {
        let net: Subnet = "10.0.0.0/8".parse().unwrap();
        let (small, why) = net.capped(Ipv4Addr::new(10, 20, 30, 40), MAX_DEFAULT_BITS);
        assert_eq!(small.to_string(), "10.20.28.0/22");
        assert!(why.unwrap().contains("10.0.0.0/8"));
        let net: Subnet = "192.168.1.0/24".parse().unwrap();
        assert_eq!(net.capped(Ipv4Addr::new(192, 168, 1, 9), 22), (net, None));
    }

    #[test]
    fn connected_routes_from_the_kernel_table() {
        let line = "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0";
        assert_eq!(
            connected_network(line),
            Some("192.168.1.0/24".parse().unwrap())
        );
        let default = "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0";
        assert_eq!(connected_network(default), None);
        let via_gateway = "eth0\t0000000A\t0101A8C0\t0003\t0\t0\t100\t000000FF\t0\t0\t0";
        assert_eq!(connected_network(via_gateway), None);
    }

    #[test]
    fn names_from_the_hosts_file() {
        let text = "127.0.0.1 localhost\n192.168.1.100 laptop laptop.lan # WSL\n";
        assert_eq!(
            name_in_hosts_file(text, Ipv4Addr::new(192, 168, 1, 100)),
            Some("laptop".into())
        );
        assert_eq!(
            name_in_hosts_file(text, Ipv4Addr::new(192, 168, 1, 101)),
            None
        );
    }
}
