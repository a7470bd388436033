//! `alarm-distcc wizard`: asks, then hands the same edit functions the same inputs as the
//! commands, and ends in the same diff, confirm and atomic write. The questions go through
//! the `Prompter` trait so the decisions can be tested with scripted answers.

use crate::conf::layers::{self, Value};
use crate::conf::plan::{self, HostChange};
use crate::distcc::alarm::{self, HelperArch};
use crate::distcc::compat::Severity;
use crate::distcc::elf::arch_for_carch;
use crate::distcc::hosts::{self, HostList, HostSpec, HostToken, Kind, MAX_SLOTS};
use crate::distcc::net::own_lan_addresses;
use crate::distcc::protocol::{Verdict, targets_of};
use crate::distcc::scan::{self, FoundVerdict};
use crate::error::{Cancelled, bad_input};
use crate::session::{Focus, SearchOptions, Session};
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

pub trait Prompter {
    fn say(&mut self, text: &str);
    /// A command to type or copy, on a line of its own (indented): never broken.
    fn say_command(&mut self, command: &str) {
        self.say(&format!("  {command}"));
    }
    /// A line of text; an empty answer takes `default`. Esc cancels.
    fn input(&mut self, prompt: &str, default: &str) -> Result<String>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
    fn choose(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize>;
    /// Any number of `items`; `defaults` says which start picked.
    fn pick(&mut self, prompt: &str, items: &[String], defaults: &[bool]) -> Result<Vec<usize>>;
}

/// A helper the network search found, as the wizard offers it.
#[derive(Debug, Clone)]
pub struct Offer {
    pub host: String,
    pub port: u16,
    /// Address, name and verdict, as shown.
    pub line: String,
    pub usable: bool,
    /// Already in DISTCC_HOSTS.
    pub listed: bool,
}

/// Searches the network for helpers (asked first whether to).
pub type HelperSearch<'a> = &'a dyn Fn() -> Result<Vec<Offer>>;

pub fn cancelled() -> anyhow::Error {
    Cancelled("cancelled: nothing written".into()).into()
}

/// What the wizard found before asking anything.
#[derive(Debug, Clone)]
pub struct Facts {
    pub config: PathBuf,
    pub layers: Vec<PathBuf>,
    pub carch: String,
    pub carch_from: &'static str,
    pub distcc_on: bool,
    pub hosts: HostList,
    /// No file sets DISTCC_HOSTS: the list is the environment's, which makepkg keeps.
    pub hosts_from_environment: bool,
    pub cpus: u32,
    /// This machine's own addresses: a "helper" there is no helper.
    pub own_addresses: Vec<String>,
    /// What a search would scan ("192.168.1.0/24 on ports ..."), or why it cannot run.
    pub search_scope: Result<String, String>,
}

/// What the person chose.
#[derive(Debug, Clone)]
pub struct Answers {
    /// The new host list, fastest first.
    pub list: HostList,
    /// Helpers kept although their check failed.
    pub kept_failing: Vec<String>,
    /// The keys (`HostSpec::key`) of helpers whose check passed here: nothing is left to set
    /// up on them.
    pub passed: Vec<String>,
}

/// What the checks of the helpers entered or picked found, as the answers go on.
#[derive(Default)]
struct Checked {
    kept_failing: Vec<String>,
    passed: Vec<String>,
}

/// Checks a helper as it is entered or kept: (usable, lines to show: the verdict, then one per
/// cause).
pub type HelperCheck<'a> = &'a dyn Fn(&HostSpec) -> (bool, Vec<String>);

fn ask_number(p: &mut dyn Prompter, prompt: &str, default: u32, min: u32, max: u32) -> Result<u32> {
    loop {
        let answer = p.input(prompt, &default.to_string())?;
        match answer.trim().parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => return Ok(n),
            _ => p.say(&format!(
                "`{answer}` is not a whole number from {min} to {max}; try again"
            )),
        }
    }
}

