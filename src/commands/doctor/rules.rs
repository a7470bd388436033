//! The doctor's rules: one small function per pitfall, each returning its findings. Adding a
//! rule is adding a function and a line in `RULES`.

use crate::conf::bash_check::Reading;
use crate::conf::bash_check::compare::{
    ComputedHosts, computed_distcc, computed_hosts, computed_jobs,
};
use crate::conf::buildflags::build_flags;
use crate::conf::document::{Document, array_elements};
use crate::conf::layers::{self, Effective, FromEnvironment, Value};
use crate::conf::makeflags::JobCount;
use crate::distcc::alarm;
use crate::distcc::compat::kept_local_flags;
use crate::distcc::hosts::{HostList, HostOption};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub message: String,
    /// What to do, one line each (empty for an ok).
    pub fixes: Vec<String>,
}

pub fn finding(level: Level, message: impl Into<String>, fix: impl Into<String>) -> Finding {
    let fix = fix.into();
    Finding {
        level,
        message: message.into(),
        fixes: if fix.is_empty() {
            Vec::new()
        } else {
            vec![fix]
        },
    }
}

/// Facts about this machine the doctor reads (kept apart so tests can give their own).
#[derive(Debug, Clone)]
pub struct Machine {
    pub distcc_binary: bool,
    pub masquerade_dir: bool,
    pub mem_total_kib: Option<u64>,
    pub swap_total_kib: Option<u64>,
}

impl Machine {
    pub fn read() -> Machine {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |name: &str| {
            meminfo
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        };
        let on_path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("distcc").is_file()))
            .unwrap_or(false);
        Machine {
            distcc_binary: on_path,
            masquerade_dir: std::path::Path::new("/usr/lib/distcc/bin").is_dir(),
            mem_total_kib: field("MemTotal:"),
            swap_total_kib: field("SwapTotal:"),
        }
    }
}

/// What every rule looks at: the layers, what makepkg ends up with, and this machine.
pub struct Context<'a> {
    pub docs: &'a [(PathBuf, Document)],
    pub eff: Effective,
    /// What the environment gives for what no file sets.
    pub env: FromEnvironment,
    pub machine: &'a Machine,
    /// The effective host list and where it is set (`file:line`), when it is literal (or
    /// the environment's, when no file sets one).
    pub hosts: Option<(HostList, String)>,
    pub carch: String,
    /// DISTCC_HOSTS as bash reads it, where a layer computes it.
    pub computed_hosts: Option<ComputedHosts>,
    /// distcc on or off as bash reads it, where shell code decides it.
    pub computed_distcc: Option<bool>,
    /// make's job count as bash reads it, where shell code gives it.
    pub computed_jobs: Option<Option<u32>>,
}

