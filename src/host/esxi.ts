/**
 * Talking to an ESXi host over ssh: the VM listing and one VM's directory (one ssh command each),
 * and a data file streamed over one ssh connection into a sparse local file or a new qcow2 while it
 * is hashed and counted here and, from the same read, there. Argv arrays only on this side; on the host each
 * script gets its paths as positional parameters, never inside its text.
 */
import { spawn } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { type EsxiListing, LISTING_SCRIPT, parseEsxiListing } from '../model/esxiListing.js';
import { parseRemoteDigest, STREAM_SCRIPT, withoutDigest } from '../model/esxiStream.js';
import { LIST_THEN_VMDIR_SCRIPT, listedEnd, parseVmDirDump, VMDIR_SCRIPT, type VmDirDump } from '../model/esxiVmDir.js';
import { checkJournalSshArgv } from '../model/p2vPlan.js';
import { shellQuote } from '../model/shellQuote.js';
import { shown } from '../model/shown.js';
import { sshFailure, sshTargetOf } from '../model/sshFailure.js';
import { UserError } from '../model/userError.js';
import { HostError } from './errors.js';
import { streamIntoImage } from './imageStream.js';
import { openSshMaster, type SshMaster, SshMasterError } from './sshMaster.js';

/** `ssh … -- DEST 'sh -c SCRIPT sh ARGS…'`: each word quoted once for the remote shell. */
export function remoteArgv(ssh: string[], words: string[]): string[] {
  return [...ssh, words.map(shellQuote).join(' ')];
}

/** ssh's reason in its own words; the fix as ESXi wants it where ESXi differs from a Linux host. */
function loginError(ssh: string[], argv: string[], stderr: string): HostError {
  const f = sshFailure(stderr, sshTargetOf(argv));
  const fix = ESXI_LOGIN_FIX[f.code] ?? f.fix;
  // The failing command is the listing script: the ssh part is what helps.
  return new HostError({ ...f, fix, command: [...ssh, '…'], stderr, exitCode: 255, ranOn: ssh.at(-1) });
}

const ESXI_LOGIN_FIX: Record<string, string> = {
  'key-refused':
    'Put your public key into /etc/ssh/keys-root/authorized_keys on the ESXi host (ESXi reads root\'s keys there, not from ~/.ssh), or give the key it accepts with --identity.',
  'connection-refused': 'Enable SSH on the ESXi host (Host > Actions > Services > Enable Secure Shell (SSH)), or give the port its sshd listens on with --port.',
};

/** One login for every command of an import (host/sshMaster.ts); a refused login in ssh's words, with ESXi's fix. */
export async function openEsxiMaster(ssh: string[], signal?: AbortSignal): Promise<SshMaster> {
  try {
    return await openSshMaster(ssh, signal);
  } catch (e) {
    if (!(e instanceof SshMasterError)) throw e;
    if (signal?.aborted) throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do; start it again when ready.', command: ssh, stderr: '', code: 'cancelled' });
    throw loginError(ssh, ssh, e.stderr);
  }
}

async function runRemote(ssh: string[], words: string[], what: string, signal?: AbortSignal, maxBuffer = 16 << 20): Promise<Buffer> {
  const argv = remoteArgv(ssh, words);
  const r = await execa(argv[0] as string, argv.slice(1), { reject: false, cancelSignal: signal, timeout: 120_000, encoding: 'buffer', maxBuffer, stdin: 'ignore', stripFinalNewline: false });
  const stderr = Buffer.from(r.stderr ?? '').toString('utf8');
  if (r.isCanceled) throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do; start it again when ready.', command: argv, stderr: '', code: 'cancelled' });
  if (r.exitCode === 255) throw loginError(ssh, argv, stderr);
  if (r.exitCode !== 0) {
    const first = stderr.split('\n').find((l) => l.trim()) ?? `exit ${r.exitCode}`;
    throw new HostError({ sentence: `${what} failed on ${ssh.at(-1)}: ${shown(first)}`, fix: 'Check that the ssh user is root and the ESXi shell works (ssh HOST true).', command: argv, stderr, exitCode: r.exitCode ?? -1, code: 'ssh', ranOn: ssh.at(-1) });
  }
  return Buffer.from(r.stdout ?? '');
}

/** Every .vmx under the datastore root, with power states, in one ssh command. */
export async function listEsxiVms(ssh: string[], root: string, signal?: AbortSignal): Promise<EsxiListing> {
  const out = await runRemote(ssh, ['sh', '-c', LISTING_SCRIPT, 'sh', root], 'Listing the VMs', signal);
  return parseEsxiListing(out.toString('utf8'), root);
}

