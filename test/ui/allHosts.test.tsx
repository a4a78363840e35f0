import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostOptions } from '../../src/config/connect.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { JournalRecord } from '../../src/jobs/journal.js';
import { createJobsPaneController } from '../../src/store/jobsPane.js';
import { selectedGuest } from '../../src/store/selectors.js';
import { createFakeHost, type FakeGuest, type FakeHost } from '../helpers/fakeHost.js';
import { demoGuests, ESC, KEYS, renderApp } from './helpers.js';

/**
 * The all-hosts view on fake hosts: this one (fakehost, the demo guests), "lab" (answers; has a
 * demo-web of its own, shut off) and "deadbox" (never answers: every command hangs until aborted).
 */
const hosts = [
  { name: 'lab', uri: 'qemu+ssh://root@lab/system' },
  { name: 'deadbox', uri: 'qemu+ssh://root@deadbox/system' },
];

function labGuests(): FakeGuest[] {
  return [
    { name: 'demo-web', state: 'shut off', vcpus: 1, memoryMiB: 256, macs: ['52:54:00:aa:00:01'] },
    { name: 'lab-db', state: 'running', vcpus: 2, memoryMiB: 1024, macs: ['52:54:00:aa:00:02'], serial: true },
  ];
}

/** An executor that never answers: only the deadline's abort ends its commands. */
function hangingHost(uri: string): HostContext & { aborted: number } {
  const h = { aborted: 0 } as HostContext & { aborted: number };
  const exec: Executor = {
    label: 'root@deadbox',
    run(_argv: string[], o: ExecOptions = {}) {
      return new Promise<ExecResult>((_, reject) => {
        o.signal?.addEventListener('abort', () => {
          h.aborted++;
          reject(new Error('aborted'));
        });
      });
    },
    interactive: async () => 0,
  };
  return Object.assign(h, { name: 'deadbox', uri, virshExec: exec, sysExec: exec });
}

async function setup(hostTimeoutMs = 300) {
  let lab: FakeHost | null = null;
  let dead: (HostContext & { aborted: number }) | null = null;
  const connect = (t: HostOptions): HostContext => {
    if (t.name === 'lab') {
      lab = createFakeHost(labGuests(), { uri: t.uri, hostname: 'lab' });
      return lab.host;
    }
    dead = hangingHost(t.uri as string);
    return dead;
  };
  const r = await renderApp(demoGuests(), { store: { hosts, connect, hostTimeoutMs } });
  return { r, lab: () => lab as unknown as FakeHost, dead: () => dead as unknown as HostContext & { aborted: number } };
}

const st0 = (r: { store: { getState(): import('../../src/store/appState.js').AppState } }) => r.store.getState();
const rowsOf = (frame: string) => frame.split('\n').filter((l) => /demo-|lab-db|trinity/.test(l));