/// Address, port and slots of one helper, re-asked until distcc would accept them.
pub fn ask_helper(
    p: &mut dyn Prompter,
    carch: &str,
    existing: Option<&HostSpec>,
    own_addresses: &[String],
) -> Result<HostSpec> {
    // A whole spec pasted here (`192.168.1.100:3636/6`) answers the port and slots too.
    let (host, port, slots, options) = loop {
        let default = existing.and_then(HostSpec::host).unwrap_or("");
        let answer = p.input(
            "Helper address (IP or host name, or HOST:PORT/SLOTS)",
            default,
        )?;
        let answer = answer.trim();
        if answer.is_empty() {
            p.say("an address is needed, e.g. 192.168.1.100");
            continue;
        }
        if answer.contains(char::is_whitespace) {
            p.say("one helper at a time: give a single address, e.g. 192.168.1.100");
            continue;
        }
        // A bare IPv6 address gets its brackets.
        let text = if answer.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("[{answer}]")
        } else {
            answer.to_string()
        };
        match text.parse::<HostSpec>() {
            // The seed's `127.0.0.1/2`: no port, slots given, a loopback address. add-host and
            // set-local read it as this machine's own slots, and so does the wizard.
            Ok(HostSpec::Tcp {
                host,
                port: None,
                slots: Some(n),
                ..
            }) if hosts::is_loopback(&host) => p.say(&format!(
                "`{answer}` has no port, so it means this machine: its slots were asked above \
                 (localhost/{n}); give a helper's address"
            )),
            Ok(HostSpec::Tcp {
                host,
                port,
                slots,
                options,
            }) => break (host, port, slots, options),
            Ok(HostSpec::Local { .. }) => p.say(
                "`localhost` is this machine: its slots were asked above; give a helper's address",
            ),
            Ok(_) => p.say(&format!(
                "`{answer}`: give a helper's address (IP or host name), e.g. 192.168.1.100"
            )),
            Err(e) => p.say(&format!("{e}; try again")),
        }
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if hosts::is_loopback(&host) || own_addresses.iter().any(|a| a == bare) {
        p.say(&super::this_machine_note(&host));
    }
    let port = match port {
        Some(port) => port,
        None => {
            let default = existing
                .and_then(HostSpec::port)
                .unwrap_or_else(|| alarm::default_port(carch));
            ask_number(p, "Port", u32::from(default), 1, 65535)? as u16
        }
    };
    if let Some(why) = alarm::port_mismatch(port, carch) {
        p.say(&format!("note: {why}"));
    }
    let slots = match slots {
        Some(slots) => slots,
        None => {
            let default = existing.map_or(hosts::DEFAULT_TCP_SLOTS, HostSpec::slots);
            ask_number(
                p,
                "Slots (compile jobs it takes at once)",
                default,
                1,
                MAX_SLOTS,
            )?
        }
    };
    let options = if options.is_empty() {
        existing.map(|e| e.options().to_vec()).unwrap_or_default()
    } else {
        options
    };
    Ok(HostSpec::Tcp {
        host,
        port: Some(port),
        slots: Some(slots),
        options,
    })
}

