/**
 * A command's stdout (the ssh stream of an ESXi data file) into a new raw or qcow2 image, hashed,
 * with no byte passing through the console's thread. The command writes into a FIFO; one worker
 * thread reads it a cluster (64 KiB) at a time into a ring of shared buffers and writes each
 * cluster that holds data to the image at once, while a second one hashes the same buffers, as
 * host/hashedCopy.ts does for a local file. A buffer is read into again only when both are done
 * with it, so the sha256 covers exactly the bytes the image holds.
 *
 * Why not the child's stdout stream on the main thread: node read the pipe 64 KiB at a time into
 * a new Buffer each, a promise and a stream event per read, the hash on the same thread, and runs
 * gathered to 1 MiB before each write, by which time the first of them had left the CPU's caches
 * (copying them into the page cache cost about as much as the hash). Reading into a cluster and
 * writing it straight away keeps the bytes in cache between the read, the hash and the write, and
 * no read allocates.
 *
 * The qcow2 is laid out front to back as the data arrives (model/qcow2Layout.ts): an L2 table's
 * cluster comes before the first data cluster of the 512 MiB it covers and is written once the
 * stream has passed them; the refcounts, the L1 table and the header are written here at the end
 * (host/qcow2Writer.ts), the header last.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, constants, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { CLUSTER, L2_ENTRIES } from '../model/qcow2Layout.js';
import { finishQcow2, type Qcow2Start, startQcow2 } from './qcow2Writer.js';

export type StreamImage = { format: 'raw' } | { format: 'qcow2'; virtualSize: number };

export interface ImageStreamOptions {
  signal: AbortSignal;
  /** Bytes taken so far, about every quarter second. */
  onBytes(done: number): void;
  image: StreamImage;
  /** More bytes than this and the stream is cut ('too-long'): a host cannot fill this machine's disk. */
  limit: number;
}

export type ImageStreamResult = {
  bytes: number;
  /** The sha256 of every byte the command wrote; null when the stream failed before the end. */
  sha256: string | null;
  exitCode: number | null;
  stderr: string;
  /** The last 4 KiB of stderr: where a digest line after the data is, whatever came before it. */
  stderrTail: string;
  /** Why the image is not whole: the stream could not be read or the image written, or the stream outran `limit`. */
  failed?: { why: 'read' | 'write' | 'too-long'; error: string };
};

const SLOTS = 32;
/** Int32 cells of the shared state: stop (a cancel), clusters read, clusters hashed, reading over. */
const STOP = 0;
const READ = 1;
const HASHED = 2;
const OVER = 3;

