/**
 * Disk expansion, the side-effect half: read what the plan needs (image, guest, free space, the
 * disk's layout through one libguestfs launch), run the plan from model/expandPlan.ts through the
 * runner, and say what was verified. The actions below are what the plan's multi-command steps
 * name; they are registered in registry.ts so an interrupted expansion can be finished or rolled
 * back by a later virtdeck (finishJob/rollbackJob with actionsFor('expand', host)).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import { type GrowResult, growGuest, inspectDisk } from '../host/guestfs.js';
import { guestfsEnv } from '../host/guestfsEnv.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { allocatedDataBytes, check, compare, existingPaths, info, map } from '../host/qemuImg.js';
import { virshArgv } from '../host/virsh.js';
import { readVmdkDescriptor } from '../host/vmdk.js';
import {
  assessExpand,
  type ExpandAssessment,
  type ExpandDecision,
  type ExpandFacts,
  type ExpandRequest,
  type GrowOp,
  type GuestUse,
  type ImageFacts,
  SWAP_BACK,
  SWAP_IN,
  type SwapArgs,
  swapArgv,
  type VmdkFacts,
  keepCopyNames,
  vmdkWorkNames,
} from '../model/expandPlan.js';
import { growInstructions, instructionsFileName } from '../model/growInstructions.js';
import { isActive } from '../model/guest.js';
import type { Plan } from '../model/plan.js';
import { formatBytesLong } from '../model/units.js';
import { UserError } from '../model/userError.js';
import { convertOptionsFromDescriptor, NO_PARENT_CID, vmdkOptionRecord } from '../model/vmdkDescriptor.js';
import { distinctUsers, lookUpImages } from './diskUsers.js';
import { type Action, type RunnerEvent, type RunResult, runPlan } from './runner.js';

// ---------------------------------------------------------------------------------------------
// Reading the facts

async function freeBytes(exec: Executor, dir: string, signal?: AbortSignal): Promise<number> {
  const r = await exec.run(['df', '-B1', '--output=avail', '--', dir], { signal });
  const n = Number(r.stdout.trim().split('\n').pop()?.trim());
  if (!Number.isFinite(n)) {
    throw new HostError({ sentence: `df did not say how much space ${dir} has.`, fix: 'Run df -h there by hand.', command: r.argv, stderr: r.stdout, code: 'bad-output' });
  }
  return n;
}

async function vmdkFacts(exec: Executor, path: string): Promise<VmdkFacts> {
  const desc = await readVmdkDescriptor(exec, path);
  const conv = convertOptionsFromDescriptor(desc);
  const name = posix.basename(path);
  const extents = desc.extents.map((e) => e.file).filter((f): f is string => f !== null && f !== name);
  return {
    options: vmdkOptionRecord(conv),
    files: [name, ...new Set(extents)],
    createType: desc.createType,
    hasParent: desc.parentCid !== NO_PARENT_CID,
    warnings: conv.warnings,
  };
}

/**
 * The guest whose disk this image is, by file (jobs/diskUsers.ts): a running one first, since that
 * decides the route (online) or the refusal. A block device is refused here: its size is the
 * device's, which no image tool changes.
 */
async function guestUsing(host: HostContext, path: string, signal?: AbortSignal): Promise<GuestUse | null> {
  const { byPath, ids } = await lookUpImages(host, [path], { signal });
  const users = distinctUsers(byPath).filter((u) => u.device === 'disk');
  const u = users.find((x) => x.running) ?? users[0];
  if (ids.get(path)?.kind === 'block') {
    throw new UserError(
      `${path} is a block device${u ? ` (the disk ${u.target} of ${u.guest}${u.source !== path ? `, as ${u.source}` : ''}, which is ${u.state})` : ''}; virtdeck grows image files only.`,
      `Grow the volume or partition behind it (e.g. lvextend), then tell ${u ? u.guest : 'the guest'} with virsh blockresize${u ? ` ${u.guest} ${u.target}` : ''} and the new size.`,
    );
  }
  return u ? { name: u.guest, state: u.state, target: u.target, source: u.source } : null;
}