impl<'a> Context<'a> {
    /// `env` gives the environment makepkg would run in (the process's own in `doctor`):
    /// what no file sets, it may give.
    pub fn new(
        docs: &'a [(PathBuf, Document)],
        machine: &'a Machine,
        env: impl Fn(&str) -> Option<String>,
    ) -> Context<'a> {
        let eff = layers::effective(docs);
        let env = FromEnvironment::for_unset(&eff, env);
        let hosts = match &eff.hosts {
            Value::Known(s) => Some((HostList::parse(&s.value), at(&s.path, s.line))),
            _ => env
                .host_list()
                .map(|l| (l, "DISTCC_HOSTS in the environment".to_string())),
        };
        Context {
            docs,
            eff,
            env,
            machine,
            hosts,
            carch: crate::conf::layers::carch(docs).unwrap_or_default(),
            computed_hosts: None,
            computed_distcc: None,
            computed_jobs: None,
        }
    }

    /// Where shell code decides distcc or computes DISTCC_HOSTS, the rules judge what bash
    /// reads from it here (what makepkg started from here would get).
    pub fn with_bash_reading(mut self, reading: Option<&Reading>) -> Context<'a> {
        let Some(reading) = reading else {
            return self;
        };
        self.computed_distcc = computed_distcc(&self.eff, reading);
        self.computed_jobs = computed_jobs(&self.eff, reading);
        let computed = computed_hosts(&self.eff, reading);
        if let Some(c) = &computed
            && !c.value.is_empty()
        {
            self.hosts = Some((
                HostList::parse(&c.value),
                format!("{}:{} (computed)", c.path.display(), c.line),
            ));
        }
        self.computed_hosts = computed;
        self
    }

    /// A fix that edits the host list, or, where the list is computed (no command edits it),
    /// where to change it by hand.
    pub fn list_fix(&self, fix: String) -> String {
        match &self.computed_hosts {
            Some(c) => format!(
                "change what DISTCC_HOSTS is computed from ({}:{}); this tool edits only a \
                 plain list",
                c.path.display(),
                c.line
            ),
            None => fix,
        }
    }

    fn enabled(&self) -> bool {
        match &self.eff.distcc {
            Value::Known(s) => s.value,
            Value::Unknown { .. } => self.computed_distcc == Some(true),
            Value::Unset => false,
        }
    }

    fn total_slots(&self) -> u32 {
        self.hosts.as_ref().map_or(0, |(l, _)| l.total_slots())
    }

    fn remote_hosts(&self) -> usize {
        self.hosts
            .as_ref()
            .map_or(0, |(l, _)| l.specs().filter(|s| s.is_helper()).count())
    }
}

fn at(p: &std::path::Path, line: usize) -> String {
    format!("{}:{line}", p.display())
}

pub type Rule = fn(&Context) -> Vec<Finding>;

/// Every rule, in the order the report lists them.
pub const RULES: &[(&str, Rule)] = &[
    ("distcc-in-buildenv", distcc_in_buildenv),
    ("hosts-literal", hosts_literal),
    ("has-helper", has_helper),
    ("hosts-valid", hosts_valid),
    ("loopback-network-host", loopback_network_host),
    ("no-pump-mode", no_pump_mode),
    ("port-matches-arch", port_matches_arch),
    ("jobs-match-slots", jobs_match_slots),
    ("slots-feedable", slots_feedable),
    ("no-flags-kept-local", no_flags_kept_local),
    ("not-with-sccache", not_with_sccache),
    ("distcc-installed", distcc_installed),
    ("masquerade-dir", masquerade_dir),
    ("swap", swap),
];

/// Runs every rule.
pub fn diagnose(ctx: &Context) -> Vec<Finding> {
    RULES.iter().flat_map(|(_, rule)| rule(ctx)).collect()
}

fn distcc_in_buildenv(ctx: &Context) -> Vec<Finding> {
    match &ctx.eff.distcc {
        Value::Unknown { path, line, text } => {
            let decided = format!(
                "distcc in BUILDENV is decided by shell code at {} ({text})",
                at(path, *line)
            );
            match ctx.computed_distcc {
                Some(true) => vec![finding(
                    Level::Ok,
                    format!("{decided}; bash reads it on here"),
                    "",
                )],
                Some(false) => vec![finding(
                    Level::Warning,
                    format!("{decided}; bash reads it off here: makepkg will not use the helpers"),
                    "change that code, or make BUILDENV a plain top-level array (then \
                     alarm-distcc enable)",
                )],
                None => vec![finding(
                    Level::Warning,
                    decided,
                    "make BUILDENV a plain top-level array",
                )],
            }
        }
        _ if ctx.enabled() => vec![finding(Level::Ok, "distcc is on in BUILDENV", "")],
        // With no helper, turning distcc on is no fix: has-helper says what is.
        _ if ctx.remote_hosts() == 0 => Vec::new(),
        _ => vec![finding(
            Level::Warning,
            "distcc is off in BUILDENV: makepkg will not use the helpers",
            "alarm-distcc enable",
        )],
    }
}

