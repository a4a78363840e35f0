/**
 * The small disk jobs of the Disks pane and `virtdeck disk`: create, attach, detach, delete. Each
 * is a pure plan builder (shown by --dry-run and in confirmations) plus a run through the journaled
 * runner, after the preconditions that need the host (path free, guest state) are checked.
 */
import { stateDir } from '../config/paths.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { readFileHead } from '../host/imageInspect.js';
import * as qemuImg from '../host/qemuImg.js';
import { dumpXml, type GuestRow, listGuests, virshArgv } from '../host/virsh.js';
import { basename, type DiskRow } from '../model/diskInventory.js';
import { addDisk, getSettings, parseDomainXml } from '../model/domainXml.js';
import { isActive } from '../model/guest.js';
import { HEAD_BYTES, inspectImageHeader, isInside, referencePath } from '../model/imageHeader.js';
import type { Plan, PlanStep } from '../model/plan.js';
import { shown } from '../model/shown.js';
import { parseSize } from '../model/units.js';
import { FieldRefusal, UserError } from '../model/userError.js';
import { type ImageUser, inUseRefusal, usersOfFiles } from './diskUsers.js';
import { type RunnerEvent, runPlan } from './runner.js';

export const CREATE_FORMATS = ['qcow2', 'raw', 'vmdk'] as const;
export type CreateFormat = (typeof CREATE_FORMATS)[number];
export const PREALLOCATIONS = ['off', 'metadata', 'falloc', 'full'] as const;
export type Preallocation = (typeof PREALLOCATIONS)[number];
export const ATTACH_BUSES = ['virtio', 'scsi', 'sata', 'ide', 'usb'] as const;
export type AttachBus = (typeof ATTACH_BUSES)[number];
/** Buses QEMU can plug a disk into while the guest runs. */
export const HOTPLUG_BUSES: readonly string[] = ['virtio', 'scsi', 'usb'];

// ---------------------------------------------------------------------------------------------
// create

export interface CreateRequest {
  path: string;
  format: string;
  /** As typed: "20G", "512M". */
  size: string;
  preallocation?: string;
}

export interface CreateSpec {
  path: string;
  format: CreateFormat;
  sizeBytes: number;
  create: qemuImg.CreateOptions;
  /** Every file the new image consists of (a flat vmdk has two). */
  files: string[];
}

/** A UserError thrown by `f` as a refusal of the create form's field `field`. */
function onField<T>(field: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof UserError && !(e instanceof FieldRefusal) ? new FieldRefusal(field, e.sentence, e.fix) : e;
  }
}

/** Checks a create request without touching the host; every refusal says how to fix it, on its form field. */
export function validateCreate(req: CreateRequest): CreateSpec {
  const path = req.path.trim();
  if (!path.startsWith('/')) throw new FieldRefusal('path', `"${req.path}" is not an absolute path.`, 'Give the full path of the new image, e.g. /var/lib/libvirt/images/data.qcow2.');
  if (path.endsWith('/')) throw new FieldRefusal('path', `"${req.path}" names a folder, not a file.`, 'Add the file name, e.g. data.qcow2.');
  if (!(CREATE_FORMATS as readonly string[]).includes(req.format)) {
    throw new FieldRefusal('format', `"${req.format}" is not a format virtdeck creates.`, `Use one of ${CREATE_FORMATS.join(', ')}.`);
  }
  const format = req.format as CreateFormat;
  const parsed = onField('size', () => parseSize(req.size));
  if (parsed.relative) throw new FieldRefusal('size', `"${req.size}" is a growth, not a size.`, 'Give the size of the new disk, e.g. 20G.');
  if (parsed.bytes < 512) throw new FieldRefusal('size', `A disk of ${parsed.bytes} bytes is too small to hold anything.`, 'Give a size like 1G or 512M.');
  const prealloc = (req.preallocation ?? 'off') as Preallocation;
  if (!(PREALLOCATIONS as readonly string[]).includes(prealloc)) {
    throw new FieldRefusal('preallocation', `"${req.preallocation}" is not a preallocation mode.`, `Use one of ${PREALLOCATIONS.join(', ')}.`);
  }
  const create: qemuImg.CreateOptions = { format, sizeBytes: parsed.bytes };
  if (format === 'vmdk') {
    // vmdk has no preallocation option: its flat subformat is the preallocated kind.
    create.options = { subformat: prealloc === 'falloc' || prealloc === 'full' ? 'monolithicFlat' : 'monolithicSparse', adapter_type: 'lsilogic' };
    if (prealloc === 'metadata') throw new FieldRefusal('preallocation', 'vmdk has no metadata-only preallocation.', 'Use off (growable) or full (monolithicFlat) for vmdk.');
  } else if (format === 'raw' && prealloc === 'metadata') {
    throw new FieldRefusal('preallocation', 'A raw image has no metadata to preallocate.', 'Use off (sparse), falloc or full for raw.');
  } else if (prealloc !== 'off') {
    create.preallocation = prealloc;
  }
  return { path, format, sizeBytes: parsed.bytes, create, files: qemuImg.imageFiles(path, format, create.options, parsed.bytes) };
}

