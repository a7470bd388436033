#!/usr/bin/env bash
# An emulated Pi's root, as a tarball: a Debian bookworm arm64 or armhf userland made with
# mmdebstrap from Debian's packages, with what a Pi that builds packages has (gcc, make,
# makepkg, fakeroot, bsdtar, the distcc client), a build user `builder` (uid 2000), pacman's
# database folder (makepkg fails to start alpm without it), and ALARM's distcc masquerade
# folder /usr/lib/distcc/bin (Debian's distcc has none; makepkg puts it first on PATH only
# when it exists). Prints the tarball's path; makes it first unless the cache has it (named
# by a hash of this script, so a changed recipe makes a new one). Needs root and qemu-user
# registered with binfmt_misc (scripts/install-test-deps.sh). Used by tests/emulated_pi.rs
# and bench/pi-speedup.sh.
#   usage: scripts/pi-root.sh arm64|armhf
set -euo pipefail
arch=${1:-}
case $arch in
  arm64) chost=aarch64-unknown-linux-gnu ;;
  armhf) chost=armv7l-unknown-linux-gnueabihf ;;
  *) echo "usage: $0 arm64|armhf" >&2; exit 2 ;;
esac
packages=gcc,libc6-dev,make,distcc,makepkg,pacman-package-manager,fakeroot,libarchive-tools,file,xz-utils,zstd,passwd,procps,binutils
cache=${ALARM_DISTCC_PI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alarm-distcc-tests}
key=$(sha256sum "$0" | cut -c1-16)
tar=$cache/pi-$arch-$key.tar
mkdir -p "$cache"
# One maker at a time (tests run in parallel); the others wait and reuse it.
exec 9>"$tar.lock"
flock 9
if [[ ! -s $tar ]]; then
  echo "making the emulated $arch Pi (a few minutes, once): $tar" >&2
  rm -f "$tar.partial.tar"
  # shellcheck disable=SC2016 # $1 is mmdebstrap's, expanded by the hook's own shell
  timeout 1200 mmdebstrap --mode=root --variant=apt --quiet --architectures="$arch" \
    --include="$packages" \
    --customize-hook='chroot "$1" useradd -m -u 2000 -s /bin/bash builder' \
    --customize-hook='mkdir -p "$1/var/lib/pacman/local"' \
    --customize-hook='mkdir -p "$1/usr/lib/distcc/bin"' \
    --customize-hook="for n in cc gcc c++ g++ $chost-gcc $chost-g++; do ln -s ../../../bin/distcc \"\$1/usr/lib/distcc/bin/\$n\"; done" \
    bookworm "$tar.partial.tar" http://deb.debian.org/debian </dev/null >&2
  mv "$tar.partial.tar" "$tar"
fi
echo "$tar"
