/**
 * The P2V wizard's form, pure: its steps, the values, the source they name, the prefill from what
 * the source reported, and the P2vInput they make. Testable without a terminal. Refusals name the
 * field they are about (FieldRefusal, with the ids below).
 */
import type { P2vInput } from '../../../jobs/p2v.js';
import { guessOs, nameFromSource, type P2vSource, type P2vSourceFacts, parseMemoryMiB, parseNetwork, parseSshOptionsText, parseSshSource, QUIET_EXPLANATION, REMOTE_VERIFY_LIMIT, sourceLabel } from '../../../model/p2vPlan.js';
import { formatBytes } from '../../../model/units.js';
import { FieldRefusal, UserError } from '../../../model/userError.js';

export const P2V_STEPS = ['source', 'found', 'guest', 'review'] as const;
export type P2vStepId = (typeof P2V_STEPS)[number];
export const P2V_STEP_TITLES: Record<P2vStepId, string> = { source: 'source', found: 'what was found', guest: 'the new guest', review: 'review' };

export interface P2vForm {
  kind: 'ssh' | 'device' | 'file';
  sshTarget: string;
  sshDevice: string;
  sshPort: string;
  identity: string;
  /** ssh -o options, `Key=value` words separated by spaces (the CLI's --ssh-option). */
  sshOptions: string;
  path: string;
  name: string;
  destDir: string;
  format: 'qcow2' | 'raw';
  memory: string;
  vcpus: string;
  /** Comma- or space-separated. */
  macs: string;
  bus: 'ide' | 'sata';
  network: string;
}

export function initialP2vForm(): P2vForm {
  return { kind: 'ssh', sshTarget: '', sshDevice: '/dev/sda', sshPort: '', identity: '', sshOptions: '', path: '', name: '', destDir: '/var/lib/libvirt/images', format: 'qcow2', memory: '', vcpus: '', macs: '', bus: 'ide', network: 'user' };
}

export const KIND_CHOICES = [
  { value: 'ssh', label: 'a remote machine over SSH (booted from a live system)' },
  { value: 'device', label: 'a disk or LVM volume attached to this host' },
  { value: 'file', label: 'a raw dump file (dd image)' },
];
export const FORMAT_CHOICES = [
  { value: 'qcow2', label: 'qcow2 (thin, snapshots)' },
  { value: 'raw', label: 'raw (sparse)' },
];
export const BUS_CHOICES = [
  { value: 'ide', label: 'IDE (any Windows; run MergeIDE first)' },
  { value: 'sata', label: 'SATA (Vista and later, Linux)' },
];

export function formSource(f: P2vForm): P2vSource {
  if (f.kind === 'ssh') {
    if (!f.sshTarget.trim()) throw new FieldRefusal('sshTarget', 'Give the machine to copy from.', 'Type root@HOST (key login must work: ssh-copy-id root@HOST).');
    const device = f.sshDevice.trim() || '/dev/sda';
    const sshOption = onField('sshOptions', () => parseSshOptionsText(f.sshOptions));
    return parseSshSource(`${f.sshTarget.trim()}:${device}`, { sshPort: f.sshPort.trim() || undefined, identity: f.identity.trim() || undefined, sshOption });
  }
  const path = f.path.trim();
  if (!path.startsWith('/')) throw new FieldRefusal('path', f.kind === 'device' ? 'Give the disk as a full path, e.g. /dev/sdb or /dev/vg0/server.' : 'Give the dump file as a full path.', 'Start it with /.');
  return { kind: f.kind, path };
}

/** Fills memory, CPUs, MACs and a name from the source, keeping what the admin already typed. */
export function prefill(f: P2vForm, facts: P2vSourceFacts): P2vForm {
  return {
    ...f,
    name: f.name || nameFromSource(formSource(f)),
    memory: f.memory || (facts.memoryKiB ? String(Math.ceil(facts.memoryKiB / 1024)) : '1024'),
    vcpus: f.vcpus || String(facts.vcpus ?? 1),
    macs: f.macs || facts.nics.map((n) => n.mac).join(', '),
    bus: guessOs(facts.partitions) === 'linux' && f.bus === 'ide' ? 'sata' : f.bus,
  };
}

/** A parse of one field's text: its refusal names the field. */
function onField<T>(field: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    throw e instanceof UserError && !(e instanceof FieldRefusal) ? new FieldRefusal(field, e.sentence, e.fix) : e;
  }
}

export function formInput(f: P2vForm): P2vInput {
  const vcpus = Number(f.vcpus);
  const macs = f.macs.split(/[\s,]+/).filter(Boolean);
  return {
    source: formSource(f),
    name: f.name.trim(),
    destDir: f.destDir.trim(),
    format: f.format,
    macs: macs.length > 0 ? macs : undefined,
    memoryMiB: f.memory.trim() ? onField('memory', () => parseMemoryMiB(f.memory.trim())) : undefined,
    vcpus: f.vcpus.trim() ? vcpus : undefined,
    bus: f.bus,
    network: onField('network', () => parseNetwork(f.network.trim() || 'user')),
  };
}

/** The "what was found" screen. */
export function foundLines(source: P2vSource, facts: P2vSourceFacts): string[] {
  const lines = [
    `${sourceLabel(source)}: ${formatBytes(facts.sizeBytes)}${facts.model ? `, ${facts.model}` : ''}, ${facts.partitionTable ? `${facts.partitionTable} partition table` : 'no partition table'}`,
    ...facts.partitions.map((p) => `  ${p.name.padEnd(12)} ${formatBytes(p.sizeBytes).padStart(9)}  ${p.fstype ?? p.type ?? '?'}${p.mountpoint ? `  MOUNTED on ${p.mountpoint}` : ''}`),
  ];
  if (source.kind === 'ssh') {
    lines.push(
      `machine: ${facts.memoryKiB ? formatBytes(facts.memoryKiB * 1024) : '?'} memory, ${facts.vcpus ?? '?'} CPUs`,
      facts.nics.length > 0 ? `NICs: ${facts.nics.map((n) => `${n.name} ${n.mac}`).join(', ')} (kept, so Windows keeps its network settings)` : 'NICs: none reported (a new MAC will be made)',
    );
    if (facts.sizeBytes > REMOTE_VERIFY_LIMIT) lines.push(`The remote checksum is skipped for a disk this large (it would read all ${formatBytes(facts.sizeBytes)} again).`);
  }
  lines.push('', ...(facts.mounted.length > 0 ? [`WARNING: mounted now: ${facts.mounted.join(', ')}`] : []), ...QUIET_EXPLANATION);
  return lines;
}