export function planCreate(spec: CreateSpec): Plan {
  return {
    kind: 'disk-create',
    title: `Create ${basename(spec.path)}`,
    targets: { guests: [], images: [spec.path] },
    steps: [
      {
        id: 'create',
        title: `Create the ${spec.format} image ${spec.path}`,
        command: { runsOn: 'sys', argv: qemuImg.createArgv(spec.path, spec.create) },
        long: spec.create.preallocation === 'full' || spec.create.preallocation === 'falloc',
        // Safe on a partial result: the files did not exist before (checked before the run).
        undo: { title: `Remove ${spec.files.join(', ')}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...spec.files] } },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// attach / detach

export interface AttachRequest {
  guest: string;
  path: string;
  /** The image format (driver type). */
  format: string;
  bus: string;
  target?: string;
}

export interface GuestFacts {
  /** The inactive (persistent) definition. */
  inactiveXml: string;
  running: boolean;
}

/** The target libvirt will get: addDisk on the inactive XML checks bus, machine and free names. */
export function chooseTarget(req: AttachRequest, inactiveXml: string): string {
  if (!(ATTACH_BUSES as readonly string[]).includes(req.bus)) {
    throw new UserError(`"${req.bus}" is not a disk bus.`, `Use one of ${ATTACH_BUSES.join(', ')}.`);
  }
  const device = /\.iso$/i.test(req.path) ? 'cdrom' : 'disk';
  const before = parseDomainXml(inactiveXml);
  const after = addDisk(before, { source: req.path, format: req.format === 'iso' ? 'raw' : req.format, bus: req.bus, target: req.target, device });
  const had = new Set(getSettings(before).disks.map((d) => d.target));
  const added = getSettings(after).disks.find((d) => !had.has(d.target))?.target;
  if (!added) throw new UserError(`No free ${req.bus} target is left on ${req.guest}.`, 'Use another bus, or detach a disk first.');
  return added;
}

function attachArgs(guest: string, path: string, target: string, format: string, bus: string, live: boolean): string[] {
  const cdrom = /\.iso$/i.test(path);
  return [
    'attach-disk',
    '--domain',
    guest,
    '--source',
    path,
    '--target',
    target,
    '--driver',
    'qemu',
    '--subdriver',
    format === 'iso' ? 'raw' : format,
    '--targetbus',
    bus,
    ...(cdrom ? ['--type', 'cdrom', '--mode', 'readonly'] : []),
    '--config',
    ...(live ? ['--live'] : []),
  ];
}

export function planAttach(host: HostContext, req: AttachRequest, facts: GuestFacts): Plan {
  const target = chooseTarget(req, facts.inactiveXml);
  const live = facts.running && HOTPLUG_BUSES.includes(req.bus);
  const flags = ['--config', ...(live ? ['--live'] : [])];
  return {
    kind: 'disk-attach',
    title: `Attach ${basename(req.path)} to ${req.guest} as ${target}`,
    targets: { guests: [req.guest], images: [req.path] },
    steps: [
      {
        id: 'attach',
        title: `Attach ${req.path} to ${req.guest} as ${target} (${req.bus}${live ? ', now and from the next start' : facts.running ? ', from the next start' : ''})`,
        command: { runsOn: 'virsh', argv: virshArgv(host, attachArgs(req.guest, req.path, target, req.format, req.bus, live)) },
        undo: { title: `Detach ${target} from ${req.guest}`, command: { runsOn: 'virsh', argv: virshArgv(host, ['detach-disk', '--domain', req.guest, '--target', target, ...flags]) } },
      },
    ],
  };
}

export interface DetachFacts {
  guest: GuestRow;
  inactiveXml: string;
}

export function planDetach(host: HostContext, guest: string, target: string, facts: DetachFacts): Plan {
  const persistent = getSettings(parseDomainXml(facts.inactiveXml)).disks.some((d) => d.target === target);
  const running = isActive(facts.guest.state);
  const disk = facts.guest.disks.find((d) => d.target === target);
  if (!disk && !persistent) {
    const known = facts.guest.disks.map((d) => d.target);
    throw new UserError(`${guest} has no disk ${target}.`, known.length ? `Pick one of ${known.join(', ')}.` : `${guest} has no disks.`);
  }
  const live = running && disk !== undefined;
  const flags = [...(persistent ? ['--config'] : []), ...(live ? ['--live'] : [])];
  const step: PlanStep = {
    id: 'detach',
    title: `Detach ${target}${disk?.source ? ` (${disk.source})` : ''} from ${guest}; the image file is kept`,
    command: { runsOn: 'virsh', argv: virshArgv(host, ['detach-disk', '--domain', guest, '--target', target, ...flags]) },
  };
  if (disk?.source) {
    step.undo = {
      title: `Attach ${disk.source} to ${guest} as ${target} again`,
      command: { runsOn: 'virsh', argv: virshArgv(host, attachArgs(guest, disk.source, target, disk.format ?? 'raw', disk.bus, live).filter((a) => persistent || a !== '--config')) },
    };
  }
  return { kind: 'disk-detach', title: `Detach ${target} from ${guest}`, targets: { guests: [guest], images: disk?.source ? [disk.source] : [] }, steps: [step] };
}

// ---------------------------------------------------------------------------------------------
// delete

/** The directory of an absolute path ("/" for a file at the root). */
function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function extentRefusal(image: string, extent: string, why: string): UserError {
  return new UserError(
    `${shown(image)} is not removed: its descriptor names the extent ${shown(extent)}, which ${why}; nothing was removed.`,
    'Check what those files are and remove them by hand (rm) if that is really meant.',
  );
}

/** A detached disk's directory is recorded (jobs/writtenDirs.ts), so the advice to detach and then delete can be followed. */
const STAYS_LISTED = 'it then stays in the Disks pane as an orphan, where D deletes it.';

/** Why an image may not be deleted now, or null. */
export function deleteRefusal(row: DiskRow): UserError | null {
  if (!row.file) return new UserError(`${row.path} does not exist.`, 'Nothing to delete; refresh the list (r).');
  if (row.usedBy.length > 0) {
    const who = row.usedBy.map((u) => `${u.guest} (${u.target}${u.as ? `, as ${u.as}` : ''}${u.running ? ', running' : ''})`).join(', ');
    const first = row.usedBy.find((u) => u.running) ?? row.usedBy[0];
    const detach = `virtdeck disk detach ${first?.guest} ${first?.target}`;
    return new UserError(
      `${basename(row.path)} is used by ${who}, so it is not deleted.`,
      first?.running
        ? `Shut ${first.guest} down (virtdeck guest shutdown ${first.guest}) and detach it (T in the Disks pane, or ${detach}); ${STAYS_LISTED}`
        : `Detach it first (T in the Disks pane, or ${detach}); ${STAYS_LISTED}`,
    );
  }
  return null;
}

/** The files a delete removes: the image, and the data extents of a flat or split vmdk. */
export function deleteFiles(row: DiskRow): string[] {
  return [row.path, ...(row.facts?.vmdk?.extentFiles ?? []).filter((e) => e !== row.path)];
}

/** `files`: what deleteTargets found on the host (the row's own view when planned without it). */
export function planDelete(host: HostContext, row: DiskRow, files: string[] = deleteFiles(row)): Plan {
  const refusal = deleteRefusal(row);
  if (refusal) throw refusal;
  const steps: PlanStep[] = [
    { id: 'delete', title: `Delete ${files.join(', ')} (cannot be undone)`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...files] } },
  ];
  for (const pool of row.pools) {
    steps.push({ id: `refresh-${pool}`, title: `Tell the storage pool ${pool} the volume is gone`, command: { runsOn: 'virsh', argv: virshArgv(host, ['pool-refresh', '--pool', pool]) } });
  }
  return { kind: 'disk-delete', title: `Delete ${basename(row.path)}`, targets: { guests: [], images: files }, steps };
}

// ---------------------------------------------------------------------------------------------
// running

export interface RunDiskOptions {
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
  stateDir?: string;
}

/** Runs a plan through the journaled runner and throws its error when it did not finish. */
export async function runDiskPlan(host: HostContext, plan: Plan, opts: RunDiskOptions = {}): Promise<void> {
  const r = await runPlan(plan, { host, stateDir: opts.stateDir ?? stateDir(), signal: opts.signal, onEvent: opts.onEvent });
  if (r.state !== 'done') throw r.error ?? new UserError(`${plan.title} did not finish (${r.state}).`, 'See the job journal in the Jobs pane.');
}

/** Refuses a path that exists (any file of a flat vmdk included); never overwrites an image. */
export async function refuseExisting(host: HostContext, files: string[]): Promise<void> {
  const existing = await qemuImg.existingPaths(host.sysExec, files);
  if (existing.length > 0) {
    throw new UserError(
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; virtdeck never overwrites an image.`,
      'Choose another name, or delete the old image first (D in the Disks pane).',
    );
  }
}

/**
 * Asks the host again, by file rather than by name, whether any guest's disk is one of the files a
 * delete removes: the row may be minutes old, and a guest may name the file through a symlink,
 * a hard link, a bind mount or another device node. Any guest refuses; a running one says so.
 */
export async function checkDelete(host: HostContext, row: DiskRow, signal?: AbortSignal): Promise<string[]> {
  const refusal = deleteRefusal(row);
  if (refusal) throw refusal;
  const files = await deleteTargets(host, row, signal);
  const users = await usersOfFiles(host, files, { signal });
  const running = inUseRefusal(users.filter((u) => u.running), row.path, 'delete');
  if (running) throw running;
  const first: ImageUser | undefined = users[0];
  if (first) {
    throw new UserError(
      `${row.path} is a disk of ${users.map((u) => `${u.guest} (${u.target}${u.source !== row.path ? `, as ${u.source}` : ''})`).join(', ')}, so it is not deleted.`,
      `Detach it first (T in the Disks pane, or virtdeck disk detach ${first.guest} ${first.target}); ${STAYS_LISTED}`,
    );
  }
  return files;
}

/**
 * The files a delete removes, read from the image itself rather than the (possibly minutes old,
 * possibly gated-out) row: the image, and each extent its vmdk descriptor names. The descriptor is
 * written by whoever made the image, so every extent, with symlinks resolved, must be a regular
 * file inside the image's own directory; anything else refuses the whole delete. A missing extent
 * is nothing to remove and is left out.
 */
export async function deleteTargets(host: HostContext, row: Pick<DiskRow, 'path' | 'facts'>, signal?: AbortSignal): Promise<string[]> {
  const exec = host.sysExec;
  let head = await readFileHead(exec, row.path, HEAD_BYTES, signal);
  if (head.kind !== 'regular') return [row.path];
  let h = inspectImageHeader(head.head, head.size);
  for (let i = 0; i < 2 && h.needBytes !== undefined && h.needBytes > head.head.length; i++) {
    head = await readFileHead(exec, row.path, h.needBytes, signal);
    h = inspectImageHeader(head.head, head.size);
  }
  const named = [...h.references.filter((r) => r.role === 'extent').map((r) => referencePath(row.path, r.name)), ...(row.facts?.vmdk?.extentFiles ?? [])];
  const files = [row.path, ...(await confinedExtents(exec, row.path, named, signal))];
  return files;
}

/**
 * The extents among `names` (absolute paths an image names) that exist, each checked to be a
 * regular file whose real path is inside the image's own directory; anything else throws a
 * UserError naming it. Used before removing files an image names (delete, convert --remove-original).
 */
export async function confinedExtents(exec: Executor, image: string, names: string[], signal?: AbortSignal): Promise<string[]> {
  const dir = dirOf(image);
  const realDir = (await readFileHead(exec, dir, 0, signal)).realPath ?? dir;
  const kept: string[] = [];
  for (const e of new Set(names)) {
    if (e === image) continue;
    if (!e.startsWith('/') || e.split('/').some((w) => w === '..' || w === '.') || !isInside(dir, e) || e === dir) {
      throw extentRefusal(image, e, `is outside ${shown(dir)}`);
    }
    const found = await readFileHead(exec, e, 0, signal);
    if (found.kind === 'missing' || !found.realPath) continue;
    if (!isInside(realDir, found.realPath) || found.realPath === realDir) throw extentRefusal(image, e, `leads to ${shown(found.realPath)}, outside ${shown(dir)}`);
    if (found.kind !== 'regular') throw extentRefusal(image, e, 'is not a regular file');
    kept.push(e);
  }
  return kept;
}

/** The one way both the console and the CLI delete an image: checked against every guest, then run. */
export async function deleteImage(host: HostContext, row: DiskRow, opts: RunDiskOptions & { confirmed?: string[] } = {}): Promise<string[]> {
  const files = await checkDelete(host, row, opts.signal);
  // The admin confirmed a list of files: a descriptor changed since then removes nothing.
  if (opts.confirmed && opts.confirmed.join('\0') !== files.join('\0')) {
    throw new UserError(`${shown(row.path)} now names other files (${files.map(shown).join(', ')}) than the ones confirmed; nothing was removed.`, 'Refresh the list (r) and delete it again.');
  }
  await runDiskPlan(host, planDelete(host, row, files), opts);
  return files;
}

export async function createImage(host: HostContext, req: CreateRequest, opts: RunDiskOptions = {}): Promise<CreateSpec> {
  const spec = validateCreate(req);
  await refuseExisting(host, spec.files);
  await runDiskPlan(host, planCreate(spec), opts);
  return spec;
}

/** Looks up a guest for attach/detach; a typo'd name is the admin's error (exit 2), not the host's. */
export async function guestFacts(host: HostContext, name: string): Promise<{ row: GuestRow; inactiveXml: string }> {
  const row = (await listGuests(host)).find((g) => g.name === name);
  if (!row) throw new UserError(`There is no guest named "${name}".`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
  return { row, inactiveXml: await dumpXml(host, name, { inactive: true }) };
}
