//! `alarm-distcc probe`: a real compile on each helper, its object's architecture checked.

use crate::conf::bash_check::compare::computed_hosts;
use crate::conf::buildflags::{BuildFlags, Flags};
use crate::conf::document::Document;
use crate::conf::layers::{self, Value};
use crate::distcc::advice::{describe, outcome_name};
use crate::distcc::compat::{Checker, Concern, Judged, LocalOutcome, Severity, version_of};
use crate::distcc::elf::{Arch, CodeModel};
use crate::distcc::hosts::{HostList, HostSpec, HostToken, SpecError};
use crate::distcc::protocol::{self, Attempt, Outcome, Verdict};
use crate::error::bad_input;
use crate::session::Session;
use crate::ui::{Tone, ms, paint, status, timeout_of, with_spinner};
use anyhow::{Result, anyhow};
use std::path::PathBuf;

/// `probe`'s options, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct ProbeOptions {
    /// Hosts to probe [default: the effective DISTCC_HOSTS]
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,
    /// Seconds each host may take
    #[arg(long, default_value_t = 4.0)]
    pub timeout: f64,
    /// Compiler name to send, bare and with CFLAGS, no C++ job [default: <CHOST>-gcc, <CHOST>-g++, and gcc for information]
    #[arg(long)]
    pub compiler: Option<String>,
    /// Architecture the objects must be for [default: CARCH]
    #[arg(long, value_name = "ARCH")]
    pub expect_arch: Option<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

fn list_to_probe(
    session: &Session,
    docs: &[(PathBuf, Document)],
    hosts: &[String],
) -> Result<HostList> {
    let eff = layers::effective(docs);
    // What no file sets, makepkg started from here has from this environment.
    let env = layers::FromEnvironment::of_process(&eff);
    if hosts.is_empty() {
        if let Some(list) = env.host_list() {
            return Ok(list);
        }
        return match &eff.hosts {
            Value::Known(s) => Ok(HostList::parse(&s.value)),
            Value::Unknown { path, line, text } => computed_list_to_probe(
                session,
                docs,
                &eff,
                &format!(
                    "{}:{line}: DISTCC_HOSTS is computed ({text})",
                    path.display()
                ),
            ),
            Value::Unset => Err(bad_input(
                "DISTCC_HOSTS is not set; name the hosts to probe, or add one with add-host",
            )),
        };
    }
    // A host given without a port gets add-host's port: the listed one, else CARCH's.
    let listed = env.hosts_after(&eff.hosts).unwrap_or_default();
    let carch = layers::carch(docs).unwrap_or_default();
    let mut list = HostList::default();
    for h in hosts {
        let spec: HostSpec = h.parse().map_err(|e: SpecError| bad_input(e.to_string()))?;
        let (spec, note) = crate::distcc::alarm::with_default_port(spec, &carch, &listed);
        if let Some(note) = note {
            status!("note: {}", crate::ui::escape(&note));
        }
        list.tokens.push(HostToken::new(spec));
    }
    Ok(list)
}

/// The hosts a computed DISTCC_HOSTS gives, as bash reads it here: what makepkg started from
/// here would hand distcc. `at` names the line that computes it.
fn computed_list_to_probe(
    session: &Session,
    docs: &[(PathBuf, Document)],
    eff: &layers::Effective,
    at: &str,
) -> Result<HostList> {
    let name_them = "name the hosts to probe";
    let reading = match session.bash_reading(docs) {
        Ok(Some(reading)) => reading,
        Ok(None) => {
            return Err(bad_input(format!(
                "{at}, and bash could not be run here; {name_them}"
            )));
        }
        Err(why) => {
            return Err(bad_input(format!(
                "{at}, and bash cannot read the config: {why}; {name_them}"
            )));
        }
    };
    match computed_hosts(eff, &reading) {
        Some(c) if !c.value.is_empty() => {
            status!(
                "note: DISTCC_HOSTS is {}: probing those hosts",
                crate::ui::escape(&c.described())
            );
            Ok(HostList::parse(&c.value))
        }
        _ => Err(bad_input(format!(
            "{at}, and bash reads no host from it here; {name_them}"
        ))),
    }
}

