import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedEvacuation } from '../../src/jobs/evacuate.js';
import type { EvacuationRecord } from '../../src/jobs/evacuationRecord.js';
import type { MigrateDestination } from '../../src/jobs/migrate.js';
import type { RunnerEvent, RunResult } from '../../src/jobs/runner.js';
import { type EvacuateCandidate, planEvacuation, reviewEvacuation } from '../../src/model/evacuatePlan.js';
import type { MigrateFacts } from '../../src/model/migratePlan.js';
import type { Plan } from '../../src/model/plan.js';
import { cancelQuestion } from '../../src/store/jobs/runView.js';
import { paneScopes } from '../../src/store/keys/owners.js';
import { routeKey } from '../../src/store/keys/router.js';
import { createEvacuateWizard, type EvacuateChoice } from '../../src/store/wizards/evacuate/evacuateWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { EvacuateWizardView } from '../../src/ui/wizards/EvacuateWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { demoGuests } from './helpers.js';
import { driveWizard } from './wizardHarness.js';

/**
 * The evacuate wizard (Host pane `E`) at 80x24 with TERM=linux: where to → review (each guest
 * live, offline or staying, with the sentence) → confirm naming how many move → per-guest progress
 * → summary. The hosts' answers are given as facts (the real stack is test/integration/evacuate.test.ts).
 */

const TO = { uri: 'qemu+ssh://root@host2/system', name: 'host2', fromConfig: true };
const DEST: MigrateDestination = { ref: TO, host: createFakeHost([]).host };

function facts(name: string, o: { state?: MigrateFacts['guest']['state']; clash?: boolean } = {}): MigrateFacts {
  const disk = `/var/lib/libvirt/images/${name}.qcow2`;
  const uuid = `${name.padEnd(8, '0').slice(0, 8)}-2222-3333-4444-555555555555`;
  return {
    guest: {
      name,
      uuid,
      state: o.state ?? 'running',
      domainType: 'qemu',
      memoryKiB: 524288,
      persistent: true,
      disks: [{ target: 'vda', source: disk, format: 'qcow2', virtualSize: 16 << 20, fileBytes: 3 << 20 }],
      otherDisks: [],
      cdroms: [],
      nics: [],
      snapshots: [],
      checkpoints: [],
      activeJob: null,
      xml: '<domain/>',
    },
    source: { name: 'local', uri: 'qemu:///system' },
    dest: {
      ref: TO,
      unreachable: null,
      offersKvm: false,
      cpu: null,
      networks: [],
      bridges: [],
      availableMemoryKiB: 4 << 20,
      guests: o.clash ? [{ name, uuid: 'x' }] : [],
      existing: [],
      availBytes: { [disk]: 10 * 2 ** 30 },
      sharedStorage: false,
    },
  };
}

function prepared(shutOff: boolean, returning = false, removeSourceDisks = false): PreparedEvacuation {
  const cands: EvacuateCandidate[] = [facts('web'), facts('app', { clash: true }), facts('db', { state: 'shut off' })].map((f) => ({ name: f.guest.name, uuid: f.guest.uuid, state: f.guest.state, facts: f.guest.state === 'shut off' && !shutOff ? null : f }));
  const review = reviewEvacuation('local', TO, cands, { copyStorage: 'auto', migrateUri: 'tcp://host2', includeShutOff: shutOff, removeSourceDisks });
  return { review, plan: review.moving.length > 0 ? planEvacuation(review, { home: { uri: 'qemu:///system', name: 'local' }, away: TO, returning }) : null, record: null };
}

const linux = chooseTheme({ TERM: 'linux', LANG: 'C', NO_COLOR: '1' });
let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'vdtest-evui-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

function fits80Ascii(f: string): void {
  for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  expect(f.split('\n').length).toBeLessThanOrEqual(24);
  expect(f.startsWith('+---')).toBe(true);
}

const result = (st: RunResult['state'], steps: string[]) => ({ state: st, journal: { path: join(state, 'j.json'), record: { createdAt: new Date().toISOString(), steps: steps.map((s) => ({ state: s })) } } }) as unknown as RunResult;

type RunFn = (plan: Plan, o: { signal: AbortSignal; onEvent: (e: RunnerEvent) => void }) => Promise<RunResult>;

function setup(runFn: RunFn, records: EvacuationRecord[] = [], prepare: (choice: EvacuateChoice) => PreparedEvacuation = (c) => prepared(c.includeShutOff, c.returning)) {
  let closed = 0;
  const choices: EvacuateChoice[] = [];
  const store = createEvacuateWizard({
    host: createFakeHost(demoGuests()).host,
    stateDir: state,
    onClose: () => closed++,
    records: () => records,
    destination: (wanted) => {
      if (wanted !== 'host2') throw new Error(`unexpected ${wanted}`);
      return DEST;
    },
    prepare: async (_h, choice) => {
      choices.push(choice);
      return prepare(choice);
    },
    run: async (_h, plan, o) => runFn(plan, o),
  });
  const w = driveWizard(store, <EvacuateWizardView store={store} theme={linux} />);
  return { ...w, store, choices, closed: () => closed };
}

