//! `alarm-distcc probe`: a real compile on each helper, its object's architecture checked.

use crate::conf::document::Document;
use crate::conf::layers::{self, Value};
use crate::distcc::advice::{advice, describe, notes, outcome_name};
use crate::distcc::elf::Arch;
use crate::distcc::hosts::{HostList, HostSpec, HostToken, SpecError};
use crate::distcc::protocol::{self, HostReport, Outcome, Verdict};
use crate::error::bad_input;
use crate::session::Session;
use crate::ui::{Tone, ms, paint, timeout_of, with_spinner};
use anyhow::{Result, anyhow};
use std::path::PathBuf;

pub struct ProbeOptions {
    pub hosts: Vec<String>,
    pub timeout: f64,
    pub compiler: Option<String>,
    pub expect_arch: Option<String>,
    pub json: bool,
}

fn list_to_probe(docs: &[(PathBuf, Document)], hosts: &[String]) -> Result<HostList> {
    if hosts.is_empty() {
        return match layers::effective(docs).hosts {
            Value::Known(s) => Ok(HostList::parse(&s.value)),
            Value::Unknown { path, line, text } => Err(bad_input(format!(
                "{}:{line}: DISTCC_HOSTS is computed ({text}); name the hosts to probe",
                path.display()
            ))),
            Value::Unset => Err(bad_input(
                "DISTCC_HOSTS is not set; name the hosts to probe, or add one with add-host",
            )),
        };
    }
    let mut list = HostList::default();
    for h in hosts {
        let spec: HostSpec = h.parse().map_err(|e: SpecError| bad_input(e.to_string()))?;
        list.tokens.push(HostToken::new(spec));
    }
    Ok(list)
}

pub fn run(session: &Session, opts: &ProbeOptions) -> Result<()> {
    let docs = session.layers()?;
    let timeout = timeout_of(opts.timeout)?;
    let list = list_to_probe(&docs, &opts.hosts)?;
    if let Some(bad) = list.invalid().next() {
        return Err(bad_input(bad.to_string()));
    }
    let (carch, expected) = session.expected_arch(&docs, opts.expect_arch.as_deref())?;
    let compilers = match &opts.compiler {
        Some(c) => vec![c.clone()],
        None => session.compilers(&docs),
    };
    let targets = protocol::targets_of(&list);
    if targets.is_empty() {
        return Err(bad_input("no hosts to probe"));
    }
    let reports = with_spinner(format!("probing {} host(s)", targets.len()), || {
        protocol::probe_all(&targets, &compilers, protocol::PROBE_SOURCE, timeout)
    });
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&probe_json(&reports, expected, &carch))?
        );
    } else {
        print!(
            "{}",
            probe_table(&reports, expected, &carch, session.opts.color)
        );
    }
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict(expected)).collect();
    let failed = verdicts.iter().filter(|v| **v == Verdict::Failed).count();
    let probed = failed + verdicts.iter().filter(|v| **v == Verdict::Ok).count();
    if failed > 0 {
        return Err(anyhow!(
            "{failed} of {probed} helper(s) cannot compile for {carch}"
        ));
    }
    Ok(())
}

pub fn probe_table(reports: &[HostReport], expected: Arch, carch: &str, color: bool) -> String {
    use std::fmt::Write;
    let mut out = format!("target: {carch} ({expected})\n");
    let _ = writeln!(
        out,
        "{:<26} {:<32} {:<40} {:>9} {:>10}",
        "HOST", "COMPILER", "RESULT", "CONNECT", "COMPILE"
    );
    for r in reports {
        for a in &r.attempts {
            let _ = writeln!(
                out,
                "{:<26} {:<32} {} {:>9} {:>10}",
                r.target.spec,
                if a.compiler.is_empty() {
                    "-"
                } else {
                    &a.compiler
                },
                paint(
                    color,
                    outcome_tone(&a.outcome, expected),
                    &format!("{:<40}", describe(&a.outcome, expected))
                ),
                ms(a.connect),
                ms(a.round_trip)
            );
        }
    }
    for r in reports {
        for line in notes(r, expected) {
            let _ = writeln!(out, "{} {line}", paint(color, Tone::Dim, "note:"));
        }
        for line in advice(r, expected, carch) {
            let _ = writeln!(out, "{} {line}", paint(color, Tone::Warn, "fix:"));
        }
    }
    out
}

pub fn probe_json(reports: &[HostReport], expected: Arch, carch: &str) -> serde_json::Value {
    use serde_json::json;
    json!({
        "expected_arch": expected.to_string(),
        "carch": carch,
        "hosts": reports.iter().map(|r| json!({
            "spec": r.target.spec,
            "host": r.target.host,
            "port": r.target.port,
            "kind": r.target.kind.to_string(),
            "verdict": match r.verdict(expected) { Verdict::Ok => "ok", Verdict::Local => "local", Verdict::NotProbed => "not_probed", Verdict::Failed => "failed" },
            "attempts": r.attempts.iter().map(|a| json!({
                "compiler": a.compiler,
                "result": outcome_name(&a.outcome),
                "detail": describe(&a.outcome, expected),
                "arch": match a.outcome { Outcome::Object { arch, .. } => Some(arch.to_string()), _ => None },
                "connect_ms": a.connect.map(|d| d.as_secs_f64() * 1000.0),
                "round_trip_ms": a.round_trip.map(|d| d.as_secs_f64() * 1000.0),
            })).collect::<Vec<_>>(),
            "advice": advice(r, expected, carch),
            "notes": notes(r, expected),
        })).collect::<Vec<_>>(),
    })
}

fn outcome_tone(o: &Outcome, expected: Arch) -> Tone {
    match o {
        Outcome::Object { arch, .. } if *arch == expected => Tone::Good,
        Outcome::Local | Outcome::NotProbed(_) => Tone::Dim,
        _ => Tone::Bad,
    }
}
