#!/usr/bin/env bash
# Installs fakepve (a fake Proxmox VE API server, PyPI, AGPL; a separate test
# process, nothing of it is bundled) into a venv for the Proxmox provider
# tests. Idempotent. Progress goes to stderr; the venv's python is the last
# (and only) line on stdout:
#   VIRTRIGAUD_FAKEPVE_PYTHON="$(bash scripts/fakepve.sh)"
set -euo pipefail
say() { printf '[fakepve] %s\n' "$*" >&2; }
die() { printf '[fakepve] ERROR: %s\n' "$*" >&2; exit 1; }

version=0.5.0
venv="${VIRTRIGAUD_FAKEPVE_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/fakepve-$version}"
py="$venv/bin/python"
if [[ -x "$py" ]] && "$py" -c 'import fakepve, cryptography' 2>/dev/null; then
  say "using $venv"
  echo "$py"
  exit 0
fi
base="$(command -v python3 || true)"
[[ -n "$base" ]] || die "python3 is not installed (apt-get install python3 python3-venv)"
if ! "$base" -c 'import venv, ensurepip' 2>/dev/null; then
  say "installing python3-venv from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2
  base=/usr/bin/python3
fi
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$base" -m venv "$venv" >&2
"$py" -m pip install -q --disable-pip-version-check "fakepve[crypto]==$version" >&2 \
  || die "pip install 'fakepve[crypto]==$version' failed"
"$py" -c 'import fakepve' || die "fakepve does not import from $venv"
say "installed fakepve $version in $venv"
echo "$py"
