#!/usr/bin/env bash
# Runs test binaries one at a time, each bounded: one still running after the bound
# (RUN_BOUND, default 5m) is stopped with what it left running and run again, up to 3
# times, and says so. Each binary's last attempt goes into LOG, as cargo test would print it.
# Exit 1 when a binary failed or hung 3 times, naming it.
#
# Why: under qemu-user a test binary's fork sometimes never reaches exec (seen 2026-12-03 in
# tests/wizard.rs, its threads waiting on a futex; 2026-12-05 in tests/build_receipts.rs,
# asleep with its parent gone), and the binary hangs. Such a fork is in a process group of its
# own (the spawn's), out of timeout's reach, with SIGTERM blocked by qemu.
#
# usage: run-bounded.sh LOG BUILT_DIR BINARY...
#   BUILT_DIR: the folder of the build (target/.../debug); what still runs from its deps/
#   or its alarm-distcc after a hang is stopped.
set -euo pipefail
(($# >= 3)) || {
  echo "usage: $0 LOG BUILT_DIR BINARY..." >&2
  exit 2
}
log=$1 built=${2%/}
shift 2
bound=${RUN_BOUND:-5m}
one=$(mktemp)
trap 'rm -f "$one"' EXIT

# Stops what still runs from the build, naming each with its state and parent first, so a
# hang says where it was stuck (a fork of the test binary, or the tool itself). Read through
# /proc: no procps needed.
stop_left() {
  local p cmdline state
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    cmdline=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
    [[ $cmdline == *"$built/deps/"* || $cmdline == *"$built/alarm-distcc "* ]] || continue
    state=$(awk '/^(State|PPid|Threads):/ { printf "%s %s ", $1, $2 }' "$p/status" 2>/dev/null) || true
    echo "  stopping ${p#/proc/} (${state% }): ${cmdline:0:160}" >&2
    kill -KILL "${p#/proc/}" 2>/dev/null || true
  done
}

failed=()
for bin in "$@"; do
  for attempt in 1 2 3; do
    status=0
    timeout --kill-after=10s "$bound" "$bin" >"$one" 2>&1 || status=$?
    ((status == 124 || status == 137)) || break
    echo "$(basename "$bin") hung (attempt $attempt of 3, bound $bound); still running then:" >&2
    grep -E 'has been running for over' "$one" | tail -5 >&2 || true
    stop_left
  done
  { echo "     Running $bin"; cat "$one"; } >>"$log"
  if ((status != 0)); then
    grep -E '^test .* FAILED|panicked|^error' "$one" >&2 || tail -50 "$one" >&2
    failed+=("$(basename "$bin")")
  fi
done
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
