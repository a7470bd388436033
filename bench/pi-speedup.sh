#!/usr/bin/env bash
# What a helper gains a Pi, measured on the emulated Pi (scripts/pi-root.sh: a real arm64 or
# armhf Debian userland under qemu-user): the same package built by the Pi's real makepkg
# alone (`!distcc`, -j2, the Pi's own cores) and through a real distccd on this machine's
# 127.0.0.1 (Debian's cross gcc) as alarm-distcc configured it (`set-local 0`, `add-host
# 127.0.0.1:PORT/4`), interleaved, RUNS each (at least 3). For each: min and median of the
# whole makepkg wall time and of the make step, the share of each makepkg phase, the
# helper's COMPILE_OK count, and the make step's ideal with a helper: what the Pi cannot
# hand off (its preprocessing, the distcc client, make, the link), from the same run's CPU
# time on the Pi's 2 cores plus the link's wall time. Here the helper runs on the same 2
# cores as the emulated Pi, so the bound this machine can reach also counts the helper's
# own compile CPU time (from /proc, its distccd processes' reaped children): the
# "shared-cores bound".
#
# The code: Lua 5.4.7's library (32 C files that include system headers) and a small driver
# (bench/pi-speedup/), fetched at run time from crates.io, where the `lua-src` crate carries
# Lua's sources: `cargo vendor` on a throwaway manifest with `lua-src = "=547.0.0"`. Nothing
# third-party is committed.
#
# Needs root (mount, chroot), qemu-user registered with binfmt_misc, mmdebstrap, distccd,
# the cross gcc (scripts/install-test-deps.sh installs all of it). Network: crates.io once
# (cached), Debian's mirror for the root once (cached); the build's traffic is 127.0.0.1.
#   usage: bench/pi-speedup.sh [arm64|armhf] [RUNS]
set -euo pipefail
# Its mounts and processes end with the run, even a killed one: as root it runs in mount and
# pid namespaces of its own (a SIGKILL leaves at most empty folders in /tmp).
if [[ $(id -u) -eq 0 && -z ${ALARM_DISTCC_BENCH_NS:-} ]]; then
  exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
    env ALARM_DISTCC_BENCH_NS=1 "$0" "$@"
fi
cd "$(dirname "$0")/.."
arch=${1:-arm64}
runs=${2:-3}
case $arch in
  arm64) cross=aarch64-linux-gnu-gcc rust=aarch64-unknown-linux-gnu stock=stock/alarm-7.1.0-aarch64.makepkg.conf carch=aarch64 ;;
  armhf) cross=arm-linux-gnueabihf-gcc rust=armv7-unknown-linux-gnueabihf stock=stock/alarm-7.1.0-armv7h.makepkg.conf carch=armv7h ;;
  *) echo "usage: $0 [arm64|armhf] [RUNS]" >&2; exit 2 ;;
esac
((runs >= 3)) || { echo "RUNS must be at least 3" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "needs root (mount, chroot)" >&2; exit 1; }
corpus=${ALARM_DISTCC_CORPUS:-../shared/corpus}
[[ -f $corpus/$stock ]] || { echo "no $corpus/$stock (set ALARM_DISTCC_CORPUS)" >&2; exit 1; }
cache=${ALARM_DISTCC_PI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/alarm-distcc-tests}
mkdir -p "$cache"

# Lua's sources, from crates.io through cargo.
lua=$cache/lua-5.4.7
if [[ ! -f $lua/lapi.c ]]; then
  fetch=$(mktemp -d)
  mkdir "$fetch/src"
  printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nlua-src = "=547.0.0"\n' >"$fetch/Cargo.toml"
  echo 'fn main() {}' >"$fetch/src/main.rs"
  (cd "$fetch" && cargo vendor -q vendor >/dev/null)
  rm -rf "$lua"
  cp -r "$fetch/vendor/lua-src/lua-5.4.7" "$lua"
  rm -rf "$fetch"
fi

./scripts/build-arm.sh >/dev/null
tool=target/debian/$rust/release/alarm-distcc
tarball=$(./scripts/pi-root.sh "$arch")

