/**
 * `backup instant`: start a guest from a backup run in seconds, without copying it. Each disk gets
 * a new qcow2 overlay (in a directory the admin names, production storage by default) whose
 * backing file is the run's image, named by virtdeck itself (the real path it checked, with an
 * explicit backing format) — never a path or `json:` the run's files or metadata suggest. QEMU
 * opens backing files read-only, so the run stays byte-identical; all writes go to the overlay.
 *
 * Journaled like every job: verify the chain (where the files are, their headers, and the sha256
 * against the manifests, except for an image the verification record says matched and has not
 * changed since: see verifiedRuns.ts) → record which runs the copy reads (so prune keeps them) →
 * overlays → define → start. A killed job is finished or rolled back by `virtdeck recover`;
 * `backup instant discard NAME` removes only what the record names: the overlays and the definition.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import { abortBlockJob, blockCopyArgv, blockJobInfo, pivotBlockJob, startBlockCopy } from '../host/blockJob.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { defineXml, domState, dumpXml, type GuestState, virshArgv } from '../host/virsh.js';
import { type BackupManifest, DOMAIN_XML_NAME } from '../model/backupManifest.js';
import { getSettings, parseDomainXml, serializeDomainXml, setDiskSource } from '../model/domainXml.js';
import { isActive } from '../model/guest.js';
import { checkGuestName } from '../model/guestName.js';
import { type InstantRecord, instantName, instantRecordSchema, instantXml, OVERLAY_SUFFIX, overlayFileName } from '../model/instantRecovery.js';
import { randomMac } from '../model/mac.js';
import type { Plan, PlanStep } from '../model/plan.js';
import { qemuImgProgressStream } from '../model/progress.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import { allInOrder } from './allInOrder.js';
import { writeFileAtomic } from './atomicFile.js';
import { privateTempFile } from './privateTemp.js';
import { type FoundRun, findRun, refuseDamage, restoreActions, runDomainType } from './restore.js';
import { checkConfinement, goodCandidates, recordedDamage, runFilesOf, VERIFY_ACTION, type VerifyArgs } from './runCheck.js';
import { type Action, type ActionContext, type RunnerEvent, type RunResult, runPlan } from './runner.js';
import { parseStateJson } from './stateSchemas.js';

export const INSTANT_JOB_KIND = 'backup-instant';
export const INSTANT_DISCARD_KIND = 'backup-instant-discard';
export const INSTANT_FINISH_KIND = 'backup-instant-finish';
export const DEFAULT_OVERLAY_DIR = '/var/lib/libvirt/images';

// ------------------------------------------------------------------ records (state dir, private)

export function instantDir(stateDir: string): string {
  return join(stateDir, 'instant');
}

/**
 * Every instant-recovered guest virtdeck knows of. The directory and each record must be ours and
 * private (trust.ts), else this throws: prune then stops rather than delete a run a copy may read.
 * A record that does not parse is skipped (a half-written one never exists: writes are atomic).
 */
export function readInstantRecords(stateDir: string): InstantRecord[] {
  const dir = instantDir(stateDir);
  if (!assertTrustedDir(dir, 'instant-recovery records directory')) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => {
      const text = readTrustedFile(join(dir, f), 'instant-recovery record');
      const r = text === null ? null : parseStateJson(instantRecordSchema, text);
      return r ? [r] : [];
    });
}

export function findInstantRecord(stateDir: string, name: string, uri: string): InstantRecord | undefined {
  return readInstantRecords(stateDir).find((r) => r.name === name && r.uri === uri);
}

