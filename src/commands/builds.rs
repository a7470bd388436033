//! `alarm-distcc builds` lists the kept receipts; `sort --from-builds` orders the helpers by
//! their real throughput in those builds, with the same diff and confirm as `sort`.

use crate::conf::plan::{self, HostChange};
use crate::distcc::hosts::Kind;
use crate::receipts::receipt::{Receipt, secs};
use crate::receipts::store;
use crate::session::{Focus, Session};
use crate::ui::{escape, status};
use anyhow::{Result, anyhow};
use std::collections::HashMap;

fn receipts() -> Result<Vec<Receipt>> {
    let path = store::path().ok_or_else(|| anyhow!("no state folder: HOME is not set"))?;
    let (receipts, bad) = store::read(&path)?;
    if bad > 0 {
        status!(
            "note: {bad} line(s) of {} could not be read (another format, or a torn write)",
            path.display()
        );
    }
    Ok(receipts)
}

pub fn list(json: bool, last: bool) -> Result<()> {
    let receipts = receipts()?;
    if receipts.is_empty() {
        if json {
            return Ok(());
        }
        println!(
            "{}",
            crate::ui::runnable("no builds recorded yet: `alarm-distcc build` records one")
        );
        return Ok(());
    }
    let shown: &[Receipt] = if last {
        &receipts[receipts.len() - 1..]
    } else {
        &receipts
    };
    if json {
        for r in shown {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    if last {
        let text = escape_keep_lines(&shown[0].render());
        print!(
            "{}",
            crate::ui::fit_report(&text, &console::Term::stdout(), 2)
        );
        return Ok(());
    }
    let rows: Vec<[String; 7]> = shown
        .iter()
        .map(|r| {
            let name = format!(
                "{} {}",
                r.package.as_deref().unwrap_or("?"),
                r.version.as_deref().unwrap_or("")
            );
            let distcc = match (r.distcc, r.baseline) {
                (_, true) => "baseline",
                (true, _) => "on",
                (false, _) => "off",
            };
            let result = match r.exit_code {
                0 => "built".to_string(),
                c if r.interrupted => format!("interrupted {c}"),
                c => format!("failed {c}"),
            };
            let speed = r
                .speedup
                .as_ref()
                .map_or("-".into(), |s| format!("{:.2}x", s.wall));
            [
                escape(&r.started),
                escape(name.trim_end()),
                result,
                secs(r.wall_seconds),
                distcc.to_string(),
                format!("{}/{}", r.units_on_helpers, r.units),
                speed,
            ]
        })
        .collect();
    print!("{}", fitted_table(&rows));
    Ok(())
}

/// The receipts' table, each column as wide as its widest cell: a fixed layout was 107
/// columns and wrapped on an 80- or 100-column Pi console. Numbers are right-aligned.
fn fitted_table(rows: &[[String; 7]]) -> String {
    let header = [
        "STARTED",
        "PACKAGE",
        "RESULT",
        "WALL",
        "DISTCC",
        "UNITS OUT",
        "SPEED-UP",
    ];
    let right = [false, false, false, true, false, true, true];
    crate::ui::table_lines(header, right, rows)
        .into_iter()
        .map(|l| l + "\n")
        .collect()
}

fn escape_keep_lines(text: &str) -> String {
    text.lines().map(|l| escape(l) + "\n").collect()
}

/// Units per second per slot for each helper over the recorded distcc builds: each unit
/// holds one slot for its compile time as the client saw it.
pub fn throughput(receipts: &[Receipt]) -> HashMap<String, (u32, f64)> {
    let mut by_host: HashMap<String, (u32, f64)> = HashMap::new();
    for r in receipts.iter().filter(|r| r.distcc && r.exit_code == 0) {
        for h in r.hosts.iter().filter(|h| !h.is_pi()) {
            let e = by_host.entry(h.host.clone()).or_default();
            e.0 += h.units;
            e.1 += h.compile_seconds;
        }
    }
    by_host
}

pub fn sort_from_builds(session: &Session) -> Result<()> {
    let receipts = receipts()?;
    let rates = throughput(&receipts);
    let target = session.checked_target(Focus::Hosts)?;
    let inherited = session.inherited(&target);
    let (list, _) = plan::starting_hosts(&target.doc, &inherited)
        .map_err(|r| session.plan_refused(&target, r))?;
    let mut scores = HashMap::new();
    println!(
        "{:<32} {:>7} {:>10} {:>16}",
        "HOST", "UNITS", "COMPILE", "UNITS/S PER SLOT"
    );
    for spec in list.specs().filter(|s| s.kind() == Kind::Tcp) {
        let key = spec.host_port().unwrap_or_default();
        match rates.get(&key) {
            Some((units, seconds)) if *units > 0 && *seconds > 0.0 => {
                let rate = f64::from(*units) / seconds;
                scores.insert(spec.key(), rate);
                println!(
                    "{:<32} {:>7} {:>10} {:>16.2}",
                    escape(&spec.to_string()),
                    units,
                    secs(*seconds),
                    rate
                );
            }
            _ => println!(
                "{:<32} {:>7} {:>10} {:>16}",
                escape(&spec.to_string()),
                0,
                "-",
                "no record"
            ),
        }
    }
    if scores.is_empty() {
        return Err(anyhow!(
            "no recorded build compiled on these helpers: run `alarm-distcc build` first \
             (or `alarm-distcc sort --measure` to time them now)"
        ));
    }
    let plan = plan::plan_hosts(&target.doc, &HostChange::SortMeasured(scores), &inherited)
        .map_err(|r| session.plan_refused(&target, r))?;
    session.apply(&target, plan)
}

#[cfg(test)]
mod tests {
    use super::fitted_table;

    fn row(started: &str, package: &str, wall: &str, units: &str) -> [String; 7] {
        [started, package, "built", wall, "on", units, "1.62x"].map(String::from)
    }

    #[test]
    fn columns_fit_their_widest_cell_and_numbers_align_right() {
        let rows = [
            row("2026-12-04T08:42:13Z", "zlib 1.3-1", "1.8s", "4/4"),
            row(
                "2026-12-04T08:43:04Z",
                "pixman 0.46.4-1",
                "123.4s",
                "212/230",
            ),
        ];
        let table = fitted_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "STARTED              PACKAGE         RESULT   WALL DISTCC UNITS OUT SPEED-UP",
                "2026-12-04T08:42:13Z zlib 1.3-1      built    1.8s on           4/4    1.62x",
                "2026-12-04T08:43:04Z pixman 0.46.4-1 built  123.4s on       212/230    1.62x",
            ]
        );
        assert!(lines.iter().all(|l| l.len() <= 80));
    }

    #[test]
    fn wide_characters_are_measured_as_the_terminal_shows_them() {
        let rows = [row("2026-12-04T08:42:13Z", "日本 1-1", "1.8s", "4/4")];
        let table = fitted_table(&rows);
        let widths: Vec<usize> = table.lines().map(console::measure_text_width).collect();
        assert_eq!(widths[0], widths[1], "{table}");
    }
}
