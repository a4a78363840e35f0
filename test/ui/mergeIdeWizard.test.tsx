import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { cancelQuestion } from '../../src/store/jobs/runView.js';
import { createMergeIdeWizard, MERGEIDE_ROWS } from '../../src/store/wizards/mergeide/mergeIdeWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { MergeIdeWizardView } from '../../src/ui/wizards/MergeIdeWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { ESC, KEYS } from './helpers.js';
import { driveWizard } from './wizardHarness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DISK = '/srv/vm/win2003.qcow2';
const MARK = '@@virtdeck-mi@@';

/**
 * The file side for MergeIDE: a guestfish scan that finds the hive, a hive with two control sets
 * (listed through the Perl binding) and Select\Current = 1, and xorriso for the ISO.
 */
function scriptedSys(opts: { holdIso?: boolean } = {}): Executor & { calls: string[][] } {
  const calls: string[][] = [];
  const ok = (argv: string[], stdout = ''): ExecResult => ({ argv, exitCode: 0, stdout, stderr: '' });
  return {
    label: 'local',
    calls,
    interactive: async () => 0,
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      calls.push(argv);
      const [cmd, a1] = argv;
      if (cmd === 'guestfish') {
        await sleep(30);
        return ok(argv, `${MARK} os\n${MARK} fs\n/dev/sda1: ntfs\n${MARK} fs-end\n${MARK} try 1\n/WINDOWS/system32/config/system\n${MARK} drivers 1\n/WINDOWS/system32/drivers\n${MARK} end\n`);
      }
      if (cmd === 'perl') return ok(argv, argv.length === 4 ? 'ControlSet001\nControlSet002\nSelect\n' : '');
      if (cmd === 'hivexregedit' && a1 === '--export') return ok(argv, 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\Select]\n"Current"=dword:00000001\n');
      if (cmd === 'sh' && argv[2]?.includes('test -e')) return ok(argv, '');
      if (cmd === 'xorriso' && argv.includes('-ls')) return ok(argv, "'README.txt'\n'mergeide.bat'\n'mergeide.reg'\n");
      if (cmd === 'xorriso' && opts.holdIso) {
        // The ISO is built until the job is cancelled.
        if (!o.signal?.aborted) await new Promise<void>((resolve) => o.signal?.addEventListener('abort', () => resolve(), { once: true }));
        throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Nothing to do.', command: argv, stderr: '', code: 'cancelled' });
      }
      if (cmd === 'test' && argv[2] === '-ef') return { ...ok(argv), exitCode: 1 };
      return ok(argv);
    },
  };
}

let state = '';
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'vdtest-mi-ui-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));

function setup(running = false, sysOpts: Parameters<typeof scriptedSys>[0] = {}) {
  const fake = createFakeHost([{ name: 'win2003', state: running ? 'running' : 'shut off', vcpus: 1, memoryMiB: 512, disks: [{ target: 'hda', device: 'disk', bus: 'ide', source: DISK, format: 'qcow2' }] }]);
  const sys = scriptedSys(sysOpts);
  const host: HostContext = { ...fake.host, sysExec: sys };
  let closed = 0;
  const store = createMergeIdeWizard({ host, guest: 'win2003', running, onClose: () => closed++, stateDir: state });
  const w = driveWizard(store, <MergeIdeWizardView store={store} theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })} />);
  return { ...w, store, fake, sys, closed: () => closed };
}

