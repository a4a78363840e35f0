/**
 * P2V on a real host: reads what the source is (lsblk/sfdisk locally, or one ssh connection that
 * also gathers memory, CPUs and NIC MACs), checks the destination, builds the plan from
 * model/p2vPlan.ts and runs it through the runner. The SSH stream is the one step that is more
 * than a command: two processes (ssh … dd if=DEV, and a local dd conv=sparse) joined here,
 * stdout to stdin through a hashing, counting pass — argv arrays only, no shell on this side.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { HostError, toHostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { detectAccel, domainTypeFor } from '../host/kvm.js';
import { existingPaths } from '../host/qemuImg.js';
import { listBridges, listGuests, listNetworks, nodeMemoryKiB, undefine, virshArgv } from '../host/virsh.js';
import {
  checkJournalSshArgv,
  checkP2v,
  deviceSourceProblem,
  guessOs,
  type P2vBus,
  type P2vFormat,
  type P2vHostFacts,
  type P2vNetwork,
  type P2vRequest,
  type P2vSource,
  type P2vSourceFacts,
  type P2vUndefineArgs,
  p2vMac,
  p2vPaths,
  parseLsblk,
  parseRemoteFacts,
  parseSfdisk,
  partitionsFromSfdisk,
  planP2v,
  REMOTE_VERIFY_LIMIT,
  remoteFactsArgv,
  SPARSE_BLOCK,
  type StreamArgs,
} from '../model/p2vPlan.js';
import type { Plan } from '../model/plan.js';
import { shown } from '../model/shown.js';
import { sshFailure, sshTargetOf } from '../model/sshFailure.js';
import { UserError } from '../model/userError.js';
import { privateTempFile } from './privateTemp.js';
import { type Action, type RunnerEvent, type RunResult, runPlan } from './runner.js';
import { probeWritableDir } from './writableDir.js';

async function localSourceFacts(exec: Executor, source: Extract<P2vSource, { kind: 'device' | 'file' }>, signal?: AbortSignal): Promise<P2vSourceFacts> {
  const facts: P2vSourceFacts = { sizeBytes: 0, model: null, partitionTable: null, partitions: [], mounted: [], memoryKiB: null, vcpus: null, nics: [] };
  if (source.kind === 'device') {
    // lsblk of anything but a block device fails with a message of its own (exit 1, "bug?"): say what it is instead.
    const st = await exec.run(['stat', '-L', '-c', '%F', '--', source.path], { signal, okExitCodes: [1] });
    const problem = deviceSourceProblem(source.path, st.exitCode === 0 ? st.stdout.trim() : null);
    if (problem) throw problem;
    // lsblk leaves out a block device with nothing behind it and exits 32 ("none of specified devices found").
    const r = await exec.run(['lsblk', '--json', '-b', '-o', 'NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT,MODEL', '--', source.path], { signal, okExitCodes: [32] });
    if (r.exitCode === 32) {
      throw new UserError(
        `${shown(source.path)} is a block device with nothing behind it (a loop device with no image attached, or a disk that is gone).`,
        'Attach the image first (losetup --find --show --read-only IMAGE) and give that device, or read the image itself with --from-file IMAGE.',
      );
    }
    Object.assign(facts, parseLsblk(r.stdout));
  } else {
    // A disk dump is raw: a file whose header says qcow2 or vmdk (and may name a host file as its
    // backing file) is refused, as are a directory, /dev/zero or a FIFO, which would copy as 0 bytes.
    facts.sizeBytes = (await inspectUntrustedImage(exec, source.path, { expectFormat: 'raw', signal })).size;
  }
  const sf = await exec.run(['sfdisk', '--json', '--', source.path], { signal, okExitCodes: [1] });
  const table = sf.exitCode === 0 ? parseSfdisk(sf.stdout) : null;
  if (table) {
    facts.partitionTable = table.label;
    if (facts.partitions.length === 0) facts.partitions = partitionsFromSfdisk(table);
    else for (const [i, p] of table.partitions.entries()) if (facts.partitions[i]) facts.partitions[i].type = p.type;
  }
  return facts;
}

/**
 * The stream's writer is a dd on the machine virtdeck runs on: with a remote host the image would
 * land on the wrong machine. Refused before anything reads the source (the wizard's first step).
 */
function refuseSshSourceForRemoteHost(host: HostContext, source: P2vSource): void {
  if (source.kind === 'ssh' && host.sysExec.label !== 'local') {
    throw new UserError(
      `P2V over SSH writes the image on the machine virtdeck runs on, not on ${host.name}.`,
      `Run virtdeck on ${host.name} itself for an SSH source, or copy the disk to a raw dump file there and use the dump file source.`,
    );
  }
}

