import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { P2vWizard } from '../../src/ui/wizards/P2vWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';
import { ESC, fakeQemuImgConvert, inkDriver, KEYS } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DUMP = '/srv/dumps/oldsrv.img';
const SFDISK = JSON.stringify({ partitiontable: { label: 'dos', sectorsize: 512, partitions: [{ node: `${DUMP}1`, start: 2048, size: 16384, type: '7' }] } });

/** The file side of a host for P2V from a dump file: stat, sfdisk, df, tests, and a qemu-img convert that can be held. */
function scriptedSys(opts: { holdConvert?: boolean } = {}): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  const ok = (argv: string[], stdout = '', exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
  return {
    label: 'local',
    calls,
    interactive: async () => 0,
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      calls.push(argv);
      const [cmd, sub] = argv;
      if (cmd === 'stat') return ok(argv, '8388608\n');
      if (cmd === 'sfdisk') return ok(argv, SFDISK);
      if (cmd === 'df') return ok(argv, '    Avail\n50000000000\n');
      if (cmd === 'sh') return ok(argv, '');
      if (cmd === 'qemu-img' && sub === 'convert') return fakeQemuImgConvert(argv, o, [0, 40], opts.holdConvert);
      if (cmd === 'qemu-img' && sub === 'compare') return ok(argv, 'Images are identical.\n');
      return ok(argv);
    },
  };
}

let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'vdtest-p2v-ui-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

function setup(sysOpts: Parameters<typeof scriptedSys>[0] = {}) {
  const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }]);
  const sys = withImageHeads(scriptedSys(sysOpts), { [DUMP]: { format: 'raw', size: 8388608 } });
  const host: HostContext = { ...fake.host, sysExec: sys };
  const closed: (string | null)[] = [];
  const r = render(<P2vWizard host={host} onClose={(d) => closed.push(d)} stateDir={state} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })} />);
  const { frame, waitFor, press, type } = inkDriver(r);
  return { r, fake, sys, closed, frame, waitFor, press, type };
}

const RIGHT = '\u001B[C';

async function toFileSource(t: ReturnType<typeof setup>) {
  await t.waitFor('P2V · step 1 of 4 · source');
  expect(t.frame()).toContain('a remote machine over SSH');
  // A key can arrive before Ink binds the field's handler under load: press until the choice shows.
  for (let i = 0; i < 20 && !t.frame().includes('a raw dump file'); i++) {
    await t.press(RIGHT);
    await sleep(30);
  }
  await t.waitFor('a raw dump file');
  await t.press(KEYS.down);
  await t.waitFor(/▶ Dump file/);
  await t.type(DUMP);
  await t.press(KEYS.enter);
  return t.waitFor('step 2 of 4 · what was found');
}

describe('P2V wizard', () => {
  it('walks source → found → guest → review → run, with back, and defines the guest', async () => {
    const t = setup();
    const found = await toFileSource(t);
    expect(found).toMatch(/oldsrv\.img: 8(\.0)? ?Mi?B?, dos partition table/);
    expect(found).toContain('The source should be quiet');
    await t.press(KEYS.enter);
    let f = await t.waitFor('step 3 of 4 · the new guest');
    expect(f).toMatch(/Guest name\s+\[oldsrv/);
    // Back to what was found and forward again keeps the prefilled form.
    await t.press(ESC);
    await t.waitFor('step 2 of 4');
    await t.press(KEYS.enter);
    await t.waitFor('step 3 of 4');
    // MACs: one typed MAC (field 6).
    for (let i = 0; i < 5; i++) await t.press(KEYS.down);
    await t.waitFor(/▶ MACs/);
    await t.type('00:50:56:aa:bb:cc');
    await t.press(KEYS.enter);
    f = await t.waitFor('step 4 of 4 · review');
    expect(f).toContain('qemu-img convert -p -f raw -O qcow2');
    expect(f).toMatch(/ln -- \/var\/lib\/libvirt\/images\/\.oldsrv\.qcow2\.virtdeck-part/);
    await t.press(KEYS.enter);
    f = await t.waitFor('P2V · done', 5000);
    expect(f).toContain('guest oldsrv defined: ide disk, e1000 00:50:56:aa:bb:cc');
    expect(t.fake.guests.map((g) => g.name)).toContain('oldsrv');
    await t.press(KEYS.enter);
    expect(t.closed).toEqual(['oldsrv']);
  });

  it('shows the refusal on the guest step and cancels a running copy', async () => {
    const t = setup({ holdConvert: true });
    await toFileSource(t);
    await t.press(KEYS.enter);
    await t.waitFor('step 3 of 4');
    // The name of an existing guest is refused where it can be fixed.
    await t.press(KEYS.backspace.repeat(1));
    for (let i = 0; i < 6; i++) await t.press(KEYS.backspace);
    await t.type('web');
    await t.press(KEYS.enter);
    await t.waitFor('A guest called web already exists.');
    for (let i = 0; i < 3; i++) await t.press(KEYS.backspace);
    await t.type('old2');
    await t.press(KEYS.enter);
    await t.waitFor('review');
    await t.press(KEYS.enter);
    await t.waitFor('P2V · running');
    await t.waitFor(/40%/);
    await t.press(ESC);
    await t.waitFor('Cancel the P2V?');
    await t.press('y');
    const f = await t.waitFor('P2V · not done', 5000);
    expect(f).toContain('cancelled; the partial copy was removed');
    expect(t.sys.calls.some((c) => c[0] === 'rm' && c.some((a) => a.endsWith('.old2.qcow2.virtdeck-part')))).toBe(true);
  });

  it('Esc on the first step and Ctrl-C close without a guest', async () => {
    const t = setup();
    await t.waitFor('step 1 of 4');
    await t.press(ESC);
    expect(t.closed).toEqual([null]);
    const u = setup();
    await toFileSource(u);
    await u.press(KEYS.ctrlC);
    expect(u.closed).toEqual([null]);
  });
});
