#!/usr/bin/env bash
# Installs what the tests drive for real: distccd (probe, discover), setpriv/runuser (tests
# as root), bash (the oracle), Debian's ARM cross gcc and g++ (plus gcc 11 for aarch64, a
# helper whose version differs), and for the end-to-end build makepkg with pacman,
# qemu-user-static, fakeroot, bsdtar and xz; setfacl and setfattr (the write keeps ACLs and
# extended attributes). Debian/Ubuntu via apt-get (with
# sudo when not root); elsewhere it only lists what is missing, and the tests that need it
# say they are skipped.
set -euo pipefail
# command (or file) -> Debian package
need=(
  distccd:distcc
  distcc:distcc
  setpriv:util-linux
  runuser:util-linux
  useradd:passwd
  bash:bash
  cc:gcc
  makepkg:makepkg
  pacman:pacman-package-manager
  aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu
  arm-linux-gnueabihf-gcc:gcc-arm-linux-gnueabihf
  aarch64-linux-gnu-g++:g++-aarch64-linux-gnu
  arm-linux-gnueabihf-g++:g++-arm-linux-gnueabihf
  aarch64-linux-gnu-gcc-11:gcc-11-aarch64-linux-gnu
  aarch64-linux-gnu-g++-11:g++-11-aarch64-linux-gnu
  /usr/aarch64-linux-gnu/lib/libc.a:libc6-dev-arm64-cross
  /usr/arm-linux-gnueabihf/lib/libc.a:libc6-dev-armhf-cross
  qemu-aarch64-static:qemu-user-static
  qemu-arm-static:qemu-user-static
  fakeroot:fakeroot
  bsdtar:libarchive-tools
  xz:xz-utils
  setfacl:acl
  setfattr:attr
)
missing=()
for pair in "${need[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if [[ $cmd == /* ]]; then present() { [[ -e $1 ]]; }; else present() { command -v "$1" >/dev/null 2>&1; }; fi
  if ! present "$cmd" && [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  # A foreign index that fails (seen: bookworm-security armhf) must not stop the install.
  $sudo apt-get update -qq || echo "apt-get update reported an error; going on with the indexes it loaded" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "not installed (the tests that need them are skipped): ${missing[*]}" >&2
fi
