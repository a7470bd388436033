//! Runs the commands: read the config once, plan the edit, show the diff, confirm, write.

use crate::check;
use crate::cli::{Cli, ColorChoice, Command, GlobalOpts};
use crate::document::Document;
use crate::edit::Refusal;
use crate::error::{Cancelled, bad_input};
use crate::helper;
use crate::hosts::{HostList, HostSpec, parse_host_port};
use crate::layers::{self, Effective, Env, Role, Value};
use crate::makeflags::JobCount;
use crate::plan::{self, HostChange, Plan};
use crate::write::{self, Loaded, WriteError};
use anyhow::{Result, anyhow};
use clap::CommandFactory;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn run(cli: Cli) -> Result<()> {
    let env = Env::from_process();
    let session = Session::new(cli.global, env);
    match cli.command {
        Command::Show { json } => session.show(json),
        Command::AddHost { specs } => {
            let specs = specs
                .iter()
                .map(|s| s.parse::<HostSpec>().map_err(|e| bad_input(e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            session.edit_hosts(&HostChange::Add(specs))
        }
        Command::RemoveHost { hosts } => {
            let targets = hosts
                .iter()
                .map(|h| parse_host_port(h).map_err(|e| bad_input(e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            session.edit_hosts(&HostChange::Remove(targets))
        }
        Command::SetLocal { slots } => session.edit_hosts(&HostChange::SetLocal(slots)),
        Command::Enable => session.edit_enabled(true),
        Command::Disable => session.edit_enabled(false),
        Command::Sort { measure: false, .. } => {
            session.edit_hosts(&HostChange::Sort(HashMap::new()))
        }
        Command::Sort {
            measure: true,
            runs,
            timeout,
            expect_arch,
        } => check::run_sort_measure(
            &session,
            &check::MeasureOptions {
                runs,
                timeout,
                expect_arch,
            },
        ),
        Command::Probe {
            hosts,
            timeout,
            compiler,
            expect_arch,
            json,
        } => check::run_probe(
            &session,
            &check::ProbeOptions {
                hosts,
                timeout,
                compiler,
                expect_arch,
                json,
            },
        ),
        Command::Doctor { offline, timeout } => check::run_doctor(&session, offline, timeout),
        Command::Helper {
            arch,
            allow,
            port,
            jobs,
            format,
        } => run_helper(&session, arch, &allow, port, jobs, format),
        Command::Wizard { no_probe, timeout } => run_wizard(&session, no_probe, timeout),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "alarm-distcc", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}

/// One run's view of the world: options, environment, and the config as read once.
pub struct Session {
    pub opts: GlobalOpts,
    pub env: Env,
    pub main: PathBuf,
    color: bool,
}

/// The file an edit goes to, as read, and the layers makepkg reads around it.
pub struct Target {
    pub loaded: Loaded,
    pub doc: Document,
    /// Every layer with its document, the target included.
    pub layers: Vec<(PathBuf, Document)>,
}

const DROP_IN_HEADER: &str = "# distcc settings for makepkg, written by alarm-distcc.\n\
# makepkg reads this file after the main makepkg.conf, so these values win.\n";

impl Session {
    pub fn new(opts: GlobalOpts, env: Env) -> Session {
        let main = env.main_path(opts.config.as_deref());
        let color = match opts.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Session {
            opts,
            env,
            main,
            color,
        }
    }

    pub fn layers(&self) -> Result<Vec<(PathBuf, Document)>> {
        let mut docs = Vec::new();
        for layer in layers::layers(&self.main, &self.env) {
            match read_config(&layer.path) {
                Ok(bytes) => docs.push((layer.path.clone(), parse_config(&layer.path, bytes)?)),
                Err(e)
                    if layer.role == Role::Main || e.kind() == std::io::ErrorKind::FileTooLarge =>
                {
                    return Err(main_read_error(&layer.path, e));
                }
                Err(_) => {} // a drop-in or user file that vanished or cannot be read
            }
        }
        Ok(docs)
    }

    /// Reads the file to edit (main, or the drop-in with --drop-in) and every layer.
    pub fn target(&self) -> Result<Target> {
        let mut layers = self.layers()?;
        let path = if self.opts.drop_in {
            layers::distcc_drop_in(&self.main)
        } else {
            self.main.clone()
        };
        // The target is one of the layers already read (or a drop-in still to be created).
        let original = match layers.iter().find(|(p, _)| p == &path) {
            Some((_, doc)) => Some(doc.as_bytes().to_vec()),
            None => match read_config(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(main_read_error(&path, e)),
            },
        };
        let loaded = Loaded::new(&path, original);
        let doc = match &loaded.original {
            Some(bytes) => parse_config(&path, bytes.clone())?,
            None if self.opts.drop_in => Document::parse(DROP_IN_HEADER),
            None => return Err(main_read_error(&path, std::io::ErrorKind::NotFound.into())),
        };
        if !layers.iter().any(|(p, _)| p == &path) {
            // A new drop-in sorts among the others by name.
            layers.push((path.clone(), doc.clone()));
            let main = layers.remove(0);
            layers.sort_by(|a, b| a.0.cmp(&b.0));
            layers.insert(0, main);
        }
        Ok(Target {
            loaded,
            doc,
            layers,
        })
    }

    pub fn refusal(&self, path: &Path, r: Refusal) -> anyhow::Error {
        if r.line == 0 {
            bad_input(format!("{}: {}", path.display(), r.message))
        } else {
            bad_input(format!("{}:{}: {}", path.display(), r.line, r.message))
        }
    }

    pub fn edit_hosts(&self, change: &HostChange) -> Result<()> {
        let target = self.target()?;
        let inherited = self.inherited(&target);
        let plan = plan::plan_hosts(&target.doc, change, &inherited)
            .map_err(|r| self.refusal(&target.loaded.path, r))?;
        self.apply(&target, plan)
    }

    pub fn edit_enabled(&self, enabled: bool) -> Result<()> {
        let target = self.target()?;
        let plan = plan::plan_enable(&target.doc, enabled)
            .map_err(|r| self.refusal(&target.loaded.path, r))?;
        self.apply(&target, plan)
    }

    /// What makepkg has from the layers before the target (a new drop-in starts from it).
    pub fn inherited(&self, target: &Target) -> plan::Inherited {
        let Some(pos) = target
            .layers
            .iter()
            .position(|(p, _)| p == &target.loaded.path)
        else {
            return plan::Inherited::default();
        };
        let before = layers::effective(&target.layers[..pos]);
        plan::Inherited {
            hosts: layers::hosts_of(&before.hosts),
            makeflags: match before.makeflags {
                Value::Known(m) => Some(m.value.text),
                _ => None,
            },
        }
    }

    /// Shows the diff, asks, writes. Shared by every editing command and the wizard.
    pub fn apply(&self, target: &Target, plan: Plan) -> Result<()> {
        let path = &target.loaded.path;
        for note in &plan.notes {
            eprintln!("note: {note}");
        }
        let old = target.loaded.original.clone().unwrap_or_default();
        let new = plan.doc.as_bytes();
        if target.loaded.original.is_some() && old == new {
            eprintln!("nothing to change in {}", path.display());
            return Ok(());
        }
        let old_label = if target.loaded.original.is_some() {
            path.display().to_string()
        } else {
            "/dev/null".into()
        };
        let diff = write::unified_diff(&old, new, &old_label, &path.display().to_string());
        print!(
            "{}",
            if self.color {
                write::colorize(&diff)
            } else {
                diff
            }
        );

        let mut layers_after = target.layers.clone();
        if let Some(slot) = layers_after.iter_mut().find(|(p, _)| p == path) {
            slot.1 = plan.doc.clone();
        }
        for o in layers::overrides(&layers_after, path) {
            eprintln!(
                "warning: {o}, which makepkg reads later and which overrides this change; edit \
                 that file, or use --drop-in"
            );
        }
        if self.opts.dry_run {
            eprintln!("dry run: {} not written", path.display());
            return Ok(());
        }
        if !self.opts.yes {
            self.confirm(path)?;
        }
        write::write_atomic(&target.loaded, new).map_err(|e| self.write_error(e))?;
        eprintln!(
            "{} {}",
            if target.loaded.original.is_some() {
                "wrote"
            } else {
                "created"
            },
            path.display()
        );
        Ok(())
    }

    fn confirm(&self, path: &Path) -> Result<()> {
        if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
            return Err(anyhow!(
                "not written: no terminal to confirm on; pass --yes to write {} (or --dry-run to \
                 only look)",
                path.display()
            ));
        }
        let answer = dialoguer::Confirm::new()
            .with_prompt(format!("Write {}?", path.display()))
            .default(false)
            .interact_opt()
            .map_err(crate::error::prompt_error)?;
        match answer {
            Some(true) => Ok(()),
            _ => Err(Cancelled(format!("not written: {} is unchanged", path.display())).into()),
        }
    }

    fn write_error(&self, e: WriteError) -> anyhow::Error {
        match e {
            WriteError::PermissionDenied(p) => anyhow!(
                "permission denied writing {}; nothing was changed. Run it as root:\n  sudo {}",
                p.display(),
                shell_command_line()
            ),
            other => anyhow::Error::new(other),
        }
    }

    pub fn show(&self, json: bool) -> Result<()> {
        let docs = self.layers()?;
        let eff = layers::effective(&docs);
        if json {
            println!("{}", serde_json::to_string_pretty(&show_json(&docs, &eff))?);
        } else {
            print!("{}", show_text(&docs, &eff));
        }
        Ok(())
    }
}

/// A makepkg.conf is a few KiB; anything this big is not one, and is refused before reading.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

fn read_config(path: &Path) -> std::io::Result<Vec<u8>> {
    let size = std::fs::metadata(path)?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("{size} bytes"),
        ));
    }
    std::fs::read(path)
}

fn parse_config(path: &Path, bytes: Vec<u8>) -> Result<Document> {
    let doc = Document::parse(bytes);
    if let Some(line) = doc.too_deep_at() {
        return Err(bad_input(format!(
            "{}:{line}: shell nesting deeper than {} levels; this is not a makepkg.conf the tool \
             can read safely",
            path.display(),
            crate::document::MAX_NESTING
        )));
    }
    Ok(doc)
}

fn main_read_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::NotFound => bad_input(format!(
            "{} not found; give the file with --config PATH (or set MAKEPKG_CONF)",
            path.display()
        )),
        std::io::ErrorKind::FileTooLarge => bad_input(format!(
            "{} is {e}, over the {} MiB a makepkg.conf could sensibly be; refusing to read it",
            path.display(),
            MAX_CONFIG_BYTES >> 20
        )),
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "permission denied reading {}; run it as root:\n  sudo {}",
            path.display(),
            shell_command_line()
        ),
        _ => anyhow::Error::new(e).context(format!("reading {}", path.display())),
    }
}

