#!/usr/bin/env bash
# An emulated Pi's root, as a tarball: a Debian arm64 or armhf userland made with mmdebstrap
# from Debian's packages, with what a Pi that builds packages has (gcc, make, ninja, meson,
# cmake, makepkg, fakeroot, bsdtar, the distcc client), a build user `builder` (uid 2000),
# pacman's database folder (makepkg fails to start alpm without it), and ALARM's distcc
# masquerade folder /usr/lib/distcc/bin (Debian's distcc has none; makepkg puts it first on
# PATH only when it exists). SUITE picks the generation: `testing` is today's Arch Linux ARM
# (makepkg 7.1, gcc 16, make 4.4, ninja 1.13: the shared reference jobs.md), `bookworm` the
# one before (makepkg 6.0, gcc 12, make 4.3, ninja 1.11). ARCH `amd64` makes the helper's
# root instead: the same tools for this machine plus distccd and Debian's ARM cross gcc of
# that generation (a helper whose gcc has the Pi's major version).
# Prints the tarball's path; makes it first unless the cache has it (named by the arch, the
# suite and a hash of this script, so a changed recipe makes a new one). Needs root, and
# for arm64/armhf qemu-user registered with binfmt_misc (scripts/install-test-deps.sh). Used
# by tests/emulated_pi.rs, tests/job_pool.rs and bench/pi-speedup.sh.
#   usage: scripts/pi-root.sh arm64|armhf|amd64 [bookworm|testing]
set -euo pipefail
arch=${1:-}
suite=${2:-bookworm}
packages=gcc,libc6-dev,make,ninja-build,meson,cmake,distcc,makepkg,pacman-package-manager,fakeroot,libarchive-tools,file,xz-utils,zstd,passwd,procps,binutils
case $arch in
  arm64) chost=aarch64-unknown-linux-gnu ;;
  armhf) chost=armv7l-unknown-linux-gnueabihf ;;
  amd64) chost=x86_64-pc-linux-gnu
    packages=$packages,gcc-aarch64-linux-gnu,gcc-arm-linux-gnueabihf,g++-aarch64-linux-gnu,g++-arm-linux-gnueabihf ;;
  *) echo "usage: $0 arm64|armhf|amd64 [bookworm|testing]" >&2; exit 2 ;;
esac
case $suite in
  bookworm|testing) ;;
  *) echo "usage: $0 arm64|armhf|amd64 [bookworm|testing]" >&2; exit 2 ;;
esac
cache=${ALARM_DISTCC_PI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alarm-distcc-tests}
key=$(sha256sum "$0" | cut -c1-16)
tar=$cache/pi-$arch-$suite-$key.tar
mkdir -p "$cache"
# One maker at a time (tests run in parallel); the others wait and reuse it.
exec 9>"$tar.lock"
flock 9
if [[ ! -s $tar ]]; then
  echo "making the $suite $arch root (a few minutes, once): $tar" >&2
  rm -f "$tar.partial.tar"
  # The registry's testing can be past its Release file's Valid-Until (jobs.md).
  # shellcheck disable=SC2016 # $1 is mmdebstrap's, expanded by the hook's own shell
  timeout 1200 mmdebstrap --mode=root --variant=apt --quiet --architectures="$arch" \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$packages" \
    --customize-hook='chroot "$1" useradd -m -u 2000 -s /bin/bash builder' \
    --customize-hook='mkdir -p "$1/var/lib/pacman/local"' \
    --customize-hook='mkdir -p "$1/usr/lib/distcc/bin"' \
    --customize-hook="for n in cc gcc c++ g++ $chost-gcc $chost-g++; do ln -s ../../../bin/distcc \"\$1/usr/lib/distcc/bin/\$n\"; done" \
    "$suite" "$tar.partial.tar" http://deb.debian.org/debian </dev/null >&2
  mv "$tar.partial.tar" "$tar"
fi
echo "$tar"
