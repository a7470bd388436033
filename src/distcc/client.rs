//! The compiler name this machine's distcc client really sends. In makepkg's masquerade mode
//! the client is called as `cc`/`gcc`/`c++`/`g++`; distcc 3.4 then rewrites `gcc` to
//! `<triple>-gcc` (and `g++` to `<triple>-g++`), where the triple is its own build host
//! (`distcc --version`, `-pc-` dropped), but only when that name exists on PATH
//! (`dcc_gcc_rewrite_fqn`, compile.c). ALARM's gcc has `aarch64-unknown-linux-gnu-gcc`;
//! Debian's arm64 gcc does not, so a Debian client sends plain `gcc`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The names a build's compiles reach the helpers with, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentNames {
    pub cc: String,
    pub cxx: String,
    /// The client's own triple, when distcc is installed here.
    pub triple: Option<String>,
    /// How the names were found, for the probe's output.
    pub why: String,
}

/// distcc's triple from its `--version` line: `distcc 3.4 x86_64-pc-linux-gnu` gives
/// `x86_64-linux-gnu` (3.4 strips `-pc-` before the rewrite).
pub fn triple_of_version(line: &str) -> Option<String> {
    let word = line.split_whitespace().nth(2)?;
    (word.matches('-').count() >= 2).then(|| word.replace("-pc-", "-"))
}

/// A program of that name on PATH that is not a masquerade link (to distcc or ccache).
fn on_path(name: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    std::env::split_paths(path)
        .filter(|d| {
            !d.to_string_lossy().contains("distcc") && !d.to_string_lossy().contains("ccache")
        })
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn distcc_version(distcc: &Path) -> Option<String> {
    let out = Command::new(distcc)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(str::to_string)
}

/// What the client on this machine sends, read from `path` (the PATH a build runs with):
/// distcc's triple and whether `<triple>-gcc` exists there. Without distcc here, the
/// config's CHOST names are the best guess, and `why` says so.
pub fn sent_names(path: &std::ffi::OsStr, chost: Option<&str>) -> SentNames {
    let distcc = std::env::split_paths(path)
        .map(|d| d.join("distcc"))
        .find(|p| p.is_file());
    let Some(triple) = distcc
        .as_deref()
        .and_then(distcc_version)
        .and_then(|v| triple_of_version(&v))
    else {
        return match chost {
            Some(c) => SentNames {
                cc: format!("{c}-gcc"),
                cxx: format!("{c}-g++"),
                triple: None,
                why: format!(
                    "distcc is not installed here, so the names are guessed from CHOST ({c}): \
                     what the Pi sends depends on its own distcc"
                ),
            },
            None => SentNames {
                cc: "gcc".into(),
                cxx: "g++".into(),
                triple: None,
                why: "distcc is not installed here and CHOST is not set: plain gcc".into(),
            },
        };
    };
    let rewritten = |base: &str| {
        let fqn = format!("{triple}-{base}");
        match on_path(&fqn, path) {
            Some(_) => (fqn, true),
            None => (base.to_string(), false),
        }
    };
    let (cc, cc_rewritten) = rewritten("gcc");
    let (cxx, _) = rewritten("g++");
    let why = if cc_rewritten {
        format!("distcc here ({triple}) rewrites gcc to {cc}, which is on PATH")
    } else {
        format!(
            "distcc here ({triple}) sends plain gcc: there is no {triple}-gcc on PATH to \
             rewrite it to"
        )
    };
    SentNames {
        cc,
        cxx,
        triple: Some(triple),
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_triple_is_distccs_own_without_pc() {
        assert_eq!(
            triple_of_version("distcc 3.4 x86_64-pc-linux-gnu").as_deref(),
            Some("x86_64-linux-gnu")
        );
        assert_eq!(
            triple_of_version("distcc 3.4 aarch64-unknown-linux-gnu").as_deref(),
            Some("aarch64-unknown-linux-gnu")
        );
        assert_eq!(triple_of_version("distcc 3.4"), None);
    }
}