/// This invocation as a shell command line, for "run it with sudo" advice.
fn shell_command_line() -> String {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            let a = if i == 0 {
                "alarm-distcc".to_string()
            } else {
                a
            };
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+%[]".contains(&b))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn origin<T>(v: &Value<T>) -> Option<(String, usize)> {
    match v {
        Value::Known(s) => Some((s.path.display().to_string(), s.line)),
        Value::Unknown { path, line, .. } => Some((path.display().to_string(), *line)),
        Value::Unset => None,
    }
}

fn at<T>(v: &Value<T>) -> String {
    origin(v).map_or(String::new(), |(p, l)| format!("  ({p}:{l})"))
}

fn jobs_of(eff: &Effective) -> Option<JobCount> {
    match &eff.makeflags {
        Value::Known(m) => m.value.jobs.clone(),
        _ => None,
    }
}

pub fn show_text(docs: &[(PathBuf, Document)], eff: &Effective) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "makepkg reads, in order:");
    for (p, _) in docs {
        let _ = writeln!(out, "  {}", p.display());
    }
    let distcc = match &eff.distcc {
        Value::Known(s) if s.value => "on".to_string(),
        Value::Known(_) => "off".to_string(),
        Value::Unknown { text, .. } => format!("decided by shell code: {text}"),
        Value::Unset => "off (BUILDENV has no distcc entry)".to_string(),
    };
    let _ = writeln!(out, "distcc:       {distcc}{}", at(&eff.distcc));
    let list = layers::hosts_of(&eff.hosts);
    match &eff.hosts {
        Value::Known(s) => {
            let _ = writeln!(out, "DISTCC_HOSTS: \"{}\"{}", s.value, at(&eff.hosts));
        }
        Value::Unknown { text, .. } => {
            let _ = writeln!(out, "DISTCC_HOSTS: computed: {text}{}", at(&eff.hosts));
        }
        Value::Unset => {
            let _ = writeln!(
                out,
                "DISTCC_HOSTS: not set (distcc falls back to ~/.distcc/hosts, /etc/distcc/hosts)"
            );
        }
    }
    let total = list.as_ref().map_or(0, HostList::total_slots);
    if let Some(list) = list.as_ref().filter(|l| !l.tokens.is_empty()) {
        let _ = writeln!(
            out,
            "  {:<28} {:>5} {:>5}  {:<10} KIND",
            "HOST", "PORT", "SLOTS", "OPTIONS"
        );
        for t in &list.tokens {
            match &t.spec {
                Ok(spec) => {
                    let opts: Vec<String> =
                        spec.options().iter().map(ToString::to_string).collect();
                    let _ = writeln!(
                        out,
                        "  {:<28} {:>5} {:>5}  {:<10} {}",
                        spec.host().unwrap_or(&t.raw),
                        spec.port().map_or("-".into(), |p| p.to_string()),
                        if spec.slots() == 0 {
                            "-".into()
                        } else {
                            spec.slots().to_string()
                        },
                        opts.join(","),
                        spec.kind()
                    );
                }
                Err(e) => {
                    let _ = writeln!(out, "  {:<28} INVALID: {}", t.raw, e.reason);
                }
            }
        }
        let _ = writeln!(out, "  total slots: {total}");
    }
    match &eff.makeflags {
        Value::Known(m) => {
            let _ = writeln!(
                out,
                "MAKEFLAGS:    \"{}\"{}",
                m.value.text,
                at(&eff.makeflags)
            );
        }
        Value::Unknown { text, .. } => {
            let _ = writeln!(
                out,
                "MAKEFLAGS:    set by shell code: {text}{}",
                at(&eff.makeflags)
            );
        }
        Value::Unset => {
            let _ = writeln!(out, "MAKEFLAGS:    not set");
        }
    }
    let _ = writeln!(out, "  {}", jobs_verdict(jobs_of(eff), total));
    out
}

