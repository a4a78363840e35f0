/**
 * A new qcow2 image written as a stream arrives: `qemu-img create`, then `qemu-nbd` serving it on
 * a unix socket in a private 0700 directory, and this side speaking the NBD protocol's client half
 * (fixed newstyle handshake, NBD_OPT_GO, WRITE/FLUSH/DISC with simple replies). A flat ESXi disk
 * imported as qcow2 is then converted while it crosses the link: no raw copy written to disk and
 * read back by `qemu-img convert` afterwards. Runs of zeros are not sent (a new qcow2 reads zeros
 * there), so the image stays as thin as `qemu-img convert` would make it. qemu-nbd dies with
 * virtdeck (`setpriv --pdeathsig KILL`) and exits by itself once this client disconnects.
 */
import { existsSync, mkdtempSync, rmSync, watch } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HostError } from './errors.js';
import { startJobHelper } from './jobHelperProcess.js';

const NBDMAGIC = Buffer.from('NBDMAGIC', 'latin1');
const IHAVEOPT = 0x49484156454f5054n;
const REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const OPT_GO = 7;
const REP_ACK = 1;
const REP_INFO = 3;
const INFO_EXPORT = 0;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const FLAG_READ_ONLY = 2;
const CMD_WRITE = 1;
const CMD_DISC = 2;
const CMD_FLUSH = 3;
/** Requests sent and not yet answered before the next waits: enough to keep qemu-nbd busy, bounded memory. */
const MAX_IN_FLIGHT = 32;

/** Where a stream's bytes go, at their offsets; end() makes them durable and closes. */
export interface ImageSink {
  write(bufs: Buffer[], offset: number, length: number): Promise<void>;
  end(size: number): Promise<void>;
  /** Stops without making anything durable (the caller removes the file). */
  abort(): Promise<void>;
}

/** Bytes read from a socket in the sizes the protocol asks for. */
class Reader {
  private chunks: Buffer[] = [];
  private have = 0;
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.have += b.length;
    this.wake();
  }

  fail(e: Error): void {
    this.failed ??= e;
    this.waiting?.reject(e);
    this.waiting = null;
  }

  read(n: number): Promise<Buffer> {
    if (this.failed && this.have < n) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiting;
    if (!w || this.have < w.n) return;
    const all = Buffer.concat(this.chunks, this.have);
    this.chunks = all.length > w.n ? [all.subarray(w.n)] : [];
    this.have -= w.n;
    this.waiting = null;
    w.resolve(all.subarray(0, w.n));
  }
}

function protocolError(path: string, what: string, stderr = ''): HostError {
  return new HostError({ sentence: `qemu-nbd serving ${path} ${what}.`, fix: 'Check the destination directory (free space, permissions) and that qemu-nbd runs (qemu-nbd --version), then import again.', command: ['qemu-nbd', path], stderr, code: 'nbd' });
}

/** The handshake up to transmission: the export's size and whether it is writable. */
async function handshake(r: Reader, sock: Socket, path: string): Promise<number> {
  const hello = await r.read(18);
  if (!hello.subarray(0, 8).equals(NBDMAGIC) || hello.readBigUInt64BE(8) !== IHAVEOPT) throw protocolError(path, 'did not greet as an NBD server');
  const serverFlags = hello.readUInt16BE(16);
  if (!(serverFlags & FLAG_FIXED_NEWSTYLE)) throw protocolError(path, 'does not speak fixed newstyle NBD');
  const go = Buffer.alloc(4 + 16 + 6);
  go.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES), 0);
  go.writeBigUInt64BE(IHAVEOPT, 4);
  go.writeUInt32BE(OPT_GO, 12);
  go.writeUInt32BE(6, 16);
  // Export name '' (qemu-nbd's default), no info requests.
  sock.write(go);
  let size = -1;
  for (;;) {
    const head = await r.read(20);
    if (head.readBigUInt64BE(0) !== REPLY_MAGIC) throw protocolError(path, 'answered the export request garbled');
    const type = head.readUInt32BE(12);
    const data = await r.read(head.readUInt32BE(16));
    if (type & 0x80000000) throw protocolError(path, `refused the export (${data.toString('utf8') || `reply ${type >>> 0}`})`);
    if (type === REP_INFO && data.length >= 12 && data.readUInt16BE(0) === INFO_EXPORT) {
      size = Number(data.readBigUInt64BE(2));
      if (data.readUInt16BE(10) & FLAG_READ_ONLY) throw protocolError(path, 'exported the image read-only');
    }
    if (type === REP_ACK) break;
  }
  if (size < 0) throw protocolError(path, 'did not say how big the image is');
  return size;
}

/** Waits until `file` appears in `dir` or `exited` settles first (then false). */
async function appears(dir: string, file: string, exited: Promise<unknown>): Promise<boolean> {
  const watcher = watch(dir);
  try {
    const ready = new Promise<true>((resolve) => {
      watcher.on('change', () => existsSync(join(dir, file)) && resolve(true));
      if (existsSync(join(dir, file))) resolve(true);
    });
    return await Promise.race([ready, exited.then(() => false)]);
  } finally {
    watcher.close();
  }
}