pub fn run(session: &Session, opts: &ProbeOptions) -> Result<()> {
    let docs = session.layers()?;
    let timeout = timeout_of(opts.timeout)?;
    let list = list_to_probe(session, &docs, &opts.hosts)?;
    if let Some(bad) = list.invalid().next() {
        return Err(bad_input(bad.to_string()));
    }
    let (checker, flags) =
        session.checker(&docs, opts.expect_arch.as_deref(), opts.compiler.as_deref())?;
    let targets = protocol::targets_of(&list);
    if targets.is_empty() {
        return Err(bad_input("no hosts to probe"));
    }
    let judged = with_spinner(format!("probing {} host(s)", targets.len()), || {
        checker.check(&targets, timeout)
    });
    let general_errors = checker
        .general_concerns()
        .iter()
        .filter(|c| c.severity == Severity::Error)
        .count();
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&probe_json(&judged, &checker, &flags))?
        );
    } else {
        // Paths from PATH, the config's flags and the helpers' answers: only this tool's own
        // colour codes reach the terminal.
        let stdout = console::Term::stdout();
        let width = crate::ui::terminal_width(&stdout);
        let text = crate::ui::escape_except_colors(&probe_table(
            &judged,
            &checker,
            &flags,
            session.opts.color,
            width,
        ));
        // In a narrow terminal a long line continues a little further in.
        print!("{}", crate::ui::fit_report(&text, &stdout, 4));
    }
    let failed = judged
        .iter()
        .filter(|j| j.verdict == Verdict::Failed)
        .count();
    let probed = failed + judged.iter().filter(|j| j.verdict == Verdict::Ok).count();
    let carch = &checker.carch;
    match (failed, general_errors) {
        (0, 0) => Ok(()),
        (0, n) => Err(anyhow!(
            "{n} problem(s) with the config's flags stop distcc from helping"
        )),
        (f, _) => {
            // A helper that could not be reached has not shown what it compiles.
            let unreached = judged
                .iter()
                .filter(|j| {
                    j.verdict == Verdict::Failed
                        && !j.report.attempts.is_empty()
                        && j.report
                            .attempts
                            .iter()
                            .all(|a| crate::distcc::advice::not_reached(&a.outcome).is_some())
                })
                .count();
            Err(match (unreached, f - unreached) {
                (0, _) => anyhow!(
                    "{f} of {probed} helper(s) cannot compile for {carch} as this machine would"
                ),
                (u, 0) => anyhow!("{u} of {probed} helper(s) could not be reached"),
                (u, c) => anyhow!(
                    "{u} of {probed} helper(s) could not be reached, and {c} cannot compile for \
                     {carch} as this machine would"
                ),
            })
        }
    }
}

fn job_name(a: &Attempt) -> &'static str {
    a.job.as_ref().map_or("-", |j| j.kind.label())
}

/// `gcc 12.2.0, PIE` for an object.
fn object_summary(code_model: Option<CodeModel>, compiler: Option<&str>) -> String {
    let mut parts = Vec::new();
    if compiler.is_some() {
        parts.push(version_of(compiler));
    }
    if let Some(m) = code_model {
        parts.push(m.to_string());
    }
    parts.join(", ")
}

fn flags_lines(flags: &BuildFlags) -> Vec<String> {
    let mut out = Vec::new();
    for (var, value, from) in [
        ("CFLAGS", &flags.cflags, &flags.cflags_from),
        ("CXXFLAGS", &flags.cxxflags, &flags.cxxflags_from),
    ] {
        let named = if from.is_empty() {
            var.to_string()
        } else {
            format!("{var} ({})", from.join(", "))
        };
        match value {
            Ok(words) if words.is_empty() => out.push(format!("{named}: none")),
            Ok(words) => out.push(format!("{named}: {}", words.join(" "))),
            // The reason names the place already.
            Err(why) => out.push(format!("{var}: not sent: {why}")),
        }
    }
    out.extend(flags.notes.iter().cloned());
    out
}

