/**
 * "Move this guest to that host": facts from both hosts, the checks (model/migratePlan.ts), and the
 * actions of the journaled plan. Every action can run again after a killed virtdeck: it first looks
 * where the guest is (source, destination, both) and does only what is left, so recovery ends with
 * exactly one runnable copy whichever step was interrupted.
 */
import { randomBytes } from 'node:crypto';
import { createHostContext, parseLibvirtUri } from '../config/connect.js';
import { configHosts, resolveHost } from '../config/resolveHost.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { abortJob, availableMemoryKiB, checkpointNames, cpuCompare, type JobStats, jobStats, jobStatsVia, listenJobCompleted, type MigrateArgvOptions, migrateArgv, offersKvm, probeStorage, streamFile } from '../host/migrate.js';
import { info } from '../host/qemuImg.js';
import { listSnapshots } from '../host/snapshots.js';
import * as virsh from '../host/virsh.js';
import { openVirshChannel, type VirshChannel } from '../host/virshChannel.js';
import { domainRoot, firstChild, parseDomainXml } from '../model/domainXml.js';
import type { GuestDisk } from '../model/guest.js';
import { type DestRef, MIGRATE_JOB_KIND, type MigrateDisk, type MigrateFacts, type MigrateOptions, type MigrateReview, planMigration, reviewMigration } from '../model/migratePlan.js';
import type { Plan } from '../model/plan.js';
import type { PartProgress } from '../model/progress.js';
import { formatBytes } from '../model/units.js';
import { UserError } from '../model/userError.js';
import type { Action, ActionContext, RunnerEvent, RunResult } from './runner.js';
import { runPlan } from './runner.js';

export interface MigrateDestination {
  ref: DestRef;
  host: HostContext;
}

/** The destination named by `--to` / the wizard: a config host's name or a URI. */
export function migrateDestination(wanted: string, where = '--to'): MigrateDestination {
  const opts = resolveHost(wanted, configHosts(), where);
  if (opts instanceof UserError) throw opts;
  const host = createHostContext(opts);
  return { ref: { uri: host.uri, name: host.name, fromConfig: Boolean(opts.fromConfig) }, host };
}

/**
 * The destination of a journaled step, made again: a config host must still be in the config file
 * with the same URI (the journal never brings its own key file or command); any other URI is
 * checked as outside text.
 */
export function destHost(ref: DestRef): HostContext {
  if (!ref.fromConfig) return createHostContext({ uri: ref.uri, name: ref.name, where: 'the job journal' });
  const opts = resolveHost(ref.name, configHosts(), 'the job journal');
  if (opts instanceof UserError) throw opts;
  if (opts.uri !== ref.uri) {
    throw new UserError(`The host ${ref.name} in the config file now has the URI ${opts.uri}, not ${ref.uri} as when the migration started.`, 'Put the old URI back to finish the job, or roll it back.');
  }
  return createHostContext(opts);
}

/** QEMU's stream goes to the host the destination URI names (the machine the admin reaches it by). */
export function migrateUriFor(destUri: string): string {
  const p = parseLibvirtUri(destUri, '--to');
  if (!p.host) throw new UserError(`The destination ${destUri} is this machine.`, 'Give the other host: its name from the config file or qemu+ssh://root@HOST/system.');
  return `tcp://${p.host.includes(':') ? `[${p.host}]` : p.host}`;
}

interface DiskProbe {
  disks: MigrateDisk[];
  other: GuestDisk[];
}

async function probeDisks(source: HostContext, disks: GuestDisk[], running: boolean): Promise<DiskProbe> {
  const out: DiskProbe = { disks: [], other: [] };
  for (const d of disks.filter((x) => x.device === 'disk' || x.device === 'lun')) {
    if (!d.source) continue;
    const kind = await source.sysExec.run(['stat', '-L', '-c', '%F\t%s', '--', d.source]).catch(() => null);
    const [type, size] = (kind?.stdout.trim() ?? '').split('\t');
    if (type !== 'regular file' && type !== 'regular empty file') {
      out.other.push(d);
      continue;
    }
    const i = await info(source.sysExec, d.source, { forceShare: running, ...(d.format ? { format: d.format } : {}) });
    out.disks.push({ target: d.target, source: d.source, format: i.format, virtualSize: i.virtualSize, fileBytes: Number(size) });
  }
  return out;
}