export interface GatherOptions {
  growFs: boolean;
  signal?: AbortSignal;
  /** Skip the libguestfs launch (the wizard shows the size checks first, then inspects). */
  inspect?: boolean;
}

/** Everything the plan needs, read once; the libguestfs inspection only when the guest side could be grown offline. */
export async function gatherExpandFacts(host: HostContext, path: string, opts: GatherOptions): Promise<ExpandFacts> {
  const exec = host.sysExec;
  const { signal } = opts;
  const base: ExpandFacts = { uri: host.uri, requestedPath: path, image: null, guest: null, layout: null, guestfsEnv: {}, existingLeftovers: [] };
  if (!path.startsWith('/')) {
    throw new UserError(`${path} is not an absolute path.`, 'Give the full path of the image, e.g. /var/lib/libvirt/images/web.qcow2.');
  }
  if ((await existingPaths(exec, [path])).length === 0) return base;
  const [guest, env] = await Promise.all([guestUsing(host, path, signal), guestfsEnv(exec, signal)]);
  const online = guest !== null && isActive(guest.state);
  // The untrusted-image gate reads the format (qemu-img never probes) and refuses an image naming files outside its directory.
  const { format } = await inspectUntrustedImage(exec, path, { allowBlock: true, signal });
  const i = await info(exec, path, { format, forceShare: online });
  const image: ImageFacts = {
    path,
    format: i.format,
    virtualSize: i.virtualSize,
    dataBytes: i.actualSize ?? i.virtualSize,
    backingFile: i.backingFilename,
    snapshots: i.snapshots.map((s) => s.name),
    vmdk: null,
    freeBytes: await freeBytes(exec, posix.dirname(path), signal),
  };
  const facts: ExpandFacts = { ...base, image, guest, guestfsEnv: env };
  if (i.format === 'vmdk') {
    image.vmdk = await vmdkFacts(exec, path);
    image.dataBytes = allocatedDataBytes(await map(exec, path, { format: 'vmdk', forceShare: online }));
    const n = vmdkWorkNames(path);
    facts.existingLeftovers = await existingPaths(exec, [n.work, n.orig]);
  } else {
    // Where a kept copy of the original would go (asked for or not: the plan refuses to write over one).
    const k = keepCopyNames(path);
    facts.existingLeftovers = await existingPaths(exec, [k.part, k.keep]);
  }
  return opts.inspect !== false && opts.growFs ? inspectExpandFacts(exec, facts, signal) : facts;
}

/** Whether growing the guest side offline needs a look inside the image (one libguestfs launch, 15–60 s). */
function wantsInspection(facts: ExpandFacts): boolean {
  const online = facts.guest !== null && isActive(facts.guest.state);
  return facts.image !== null && !online && ['raw', 'qcow2', 'vmdk'].includes(facts.image.format);
}

/** The facts with the image's layout (or why libguestfs could not read it) added. */
async function inspectExpandFacts(exec: Executor, facts: ExpandFacts, signal?: AbortSignal): Promise<ExpandFacts> {
  if (!facts.image || !wantsInspection(facts)) return facts;
  try {
    return { ...facts, layout: await inspectDisk(exec, facts.image.path, facts.image.format, signal) };
  } catch (e) {
    if (e instanceof HostError && e.code === 'cancelled') throw e;
    return { ...facts, layoutError: `libguestfs could not look inside the image (${e instanceof HostError ? e.sentence : String(e)})` };
  }
}

export interface PreparedExpand {
  facts: ExpandFacts;
  assessment: ExpandAssessment;
}

/**
 * The size, the format, the guest's state and the free space are judged before libguestfs looks
 * inside: a size that does not grow the disk is refused in a second, not after a 15–60 s launch.
 */
