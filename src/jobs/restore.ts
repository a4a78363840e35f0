
import { posix } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { detectAccel, domainTypeFor } from '../host/kvm.js';
import { domState, dumpXml, type GuestState, listGuests, virshArgv } from '../host/virsh.js';
import { type BackupManifest, type CatalogRun, chainOf, DOMAIN_XML_NAME } from '../model/backupManifest.js';
import {
  childElements,
  type DomainDoc,
  domainRoot,
  firstChild,
  getSettings,
  parseDomainXml,
  serializeDomainXml,
  setDiskSource,
  setDomainType,
  setMac,
  setName,
  setUuid,
  type XmlElement,
} from '../model/domainXml.js';
import { userText } from '../model/fileIdentity.js';
import { isActive } from '../model/guest.js';
import { checkGuestName } from '../model/guestName.js';
import { randomMac } from '../model/mac.js';
import type { CommandSpec, Plan, PlanStep } from '../model/plan.js';
import { checkRestoreXml } from '../model/restoreXml.js';
import { UserError } from '../model/userError.js';
import { type GuestBackups, readCatalog } from './backupCatalog.js';
import { allInOrder } from './allInOrder.js';
import { inUseRefusal, lookUpImages } from './diskUsers.js';
import { privateTempFile, removeStepFile, writeStepFile } from './privateTemp.js';
import { checkConfinement, damagedRunFix, goodCandidates, newestGoodRun, recordedDamage, runFilesOf, VERIFY_ACTION, type VerifyArgs, verifyRunFiles } from './runCheck.js';
import { type Action, type RunnerEvent, type RunResult, runPlan } from './runner.js';
import { copiesStraight, copyCommands, copyVerified, RESTORE_COPY_ACTION, type RestoreCopyArgs } from './verifiedCopy.js';
import type { VerifiedStore } from './verifiedRuns.js';

export const RESTORE_JOB_KIND = 'backup-restore';
const TMP_SUFFIX = '.virtdeck-restore-tmp';

// ------------------------------------------------------------------ finding the run

export interface FoundRun {
  backups: GuestBackups;
  run: CatalogRun;
  /** Full first, this run last. */
  chain: CatalogRun[];
}

/** GUEST's run named RUN (a unique prefix is enough; absent or "latest" = the newest run, which must be complete and readable). */
export async function findRun(host: HostContext, dest: string, guest: string, run?: string, signal?: AbortSignal): Promise<FoundRun> {
  const catalog = await readCatalog(host.sysExec, dest, signal);
  const backups = catalog.find((g) => g.guest === guest);
  if (!backups || (backups.runs.length === 0 && backups.damaged.length === 0)) {
    throw new UserError(`There are no backups of ${guest} in ${dest}.`, `List what is there with \`virtdeck backup list --dest ${dest}\`.`);
  }
  return { backups, ...pickRun(backups, run) };
}

function otherRunFix(backups: GuestBackups, not?: string): string {
  const good = newestGoodRun(backups, not ? [not] : [], not);
  return good
    ? `Restore the newest run not found damaged instead, ${good}; \`virtdeck backup list\` shows them all. Nothing was changed.`
    : `No run of ${backups.guest} here is known good; take a new backup. Nothing was changed.`;
}

/** Pure part of findRun. A run whose manifest cannot be read is named, never skipped silently. */
export function pickRun(backups: GuestBackups, run?: string): { run: CatalogRun; chain: CatalogRun[] } {
  let found: CatalogRun | undefined;
  if (run === undefined || run === 'latest') {
    found = backups.runs.at(-1);
    const newestDamaged = backups.damaged.at(-1);
    if (newestDamaged && (!found || newestDamaged.name > found.name)) throw new UserError(newestDamaged.reason, otherRunFix(backups));
  } else {
    const matches = backups.runs.filter((r) => r.name === run || r.name.startsWith(run));
    const damaged = backups.damaged.filter((d) => d.name === run || d.name.startsWith(run));
    if (matches.length + damaged.length > 1 && !matches.some((r) => r.name === run) && !damaged.some((d) => d.name === run)) {
      throw new UserError(`"${run}" matches ${matches.length + damaged.length} runs of ${backups.guest}.`, `Give more of the name: ${[...matches.map((r) => r.name), ...damaged.map((d) => d.name)].join(', ')}.`);
    }
    const bad = damaged.find((d) => d.name === run) ?? (matches.length === 0 ? damaged[0] : undefined);
    if (bad) throw new UserError(bad.reason, otherRunFix(backups, bad.name));
    found = matches.find((r) => r.name === run) ?? matches[0];
  }
  if (!found) {
    throw new UserError(`${backups.guest} has no backup run "${run}".`, `Its runs: ${backups.runs.map((r) => r.name).join(', ')}.`);
  }
  return { run: found, chain: chainOf(backups.runs, found.name) };
}

