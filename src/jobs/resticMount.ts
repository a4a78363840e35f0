/**
 * A run of a restic copy target opened for file-level restore through `restic mount`: the
 * repository is mounted read-only (FUSE) in a private staging directory, and each run of the chain
 * is bound at STAGING/GUEST/RUN, so the run looks like any destination (an incremental's
 * ../PARENT/ backing resolves, every confinement check holds) and nothing is restored first.
 * The session is journaled before the mount: whatever ends virtdeck, `virtdeck recover` finds the
 * journal and unmounts and removes what is left. The password stays in its file (restic reads
 * RESTIC_PASSWORD_FILE); snapshot paths and manifests are outside input, checked as copyFetch does.
 */
import { hostname } from 'node:os';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { Executor } from '../host/exec.js';
import { probeFuse } from '../host/fuse.js';
import type { HostContext } from '../host/hostContext.js';
import * as restic from '../host/restic.js';
import type { ResticTarget } from '../model/copyTarget.js';
import { describeTarget } from '../model/copyTarget.js';
import { type FilesMethod, filesMethod, filesMethodText, MOUNT_ACTION, mountSessionPlan, mountsUnder, UNMOUNT_ACTION } from '../model/resticMount.js';
import { UserError } from '../model/userError.js';
import { type FetchedRun, fetchRun, makeStaging, readManifestAt, resticRunsOf, stagingRoot } from './copyFetch.js';
import { Journal } from './journal.js';
import type { Action } from './runner.js';

/** A run ready for file-level restore, and how it was reached. */
export interface OpenedCopy extends FetchedRun {
  method: FilesMethod['method'];
  /** One sentence: which way was used and why (the console's message, `--json`). */
  via: string;
}

/** restic says this once the FUSE filesystem answers. */
const SERVING = 'Now serving the repository at';

/** Unmounts every mount under `staging` (binds first, the FUSE mount last), then removes it. Safe to repeat. */
export async function removeMountStaging(exec: Executor, staging: string, signal?: AbortSignal): Promise<void> {
  const list = await exec.run(['findmnt', '-rn', '-o', 'TARGET'], { signal, okExitCodes: [1] });
  const mounts = mountsUnder(list.stdout, staging);
  const fuse = `${staging}/.mnt`;
  for (const m of [...mounts.filter((x) => x !== fuse), ...mounts.filter((x) => x === fuse)]) {
    // A FUSE mount whose restic was killed answers nothing ("transport endpoint is not connected"): lazy then.
    const r = await exec.run(['umount', '--', m], { signal, okExitCodes: [32] });
    if (r.exitCode !== 0) await exec.run(['umount', '-l', '--', m], { signal });
  }
  // Never across into a mount (were one left): the mounts held the backup, the rest is ours.
  await exec.run(['rm', '-rf', '--one-file-system', '--', staging], { signal, timeoutMs: 0 });
}

interface UnmountArgs {
  staging: string;
}

function checkedStaging(args: unknown): string {
  const s = (args as Partial<UnmountArgs> | null)?.staging;
  // A journal names only a staging directory virtdeck made (STATE/copy-staging/12 hex digits).
  if (typeof s !== 'string' || !/^\/.*\/copy-staging\/[0-9a-f]{12}$/.test(s) || s.split('/').includes('..')) {
    throw new UserError(`The journal names ${String(s)} as a staging directory, which virtdeck never makes.`, 'Remove that journal; nothing was unmounted.');
  }
  return s;
}

/** For `virtdeck recover`: the mount step is not repeated (the session is over); the cleanup runs. */
export function resticMountActions(host: HostContext): Record<string, Action> {
  return {
    [MOUNT_ACTION]: async () => {},
    [UNMOUNT_ACTION]: async (args, ctx) => removeMountStaging(host.sysExec, checkedStaging(args), ctx.signal),
  };
}

/**
 * Mounts restic target `t` and binds the chain of `guest`'s run (latest when absent). The caller
 * must call cleanup() (also on its own errors); on a failure here everything is undone first.
 */