/** Whether the destination reads the same files: a marker with random content, written here, read there. */
async function sharedStorage(source: HostContext, dest: HostContext, paths: string[]): Promise<{ shared: boolean; existing: string[]; avail: Record<string, number | null> }> {
  const dirs = [...new Set(paths.map((p) => p.slice(0, p.lastIndexOf('/')) || '/'))];
  let shared = dirs.length > 0;
  const existing: string[] = [];
  const avail: Record<string, number | null> = {};
  for (const dir of dirs) {
    const token = randomBytes(16).toString('hex');
    const marker = `${dir}/.virtdeck-migrate-marker-${token}`;
    await source.sysExec.run(['sh', '-c', 'umask 077 && printf %s "$2" > "$1"', 'sh', marker, token]);
    try {
      const inDir = paths.filter((p) => (p.slice(0, p.lastIndexOf('/')) || '/') === dir);
      const probe = await probeStorage(dest.sysExec, marker, inDir);
      if (probe.marker !== token) shared = false;
      existing.push(...probe.existing);
      for (const [p, a] of probe.availBytes) avail[p] = a;
    } finally {
      await source.sysExec.run(['rm', '-f', '--', marker]).catch(() => undefined);
    }
  }
  return { shared, existing, avail };
}

function domainFacts(xml: string): { type: string; cpuXml: boolean } {
  const root = domainRoot(parseDomainXml(xml));
  const cpu = firstChild(root, 'cpu');
  const cpuXml = Boolean(cpu && (firstChild(cpu, 'model') || ['host-model', 'host-passthrough', 'maximum'].includes(cpu.attrs.mode ?? '')));
  return { type: root.attrs.type ?? 'qemu', cpuXml };
}

/** What the checks read of the destination as a whole (not of one guest): once per evacuation, not once per guest. */
export type DestWide = Pick<MigrateFacts['dest'], 'unreachable' | 'offersKvm' | 'networks' | 'bridges' | 'availableMemoryKiB' | 'guests'>;

export async function gatherDestWide(d: HostContext): Promise<DestWide> {
  let destGuests: virsh.GuestRow[];
  try {
    destGuests = await virsh.listGuests(d);
  } catch (e) {
    const unreachable = e instanceof HostError || e instanceof UserError ? e.sentence.replace(/\.$/, '') : String(e);
    return { unreachable, offersKvm: false, networks: [], bridges: [], availableMemoryKiB: 0, guests: [] };
  }
  return {
    unreachable: null,
    guests: destGuests.map((g) => ({ name: g.name, uuid: g.uuid })),
    offersKvm: await offersKvm(d),
    networks: (await virsh.listNetworks(d)).map((n) => ({ name: n.name, active: n.active })),
    bridges: await virsh.listBridges(d),
    availableMemoryKiB: await availableMemoryKiB(d),
  };
}

/**
 * Reads everything the checks need from both hosts; changes nothing (the marker file is removed
 * again). `known` passes what a caller moving several guests already read (the source's guest
 * list, the destination's host-wide facts).
 */
