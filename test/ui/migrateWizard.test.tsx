import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MigrateDestination } from '../../src/jobs/migrate.js';
import type { RunnerEvent, RunResult } from '../../src/jobs/runner.js';
import type { MigrateFacts } from '../../src/model/migratePlan.js';
import type { Plan } from '../../src/model/plan.js';
import { cancelQuestion } from '../../src/store/jobs/runView.js';
import { createMigrateWizard } from '../../src/store/wizards/migrate/migrateWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { MigrateWizardView } from '../../src/ui/wizards/MigrateWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { demoGuests, ESC, KEYS } from './helpers.js';
import { driveWizard } from './wizardHarness.js';

/**
 * The migration wizard at 80x24 with TERM=linux: destination → checks → options → review → run.
 * The hosts' answers are given as facts (the real stack is test/integration/migrate.test.ts).
 */

const DISK = '/var/lib/libvirt/images/demo-web.qcow2';
const DEST: MigrateDestination = { ref: { uri: 'qemu+ssh://root@host2/system', name: 'host2', fromConfig: true }, host: createFakeHost([]).host };

function facts(o: { bridge?: boolean; shared?: boolean } = {}): MigrateFacts {
  return {
    guest: {
      name: 'demo-web',
      uuid: '11111111-2222-3333-4444-555555555555',
      state: 'running',
      domainType: 'qemu',
      memoryKiB: 524288,
      persistent: true,
      disks: [{ target: 'vda', source: DISK, format: 'qcow2', virtualSize: 16 << 20, fileBytes: 3 << 20 }],
      otherDisks: [],
      cdroms: [],
      nics: [{ type: 'bridge', source: 'br0', mac: '52:54:00:12:34:56', model: 'virtio' }] as MigrateFacts['guest']['nics'],
      snapshots: [],
      checkpoints: ['bk-1'],
      activeJob: null,
      xml: '<domain/>',
    },
    source: { name: 'local' },
    dest: {
      ref: DEST.ref,
      unreachable: null,
      offersKvm: false,
      cpu: null,
      networks: [],
      bridges: o.bridge === false ? [] : ['br0'],
      availableMemoryKiB: 4 << 20,
      guests: [],
      existing: [],
      availBytes: { [DISK]: 10 * 2 ** 30 },
      sharedStorage: Boolean(o.shared),
    },
  };
}

const linux = chooseTheme({ TERM: 'linux', LANG: 'C', NO_COLOR: '1' });
let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'vdtest-mgui-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

/** 80 columns and 24 rows at most; ASCII borders and marks (TERM=linux; the output layer maps the rest). */
function fits80Ascii(f: string): void {
  for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  expect(f.split('\n').length).toBeLessThanOrEqual(24);
  expect(f.startsWith('+---')).toBe(true);
}

type RunFn = (plan: Plan, o: { signal: AbortSignal; onEvent: (e: RunnerEvent) => void }) => Promise<RunResult>;

function setup(f: MigrateFacts, runFn?: RunFn) {
  let closed = 0;
  const plans: Plan[] = [];
  const host = createFakeHost(demoGuests()).host;
  const store = createMigrateWizard({
    host,
    guest: 'demo-web',
    stateDir: state,
    onClose: () => closed++,
    destination: (wanted) => {
      if (wanted !== 'host2') throw new Error(`unexpected ${wanted}`);
      return DEST;
    },
    gather: async () => f,
    run: async (_h, plan, o) => {
      plans.push(plan);
      return (runFn ?? (async () => ({ state: 'done', journal: { path: join(state, 'j.json') } }) as unknown as RunResult))(plan, o);
    },
  });
  const w = driveWizard(store, <MigrateWizardView store={store} theme={linux} />);
  return { ...w, store, plans, closed: () => closed };
}

