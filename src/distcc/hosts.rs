//! distcc's host specification grammar (`man distcc`, HOST SPECIFICATIONS; `src/hosts.c`).
//!
//! Parsing is stricter than distcc's: anything distcc would reject (which makes it drop the
//! whole list) or silently misread (port 0, negative slots, `,lzofoo`, `@host:3632`) is an
//! error here, so the tool never writes a list distcc will not use as meant.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

pub const DEFAULT_PORT: u16 = 3632;
pub const DEFAULT_TCP_SLOTS: u32 = 4;
pub const DEFAULT_LOCAL_SLOTS: u32 = 2;
/// distcc's slot loop stops at 10000; anything near that is a typo.
pub const MAX_SLOTS: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostOption {
    Lzo,
    Cpp,
    Auth(Option<String>),
}

impl fmt::Display for HostOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostOption::Lzo => f.write_str("lzo"),
            HostOption::Cpp => f.write_str("cpp"),
            HostOption::Auth(None) => f.write_str("auth"),
            HostOption::Auth(Some(name)) => write!(f, "auth={name}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Global {
    Randomize,
    LocalSlots(u32),
    LocalSlotsCpp(u32),
    Zeroconf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    Global(Global),
    /// Exactly `localhost[/N]`: compiles run on this machine, no daemon.
    Local {
        slots: Option<u32>,
    },
    Tcp {
        host: String,
        port: Option<u16>,
        slots: Option<u32>,
        options: Vec<HostOption>,
    },
    Ssh {
        user: Option<String>,
        host: String,
        slots: Option<u32>,
        command: Option<String>,
        options: Vec<HostOption>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Global,
    Local,
    Tcp,
    Ssh,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Global => "option",
            Kind::Local => "local",
            Kind::Tcp => "tcp",
            Kind::Ssh => "ssh",
        })
    }
}

impl HostSpec {
    /// A machine distcc sends jobs to (over TCP or ssh), not this one or a global option.
    pub fn is_helper(&self) -> bool {
        matches!(self.kind(), Kind::Tcp | Kind::Ssh)
    }

    pub fn kind(&self) -> Kind {
        match self {
            HostSpec::Global(_) => Kind::Global,
            HostSpec::Local { .. } => Kind::Local,
            HostSpec::Tcp { .. } => Kind::Tcp,
            HostSpec::Ssh { .. } => Kind::Ssh,
        }
    }

    /// Slots as distcc counts them (`distcc -j`): 4 per host, 2 for localhost, 0 for options.
    pub fn slots(&self) -> u32 {
        match self {
            HostSpec::Global(_) => 0,
            HostSpec::Local { slots } => slots.unwrap_or(DEFAULT_LOCAL_SLOTS),
            HostSpec::Tcp { slots, .. } | HostSpec::Ssh { slots, .. } => {
                slots.unwrap_or(DEFAULT_TCP_SLOTS)
            }
        }
    }

    pub fn host(&self) -> Option<&str> {
        match self {
            HostSpec::Tcp { host, .. } | HostSpec::Ssh { host, .. } => Some(host),
            HostSpec::Local { .. } => Some("localhost"),
            HostSpec::Global(_) => None,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self {
            HostSpec::Tcp { port, .. } => Some(port.unwrap_or(DEFAULT_PORT)),
            _ => None,
        }
    }

    /// `HOST:PORT` of a network host, as `remove-host` and `probe` take it.
    pub fn host_port(&self) -> Option<String> {
        match self {
            HostSpec::Tcp { host, .. } => Some(format!("{host}:{}", self.port()?)),
            _ => None,
        }
    }

    pub fn options(&self) -> &[HostOption] {
        match self {
            HostSpec::Tcp { options, .. } | HostSpec::Ssh { options, .. } => options,
            _ => &[],
        }
    }

    /// What identifies a host in the list: two specs with the same key are the same helper.
    pub fn key(&self) -> String {
        match self {
            HostSpec::Global(g) => format!("global:{}", Self::Global(g.clone())),
            HostSpec::Local { .. } => "localhost".into(),
            HostSpec::Tcp { host, port, .. } => {
                format!(
                    "tcp:{}:{}",
                    host.to_ascii_lowercase(),
                    port.unwrap_or(DEFAULT_PORT)
                )
            }
            HostSpec::Ssh { user, host, .. } => format!(
                "ssh:{}@{}",
                user.as_deref().unwrap_or(""),
                host.to_ascii_lowercase()
            ),
        }
    }

    /// A network entry on this machine's loopback (`127.x.x.x`, `[::1]`, `localhost:PORT`).
    pub fn is_loopback_tcp(&self) -> bool {
        match self {
            HostSpec::Tcp { host, .. } => is_loopback(host),
            _ => false,
        }
    }

    /// A loopback address without a port (the seed's `127.0.0.1/2`): written for this
    /// machine's own slots, which only `localhost/N` gives. add-host, set-local, the wizard,
    /// show and doctor all read it so.
    pub fn means_this_machine(&self) -> bool {
        matches!(self, HostSpec::Tcp { port: None, .. }) && self.is_loopback_tcp()
    }
}

pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(v4) = bare.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    if let Ok(v6) = bare.parse::<Ipv6Addr>() {
        return v6.is_loopback();
    }
    bare.eq_ignore_ascii_case("localhost")
}

