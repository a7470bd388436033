//! `alarm-distcc doctor`: everything that stops distcc from helping, with fixes: the rules
//! on the config and this machine, then a real probe of each helper.

pub mod rules;

use crate::conf::bash_check::compare::computed_hosts;
use crate::conf::layers;
use crate::distcc::compat::{Reference, Severity};
use crate::distcc::hosts::Kind;
use crate::distcc::protocol::{Target, Verdict, targets_of};
use crate::session::Session;
use crate::ui::{Tone, escape, ms, paint, timeout_of, with_spinner};
use anyhow::{Result, anyhow};
use rules::{Context, Finding, Level, Machine, diagnose, finding};
use std::io::IsTerminal;
use std::time::Duration;

/// `doctor`'s options, as given on the command line.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DoctorOptions {
    /// Skip probing the helpers
    #[arg(long)]
    pub offline: bool,
    /// Seconds each helper may take to answer the probe
    #[arg(long, default_value_t = 4.0)]
    pub timeout: f64,
}

pub fn run(session: &Session, opts: &DoctorOptions) -> Result<()> {
    let DoctorOptions { offline, timeout } = *opts;
    let docs = session.layers()?;
    let machine = Machine::read();
    // makepkg started from here would have this process's environment.
    let read_by_bash = session.bash_differences(&docs);
    let ctx = Context::new(&docs, &machine, |name| std::env::var(name).ok()).with_bash_reading(
        read_by_bash
            .as_ref()
            .ok()
            .and_then(|r| r.as_ref().map(|(r, _)| r)),
    );
    let mut findings = diagnose(&ctx);
    match read_by_bash {
        Ok(Some((_, differences))) => {
            for d in differences {
                findings.push(finding(
                    Level::Warning,
                    d,
                    "make the value a plain top-level line, or remove what overrides it",
                ));
            }
        }
        Ok(None) => findings.push(finding(
            Level::Warning,
            "bash could not be run here: the config was read statically only",
            "",
        )),
        Err(why) => findings.push(finding(
            Level::Error,
            format!("makepkg cannot read this config: {why}"),
            "fix the line bash names",
        )),
    }
    for (path, _) in &docs {
        for temp in crate::conf::write::leftover_temps(path) {
            findings.push(finding(
                Level::Warning,
                format!(
                    "{} is left from an interrupted write (makepkg does not read it)",
                    temp.display()
                ),
                format!(
                    "rm {} (the next edit removes it too)",
                    crate::session::shell_quote(&temp.display().to_string())
                ),
            ));
        }
    }
    if !offline && let Some((list, _)) = &ctx.hosts {
        let targets: Vec<Target> = targets_of(list)
            .into_iter()
            .filter(|t| t.kind == Kind::Tcp)
            .collect();
        if !targets.is_empty() {
            findings.extend(probe_findings(session, &ctx, &targets, timeout)?);
        }
    }
    if let Some(f) = last_build() {
        findings.push(f);
    }
    for f in &findings {
        let level = match f.level {
            Level::Ok => paint(session.opts.color, Tone::Good, "ok     "),
            Level::Warning => paint(session.opts.color, Tone::Warn, "warning"),
            Level::Error => paint(session.opts.color, Tone::Bad, "error  "),
        };
        // Messages quote helpers, compilers and files: no control character gets through.
        // In a terminal, a long one continues under its text, not under the level.
        let out = console::Term::stdout();
        let line = format!("{level}  {}", escape(&f.message));
        println!("{}", crate::ui::fit_report(&line, &out, 9));
        for fix in &f.fixes {
            // A fix runs as printed: on the same file (`--config` repeated when given).
            let fix = if fix.contains("alarm-distcc --config") {
                fix.clone()
            } else {
                fix.replace("alarm-distcc ", &crate::ui::command(""))
            };
            let line = format!("         fix: {}", escape(&fix));
            println!("{}", crate::ui::fit_report(&line, &out, 5));
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if errors > 0 {
        return Err(anyhow!("{errors} problem(s) stop distcc from helping"));
    }
    Ok(())
}

/// The last kept receipt, in one line: a warning when distcc was on and no unit went out.
fn last_build() -> Option<Finding> {
    let path = crate::receipts::store::path()?;
    let (receipts, _) = crate::receipts::store::read(&path).ok()?;
    let last = receipts.last()?;
    let nothing_out = last.distcc && last.units > 0 && last.units_on_helpers == 0;
    let failed = last.helper_failures.first().map(|f| {
        format!(
            "helper {} failed {} job(s) in it: {}",
            f.host, f.jobs, f.kind
        )
    });
    let unfinished = last.exit_code != 0;
    let level = if nothing_out || failed.is_some() || unfinished {
        Level::Warning
    } else {
        Level::Ok
    };
    let mut message = last.summary();
    if unfinished {
        let how = if last.interrupted {
            format!("it was interrupted (exit {})", last.exit_code)
        } else {
            format!("makepkg exited {}", last.exit_code)
        };
        message = format!("{message}; {how}");
    }
    if let Some(f) = failed {
        message = format!("{message}; {f}");
    }
    let fix = if level == Level::Ok {
        String::new()
    } else {
        last.advice.first().cloned().unwrap_or_default()
    };
    Some(finding(level, message, fix))
}

/// `toolchain-check`, for the pacman hook after gcc, binutils, glibc or distcc change: every
/// listed helper probed against this machine's (new) compiler, one line per helper that no
/// longer matches, with the fix. Silent when all match, unless a person runs it in a
/// terminal: then one line says what was checked. Never fails (a hook must not stop the
/// transaction), so every error is a line too.
pub fn toolchain_check(session: &Session, timeout: f64) -> Result<()> {
    // The problems, and what to tell a person at a terminal when there are none.
    let check = || -> Result<(Vec<String>, String)> {
        let docs = session.layers()?;
        let eff = layers::effective(&docs);
        // distcc off: no build uses the helpers, nothing to say.
        if matches!(&eff.distcc, layers::Value::Known(s) if !s.value)
            || matches!(eff.distcc, layers::Value::Unset)
        {
            return Ok((
                Vec::new(),
                "distcc is off in BUILDENV: no helper to check".into(),
            ));
        }
        let no_helper = "no helper listed in DISTCC_HOSTS (TCP): nothing to check";
        // A computed list: what bash reads from it, as makepkg would.
        let computed = || {
            let reading = session.bash_reading(&docs).ok().flatten()?;
            let c = computed_hosts(&eff, &reading)?;
            Some(crate::distcc::hosts::HostList::parse(&c.value))
        };
        let Some(list) = layers::hosts_of(&eff.hosts).or_else(computed) else {
            return Ok((Vec::new(), no_helper.into()));
        };
        let targets: Vec<Target> = targets_of(&list)
            .into_iter()
            .filter(|t| t.kind == Kind::Tcp)
            .collect();
        if targets.is_empty() {
            return Ok((Vec::new(), no_helper.into()));
        }
        let (checker, _) = session.checker(&docs, None, None)?;
        let judged = checker.check(
            &targets,
            timeout_of(timeout).unwrap_or(Duration::from_secs(5)),
        );
        // One line per helper that no longer matches: what differs, each with its fix.
        let mut lines = Vec::new();
        for j in &judged {
            let spec = &j.report.target.spec;
            // A helper that is off or asleep has not drifted: say it was not checked.
            let reasons: Vec<Option<String>> = j
                .report
                .attempts
                .iter()
                .map(|a| crate::distcc::advice::not_reached(&a.outcome))
                .collect();
            if let Some(Some(how)) = reasons.first()
                && reasons.iter().all(Option::is_some)
            {
                lines.push(format!(
                    "alarm-distcc: helper {spec} could not be reached ({how}), so it was not \
                     checked: run `alarm-distcc probe` when it is on"
                ));
                continue;
            }
            let mut what: Vec<String> = Vec::new();
            if j.verdict != Verdict::Ok {
                what.push(
                    j.causes()
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| "it fails the probe".into()),
                );
            }
            what.extend(
                j.concerns
                    .iter()
                    .filter(|c| c.severity == Severity::Warning)
                    .map(|c| format!("{}; fix: {}", c.message, c.fix)),
            );
            if !what.is_empty() {
                lines.push(format!(
                    "alarm-distcc: helper {spec} no longer matches this machine: {}",
                    what.join(" | ")
                ));
            }
        }
        let all_match = format!(
            "{} helper(s) checked: each still matches this machine's compiler",
            targets.len()
        );
        Ok((lines, all_match))
    };
    match check() {
        Ok((lines, quiet)) => {
            for l in &lines {
                // The probe it names runs as printed: on the config given.
                println!("{}", crate::ui::runnable(&escape(l)));
            }
            if lines.is_empty() && std::io::stdout().is_terminal() {
                println!("alarm-distcc: {}", escape(&quiet));
            }
        }
        Err(e) => println!(
            "alarm-distcc: the helpers could not be checked: {}",
            escape(&format!("{e:#}"))
        ),
    }
    Ok(())
}

/// A real probe of each helper, compared with this machine's compiler: one finding per
/// failing helper, one per warning, one per problem of this machine's own compiler.
fn probe_findings(
    session: &Session,
    ctx: &Context,
    targets: &[Target],
    timeout: f64,
) -> Result<Vec<Finding>> {
    let (checker, flags) = session.checker(ctx.docs, None, None)?;
    let judged = with_spinner("probing helpers".into(), || {
        checker.check(
            targets,
            timeout_of(timeout).unwrap_or(Duration::from_secs(4)),
        )
    });
    let carch = &checker.carch;
    let mut findings = Vec::new();
    for why in [&flags.cflags, &flags.cxxflags]
        .iter()
        .filter_map(|f| f.as_ref().err())
    {
        findings.push(finding(
            Level::Warning,
            why.clone(),
            "the probe sent no flags for it; make it a plain value to have it checked",
        ));
    }
    for j in &judged {
        let spec = &j.report.target.spec;
        if j.verdict == Verdict::Ok {
            // As add-host and the wizard say it: a loopback daemon is no helper.
            let target = &j.report.target;
            let itself =
                if target.kind == Kind::Tcp && crate::distcc::hosts::is_loopback(&target.host) {
                    format!(
                        "; it is this machine itself (a loopback address): {}",
                        super::LOOPBACK_USE
                    )
                } else {
                    String::new()
                };
            findings.push(finding(
                Level::Ok,
                format!(
                    "{spec} compiles for {carch} as this machine would ({}){itself}",
                    ms(j.report.attempts.iter().filter_map(|a| a.round_trip).min())
                ),
                "",
            ));
        } else {
            // One problem per helper, however many causes it has.
            let mut fixes = j.causes();
            fixes.push(ctx.list_fix(format!(
                "or remove it: {}",
                crate::ui::command(&format!(
                    "remove-host {}:{}",
                    j.report.target.host, j.report.target.port
                ))
            )));
            findings.push(Finding {
                level: Level::Error,
                message: format!("{spec} fails the probe"),
                fixes,
            });
        }
        for c in j
            .concerns
            .iter()
            .filter(|c| c.severity == Severity::Warning)
        {
            findings.push(finding(Level::Warning, c.message.clone(), &c.fix));
        }
    }
    if let Some(c) = checker.headers_unsent() {
        findings.push(finding(Level::Warning, c.message, &c.fix));
    }
    // Flags that keep jobs here are a rule of their own (also offline); this is what this
    // machine's compiler itself says of the flags.
    for c in checker
        .reference()
        .map(Reference::concerns)
        .unwrap_or_default()
    {
        findings.push(finding(Level::Error, c.message, &c.fix));
    }
    Ok(findings)
}
