#!/usr/bin/env bash
# Provides a helm binary for test/install/helm.test.ts (`helm template` and
# `helm lint` of charts/virtrigaud). Progress goes to stderr; the directory
# holding the binary is the last (and only) line written to stdout:
#   HELM="$(bash test/install/helm-bin.sh)/helm"
#
# Sources, first hit wins:
#   1. $VIRTRIGAUD_HELM_DIR    a directory holding an executable `helm`
#                              (used as is, no version check)
#   2. the local cache         ($VIRTRIGAUD_HELM_CACHE or
#                              ~/.cache/virtrigaud/helm, subdir = the pinned
#                              version, e.g. v3.22.0)
#   3. a build from the Go module proxy: `go install
#      helm.sh/helm/v3/cmd/helm@<version>` (CGO_ENABLED=0; helm's go.mod has
#      no replace directives, so no wrapper module is needed). About 5 min
#      cold on 2 cores, seconds with a warm Go build cache.
#
# Exits 1 with a message when none works (e.g. no Go); the test then falls
# back to its own renderer of the few template constructs the chart uses.
set -euo pipefail

say() { printf '[helm-bin] %s\n' "$*" >&2; }
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/cache.sh"
die() { printf '[helm-bin] ERROR: %s\n' "$*" >&2; exit 1; }

version="${VIRTRIGAUD_HELM_VERSION:-v3.22.0}"
has_bin() { [[ -x "$1/helm" && ! -d "$1/helm" ]]; }

# 1. Explicit directory.
if [[ -n "${VIRTRIGAUD_HELM_DIR:-}" ]]; then
  if has_bin "$VIRTRIGAUD_HELM_DIR"; then
    say "using VIRTRIGAUD_HELM_DIR=$VIRTRIGAUD_HELM_DIR"
    echo "$VIRTRIGAUD_HELM_DIR"
    exit 0
  fi
  say "VIRTRIGAUD_HELM_DIR=$VIRTRIGAUD_HELM_DIR has no executable helm; ignoring it"
fi

# 2. Cache.
cache_base="${VIRTRIGAUD_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/helm}"
cache_dir="$cache_base/$version"
cache_claim "$cache_base" "$cache_dir" has_bin "helm $version"

# 3. Build from the Go module proxy.
command -v go >/dev/null 2>&1 || die "Go is not installed, so helm $version cannot be built.
  Install Go, or put a helm binary in a directory and export
  VIRTRIGAUD_HELM_DIR=<that directory>, or copy it to $cache_dir/helm"

stage="$(mktemp -d "$cache_base/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
started=$SECONDS
say "building helm $version from the Go module proxy ($(go version | cut -d' ' -f3)); a cold build takes several minutes"
# helm reads its version from these variables; without them it reports only the module's major.minor.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
CGO_ENABLED=0 GOBIN="$stage" GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$version" >&2 ||
  die "go install of helm $version failed (see above)"
"$stage/helm" version --short >&2 || die "the built helm does not run"
chmod 0755 "$stage" "$stage/helm"
rm -rf "$cache_dir"
mv "$stage" "$cache_dir"
trap - EXIT
say "helm $version ready in $cache_dir after $((SECONDS - started)) s"
echo "$cache_dir"
