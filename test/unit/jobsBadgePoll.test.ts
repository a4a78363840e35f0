/**
 * The Jobs tab's badge while another pane is on screen: the journals (a host keeps hundreds) are
 * read again only when the jobs directory changed or a job shown running lost its process.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createStore } from 'zustand/vanilla';
import type { HostContext } from '../../src/host/hostContext.js';
import type { JournalRecord } from '../../src/jobs/journal.js';
import type { AppStore } from '../../src/store/appState.js';
import { createJobsPaneController } from '../../src/store/jobsPane.js';

let dir = '';

function journal(id: string, pid: number): void {
  const rec: JournalRecord = {
    id,
    kind: 'convert',
    title: `convert ${id}`,
    uri: 'qemu:///system',
    pid,
    hostname: hostname(),
    createdAt: '2025-03-01T12:03:00.000Z',
    updatedAt: '2025-03-01T12:04:00.000Z',
    state: 'running',
    plan: { kind: 'convert', title: 'convert', targets: { guests: [], images: [] }, steps: [{ id: 'copy', title: 'copy' }] },
    steps: [{ state: 'running' }],
  };
  writeFileSync(join(dir, 'jobs', `${id}.json`), JSON.stringify(rec));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-jbpoll-'));
  mkdirSync(join(dir, 'jobs'), { mode: 0o700 });
  journal('20250301T120300-convert-aaaaaa', 4242);
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Jobs badge while the pane is hidden', () => {
  it('an unchanged jobs directory is not read again; a write, or a running job that lost its process, is', () => {
    vi.useFakeTimers();
    const app = createStore(() => ({ pane: 'guests', lastRefresh: null as number | null, refreshError: null, setMessage: () => {} })) as unknown as AppStore;
    const living = new Set([4242]);
    const c = createJobsPaneController({ name: 'h', uri: 'qemu:///system' } as HostContext, app, { stateDir: dir, pollMs: 500, alive: (pid) => living.has(pid) });
    c.start?.();
    // The badge is looked at when the console refreshes (every 2 s here), not on a timer of its own.
    const refreshFor = (ms: number) => {
      for (let t = 0; t < ms; t += 2_000) {
        vi.advanceTimersByTime(2_000);
        app.setState({ lastRefresh: Date.now() });
      }
    };
    const reads = () => c.store.getState().lastRead;
    const first = reads();
    expect(c.store.getState().jobs.map((j) => j.state)).toEqual(['running']);

    refreshFor(60_000);
    expect(reads()).toBe(first);

    // A journal written (atomically: a rename into the directory) changes its stamp.
    journal('20250301T130000-convert-bbbbbb', 4242);
    utimesSync(join(dir, 'jobs'), new Date(), new Date(Date.now() + 1_000));
    refreshFor(6_000);
    expect(reads()).not.toBe(first);
    expect(c.store.getState().jobs).toHaveLength(2);

    // Killed: nothing is written, yet the badge must stop saying "running".
    const second = reads();
    refreshFor(30_000);
    expect(reads()).toBe(second);
    living.clear();
    refreshFor(6_000);
    expect(c.store.getState().jobs.map((j) => j.state)).toEqual(['interrupted', 'interrupted']);
    c.dispose?.();
  });

  it('no timer of its own wakes an idle console behind another pane; on the Jobs pane it polls, and stops when the pane is left', () => {
    vi.useFakeTimers();
    const app = createStore(() => ({ pane: 'guests', lastRefresh: null as number | null, refreshError: null, setMessage: () => {} })) as unknown as AppStore;
    const c = createJobsPaneController({ name: 'h', uri: 'qemu:///system' } as HostContext, app, { stateDir: dir, pollMs: 500, alive: () => true });
    c.start?.();
    expect(vi.getTimerCount()).toBe(0);

    app.setState({ pane: 'jobs' });
    c.activate?.();
    expect(vi.getTimerCount()).toBe(1);
    journal('20250301T130000-convert-bbbbbb', 4242);
    vi.advanceTimersByTime(500);
    expect(c.store.getState().jobs).toHaveLength(2);

    app.setState({ pane: 'guests' });
    vi.advanceTimersByTime(500);
    expect(vi.getTimerCount()).toBe(0);
    c.dispose?.();
  });
});