fn local_lines(checker: &Checker) -> Vec<String> {
    let Some(reference) = checker.reference() else {
        return Vec::new();
    };
    if let Some(why) = &reference.not_comparable {
        return vec![why.clone()];
    }
    reference
        .runs
        .iter()
        .filter_map(|r| {
            let compiler = r.compiler.as_ref()?;
            let job = r.job.kind.label();
            Some(match &r.outcome {
                LocalOutcome::Object(info) => format!(
                    "{job}: {} ({})",
                    compiler.display(),
                    object_summary(
                        info.code_model.filter(|_| r.job.kind.tells_code_model()),
                        info.compiler.as_deref()
                    )
                ),
                LocalOutcome::Failed(e) => format!(
                    "{job}: {} fails: {}",
                    compiler.display(),
                    e.lines().next().unwrap_or("")
                ),
                LocalOutcome::TimedOut(bound) => format!(
                    "{job}: {} did not finish in {} s",
                    compiler.display(),
                    bound.as_secs_f64()
                ),
                LocalOutcome::Missing(e) => format!("{job}: {e}"),
            })
        })
        .collect()
}

pub fn probe_table(
    judged: &[Judged],
    checker: &Checker,
    flags: &BuildFlags,
    color: bool,
    width: Option<usize>,
) -> String {
    use std::fmt::Write;
    // Everything but this tool's own colours quotes the config, the command line, PATH or the
    // helpers: escaped here, so that only those colours are left as sequences (the caller's
    // escape lets colour codes through) and the columns are measured on what is shown.
    let escape = crate::ui::escape;
    let expected = checker.expected;
    let mut out = format!("{}\n", escape(&super::target_line(checker)));
    if let Some(names) = &checker.names {
        let _ = writeln!(out, "  names sent: {}", escape(names));
    }
    for line in flags_lines(flags) {
        let _ = writeln!(out, "  {}", escape(&line));
    }
    let local = local_lines(checker);
    if !local.is_empty() {
        let _ = writeln!(out, "this machine:");
        for line in local {
            let _ = writeln!(out, "  {}", escape(&line));
        }
    }
    // One row an attempt, each column as wide as its widest cell and the result last (its
    // width varies most): a fixed layout was 130 columns wide.
    let mut rows = Vec::new();
    let mut reasons = Vec::new();
    let mut connects = Vec::new();
    for j in judged {
        for a in &j.report.attempts {
            let detail = match &a.outcome {
                Outcome::Object {
                    arch,
                    undefined_builtins,
                    ..
                } if *arch == expected && !undefined_builtins.is_empty() => {
                    format!(
                        "UNLINKABLE: {arch}, calls {}",
                        escape(&undefined_builtins.join(", "))
                    )
                }
                Outcome::Object {
                    arch,
                    code_model,
                    compiler,
                    ..
                } if *arch == expected => {
                    let told = a.job.as_ref().is_none_or(|j| j.kind.tells_code_model());
                    format!(
                        "ok: {arch}, {}",
                        object_summary(code_model.filter(|_| told), compiler.as_deref())
                    )
                }
                o => describe(o, expected),
            };
            let tone = match outcome_tone(&a.outcome, expected) {
                // A right object from a helper that still fails: see the errors.
                Tone::Good if j.verdict == Verdict::Failed => Tone::Warn,
                tone => tone,
            };
            // The compiler's own reason, under its row (already escaped at the boundary).
            reasons.push(match &a.outcome {
                Outcome::CompileFailed { stderr, .. } | Outcome::CompilerMissing(stderr) => stderr
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(|first| first.chars().take(160).collect::<String>()),
                _ => None,
            });
            let compiler = if a.compiler.is_empty() {
                "-".to_string()
            } else {
                a.compiler.clone()
            };
            connects.push(a.connect);
            rows.push([
                escape(&j.report.target.spec),
                job_name(a).to_string(),
                escape(&compiler),
                ms(a.connect),
                ms(a.round_trip),
                paint(color, tone, &escape(&detail)),
            ]);
        }
    }
    let header = ["HOST", "JOB", "COMPILER", "CONNECT", "COMPILE", "RESULT"];
    let right = [false, false, false, true, true, false];
    let wide = crate::ui::table_lines(header, right, &rows);
    let fits = |lines: &[String]| {
        width.is_none_or(|w| lines.iter().all(|l| console::measure_text_width(l) <= w))
    };
    if fits(&wide) {
        let mut lines = wide.into_iter();
        let _ = writeln!(out, "{}", lines.next().unwrap_or_default());
        let host_width = crate::ui::column_widths(header, &rows)[0];
        for (line, reason) in lines.zip(&reasons) {
            let _ = writeln!(out, "{line}");
            if let Some(first) = reason {
                let _ = writeln!(out, "{:host_width$}  compiler says: {first}", "");
            }
        }
    } else {
        out.push_str(&grouped_by_host(&rows, &reasons, &connects));
    }
    for j in judged {
        for line in &j.notes {
            let _ = writeln!(out, "{} {}", paint(color, Tone::Dim, "note:"), escape(line));
        }
        for line in &j.fixes {
            let _ = writeln!(out, "{} {}", paint(color, Tone::Warn, "fix:"), escape(line));
        }
        for c in &j.concerns {
            out.push_str(&concern_text(c, color));
        }
    }
    for c in checker.general_concerns() {
        out.push_str(&concern_text(&c, color));
    }
    out
}

