#!/usr/bin/env bash
# Provides vcsim (govmomi's vCenter simulator, with the seed inventory of
# tools/vcsim) for the vSphere provider tests. Progress goes to stderr; the
# binary's path is the last (and only) line on stdout:
#   VIRTRIGAUD_VCSIM="$(bash scripts/vcsim-bin.sh)"
#
# Sources, first hit wins:
#   1. $VIRTRIGAUD_VCSIM        (an executable; used as is)
#   2. the local cache          ($VIRTRIGAUD_VCSIM_CACHE or ~/.cache/virtrigaud/vcsim,
#                                subdir govmomi-<version>-<hash of tools/vcsim sources>)
#   3. a build from the Go module proxy (tools/vcsim, CGO_ENABLED=0; ~2 min cold on 2 cores)
set -euo pipefail

say() { printf '[vcsim-bin] %s\n' "$*" >&2; }
die() { printf '[vcsim-bin] ERROR: %s\n' "$*" >&2; exit 1; }
. "$(dirname "${BASH_SOURCE[0]}")/lib/cache.sh"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools/vcsim"

if [[ -n "${VIRTRIGAUD_VCSIM:-}" ]]; then
  [[ -x "$VIRTRIGAUD_VCSIM" && ! -d "$VIRTRIGAUD_VCSIM" ]] || die "VIRTRIGAUD_VCSIM=$VIRTRIGAUD_VCSIM is not an executable"
  say "using VIRTRIGAUD_VCSIM=$VIRTRIGAUD_VCSIM"
  echo "$VIRTRIGAUD_VCSIM"
  exit 0
fi

version="$(sed -nE 's#^[[:space:]]*(require[[:space:]]+)?github\.com/vmware/govmomi[[:space:]]+(v[^[:space:]]+).*#\2#p' "$tools_dir/go.mod" | head -n1)"
[[ -n "$version" ]] || die "cannot read the pinned govmomi version from $tools_dir/go.mod"
# The seed inventory is part of the binary: its sources select the cache dir too.
src_hash="$(cat "$tools_dir"/go.mod "$tools_dir"/go.sum "$tools_dir"/*.go | sha256sum | cut -c1-12)"

cache_base="${VIRTRIGAUD_VCSIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/vcsim}"
cache_dir="$cache_base/govmomi-$version-$src_hash"
# cache_claim is given the binary itself, so a hit prints the binary's path.
is_bin() { [[ -x "$1" && ! -d "$1" ]]; }
cache_claim "$cache_base" "$cache_dir/vcsim" is_bin "vcsim (govmomi $version)"

command -v go >/dev/null 2>&1 || die "Go is not installed, so vcsim cannot be built.
  Install Go >= 1.26 and run 'bash scripts/vcsim-bin.sh' again, or build
  tools/vcsim yourself and export VIRTRIGAUD_VCSIM=<path of the binary>"

stage="$(mktemp -d "$cache_base/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
started=$SECONDS
say "building vcsim (govmomi $version) from the Go module proxy ($(go version | cut -d' ' -f3))"
(cd "$tools_dir" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath" \
  go build -ldflags "-s -w" -o "$stage/vcsim" .) >&2 || die "go build of tools/vcsim failed (see above)"
chmod 0755 "$stage" "$stage/vcsim"
rm -rf "$cache_dir"
mv "$stage" "$cache_dir"
trap - EXIT
say "vcsim built in $((SECONDS - started)) s: $cache_dir/vcsim"
echo "$cache_dir/vcsim"