/** The VM's directory: entries, and the .vmx and descriptors whole. */
export async function readEsxiVmDir(ssh: string[], dir: string, signal?: AbortSignal): Promise<VmDirDump> {
  const out = await runRemote(ssh, ['sh', '-c', VMDIR_SCRIPT, 'sh', dir], `Reading ${dir}`, signal, 64 << 20);
  return parseVmDirDump(out, dir);
}

/**
 * The listing, then the directory of the VM `pick` names from it (its .vmx's directory), in one ssh
 * session (model/esxiVmDir.ts LIST_THEN_VMDIR_SCRIPT). `pick` throwing (no such VM) ends the
 * session without a directory read and is what this throws.
 */
export async function listAndReadEsxiVm(ssh: string[], root: string, pick: (listing: EsxiListing) => string, signal?: AbortSignal): Promise<{ listing: EsxiListing; dump: VmDirDump }> {
  const argv = remoteArgv(ssh, ['sh', '-c', LIST_THEN_VMDIR_SCRIPT, 'sh', root]);
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  // The host may be gone before it reads the line: its end of stdin is then closed, nothing to tell.
  child.stdin.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let bytes = 0;
  let stderr = '';
  // What the listing said and what was picked from it, once the listing is whole.
  const got: { listing?: EsxiListing; dir?: string; refused?: unknown } = {};
  let tooBig = false;
  const kill = () => child.kill('SIGTERM');
  const timer = setTimeout(kill, 120_000);
  signal?.addEventListener('abort', kill, { once: true });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 65536) stderr += d;
  });
  child.stdout.on('data', (b: Buffer) => {
    chunks.push(b);
    bytes += b.length;
    if (bytes > 80 << 20) {
      tooBig = true;
      kill();
    }
    if (got.dir !== undefined || got.refused !== undefined) return;
    const all = Buffer.concat(chunks, bytes);
    const end = listedEnd(all);
    if (end < 0) return;
    try {
      got.listing = parseEsxiListing(all.subarray(0, end).toString('utf8'), root);
      got.dir = pick(got.listing);
      child.stdin.end(`${got.dir}\n`);
    } catch (e) {
      got.refused = e ?? new Error('refused');
      child.stdin.end('\n');
    }
  });
  const exitCode = await new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      stderr += String(e);
      resolve(127);
    });
    child.once('close', (code) => resolve(code));
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', kill);
  if (signal?.aborted) throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do; start it again when ready.', command: argv, stderr: '', code: 'cancelled' });
  if (exitCode === 255) throw loginError(ssh, argv, stderr);
  if (got.refused !== undefined) throw got.refused;
  const what = got.dir === undefined ? 'Listing the VMs' : `Reading ${got.dir}`;
  if (tooBig) throw new HostError({ sentence: `${what} on ${ssh.at(-1)} answered more than 80 MiB.`, fix: 'Check the datastore root (--datastores) and the VM directory on the host.', command: argv, stderr, code: 'ssh', ranOn: ssh.at(-1) });
  if (exitCode !== 0) {
    const first = stderr.split('\n').find((l) => l.trim()) ?? `exit ${exitCode}`;
    throw new HostError({ sentence: `${what} failed on ${ssh.at(-1)}: ${shown(first)}`, fix: 'Check that the ssh user is root and the ESXi shell works (ssh HOST true).', command: argv, stderr, exitCode: exitCode ?? -1, code: 'ssh', ranOn: ssh.at(-1) });
  }
  const out = Buffer.concat(chunks, bytes);
  if (!got.listing || got.dir === undefined) {
    // No marker: the answer was cut before the listing ended, which the listing's parser says in its words.
    parseEsxiListing(out.toString('utf8'), root);
    throw new UserError(`The host's answer to the VM listing was cut short.`, 'Run the import again; if it repeats, check that the ESXi shell (sh) works for the ssh user.');
  }
  return { listing: got.listing, dump: parseVmDirDump(out.subarray(listedEnd(out)), got.dir) };
}

export interface StreamResult {
  bytes: number;
  sha256: string;
  /** The sha256 the host computed from the same read; null when the host has neither openssl nor sha256sum. */
  remoteSha256: string | null;
}

