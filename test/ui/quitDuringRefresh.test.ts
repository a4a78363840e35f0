import { afterEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { createAppStore } from '../../src/store/appStore.js';
import type { AppStore } from '../../src/store/appState.js';

/**
 * Issue 13 item 6: quitting while a refresh runs on a slow (remote) host. Before, the console
 * waited 13–60 s for the refresh in flight, and its next round and the panes' reads started new
 * remote commands after q. Here every command takes 30 s unless its signal stops it.
 */
function slowHost() {
  const started: string[][] = [];
  const stopped: string[][] = [];
  const exec: Executor = {
    label: 'root@far',
    run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      started.push(argv);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve({ argv, exitCode: 0, stdout: '', stderr: '' }), 30_000);
        const abort = () => {
          clearTimeout(timer);
          stopped.push(argv);
          reject(new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do.', command: argv, stderr: '', code: 'cancelled' }));
        };
        if (o.signal?.aborted) abort();
        else o.signal?.addEventListener('abort', abort, { once: true });
      });
    },
    interactive: async () => 0,
  };
  const host: HostContext = { name: 'far', uri: 'qemu+ssh://root@far/system', virshExec: exec, sysExec: exec };
  return { host, started, stopped };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let store: AppStore | null = null;
afterEach(() => {
  store?.getState().dispose();
  store = null;
});

describe('quit during a refresh on a slow host', () => {
  it('stops every command in flight at once and starts none afterwards', async () => {
    const far = slowHost();
    store = createAppStore(far.host, { pollMs: 20, eventDebounceMs: 5 });
    store.getState().init();
    // The guest list, the header's version and accelerator, the event watch: all in flight.
    while (far.started.length < 3) await sleep(5);
    // A second refresh asked meanwhile: the coalesced round owes one more after this one.
    void store.getState().refresh();
    // Every pane that reads the host now or on its first activation.
    for (const pane of ['disks', 'backups', 'host', 'jobs'] as const) store.getState().setPane(pane);
    await sleep(50);
    const inFlight = far.started.length - far.stopped.length;
    expect(inFlight).toBeGreaterThan(0);
    const asked = far.started.length;

    const t0 = Date.now();
    store.getState().quit();
    await store.getState().whenStopped();
    const took = Date.now() - t0;
    expect(took).toBeLessThan(1_000);
    expect(store.getState().quitRequested).toBe(true);
    // Each command that was running was stopped, none was left to run out its 30 s.
    expect(far.stopped.length).toBe(asked);

    // The owed refresh round, the polls and a late refresh start nothing.
    await sleep(200);
    void store.getState().refresh();
    store.getState().panes.disks?.dispatch('refresh');
    await sleep(50);
    expect(far.started.length).toBe(asked);
  });
});
