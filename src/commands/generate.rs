//! `completions` and `man`: generated from the clap definitions. The man page is one page:
//! every command with its options, then exit status, files, environment and examples.

use crate::cli::Cli;
use anyhow::Result;
use clap::CommandFactory;
use clap_mangen::Man;
use roff::{Roff, bold, italic, roman};

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "alarm-distcc", &mut std::io::stdout());
    Ok(())
}

pub fn man() -> Result<()> {
    print!("{}", man_page());
    Ok(())
}

fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values())
}

/// An argument as the page shows it: `--flag VALUE`, `-c, --config PATH`, or `SPEC...`.
fn arg_label(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|v| v.join(" "))
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
    let takes_value = takes_value(arg);
    match (arg.get_short(), arg.get_long()) {
        (None, None) => {
            let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
            format!("{value}{}", if many { "..." } else { "" })
        }
        (short, Some(long)) => {
            let mut s = short.map_or(String::new(), |c| format!("-{c}, "));
            s.push_str(&format!("--{long}"));
            if takes_value {
                s.push_str(&format!(" {value}"));
            }
            s
        }
        (Some(c), None) => format!("-{c}"),
    }
}

fn options(roff: &mut Roff, cmd: &clap::Command) {
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_global_set())
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
    {
        let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) else {
            continue; // a positional without help is already in the usage line
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        roff.control("TP", ["4"]);
        roff.text([bold(arg_label(arg))]);
        let mut text = help.to_string();
        if !defaults.is_empty() && takes_value(arg) {
            text.push_str(&format!(" [default: {}]", defaults.join(" ")));
        }
        roff.text([roman(text)]);
    }
}

fn section(roff: &mut Roff, title: &str, paragraphs: &[&str]) {
    roff.control("SH", [title]);
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            roff.control("PP", []);
        }
        roff.text([roman(*p)]);
    }
}

fn items(roff: &mut Roff, title: &str, entries: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (term, text) in entries {
        roff.control("TP", []);
        roff.text([bold(*term)]);
        roff.text([roman(*text)]);
    }
}

pub fn man_page() -> String {
    let mut cmd = Cli::command();
    // Finalizes the arguments (value counts, names) as parsing would.
    cmd.build();
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    out.extend_from_slice(synopsis().to_roff().as_bytes());
    let _ = man.render_description_section(&mut out);
    let _ = man.render_options_section(&mut out);
    let mut roff = commands_section(&cmd);
    reference_sections(&mut roff);
    let _ = roff.to_writer(&mut out);
    let _ = man.render_version_section(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// clap_mangen's synopsis has no value names; this one says what each option takes.
fn synopsis() -> Roff {
    let mut synopsis = Roff::new();
    synopsis.control("SH", ["SYNOPSIS"]);
    synopsis.text([
        bold("alarm-distcc"),
        roman(" [-c|--config "),
        italic("PATH"),
        roman("] [-n|--dry-run] [-y|--yes] [--drop-in] [--no-verify] [--color "),
        italic("auto|always|never"),
        roman("] "),
        italic("COMMAND"),
        roman(" ["),
        italic("ARGS"),
        roman("...]"),
    ]);
    synopsis
}

/// Each command with its arguments, what it does and its options.
fn commands_section(cmd: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let usage: Vec<String> = sub
            .get_arguments()
            .filter(|a| a.get_long().is_none() && a.get_short().is_none())
            .map(arg_label)
            .collect();
        roff.control("TP", []);
        roff.text([
            bold(format!("alarm-distcc {}", sub.get_name())),
            roman(" "),
            italic(usage.join(" ")),
        ]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            roff.text([roman(about.to_string())]);
        }
        roff.control("RS", []);
        options(&mut roff, sub);
        roff.control("RE", []);
    }
    roff
}

/// EXIT STATUS, FILES, ENVIRONMENT, EXAMPLES and SEE ALSO.
fn reference_sections(roff: &mut Roff) {
    section(
        roff,
        "EXIT STATUS",
        &[
            "0: done (or nothing to change). 1: a failure, a declined prompt, a helper that \
             fails the probe, a problem doctor reports as an error, or bash could not be run \
             to check an edit. 2: bad usage or bad input (an unknown host spec, a config the \
             tool will not edit safely, an edit that bash would read otherwise than intended); \
             the message names the file and line. 130: interrupted (Ctrl-C); nothing was \
             written.",
        ],
    );
    items(
        roff,
        "FILES",
        &[
            (
                "/etc/makepkg.conf",
                "makepkg's main configuration, the default file to edit.",
            ),
            (
                "/etc/makepkg.conf.d/*.conf",
                "read after the main file by makepkg 6.1 and later, in name order; --drop-in \
                 writes distcc.conf there.",
            ),
            (
                "$XDG_CONFIG_HOME/pacman/makepkg.conf, ~/.makepkg.conf",
                "the per-user file makepkg reads last (only with the default main file).",
            ),
            (
                "/usr/lib/distcc/bin",
                "distcc's masquerade folder, which makepkg puts first on PATH when distcc is on.",
            ),
        ],
    );
    items(
        roff,
        "ENVIRONMENT",
        &[
            (
                "MAKEPKG_CONF",
                "the main file, as makepkg reads it (--config wins over it).",
            ),
            (
                "SUDO_USER",
                "under sudo, the user whose per-user file counts (makepkg never runs as root).",
            ),
            (
                "XDG_CONFIG_HOME",
                "where the per-user file is looked for first.",
            ),
            ("NO_COLOR", "plain output with --color auto (the default)."),
            (
                "ALARM_DISTCC_BASH",
                "the bash that checks every edit [default: /usr/bin/bash, makepkg's own, else \
                 bash on PATH].",
            ),
            (
                "PATH",
                "the makepkg found on it decides whether makepkg.conf.d is read (pacman 6.1+); \
                 build finds make and ninja on it and gives each its share of the job pool.",
            ),
            (
                "ALARM_DISTCC_NO_POOL",
                "set to anything: build runs without its job pool (make alone gets MAKEFLAGS' -j).",
            ),
        ],
    );
    items(
        roff,
        "EXAMPLES",
        &[
            ("sudo alarm-distcc wizard", "the whole setup, step by step."),
            (
                "sudo alarm-distcc set-local 2; sudo alarm-distcc add-host 192.168.1.100:3636/6",
                "this Pi takes 2 jobs itself, and a helper on port 3636 (distccd-alarm's armv8 \
                 port) takes 6; -j becomes 8.",
            ),
            (
                "alarm-distcc discover",
                "which distccd helpers answer on this machine's networks, and whether they \
                 compile for it; --add adds the usable ones.",
            ),
            (
                "alarm-distcc helper --distro debian > distccd.sh",
                "the script to run on a Debian or Ubuntu helper (WSL's default).",
            ),
            (
                "alarm-distcc probe",
                "a real compile on each helper, its object's architecture checked.",
            ),
            (
                "sudo alarm-distcc sort --measure",
                "order the helpers by measured speed.",
            ),
            (
                "alarm-distcc --dry-run --config ./makepkg.conf add-host 10.0.0.2:3636/4",
                "show the diff on a copy, write nothing.",
            ),
        ],
    );
    section(
        roff,
        "SEE ALSO",
        &["distcc(1), distccd(1), makepkg(8), makepkg.conf(5)"],
    );
}