// ------------------------------------------------------------------ the plan (pure)

export interface RestoreRequest {
  guest: string;
  dest: string;
  run: string;
  /** Restore as a new guest with this name; absent = restore the guest itself. */
  asName?: string;
  /** Directory for the new guest's disks (required with asName). */
  toDir?: string;
  /** Same-name restore: keep the guest's current definition, only put the disks back. */
  keepCurrentXml?: boolean;
  /** Same-name restore: delete the moved-aside disks once everything else succeeded. */
  deleteOld?: boolean;
  /** Restore a run known or found to be damaged; only as a new guest (asName), never over an original. */
  allowDamaged?: boolean;
  /**
   * When the plan was made (ISO; RestorePlan.at): the moved-aside names carry it, so the run a
   * review starts names the very files the review did. Absent: now.
   */
  at?: string;
}

export interface RestoreFacts {
  manifest: BackupManifest;
  /** The run's domain.xml. */
  runXml: string;
  /** The guest as defined now (inactive XML) and its state; null when no such guest exists. */
  current: { xml: string; state: GuestState } | null;
  /** Names of every guest defined on the host. */
  guestNames: string[];
  /** Which of the paths the plan would create already exist. */
  existingPaths: string[];
  domainType: 'kvm' | 'qemu';
  /** One per NIC of the run's XML, for a new guest. */
  newMacs: string[];
  now: Date;
  /** Local file the domain XML is written to for `virsh define`. */
  xmlFile: string;
  /** What the first step checks before anything is touched: every image of the chain (see runCheck.ts). */
  verify: Omit<VerifyArgs, 'allowDamaged'>;
  /** Where images found matching their manifest are recorded, so an instant recovery need not hash them again. */
  trust?: VerifiedStore;
}

export interface RestoredDisk {
  target: string;
  /** The run's image restored from (the top of the chain for an incremental). */
  from: string;
  path: string;
  format: string;
  temp: string;
  /** Where the current disk is moved aside to (same-name restore with an existing disk). */
  aside: string | null;
}

export interface RestorePlan {
  plan: Plan;
  name: string;
  disks: RestoredDisk[];
  xml: string | null;
  /** Things the admin should know (domain type changed, disks left out). */
  notes: string[];
  /** Why the run cannot be trusted, as recorded by `backup verify`; a restore refuses unless damage is allowed. */
  damage: string[];
  /** The time the moved-aside names carry; pass it back as RestoreRequest.at to run this plan. */
  at: string;
}

const EXT: Record<string, string> = { qcow2: 'qcow2', raw: 'img', vmdk: 'vmdk', vdi: 'vdi', vhdx: 'vhdx' };

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Where a same-name restore moves the current disk: the one place this name is made. */
export function asideName(path: string, now: Date): string {
  return `${path}.virtdeck-before-restore-${stamp(now)}`;
}

function diskElements(doc: DomainDoc): XmlElement[] {
  const devices = firstChild(domainRoot(doc), 'devices');
  return devices ? childElements(devices, 'disk') : [];
}

/** Pure: points the disk with this target at a standalone image (no backing chain), in a copy. */
export function pointDiskAt(doc: DomainDoc, target: string, path: string, format: string): DomainDoc {
  if (!diskElements(doc).some((d) => firstChild(d, 'target')?.attrs.dev === target)) {
    throw new UserError(`The backed-up definition has no disk ${target}.`, 'The run is inconsistent; verify it.');
  }
  return setDiskSource(doc, target, path, format);
}

