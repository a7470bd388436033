//! `alarm-distcc doctor`: everything that stops distcc from helping, with fixes: the rules
//! on the config and this machine, then a real probe of each helper.

pub mod rules;

use crate::conf::layers;
use crate::distcc::advice::advice;
use crate::distcc::hosts::Kind;
use crate::distcc::protocol::{self, Target, Verdict, targets_of};
use crate::session::Session;
use crate::ui::{Tone, ms, paint, timeout_of, with_spinner};
use anyhow::{Result, anyhow};
use rules::{Context, Finding, Level, Machine, diagnose, finding};
use std::time::Duration;

pub fn run(session: &Session, offline: bool, timeout: f64) -> Result<()> {
    let docs = session.layers()?;
    let machine = Machine::read();
    let mut findings = diagnose(&Context::new(&docs, &machine));
    if !offline {
        let eff = layers::effective(&docs);
        if let Some(list) = layers::hosts_of(&eff.hosts) {
            let targets: Vec<Target> = targets_of(&list)
                .into_iter()
                .filter(|t| t.kind == Kind::Tcp)
                .collect();
            if !targets.is_empty() {
                let (carch, expected) = session.expected_arch(&docs, None)?;
                let reports = with_spinner("probing helpers".into(), || {
                    protocol::probe_all(
                        &targets,
                        &session.compilers(&docs),
                        protocol::PROBE_SOURCE,
                        timeout_of(timeout).unwrap_or(Duration::from_secs(4)),
                    )
                });
                for r in &reports {
                    if r.verdict(expected) == Verdict::Ok {
                        findings.push(finding(
                            Level::Ok,
                            format!(
                                "{} compiles for {carch} ({})",
                                r.target.spec,
                                ms(r.attempts.iter().filter_map(|a| a.round_trip).min())
                            ),
                            "",
                        ));
                    } else {
                        // One problem per helper, however many causes it has.
                        let mut fixes = advice(r, expected, &carch);
                        fixes.push(format!(
                            "or remove it: {}",
                            session.command(&format!(
                                "remove-host {}:{}",
                                r.target.host, r.target.port
                            ))
                        ));
                        findings.push(Finding {
                            level: Level::Error,
                            message: format!("{} fails the probe", r.target.spec),
                            fixes,
                        });
                    }
                }
            }
        }
    }
    for f in &findings {
        let level = match f.level {
            Level::Ok => paint(session.opts.color, Tone::Good, "ok     "),
            Level::Warning => paint(session.opts.color, Tone::Warn, "warning"),
            Level::Error => paint(session.opts.color, Tone::Bad, "error  "),
        };
        println!("{level}  {}", f.message);
        for fix in &f.fixes {
            println!("         fix: {fix}");
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if errors > 0 {
        return Err(anyhow!("{errors} problem(s) stop distcc from helping"));
    }
    Ok(())
}
