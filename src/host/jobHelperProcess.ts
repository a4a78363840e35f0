import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How much of a helper's stderr is kept for the error sentence. */
const STDERR_KEEP = 16_384;

export interface JobHelperProcess {
  readonly child: ChildProcessByStdio<null, null, Readable>;
  /** What it said on stderr so far (its first 16 KiB), for the error that names it. */
  stderr(): string;
  /** Its exit code once it is gone (null after a signal, 127 when it could not start). */
  readonly exited: Promise<number | null>;
}

/**
 * A process that serves one job while it runs (the ssh master of an import): started under `setpriv
 * --pdeathsig KILL`, so the kernel ends it when virtdeck dies however it dies (kill -9 included)
 * and it never outlives the job holding a login or an image open. Output other than stderr is
 * dropped: these talk over sockets.
 */
export function startJobHelper(argv: string[]): JobHelperProcess {
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (said.length < STDERR_KEEP) said += d;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      said += String(e);
      resolve(127);
    });
    child.once('close', (code) => resolve(code));
  });
  return { child, stderr: () => said, exited };
}
