import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { Launched } from '../../src/jobs/detached.js';
import { type Journal, listJournals } from '../../src/jobs/journal.js';
import { fieldValue } from '../../src/store/form.js';
import type { JobControllerOptions } from '../../src/store/jobs/jobController.js';
import { pressKey } from '../../src/store/keys/owners.js';
import { createP2vWizard } from '../../src/store/wizards/p2v/p2vWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { P2vWizardView } from '../../src/ui/wizards/P2vWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';
import { fakeQemuImgConvert } from './helpers.js';
import { driveWizard } from './wizardHarness.js';

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

function setup(sysOpts: Parameters<typeof scriptedSys>[0] = {}, jobScreen?: JobControllerOptions) {
  const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }]);
  const sys = withImageHeads(scriptedSys(sysOpts), { [DUMP]: { format: 'raw', size: 8388608 } });
  const host: HostContext = { ...fake.host, sysExec: sys };
  const closed: (string | null)[] = [];
  const store = createP2vWizard({ host, onClose: (d) => closed.push(d), stateDir: state, jobScreen });
  const w = driveWizard(store, <P2vWizardView store={store} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })} />);
  return { ...w, store, fake, sys, closed };
}

async function toFileSource(t: ReturnType<typeof setup>) {
  await t.waitFor('P2V · step 1 of 4 · source');
  expect(t.frame()).toContain('a remote machine over SSH');
  // Keys act on the store as they arrive: two → are the dump file, whatever React drew meanwhile.
  t.key('right');
  t.key('right');
  expect(t.state().source.fields.find((f) => f.id === 'kind')?.value).toBe('file');
  await t.waitFor('a raw dump file');
  t.key('down');
  await t.waitFor(/▶ Dump file/);
  t.type(DUMP);
  t.key('enter');
  return t.waitFor('step 2 of 4 · what was found');
}