fn hosts_literal(ctx: &Context) -> Vec<Finding> {
    match &ctx.computed_hosts {
        Some(c) if c.value.is_empty() => {
            return vec![finding(
                Level::Warning,
                format!("DISTCC_HOSTS is {}", c.described()),
                "check what it is computed from, or write the list literally",
            )];
        }
        // A computed list is makepkg's to compute; the rules below judge what bash reads.
        Some(c) => {
            return vec![finding(
                Level::Ok,
                format!("DISTCC_HOSTS is {}", c.described()),
                "",
            )];
        }
        None => {}
    }
    match &ctx.eff.hosts {
        Value::Unknown { path, line, text } => vec![finding(
            Level::Warning,
            format!("DISTCC_HOSTS is computed at {} ({text})", at(path, *line)),
            "write the list literally",
        )],
        _ => Vec::new(),
    }
}

fn has_helper(ctx: &Context) -> Vec<Finding> {
    // A computed list bash reads no host from is hosts-literal's warning.
    let unread = matches!(ctx.eff.hosts, Value::Unknown { .. })
        && ctx
            .computed_hosts
            .as_ref()
            .is_none_or(|c| c.value.is_empty());
    if ctx.remote_hosts() > 0 || unread {
        return Vec::new();
    }
    let (level, message) = if ctx.enabled() {
        (
            Level::Error,
            "distcc is on but DISTCC_HOSTS names no helper: every compile runs here",
        )
    } else {
        (
            Level::Warning,
            "no helper is listed yet, so distcc has nothing to hand out",
        )
    };
    vec![Finding {
        level,
        message: message.into(),
        fixes: if ctx.computed_hosts.is_some() {
            vec![ctx.list_fix(String::new())]
        } else {
            vec![
                "add one: alarm-distcc add-host HOST:PORT/SLOTS (distcc on too)".into(),
                "or find one on this network: alarm-distcc discover --add".into(),
                "or set it all up step by step: alarm-distcc wizard".into(),
            ]
        },
    }]
}

fn hosts_valid(ctx: &Context) -> Vec<Finding> {
    let Some((list, where_)) = &ctx.hosts else {
        return Vec::new();
    };
    list.invalid()
        .map(|bad| {
            finding(
                Level::Error,
                if bad.reason.contains("whole") {
                    format!(
                        "{where_}: `{}` is rejected by distcc: {}",
                        bad.token, bad.reason
                    )
                } else {
                    format!(
                        "{where_}: `{}` is rejected by distcc ({}), which then ignores the whole \
                         list",
                        bad.token, bad.reason
                    )
                },
                ctx.list_fix(format!(
                    "alarm-distcc remove-host {}",
                    bad.token.split(['/', ':', ',']).next().unwrap_or("")
                )),
            )
        })
        .collect()
}

fn loopback_network_host(ctx: &Context) -> Vec<Finding> {
    let Some((list, _)) = &ctx.hosts else {
        return Vec::new();
    };
    // With an explicit port it is a distccd here on purpose, and the probe says whether it
    // runs; without one it is the seed's `127.0.0.1/N`, meant as this machine's slots.
    list.specs()
        .filter(|s| s.means_this_machine())
        .map(|spec| {
            finding(
                Level::Warning,
                format!(
                    "`{spec}` is a network host on this machine: it needs a distccd running \
                     here; only `localhost` compiles locally without one"
                ),
                ctx.list_fix(format!(
                    "alarm-distcc set-local {} writes it as localhost/{} (or start a local \
                     distccd on purpose)",
                    spec.slots(),
                    spec.slots()
                )),
            )
        })
        .collect()
}

