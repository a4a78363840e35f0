#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host for virtdeck: packages, the users libvirt expects, runtime
# directories, virtlogd + libvirtd running, and a KVM verdict. Safe to run again: every step
# first checks whether there is anything to do.
#
#   sudo bash scripts/setup-host.sh          provision (root)
#   bash scripts/setup-host.sh --check-kvm   only print the KVM verdict (any user)
#
# One line per step on stdout; command output goes to $VIRTDECK_SETUP_LOG. Installing packages
# takes minutes: that step also shows apt's progress, a line per phase with the package count.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

LOG=${VIRTDECK_SETUP_LOG:-/var/log/virtdeck-setup.log}
URI=qemu:///system

PACKAGES=(
  qemu-utils qemu-system-x86 qemu-block-extra
  libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu
  # libguestfs needs a kernel for its appliance; hivexregedit edits Windows registry hives.
  libguestfs-tools libwin-hivex-perl linux-image-amd64
  # Only Recommended by libguestfs, so --no-install-recommends drops it: the appliance's xfs tools.
  libguestfs-xfs
  openssh-server openssh-client xorriso tmux
  # UEFI firmware (OVMF, with the Secure Boot build) and the TPM 2.0 emulator libvirt runs for a
  # guest's TPM; dnsmasq for libvirt networks with DHCP.
  ovmf swtpm swtpm-tools dnsmasq-base
  # The tests: xmllint for virt-xml-validate; mkfs.fat and mtools build the UEFI test's ESP; the
  # ESXi copy test runs the host's script under busybox sh (ESXi's shell) and counts its file opens
  # with strace.
  libxml2-utils dosfstools mtools busybox strace
  procps iproute2 util-linux
  # The demo's files disk: sfdisk partitions it, mke2fs -d fills its ext4 filesystem.
  fdisk e2fsprogs
  # bench/backup compares virtdeck's backups with the reference tool.
  virtnbdbackup
  # Offsite copies to a restic repository (deduplicated, encrypted).
  restic
  # Guest fix-ups after an import (virt-v2v-in-place), and its peer for conversions.
  virt-v2v
  # bench/top measures virtdeck's idle CPU against htop's.
  htop
)

# Where systemd runs, its units and the users come with libvirt-daemon-system; without systemd
# that package only drags in units nobody starts, so this script creates users and starts daemons.
[[ -d /run/systemd/system ]] && PACKAGES+=(libvirt-daemon-system)

step() { printf '%-44s' "$1"; }
ok() { echo "${1:-ok}"; }
die() { echo "FAILED: $1 (details: $LOG)" >&2; exit 1; }
logged() { "$@" >>"$LOG" 2>&1; }

# The probe mirrors what a KVM guest needs: a vCPU with the host's CPU model. A bare
# `-machine none` starts even where KVM is broken (no vCPU is created), so it proves nothing.
kvm_verdict() {
  local flags=yes devkvm=yes probe=ok reasons=() out
  grep -qwE 'vmx|svm' /proc/cpuinfo || { flags=no; reasons+=("the CPU shows no vmx/svm flag"); }
  [[ -c /dev/kvm ]] || { devkvm=no; reasons+=("/dev/kvm is missing"); }
  if [[ $devkvm == yes ]]; then
    if ! out=$(echo quit | timeout 10 qemu-system-x86_64 -accel kvm -cpu host -machine pc -m 16 \
      -nodefaults -display none -S -monitor stdio 2>&1 >/dev/null); then
      probe=failed
      out=$(grep -m1 -iE 'error|fail|could not|abort' <<<"$out" | sed 's/^qemu-system-x86_64: //' || true)
      reasons+=("QEMU could not start with KVM${out:+: $out}")
    fi
  fi
  if [[ $flags == yes && $devkvm == yes && $probe == ok ]]; then
    echo "KVM usable"
    return 0
  fi
  local joined
  joined=$(printf '%s; ' "${reasons[@]}")
  echo "KVM not usable (${joined%; }): guests will run under TCG"
  echo "  hint: export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg"
  return 1
}

if [[ ${1:-} == --check-kvm ]]; then
  kvm_verdict || true
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { echo "setup-host.sh must run as root (try: sudo bash $0)." >&2; exit 1; }
: >>"$LOG" || die "cannot write the log file $LOG"
echo "== virtdeck setup-host $(date -Is)" >>"$LOG"
export DEBIAN_FRONTEND=noninteractive