/** Plain CommonJS run by both workers (eval), so it works the same from tsx, vitest and the bundle. */
const LOOP = `
const { parentPort, workerData: w } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const C = ${CLUSTER}, L2E = ${L2_ENTRIES}, SLOTS = ${SLOTS}, STOP = ${STOP}, READ = ${READ}, HASHED = ${HASHED}, OVER = ${OVER};
const COPIED = 1n << 63n;
const ring = Buffer.from(w.ring), st = new Int32Array(w.state), lens = new Int32Array(w.lens), taken = new BigInt64Array(w.taken);
const why = (e) => (e && e.code ? e.code + ': ' + (e.syscall || 'io') : String((e && e.message) || e));

function hashAll() {
  const hash = createHash('sha256');
  let done = 0;
  for (;;) {
    if (Atomics.load(st, STOP) !== 0) return { cancelled: true };
    const read = Atomics.load(st, READ);
    if (done < read) {
      const i = done % SLOTS;
      hash.update(ring.subarray(i * C, i * C + lens[i]));
      Atomics.store(st, HASHED, ++done);
      // The reader, when it is ahead by a whole ring, waits for a quarter of it: one wake-up per 8 clusters.
      if (done % (SLOTS / 4) === 0) Atomics.notify(st, HASHED);
    } else if (Atomics.load(st, OVER) !== 0) {
      if (done === Atomics.load(st, READ)) return { sha256: hash.digest('hex'), clusters: done };
    } else Atomics.wait(st, READ, read, 100);
  }
}

function copyAll() {
  const zero = Buffer.alloc(C);
  const qcow2 = w.format === 'qcow2';
  const l1 = qcow2 ? Buffer.from(w.l1) : null;
  const l2 = qcow2 ? Buffer.alloc(C) : null;
  let l2Index = -1, l2At = 0, next = w.firstFree, read = 0, pos = 0, eof = false;
  const put = (buf, at) => { for (let off = 0; off < buf.length; ) off += fs.writeSync(w.out, buf, off, buf.length - off, at + off); };
  for (;;) {
    if (Atomics.load(st, STOP) !== 0) return { cancelled: true };
    const hashed = Atomics.load(st, HASHED);
    if (read - hashed >= SLOTS) { Atomics.wait(st, HASHED, hashed, 100); continue; }
    const i = read % SLOTS, slot = ring.subarray(i * C, i * C + C);
    // A whole cluster before it goes on (a pipe gives what the command wrote, 64 KiB at most).
    let n = 0;
    while (n < C) {
      let got;
      try { got = fs.readSync(w.input, slot, n, C - n, null); } catch (e) { return { failed: { why: 'read', error: why(e) }, bytes: pos }; }
      if (got === 0) { eof = true; break; }
      n += got;
    }
    if (n === 0) break;
    if (pos + n > w.limit) return { failed: { why: 'too-long', error: 'more than ' + w.limit + ' bytes' }, bytes: pos };
    lens[i] = n;
    Atomics.store(st, READ, ++read);
    if (read % 4 === 0 || eof) Atomics.notify(st, READ);
    // A cluster of zeros is not written: a hole in a raw file, unallocated in a qcow2 (which reads zeros there).
    if (slot.compare(zero, 0, n, 0, n) !== 0) {
      try {
        if (!qcow2) put(slot.subarray(0, n), pos);
        else {
          // The disk ends inside this cluster: the rest of it is zeros on disk (past lens[i], which is all the hasher reads).
          if (n < C) slot.fill(0, n);
          const cluster = pos / C, index = Math.floor(cluster / L2E);
          if (index !== l2Index) {
            if (l2Index >= 0) put(l2, l2At);
            l2.fill(0);
            l2Index = index;
            l2At = next++ * C;
            l1.writeBigUInt64BE(BigInt(l2At) | COPIED, index * 8);
          }
          const at = next++ * C;
          l2.writeBigUInt64BE(BigInt(at) | COPIED, (cluster % L2E) * 8);
          put(slot, at);
        }
      } catch (e) { return { failed: { why: 'write', error: why(e) }, bytes: pos }; }
    }
    pos += n;
    Atomics.store(taken, 0, BigInt(pos));
    if (eof) break;
  }
  try { if (l2Index >= 0) put(l2, l2At); } catch (e) { return { failed: { why: 'write', error: why(e) }, bytes: pos }; }
  return { ok: true, bytes: pos, clusters: read, next };
}

let answer;
try { answer = w.role === 'hash' ? hashAll() : copyAll(); }
finally {
  // However the reader ended, the hasher must not wait for clusters that will never come.
  if (w.role === 'copy') { Atomics.store(st, OVER, 1); Atomics.notify(st, READ); }
}
parentPort.postMessage(answer);
`;

type CopierAnswer = { ok: true; bytes: number; clusters: number; next: number } | { failed: NonNullable<ImageStreamResult['failed']>; bytes: number } | { cancelled: true };
type HasherAnswer = { sha256: string; clusters: number } | { cancelled: true };

const run = promisify(execFile);
/** F_SETPIPE_SZ (1031) to 1 MiB, the most /proc/sys/fs/pipe-max-size allows by default. */
const WIDEN_PIPE = 'open(my $f, "+<", $ARGV[0]) or exit 1; fcntl($f, 1031, 1048576) or exit 1';

