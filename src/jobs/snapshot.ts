
import { stateDir as defaultStateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { info as qemuImgInfo } from '../host/qemuImg.js';
import { listSnapshots } from '../host/snapshots.js';
import { defineXml, domState, dumpXml, type GuestState, virshArgv } from '../host/virsh.js';
import { summarizeDomainXml } from '../model/domainSummary.js';
import { isActive } from '../model/guest.js';
import type { Plan } from '../model/plan.js';
import {
  type CommitDiskArgs,
  isSnapshotOverlay,
  planCreateSnapshot,
  planDeleteSnapshot,
  planRevertSnapshot,
  repointDisksXml,
  type SnapshotFacts,
  snapshotOverlayPath,
} from '../model/snapshotPlan.js';
import { UserError } from '../model/userError.js';
import { defineRepointed } from './defineRepointed.js';
import { privateTempFile } from './privateTemp.js';
import { type Action, type RunnerEvent, type RunResult, runPlan } from './runner.js';

function noSuchGuest(host: HostContext, guest: string): UserError {
  return new UserError(`There is no guest named "${guest}" on ${host.uri}.`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
}

/** What the plans need, read now: state, disks as they are (live XML while running), snapshots. */
export async function gatherSnapshotFacts(host: HostContext, guest: string): Promise<SnapshotFacts> {
  let state: GuestState;
  try {
    state = await domState(host, guest);
  } catch (e) {
    if (e instanceof HostError && /failed to get domain|Domain not found/i.test(e.stderr)) throw noSuchGuest(host, guest);
    throw e;
  }
  const [inactiveXml, liveXml, snapshots] = await Promise.all([
    dumpXml(host, guest, { inactive: true }),
    isActive(state) ? dumpXml(host, guest) : Promise.resolve(null),
    listSnapshots(host, guest),
  ]);
  const disks = summarizeDomainXml(liveXml ?? inactiveXml).disks;
  const backingOf: Record<string, string | null> = {};
  for (const d of disks) {
    if (!d.source || !isSnapshotOverlay(d.source)) continue;
    const i = await qemuImgInfo(host.sysExec, d.source, { forceShare: true, format: 'qcow2' });
    backingOf[d.source] = i.fullBackingFilename ?? i.backingFilename ?? null;
  }
  return { uri: host.uri, guest, state, disks, snapshots, inactiveXml, backingOf };
}

async function existingPaths(host: HostContext, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  const r = await host.sysExec.run(['ls', '-d', '--', ...paths], { okExitCodes: [1, 2] });
  return r.stdout.split('\n').filter((l) => paths.includes(l));
}

export function xmlFileFor(guest: string): string {
  return privateTempFile('snapshot', `${guest.replace(/[^A-Za-z0-9._-]/g, '_')}.xml`);
}

export interface SnapshotJobOptions {
  stateDir?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
  /** Build and return the plan only. */
  dryRun?: boolean;
  now?: Date;
}

export interface SnapshotJobResult {
  plan: Plan;
  /** Absent on a dry run. */
  run?: RunResult;
}

async function execute(host: HostContext, plan: Plan, opts: SnapshotJobOptions): Promise<SnapshotJobResult> {
  if (opts.dryRun) return { plan };
  const run = await runPlan(plan, {
    host,
    stateDir: opts.stateDir ?? defaultStateDir(),
    signal: opts.signal,
    onEvent: opts.onEvent,
    actions: snapshotActions(host),
  });
  if (run.error) throw run.error;
  return { plan, run };
}

export async function createSnapshot(
  host: HostContext,
  guest: string,
  req: { name: string; description?: string },
  opts: SnapshotJobOptions = {},
): Promise<SnapshotJobResult> {
  const facts = await gatherSnapshotFacts(host, guest);
  const overlays = facts.disks.filter((d) => d.device === 'disk' && d.source).map((d) => snapshotOverlayPath(d.source as string, req.name));
  facts.existing = await existingPaths(host, overlays);
  return execute(host, planCreateSnapshot(req, facts), opts);
}

export async function revertSnapshot(
  host: HostContext,
  guest: string,
  name: string,
  opts: SnapshotJobOptions & { removeAbandoned?: boolean; start?: boolean } = {},
): Promise<SnapshotJobResult> {
  const facts = await gatherSnapshotFacts(host, guest);
  const plan = planRevertSnapshot(name, facts, { xmlFile: xmlFileFor(guest), now: opts.now, removeAbandoned: opts.removeAbandoned, start: opts.start });
  return execute(host, plan, opts);
}

export async function deleteSnapshot(
  host: HostContext,
  guest: string,
  name: string,
  opts: SnapshotJobOptions & { removeAbandoned?: boolean } = {},
): Promise<SnapshotJobResult> {
  const facts = await gatherSnapshotFacts(host, guest);
  const plan = planDeleteSnapshot(name, facts, { xmlFile: xmlFileFor(guest), now: opts.now, removeAbandoned: opts.removeAbandoned });
  return execute(host, plan, opts);
}

// ---------------------------------------------------------------------------------------------
// Actions (also used to finish or roll back a journal after a crash)

function diskSource(xml: string, target: string): string | null {
  return summarizeDomainXml(xml).disks.find((d) => d.target === target)?.source ?? null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Merges an overlay back into the file under it: live with blockcommit --active --pivot, offline
 * with qemu-img commit and a repoint. Looks first, so running it again after a crash is safe.
 */
export async function commitDisk(host: HostContext, a: CommitDiskArgs, signal?: AbortSignal): Promise<void> {
  const state = await domState(host, a.guest);
  const active = isActive(state);
  const live = diskSource(await dumpXml(host, a.guest, active ? {} : { inactive: true }), a.target);
  if (live !== a.base) {
    if (live !== a.overlay) {
      throw new HostError({
        sentence: `${a.guest}'s disk ${a.target} is on ${live ?? 'no file'}, not on the overlay ${a.overlay} this job merges.`,
        fix: 'Someone changed the disk since the job started; look at it with virsh domblklist and merge by hand.',
        command: virshArgv(host, ['domblklist', '--domain', a.guest]),
        stderr: '',
      });
    }
    if (active) {
      // Under heavy writes the active commit may not be ready to pivot at once: try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await host.virshExec.run(virshArgv(host, ['blockcommit', '--domain', a.guest, '--path', a.target, '--active', '--pivot', '--wait']), { timeoutMs: 0, signal });
          break;
        } catch (e) {
          if (attempt >= 3 || !(e instanceof HostError) || !/not ready for pivot|block copy still active/i.test(e.stderr)) throw e;
          await sleep(1000 * attempt);
        }
      }
    } else {
      await host.sysExec.run(['qemu-img', 'commit', '-q', '-f', 'qcow2', a.overlay], { timeoutMs: 0, signal });
    }
  }
  // The definition used at the next start must name the base too (a pivot updates it; a qemu-img commit does not).
  const inactive = await dumpXml(host, a.guest, { inactive: true });
  if (diskSource(inactive, a.target) !== a.base) {
    await defineRepointed(host, a.guest, repointDisksXml(inactive, [{ target: a.target, file: a.base, format: a.baseFormat }]), a.target, a.base);
  }
}

export function snapshotActions(host: HostContext): Record<string, Action> {
  return {
    'snapshot.defineXml': async (args) => {
      await defineXml(host, (args as { xml: string }).xml);
    },
    'snapshot.commitDisk': async (args, ctx) => {
      await commitDisk(host, args as CommitDiskArgs, ctx.signal);
    },
  };
}