/** Pure: drops disks (device=disk) whose target is not in `keep`: a copy must not share the original's other disks. */
export function dropOtherDisks(doc: DomainDoc, keep: string[]): { doc: DomainDoc; dropped: string[] } {
  const copy = structuredClone(doc);
  const devices = firstChild(domainRoot(copy), 'devices');
  const dropped: string[] = [];
  if (devices) {
    devices.children = devices.children.filter((c) => {
      if (c.kind !== 'element' || c.name !== 'disk' || (c.attrs.device ?? 'disk') !== 'disk') return true;
      const t = firstChild(c, 'target')?.attrs.dev ?? '';
      if (keep.includes(t)) return true;
      dropped.push(t);
      return false;
    });
  }
  return { doc: copy, dropped };
}

/** Pure: removes the <nvram> path so libvirt makes a fresh variable store for a copy (never shares the original's). */
function dropNvram(doc: DomainDoc): DomainDoc {
  const copy = structuredClone(doc);
  const os = firstChild(domainRoot(copy), 'os');
  if (os) os.children = os.children.filter((c) => c.kind !== 'element' || c.name !== 'nvram');
  return copy;
}

function moveStep(id: string, title: string, from: string, to: string): PlanStep {
  return {
    id,
    title,
    command: { runsOn: 'sys', argv: ['mv', '-T', '--', from, to] },
    action: { name: 'move', args: { from, to } },
    // Safe on a step killed mid-way: `move` does nothing when the file is still where it started.
    undo: { title: `move ${to} back to ${from}`, partial: true, action: { name: 'move', args: { from: to, to: from } } },
  };
}

function targetFormat(manifestDisk: BackupManifest['disks'][number]): string {
  const f = manifestDisk.sourceFormat;
  return /^[a-z0-9]+$/.test(f) && f !== '' ? f : 'qcow2';
}

/**
 * Pure: the steps of a restore. Refuses (UserError) what must not happen: a running guest, a new
 * name in use, files in the way, a disk that is a block device.
 */
