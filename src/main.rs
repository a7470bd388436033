use alarm_distcc::error::{Cancelled, Interrupted};
use clap::Parser;
use std::sync::atomic::{AtomicBool, Ordering};

/// Ctrl-C reaches both the signal handler and, through the prompt that saw it, the error path;
/// whichever comes first reports it, once, with the same exit code.
fn interrupted() -> ! {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if !REPORTED.swap(true, Ordering::SeqCst) {
        let _ = console::Term::stderr().show_cursor();
        eprintln!("\n{Interrupted}");
    }
    std::process::exit(130);
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
    let _ = ctrlc::set_handler(|| interrupted());
    let cli = alarm_distcc::cli::Cli::parse();
    if let Err(err) = alarm_distcc::app::run(cli) {
        if err.is::<Interrupted>() {
            interrupted();
        }
        // Errors quote input (files, helpers): no control character reaches the terminal.
        if err.is::<Cancelled>() {
            eprintln!("{}", alarm_distcc::ui::escape(&err.to_string()));
        } else {
            eprintln!("error: {}", alarm_distcc::ui::escape(&format!("{err:#}")));
        }
        std::process::exit(alarm_distcc::error::exit_code(&err));
    }
}
