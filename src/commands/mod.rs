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

/// Where to look for helpers (`discover`, the wizard's search).
#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    /// Network to scan, ADDRESS/BITS (repeatable) [default: this machine's own networks]
    #[arg(long = "subnet", value_name = "CIDR")]
    pub subnets: Vec<String>,
    /// Port to try (repeatable) [default: 3632, 3634, 3635, 3636]
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Allow a --subnet outside the private ranges: only for a network that is yours
    #[arg(long)]
    pub public: bool,
}

impl SearchArgs {
    /// The search, with the time its connects may take in all.
    pub fn options(&self, timeout: f64) -> crate::session::SearchOptions {
        crate::session::SearchOptions {
            subnets: self.subnets.clone(),
            ports: self.ports.clone(),
            timeout,
            public: self.public,
        }
    }
}

/// What the helpers are judged against: the config's CARCH, and the objects it wants.
fn target_line(checker: &crate::distcc::compat::Checker) -> String {
    format!(
        "target: CARCH={}, objects for {}",
        crate::ui::escape(&checker.carch),
        checker.expected
    )
}

/// What a loopback "helper" is good for, as every command that meets one says it.
const LOOPBACK_USE: &str = "fine for a test, no faster for a build";

/// The note for a host that is this machine (a loopback address, or one of its own).
fn this_machine_note(host: &str) -> String {
    format!(
        "note: {host} is this machine, not a helper; distcc sends these jobs back here \
         ({LOOPBACK_USE})"
    )
}
