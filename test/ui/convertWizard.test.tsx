import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ConvertWizard } from '../../src/ui/wizards/ConvertWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';
import { ESC, fakeQemuImgConvert, inkDriver, KEYS } from './helpers.js';

const IMAGE = '/srv/vm/web.raw';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function setup(sysOpts: Parameters<typeof scriptedSys>[0] = {}) {
  const fake = createFakeHost([{ name: 'web', state: 'shut off', vcpus: 1, memoryMiB: 512, disks: [{ target: 'hda', device: 'disk', bus: 'ide', source: IMAGE, format: 'raw' }] }]);
  const sys = withImageHeads(scriptedSys(sysOpts), { [IMAGE]: { format: 'raw', size: 2 * 1024 ** 3 } });
  const host: HostContext = { ...fake.host, sysExec: sys };
  const closed: (string | null)[] = [];
  const r = render(
    <ConvertWizard host={host} imagePath={IMAGE} info={{ format: 'raw', virtualSize: 2 * 1024 ** 3 }} onClose={(c) => closed.push(c)} stateDir={state} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })} />,
  );
  const { frame, waitFor, press } = inkDriver(r);
  return { r, sys, fake, closed, frame, waitFor, press };
}

let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'vdtest-cv-ui-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

/** Enter through the steps to the review screen. */
async function toReview(w: ReturnType<typeof setup>) {
  await w.waitFor('step 1 of 5 · disk');
  await w.press(KEYS.enter);
  await w.waitFor('step 2 of 5 · target format');
  await w.press(KEYS.enter);
  await w.waitFor('step 3 of 5 · destination');
  await w.press(KEYS.enter);
  await w.waitFor('step 4 of 5 · guest and original');
  await w.press(KEYS.enter);
  await w.waitFor('step 5 of 5 · review');
}

describe('convert wizard', () => {
  it('walks forward and back through every step and cancels from a step', async () => {
    const w = setup();
    let f = await w.waitFor('step 1 of 5 · disk');
    expect(f).toContain(IMAGE);
    expect(f).toContain('Selected image: raw, 2');
    await w.press(KEYS.enter);
    f = await w.waitFor('step 2 of 5');
    expect(f).toContain('VMware, growable');
    expect(f).toContain('used by web (hda, shut off)');
    await w.press(ESC);
    await w.waitFor('step 1 of 5');
    await w.press(KEYS.enter);
    await w.waitFor('step 2 of 5');
    await w.press('\u001B[C'); // → VMware, preallocated
    await w.waitFor('VMware, preallocated');
    await w.press(KEYS.enter);
    f = await w.waitFor('step 3 of 5 · destination');
    expect(f).toContain('/srv/vm/web.vmdk');
    await w.press(ESC);
    await w.waitFor('step 2 of 5');
    await w.press(KEYS.enter);
    await w.press(KEYS.enter);
    f = await w.waitFor('step 4 of 5');
    expect(f).toContain('Repoint guest');
    expect(f).toContain('Keep original');
    await w.press(ESC);
    await w.waitFor('step 3 of 5');
    await w.press(KEYS.ctrlC);
    expect(w.closed).toEqual([null]);
    w.r.unmount();
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
    await w.press('w');
    await w.waitFor('Saved as');
    expect(readdirSync(join(state, 'plans'))[0]).toMatch(/^convert-.*\.sh$/);
    await w.press(ESC);
    await w.waitFor('step 4 of 5');
    w.r.unmount();
  });

  it('repoints with a bus change: the review shows virsh define', async () => {
    const w = setup();
    await w.waitFor('step 1 of 5');
    await w.press(KEYS.enter);
    await w.waitFor('step 2 of 5');
    await w.press(KEYS.enter);
    await w.waitFor('step 3 of 5');
    await w.press(KEYS.enter);
    await w.waitFor('step 4 of 5');
    await w.press('\u001B[C'); // repoint: no → yes (cycles)
    await w.waitFor('Disk bus');
    await w.press(KEYS.down);
    await w.press('\u001B[C'); // bus: keep → virtio
    await w.waitFor('‹ virtio ›');
    await w.press(KEYS.enter);
    await w.waitFor('step 5 of 5');
    await w.press(KEYS.down);
    await w.press(KEYS.down);
    await w.press(KEYS.down);
    await w.waitFor('define --validate');
    w.r.unmount();
  });

  it('runs with progress, verifies, and ends on a summary', async () => {
    const w = setup();
    await toReview(w);
    await w.press(KEYS.enter);
    const f = await w.waitFor(/\d+%\s+[\d.]+\/2\.0 GiB/);
    expect(f).toContain('2/5 convert to vmdk monolithicSparse');
    const done = await w.waitFor('Convert disk · done');
    expect(done).toContain('identical to the original');
    expect(done).toContain('the original /srv/vm/web.raw is kept');
    await w.press(KEYS.enter);
    expect(w.closed).toEqual(['/srv/vm/web.vmdk']);
    w.r.unmount();
  });

  it('asks before cancelling a running conversion, then removes the partial copy', async () => {
    const w = setup({ holdConvert: true });
    await toReview(w);
    await w.press(KEYS.enter);
    await w.waitFor('61%');
    await w.press(ESC);
    await w.waitFor('Cancel the conversion? The partial copy will be removed.');
    await w.press('n');
    await sleep(50);
    expect(w.frame()).not.toContain('Cancel the conversion?');
    await w.press(KEYS.ctrlC);
    await w.waitFor('Cancel the conversion?');
    await w.press('y');
    const f = await w.waitFor('Convert disk · not done');
    expect(f).toContain('cancelled; the partial copy was removed');
    expect(w.sys.calls.some((c) => c[0] === 'rm' && c.includes('/srv/vm/.web.vmdk.virtdeck-tmp/web.vmdk'))).toBe(true);
    w.r.unmount();
  });

  it('shows a refusal inline on the step it belongs to', async () => {
    const w = setup({ existing: ['/srv/vm/web.vmdk'] });
    await w.waitFor('step 1 of 5');
    await w.press(KEYS.enter);
    await w.waitFor('step 2 of 5');
    await w.press(KEYS.enter);
    await w.waitFor('step 3 of 5');
    await w.press(KEYS.enter);
    const f = await w.waitFor('already exists');
    expect(f).toContain('step 3 of 5');
    expect(f).toContain('Fix: Choose another destination');
    w.r.unmount();
  });
});