export async function openResticMount(host: HostContext, t: ResticTarget, guest: string, run: string | undefined, o: { signal?: AbortSignal; stateDir?: string; stagingRoot?: string } = {}): Promise<FetchedRun> {
  const exec = host.sysExec;
  const { wanted, snapshots } = await resticRunsOf(exec, t, guest, run, o.signal);
  const staging = await makeStaging(exec, o.stagingRoot ?? stagingRoot(o.stateDir));
  const mountpoint = `${staging}/.mnt`;
  const journal = Journal.create(o.stateDir ?? defaultStateDir(), {
    plan: mountSessionPlan({ target: t.name, repository: t.repository, guest, run: wanted, staging, mountpoint }),
    uri: host.uri,
    hostname: hostname(),
    params: { staging },
  });
  // The mount lives until cleanup: its own abort, not the caller's signal (which only covers opening).
  const serving = new AbortController();
  let served: Promise<unknown> = Promise.resolve();
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    journal.step(1, 'running');
    try {
      // restic first (it may still be starting to mount), then whatever mounts are left, live or dead.
      serving.abort();
      await served.catch(() => undefined);
      await removeMountStaging(exec, staging);
      journal.step(1, 'done');
      journal.finish('done');
    } catch (e) {
      // Still "running": once this process is gone (a console that quit refuses new commands), the
      // journal is an interrupted job that recovery finishes by unmounting, and says so at start.
      journal.step(1, 'failed', e instanceof Error ? e.message : String(e));
      throw e;
    }
  };
  journal.step(0, 'running');
  try {
    await exec.run(['install', '-d', '-m', '0700', '--', mountpoint, `${staging}/${guest}`], { signal: o.signal });
    const cancelled = () => new UserError('Opening the restic copy was cancelled.', 'Nothing was restored; open it again when you need it.');
    if (o.signal?.aborted) throw cancelled();
    let onAbort = () => {};
    await new Promise<void>((resolve, reject) => {
      let out = '';
      onAbort = () => reject(cancelled());
      o.signal?.addEventListener('abort', onAbort, { once: true });
      served = restic.runRestic(exec, t, ['mount', '--', mountpoint], {
        signal: serving.signal,
        timeoutMs: 0,
        onStdout: (chunk) => {
          out = (out + chunk).slice(-4096);
          if (out.includes(SERVING)) resolve();
        },
      });
      served.then(
        () => reject(new UserError(`restic mount of ${t.repository} ended before it served the repository.`, 'Check the repository with restic check, or use virtdeck backup extract --from, which restores the run first.')),
        reject,
      );
    }).finally(() => o.signal?.removeEventListener('abort', onAbort));
    let cur: string | null = wanted;
    const seen = new Set<string>();
    while (cur !== null) {
      if (seen.has(cur)) throw new UserError(`The backup chain of ${wanted} in ${t.repository} loops at ${cur}.`, 'Restore from a full run.');
      seen.add(cur);
      const snap = snapshots.get(cur);
      if (!snap) throw new UserError(`The run ${wanted} of ${guest} builds on ${cur}, which the restic repository ${t.repository} does not hold.`, 'Restore a run whose whole chain was copied.');
      const runDir = `${staging}/${guest}/${cur}`;
      // restic mount names each snapshot by its short id (the first 8 hex digits) under ids/.
      const source = `${mountpoint}/ids/${snap.id.slice(0, 8)}${snap.path}`;
      await exec.run(['install', '-d', '-m', '0700', '--', runDir], { signal: o.signal });
      await exec.run(['sh', '-c', 'test -d "$1" && ! test -L "$1" && mount --bind -- "$1" "$2"', 'sh', source, runDir], { signal: o.signal });
      const m = await readManifestAt(exec, runDir, o.signal);
      if (m.guest !== guest) throw new UserError(`The copy of ${guest}/${cur} in ${t.repository} holds a manifest of ${m.guest}.`, 'Restore from another run or another copy target.');
      cur = m.parent;
    }
    journal.step(0, 'done');
  } catch (e) {
    journal.step(0, 'failed', e instanceof Error ? e.message : String(e));
    await cleanup().catch(() => undefined);
    throw e;
  }
  return { dest: staging, run: wanted, staging, cleanup };
}

/**
 * A copy target's run for file-level restore: a restic target through `restic mount` where FUSE
 * works (checked first) and otherwise, or when the mount fails for a reason other than the admin's
 * input, restored into a private staging directory; a directory or ssh target as fetchRun brings it.
 */
export async function openCopyForFiles(host: HostContext, t: Parameters<typeof fetchRun>[1], guest: string, run: string | undefined, o: { signal?: AbortSignal; stateDir?: string; stagingRoot?: string } = {}): Promise<OpenedCopy> {
  if (t.type !== 'restic') {
    const f = await fetchRun(host, t, guest, run, o);
    return { ...f, method: 'restore', via: t.type === 'dir' ? `read from the copy in ${describeTarget(t)}` : `pulled from ${describeTarget(t)} into a private temp dir` };
  }
  let choice = filesMethod(await probeFuse(host.sysExec, o.signal));
  if (choice.method === 'mount') {
    try {
      const f = await openResticMount(host, t, guest, run, o);
      return { ...f, method: 'mount', via: filesMethodText(t.name, 'mount') };
    } catch (e) {
      // A wrong password, a missing run, a cancel: the admin's to fix, and a restore would fail alike.
      if (e instanceof UserError || o.signal?.aborted) throw e;
      choice = { method: 'restore', why: `restic mount failed here (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` };
    }
  }
  const f = await fetchRun(host, t, guest, run, o);
  return { ...f, method: 'restore', via: filesMethodText(t.name, 'restore', choice.why) };
}
