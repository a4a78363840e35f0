/**
 * The terminal around the Ink app: the alternate screen and cursor (Ink 6 has no option for
 * them), restoring on every way out, and handing the terminal to an interactive child.
 */
import { asciiFrame } from '../model/glyphs.js';
import { UserError } from '../model/userError.js';

export const ENTER_ALT_SCREEN = '\u001B[?1049h';
export const LEAVE_ALT_SCREEN = '\u001B[?1049l';
export const HIDE_CURSOR = '\u001B[?25l';
export const SHOW_CURSOR = '\u001B[?25h';
const CLEAR_SCREEN = '\u001B[2J\u001B[H';

export interface TerminalIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
}

/** Ink's useInput needs raw mode; without a TTY it would throw a stack trace at the admin. */
export function assertInteractive(stdin: NodeJS.ReadStream): void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') {
    throw new UserError(
      'virtdeck needs an interactive terminal, but its input is not a TTY.',
      'Run it in a terminal (over SSH use `ssh -t`); for scripts use the headless commands, see `virtdeck --help`.',
    );
  }
}

/** Enter and leave the full screen; leave is idempotent so every exit path may call it. */
export function fullScreen(stdout: NodeJS.WriteStream) {
  let active = false;
  return {
    enter() {
      if (active) return;
      active = true;
      stdout.write(ENTER_ALT_SCREEN + HIDE_CURSOR + CLEAR_SCREEN);
    },
    leave() {
      if (!active) return;
      active = false;
      stdout.write(SHOW_CURSOR + LEAVE_ALT_SCREEN);
    },
    get active() {
      return active;
    },
  };
}

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** How long a hang-up waits for the job on screen to reach a worker or finish its undo. */
export const HANGUP_SETTLE_MS = 30_000;

export interface RestoreOptions {
  stderr?: NodeJS.WriteStream;
  /**
   * On SIGHUP or SIGTERM, before the terminal is restored and the process exits: settle the job
   * on screen (store/hangup.ts). A second signal, or HANGUP_SETTLE_MS, exits at once and leaves
   * the journal to `virtdeck recover`.
   */
  settle?: () => Promise<unknown>;
  exit?: (code: number) => void;
}

/**
 * Restores the terminal on signals and on uncaught errors, which would otherwise leave the
 * admin's shell on the alternate screen without a cursor. Returns the uninstaller.
 */
export function installRestoreHandlers(restore: () => void, opts: RestoreOptions = {}): () => void {
  const stderr = opts.stderr ?? process.stderr;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let settling = false;
  const leave = (code: number) => {
    restore();
    exit(code);
  };
  const ignore = () => {};
  const onSignal = (signal: keyof typeof SIGNAL_EXIT) => {
    const code = SIGNAL_EXIT[signal];
    if (settling || !opts.settle || signal === 'SIGINT') return leave(code);
    settling = true;
    // The terminal may be gone: a failed write to it must not end the process before the job has settled.
    process.stdout.on('error', ignore);
    stderr.on('error', ignore);
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, HANGUP_SETTLE_MS);
    });
    void Promise.race([opts.settle().catch(ignore), limit]).then(() => {
      clearTimeout(timer);
      leave(code);
    });
  };
  const onError = (error: unknown) => {
    // Ink drawing on a terminal that has hung up: the job settling matters more than the frame.
    if (settling && (error as NodeJS.ErrnoException | null)?.code === 'EIO') return;
    restore();
    const message = error instanceof UserError ? `${error.sentence} ${error.fix}` : error instanceof Error ? error.message : String(error);
    stderr.write(`virtdeck stopped: ${message}\n`);
    exit(1);
  };
  const handlers = (Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]).map((sig) => {
    const h = () => onSignal(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
    process.stdout.off('error', ignore);
    stderr.off('error', ignore);
  };
}

/**
 * The one hand-off used by `virsh console` and $EDITOR: cooked mode and the normal screen for
 * the child, then the full screen again. The caller has unmounted Ink (so it stops reading
 * stdin) and renders it again afterwards, which redraws everything.
 */
export async function handOffTerminal<T>(io: TerminalIo, run: () => Promise<T>): Promise<T> {
  if (io.stdin.isTTY) io.stdin.setRawMode(false);
  // A paused stream stops reading fd 0; otherwise Node keeps taking the child's keys (even ^]).
  io.stdin.pause();
  io.stdout.write(SHOW_CURSOR + LEAVE_ALT_SCREEN);
  try {
    return await run();
  } finally {
    io.stdout.write(ENTER_ALT_SCREEN + HIDE_CURSOR + CLEAR_SCREEN);
  }
}

/**
 * The stream Ink writes frames to. In ASCII mode every string was made ASCII before layout (Text);
 * what is left is Ink's own truncation mark, which asciiFrame swaps for a one-column ASCII mark.
 * Everything else (columns, rows, resize events) is the terminal's own.
 */
export function frameStream(stdout: NodeJS.WriteStream, ascii: boolean): NodeJS.WriteStream {
  if (!ascii) return stdout;
  return new Proxy(stdout, {
    get(target, prop) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) => (target.write as (...a: unknown[]) => boolean)(typeof chunk === 'string' ? asciiFrame(chunk) : chunk, ...rest);
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
