//! One module per command family; each uses the session and the engine below it, never the
//! dispatcher or a sibling command.

pub mod build;
pub mod builds;
pub mod discover;
pub mod doctor;
pub mod edit;
pub mod generate;
pub mod helper;
pub mod measure;
pub mod probe;
pub mod show;
pub mod wizard;

/// What a loopback "helper" is good for, as every command that meets one says it.
const LOOPBACK_USE: &str = "fine for a test, no faster for a build";

/// The note for a host that is this machine (a loopback address, or one of its own).
fn this_machine_note(host: &str) -> String {
    format!(
        "note: {host} is this machine, not a helper; distcc sends these jobs back here \
         ({LOOPBACK_USE})"
    )
}
