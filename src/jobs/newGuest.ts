import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateDir } from '../config/paths.js';
import { HostError, toHostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { type AccelInfo, detectAccel, domainTypeFor } from '../host/kvm.js';
import { type GuestRow, listBridges, listGuests, listNetworks, nodeMemoryKiB } from '../host/virsh.js';
import {
  type NewGuestFacts,
  type NewGuestSpec,
  type PathKind,
  planNewGuest,
  type SpecProblem,
  validateSpec,
} from '../model/newGuest.js';
import { commandLine, type Plan } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { type RunnerEvent, type RunResult, runPlan } from './runner.js';

/**
 * New Guest, the side-effect half: reads what the host has, checks the spec against it, then runs
 * the plan from model/newGuest.ts with the shared runner (journaled). A failure undoes the steps
 * already done, in reverse, so a refused start leaves neither a half-defined guest nor a stray
 * disk behind; a file that existed before is never written or removed.
 */

export interface HostFacts {
  guests: GuestRow[];
  bridges: string[];
  networks: { name: string; active: boolean; bridge: string | null }[];
  hostMemoryMiB: number;
  accel: AccelInfo;
  domainType: 'kvm' | 'qemu';
}

/** What the wizard needs before its first step; one round of queries, run in parallel. */
export async function gatherHostFacts(host: HostContext, signal?: AbortSignal): Promise<HostFacts> {
  const [guests, bridges, networks, memKiB, accel] = await Promise.all([
    listGuests(host),
    listBridges(host),
    listNetworks(host),
    nodeMemoryKiB(host),
    detectAccel(host.sysExec, { signal }),
  ]);
  return { guests, bridges, networks, hostMemoryMiB: Math.floor(memKiB / 1024), accel, domainType: domainTypeFor(accel.accel) };
}

export interface PathInfo {
  kind: PathKind;
  /** device:inode, so two spellings of one file (symlinks, //) are seen as the same image. */
  identity: string;
}

const STAT_KIND: Record<string, PathKind> = {
  'regular file': 'file',
  'regular empty file': 'file',
  directory: 'dir',
  'block special file': 'block',
};

/** One `stat` for all paths; a path missing from the answer does not exist (stat then exits 1). */
export async function probePaths(host: HostContext, paths: string[], signal?: AbortSignal): Promise<Map<string, PathInfo>> {
  const unique = [...new Set(paths.filter((p) => p.startsWith('/')))];
  const found = new Map<string, PathInfo>();
  if (unique.length === 0) return found;
  const r = await host.sysExec.run(['stat', '-L', '--printf', '%F\t%d:%i\t%n\\0', '--', ...unique], { okExitCodes: [1], signal });
  for (const record of r.stdout.split('\0')) {
    const [type, identity, ...rest] = record.split('\t');
    const path = rest.join('\t');
    if (!type || !identity || !path) continue;
    found.set(path, { kind: STAT_KIND[type] ?? 'other', identity });
  }
  return found;
}

/**
 * The format of each existing image, read by the untrusted-image gate (which also refuses an image
 * naming files outside its directory or a network address) rather than by qemu-img's probing.
 */
export async function readImageFormats(host: HostContext, paths: string[]): Promise<Record<string, string>> {
  const formats: Record<string, string> = {};
  for (const path of paths) formats[path] = (await inspectUntrustedImage(host.sysExec, path, { allowBlock: true })).format;
  return formats;
}

function specPaths(spec: NewGuestSpec): string[] {
  const paths: string[] = [];
  if (spec.install.kind === 'iso' && spec.install.isoPath) paths.push(spec.install.isoPath);
  if (spec.install.kind === 'existing') paths.push(...spec.install.diskPaths);
  if (spec.newDisk) {
    paths.push(spec.newDisk.path);
    const dir = spec.newDisk.path.slice(0, spec.newDisk.path.lastIndexOf('/')) || '/';
    paths.push(dir);
  }
  return paths;
}

export interface NewGuestCheck {
  /** The spec with the existing images' formats filled in, ready for buildDomainXml. */
  spec: NewGuestSpec;
  facts: NewGuestFacts;
  problems: SpecProblem[];
}

/** Reads what the spec's paths are on the host, fills image formats and validates. */
export async function checkNewGuest(host: HostContext, spec: NewGuestSpec, hostFacts?: HostFacts, signal?: AbortSignal): Promise<NewGuestCheck> {
  const hf = hostFacts ?? (await gatherHostFacts(host, signal));
  const guestDisks = hf.guests.flatMap((g) => g.disks.filter((d) => d.device === 'disk' && d.source).map((d) => ({ guest: g.name, path: d.source as string })));
  const info = await probePaths(host, [...specPaths(spec), ...guestDisks.map((d) => d.path)], signal);

  const guestDiskUsers = new Map<string, string>();
  const userByIdentity = new Map<string, string>();
  for (const d of guestDisks) {
    guestDiskUsers.set(d.path, d.guest);
    const id = info.get(d.path)?.identity;
    if (id) userByIdentity.set(id, d.guest);
  }
  for (const p of specPaths(spec)) {
    const id = info.get(p)?.identity;
    const user = id ? userByIdentity.get(id) : undefined;
    if (user && !guestDiskUsers.has(p)) guestDiskUsers.set(p, user);
  }

  const facts: NewGuestFacts = {
    existingNames: hf.guests.map((g) => g.name),
    guestDiskUsers,
    pathKind: (p) => info.get(p)?.kind ?? null,
    hostMemoryMiB: hf.hostMemoryMiB,
    bridges: hf.bridges,
    networks: hf.networks,
  };
  let resolved = spec;
  const problems = validateSpec(spec, facts);
  if (spec.install.kind === 'existing' && !problems.some((p) => p.field === 'install')) {
    resolved = { ...spec, install: { ...spec.install, formats: await readImageFormats(host, spec.install.diskPaths) } };
  }
  return { spec: resolved, facts, problems };
}

export class NewGuestRefused extends UserError {
  constructor(readonly problems: SpecProblem[]) {
    const first = problems[0];
    super(first?.sentence ?? 'The new guest was refused.', first?.fix ?? '');
    this.name = 'NewGuestRefused';
  }
}

export type StepState = 'running' | 'done' | 'failed' | 'undoing' | 'undone';

export interface NewGuestProgress {
  index: number;
  total: number;
  title: string;
  state: StepState;
}

export interface NewGuestResult {
  name: string;
  started: boolean;
  plan: Plan;
}

/** Carries what failed and what the rollback could not undo. */
export class NewGuestFailed extends HostError {
  constructor(
    cause: HostError,
    readonly leftovers: string[],
  ) {
    super({
      sentence: cause.sentence,
      fix: leftovers.length ? `${cause.fix} Could not undo: ${leftovers.join('; ')}.` : cause.fix,
      command: cause.command,
      stderr: cause.stderr,
      exitCode: cause.exitCode,
      code: cause.code,
    });
    this.name = 'NewGuestFailed';
  }
}

export interface RunNewGuestOptions {
  start: boolean;
  onProgress?: (p: NewGuestProgress) => void;
  /** The runner's own events, for a job view that folds them itself (store/jobs). */
  onEvent?: (e: RunnerEvent) => void;
  signal?: AbortSignal;
}

/**
 * Where the domain XML is written for `virsh define`. virsh runs on this machine even for a remote
 * libvirt (qemu+ssh://), so the file is local. The job passes a directory it just made with
 * mkdtemp (private, fresh), so nothing can be waiting at that path; without one (the review
 * screen) the path shows mkdtemp's template.
 */
export function domainXmlFile(name: string, dir = join(tmpdir(), 'virtdeck-new-XXXXXX')): string {
  return join(dir, `${name}.xml`);
}

/** The runner's events as the wizard's per-step states. */
function progressReporter(total: number, onProgress?: (p: NewGuestProgress) => void): (e: RunnerEvent) => void {
  const report = (index: number, state: StepState, title: string) => onProgress?.({ index, total, title, state });
  return (e) => {
    if (e.type === 'step-start') report(e.index, 'running', e.step.title);
    else if (e.type === 'step-end') report(e.index, 'done', e.step.title);
    else if (e.type === 'step-failed') report(e.index, 'failed', e.step.title);
    else if (e.type === 'undo') report(e.index, 'undoing', e.title);
    // A failed undo stays "undoing" on screen; the error names it as left over.
    else if (e.type === 'undo-end' && e.ok) report(e.index, 'undone', e.title);
  };
}

/** The undos the rollback could not do, as commands the admin can run by hand. */
function leftoversOf(result: RunResult): string[] {
  const { plan, steps } = result.journal.record;
  return plan.steps.flatMap((step, i) => {
    if (steps[i]?.state !== 'undo-failed' || !step.undo) return [];
    return [step.undo.command ? commandLine(step.undo.command) : step.undo.title];
  });
}

/** Checks again against the host as it is now, then runs the plan; the runner undoes on failure. */
export async function runNewGuest(host: HostContext, spec: NewGuestSpec, opts: RunNewGuestOptions): Promise<NewGuestResult> {
  const check = await checkNewGuest(host, spec, undefined, opts.signal);
  if (check.problems.length) throw new NewGuestRefused(check.problems);
  const xmlDir = mkdtempSync(join(tmpdir(), 'virtdeck-new-'));
  try {
    const plan = planNewGuest(check.spec, { uri: host.uri, start: opts.start, xmlFile: domainXmlFile(check.spec.name, xmlDir) });
    const report = progressReporter(plan.steps.length, opts.onProgress);
    const result = await runPlan(plan, {
      host,
      stateDir: stateDir(),
      signal: opts.signal,
      onEvent: (e) => {
        report(e);
        opts.onEvent?.(e);
      },
    });
    if (result.state === 'done') return { name: check.spec.name, started: opts.start, plan };
    // A cancel between steps stops the runner without an error of its own.
    const cause = result.error
      ? toHostError(result.error)
      : new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do; start it again when ready.', command: [], stderr: '', code: 'cancelled' });
    throw new NewGuestFailed(cause, leftoversOf(result));
  } finally {
    rmSync(xmlDir, { recursive: true, force: true });
  }
}