export function planRestore(req: RestoreRequest, facts: RestoreFacts, virsh: (args: string[]) => string[]): RestorePlan {
  const m = facts.manifest;
  const runDir = posix.join(req.dest, req.guest, req.run);
  const asNew = req.asName !== undefined;
  const name = req.asName ?? req.guest;
  const notes: string[] = [];
  if (m.disks.length === 0) throw new UserError(`The run ${req.run} holds no disks.`, 'Pick another run.');
  if (req.allowDamaged && !asNew) {
    throw new UserError('A damaged run is restored only under a new name, never over the guest it came from.', 'Add --as NEWNAME --to DIR, or leave out --allow-damaged.');
  }

  let doc = parseDomainXml(facts.runXml);
  if (asNew) {
    checkGuestName(name);
    if (!req.toDir?.startsWith('/')) throw new UserError('A restore as a new guest needs a directory for its disks.', 'Add --to DIR, e.g. --to /var/lib/libvirt/images.');
    if (facts.guestNames.includes(name)) throw new UserError(`A guest named ${name} already exists.`, 'Choose another name with --as, or restore over the guest itself (leave out --as).');
  } else if (facts.current && isActive(facts.current.state)) {
    throw new UserError(`${name} is ${facts.current.state}; a guest is restored only while it is shut off.`, `Shut it down first: virtdeck guest shutdown ${name}.`);
  }

  const currentDoc = facts.current ? parseDomainXml(facts.current.xml) : null;
  const currentSources = new Map((currentDoc ? getSettings(currentDoc).disks : []).map((d) => [d.target, d.source]));
  const disks: RestoredDisk[] = m.disks.map((d) => {
    const format = targetFormat(d);
    let path: string;
    if (asNew) path = posix.join(req.toDir as string, `${name}-${d.target}.${EXT[format] ?? format}`);
    else path = (req.keepCurrentXml ? currentSources.get(d.target) : null) ?? d.sourcePath;
    if (!path.startsWith('/') || path.startsWith('/dev/')) {
      throw new UserError(
        `The disk ${d.target} of ${req.guest} was ${path || 'not a file'}; virtdeck restores disks into files only.`,
        'Restore as a new guest (--as NAME --to DIR) and copy the image onto the device yourself.',
      );
    }
    const exists = facts.existingPaths.includes(path);
    if (asNew && exists) throw new UserError(`${path} already exists; a restore never overwrites a file.`, 'Choose another --to directory or --as name, or move the file away.');
    // The path comes from the run (outside input): only a disk the guest has now may be moved aside and replaced.
    if (!asNew && exists && ![...currentSources.values()].includes(path)) {
      throw new UserError(
        `${path} exists and is not a disk of ${name} as it is defined now; a restore over the guest replaces only its own disks.`,
        `Restore as a new guest (--as NAME --to DIR), or move ${path} away first.`,
      );
    }
    // Nor may the run choose where a new file is written as root (a raw image at /etc/cron.d/x):
    // over the guest itself, a disk goes back only where the guest's definition has it now.
    if (!asNew && ![...currentSources.values()].includes(path)) {
      throw new UserError(
        `The run puts ${d.target} at ${path}, ${facts.current ? `which is not a disk of ${name} as it is defined now` : `and no guest named ${name} is defined to say where its disks go`}; a restore over the guest writes only its own disks.`,
        `Restore as a new guest into a directory you choose: --as ${name === req.guest ? 'NAME' : name} --to DIR (a deleted guest can come back under its own name that way).`,
      );
    }
    return {
      target: d.target,
      from: posix.join(runDir, d.file),
      path,
      format,
      temp: `${path}${TMP_SUFFIX}`,
      aside: !asNew && exists ? asideName(path, facts.now) : null,
    };
  });
  for (const d of disks) {
    if (d.aside && facts.existingPaths.includes(d.aside)) throw new UserError(`${d.aside} already exists.`, 'Wait a second and try again, or move it away.');
  }

  const steps: PlanStep[] = [];
  const images = facts.verify.files.map((f) => f.path);
  const allowDamaged = Boolean(req.allowDamaged && asNew);
  // First, before any original is moved, overwritten or deleted: what will be read is what was
  // backed up. The sha256 of each image is taken on the copy the next steps make (verifiedCopy.ts),
  // so each image is read once; nothing is moved into place or defined before all of them matched.
  steps.push({
    id: 'verify',
    title: `check the ${images.length} image${images.length === 1 ? '' : 's'} ${req.run} needs: no verify found ${images.length === 1 ? 'it' : 'them'} damaged (where each is and its header are checked as it is read, and its sha256 is checked as it is copied)`,
    action: { name: VERIFY_ACTION, args: { ...facts.verify, allowDamaged, checksums: 'while-copying' } satisfies VerifyArgs },
    script: [{ runsOn: 'sys', argv: ['stat', '-c', '%n: %F, %s bytes', '--', ...images] }],
  });
  for (const d of disks) {
    const src = m.disks.find((x) => x.target === d.target);
    const files = facts.verify.files.filter((f) => f.target === d.target);
    const straight = copiesStraight(files, d.format);
    const mirror = straight ? null : `${d.temp}.chain`;
    const args: RestoreCopyArgs = {
      check: { ...facts.verify, files, recorded: [], allowDamaged },
      temp: d.temp,
      mirror,
      convert: straight ? null : { sourceFormat: src?.format ?? 'qcow2', destFormat: d.format, virtualSize: src?.virtualSize ?? 0 },
      ...(facts.trust ? { trust: facts.trust } : {}),
    };
    const [command, ...more] = copyCommands({ ...args, files });
    steps.push({
      id: `convert-${d.target}`,
      title: straight
        ? `rebuild ${d.target} from ${req.run}: copy its image to ${d.temp}, checking the copy's sha256 against the manifest`
        : `rebuild ${d.target} from ${req.run} into ${d.temp}: copy its ${files.length} image${files.length === 1 ? '' : 's'} into ${mirror}, checking each copy's sha256, then convert from the copies`,
      ...(command ? { command } : {}),
      ...(more.length > 0 ? { alsoRuns: more } : {}),
      action: { name: RESTORE_COPY_ACTION, args },
      long: true,
      // The temp file and directory are this step's own, so removing them is right however far it got.
      undo: { title: `remove ${d.temp}${mirror ? ` and ${mirror}` : ''}`, partial: true, command: { runsOn: 'sys', argv: ['rm', '-rf', '--', d.temp, ...(mirror ? [mirror] : [])] } },
    });
  }
  for (const d of disks) {
    if (d.aside) steps.push(moveStep(`aside-${d.target}`, `move the current ${d.target} aside to ${d.aside}`, d.path, d.aside));
    steps.push(moveStep(`place-${d.target}`, `put the restored ${d.target} in place at ${d.path}`, d.temp, d.path));
  }

  let xml: string | null = null;
  if (asNew || !req.keepCurrentXml) {
    // The run's XML is outside input: only what passes this gate reaches libvirt (see restoreXml.ts).
    const checked = checkRestoreXml(doc, {
      source: posix.join(runDir, DOMAIN_XML_NAME),
      restored: disks.map((d) => d.target),
      asNew,
      currentSources: asNew ? [] : [...currentSources.values()].filter((s): s is string => Boolean(s)),
    });
    doc = checked.doc;
    notes.push(...checked.notes);
    for (const d of disks) doc = pointDiskAt(doc, d.target, d.path, d.format);
    if (asNew) {
      doc = setUuid(setName(doc, name), null);
      getSettings(doc).nics.forEach((_nic, i) => {
        const mac = facts.newMacs[i];
        if (mac) doc = setMac(doc, i, mac);
      });
      doc = dropNvram(doc);
      const r = dropOtherDisks(doc, disks.map((d) => d.target));
      doc = r.doc;
      if (r.dropped.length > 0) notes.push(`Disks not in the backup were left out of the new guest: ${r.dropped.join(', ')}.`);
    } else if (currentDoc) {
      // Redefining under the same name needs the same UUID, or libvirt refuses.
      const uuid = getSettings(currentDoc).uuid;
      if (uuid) doc = setUuid(doc, uuid);
    }
    if (getSettings(doc).type === 'kvm' && facts.domainType === 'qemu') {
      doc = setDomainType(doc, 'qemu');
      notes.push('KVM is not usable on this host, so the restored guest runs under plain emulation (domain type qemu).');
    }
    xml = serializeDomainXml(doc);
    const define: CommandSpec = { runsOn: 'virsh', argv: virsh(['define', '--file', facts.xmlFile]) };
    steps.push({
      id: 'define',
      title: asNew ? `define the new guest ${name}` : `define ${name} as it was at ${req.run}`,
      writesFile: { path: facts.xmlFile, content: xml },
      command: define,
      undo:
        facts.current && !asNew
          ? { title: `put back the definition ${name} had`, action: { name: 'define', args: { xml: facts.current.xml } } }
          : { title: `undefine ${name}`, action: { name: 'undefine', args: { name } } },
    });
  }
  const asides = disks.flatMap((d) => (d.aside ? [d.aside] : []));
  if (req.deleteOld && asides.length > 0) {
    steps.push({ id: 'delete-aside', title: `delete the disks ${name} had before the restore`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...asides] } });
  } else if (asides.length > 0) {
    notes.push(`The disks ${name} had before are kept at ${asides.join(', ')}; delete them when the restored guest is good.`);
  }
  return {
    plan: {
      kind: RESTORE_JOB_KIND,
      title: asNew ? `Restore ${req.guest} (${req.run}) as ${name}` : `Restore ${name} to ${req.run}`,
      targets: { guests: [name], images: disks.map((d) => d.path) },
      steps,
    },
    name,
    disks,
    xml,
    notes,
    damage: facts.verify.recorded.map((r) => r.sentence),
    at: facts.now.toISOString(),
  };
}

