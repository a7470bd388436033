//! Dispatch only: builds the session and hands each command to its module.

use crate::cli::{Cli, Command};
use crate::cli::{ColorChoice, GlobalOpts, WriteArgs};
use crate::commands::{
    build, builds, discover, doctor, edit, generate, helper, measure, probe, show, wizard,
};
use crate::conf::layers::Env;
use crate::session::{Options, Session};
use anyhow::Result;
use std::io::IsTerminal;

pub fn run(cli: Cli) -> Result<()> {
    let given = write_args(&cli.command);
    let session = Session::new(options(&cli.global, given), Env::from_process());
    // The commands a note suggests name the config the user gave.
    crate::ui::set_tool(session.tool());
    match cli.command {
        Command::Show { json } => show::run(&session, json),
        Command::AddHost { specs, .. } => edit::add_hosts(&session, &specs),
        Command::RemoveHost { hosts, .. } => edit::remove_hosts(&session, &hosts),
        Command::SetLocal { slots, .. } => edit::set_local(&session, slots),
        Command::Enable { .. } => edit::set_enabled(&session, true),
        Command::Disable { .. } => edit::set_enabled(&session, false),
        Command::Sort {
            measure: false,
            from_builds: true,
            ..
        } => builds::sort_from_builds(&session),
        Command::Sort { measure: false, .. } => edit::sort(&session),
        Command::Sort {
            measure: true,
            measuring,
            ..
        } => measure::run(&session, &measuring),
        Command::Probe(opts) => probe::run(&session, &opts),
        Command::Doctor(opts) => doctor::run(&session, &opts),
        Command::Helper(opts) => helper::run(&session, opts),
        Command::Build(opts) => build::run(&session, &opts),
        Command::Builds { json, last } => builds::list(json, last),
        Command::ToolchainCheck { timeout } => doctor::toolchain_check(&session, timeout),
        Command::Discover { opts, .. } => discover::run(&session, &opts),
        Command::Wizard { opts, .. } => wizard::run(&session, &opts),
        Command::Completions { shell } => generate::completions(shell),
        Command::Man => generate::man(),
    }
}

/// The write options given after a command that writes.
fn write_args(command: &Command) -> Option<&WriteArgs> {
    match command {
        Command::AddHost { write, .. }
        | Command::RemoveHost { write, .. }
        | Command::SetLocal { write, .. }
        | Command::Enable { write }
        | Command::Disable { write }
        | Command::Sort { write, .. }
        | Command::Discover { write, .. }
        | Command::Wizard { write, .. } => Some(write),
        _ => None,
    }
}

fn options(global: &GlobalOpts, after: Option<&WriteArgs>) -> Options {
    // Before the command or after it: either counts.
    let w = |f: fn(&WriteArgs) -> bool| f(&global.write) || after.is_some_and(f);
    Options {
        config: global.config.clone(),
        dry_run: w(|a| a.dry_run),
        yes: w(|a| a.yes),
        drop_in: w(|a| a.drop_in),
        no_verify: w(|a| a.no_verify),
        color: match global.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
    }
}