/// Canonical form: `host[:port][/slots][,opt...]`, `user@host[/slots][:command]`, `localhost/N`.
impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let write_opts = |f: &mut fmt::Formatter<'_>, options: &[HostOption]| {
            options.iter().try_for_each(|o| write!(f, ",{o}"))
        };
        match self {
            HostSpec::Global(Global::Randomize) => f.write_str("--randomize"),
            HostSpec::Global(Global::LocalSlots(n)) => write!(f, "--localslots={n}"),
            HostSpec::Global(Global::LocalSlotsCpp(n)) => write!(f, "--localslots_cpp={n}"),
            HostSpec::Global(Global::Zeroconf) => f.write_str("+zeroconf"),
            HostSpec::Local { slots } => {
                f.write_str("localhost")?;
                slots.map_or(Ok(()), |n| write!(f, "/{n}"))
            }
            HostSpec::Tcp {
                host,
                port,
                slots,
                options,
            } => {
                f.write_str(host)?;
                match port {
                    Some(p) => write!(f, ":{p}")?,
                    // A bare `localhost/N` would turn this network host into the local one.
                    None if host == "localhost" => write!(f, ":{DEFAULT_PORT}")?,
                    None => {}
                }
                if let Some(n) = slots {
                    write!(f, "/{n}")?;
                }
                write_opts(f, options)
            }
            HostSpec::Ssh {
                user,
                host,
                slots,
                command,
                options,
            } => {
                write!(f, "{}@{host}", user.as_deref().unwrap_or(""))?;
                if let Some(n) = slots {
                    write!(f, "/{n}")?;
                }
                if let Some(c) = command {
                    write!(f, ":{c}")?;
                }
                write_opts(f, options)
            }
        }
    }
}

/// Why a token is not a host distcc would use as meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub token: String,
    pub reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid host `{}`: {}", self.token, self.reason)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(token: &str, reason: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError {
        token: token.to_string(),
        reason: reason.into(),
    })
}

fn is_allowed_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._-:[]/@,=+%".contains(c)
}

fn parse_slots(token: &str, digits: &str) -> Result<u32, SpecError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return err(
            token,
            format!("slots must be a whole number, got `{digits}`"),
        );
    }
    match digits.parse::<u32>() {
        Ok(0) => err(
            token,
            "0 slots: distcc rejects `/0` and then ignores the whole host list",
        ),
        Ok(n) if n <= MAX_SLOTS => Ok(n),
        _ => err(token, format!("{digits} slots is more than {MAX_SLOTS}")),
    }
}

fn parse_port(token: &str, digits: &str) -> Result<u16, SpecError> {
    if digits.is_empty() {
        return err(
            token,
            "a `:` with no port after it (distcc reads it as port 0)",
        );
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return err(token, format!("port must be a number, got `{digits}`"));
    }
    match digits.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => err(token, format!("port {digits} is outside 1-65535")),
    }
}

fn parse_options(token: &str, list: &str) -> Result<Vec<HostOption>, SpecError> {
    let mut options = Vec::new();
    for opt in list.split(',') {
        let parsed = match opt {
            "lzo" => HostOption::Lzo,
            "cpp" => HostOption::Cpp,
            "auth" => HostOption::Auth(None),
            _ if opt.starts_with("auth=") && opt.len() > 5 => {
                HostOption::Auth(Some(opt[5..].to_string()))
            }
            "" => return err(token, "an empty option (`,,` or a trailing comma)"),
            _ if opt.contains('.') || opt.chars().all(|c| c.is_ascii_digit() || c == ':') => {
                return err(
                    token,
                    format!(
                        "`{opt}` looks like another host: separate hosts with spaces, not commas"
                    ),
                );
            }
            _ => {
                return err(
                    token,
                    format!(
                        "unknown option `,{opt}` (distcc knows lzo, cpp, auth); distcc would \
                         ignore the whole host list"
                    ),
                );
            }
        };
        options.push(parsed);
    }
    if options.contains(&HostOption::Cpp) && !options.contains(&HostOption::Lzo) {
        return err(token, "`,cpp` (pump mode) requires `,lzo`");
    }
    Ok(options)
}

