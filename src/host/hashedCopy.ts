/**
 * One read of a local file feeds both its sha256 and its copy: each block is read once into a ring
 * of buffers shared by two worker threads; one writes it to the copy, the other hashes it, and a
 * buffer is read into again only when both are done with it. So the checksum covers exactly the
 * bytes the copy holds, a backup on a slow NAS is read once, the copy is never read back, and on an
 * idle host the copy costs about as long as the hash alone (the two run on both cores; the
 * console's thread stays free; on a busy one they share the CPU like anything else). Blocks are 64 KiB
 * and the ring 2 MiB, so the bytes stay in the CPU's caches between the read, the write and the
 * hash: 1 MiB reads and writes cost four times the kernel time here (1.6 s of system time per GiB
 * against 0.4 s). All-zero blocks are left as holes, as `cp` would.
 *
 * Local files only (Executor.local); a remote host's files are copied by a shell script instead
 * (jobs/verifiedCopy.ts).
 */
import { constants } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { HostError } from './errors.js';

export type HashedCopy =
  | { ok: true; sha256: string; bytes: number; holes: number }
  /** `read`: the source could not be read to the end; `write`: the copy could not be written. */
  | { ok: false; failed: 'read' | 'write'; error: string; bytes: number };

type CopierAnswer = HashedCopy | { cancelled: true } | { bytes: number; progress: true };
type HasherAnswer = { sha256: string; blocks: number } | { cancelled: true };

const BLOCK = 64 << 10;
const SLOTS = 32;
/** Int32 cells of the shared state: stop (a cancel), blocks read, blocks hashed, reading over. */
const STOP = 0;
const READ = 1;
const HASHED = 2;
const OVER = 3;

/** Plain CommonJS run by both workers (eval), so it works the same from tsx, vitest and the bundle. */
const LOOP = `
const { parentPort, workerData: w } = require('node:worker_threads');
const fs = require('node:fs');
const { createHash } = require('node:crypto');
const BLOCK = ${BLOCK}, SLOTS = ${SLOTS}, STOP = ${STOP}, READ = ${READ}, HASHED = ${HASHED}, OVER = ${OVER}, REPORT = 16 << 20;
const ring = Buffer.from(w.ring), st = new Int32Array(w.state), lens = new Int32Array(w.lens);
const slot = (i) => ring.subarray((i % SLOTS) * BLOCK, (i % SLOTS) * BLOCK + lens[i % SLOTS]);
const why = (e) => (e && e.code ? e.code + ': ' + (e.syscall || 'io') : String((e && e.message) || e));

function hashAll() {
  const hash = createHash('sha256');
  let done = 0;
  for (;;) {
    if (Atomics.load(st, STOP) !== 0) return { cancelled: true };
    const read = Atomics.load(st, READ);
    if (done < read) {
      hash.update(slot(done));
      Atomics.store(st, HASHED, ++done);
      // The reader, faster than the hash, waits for a full ring to drain by a quarter: one wake-up per 8 blocks, not per block.
      if (done % (SLOTS / 4) === 0) Atomics.notify(st, HASHED);
    } else if (Atomics.load(st, OVER) !== 0) {
      if (done === Atomics.load(st, READ)) return { sha256: hash.digest('hex'), blocks: done };
    } else Atomics.wait(st, READ, read, 100);
  }
}

function copyAll() {
  const zero = Buffer.alloc(BLOCK);
  let input = -1, output = -1, bytes = 0, holes = 0, reported = 0, read = 0;
  const run = () => {
    try {
      input = fs.openSync(w.src, w.readFlags);
      if (!fs.fstatSync(input).isFile()) return { ok: false, failed: 'read', error: 'not a regular file', bytes };
    } catch (e) { return { ok: false, failed: 'read', error: why(e), bytes }; }
    try {
      fs.rmSync(w.dest, { force: true });
      output = fs.openSync(w.dest, w.writeFlags, 0o600);
    } catch (e) { return { ok: false, failed: 'write', error: why(e), bytes }; }
    for (;;) {
      if (Atomics.load(st, STOP) !== 0) return { cancelled: true };
      // A buffer is read into again only once the hasher is done with it.
      const hashed = Atomics.load(st, HASHED);
      if (read - hashed >= SLOTS) { Atomics.wait(st, HASHED, hashed, 100); continue; }
      const i = read % SLOTS, buf = ring.subarray(i * BLOCK, i * BLOCK + BLOCK);
      let n;
      try { n = fs.readSync(input, buf, 0, BLOCK, bytes); } catch (e) { return { ok: false, failed: 'read', error: why(e), bytes }; }
      if (n === 0) break;
      lens[i] = n;
      Atomics.store(st, READ, ++read);
      Atomics.notify(st, READ);
      if (buf.compare(zero, 0, n, 0, n) === 0) holes += n;
      else {
        try {
          for (let off = 0; off < n; ) off += fs.writeSync(output, buf, off, n - off, bytes + off);
        } catch (e) { return { ok: false, failed: 'write', error: why(e), bytes }; }
      }
      bytes += n;
      if (bytes - reported >= REPORT) { reported = bytes; parentPort.postMessage({ progress: true, bytes }); }
    }
    try { fs.ftruncateSync(output, bytes); } catch (e) { return { ok: false, failed: 'write', error: why(e), bytes }; }
    return { ok: true, sha256: '', bytes, holes, blocks: read };
  };
  const answer = run();
  // However it ended, the hasher must not wait for blocks that will never come.
  Atomics.store(st, OVER, 1);
  Atomics.notify(st, READ);
  for (const fd of [input, output]) if (fd >= 0) try { fs.closeSync(fd); } catch {}
  return answer;
}

parentPort.postMessage(w.role === 'hash' ? hashAll() : copyAll());
`;

