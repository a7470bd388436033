#!/usr/bin/env bash
# Installs what the tests drive for real: distccd (probe, discover), setpriv/runuser (tests
# as root), sudo, bash (the oracle), make, ninja, meson and cmake (the job pool), Debian's ARM cross gcc and g++ (plus gcc 11 for aarch64, a
# helper whose version differs), and for the end-to-end build makepkg with pacman,
# qemu-user-static, fakeroot, bsdtar and xz; setfacl and setfattr (the write keeps ACLs and
# extended attributes); for the emulated Pi (tests/emulated_pi.rs) mmdebstrap, qemu-user
# registered with binfmt_misc, and the tool's own ARM binaries (scripts/build-arm.sh, with
# Debian's Rust toolchain). Debian/Ubuntu via apt-get (with sudo when not root); elsewhere
# it only lists what is missing, and the tests that need it say they are skipped.
set -euo pipefail
# command (or file) -> Debian package
need=(
  distccd:distcc
  distcc:distcc
  setpriv:util-linux
  runuser:util-linux
  useradd:passwd
  # The tool run by a user through sudo, as a Pi's owner edits /etc/makepkg.conf (tests/under_sudo.rs).
  sudo:sudo
  visudo:sudo
  bash:bash
  cc:gcc
  make:make
  # The job pool's build systems (tests/job_pool.rs): this machine's generation of each.
  ninja:ninja-build
  meson:meson
  cmake:cmake
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
  readelf:binutils
  # tests/faults.rs holds the tool in a syscall to interrupt it at a chosen point.
  strace:strace
  mmdebstrap:mmdebstrap
  # mmdebstrap's Recommends that a foreign-architecture root needs (installed without them):
  # arch-test tells whether this machine can run arm64/armhf programs (binfmt).
  arch-test:arch-test
)
missing=()
for pair in "${need[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if [[ $cmd == /* ]]; then present() { [[ -e $1 ]]; }; else present() { command -v "$1" >/dev/null 2>&1; }; fi
  if ! present "$cmd" && [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
if ((${#missing[@]} == 0)); then
  :
elif command -v apt-get >/dev/null 2>&1; then
  # A foreign index that fails (seen: bookworm-security armhf) must not stop the install.
  $sudo apt-get update -qq || echo "apt-get update reported an error; going on with the indexes it loaded" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "not installed (the tests that need them are skipped): ${missing[*]}" >&2
fi

# qemu-user for ARM programs started by any process (inside a chroot too): a container has
# binfmt_misc unmounted and nothing registered.
if command -v qemu-aarch64-static >/dev/null 2>&1 && [[ -z $sudo || -n $(command -v sudo) ]]; then
  mountpoint -q /proc/sys/fs/binfmt_misc ||
    $sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
  for a in aarch64 arm; do
    if [[ -w /proc/sys/fs/binfmt_misc/register || -n $sudo ]] && [[ ! -e /proc/sys/fs/binfmt_misc/qemu-$a ]]; then
      $sudo sh -c "cat /usr/lib/binfmt.d/qemu-$a.conf > /proc/sys/fs/binfmt_misc/register" ||
        echo "could not register qemu-$a with binfmt_misc: the emulated Pi tests are skipped" >&2
    fi
  done
fi

# The tool's own ARM binaries, for the emulated Pi.
if command -v apt-get >/dev/null 2>&1; then
  "$(dirname "$0")/build-arm.sh"
fi
