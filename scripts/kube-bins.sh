#!/usr/bin/env bash
# Provides kube-apiserver, etcd and kubectl for the test control plane
# (src/testenv). Progress goes to stderr; the directory holding the three
# binaries is the last (and only) line written to stdout, so callers can do
#   KUBEBUILDER_ASSETS="$(bash scripts/kube-bins.sh)"
#
# Sources, first hit wins:
#   1. $KUBEBUILDER_ASSETS            (envtest convention; used as is)
#   2. the local cache                ($VIRTRIGAUD_KUBE_BINS_CACHE or
#                                      ~/.cache/virtrigaud/kube-bins, subdir
#                                      <k8s-version>-etcd<etcd-version>,
#                                      e.g. v1.37.2-etcd3.6.16)
#   3. the official release downloads (short connect timeout; quietly skipped
#                                      when unreachable)
#   4. a build from the Go module proxy with the wrapper modules in
#      tools/kube-bins/ (CGO_ENABLED=0; ~minutes on 2 cores, see
#      docs/control-plane.md)
#
# Knobs (all optional):
#   VIRTRIGAUD_KUBE_BINS_DOWNLOAD=0   skip step 3 entirely
#   VIRTRIGAUD_KUBE_RELEASE_URL       base URL for kube-apiserver/kubectl
#                                     (default https://dl.k8s.io/release)
#   VIRTRIGAUD_ETCD_RELEASE_URL       base URL for etcd release tarballs
#                                     (default https://github.com/etcd-io/etcd/releases/download)
#   VIRTRIGAUD_KUBE_BINS_CONNECT_TIMEOUT  seconds, default 5
set -euo pipefail

say() { printf '[kube-bins] %s\n' "$*" >&2; }
. "$(dirname "${BASH_SOURCE[0]}")/lib/cache.sh"
die() { printf '[kube-bins] ERROR: %s\n' "$*" >&2; exit 1; }

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="$repo_root/tools/kube-bins"
bins=(kube-apiserver etcd kubectl)

# The pinned versions live in the wrapper modules' go.mod files only, so a
# bump there automatically selects a new cache directory.
module_version() { # <go.mod> <module path>
  sed -nE "s#^[[:space:]]*(require[[:space:]]+)?$2[[:space:]]+(v[^[:space:]]+).*#\\2#p" "$1" | head -n1
}
k8s_version="$(module_version "$tools_dir/kubernetes/go.mod" 'k8s\.io/kubernetes')"
etcd_version="$(module_version "$tools_dir/etcd/go.mod" 'go\.etcd\.io/etcd/server/v3')"
[[ -n "$k8s_version" && -n "$etcd_version" ]] || die "cannot read the pinned versions from $tools_dir/*/go.mod"

has_all() { # <dir>
  local b
  for b in "${bins[@]}"; do [[ -x "$1/$b" && ! -d "$1/$b" ]] || return 1; done
}

# 1. KUBEBUILDER_ASSETS: someone already provides the binaries.
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if has_all "$KUBEBUILDER_ASSETS"; then
    say "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of ${bins[*]}; ignoring it"
fi

# 2. Cache.
cache_base="${VIRTRIGAUD_KUBE_BINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtrigaud/kube-bins}"
cache_dir="$cache_base/${k8s_version}-etcd${etcd_version#v}"
cache_claim "$cache_base" "$cache_dir" has_all "kubernetes $k8s_version, etcd $etcd_version"

# Everything is assembled in a staging dir and renamed into place at the end,
# so an interrupted run never leaves a cache dir that looks complete.
stage="$(mktemp -d "$cache_base/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