/// The attempts for a terminal too narrow for one row each with its host (a Pi's 80-column
/// console): each host a heading with its slowest connect, its attempts under it without the
/// host and connect columns, so that a result fits beside its compiler.
fn grouped_by_host(
    rows: &[[String; 6]],
    reasons: &[Option<String>],
    connects: &[Option<std::time::Duration>],
) -> String {
    use std::fmt::Write;
    let header = ["JOB", "COMPILER", "COMPILE", "RESULT"];
    let right = [false, false, true, false];
    let short: Vec<[String; 4]> = rows
        .iter()
        .map(|[_, job, compiler, _, compile, result]| {
            [
                job.clone(),
                compiler.clone(),
                compile.clone(),
                result.clone(),
            ]
        })
        .collect();
    let mut lines = crate::ui::table_lines(header, right, &short).into_iter();
    let mut out = format!("  {}\n", lines.next().unwrap_or_default());
    let mut at = 0;
    while at < rows.len() {
        let host = &rows[at][0];
        let end = at + rows[at..].iter().take_while(|r| &r[0] == host).count();
        let _ = match connects[at..end].iter().flatten().max() {
            Some(&slowest) => writeln!(out, "{host}  connect {}", ms(Some(slowest))),
            None => writeln!(out, "{host}"),
        };
        for (line, reason) in lines.by_ref().take(end - at).zip(&reasons[at..end]) {
            let _ = writeln!(out, "  {line}");
            if let Some(first) = reason {
                let _ = writeln!(out, "    compiler says: {first}");
            }
        }
        at = end;
    }
    out
}

/// `error: MESSAGE` (or `warning:`), then its fix on the next line.
fn concern_text(c: &Concern, color: bool) -> String {
    let (tone, label) = match c.severity {
        Severity::Error => (Tone::Bad, "error:"),
        Severity::Warning => (Tone::Warn, "warning:"),
    };
    format!(
        "{} {}\n  fix: {}\n",
        paint(color, tone, label),
        crate::ui::escape(&c.message),
        crate::ui::escape(&c.fix)
    )
}

fn concern_json(c: &Concern) -> serde_json::Value {
    serde_json::json!({
        "severity": match c.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "message": c.message,
        "fix": c.fix,
    })
}

fn flags_json(value: &Flags) -> serde_json::Value {
    match value {
        Ok(words) => serde_json::json!(words),
        Err(_) => serde_json::Value::Null,
    }
}