/** A new qcow2 (compat 1.1, as the qcow2 preset makes it) of `virtualSize` at `path`, open for writing over NBD. */
export async function openQcow2Sink(path: string, virtualSize: number, signal: AbortSignal): Promise<ImageSink> {
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', '--', path, String(virtualSize)], { cancelSignal: signal, stdin: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'virtdeck-nbd-'));
  const socketPath = join(dir, 's');
  // qemu-nbd writes its pid file after it listens; the socket's name exists a moment before that.
  const pidFile = join(dir, 'pid');
  // --image-opts keeps a ':' or ',' in the path from being read as options.
  const spec = `driver=qcow2,file.driver=file,file.filename=${path.replace(/,/g, ',,')}`;
  // cache=unsafe, as `qemu-img convert` writes its target: with writeback, qcow2 flushes the file
  // (fsync) each time a new L2 table must wait for its refcount block, many times per GiB. The image
  // is a temp file until it is checked and placed, as the convert's is.
  const helper = startJobHelper(['qemu-nbd', '--image-opts', '--cache=unsafe', '--socket', socketPath, '--pid-file', pidFile, '--', spec]);
  const { child, exited } = helper;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  signal.addEventListener('abort', kill, { once: true });
  const cleanup = async () => {
    signal.removeEventListener('abort', kill);
    kill();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  let sock: Socket;
  const r = new Reader();
  try {
    if (!(await appears(dir, 'pid', exited))) throw protocolError(path, `exited (${await exited}) before it served the image`, helper.stderr());
    sock = createConnection(socketPath);
    sock.on('data', (b: Buffer) => r.push(b));
    sock.on('error', (e) => r.fail(e));
    sock.on('close', () => r.fail(protocolError(path, 'closed the connection', helper.stderr())));
    const size = await handshake(r, sock, path);
    if (size !== virtualSize) throw protocolError(path, `serves ${size} bytes, not the ${virtualSize} it was made with`);
  } catch (e) {
    await cleanup();
    throw e;
  }
  // Replies come in any order; each names its request by the cookie.
  const pending = new Map<bigint, { resolve: () => void; reject: (e: Error) => void }>();
  let failure: Error | null = null;
  let cookie = 0n;
  let done = false;
  const replies = (async () => {
    try {
      for (;;) {
        const head = await r.read(16);
        if (head.readUInt32BE(0) !== SIMPLE_REPLY_MAGIC) throw protocolError(path, 'answered a write garbled', helper.stderr());
        const waiter = pending.get(head.readBigUInt64BE(8));
        pending.delete(head.readBigUInt64BE(8));
        const error = head.readUInt32BE(4);
        if (error !== 0) throw protocolError(path, `failed a write (NBD error ${error}${error === 28 ? ': no space left' : ''})`, helper.stderr());
        waiter?.resolve();
        if (pending.size === 0 && done) return;
      }
    } catch (e) {
      failure ??= e as Error;
      for (const w of pending.values()) w.reject(failure);
      pending.clear();
    }
  })();
  const send = (type: number, offset: number, bufs: Buffer[], length: number): Promise<void> => {
    if (failure) return Promise.reject(failure);
    const head = Buffer.alloc(28);
    head.writeUInt32BE(REQUEST_MAGIC, 0);
    head.writeUInt16BE(type, 6);
    const c = cookie++;
    head.writeBigUInt64BE(c, 8);
    head.writeBigUInt64BE(BigInt(offset), 16);
    head.writeUInt32BE(length, 24);
    const answered = new Promise<void>((resolve, reject) => pending.set(c, { resolve, reject }));
    answered.catch(() => undefined);
    sock.cork();
    sock.write(head);
    for (const b of bufs) sock.write(b);
    sock.uncork();
    return answered;
  };
  const inFlight: Promise<void>[] = [];
  const drained = () => (sock.writableNeedDrain ? new Promise<void>((resolve) => sock.once('drain', resolve)) : Promise.resolve());
  return {
    async write(bufs, offset, length) {
      inFlight.push(send(CMD_WRITE, offset, bufs, length));
      // Backpressure: the socket's buffer, and a bound on unanswered requests.
      if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
      await drained();
      if (failure) throw failure;
    },
    async end() {
      try {
        await Promise.all(inFlight);
        await send(CMD_FLUSH, 0, [], 0);
        done = true;
        const disc = Buffer.alloc(28);
        disc.writeUInt32BE(REQUEST_MAGIC, 0);
        disc.writeUInt16BE(CMD_DISC, 6);
        sock.end(disc);
        const code = await exited;
        if (code !== 0) throw protocolError(path, `exited ${code} after the copy`, helper.stderr());
      } finally {
        sock.destroy();
        await cleanup();
        await replies.catch(() => undefined);
      }
    },
    async abort() {
      sock.destroy();
      await cleanup();
    },
  };
}
