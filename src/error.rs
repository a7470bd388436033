//! Errors that decide the exit code: bad input or usage is 2, anything else 1.

use std::fmt;

/// The user's input (an argument or the config file) cannot be used; exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(message.into()))
}

/// The user said no or cancelled; exit code 1 with a short message.
#[derive(Debug)]
pub struct Cancelled(pub String);

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cancelled {}

/// Ctrl-C at a prompt; exit code 130, as a shell reports SIGINT.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cancelled: nothing written")
    }
}

impl std::error::Error for Interrupted {}

/// An error from a terminal prompt: Ctrl-C becomes `Interrupted`, Esc (`None`) `Cancelled`.
pub fn prompt_error(e: dialoguer::Error) -> anyhow::Error {
    let dialoguer::Error::IO(io) = e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        Interrupted.into()
    } else {
        io.into()
    }
}

pub fn exit_code(err: &anyhow::Error) -> i32 {
    if err.is::<Interrupted>() {
        130
    } else if err.chain().any(|e| e.is::<BadInput>()) {
        2
    } else {
        1
    }
}