fn validate_hostname(token: &str, host: &str) -> Result<(), SpecError> {
    if host.is_empty() {
        return err(token, "no host name");
    }
    if let Some(inner) = host.strip_prefix('[') {
        let Some(addr) = inner.strip_suffix(']') else {
            return err(token, "IPv6 address without its closing `]`");
        };
        if addr.parse::<Ipv6Addr>().is_err() {
            return err(token, format!("`{addr}` is not an IPv6 address"));
        }
        return Ok(());
    }
    if host.contains(':') {
        return err(
            token,
            "an IPv6 address must be written in brackets, like [::1]",
        );
    }
    if host.starts_with('-') {
        return err(
            token,
            "starts with `-`: distcc would take it as a host name, not an option",
        );
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if host.parse::<Ipv4Addr>().is_err() {
            return err(token, format!("`{host}` is not a valid IPv4 address"));
        }
        return Ok(());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if host.len() > 200 || !host.trim_end_matches('.').split('.').all(label_ok) {
        return err(token, format!("`{host}` is not a valid host name"));
    }
    Ok(())
}

/// Splits `[v6]rest` or `name rest` where the name ends at `/`, `:` or `,`.
fn split_host(token: &str, s: &str) -> Result<(String, String), SpecError> {
    if s.starts_with('[') {
        return match s.find(']') {
            Some(i) => Ok((s[..=i].to_string(), s[i + 1..].to_string())),
            None => err(token, "IPv6 address without its closing `]`"),
        };
    }
    let end = s.find(['/', ':', ',', '=']).unwrap_or(s.len());
    Ok((s[..end].to_string(), s[end..].to_string()))
}

fn take_until<'a>(s: &'a str, stops: &[char]) -> (&'a str, &'a str) {
    let end = s.find(stops).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

impl std::str::FromStr for HostSpec {
    type Err = SpecError;

    fn from_str(token: &str) -> Result<HostSpec, SpecError> {
        if token.is_empty() {
            return err(token, "empty");
        }
        if let Some(bad) = token.chars().find(|c| !is_allowed_char(*c)) {
            let what = match bad {
                ' ' | '\t' | '\n' => "whitespace (give each host as its own argument)".into(),
                '\'' | '"' => "a quote".into(),
                '$' | '`' => format!("`{bad}`: shell expansion is not allowed"),
                '#' => "`#` (distcc reads the rest as a comment)".into(),
                _ => format!("the character `{bad}`"),
            };
            return err(token, format!("contains {what}"));
        }
        match token {
            "--randomize" => return Ok(HostSpec::Global(Global::Randomize)),
            "+zeroconf" => return Ok(HostSpec::Global(Global::Zeroconf)),
            _ => {}
        }
        for (prefix, make) in [
            (
                "--localslots_cpp",
                Global::LocalSlotsCpp as fn(u32) -> Global,
            ),
            ("--localslots", Global::LocalSlots),
        ] {
            if let Some(rest) = token.strip_prefix(prefix) {
                let Some(n) = rest.strip_prefix(['=', '/']) else {
                    return err(token, format!("expected {prefix}=N"));
                };
                return Ok(HostSpec::Global(make(parse_slots(token, n)?)));
            }
        }
        if token.starts_with('-') || token.starts_with('+') {
            return err(
                token,
                "unknown global option (distcc knows --randomize, --localslots=N, \
                 --localslots_cpp=N, +zeroconf)",
            );
        }
        if token.starts_with("localhost=") {
            return err(
                token,
                "distcc reads localhost=N as a network host on port 3632, not this machine; \
                 write localhost/N to compile here",
            );
        }
        if token == "localhost" || token.starts_with("localhost/") {
            let rest = &token["localhost".len()..];
            let Some(n) = rest.strip_prefix('/') else {
                return Ok(HostSpec::Local { slots: None });
            };
            if n.contains([':', ',']) {
                return err(
                    token,
                    "distcc ignores anything after localhost/N; for a daemon on this \
                     machine use 127.0.0.1:PORT",
                );
            }
            return Ok(HostSpec::Local {
                slots: Some(parse_slots(token, n)?),
            });
        }
        if let Some(at) = token.find('@') {
            return parse_ssh(token, at);
        }
        parse_tcp(token)
    }
}

fn parse_ssh(token: &str, at: usize) -> Result<HostSpec, SpecError> {
    let user = &token[..at];
    if !user.is_empty()
        && !user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        // distcc takes any spec with an `@` for ssh's USER@HOST, an auth=NAME@REALM too.
        return err(
            token,
            format!(
                "`{user}` is not a user name (distcc reads a spec with `@` as USER@HOST over ssh)"
            ),
        );
    }
    let (host, mut rest) = split_host(token, &token[at + 1..])?;
    let host_str = host.as_str();
    validate_hostname(token, host_str)?;
    let mut slots = None;
    let mut command = None;
    let mut options = Vec::new();
    if let Some(r) = rest.strip_prefix(['/', '=']) {
        let (n, r) = take_until(r, &[':', ',']);
        slots = Some(parse_slots(token, n)?);
        rest = r.to_string();
    }
    if let Some(r) = rest.strip_prefix(':') {
        let (cmd, r) = take_until(r, &[',']);
        if cmd.is_empty() {
            return err(token, "`:` with no ssh command after it");
        }
        if cmd.bytes().all(|b| b.is_ascii_digit()) {
            return err(
                token,
                format!(
                    "ssh hosts (with `@`) have no port: distcc would run `{cmd}` as the remote \
                     command; drop the `@` for a TCP host"
                ),
            );
        }
        command = Some(cmd.to_string());
        rest = r.to_string();
    }
    if let Some(r) = rest.strip_prefix(',') {
        options = parse_options(token, r)?;
    } else if !rest.is_empty() {
        return err(token, format!("unexpected `{rest}`"));
    }
    Ok(HostSpec::Ssh {
        user: (!user.is_empty()).then(|| user.to_string()),
        host,
        slots,
        command,
        options,
    })
}