/** Everything about the source, from this host or over one ssh connection. */
export async function gatherSourceFacts(host: HostContext, source: P2vSource, signal?: AbortSignal): Promise<P2vSourceFacts> {
  refuseSshSourceForRemoteHost(host, source);
  if (source.kind !== 'ssh') return localSourceFacts(host.sysExec, source, signal);
  try {
    const r = await execa(remoteFactsArgv(source)[0] as string, remoteFactsArgv(source).slice(1), { reject: false, cancelSignal: signal, timeout: 60_000, encoding: 'utf8' });
    if (r.exitCode === 255) throw new HostError({ ...sshFailure(String(r.stderr), source), command: remoteFactsArgv(source), stderr: String(r.stderr), exitCode: 255 });
    return parseRemoteFacts(String(r.stdout), source.device);
  } catch (e) {
    throw e instanceof UserError ? e : toHostError(e, remoteFactsArgv(source));
  }
}

async function hostFacts(host: HostContext, req: Pick<P2vRequest, 'source' | 'destDir' | 'name' | 'format' | 'network'>, signal?: AbortSignal): Promise<P2vHostFacts> {
  const exec = host.sysExec;
  const paths = p2vPaths(req);
  const net = req.network;
  const [guests, existing, dirTest, readable, accel, bridges, networks, hostMemoryKiB] = await Promise.all([
    listGuests(host),
    existingPaths(exec, [...new Set([paths.final, paths.tmp, paths.rawTmp])]),
    exec.run(['test', '-d', req.destDir], { okExitCodes: [1], signal }),
    req.source.kind === 'ssh' ? Promise.resolve(null) : exec.run(['test', '-r', req.source.path], { okExitCodes: [1], signal }),
    detectAccel(exec, { signal }),
    net.kind === 'bridge' ? listBridges(host) : undefined,
    net.kind === 'network' ? listNetworks(host) : undefined,
    nodeMemoryKiB(host).catch(() => 0),
  ]);
  let freeBytes = 0;
  // test -d is not enough: a read-only mount would fail the copy halfway, with exit 1.
  const destDirState = dirTest.exitCode === 0 ? await probeWritableDir(exec, req.destDir, signal) : 'missing';
  if (dirTest.exitCode === 0) {
    const df = await exec.run(['df', '--output=avail', '-B1', '--', req.destDir], { signal });
    freeBytes = Number(df.stdout.trim().split('\n').pop()?.trim()) || 0;
  }
  return {
    domainType: domainTypeFor(accel.accel),
    guestExists: guests.some((g) => g.name === req.name),
    destDirExists: dirTest.exitCode === 0,
    destDirState,
    existing,
    freeBytes,
    sourceReadable: readable === null ? false : readable.exitCode === 0,
    bridges,
    networks: networks?.map((n) => ({ name: n.name, active: n.active })),
    hostMemoryMiB: hostMemoryKiB > 0 ? Math.floor(hostMemoryKiB / 1024) : undefined,
  };
}

export interface P2vInput {
  source: P2vSource;
  name: string;
  destDir: string;
  format?: P2vFormat;
  /** Default: the source's MACs (SSH), else one new MAC. */
  macs?: string[];
  memoryMiB?: number;
  vcpus?: number;
  bus?: P2vBus;
  network?: P2vNetwork;
  osType?: P2vRequest['osType'];
  /** SSH: default on up to REMOTE_VERIFY_LIMIT bytes. */
  verifyRemote?: boolean;
}

export interface PreparedP2v {
  request: P2vRequest;
  source: P2vSourceFacts;
  host: P2vHostFacts;
  refusals: UserError[];
  warnings: string[];
  /** Null when refused. */
  plan: Plan | null;
}

/** The request with everything the admin left out filled from the source. */
export function completeRequest(input: P2vInput, src: P2vSourceFacts): P2vRequest {
  const sourceMiB = src.memoryKiB ? Math.ceil(src.memoryKiB / 1024) : null;
  return {
    source: input.source,
    name: input.name,
    destDir: input.destDir,
    format: input.format ?? 'qcow2',
    macs: input.macs && input.macs.length > 0 ? input.macs : src.nics.length > 0 ? src.nics.map((n) => n.mac) : [p2vMac(input.source, input.name)],
    memoryMiB: input.memoryMiB ?? sourceMiB ?? 1024,
    vcpus: input.vcpus ?? src.vcpus ?? 1,
    bus: input.bus ?? 'ide',
    network: input.network ?? { kind: 'user' },
    osType: input.osType ?? guessOs(src.partitions),
    verifyRemote: input.verifyRemote ?? src.sizeBytes <= REMOTE_VERIFY_LIMIT,
  };
}

