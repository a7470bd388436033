//! `completions` and `man`: generated from the clap definitions.

use crate::cli::Cli;
use anyhow::Result;
use clap::CommandFactory;

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "alarm-distcc", &mut std::io::stdout());
    Ok(())
}

pub fn man() -> Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
