//! Command-line definitions (clap derive). Kept free of behaviour.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "alarm-distcc",
    version,
    about = "Set up distcc helpers for makepkg on Arch Linux ARM, safely",
    long_about = "Edits makepkg.conf losslessly to use distcc helpers: turns distcc on in \
                  BUILDENV, keeps DISTCC_HOSTS fastest first and MAKEFLAGS -j equal to the \
                  total slots. Every change is shown as a diff and written only after a yes \
                  (or --yes), atomically."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// A hint for a command line clap refused inside `build`: makepkg's `-c` (--clean) is
/// alarm-distcc's `--config` there, and makepkg's flags must follow `--`.
pub fn build_hint(err: &clap::Error, args: &[String]) -> Option<&'static str> {
    use clap::error::ErrorKind;
    let output_only = matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    (!output_only && args.iter().skip(1).any(|a| a == "build")).then_some(
        "hint: makepkg's own flags go after `--`, e.g. `alarm-distcc build -- -c` for makepkg's \
         --clean (before `--`, -c is alarm-distcc's --config)",
    )
}

#[derive(Debug, Clone, clap::Args)]
pub struct GlobalOpts {
    /// makepkg.conf to edit [default: $MAKEPKG_CONF, else /etc/makepkg.conf]
    #[arg(short = 'c', long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Colour the diff, the levels and the verdicts
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// How an edit is written. Taken before the command or after it, and shown only with the
/// commands that write (not global, so `show --help` does not list them).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WriteArgs {
    /// Show the diff and what the bash check found, write nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Write without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Write the settings to <config>.d/distcc.conf instead of the main file
    #[arg(long)]
    pub drop_in: bool,
    /// Write without checking the edit with bash first (unsafe: makepkg may read something
    /// else than intended)
    #[arg(long)]
    pub no_verify: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the distcc setup as makepkg will see it
    Show {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Add helpers (HOST[:PORT][/SLOTS][,OPT...]); a listed host gets the new slots/options
    ///
    /// A spec that starts with `-` (such as --randomize) goes after `--`.
    #[command(name = "add-host")]
    AddHost {
        /// Helper as distcc writes it: HOST[:PORT][/SLOTS][,lzo] (a portless 127.x/N or
        /// localhost/N is this machine's slots)
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<String>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Remove helpers by HOST or HOST:PORT (a spec as show prints it works too)
    ///
    /// A host that is not listed (a typo, most likely) is an error that names the listed
    /// ones, and nothing is removed.
    #[command(name = "remove-host")]
    RemoveHost {
        /// Helper to remove: HOST, HOST:PORT or a whole spec (slots and options are ignored)
        #[arg(required = true, value_name = "HOST[:PORT]")]
        hosts: Vec<String>,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Set this machine's slots (localhost/N); 0 removes the local entry
    #[command(name = "set-local")]
    SetLocal {
        /// Slots for this machine, 0 to 1024
        #[arg(value_name = "N", allow_negative_numbers = true, value_parser = parse_slots)]
        slots: u32,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Turn distcc on in BUILDENV (the host list is kept)
    Enable {
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Turn distcc off in BUILDENV (the host list is kept)
    Disable {
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Reorder DISTCC_HOSTS fastest first and set -j to the total slots
    Sort {
        /// Time real compiles on each helper and on this machine, and order by that
        #[arg(long, conflicts_with = "from_builds")]
        measure: bool,
        /// Order by each helper's throughput in the recorded builds (units per second per
        /// slot, from `alarm-distcc build`'s receipts)
        #[arg(long)]
        from_builds: bool,
        #[command(flatten)]
        measuring: crate::commands::measure::MeasureOptions,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Send each helper what this machine sends (its compiler names, CFLAGS, a C++ job) and
    /// compare its objects with those of this machine's own compiler
    Probe(crate::commands::probe::ProbeOptions),
    /// Report everything that stops distcc from helping, with fixes
    Doctor(crate::commands::doctor::DoctorOptions),
    /// Find distccd helpers on this machine's networks and check each with a real compile
    ///
    /// Scans this machine's own IPv4 networks (from the kernel's routing table, each capped
    /// at a /22), or the networks given (CIDR or --subnet), on distcc's port and distccd-alarm's. Only
    /// private networks unless --public.
    Discover {
        #[command(flatten)]
        opts: crate::commands::discover::DiscoverOptions,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Set up distcc step by step in a terminal
    Wizard {
        #[command(flatten)]
        opts: crate::commands::wizard::WizardOptions,
        #[command(flatten)]
        write: WriteArgs,
    },
    /// Run makepkg with a live distcc view, and keep a receipt of what the build did
    ///
    /// Runs the real makepkg (as your user, never root) with the config makepkg reads; the
    /// arguments go to makepkg (put them after `--` when one is also alarm-distcc's, such as
    /// `-c`). Every build system gets the config's -j from one job pool (a make jobserver
    /// that make 4.4 and ninja 1.13 join; -j for older ones; ALARM_DISTCC_NO_POOL=1 turns it
    /// off). distcc logs to a private file for the run and keeps its state in a private
    /// DISTCC_DIR. The receipt goes to $XDG_STATE_HOME/alarm-distcc/builds.jsonl.
    Build(crate::commands::build::BuildOptions),
    /// List the kept build receipts (newest last)
    Builds {
        /// Machine-readable output (one receipt per line with --last: the last one)
        #[arg(long)]
        json: bool,
        /// Only the last receipt, in full
        #[arg(long)]
        last: bool,
    },
    /// Check every listed helper against this machine's compiler, printing only what no
    /// longer matches (the pacman hook runs this after gcc, binutils, glibc or distcc change)
    #[command(name = "toolchain-check")]
    ToolchainCheck {
        /// Seconds each helper may take
        #[arg(long, default_value_t = 5.0)]
        timeout: f64,
    },
    /// Print what to run on a helper machine (x86_64 Arch or Debian/Ubuntu, or WSL) to serve this Pi
    Helper(crate::commands::helper::HelperOptions),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
}

/// Slots as distcc takes them: a whole number from 0 to 1024 (0 removes the entry).
fn parse_slots(text: &str) -> Result<u32, String> {
    match text.parse::<i64>() {
        Ok(n) if (0..=i64::from(crate::distcc::hosts::MAX_SLOTS)).contains(&n) => Ok(n as u32),
        _ => Err(format!(
            "slots must be a whole number from 0 to {} (0 removes the local entry)",
            crate::distcc::hosts::MAX_SLOTS
        )),
    }
}
