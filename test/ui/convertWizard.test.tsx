import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { Launched } from '../../src/jobs/detached.js';
import { fieldValue } from '../../src/store/form.js';
import type { ConvertStepId } from '../../src/store/wizards/convert/convertForm.js';
import { type ConvertWizardDeps, createConvertWizard } from '../../src/store/wizards/convert/convertWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ConvertWizardView } from '../../src/ui/wizards/ConvertWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';
import { wizardDriver } from './diskWizardDriver.js';
import { fakeQemuImgConvert } from './helpers.js';

const IMAGE = '/srv/vm/web.raw';

/**
 * The file side of a host for the convert wizard: qemu-img info/measure answers, df, test, and a
 * qemu-img convert that reports progress in steps and can be held until cancelled.
 */
function scriptedSys(opts: { existing?: string[]; holdConvert?: boolean } = {}): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  const ok = (argv: string[], stdout = '', exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
  return {
    label: 'local',
    calls,
    interactive: async () => 0,
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      calls.push(argv);
      const words = argv[0] === 'setpriv' ? argv.slice(argv.indexOf('--') + 1) : argv;
      const [cmd, sub] = words;
      if (cmd === 'test' && argv[2] === '-ef') return ok(argv, '', 1);
      if (cmd === 'test') return ok(argv);
      if (cmd === 'sh' && argv[2]?.includes('test -e')) return ok(argv, (opts.existing ?? []).map((p) => `${p}\0`).join(''));
      if (cmd === 'df') return ok(argv, '    Avail\n50000000000\n');
      if (cmd === 'qemu-img' && sub === 'info') return ok(argv, JSON.stringify({ filename: IMAGE, format: 'raw', 'virtual-size': 2 * 1024 ** 3, 'actual-size': 1024 ** 3 }));
      if (cmd === 'qemu-img' && sub === 'measure') return ok(argv, JSON.stringify({ required: 1024 ** 3, 'fully-allocated': 2 * 1024 ** 3 }));
      if (cmd === 'qemu-img' && sub === 'convert') return fakeQemuImgConvert(argv, o, [0, 25, 61], opts.holdConvert);
      return ok(argv);
    },
  };
}

function setup(sysOpts: Parameters<typeof scriptedSys>[0] = {}, opts: Pick<ConvertWizardDeps, 'launch' | 'cancelWorker' | 'jobScreen'> & { guestState?: 'running' } = {}) {
  const fake = createFakeHost([{ name: 'web', state: opts.guestState ?? 'shut off', vcpus: 1, memoryMiB: 512, disks: [{ target: 'hda', device: 'disk', bus: 'ide', source: IMAGE, format: 'raw' }] }]);
  const sys = withImageHeads(scriptedSys(sysOpts), { [IMAGE]: { format: 'raw', size: 2 * 1024 ** 3 } });
  const host: HostContext = { ...fake.host, sysExec: sys };
  const closed: (string | null)[] = [];
  const wizard = createConvertWizard({ host, imagePath: IMAGE, info: { format: 'raw', virtualSize: 2 * 1024 ** 3 }, onClose: (c) => closed.push(c), stateDir: state, launch: opts.launch, cancelWorker: opts.cancelWorker, jobScreen: opts.jobScreen });
  const d = wizardDriver(wizard, <ConvertWizardView store={wizard} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })} />);
  return { ...d, wizard, sys, fake, closed };
}

let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'vdtest-cv-ui-'));
});
afterEach(() => {
  cleanup();
  rmSync(state, { recursive: true, force: true });
});

type W = ReturnType<typeof setup>;
/** Enter on a step and wait for the host check to take the wizard to `step`. */
async function enterTo(w: W, step: ConvertStepId) {
  expect(w.press('enter')).toBe(true);
  await w.until((s) => s.step === step && !s.checking);
}

/** Enter through the steps to the review screen. */
async function toReview(w: W) {
  expect(w.state().step).toBe('disk');
  await enterTo(w, 'target');
  await enterTo(w, 'dest');
  await enterTo(w, 'options');
  await enterTo(w, 'review');
  await w.waitFrame('step 5 of 5 · review');
}

