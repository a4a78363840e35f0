import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HostContext } from '../../src/host/hostContext.js';
import type { JobSummary } from '../../src/jobs/jobStatus.js';
import type { JournalRecord } from '../../src/jobs/journal.js';
import type { Plan } from '../../src/model/plan.js';
import { cancelQuestion, planSpec } from '../../src/store/jobs/runView.js';
import { createJobsPaneController, DETACHED_UNDO, type JobsPaneController } from '../../src/store/jobsPane.js';
import { jobHeader, jobLines, kindWidth } from '../../src/ui/panes/jobs/jobLines.js';
import { ESC, KEYS, renderApp } from './helpers.js';

let dir = '';
let jobs = '';
const deadPid = () => spawnSync('true').pid as number;

const plan: Plan = {
  kind: 'convert',
  title: 'convert web.raw to web.vmdk',
  targets: { guests: [], images: ['/srv/web.raw'] },
  steps: [
    { id: 'mkdir', title: 'make the private directory', command: { runsOn: 'sys', argv: ['mkdir', '-m', '700', '/srv/.web.vmdk.virtdeck-tmp'] } },
    { id: 'copy', title: 'convert to vmdk', command: { runsOn: 'sys', argv: ['qemu-img', 'convert', '-p', '-O', 'vmdk', '/srv/web.raw', '/srv/.web.vmdk.virtdeck-tmp/web.vmdk'] }, undo: { title: 'remove the private directory', partial: true } },
    { id: 'place', title: 'put the copy in place' },
  ],
};

function journal(id: string, over: Partial<JournalRecord>): void {
  const rec: JournalRecord = {
    id,
    kind: 'convert',
    title: plan.title,
    uri: 'qemu:///system',
    pid: process.pid,
    hostname: hostname(),
    createdAt: '2025-03-01T12:03:00.000Z',
    updatedAt: '2025-03-01T12:04:00.000Z',
    state: 'running',
    plan,
    steps: [{ state: 'done' }, { state: 'running' }, { state: 'pending' }],
    ...over,
  };
  writeFileSync(join(jobs, `${id}.json`), JSON.stringify(rec));
}

function progress(id: string, percent: number): void {
  const p = { percent, bytesDone: percent * 1e8, bytesTotal: 1e10, rateBps: 2.12e8, etaSeconds: 23 };
  writeFileSync(join(jobs, `${id}.progress.json`), JSON.stringify({ id, pid: process.pid, at: '', stepIndex: 1, stepCount: 3, stepTitle: 'convert to vmdk', progress: p, undoing: null, final: null }));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-jb-pane-'));
  jobs = join(dir, 'jobs');
  mkdirSync(jobs);
  journal('20250301T120300-convert-aaaaaa', { createdAt: '2025-03-01T12:03:00.000Z' });
  progress('20250301T120300-convert-aaaaaa', 61);
  journal('20250301T110000-convert-bbbbbb', { createdAt: '2025-03-01T11:00:00.000Z', pid: deadPid(), title: 'convert db.raw to db.vmdk' });
  journal('20250301T100000-expand-cccccc', { createdAt: '2025-03-01T10:00:00.000Z', kind: 'expand', state: 'done', title: 'grow web.qcow2 to 20 GiB', steps: [{ state: 'done' }, { state: 'done' }, { state: 'done' }] });
  appendFileSync(join(jobs, '20250301T120300-convert-aaaaaa.log'), '12:03:00 step 1/3 make the private directory\n');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Polls the store (not the frame) until `ok` holds. */
async function waitState(ok: () => boolean | undefined, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs) throw new Error('Timed out waiting for the store');
    await new Promise((res) => setTimeout(res, 5));
  }
}

async function setup(extra: { hosts?: { name: string; uri: string }[]; onSwitchHost?: (h: HostContext) => void } = {}) {
  const cancel = vi.fn(async (_d: string, id: string) => ({ id, state: 'cancelled' }));
  const resume = vi.fn(async () => ({ pid: 4321 }));
  const r = await renderApp(undefined, {
    store: {
      paneFactories: { jobs: (host, app) => createJobsPaneController(host, app, { stateDir: dir, pollMs: 40, cancel, resume }) },
      hosts: extra.hosts ?? [],
      connect: (t) => ({ name: t.name ?? 'x', uri: t.uri ?? '', virshExec: null as never, sysExec: null as never }),
      onSwitchHost: extra.onSwitchHost,
    },
  });
  return { ...r, cancel, resume };
}

