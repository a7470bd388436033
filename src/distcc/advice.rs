//! What a probe's outcome means for the user, and how to fix it: shared by probe, doctor,
//! the wizard and sort --measure.

use crate::distcc::elf::Arch;
use crate::distcc::protocol::{HostReport, Outcome};

pub fn describe(o: &Outcome, expected: Arch) -> String {
    match o {
        Outcome::Local => "local (runs here, no daemon)".into(),
        Outcome::NotProbed(why) => format!("not probed: {why}"),
        Outcome::Unresolvable(e) => format!("name not found: {e}"),
        Outcome::Refused => "refused: nothing listens".into(),
        Outcome::TimedOut(stage) => format!("timed out ({stage})"),
        Outcome::Rejected => "rejected: closed before DONE".into(),
        Outcome::CompilerMissing(_) => "compiler missing on helper (exit 110)".into(),
        Outcome::CompileFailed { status, .. } => format!("compile failed (exit {status})"),
        Outcome::ProtocolError(e) => format!("protocol error: {e}"),
        Outcome::Object { arch, .. } if *arch == expected => format!("ok: {arch} object"),
        Outcome::Object { arch, .. } => format!("WRONG ARCH: {arch} object, need {expected}"),
    }
}

/// How to fix what the probe found on `host`.
pub fn advice(r: &HostReport, expected: Arch, carch: &str) -> Vec<String> {
    let t = &r.target;
    let at = format!("{}:{}", t.host, t.port);
    let mut out = Vec::new();
    // A name that compiled right proves the --allow list takes this machine.
    let worked = r.attempts.iter().find_map(|a| match a.outcome {
        Outcome::Object { arch, .. } if arch == expected => Some(a.compiler.as_str()),
        _ => None,
    });
    for a in &r.attempts {
        let line = match &a.outcome {
            // Harmless, see `notes`.
            Outcome::Rejected if worked.is_some() => continue,
            Outcome::Object { arch, .. } if *arch != expected => format!(
                "{at} compiled `{}` for {arch}, but this machine needs {expected}: on the helper, \
                 put the cross toolchain's bin first on distccd's PATH (for {carch}: `alarm-distcc \
                 helper` prints the commands; distccd-alarm uses /opt/x-tools8/aarch64-unknown-linux-gnu/bin \
                 for armv8 and /opt/x-tools7h/arm-unknown-linux-gnueabihf/bin for armv7h)",
                a.compiler
            ),
            Outcome::Rejected => format!(
                "{at} closed the connection for `{}`: its --allow list does not include this \
                 machine, or `{}` is not whitelisted in /usr/lib/distcc on the helper",
                a.compiler, a.compiler
            ),
            Outcome::Refused => {
                format!("nothing listens on {at}: start distccd there, check the port")
            }
            Outcome::TimedOut(stage) => format!(
                "{at} did not answer in time ({stage}): a firewall, a wrong address, or an overloaded helper"
            ),
            Outcome::CompilerMissing(err) => format!(
                "{at} whitelists `{}` but cannot run it: add its folder to distccd's PATH ({err})",
                a.compiler
            ),
            Outcome::CompileFailed { stderr, .. } => {
                format!("{at} failed to compile with `{}`: {stderr}", a.compiler)
            }
            Outcome::ProtocolError(e) => format!("{at} does not speak distcc's protocol: {e}"),
            Outcome::Unresolvable(e) => format!("{} cannot be resolved: {e}", t.host),
            _ => continue,
        };
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

pub fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Local => "local",
        Outcome::NotProbed(_) => "not_probed",
        Outcome::Unresolvable(_) => "unresolvable",
        Outcome::Refused => "refused",
        Outcome::TimedOut(_) => "timed_out",
        Outcome::Rejected => "rejected",
        Outcome::CompilerMissing(_) => "compiler_missing",
        Outcome::CompileFailed { .. } => "compile_failed",
        Outcome::ProtocolError(_) => "protocol_error",
        Outcome::Object { .. } => "object",
    }
}

/// What the probe found that needs no fix: a name the helper refuses next to the one the Pi
/// sends, which compiles right.
pub fn notes(r: &HostReport, expected: Arch) -> Vec<String> {
    let at = format!("{}:{}", r.target.host, r.target.port);
    let Some(worked) = r.attempts.iter().find_map(|a| match a.outcome {
        Outcome::Object { arch, .. } if arch == expected => Some(a.compiler.as_str()),
        _ => None,
    }) else {
        return Vec::new();
    };
    r.attempts
        .iter()
        .filter(|a| a.outcome == Outcome::Rejected)
        .map(|a| {
            format!(
                "{at} does not whitelist `{}`; that is fine: distcc on the Pi sends `{worked}`, \
                 which compiles right",
                a.compiler
            )
        })
        .collect()
}