describe('MergeIDE wizard', () => {
  it('offline: explains, reviews the changes per control set and the plan, and goes back', async () => {
    const t = setup();
    let f = await t.waitFor('MergeIDE · win2003 · step 1 of 2');
    expect(f).toContain('offline: edit the registry of the shut-off guest');
    expect(f).toContain('every ControlSet00N');
    t.key('enter');
    f = await t.waitFor('step 2 of 2 · review');
    expect(f).toContain('hive /WINDOWS/system32/config/system');
    expect(f).toContain('on /dev/sda1');
    expect(f).toContain('Control sets: ControlSet001, ControlSet002 (current: 1)');
    expect(f).toMatch(/ControlSet001: \d+ keys added, \d+ values added or changed/);
    const scrollTo = async (text: string | RegExp) => {
      // Keys act on the store at once: scroll until the store's page shows it, then the frame must too.
      const onPage = () => {
        const page = t.state().lines.slice(t.state().scroll, t.state().scroll + MERGEIDE_ROWS).map((l) => l.text).join('\n');
        return typeof text === 'string' ? page.includes(text) : text.test(page);
      };
      for (let i = 0; i < 60 && !onPage(); i++) t.key('down');
      return t.waitFor(text);
    };
    await scrollTo('hivexregedit --merge');
    f = await scrollTo(/guestfish --rw/);
    expect(f).toMatch(/guestfish --rw --format=qcow2 -a \/srv\/vm\/win2003\.qcow2/);
    t.key('esc');
    await t.waitFor('step 1 of 2');
    t.key('esc');
    expect(t.closed()).toBe(1);
    // Nothing was changed: no merge, no upload.
    expect(t.sys.calls.some((c) => c[0] === 'hivexregedit' && c[1] === '--merge')).toBe(false);
    expect(t.sys.calls.filter((c) => c[0] === 'guestfish').every((c) => c[1] === '--ro')).toBe(true);
  });

  it('in-guest ISO for a running guest: review shows the steps for the admin, run attaches the CD-ROM', async () => {
    const t = setup(true);
    let f = await t.waitFor('step 1 of 2');
    expect(f).toContain('in-guest: an ISO with mergeide.bat');
    expect(f).toContain('(uninstall VMware Tools first)');
    t.key('enter');
    f = await t.waitFor('review');
    expect(f).toContain('ISO: /srv/vm/win2003-mergeide.iso on this host');
    expect(f).toContain('CD-ROM appears at its next start');
    expect(f).toContain('Uninstall VMware Tools');
    t.key('enter');
    f = await t.waitFor('MergeIDE · done', 5000);
    expect(f).toContain('Run mergeide.bat as an administrator');
    const xml = t.fake.host.virshExec.run(['virsh', '-c', 'qemu:///system', 'dumpxml', '--inactive', '--domain', 'win2003']);
    const disks = summarizeDomainXml((await xml).stdout).disks;
    expect(disks).toContainEqual(expect.objectContaining({ device: 'cdrom', source: '/srv/vm/win2003-mergeide.iso' }));
    expect(t.sys.calls.some((c) => c[0] === 'xorriso' && c.includes('-V') && c.includes('MERGEIDE'))).toBe(true);
    t.key('enter');
    expect(t.closed()).toBe(1);
  });

  it('shows a refusal where it can be fixed: offline on a running guest', async () => {
    const t = setup(true);
    await t.waitFor('step 1 of 2');
    t.key('right');
    await t.waitFor('offline: edit');
    t.key('enter');
    const f = await t.waitFor('win2003 is running; its registry can only be changed offline');
    expect(f).toContain('step 1 of 2');
    // The refusal names the way: it is on the mode field, which has the focus.
    expect(t.state().form.error?.field).toBe('mode');
    expect(t.state().form.fields[t.state().form.focus]?.id).toBe('mode');
    t.key('ctrl-c');
    expect(t.closed()).toBe(1);
  });

  it('asks before cancelling a running MergeIDE, naming the undo; n keeps it going, y cancels', async () => {
    const t = setup(true, { holdIso: true });
    await t.waitFor('step 1 of 2');
    t.key('enter');
    await t.waitFor('review');
    t.key('enter');
    await t.waitFor('MergeIDE · running');
    expect(t.key('ctrl-c')).toBe(true);
    await t.waitFor('Cancel MergeIDE?');
    const run = t.state().run;
    expect(run?.asking).toBe(true);
    expect(run && cancelQuestion(run.spec)).toBe('Cancel MergeIDE? What was done is undone (the original hive is uploaded again).');
    t.key('n');
    await t.waitFor((f) => !f.includes('Cancel MergeIDE?'));
    expect(t.state().jobs.view()?.state).toBe('running');
    t.key('esc');
    t.key('y');
    const f = await t.waitFor('MergeIDE · not done', 5000);
    expect(f).toContain('MergeIDE was cancelled; what it had done was undone.');
    t.key('enter');
    expect(t.closed()).toBe(1);
  });
});

describe('opening the wizards from the console', () => {
  it('M opens MergeIDE for the selected guest, P and :p2v open P2V; Esc returns to the guests', async () => {
    const { renderApp } = await import('./helpers.js');
    const app = await renderApp(undefined, { waitFor: 'demo-web' });
    await app.waitFor('demo-web');
    await app.press('M');
    let f = await app.waitFor(/MergeIDE · demo-files/);
    // demo-files (the selected row) is shut off: the offline way is offered first.
    expect(f).toContain('offline: edit the registry');
    await app.press(ESC);
    await app.waitFor((fr) => !fr.includes('MergeIDE') && fr.includes('demo-files'));
    await app.press('P');
    f = await app.waitFor('P2V · step 1 of 4');
    await app.press(ESC);
    await app.waitFor((fr) => !fr.includes('P2V ·'));
    await app.press(':');
    await app.type('p2v');
    await app.press(KEYS.enter);
    await app.waitFor('P2V · step 1 of 4');
    app.unmount();
  });
});
