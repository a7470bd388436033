//! `alarm-distcc discover`: finds distccd helpers on this machine's networks, checks each
//! with a real compile, and can add the usable ones.

use crate::conf::plan::{self, HostChange};
use crate::distcc::elf::Arch;
use crate::distcc::hosts::{DEFAULT_TCP_SLOTS, HostList, HostSpec, HostToken};
use crate::distcc::scan::{Found, FoundVerdict};
use crate::session::{Focus, Session};
use crate::ui::{Tone, paint, status};
use anyhow::Result;

/// `discover`'s options, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct DiscoverOptions {
    /// Network to scan, ADDRESS/BITS: the same as --subnet
    #[arg(value_name = "CIDR")]
    pub networks: Vec<String>,
    #[command(flatten)]
    pub search: super::SearchArgs,
    /// Seconds the connects may take in all [default: 1]
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    /// Add the usable helpers not listed yet (4 slots each), as add-host would
    #[arg(long)]
    pub add: bool,
}

fn tone(v: FoundVerdict) -> Tone {
    match v {
        FoundVerdict::Usable => Tone::Good,
        FoundVerdict::Silent | FoundVerdict::Gone => Tone::Dim,
        _ => Tone::Bad,
    }
}

pub fn table(
    found: &[Found],
    expected: Arch,
    carch: &str,
    color: bool,
    width: Option<usize>,
) -> String {
    let header = ["HELPER", "NAME", "LISTED", "VERDICT"];
    let rows: Vec<[String; 4]> = found
        .iter()
        .map(|f| {
            [
                f.host_port(),
                f.name.clone().unwrap_or_else(|| "-".into()),
                if f.listed { "yes" } else { "no" }.to_string(),
                paint(color, tone(f.verdict), &f.verdict_text(expected, carch)),
            ]
        })
        .collect();
    let widths = crate::ui::column_widths(header, &rows);
    // On a narrow console (a Pi's 80 columns) a verdict continues under its own column.
    let verdict_at = widths[..3].iter().map(|w| w + 1).sum();
    let lines = crate::ui::table_lines(header, [false; 4], &rows);
    crate::ui::fit_table_rows(&lines.join("\n"), width, verdict_at) + "\n"
}

pub fn json(found: &[Found], expected: Arch, carch: &str) -> serde_json::Value {
    serde_json::json!({
        "helpers": found.iter().map(|f| serde_json::json!({
            "host": f.addr.ip().to_string(),
            "port": f.addr.port(),
            "name": f.name,
            "usable": f.verdict == FoundVerdict::Usable,
            "verdict": f.verdict.name(),
            "detail": f.verdict.describe(expected),
            "likely_cause": crate::distcc::alarm::port_mismatch(f.addr.port(), carch),
            "causes": f.causes,
            "listed": f.listed,
        })).collect::<Vec<_>>(),
    })
}

pub fn run(session: &Session, opts: &DiscoverOptions) -> Result<()> {
    // With --add the file to edit is read and its host list checked first, so a file the
    // tool will not edit is refused before any traffic.
    let target = if opts.add {
        let target = session.checked_target(Focus::Hosts)?;
        plan::starting_hosts(&target.doc, &session.inherited(&target))
            .map_err(|r| session.plan_refused(&target, r))?;
        Some(target)
    } else {
        None
    };
    let docs = match &target {
        Some(t) => t.layers.clone(),
        None => session.layers()?,
    };
    let mut search = opts.search.options(opts.timeout.unwrap_or(1.0));
    search.subnets.extend(opts.networks.iter().cloned());
    let (found, expected) = session.search_helpers(&docs, &search)?;
    let carch = crate::conf::layers::carch(&docs).unwrap_or_default();
    if opts.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json(&found, expected, &carch))?
        );
    } else if found.is_empty() {
        status!("no distccd answered");
    } else {
        let width = crate::ui::terminal_width(&console::Term::stdout());
        print!(
            "{}",
            table(&found, expected, &carch, session.opts.color, width)
        );
        let unusable: Vec<String> = found
            .iter()
            .filter(|f| f.verdict != FoundVerdict::Usable)
            .map(Found::host_port)
            .collect();
        if !unusable.is_empty() {
            status!(
                "why and how to fix: {}",
                crate::ui::command(&format!("probe {}", unusable.join(" ")))
            );
        }
        if found.iter().any(|f| f.addr.ip().is_loopback()) {
            // As add-host, doctor and the wizard say it.
            status!(
                "note: 127.0.0.0/8 is this machine: what answered there is its own distccd, not \
                 a helper ({})",
                super::LOOPBACK_USE
            );
        }
    }
    let Some(target) = target else {
        return Ok(());
    };
    let new: Vec<HostSpec> = found
        .iter()
        .filter(|f| f.verdict == FoundVerdict::Usable && !f.listed)
        .map(|f| HostSpec::Tcp {
            host: f.addr.ip().to_string(),
            port: Some(f.addr.port()),
            slots: Some(DEFAULT_TCP_SLOTS),
            options: Vec::new(),
        })
        .collect();
    if new.is_empty() {
        status!("no usable helper that is not listed yet: nothing to add");
        return Ok(());
    }
    status!(
        "adding {} ({DEFAULT_TCP_SLOTS} slots{}: give a helper its own count with add-host \
         HOST:PORT/SLOTS)",
        HostList {
            tokens: new.iter().cloned().map(HostToken::new).collect()
        }
        .render(),
        if new.len() > 1 { " each" } else { "" }
    );
    session.apply_hosts(&target, &HostChange::Add(new))
}
