/**
 * The VMware import wizard's steps and form, pure: what each step shows is derived from the facts
 * the job read; the form becomes the same ImportRequest the CLI builds from its flags.
 */

import type { EsxiTarget } from '../../../jobs/importEsxi.js';
import { type EsxiVm, powerLabel } from '../../../model/esxiListing.js';
import { firmwareLabel } from '../../../model/guestFirmware.js';
import { ESXI_DEFAULT_DEST, esxiSpace, isEsxiFacts } from '../../../model/importEsxiPlan.js';
import type { FixupChoice } from '../../../model/importFixup.js';
import { isOvaFacts } from '../../../model/importOvaPlan.js';
import type { ImportConvert, ImportFacts, ImportRequest } from '../../../model/importVmwarePlan.js';
import { guestNameFrom } from '../../../model/importVmwarePlan.js';
import { checkSshDestination } from '../../../model/sshDestination.js';
import { formatBytes } from '../../../model/units.js';
import { FieldRefusal, UserError } from '../../../model/userError.js';
import type { VmxGuest } from '../../../model/vmx.js';
import type { BusChoice, NicMapping } from '../../../model/vmxToDomain.js';

export const IMPORT_STEPS = ['kind', 'file', 'read', 'disks', 'nics', 'review'] as const;
/** From an ESXi host the file step is two: the host to log in to, then one of its VMs. */
export const ESXI_STEPS = ['kind', 'host', 'vm', 'read', 'disks', 'nics', 'review'] as const;
export type ImportStepId = (typeof IMPORT_STEPS)[number] | (typeof ESXI_STEPS)[number];
export const IMPORT_STEP_TITLES: Record<ImportStepId, string> = {
  kind: 'What do you have',
  file: 'Pick the file',
  host: 'ESXi host',
  vm: 'Pick the VM',
  read: 'What was read',
  disks: 'Disks, name and bus',
  nics: 'Network cards',
  review: 'Review',
};

export interface ImportForm {
  name: string;
  convert: ImportConvert;
  destDir: string;
  bus: BusChoice;
  /** Per NIC: "user", "bridge:br0" or "network:default". */
  nics: string[];
  start: boolean;
  fixup: FixupChoice;
  /** For a Windows fix-up: the virtio-win ISO on the host ('' none). */
  virtioWin: string;
}

/** What the first step offers: a VMware VM's directory, an export of one, or a VM still on its ESXi host. */
export type ImportSource = 'vmx' | 'ova' | 'esxi';
export const IMPORT_SOURCES: { value: ImportSource; label: string }[] = [
  { value: 'vmx', label: '.vmx: a VMware VM directory (Workstation, Server, ESXi datastore copy)' },
  { value: 'ova', label: 'OVA or OVF: an export (vSphere, Workstation, ovftool)' },
  { value: 'esxi', label: 'ESXi host over SSH: copy a powered-off VM from its datastores' },
];

/** The files the picker offers for each source read from a file here. */
export const SOURCE_FILES: Record<Exclude<ImportSource, 'esxi'>, RegExp> = { vmx: /\.vmx$/i, ova: /\.(ova|ovf)$/i };

export function stepsFor(source: ImportSource): readonly ImportStepId[] {
  return source === 'esxi' ? ESXI_STEPS : IMPORT_STEPS;
}

/** The ESXi host step's fields, as typed. */
export interface EsxiHostForm {
  destination: string;
  port: string;
  identity: string;
}

/** The typed host as the target the job logs in to; a field that is wrong is refused on that field. */
export function esxiTargetOf(f: EsxiHostForm): EsxiTarget {
  const destination = f.destination.trim();
  if (!destination) throw new FieldRefusal('host', 'No ESXi host is typed.', 'Type root@ and the host name or address, e.g. root@esxi1.');
  try {
    checkSshDestination(destination, 'the ESXi host');
  } catch (e) {
    if (e instanceof UserError) throw new FieldRefusal('host', e.sentence, e.fix);
    throw e;
  }
  const portText = f.port.trim();
  const port = portText === '' ? undefined : Number(portText);
  if (port !== undefined && !(/^\d+$/.test(portText) && port > 0 && port < 65536)) throw new FieldRefusal('port', `${portText} is not a port.`, 'Give a number from 1 to 65535, or leave it empty for 22.');
  const identity = f.identity.trim();
  if (identity && !identity.startsWith('/')) throw new FieldRefusal('identity', `${identity} is not an absolute path.`, 'Give the private key\'s full path, e.g. /root/.ssh/id_ed25519, or leave it empty for ssh\'s own keys.');
  return { destination, port, identityFile: identity || undefined };
}

/** One row of the VM list: name, power state and how it is known, datastore/directory; fits `width`. */
export function vmListLine(vm: EsxiVm, root: string, width: number): string {
  const where = vm.vmx.slice(root.length + 1, vm.vmx.lastIndexOf('/'));
  const name = vm.name.length > 24 ? `${vm.name.slice(0, 23)}~` : vm.name.padEnd(24);
  const line = `${name}  ${powerLabel(vm).padEnd(13)}  ${where}`;
  return line.length > width ? `${line.slice(0, width - 1)}~` : line;
}

export function isPackagePath(path: string): boolean {
  return SOURCE_FILES.ova.test(path);
}

