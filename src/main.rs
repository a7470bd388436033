use clap::Parser;

fn main() {
    let cli = alarm_distcc::cli::Cli::parse();
    if let Err(err) = alarm_distcc::app::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(alarm_distcc::error::exit_code(&err));
    }
}