export async function prepareExpand(host: HostContext, path: string, req: ExpandRequest, signal?: AbortSignal): Promise<PreparedExpand> {
  const facts = await gatherExpandFacts(host, path, { growFs: req.growFs, signal, inspect: false });
  const early = assessExpand(facts, req);
  if (early.refusal || !req.growFs || req.instructionsOnly) return { facts, assessment: early };
  const inspected = await inspectExpandFacts(host.sysExec, facts, signal);
  return { facts: inspected, assessment: assessExpand(inspected, req) };
}

// ---------------------------------------------------------------------------------------------
// Actions of the plan's steps

function unverified(sentence: string, command: string[], detail = ''): HostError {
  return new HostError({
    sentence,
    fix: 'Nothing was swapped or removed: the original is as it was. Run the command shown to look, and report it if the image is fine.',
    command,
    stderr: detail,
    code: 'expand-unverified',
  });
}

export interface ExpandResults {
  verifiedBytes?: number;
  grow?: GrowResult;
}

/** The functions the expand plan's steps name, for runPlan and for finishing/rolling back a journal. */
export function expandActions(host: HostContext, results: ExpandResults = {}): Record<string, Action> {
  const exec = host.sysExec;
  return {
    verifyImage: async (args, ctx) => {
      const a = args as { path: string; format: string; targetBytes: number };
      const i = await info(exec, a.path, { format: a.format });
      if (i.virtualSize !== a.targetBytes) {
        throw unverified(`${a.path} is ${i.virtualSize} bytes, not the ${a.targetBytes} planned.`, ['qemu-img', 'info', a.path]);
      }
      if (a.format === 'qcow2') {
        const c = await check(exec, a.path, { format: 'qcow2' });
        if (!c.ok) throw unverified(`qemu-img check finds problems in ${a.path} after the resize.`, ['qemu-img', 'check', a.path], c.message);
      }
      results.verifiedBytes = i.virtualSize;
      ctx.log(`verified: ${a.path} is ${formatBytesLong(i.virtualSize)}`);
    },
    verifyBlockSize: async (args, ctx) => {
      const a = args as { guest: string; target: string; targetBytes: number };
      const argv = virshArgv(host, ['domblkinfo', '--domain', a.guest, '--device', a.target]);
      const r = await host.virshExec.run(argv);
      const capacity = Number(r.stdout.match(/^Capacity:\s*(\d+)/m)?.[1] ?? Number.NaN);
      if (capacity !== a.targetBytes) throw unverified(`${a.guest} sees ${a.target} as ${capacity} bytes, not ${a.targetBytes}.`, argv, r.stdout);
      results.verifiedBytes = capacity;
      ctx.log(`verified: ${a.guest} sees ${a.target} as ${formatBytesLong(capacity)}`);
    },
    verifyVmdk: async (args, ctx) => {
      const a = args as { raw: string; vmdk: string; targetBytes: number; options: Record<string, string> };
      const cmp = await compare(exec, a.raw, a.vmdk, { formatA: 'raw', formatB: 'vmdk', signal: ctx.signal });
      if (!cmp.identical) throw unverified(`The new vmdk differs from the raw copy (${cmp.message}).`, ['qemu-img', 'compare', a.raw, a.vmdk]);
      const i = await info(exec, a.vmdk, { format: 'vmdk' });
      if (i.virtualSize !== a.targetBytes) throw unverified(`The new vmdk is ${i.virtualSize} bytes, not ${a.targetBytes}.`, ['qemu-img', 'info', a.vmdk]);
      const got = vmdkOptionRecord(convertOptionsFromDescriptor(await readVmdkDescriptor(exec, a.vmdk)));
      for (const [k, v] of Object.entries(a.options)) {
        if (got[k] !== v) throw unverified(`The new vmdk has ${k}=${got[k] ?? '(none)'} where the original has ${v}.`, ['head', '-c', '1024', a.vmdk]);
      }
      results.verifiedBytes = i.virtualSize;
      ctx.log(`verified: identical data, ${formatBytesLong(i.virtualSize)}, ${Object.entries(got).map(([k, v]) => `${k}=${v}`).join(',')}`);
    },
    growGuest: async (args, ctx) => {
      const a = args as { argv: string[]; op: GrowOp };
      const g = await growGuest(exec, a.argv, a.op, ctx.signal);
      results.grow = g;
      const again = g.resumed ? ' (this step had run before; its result is checked again)' : '';
      ctx.log(`filesystem ${a.op.fsDevice}: ${formatBytesLong(g.fsBytesBefore)} → ${formatBytesLong(g.fsBytesAfter)}${again}`);
    },
    swapIn: async (args) => {
      await exec.run(swapArgv(SWAP_IN, args as SwapArgs));
    },
    swapBack: async (args) => {
      await exec.run(swapArgv(SWAP_BACK, args as SwapArgs));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Running

export interface ExpandOutcome {
  state: RunResult['state'];
  result: RunResult;
  /** The disk's size as checked after the job (qemu-img info or virsh domblkinfo). */
  verifiedBytes?: number;
  grow?: GrowResult;
  instructions?: { text: string; file: string };
  /** vmdk route: the folder where the original is kept. */
  keptOriginal?: string;
  /** In-place route with a kept copy: the verified copy of the original. */
  keptCopy?: string;
}

export interface RunExpandOptions {
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
  stateDir?: string;
  now?: Date;
}

/** Saves the guest-side instructions to stateDir()/instructions/GUEST-DATE.txt. */
export function saveInstructions(dir: string, name: string, text: string, now: Date): string {
  const folder = join(dir, 'instructions');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const file = join(folder, instructionsFileName(name, now));
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export async function runExpand(host: HostContext, facts: ExpandFacts, decision: ExpandDecision, opts: RunExpandOptions = {}): Promise<ExpandOutcome> {
  const results: ExpandResults = {};
  const state = opts.stateDir ?? defaultStateDir();
  const result = await runPlan(decision.plan, {
    host,
    stateDir: state,
    signal: opts.signal,
    onEvent: opts.onEvent,
    actions: expandActions(host, results),
    params: { path: facts.image?.path, targetBytes: decision.targetBytes, route: decision.route },
  });
  const outcome: ExpandOutcome = { state: result.state, result, verifiedBytes: results.verifiedBytes, grow: results.grow };
  if (result.state !== 'done') return outcome;
  if (decision.route === 'vmdk' && facts.image) outcome.keptOriginal = vmdkWorkNames(facts.image.path).orig;
  if (decision.keepCopy) outcome.keptCopy = decision.keepCopy.keep;
  if (decision.guestSide.kind === 'instructions') {
    const text = growInstructions({
      guest: facts.guest?.name ?? null,
      image: facts.image?.path ?? facts.requestedPath,
      target: facts.guest?.target ?? null,
      newSizeBytes: decision.targetBytes,
      layout: facts.layout,
      osHint: null,
      reason: decision.guestSide.reason,
    });
    const file = saveInstructions(state, facts.guest?.name ?? posix.basename(facts.requestedPath), text, opts.now ?? new Date());
    outcome.instructions = { text, file };
  }
  return outcome;
}

/** The plan for a path and request, or the refusal; for `--dry-run` and the CLI. */
export async function planFor(host: HostContext, path: string, req: ExpandRequest, signal?: AbortSignal): Promise<{ facts: ExpandFacts; decision: ExpandDecision; plan: Plan }> {
  const { facts, assessment } = await prepareExpand(host, path, req, signal);
  if (assessment.refusal) throw assessment.refusal;
  const decision = assessment.decision as ExpandDecision;
  return { facts, decision, plan: decision.plan };
}
