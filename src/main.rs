use clap::Parser;

fn main() {
    let cli = alarm_distcc::cli::Cli::parse();
    if let Err(err) = alarm_distcc::app::run(cli) {
        if err.is::<alarm_distcc::error::Cancelled>() {
            eprintln!("{err}");
        } else {
            eprintln!("error: {err:#}");
        }
        std::process::exit(alarm_distcc::error::exit_code(&err));
    }
}
