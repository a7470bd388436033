//! The build tools on this machine's PATH and their versions, read from `--version` as the
//! build's processes will find them.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version(pub Vec<u32>);

impl Version {
    /// The first word of `text` that starts with a digit, as dot-separated numbers
    /// (`GNU Make 4.4.1` -> 4.4.1, `1.13.2.git` -> 1.13.2).
    pub fn parse(text: &str) -> Option<Version> {
        let word = text
            .split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
        let parts: Vec<u32> = word
            .split('.')
            .map_while(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect();
        (!parts.is_empty()).then_some(Version(parts))
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        let get = |i: usize| self.0.get(i).copied().unwrap_or(0);
        (get(0), get(1)) >= (major, minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
    pub version: Version,
}

impl Tool {
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// The tools a package's build may use, each as found first on PATH.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tools {
    pub make: Option<Tool>,
    pub ninja: Option<Tool>,
    pub samu: Option<Tool>,
}

impl Tools {
    /// Looks each up on `path` (skipping `skip`, the pool's own wrapper folder).
    pub fn find(path: &std::ffi::OsStr, skip: Option<&Path>) -> Tools {
        let find = |name: &str| {
            let exe = std::env::split_paths(path)
                .filter(|d| skip.is_none_or(|s| !same_dir(d, s)))
                .map(|d| d.join(name))
                .find(|p| is_executable(p))?;
            let out = version_output(&exe)?;
            // samurai prints no version of its own; it counts as present.
            let version = Version::parse(&out).unwrap_or(Version(vec![0]));
            Some(Tool {
                name: name.into(),
                path: exe,
                version,
            })
        };
        Tools {
            make: find("make"),
            ninja: find("ninja"),
            samu: find("samu"),
        }
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The first line of `PROGRAM --version` (stderr too: samurai prints usage there), bounded
/// in time: an emulated Pi is slow, a broken program must not hang the build's start.
fn version_output(exe: &Path) -> Option<String> {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(exe);
    cmd.arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("LC_ALL", "C");
    let (mut child, crate::bounded::Ended::Exited(_)) =
        crate::bounded::run(&mut cmd, Duration::from_secs(10)).ok()?
    else {
        return None;
    };
    let mut text = String::new();
    child
        .stdout
        .take()?
        .take(4096)
        .read_to_string(&mut text)
        .ok()?;
    if text.trim().is_empty() {
        child
            .stderr
            .take()?
            .take(4096)
            .read_to_string(&mut text)
            .ok()?;
    }
    Some(text.lines().next().unwrap_or("").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_the_tools_print_them() {
        assert_eq!(
            Version::parse("GNU Make 4.4.1"),
            Some(Version(vec![4, 4, 1]))
        );
        assert_eq!(Version::parse("1.13.2"), Some(Version(vec![1, 13, 2])));
        assert_eq!(Version::parse("1.12.0.git"), Some(Version(vec![1, 12, 0])));
        assert_eq!(Version::parse("GNU Make 4.3"), Some(Version(vec![4, 3])));
        assert_eq!(Version::parse("usage: samu [-C dir]"), None);
        assert!(Version(vec![4, 4]).at_least(4, 4));
        assert!(!Version(vec![4, 3, 90]).at_least(4, 4));
        assert!(Version(vec![1, 13, 0]).at_least(1, 13));
        assert!(!Version(vec![1, 9]).at_least(1, 13));
    }
}