/// Walks the person through the setup and returns the new host list, fastest first.
pub fn gather(
    p: &mut dyn Prompter,
    facts: &Facts,
    check: Option<HelperCheck>,
    search: Option<HelperSearch>,
) -> Result<Answers> {
    p.say(&format!("Config to edit: {}", facts.config.display()));
    p.say(&format!(
        "makepkg reads: {}",
        facts
            .layers
            .iter()
            .map(|l| l.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    p.say(&format!(
        "Building for: {} ({})",
        facts.carch, facts.carch_from
    ));
    p.say(&format!(
        "distcc is {}; DISTCC_HOSTS: {}",
        if facts.distcc_on { "on" } else { "off" },
        match (facts.hosts.tokens.is_empty(), facts.hosts_from_environment) {
            (true, _) => "(none)".to_string(),
            (false, false) => facts.hosts.render(),
            (false, true) => format!(
                "{} (from the environment: no file sets it)",
                facts.hosts.render()
            ),
        }
    ));

    let local = ask_local_slots(p, facts)?;
    let mut checked = Checked::default();
    let (globals, mut helpers) = review_listed(p, facts, check, &mut checked)?;
    match (search, &facts.search_scope) {
        (Some(search), Ok(scope)) => {
            take_search_results(p, search, scope, &mut helpers, &mut checked)?
        }
        (Some(_), Err(why)) => p.say(&format!(
            "No network search: {why}. Type the helpers' addresses instead."
        )),
        (None, _) => {}
    }

    add_helpers(p, facts, check, &mut helpers, &mut checked)?;
    let list = final_list(p, globals, helpers, local);
    Ok(Answers {
        list,
        kept_failing: checked.kept_failing,
        passed: checked.passed,
    })
}

/// This machine's slots, defaulting to what the file says.
fn ask_local_slots(p: &mut dyn Prompter, facts: &Facts) -> Result<u32> {
    // The file's local entry; else the seed's `127.0.0.1/N`, which meant this machine too
    // (add-host and set-local read it so).
    let current_local = facts
        .hosts
        .specs()
        .find(|s| s.kind() == Kind::Local)
        .or_else(|| facts.hosts.specs().find(|s| s.means_this_machine()))
        .map(HostSpec::slots);
    p.say(
        "This machine's slots are the compile jobs it runs itself. A Pi is often slower than a \
         fifth of its helpers together; distcc's man page then advises 0 (leave it out).",
    );
    // The file's own choice: its local entry, else 0 when it lists helpers without one
    // (distcc then runs nothing here by design), else this machine's CPU count.
    let default_local = match current_local {
        Some(n) => n,
        None if facts.hosts.has_helper() => 0,
        None => facts.cpus,
    };
    let local = ask_number(
        p,
        "Slots for this machine (0 leaves it out)",
        default_local,
        0,
        MAX_SLOTS,
    )?;
    Ok(local)
}

/// The listed hosts, each kept, changed or removed: (global options, helpers). A helper kept
/// or changed is checked as a new one is; one that fails is kept unless the person says no,
/// since it is theirs already (a laptop asleep now may be up at build time).
fn review_listed(
    p: &mut dyn Prompter,
    facts: &Facts,
    check: Option<HelperCheck>,
    checked: &mut Checked,
) -> Result<(Vec<HostSpec>, Vec<HostSpec>)> {
    let mut globals = Vec::new();
    let mut helpers: Vec<HostSpec> = Vec::new();
    for token in &facts.hosts.tokens {
        match &token.spec {
            Ok(s @ HostSpec::Global(_)) => globals.push(s.clone()),
            Ok(HostSpec::Local { .. }) => {}
            Ok(s) if s.means_this_machine() => {
                p.say(&format!(
                    "`{}` meant this machine; its slots are set above",
                    token.raw
                ));
            }
            Ok(s) => {
                let spec = match p.choose(
                    &format!("Helper {}", token.raw),
                    &["keep", "change", "remove"],
                    0,
                )? {
                    0 => s.clone(),
                    1 => ask_helper(p, &facts.carch, Some(s), &facts.own_addresses)?,
                    _ => {
                        p.say(&format!("removed {}", token.raw));
                        continue;
                    }
                };
                if keep_after_check(p, check, &spec, true, checked)? {
                    helpers.push(spec);
                } else {
                    p.say(&format!("removed {}", token.raw));
                }
            }
            Err(e) => p.say(&format!(
                "dropping `{}`: {} (distcc would ignore the whole list)",
                token.raw, e.reason
            )),
        }
    }
    Ok((globals, helpers))
}

/// Checks `spec` (when a check is given) and says what it found: whether to keep it. One that
/// fails is kept only on a yes (`keep_by_default` answers an Enter), with its causes recorded
/// for the reminder at the end.
fn keep_after_check(
    p: &mut dyn Prompter,
    check: Option<HelperCheck>,
    spec: &HostSpec,
    keep_by_default: bool,
    checked: &mut Checked,
) -> Result<bool> {
    let Some(check) = check else {
        return Ok(true);
    };
    let (ok, lines) = check(spec);
    for line in &lines {
        p.say(line);
    }
    if ok {
        checked.passed.push(spec.key());
        return Ok(true);
    }
    if !p.confirm("Keep this helper anyway?", keep_by_default)? {
        return Ok(false);
    }
    let causes: Vec<&str> = lines
        .iter()
        .skip(1)
        .map(|l| l.trim().trim_start_matches("- "))
        .collect();
    checked.kept_failing.push(if causes.is_empty() {
        spec.to_string()
    } else {
        format!("{spec} ({})", causes.join("; "))
    });
    Ok(true)
}

/// More helpers, one at a time, each checked (when a check is given) before it is kept.
fn add_helpers(
    p: &mut dyn Prompter,
    facts: &Facts,
    check: Option<HelperCheck>,
    helpers: &mut Vec<HostSpec>,
    checked: &mut Checked,
) -> Result<()> {
    loop {
        let prompt = if helpers.is_empty() {
            "Add a helper?"
        } else {
            "Add another helper?"
        };
        if !p.confirm(prompt, helpers.is_empty())? {
            break;
        }
        let spec = ask_helper(p, &facts.carch, None, &facts.own_addresses)?;
        if !keep_after_check(p, check, &spec, false, checked)? {
            continue;
        }
        if let Some(i) = helpers.iter().position(|h| h.key() == spec.key()) {
            if helpers[i] != spec {
                p.say(&format!("{} was picked already: now {spec}", helpers[i]));
            }
            helpers[i] = spec;
        } else {
            helpers.push(spec);
        }
    }
    Ok(())
}

/// The new list, fastest first, said with its -j.
fn final_list(
    p: &mut dyn Prompter,
    globals: Vec<HostSpec>,
    helpers: Vec<HostSpec>,
    local: u32,
) -> HostList {
    let mut list = HostList {
        tokens: globals
            .into_iter()
            .chain(helpers)
            .map(HostToken::new)
            .collect(),
    };
    if local > 0 {
        list.tokens
            .push(HostToken::new(HostSpec::Local { slots: Some(local) }));
    }
    list.sort_by_slots();
    let total = list.total_slots();
    if list.has_helper() {
        p.say(&format!(
            "Order (fastest first): DISTCC_HOSTS=\"{}\", MAKEFLAGS -j{total}",
            list.render()
        ));
    } else if list.tokens.is_empty() {
        p.say("No hosts: neither a helper nor slots for this machine");
    } else {
        // -j is the helpers' business: without one, what the plan does to it is in the diff.
        p.say(&format!(
            "No helper: DISTCC_HOSTS=\"{}\" (distcc has no helper to hand jobs to)",
            list.render()
        ));
    }
    if local > 0 && u64::from(local) * 5 < u64::from(total) {
        p.say(&format!(
            "This machine has {local} of {total} slots, under a fifth: distcc's man page advises \
             leaving it out (`alarm-distcc set-local 0`)."
        ));
    }
    list
}

/// Offers a network search, then the helpers it found to pick from, then their slots.
fn take_search_results(
    p: &mut dyn Prompter,
    search: HelperSearch,
    scope: &str,
    helpers: &mut Vec<HostSpec>,
    checked: &mut Checked,
) -> Result<()> {
    // The question says what it would scan before anything is sent.
    if !p.confirm(&format!("Search the network for helpers ({scope})?"), true)? {
        return Ok(());
    }
    let offers = search()?;
    let same =
        |h: &HostSpec, o: &Offer| h.host() == Some(o.host.as_str()) && h.port() == Some(o.port);
    for o in offers.iter().filter(|o| o.listed) {
        p.say(&format!("{} (already listed)", o.line));
    }
    let fresh: Vec<&Offer> = offers
        .iter()
        .filter(|o| !o.listed && !helpers.iter().any(|h| same(h, o)))
        .collect();
    if fresh.is_empty() {
        p.say("no new helper found; you can type an address next");
        return Ok(());
    }
    let labels: Vec<String> = fresh.iter().map(|o| o.line.clone()).collect();
    let usable: Vec<bool> = fresh.iter().map(|o| o.usable).collect();
    let picked = p.pick(
        "Helpers to use (space picks, enter confirms; usable ones are picked)",
        &labels,
        &usable,
    )?;
    for i in picked {
        let Some(o) = fresh.get(i) else { continue };
        let slots = ask_number(
            p,
            &format!(
                "Slots for {}:{} (compile jobs it takes at once)",
                o.host, o.port
            ),
            hosts::DEFAULT_TCP_SLOTS,
            1,
            MAX_SLOTS,
        )?;
        let spec = HostSpec::Tcp {
            host: o.host.clone(),
            port: Some(o.port),
            slots: Some(slots),
            options: Vec::new(),
        };
        if !o.usable {
            // The same question a typed address that fails its check gets.
            p.say(&format!("{}: not usable yet: {}", spec, o.line));
            if !p.confirm("Keep this helper anyway?", false)? {
                continue;
            }
            checked
                .kept_failing
                .push(format!("{spec} ({})", o.line.trim()));
        } else {
            checked.passed.push(spec.key());
        }
        helpers.push(spec);
    }
    Ok(())
}

/// The real terminal: dialoguer for yes/no and choices, an Esc-aware line input.
pub struct TerminalPrompter {
    term: console::Term,
}

impl TerminalPrompter {
    /// What is typed up to Enter, echoed as it is typed (the caller ends the line). Esc
    /// cancels the wizard, Ctrl-C interrupts it, at once.
    fn read_answer(&self) -> Result<String> {
        use console::Key;
        let mut line = String::new();
        loop {
            match self.read_key()? {
                Key::Enter => return Ok(line),
                Key::CtrlC => return Err(crate::error::Interrupted.into()),
                Key::Escape => {
                    self.term.write_line("")?;
                    return Err(cancelled());
                }
                Key::Backspace if line.pop().is_some() => self.term.clear_chars(1)?,
                Key::Char(c) if !c.is_control() => {
                    line.push(c);
                    self.term.write_str(c.encode_utf8(&mut [0; 4]))?;
                }
                _ => {}
            }
        }
    }

    /// A key; Ctrl-C (which the terminal's raw mode turns into an interrupted read) is
    /// `Interrupted`.
    fn read_key(&self) -> Result<console::Key> {
        self.term.read_key().map_err(|e| {
            if e.kind() == std::io::ErrorKind::Interrupted {
                anyhow::Error::new(crate::error::Interrupted)
            } else {
                e.into()
            }
        })
    }
}

impl Default for TerminalPrompter {
    fn default() -> Self {
        TerminalPrompter {
            term: console::Term::stderr(),
        }
    }
}

impl Prompter for TerminalPrompter {
    fn say(&mut self, text: &str) {
        // What is said quotes the config, the environment and helpers: no control character
        // reaches the terminal.
        let text = crate::ui::runnable(&crate::ui::escape(text)).into_owned();
        // Broken to the terminal's width when it tells one (a pty may not).
        let text = match crate::ui::terminal_width(&self.term) {
            Some(width) => crate::ui::wrap(&text, width),
            None => text,
        };
        let _ = self.term.write_line(&text);
    }

    fn say_command(&mut self, command: &str) {
        // Whole even past the edge: a line break inside it would break a copied command.
        let _ = self
            .term
            .write_line(&format!("  {}", crate::ui::escape(command)));
    }

    fn input(&mut self, prompt: &str, default: &str) -> Result<String> {
        // Prompts and defaults quote the config and helpers too.
        let (prompt, shown_default) = (crate::ui::escape(prompt), crate::ui::escape(default));
        let shown = if default.is_empty() {
            format!("{prompt}: ")
        } else {
            format!("{prompt} [{shown_default}]: ")
        };
        self.term.write_str(&shown)?;
        let mut line = self.read_answer()?;
        if line.is_empty() {
            // Show what was taken, so the transcript reads true.
            self.term.write_str(&shown_default)?;
            line = default.to_string();
        }
        self.term.write_line("")?;
        Ok(line)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        // A line, as every other answer and the final write prompt: `y` then Enter, so the
        // Enter never leaks into the next question. Esc cancels at once, as at every other
        // question (dialoguer's waits for an Enter after it, its prompt only changed).
        let prompt = crate::ui::escape(prompt);
        let shown = format!("{prompt} {} ", if default { "[Y/n]" } else { "[y/N]" });
        loop {
            self.term.write_str(&shown)?;
            let answer = match self.read_answer()?.trim().to_ascii_lowercase().as_str() {
                "" => Some(default),
                "y" | "yes" => Some(true),
                "n" | "no" => Some(false),
                _ => None,
            };
            // Anything else is asked again, on the same line.
            self.term.clear_line()?;
            if let Some(yes) = answer {
                // The transcript keeps the answer taken, as for every question.
                let word = if yes { "yes" } else { "no" };
                self.term.write_line(&format!("{prompt} {word}"))?;
                return Ok(yes);
            }
        }
    }

    fn choose(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize> {
        let items: Vec<String> = items.iter().map(|i| crate::ui::escape(i)).collect();
        dialoguer::Select::new()
            .with_prompt(crate::ui::escape(prompt))
            .items(&items)
            .default(default)
            .interact_on_opt(&self.term)
            .map_err(crate::error::prompt_error)?
            .ok_or_else(cancelled)
    }

    fn pick(&mut self, prompt: &str, items: &[String], defaults: &[bool]) -> Result<Vec<usize>> {
        let items: Vec<String> = items.iter().map(|i| crate::ui::escape(i)).collect();
        dialoguer::MultiSelect::new()
            .with_prompt(crate::ui::escape(prompt))
            .items(&items)
            .defaults(defaults)
            .interact_on_opt(&self.term)
            .map_err(crate::error::prompt_error)?
            .ok_or_else(cancelled)
    }
}

/// The wizard's options, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct WizardOptions {
    /// Do not check each helper with a real compile as it is entered or kept
    #[arg(long)]
    pub no_probe: bool,
    #[command(flatten)]
    pub search: super::SearchArgs,
    /// Seconds each helper check may take [default: 4], and the search's connects [default: 1]
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
}

/// `alarm-distcc wizard`: gathers the answers, then the same plan, diff, confirm and write as
/// the commands.
pub fn run(session: &Session, opts: &WizardOptions) -> Result<()> {
    let no_probe = opts.no_probe;
    let timeout = opts.timeout.unwrap_or(4.0);
    let search = &opts.search.options(opts.timeout.unwrap_or(1.0));
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(bad_input(
            "the wizard needs a terminal; in scripts use add-host, remove-host, set-local and enable",
        ));
    }
    let search_scope = match search_scope(search) {
        Ok(scope) => Ok(scope),
        Err(e) if !search.subnets.is_empty() => return Err(bad_input(e)),
        Err(e) => Err(e),
    };
    let target = session.checked_target(Focus::Hosts)?;
    // Asking everything and then failing to write would waste the answers: check first.
    if !session.opts.dry_run {
        session.check_writable(&target.loaded.real)?;
    }
    let inherited = session.inherited(&target);
    let (hosts, _) = plan::starting_hosts(&target.doc, &inherited)
        .map_err(|r| session.plan_refused(&target, r))?;
    let eff = layers::effective(&target.layers);
    let (carch, carch_from) = match crate::conf::layers::carch(&target.layers) {
        Some(c) => (c, "CARCH in the config"),
        None => (std::env::consts::ARCH.to_string(), "this machine, uname -m"),
    };
    let facts = Facts {
        config: target.loaded.path.clone(),
        layers: target.layers.iter().map(|(p, _)| p.clone()).collect(),
        carch: carch.clone(),
        carch_from,
        distcc_on: matches!(&eff.distcc, Value::Known(s) if s.value),
        hosts_from_environment: matches!(eff.hosts, Value::Unset) && !hosts.tokens.is_empty(),
        hosts,
        cpus: std::thread::available_parallelism().map_or(2, |n| n.get() as u32),
        own_addresses: own_lan_addresses(),
        search_scope,
    };
    let expected = arch_for_carch(&carch);
    let checker = match expected {
        Some(_) => Some(session.checker(&target.layers, Some(&carch), None)?.0),
        None => None,
    };
    let timeout = std::time::Duration::from_secs_f64(timeout.clamp(0.1, 60.0));
    let checker = |spec: &HostSpec| judge_helper(checker.as_ref(), spec, timeout, &carch);
    let searcher = || -> Result<Vec<Offer>> {
        let (found, expected) = session.search_helpers(&target.layers, search)?;
        Ok(found
            .iter()
            .map(|f| Offer {
                host: f.addr.ip().to_string(),
                port: f.addr.port(),
                line: format!(
                    "{:<21} {}{}",
                    f.host_port(),
                    f.name.as_ref().map_or(String::new(), |n| format!("({n}) ")),
                    f.verdict_text(expected, &carch)
                ),
                usable: f.verdict == FoundVerdict::Usable,
                listed: f.listed,
            })
            .collect())
    };
    let mut prompter = TerminalPrompter::default();
    let answers = gather(
        &mut prompter,
        &facts,
        if no_probe { None } else { Some(&checker) },
        // --no-probe: no traffic at all, so no search either.
        if no_probe { None } else { Some(&searcher) },
    )?;
    // Helpers whose check did not pass here (failing, or --no-probe) may still
    // need setting up; the others compiled for this Pi already.
    let has_helper = answers.list.has_helper();
    let to_set_up: Vec<HostSpec> = answers
        .list
        .specs()
        .filter(|s| s.is_helper() && !answers.passed.contains(&s.key()))
        .cloned()
        .collect();
    let plan = plan::plan_hosts(&target.doc, &HostChange::Replace(answers.list), &inherited)
        .map_err(|r| session.plan_refused(&target, r))?;
    session.apply_without_next_step(&target, plan)?;
    // The next steps that follow set such a helper up and end with the probe that checks it.
    if !answers.kept_failing.is_empty() {
        prompter.say(&format!(
            "\nKept although its check failed: {}.",
            answers.kept_failing.join(", ")
        ));
    }
    say_next_steps(&mut prompter, &carch, has_helper, &to_set_up);
    Ok(())
}

/// What the search would scan, said before any question (an error for a --subnet it refuses).
fn search_scope(search: &SearchOptions) -> std::result::Result<String, String> {
    let (nets, _) = scan::choose_subnets(&search.subnets, search.public)?;
    Ok(format!(
        "{} on port(s) {}",
        nets.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if search.ports.is_empty() {
            scan::DEFAULT_PORTS.to_vec()
        } else {
            search.ports.clone()
        }
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
    ))
}

/// One typed or picked helper checked as probe checks it: usable or not, and the lines
/// that say why.
fn judge_helper(
    checker: Option<&crate::distcc::compat::Checker>,
    spec: &HostSpec,
    timeout: std::time::Duration,
    carch: &str,
) -> (bool, Vec<String>) {
    let Some(checker) = checker else {
        return (
            true,
            vec![format!("{spec}: no known architecture to check against")],
        );
    };
    let targets = targets_of(&HostList {
        tokens: vec![HostToken::new(spec.clone())],
    });
    let judged = checker.check(&targets, timeout);
    let judged = &judged[0];
    let warnings = judged
        .concerns
        .iter()
        .filter(|c| c.severity == Severity::Warning)
        .map(|c| format!("  warning: {}; fix: {}", c.message, c.fix));
    match judged.verdict {
        Verdict::Failed => {
            let mut lines = vec![format!("{spec}: not usable yet:")];
            lines.extend(
                judged
                    .causes()
                    .into_iter()
                    .map(|cause| format!("  - {cause}")),
            );
            lines.extend(warnings);
            (false, lines)
        }
        _ => {
            let mut lines = vec![format!("{spec}: reachable, compiles for {carch}")];
            lines.extend(warnings);
            (true, lines)
        }
    }
}

/// What to do on each helper that may not be set up yet (and on Windows for a WSL2 one); when
/// every helper compiled for this Pi here, how to build through them.
fn say_next_steps(p: &mut dyn Prompter, carch: &str, has_helper: bool, to_set_up: &[HostSpec]) {
    if has_helper && to_set_up.is_empty() {
        p.say(
            "\nEach helper compiled for this Pi just now: nothing is left to set up on them. \
             Build a package through them (in its PKGBUILD's folder):",
        );
        p.say_command(&crate::ui::command("build"));
        return;
    }
    match HelperArch::from_carch(carch) {
        Some(arch) => {
            // helper's own default is this machine's private networks; only without one
            // must an address be named.
            let private = scan::own_networks().iter().any(|(n, _)| n.is_private());
            let allow = if private {
                String::new()
            } else {
                format!(
                    " --allow {}",
                    own_lan_addresses()
                        .first()
                        .map_or("<this Pi's address>".to_string(), Clone::clone)
                )
            };
            // The script listens on the port the helpers were entered with: distccd-alarm's
            // for this arch unless another was typed (one script a port).
            let mut ports: Vec<u16> = to_set_up.iter().filter_map(|s| s.port()).collect();
            ports.sort_unstable();
            ports.dedup();
            if ports.is_empty() {
                ports.push(arch.port());
            }
            let port_flag = |port: u16| {
                if port == arch.port() {
                    String::new()
                } else {
                    format!(" --port {port}")
                }
            };
            let which = if to_set_up.is_empty() {
                "each helper".to_string()
            } else {
                to_set_up
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let arch = arch.name();
            p.say(&format!(
                "\nNext, on {which}: run the script that this prints (make it here, copy it \
                 over; add --distro debian for a Debian or Ubuntu helper):"
            ));
            for &port in &ports {
                p.say_command(&format!(
                    "alarm-distcc helper --arch {arch}{allow}{} > distccd-{arch}.sh",
                    port_flag(port)
                ));
            }
            p.say(
                "A helper under WSL2 (its default NAT networking) also needs the port forwarded \
                 on Windows: run what this prints there, as administrator:",
            );
            for &port in &ports {
                p.say_command(&format!(
                    "alarm-distcc helper --arch {arch}{allow}{} --format powershell > \
                     wsl-distcc.ps1",
                    port_flag(port)
                ));
            }
            p.say("Then check from here that each helper compiles for this Pi:");
            p.say_command(&crate::ui::command("probe"));
        }
        None => {
            p.say(&format!(
                "\nNext, on each helper: start distccd with --allow <this machine's address> and \
                 the port you entered, with a compiler for {carch} first on its PATH; then check \
                 from here:"
            ));
            p.say_command(&crate::ui::command("probe"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Answers from a script; "<esc>" cancels. Records everything said.
    struct Scripted {
        answers: VecDeque<&'static str>,
        said: Vec<String>,
    }

    impl Scripted {
        fn new(answers: &[&'static str]) -> Scripted {
            Scripted {
                answers: answers.iter().copied().collect(),
                said: Vec::new(),
            }
        }
        fn next(&mut self) -> Result<&'static str> {
            match self.answers.pop_front() {
                Some("<esc>") | None => Err(cancelled()),
                Some(a) => Ok(a),
            }
        }
    }

    impl Prompter for Scripted {
        fn say(&mut self, text: &str) {
            self.said.push(text.to_string());
        }
        fn input(&mut self, _: &str, default: &str) -> Result<String> {
            let a = self.next()?;
            Ok(if a.is_empty() {
                default.to_string()
            } else {
                a.to_string()
            })
        }
        fn confirm(&mut self, _: &str, default: bool) -> Result<bool> {
            Ok(match self.next()? {
                "y" => true,
                "n" => false,
                _ => default,
            })
        }
        fn choose(&mut self, _: &str, _: &[&str], default: usize) -> Result<usize> {
            let a = self.next()?;
            Ok(a.parse().unwrap_or(default))
        }
        /// "0,2" picks those; an empty answer takes the defaults.
        fn pick(&mut self, _: &str, _: &[String], defaults: &[bool]) -> Result<Vec<usize>> {
            let a = self.next()?;
            Ok(if a.is_empty() {
                (0..defaults.len()).filter(|i| defaults[*i]).collect()
            } else {
                a.split(',').filter_map(|n| n.parse().ok()).collect()
            })
        }
    }

    fn facts(hosts: &str) -> Facts {
        Facts {
            config: "/etc/makepkg.conf".into(),
            layers: vec!["/etc/makepkg.conf".into()],
            carch: "aarch64".into(),
            carch_from: "CARCH",
            distcc_on: false,
            hosts: HostList::parse(hosts),
            hosts_from_environment: false,
            cpus: 4,
            own_addresses: vec!["192.168.1.50".into()],
            search_scope: Ok("192.168.1.0/24 on port(s) 3636".into()),
        }
    }

    #[test]
    fn seed_answers_give_the_seed_list() {
        let mut p = Scripted::new(&["2", "", "192.168.1.100", "", "6", "n"]);
        let list = gather(&mut p, &facts(""), None, None).unwrap();
        assert_eq!(list.list.render(), "192.168.1.100:3636/6 localhost/2");
    }

    #[test]
    fn a_list_only_the_environment_gives_is_said_to_come_from_there() {
        let mut f = facts("192.168.1.100:3636/6");
        f.hosts_from_environment = true;
        let mut p = Scripted::new(&["<esc>"]);
        assert!(gather(&mut p, &f, None, None).is_err());
        assert!(
            p.said.iter().any(|l| l.ends_with(
                "DISTCC_HOSTS: 192.168.1.100:3636/6 (from the environment: no file sets it)"
            )),
            "{:?}",
            p.said
        );
    }

    #[test]
    fn defaults_are_cpu_count_and_the_arch_port() {
        let mut p = Scripted::new(&["", "y", "10.0.0.2", "", "", "n"]);
        let mut f = facts("");
        f.carch = "armv7h".into();
        let list = gather(&mut p, &f, None, None).unwrap();
        assert_eq!(list.list.render(), "10.0.0.2:3635/4 localhost/4");
    }

    #[test]
    fn invalid_input_is_explained_and_asked_again() {
        let mut p = Scripted::new(&[
            "two",
            "0",
            "",
            "192.168.1.300",
            "h h",
            "localhost",
            "192.168.1.100",
            "0",
            "3636",
            "-1",
            "6",
            "n",
        ]);
        let list = gather(&mut p, &facts(""), None, None).unwrap();
        assert_eq!(list.list.render(), "192.168.1.100:3636/6");
        let said = p.said.join("\n");
        assert!(said.contains("`two` is not a whole number"), "{said}");
        assert!(said.contains("192.168.1.300"), "{said}");
        assert!(said.contains("one helper at a time"), "{said}");
        assert!(said.contains("`localhost` is this machine"), "{said}");
        assert!(!said.contains("argument"), "command-line wording: {said}");
        assert!(
            said.contains("`0` is not a whole number from 1 to 65535"),
            "{said}"
        );
    }

    #[test]
    fn existing_helpers_kept_changed_removed() {
        let mut p = Scripted::new(&["", "0", "2", "1", "", "", "9", "n"]);
        let list = gather(
            &mut p,
            &facts("--randomize a.lan:3636/2 b.lan/4 c.lan/8 localhost/2"),
            None,
            None,
        )
        .unwrap();
        // a kept, b removed, c changed to 9 slots; local stays 2; sorted by slots.
        assert_eq!(
            list.list.render(),
            "--randomize c.lan:3632/9 a.lan:3636/2 localhost/2"
        );
    }

    #[test]
    fn listed_helpers_are_checked_when_kept_or_changed() {
        // a.lan passes; b.lan and c.lan fail.
        let check = |s: &HostSpec| {
            if s.host() == Some("a.lan") {
                (true, vec![format!("{s}: usable")])
            } else {
                (
                    false,
                    vec![format!("{s}: not usable yet:"), "  - refused".into()],
                )
            }
        };
        // a kept; b kept, failing (Enter keeps it); c changed to 9 slots, failing, dropped.
        let mut p = Scripted::new(&["", "0", "0", "", "1", "", "", "9", "n", "n"]);
        let answers = gather(
            &mut p,
            &facts("a.lan:3636/2 b.lan/4 c.lan/8 localhost/2"),
            Some(&check),
            None,
        )
        .unwrap();
        assert_eq!(answers.list.render(), "b.lan/4 a.lan:3636/2 localhost/2");
        assert_eq!(answers.passed, ["tcp:a.lan:3636"]);
        assert_eq!(answers.kept_failing, ["b.lan/4 (refused)"]);
        assert!(
            p.said.iter().any(|l| l == "removed c.lan/8"),
            "{:?}",
            p.said
        );
        // The changed one was checked as changed.
        assert!(
            p.said
                .iter()
                .any(|l| l.starts_with("c.lan:3632/9: not usable"))
        );
    }

    #[test]
    fn failing_check_can_be_kept_or_dropped() {
        let check = |s: &HostSpec| {
            (
                false,
                vec![format!("{s}: not usable yet:"), "  - refused".to_string()],
            )
        };
        let mut p = Scripted::new(&[
            "0", "y", "10.0.0.2", "", "", "n", "y", "10.0.0.3", "", "", "y", "n",
        ]);
        let list = gather(&mut p, &facts(""), Some(&check), None).unwrap();
        assert_eq!(list.list.render(), "10.0.0.3:3636/4");
        // Kept with its causes, for the reminder at the end.
        assert_eq!(list.kept_failing, ["10.0.0.3:3636/4 (refused)"]);
        // One line per cause.
        assert!(p.said.iter().any(|l| l == "  - refused"));
    }

    #[test]
    fn a_pasted_spec_answers_port_and_slots() {
        let mut p = Scripted::new(&["0", "", "192.168.1.100:3636/6", "n"]);
        let list = gather(&mut p, &facts(""), None, None).unwrap();
        assert_eq!(list.list.render(), "192.168.1.100:3636/6");
        // A port only: the slots are still asked.
        let mut p = Scripted::new(&["0", "", "192.168.1.100:3636", "3", "n"]);
        let list = gather(&mut p, &facts(""), None, None).unwrap();
        assert_eq!(list.list.render(), "192.168.1.100:3636/3");
    }

    #[test]
    fn this_machine_as_a_helper_is_pointed_out() {
        for own in ["192.168.1.50:3636/4", "127.0.0.1:3636/4"] {
            let mut p = Scripted::new(&["0", "", own, "n"]);
            gather(&mut p, &facts(""), None, None).unwrap();
            assert!(
                p.said.iter().any(|l| l.contains("is this machine")),
                "{own}: {:?}",
                p.said
            );
        }
        let mut p = Scripted::new(&["0", "", "192.168.1.100:3636/4", "n"]);
        gather(&mut p, &facts(""), None, None).unwrap();
        assert!(!p.said.iter().any(|l| l.contains("is this machine")));
    }

    #[test]
    fn found_helpers_are_offered_picked_and_given_slots() {
        let search = || -> Result<Vec<Offer>> {
            Ok(vec![
                Offer {
                    host: "192.168.1.100".into(),
                    port: 3636,
                    line: "192.168.1.100:3636 usable".into(),
                    usable: true,
                    listed: false,
                },
                Offer {
                    host: "192.168.1.101".into(),
                    port: 3632,
                    line: "192.168.1.101:3632 wrong arch".into(),
                    usable: false,
                    listed: false,
                },
                Offer {
                    host: "192.168.1.102".into(),
                    port: 3636,
                    line: "192.168.1.102:3636 usable".into(),
                    usable: true,
                    listed: true,
                },
            ])
        };
        // Local slots 0, keep the listed helper, search: yes; picks: the defaults (the usable
        // one); its slots 6; no more by hand.
        let mut p = Scripted::new(&["0", "0", "", "", "6", "n"]);
        let answers = gather(&mut p, &facts("192.168.1.102:3636/8"), None, Some(&search)).unwrap();
        assert_eq!(
            answers.list.render(),
            "192.168.1.102:3636/8 192.168.1.100:3636/6"
        );
        assert!(p.said.iter().any(|l| l.contains("already listed")));
        // Picking the wrong-arch one too: asked as a typed one would be, kept on a yes, and
        // recalled as failing with its verdict.
        let mut p = Scripted::new(&["0", "0", "", "0,1", "6", "2", "y", "n"]);
        let answers = gather(&mut p, &facts("192.168.1.102:3636/8"), None, Some(&search)).unwrap();
        assert_eq!(
            answers.kept_failing,
            ["192.168.1.101:3632/2 (192.168.1.101:3632 wrong arch)"]
        );
        // ... and dropped on a no.
        let mut p = Scripted::new(&["0", "0", "", "0,1", "6", "2", "n", "n"]);
        let answers = gather(&mut p, &facts("192.168.1.102:3636/8"), None, Some(&search)).unwrap();
        assert!(answers.kept_failing.is_empty());
        assert!(!answers.list.render().contains("192.168.1.101"));
        // No search: straight to typing.
        let mut p = Scripted::new(&["0", "0", "n", "n"]);
        let answers = gather(&mut p, &facts("192.168.1.102:3636/8"), None, Some(&search)).unwrap();
        assert_eq!(answers.list.render(), "192.168.1.102:3636/8");
    }

    #[test]
    fn escape_cancels() {
        let mut p = Scripted::new(&["2", "y", "<esc>"]);
        let err = gather(&mut p, &facts(""), None, None).unwrap_err();
        assert!(err.to_string().contains("cancelled"));
    }

    #[test]
    fn default_local_slots_follow_the_file() {
        // Helpers listed without a local entry: the file gives this machine 0 (then: keep
        // the listed helper, no more).
        let mut p = Scripted::new(&["", "0", "n"]);
        let answers = gather(&mut p, &facts("192.168.1.102:3636/8"), None, None).unwrap();
        assert_eq!(answers.list.render(), "192.168.1.102:3636/8");
        // A fresh file: this machine's CPU count.
        let mut p = Scripted::new(&["", "n"]);
        let answers = gather(&mut p, &facts(""), None, None).unwrap();
        assert_eq!(answers.list.render(), "localhost/4");
    }

    #[test]
    fn retyping_a_helper_says_what_changed() {
        let mut p = Scripted::new(&["0", "y", "10.0.0.2", "", "4", "y", "10.0.0.2", "", "6", "n"]);
        let answers = gather(&mut p, &facts(""), None, None).unwrap();
        assert_eq!(answers.list.render(), "10.0.0.2:3636/6");
        assert!(
            p.said
                .iter()
                .any(|l| l.contains("picked already: now 10.0.0.2:3636/6")),
            "{:?}",
            p.said
        );
    }

    #[test]
    fn under_a_fifth_is_pointed_out() {
        let mut p = Scripted::new(&["1", "", "10.0.0.2", "", "16", "n"]);
        gather(&mut p, &facts(""), None, None).unwrap();
        assert!(p.said.iter().any(|l| l.contains("under a fifth")));
    }
}