function writeRecord(stateDir: string, record: InstantRecord): void {
  if (!isAbsolute(stateDir)) throw new UserError(`${shown(stateDir)} is not virtdeck's state directory.`, 'The job journal is not one virtdeck wrote; look at it with virtdeck job show.');
  const dir = instantDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(dir, `${record.name}.json`), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

function forgetRecord(stateDir: string, name: string): void {
  // The name comes from a journal: only ever a plain file name inside the records' directory.
  if (!isAbsolute(stateDir) || !instantRecordSchema.shape.name.safeParse(name).success) {
    throw new UserError(`${shown(name)} is not the name of an instant-recovery record.`, 'The job journal is not one virtdeck wrote; look at it with virtdeck job show.');
  }
  rmSync(join(instantDir(stateDir), `${name}.json`), { force: true });
}

// ------------------------------------------------------------------ the plan (pure)

export interface InstantRequest {
  guest: string;
  dest: string;
  run: string;
  /** The copy's name; default GUEST-instant. GUEST itself only when it is gone or shut off. */
  asName?: string;
  /** Directory for the overlays. */
  dir: string;
  isolated: boolean;
  /** Ask libvirt to log the first serial port to this file (a drill reads it); removed on discard. */
  serialLog?: string | null;
}

export interface InstantFacts {
  manifest: BackupManifest;
  runXml: string;
  /** Runs the overlays read through, full first. */
  chain: string[];
  /** Per disk target: the run image's real path, as checked (the overlay's backing file). */
  backing: Record<string, string>;
  guestNames: string[];
  /** The guest named like the copy, when the copy takes the original's name and it is still defined. */
  current: { xml: string; state: GuestState } | null;
  existingPaths: string[];
  domainType: 'kvm' | 'qemu';
  newMacs: string[];
  xmlFile: string;
  stateDir: string;
  uri: string;
  now: Date;
  verify: Omit<VerifyArgs, 'allowDamaged'>;
}

export interface InstantOverlay {
  target: string;
  path: string;
  backing: string;
  backingFormat: string;
}

export interface InstantPlan {
  plan: Plan;
  name: string;
  overlays: InstantOverlay[];
  record: InstantRecord;
  xml: string;
  notes: string[];
  damage: string[];
}

/** Pure: the steps of an instant recovery, or a UserError for what must not happen. */
export function planInstant(req: InstantRequest, facts: InstantFacts, virsh: (args: string[]) => string[]): InstantPlan {
  const m = facts.manifest;
  const name = req.asName ?? instantName(req.guest);
  checkGuestName(name);
  const sameName = name === req.guest;
  if (m.disks.length === 0) throw new UserError(`The run ${req.run} holds no disks.`, 'Pick another run.');
  if (!req.dir.startsWith('/')) throw new UserError(`The overlay directory ${shown(req.dir)} is not an absolute path.`, 'Give --dir /var/lib/libvirt/images or another absolute directory.');
  if (sameName && facts.current && isActive(facts.current.state)) {
    throw new UserError(
      `${name} is ${facts.current.state}; a copy takes the original's name only when the original is gone or shut off.`,
      `Leave out --as to start it as ${instantName(req.guest)}, or shut ${name} down first.`,
    );
  }
  if (!sameName && facts.guestNames.includes(name)) {
    throw new UserError(`A guest named ${name} already exists.`, `Choose another name with --as, or discard it first: virtdeck backup instant discard ${name}.`);
  }
  const overlays: InstantOverlay[] = m.disks.map((d) => {
    const backing = facts.backing[d.target];
    if (!backing) throw new UserError(`The image of ${d.target} in ${req.run} was not checked.`, 'Run the command again.');
    const path = posix.join(req.dir, overlayFileName(name, d.target));
    if (facts.existingPaths.includes(path)) throw new UserError(`${path} already exists; virtdeck never overwrites a file.`, `Discard the earlier copy (virtdeck backup instant discard ${name}) or move the file away.`);
    return { target: d.target, path, backing, backingFormat: d.format };
  });

  const source = posix.join(req.dest, req.guest, req.run, DOMAIN_XML_NAME);
  const built = instantXml(parseDomainXml(facts.runXml, { source }), {
    source,
    name,
    overlays,
    newMacs: sameName ? null : facts.newMacs,
    uuid: sameName && facts.current ? (getSettings(parseDomainXml(facts.current.xml)).uuid ?? null) : null,
    isolated: req.isolated,
    domainType: facts.domainType,
    serialLog: req.serialLog ?? null,
  });
  const xml = serializeDomainXml(built.doc);
  const record: InstantRecord = {
    version: 1,
    name,
    guest: req.guest,
    dest: req.dest,
    run: req.run,
    chain: facts.chain,
    uri: facts.uri,
    overlays: overlays.map((o) => ({ target: o.target, path: o.path, backing: o.backing })),
    originalXml: sameName && facts.current ? facts.current.xml : null,
    createdAt: facts.now.toISOString(),
    serialLog: req.serialLog ?? null,
  };

  const steps: PlanStep[] = [];
  const images = facts.verify.files.map((f) => f.path);
  steps.push({
    id: 'verify',
    title: `check the ${images.length} image${images.length === 1 ? '' : 's'} ${req.run} needs against ${images.length > m.disks.length ? 'their manifests' : 'its manifest'} (sha256, unless unchanged since it last matched)`,
    command: { runsOn: 'sys', argv: ['sha256sum', '--', ...images] },
    action: { name: VERIFY_ACTION, args: { ...facts.verify, allowDamaged: false } satisfies VerifyArgs },
    long: true,
  });
  // Before anything reads the run: from here on prune keeps every run of the chain.
  steps.push({
    id: 'record',
    title: `record that ${name} reads ${facts.chain.join(', ')} (prune keeps them)`,
    action: { name: 'instant-record', args: { stateDir: facts.stateDir, record } },
    undo: { title: `forget ${name}'s record`, partial: true, action: { name: 'instant-forget', args: { stateDir: facts.stateDir, name } } },
  });
  for (const o of overlays) {
    steps.push({
      id: `overlay-${o.target}`,
      title: `create ${o.path} over ${o.backing}`,
      // -F: the backing format is virtdeck's word, so nothing is probed; -u is not used, so qemu-img opens (read-only) and sizes the chain.
      command: { runsOn: 'sys', argv: ['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', o.backing, '-F', o.backingFormat, o.path] },
      undo: { title: `remove ${o.path}`, partial: true, command: { runsOn: 'sys', argv: ['rm', '-f', '--', o.path] } },
    });
  }
  steps.push({
    id: 'define',
    title: sameName ? `define ${name} on the overlays (its current definition is kept in the record)` : `define ${name} on the overlays`,
    writesFile: { path: facts.xmlFile, content: xml },
    command: { runsOn: 'virsh', argv: virsh(['define', '--file', facts.xmlFile]) },
    undo: record.originalXml
      ? { title: `put back the definition ${name} had`, action: { name: 'define', args: { xml: record.originalXml } } }
      : { title: `undefine ${name}`, action: { name: 'undefine', args: { name } } },
  });
  steps.push({
    id: 'start',
    title: `start ${name}${req.isolated ? ' with its network links down' : ''}`,
    command: { runsOn: 'virsh', argv: virsh(['start', '--domain', name]) },
    undo: { title: `stop ${name}`, partial: true, action: { name: 'instant-stop', args: { name } } },
  });
  return {
    plan: {
      kind: INSTANT_JOB_KIND,
      title: `Start ${req.guest} (${req.run}) from the backup as ${name}`,
      targets: { guests: [name], images: overlays.map((o) => o.path) },
      steps,
    },
    name,
    overlays,
    record,
    xml,
    notes: built.notes,
    damage: facts.verify.recorded.map((r) => r.sentence),
  };
}

/** Pure: the steps that remove an instant copy: stop it, undefine it (or put the original back), remove its overlays, forget it. */
export function planDiscard(record: InstantRecord, stateDir: string, virsh: (args: string[]) => string[]): Plan {
  const name = record.name;
  const overlays = record.overlays.map((o) => o.path);
  const files = record.serialLog ? [...overlays, record.serialLog] : overlays;
  return {
    kind: INSTANT_DISCARD_KIND,
    title: `Discard ${name} (started from ${record.guest} ${record.run})`,
    targets: { guests: [name], images: overlays },
    steps: [
      { id: 'stop', title: `stop ${name}`, command: { runsOn: 'virsh', argv: virsh(['destroy', '--domain', name]) }, action: { name: 'instant-stop', args: { name } } },
      record.originalXml
        ? { id: 'define', title: `put back the definition ${name} had before`, action: { name: 'define', args: { xml: record.originalXml } } }
        : { id: 'undefine', title: `undefine ${name}`, command: { runsOn: 'virsh', argv: virsh(['undefine', '--domain', name, '--nvram']) }, action: { name: 'undefine', args: { name } } },
      { id: 'remove-overlays', title: `remove the overlay${overlays.length === 1 ? '' : 's'} ${files.join(', ')}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...files] } },
      { id: 'forget', title: `forget ${name}'s record (prune may remove ${record.run} again)`, action: { name: 'instant-forget', args: { stateDir, name } } },
    ],
  };
}

/** Where `finish` puts a disk: DIR/NAME-TARGET.qcow2. */
export function homePath(dir: string, name: string, target: string): string {
  return posix.join(dir, `${name}-${target}.qcow2`);
}

/**
 * Pure: moves a running copy home. Per disk, `virsh blockcopy --pivot` copies the whole chain
 * (backup + overlay) into one standalone qcow2 in DIR while the guest runs, then switches the guest
 * to it (libvirt rewrites the persistent definition too); then the overlays go and the record with
 * them, so prune may remove the run again.
 */
export function planFinish(record: InstantRecord, dir: string, stateDir: string, virsh: (args: string[]) => string[]): Plan {
  const name = record.name;
  const steps: PlanStep[] = record.overlays.map((o) => {
    const dest = homePath(dir, name, o.target);
    return {
      id: `copy-${o.target}`,
      title: `copy ${o.target} of ${name} to ${dest} while it runs, then switch to it`,
      // Shown as the blockcopy it starts; the action polls the job for progress and pivots itself.
      command: { runsOn: 'virsh', argv: virsh(['blockcopy', '--domain', name, '--path', o.target, '--dest', dest, '--format', 'qcow2', '--transient-job']) },
      action: { name: 'instant-copy', args: { name, target: o.target, overlay: o.path, dest } },
      long: true,
      // A copy cut short: the job is aborted (the guest stays on its overlay) and the half copy removed.
      undo: { title: `abort the copy of ${o.target} and remove ${dest} (${name} keeps running from the backup; finish it again later, or remove it with virtdeck backup instant discard ${name})`, partial: true, action: { name: 'instant-copy-abort', args: { name, target: o.target, dest } } },
    };
  });
  const overlays = record.overlays.map((o) => o.path);
  steps.push(
    { id: 'remove-overlays', title: `remove the overlay${overlays.length === 1 ? '' : 's'} ${overlays.join(', ')}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...overlays] } },
    { id: 'forget', title: `forget ${name}'s record (it no longer reads ${record.run})`, action: { name: 'instant-forget', args: { stateDir, name } } },
  );
  return {
    kind: INSTANT_FINISH_KIND,
    title: `Move ${name} home to ${dir}`,
    targets: { guests: [name], images: record.overlays.map((o) => homePath(dir, name, o.target)) },
    steps,
  };
}

// ------------------------------------------------------------------ actions (named in journals)

/** Actions of both job kinds; each is safe to run again (a journal may be finished after a kill). */
export function instantActions(host: HostContext): Record<string, Action> {
  const record: Action = async (args) => {
    const a = args as { stateDir: string; record: unknown };
    writeRecord(a.stateDir, instantRecordSchema.parse(a.record));
  };
  const forget: Action = async (args) => {
    const a = args as { stateDir: string; name: string };
    forgetRecord(a.stateDir, a.name);
  };
  const stop: Action = async (args) => {
    const { name } = args as { name: string };
    const r = await host.virshExec.run(virshArgv(host, ['destroy', '--domain', name]), { okExitCodes: [1] });
    if (r.exitCode !== 0 && !/not running|failed to get domain|Domain not found/i.test(r.stderr)) {
      throw new HostError({ sentence: `${name} could not be stopped.`, fix: `Run virsh destroy ${name} by hand.`, command: r.argv, stderr: r.stderr });
    }
  };
  const copyAbort: Action = async (args) => {
    const { name, target, dest } = args as { name: string; target: string; dest: string };
    await host.virshExec.run(virshArgv(host, ['blockjob', '--domain', name, '--path', target, '--abort']), { okExitCodes: [1] });
    // Removed only while the guest does not use it: after a pivot it is the guest's disk.
    const live = getSettings(parseDomainXml(await dumpXml(host, name))).disks.find((d) => d.target === target);
    if (live?.source !== dest) await host.sysExec.run(['rm', '-f', '--', dest]);
  };
  return { ...restoreActions(host), 'instant-copy': (args, ctx) => copyHome(args as CopyArgs, ctx), 'instant-record': record, 'instant-forget': forget, 'instant-stop': stop, 'instant-copy-abort': copyAbort };
}

interface CopyArgs {
  name: string;
  target: string;
  overlay: string;
  dest: string;
}

const COPY_POLL_MS = 250;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * One disk home. Safe to run again after a kill: a disk already on DEST is done; a copy job left
 * by the killed run is aborted and the half copy removed before a fresh one starts. A guest that
 * is not running (a power cut since) is copied offline (qemu-img convert of overlay + backing
 * chain) and its definition pointed at the copy.
 */
async function copyHome(a: CopyArgs, ctx: ActionContext): Promise<void> {
  const { host, signal } = ctx;
  const live = getSettings(parseDomainXml(await dumpXml(host, a.name))).disks.find((d) => d.target === a.target);
  if (live?.source === a.dest) {
    ctx.progress(1, 0);
    return;
  }
  if (live?.source !== a.overlay) {
    throw new UserError(`${a.name}'s disk ${a.target} is ${shown(live?.source ?? 'gone')}, not its overlay ${a.overlay}; it was changed since.`, `Look at it with virsh dumpxml ${a.name}.`);
  }
  if ((await domState(host, a.name)) !== 'running') {
    await copyOffline(a, ctx);
    return;
  }
  if (await blockJobInfo(host, a.name, a.target, signal)) await abortBlockJob(host, a.name, a.target);
  await host.sysExec.run(['rm', '-f', '--', a.dest]);
  await startBlockCopy(host, a.name, a.target, a.dest, signal);
  for (;;) {
    if (signal.aborted) {
      await abortBlockJob(host, a.name, a.target);
      throw new HostError({ sentence: `The copy of ${a.name} ${a.target} was cancelled; it still runs from the backup.`, fix: 'Start the finish again when ready.', command: [], stderr: '', code: 'cancelled' });
    }
    const job = await blockJobInfo(host, a.name, a.target);
    if (!job) {
      throw new HostError({
        sentence: `The copy of ${a.name} ${a.target} to ${a.dest} stopped before it finished.`,
        fix: `Check free space in the target directory and /var/log/libvirt/qemu/${a.name}.log, then run the finish again.`,
        command: blockCopyArgv(host, a.name, a.target, a.dest),
        stderr: '',
      });
    }
    if (job.end > 0) ctx.progress(Math.min(1, job.cur / job.end), job.end);
    if (job.end > 0 && job.cur >= job.end && (await pivotBlockJob(host, a.name, a.target))) {
      ctx.progress(1, job.end);
      return;
    }
    await pause(COPY_POLL_MS, signal);
  }
}

async function copyOffline(a: CopyArgs, ctx: ActionContext): Promise<void> {
  const { host, signal } = ctx;
  await host.sysExec.run(['rm', '-f', '--', a.dest]);
  await host.sysExec.run(['qemu-img', 'convert', '-p', '-O', 'qcow2', a.overlay, a.dest], {
    signal,
    timeoutMs: 0,
    onStdout: qemuImgProgressStream((pct) => ctx.progress(pct / 100, 0)),
  });
  const doc = setDiskSource(parseDomainXml(await dumpXml(host, a.name, { inactive: true })), a.target, a.dest, 'qcow2');
  await defineXml(host, serializeDomainXml(doc));
}

// ------------------------------------------------------------------ gather + run

async function guestNames(host: HostContext, signal?: AbortSignal): Promise<string[]> {
  return (await host.virshExec.run(virshArgv(host, ['list', '--all', '--name']), { signal })).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export interface InstantOptions {
  guest: string;
  dest: string;
  run?: string;
  asName?: string;
  dir?: string;
  isolated?: boolean;
  /** See InstantRequest.serialLog. */
  serialLog?: string | null;
  stateDir?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
}

/** Reads everything planInstant needs (the run is checked as outside input on the way), then plans. */
export async function prepareInstant(host: HostContext, o: InstantOptions): Promise<InstantPlan & { found: FoundRun }> {
  const found = await findRun(host, o.dest, o.guest, o.run, o.signal);
  const files = runFilesOf(o.dest, o.guest, found.chain);
  const verify: InstantFacts['verify'] = {
    guest: o.guest,
    dest: o.dest,
    files,
    recorded: recordedDamage(found.chain),
    candidates: goodCandidates(found.backups, found.run.name),
    retry: `virtdeck backup instant ${o.guest} RUN --dest ${o.dest}`,
    anyway: 'restore it under a new name with `backup restore --as NEWNAME --to DIR --allow-damaged`',
    // The guest must run in seconds: an image unchanged since it last matched its manifest is not hashed again (verifiedRuns.ts).
    trust: { stateDir: o.stateDir ?? defaultStateDir(), uri: host.uri },
  };
  const runDir = posix.join(o.dest, o.guest, found.run.name);
  const guestDir = posix.join(o.dest, o.guest);
  const name = o.asName ?? instantName(o.guest);
  const dir = o.dir ?? DEFAULT_OVERLAY_DIR;
  const probe = found.run.manifest.disks.map((d) => posix.join(dir, overlayFileName(name, d.target)));
  // The guest must run in seconds, so these reads run at once; an error is still the first one in this order.
  const xmlRead = host.sysExec.run(['cat', '--', posix.join(runDir, DOMAIN_XML_NAME)], { signal: o.signal }).then((r) => r.stdout);
  const [, inspected, runXml, names, existing, domainType] = await allInOrder([
    checkConfinement(host.sysExec, files, o.signal),
    // Each image and its ../PARENT/ chain may name only regular files in this guest's part of the
    // destination; the overlay then names the real path found here, nothing the run wrote.
    Promise.all(found.run.manifest.disks.map((d) => inspectUntrustedImage(host.sysExec, posix.join(runDir, d.file), { roots: [guestDir], expectFormat: d.format, signal: o.signal }))),
    xmlRead,
    guestNames(host, o.signal),
    host.sysExec.run(['sh', '-c', 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done', 'sh', ...probe], { signal: o.signal }).then((r) => r.stdout.split('\n').filter(Boolean)),
    runDomainType(host, xmlRead, o.signal),
  ] as const);
  const backing: Record<string, string> = {};
  found.run.manifest.disks.forEach((d, i) => {
    const real = inspected[i]?.realPath;
    if (real) backing[d.target] = real;
  });
  let current: InstantFacts['current'] = null;
  if (name === o.guest && names.includes(name)) {
    const [xml, state] = await Promise.all([dumpXml(host, name, { inactive: true }), domState(host, name)]);
    current = { xml, state };
  }
  const nics = getSettings(parseDomainXml(runXml, { source: posix.join(runDir, DOMAIN_XML_NAME) })).nics.length;
  const facts: InstantFacts = {
    manifest: found.run.manifest,
    runXml,
    chain: found.chain.map((r) => r.name),
    backing,
    guestNames: names,
    current,
    existingPaths: existing,
    domainType,
    newMacs: Array.from({ length: nics }, () => randomMac('kvm')),
    xmlFile: privateTempFile('instant', 'domain.xml'),
    stateDir: o.stateDir ?? defaultStateDir(),
    uri: host.uri,
    now: new Date(),
    verify,
  };
  const planned = planInstant({ guest: o.guest, dest: o.dest, run: found.run.name, asName: o.asName, dir, isolated: Boolean(o.isolated), serialLog: o.serialLog ?? null }, facts, (a) => virshArgv(host, a));
  return { ...planned, found };
}

export interface InstantListEntry extends InstantRecord {
  /** What libvirt says now: running, shut off…, or 'gone' when the guest is no longer defined. */
  state: GuestState | 'gone';
}

/** The instant copies virtdeck made on HOST, oldest first, with their state now. */
export async function listInstant(host: HostContext, o: { stateDir?: string; signal?: AbortSignal } = {}): Promise<InstantListEntry[]> {
  const records = readInstantRecords(o.stateDir ?? defaultStateDir())
    .filter((r) => r.uri === host.uri)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  if (records.length === 0) return [];
  const names = await guestNames(host, o.signal);
  return Promise.all(records.map(async (r) => ({ ...r, state: names.includes(r.name) ? await domState(host, r.name) : ('gone' as const) })));
}

export interface InstantResult {
  name: string;
  run: string;
  overlays: InstantOverlay[];
  notes: string[];
  state: RunResult['state'];
  /** Milliseconds from the start of the job to the guest running. */
  elapsedMs: number;
  error?: RunResult['error'];
}

/** Plans and runs an instant recovery (journaled; rolled back on failure or cancel). */
export async function runInstant(host: HostContext, o: InstantOptions): Promise<InstantResult> {
  const started = Date.now();
  const planned = await prepareInstant(host, o);
  refuseDamage(planned, { allowDamaged: false });
  const r = await runPlan(planned.plan, {
    host,
    stateDir: o.stateDir ?? defaultStateDir(),
    signal: o.signal,
    onEvent: o.onEvent,
    actions: instantActions(host),
    params: { dest: o.dest, guest: o.guest, run: planned.found.run.name, name: planned.name },
  });
  return { name: planned.name, run: planned.found.run.name, overlays: planned.overlays, notes: planned.notes, state: r.state, elapsedMs: Date.now() - started, error: r.error };
}

/**
 * The discard plan for NAME. Refused unless virtdeck's record names it, and unless every disk the
 * guest has now is one of the record's overlays (a guest redefined since is not virtdeck's to remove).
 */
export async function prepareDiscard(host: HostContext, name: string, o: { stateDir?: string; signal?: AbortSignal } = {}): Promise<{ plan: Plan; record: InstantRecord }> {
  const stateDir = o.stateDir ?? defaultStateDir();
  const record = findInstantRecord(stateDir, name, host.uri);
  if (!record) {
    throw new UserError(`${name} is not a guest virtdeck started from a backup on ${host.uri}.`, 'Only copies made by `virtdeck backup instant` are discarded; remove other guests with `virtdeck guest delete`.');
  }
  const names = await guestNames(host, o.signal);
  if (names.includes(name)) {
    const disks = getSettings(parseDomainXml(await dumpXml(host, name))).disks.filter((d) => d.device === 'disk');
    const foreign = disks.filter((d) => !record.overlays.some((ov) => ov.path === d.source));
    if (foreign.length > 0) {
      throw new UserError(
        `${name}'s disk ${foreign[0]?.target} is ${shown(foreign[0]?.source ?? 'not a file')}, not one of the overlays virtdeck made (${OVERLAY_SUFFIX}); it was changed since, so virtdeck does not discard it.`,
        `Look at it with virsh dumpxml ${name}; remove it by hand if it is really the copy.`,
      );
    }
  }
  return { plan: planDiscard(record, stateDir, (a) => virshArgv(host, a)), record };
}

export async function discardInstant(host: HostContext, name: string, o: { stateDir?: string; signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void } = {}): Promise<RunResult & { record: InstantRecord }> {
  const { plan, record } = await prepareDiscard(host, name, o);
  const r = await runPlan(plan, { host, stateDir: o.stateDir ?? defaultStateDir(), signal: o.signal, onEvent: o.onEvent, actions: instantActions(host), params: { name } });
  return { ...r, record };
}

/**
 * The finish plan for NAME: refused unless virtdeck's record names it, it runs (a copy is made
 * while the guest runs), every disk is still on its overlay, and no file is in the way in DIR.
 */
export async function prepareFinish(host: HostContext, name: string, dir: string, o: { stateDir?: string; signal?: AbortSignal } = {}): Promise<{ plan: Plan; record: InstantRecord }> {
  const stateDir = o.stateDir ?? defaultStateDir();
  const record = findInstantRecord(stateDir, name, host.uri);
  if (!record) throw new UserError(`${name} is not a guest virtdeck started from a backup on ${host.uri}.`, 'Only copies made by `virtdeck backup instant` are moved home this way.');
  if (!dir.startsWith('/')) throw new UserError(`${shown(dir)} is not an absolute path.`, 'Give --to /var/lib/libvirt/images or another absolute directory.');
  const state = await domState(host, name);
  if (state !== 'running') throw new UserError(`${name} is ${state}; its disks are moved home while it runs.`, `Start it first (virtdeck guest start ${name}), or discard it: virtdeck backup instant discard ${name}.`);
  const disks = getSettings(parseDomainXml(await dumpXml(host, name))).disks.filter((d) => d.device === 'disk');
  const foreign = disks.filter((d) => !record.overlays.some((ov) => ov.path === d.source));
  if (foreign.length > 0) throw new UserError(`${name}'s disk ${foreign[0]?.target} is ${shown(foreign[0]?.source ?? 'not a file')}, not its overlay; it was changed since.`, `Look at it with virsh dumpxml ${name}.`);
  const targets = record.overlays.map((ov) => homePath(dir, name, ov.target));
  const existing = (await host.sysExec.run(['sh', '-c', 'for f; do if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi; done', 'sh', ...targets], { signal: o.signal })).stdout.split('\n').filter(Boolean);
  if (existing.length > 0) throw new UserError(`${existing[0]} already exists; virtdeck never overwrites a file.`, 'Choose another --to directory, or move the file away.');
  return { plan: planFinish(record, dir, stateDir, (a) => virshArgv(host, a)), record };
}

export async function finishInstant(host: HostContext, name: string, dir: string, o: { stateDir?: string; signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void } = {}): Promise<RunResult & { record: InstantRecord }> {
  const { plan, record } = await prepareFinish(host, name, dir, o);
  const r = await runPlan(plan, { host, stateDir: o.stateDir ?? defaultStateDir(), signal: o.signal, onEvent: o.onEvent, actions: instantActions(host), params: { name, dir } });
  return { ...r, record };
}
