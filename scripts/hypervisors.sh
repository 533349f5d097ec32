#!/usr/bin/env bash
# Idempotent set-up of what the libvirt and QEMU provider tests need:
# QEMU (TCG is fine; no KVM required), qemu-img, xorriso (cloud-init seed
# ISOs), OVMF (UEFI firmware), libvirtd + virtlogd (started by hand: CI
# machines have no systemd) and sshd/ssh (the qemu+ssh:// test).
#
# Fast (no apt, no daemon start) when everything is installed and libvirtd
# answers. Needs root only when something is missing.
#
#   bash scripts/hypervisors.sh          # install what is missing, start daemons
#   VIRTRIGAUD_HYPERVISORS_CHECK=1 bash scripts/hypervisors.sh   # only check, exit 1 if not ready
set -euo pipefail

say() { printf '[hypervisors] %s\n' "$*" >&2; }
die() { printf '[hypervisors] ERROR: %s\n' "$*" >&2; exit 1; }

PACKAGES=(libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu
  qemu-system-x86 qemu-utils xorriso ovmf openssh-server openssh-client)
# Binaries (or files) whose presence stands for each package being installed.
NEEDED=(/usr/sbin/libvirtd /usr/sbin/virtlogd /usr/bin/virsh
  /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
  /usr/bin/qemu-system-x86_64 /usr/bin/qemu-img /usr/bin/xorriso
  /usr/share/OVMF/OVMF_CODE.fd /usr/sbin/sshd /usr/bin/ssh)

missing=()
for f in "${NEEDED[@]}"; do [[ -e $f ]] || missing+=("$f"); done

# `virsh uri` connects to the QEMU driver in ms; `virsh version` probes QEMU (~4 s).
libvirt_up() { timeout 10 virsh -c qemu:///system uri >/dev/null 2>&1; }

# /dev/kvm as Debian's udev rule leaves it (root:kvm 0660; libvirt-qemu is in
# group kvm). Without udev it stays root-only, and libvirt then throws away its
# QEMU capability cache on every call ("KVM was enabled when probing ... not
# available now"): each define/start costs a ~4 s re-probe.
kvm_ok() { [[ ! -e /dev/kvm ]] || [[ $(stat -c %G:%a /dev/kvm) == kvm:660 ]] || ! getent group kvm >/dev/null; }

if [[ ${#missing[@]} -eq 0 ]] && kvm_ok && libvirt_up; then
  exit 0
fi
[[ ${VIRTRIGAUD_HYPERVISORS_CHECK:-0} == 1 ]] && die "not ready (missing: ${missing[*]:-none}; libvirtd not answering on qemu:///system)"

if [[ $(id -u) -ne 0 ]]; then
  if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing ${missing[*]}; run as root: sudo bash scripts/hypervisors.sh (or apt-get install ${PACKAGES[*]})"
  fi
  die "libvirtd is installed but not answering on qemu:///system; run as root: sudo bash scripts/hypervisors.sh"
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing: ${PACKAGES[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another engineer's set-up may hold the dpkg lock: wait for it instead of failing.
  apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  if ! apt_get install -y --no-install-recommends "${PACKAGES[@]}" >&2; then
    say "install failed; refreshing package lists and retrying"
    apt_get update >&2
    apt_get install -y --no-install-recommends "${PACKAGES[@]}" >&2
  fi
fi

if ! kvm_ok; then chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; fi

# libvirt's packaged `default` NAT network (192.168.122.0/24) must not come up
# on test machines: nothing of ours uses it.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml

# No systemd: start the daemons ourselves (each daemonises with -d).
pgrep -x virtlogd >/dev/null || virtlogd -d
if ! libvirt_up; then
  if pgrep -x libvirtd >/dev/null; then
    say "libvirtd is running but not answering yet; waiting"
  else
    say "starting libvirtd"
    libvirtd -d
  fi
  for _ in $(seq 1 50); do libvirt_up && break; sleep 0.2; done
  libvirt_up || die "libvirtd did not answer on qemu:///system (see /var/log/libvirt/libvirtd.log)"
fi

# sshd for the qemu+ssh:// test: host keys are generated on install; the
# privilege-separation directory is normally created by systemd.
mkdir -p /run/sshd
say "ready: libvirtd answers on qemu:///system"
