//! The helper search as the wizard and `discover` run it.

use super::{SearchOptions, Session};
use crate::conf::document::Document;
use crate::conf::layers;
use crate::distcc::elf::Arch;
use crate::distcc::scan::{self, DEFAULT_PORTS, Found, Search};
use crate::error::bad_input;
use crate::ui::{status, timeout_of};
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

impl Session {
    /// The search as the wizard and `discover` run it: subnets chosen and announced, a progress
    /// bar on a terminal, the probes, the verdicts.
    pub fn search_helpers(
        &self,
        docs: &[(PathBuf, Document)],
        opts: &SearchOptions,
    ) -> Result<(Vec<Found>, Arch)> {
        let (subnets, notes) =
            scan::choose_subnets(&opts.subnets, opts.public).map_err(bad_input)?;
        for note in notes {
            status!("note: {}", crate::ui::escape(&note));
        }
        let ports = if opts.ports.is_empty() {
            DEFAULT_PORTS.to_vec()
        } else {
            opts.ports.clone()
        };
        if ports.contains(&0) {
            return Err(bad_input("--port 0 is not a port"));
        }
        let timeout = timeout_of(opts.timeout)?;
        let (checker, _) = self.checker(docs, None, None)?;
        let expected = checker.expected;
        let listed = layers::hosts_of(&layers::effective(docs).hosts).unwrap_or_default();
        let addresses: u64 = subnets.iter().map(|n| n.host_count()).sum();
        status!(
            "searching {} ({addresses} address(es)) on port(s) {}",
            subnets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            ports
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(addresses * ports.len() as u64);
            bar.set_message("connecting");
            bar
        });
        let found = scan::search(
            &Search {
                subnets: &subnets,
                ports: &ports,
                timeout,
                checker: &checker,
                listed: &listed,
            },
            &|done, _| {
                if let Some(bar) = &bar {
                    bar.set_position(done as u64);
                    bar.set_message("checking what answered");
                }
            },
        );
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok((found, expected))
    }
}
