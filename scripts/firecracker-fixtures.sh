#!/usr/bin/env bash
# Idempotent: builds the Firecracker test template DIR/debian-cloud/{vmlinux,rootfs.ext4}
# (default DIR .cache/firecracker-images) and prints DIR.
#   vmlinux     - the uncompressed ELF kernel Firecracker x86_64 loads, taken out of Debian's
#                 linux-image-*-cloud-amd64 package (its bzImage payload, decompressed)
#   rootfs.ext4 - a small ext4 filesystem made with mkfs.ext4 (e2fsprogs)
# Needs apt (for the kernel package), python3, e2fsprogs and the payload's decompressor (lz4/xz/zstd/gzip).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-.cache/firecracker-images}
tpl="$dir/debian-cloud"
if [ -s "$tpl/vmlinux" ] && [ -s "$tpl/rootfs.ext4" ]; then echo "$dir"; exit 0; fi
mkdir -p "$tpl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
need=()
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v lz4 >/dev/null 2>&1 || need+=(lz4)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
if [ ${#need[@]} -gt 0 ]; then
  echo "[firecracker-fixtures] installing ${need[*]} from Debian" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
if [ ! -s "$tpl/vmlinux" ]; then
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
  if [ -z "$pkg" ]; then apt-get update -qq >&2; pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}'); fi
  (cd "$work" && apt-get download -qq "$pkg" >&2 2>/dev/null || apt-get download -qq "$pkg" >&2)
  dpkg-deb --fsys-tarfile "$work"/*.deb | tar -xO --wildcards './boot/vmlinuz-*' > "$work/vmlinuz"
  # The bzImage header says where the compressed kernel is: setup_sects (0x1f1), payload_offset/length (0x248).
  python3 - "$work/vmlinuz" "$work/payload" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
setup = d[0x1f1] or 4
off, length = struct.unpack('<II', d[0x248:0x250])
start = (setup + 1) * 512 + off
open(sys.argv[2], 'wb').write(d[start:start + length])
PY
  case "$(od -An -tx1 -N4 "$work/payload" | tr -d ' ')" in
    # The kernel's lz4 stream ends with its 4-byte size, which lz4 reports as a broken frame: the ELF check below decides.
    02214c18) lz4 -dc "$work/payload" > "$work/vmlinux" 2>/dev/null || true ;;
    fd377a58) xz -dc --single-stream "$work/payload" > "$work/vmlinux" ;;
    28b52ffd) zstd -dcq "$work/payload" > "$work/vmlinux" ;;
    1f8b*) gzip -dc "$work/payload" > "$work/vmlinux" ;;
    *) echo "[firecracker-fixtures] unknown kernel payload compression in $pkg" >&2; exit 1 ;;
  esac
  [ "$(od -An -c -N4 "$work/vmlinux" | tr -d ' ')" = '177ELF' ] || { echo "[firecracker-fixtures] $pkg did not give an ELF vmlinux" >&2; exit 1; }
  mv "$work/vmlinux" "$tpl/vmlinux"
fi
if [ ! -s "$tpl/rootfs.ext4" ]; then
  mkdir -p "$work/root/etc" "$work/root/sbin"
  echo virtrigaud-fc > "$work/root/etc/hostname"
  rm -f "$work/rootfs.ext4"
  truncate -s 16M "$work/rootfs.ext4"
  mkfs.ext4 -q -F -L rootfs -d "$work/root" "$work/rootfs.ext4"
  mv "$work/rootfs.ext4" "$tpl/rootfs.ext4"
fi
echo "$dir"
