//! The compiler name this machine's distcc client really sends. In makepkg's masquerade mode
//! the client is called as `cc`/`gcc`/`c++`/`g++`; distcc 3.4 then rewrites `gcc` to
//! `<triple>-gcc` (and `g++` to `<triple>-g++`), where the triple is its own build host
//! (`distcc --version`, `-pc-` dropped), but only when that name exists on PATH
//! (`dcc_gcc_rewrite_fqn`, compile.c). ALARM's gcc has `aarch64-unknown-linux-gnu-gcc`;
//! Debian's arm64 gcc does not, so a Debian client sends plain `gcc`.

use crate::distcc::elf::Arch;
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

/// The triple of the distcc client found on `path` (its `--version` line), if there is one.
pub fn client_triple(path: &std::ffi::OsStr) -> Option<String> {
    let distcc = std::env::split_paths(path)
        .map(|d| d.join("distcc"))
        .find(|p| p.is_file())?;
    distcc_version(&distcc).and_then(|v| triple_of_version(&v))
}

/// The architecture a triple's first word names (`aarch64-…`, `armv7l-…`, `x86_64-…`).
pub fn arch_of_triple(triple: &str) -> Option<Arch> {
    let cpu = triple.split('-').next()?;
    Some(match cpu {
        "aarch64" | "arm64" => Arch::Aarch64,
        c if c.starts_with("arm") && triple.ends_with("hf") => Arch::Arm { hard_float: true },
        c if c.starts_with("arm") => Arch::Arm { hard_float: false },
        "x86_64" | "amd64" => Arch::X86_64,
        "i386" | "i486" | "i586" | "i686" => Arch::I386,
        "riscv64" => Arch::Riscv64,
        _ => return None,
    })
}

/// The config's CHOST names, when the client here cannot tell (no distcc, or a client of
/// another architecture than the Pi's).
pub fn chost_names(chost: Option<&str>, why: String) -> SentNames {
    let chost = chost.filter(|c| !c.contains('@') && !c.is_empty());
    SentNames {
        cc: chost.map_or("gcc".into(), |c| format!("{c}-gcc")),
        cxx: chost.map_or("g++".into(), |c| format!("{c}-g++")),
        triple: None,
        why,
    }
}

/// What a client of `triple` sends when a build runs with `path`: `<triple>-gcc` when that
/// name exists there, else plain `gcc` (and the same for g++).
pub fn sent_names(triple: &str, path: &std::ffi::OsStr) -> SentNames {
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
        triple: Some(triple.to_string()),
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

    #[test]
    fn a_triple_names_its_architecture() {
        assert_eq!(
            arch_of_triple("aarch64-unknown-linux-gnu"),
            Some(Arch::Aarch64)
        );
        assert_eq!(
            arch_of_triple("armv7l-unknown-linux-gnueabihf"),
            Some(Arch::Arm { hard_float: true })
        );
        assert_eq!(
            arch_of_triple("arm-unknown-linux-gnueabihf"),
            Some(Arch::Arm { hard_float: true })
        );
        assert_eq!(arch_of_triple("x86_64-linux-gnu"), Some(Arch::X86_64));
        assert_eq!(arch_of_triple("mips-linux-gnu"), None);
    }
}
