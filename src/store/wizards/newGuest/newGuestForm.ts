import type { HostFacts } from '../../../jobs/newGuest.js';
import type { FirmwareChoice } from '../../../model/guestFirmware.js';
import { randomMac } from '../../../model/mac.js';
import {
  defaultDiskPath,
  type ImageFormat,
  type NewGuestFacts,
  type NewGuestSpec,
  type NicModel,
  type OsType,
  osDefaults,
  SpecProblem,
  validateSpec,
} from '../../../model/newGuest.js';
import { parseSize } from '../../../model/units.js';
import { UserError } from '../../../model/userError.js';

/**
 * The wizard's form, pure: what the admin typed (strings, as typed), the steps, the defaults an OS
 * choice brings, and the conversion to a NewGuestSpec with the parse errors as refusals on the
 * step they belong to. The wizard's store (newGuestWizard.ts) keeps these values; stepFields.ts
 * shows them as each step's Form.
 */

export type StepId = 'name' | 'os' | 'resources' | 'install' | 'storage' | 'network' | 'display' | 'review';
export const STEPS: StepId[] = ['name', 'os', 'resources', 'install', 'storage', 'network', 'display', 'review'];
export const STEP_TITLES: Record<StepId, string> = {
  name: 'name',
  os: 'operating system',
  resources: 'memory, CPUs, firmware',
  install: 'install source',
  storage: 'storage',
  network: 'network',
  display: 'screen and console',
  review: 'review',
};

export interface OsChoice {
  id: string;
  label: string;
  osType: OsType;
  variant?: string;
}

export const OS_CHOICES: OsChoice[] = [
  { id: 'linux', label: 'Linux (any recent distribution)', osType: 'linux', variant: 'linux2022' },
  { id: 'debian12', label: 'Debian 12', osType: 'linux', variant: 'debian12' },
  { id: 'ubuntu24.04', label: 'Ubuntu 24.04', osType: 'linux', variant: 'ubuntu24.04' },
  { id: 'win11', label: 'Windows 11 / Server 2022', osType: 'windows', variant: 'win11' },
  { id: 'win10', label: 'Windows 10 / Server 2016–2019', osType: 'windows', variant: 'win10' },
  { id: 'win7', label: 'Windows 7 / Server 2008 R2', osType: 'windows', variant: 'win7' },
  { id: 'winxp', label: 'Windows XP', osType: 'windows', variant: 'winxp' },
  { id: 'win2k3', label: 'Windows Server 2003', osType: 'windows', variant: 'win2k3' },
  { id: 'other', label: 'Other operating system', osType: 'other' },
];

export function osChoice(id: string): OsChoice {
  return OS_CHOICES.find((c) => c.id === id) ?? (OS_CHOICES[0] as OsChoice);
}

export type InstallKind = 'iso' | 'existing' | 'none';
export type NetKind = 'bridge' | 'network' | 'user';

export interface NewGuestForm {
  name: string;
  os: string;
  memory: string;
  vcpus: string;
  firmware: FirmwareChoice;
  tpm: 'yes' | 'no';
  installKind: InstallKind;
  isoPath: string;
  /** One or more image paths, separated by commas. */
  diskPaths: string;
  newDisk: 'yes' | 'no';
  diskFormat: ImageFormat;
  diskSize: string;
  /** Empty: the default path for the name and format. */
  diskPath: string;
  netKind: NetKind;
  netSource: string;
  macStyle: 'kvm' | 'vmware';
  mac: string;
  nicModel: 'default' | NicModel;
  vnc: 'auto' | 'port' | 'none';
  vncPort: string;
  listen: string;
  serial: 'yes' | 'no';
  start: boolean;
  openConsole: boolean;
}

export function initialForm(facts: Pick<HostFacts, 'bridges' | 'networks'> | null, rng: () => number = Math.random): NewGuestForm {
  const d = osDefaults('linux');
  const activeNet = facts?.networks.find((n) => n.active);
  const netKind: NetKind = activeNet ? 'network' : facts?.bridges.length ? 'bridge' : 'user';
  return {
    name: '',
    os: 'linux',
    memory: String(d.memoryMiB),
    vcpus: String(d.vcpus),
    firmware: d.firmware,
    tpm: d.tpm ? 'yes' : 'no',
    installKind: 'iso',
    isoPath: '',
    diskPaths: '',
    newDisk: 'yes',
    diskFormat: 'qcow2',
    diskSize: `${d.diskSizeGiB}G`,
    diskPath: '',
    netKind,
    netSource: netKind === 'network' ? (activeNet?.name ?? '') : netKind === 'bridge' ? (facts?.bridges[0] ?? '') : '',
    macStyle: 'kvm',
    mac: randomMac('kvm', rng),
    nicModel: 'default',
    vnc: 'auto',
    vncPort: '5901',
    listen: '127.0.0.1',
    serial: d.serial ? 'yes' : 'no',
    start: true,
    openConsole: false,
  };
}

/** Choosing an OS brings its sizes; the admin adjusts them on the next steps. */
export function applyOsDefaults(form: NewGuestForm, osId: string): NewGuestForm {
  const c = osChoice(osId);
  const d = osDefaults(c.osType, c.variant);
  return {
    ...form,
    os: c.id,
    memory: String(d.memoryMiB),
    vcpus: String(d.vcpus),
    // The Windows 11 preset: UEFI + Secure Boot + TPM 2.0 (its SATA disk comes with osDefaults).
    firmware: d.firmware,
    tpm: d.tpm ? 'yes' : 'no',
    diskSize: `${d.diskSizeGiB}G`,
    serial: d.serial ? 'yes' : 'no',
    nicModel: 'default',
  };
}