pub fn probe_json(judged: &[Judged], checker: &Checker, flags: &BuildFlags) -> serde_json::Value {
    use serde_json::json;
    let expected = checker.expected;
    let reference = checker.reference();
    let not_sent: Vec<&String> = [&flags.cflags, &flags.cxxflags]
        .iter()
        .filter_map(|f| f.as_ref().err())
        .collect();
    json!({
        "expected_arch": expected.to_string(),
        "carch": checker.carch,
        "names_sent": checker.names,
        "flags": {
            "cflags": flags_json(&flags.cflags),
            "cxxflags": flags_json(&flags.cxxflags),
            "cflags_from": flags.cflags_from,
            "cxxflags_from": flags.cxxflags_from,
            "not_sent": not_sent,
            "kept_local": checker.kept_local.iter().map(|k| json!({"variable": k.var, "flag": k.flag, "reason": k.reason})).collect::<Vec<_>>(),
            "lto": flags.lto,
            "notes": flags.notes,
        },
        "problems": checker.general_concerns().iter().map(concern_json).collect::<Vec<_>>(),
        "local": reference.map(|r| json!({
            "comparable": r.not_comparable.is_none(),
            "not_comparable": r.not_comparable,
            "runs": r.runs.iter().map(|run| {
                let (result, info, error) = match &run.outcome {
                    LocalOutcome::Object(i) => ("object", Some(i), None),
                    LocalOutcome::Failed(e) => ("failed", None, Some(e.clone())),
                    LocalOutcome::TimedOut(bound) => ("timed_out", None, Some(format!("did not finish in {} s", bound.as_secs_f64()))),
                    LocalOutcome::Missing(e) => ("missing", None, Some(e.clone())),
                };
                json!({
                    "job": run.job.kind.name(),
                    "compiler": run.compiler.as_ref().map(|c| c.display().to_string()),
                    "result": result,
                    "arch": info.map(|i| i.arch.to_string()),
                    "code_model": info.and_then(|i| i.code_model).filter(|_| run.job.kind.tells_code_model()).map(|m| m.to_string()),
                    "compiler_version": info.and_then(|i| i.compiler.clone()),
                    "undefined_builtins": info.map(|i| i.undefined_builtins.clone()).unwrap_or_default(),
                    "error": error,
                })
            }).collect::<Vec<_>>(),
            "problems": r.concerns().iter().map(concern_json).collect::<Vec<_>>(),
        })),
        "hosts": judged.iter().map(|j| {
            let r = &j.report;
            json!({
                "spec": r.target.spec,
                "host": r.target.host,
                "port": r.target.port,
                "kind": r.target.kind.to_string(),
                "verdict": match j.verdict { Verdict::Ok => "ok", Verdict::Local => "local", Verdict::NotProbed => "not_probed", Verdict::Failed => "failed" },
                "attempts": r.attempts.iter().map(|a| {
                    let (code_model, version) = match &a.outcome {
                        Outcome::Object { code_model, compiler, .. } => (
                            code_model.filter(|_| a.job.as_ref().is_none_or(|j| j.kind.tells_code_model())).map(|m| m.to_string()),
                            compiler.clone(),
                        ),
                        _ => (None, None),
                    };
                    json!({
                        "job": a.job.as_ref().map(|j| j.kind.name()),
                        "compiler": a.compiler,
                        "decisive": a.job.as_ref().map(|j| j.decisive),
                        "argv": a.job.as_ref().map(|j| j.argv()),
                        "result": outcome_name(&a.outcome),
                        "detail": describe(&a.outcome, expected),
                        "arch": match a.outcome { Outcome::Object { arch, .. } => Some(arch.to_string()), _ => None },
                        "code_model": code_model,
                        "compiler_version": version,
                        "undefined_builtins": match &a.outcome { Outcome::Object { undefined_builtins, .. } => undefined_builtins.clone(), _ => Vec::new() },
                        "stderr": match &a.outcome { Outcome::CompileFailed { stderr, .. } => Some(stderr.clone()), _ => None },
                        "connect_ms": a.connect.map(|d| d.as_secs_f64() * 1000.0),
                        "round_trip_ms": a.round_trip.map(|d| d.as_secs_f64() * 1000.0),
                    })
                }).collect::<Vec<_>>(),
                "compared": {
                    "helper_compiler": j.comparison.helper_compiler,
                    "local_compiler": j.comparison.local_compiler,
                    "helper_cxx_compiler": j.comparison.helper_cxx_compiler,
                    "local_cxx_compiler": j.comparison.local_cxx_compiler,
                    "helper_code_model": j.comparison.helper_code_model.map(|m| m.to_string()),
                    "local_code_model": j.comparison.local_code_model.map(|m| m.to_string()),
                },
                "problems": j.concerns.iter().map(concern_json).collect::<Vec<_>>(),
                "advice": j.fixes,
                "notes": j.notes,
            })
        }).collect::<Vec<_>>(),
    })
}

fn outcome_tone(o: &Outcome, expected: Arch) -> Tone {
    match o {
        Outcome::Object {
            arch,
            undefined_builtins,
            ..
        } if *arch == expected && undefined_builtins.is_empty() => Tone::Good,
        Outcome::Local | Outcome::NotProbed(_) => Tone::Dim,
        _ => Tone::Bad,
    }
}