export async function prepareP2v(host: HostContext, input: P2vInput, opts: { sourceFacts?: P2vSourceFacts; signal?: AbortSignal } = {}): Promise<PreparedP2v> {
  if (input.source.kind !== 'ssh' && !input.source.path.startsWith('/')) {
    throw new UserError(`The source "${input.source.path}" is not an absolute path.`, 'Give the full path, e.g. /dev/sdb or /srv/dumps/server.img.');
  }
  refuseSshSourceForRemoteHost(host, input.source);
  const src = opts.sourceFacts ?? (await gatherSourceFacts(host, input.source, opts.signal));
  const request = completeRequest(input, src);
  const hf = await hostFacts(host, request, opts.signal);
  const { refusals, warnings } = checkP2v(request, src, hf);
  const xmlFile = privateTempFile('p2v', 'domain.xml');
  const plan = refusals.length === 0 ? planP2v(request, src, { uri: host.uri, xmlFile, domainType: hf.domainType, uuid: randomUUID() }) : null;
  return { request, source: src, host: hf, refusals, warnings, plan };
}

// ---------------------------------------------------------------------------------------------
// Actions

/** ssh … dd if=DEV → (count, sha256) → dd of=OUT conv=sparse; progress in bytes of the source size. */
async function stream(a: StreamArgs, signal: AbortSignal, progress: (fraction: number, total: number) => void): Promise<void> {
  checkJournalSshArgv(a.ssh);
  const [sshFile, ...sshArgs] = a.ssh;
  const reader = execa(sshFile as string, sshArgs, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, cancelSignal: signal, reject: false, forceKillAfterDelay: 3_000 });
  // fullblock: dd's conv=sparse only skips a block it read whole, so short pipe reads would write zeros.
  const writer = execa('dd', [`of=${a.out}`, `bs=${SPARSE_BLOCK}`, 'iflag=fullblock', 'conv=sparse', 'status=none'], { stdin: 'pipe', stdout: 'ignore', stderr: 'pipe', cancelSignal: signal, reject: false, forceKillAfterDelay: 3_000 });
  const hash = createHash('sha256');
  let bytes = 0;
  let lastReport = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      const now = Date.now();
      if (now - lastReport > 250) {
        lastReport = now;
        progress(a.sizeBytes > 0 ? Math.min(1, bytes / a.sizeBytes) : 0, a.sizeBytes);
      }
      done(null, chunk);
    },
  });
  const piped = pipeline(reader.stdout as NodeJS.ReadableStream, tap, writer.stdin as NodeJS.WritableStream).catch((e: unknown) => e);
  const [r, w, pipeErr] = await Promise.all([reader, writer, piped]);
  const command = [...a.ssh, '|', 'dd', `of=${a.out}`];
  if (signal.aborted) throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do; start it again when ready.', command, stderr: '', code: 'cancelled' });
  if (r.exitCode === 255) throw new HostError({ ...sshFailure(String(r.stderr ?? ''), sshTargetOf(a.ssh)), command: a.ssh, stderr: String(r.stderr ?? ''), exitCode: 255 });
  if (r.exitCode !== 0) {
    throw new HostError({ sentence: `Reading the source disk over ssh failed (exit ${r.exitCode}).`, fix: 'Check the ssh login and that the device exists on the source; the partial copy is removed.', command: a.ssh, stderr: String(r.stderr ?? ''), code: 'ssh' });
  }
  if (w.exitCode !== 0 || pipeErr) {
    throw new HostError({ sentence: `Writing ${a.out} failed.`, fix: 'Check free space and permissions in the destination directory.', command: ['dd', `of=${a.out}`], stderr: String(w.stderr ?? '') || String(pipeErr ?? ''), code: 'write' });
  }
  if (a.sizeBytes > 0 && bytes !== a.sizeBytes) {
    throw new HostError({ sentence: `The stream ended after ${bytes} of ${a.sizeBytes} bytes.`, fix: 'The connection or the source disk failed midway; run the copy again.', command, stderr: String(r.stderr ?? ''), code: 'short-read' });
  }
  progress(1, a.sizeBytes);
  await writeFile(a.hashFile, `${hash.digest('hex')}  ${bytes}\n`, { mode: 0o600 });
}

