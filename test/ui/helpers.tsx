import { render } from 'ink-testing-library';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult } from '../../src/host/exec.js';
import { type AppStore, type AppStoreOptions, createAppStore } from '../../src/store/appStore.js';
import { App } from '../../src/ui/App.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { createFakeHost, type FakeGuest, type FakeHostOptions } from '../helpers/fakeHost.js';
import { asciiTwin } from './asciiTwin.js';

export const ESC = '\u001B';
export const KEYS = { up: '\u001B[A', down: '\u001B[B', enter: '\r', tab: '\t', backspace: '\u007F', ctrlC: '\u0003', ctrlS: '\u0013' };

export function demoGuests(): FakeGuest[] {
  return [
    { name: 'demo-web', state: 'running', vcpus: 1, memoryMiB: 512, macs: ['52:54:00:12:34:56'], vncPort: 5901, autostart: true, serial: true },
    { name: 'demo-files', state: 'shut off', vcpus: 2, memoryMiB: 1024, macs: ['00:50:56:01:02:03'] },
    { name: 'trinity-server', state: 'paused', vcpus: 1, memoryMiB: 2048, macs: ['00:50:56:0a:0b:0c'] },
  ];
}

export interface Rendered {
  store: AppStore;
  fake: ReturnType<typeof createFakeHost>;
  frame(): string;
  /** Every frame Ink wrote so far, in order. */
  frames(): string[];
  /** One key per write, then wait for a new frame (React 19 schedules renders). */
  press(key: string): Promise<void>;
  type(text: string): Promise<void>;
  waitFor(text: FrameMatch, timeoutMs?: number): Promise<string>;
  unmount(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * qemu-img convert as a scripted executor plays it: `-p` output at each of `percents` (30 ms apart),
 * then either 100% and success, or — `hold` — nothing more until the job is cancelled.
 */
export async function fakeQemuImgConvert(argv: string[], o: ExecOptions, percents: number[], hold = false): Promise<ExecResult> {
  for (const p of percents) {
    o.onStdout?.(`    (${p.toFixed(2)}/100%)\r`);
    await sleep(30);
  }
  if (hold) {
    // A cancel may come before the hold starts (keys act at once now): an aborted signal never fires again.
    if (!o.signal?.aborted) await new Promise<void>((resolve) => o.signal?.addEventListener('abort', () => resolve(), { once: true }));
    throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do.', command: argv, stderr: '', code: 'cancelled' });
  }
  o.onStdout?.('    (100.00/100%)\r');
  return { argv, exitCode: 0, stdout: '', stderr: '' };
}

export type FrameMatch = string | RegExp | ((frame: string) => boolean);

/**
 * Polls `frame()` until it matches; then waits `settleMs` more, because Ink re-binds key handlers
 * in an effect after the frame and a key sent at once could reach the previous screen's handler.
 */
export function frameWaiter(frame: () => string, settleMs = 0) {
  return async (text: FrameMatch, timeoutMs = 3000): Promise<string> => {
    const start = Date.now();
    for (;;) {
      const f = frame();
      if (typeof text === 'string' ? f.includes(text) : typeof text === 'function' ? text(f) : text.test(f)) {
        if (settleMs > 0) await sleep(settleMs);
        return f;
      }
      if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${String(text)}; last frame:\n${f}`);
      await sleep(10);
    }
  };
}

export interface InkDriverOptions {
  /** Pause after each key (a lone ESC always gets 40 ms: the parser waits to see it is not a sequence). */
  keyDelayMs?: number;
  settleMs?: number;
}

/** frame/waitFor/press/type over a component rendered with ink-testing-library, one key per write. */
export function inkDriver(r: ReturnType<typeof render>, opts: InkDriverOptions = {}) {
  const frame = () => r.lastFrame() ?? '';
  const press = async (key: string) => {
    r.stdin.write(key);
    await sleep(key === ESC ? 40 : (opts.keyDelayMs ?? 15));
  };
  const type = async (text: string) => {
    for (const ch of text) await press(ch);
  };
  return { frame, waitFor: frameWaiter(frame, opts.settleMs ?? 20), press, type };
}

export async function renderApp(
  guests: FakeGuest[] = demoGuests(),
  opts: { host?: FakeHostOptions; store?: AppStoreOptions; env?: Record<string, string>; waitFor?: string } = {},
): Promise<Rendered> {
  const fake = createFakeHost(guests, opts.host);
  const store = createAppStore(fake.host, {
    size: { columns: 80, rows: 24 },
    live: false,
    detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }),
    ...opts.store,
  });
  const theme = chooseTheme(opts.env ?? { LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
  const r = render(<App store={store} host={fake.host} theme={theme} />);
  asciiTwin(<App store={store} host={fake.host} theme={theme} />);
  const frame = () => r.lastFrame() ?? '';
  const waitFor = frameWaiter(frame);
  const press = async (key: string) => {
    const before = r.frames.length;
    r.stdin.write(key);
    const start = Date.now();
    // A lone ESC waits for the parser to decide it is not the start of a sequence.
    await sleep(key === ESC ? 30 : 5);
    while (r.frames.length === before && Date.now() - start < 200) await sleep(5);
  };
  const type = async (text: string) => {
    for (const ch of text) await press(ch);
  };
  await waitFor(opts.waitFor ?? guests[0]?.name ?? 'no guests');
  return { store, fake, frame, frames: () => r.frames, press, type, waitFor, unmount: () => r.unmount() };
}