fn no_pump_mode(ctx: &Context) -> Vec<Finding> {
    let Some((list, _)) = &ctx.hosts else {
        return Vec::new();
    };
    list.specs()
        .filter(|s| s.options().contains(&HostOption::Cpp))
        .map(|spec| {
            finding(
                Level::Warning,
                format!(
                    "`{spec}` uses ,cpp (pump mode), but makepkg does not run pump: every job \
                     warns and falls back"
                ),
                "drop ,cpp and keep ,lzo",
            )
        })
        .collect()
}

/// A warning, not an error: the port number alone is a guess about what listens there
/// (the probe, unless --offline, tells for sure).
fn port_matches_arch(ctx: &Context) -> Vec<Finding> {
    let Some((list, _)) = &ctx.hosts else {
        return Vec::new();
    };
    list.specs()
        .filter_map(|spec| {
            let why = alarm::port_mismatch(spec.port()?, &ctx.carch)?;
            Some(finding(
                Level::Warning,
                format!("`{spec}`: {why}"),
                ctx.list_fix(format!(
                    "if the probe agrees: alarm-distcc remove-host {}, then add-host with the \
                     right port",
                    spec.host_port().unwrap_or_default()
                )),
            ))
        })
        .collect()
}

fn jobs_match_slots(ctx: &Context) -> Vec<Finding> {
    let total = ctx.total_slots();
    // While distcc is off, -j is this machine's own business: no mismatch.
    let on = ctx.enabled();
    // A list distcc ignores is hosts-valid's error; `sort` would refuse it anyway.
    let invalid = ctx
        .hosts
        .as_ref()
        .is_some_and(|(l, _)| l.invalid().next().is_some());
    if total == 0 || !on || invalid {
        return Vec::new();
    }
    let read_here = match ctx.computed_jobs {
        Some(Some(n)) => format!(" (bash reads -j{n} here)"),
        _ => String::new(),
    };
    let message = match &ctx.eff.makeflags {
        Value::Known(m) => match &m.value.jobs {
            Some(JobCount::Fixed(n)) if *n == total => return Vec::new(),
            Some(j) => format!(
                "MAKEFLAGS -j is {} but the hosts have {total} slots{read_here}",
                match j {
                    JobCount::Fixed(n) => n.to_string(),
                    JobCount::Computed(e) => e.clone(),
                    JobCount::Unlimited => "unlimited".into(),
                }
            ),
            None => format!("MAKEFLAGS has no -j: make runs one job at a time, not {total}"),
        },
        // Set inside shell logic: sort will not rewrite it, the code is the user's to change.
        Value::Unknown { path, line, .. } => {
            let jobs = match ctx.computed_jobs {
                Some(Some(n)) if n == total => return Vec::new(),
                Some(Some(n)) => format!("-j{n}"),
                Some(None) => "no -j".into(),
                None => return Vec::new(),
            };
            return vec![finding(
                Level::Warning,
                format!(
                    "MAKEFLAGS is set by shell code at {}; bash reads {jobs} here, but the \
                     hosts have {total} slots",
                    at(path, *line)
                ),
                format!("make that code give -j{total} (sort does not rewrite shell code)"),
            )];
        }
        Value::Unset => match (&ctx.env.makeflags, ctx.env.jobs()) {
            (None, _) => {
                format!("MAKEFLAGS is not set: make runs one job at a time, not {total}")
            }
            (Some(_), Some(JobCount::Fixed(n))) if n == total => return Vec::new(),
            (Some(_), Some(j)) => format!(
                "MAKEFLAGS in the environment (no file sets it) has -j{} but the hosts have \
                 {total} slots",
                match j {
                    JobCount::Fixed(n) => n.to_string(),
                    JobCount::Computed(e) => e,
                    JobCount::Unlimited => " without a limit".into(),
                }
            ),
            (Some(_), None) => format!(
                "MAKEFLAGS in the environment (no file sets it) has no -j: make runs one job at \
                 a time, not {total}"
            ),
        },
    };
    let fix = match &ctx.computed_hosts {
        // sort writes the list too, which it cannot where the list is computed.
        Some(_) => format!("write MAKEFLAGS=\"-j{total}\" (sort cannot: DISTCC_HOSTS is computed)"),
        None => "alarm-distcc sort".into(),
    };
    vec![finding(Level::Warning, message, fix)]
}

