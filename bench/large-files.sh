#!/usr/bin/env bash
# Time and peak memory of the release binary on the large and once-quadratic shapes of
# issue 17: a 16.4 MB file of short assignments, 1 MiB of them, and 32,000 `MAKEFLAGS+=`
# lines, and 10,000 variables (the most accepted); `--dry-run add-host`, bash check included. GNU time's peak RSS, best of 3 runs.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=$PWD/target/release/alarm-distcc
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head='BUILDENV=(!distcc color)\nDISTCC_HOSTS=""\nMAKEFLAGS="-j2"\n'
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
head = 'BUILDENV=(!distcc color)\nDISTCC_HOSTS=""\nMAKEFLAGS="-j2"\n'
def short(path, size):
    with open(path, 'w') as f:
        f.write(head)
        i = 0
        while f.tell() < size:
            f.write('V%d=%d\n' % (i, i)); i += 1
short(d + '/short-16m.conf', 16_400_000)
short(d + '/short-1m.conf', (1 << 20) - 64)
with open(d + '/vars-10k.conf', 'w') as f:
    f.write(head)
    for i in range(9990):
        f.write('V%d=%d\n' % (i, i))
with open(d + '/appends-32k.conf', 'w') as f:
    f.write(head)
    for _ in range(32000):
        f.write('MAKEFLAGS+=" -j2"\n')
with open(d + '/stock.conf', 'w') as f:
    f.write(open('fixtures/alarm-aarch64-stock.conf').read())
PY
printf '%-18s %9s %9s %10s  %s\n' file bytes seconds peak_KiB result
for f in stock short-16m short-1m vars-10k appends-32k; do
  best=""
  for _ in 1 2 3; do
    out=$( { /usr/bin/time -f '%e %M' "$bin" --config "$dir/$f.conf" --dry-run add-host 127.0.0.9:3632/4 >/dev/null 2>"$dir/err"; } 2>&1 || true)
    line=$(tail -1 "$dir/err")
    secs=${line% *} kib=${line#* }
    if [[ -z $best ]] || awk "BEGIN{exit !($secs < ${best%% *})}"; then best="$secs $kib"; fi
  done
  result=$(grep -m1 -E '^(error|dry run)' "$dir/err" | cut -c1-60)
  printf '%-18s %9s %9s %10s  %s\n' "$f" "$(stat -c %s "$dir/$f.conf")" ${best% *} ${best#* } "$result"
done
