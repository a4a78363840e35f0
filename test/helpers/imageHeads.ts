import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import { HEAD_SCRIPT_NAME } from '../../src/host/imageInspect.js';

/**
 * Scripted executors and the untrusted-image gate: the gate reads each image's first bytes with one
 * `sh -c … virtdeck-image-head PATH N` on a non-local executor. These helpers answer it for fake
 * images, so a UI test's fake host passes the gate the way a real image file of that format would.
 */
export interface FakeImageHead {
  format: string;
  size?: number;
  /** qcow2 only: the backing file name written into the header. */
  backing?: string;
}

/** The first bytes of a fake image: a qcow2 header with its backing name, a sparse vmdk, zeros. */
export function fakeHeader(img: FakeImageHead): Uint8Array {
  const bytes = new Uint8Array(16384);
  const put = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
  };
  if (img.format === 'qcow2') {
    const v = new DataView(bytes.buffer);
    put(0, 'QFI\xfb');
    v.setUint32(4, 3);
    v.setUint32(100, 104);
    if (img.backing) {
      v.setBigUint64(8, 256n);
      v.setUint32(16, img.backing.length);
      put(256, img.backing);
    }
  } else if (img.format === 'vmdk') {
    put(0, 'KDMV');
  }
  return bytes;
}

export function hexDump(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** The gate's answer for `argv`, or null when argv is not the gate's read. Unknown paths are directories when `dirs` says so, else missing. */
export function imageHeadAnswer(argv: string[], images: Record<string, FakeImageHead>, dirs: (path: string) => boolean = () => false): ExecResult | null {
  if (argv[0] !== 'sh' || argv[3] !== HEAD_SCRIPT_NAME) return null;
  const path = argv[4] ?? '';
  const img = images[path];
  const ok = (stdout: string): ExecResult => ({ argv, exitCode: 0, stdout, stderr: '' });
  if (img) return ok(`regular file\t${img.size ?? 196616}\n${path}\n${hexDump(fakeHeader(img).subarray(0, Number(argv[5] ?? 0)))}\n`);
  const isDir = dirs(path) || Object.keys(images).some((p) => p.startsWith(`${path.replace(/\/$/, '')}/`));
  return ok(isDir ? `directory\t4096\n${path}\n` : '');
}

/** Wraps a scripted executor so the gate's reads of these images are answered; everything else goes to `inner`. */
export function withImageHeads<E extends Executor>(inner: E, images: Record<string, FakeImageHead>): E {
  const run = (argv: string[], o?: ExecOptions) => {
    const answer = imageHeadAnswer(argv, images);
    return answer ? Promise.resolve(answer) : inner.run(argv, o);
  };
  return new Proxy(inner, { get: (t, k, r) => (k === 'run' ? run : Reflect.get(t, k, r)) });
}