/// Slot counts a Pi cannot use: a helper's typo (/600 for /6), a total beyond what one
/// client can feed (distcc's FAQ).
fn slots_feedable(ctx: &Context) -> Vec<Finding> {
    let Some((list, _)) = ctx.hosts.as_ref() else {
        return Vec::new();
    };
    list.slot_concerns()
        .into_iter()
        .map(|c| {
            finding(
                Level::Warning,
                c,
                ctx.list_fix(
                    "give each helper about its CPU count (`alarm-distcc add-host HOST:PORT/N` \
                     replaces its slots)"
                        .into(),
                ),
            )
        })
        .collect()
}

/// Flags that make distcc compile every job on this machine (`-march=native`, a plain
/// `-flto`...), in CFLAGS and CXXFLAGS as makepkg passes them.
fn no_flags_kept_local(ctx: &Context) -> Vec<Finding> {
    let flags = build_flags(ctx.docs);
    kept_local_flags(flags.cflags.as_deref().ok(), flags.cxxflags.as_deref().ok())
        .iter()
        .map(|k| finding(Level::Error, k.message(), k.fix()))
        .collect()
}

fn not_with_sccache(ctx: &Context) -> Vec<Finding> {
    let sccache = ctx.docs.iter().any(|(_, d)| {
        d.assignments("BUILDENV").any(|(_, a)| {
            array_elements(d.slice(a.value.clone()))
                .iter()
                .any(|e| e.value.as_static() == Some("sccache"))
        })
    });
    if ctx.enabled() && sccache {
        vec![finding(
            Level::Error,
            "sccache and distcc are both on in BUILDENV: makepkg refuses that pair",
            "turn one of them off (!sccache)",
        )]
    } else {
        Vec::new()
    }
}

fn distcc_installed(ctx: &Context) -> Vec<Finding> {
    if ctx.enabled() && !ctx.machine.distcc_binary {
        vec![finding(
            Level::Error,
            "distcc is not installed: makepkg stops with \"Cannot find the distcc binary\"",
            "sudo pacman -S distcc",
        )]
    } else {
        Vec::new()
    }
}

fn masquerade_dir(ctx: &Context) -> Vec<Finding> {
    if ctx.enabled() && !ctx.machine.masquerade_dir {
        vec![finding(
            Level::Error,
            "/usr/lib/distcc/bin is missing: makepkg cannot route the compilers through distcc",
            "sudo pacman -S distcc",
        )]
    } else {
        Vec::new()
    }
}