export async function gatherMigrateFacts(source: HostContext, dest: MigrateDestination, name: string, known: { rows?: virsh.GuestRow[]; destWide?: DestWide } = {}): Promise<MigrateFacts> {
  const guests = known.rows ?? (await virsh.listGuests(source));
  const row = guests.find((g) => g.name === name);
  if (!row) throw new UserError(`There is no guest named "${name}" on ${source.name}.`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
  const running = row.state !== 'shut off';
  const xml = await virsh.dumpXml(source, name, { inactive: true });
  const liveXml = running ? await virsh.dumpXml(source, name) : xml;
  const dom = domainFacts(liveXml);
  const { disks, other } = await probeDisks(source, row.disks, running);
  const cdroms = row.disks.filter((d) => d.device === 'cdrom' && d.source).map((d) => d.source as string);
  const snapshots = (await listSnapshots(source, name)).map((s) => s.name);
  const checkpoints = await checkpointNames(source, name);
  const job = running ? await jobStats(source, name) : null;
  const d = dest.host;
  const wide = known.destWide ?? (await gatherDestWide(d));
  const facts: MigrateFacts = {
    guest: {
      name,
      uuid: row.uuid,
      state: row.state,
      domainType: dom.type,
      memoryKiB: row.memoryKiB,
      persistent: row.persistent,
      disks,
      otherDisks: other,
      cdroms,
      nics: row.nics,
      snapshots,
      checkpoints,
      activeJob: job && job.type !== 'None' ? (job.operation ?? job.type) : null,
      xml,
    },
    source: { name: source.name, uri: source.uri },
    dest: { ref: dest.ref, cpu: null, existing: [], availBytes: {}, sharedStorage: false, ...wide },
  };
  if (wide.unreachable !== null) return facts;
  if (dom.cpuXml) facts.dest.cpu = await cpuCompare(d, liveXml, dom.type);
  const storage = await sharedStorage(source, d, disks.map((x) => x.source));
  facts.dest.sharedStorage = storage.shared;
  facts.dest.existing = storage.existing;
  facts.dest.availBytes = storage.avail;
  if (cdroms.length > 0) facts.dest.existing.push(...(await probeStorage(d.sysExec, '', cdroms)).existing);
  return facts;
}

export interface PreparedMigrate {
  facts: MigrateFacts;
  review: MigrateReview;
  plan: Plan | null;
}

export async function prepareMigrate(source: HostContext, dest: MigrateDestination, name: string, o: Omit<MigrateOptions, 'migrateUri'> & { migrateUri?: string }): Promise<PreparedMigrate> {
  const options: MigrateOptions = { ...o, migrateUri: o.migrateUri ?? migrateUriFor(dest.ref.uri) };
  const facts = await gatherMigrateFacts(source, dest, name);
  const review = reviewMigration(facts, options);
  return { facts, review, plan: review.refusals.length === 0 ? planMigration(facts, options, review) : null };
}

// ---- actions -------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p`'s value, or null when it has not come within `ms` (the timer does not outlive it). */
async function within<T>(p: Promise<T | null>, ms: number): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<null>((r) => {
      timer = setTimeout(() => r(null), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The guest on one host: its state, or null when that host has no guest with this UUID. One
 * `domstate` (not the guest list): the job asks it of both hosts around every step. With a
 * long-lived virsh (the live step's) it is asked there, by UUID only, as a channel's commands
 * never hold a name.
 */
export async function stateOn(host: HostContext, uuid: string, channel?: VirshChannel | null): Promise<virsh.GuestState | null> {
  const argv = virsh.virshArgv(host, ['domstate', '--domain', uuid]);
  let r: { ok: boolean; stdout: string; stderr: string };
  if (channel && UUID_RE.test(uuid)) {
    const a = await channel.ask([`domstate --domain ${uuid}`]);
    r = { ok: a.stdout.trim() !== '', ...a };
  } else {
    const x = await host.virshExec.run(argv, { okExitCodes: [1] });
    r = { ok: x.exitCode === 0, stdout: x.stdout, stderr: x.stderr };
  }
  if (r.ok) return r.stdout.trim().split('\n')[0]?.trim() as virsh.GuestState;
  // Only "no such guest" means absent; a host that does not answer must not read as "not there".
  if (/failed to get domain|domain not found|no domain with matching/i.test(r.stderr)) return null;
  throw new HostError({ sentence: `${host.name} did not say whether it has the guest ${uuid}.`, fix: `Check that \`virsh -c ${host.uri} list\` works from here, then finish or roll back the job (virtdeck recover).`, command: argv, stderr: r.stderr });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function virshRun(host: HostContext, args: string[], okExitCodes?: number[]) {
  return host.virshExec.run(virsh.virshArgv(host, args), okExitCodes ? { okExitCodes } : {});
}

/** Whether it had to wait. */
async function waitForNoJob(host: HostContext, guest: string, signal: AbortSignal, stats: () => Promise<JobStats> = () => jobStats(host, guest)): Promise<boolean> {
  let waited = false;
  while ((await stats()).type !== 'None') {
    if (signal.aborted) return waited;
    waited = true;
    await sleep(500);
  }
  return waited;
}

/** What the live step's journal entry holds: the argv options, with the destination by reference. */
type LiveArgs = Omit<MigrateArgvOptions, 'destUri' | 'live'> & { uuid: string; dest: DestRef };

function cancelledError(guest: string, where: string): HostError {
  return new HostError({ sentence: `The migration of ${guest} was cancelled; it keeps running on ${where}.`, fix: 'Start it again when ready.', command: ['virsh', 'domjobabort', '--domain', guest], stderr: '', code: 'cancelled' });
}

/**
 * When the step asks libvirt how the migration goes: not at once (a small guest is gone before
 * the first answer, and the start is when QEMU sets up its NBD mirrors), then every second.
 */
export const LIVE_POLL_MS = { first: 1_000, every: 1_000 };
/** How soon a cancel that found no migration job yet asks libvirt again. */
const ABORT_RETRY_MS = 200;
/** How long after `virsh migrate` returned the job-completed event may still be on its way. */
const EVENT_GRACE_MS = 1_500;

async function liveMigrate(source: HostContext, a: LiveArgs, ctx: ActionContext): Promise<void> {
  const dest = destHost(a.dest);
  // The step's questions to the source go to one long-lived virsh (the console's own when it has
  // one): a new virsh per poll costs a process and a connection that the guest's TCG would use.
  const own = source.virshChannel ? null : openVirshChannel(source.uri, source.virshExec);
  const channel = UUID_RE.test(a.uuid) ? (source.virshChannel ?? own) : null;
  try {
    await moveLive(source, dest, a, ctx, channel);
  } finally {
    void own?.close();
  }
}

async function moveLive(source: HostContext, dest: HostContext, a: LiveArgs, ctx: ActionContext, channel: VirshChannel | null): Promise<void> {
  const stats = (): Promise<JobStats> => (channel ? jobStatsVia(channel, a.uuid) : jobStats(source, a.guest));
  // Listening before anything else: the finished job's figures come with libvirt's event on this
  // host, and the listener connects while the checks below run rather than beside the migration.
  const listen = () => (UUID_RE.test(a.uuid) ? listenJobCompleted(source, a.uuid) : { result: Promise.resolve(null), stop: () => {} });
  let completedEvent = listen();
  try {
    // An earlier virtdeck may have been killed while its virsh migrate went on: let that one end
    // first (its own job-completed event is not this migration's).
    if (await waitForNoJob(source, a.guest, ctx.signal, stats)) {
      completedEvent.stop();
      completedEvent = listen();
    }
    const here = await stateOn(source, a.uuid, channel);
    if (here !== 'running' && here !== 'paused' && here !== 'idle') {
      // Only a guest no longer active here may already have moved: the destination is asked then
      // (an ssh round trip), not on every first run.
      if ((await stateOn(dest, a.uuid)) === 'running' && (here === null || here === 'shut off')) {
        ctx.log(`${a.guest} already runs on ${a.dest.name}`);
        return;
      }
      throw new UserError(`${a.guest} is ${here ?? 'not defined'} on ${source.name}, so it cannot be moved live.`, `Start it (virtdeck guest start ${a.guest}) and migrate again, or roll this job back.`);
    }
    const last = await migrateWatched(source, dest, a, ctx, stats);
    // libvirt's figures of the finished job (the real totals and the downtime): from the event,
    // sent as the migration ends, or else asked of the destination (an ssh round trip). A guest
    // that moved between two polls still ends at 100 %.
    const heard = await within(completedEvent.result, EVENT_GRACE_MS);
    const finished = heard ?? (await jobStats(dest, a.guest, { completed: true }).catch(() => null)) ?? last;
    if (finished?.dataTotal) ctx.progress(1, finished.dataTotal, jobParts({ ...finished, memoryProcessed: finished.memoryTotal, diskProcessed: finished.diskTotal, memoryBps: null, diskBps: null }));
    else ctx.progress(1, 0);
    if (finished !== last && finished?.downtimeMs !== null && finished?.downtimeMs !== undefined) ctx.log(`downtime ${finished.downtimeMs} ms`);
  } finally {
    completedEvent.stop();
  }
}

/**
 * Asks libvirt to abort the guest's job until it takes the abort or `ended` settles (virsh migrate
 * returned). A cancel before libvirt has made the migration job (virsh migrate still connecting
 * to both hosts, the destination's QEMU starting) finds no job to abort; asked once, it was lost
 * and the migration ran to the end. Whether libvirt took it.
 */
export async function abortUntilTaken(host: HostContext, guest: string, ended: Promise<unknown>, retryMs = ABORT_RETRY_MS): Promise<boolean> {
  const { done, settled } = whenSettled(ended);
  while (!settled()) {
    if (await abortJob(host, guest).catch(() => false)) return true;
    await Promise.race([done, sleep(retryMs)]);
  }
  return false;
}

/** A promise's end, as a flag to poll and a promise that never rejects. */
function whenSettled(p: Promise<unknown>): { done: Promise<void>; settled: () => boolean } {
  let over = false;
  const end = () => {
    over = true;
  };
  return { done: p.then(end, end), settled: () => over };
}

/** Runs `virsh migrate` with progress from libvirt's job statistics; the last figures it saw, if any. */
async function migrateWatched(source: HostContext, dest: HostContext, a: LiveArgs, ctx: ActionContext, stats: () => Promise<JobStats>): Promise<JobStats | null> {
  const argv = migrateArgv(source, { guest: a.guest, destUri: dest.uri, migrateUri: a.migrateUri, live: true, copyStorage: a.copyStorage, keepSource: a.keepSource, bandwidthMiB: a.bandwidthMiB, autoConverge: a.autoConverge, postCopy: a.postCopy, unsafe: a.unsafe });
  // virsh is never killed by a cancel: domjobabort is the clean way back, and killing the client
  // would leave libvirt to decide.
  const migration = source.virshExec.run(argv, { timeoutMs: 0 });
  let aborted = false;
  const { done, settled } = whenSettled(migration);
  const onAbort = () => {
    aborted = true;
    void abortUntilTaken(source, a.guest, done);
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let last: JobStats | null = null;
  try {
    await Promise.race([done, sleep(LIVE_POLL_MS.first)]);
    while (!settled()) {
      const s = await stats().catch(() => null);
      if (s?.dataTotal) {
        last = s;
        ctx.progress(Math.min(1, (s.dataProcessed ?? 0) / s.dataTotal), s.dataTotal, jobParts(s));
      }
      await Promise.race([done, sleep(LIVE_POLL_MS.every)]);
    }
    await migration;
  } catch (e) {
    if (aborted || ctx.signal.aborted) throw cancelledError(a.guest, source.name);
    throw e;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  if (aborted) {
    // The abort came too late: the guest moved. That is a finished step, not a cancelled one.
    ctx.log(`the cancel came after ${a.guest} had moved`);
  }
  return last;
}

/** Memory and disk of a live migration as parts of its progress; the label carries libvirt's expected downtime. */
export function jobParts(s: JobStats): PartProgress[] {
  const part = (label: string, done: number | null, total: number | null, bps: number | null): PartProgress[] =>
    total ? [{ label, percent: Math.min(100, ((done ?? 0) / total) * 100), bytesDone: done ?? 0, bytesTotal: total, rateBps: bps, etaSeconds: bps ? Math.max(0, total - (done ?? 0)) / bps : null }] : [];
  const downtime = s.expectedDowntimeMs !== null ? ` (downtime ~${s.expectedDowntimeMs} ms)` : '';
  return [...part(`memory${downtime}`, s.memoryProcessed, s.memoryTotal, s.memoryBps), ...part('disks', s.diskProcessed, s.diskTotal, s.diskBps)];
}

interface DestDisk {
  path: string;
  format: string;
  virtualSize: number;
}

async function createDestDisks(a: { dest: DestRef; guest: string; disks: DestDisk[] }): Promise<void> {
  const dest = destHost(a.dest);
  for (const d of a.disks) {
    const exists = (await dest.sysExec.run(['test', '-e', d.path], { okExitCodes: [1] })).exitCode === 0;
    if (exists) {
      // Ours from an interrupted run when it matches; anything else was not there at the checks.
      const i = await info(dest.sysExec, d.path, { forceShare: true });
      if (i.format === d.format && i.virtualSize === d.virtualSize) continue;
      throw new UserError(`${a.dest.name} now has a file at ${d.path}.`, 'Move it away there, then run the migration again.');
    }
    await dest.sysExec.run(['mkdir', '-p', '-m', '0755', '--', d.path.slice(0, d.path.lastIndexOf('/')) || '/']);
    await dest.sysExec.run(['qemu-img', 'create', '-q', '-f', d.format, '--', d.path, String(d.virtualSize)]);
  }
}

async function removeDestFiles(a: { dest: DestRef; guest: string; uuid: string; paths: string[] }): Promise<void> {
  const dest = destHost(a.dest);
  if ((await stateOn(dest, a.uuid)) !== null) {
    throw new UserError(`${a.guest} is defined on ${a.dest.name}, so its files there stay.`, `Finish the job instead (virtdeck recover --finish), or remove ${a.guest} on ${a.dest.name} first.`);
  }
  await dest.sysExec.run(['rm', '-f', '--', ...a.paths]);
}

async function verify(source: HostContext, a: { guest: string; uuid: string; dest: DestRef; running: boolean; disks: DestDisk[]; keepSource: boolean }): Promise<void> {
  const dest = destHost(a.dest);
  const there = await stateOn(dest, a.uuid);
  const want = a.running ? 'running' : 'shut off';
  if (there !== want) {
    throw new HostError({ sentence: `${a.guest} is ${there ?? 'not defined'} on ${a.dest.name}, not ${want}.`, fix: `Look at it there (virsh -c ${dest.uri} dominfo ${a.guest}).`, command: virsh.virshArgv(dest, ['dominfo', '--domain', a.guest]), stderr: '' });
  }
  for (const d of a.disks) {
    const i = await info(dest.sysExec, d.path, { forceShare: true });
    if (i.format !== d.format || i.virtualSize !== d.virtualSize) {
      throw new HostError({ sentence: `${d.path} on ${a.dest.name} is ${i.format} of ${i.virtualSize} bytes, not ${d.format} of ${d.virtualSize}.`, fix: 'Roll the job back and migrate again.', command: ['qemu-img', 'info', d.path], stderr: '' });
    }
  }
  const here = await stateOn(source, a.uuid);
  if (a.running && here !== null && here !== 'shut off') {
    throw new HostError({ sentence: `${a.guest} still runs on ${source.name} too.`, fix: `Stop one copy: virsh destroy ${a.guest} on the host that should not run it.`, command: virsh.virshArgv(source, ['domstate', '--domain', a.guest]), stderr: '' });
  }
  if (a.running && !a.keepSource && here !== null) throw new HostError({ sentence: `${a.guest} is still defined on ${source.name}.`, fix: `Undefine it there: virsh undefine ${a.guest}.`, command: [], stderr: '' });
}

async function copyDisk(source: HostContext, a: { dest: DestRef; from: string; to: string; bytes: number }, ctx: ActionContext): Promise<void> {
  const dest = destHost(a.dest);
  await dest.sysExec.run(['mkdir', '-p', '-m', '0755', '--', a.to.slice(0, a.to.lastIndexOf('/')) || '/']);
  // The temp copy is root's alone until it is renamed into place.
  await dest.sysExec.run(['sh', '-c', 'umask 077 && : > "$1"', 'sh', a.to]);
  const r = await streamFile(source.sysExec, a.from, dest.sysExec, a.to, { signal: ctx.signal, onBytes: (b) => ctx.progress(a.bytes ? b / a.bytes : 1, a.bytes) });
  const sum = (await dest.sysExec.run(['sha256sum', '--', a.to], { timeoutMs: 0 })).stdout.split(/\s/)[0];
  if (sum !== r.sha256) {
    throw new HostError({ sentence: `The copy of ${a.from} on ${a.dest.name} does not match what was sent (sha256 ${sum} vs ${r.sha256}).`, fix: 'Run the migration again; if it fails again, check the destination disk.', command: ['sha256sum', '--', a.to], stderr: '' });
  }
  ctx.log(`${a.from}: ${formatBytes(r.bytes)} copied, sha256 ${r.sha256}`);
}

async function placeDisks(a: { dest: DestRef; moves: { from: string; to: string }[] }): Promise<void> {
  const dest = destHost(a.dest);
  for (const m of a.moves) {
    const fromThere = (await dest.sysExec.run(['test', '-e', m.from], { okExitCodes: [1] })).exitCode === 0;
    if (!fromThere) continue; // renamed by an interrupted run
    await dest.sysExec.run(['mv', '-n', '-T', '--', m.from, m.to]);
    if ((await dest.sysExec.run(['test', '-e', m.from], { okExitCodes: [1] })).exitCode === 0) {
      throw new UserError(`${m.to} appeared on ${a.dest.name} during the copy, so the copy stays at ${m.from}.`, 'Move that file away there, then finish the job (virtdeck recover --finish).');
    }
  }
}

async function defineDest(a: { dest: DestRef; xml: string }): Promise<void> {
  const dest = destHost(a.dest);
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(a.xml)?.[1] ?? '';
  if ((await stateOn(dest, uuid)) !== null) return;
  await virsh.defineXml(dest, a.xml);
}

async function undefineDest(a: { dest: DestRef; guest: string; uuid: string }): Promise<void> {
  const dest = destHost(a.dest);
  const state = await stateOn(dest, a.uuid);
  if (state === null) return;
  if (state !== 'shut off') throw new UserError(`${a.guest} runs on ${a.dest.name} now, so it is not undefined there.`, 'Shut it down there first, or finish the job.');
  await virshRun(dest, ['undefine', '--domain', a.guest, '--keep-nvram']);
}

/**
 * --remove-source-disks, the job's last step: deletes the disk files the move left on the source,
 * only while the guest is gone from the source, is on the destination (running, after a live move)
 * reading files at those same paths, and no other guest of the source uses them.
 */
async function removeSourceDisks(source: HostContext, a: { guest: string; uuid: string; dest: DestRef; running: boolean; paths: string[] }, ctx: ActionContext): Promise<void> {
  const dest = destHost(a.dest);
  const keep = (why: string, fix: string) => new UserError(`${why}, so ${a.guest}'s disk files on ${source.name} were not deleted.`, fix);
  const here = await stateOn(source, a.uuid);
  if (here !== null) throw keep(`${a.guest} is defined on ${source.name} again`, `Delete them by hand once only one copy of ${a.guest} is defined (${a.paths.join(', ')}).`);
  const there = (await virsh.listGuests(dest)).find((g) => g.uuid === a.uuid);
  if (!there || (a.running && !['running', 'idle', 'paused'].includes(there.state))) {
    throw keep(`${a.guest} is ${there?.state ?? 'not defined'} on ${a.dest.name}`, `Start it there and check it, then delete ${a.paths.join(', ')} on ${source.name} by hand.`);
  }
  const used = new Set(there.disks.flatMap((d) => (d.source ? [d.source] : [])));
  const missing = a.paths.filter((p) => !used.has(p));
  if (missing.length > 0) throw keep(`${a.guest} on ${a.dest.name} does not read ${missing.join(', ')}`, `Look at its disks there (virsh -c ${dest.uri} domblklist ${a.guest}) before deleting anything on ${source.name}.`);
  const users = (await virsh.listGuests(source)).filter((g) => g.disks.some((d) => d.source && a.paths.includes(d.source)));
  if (users.length > 0) throw keep(`${users.map((g) => g.name).join(', ')} on ${source.name} uses them`, `Leave them, or detach them from ${users[0]?.name} first.`);
  await source.sysExec.run(['rm', '-f', '--', ...a.paths]);
  ctx.log(`deleted on ${source.name}: ${a.paths.join(', ')}`);
}

export function migrateActions(host: HostContext): Record<string, Action> {
  return {
    'migrate.dropCheckpoints': async (args) => {
      const a = args as { guest: string; checkpoints: string[] };
      const left = new Set(await checkpointNames(host, a.guest));
      for (const c of a.checkpoints) if (left.has(c)) await virshRun(host, ['checkpoint-delete', '--domain', a.guest, '--checkpointname', c, '--metadata']);
    },
    'migrate.createDestDisks': (args) => createDestDisks(args as Parameters<typeof createDestDisks>[0]),
    'migrate.removeDestFiles': (args) => removeDestFiles(args as Parameters<typeof removeDestFiles>[0]),
    'migrate.live': (args, ctx) => liveMigrate(host, args as LiveArgs, ctx),
    'migrate.verify': (args) => verify(host, args as Parameters<typeof verify>[1]),
    'migrate.copyDisk': (args, ctx) => copyDisk(host, args as Parameters<typeof copyDisk>[1], ctx),
    'migrate.placeDisks': (args) => placeDisks(args as Parameters<typeof placeDisks>[0]),
    'migrate.defineDest': (args) => defineDest(args as Parameters<typeof defineDest>[0]),
    'migrate.undefineDest': (args) => undefineDest(args as Parameters<typeof undefineDest>[0]),
    'migrate.removeSourceDisks': (args, ctx) => removeSourceDisks(host, args as Parameters<typeof removeSourceDisks>[1], ctx),
    'migrate.undefineSource': async (args) => {
      const a = args as { guest: string; uuid: string };
      const state = await stateOn(host, a.uuid);
      if (state === null) return;
      if (state !== 'shut off') throw new UserError(`${a.guest} was started on ${host.name} during the migration, so it stays defined there.`, 'Shut it down on one host, then finish or roll back the job.');
      await virshRun(host, ['undefine', '--domain', a.guest, '--keep-nvram']);
    },
    'migrate.defineSource': async (args) => {
      const a = args as { xml: string; guest: string };
      const uuid = /<uuid>([^<]+)<\/uuid>/.exec(a.xml)?.[1] ?? '';
      if ((await stateOn(host, uuid)) === null) await virsh.defineXml(host, a.xml);
    },
  };
}

export async function runMigrate(host: HostContext, plan: Plan, o: { stateDir: string; signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void }): Promise<RunResult> {
  if (plan.kind !== MIGRATE_JOB_KIND) throw new Error(`not a migration plan: ${plan.kind}`);
  return runPlan(plan, { host, stateDir: o.stateDir, signal: o.signal, onEvent: o.onEvent, actions: migrateActions(host) });
}