describe('all hosts in one view', () => {
  it('A lists every host with a HOST column; a host that never answers is one line with its sentence, within the deadline, and the header says 2/3 hosts', async () => {
    const { r, dead } = await setup();
    expect(r.frame()).not.toContain('HOST ');
    const started = Date.now();
    await r.press('A');
    const f = await r.waitFor((fr) => fr.includes('lab-db') && fr.includes('deadbox is unreachable'), 3000);
    // The dead host costs its own deadline (300 ms), not the others' refresh.
    expect(Date.now() - started).toBeLessThan(2500);
    expect(dead().aborted).toBeGreaterThan(0);
    expect(f).toMatch(/HOST\s+NAME\s+STATE/);
    expect(f).toContain('2/3 hosts');
    expect(f).toMatch(/deadbox is unreachable: no answer within 0\.3 s/);
    expect(st0(r).hostStates[2]?.error?.sentence).toBe('deadbox is unreachable: no answer within 0.3 s from qemu+ssh://root@deadbox/system.');
    // Both demo-web rows show, each with its host; this host's first.
    const rows = rowsOf(f);
    expect(rows.some((l) => /fakehost\s+demo-web\s+running/.test(l))).toBe(true);
    expect(rows.some((l) => /lab\s+demo-web\s+shut off/.test(l))).toBe(true);
    expect(rows.findIndex((l) => l.includes('fakehost'))).toBeLessThan(rows.findIndex((l) => /\blab\b/.test(l)));
    // 80 columns: no line wider than the terminal.
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    const st = r.store.getState();
    expect(st.hostStates.map((h) => [h.name, h.answered])).toEqual([
      ['fakehost', true],
      ['lab', true],
      ['deadbox', false],
    ]);
    // The status line names the count; `m` has each host's whole sentence and fix.
    await r.waitFor('1 of 3 hosts did not answer');
    expect(r.store.getState().message?.text).toContain('deadbox is unreachable: no answer within 0.3 s from qemu+ssh://root@deadbox/system. Check that the host is up');
    // A again: this host's guests only, no HOST column.
    await r.press('A');
    const back = await r.waitFor((fr) => !fr.includes('lab-db'));
    expect(back).not.toMatch(/HOST\s+NAME/);
    r.unmount();
  });

  it("the hosts that answer are listed at once, not after the silent host's deadline", async () => {
    const { r } = await setup(4000);
    const started = Date.now();
    await r.press('A');
    const f = await r.waitFor('lab-db', 3500);
    expect(Date.now() - started).toBeLessThan(3500);
    expect(f).not.toContain('deadbox is unreachable');
    expect(r.store.getState().hostStates.find((h) => h.name === 'deadbox')?.answered).toBeNull();
    await r.waitFor('deadbox is unreachable', 6000);
    r.unmount();
  });

  it('the selection stays on the same guest of the same host across refreshes, even when rows move', async () => {
    const { r, lab } = await setup();
    await r.press('A');
    await r.waitFor('lab-db', 3000);
    // Down to lab's demo-web (the 4th row: fakehost's three first).
    const rows = r.store.getState().allGuests;
    const target = rows.findIndex((g) => g.host === 'lab' && g.name === 'demo-web');
    for (let i = 0; i < target; i++) await r.press('j');
    expect(selectedGuest(r.store.getState())).toMatchObject({ name: 'demo-web', host: 'lab' });
    // A new guest on lab sorts before it; this host's demo-web stops: the selection does not move.
    lab().guests.unshift({ name: 'aaa-new', uuid: '00000000-0000-4000-8000-0000000000aa', state: 'running', vcpus: 1, memoryMiB: 128, macs: ['52:54:00:aa:00:09'] });
    await r.store.getState().refresh();
    await r.waitFor('aaa-new');
    expect(selectedGuest(r.store.getState())).toMatchObject({ name: 'demo-web', host: 'lab' });
    expect(r.store.getState().selectedHost).toBe('lab');
    r.unmount();
  });

  it("actions on a row go to that row's host: s starts lab's demo-web, not this host's; a name on two hosts given by :cmd is refused", async () => {
    const { r, lab } = await setup();
    await r.press('A');
    await r.waitFor('lab-db', 3000);
    const rows = r.store.getState().allGuests;
    const target = rows.findIndex((g) => g.host === 'lab' && g.name === 'demo-web');
    for (let i = 0; i < target; i++) await r.press('j');
    const homeCalls = r.fake.calls.length;
    await r.press('s');
    await r.waitFor('demo-web started.');
    expect(lab().calls.some((c) => c.includes('start') && c.includes('demo-web'))).toBe(true);
    expect(r.fake.calls.slice(homeCalls).some((c) => c.includes('start'))).toBe(false);
    expect(lab().guests.find((g) => g.name === 'demo-web')?.state).toBe('running');
    // c on lab-db: the serial console of lab's guest, through lab's URI.
    await r.press('j');
    expect(selectedGuest(r.store.getState())).toMatchObject({ name: 'lab-db', host: 'lab' });
    await r.press('c');
    await r.waitFor('Left the console of lab-db.');
    expect(lab().calls).toContainEqual(['virsh', '-c', 'qemu+ssh://root@lab/system', 'console', 'lab-db']);
    // e reads the settings from lab (its dumpxml), not from this host.
    const homeBefore = r.fake.calls.length;
    await r.press('e');
    await r.waitFor('Settings of lab-db on lab');
    expect(lab().calls.some((c) => c.join(' ').includes('dumpxml') && c.join(' ').includes('lab-db'))).toBe(true);
    expect(r.fake.calls.slice(homeBefore).some((c) => c.join(' ').includes('lab-db'))).toBe(false);
    expect(r.store.getState().dialogs.at(-1)).toMatchObject({ kind: 'settings', guest: 'lab-db', host: 'lab' });
    await r.press(ESC);
    // F on lab-db: the confirmation, then destroy on lab.
    await r.press('F');
    await r.waitFor('Force lab-db (lab) off?');
    await r.press('y');
    await r.waitFor('lab-db is off.');
    expect(lab().calls.some((c) => c.includes('destroy') && c.includes('lab-db'))).toBe(true);
    // `:start trinity-server` names a guest only this host has: it goes here.
    await r.press(':');
    await r.type('resume trinity-server');
    await r.press(KEYS.enter);
    await r.waitFor('trinity-server is running again.');
    expect(r.fake.calls.some((c) => c.includes('resume') && c.includes('trinity-server'))).toBe(true);
    // `:destroy demo-web` while lab-db is selected: two hosts have it, none is chosen: refused, nothing runs.
    const before = [r.fake.calls.length, lab().calls.length];
    r.store.getState().dispatch('forceOff', 'demo-web');
    await r.waitFor('demo-web is on 2 hosts');
    expect(r.fake.calls.slice(before[0]).some((c) => c.includes('destroy'))).toBe(false);
    expect(lab().calls.slice(before[1]).some((c) => c.includes('destroy'))).toBe(false);
    r.unmount();
  });

  it('H in the all-hosts view: choosing this host narrows the table to it', async () => {
    const { r } = await setup();
    await r.press('A');
    await r.waitFor('lab-db', 3000);
    await r.press('H');
    await r.waitFor('Act on which host?');
    await r.press(KEYS.enter);
    await r.waitFor((fr) => !fr.includes('lab-db'));
    expect(r.store.getState().allHosts).toBe(false);
    r.unmount();
  });

  it('80x24 under TERM=linux: a long host name is cut in its 8-column HOST column with the ASCII ellipsis; every line fits', async () => {
    const long = [{ name: 'laboratory-east', uri: 'qemu+ssh://root@lab/system' }];
    const connect = (t: HostOptions) => createFakeHost(labGuests(), { uri: t.uri, hostname: 'lab' }).host;
    const r = await renderApp(demoGuests(), { store: { hosts: long, connect }, env: { TERM: 'linux', NO_COLOR: '1', LANG: 'C' } });
    await r.press('A');
    const f = await r.waitFor('lab-db', 3000);
    expect(f).toMatch(/\|\s+labor\.\.\. lab-db\s+running/);
    expect(f).toContain('2/2 hosts');
    for (const l of f.split('\n')) {
      expect(l.length).toBeLessThanOrEqual(80);
      expect(l).toMatch(/^[\x20-\x7e]*$/);
    }
    r.unmount();
  });

  it('the Jobs pane lists the jobs of every host with a HOST column (a URI no entry names shows by its host part)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdtest-allhosts-jobs-'));
    try {
      mkdirSync(join(dir, 'jobs'));
      const job = (id: string, uri: string, title: string) => {
        const rec: JournalRecord = {
          id,
          kind: 'convert',
          title,
          uri,
          pid: process.pid,
          hostname: hostname(),
          createdAt: '2025-03-01T12:03:00.000Z',
          updatedAt: '2025-03-01T12:04:00.000Z',
          state: 'done',
          plan: { kind: 'convert', title, targets: { guests: [], images: [] }, steps: [{ id: 'copy', title: 'copy' }] },
          steps: [{ state: 'done' }],
        };
        writeFileSync(join(dir, 'jobs', `${id}.json`), JSON.stringify(rec));
      };
      job('20250301T120300-convert-aaaaaa', 'qemu:///system', 'convert here.raw');
      job('20250301T120400-convert-bbbbbb', 'qemu+ssh://root@lab/system', 'convert lab.raw');
      job('20250301T120500-convert-cccccc', 'qemu+ssh://root@elsewhere.example:2222/system', 'convert far.raw');
      const r = await renderApp(demoGuests(), {
        store: { hosts, connect: (t) => createFakeHost([], { uri: t.uri }).host, paneFactories: { jobs: (h, app) => createJobsPaneController(h, app, { stateDir: dir, pollMs: 40 }) } },
      });
      await r.press('5');
      const f = await r.waitFor('convert far.raw');
      expect(f).toMatch(/HOST\s+KIND\s+STATE/);
      expect(f).toMatch(/fakehost convert\s+done.*convert here\.raw/);
      expect(f).toMatch(/lab\s+convert\s+done.*convert lab\.raw/);
      expect(f).toMatch(/elsewh\S*\s+convert\s+done.*convert far\.raw/);
      r.unmount();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a config file that cannot be read: A says why, not "only host"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdtest-allhosts-cfg-'));
    const saved = process.env.VIRTDECK_HOME;
    try {
      mkdirSync(join(dir, 'config'), { mode: 0o700 });
      writeFileSync(join(dir, 'config', 'config.json'), '{ "hosts": [', { mode: 0o600 });
      process.env.VIRTDECK_HOME = dir;
      const r = await renderApp(demoGuests());
      await r.press('A');
      await r.waitFor((f) => /config/i.test(f) && !f.includes('only host configured'));
      expect(r.store.getState().message?.kind).toBe('error');
      expect(r.store.getState().message?.text).not.toContain('only host configured');
      expect(r.store.getState().allHosts).toBe(false);
      r.unmount();
    } finally {
      if (saved === undefined) delete process.env.VIRTDECK_HOME;
      else process.env.VIRTDECK_HOME = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with only this host configured, A says how to add others', async () => {
    const r = await renderApp(demoGuests(), { store: { hosts: [] } });
    await r.press('A');
    await r.waitFor('is the only host configured');
    expect(r.store.getState().allHosts).toBe(false);
    r.unmount();
  });
});
