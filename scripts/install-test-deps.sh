#!/usr/bin/env bash
# Installs what the tests drive for real: distccd (probe tests), setpriv (permission tests
# when run as root), bash (the oracle). Debian/Ubuntu via apt-get; elsewhere it only checks.
set -euo pipefail
missing=()
command -v distccd >/dev/null 2>&1 || missing+=(distcc)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v bash >/dev/null 2>&1 || missing+=(bash)
if ((${#missing[@]} == 0)); then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
else
  echo "please install: ${missing[*]}" >&2
  exit 1
fi
