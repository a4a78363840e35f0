/**
 * Import of a VMware VM, the pure half: what was found next to the .vmx (the parsed guest, each
 * disk's snapshot chain, VMware lock directories, names already taken) → refusals, warnings and the
 * plan. Disks are either used as they are (QEMU reads vmdk, snapshot chains included) or copied to
 * qcow2/raw with the convert job's steps (temp directory, compare, link into place), so the VMware
 * files are never written. The domain XML comes from vmxToDomain.ts.
 */

import { type ConvertSource, type ConvertTarget, convertSteps, dropTempStep, targetFrom, tempDirFor } from './convertPlan.js';
import { countOf } from './countText.js';
import { GUEST_NAME_MAX, guestNameProblem } from './guestName.js';
import { decideFixup, type FixupChoice, type FixupDecision, type FixupTools, fixupBus, v2vArgv, v2vInputXml, v2vStep } from './importFixup.js';
import type { Plan, PlanStep } from './plan.js';
import { FieldRefusal, UserError } from './userError.js';
import type { VmdkChain } from './vmdkChain.js';
import type { VmxGuest } from './vmx.js';
import { type BusChoice, type DomainDiskFile, type NicMapping, type VmxDomain, vmxToDomainXml } from './vmxToDomain.js';
import { type DirState, writableDirProblem } from './writableDir.js';

export type ImportConvert = 'none' | 'qcow2' | 'raw';
export const CONVERT_CHOICES: ImportConvert[] = ['none', 'qcow2', 'raw'];

export interface ImportDiskFacts {
  /** .vmx slot: scsi0:0 */
  key: string;
  chain: VmdkChain;
  virtualSize: number;
  /** Snapshot files in the directory that the chain does not use. */
  unused: string[];
}

export interface ImportFacts {
  vmxPath: string;
  guest: VmxGuest;
  disks: ImportDiskFacts[];
  /** `*.lck` directories next to the .vmx or a vmdk: VMware has the VM open. */
  locks: string[];
  existingGuests: string[];
  /** Destination files that exist already. */
  existingDest: string[];
  /** With conversion: what a write probe found in the destination directory (absent: not probed). */
  destDirState?: DirState;
  bridges: string[];
  networks: string[];
  domainType: 'kvm' | 'qemu';
  /** Fix-up tools found on the host (absent: not looked for). */
  fixupTools?: FixupTools;
}

export interface ImportRequest {
  convert: ImportConvert;
  /** Directory for converted images; default: the .vmx's directory. */
  destDir?: string;
  bus: BusChoice;
  /** One per NIC; default user-mode for every NIC. */
  nics?: NicMapping[];
  name?: string;
  start: boolean;
  /** The guest fix-up after the copy (model/importFixup.ts); default none. */
  fixup?: FixupChoice;
  /** The virtio-win ISO for a Windows fix-up. */
  virtioWin?: string;
}

export interface ImportCheck {
  refusals: UserError[];
  warnings: string[];
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** libvirt names: letters, digits and . _ - only (what virsh accepts without quoting surprises). */
export function guestNameFrom(displayName: string | null, vmxPath: string): string {
  const raw = displayName?.trim() || baseOf(vmxPath).replace(/\.(vmx|ova|ovf)$/i, '');
  // A display name is the customer's text: made into a name that passes guestNameProblem.
  const name = raw
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, GUEST_NAME_MAX)
    .replace(/[-.]+$/, '');
  return name || 'imported';
}

export function importName(facts: ImportFacts, req: ImportRequest): string {
  return req.name?.trim() || guestNameFrom(facts.guest.name, facts.vmxPath);
}

/** Where the converted copy of a disk goes: DEST/BASE.qcow2, BASE from the chain's base disk (no -000001). */
export function convertedPath(facts: ImportFacts, disk: ImportDiskFacts, req: ImportRequest): string {
  const base = disk.chain.links[disk.chain.links.length - 1]?.path ?? disk.chain.active;
  const stem = baseOf(base).replace(/\.vmdk$/i, '');
  const dir = req.destDir?.replace(/\/+$/, '') || dirOf(facts.vmxPath);
  return `${dir}/${stem}.${req.convert}`;
}

export function importTargetFormat(req: ImportRequest): ConvertTarget | null {
  return req.convert === 'none' ? null : targetFrom(req.convert);
}

/** The directory converted images go into, or null when the vmdk files are used where they are. */
export function importDestDir(facts: Pick<ImportFacts, 'vmxPath'>, req: ImportRequest): string | null {
  return req.convert === 'none' ? null : req.destDir?.replace(/\/+$/, '') || dirOf(facts.vmxPath);
}

