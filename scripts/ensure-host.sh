#!/usr/bin/env bash
# Makes sure libvirt answers before the demo or the test suite starts: as root it provisions the
# host (scripts/setup-host.sh is idempotent and quick when nothing is missing); as another user it
# only checks, because installing packages needs root. Prints the setup output (including the
# "KVM usable / not usable" verdict) on stdout, exits non-zero when the host is not ready.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -eq 0 ]]; then
  exec bash scripts/setup-host.sh
elif timeout 5 virsh -c qemu:///system version >/dev/null 2>&1; then
  echo "not root: skipping setup-host.sh, the host answers on qemu:///system already"
  exec bash scripts/setup-host.sh --check-kvm
else
  echo "not root and libvirtd does not answer: run 'sudo bash scripts/setup-host.sh' first" >&2
  exit 1
fi