step "Debian packages"
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  ok "all ${#PACKAGES[@]} installed"
else
  ok "${#missing[@]} of ${#PACKAGES[@]} missing"
  printf '  %s' "updating the package lists... "
  logged apt-get update || die "apt-get update"
  ok done
  # How many packages apt will really install (dependencies too), for the progress lines.
  total=$(apt-get install -s --no-install-recommends "${missing[@]}" 2>>"$LOG" | grep -c '^Inst ' || true)
  # apt's own output goes to the log; its status lines (fd 3) become the progress lines.
  tty=0
  [[ -t 1 ]] && tty=1
  { apt-get -o APT::Status-Fd=3 install -y --no-install-recommends "${missing[@]}" 3>&1 >>"$LOG" 2>&1 |
    awk -v total="${total:-0}" -v tty="$tty" -f "$HERE/apt-progress.awk"; } || die "apt-get install ${missing[*]}"
  step "Debian packages"
  ok "installed ${missing[*]}"
fi

# Debian's libvirt is built to run QEMU as libvirt-qemu:libvirt-qemu; without libvirt-daemon-system
# (which pulls in systemd units) nobody creates them, and libvirtd refuses to start.
step "groups and users"
made=()
getent group kvm >/dev/null || { logged groupadd --system kvm && made+=("group kvm"); }
getent group libvirt-qemu >/dev/null || { logged groupadd --system libvirt-qemu && made+=("group libvirt-qemu"); }
if ! getent passwd libvirt-qemu >/dev/null; then
  logged useradd --system --gid kvm --groups libvirt-qemu --home-dir /var/lib/libvirt \
    --no-create-home --shell /usr/sbin/nologin libvirt-qemu && made+=("user libvirt-qemu")
fi
if [[ -c /dev/kvm && $(stat -c %G /dev/kvm) != kvm ]]; then
  logged chgrp kvm /dev/kvm && made+=("/dev/kvm group kvm")
fi
if ((${#made[@]} == 0)); then ok "present"; else ok "created ${made[*]}"; fi

step "runtime directories"
made=()
for d in /var/log/libvirt /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/images /var/lib/virtdeck; do
  [[ -d $d ]] || { mkdir -p -m 0755 "$d" && made+=("$d"); }
done
if ((${#made[@]} == 0)); then ok "present"; else ok "created ${made[*]}"; fi

# libvirt runs swtpm_setup as the owner of swtpm's local CA directory (tss, as swtpm-tools'
# postinst made it); a swtpm_setup run once as root leaves its lock and serial files owned by root,
# and from then on no guest with a TPM starts ("Need read/write rights on ...lock.swtpm-localca").
step "swtpm certificate authority"
CA=/var/lib/swtpm-localca
if [[ -d $CA ]]; then
  owner=$(stat -c %U "$CA")
  foreign=$(find "$CA" -mindepth 1 -maxdepth 1 ! -user "$owner" | wc -l)
  if ((foreign == 0)); then
    ok "owned by $owner"
  else
    logged find "$CA" -mindepth 1 ! -user "$owner" -exec chown "$owner": {} + || die "chown of the files in $CA"
    ok "gave $foreign file(s) back to $owner"
  fi
else
  ok "not created yet"
fi

virsh_answers() { timeout 5 virsh -c "$URI" version >/dev/null 2>&1; }

step "virtlogd and libvirtd"
started=()
if [[ -d /run/systemd/system ]]; then
  logged systemctl enable --now virtlogd libvirtd || die "systemctl enable --now virtlogd libvirtd"
  started=(systemd)
else
  # pgrep -x matches the process name exactly, so an editor with "libvirtd" in its argv is not mistaken for it.
  pgrep -x virtlogd >/dev/null || { setsid -f virtlogd </dev/null >>"$LOG" 2>&1 && started+=(virtlogd); }
  pgrep -x libvirtd >/dev/null || { setsid -f libvirtd </dev/null >>"$LOG" 2>&1 && started+=(libvirtd); }
fi
for _ in $(seq 1 30); do virsh_answers && break; sleep 1; done
virsh_answers || die "libvirtd did not answer on $URI within 30 s"
if [[ ${started[*]} == systemd ]]; then
  ok "enabled (systemd)"
elif ((${#started[@]} == 0)); then
  ok "already running"
else
  ok "started ${started[*]}"
fi

step "KVM"
kvm_verdict || true