export function initialImportForm(facts: ImportFacts): ImportForm {
  return {
    name: guestNameFrom(facts.guest.name, facts.vmxPath),
    // An export's streamOptimized vmdk is read-only for QEMU, an ESXi VM's disks are remote: both are always converted.
    convert: isPackagePath(facts.vmxPath) || isEsxiFacts(facts) ? 'qcow2' : 'none',
    destDir: '',
    bus: 'keep',
    // A bridge keeps the guest on the LAN it was on under VMware; without one, user-mode networking works anywhere.
    nics: facts.guest.nics.map(() => (facts.bridges[0] ? `bridge:${facts.bridges[0]}` : 'user')),
    start: false,
    fixup: 'none',
    virtioWin: '',
  };
}

export function nicOptions(facts: ImportFacts): { value: string; label: string }[] {
  return [
    ...facts.bridges.map((b) => ({ value: `bridge:${b}`, label: `bridge ${b}` })),
    ...facts.networks.map((n) => ({ value: `network:${n}`, label: `libvirt network ${n}` })),
    { value: 'user', label: 'user-mode (NAT inside QEMU, no inbound)' },
  ];
}

export function mappingOf(value: string): NicMapping {
  if (value.startsWith('bridge:')) return { kind: 'bridge', source: value.slice(7) };
  if (value.startsWith('network:')) return { kind: 'network', source: value.slice(8) };
  return { kind: 'user' };
}

export function formToRequest(form: ImportForm): ImportRequest {
  return {
    name: form.name.trim(),
    convert: form.convert,
    destDir: form.convert !== 'none' && form.destDir.trim() ? form.destDir.trim() : undefined,
    bus: form.bus,
    nics: form.nics.map(mappingOf),
    start: form.start,
    fixup: form.fixup,
    ...(form.fixup !== 'none' && form.virtioWin.trim() ? { virtioWin: form.virtioWin.trim() } : {}),
  };
}

export const FIXUP_OPTIONS: { value: FixupChoice; label: string }[] = [
  { value: 'none', label: 'none: the disks as copied' },
  { value: 'auto', label: 'auto: virt-v2v, or MergeIDE for old Windows' },
  { value: 'v2v', label: 'virt-v2v-in-place: virtio drivers, fstab, grub' },
  { value: 'mergeide', label: 'MergeIDE: Windows XP/2003 on IDE' },
];

const BUS_HINT: Record<BusChoice, string> = {
  keep: 'the .vmx controllers: Windows boots (its drivers match)',
  virtio: 'fastest; only when the guest has virtio drivers',
  sata: 'AHCI: Windows Vista+ and Linux',
  ide: 'slowest; boots anything (Windows 2000/XP/2003 after MergeIDE)',
};

export function busHint(bus: BusChoice): string {
  return BUS_HINT[bus];
}

/** The "what was read" screen: the guest as virtdeck understood it, then warnings, then ignored keys. */
export function readSummary(facts: ImportFacts): string[] {
  const g: VmxGuest = facts.guest;
  const lines = [
    `${g.name ?? '(no displayName)'}  ${g.guestOS ?? 'unknown OS'} (${g.arch}${g.windows ? ', Windows' : ''})  ${firmwareLabel(g)}`,
    `memory ${g.memoryMiB} MiB, ${g.vcpus} vCPU${g.topology ? ` (${g.topology.sockets} socket × ${g.topology.cores} cores)` : ''}${g.biosUuid ? `, uuid ${g.biosUuid}` : ''}`,
  ];
  for (const d of g.disks) {
    // An ESXi VM's chains are on the host until the copy: the facts keep them apart.
    const chain = (isEsxiFacts(facts) ? facts.esxi.disks : facts.disks).find((c) => c.key === d.key)?.chain;
    const src = 'path' in d.source ? d.source.path : d.source.kind === 'auto' ? '(host drive)' : '(empty)';
    const ctrl = d.bus === 'scsi' ? ` ${g.controllers.find((c) => c.bus === 'scsi' && c.index === d.controller)?.model ?? 'scsi'}` : '';
    lines.push(`${d.key.padEnd(8)} ${d.device.padEnd(6)} ${d.bus}${ctrl}  ${src}${chain?.snapshot ? `  (snapshot ${chain.links.length - 1} deep)` : ''}`);
  }
  for (const n of g.nics) lines.push(`ethernet${n.index} ${n.mac ?? '(no MAC)'} ${n.macType}  ${n.model ?? 'default'}  ${n.connection}${n.networkName ? ` "${n.networkName}"` : ''}`);
  for (const s of g.serials) lines.push(`serial${s.port}  ${s.kind} ${s.path ?? ''} → a pty console`);
  if (isOvaFacts(facts)) {
    const o = facts.ova;
    lines.push(`${o.kind === 'ova' ? 'archive' : 'export'} ${o.descriptorName} (OVF ${o.ovf.ovfVersion}.x), manifest ${o.manifestName ?? 'none'}${o.ovf.secureBoot ? ', Secure Boot on' : ''}${o.ovf.tpm ? ', virtual TPM' : ''}`);
  }
  if (isEsxiFacts(facts)) {
    const e = facts.esxi;
    const files = e.disks.reduce((n, d) => n + d.extents.length, 0);
    lines.push(`on ${e.destination}: ${e.dir}, ${files} data file${files === 1 ? '' : 's'} to copy (${formatBytes(esxiSpace(facts).copied)}), each over one ssh stream`);
    lines.push(`converted into ${ESXI_DEFAULT_DEST} unless you name another directory; the VM on the host is only read`);
  }
  for (const w of g.disabled) lines.push(`off: ${w}`);
  lines.push(`${g.ignored.length} key${g.ignored.length === 1 ? '' : 's'} ignored (VMware-only settings):`);
  for (const i of g.ignored) lines.push(`  ignored: ${i}`);
  return lines;
}
