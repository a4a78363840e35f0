#!/usr/bin/env bash
# Under TCG, a third of every libguestfs launch goes to booting the appliance's kernel the PC way:
# SeaBIOS, then the bzImage decompressing itself (xz, emulated instruction by instruction). The
# same kernel, decompressed once here into an ELF vmlinux, is started by QEMU through its PVH entry
# point instead: about half the CPU per launch (user time of `guestfish -a /dev/null run`, 17 s ->
# 9 s on a 2-core TCG host), and the suite launches the appliance dozens of times.
#
# Prints the environment that makes libguestfs use it, one NAME=VALUE a line (scripts/test.sh
# exports them); prints nothing and exits 1 where it cannot help: not root, no kernel with its
# modules in /boot, a compression it does not know, a kernel built without CONFIG_PVH, or one
# whose appliance does not boot (checked once per kernel, with one launch).
# The appliance built from it gets a cache directory of its own, so the host's default appliance
# (what virtdeck uses outside the tests) is neither rebuilt nor touched.
set -uo pipefail

DIR=/var/tmp/virtdeck-tcg-appliance

[[ $(id -u) -eq 0 ]] || exit 1

# supermin's own choice: the newest /boot/vmlinuz-VERSION whose /lib/modules/VERSION exists.
version=
for k in /boot/vmlinuz-*; do
  [[ -e $k ]] || continue
  v=${k#/boot/vmlinuz-}
  [[ -d /lib/modules/$v ]] && version=$(printf '%s\n%s\n' "$version" "$v" | sed '/^$/d' | sort -V | tail -n 1)
done
[[ -n $version ]] || exit 1
kernel=/boot/vmlinuz-$version
grep -qx 'CONFIG_PVH=y' "/boot/config-$version" 2>/dev/null || exit 1

vmlinux=$DIR/vmlinux-$version
if [[ ! -s $vmlinux || $kernel -nt $vmlinux ]]; then
  mkdir -p -m 0700 "$DIR" || exit 1
  # The compressed kernel starts after the real-mode setup ((setup_sects + 1) sectors; 0x1f1) at
  # payload_offset (0x248) of the protected-mode part.
  setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$kernel" | tr -d ' ')
  payload_offset=$(od -An -tu4 -j $((0x248)) -N4 "$kernel" | tr -d ' ')
  [[ -n $setup_sects && -n $payload_offset ]] || exit 1
  ((setup_sects == 0)) && setup_sects=4
  start=$(((setup_sects + 1) * 512 + payload_offset))
  magic=$(od -An -tx1 -j "$start" -N6 "$kernel" | tr -d ' \n')
  case $magic in
    fd377a585a00) unpack=(xz -dc) ;;
    1f8b*) unpack=(gzip -dc) ;;
    28b52ffd*) unpack=(zstd -dcq) ;;
    *) exit 1 ;;
  esac
  tmp=$(mktemp "$DIR/.vmlinux.XXXXXX") || exit 1
  # The payload is followed by the decompressor's own data, which xz/gzip report as trailing garbage.
  tail -c +$((start + 1)) "$kernel" | "${unpack[@]}" >"$tmp" 2>/dev/null
  if [[ $(od -An -tx1 -N4 "$tmp" | tr -d ' \n') != 7f454c46 ]]; then
    rm -f "$tmp"
    exit 1
  fi
  chmod 0644 "$tmp" && mv -f "$tmp" "$vmlinux" || exit 1
fi

env=(SUPERMIN_KERNEL="$vmlinux" SUPERMIN_KERNEL_VERSION="$version" SUPERMIN_MODULES="/lib/modules/$version" LIBGUESTFS_CACHEDIR="$DIR")

# One launch proves this kernel boots this way (and builds its appliance, which the first test
# would otherwise do): once per kernel, remembered next to it. A kernel that does not boot here
# leaves the suite on the default appliance instead of failing every launch.
booted=$DIR/booted-$version
if [[ ! -e $booted || $vmlinux -nt $booted ]]; then
  env "${env[@]}" LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg \
    timeout 600 guestfish -a /dev/null run </dev/null >/dev/null 2>&1 || exit 1
  : >"$booted"
fi

printf '%s\n' "${env[@]}"