async function streamHash(hashFile: string): Promise<string> {
  return (await readFile(hashFile, 'utf8')).split(/\s+/)[0] ?? '';
}

export function p2vActions(host: HostContext): Record<string, Action> {
  const exec = host.sysExec;
  return {
    'p2v.stream': (raw, ctx) => stream(raw as StreamArgs, ctx.signal, ctx.progress),
    'p2v.checkLocal': async (raw, ctx) => {
      const a = raw as { file: string; hashFile: string };
      const want = await streamHash(a.hashFile);
      const got = (await exec.run(['sha256sum', '--', a.file], { signal: ctx.signal, timeoutMs: 0 })).stdout.split(/\s+/)[0];
      if (got !== want) throw new UserError(`The written copy differs from what came over the wire (sha256 ${got?.slice(0, 12)}… ≠ ${want.slice(0, 12)}…).`, 'The destination disk may be failing; nothing was defined and the copy is removed.');
      ctx.log(`sha256 of the copy matches the stream: ${want}`);
    },
    'p2v.checkRemote': async (raw, ctx) => {
      const a = raw as { ssh: string[]; hashFile: string };
      checkJournalSshArgv(a.ssh);
      const want = await streamHash(a.hashFile);
      const r = await execa(a.ssh[0] as string, a.ssh.slice(1), { reject: false, cancelSignal: ctx.signal, encoding: 'utf8' });
      if (r.exitCode === 255) throw new HostError({ ...sshFailure(String(r.stderr), sshTargetOf(a.ssh)), command: a.ssh, stderr: String(r.stderr), exitCode: 255 });
      if (r.exitCode !== 0) throw new HostError({ sentence: 'sha256sum on the source failed.', fix: 'Run the copy again, or skip the remote checksum.', command: a.ssh, stderr: String(r.stderr), code: 'ssh' });
      const got = String(r.stdout).split(/\s+/)[0];
      if (got !== want) throw new UserError(`The source's sha256 (${got?.slice(0, 12)}…) differs from the stream's (${want.slice(0, 12)}…): the disk changed during the copy.`, 'Boot the source from a live system so nothing writes to the disk, then copy again.');
      ctx.log(`sha256 on the source matches: ${want}`);
    },
    /** ln, unless the final name already is the temp copy (a kill after ln, before the journal knew). */
    'p2v.place': async (raw, ctx) => {
      const a = raw as { final: string; tmp: string };
      const same = await exec.run(['test', a.final, '-ef', a.tmp], { okExitCodes: [1], signal: ctx.signal });
      // ln refuses an existing name: an image that appeared meanwhile is never overwritten.
      if (same.exitCode !== 0) await exec.run(['ln', '--', a.tmp, a.final], { signal: ctx.signal });
    },
    /** Takes the placed image away only when it is provably this job's (same inode as its temp twin). */
    'p2v.unplace': async (raw) => {
      const a = raw as { final: string; tmp: string };
      const same = await exec.run(['test', a.final, '-ef', a.tmp], { okExitCodes: [1] });
      if (same.exitCode === 0) {
        await exec.run(['rm', '-f', '--', a.final]);
        return;
      }
      // The temp name goes only in the last step; without it nothing proves whose image this is.
      const [final, tmp] = [(await existingPaths(exec, [a.final])).length > 0, (await existingPaths(exec, [a.tmp])).length > 0];
      if (final && !tmp) {
        throw new UserError(`${a.final} was left in place: its temporary twin is already gone, so virtdeck cannot prove this job wrote it.`, `If it is the P2V copy, remove it by hand (rm -- ${a.final}).`);
      }
    },
    /** Undefines the guest only while it carries this job's UUID: a same-named guest of someone else stays. */
    'p2v.undefine': async (raw) => {
      const a = raw as P2vUndefineArgs;
      await rm(a.xmlFile, { force: true });
      const r = await host.virshExec.run(virshArgv(host, ['domuuid', '--domain', a.name]), { okExitCodes: [1] });
      if (r.exitCode === 0 && r.stdout.trim() === a.uuid) await undefine(host, a.name);
    },
  };
}

export interface RunP2vOptions {
  stateDir: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
}

export function runP2v(host: HostContext, plan: Plan, opts: RunP2vOptions): Promise<RunResult> {
  return runPlan(plan, { host, stateDir: opts.stateDir, signal: opts.signal, onEvent: opts.onEvent, actions: p2vActions(host) });
}