describe('Jobs pane', () => {
  it('lists jobs newest first with live progress, and counts running ones in the tab', async () => {
    const r = await setup();
    await r.press('5');
    let f = await r.waitFor('61%');
    expect(f).toContain('5 Jobs (1 running)');
    const lines = f.split('\n');
    const order = ['grow web.qcow2', 'convert db.raw', 'convert web.raw'].map((t) => lines.findIndex((l) => l.includes(t)));
    expect(order[2]).toBeLessThan(order[1] as number);
    expect(order[1]).toBeLessThan(order[0] as number);
    expect(f).toMatch(/convert\s+running\s+2\/3/);
    expect(f).toMatch(/convert\s+interrupted\s+2\/3/);
    expect(f).toMatch(/expand\s+done\s+3\/3/);
    progress('20250301T120300-convert-aaaaaa', 87);
    f = await r.waitFor('87%');
    expect(f).toContain('c cancels');
    r.unmount();
  });

  it('a job started while the list shows another comes first and takes the selection, so c acts on it', async () => {
    const r = await setup();
    await r.press('5');
    await r.waitFor('61%');
    const pane = r.store.getState().panes.jobs as JobsPaneController;
    // The selection on the oldest, finished job.
    await r.press(KEYS.down);
    await r.press(KEYS.down);
    expect(pane.selectedJob()?.id).toBe('20250301T100000-expand-cccccc');
    journal('20250301T130000-convert-dddddd', { createdAt: '2025-03-01T13:00:00Z', title: 'convert new.raw to new.vmdk' });
    await waitState(() => pane.store.getState().jobs.length === 4);
    expect(pane.store.getState().jobs[0]?.id).toBe('20250301T130000-convert-dddddd');
    expect(pane.selectedJob()?.id).toBe('20250301T130000-convert-dddddd');
    const f = await r.waitFor(/▶ convert +running .*convert new\.raw/);
    const rows = f.split('\n').filter((l) => / (running|interrupted|done) /.test(l));
    expect(rows[0]).toContain('convert new.raw');
    await r.press('c');
    await r.waitFor('Cancel "convert new.raw to new.vmdk"?');
    r.unmount();
  });

  it('long titles keep their ends (rows do not read the same) and KIND stays aligned, in ASCII too', () => {
    const job = (id: string, kind: string, title: string): JobSummary => ({
      id, kind, title, uri: '', state: 'done', pid: 4242, hostname: 'h', createdAt: '2025-03-01T12:00:00.000Z', updatedAt: '', stepIndex: 2, stepCount: 3, stepTitle: '', progress: null, undoing: null, guests: [], images: [],
    });
    const jobs = [
      job('a', 'convert', 'Convert /var/lib/libvirt/images/migrated/demo-web-system.vmdk to qcow2'),
      job('b', 'convert', 'Convert /var/lib/libvirt/images/migrated/demo-files-system.vmdk to qcow2'),
      job('c', 'backup-restore', 'Restore demo-web (20261122T010000Z-inc) as demo-web-restored'),
      job('d', 'backup', 'Back up demo-files to /srv/backups'),
    ];
    for (const ellipsis of ['…', '...']) {
      const lines = jobLines(jobs, 80, { ascii: ellipsis !== '…', ellipsis, now: new Date('2025-03-01T12:30:00.000Z') }).map((l) => `  ${l.text}`);
      const header = jobHeader(80, kindWidth(jobs));
      expect(new Set(lines).size).toBe(lines.length);
      expect(lines[0]).toMatch(/Convert ?(…|\.\.\.).*web/);
      expect(lines[1]).toMatch(/Convert ?(…|\.\.\.).*files/);
      expect(lines[2]).toContain('backup-restore ');
      for (const l of [header, ...lines]) expect(l.length).toBeLessThanOrEqual(80);
      for (const l of lines) expect(l.indexOf(' done ') + 1).toBe(header.indexOf('STATE'));
    }
  });

  it('/ in the Jobs pane says it has no filter, and a filter kept in another pane is not claimed here', async () => {
    const r = await setup();
    await r.press('/');
    await r.type('demo');
    await r.press(KEYS.enter);
    await r.waitFor('filter /demo');
    await r.press('5');
    await r.waitFor('61%');
    await r.press('/');
    expect(r.store.getState().inputMode).toBe('normal');
    const f = await r.waitFor('The Jobs pane has no filter');
    expect(f).not.toContain('filter /demo');
    r.unmount();
  });

  it('Enter shows the steps and commands; L follows the log', async () => {
    const r = await setup();
    await r.press('5');
    await r.waitFor('61%');
    await r.press(KEYS.enter);
    await waitState(() => r.store.getState().dialogs.at(-1)?.kind === 'text');
    let f = await r.waitFor('Steps:');
    expect(f).toContain('[running] convert to vmdk');
    expect(f).toContain('$ qemu-img convert -p -O vmdk /srv/web.raw');
    // No wait after Esc: Esc and L read together are Esc, then L (keyPresses), each routed on the store.
    await r.press(ESC);
    await r.press('L');
    await waitState(() => {
      const top = r.store.getState().dialogs.at(-1);
      return top?.kind === 'text' && top.title.endsWith('(follows)');
    });
    await r.waitFor('step 1/3 make the private directory');
    appendFileSync(join(jobs, '20250301T120300-convert-aaaaaa.log'), '12:03:01 step 2/3 convert to vmdk\n');
    f = await r.waitFor('step 2/3 convert to vmdk');
    expect(f).toContain('(follows)');
    await r.press(ESC);
    r.unmount();
  });

  it('c cancels a running job after a confirmation naming it', async () => {
    const r = await setup();
    await r.press('5');
    await r.waitFor('61%');
    await r.press('c');
    const f = await r.waitFor('Cancel "convert web.raw to web.vmdk"?');
    expect(f).toContain('20250301T120300-convert-aaaaaa');
    expect(f).toContain('undoes what the job did');
    await r.press('y');
    await r.waitFor('Cancelled "convert web.raw to web.vmdk"');
    expect(r.cancel).toHaveBeenCalledWith(dir, '20250301T120300-convert-aaaaaa');
    r.unmount();
  });

  it('c asks the one job question (as every wizard and the Backups job view): n keeps the job, y cancels its worker', async () => {
    const r = await setup();
    await r.press('5');
    await r.waitFor('61%');
    const pane = r.store.getState().panes.jobs as JobsPaneController;
    const key = (name: string) => r.store.getState().pressKey({ name, input: name.length === 1 ? name : '' });
    key('c');
    const shown = () => pane.store.getState().cancel;
    expect(shown()?.view.asking).toBe(true);
    // The question is built from the job's journaled plan, as the job controller asks it everywhere.
    const question = cancelQuestion(planSpec(plan, '"convert web.raw to web.vmdk"', DETACHED_UNDO));
    expect(cancelQuestion(shown()!.view.spec)).toBe(question);
    expect(shown()?.view.rows.map((x) => [x.label, x.state])).toEqual([
      ['make the private directory', 'done'],
      ['convert to vmdk', 'running'],
      ['put the copy in place', 'waiting'],
    ]);
    expect((await r.waitFor('(y/n)')).replace(/[│\s]+/g, ' ')).toContain(question);
    key('n');
    expect(shown()).toBeNull();
    expect(r.cancel).not.toHaveBeenCalled();
    expect(pane.selectedJob()?.state).toBe('running');
    key('esc');
    expect(r.store.getState().dialogs).toEqual([]);
    key('c');
    key('esc');
    expect(shown()).toBeNull();
    expect(r.cancel).not.toHaveBeenCalled();
    key('c');
    key('y');
    expect(r.cancel).toHaveBeenCalledWith(dir, '20250301T120300-convert-aaaaaa');
    await waitState(() => shown()?.view.state === 'cancelled');
    await r.waitFor('Cancelled "convert web.raw to web.vmdk"; what it did is undone.');
    key('enter');
    expect(shown()).toBeNull();
    r.unmount();
  });

  it('f and R finish or roll back an interrupted job, explaining first; a running one refuses', async () => {
    const r = await setup();
    await r.press('5');
    await r.waitFor('61%');
    await r.press('f');
    await r.waitFor('only an interrupted job');
    await r.press('j');
    await r.waitFor('interrupted: process');
    await r.press('f');
    let f = await r.waitFor('Finish "convert db.raw to db.vmdk"?');
    expect(f).toMatch(/during step 2 of 3/);
    await r.press('y');
    await r.waitFor('A worker (pid 4321) finishes');
    expect(r.resume).toHaveBeenLastCalledWith(dir, '20250301T110000-convert-bbbbbb', 'run');
    await r.press('R');
    f = await r.waitFor('Roll back "convert db.raw to db.vmdk"?');
    expect(f).toContain('remove the private directory');
    await r.press('y');
    await r.waitFor('rolls back');
    expect(r.resume).toHaveBeenLastCalledWith(dir, '20250301T110000-convert-bbbbbb', 'rollback');
    r.unmount();
  });
});