fn jobs_verdict(jobs: Option<JobCount>, total: u32) -> String {
    match jobs {
        Some(JobCount::Fixed(n)) if n == total => format!("-j{n} matches the {total} slots"),
        Some(JobCount::Fixed(n)) => format!(
            "MISMATCH: -j{n} but the hosts have {total} slots; `alarm-distcc sort` sets -j{total}"
        ),
        Some(JobCount::Computed(e)) => format!(
            "MISMATCH: -j{e} is computed when makepkg runs, not the {total} slots; \
             `alarm-distcc sort` sets -j{total}"
        ),
        Some(JobCount::Unlimited) => {
            format!("MISMATCH: -j without a limit; `alarm-distcc sort` sets -j{total}")
        }
        None if total > 0 => {
            format!("MISMATCH: no -j, so make runs one job; `alarm-distcc sort` sets -j{total}")
        }
        None => "no -j".into(),
    }
}

pub fn show_json(docs: &[(PathBuf, Document)], eff: &Effective) -> serde_json::Value {
    use serde_json::json;
    let src = |v: Option<(String, usize)>| match v {
        Some((file, line)) => json!({"file": file, "line": line}),
        None => serde_json::Value::Null,
    };
    let list = layers::hosts_of(&eff.hosts);
    let total = list.as_ref().map_or(0, HostList::total_slots);
    let entries: Vec<serde_json::Value> = list
        .iter()
        .flat_map(|l| l.tokens.iter())
        .map(|t| match &t.spec {
            Ok(s) => json!({
                "spec": t.raw, "valid": true, "kind": s.kind().to_string(),
                "host": s.host(), "port": s.port(), "slots": s.slots(),
                "options": s.options().iter().map(ToString::to_string).collect::<Vec<_>>(),
            }),
            Err(e) => json!({"spec": t.raw, "valid": false, "error": e.reason}),
        })
        .collect();
    let jobs = jobs_of(eff);
    json!({
        "files": docs.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
        "distcc": {
            "enabled": matches!(&eff.distcc, Value::Known(s) if s.value),
            "known": !matches!(eff.distcc, Value::Unknown { .. }),
            "source": src(origin(&eff.distcc)),
        },
        "hosts": {
            "value": match &eff.hosts { Value::Known(s) => json!(s.value), _ => serde_json::Value::Null },
            "set": !matches!(eff.hosts, Value::Unset),
            "source": src(origin(&eff.hosts)),
            "entries": entries,
            "total_slots": total,
        },
        "makeflags": {
            "value": match &eff.makeflags { Value::Known(m) => json!(m.value.text), _ => serde_json::Value::Null },
            "jobs": match &jobs { Some(JobCount::Fixed(n)) => json!(n), _ => serde_json::Value::Null },
            "jobs_computed": match &jobs { Some(JobCount::Computed(e)) => json!(e), _ => serde_json::Value::Null },
            "matches_slots": matches!(jobs, Some(JobCount::Fixed(n)) if n == total),
            "source": src(origin(&eff.makeflags)),
        },
    })
}