fn swap(ctx: &Context) -> Vec<Finding> {
    match (ctx.machine.mem_total_kib, ctx.machine.swap_total_kib) {
        (Some(mem), Some(0)) if mem < 4 * 1024 * 1024 => vec![finding(
            Level::Warning,
            format!(
                "no swap and {} MiB of memory: big builds (linking, git clones) run out of \
                 memory on a Pi",
                mem / 1024
            ),
            "set up a couple of GiB of swap (Arch wiki: Swap#Swap_file)",
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTHY: Machine = Machine {
        distcc_binary: true,
        masquerade_dir: true,
        mem_total_kib: Some(8 << 20),
        swap_total_kib: Some(0),
    };

    /// Runs one rule on a single-file config.
    fn check(rule: Rule, conf: &str, machine: &Machine) -> Vec<Finding> {
        let docs = vec![(PathBuf::from("/etc/makepkg.conf"), Document::parse(conf))];
        rule(&Context::new(&docs, machine, |_| None))
    }

    fn levels(found: &[Finding]) -> Vec<Level> {
        found.iter().map(|f| f.level).collect()
    }

    const ON: &str = "BUILDENV=(distcc color !ccache check !sign)\n";
    const OFF: &str = "BUILDENV=(!distcc color !ccache check !sign)\n";

    #[test]
    fn every_rule_is_listed_once() {
        let mut names: Vec<_> = RULES.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
    }

    #[test]
    fn distcc_in_buildenv_reports_on_off_and_computed() {
        assert_eq!(
            levels(&check(distcc_in_buildenv, ON, &HEALTHY)),
            [Level::Ok]
        );
        let off_with_helper = format!("{OFF}DISTCC_HOSTS=\"a:3632/4\"\n");
        assert_eq!(
            levels(&check(distcc_in_buildenv, &off_with_helper, &HEALTHY)),
            [Level::Warning]
        );
        // No helper: enabling is no fix, has-helper speaks instead.
        assert!(check(distcc_in_buildenv, OFF, &HEALTHY).is_empty());
        assert_eq!(levels(&check(has_helper, OFF, &HEALTHY)), [Level::Warning]);
        let computed = "if true; then\nBUILDENV=(distcc)\nfi\n";
        let f = check(distcc_in_buildenv, computed, &HEALTHY);
        assert!(f[0].message.contains("shell code"), "{f:?}");
    }

    #[test]
    fn hosts_literal_flags_computed_lists() {
        let f = check(hosts_literal, "DISTCC_HOSTS=\"$(cat /x)\"\n", &HEALTHY);
        assert_eq!(levels(&f), [Level::Warning]);
        assert!(f[0].message.contains("/etc/makepkg.conf:1"));
        assert!(check(hosts_literal, "DISTCC_HOSTS=\"a/4\"\n", &HEALTHY).is_empty());
    }

    #[test]
    fn has_helper_needs_a_network_host_when_on() {
        let local_only = format!("{ON}DISTCC_HOSTS=\"localhost/4\"\n");
        assert_eq!(
            levels(&check(has_helper, &local_only, &HEALTHY)),
            [Level::Error]
        );
        let with_helper = format!("{ON}DISTCC_HOSTS=\"10.0.0.2:3636/8 localhost/2\"\n");
        assert!(check(has_helper, &with_helper, &HEALTHY).is_empty());
        // Off and no helper: a warning that says how to get one (not an error).
        let off = format!("{OFF}DISTCC_HOSTS=\"localhost/4\"\n");
        assert_eq!(levels(&check(has_helper, &off, &HEALTHY)), [Level::Warning]);
    }

    #[test]
    fn hosts_valid_names_the_bad_token_and_its_removal() {
        let f = check(hosts_valid, "DISTCC_HOSTS=\"a/4 b:0/2\"\n", &HEALTHY);
        assert_eq!(levels(&f), [Level::Error]);
        assert_eq!(f[0].fixes, ["alarm-distcc remove-host b"]);
    }

    #[test]
    fn loopback_network_host_is_not_local() {
        let f = check(
            loopback_network_host,
            "DISTCC_HOSTS=\"127.0.0.1/2 localhost/2\"\n",
            &HEALTHY,
        );
        assert_eq!(levels(&f), [Level::Warning]);
        assert!(f[0].message.contains("127.0.0.1/2"));
        // A port says it is a distccd here on purpose: the probe judges it.
        let f = check(
            loopback_network_host,
            "DISTCC_HOSTS=\"127.0.0.1:3636/2\"\n",
            &HEALTHY,
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn no_pump_mode_flags_cpp() {
        let f = check(
            no_pump_mode,
            "DISTCC_HOSTS=\"a/4,lzo,cpp b/4,lzo\"\n",
            &HEALTHY,
        );
        assert_eq!(levels(&f), [Level::Warning]);
    }

    #[test]
    fn port_matches_arch_checks_distccd_alarm_ports() {
        let f = check(
            port_matches_arch,
            "CARCH=\"aarch64\"\nDISTCC_HOSTS=\"a:3635/4 b:3636/4 c:3632/4\"\n",
            &HEALTHY,
        );
        assert_eq!(levels(&f), [Level::Warning]);
        assert!(f[0].message.contains("armv7h"), "{f:?}");
        assert!(f[0].message.contains("3636"), "{f:?}");
        // Without CARCH nothing can be said.
        assert!(check(port_matches_arch, "DISTCC_HOSTS=\"a:3635/4\"\n", &HEALTHY).is_empty());
    }

    #[test]
    fn jobs_match_slots_compares_with_the_total() {
        // While distcc is off, -j is this machine's: nothing to compare.
        let off = "BUILDENV=(!distcc)\nDISTCC_HOSTS=\"a/6 localhost/2\"\nMAKEFLAGS=\"-j2\"\n";
        assert!(check(jobs_match_slots, off, &HEALTHY).is_empty());
        let hosts = "BUILDENV=(distcc)\nDISTCC_HOSTS=\"a/6 localhost/2\"\n";
        assert!(
            check(
                jobs_match_slots,
                &format!("{hosts}MAKEFLAGS=\"-j8\"\n"),
                &HEALTHY
            )
            .is_empty()
        );
        let f = check(
            jobs_match_slots,
            &format!("{hosts}MAKEFLAGS=\"-j2\"\n"),
            &HEALTHY,
        );
        assert!(f[0].message.contains("-j is 2"), "{f:?}");
        let f = check(jobs_match_slots, hosts, &HEALTHY);
        assert!(f[0].message.contains("not set"), "{f:?}");
        assert!(check(jobs_match_slots, "MAKEFLAGS=\"-j2\"\n", &HEALTHY).is_empty());
    }

    #[test]
    fn no_flags_kept_local_flags_each_one() {
        let f = check(
            no_flags_kept_local,
            "CFLAGS=\"-O2 -march=native\"\nCXXFLAGS=\"-O2 -mtune=native\"\n",
            &HEALTHY,
        );
        assert_eq!(levels(&f), [Level::Error, Level::Error]);
        // Through a reference, and what makepkg adds for `lto` with an empty LTOFLAGS.
        let f = check(
            no_flags_kept_local,
            "CFLAGS=\"-march=native\"\nCXXFLAGS=\"$CFLAGS\"\nOPTIONS=(lto)\n",
            &HEALTHY,
        );
        let messages: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(
            messages[0].starts_with("-march=native in CFLAGS and CXXFLAGS"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("-flto in CFLAGS and CXXFLAGS"),
            "{messages:?}"
        );
        assert!(f[1].fixes[0].contains("-flto=auto"), "{f:?}");
        assert!(check(no_flags_kept_local, "CFLAGS=\"-O2 -flto=auto\"\n", &HEALTHY).is_empty());
    }

    #[test]
    fn not_with_sccache_only_when_distcc_is_on() {
        let both = "BUILDENV=(distcc sccache)\n";
        assert_eq!(
            levels(&check(not_with_sccache, both, &HEALTHY)),
            [Level::Error]
        );
        assert!(check(not_with_sccache, "BUILDENV=(!distcc sccache)\n", &HEALTHY).is_empty());
    }

    #[test]
    fn machine_rules_read_the_machine() {
        let bare = Machine {
            distcc_binary: false,
            masquerade_dir: false,
            mem_total_kib: Some(1 << 20),
            swap_total_kib: Some(0),
        };
        assert_eq!(levels(&check(distcc_installed, ON, &bare)), [Level::Error]);
        assert_eq!(levels(&check(masquerade_dir, ON, &bare)), [Level::Error]);
        assert!(check(distcc_installed, OFF, &bare).is_empty());
        assert!(check(distcc_installed, ON, &HEALTHY).is_empty());
        assert_eq!(levels(&check(swap, "", &bare)), [Level::Warning]);
        assert!(check(swap, "", &HEALTHY).is_empty());
    }
}
