
import { HostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { existingPaths, type ImageInfo, infoArgv, measureArgv, parseInfo, parseMeasure } from '../host/qemuImg.js';
import { defineXml, domState, dumpXml } from '../host/virsh.js';
import { readVmdkDescriptor } from '../host/vmdk.js';
import {
  type ConvertCheck,
  type ConvertFacts,
  ConvertRefusal,
  type ConvertRequest,
  type ConvertSource,
  type ConvertTarget,
  checkConvert,
  type DiskUser,
  destFiles,
  planConvert,
  resolvedDest,
  tempDirFor,
} from '../model/convertPlan.js';
import { summarizeDomainXml } from '../model/domainSummary.js';
import type { DiskBus } from '../model/domainXml.js';
import { isActive } from '../model/guest.js';
import type { Plan } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { convertOptionsFromDescriptor, vmdkOptionRecord } from '../model/vmdkDescriptor.js';
import { defineEdited } from './defineEdited.js';
import { confinedExtents } from './diskActions.js';
import { refuseRunningUsers, usersOfFiles } from './diskUsers.js';
import { privateTempFile } from './privateTemp.js';
import type { Action, RunnerEvent, RunResult } from './runner.js';
import { runPlan } from './runner.js';
import { probeWritableDir } from './writableDir.js';

async function qemuImg(exec: Executor, argv: string[], signal?: AbortSignal): Promise<string> {
  return (await exec.run(argv, { signal })).stdout;
}

async function readable(exec: Executor, path: string, signal?: AbortSignal): Promise<boolean> {
  const r = await exec.run(['test', '-r', path], { okExitCodes: [1], signal });
  return r.exitCode === 0;
}

/**
 * What qemu-img says about the source, its files, the options it was made with, and who uses it.
 * The source passes the untrusted-image gate first (nothing it names may lie outside its directory),
 * and qemu-img opens it with the format the gate read, never probing.
 */
export async function inspectSource(host: HostContext, path: string, signal?: AbortSignal): Promise<ConvertSource> {
  const exec = host.sysExec;
  const gated = await inspectUntrustedImage(exec, path, { allowBlock: true, signal });
  const argv = infoArgv(path, { format: gated.format, forceShare: true });
  const info = parseInfo(await qemuImg(exec, argv, signal), argv) as ImageInfo;
  const files = [path];
  let options: Record<string, string> = {};
  const fs = info.formatSpecific;
  if (fs?.type === 'qcow2') options = { compat: fs.compat };
  if (fs?.type === 'vmdk') {
    for (const e of fs.extents) if (!files.includes(e.filename)) files.push(e.filename);
    try {
      options = vmdkOptionRecord(convertOptionsFromDescriptor(await readVmdkDescriptor(exec, path)));
    } catch (e) {
      // A descriptor virtdeck cannot read only means "cannot tell whether this is a no-op".
      if (!(e instanceof UserError)) throw e;
    }
  }
  // By file, not by name: a guest may name the image through a symlink, a hard link or a bind mount.
  const users: DiskUser[] = (await usersOfFiles(host, files, { signal })).map((u) => ({ guest: u.guest, target: u.target, state: u.state, source: u.source }));
  return { path, format: info.format, virtualSize: info.virtualSize, files, backingFile: info.backingFilename, options, users };
}

/** Bytes the new image needs at most: qemu-img measure where it can tell, the whole disk for a preallocated one. */
export async function requiredBytes(exec: Executor, src: ConvertSource, target: ConvertTarget, signal?: AbortSignal): Promise<number> {
  const preallocated = (target.format === 'vmdk' && /Flat$/.test(target.options.subformat ?? '')) || ['full', 'falloc'].includes(target.options.preallocation ?? '');
  if (preallocated) return src.virtualSize;
  // measure knows raw and qcow2 only; raw's answer is the whole disk even when written sparse (-S),
  // so the qcow2 answer — the data plus a little metadata — stands in for raw, vmdk and the rest.
  const options = target.format === 'qcow2' ? target.options : undefined;
  const argv = measureArgv({ source: src.path, sourceFormat: src.format, outputFormat: 'qcow2', options, forceShare: true });
  return parseMeasure(await qemuImg(exec, argv, signal), argv).required;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

async function freeBytes(exec: Executor, dir: string, signal?: AbortSignal): Promise<number> {
  const r = await exec.run(['df', '--output=avail', '-B1', '--', dir], { signal });
  const n = Number(r.stdout.trim().split('\n').pop()?.trim());
  if (!Number.isFinite(n)) {
    throw new HostError({ sentence: `df did not say how much space ${dir} has.`, fix: 'Run the command by hand to see why.', command: r.argv, stderr: r.stdout, code: 'bad-output' });
  }
  return n;
}

export async function gatherConvertFacts(host: HostContext, req: ConvertRequest, signal?: AbortSignal): Promise<ConvertFacts> {
  const exec = host.sysExec;
  const dest = resolvedDest(req);
  const dir = dirOf(dest);
  const [isReadable, existing, dirTest] = await Promise.all([
    readable(exec, req.source.path, signal),
    existingPaths(exec, [...destFiles(dest, req.target), tempDirFor(dest)]),
    exec.run(['test', '-d', dir], { okExitCodes: [1], signal }),
  ]);
  const destDirExists = dirTest.exitCode === 0;
  // test -d is not enough: a read-only mount would fail the copy halfway, with exit 1.
  const destDirState = destDirExists ? await probeWritableDir(exec, dir, signal) : 'missing';
  const facts: ConvertFacts = { sourceReadable: isReadable, existing, destDirExists, destDirState, freeBytes: 0, requiredBytes: 0 };
  if (!isReadable) return facts;
  const [free, required] = await Promise.all([
    destDirExists ? freeBytes(exec, dir, signal) : Promise.resolve(0),
    requiredBytes(exec, req.source, req.target, signal),
  ]);
  facts.freeBytes = free;
  facts.requiredBytes = required;
  if (req.repoint) facts.guestXml = await dumpXml(host, req.repoint.guest, { inactive: true });
  return facts;
}

export interface ConvertInput {
  source: string;
  target: ConvertTarget;
  dest?: string;
  /** Repoint the guest that uses the source (the only one, or `guest`) to the new image. */
  repoint?: { guest?: string; bus?: DiskBus };
  keepOriginal?: boolean;
  /** Skip the compare step (the bench times the copy alone). */
  compare?: boolean;
}

export interface PreparedConvert {
  request: ConvertRequest;
  facts: ConvertFacts;
  check: ConvertCheck;
  /** Null when refused (check.refusals says why). */
  plan: Plan | null;
}

/** A source path that is missing is a refusal with a sentence, not a qemu-img error. */
function missingSource(input: ConvertInput): PreparedConvert {
  const source: ConvertSource = { path: input.source, format: 'raw', virtualSize: 0, users: [] };
  const request: ConvertRequest = { source, target: input.target, dest: input.dest, keepOriginal: input.keepOriginal };
  const facts: ConvertFacts = { sourceReadable: false, existing: [], destDirExists: false, freeBytes: 0, requiredBytes: 0 };
  return { request, facts, check: checkConvert(request, facts), plan: null };
}

function resolveRepoint(source: ConvertSource, rp: NonNullable<ConvertInput['repoint']>): ConvertRequest['repoint'] {
  const candidates = source.users.filter((u) => !rp.guest || u.guest === rp.guest);
  const user = candidates[0];
  if (!user) {
    throw new ConvertRefusal(
      'repoint',
      rp.guest ? `${rp.guest} does not use ${source.path}.` : `No guest uses ${source.path}, so there is nothing to repoint.`,
      'Convert without repointing, or name a guest that has this image as a disk.',
    );
  }
  if (candidates.length > 1) {
    throw new ConvertRefusal('repoint', `${candidates.map((u) => u.guest).join(' and ')} all use ${source.path}.`, 'Say which one to repoint.');
  }
  return { guest: user.guest, target: user.target, bus: rp.bus, ...(user.source && user.source !== source.path ? { oldSource: user.source } : {}) };
}

/**
 * Reads the host and builds the plan, or says why not (refusals change nothing). Every refusal,
 * returned or thrown, is a ConvertRefusal naming the field it is about.
 */
export async function prepareConvert(host: HostContext, input: ConvertInput, signal?: AbortSignal): Promise<PreparedConvert> {
  if (!input.source.startsWith('/')) {
    throw new ConvertRefusal('source', `The source "${input.source}" is not an absolute path.`, 'Give the full path of the image, starting with /.');
  }
  if (!(await readable(host.sysExec, input.source, signal))) return missingSource(input);
  const source = await inspectSource(host, input.source, signal);
  const request: ConvertRequest = {
    source,
    target: input.target,
    dest: input.dest,
    keepOriginal: input.keepOriginal ?? true,
    repoint: input.repoint ? resolveRepoint(source, input.repoint) : undefined,
  };
  const facts = await gatherConvertFacts(host, request, signal);
  const check = checkConvert(request, facts);
  if (check.refusals.length > 0) return { request, facts, check, plan: null };
  const xmlFile = privateTempFile('convert', 'domain.xml');
  const plan = planConvert(request, facts, { uri: host.uri, xmlFile, compare: input.compare });
  return { request, facts, check, plan };
}

export interface RunConvertOptions {
  stateDir: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
}

export function runConvert(host: HostContext, plan: Plan, opts: RunConvertOptions): Promise<RunResult> {
  return runPlan(plan, { host, stateDir: opts.stateDir, signal: opts.signal, onEvent: opts.onEvent, actions: convertActions(host) });
}

// ---------------------------------------------------------------------------------------------
// Actions (also used to finish or roll back an interrupted conversion)

interface RemoveTempArgs {
  dir: string;
  files: string[];
}
interface UnplaceArgs {
  pairs: [string, string][];
  originals: string[];
}
interface RepointArgs {
  guest: string;
  oldXml: string;
  newXml: string;
  /** The new image: libvirt reformats what it is given, so "already done" is told by the disk's source. */
  newPath: string;
}
interface RestoreXmlArgs extends RepointArgs {
  originals: string[];
}

async function allExist(exec: Executor, paths: string[]): Promise<boolean> {
  return (await existingPaths(exec, paths)).length === paths.length;
}

function sameXml(a: string, b: string): boolean {
  return a.trim() === b.trim();
}

function usesImage(xml: string, path: string): boolean {
  return summarizeDomainXml(xml).disks.some((d) => d.source === path);
}

export function convertActions(host: HostContext): Record<string, Action> {
  const exec = host.sysExec;
  return {
    /** Only the files this job names, then the directory if it is empty: never a recursive delete. */
    'convert.removeTemp': async (raw) => {
      const a = raw as RemoveTempArgs;
      await exec.run(['rm', '-f', '--', ...a.files]);
      await exec.run(['sh', '-c', 'if test -d "$1"; then rmdir -- "$1"; fi', 'sh', a.dir]);
    },
    'convert.place': async (raw) => {
      const a = raw as { pairs: [string, string][] };
      for (const [final, temp] of a.pairs) {
        const same = await exec.run(['test', final, '-ef', temp], { okExitCodes: [1] });
        // ln refuses an existing name: nothing that appeared meanwhile is overwritten.
        if (same.exitCode !== 0) await exec.run(['ln', '--', temp, final]);
      }
    },
    /** Takes the placed copy away only when it is provably this job's (same inode as its temp twin) and the original is whole. */
    'convert.unplace': async (raw, ctx) => {
      const a = raw as UnplaceArgs;
      if (!(await allExist(exec, a.originals))) {
        ctx.log(`kept ${a.pairs.map((p) => p[0]).join(', ')}: the original is gone, so this copy is the disk now`);
        return;
      }
      for (const [final, temp] of a.pairs) {
        const same = await exec.run(['test', final, '-ef', temp], { okExitCodes: [1] });
        if (same.exitCode === 0) await exec.run(['rm', '-f', '--', final]);
      }
    },
    'convert.repoint': async (raw, ctx) => {
      const a = raw as RepointArgs;
      const state = await domState(host, a.guest);
      if (isActive(state)) {
        throw new UserError(`${a.guest} was started during the conversion (it is ${state}); it still uses the original disk.`, `Shut ${a.guest} down and run the conversion again, or point its disk at the new image by hand.`);
      }
      const now = await dumpXml(host, a.guest, { inactive: true });
      if (usesImage(now, a.newPath)) return; // a finished define before a kill
      if (!sameXml(now, a.oldXml)) {
        throw new UserError(`${a.guest}'s definition changed during the conversion.`, `Nothing was redefined; edit ${a.guest}'s disk by hand (virtdeck guest edit) to use the new image.`);
      }
      if (ctx.signal.aborted) return;
      await defineEdited(host, now, a.newXml);
    },
    /** Removes the original only while no guest uses it, by any name (the repointed one uses the copy by now). */
    'convert.removeOriginal': async (raw, ctx) => {
      const a = raw as { files: string[] };
      const users = await refuseRunningUsers(host, a.files, 'remove', { signal: ctx.signal });
      const first = users[0];
      if (first) {
        throw new UserError(`${first.guest} uses ${first.source} as its disk ${first.target} now, so the original is not removed.`, `Nothing was removed; detach it from ${first.guest} (virtdeck disk detach ${first.guest} ${first.target}) and remove ${a.files.join(', ')} by hand.`);
      }
      // The descriptor may have changed since the source was gated: remove only extents still beside it.
      const [image = '', ...extents] = a.files;
      await confinedExtents(exec, image, extents, ctx.signal);
      await exec.run(['rm', '-f', '--', ...a.files]);
    },
    /** Gives the old definition back only if the guest still has the one this job wrote and the original disk is whole. */
    'convert.restoreXml': async (raw, ctx) => {
      const a = raw as RestoreXmlArgs;
      const now = await dumpXml(host, a.guest, { inactive: true });
      if (!usesImage(now, a.newPath)) return;
      if (!(await allExist(exec, a.originals))) {
        ctx.log(`left ${a.guest} on the new image: the original is gone`);
        return;
      }
      await defineXml(host, a.oldXml, { validate: true });
    },
  };
}
