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
  # --tests: every test target; no doctests (there are none, and rustdoc for the target would be
  # rustup's, which has no ARM std).
  # Bounded: once (2026-12-03) a test binary's fork under qemu-user never reached exec (the
  # child of a pty spawn in tests/wizard.rs, both its threads waiting on a futex) and the suite
  # hung. A suite takes about 6 minutes here; one that hangs is stopped at 15 (timeout signals
  # its whole process group) and run once more, and says so.
  for attempt in 1 2; do
    status=0
    timeout --kill-after=10s 15m /usr/bin/cargo test --locked --tests --target "$target" >"$log" 2>&1 ||
      status=$?
    ((status == 124 || status == 137)) || break
    echo "the suite on $target hung (attempt $attempt); still running then:" >&2
    grep -E 'has been running for over' "$log" | tail -5 >&2 || true
    # A test's fork stuck before exec is in a process group of its own (the spawn's), out
    # of timeout's reach, with SIGTERM blocked by qemu: end what still runs this target's
    # test binaries or the tool they start (read through /proc: no procps needed).
    # Each is named first with its state and parent, so a hang says where it was stuck (a
    # fork of the test binary that never reached exec, or the tool itself).
    built=$PWD/target/debian/$target/debug
    for p in /proc/[0-9]*; do
      cmdline=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
      [[ $cmdline == *"$built/deps/"* || $cmdline == *"$built/alarm-distcc "* ]] || continue
      state=$(awk '/^(State|PPid|Threads):/ { printf "%s %s ", $1, $2 }' "$p/status" 2>/dev/null) || true
      echo "  stopping ${p#/proc/} (${state% }): ${cmdline:0:160}" >&2
      kill -KILL "${p#/proc/}" 2>/dev/null || true
    done
  done
  if ((status != 0)); then
    grep -E '^test .* FAILED|panicked|^error' "$log" >&2 || tail -50 "$log" >&2
    echo "the test suite failed on $target (log above)" >&2
    exit 1
  fi
  grep -E '^skipped ' "$log" | sort | uniq -c >&2 || true
  awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "  %d passed, %d failed, %d ignored\n", p, f, i }' "$log" >&2
done