/** A FIFO's two ends, its name gone with its private directory: the write end for the command, the read end (blocking) for the reader. */
async function anonymousFifo(): Promise<{ readFd: number; writeFd: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'virtdeck-stream-'));
  try {
    const path = join(dir, 'fifo');
    await run('mkfifo', ['-m', '600', '--', path]);
    // O_RDWR never blocks on a FIFO (Linux), and with it open the read end's open does not either.
    const writeFd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
    let readFd = -1;
    try {
      readFd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      // Linux gives a FIFO 64 KiB; ssh, writing into it while the reader is a cluster behind, then
      // woke for every few KiB: in a side-by-side run its CPU for 1 GiB fell from 2.5 to 1.4 s with
      // 1 MiB. node cannot fcntl, so perl (Essential in Debian) widens the pipe while our ends hold
      // it open; without perl it stays at 64 KiB and only costs more CPU.
      await run('perl', ['-e', WIDEN_PIPE, '--', path]).catch(() => undefined);
      return { readFd, writeFd };
    } catch (e) {
      closeSync(writeFd);
      if (readFd >= 0) closeSync(readFd);
      throw e;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `argv` and writes what it prints into `out` (made 0600) as `image` says, hashing it on the
 * way. The image is finished (qcow2 metadata, raw length) only when the whole stream came and the
 * command exited 0; otherwise it is left unfinished for the caller to remove. A cancel stops the
 * reading and kills the command (SIGTERM, SIGKILL 3 s later).
 */
export async function streamIntoImage(argv: string[], out: string, o: ImageStreamOptions): Promise<ImageStreamResult> {
  const qcow2: Qcow2Start | null = o.image.format === 'qcow2' ? startQcow2(o.image.virtualSize) : null;
  const limit = qcow2 ? Math.min(o.limit, qcow2.virtualSize) : o.limit;
  const fifo = await anonymousFifo();
  let outFd: number;
  let child: ChildProcess;
  try {
    outFd = openSync(out, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
    try {
      child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', fifo.writeFd, 'pipe'] });
    } catch (e) {
      closeSync(outFd);
      throw e;
    }
  } catch (e) {
    closeSync(fifo.readFd);
    throw e;
  } finally {
    // The command has its own copy of the write end: the reader sees the end when the command (and whatever it handed the end to) is done.
    closeSync(fifo.writeFd);
  }
  let stderr = '';
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 65536) stderr += d;
    stderrTail = (stderrTail + d).slice(-4096);
  });
  const kill = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 3_000).unref();
  };
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      stderr += String(e);
      resolve(127);
    });
    child.once('close', (code) => resolve(code));
  });

  const shared = {
    ring: new SharedArrayBuffer(SLOTS * CLUSTER),
    state: new SharedArrayBuffer(4 * 4),
    lens: new SharedArrayBuffer(4 * SLOTS),
    taken: new SharedArrayBuffer(8),
    l1: new SharedArrayBuffer(qcow2 ? qcow2.l1Bytes : 0),
  };
  const state = new Int32Array(shared.state);
  const taken = new BigInt64Array(shared.taken);
  const stop = () => {
    Atomics.store(state, STOP, 1);
    Atomics.notify(state, READ);
    Atomics.notify(state, HASHED);
  };
  const onAbort = () => {
    stop();
    kill();
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  const progress = setInterval(() => o.onBytes(Number(Atomics.load(taken, 0))), 250);
  const start = <T>(role: 'copy' | 'hash') =>
    new Promise<T>((resolve, reject) => {
      const worker = new Worker(LOOP, {
        eval: true,
        workerData: { ...shared, role, input: fifo.readFd, out: outFd, format: o.image.format, limit, firstFree: qcow2?.firstFree ?? 0 },
      });
      let answered = false;
      worker.on('message', (m: T) => {
        answered = true;
        resolve(m);
      });
      worker.on('error', (e) => {
        stop();
        reject(e);
      });
      worker.on('exit', (code) => {
        if (answered) return;
        stop();
        reject(new Error(`the ${role} thread ended (exit code ${code}) before it answered`));
      });
    });
  const copied = start<CopierAnswer>('copy');
  const hashed = start<HasherAnswer>('hash');
  // Stopped before the end (a full disk, too many bytes, a failed thread): the command would wait on a full pipe for ever.
  copied.then((a) => 'ok' in a || kill(), kill);
  hashed.catch(kill);
  const finish = async (c: CopierAnswer, h: HasherAnswer, exitCode: number | null): Promise<ImageStreamResult> => {
    const result = { exitCode, stderr, stderrTail };
    if ('cancelled' in c || 'cancelled' in h) return { ...result, bytes: 0, sha256: null };
    if ('failed' in c) return { ...result, bytes: c.bytes, sha256: null, failed: c.failed };
    // Every cluster read was hashed, no more and no fewer.
    if (h.clusters !== c.clusters) throw new Error(`the stream was read in ${c.clusters} clusters but ${h.clusters} were hashed`);
    if (exitCode === 0 && !o.signal.aborted) {
      try {
        if (qcow2) await finishQcow2(outFd, qcow2, { l1: Buffer.from(shared.l1), used: c.next });
        else ftruncateSync(outFd, c.bytes);
      } catch (e) {
        return { ...result, bytes: c.bytes, sha256: null, failed: { why: 'write', error: e instanceof Error ? e.message : String(e) } };
      }
    }
    o.onBytes(c.bytes);
    return { ...result, bytes: c.bytes, sha256: h.sha256 };
  };
  try {
    // Both threads are done with the descriptors before they are closed (finally), however either ended.
    const [c, h, x] = await Promise.allSettled([copied, hashed, exited]);
    if (c.status === 'rejected') throw c.reason;
    if (h.status === 'rejected') throw h.reason;
    return await finish(c.value, h.value, x.status === 'fulfilled' ? x.value : null);
  } finally {
    clearInterval(progress);
    o.signal.removeEventListener('abort', onAbort);
    closeSync(fifo.readFd);
    closeSync(outFd);
  }
}
