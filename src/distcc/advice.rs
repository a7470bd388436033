//! What a probe's outcome means for the user, and how to fix it: shared by probe, doctor,
//! the wizard and sort --measure.

use crate::distcc::elf::Arch;
use crate::distcc::protocol::{Attempt, HostReport, JobKind, Outcome};

/// A helper under WSL2 in its default NAT mode listens inside a VM: the Pi reaches it only
/// through a port forward on the Windows side.
const WSL_FORWARD: &str = "a WSL2 helper in its default NAT mode also needs the port \
                           forwarded on Windows (`alarm-distcc helper --format powershell` \
                           prints the commands)";

pub fn describe(o: &Outcome, expected: Arch) -> String {
    match o {
        Outcome::Local => "local (runs here, no daemon)".into(),
        Outcome::NotProbed(why) => format!("not probed: {why}"),
        Outcome::Unresolvable(e) => format!("name not found: {e}"),
        Outcome::Refused => "refused: nothing listens".into(),
        Outcome::Unreachable(why) => format!("unreachable: {why}"),
        Outcome::TimedOut(stage) => format!("timed out ({stage})"),
        Outcome::Rejected => "rejected: closed before DONE".into(),
        Outcome::CompilerMissing(_) => "compiler missing on helper (exit 110)".into(),
        Outcome::CompileFailed { status, .. } => format!("compile failed (exit {status})"),
        Outcome::ProtocolError(e) => format!("protocol error: {e}"),
        Outcome::DamagedObject(e) => format!("returned a damaged object ({e})"),
        Outcome::Object {
            arch,
            undefined_builtins,
            ..
        } if *arch == expected && !undefined_builtins.is_empty() => format!(
            "UNLINKABLE: {arch} object calling {}",
            crate::ui::escape(&undefined_builtins.join(", "))
        ),
        Outcome::Object { arch, .. } if *arch == expected => format!("ok: {arch} object"),
        Outcome::Object { arch, .. } => format!("WRONG ARCH: {arch} object, need {expected}"),
    }
}

fn is_decisive_bare(a: &Attempt) -> bool {
    a.job
        .as_ref()
        .is_some_and(|j| j.decisive && j.kind == JobKind::Bare)
}

fn is_informational(a: &Attempt) -> bool {
    a.job.as_ref().is_some_and(|j| !j.decisive)
}

fn right_object(a: &Attempt, expected: Arch) -> bool {
    matches!(a.outcome, Outcome::Object { arch, .. } if arch == expected)
}