/** Every path the plan would create (for the existence check done by the job). */
export function plannedDestFiles(facts: ImportFacts, req: ImportRequest): string[] {
  return req.convert === 'none' ? [] : facts.disks.map((d) => convertedPath(facts, d, req));
}

export function nicMappings(facts: ImportFacts, req: ImportRequest): NicMapping[] {
  return req.nics ?? facts.guest.nics.map(() => ({ kind: 'user' }) as NicMapping);
}

/** Which fix-up runs after the copy, and why. */
export function importFixup(facts: ImportFacts, req: ImportRequest): FixupDecision {
  return decideFixup(facts.guest, req, facts.fixupTools);
}

export function checkImport(facts: ImportFacts, req: ImportRequest): ImportCheck {
  const refusals: UserError[] = [];
  const fixup = importFixup(facts, req);
  if (fixup.refusal) refusals.push(fixup.refusal);
  const warnings: string[] = [...facts.guest.warnings];
  const name = importName(facts, req);
  if (facts.locks.length > 0) {
    refusals.push(
      new UserError(
        `VMware has this VM open: ${facts.locks.map(baseOf).join(', ')} ${facts.locks.length === 1 ? 'exists' : 'exist'}; its disks may change while they are read.`,
        'Power the VM off in VMware first. If VMware is not running (a copied directory), delete the .lck directories and try again.',
      ),
    );
  }
  if (facts.existingGuests.includes(name)) {
    refusals.push(new FieldRefusal('name', `A guest named ${name} already exists.`, 'Give the import another name (--name, or the name field).'));
  }
  const nameProblem = guestNameProblem(name);
  if (nameProblem) {
    refusals.push(new FieldRefusal('name', nameProblem.sentence, nameProblem.fix));
  }
  const destDir = importDestDir(facts, req);
  const dirProblem = destDir === null ? null : writableDirProblem(destDir, facts.destDirState, req.destDir ? 'the destination directory (--dest)' : 'the directory of the .vmx');
  if (dirProblem) refusals.push(req.destDir ? new FieldRefusal('dest', dirProblem.sentence, dirProblem.fix) : dirProblem);
  if (facts.disks.length === 0) warnings.push('The .vmx has no hard disk; the guest will only boot from CD-ROM or network.');
  if (facts.existingDest.length > 0) {
    refusals.push(
      new UserError(
        `${facts.existingDest.join(', ')} already exist${facts.existingDest.length === 1 ? 's' : ''}; virtdeck never overwrites an image.`,
        'Choose another destination directory (--dest), or move the old files away first.',
      ),
    );
  }
  const maps = nicMappings(facts, req);
  if (maps.length !== facts.guest.nics.length) {
    refusals.push(new UserError(`The .vmx has ${countOf(facts.guest.nics.length, 'network card')} but ${countOf(maps.length, 'mapping was', 'mappings were')} given.`, 'Map every network card (ethernet0, ethernet1, …) once.'));
  }
  for (const [i, m] of maps.entries()) {
    if (m.kind === 'bridge' && !facts.bridges.includes(m.source)) {
      refusals.push(new FieldRefusal(`nic${i}`, `The bridge ${m.source} (for ethernet${facts.guest.nics[i]?.index ?? i}) does not exist on this host.`, facts.bridges.length ? `Use one of: ${facts.bridges.join(', ')}.` : 'Create a bridge first, or use a libvirt network or user-mode networking.'));
    }
    if (m.kind === 'network' && !facts.networks.includes(m.source)) {
      refusals.push(new FieldRefusal(`nic${i}`, `The libvirt network ${m.source} does not exist.`, facts.networks.length ? `Use one of: ${facts.networks.join(', ')}.` : 'Define one with virsh net-define, or use a bridge or user-mode networking.'));
    }
  }
  for (const d of facts.disks) {
    warnings.push(...d.chain.warnings);
    if (d.chain.snapshot) {
      const files = d.chain.links.map((l) => baseOf(l.path)).join(' → ');
      warnings.push(
        req.convert === 'none'
          ? `${d.key} has VMware snapshots (${files}); the active one, ${baseOf(d.chain.active)}, is used with its parents, which must stay in place.`
          : `${d.key} has VMware snapshots (${files}); the active one, ${baseOf(d.chain.active)}, is used and the older snapshots are flattened into the copy.`,
      );
    }
    if (d.unused.length > 0) {
      warnings.push(`${d.key}: ${d.unused.join(', ')} ${d.unused.length === 1 ? 'is a snapshot file' : 'are snapshot files'} the .vmx does not use; they are left out.`);
    }
  }
  if (facts.guest.windows && req.bus === 'virtio') {
    warnings.push('Windows boots from virtio only when the viostor/vioscsi driver is installed in it; keep the VMware bus for the first boot otherwise.');
  }
  try {
    buildImportDomain(facts, req);
  } catch (e) {
    if (e instanceof UserError) refusals.push(e);
    else throw e;
  }
  return { refusals, warnings };
}