fn parse_tcp(token: &str) -> Result<HostSpec, SpecError> {
    let (host, rest) = split_host(token, token)?;
    validate_hostname(token, &host)?;
    let mut rest = rest.as_str();
    let mut slots = None;
    let mut port = None;
    // distcc takes /LIMIT before or after :PORT (both orders are documented).
    for _ in 0..2 {
        if let Some(r) = rest.strip_prefix(['/', '=']) {
            if slots.is_some() {
                return err(token, "slots given twice");
            }
            let (n, r) = take_until(r, &[':', ',', '/']);
            slots = Some(parse_slots(token, n)?);
            rest = r;
        } else if let Some(r) = rest.strip_prefix(':') {
            if port.is_some() {
                return err(token, "port given twice");
            }
            let (p, r) = take_until(r, &['/', ',', ':', '=']);
            port = Some(parse_port(token, p)?);
            rest = r;
        }
    }
    let options = match rest.strip_prefix(',') {
        Some(r) => parse_options(token, r)?,
        None if rest.is_empty() => Vec::new(),
        None => return err(token, format!("unexpected `{rest}`")),
    };
    if host == "localhost" {
        // `localhost,lzo` is a network host (distcc's own rule); its port is made explicit so
        // the formatted spec can never read as the local `localhost/N`.
        port.get_or_insert(DEFAULT_PORT);
    }
    Ok(HostSpec::Tcp {
        host,
        port,
        slots,
        options,
    })
}

/// A token of a host list: as written, with its parse (kept even when invalid, so the
/// list can be shown and the bad token removed).
#[derive(Debug, Clone)]
pub struct HostToken {
    pub raw: String,
    pub spec: Result<HostSpec, SpecError>,
}

impl HostToken {
    pub fn new(spec: HostSpec) -> HostToken {
        HostToken {
            raw: spec.to_string(),
            spec: Ok(spec),
        }
    }

    pub fn parse(raw: &str) -> HostToken {
        // distcc splits the list on ASCII white space only (isspace in the C locale): a
        // no-break space or another Unicode space stays inside the token, and makes it one
        // host distcc cannot use. Say which character, by name, not by showing it.
        if let Some(c) = raw.chars().find(|c| crate::ui::is_unseen(*c)) {
            return HostToken {
                raw: raw.to_string(),
                spec: Err(SpecError {
                    token: raw.to_string(),
                    reason: format!(
                        "holds {}, which distcc does not read as a space: to distcc this is one \
                         host; use a plain space between hosts",
                        crate::ui::char_name(c)
                    ),
                }),
            };
        }
        HostToken {
            raw: raw.to_string(),
            spec: raw.parse(),
        }
    }

    /// Matches `HOST` or `HOST:PORT` as given to `remove-host`, for valid and invalid tokens.
    pub fn matches(&self, host: &str, port: Option<u16>) -> bool {
        match &self.spec {
            Ok(spec) => {
                let host_ok = spec
                    .host()
                    .is_some_and(|h| h.eq_ignore_ascii_case(host) || bare_eq(h, host));
                let port_ok = match (port, spec) {
                    (None, _) => true,
                    (Some(p), HostSpec::Tcp { .. }) => spec.port() == Some(p),
                    _ => false,
                };
                host_ok && port_ok
            }
            Err(_) => entry_name(&self.raw).eq_ignore_ascii_case(host),
        }
    }
}

