#!/usr/bin/env bash
# Builds alarm-distcc's release binary for the Pi's two architectures (aarch64, armv7
# hard-float) and for this machine, with Debian's Rust toolchain and its ARM standard
# libraries (rustc-web, cargo-web, libstd-rust-web-dev:arm64/:armhf; rustup cannot fetch
# targets here), linked by Debian's cross gcc, into target/debian/<triple>/release. Installs
# the toolchain on Debian/Ubuntu (as root or with sudo) when it is missing.
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

