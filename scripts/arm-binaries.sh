#!/usr/bin/env bash
# The Pi's binaries: builds them (scripts/build-arm.sh), runs each under qemu-user on the
# stock ALARM config (--version, show, --dry-run add-host), checks the output is the x86_64
# binary's byte for byte, prints the sizes; then runs the whole test suite for both targets
# under qemu-user through binfmt_misc (scripts/install-test-deps.sh registers it).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-arm.sh
export RUSTC=/usr/bin/rustc CARGO_TARGET_DIR=target/debian
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc

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

# The whole suite on each target: the test binaries and the tool they run are ARM, run by
# qemu-user through binfmt_misc; the helpers, compilers and makepkg they drive stay this
# machine's. A test that cannot mean anything there says so ("skipped ... on").
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 && -e /proc/sys/fs/binfmt_misc/qemu-arm ]] || {
  echo "qemu-aarch64/qemu-arm are not registered with binfmt_misc (scripts/install-test-deps.sh)" >&2
  exit 1
}
export ALARM_DISTCC_CORPUS=${ALARM_DISTCC_CORPUS:-../shared/corpus}
for target in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
  echo "test suite on $target (qemu-user):" >&2
  log=$work/tests-$target.log
  : >"$log"
  # --tests: every test target; no doctests (there are none, and rustdoc for the target would be
  # rustup's, which has no ARM std). Built first; cargo's JSON messages name each test binary.
  /usr/bin/cargo test --locked --tests --target "$target" --no-run --message-format=json \
    >"$work/built-$target.json" 2>"$work/built-$target.err" || {
    tail -50 "$work/built-$target.err" >&2
    echo "the test suite did not build for $target" >&2
    exit 1
  }
  mapfile -t binaries < <(grep -o '"executable":"[^"]*/deps/[^"]*"' "$work/built-$target.json" |
    cut -d'"' -f4 | sort -u)
  ((${#binaries[@]} > 0)) || {
    echo "no test binary was built for $target" >&2
    exit 1
  }
  # Each test binary on its own, bounded and run again when it hangs under qemu-user
  # (scripts/run-bounded.sh says why). The longest takes about a minute here.
  ./scripts/run-bounded.sh "$log" "$PWD/target/debian/$target/debug" "${binaries[@]}" || {
    echo "the test suite failed on $target (log above)" >&2
    exit 1
  }
  grep -E '^skipped ' "$log" | sort | uniq -c >&2 || true
  awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "  %d passed, %d failed, %d ignored\n", p, f, i }' "$log" >&2
done