describe('evacuate wizard at 80x24, TERM=linux', () => {
  it('E is a Host pane key', () => {
    expect(routeKey(paneScopes('host'), { name: 'E', input: 'E' })?.action).toBe('evacuate');
  });

  it('where to, the review with the refused guest and its fix, a confirmation naming how many move, per-guest progress, the summary', async () => {
    let release: () => void = () => undefined;
    const t = setup(async (plan, o) => {
      o.onEvent({ type: 'step-start', index: 0, step: plan.steps[0]! });
      o.onEvent({ type: 'log', line: 'web 2/3: move web live to host2, copying its disks' });
      o.onEvent({
        type: 'progress',
        index: 0,
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
      o.onEvent({ type: 'step-end', index: 0, step: plan.steps[0]! });
      o.onEvent({ type: 'step-start', index: 1, step: plan.steps[1]! });
      o.onEvent({ type: 'step-end', index: 1, step: plan.steps[1]! });
      return result('done', ['done', 'done']);
    });
    let f = await t.waitFor('Evacuate fakehost · step 1 of 3 · where to');
    fits80Ascii(f);
    t.type('host2');
    t.key('down');
    t.key('right');
    t.key('enter');
    f = await t.waitFor('step 2 of 3 · review');
    fits80Ascii(f);
    expect(t.choices[0]).toMatchObject({ to: 'host2', includeShutOff: true, copyStorage: 'auto', returning: false });
    expect(f).toContain('2 of 3 guest(s) move from local to host2, one at a time; nothing has');
    expect(f).toContain('[ok] web: live, copying 3.0M');
    expect(f).toContain('[ok] db: offline, copying 3.0M');
    expect(f).toContain('[!] app stays: host2 already has a guest named app.');
    expect(f).toContain('Fix: Rename or remove that guest on host2 first');
    expect(f).toContain('1 running guest(s) stay on local: app.');
    t.key('enter');
    f = await t.waitFor('step 3 of 3 · confirm');
    fits80Ascii(f);
    expect(f).toContain('Move 2 guest(s) from local to host2 now?');
    t.key('enter');
    f = await t.waitFor('downtime ~300 ms');
    fits80Ascii(f);
    expect(f).toContain('Evacuate fakehost to host2 · running');
    expect(f).toContain('1/2 move web live to host2, copying its disks');
    expect(f).toContain('web 2/3: move web live');
    expect(f).toMatch(/disks/);
    expect(t.state().run?.spec && cancelQuestion(t.state().run!.spec)).toMatch(/^Cancel evacuation\? The guest being moved stops moving \(domjobabort\)/);
    release();
    f = await t.waitFor('not all moved');
    fits80Ascii(f);
    expect(f).toContain('2 of 3 guest(s) moved to host2: web, db.');
    expect(f).toContain('skipped app: host2 already has a guest named app.');
    t.key('enter');
    expect(t.closed()).toBe(1);
    t.unmount();
  });

  it('twenty guests: the running screen shows a window around the guest being moved and counts the rest, within 80x24', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `g${String(i + 1).padStart(2, '0')}`);
    const twenty = (): PreparedEvacuation => {
      // Room on host2 for all twenty.
      const cands: EvacuateCandidate[] = names.map((n) => facts(n)).map((f) => ({ name: f.guest.name, uuid: f.guest.uuid, state: f.guest.state, facts: { ...f, dest: { ...f.dest, availableMemoryKiB: 64 << 20 } } }));
      const review = reviewEvacuation('local', TO, cands, { copyStorage: 'auto', migrateUri: 'tcp://host2', includeShutOff: false });
      return { review, plan: planEvacuation(review, { home: { uri: 'qemu:///system', name: 'local' }, away: TO, returning: false }), record: null };
    };
    let release: () => void = () => undefined;
    let steps = 0;
    const t = setup(
      async (plan, o) => {
        steps = plan.steps.length;
        for (let i = 0; i < 12; i++) {
          o.onEvent({ type: 'step-start', index: i, step: plan.steps[i]! });
          o.onEvent({ type: 'step-end', index: i, step: plan.steps[i]! });
        }
        o.onEvent({ type: 'step-start', index: 12, step: plan.steps[12]! });
        o.onEvent({ type: 'log', line: 'g13 2/3: move g13 live to host2, copying its disks' });
        o.onEvent({
          type: 'progress',
          index: 12,
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
        return result('cancelled', plan.steps.map((_, i) => (i < 12 ? 'done' : 'pending')));
      },
      [],
      twenty,
    );
    await t.waitFor('step 1 of 3');
    t.type('host2');
    t.key('enter');
    await t.waitFor('step 2 of 3');
    t.key('enter');
    await t.waitFor('step 3 of 3');
    t.key('enter');
    let f = await t.waitFor('downtime ~300 ms');
    fits80Ascii(f);
    expect(steps).toBeGreaterThanOrEqual(20);
    expect(f).toContain(`13/${steps} move g13 live to host2`);
    expect(f).toContain(`12/${steps} move g12`);
    expect(f).toContain('... 10 step(s) above (10 done)');
    expect(f).toContain(`20/${steps} move g20`);
    expect(f).not.toContain(`10/${steps} move g10`);
    // The cancel question takes rows too: the window gives up the last steps, counted below.
    t.key('ctrl-c');
    f = await t.waitFor('Cancel evacuation?');
    fits80Ascii(f);
    expect(f).toContain(`13/${steps} move g13 live to host2`);
    expect(f).toMatch(/\.\.\. \d+ more step\(s\) below/);
    t.key('n');
    release();
    t.unmount();
  });

  it('cancel asks; y stops at the guest being moved, and the summary says which moved and which did not', async () => {
    const t = setup(async (plan, o) => {
      o.onEvent({ type: 'step-start', index: 0, step: plan.steps[0]! });
      o.onEvent({ type: 'step-end', index: 0, step: plan.steps[0]! });
      o.onEvent({ type: 'step-start', index: 1, step: plan.steps[1]! });
      await new Promise<void>((r) => o.signal.addEventListener('abort', () => r(), { once: true }));
      return result('cancelled', ['done', 'failed']);
    });
    await t.waitFor('step 1 of 3');
    t.type('host2');
    t.key('down');
    t.key('right');
    t.key('enter');
    await t.waitFor('step 2 of 3');
    t.key('enter');
    await t.waitFor('step 3 of 3');
    t.key('enter');
    await t.waitFor('running');
    t.key('ctrl-c');
    await t.waitFor('Cancel evacuation?');
    t.key('y');
    const f = await t.waitFor('not all moved');
    fits80Ascii(f);
    expect(f).toContain('1 of 3 guest(s) moved to host2: web.');
    expect(f).toContain('cancelled db');
    t.unmount();
  });

  it('without "Shut-off too" the shut-off guest stays, and the review says how to move it', async () => {
    const t = setup(async () => result('done', []));
    await t.waitFor('step 1 of 3');
    t.type('host2');
    t.key('enter');
    const f = await t.waitFor('step 2 of 3');
    expect(f).toContain('[!] db stays: shut off; left here (--include-shut-off moves it');
    expect(t.state().prepared?.plan?.steps).toHaveLength(1);
    t.unmount();
  });

  it('offers to bring guests home when an evacuation has guests away', async () => {
    const record: EvacuationRecord = {
      home: { uri: 'qemu:///system', name: 'local' },
      to: TO,
      updatedAt: new Date().toISOString(),
      guests: [{ name: 'web', uuid: '11111111-2222-3333-4444-555555555555', mode: 'live', state: 'moved', leftFiles: [] }],
    };
    const t = setup(async () => result('done', []), [record]);
    let f = await t.waitFor('step 1 of 3');
    expect(f).toContain('evacuate');
    t.key('right');
    f = await t.waitFor('bring 1 home from host2');
    fits80Ascii(f);
    t.key('enter');
    await t.waitFor('step 2 of 3');
    expect(t.choices[0]).toMatchObject({ returning: true, to: TO.uri });
    t.unmount();
  });
});

describe('deleting the disks a move leaves behind', () => {
  it('"Delete old disks: yes" asks the review for it, and the confirmation names every file it deletes and where', async () => {
    const t = setup(
      async () => result('done', []),
      [],
      (c) => prepared(c.includeShutOff, c.returning, c.removeSourceDisks),
    );
    await t.waitFor('step 1 of 3');
    t.type('host2');
    for (let i = 0; i < 4; i++) t.key('down');
    let f = await t.waitFor('Delete old disks');
    fits80Ascii(f);
    t.key('right');
    t.key('enter');
    f = await t.waitFor('step 2 of 3 · review');
    expect(t.choices[0]).toMatchObject({ to: 'host2', removeSourceDisks: true });
    expect(f).toContain('its disk files on local are deleted');
    t.key('enter');
    f = await t.waitFor('step 3 of 3 · confirm');
    fits80Ascii(f);
    expect(f.replace(/\s*\|\s*\n\|\s*/g, ' ')).toContain('Deletes on local once each guest is checked on host2: /var/lib/libvirt/images/web.qcow2');
    t.unmount();
  });
});

describe('opening the wizard from the console', () => {
  it('E in the Host pane opens it; :evacuate HOST reviews at once (an unknown host is refused on its field)', async () => {
    const { renderApp, ESC, KEYS } = await import('./helpers.js');
    const app = await renderApp(undefined, { waitFor: 'demo-web' });
    await app.press('4');
    await app.press('E');
    await app.waitFor('Evacuate fakehost · step 1 of 3 · where to');
    await app.press(ESC);
    await app.waitFor((fr) => !fr.includes('Evacuate fakehost'));
    await app.press(':');
    await app.type('evacuate nosuchhost');
    await app.press(KEYS.enter);
    const f = await app.waitFor(/nosuchhost/);
    expect(f).toContain('Evacuate fakehost · step 1 of 3');
    const top = app.store.getState().dialogs.at(-1);
    expect(top?.kind === 'wizard' && top.wizard?.which).toBe('evacuate');
    app.unmount();
  });
});