/**
 * Copies `src` to `dest` (a new 0600 file; a leftover of an earlier try is replaced) and returns
 * the sha256 of the bytes read, which are the bytes written. Neither end may be a symlink; the
 * source must be a regular file. A cancel removes `dest` and throws a HostError 'cancelled'.
 */
export async function copyAndHashLocal(src: string, dest: string, o: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {}): Promise<HashedCopy> {
  const cancelled = () =>
    new HostError({ sentence: `The copy of ${src} was cancelled.`, fix: 'Nothing to do; start it again when ready.', command: [], stderr: '', code: 'cancelled' });
  if (o.signal?.aborted) throw cancelled();
  const shared = { ring: new SharedArrayBuffer(SLOTS * BLOCK), state: new SharedArrayBuffer(4 * 4), lens: new SharedArrayBuffer(4 * SLOTS) };
  const state = new Int32Array(shared.state);
  const stop = () => {
    Atomics.store(state, STOP, 1);
    Atomics.notify(state, READ);
    Atomics.notify(state, HASHED);
  };
  const start = <T>(role: 'copy' | 'hash', onProgress?: (bytes: number) => void) =>
    new Promise<T>((resolve, reject) => {
      const worker = new Worker(LOOP, {
        eval: true,
        workerData: {
          ...shared,
          role,
          src,
          dest,
          // O_NONBLOCK: a FIFO put in the image's place must not hang the open; a regular file ignores it.
          readFlags: constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
          writeFlags: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        },
      });
      let answered = false;
      worker.on('message', (m: T | { progress: true; bytes: number }) => {
        if (typeof m === 'object' && m !== null && 'progress' in m) onProgress?.(m.bytes);
        else {
          answered = true;
          resolve(m as T);
        }
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
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    const [copied, hashed] = await Promise.all([start<CopierAnswer & { blocks?: number }>('copy', o.onBytes), start<HasherAnswer>('hash')]);
    if ('cancelled' in copied || 'cancelled' in hashed) {
      // Both threads closed their files before answering; the half copy is this call's own.
      await rm(dest, { force: true }).catch(() => undefined);
      throw cancelled();
    }
    if ('progress' in copied || !copied.ok) return copied as HashedCopy;
    // Every block read was hashed, no more and no fewer.
    if (hashed.blocks !== copied.blocks) throw new Error(`the copy read ${copied.blocks} blocks but ${hashed.blocks} were hashed`);
    return { ok: true, sha256: hashed.sha256, bytes: copied.bytes, holes: copied.holes };
  } finally {
    o.signal?.removeEventListener('abort', stop);
  }
}