describe('hosts', () => {
  const hosts = [
    { name: 'host1', uri: 'qemu+ssh://root@host1/system' },
    { name: 'lab', uri: 'qemu+ssh://root@10.0.0.9:2222/system' },
  ];

  it('H lists this host and the config hosts; Enter switches', async () => {
    const switched: HostContext[] = [];
    const r = await setup({ hosts, onSwitchHost: (h) => switched.push(h) });
    await r.press('H');
    const f = await r.waitFor('Act on which host?');
    expect(f).toMatch(/fakehost\s+qemu:\/\/\/system\s+\(current\)/);
    expect(f).toMatch(/host1\s+qemu\+ssh:\/\/root@host1\/system/);
    expect(f).toContain('qemu+ssh://root@10.0.0.9:2222/system');
    await r.press('j');
    await r.press(KEYS.enter);
    await new Promise((res) => setTimeout(res, 30));
    expect(switched.map((h) => [h.name, h.uri])).toEqual([['host1', 'qemu+ssh://root@host1/system']]);
    expect(r.store.getState().quitRequested).toBe(true);
    r.unmount();
  });

  it(':host NAME switches, an unknown name says how to add it, :host alone opens the Host pane', async () => {
    const switched: HostContext[] = [];
    const r = await setup({ hosts, onSwitchHost: (h) => switched.push(h) });
    await r.press(':');
    await r.type('host nosuch');
    await r.press(KEYS.enter);
    await r.waitFor('There is no host "nosuch" in the config file');
    expect(switched).toEqual([]);
    await r.press(':');
    await r.type('host');
    await r.press(KEYS.enter);
    expect(r.store.getState().pane).toBe('host');
    await r.press(':');
    await r.type('host lab');
    await r.press(KEYS.enter);
    await new Promise((res) => setTimeout(res, 30));
    expect(switched.map((h) => h.name)).toEqual(['lab']);
    r.unmount();
  });

  it(':host takes exactly the names H lists (this host too), and Tab completes them', async () => {
    const switched: HostContext[] = [];
    const r = await setup({ hosts, onSwitchHost: (h) => switched.push(h) });
    await r.press(':');
    await r.type('host fakehost');
    await r.press(KEYS.enter);
    await r.waitFor('Already on fakehost (qemu:///system).');
    expect(switched).toEqual([]);
    await r.press(':');
    await r.type('host l');
    await r.press(KEYS.tab);
    expect(r.store.getState().command).toBe('host lab ');
    await r.press(ESC);
    await r.press(':');
    await r.type('host ');
    await r.press(KEYS.tab);
    // Every name fits (fakehost, host1, lab, qemu:///system): nothing in common to add.
    expect(r.store.getState().command).toBe('host ');
    await r.type('h');
    await r.press(KEYS.tab);
    expect(r.store.getState().command).toBe('host host1 ');
    r.unmount();
  });
});
