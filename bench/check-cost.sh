#!/usr/bin/env bash
# What the bash check costs an edit, side by side in one hyperfine run: alarm-distcc's edit
# with the check, the same edit with --no-verify, the `sed -i` one-liner, and one plain bash
# read of the file (`bash -c 'source FILE'`). The ratio the check is judged by is the edit
# against sed plus one bash read (the least any edit that is read back by bash costs).
# BEFORE=PATH adds another build of alarm-distcc (an earlier commit's) to the same run.
# AS_USER=NAME (run as root) runs the five commands as that user, as a per-user config's edit
# runs; as root, the check runs bash as `nobody`.
# Needs: cargo, hyperfine, python3 (and runuser for AS_USER). No network.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "missing hyperfine (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release -q
CORPUS=${ALARM_DISTCC_CORPUS:-../shared/corpus}
FILE=$CORPUS/stock/alarm-7.1.0-aarch64.makepkg.conf
[[ -f $FILE ]] || FILE=fixtures/alarm-aarch64-stock.conf
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Everything the run reads lives in WORK, so that AS_USER can read it.
install -m 755 target/release/alarm-distcc "$WORK/alarm-distcc"
BIN=$WORK/alarm-distcc
if [[ -n ${BEFORE:-} ]]; then
  install -m 755 "$BEFORE" "$WORK/before"
  BEFORE=$WORK/before
fi
NAME=$(basename "$FILE")
install -m 644 "$FILE" "$WORK/stock.conf"
FILE=$WORK/stock.conf
CONF=$WORK/makepkg.conf
RUN=()
if [[ -n ${AS_USER:-} ]]; then
  chown -R "$AS_USER:" "$WORK"
  RUN=(runuser -u "$AS_USER" --)
fi
UID_RUN=$("${RUN[@]}" id -u)
install -m 644 bench/add-host.sed "$WORK/edit.sed"
echo "# the bash check's cost — $(date -u +%F), $(uname -m), $(nproc) CPUs, as uid $UID_RUN$( ((UID_RUN == 0)) && echo ' (the check runs as nobody)')"
echo "# file: $NAME; bash $(bash -c 'echo $BASH_VERSION')"
"${RUN[@]}" hyperfine -N --warmup 5 --runs "${RUNS:-60}" --export-json "$WORK/h.json" \
  --prepare "install -m 644 $FILE $CONF" \
  -n "alarm-distcc (checked)" "$BIN -c $CONF --yes add-host 192.168.1.100:3636/6 localhost/2" \
  -n "alarm-distcc --no-verify" "$BIN -c $CONF --yes --no-verify add-host 192.168.1.100:3636/6 localhost/2" \
  ${BEFORE:+-n "before (checked)" "$BEFORE -c $CONF --yes add-host 192.168.1.100:3636/6 localhost/2"} \
  -n "sed -i" "sed -i -f $WORK/edit.sed $CONF" \
  -n "bash read" "bash --norc --noprofile -c 'source $CONF'" >/dev/null
python3 - "$WORK/h.json" <<'EOP'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
floor = r["sed -i"] + r["bash read"]
print("| command | median |")
print("|---|---|")
for name, ms in r.items():
    print(f"| {name} | {ms:.2f} ms |")
print(f"| sed -i + one bash read | {floor:.2f} ms |")
print()
print(f"checked edit / (sed -i + one bash read) = {r['alarm-distcc (checked)'] / floor:.2f}x")
if "before (checked)" in r:
    print(f"before: checked edit / (sed -i + one bash read) = {r['before (checked)'] / floor:.2f}x")
print(f"the check itself (checked - --no-verify) = {r['alarm-distcc (checked)'] - r['alarm-distcc --no-verify']:.2f} ms")
EOP