describe('convert wizard', () => {
  it('walks forward and back through every step and cancels from a step', async () => {
    const w = setup();
    let f = await w.waitFrame('step 1 of 5 · disk');
    expect(f).toContain(IMAGE);
    expect(f).toContain('Selected image: raw, 2');
    expect(fieldValue(w.state().form, 'source')).toBe(IMAGE);
    await enterTo(w, 'target');
    f = await w.waitFrame('step 2 of 5');
    expect(f).toContain('VMware, growable');
    expect(f).toContain('used by web (hda, shut off)');
    w.press('esc');
    expect(w.state().step).toBe('disk');
    await w.waitFrame('step 1 of 5');
    await enterTo(w, 'target');
    w.press('right'); // → VMware, preallocated
    expect(w.state().values.preset).toBe('vmware-flat');
    await w.waitFrame('VMware, preallocated');
    await enterTo(w, 'dest');
    f = await w.waitFrame('step 3 of 5 · destination');
    expect(f).toContain('/srv/vm/web.vmdk');
    w.press('esc');
    expect(w.state().step).toBe('target');
    await enterTo(w, 'dest');
    await enterTo(w, 'options');
    f = await w.waitFrame('step 4 of 5');
    expect(f).toContain('Repoint guest');
    expect(f).toContain('Keep original');
    w.press('esc');
    expect(w.state().step).toBe('dest');
    await w.waitFrame('step 3 of 5');
    w.press('ctrl-c');
    expect(w.closed).toEqual([null]);
  });

  it('shows the exact commands on review, saves them as a script, and Esc goes back', async () => {
    const w = setup();
    await toReview(w);
    const f = w.frame();
    expect(f).toContain('qemu-img convert -p -f raw -O vmdk -o');
    expect(f).toContain('subformat=monolithicSparse,compat6=on,adapter_type=lsilogic');
    expect(f).toContain('/srv/vm/.web.vmdk.virtdeck-tmp/web.vmdk');
    expect(f).toContain('mkdir -p -m 0700 -- /srv/vm/.web.vmdk.virtdeck-tmp');
    expect(f).toContain('qemu-img compare');
    expect(f.split('\n').length).toBeLessThanOrEqual(24);
    expect(f.split('\n').every((l) => l.length <= 80)).toBe(true);
    // The hint line is the table's rows for the review.
    expect(f).toContain('Enter run');
    expect(f).toContain('w save as script');
    expect(f).toContain('b run in background');
    w.press('w');
    expect(w.state().message).toMatch(/^Saved as /);
    await w.waitFrame('Saved as');
    expect(readdirSync(join(state, 'plans'))[0]).toMatch(/^convert-.*\.sh$/);
    w.press('esc');
    expect(w.state().step).toBe('options');
    await w.waitFrame('step 4 of 5');
  });

  it('repoints with a bus change: the review shows virsh define', async () => {
    const w = setup();
    await enterTo(w, 'target');
    await enterTo(w, 'dest');
    await enterTo(w, 'options');
    w.press('right'); // repoint: no → yes (cycles)
    await w.waitFrame('Disk bus');
    w.press('down');
    w.press('right'); // bus: keep → virtio
    expect(w.state().values).toMatchObject({ repoint: 'yes', bus: 'virtio' });
    await w.waitFrame('‹ virtio ›');
    await enterTo(w, 'review');
    w.press('down');
    w.press('down');
    w.press('down');
    expect(w.state().scroll).toBe(Math.min(3, Math.max(0, w.state().review.length - 12)));
    expect(w.state().review.some((l) => l.text.includes('define --validate'))).toBe(true);
    await w.waitFrame('define --validate');
  });

  it('runs with progress, verifies, and ends on a summary', async () => {
    const w = setup();
    await toReview(w);
    w.press('enter');
    const f = await w.waitFrame(/\d+%\s+[\d.]+\/2\.0 GiB/);
    expect(f).toContain('2/5 convert to vmdk monolithicSparse');
    await w.until((s) => s.result !== null);
    const done = await w.waitFrame('Convert disk · done');
    expect(done).toContain('identical to the original');
    expect(done).toContain('the original /srv/vm/web.raw is kept');
    w.press('enter');
    expect(w.closed).toEqual(['/srv/vm/web.vmdk']);
  });

  it('asks before cancelling a running conversion, then removes the partial copy', async () => {
    const w = setup({ holdConvert: true });
    await toReview(w);
    w.press('enter');
    await w.waitFrame('61%');
    await new Promise((r) => setTimeout(r, 100)); // the fake copy waits for its cancel from here on
    w.press('esc');
    expect(w.state().run?.asking).toBe(true);
    const asked = await w.waitFrame('Cancel the conversion? The partial copy will be removed.');
    expect(asked).toContain('y cancel the conversion   n keep going');
    w.press('n');
    expect(w.state().run?.asking).toBe(false);
    await w.waitFrame((f) => !f.includes('Cancel the conversion?'));
    w.press('ctrl-c');
    await w.waitFrame('Cancel the conversion?');
    w.press('y');
    await w.until((s) => s.result !== null);
    const f = await w.waitFrame('Convert disk · not done');
    expect(f).toContain('cancelled; the partial copy was removed');
    expect(w.sys.calls.some((c) => c[0] === 'rm' && c.includes('/srv/vm/.web.vmdk.virtdeck-tmp/web.vmdk'))).toBe(true);
  });

  it('shows a refusal inline on the step it belongs to', async () => {
    const w = setup({ existing: ['/srv/vm/web.vmdk'] });
    await enterTo(w, 'target');
    await enterTo(w, 'dest');
    w.press('enter');
    const s = await w.until((x) => x.problems.length > 0);
    // The refusal names its field: the destination, which has the focus.
    expect(s.step).toBe('dest');
    expect(s.form.error?.field).toBe('dest');
    const f = await w.waitFrame('already exists');
    expect(f).toContain('step 3 of 5');
    expect(f).toContain('Fix: Choose another destination');
  });

  it('b then Enter on the review starts the job once: in a worker, never also here', async () => {
    const launched: string[] = [];
    const w = setup({}, { launch: async (plan) => {
      launched.push(plan.title);
      return { id: 'job-1', pid: 4242, journalPath: '/x', logPath: '/y', via: 'setsid' };
    } });
    await toReview(w);
    // Both keys in one burst: the second arrives before anything was drawn.
    w.press('b');
    w.press('enter');
    w.press('b');
    await w.until((s) => s.result !== null);
    expect(launched).toHaveLength(1);
    // The worker's job went through the job controller: it is shown as detached.
    expect(w.state().run?.state).toBe('detached');
    expect(w.sys.calls.some((c) => c.includes('convert'))).toBe(false);
    const f = await w.waitFrame('Started job job-1 in a worker');
    expect(f).toContain('running in the background');
    w.press('enter');
    expect(w.closed).toEqual([null]);
  });

  // Changed by issue 13 item 4: b during a job run here hands its journal to a worker (before, b
  // did nothing there). What stays true: the job starts once, and no second plan is launched.
  it('Enter then b starts the job here once, then hands that same journal to a worker; nothing starts twice', async () => {
    let launches = 0;
    const handed: string[] = [];
    const w = setup({ holdConvert: true }, {
      launch: async () => {
        launches++;
        throw new Error('not expected');
      },
      jobScreen: {
        handOver: async (j) => {
          handed.push(j.record.id);
          return { id: j.record.id, pid: 4242, journalPath: j.path, logPath: '/x', via: 'setsid' };
        },
      },
    });
    await toReview(w);
    w.press('enter');
    w.press('b');
    w.press('enter');
    await w.until((s) => s.run?.state === 'detached');
    await w.wizard.getState().startInBackground();
    await w.wizard.getState().start();
    expect(launches).toBe(0);
    expect(handed).toHaveLength(1);
    // Handed over after the first step: the worker runs the copy, not this process.
    expect(w.sys.calls.filter((c) => c.includes('convert')).length).toBe(0);
    expect(w.state().result).toBeNull();
    await w.waitFrame('goes on in a worker (pid 4242)');
    w.press('enter');
    expect(w.closed).toEqual([null]);
  });

  it('b: cancelling while the worker starts asks first, then stops the worker once it runs', async () => {
    const cancelled: string[] = [];
    let started: (v: Launched) => void = () => {};
    const w = setup({}, { launch: () => new Promise<Launched>((res) => { started = res; }), cancelWorker: async (id) => { cancelled.push(id); } });
    await toReview(w);
    w.press('b');
    expect(w.state().run?.state).toBe('running');
    w.press('esc');
    expect(w.state().run?.asking).toBe(true);
    expect(await w.waitFrame('Cancel the conversion? The partial copy will be removed.')).toContain('y cancel the conversion');
    w.press('y');
    started({ id: 'job-2', pid: 1, journalPath: '/x', logPath: '/y', via: 'setsid' });
    await w.until((s) => s.result !== null);
    expect(cancelled).toEqual(['job-2']);
    expect(w.state().run?.state).toBe('cancelled');
    await w.waitFrame('Job job-2 was cancelled');
  });

  it('a refusal about the source stays on the first step, on the image field', async () => {
    const w = setup({}, { guestState: 'running' });
    w.press('enter');
    const s = await w.until((x) => x.problems.length > 0);
    expect(s.step).toBe('disk');
    expect(s.form.error?.field).toBe('source');
    expect(await w.waitFrame('not shut off')).toContain('step 1 of 5');
  });

  it('an emptied destination stays empty: what is typed is the whole path', async () => {
    const w = setup();
    await enterTo(w, 'target');
    await enterTo(w, 'dest');
    expect(fieldValue(w.state().form, 'dest')).toBe('/srv/vm/web.vmdk');
    w.press('ctrl-u');
    expect(fieldValue(w.state().form, 'dest')).toBe('');
    w.type('/srv/vm/copy.vmdk');
    expect(fieldValue(w.state().form, 'dest')).toBe('/srv/vm/copy.vmdk');
    await enterTo(w, 'options');
    expect(w.state().prepared?.request.dest).toBe('/srv/vm/copy.vmdk');
    await w.waitFrame('New image: /srv/vm/copy.vmdk');
  });
});
