import { execa } from 'execa';

/**
 * Drives a program in a real terminal: a detached tmux session on its own server (`tmux -L`),
 * keys in with send-keys, the screen out with capture-pane. The pane stays after the program ends,
 * so a test can still read the screen and check the terminal modes it left.
 */

export interface TmuxStart {
  /** Name of the tmux server socket (`tmux -L NAME`); one per test file, killed in afterAll. */
  socket: string;
  session: string;
  width: number;
  height: number;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
}

function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const EXIT_MARK = '[program exited ';

export class TmuxSession {
  private constructor(
    readonly socket: string,
    readonly session: string,
  ) {}

  private static tmux(socket: string, args: string[]) {
    // -f /dev/null: the machine's ~/.tmux.conf must not change what the test sees.
    return execa('tmux', ['-L', socket, '-f', '/dev/null', ...args]);
  }

  static async start(opts: TmuxStart): Promise<TmuxSession> {
    // `env` sets TERM for the program itself; tmux would otherwise give it tmux-256color.
    const env = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
    // A shell around the program prints its exit status and keeps the pane open, so the test can
    // read the screen and the terminal modes exactly as the program left them. (tmux's own
    // remain-on-exit writes a "Pane is dead" line that disturbs both.)
    const wrapper = `"$@"; echo "${EXIT_MARK}$?]"; exec sleep 3600`;
    const command = ['sh', '-c', wrapper, 'sh', 'env', ...env, ...opts.argv].map(quote).join(' ');
    await TmuxSession.tmux(opts.socket, [
      'new-session', '-d', '-s', opts.session, '-x', String(opts.width), '-y', String(opts.height),
      ...(opts.cwd ? ['-c', opts.cwd] : []),
      command,
    ]);
    return new TmuxSession(opts.socket, opts.session);
  }

  /** The visible screen as plain text, one line per row. */
  async capture(): Promise<string> {
    const r = await TmuxSession.tmux(this.socket, ['capture-pane', '-p', '-t', this.session]);
    return r.stdout;
  }

  /** tmux key names: 'q', 'Enter', 'Escape', 'Down', 'C-c'. One key per call to the program. */
  async keys(...keys: string[]): Promise<void> {
    for (const k of keys) await TmuxSession.tmux(this.socket, ['send-keys', '-t', this.session, k]);
  }

  /** Several keys in one send-keys, so they reach the program in one read (a fast typist over SSH). */
  async keysAtOnce(...keys: string[]): Promise<void> {
    await TmuxSession.tmux(this.socket, ['send-keys', '-t', this.session, ...keys]);
  }

  /** Types text literally (no key-name lookup). */
  async type(text: string): Promise<void> {
    await TmuxSession.tmux(this.socket, ['send-keys', '-t', this.session, '-l', text]);
  }

  /** A tmux format for the pane, e.g. '#{alternate_on}', '#{cursor_flag}'. */
  async format(fmt: string): Promise<string> {
    const r = await TmuxSession.tmux(this.socket, ['display-message', '-p', '-t', this.session, fmt]);
    return r.stdout.trim();
  }

  /** The program's exit status once it has ended, else null. */
  async exitStatus(): Promise<number | null> {
    const m = (await this.capture()).match(/\[program exited (\d+)\]/);
    return m ? Number(m[1]) : null;
  }

  /** Polls the screen until the test passes; on timeout the error shows the last screen. */
  async waitFor(test: RegExp | ((screen: string) => boolean), timeoutMs = 30_000, what = String(test)): Promise<string> {
    const check = typeof test === 'function' ? test : (s: string) => test.test(s);
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    for (;;) {
      screen = await this.capture();
      if (check(screen)) return screen;
      if (Date.now() > deadline) break;
      if ((await this.exitStatus()) !== null) {
        throw new Error(`The program exited while waiting for ${what}. Screen:\n${await this.capture()}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}. Screen:\n${screen}`);
  }

  async waitForExit(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.exitStatus();
      if (status !== null) return status;
      if (Date.now() > deadline) throw new Error(`The program did not exit within ${timeoutMs} ms. Screen:\n${await this.capture()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Ends the whole tmux server of this socket; quiet when it is already gone. */
export async function killTmuxServer(socket: string): Promise<void> {
  await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
}

const STATES = 'running|shut off|paused|idle|in shutdown|crashed|pmsuspended|unknown';

/** The guest-table row of this guest (name followed by its state), or '' when not on screen. */
export function rowOf(screen: string, name: string): string {
  const re = new RegExp(`(^|[^\\w-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+(${STATES})\\b`);
  return screen.split('\n').find((l) => re.test(l)) ?? '';
}

/** The state word in that row, or null. */
export function stateOf(screen: string, name: string): string | null {
  return rowOf(screen, name).match(new RegExp(`\\s(${STATES})\\b`))?.[1] ?? null;
}
