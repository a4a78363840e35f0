/**
 * Runs the console full-screen until the admin quits. Ink is unmounted around each terminal
 * hand-off (console, editor) and rendered again after it; all state lives in the store, so
 * nothing is lost by the remount.
 */
import { type Instance, render } from 'ink';
import type { HostContext } from '../host/hostContext.js';
import { createAppStore } from '../store/appStore.js';
import { settleJobOnHangup } from '../store/hangup.js';
import type { PaneId } from '../store/paneIds.js';
import type { HandOff } from '../store/types.js';
import { App } from './App.js';
import { assertInteractive, frameStream, fullScreen, handOffTerminal, installRestoreHandlers } from './terminal.js';
import { chooseTheme, type Env } from './theme.js';

export interface RunTuiOptions {
  host: HostContext;
  env?: Env;
  initialPane?: PaneId;
  shutdownTimeoutMs?: number;
  /** Refresh interval of the guest list (the store's default when absent); bench/top.ts runs at 2 s. */
  pollMs?: number;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

export async function runTui(opts: RunTuiOptions): Promise<void> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const env = opts.env ?? process.env;
  assertInteractive(stdin);

  let instance: Instance | null = null;
  let pending: (() => Promise<void>) | null = null;
  const handOff: HandOff = (run) =>
    new Promise((resolve, reject) => {
      pending = () => handOffTerminal({ stdin, stdout }, run).then(resolve, reject);
      instance?.unmount();
    });

  // `:host NAME` and the host picker: the store of the old host is disposed and a new one made,
  // so no watcher, poll or pane state of one host acts on the other.
  let host = opts.host;
  let switchTo: HostContext | null = null;
  const makeStore = (h: HostContext, pane?: PaneId) =>
    createAppStore(h, {
      initialPane: pane,
      shutdownTimeoutMs: opts.shutdownTimeoutMs,
      pollMs: opts.pollMs,
      size: { columns: stdout.columns || 80, rows: stdout.rows || 24 },
      handOff,
      env,
      onSwitchHost: (next) => {
        switchTo = next;
      },
    });
  let store = makeStore(host, opts.initialPane);
  const theme = chooseTheme(env);
  const inkOut = frameStream(stdout, theme.ascii);
  const screen = fullScreen(stdout);
  const restore = () => {
    store.getState().dispose();
    instance?.unmount();
    screen.leave();
  };
  // A dropped SSH session hands the job on screen to a worker (or undoes it) before leaving.
  const uninstall = installRestoreHandlers(restore, { settle: () => settleJobOnHangup(() => store.getState()) });
  screen.enter();
  try {
    for (;;) {
      store.setState({ size: { columns: stdout.columns || 80, rows: stdout.rows || 24 } });
      instance = render(<App store={store} host={host} theme={theme} />, { stdin, stdout: inkOut, exitOnCtrlC: false, patchConsole: true });
      await instance.waitUntilExit();
      instance = null;
      const next = switchTo as HostContext | null;
      if (next) {
        switchTo = null;
        const pane = store.getState().pane;
        store.getState().dispose();
        host = next;
        store = makeStore(host, pane);
        store.getState().setMessage(`Now on ${host.name} (${host.uri}).`);
        continue;
      }
      const job = pending as (() => Promise<void>) | null;
      if (!job) break;
      pending = null;
      await job();
      store.setState((s) => ({ redraw: s.redraw + 1 }));
    }
  } finally {
    restore();
    uninstall();
  }
}
