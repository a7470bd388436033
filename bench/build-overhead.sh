#!/usr/bin/env bash
# What `alarm-distcc build` adds to a build: the same package (tests/e2e-package, 4 C files)
# built by makepkg directly and through `alarm-distcc build`, interleaved, RUNS each, with
# the same real helper (a distccd on 127.0.0.1 serving Debian's aarch64 cross gcc under
# ALARM's name) and the same config. Reports min and median wall time of each, the
# difference, and the wrapper's own peak memory (VmHWM of the alarm-distcc process itself,
# read from /proc while it runs: makepkg and the compilers are not counted).
#   usage: bench/build-overhead.sh [RUNS]   (run as root: builds run as the user alarmbuild)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
[[ $(id -u) -eq 0 ]] || { echo "run as root (the builds run as the user alarmbuild)" >&2; exit 1; }
corpus=${ALARM_DISTCC_CORPUS:-../shared/corpus}
cargo build --release -q
work=$(mktemp -d)
chmod 755 "$work"
helper_pid=""
cleanup() { [[ -n $helper_pid ]] && kill -TERM -- "-$helper_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
id alarmbuild >/dev/null 2>&1 || useradd -m -s /bin/bash alarmbuild
name=aarch64-unknown-linux-gnu-gcc
mkdir -p "$work"/{helper/bin,masq,local,pkg,state}
ln -s "$(command -v aarch64-linux-gnu-gcc)" "$work/helper/bin/$name"
echo "$name" >"$work/helper/cmdlist"
ln -s /usr/bin/distcc "$work/masq/$name"
ln -s "$(command -v aarch64-linux-gnu-gcc)" "$work/local/$name"
cp tests/e2e-package/* "$work/pkg/"
cp target/release/alarm-distcc "$work/alarm-distcc"
: >"$work/helper/log"
chmod -R a+rwX "$work"
# A random port; another one if it is taken.
for _try in 1 2 3; do
  port=$((37000 + RANDOM % 2000))
  setsid env DISTCC_CMDLIST="$work/helper/cmdlist" PATH="$work/helper/bin:/usr/bin:/bin" \
    distccd --daemon --no-detach --listen 127.0.0.1 --port "$port" --allow 127.0.0.0/8 --jobs 4 \
    --log-file "$work/helper/log" --log-level error </dev/null >/dev/null 2>&1 &
  helper_pid=$!
  for _ in $(seq 50); do (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  kill -TERM -- "-$helper_pid" 2>/dev/null || true
  helper_pid=""
done
[[ -n $helper_pid ]] || { echo "the helper distccd did not start" >&2; exit 1; }
cp "$corpus/stock/alarm-7.1.0-aarch64.makepkg.conf" "$work/makepkg.conf"
"$work/alarm-distcc" --config "$work/makepkg.conf" --yes add-host "127.0.0.1:$port/4" >/dev/null 2>&1
"$work/alarm-distcc" --config "$work/makepkg.conf" --yes set-local 0 >/dev/null 2>&1
chown -R alarmbuild "$work"

as_user() {
  runuser -u alarmbuild -- env -i HOME="$work" PATH="$work/masq:$work/local:/usr/bin:/bin" LANG=C \
    CC=$name DISTCC_NO_REWRITE_CROSS=1 ALARM_DISTCC_STATE_DIR="$work/state" DISTCC_DIR="$work/dd" "$@"
}
mkdir -p "$work/dd" && chown alarmbuild "$work/dd"
results=$work/results
plain() {
  local t0=$EPOCHREALTIME
  as_user makepkg --config "$work/makepkg.conf" -f -C --nodeps --noconfirm >/dev/null 2>&1
  echo "makepkg $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }') 0" >>"$results"
}
wrapped() {
  local t0=$EPOCHREALTIME
  as_user "$work/alarm-distcc" --config "$work/makepkg.conf" build -f -C --nodeps --noconfirm >/dev/null 2>&1
  echo "wrapped $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }') 0" >>"$results"
}
# Peak memory in runs of their own: polling /proc costs CPU the timed runs must not pay.
memory() {
  local pid hwm=0 p h
  as_user "$work/alarm-distcc" --config "$work/makepkg.conf" build -f -C --nodeps --noconfirm >/dev/null 2>&1 &
  pid=$!
  # The wrapper is runuser's grandchild; its VmHWM is read until it exits.
  while kill -0 "$pid" 2>/dev/null; do
    for p in $(pgrep -f "$work/alarm-distcc --config" || true); do
      [[ $(readlink "/proc/$p/exe" 2>/dev/null) == "$work/alarm-distcc" ]] || continue
      h=$(awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
      ((h > hwm)) && hwm=$h
    done
    sleep 0.02
  done
  wait "$pid"
  echo "memory 0 $hwm" >>"$results"
}
cd "$work/pkg"
# ABBA order, so a drift of the machine weighs on both alike.
for n in $(seq "$runs"); do
  if ((n % 2)); then plain; wrapped; else wrapped; plain; fi
done
for n in 1 2 3; do memory; done
# The wrapper's fixed cost alone: the same command with a makepkg that does nothing.
mkdir -p "$work/noop"
printf '#!/bin/sh\nexit 0\n' >"$work/noop/makepkg"
chmod 755 "$work/noop/makepkg"
for n in $(seq 20); do
  t0=$EPOCHREALTIME
  runuser -u alarmbuild -- env -i HOME="$work" PATH="$work/noop:/usr/bin:/bin" \
    ALARM_DISTCC_STATE_DIR="$work/state-noop" "$work/alarm-distcc" --config "$work/makepkg.conf" build >/dev/null 2>&1
  echo "noop $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }') 0" >>"$results"
done
t0=$EPOCHREALTIME
for n in $(seq 20); do runuser -u alarmbuild -- true; done
runuser_cost=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print (b - a) / 20 }')
awk '
  function sort(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
  function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  $1 == "makepkg" { m[++nm] = $2 } $1 == "wrapped" { w[++nw] = $2 } $1 == "memory" && $3 > hwm { hwm = $3 }
  $1 == "noop" { z[++nz] = $2 }
  END {
    sort(m, nm); sort(w, nw); sort(z, nz)
    printf "| makepkg alone | %.3f | %.3f |\n| alarm-distcc build | %.3f | %.3f |\n", m[1], med(m, nm), w[1], med(w, nw)
    printf "\nmedian difference: %.3f s (%.1f%%), min difference %.3f s; wrapper peak memory (VmHWM): %.1f MiB\n",
      med(w, nw) - med(m, nm), 100 * (med(w, nw) - med(m, nm)) / med(m, nm), w[1] - m[1], hwm / 1024
    fixed = med(z, nz) - rc
    printf "fixed cost (no-op makepkg, median of %d, runuser excluded): %.4f s = %.2f%% of the median build\n",
      nz, fixed, 100 * fixed / med(m, nm)
  }' rc="$runuser_cost" "$results"