/** The domain XML for this request (disks at their final paths). */
export function buildImportDomain(facts: ImportFacts, req: ImportRequest): VmxDomain {
  const disks: DomainDiskFile[] = facts.disks.map((d) =>
    req.convert === 'none' ? { key: d.key, path: d.chain.active, format: 'vmdk' } : { key: d.key, path: convertedPath(facts, d, req), format: req.convert as 'qcow2' | 'raw' },
  );
  const bus = fixupBus(req, importFixup(facts, req));
  return vmxToDomainXml(facts.guest, { name: importName(facts, req), domainType: facts.domainType, disks, bus, nics: nicMappings(facts, req) });
}

export interface ImportPlanOptions {
  uri: string;
  /** Local file virsh define --file reads. */
  xmlFile: string;
}

/** Plan of the import; throws the first refusal. */
export function planImport(facts: ImportFacts, req: ImportRequest, opts: ImportPlanOptions): Plan {
  const first = checkImport(facts, req).refusals[0];
  if (first) throw first;
  const name = importName(facts, req);
  const domain = buildImportDomain(facts, req);
  const steps: PlanStep[] = [];
  const target = importTargetFormat(req);
  const images: string[] = [];
  const fixup = importFixup(facts, req);
  if (target) {
    // A fix-up runs on every copy at once (a guest's root may span disks), after all of them are
    // made and compared and before any is put in place: what it changes is only ever the copy.
    const before: PlanStep[] = [];
    const after: PlanStep[] = [];
    const temps: { path: string; format: string }[] = [];
    facts.disks.forEach((d, i) => {
      const dest = convertedPath(facts, d, req);
      const src: ConvertSource = { path: d.chain.active, format: 'vmdk', virtualSize: d.virtualSize, files: d.chain.links.map((l) => l.path), users: [] };
      const p = `disk${i}-`;
      const disk = convertSteps(src, target, dest, { idPrefix: p }).map((s) => ({ ...s, title: `${d.key}: ${s.title}` }));
      const place = disk.findIndex((s) => s.id === `${p}place`);
      const rest = [...disk.slice(place), { ...dropTempStep(dest, target), id: `${p}droptemp` }];
      if (fixup.engine === 'v2v') {
        before.push(...disk.slice(0, place));
        after.push(...rest);
      } else before.push(...disk.slice(0, place), ...rest);
      temps.push({ path: `${tempDirFor(dest)}/${dest.slice(dest.lastIndexOf('/') + 1)}`, format: target.format });
      images.push(dest);
    });
    steps.push(...before);
    const first = facts.disks[0];
    if (fixup.engine === 'v2v' && first) {
      const xmlPath = `${tempDirFor(convertedPath(facts, first, req))}/virt-v2v-input.xml`;
      const argv = v2vArgv(xmlPath, { tcg: facts.domainType === 'qemu', virtioWin: facts.guest.windows ? req.virtioWin : undefined });
      steps.push(v2vStep({ guest: name, xmlPath, xml: v2vInputXml(name, facts.guest, temps), argv, disks: temps.map((t) => t.path) }, fixup.why));
    }
    steps.push(...after);
  } else images.push(...facts.disks.map((d) => d.chain.active));
  const virsh = (...args: string[]) => ({ runsOn: 'virsh' as const, argv: ['virsh', '-c', opts.uri, ...args], timeoutMs: 120_000 });
  steps.push({
    id: 'define',
    title: `define the guest ${name}`,
    command: virsh('define', '--validate', '--file', opts.xmlFile),
    writesFile: { path: opts.xmlFile, content: domain.xml },
    // A UEFI guest that started has a variable store of its own, and libvirt keeps the guest unless told to remove it.
    undo: { title: `undefine ${name}`, command: virsh('undefine', '--domain', name, ...(facts.guest.firmware === 'efi' ? ['--nvram'] : [])) },
  });
  if (fixup.engine === 'mergeide') {
    steps.push({
      id: 'fixup-mergeide',
      title: `MergeIDE on ${name}'s copied disks, offline, before its first start (${fixup.why})`,
      action: { name: 'import.mergeide', args: { guest: name, ...(req.virtioWin ? { virtioIso: req.virtioWin } : {}) } },
      long: true,
    });
  }
  if (req.start) {
    steps.push({
      id: 'start',
      title: `start ${name}`,
      command: virsh('start', '--domain', name),
      undo: { title: `stop ${name}`, command: virsh('destroy', '--domain', name) },
    });
  }
  return { kind: 'import-vmware', title: `import ${baseOf(facts.vmxPath)} as ${name}`, targets: { guests: [name], images }, steps };
}
