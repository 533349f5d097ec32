#!/usr/bin/env bash
# Provides a kubectl-validate binary (sigs.k8s.io/kubectl-validate) for the
# side-by-side benchmark in bench/validate.bench.ts. Progress goes to stderr;
# the directory holding the binary is the last (and only) line written to
# stdout, so callers can do
#   KV="$(bash scripts/kubectl-validate.sh)/kubectl-validate"
#
# Sources, first hit wins:
#   1. $VIRTRIGAUD_KUBECTL_VALIDATE_DIR  (a directory holding an executable
#                                         kubectl-validate; used as is, no
#                                         version check)
#   2. the local cache                   ($VIRTRIGAUD_KUBECTL_VALIDATE_CACHE or
#                                         ~/.cache/virtrigaud/kubectl-validate,
#                                         subdir = the pinned module version,
#                                         e.g. v0.0.5-0.20260105161640-a97ccfaca20b)
#   3. a build from the Go module proxy with the wrapper module in
#      tools/kubectl-validate/ (CGO_ENABLED=0; ~4-5 min cold on 2 cores,
#      seconds with a warm Go build cache)
#
# There are no release downloads to try: upstream's last release (v0.0.4)
# predates the pinned version, which exists only as a module pseudo-version.
#
# Offline use of the binary: kubectl-validate asks the cluster of the current
# kubeconfig for schemas first and GitHub for native schemas of unknown
# versions. Point it at local files and a built-in version so it does neither:
#   KUBECONFIG=/dev/null kubectl-validate --local-crds <dir with crds.yaml> \
#     --version 1.35 FILE...
set -euo pipefail

say() { printf '[kubectl-validate] %s\n' "$*" >&2; }
. "$(dirname "${BASH_SOURCE[0]}")/lib/cache.sh"
die() { printf '[kubectl-validate] ERROR: %s\n' "$*" >&2; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools/kubectl-validate"
bin=kubectl-validate

# The pinned version lives in the wrapper module's go.mod only, so a bump
# there automatically selects a new cache directory.
version="$(sed -nE 's#^[[:space:]]*(require[[:space:]]+)?sigs\.k8s\.io/kubectl-validate[[:space:]]+(v[^[:space:]]+).*#\2#p' "$tools_dir/go.mod" | head -n1)"
[[ -n "$version" ]] || die "cannot read the pinned kubectl-validate version from $tools_dir/go.mod"

has_bin() { [[ -x "$1/$bin" && ! -d "$1/$bin" ]]; }

# 1. Explicit directory.
if [[ -n "${VIRTRIGAUD_KUBECTL_VALIDATE_DIR:-}" ]]; then
  if has_bin "$VIRTRIGAUD_KUBECTL_VALIDATE_DIR"; then
    say "using VIRTRIGAUD_KUBECTL_VALIDATE_DIR=$VIRTRIGAUD_KUBECTL_VALIDATE_DIR"
    echo "$VIRTRIGAUD_KUBECTL_VALIDATE_DIR"
    exit 0
  fi
  say "VIRTRIGAUD_KUBECTL_VALIDATE_DIR=$VIRTRIGAUD_KUBECTL_VALIDATE_DIR has no executable $bin; ignoring it"
fi

# 2. Cache.
cache_base="${VIRTRIGAUD_KUBECTL_VALIDATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/kubectl-validate}"
cache_dir="$cache_base/$version"
cache_claim "$cache_base" "$cache_dir" has_bin "kubectl-validate $version"

# 3. Build from the Go module proxy.
if ! command -v go >/dev/null 2>&1; then
  die "Go is not installed, so kubectl-validate cannot be built.
  Either install Go >= 1.26 and run 'bash scripts/kubectl-validate.sh' again,
  or provide the binary yourself (sigs.k8s.io/kubectl-validate $version or
  compatible): put an executable named kubectl-validate in a directory and
  export VIRTRIGAUD_KUBECTL_VALIDATE_DIR=<that directory>, or copy it to
  $cache_dir/"
fi

# Assembled in a staging dir and renamed into place at the end, so an
# interrupted run never leaves a cache dir that looks complete.
stage="$(mktemp -d "$cache_base/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

started=$SECONDS
export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
say "building kubectl-validate $version from the Go module proxy ($(go version | cut -d' ' -f3)); a cold build takes about 5 minutes"
# Same flags as upstream's release build (.goreleaser.yaml: -trimpath, -s -w).
(cd "$tools_dir" && go build -ldflags "-s -w" -o "$stage/$bin" sigs.k8s.io/kubectl-validate) >&2 ||
  die "go build of kubectl-validate failed (see above; the wrapper module needs Go >= 1.26)"
say "built after $((SECONDS - started)) s"

# Sanity checks before publishing: the binary runs and embeds the pinned
# module version (kubectl-validate has no --version flag of its own; its
# --version selects the Kubernetes version of native schemas).
"$stage/$bin" --help >/dev/null 2>&1 || die "the built $bin does not run ('$bin --help' failed)"
go version -m "$stage/$bin" | grep -qE "^[[:space:]]+mod[[:space:]]+sigs\.k8s\.io/kubectl-validate[[:space:]]+$version([[:space:]]|\$)" ||
  die "the built $bin does not embed sigs.k8s.io/kubectl-validate $version"

chmod 0755 "$stage" "$stage/$bin"
rm -rf "$cache_dir"
mv "$stage" "$cache_dir"
trap - EXIT
say "binary ready in $cache_dir"
echo "$cache_dir"
