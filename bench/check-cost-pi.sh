#!/usr/bin/env bash
# What the bash check costs an edit on the emulated Pi: bench/check-cost.sh's commands run by
# the Pi's own programs (the aarch64 alarm-distcc, Debian testing's bash and sed, all under
# qemu-user), timed from a bash inside the Pi, the commands taking turns. Also times a bare
# start of bash and of the tool, to split what a reading costs there.
# Needs root (a chroot in a mount namespace of its own, no network), qemu-user with
# binfmt_misc, the cross toolchain of scripts/build-arm.sh.
#   usage: sudo bench/check-cost-pi.sh [RUNS]   (default 40; about 25 s per 40)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-40}
((EUID == 0)) || { echo "run as root (a chroot): sudo $0" >&2; exit 2; }
if [[ -z ${ALARM_DISTCC_BENCH_NS:-} ]]; then
  # Its own mount namespace (the mounts go with it however the run ends) and no network.
  export ALARM_DISTCC_BENCH_NS=1
  exec unshare --mount --propagation private --net "$0" "$@"
fi
./scripts/build-arm.sh >/dev/null
bin=target/debian/aarch64-unknown-linux-gnu/release/alarm-distcc
pi_tar=$(./scripts/pi-root.sh arm64 testing)
CORPUS=${ALARM_DISTCC_CORPUS:-../shared/corpus}
FILE=$CORPUS/stock/alarm-7.1.0-aarch64.makepkg.conf
[[ -f $FILE ]] || FILE=fixtures/alarm-aarch64-stock.conf
work=$(mktemp -d)
trap 'umount -R "$work/root/proc" 2>/dev/null || :; rm -rf --one-file-system "$work"' EXIT
mkdir "$work/root"
tar -xf "$pi_tar" -C "$work/root"
root=$work/root
install -m 755 "$bin" "$root/usr/local/bin/alarm-distcc"
install -m 644 "$FILE" "$root/tmp/stock.conf"
install -d -o 2000 -g 2000 "$root/tmp/w"  # the root's build user, `builder`
mount -t proc proc "$root/proc"
install -m 644 bench/add-host.sed "$root/tmp/edit.sed"
# Inside the Pi: each command in turn, the file restored before each, 3 rounds of warm-up;
# prints one line per command: its name, then each run's wall time in µs.
cat > "$root/tmp/loop.sh" <<'EOS'
conf=/tmp/w/makepkg.conf
names=(checked no-verify sed bash-read bash-start tool-start)
declare -A t
run() {
  case $1 in
    checked) alarm-distcc -c $conf --yes add-host 192.168.1.100:3636/6 localhost/2 ;;
    no-verify) alarm-distcc -c $conf --yes --no-verify add-host 192.168.1.100:3636/6 localhost/2 ;;
    sed) sed -i -f /tmp/edit.sed $conf ;;
    bash-read) bash --norc --noprofile -c "source $conf" ;;
    bash-start) bash --norc --noprofile -c : ;;
    tool-start) alarm-distcc --version ;;
  esac
}
for ((i = 0; i < $1 + 3; i++)); do
  for n in "${names[@]}"; do
    cp /tmp/stock.conf $conf
    s=$EPOCHREALTIME
    run "$n" >/dev/null 2>&1 || { echo "$n failed" >&2; exit 1; }
    e=$EPOCHREALTIME
    if [[ $n == checked && $(grep -c '^DISTCC_HOSTS=' $conf) != 1 ]]; then
      echo "the checked edit was not made" >&2
      exit 1
    fi
    ((i < 3)) || t[$n]+="$((${e/./} - ${s/./})) "
  done
done
for n in "${names[@]}"; do echo "$n ${t[$n]}"; done
EOS
echo "# the bash check's cost on the emulated Pi — $(date -u +%F), arm64 Debian testing under qemu-user on $(nproc) $(uname -m) CPUs, $runs runs"
chroot --userspec=2000:2000 "$root" env -i HOME=/tmp/w PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
  bash /tmp/loop.sh "$runs" > "$work/times"
python3 - "$work/times" <<'EOP'
import statistics, sys
r = {}
for line in open(sys.argv[1]):
    name, *us = line.split()
    r[name] = statistics.median(int(x) for x in us) / 1000
print("| command | median |")
print("|---|---|")
for name, ms in r.items():
    print(f"| {name} | {ms:.1f} ms |")
floor = r["sed"] + r["bash-read"]
print(f"| sed -i + one bash read | {floor:.1f} ms |")
print()
print(f"checked edit / (sed -i + one bash read) = {r['checked'] / floor:.2f}x")
print(f"the check itself (checked - no-verify) = {r['checked'] - r['no-verify']:.1f} ms "
      f"= {(r['checked'] - r['no-verify']) / r['bash-read']:.2f} bash reads")
EOP