work=$(mktemp -d)
# distccd, started as root, runs as the distccd user: it must reach its log and folder.
chmod 755 "$work"
root=$work/root
mkdir "$root"
helper_pid=""
cleanup() {
  [[ -n $helper_pid ]] && kill -TERM -- "-$helper_pid" 2>/dev/null
  for m in "$root/dev" "$root/proc" "$root"; do
    mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done
  # Never into a mount left (this machine's /dev is bound in): only the folder's own disk.
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mount -t tmpfs -o size=3g,mode=755 tmpfs "$root"
tar -xf "$tarball" --numeric-owner -C "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp "$tool" "$root/usr/local/bin/alarm-distcc"
inpi() { chroot "$root" env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C HOME=/root "$@"; }

# ALARM's gcc has distcc's `<triple>-gcc` name, so the Pi's client sends it (see
# tests/emulated_pi.rs); Debian's root gets it as a symlink.
triple=$(inpi distcc --version | awk 'NR == 1 { print $3 }' | sed 's/-pc-/-/')
native=$(inpi sh -c 'gcc -dumpmachine')-gcc
inpi ln -s "$native" "/usr/bin/$triple-gcc"

# The helper: this machine's cross gcc under that name, 4 jobs, on 127.0.0.1 only.
hdir=$work/helper
mkdir -p "$hdir/bin"
chmod 777 "$hdir"
ln -s "$(command -v "$cross")" "$hdir/bin/$triple-gcc"
echo "$triple-gcc" >"$hdir/cmdlist"
: >"$hdir/distccd.log"
chmod 666 "$hdir/distccd.log"
# A random port; another one if it is taken.
for _try in 1 2 3; do
  port=$((36000 + RANDOM % 2000))
  setsid env DISTCC_CMDLIST="$hdir/cmdlist" PATH="$hdir/bin:/usr/bin:/bin" TMPDIR="$hdir" \
    distccd --daemon --no-detach --listen 127.0.0.1 --port "$port" --allow 127.0.0.0/8 \
    --jobs 4 --log-file "$hdir/distccd.log" --log-level info </dev/null >/dev/null 2>&1 &
  helper_pid=$!
  for _ in $(seq 50); do (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  kill -TERM -- "-$helper_pid" 2>/dev/null || true
  helper_pid=""
done
[[ -n $helper_pid ]] || { echo "the helper distccd did not start" >&2; exit 1; }

# The two configs: the stock one with the Pi's two cores, and the one alarm-distcc writes.
cp "$corpus/$stock" "$root/etc/makepkg.alone.conf"
sed -i 's/^#MAKEFLAGS="-j2"/MAKEFLAGS="-j2"/' "$root/etc/makepkg.alone.conf"
grep -q '^MAKEFLAGS="-j2"' "$root/etc/makepkg.alone.conf"
cp "$corpus/$stock" "$root/etc/makepkg.helper.conf"
inpi alarm-distcc --config /etc/makepkg.helper.conf --yes set-local 0 >/dev/null 2>&1
inpi alarm-distcc --config /etc/makepkg.helper.conf --yes add-host "127.0.0.1:$port/4" >/dev/null 2>&1
inpi alarm-distcc --config /etc/makepkg.helper.conf probe --timeout 30 >"$work/probe.txt" || {
  cat "$work/probe.txt" >&2
  echo "the probe failed the helper" >&2
  exit 1
}

pkg=$root/home/builder/bench
mkdir -p "$pkg"
cp bench/pi-speedup/{PKGBUILD,Makefile,luarun.c} "$pkg/"
tar -cf "$pkg/lua.tar" -C "$(dirname "$lua")" --transform 's,^lua-5.4.7,lua,' lua-5.4.7
chown -R 2000:2000 "$pkg"
units=$(($(ls "$lua"/*.c | wc -l) + 1))

# The helper's CPU seconds so far: user + system of its compilers, which the distccd
# processes reap (cutime/cstime in /proc/PID/stat, in clock ticks).
helper_cpu() {
  local ticks=0 p f
  for p in $(pgrep -s "$helper_pid" || true); do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    # after "pid (comm)": fields 3.. ; utime stime cutime cstime are 14-17 overall
    set -- $f
    ticks=$((ticks + ${12} + ${13} + ${14} + ${15}))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}

# One build; its makepkg lines get this machine's clock as they arrive.
build() { # <mode> <run>
  local mode=$1 n=$2 log=$work/$1-$2.log before start end
  rm -rf "$pkg/src" "$pkg/pkg" "$pkg"/*.pkg.tar* "$root/home/builder/.distcc"
  before=$(wc -l <"$hdir/distccd.log")
  local cpu0
  cpu0=$(helper_cpu)
  start=$EPOCHREALTIME
  chroot "$root" runuser -u builder -- env -i PATH=/usr/bin:/bin LANG=C HOME=/home/builder \
    bash -c "cd ~/bench && makepkg --config /etc/makepkg.$mode.conf -f --nodeps --noconfirm" 2>&1 |
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$log"
  end=$EPOCHREALTIME
  ls "$pkg"/bench-lua-5.4.7-1-"$carch".pkg.tar* >/dev/null || { cat "$log" >&2; exit 1; }
  [[ $(chroot "$root" /home/builder/bench/src/luarun) == 5050 ]] || { echo "luarun failed" >&2; exit 1; }
  sleep 0.5 # distccd logs a job just after answering it
  # This run's jobs on the helper, and the CPU time the helper spent on them.
  local remote helper_secs
  remote=$(tail -n +$((before + 1)) "$hdir/distccd.log" | grep -c COMPILE_OK || true)
  helper_secs=$(awk -v a="$cpu0" -v b="$(helper_cpu)" 'BEGIN { printf "%.3f", b - a }')
  awk -v mode="$mode" -v start="$start" -v end="$end" -v remote="$remote" -v hsecs="$helper_secs" '
    function at(p) { return (p in t) ? t[p] : "" }
    / ==> Making package/ && !("begin" in t) { t["begin"] = $1 }
    / ==> Starting build\(\)/ { t["build"] = $1 }
    / ==> Entering fakeroot/ { t["fakeroot"] = $1 }
    / ==> Creating package/ { t["compress"] = $1 }
    / ==> Finished making/ { t["done"] = $1 }
    /bench-make: real/ { real = $4; cpu = $6 + $8 }
    /bench-link-seconds:/ { link = $3 }
    END {
      printf "%s %.2f %.2f %.2f %.3f %d %.2f %.2f %.2f %.2f %.2f %.2f\n", mode, end - start, real, cpu, link, remote,
        t["build"] - start, t["fakeroot"] - t["build"], t["compress"] - t["fakeroot"],
        t["done"] - t["compress"], end - t["done"], hsecs
    }' "$log"
}

results=$work/results
echo "emulated $arch Pi, $units units, $runs runs each, interleaved" >&2
for n in $(seq "$runs"); do
  for mode in alone helper; do
    build "$mode" "$n" | tee -a "$results" >&2
  done
done

# mode total make cpu link remote startup+sources build package compress end helper-seconds
summary() { # <mode> <label>
  grep "^$1 " "$results" | awk -v units="$units" -v label="$2" '
    { total[NR] = $2; make[NR] = $3; cpu[NR] = $4; link[NR] = $5; remote[NR] = $6; hs[NR] = $12
      start += $7; pkg += $9; comp += $10; tail += $11; bld += $8 }
    function sort(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }
    function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END {
      n = NR
      # The ideal make step: the Pi CPU work spread on its 2 cores, the link on one.
      for (i = 1; i <= n; i++) ideal[i] = link[i] + (cpu[i] - link[i]) / 2
      # Here the helper shares the Pi'"'"'s 2 cores: its own compile time counts too.
      for (i = 1; i <= n; i++) shared[i] = link[i] + (cpu[i] - link[i] + hs[i]) / 2
      for (i = 1; i <= n; i++) { ratio[i] = make[i] / ideal[i]; sratio[i] = make[i] / shared[i] }
      sort(total, n); sort(make, n); sort(ideal, n); sort(ratio, n); sort(remote, n); sort(shared, n); sort(sratio, n)
      T = start + bld + pkg + comp + tail
      printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | %.1f | %.2f | %d of %d | %d%% / %d%% / %d%% / %d%% |\n",
        label, total[1], med(total, n), make[1], med(make, n),
        med(ideal, n), med(ratio, n), med(shared, n), med(sratio, n), remote[1], units,
        100 * start / T, 100 * bld / T, 100 * pkg / T, 100 * (comp + tail) / T
    }'
}
echo
echo "| build | makepkg min s | makepkg median s | make min s | make median s | ideal make s | make / ideal | shared-cores bound s | make / bound | units on the helper | start-up / build / package / compress |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
summary alone "alone (-j2)"
summary helper "helper /4 (-j4)"
awk '
  $1 == "alone" { a[++na] = $2; am[na] = $3 } $1 == "helper" { h[++nh] = $2; hm[nh] = $3 }
  END {
    for (i = 1; i <= na; i++) { sa += a[i]; sam += am[i] } for (i = 1; i <= nh; i++) { sh += h[i]; shm += hm[i] }
    printf "\nspeed-up (mean of runs): whole makepkg %.2fx, make step %.2fx\n", sa / sh, sam / shm
  }' "$results"
