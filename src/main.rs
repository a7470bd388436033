use alarm_distcc::error::{Cancelled, Interrupted};
use clap::Parser;
use std::sync::Mutex;

/// Ctrl-C reaches both the signal handler and, through the prompt that saw it, the error path;
/// whichever comes first reports it, once, with the same exit code. The second waits until
/// the first has printed (a lock, not a flag), or it could exit before the message is out.
static REPORTED: Mutex<bool> = Mutex::new(false);

fn interrupted() -> ! {
    let mut reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    // No destructor runs from here: what they would remove goes now. The registry stays held
    // until the process exits, so nothing more is put in place.
    let (written, _held) = alarm_distcc::leftovers::clear_for_exit();
    if !*reported {
        *reported = true;
        // A prompt may have hidden it; into a file or pipe the escape is only noise.
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let _ = console::Term::stderr().show_cursor();
        }
        if written.is_empty() {
            eprintln!("\n{Interrupted}");
        } else {
            let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
            eprintln!(
                "\ninterrupted: {} written already",
                alarm_distcc::ui::escape(&names.join(", "))
            );
        }
    }
    std::process::exit(130);
}

/// Before the process ends on its own: a Ctrl-C whose report has begun ends it (130, "written
/// already"), so wait for that; otherwise hold the report back for good, so that an exit code
/// 0 or 1 never follows an "interrupted" line.
fn settle() {
    let reported = REPORTED.lock().unwrap_or_else(|e| e.into_inner());
    if *reported {
        loop {
            std::thread::park();
        }
    }
    std::mem::forget(reported);
}

fn main() {
    // Like other command-line tools, stop quietly when the reader of our output goes away
    // (`alarm-distcc man | head`), instead of a panic or a "Broken pipe" error. Sockets are
    // unaffected: std writes to them with MSG_NOSIGNAL.
    // SAFETY: setting a signal disposition at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Nothing is written before the last confirm, and writes are atomic, so stopping here is
    // always safe; the handler only has to say so.
    let args: Vec<String> = std::env::args().collect();
    let cli = alarm_distcc::cli::Cli::try_parse_from(&args).unwrap_or_else(|e| {
        if let Some(hint) = alarm_distcc::cli::build_hint(&e, &args) {
            let _ = e.print();
            eprintln!("{hint}");
            std::process::exit(2);
        }
        e.exit()
    });
    if matches!(cli.command, alarm_distcc::cli::Command::Build { .. }) {
        // makepkg runs in a group of its own, the terminal's foreground when there is one, so
        // Ctrl-C reaches it there; otherwise it arrives here and is passed on. makepkg cleans
        // up and exits, and its exit code is passed on. (A handler, not SIG_IGN, which
        // makepkg would inherit.)
        let _ = ctrlc::set_handler(alarm_distcc::supervise::forward_interrupt);
    } else {
        let _ = ctrlc::set_handler(|| interrupted());
    }
    if let Err(err) = alarm_distcc::app::run(cli) {
        if let Some(exit) = err.downcast_ref::<alarm_distcc::commands::build::MakepkgExit>() {
            // makepkg said why itself; its code is the answer.
            std::process::exit(exit.0);
        }
        if err.is::<Interrupted>() {
            interrupted();
        }
        settle();
        // Errors quote input (files, helpers): no control character reaches the terminal.
        // The commands they suggest name the config given; on a terminal they break between
        // words, as the status lines do.
        use alarm_distcc::ui::{escape, fit_report};
        let text = if err.is::<Cancelled>() {
            escape(&err.to_string())
        } else {
            format!("error: {}", escape(&format!("{err:#}")))
        };
        eprintln!("{}", fit_report(&text, &console::Term::stderr(), 4));
        std::process::exit(alarm_distcc::error::exit_code(&err));
    }
    settle();
}