fn run_helper(
    session: &Session,
    arch: Option<helper::HelperArch>,
    allow: &[String],
    port: Option<u16>,
    jobs: Option<u32>,
    format: helper::HelperFormat,
) -> Result<()> {
    let docs = session.layers().unwrap_or_default();
    let arch = match arch {
        Some(a) => a,
        None => {
            let carch = check::layered_scalar(&docs, "CARCH")
                .unwrap_or_else(|| std::env::consts::ARCH.to_string());
            helper::HelperArch::from_carch(&carch).ok_or_else(|| {
                bad_input(format!(
                    "CARCH is `{carch}`, which distccd-alarm does not serve; give --arch armv8|armv7h"
                ))
            })?
        }
    };
    let allow = if allow.is_empty() {
        let own = helper::own_lan_addresses();
        if own.is_empty() {
            return Err(bad_input(
                "could not find this machine's LAN address; give --allow ADDRESS (this Pi's IP)",
            ));
        }
        own
    } else {
        allow.to_vec()
    };
    let setup = helper::HelperSetup {
        arch,
        allow: allow
            .iter()
            .map(|a| helper::parse_allow(a))
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
            helper::HelperFormat::Script => setup.script(),
            helper::HelperFormat::Conf => setup.conf(),
        }
    );
    Ok(())
}