/// How to fix what the bare compile with the name this machine's distcc sends found on a
/// helper. (The jobs with flags and C++ are judged in `compat`.)
pub fn advice(r: &HostReport, expected: Arch, carch: &str) -> Vec<String> {
    let t = &r.target;
    let at = format!("{}:{}", t.host, t.port);
    let mut out = Vec::new();
    // Another name that compiled right proves the --allow list takes this machine.
    let other_worked = r
        .attempts
        .iter()
        .find(|a| is_informational(a) && right_object(a, expected))
        .map(|a| a.compiler.as_str());
    let other_arch = r.attempts.iter().find_map(|a| match a.outcome {
        Outcome::Object { arch, .. } if is_informational(a) && arch != expected => {
            Some((a.compiler.as_str(), arch))
        }
        _ => None,
    });
    for a in r.attempts.iter().filter(|a| is_decisive_bare(a)) {
        let line = match &a.outcome {
            Outcome::Object { arch, .. } if *arch != expected => format!(
                "{at} compiled `{}` for {arch}, but this machine needs {expected}: on the helper, \
                 put the cross toolchain's bin first on distccd's PATH (for {carch}: `alarm-distcc \
                 helper` prints the commands; distccd-alarm uses /opt/x-tools8/aarch64-unknown-linux-gnu/bin \
                 for armv8 and /opt/x-tools7h/arm-unknown-linux-gnueabihf/bin for armv7h)",
                a.compiler
            ),
            Outcome::Rejected => match (other_worked, other_arch) {
                (None, Some((other, arch))) => format!(
                    "{at} takes `{other}`, which builds {arch} there, but closes the connection \
                     for `{}`, the name the Pi's distcc sends: install the {carch} cross \
                     toolchain on the helper, put its bin first on distccd's PATH and whitelist \
                     `{}` (`alarm-distcc helper` prints the commands)",
                    a.compiler, a.compiler
                ),
                (Some(other), _) => format!(
                    "{at} takes `{other}` but closes the connection for `{}`, the name the Pi's \
                     distcc sends for every job: whitelist `{}` on the helper \
                     (/usr/lib/distcc or DISTCC_CMDLIST; `alarm-distcc helper` prints the commands)",
                    a.compiler, a.compiler
                ),
                (None, None) => format!(
                    "{at} closed the connection for `{}`: its --allow list does not include this \
                     machine, or `{}` is not whitelisted in /usr/lib/distcc on the helper",
                    a.compiler, a.compiler
                ),
            },
            Outcome::Refused => format!(
                "nothing listens on {at}: start distccd there, check the port; {WSL_FORWARD}"
            ),
            Outcome::Unreachable(why) => format!(
                "{at} cannot be reached ({why}): the helper is off or asleep, on another \
                 network, or its address changed"
            ),
            Outcome::TimedOut(stage) => format!(
                "{at} did not answer in time ({stage}): a firewall, a wrong address, or an \
                 overloaded helper; {WSL_FORWARD}"
            ),
            Outcome::CompilerMissing(err) => format!(
                "{at} whitelists `{}` but cannot run it: add its folder to distccd's PATH ({err})",
                a.compiler
            ),
            Outcome::CompileFailed { stderr, .. } => {
                format!("{at} failed to compile with `{}`: {stderr}", a.compiler)
            }
            Outcome::ProtocolError(e) => format!("{at} does not speak distcc's protocol: {e}"),
            Outcome::DamagedObject(e) => format!(
                "{at} returned a damaged object ({e}): its compiler or its distccd is broken; \
                 reinstall them on the helper"
            ),
            Outcome::Unresolvable(e) => format!("{} cannot be resolved: {e}", t.host),
            _ => continue,
        };
        // A closed connection on another arch's distccd-alarm port: most likely that is why.
        let line = match (
            &a.outcome,
            crate::distcc::alarm::port_mismatch(t.port, carch),
        ) {
            (Outcome::Rejected, Some(why)) => format!("{line}; likely cause: {why}"),
            _ => line,
        };
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// Why the helper could not be talked to at all (off, asleep, gone, nothing listening),
/// if that is the outcome: then no answer says anything about its compiler.
pub fn not_reached(o: &Outcome) -> Option<String> {
    match o {
        Outcome::Refused => Some("connection refused: nothing listens on the port".into()),
        Outcome::Unreachable(why) => Some(why.clone()),
        Outcome::TimedOut("connect") => {
            Some("no answer to connect: off, asleep or filtered".into())
        }
        Outcome::Unresolvable(e) => Some(format!("name not found: {e}")),
        _ => None,
    }
}

pub fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Local => "local",
        Outcome::NotProbed(_) => "not_probed",
        Outcome::Unresolvable(_) => "unresolvable",
        Outcome::Refused => "refused",
        Outcome::Unreachable(_) => "unreachable",
        Outcome::TimedOut(_) => "timed_out",
        Outcome::Rejected => "rejected",
        Outcome::CompilerMissing(_) => "compiler_missing",
        Outcome::CompileFailed { .. } => "compile_failed",
        Outcome::ProtocolError(_) => "protocol_error",
        Outcome::DamagedObject(_) => "damaged_object",
        Outcome::Object { .. } => "object",
    }
}

/// What the probe found that needs no fix: how a name the Pi does not send fared, next to
/// the one it sends, which compiles right.
pub fn notes(r: &HostReport, expected: Arch) -> Vec<String> {
    let at = format!("{}:{}", r.target.host, r.target.port);
    let Some(sent) = r
        .attempts
        .iter()
        .find(|a| is_decisive_bare(a) && right_object(a, expected))
        .map(|a| a.compiler.as_str())
    else {
        return Vec::new();
    };
    r.attempts
        .iter()
        .filter(|a| is_informational(a) && !right_object(a, expected))
        .map(|a| {
            let how = match &a.outcome {
                Outcome::Rejected => "is not whitelisted".to_string(),
                Outcome::Object { arch, .. } => format!("builds {arch} there"),
                other => format!("gave: {}", describe(other, expected)),
            };
            format!(
                "{at}: `{}` {how}; that is fine: the Pi's distcc sends `{sent}`, which \
                 compiles right",
                a.compiler
            )
        })
        .collect()
}