/** An existing system usually needs no extra disk; an installer needs one to install onto. */
export function applyInstallKind(form: NewGuestForm, kind: InstallKind): NewGuestForm {
  return { ...form, installKind: kind, newDisk: kind === 'existing' ? 'no' : 'yes' };
}

export function effectiveDiskPath(form: NewGuestForm): string {
  return form.diskPath.trim() || defaultDiskPath(form.name.trim(), form.diskFormat);
}

export function splitPaths(text: string): string[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** Sources the chosen network kind can use on this host. */
export function netSources(form: NewGuestForm, facts: Pick<HostFacts, 'bridges' | 'networks'>): string[] {
  if (form.netKind === 'bridge') return facts.bridges;
  if (form.netKind === 'network') return facts.networks.map((n) => n.name);
  return [];
}

function parseMemoryMiB(text: string): number {
  const t = text.trim();
  // A bare number is MiB, like virt-manager's field; with a unit it is converted.
  if (/^\d+$/.test(t)) return Number(t);
  const { bytes, relative } = parseSize(t);
  if (relative) throw new UserError(`"${text}" is a change, not an amount of memory.`, 'Give the RAM as 1024 (MiB) or 2G.');
  return Math.floor(bytes / 1024 ** 2);
}

/** The memory field as a sentence says it: "1G" is "1024 MiB" (never "1G MiB"); text that is no size as typed. */
export function memoryShown(text: string): string {
  try {
    return `${parseMemoryMiB(text)} MiB`;
  } catch {
    return text;
  }
}

export interface FormResult {
  spec: NewGuestSpec;
  /** Parse errors, as refusals on their steps. */
  problems: SpecProblem[];
}

/**
 * The spec the form describes. Fields that do not parse are refused on their own step and carry
 * a neutral value, so the other steps still validate and the review can still be drawn.
 */
export function formToSpec(form: NewGuestForm, domainType: 'kvm' | 'qemu', formats?: Record<string, string>): FormResult {
  const problems: SpecProblem[] = [];
  const attempt = <T>(field: SpecProblem['field'], fallback: T, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      problems.push(new SpecProblem(field, e.sentence, e.fix));
      return fallback;
    }
  };
  const c = osChoice(form.os);
  const name = form.name.trim();
  const memoryMiB = attempt('resources', 0, () => parseMemoryMiB(form.memory));
  const vcpus = /^\d+$/.test(form.vcpus.trim()) ? Number(form.vcpus.trim()) : Number.NaN;

  let install: NewGuestSpec['install'];
  if (form.installKind === 'iso') install = { kind: 'iso', isoPath: form.isoPath.trim() };
  else if (form.installKind === 'existing') {
    const diskPaths = splitPaths(form.diskPaths);
    const known = formats && diskPaths.every((p) => formats[p]) ? formats : undefined;
    install = known ? { kind: 'existing', diskPaths, formats: known } : { kind: 'existing', diskPaths };
  } else install = { kind: 'none' };

  let newDisk: NewGuestSpec['newDisk'];
  if (form.newDisk === 'yes') {
    const sizeBytes = attempt('storage', 0, () => {
      const s = parseSize(form.diskSize);
      if (s.relative) throw new UserError(`"${form.diskSize}" is a change, not a size.`, 'Give the size of the new disk, for example 20G.');
      return s.bytes;
    });
    newDisk = { path: effectiveDiskPath(form), format: form.diskFormat, sizeBytes };
  }

  let vnc: NewGuestSpec['graphics']['vnc'] = form.vnc === 'port' ? Number.NaN : form.vnc;
  if (form.vnc === 'port') {
    vnc = attempt('display', 5900, () => {
      if (!/^\d+$/.test(form.vncPort.trim())) throw new UserError(`"${form.vncPort}" is not a port number.`, 'Type a port such as 5901, or choose auto.');
      return Number(form.vncPort.trim());
    });
  }

  const spec: NewGuestSpec = {
    name,
    osType: c.osType,
    ...(c.variant ? { variant: c.variant } : {}),
    memoryMiB,
    vcpus,
    install,
    ...(newDisk ? { newDisk } : {}),
    network: {
      kind: form.netKind,
      ...(form.netKind !== 'user' ? { source: form.netSource } : {}),
      mac: form.mac.trim(),
      ...(form.nicModel !== 'default' ? { model: form.nicModel } : {}),
    },
    graphics: { vnc, listen: form.listen.trim() },
    serial: form.serial === 'yes',
    domainType,
    firmware: form.firmware,
    tpm: form.tpm === 'yes',
  };
  return { spec, problems };
}

/** Steps whose refusals need the host's files (existence, formats, other guests' disks). */
export const HOST_CHECKED_STEPS: StepId[] = ['install', 'storage'];

/**
 * Refusals for one step decided from the facts read at the start: parse errors for every step,
 * and the full checks for the steps that need no files. Install and storage paths are checked on
 * the host by the job (checkNewGuest).
 */
export function problemsForStep(step: StepId, form: NewGuestForm, facts: HostFacts, formats?: Record<string, string>): SpecProblem[] {
  const { spec, problems } = formToSpec(form, facts.domainType, formats);
  if (HOST_CHECKED_STEPS.includes(step)) return problems.filter((p) => p.field === step);
  const hostView: NewGuestFacts = {
    existingNames: facts.guests.map((g) => g.name),
    guestDiskUsers: new Map(),
    pathKind: () => null,
    hostMemoryMiB: facts.hostMemoryMiB,
    bridges: facts.bridges,
    networks: facts.networks,
  };
  return [...problems, ...validateSpec(spec, hostView)].filter((p) => p.field === step);
}