publish() {
  chmod 0755 "$stage" "$stage"/*
  rm -rf "$cache_dir"
  mv "$stage" "$cache_dir"
  trap - EXIT
  say "binaries ready in $cache_dir"
  echo "$cache_dir"
  exit 0
}

# 3. Official release binaries.
try_download() {
  local kube_url="${VIRTRIGAUD_KUBE_RELEASE_URL:-https://dl.k8s.io/release}"
  local etcd_url="${VIRTRIGAUD_ETCD_RELEASE_URL:-https://github.com/etcd-io/etcd/releases/download}"
  local timeout="${VIRTRIGAUD_KUBE_BINS_CONNECT_TIMEOUT:-5}"
  local arch os b tarball sum
  command -v curl >/dev/null 2>&1 || { say "curl not found; skipping the release download"; return 1; }
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) say "no release binaries for $(uname -m); skipping the release download"; return 1 ;;
  esac
  local get=(curl -fsSL --connect-timeout "$timeout" --retry 0)
  # Probe once with the short timeout; on an offline machine this is the
  # only network attempt made.
  if ! "${get[@]}" --max-time $((timeout * 3)) -o "$stage/kube-apiserver.sha256" "$kube_url/$k8s_version/bin/$os/$arch/kube-apiserver.sha256" 2>/dev/null; then
    say "release download unreachable ($kube_url); building from the Go module proxy instead"
    return 1
  fi
  say "downloading release binaries (kubernetes $k8s_version, etcd $etcd_version)"
  for b in kube-apiserver kubectl; do
    "${get[@]}" -o "$stage/$b" "$kube_url/$k8s_version/bin/$os/$arch/$b" &&
      "${get[@]}" -o "$stage/$b.sha256" "$kube_url/$k8s_version/bin/$os/$arch/$b.sha256" ||
      { say "download of $b failed; building instead"; return 1; }
    sum="$(cut -d' ' -f1 <"$stage/$b.sha256")"
    echo "$sum  $stage/$b" | sha256sum -c --status ||
      { say "checksum mismatch for $b; building instead"; return 1; }
    rm -f "$stage/$b.sha256"
  done
  tarball="etcd-$etcd_version-$os-$arch.tar.gz"
  "${get[@]}" -o "$stage/$tarball" "$etcd_url/$etcd_version/$tarball" &&
    "${get[@]}" -o "$stage/SHA256SUMS" "$etcd_url/$etcd_version/SHA256SUMS" ||
    { say "download of etcd failed; building instead"; return 1; }
  (cd "$stage" && grep " $tarball\$" SHA256SUMS | sha256sum -c --status) ||
    { say "checksum mismatch for $tarball; building instead"; return 1; }
  tar -xzf "$stage/$tarball" -C "$stage" --strip-components=1 "etcd-$etcd_version-$os-$arch/etcd" || return 1
  rm -f "$stage/$tarball" "$stage/SHA256SUMS"
  return 0
}

if [[ "${VIRTRIGAUD_KUBE_BINS_DOWNLOAD:-1}" != 0 ]]; then
  if try_download; then publish; fi
  rm -rf "${stage:?}"/*
else
  say "release download disabled (VIRTRIGAUD_KUBE_BINS_DOWNLOAD=0)"
fi

# 4. Build from the Go module proxy.
if ! command -v go >/dev/null 2>&1; then
  die "Go is not installed, so kube-apiserver/etcd/kubectl cannot be built.
  Either install Go >= 1.26 and run 'npm run kube-bins' again, or provide the
  binaries yourself: put executables named kube-apiserver, etcd and kubectl
  (Kubernetes $k8s_version, etcd $etcd_version or compatible) in a directory
  and export KUBEBUILDER_ASSETS=<that directory>, or copy them to
  $cache_dir"
fi

started=$SECONDS
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# Without these the binaries report v0.0.0-master+$Format:%H$. kubectl reads
# its client version from client-go, the servers from component-base.
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

export CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
say "building kube-apiserver + kubectl $k8s_version from the Go module proxy ($(go version | cut -d' ' -f3)); a cold build takes several minutes"
(cd "$tools_dir/kubernetes" &&
  go build -ldflags "$k8s_ldflags" -o "$stage/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl) >&2 ||
  die "go build of kube-apiserver/kubectl failed (see above)"
say "kube-apiserver + kubectl built after $((SECONDS - started)) s; building etcd $etcd_version"
(cd "$tools_dir/etcd" &&
  go build -ldflags "-s -w" -o "$stage/etcd" go.etcd.io/etcd/server/v3) >&2 ||
  die "go build of etcd failed (see above)"
say "etcd built; total build time $((SECONDS - started)) s"

# Sanity check before publishing: the versions must be what we pinned.
"$stage/kube-apiserver" --version 2>&1 | grep -qF "Kubernetes $k8s_version" ||
  die "built kube-apiserver reports '$("$stage/kube-apiserver" --version 2>&1)', expected $k8s_version"
"$stage/etcd" --version 2>&1 | grep -qF "etcd Version: ${etcd_version#v}" ||
  die "built etcd reports '$("$stage/etcd" --version 2>&1 | head -n1)', expected $etcd_version"
publish