export interface StreamOptions {
  signal: AbortSignal;
  /** Bytes taken so far, about every quarter second and once at the end (host/imageStream.ts). */
  onBytes(done: number): void;
  /** What `out` becomes (default: the file itself, made 0600, zero runs left as holes). */
  image?: { format: 'qcow2'; virtualSize: number };
}

/**
 * `ssh HOST sh -c STREAM_SCRIPT FILE` into `out` (created 0600; zero clusters left as holes, or
 * written as a qcow2 as it arrives), hashed on the way (host/imageStream.ts), while the host hashes
 * the same read (model/esxiStream.ts) and sends its digest after the data. Throws a HostError whose
 * `code` is 'link' when the connection dropped after the stream began (the caller starts the file
 * again), 'no-digest' when the host's digest did not come.
 */
export async function streamRemoteFile(ssh: string[], remote: string, out: string, size: number, o: StreamOptions): Promise<StreamResult> {
  const argv = remoteArgv(ssh, ['sh', '-c', STREAM_SCRIPT, 'sh', remote]);
  checkJournalSshArgv(argv);
  // A host that sends more than it listed is cut off there, before it fills this machine's disk.
  const r = await streamIntoImage(argv, out, { signal: o.signal, onBytes: o.onBytes, image: o.image ?? { format: 'raw' }, limit: size });
  const pos = r.bytes;
  const stderr = withoutDigest(r.stderr);
  const command = argv;
  if (o.signal.aborted) throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do; start it again when ready.', command, stderr: '', code: 'cancelled' });
  if (r.failed?.why === 'write') {
    throw new HostError({ sentence: `Writing ${out} failed: ${r.failed.error}`, fix: 'Check free space and permissions in the destination directory.', command, stderr: '', code: 'write' });
  }
  if (r.failed?.why === 'read') {
    throw new HostError({ sentence: `Reading the stream of ${shown(remote)} from ${ssh.at(-1)} failed: ${r.failed.error}`, fix: 'Check the network, then import again.', command, stderr, code: 'ssh', ranOn: ssh.at(-1) });
  }
  if (r.failed?.why === 'too-long') {
    throw new HostError({ sentence: `${shown(remote)} gave more than the ${size} bytes the host listed it at: it changed during the copy.`, fix: 'Power the VM off in ESXi (and delete no snapshot meanwhile), then import again.', command, stderr, code: 'short-read', ranOn: ssh.at(-1) });
  }
  if (r.exitCode === 255) {
    // Logged in once already (the listing did): a 255 now is the link, worth one more go.
    throw pos > 0 ? new HostError({ sentence: `The ssh link to ${ssh.at(-1)} dropped after ${pos} of ${size} bytes of ${shown(remote)}.`, fix: 'Check the network; the file is copied again from its start.', command, stderr, exitCode: 255, code: 'link', ranOn: ssh.at(-1) }) : loginError(ssh, command, stderr);
  }
  if (r.exitCode !== 0) {
    throw new HostError({ sentence: `Reading ${shown(remote)} on ${ssh.at(-1)} failed (exit ${r.exitCode}).`, fix: 'Check that the file is there and the VM is powered off; the partial copy is removed.', command, stderr, exitCode: r.exitCode ?? -1, code: 'ssh', ranOn: ssh.at(-1) });
  }
  if (pos !== size) {
    throw new HostError({ sentence: `${shown(remote)} gave ${pos} bytes, but the host listed it at ${size}: it changed during the copy.`, fix: 'Power the VM off in ESXi (and delete no snapshot meanwhile), then import again.', command, stderr, code: 'short-read', ranOn: ssh.at(-1) });
  }
  const digest = parseRemoteDigest(r.stderrTail);
  if (digest.kind === 'missing') {
    throw new HostError({ sentence: `${ssh.at(-1)} sent ${shown(remote)} but not its sha256, so the copy cannot be checked.`, fix: "Check that the host's sh runs openssl or sha256sum (ssh HOST openssl version), then import again.", command, stderr, code: 'no-digest', ranOn: ssh.at(-1) });
  }
  if (r.sha256 === null) throw new Error(`the stream of ${remote} ended whole but without its sha256`);
  return { bytes: pos, sha256: r.sha256, remoteSha256: digest.kind === 'sha256' ? digest.hex : null };
}

/** Puts a verified copy in place under its name: the temp name was never a result. */
export async function placeCopy(part: string, out: string): Promise<void> {
  await rename(part, out);
}

export async function removeFiles(files: string[]): Promise<void> {
  for (const f of files) await rm(f, { force: true });
}
