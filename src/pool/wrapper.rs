//! The wrapper for build tools that cannot join a jobserver (ninja before 1.13, samurai):
//! a POSIX sh script named like the tool, first on PATH for a pool run. It finds the real
//! program further down PATH and adds `-jN` when the pool asks for it, the caller gave no
//! `-j` of its own, and MAKEFLAGS is set (makepkg unsets it for `options=(!makeflags)`,
//! which asks for a serial build). Anywhere else it is the real program, unchanged, so a
//! cmake cache that recorded its path keeps working after the run.

use anyhow::{Context as _, Result};
use std::path::Path;

/// The tools the wrapper stands in for.
pub const NAMES: [&str; 2] = ["ninja", "samu"];

pub const SCRIPT: &str = r#"#!/bin/sh
# alarm-distcc build's job pool: this tool cannot join a jobserver, so it gets the pool's
# job count as -jN; outside a pool run it is the real program, unchanged.
name=${0##*/}
real=
old_ifs=$IFS
IFS=:
for dir in $PATH; do
  [ -n "$dir" ] || continue
  if [ -x "$dir/$name" ] && [ -f "$dir/$name" ] && ! [ "$dir/$name" -ef "$0" ]; then
    real=$dir/$name
    break
  fi
done
IFS=$old_ifs
if [ -z "$real" ]; then
  echo "$name: not found on PATH (alarm-distcc's job-pool wrapper looked past itself)" >&2
  exit 127
fi
if [ -n "${ALARM_DISTCC_POOL_JOBS-}" ] && [ -n "${MAKEFLAGS+set}" ]; then
  for arg in "$@"; do
    case $arg in
      -j*|-n|-t|-t*|--version|-h|--help) exec "$real" "$@" ;;
    esac
  done
  exec "$real" -j"$ALARM_DISTCC_POOL_JOBS" "$@"
fi
exec "$real" "$@"
"#;

/// Writes the wrapper into `dir` under each name, replacing an older one atomically.
pub fn install(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
    for name in NAMES {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|t| t == SCRIPT) {
            continue;
        }
        let tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::fs::write(tmp.path(), SCRIPT)?;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))?;
        tmp.persist(&path)
            .with_context(|| format!("installing {}", path.display()))?;
    }
    Ok(())
}