// ------------------------------------------------------------------ actions (named in journals)

async function exists(host: HostContext, path: string): Promise<boolean> {
  const r = await host.sysExec.run(['test', '-e', path], { okExitCodes: [1] });
  return r.exitCode === 0;
}

/**
 * Actions of a restore journal. `move` is idempotent, so a step (or undo) caught mid-way by a
 * SIGKILL can run again: nothing at `from` but something at `to` means it already happened.
 */
export function restoreActions(host: HostContext): Record<string, Action> {
  const move: Action = async (args) => {
    const { from, to } = args as { from: string; to: string };
    const [hasFrom, hasTo] = [await exists(host, from), await exists(host, to)];
    if (!hasFrom && hasTo) return;
    if (!hasFrom) throw new UserError(`${from} is missing, so it cannot be moved to ${to}.`, 'Look for it by hand; the job journal lists every step.');
    if (hasTo) throw new UserError(`${to} already exists; virtdeck will not overwrite it with ${from}.`, 'Move one of them away and run the job again.');
    await host.sysExec.run(['mv', '-T', '--', from, to]);
  };
  const define: Action = async (args) => {
    const { xml } = args as { xml: string };
    const file = privateTempFile('restore', 'domain.xml');
    writeStepFile(file, xml);
    try {
      await host.virshExec.run(['virsh', '-c', host.uri, 'define', '--file', file]);
    } finally {
      removeStepFile(file);
    }
  };
  const undefine: Action = async (args) => {
    const { name } = args as { name: string };
    const r = await host.virshExec.run(['virsh', '-c', host.uri, 'undefine', '--domain', name, '--nvram'], { okExitCodes: [1] });
    if (r.exitCode !== 0 && !/failed to get domain|Domain not found/i.test(r.stderr)) {
      throw new HostError({ sentence: `${name} could not be undefined.`, fix: `Run virsh undefine ${name} by hand.`, command: r.argv, stderr: r.stderr });
    }
  };
  const verify: Action = async (args, ctx) => {
    await verifyRunFiles(host, args as VerifyArgs, { progress: ctx.progress, log: ctx.log, signal: ctx.signal });
  };
  const copy: Action = (args, ctx) => copyVerified(host, args as RestoreCopyArgs, ctx);
  return { move, define, undefine, [VERIFY_ACTION]: verify, [RESTORE_COPY_ACTION]: copy };
}

