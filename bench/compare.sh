#!/usr/bin/env bash
# The same edit (distcc on, DISTCC_HOSTS="192.168.1.100:3636/6 localhost/2", MAKEFLAGS="-j8")
# made three ways on stock makepkg.conf files: alarm-distcc, the sed one-liner people paste
# from wikis, and augtool (Augeas' Shellvars lens). Prints the timings (hyperfine), their
# ratios, whether each tool got the edit right (bash reads the result; a line diff shows
# what moved), and alarm-distcc's binary size, peak memory and start-up time.
# Needs: cargo, hyperfine, augeas-tools, python3 (Debian: apt-get install hyperfine augeas-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in hyperfine augtool python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine augeas-tools)" >&2; exit 1; }
done
cargo build --release -q
BIN=$PWD/target/release/alarm-distcc
CORPUS=${ALARM_DISTCC_CORPUS:-../shared/corpus}
pick() { [[ -f $CORPUS/stock/$1 ]] && echo "$CORPUS/stock/$1" || echo "fixtures/$2"; }
FILES=("$(pick alarm-7.1.0-aarch64.makepkg.conf alarm-aarch64-stock.conf)"
       "$(pick pacman-v7.1.0.makepkg.conf pacman-stock-defaults-comment.conf)")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
HOSTS="192.168.1.100:3636/6 localhost/2"

# Each tool runs directly (no shell around it), so start-up costs are compared fairly.
install -m 644 bench/add-host.sed "$WORK/edit.sed"
cat > "$WORK/edit.aug" <<'EOS'
set /augeas/load/Shellvars/lens Shellvars.lns
set /augeas/load/Shellvars/incl /makepkg.conf
load
set /files/makepkg.conf/BUILDENV/1 distcc
set /files/makepkg.conf/DISTCC_HOSTS '"192.168.1.100:3636/6 localhost/2"'
set /files/makepkg.conf/MAKEFLAGS '"-j8"'
save
EOS
command_for() { # tool -> the command editing $WORK/makepkg.conf
  case $1 in
    alarm-distcc) echo "$BIN -c $WORK/makepkg.conf --yes add-host 192.168.1.100:3636/6 localhost/2" ;;
    sed) echo "sed -i -f $WORK/edit.sed $WORK/makepkg.conf" ;;
    augtool) echo "augtool -r $WORK -A -f $WORK/edit.aug" ;;
  esac
}

verdict() { # original edited -> one line
  local orig=$1 edited=$2 problems=()
  local got
  got=$(bash --norc -c 'source "$1" >/dev/null 2>&1
    d=; for e in "${BUILDENV[@]}"; do [[ $e == distcc || $e == !distcc ]] && d=$e; done
    printf "%s|%s|%s" "$d" "$DISTCC_HOSTS" "$MAKEFLAGS"' x "$edited")
  [[ $got == "distcc|$HOSTS|-j8" ]] || problems+=("bash reads ${got//|/ ; }")
  local removed added
  removed=$(diff --unchanged-line-format= --old-line-format='%L' --new-line-format= "$orig" "$edited" || true)
  added=$(diff --unchanged-line-format= --old-line-format= --new-line-format='%L' "$orig" "$edited" || true)
  while IFS= read -r line; do
    [[ -z $line ]] && continue
    [[ $line == '#'* && $line != '#DISTCC_HOSTS='* && $line != '#MAKEFLAGS='* ]] &&
      problems+=("rewrote a comment: $line")
  done <<< "$removed"
  local nr na
  nr=$(grep -c . <<< "$removed" || true); na=$(grep -c . <<< "$added" || true)
  (( na > nr )) && problems+=("added $((na - nr)) line(s) instead of editing in place")
  (( nr > 3 )) && problems+=("changed $nr lines, 3 were needed")
  if ((${#problems[@]})); then
    printf 'WRONG:'; printf ' %s;' "${problems[@]}"
  else
    printf 'right'
  fi
}

echo "# alarm-distcc vs sed vs augtool — $(date -u +%F), $(uname -m), $(nproc) CPUs"
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for file in "${FILES[@]}"; do
  echo
  echo "## $(basename "$file")"
  for tool in alarm-distcc sed augtool; do
    cp "$file" "$WORK/makepkg.conf"
    $(command_for "$tool") >/dev/null 2>&1
    cp "$WORK/makepkg.conf" "$WORK/$tool.result"
    printf -- '- %-13s %s\n' "$tool:" "$(verdict "$file" "$WORK/$tool.result")"
  done
  hyperfine -N --warmup 3 --runs 40 --export-json "$WORK/h.json" \
    --prepare "cp $file $WORK/makepkg.conf" \
    -n alarm-distcc "$(command_for alarm-distcc)" \
    -n sed "$(command_for sed)" \
    -n augtool "$(command_for augtool)" >/dev/null
  python3 - "$WORK/h.json" <<'EOP'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["alarm-distcc"]["median"]
print("| tool | median | mean ± σ | vs alarm-distcc |")
print("|---|---|---|---|")
for name in ("alarm-distcc", "sed", "augtool"):
    x = r[name]
    print(f"| {name} | {x['median']*1000:.2f} ms | {x['mean']*1000:.2f} ± {x['stddev']*1000:.2f} ms | {x['median']/base:.2f}× |")
EOP
done

echo
echo "## alarm-distcc itself (release profile: LTO, 1 codegen unit, strip, panic=abort)"
echo "- binary size: $(stat -c %s "$BIN") bytes"
cp "${FILES[0]}" "$WORK/makepkg.conf"
echo "- peak memory, show: $(/usr/bin/time -f %M "$BIN" -c "$WORK/makepkg.conf" show 2>&1 >/dev/null | tail -1) KiB"
echo "- peak memory, the edit: $(/usr/bin/time -f %M "$BIN" -c "$WORK/makepkg.conf" --yes add-host 192.168.1.100:3636/6 localhost/2 2>&1 >/dev/null | tail -1) KiB"
hyperfine -N --warmup 5 --runs 100 --export-json "$WORK/s.json" \
  -n "alarm-distcc --version" "$BIN --version" \
  -n "alarm-distcc show" "$BIN -c $WORK/makepkg.conf show" >/dev/null
python3 - "$WORK/s.json" <<'EOP'
import json, sys
for x in json.load(open(sys.argv[1]))["results"]:
    print(f"- start-up, `{x['command']}`: median {x['median']*1000:.2f} ms")
EOP
