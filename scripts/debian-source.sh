#!/usr/bin/env bash
# Fetches the upstream tarball of a Debian source package (`apt-get source --download-only`,
# Debian bookworm's deb-src), caches it, and prints its path. A private apt folder holds the
# deb-src line and the source lists, so the machine's own apt setup is left alone.
# Usage: scripts/debian-source.sh PACKAGE VERSION      e.g. pixman 0.42.2, zlib 1.2.13.dfsg
# (VERSION as in the tarball's name: Debian's epoch, as zlib's 1:, is found by itself)
set -euo pipefail
pkg=$1 version=$2
cache=${ALARM_DISTCC_PI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alarm-distcc-tests}
apt=$cache/apt-src
out=$cache/sources
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$out"
tarball=$(ls "$out/${pkg}_${version}.orig.tar."* 2>/dev/null | head -1 || true)
if [[ -n $tarball ]]; then
  echo "$tarball"
  exit 0
fi
echo "deb-src http://deb.debian.org/debian bookworm main" > "$apt/sources.list"
opts=(-q -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
      -o APT::Sandbox::User=root)
exec 3>&1 1>&2
apt-get "${opts[@]}" update >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the upstream tarball is used; Debian's own patches may be gone from the registry.
(cd "$work" && apt-get "${opts[@]}" source --download-only "$pkg=$(
  apt-cache "${opts[@]}" showsrc "$pkg" | sed -n "s/^Version: \(\([0-9]*:\)\?${version//./\\.}-.*\)/\1/p" | head -1
)") >/dev/null 2>&1 || true
tarball=$(ls "$work/${pkg}_${version}.orig.tar."* 2>/dev/null | head -1 || true)
[[ -n $tarball ]] || { echo "no upstream tarball of $pkg $version from Debian's sources" >&2; exit 1; }
mv "$tarball" "$out/"
echo "$out/$(basename "$tarball")" >&3