describe('migration wizard at 80x24, TERM=linux', () => {
  it('destination, checks, options, the reviewed plan, progress from domjobinfo, and the result', async () => {
    let release: () => void = () => undefined;
    const t = setup(facts(), async (plan, o) => {
      o.onEvent({ type: 'step-start', index: 0, step: plan.steps[0]! });
      o.onEvent({ type: 'step-end', index: 0, step: plan.steps[0]! });
      o.onEvent({ type: 'step-start', index: 1, step: plan.steps[1]! });
      o.onEvent({ type: 'step-end', index: 1, step: plan.steps[1]! });
      o.onEvent({ type: 'step-start', index: 2, step: plan.steps[2]! });
      o.onEvent({
        type: 'progress',
        index: 2,
        progress: {
          percent: 40,
          bytesDone: 40 << 20,
          bytesTotal: 100 << 20,
          rateBps: 10 << 20,
          etaSeconds: 6,
          parts: [
            { label: 'memory (downtime ~300 ms)', percent: 50, bytesDone: 30 << 20, bytesTotal: 60 << 20, rateBps: 8 << 20, etaSeconds: 4 },
            { label: 'disks', percent: 25, bytesDone: 10 << 20, bytesTotal: 40 << 20, rateBps: 2 << 20, etaSeconds: 15 },
          ],
        },
      });
      await new Promise<void>((r) => {
        release = r;
      });
      o.onEvent({ type: 'log', line: 'downtime 312 ms' });
      o.onEvent({ type: 'step-end', index: 2, step: plan.steps[2]! });
      o.onEvent({ type: 'step-start', index: 3, step: plan.steps[3]! });
      o.onEvent({ type: 'step-end', index: 3, step: plan.steps[3]! });
      return { state: 'done', journal: { path: join(state, 'j.json') } } as unknown as RunResult;
    });
    let f = await t.waitFor('Migrate demo-web · step 1 of 4 · destination');
    fits80Ascii(f);
    t.type('host2');
    t.key('enter');
    f = await t.waitFor('step 2 of 4 · checks');
    fits80Ascii(f);
    expect(f).toContain('nothing has changed on either host');
    expect(f).toContain('[ok] host2 answers');
    expect(f).toContain('[ok] bridge br0 exists on host2');
    expect(f).toContain('[ok] not shared (marker not seen there): copy 3.0M; host2 has 10G free');
    t.key('enter');
    f = await t.waitFor('step 3 of 4 · options');
    fits80Ascii(f);
    // Not shared: the copy is preset.
    expect(t.state().form.fields.find((x) => x.id === 'copyStorage')?.value).toBe('yes');
    t.key('down');
    t.key('down');
    t.type('50');
    t.key('enter');
    f = await t.waitFor('step 4 of 4 · review');
    fits80Ascii(f);
    expect(f).toContain('next backup on host2 is a full one');
    expect(t.state().plan?.steps.map((s) => s.id)).toEqual(['drop-checkpoints', 'create-dest-disks', 'migrate', 'verify']);
    const argv = t.state().plan?.steps[2]?.command?.argv ?? [];
    expect(argv).toEqual(expect.arrayContaining(['--live', '--copy-storage-all', '--undefinesource', '--bandwidth', '50', '--migrateuri', 'tcp://host2']));
    t.key('enter');
    f = await t.waitFor('downtime ~300 ms');
    fits80Ascii(f);
    expect(f).toContain('Migrate demo-web to host2 · running');
    expect(f).toMatch(/disks/);
    expect(t.state().run?.spec && cancelQuestion(t.state().run!.spec)).toMatch(/^Cancel migration\? The migration stops \(domjobabort\)/);
    release();
    f = await t.waitFor('Migrate demo-web · done');
    fits80Ascii(f);
    expect(f).toContain('demo-web now runs on host2.');
    expect(f).toContain('downtime 312 ms');
    t.key('enter');
    expect(t.closed()).toBe(1);
    t.unmount();
  });

  it('a refusal shows its sentence and fix on the checks page, and the options step keeps refusing: no plan', async () => {
    const t = setup(facts({ bridge: false }));
    await t.waitFor('step 1 of 4');
    t.type('host2');
    t.key('enter');
    let f = await t.waitFor('step 2 of 4 · checks');
    fits80Ascii(f);
    expect(f).toContain('[!] demo-web is plugged into the bridge br0, which host2 does not');
    expect(f).toContain('Fix: Create the bridge br0 on host2');
    t.key('enter');
    await t.waitFor('step 3 of 4 · options');
    t.key('enter');
    f = await t.waitFor('bridge br0');
    expect(t.state().step).toBe('options');
    expect(t.state().plan).toBeNull();
    expect(t.plans).toEqual([]);
    t.key('esc');
    await t.waitFor('step 2 of 4 · checks');
    t.key('ctrl-c');
    expect(t.closed()).toBe(1);
    t.unmount();
  });

  it('"Delete here": the review names the files deleted on this host once the guest is checked there, as the plan\'s last step', async () => {
    const t = setup(facts(), async () => ({ state: 'done', journal: { path: join(state, 'j.json') } }) as unknown as RunResult);
    await t.waitFor('step 1 of 4');
    t.type('host2');
    t.key('enter');
    await t.waitFor('step 2 of 4 · checks');
    t.key('enter');
    let f = await t.waitFor('Delete here');
    fits80Ascii(f);
    for (let i = 0; i < 5; i++) t.key('down');
    t.key('right');
    expect(t.state().form.fields.find((x) => x.id === 'removeSource')?.value).toBe('yes');
    t.key('enter');
    f = await t.waitFor('step 4 of 4 · review');
    fits80Ascii(f);
    const plan = t.state().plan;
    expect(plan?.steps.at(-1)).toMatchObject({ id: 'remove-source-disks', final: true });
    const page = t.state().lines.map((l) => (typeof l === 'string' ? l : l.text).trim()).join(' ');
    const disk = t.state().facts?.guest.disks[0]?.source as string;
    expect(page).toContain(`its disk files on ${t.state().facts?.source.name} are deleted: ${disk}.`);
    expect(plan?.steps.at(-1)?.action?.args).toMatchObject({ paths: [disk] });
    t.unmount();
  });

  it('cancel asks, naming domjobabort; y cancels and the guest stays here', async () => {
    const t = setup(facts({ shared: true }), async (plan, o) => {
      o.onEvent({ type: 'step-start', index: 0, step: plan.steps[0]! });
      await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
      return { state: 'cancelled', journal: { path: join(state, 'j.json') } } as unknown as RunResult;
    });
    await t.waitFor('step 1 of 4');
    t.type('host2');
    t.key('enter');
    const checks = await t.waitFor('step 2 of 4');
    expect(checks).toContain('shared storage');
    t.key('enter');
    await t.waitFor('step 3 of 4');
    expect(t.state().form.fields.find((x) => x.id === 'copyStorage')?.value).toBe('no');
    t.key('enter');
    await t.waitFor('step 4 of 4');
    expect(t.state().plan?.steps[1]?.command?.argv).toContain('--unsafe');
    t.key('enter');
    await t.waitFor('running');
    t.key('ctrl-c');
    await t.waitFor('Cancel migration?');
    t.key('y');
    const f = await t.waitFor('Migrate demo-web · not done');
    fits80Ascii(f);
    expect(f).toContain('The migration was cancelled; demo-web stays on');
    t.unmount();
  });
});

describe('opening the wizard from the console', () => {
  it('m on a guest opens it; :migrate NAME HOST checks at once (an unknown host is refused on its field)', async () => {
    const { renderApp } = await import('./helpers.js');
    const app = await renderApp(undefined, { waitFor: 'demo-web' });
    await app.press('m');
    await app.waitFor(/Migrate demo-\w+ · step 1 of 4 · destination/);
    await app.press(ESC);
    await app.waitFor((fr) => !fr.includes('Migrate demo'));
    await app.press(':');
    await app.type('migrate demo-web nosuchhost');
    await app.press(KEYS.enter);
    const f = await app.waitFor(/nosuchhost/);
    expect(f).toContain('Migrate demo-web · step 1 of 4');
    const top = app.store.getState().dialogs.at(-1);
    expect(top?.kind === 'wizard' && top.wizard?.which).toBe('migrate');
    app.unmount();
  });
});