// ------------------------------------------------------------------ gather + run

async function readText(host: HostContext, path: string, signal?: AbortSignal): Promise<string> {
  return (await host.sysExec.run(['cat', '--', path], { signal })).stdout;
}

async function currentGuest(host: HostContext, name: string): Promise<RestoreFacts['current']> {
  try {
    const [xml, state] = await Promise.all([dumpXml(host, name, { inactive: true }), domState(host, name)]);
    return { xml, state };
  } catch (e) {
    if (e instanceof HostError && /failed to get domain|Domain not found/i.test(`${e.stderr} ${e.sentence}`)) return null;
    throw e;
  }
}

/**
 * The domain type a restored guest can have here. Whether KVM works is asked (a probe starts QEMU)
 * only when the run's guest wants KVM; for any other guest the answer would change nothing.
 */
export async function runDomainType(host: HostContext, runXml: Promise<string>, signal?: AbortSignal): Promise<'kvm' | 'qemu'> {
  let wantsKvm = true;
  try {
    wantsKvm = getSettings(parseDomainXml(await runXml)).type === 'kvm';
  } catch {
    // Refused with its file's name when the plan parses it.
  }
  return wantsKvm ? domainTypeFor((await detectAccel(host.sysExec, { signal })).accel) : 'qemu';
}