/// The name an entry distcc cannot read goes by: what comes before its first `/`, `:` or `,`
/// (where a valid entry's host ends). `remove-host` matches such an entry by it.
fn entry_name(raw: &str) -> &str {
    raw.split(['/', ':', ',']).next().unwrap_or("")
}

fn bare_eq(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.trim_start_matches('[').trim_end_matches(']').to_string();
    strip(a).eq_ignore_ascii_case(&strip(b))
}

/// More slots than this on one helper is most likely a typo: distccd's default is 2 + its
/// CPU count, and a 64-thread build box is already rare.
pub const MOST_SLOTS_PER_HELPER: u32 = 64;
/// Twice the 20 jobs at which distcc's FAQ finds a (plain mode) client saturated
/// (doc/web/faq.html, "How many jobs should I use?"): a Pi preprocesses and links every job.
pub const MOST_TOTAL_SLOTS: u32 = 40;

/// A DISTCC_HOSTS value.
#[derive(Debug, Clone, Default)]
pub struct HostList {
    pub tokens: Vec<HostToken>,
}

impl HostList {
    /// Splits on whitespace as distcc does. Comments (`#`) are not supported by the editor.
    pub fn parse(value: &str) -> HostList {
        HostList {
            // As distcc splits it: on ASCII white space only.
            tokens: value
                .split(|c: char| c.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .map(HostToken::parse)
                .collect(),
        }
    }

    pub fn specs(&self) -> impl Iterator<Item = &HostSpec> {
        self.tokens.iter().filter_map(|t| t.spec.as_ref().ok())
    }

    pub fn invalid(&self) -> impl Iterator<Item = &SpecError> {
        self.tokens.iter().filter_map(|t| t.spec.as_ref().err())
    }

    pub fn total_slots(&self) -> u32 {
        self.specs().map(HostSpec::slots).sum()
    }

    /// Slot counts beyond what a Pi's build can use, each with why: a helper with more
    /// slots than helpers have cores for (a typo such as /600 for /6), and a total beyond
    /// what one client can feed.
    pub fn slot_concerns(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in self.specs().filter(|s| s.kind() == Kind::Tcp) {
            if s.slots() > MOST_SLOTS_PER_HELPER {
                out.push(format!(
                    "{s} has {} slots: more than a helper has cores for (distccd runs 2 + its \
                     CPU count at once by default); a typo for a smaller number?",
                    s.slots()
                ));
            }
        }
        let total = self.total_slots();
        if total > MOST_TOTAL_SLOTS {
            out.push(format!(
                "{total} slots in all are more than one Pi can feed: distcc's FAQ finds a client \
                 saturated at about 10-20 jobs, since it preprocesses every remote job itself \
                 (8 at a time by default, --localslots_cpp); beyond {MOST_TOTAL_SLOTS} the \
                 extra jobs only wait"
            ));
        }
        out
    }

    pub fn local_slots(&self) -> u32 {
        self.specs()
            .filter(|s| s.kind() == Kind::Local)
            .map(HostSpec::slots)
            .sum()
    }

    pub fn render(&self) -> String {
        self.tokens
            .iter()
            .map(|t| t.raw.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn is_remote(t: &HostToken) -> bool {
        t.spec.as_ref().is_ok_and(HostSpec::is_helper)
    }

    /// Whether any entry is a helper.
    pub fn has_helper(&self) -> bool {
        self.specs().any(HostSpec::is_helper)
    }

    /// Adds a host or updates the one with the same identity. New hosts go before the first
    /// remote host with fewer slots (fastest first, ties keep their order), the rest stays put.
    /// Returns false when nothing changed.
    pub fn add(&mut self, spec: HostSpec) -> bool {
        if let HostSpec::Local { slots } = spec {
            return self.set_local(slots.unwrap_or(DEFAULT_LOCAL_SLOTS)).0;
        }
        if let HostSpec::Global(_) = spec {
            if self.tokens.iter().any(|t| t.spec.as_ref() == Ok(&spec)) {
                return false;
            }
            let at = self.after_globals();
            self.tokens.insert(at, HostToken::new(spec));
            return true;
        }
        let key = spec.key();
        let existing = self
            .tokens
            .iter()
            .position(|t| t.spec.as_ref().is_ok_and(|s| s.key() == key));
        if let Some(i) = existing {
            let old = self.tokens[i].spec.as_ref().expect("matched a valid spec");
            if *old == spec {
                return false; // kept as written, even in the other field order
            }
            if old.slots() == spec.slots() {
                // Same speed: its place in the order stays right.
                self.tokens[i] = HostToken::new(spec);
                return true;
            }
            self.tokens.remove(i);
        }
        let slots = spec.slots();
        let at = self
            .tokens
            .iter()
            .position(|t| Self::is_remote(t) && t.spec.as_ref().is_ok_and(|s| s.slots() < slots))
            .unwrap_or_else(|| {
                // After the last remote host, or after the global options when there is none.
                self.tokens
                    .iter()
                    .rposition(Self::is_remote)
                    .map_or_else(|| self.after_globals(), |i| i + 1)
            });
        self.tokens.insert(at, HostToken::new(spec));
        true
    }

    fn after_globals(&self) -> usize {
        self.tokens
            .iter()
            .position(|t| !matches!(&t.spec, Ok(HostSpec::Global(_))))
            .unwrap_or(self.tokens.len())
    }

    /// Removes every token naming HOST (and PORT when given). Returns how many were removed.
    pub fn remove(&mut self, host: &str, port: Option<u16>) -> usize {
        let before = self.tokens.len();
        self.tokens.retain(|t| !t.matches(host, port));
        before - self.tokens.len()
    }

    /// Sets this machine's slots (`localhost/N`), 0 removes it. Loopback network entries with
    /// no explicit port (the seed's `127.0.0.1/2`, meant as "this machine") are replaced.
    /// Returns whether anything changed and the loopback tokens replaced.
    pub fn set_local(&mut self, n: u32) -> (bool, Vec<String>) {
        let before = self.render();
        let replaced: Vec<String> = self
            .tokens
            .iter()
            .filter(|t| t.spec.as_ref().is_ok_and(HostSpec::means_this_machine))
            .map(|t| t.raw.clone())
            .collect();
        let existing = self
            .tokens
            .iter()
            .position(|t| matches!(t.spec, Ok(HostSpec::Local { .. })));
        let new_local = HostToken::new(HostSpec::Local { slots: Some(n) });
        match existing {
            Some(i) => {
                let same = matches!(self.tokens[i].spec, Ok(HostSpec::Local { slots }) if slots.unwrap_or(DEFAULT_LOCAL_SLOTS) == n);
                if !same {
                    self.tokens[i] = new_local;
                }
            }
            // A new local entry, or one replacing the seed's loopback entry, goes last: a Pi is
            // slower than its helpers.
            None => self.tokens.push(new_local),
        }
        let mut seen_local = false;
        self.tokens.retain(|t| {
            if replaced.contains(&t.raw) {
                return false;
            }
            if matches!(t.spec, Ok(HostSpec::Local { .. })) {
                if n == 0 || seen_local {
                    return false;
                }
                seen_local = true;
            }
            true
        });
        (self.render() != before, replaced)
    }

    /// Stable sort by rank, then by score, highest first; ties keep their order.
    fn sort_ranked(&mut self, rank: impl Fn(&HostToken) -> u8, score: impl Fn(&HostToken) -> f64) {
        self.tokens.sort_by(|a, b| {
            rank(a).cmp(&rank(b)).then_with(|| {
                score(b)
                    .partial_cmp(&score(a))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        });
    }

    /// Fastest first without measurements: global options in front, remote hosts by slots,
    /// the local entry last.
    pub fn sort_by_slots(&mut self) {
        self.sort_ranked(
            |t| match &t.spec {
                Ok(HostSpec::Global(_)) => 0,
                Ok(HostSpec::Local { .. }) => 2,
                _ => 1,
            },
            |t| {
                t.spec
                    .as_ref()
                    .map_or(f64::NEG_INFINITY, |s| f64::from(s.slots()))
            },
        );
    }

    /// Measured order: global options in front, measured helpers by score, then the helpers
    /// that could not be measured, in their current order, and the local entry last, as in
    /// `sort_by_slots` (so the two sorts never undo each other's local placement).
    pub fn sort_measured(&mut self, scores: &std::collections::HashMap<String, f64>) {
        let score = |t: &HostToken| {
            t.spec
                .as_ref()
                .ok()
                .and_then(|s| scores.get(&s.key()).copied())
        };
        self.sort_ranked(
            |t| match (&t.spec, score(t)) {
                (Ok(HostSpec::Global(_)), _) => 0,
                (Ok(HostSpec::Local { .. }), _) => 3,
                (_, Some(_)) => 1,
                _ => 2,
            },
            |t| score(t).unwrap_or(0.0),
        );
    }
}

/// For a `remove-host` argument holding a character distcc's grammar never allows (`show`
/// quotes such an entry, a control character written as `$'\x1b'`): the name it removes. Only
/// an invalid entry of that name can match it.
pub fn invalid_entry_name(arg: &str) -> Option<&str> {
    let name = entry_name(arg);
    (!name.is_empty()
        && !name.contains(char::is_whitespace)
        && name.chars().any(|c| !is_allowed_char(c)))
    .then_some(name)
}

/// Parses `HOST[:PORT]` as given to `remove-host` (`[v6]:PORT` too).
pub fn parse_host_port(arg: &str) -> Result<(String, Option<u16>), SpecError> {
    if arg.is_empty() || arg.chars().any(|c| !is_allowed_char(c)) {
        return err(arg, "expected HOST or HOST:PORT");
    }
    if let Some(rest) = arg.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return err(arg, "IPv6 address without its closing `]`");
        };
        let host = &arg[..close + 2];
        let tail = &rest[close + 1..];
        return match tail.strip_prefix(':') {
            Some(p) => Ok((host.to_string(), Some(parse_port(arg, p)?))),
            None if tail.is_empty() => Ok((host.to_string(), None)),
            None => err(arg, "expected [ADDRESS]:PORT"),
        };
    }
    match arg.split_once(':') {
        Some((h, p)) if !h.contains(':') && !p.contains(':') => {
            Ok((h.to_string(), Some(parse_port(arg, p)?)))
        }
        Some(_) => err(arg, "write an IPv6 address in brackets, like [::1]:3632"),
        None => Ok((arg.to_string(), None)),
    }
}

/// A host list as distcc reads it, its comments gone, tokens joined by single spaces
/// (hosts.c): a `#` that starts a token hides the rest of its line, as in a hosts file. A
/// `#` inside a token stays: distcc keeps it in the host's name (the token is then invalid).
pub fn without_comments(list: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in list.split(['\n', '\r']) {
        for token in line.split(|c: char| c.is_ascii_whitespace()) {
            if token.starts_with('#') {
                break;
            }
            if !token.is_empty() {
                kept.push(token);
            }
        }
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> HostSpec {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_distcc_grammar() {
        assert_eq!(ok("localhost").slots(), 2);
        assert_eq!(ok("localhost/3").slots(), 3);
        assert_eq!(ok("192.168.1.100:3636/6").port(), Some(3636));
        assert_eq!(ok("192.168.1.100/6:3636").slots(), 6);
        assert_eq!(ok("host").slots(), 4);
        assert_eq!(ok("host=7").slots(), 7);
        assert_eq!(ok("[::1]:3699/3,lzo").kind(), Kind::Tcp);
        assert_eq!(ok("user@host/4:/usr/bin/distccd,lzo").kind(), Kind::Ssh);
        assert_eq!(ok("@host").kind(), Kind::Ssh);
        assert_eq!(ok("h,lzo,cpp").options().len(), 2);
        assert_eq!(ok("h,auth=foo.example").options().len(), 1);
        // Debian's /etc/distcc/hosts, as `$(cat ...)` gives it.
        assert_eq!(
            without_comments("# --- hosts ---\n#\n# loopback only.\n127.0.0.1 # here\nb/2\r# x\n"),
            "127.0.0.1 b/2"
        );
        assert_eq!(without_comments("a#x b"), "a#x b");
        // Any `@` makes it an ssh spec for distcc, a Kerberos principal in auth= too.
        let principal = "h:3632/4,auth=host@EXAMPLE"
            .parse::<HostSpec>()
            .unwrap_err();
        assert!(
            principal.to_string().contains("as USER@HOST over ssh"),
            "{principal}"
        );
        assert_eq!(
            ok("--localslots=3"),
            HostSpec::Global(Global::LocalSlots(3))
        );
        assert_eq!(ok("--randomize").slots(), 0);
        assert_eq!(ok("localhost:3632").kind(), Kind::Tcp);
        assert_eq!(ok("LOCALHOST").kind(), Kind::Tcp);
    }

    #[test]
    fn rejects_what_distcc_chokes_on_or_misreads() {
        for bad in [
            "h:0",
            "h:65536",
            "h/0",
            "h/-3",
            "h/99999",
            "h,zstd",
            "h,lzofoo",
            "h:",
            "@host:3632",
            "a.b,c.d",
            "h h",
            "h\"",
            "$(x)",
            "`x`",
            "h;rm",
            "192.168.1.300",
            "[::1",
            "::1",
            "h,cpp",
            "localhost/3,lzo",
            "localhost=3",
            "--foo",
            "-j8",
            "",
            "h/2x",
            "h#c",
        ] {
            assert!(bad.parse::<HostSpec>().is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn a_network_localhost_stays_a_network_host_when_formatted() {
        // Found by cargo fuzz: `localhost=3` (TCP in distcc) once formatted as `localhost/3`.
        let tcp = HostSpec::Tcp {
            host: "localhost".into(),
            port: None,
            slots: Some(3),
            options: vec![],
        };
        assert_eq!(tcp.to_string(), "localhost:3632/3");
        assert_eq!(
            tcp.to_string().parse::<HostSpec>().unwrap().kind(),
            Kind::Tcp
        );
        let lzo = ok("localhost,lzo");
        assert_eq!(lzo.to_string(), "localhost:3632,lzo");
        assert_eq!(lzo.to_string().parse::<HostSpec>().unwrap(), lzo);
    }

    #[test]
    fn add_keeps_fastest_first_and_local_last() {
        let mut list = HostList::parse("localhost/2");
        assert!(list.add(ok("192.168.1.100:3636/6")));
        assert_eq!(list.render(), "192.168.1.100:3636/6 localhost/2");
        assert!(list.add(ok("10.0.0.5/8")));
        assert_eq!(list.render(), "10.0.0.5/8 192.168.1.100:3636/6 localhost/2");
        assert!(!list.add(ok("192.168.1.100:3636/6")));
        assert!(list.add(ok("10.0.0.6/6")));
        let mut old_style = HostList::parse("h/6:3636");
        assert!(!old_style.add(ok("h:3636/6")), "same host, kept as written");
        assert_eq!(old_style.render(), "h/6:3636");
        assert_eq!(
            list.render(),
            "10.0.0.5/8 192.168.1.100:3636/6 10.0.0.6/6 localhost/2"
        );
    }

    #[test]
    fn set_local_replaces_seed_loopback() {
        let mut list = HostList::parse("127.0.0.1/2 192.168.1.100:3636/6");
        let (changed, replaced) = list.set_local(2);
        assert!(changed);
        assert_eq!(replaced, ["127.0.0.1/2"]);
        assert_eq!(list.render(), "192.168.1.100:3636/6 localhost/2");
        assert!(list.set_local(0).0);
        assert_eq!(list.render(), "192.168.1.100:3636/6");
    }

    #[test]
    fn sorts_by_slots_or_by_measurement() {
        let mut list = HostList::parse("localhost/2 a/2 --randomize b/8 c/2");
        list.sort_by_slots();
        assert_eq!(list.render(), "--randomize b/8 a/2 c/2 localhost/2");
        let mut list = HostList::parse("localhost/2 a/2 b/8 c/4");
        let scores = [
            ("tcp:a:3632".to_string(), 9.0),
            ("tcp:c:3632".to_string(), 12.0),
            ("localhost".to_string(), 30.0),
        ];
        list.sort_measured(&scores.into_iter().collect());
        // Measured helpers by score, the unmeasured one after them, the local entry last
        // whatever its score: where plain `sort` puts it too.
        assert_eq!(list.render(), "c/4 a/2 b/8 localhost/2");
        let mut again = list.clone();
        again.sort_by_slots();
        assert_eq!(
            again.tokens.last().map(|t| t.raw.as_str()),
            Some("localhost/2")
        );
        // Nothing measured: the helpers keep their order (no fallback to slot order).
        let mut list = HostList::parse("a/2 localhost/2 b/8");
        list.sort_measured(&Default::default());
        assert_eq!(list.render(), "a/2 b/8 localhost/2");
    }

    #[test]
    fn an_entry_with_a_character_distcc_never_allows_is_removed_by_its_name() {
        let mut list = HostList::parse("h\x1b[8mx:3636/4 good:3632/2 localhost/2");
        assert_eq!(invalid_entry_name("h\x1b[8mx"), Some("h\x1b[8mx"));
        assert_eq!(invalid_entry_name("h\x1b[8mx:3636"), Some("h\x1b[8mx"));
        // A name the grammar allows, or words, are not such an argument.
        assert_eq!(invalid_entry_name("good"), None);
        assert_eq!(invalid_entry_name("a b"), None);
        assert_eq!(invalid_entry_name(""), None);
        assert_eq!(list.remove("h\x1b[8mx", None), 1);
        assert_eq!(list.render(), "good:3632/2 localhost/2");
    }

    #[test]
    fn remove_by_host_and_port() {
        let mut list = HostList::parse("a:3636/6 a:3635/2 b");
        assert_eq!(list.remove("a", Some(3636)), 1);
        assert_eq!(list.render(), "a:3635/2 b");
        assert_eq!(list.remove("a", None), 1);
        assert_eq!(
            parse_host_port("[::1]:3632").unwrap(),
            ("[::1]".into(), Some(3632))
        );
    }
}
