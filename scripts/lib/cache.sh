# Shared by the scripts that provide cached binaries (kube-bins, kubectl-validate, helm).
# Needs a `say` function for progress on stderr.

# cache_claim BASE DIR CHECK LABEL
# When `CHECK DIR` succeeds, prints DIR and exits the calling script (a cache hit).
# Otherwise takes the lock BASE/.lock (waiting for a concurrent run, which may fill
# the cache meanwhile: then also prints DIR and exits) and returns holding it, so
# the caller builds once and never exposes a half-written directory.
cache_claim() {
  local base=$1 dir=$2 check=$3 label=$4
  if "$check" "$dir"; then
    say "cache hit: $label"
    echo "$dir"
    exit 0
  fi
  mkdir -p "$base"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$base/.lock"
    if ! flock -n 9; then
      say "another run holds $base/.lock; waiting for it"
      flock 9
    fi
    if "$check" "$dir"; then
      say "cache filled by the other run"
      echo "$dir"
      exit 0
    fi
  fi
}
