#!/usr/bin/env bash
# Builds the release binary for the Pi's two architectures (aarch64, armv7 hard-float) with
# Debian's Rust toolchain and its ARM standard libraries (rustc-web, cargo-web,
# libstd-rust-web-dev:arm64/:armhf; rustup cannot fetch targets here), links them with
# Debian's cross gcc, runs each under qemu-user on the stock ALARM config (--version, show,
# --dry-run add-host), checks the output is the x86_64 binary's byte for byte, and prints
# the sizes; then runs the library's tests for both targets under qemu-user. Installs what it
# needs on Debian/Ubuntu (as root or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"

toolchain_ready() {
  [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] &&
    [[ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu/lib && -d /usr/lib/rustlib/armv7-unknown-linux-gnueabihf/lib ]] &&
    [[ -e /lib/ld-linux-aarch64.so.1 && -e /lib/ld-linux-armhf.so.3 ]] &&
    command -v aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc qemu-aarch64-static qemu-arm-static file >/dev/null
}
if ! toolchain_ready; then
  for arch in arm64 armhf; do
    dpkg --print-foreign-architectures | grep -qx "$arch" || $sudo dpkg --add-architecture "$arch"
  done
  # A foreign index that fails to download (seen: bookworm-security armhf, size mismatch)
  # must not stop the rest: the packages below are also in the indexes that did load.
  $sudo apt-get update -qq || echo "apt-get update reported an error; going on with the indexes it loaded" >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    rustc-web cargo-web libstd-rust-web-dev:arm64 libstd-rust-web-dev:armhf \
    gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross \
    libc6:arm64 libc6:armhf qemu-user-static file >/dev/null
fi

# Debian's cargo and rustc, not rustup's (which has no ARM standard library here).
export RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=target/debian
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
echo "toolchain: $(/usr/bin/rustc --version)" >&2
/usr/bin/cargo build --release --locked -q
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
  /usr/bin/cargo build --release --locked -q --target "$target"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The same commands on the same copy of the config, each binary in turn. The ARM binaries
# use the multiarch glibc (libc6:arm64/:armhf) through qemu; `qemu -L <cross sysroot>` hangs
# on them here.
run_all() { # <label> <runner...>
  local label=$1; shift
  cp fixtures/alarm-aarch64-stock.conf "$work/makepkg.conf"
  {
    "$@" --version
    "$@" --config "$work/makepkg.conf" --color never show
    "$@" --config "$work/makepkg.conf" --color never --dry-run add-host 127.0.0.1:3636/6
  } >"$work/$label.out" 2>&1
  cmp -s fixtures/alarm-aarch64-stock.conf "$work/makepkg.conf" || {
    echo "$label: --dry-run changed the file" >&2
    exit 1
  }
}
native=target/debian/release/alarm-distcc
run_all x86_64 "$native"
run_all aarch64 timeout 60 qemu-aarch64-static target/debian/aarch64-unknown-linux-gnu/release/alarm-distcc
run_all armv7 timeout 60 qemu-arm-static target/debian/armv7-unknown-linux-gnueabihf/release/alarm-distcc
for arch in aarch64 armv7; do
  if ! diff -u "$work/x86_64.out" "$work/$arch.out"; then
    echo "the $arch binary's output differs from the x86_64 binary's" >&2
    exit 1
  fi
done
grep -q "checked with bash" "$work/aarch64.out" || {
  echo "the aarch64 binary did not run the bash check:" >&2
  cat "$work/aarch64.out" >&2
  exit 1
}
printf '%-52s %10s  %s\n' binary bytes file
for b in "$native" target/debian/aarch64-unknown-linux-gnu/release/alarm-distcc \
  target/debian/armv7-unknown-linux-gnueabihf/release/alarm-distcc; do
  printf '%-52s %10s  %s\n' "${b#target/debian/}" "$(stat -c %s "$b")" "$(file -b "$b" | cut -d, -f1-2)"
done
echo "ARM binaries: built, run under qemu, output identical to x86_64" >&2

# The library's own tests on each target, run under qemu-user. (The integration tests in
# tests/ drive the x86_64 helpers, compilers and makepkg of this machine; they run natively.)
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER=qemu-arm-static
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
  echo "library tests on $target (qemu-user):" >&2
  /usr/bin/cargo test --locked -q --lib --target "$target" 2>&1 | grep -E '^test result|FAILED|panicked'
done