fn run_wizard(session: &Session, no_probe: bool, timeout: f64) -> Result<()> {
    use crate::wizard::{Facts, TerminalPrompter, gather};
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(bad_input(
            "the wizard needs a terminal; in scripts use add-host, remove-host, set-local and enable",
        ));
    }
    let target = session.target()?;
    let inherited = session.inherited(&target);
    let (own, line) = crate::edit::current_hosts(&target.doc)
        .map_err(|r| session.refusal(&target.loaded.path, r))?;
    let hosts = match (line, &inherited.hosts) {
        (None, Some(inh)) => inh.clone(),
        _ => own,
    };
    let eff = layers::effective(&target.layers);
    let (carch, carch_from) =
        match check::layered_scalar(&target.layers, "CARCH").filter(|c| !c.contains('@')) {
            Some(c) => (c, "CARCH in the config"),
            None => (std::env::consts::ARCH.to_string(), "this machine, uname -m"),
        };
    let facts = Facts {
        config: target.loaded.path.clone(),
        layers: target.layers.iter().map(|(p, _)| p.clone()).collect(),
        carch: carch.clone(),
        carch_from,
        distcc_on: matches!(&eff.distcc, Value::Known(s) if s.value),
        hosts,
        cpus: std::thread::available_parallelism().map_or(2, |n| n.get() as u32),
    };
    let expected = crate::probe::arch_for_carch(&carch);
    let compilers = check::default_compilers(&target.layers);
    let timeout = std::time::Duration::from_secs_f64(timeout.clamp(0.1, 60.0));
    let checker = |spec: &HostSpec| -> (bool, String) {
        let Some(expected) = expected else {
            return (
                true,
                format!("{spec}: no known architecture to check against"),
            );
        };
        let targets = check::targets_of(&HostList {
            tokens: vec![crate::hosts::HostToken::new(spec.clone())],
        });
        let reports =
            crate::probe::probe_all(&targets, &compilers, crate::probe::PROBE_SOURCE, timeout);
        let report = &reports[0];
        match report.verdict(expected) {
            crate::probe::Verdict::Failed => {
                let why = check::advice(report, expected, &carch).join("; ");
                (false, format!("{spec}: not usable yet: {why}"))
            }
            _ => (true, format!("{spec}: reachable, compiles for {carch}")),
        }
    };
    let mut prompter = TerminalPrompter::default();
    let list = gather(
        &mut prompter,
        &facts,
        if no_probe { None } else { Some(&checker) },
    )?;
    let plan = plan::plan_hosts(&target.doc, &HostChange::Replace(list), &inherited)
        .map_err(|r| session.refusal(&target.loaded.path, r))?;
    session.apply(&target, plan)?;
    match helper::HelperArch::from_carch(&carch) {
        Some(arch) => {
            let own = helper::own_lan_addresses();
            let allow = own
                .first()
                .map_or("<this Pi's address>".to_string(), Clone::clone);
            eprintln!(
                "\nNext, on each helper: run the script that this prints (make it here, copy it over):\n  \
                 alarm-distcc helper --arch {} --allow {allow} > distccd-{}.sh",
                arch.name(),
                arch.name()
            );
        }
        None => eprintln!(
            "\nNext, on each helper: start distccd with --allow <this machine's address> and the port \
             you entered, with a compiler for {carch} first on its PATH"
        ),
    }
    Ok(())
}
