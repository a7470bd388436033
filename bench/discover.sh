#!/usr/bin/env bash
# How long `discover` takes over a /24 with its four default ports (1016 connects), on
# loopback only: an empty /24, then the same /24 with a usable helper and a silent listener
# in it. Needs distccd and Debian's aarch64 cross gcc (scripts/install-test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
bin=$PWD/target/release/alarm-distcc
work=$(mktemp -d)
trap 'kill -- -$helper 2>/dev/null || true; kill $silent 2>/dev/null || true; rm -rf "$work"' EXIT
conf=$work/pi.conf
printf 'CARCH="aarch64"\nCHOST="aarch64-unknown-linux-gnu"\n' >"$conf"
mkdir "$work/bin" && chmod 755 "$work" "$work/bin"
ln -s "$(command -v aarch64-linux-gnu-gcc)" "$work/bin/aarch64-unknown-linux-gnu-gcc"
echo aarch64-unknown-linux-gnu-gcc >"$work/cmdlist" && chmod 644 "$work/cmdlist"
touch "$work/log" && chmod 666 "$work/log"

time_it() {
  local start end
  start=$(date +%s.%N)
  "$bin" --config "$conf" discover --subnet 127.0.77.0/24 --timeout 1 --json >"$work/out.json"
  end=$(date +%s.%N)
  printf '%s: %.2f s, %s found\n' "$1" "$(echo "$end - $start" | bc)" \
    "$(grep -c '"port"' "$work/out.json" || true)"
}

for i in 1 2 3; do time_it "empty /24 x 4 ports, run $i"; done
setsid env DISTCC_CMDLIST="$work/cmdlist" PATH="$work/bin:/usr/bin:/bin" \
  distccd --daemon --no-detach --listen 127.0.77.5 --port 3636 --allow 127.0.0.0/8 \
  --log-file "$work/log" </dev/null >/dev/null 2>&1 &
helper=$!
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.77.12",3636)); s.listen(8); time.sleep(120)' &
silent=$!
sleep 1
for i in 1 2 3; do time_it "/24 x 4 ports with a helper and a silent listener, run $i"; done

# Hosts that never answer the handshake, as on a LAN where most addresses are empty: a
# listener with a full backlog on each of 127.0.78.1-254 leaves every new connect pending.
python3 - <<'PY' &
import socket, time
held = []
for i in range(1, 255):
    l = socket.socket(); l.bind(("127.0.78.%d" % i, 3636)); l.listen(0)
    c = socket.socket(); c.connect(("127.0.78.%d" % i, 3636))  # fills the backlog
    held += [l, c]
time.sleep(120)
PY
blocked=$!
sleep 2
for i in 1 2 3; do
  start=$(date +%s.%N)
  "$bin" --config "$conf" discover --subnet 127.0.78.0/24 --port 3636 --timeout 1 --json >"$work/out.json"
  end=$(date +%s.%N)
  printf '254 addresses that never answer the handshake, --timeout 1, run %s: %.2f s, %s found\n' \
    "$i" "$(echo "$end - $start" | bc)" "$(grep -c '"port"' "$work/out.json" || true)"
done
kill $blocked