/** Reads everything planRestore needs from the host, then plans. */
export async function prepareRestore(host: HostContext, req: Omit<RestoreRequest, 'run'> & { run?: string; stateDir?: string }, signal?: AbortSignal): Promise<RestorePlan & { found: FoundRun }> {
  const found = await findRun(host, req.dest, req.guest, req.run, signal);
  const files = runFilesOf(req.dest, req.guest, found.chain);
  const recorded = recordedDamage(found.chain);
  const candidates = goodCandidates(found.backups, found.run.name);
  const retry = `virtdeck backup restore ${req.guest} RUN --dest ${req.dest}${req.asName ? ` --as ${req.asName} --to ${req.toDir ?? 'DIR'}` : ''}`;
  const anyway = 'restore this one under a new name only: --as NEWNAME --to DIR --allow-damaged';
  const verify: RestoreFacts['verify'] = { guest: req.guest, dest: req.dest, files, recorded, candidates, retry, anyway };
  const runDir = posix.join(req.dest, req.guest, found.run.name);
  const guestDir = posix.join(req.dest, req.guest);
  const name = req.asName ?? req.guest;
  const xmlRead = readText(host, posix.join(runDir, DOMAIN_XML_NAME), signal);
  const [, runXml, , domainType, guests] = await allInOrder([
    // Refused at once (and again when the verify step runs): an image that is a symlink or lies outside its run directory.
    checkConfinement(host.sysExec, files, signal),
    xmlRead,
    // A run is outside data: each image (and an incremental's ../PARENT/ chain) may name only regular
    // files in this guest's part of the destination, and must be the format its manifest says.
    Promise.all(found.run.manifest.disks.map((d) => inspectUntrustedImage(host.sysExec, posix.join(runDir, d.file), { roots: [guestDir], expectFormat: d.format, signal }))),
    runDomainType(host, xmlRead, signal),
    // Every guest with its disks: the names in use, and who else uses the restored paths (checkOtherUsers).
    listGuests(host),
  ] as const);
  const names = guests.map((g) => g.name);
  const current = names.includes(name) ? await currentGuest(host, name) : null;
  const at = req.at ? new Date(req.at) : new Date();
  const now = Number.isNaN(at.getTime()) ? new Date() : at;
  // The first read of the run's XML names its file, so a refusal (a DOCTYPE, bad XML) says which one.
  const nics = getSettings(parseDomainXml(runXml, { source: posix.join(runDir, DOMAIN_XML_NAME) })).nics.length;
  const full: RestoreRequest = { ...req, run: found.run.name };
  // Plan once with no files known to exist, to learn which paths it would touch; then probe them.
  const base: RestoreFacts = {
    manifest: found.run.manifest,
    runXml,
    current,
    guestNames: names,
    existingPaths: [],
    domainType,
    newMacs: Array.from({ length: nics }, () => randomMac('kvm')),
    now,
    xmlFile: privateTempFile('restore', 'domain.xml'),
    verify,
    trust: { stateDir: req.stateDir ?? defaultStateDir(), uri: host.uri },
  };
  const draft = planRestore(full, base, (a) => virshArgv(host, a));
  const probe = draft.disks.flatMap((d) => [d.path, asideName(d.path, now)]);
  // The disks' paths do not depend on which files exist, so who else uses them is asked meanwhile.
  const [r, users] = await allInOrder([
    host.sysExec.run(['sh', '-c', 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done', 'sh', ...probe], { signal }),
    lookUpImages(host, draft.disks.map((d) => d.path), { guests, signal }),
  ] as const);
  const existingPaths = r.stdout.split('\n').filter(Boolean);
  const planned = planRestore(full, { ...base, existingPaths }, (a) => virshArgv(host, a));
  checkOtherUsers(planned, users.byPath);
  return { ...planned, found };
}

/**
 * A disk put back is moved aside and replaced: any other guest whose disk is that file, under any
 * name (a symlink, a hard link, a bind mount), would have it replaced under it. A running one
 * refuses the restore; a shut-off one is named in the plan's notes (the console's review, --dry-run).
 */
function checkOtherUsers(planned: RestorePlan, byPath: Awaited<ReturnType<typeof lookUpImages>>['byPath']): void {
  for (const d of planned.disks) {
    const others = (byPath.get(d.path) ?? []).filter((u) => u.guest !== planned.name);
    const refusal = inUseRefusal(others.filter((u) => u.running), d.path, 'restore over');
    if (refusal) throw refusal;
    if (others.length > 0) {
      planned.notes.push(`${others.map((u) => userText(u, d.path)).join(', ')} also use${others.length === 1 ? 's' : ''} ${d.path} as a disk and will see the restored one.`);
    }
  }
}

/** A run `backup verify` found damaged is refused before its job starts, unless allowed (under a new name only). */
export function refuseDamage(planned: Pick<RestorePlan, 'damage' | 'plan'> & { found: FoundRun }, req: Pick<RestoreRequest, 'allowDamaged' | 'asName'>): void {
  const first = planned.damage[0];
  if (!first || (req.allowDamaged && req.asName !== undefined)) return;
  const verify = planned.plan.steps.find((s) => s.id === 'verify')?.action?.args as VerifyArgs;
  throw new UserError(`${planned.found.run.name} cannot be restored: ${first}`, damagedRunFix(verify, planned.found.run.name));
}

export interface RestoreOptions extends Omit<RestoreRequest, 'run'> {
  run?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
  stateDir?: string;
}

export interface RestoreResult {
  name: string;
  run: string;
  disks: RestoredDisk[];
  notes: string[];
  state: RunResult['state'];
  error?: RunResult['error'];
}

/** Plans and runs a restore (journaled; rolled back on failure or cancel). */
export async function restore(host: HostContext, o: RestoreOptions): Promise<RestoreResult> {
  const planned = await prepareRestore(host, o, o.signal);
  refuseDamage(planned, o);
  const r = await runPlan(planned.plan, {
    host,
    stateDir: o.stateDir ?? defaultStateDir(),
    signal: o.signal,
    onEvent: o.onEvent,
    actions: restoreActions(host),
    params: { dest: o.dest, guest: o.guest, run: planned.found.run.name, asName: o.asName ?? null },
  });
  return { name: planned.name, run: planned.found.run.name, disks: planned.disks, notes: planned.notes, state: r.state, error: r.error };
}
