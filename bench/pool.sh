#!/usr/bin/env bash
# What the job pool gains a Pi, measured on an emulated Pi of today's generation (Debian
# testing arm64 under qemu-user: makepkg 7.1, gcc 16, make 4.4, ninja 1.13; scripts/pi-root.sh)
# building a package with its real makepkg through `alarm-distcc build`: the meson + ninja
# test package (tests/pool-package, 17 C files; the default), or a real one from Debian's
# sources with an Arch-style PKGBUILD (tests/real-packages: pixman, json-c, cjson, zlib,
# lzo). Three builds a run: the Pi alone (`--baseline`'s first), through the helper before
# the pool (ALARM_DISTCC_NO_POOL=1: make alone gets -j, ninja runs its own cores + 2), and
# with it.
# The helper is a distccd in a Debian testing amd64 root (Debian's aarch64 cross gcc 16, the
# Pi's major version) on this machine's 127.0.0.1, listed as `add-host 127.0.0.1:PORT/6`
# beside `set-local 2` (-j8); LOCAL=N gives the Pi N slots instead (LOCAL=0: the Pi compiles
# only what a helper cannot, so build() shows what the Pi cannot hand off). ONLY_POOL=1 runs
# the build through the pool alone (no Pi-alone and no-pool builds).
# Each job on the helper first waits DELAY seconds (default 1): here the helper shares the
# emulated Pi's 2 cores, and a delay stands in for the real helper's compile time so the
# jobs that can run at once show. Prints, per run: wall time, build() time, the most distcc
# jobs at once in build(), the units on the helper, and where the rest of the run went
# (makepkg's other phases). Then, from the receipts, build() split at its first and last
# compile unit, the Pi's own CPU time in it (distcc's rusage of each job: preprocessing what
# the helpers compiled, links, units it compiled itself) and the floor the helpers cannot
# lower: the part before the first unit (configure, one check at a time) plus the CPU time
# of preprocessing and links spread over the Pi's cores. Last, from cpuacct cgroups (one
# for the Pi's build, one for the helper's distccd), all the CPU time the Pi's processes
# and the helper took from the first unit to the end of build(), how busy that kept the 2
# cores, and the floor read that way: everything the Pi's processes did there but the
# compiles it ran itself (make and libtool's shell count too, which distcc's rusage misses).
#
# Needs root (mount, chroot), qemu-user with binfmt_misc and mmdebstrap
# (scripts/install-test-deps.sh). Network: Debian's mirror for the roots once (cached).
#   usage: [LOCAL=N] [ONLY_POOL=1] bench/pool.sh [RUNS] [DELAY] [PACKAGE]
set -euo pipefail
# Its mounts and processes end with the run, even a killed one: as root it runs in mount and
# pid namespaces of its own (a SIGKILL leaves at most empty folders in /tmp).
if [[ $(id -u) -eq 0 && -z ${ALARM_DISTCC_BENCH_NS:-} ]]; then
  exec unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
    env ALARM_DISTCC_BENCH_NS=1 "$0" "$@"
fi
cd "$(dirname "$0")/.."
runs=${1:-1}
delay=${2:-1}
package=${3:-pool-package}
build_opts=""
case $package in
  pool-package) ;;
  json-c) build_opts=--keep-comments ;; # -Werror and /* fall through */ (tests/real-packages/json-c)
  pixman|cjson|zlib|lzo) ;;
  *) echo "usage: $0 [RUNS] [DELAY] [pool-package|pixman|json-c|cjson|zlib|lzo]" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "needs root (mount, chroot)" >&2; exit 1; }
corpus=${ALARM_DISTCC_CORPUS:-../shared/corpus}
stock=$corpus/stock/alarm-7.1.0-aarch64.makepkg.conf
[[ -f $stock ]] || { echo "no $stock (set ALARM_DISTCC_CORPUS)" >&2; exit 1; }

./scripts/build-arm.sh >/dev/null
tool=target/debian/aarch64-unknown-linux-gnu/release/alarm-distcc
pi_tar=$(./scripts/pi-root.sh arm64 testing)
helper_tar=$(./scripts/pi-root.sh amd64 testing)

work=$(mktemp -d)
chmod 755 "$work"
pi=$work/pi
helper=$work/helper
mkdir "$pi" "$helper"
daemon=""
sampler=""
# The Pi's and the helper's CPU time, each from a cpuacct cgroup of its own (cgroup v1, as
# here; without it the CPU columns are left out): what the Pi's cores did besides the
# compiles distcc's rusage counts (make, libtool's shell, qemu), and what the helper took of
# the same 2 cores.
cpuacct=/sys/fs/cgroup/cpuacct
cg_pi="" cg_helper=""
if [[ -w $cpuacct/cgroup.procs ]]; then
  cg_pi=$cpuacct/alarm-distcc-bench-pi cg_helper=$cpuacct/alarm-distcc-bench-helper
  mkdir -p "$cg_pi" "$cg_helper"