describe('P2V wizard', () => {
  it('walks source → found → guest → review → run, with back, and defines the guest', async () => {
    const t = setup();
    const found = await toFileSource(t);
    expect(found).toMatch(/oldsrv\.img: 8(\.0)? ?Mi?B?, dos partition table/);
    expect(found).toContain('The source should be quiet');
    t.key('enter');
    let f = await t.waitFor('step 3 of 4 · the new guest');
    expect(f).toMatch(/Guest name\s+\[oldsrv/);
    // Back to what was found and forward again keeps the prefilled form.
    t.key('esc');
    await t.waitFor('step 2 of 4');
    t.key('enter');
    await t.waitFor('step 3 of 4');
    // MACs: one typed MAC (field 6).
    for (let i = 0; i < 5; i++) t.key('down');
    await t.waitFor(/▶ MACs/);
    t.type('00:50:56:aa:bb:cc');
    t.key('enter');
    f = await t.waitFor('step 4 of 4 · review');
    expect(f).toContain('qemu-img convert -p -f raw -O qcow2');
    expect(f).toMatch(/ln -- \/var\/lib\/libvirt\/images\/\.oldsrv\.qcow2\.virtdeck-part/);
    t.key('enter');
    f = await t.waitFor('P2V · done', 5000);
    expect(f).toContain('guest oldsrv defined: ide disk, e1000 00:50:56:aa:bb:cc');
    expect(t.fake.guests.map((g) => g.name)).toContain('oldsrv');
    t.key('enter');
    expect(t.closed).toEqual(['oldsrv']);
    expect(t.state().result).toMatchObject({ ok: true, defined: 'oldsrv' });
  });

  it('shows the refusal on the guest step and cancels a running copy', async () => {
    const t = setup({ holdConvert: true });
    await toFileSource(t);
    t.key('enter');
    await t.waitFor('step 3 of 4');
    // The name of an existing guest is refused where it can be fixed.
    t.key('backspace');
    for (let i = 0; i < 6; i++) t.key('backspace');
    t.type('web');
    t.key('enter');
    await t.waitFor('A guest called web already exists.');
    // The refusal names its field: the name is focused and carries it.
    expect(t.state().guest.error?.field).toBe('name');
    expect(t.state().guest.fields[t.state().guest.focus]?.id).toBe('name');
    for (let i = 0; i < 3; i++) t.key('backspace');
    t.type('old2');
    t.key('enter');
    await t.waitFor('review');
    t.key('enter');
    await t.waitFor('P2V · running');
    await t.waitFor(/40%/);
    t.key('esc');
    await t.waitFor('Cancel the P2V?');
    expect(t.state().jobs.view()?.asking).toBe(true);
    t.key('y');
    const f = await t.waitFor('P2V · not done', 5000);
    expect(f).toContain('cancelled; the partial copy was removed');
    expect(t.sys.calls.some((c) => c[0] === 'rm' && c.some((a) => a.endsWith('.old2.qcow2.virtdeck-part')))).toBe(true);
  });

  it('a dump file has no NIC: the new MAC the review shows is the same after going back, and the run uses it', async () => {
    const t = setup();
    await toFileSource(t);
    t.key('enter');
    await t.waitFor('step 3 of 4');
    t.key('enter');
    await t.waitFor('step 4 of 4 · review');
    const macIn = (lines: { text: string }[]) => lines.map((l) => l.text.trim()).join(' ').match(/^guest oldsrv: .* e1000 ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})/)?.[1];
    const first = macIn(t.state().lines);
    expect(first).toMatch(/^52:54:00:/);
    t.key('esc');
    await t.waitFor('step 3 of 4');
    t.key('enter');
    await t.waitFor('step 4 of 4 · review');
    expect(macIn(t.state().lines)).toBe(first);
    t.key('enter');
    await t.waitFor('P2V · done', 5000);
    expect(t.state().result?.lines.map((l) => l.text).join('\n')).toContain(`e1000 ${first}`);
  });

  it('Esc on the first step and Ctrl-C close without a guest', async () => {
    const t = setup();
    await t.waitFor('step 1 of 4');
    t.key('esc');
    expect(t.closed).toEqual([null]);
    const u = setup();
    await toFileSource(u);
    u.key('ctrl-c');
    expect(u.closed).toEqual([null]);
  });

  /*
   * Issue 11: over SSH, `Down r o o t Down Down 2 2 Down / k` sent in one burst gave Machine "oot"
   * and port "22/", and another burst made the source disk /dev/sda2: each key landed in the field
   * the last render had focused. Keys now act on the store as they arrive.
   */
  const BURST = '\u001B[Broot\u001B[B\u001B[B22\u001B[B/k';
  const sourceValues = (t: { state(): { source: Parameters<typeof fieldValue>[0] } }) =>
    Object.fromEntries(['sshTarget', 'sshDevice', 'sshPort', 'identity'].map((id) => [id, fieldValue(t.state().source, id)]));

  it('a burst typed over SSH, written to stdin at once, lands in the fields it was typed for', async () => {
    const t = setup();
    await t.waitFor('step 1 of 4');
    t.r.stdin.write(BURST);
    await t.until((s) => fieldValue(s.source, 'identity') === '/k');
    expect(sourceValues(t)).toEqual({ sshTarget: 'root', sshDevice: '/dev/sda', sshPort: '22', identity: '/k' });
    const f = await t.waitFor(/Key file\s+\[\/k/);
    expect(f).toMatch(/Machine\s+\[root\]/);
    expect(f).toMatch(/SSH port\s+\[22\]/);
    // The other burst: three ↓ then 22 is the port, never the disk there.
    const u = setup();
    await u.waitFor('step 1 of 4');
    u.r.stdin.write('\u001B[B\u001B[B\u001B[B22');
    await u.until((s) => fieldValue(s.source, 'sshPort') === '22');
    expect(sourceValues(u)).toEqual({ sshTarget: '', sshDevice: '/dev/sda', sshPort: '22', identity: '' });
    t.unmount();
    u.unmount();
  });

  it('the same burst through pressKey, key by key with no render between', () => {
    const closed: (string | null)[] = [];
    const store = createP2vWizard({ host: createFakeHost([]).host, onClose: (d) => closed.push(d), stateDir: state });
    const owner = store.getState().owner;
    for (const name of ['down', 'r', 'o', 'o', 't', 'down', 'down', '2', '2', 'down', '/', 'k']) pressKey(owner, { name, input: name.length === 1 ? name : '' });
    expect(sourceValues({ state: () => store.getState() })).toEqual({ sshTarget: 'root', sshDevice: '/dev/sda', sshPort: '22', identity: '/k' });
  });

  describe('issue 13 item 4: background and q during the copy', () => {
    /** A worker stand-in: records the journal it was given, as startWorker would have adopted it. */
    const worker = () => {
      const handed: Journal[] = [];
      const handOver = async (j: Journal): Promise<Launched> => {
        handed.push(j);
        return { id: j.record.id, pid: 4242, journalPath: j.path, logPath: `${j.path}.log`, via: 'setsid' };
      };
      return { handed, handOver };
    };
    async function toCopy(t: ReturnType<typeof setup>) {
      await toFileSource(t);
      t.key('enter');
      await t.waitFor('step 3 of 4');
      t.key('enter');
      await t.waitFor('step 4 of 4 · review');
      t.key('enter');
      await t.waitFor(/40%/);
    }
    const undid = (t: ReturnType<typeof setup>) => t.sys.calls.some((c) => c[0] === 'rm' && c.some((a) => a.includes('virtdeck-part')));

    it('b hands the running copy to a worker: nothing is undone, the journal stays running at the copy, Enter closes', async () => {
      const w = worker();
      const t = setup({ holdConvert: true }, { handOver: w.handOver });
      await toCopy(t);
      expect(t.frame()).toContain('b background');
      t.key('b');
      const f = await t.waitFor('goes on in a worker (pid 4242)');
      expect(f).toContain('Jobs pane (5)');
      expect(w.handed).toHaveLength(1);
      const [rec] = listJournals(state).map((j) => j.record);
      expect(rec?.state).toBe('running');
      expect(rec?.steps.some((x) => x.state === 'running')).toBe(true);
      expect(rec?.steps.some((x) => x.state === 'undone' || x.state === 'failed')).toBe(false);
      expect(undid(t)).toBe(false);
      expect(t.state().result).toBeNull();
      t.key('enter');
      expect(t.closed).toEqual([null]);
    });

    it('q asks wait / background / cancel; Esc stays, b hands over and then quits', async () => {
      const w = worker();
      let quits = 0;
      const t = setup({ holdConvert: true }, { handOver: w.handOver, quit: () => quits++ });
      await toCopy(t);
      expect(t.key('q')).toBe(true);
      let f = await t.waitFor('Quit while the P2V runs?');
      expect(f).toMatch(/b background, quit\s+w wait, then quit\s+c cancel the P2V, quit\s+Esc stay/);
      t.key('esc');
      expect(t.state().jobs.view()).toMatchObject({ quitting: false, state: 'running' });
      t.key('q');
      t.key('b');
      f = await t.waitFor('goes on in a worker');
      await t.until(() => quits === 1);
      expect(w.handed).toHaveLength(1);
      expect(undid(t)).toBe(false);
    });

    it('q then c cancels: the undo runs, then the console quits', async () => {
      let quits = 0;
      const t = setup({ holdConvert: true }, { quit: () => quits++ });
      await toCopy(t);
      t.key('q');
      await t.waitFor('Quit while the P2V runs?');
      t.key('c');
      await t.waitFor('P2V · not done', 5000);
      await t.until(() => quits === 1);
      expect(undid(t)).toBe(true);
      expect(listJournals(state)[0]?.record.state).toBe('cancelled');
    });

    it('q then w waits: the console quits once the job has ended well, not before', async () => {
      let quits = 0;
      const t = setup({}, { quit: () => quits++ });
      await toFileSource(t);
      t.key('enter');
      await t.waitFor('step 3 of 4');
      t.key('enter');
      await t.waitFor('step 4 of 4 · review');
      t.key('enter');
      expect(t.key('q')).toBe(true);
      expect(t.state().jobs.view()?.quitting).toBe(true);
      t.key('w');
      expect(quits).toBe(0);
      await t.waitFor('P2V · done', 5000);
      await t.until(() => quits === 1);
    });
  });
});
