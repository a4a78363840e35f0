#!/usr/bin/env bash
# Before the real-host tests: remove what an earlier run of this suite left on qemu:///system when it
# never reached its afterAll hooks (killed by a CI timeout, a power cut, Ctrl-C). CI machines are
# reused, and a guest left from the last run makes this run's defineXml of the same name fail.
#
# Only the suite's own namespace is touched: guests, pools and image directories whose names start
# with a test prefix (vdtest-, vdsec-, vdtNN…-). Never run it while another copy of the suite runs
# on this machine: their guests share these names anyway.
set -uo pipefail

PREFIX='^(vdtest|vdsec|vdt[0-9]+[a-z0-9]*)-'
URI=qemu:///system
virsh_q() { virsh -q -c "$URI" "$@" >/dev/null 2>&1; }

removed=0
while IFS= read -r name; do
  [[ -n $name ]] || continue
  virsh_q destroy --domain "$name"
  # Snapshots, checkpoints and a UEFI variable store each make a plain undefine refuse.
  virsh_q undefine --domain "$name" --nvram --snapshots-metadata --checkpoints-metadata ||
    virsh_q undefine --domain "$name" --nvram || virsh_q undefine --domain "$name"
  echo "removed guest $name (left by an earlier test run)"
  removed=$((removed + 1))
done < <(virsh -q -c "$URI" list --all --name 2>/dev/null | grep -E "$PREFIX")

while IFS= read -r pool; do
  [[ -n $pool ]] || continue
  virsh_q pool-destroy "$pool"
  virsh_q pool-undefine "$pool"
  echo "removed pool $pool (left by an earlier test run)"
  removed=$((removed + 1))
done < <(virsh -q -c "$URI" pool-list --all --name 2>/dev/null | grep -E "$PREFIX")

for dir in /var/lib/libvirt/images/*; do
  base=${dir##*/}
  [[ (-d $dir || -f $dir) && ! -L $dir ]] || continue
  grep -qE "$PREFIX" <<<"$base" || continue
  rm -rf -- "$dir"
  echo "removed $dir (left by an earlier test run)"
  removed=$((removed + 1))
done

echo "test leftovers: $removed removed"