fi
cleanup() {
  [[ -n $sampler ]] && kill "$sampler" 2>/dev/null
  [[ -n $daemon ]] && kill -TERM -- "-$daemon" 2>/dev/null
  sleep 0.5
  [[ -n $cg_pi ]] && rmdir "$cg_pi" "$cg_helper" 2>/dev/null
  for m in "$pi/dev" "$pi/proc" "$pi" "$helper/dev" "$helper/proc" "$helper"; do
    mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done
  # Never into a mount left (this machine's /dev is bound in): only the folder's own disk.
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
for r in "$pi:$pi_tar" "$helper:$helper_tar"; do
  dir=${r%%:*} tar=${r#*:}
  mount -t tmpfs -o size=3g,mode=755 tmpfs "$dir"
  tar -xf "$tar" --numeric-owner -C "$dir"
  mount -t proc proc "$dir/proc"
  mount --bind /dev "$dir/dev"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chroot "$helper" sh -c "mkdir -p /opt/helper/bin && cd /opt/helper/bin &&
  printf '#!/bin/sh\nsleep $delay\nexec /usr/bin/aarch64-linux-gnu-gcc \"\$@\"\n' > aarch64-unknown-linux-gnu-gcc &&
  chmod 755 aarch64-unknown-linux-gnu-gcc && echo aarch64-unknown-linux-gnu-gcc > /opt/helper/cmdlist &&
  touch /var/log/distccd.log && chmod 666 /var/log/distccd.log"
# `(cg_exec CG CMD...)`: the subshell joins cgroup CG (if there is one) and becomes CMD.
cg_exec() {
  [[ -z $1 ]] || echo "$BASHPID" >"$1/cgroup.procs"
  shift
  exec "$@"
}
# In the foreground of a group of its own (its pid file would land where distccd's user
# cannot write): the clean-up ends the group.
(cg_exec "$cg_helper" setsid chroot "$helper" env -i DISTCC_CMDLIST=/opt/helper/cmdlist PATH=/opt/helper/bin:/usr/bin:/bin \
  distccd --daemon --no-detach --listen 127.0.0.1 --port "$port" --allow 127.0.0.1 --jobs 6 \
  --log-file /var/log/distccd.log --log-level info) </dev/null >/dev/null 2>&1 &
daemon=$!
sleep 1

cp "$stock" "$pi/etc/makepkg.conf"
cp "$tool" "$pi/usr/local/bin/alarm-distcc"
inpi() { chroot "$pi" env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C HOME=/root "$@"; }
local_slots=${LOCAL:-2}
jobs=$((local_slots + 6))
inpi alarm-distcc --yes set-local "$local_slots" >/dev/null 2>&1
inpi alarm-distcc --yes add-host "127.0.0.1:$port/6" >/dev/null 2>&1
inpi ln -sf aarch64-linux-gnu-gcc /usr/bin/aarch64-unknown-linux-gnu-gcc
mkdir -p "$pi/home/builder/pkg" "$pi/home/builder/state"
if [[ $package == pool-package ]]; then
  cp tests/pool-package/* "$pi/home/builder/pkg/"
else
  # shellcheck disable=SC2046 # the file holds two words: source package and version
  tarball=$(./scripts/debian-source.sh $(cat "tests/real-packages/$package/debian-source"))
  cp "tests/real-packages/$package"/* "$tarball" "$pi/home/builder/pkg/"
  cp tests/real-packages/arch-meson "$pi/usr/local/bin/arch-meson"
fi
chroot "$pi" chown -R builder: /home/builder

if [[ -n $cg_pi ]]; then
  # Every half second: the time, then the Pi's and the helper's CPU nanoseconds so far.
  while :; do
    echo "$(date +%s.%N) $(cat "$cg_pi/cpuacct.usage") $(cat "$cg_helper/cpuacct.usage")"
    sleep 0.5
  done >"$work/cpu.log" &
  sampler=$!
fi
build() { # $1: extra environment, $2: build's own options
  (cg_exec "$cg_pi" chroot "$pi" runuser -u builder -- env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C \
    HOME=/home/builder ALARM_DISTCC_STATE_DIR=/home/builder/state POOL_BUILD=meson $1 \
    bash -c "cd ~/pkg && alarm-distcc build $build_opts ${2:-} -f -C --nodeps --noconfirm") >/dev/null 2>&1
}
echo "$package on an emulated arm64 Pi (Debian testing), helper delay ${delay}s, -j$jobs ($local_slots local + 6 helper), $runs run(s) each"
# Each run: the Pi alone and distcc without the pool (one `build --baseline`), then distcc
# with the pool.
for ((i = 1; i <= runs; i++)); do
  [[ -n ${ONLY_POOL:-} ]] || build ALARM_DISTCC_NO_POOL=1 --baseline
  build ALARM_DISTCC_LABEL=pool
done
# The receipts stay for a closer look (the Pi's folder goes with the clean-up).
mkdir -p target && cp "$pi/home/builder/state/builds.jsonl" "target/bench-pool-$package.jsonl"
python3 - "$pi/home/builder/state/builds.jsonl" "$runs" "$(chroot "$pi" nproc)" "${ONLY_POOL:-}" \
  "${cg_pi:+$work/cpu.log}" <<'EOF'
import bisect, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
runs = int(sys.argv[2])
cores = int(sys.argv[3])
only_pool = bool(sys.argv[4])
# (time, the Pi's CPU seconds so far, the helper's), every half second.
samples = []
if sys.argv[5]:
    for line in open(sys.argv[5]):
        f = line.split()
        if len(f) == 3:
            samples.append((float(f[0]), int(f[1]) / 1e9, int(f[2]) / 1e9))
def cpu_at(t, which):
    """CPU seconds so far at time t, between the two samples around it."""
    times = [s[0] for s in samples]
    i = bisect.bisect_left(times, t)
    if i == 0 or i == len(samples):
        return None
    (t0, *a), (t1, *b) = samples[i - 1], samples[i]
    return a[which] + (b[which] - a[which]) * (t - t0) / (t1 - t0)
def phase(r, name):
    return next((p["seconds"] for p in r["phases"] if p["phase"] == name), 0.0)
print(f"{'run':<28} {'wall':>8} {'build()':>8} {'at once':>8} {'units out':>10}  other phases")
kinds = ["distcc, pool"] if only_pool else ["local-only", "distcc, no pool", "distcc, pool"]
# Each with the -j its receipt says it ran with.
labels = [f"{kinds[i % len(kinds)]} (-j{r.get('jobs') or '?'})" for i, r in enumerate(rows)]
for i, r in enumerate(rows):
    label = labels[i]
    at_once = r["most_at_once_by_phase"].get("build", 0)
    others = " ".join(f"{p['phase']} {p['seconds']:.0f}s" for p in r["phases"] if p["phase"] != "build")
    print(f"{label:<28} {r['wall_seconds']:>7.1f}s {phase(r, 'build'):>7.1f}s {at_once:>8} {r['units_on_helpers']:>4}/{r['units']:<5}  {others}")
print()
print(f"build() split, and the Pi's own CPU time in it ({cores} cores; seconds):")
print(f"{'run':<28} {'build()':>8} {'before':>7} {'units':>7} {'after':>7} {'preproc':>8} {'links':>7} {'own cc':>7} {'floor':>7} {'build/floor':>11} {'strict':>7}")
for i, r in enumerate(rows):
    s = r.get("build_step")
    if not s:
        continue
    w = s.get("pi_work", {})
    pre, link, own = w.get("preprocessing", 0.0), w.get("linking", 0.0), w.get("compiling", 0.0)
    floor = s["before_units"] + (pre + link) / cores
    b = phase(r, "build")
    # Read strictly: the compile stretch and what follows it, against the Pi's
    # preprocessing and links spread over its cores.
    pi_only = (pre + link) / cores
    strict = (s["units"] + s["after_units"]) / pi_only if pi_only else 0
    print(f"{labels[i]:<28} {b:>7.1f}s {s['before_units']:>6.1f}s {s['units']:>6.1f}s {s['after_units']:>6.1f}s {pre:>7.1f}s {link:>6.1f}s {own:>6.1f}s {floor:>6.1f}s {b / floor if floor else 0:>10.2f}x {strict:>6.2f}x")
if samples:
    print()
    print(f"From the first unit to the end of build(), all the CPU time of the Pi's processes (make, libtool, distcc, cpp, ld, qemu) and of the helper's ({cores} cores shared; seconds):")
    # The receipt's own reading (/proc/stat, the whole machine: here the Pi and the helper).
    print(f"{'run':<28} {'stretch':>8} {'Pi CPU':>7} {'own cc':>7} {'helper':>7} {'Pi busy':>8} {'both busy':>9} {'receipt':>8} {'floor':>7} {'build/floor':>11}")
    for i, r in enumerate(rows):
        s = r.get("build_step")
        if not s:
            continue
        start = r["started_unix"]
        for p in r["phases"]:
            if p["phase"] == "build":
                break
            start += p["seconds"]
        first = start + s["before_units"]
        end = first + s["units"] + s["after_units"]
        pi0, pi1 = cpu_at(first, 0), cpu_at(end, 0)
        h0, h1 = cpu_at(first, 1), cpu_at(end, 1)
        if None in (pi0, pi1, h0, h1):
            continue
        stretch = end - first
        pi, helper = pi1 - pi0, h1 - h0
        own = s.get("pi_work", {}).get("compiling", 0.0)
        # What the Pi cannot hand off: everything its processes did in the stretch but the
        # compiles it ran itself (which a helper could have run), over its cores.
        floor = s["before_units"] + (pi - own) / cores
        b = phase(r, "build")
        seen = s.get("cpu_busy")
        seen = f"{seen:.0%}" if seen is not None else "-"
        print(f"{labels[i]:<28} {stretch:>7.1f}s {pi:>6.1f}s {own:>6.1f}s {helper:>6.1f}s {pi / (cores * stretch):>7.0%} {(pi + helper) / (cores * stretch):>9.0%} {seen:>8} {floor:>6.1f}s {b / floor if floor else 0:>10.2f}x")
EOF
