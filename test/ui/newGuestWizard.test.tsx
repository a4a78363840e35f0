import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { pressKey } from '../../src/store/keys/owners.js';
import { createNewGuestWizard, type NewGuestWizardStore } from '../../src/store/wizards/newGuest/newGuestWizard.js';
import { KeyRoot } from '../../src/ui/keyInput.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { NewGuestWizardView } from '../../src/ui/wizards/NewGuestWizard.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';
import { asciiTwin, expectAsciiDraw } from './asciiTwin.js';
import { KEYS, renderApp } from './helpers.js';

/**
 * The fake libvirt host answers virsh; this adds the file-side commands the wizard's job runs on
 * sysExec (stat, qemu-img info, the KVM probe) and feeds `define --file` its file like virsh would.
 */
function wizardHost(guests: FakeGuest[], files: Record<string, 'file' | 'dir'>, opts: { holdCreate?: boolean; holdStat?: boolean } = {}) {
  const fake = createFakeHost(guests, { bridges: ['br0'], networks: [], nodeMemoryKiB: 4 * 1024 * 1024 });
  const inner = fake.host.virshExec;
  const ok = (argv: string[], stdout: string, exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
  const exec: Executor = {
    label: 'fake',
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      const [prog, ...args] = argv;
      if (prog === 'grep' && args.includes('/proc/cpuinfo')) return ok(argv, '', 1);
      if (prog === 'test' && args.includes('/dev/kvm')) return ok(argv, '', 1);
      if (prog === 'stat' && opts.holdStat) {
        // A slow host: the check runs until it is stopped.
        await new Promise((resolve) => o.signal?.addEventListener('abort', resolve));
        throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Start it again when ready.', command: argv, stderr: '', code: 'cancelled' });
      }
      if (prog === 'stat') {
        const paths = args.slice(args.indexOf('--') + 1);
        const found = paths.filter((p) => files[p]);
        fake.calls.push(argv);
        const kind = (p: string) => (files[p] === 'dir' ? 'directory' : 'regular file');
        return ok(argv, found.map((p, i) => `${kind(p)}\t64768:${i + 10}\t${p}\0`).join(''), found.length === paths.length ? 0 : 1);
      }
      if (prog === 'qemu-img' && args[0] === 'info') {
        return ok(argv, JSON.stringify({ filename: args.at(-1), format: 'qcow2', 'virtual-size': 1 << 30, 'actual-size': 196_608, 'dirty-flag': false }));
      }
      if (prog === 'qemu-img' && args[0] === 'create') {
        fake.calls.push(argv);
        if (opts.holdCreate) {
          // Runs until the job is cancelled, as a real executor ends a killed process.
          await new Promise((resolve) => o.signal?.addEventListener('abort', resolve));
          throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Start it again when ready.', command: argv, stderr: '', code: 'cancelled' });
        }
        return ok(argv, '');
      }
      const fileAt = argv.indexOf('--file');
      if (prog === 'virsh' && argv.includes('define') && fileAt > 0) {
        return inner.run(argv, { ...o, input: readFileSync(argv[fileAt + 1] as string, 'utf8') });
      }
      return inner.run(argv, o);
    },
    interactive: (argv) => inner.interactive(argv),
  };
  const images = Object.fromEntries(Object.entries(files).filter(([, k]) => k === 'file').map(([p]) => [p, { format: 'qcow2' }]));
  const gated = withImageHeads(exec, images);
  const host: HostContext = { ...fake.host, virshExec: gated, sysExec: gated };
  return { host, fake };
}

const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color' });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The wizard as drawn now: one render of its view, taken and unmounted. */
function draw(store: NewGuestWizardStore): string {
  const r = render(<NewGuestWizardView store={store} theme={theme} />);
  const f = r.lastFrame() ?? '';
  r.unmount();
  expectAsciiDraw(<NewGuestWizardView store={store} theme={theme} />);
  return f;
}

/** Waits until the drawn wizard shows `text` (the store gets there by itself: a host check, the job). */
async function until(frame: () => string, text: string | RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = frame();
    if (typeof text === 'string' ? f.includes(text) : text.test(f)) return f;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)} in:\n${f}`);
    await wait(10);
  }
}

/** Key names of the key table (store/keys/keyName.ts): 'enter', 'down', 'esc', 'ctrl-c', or the character. */
const KEY = { enter: 'enter', down: 'down', up: 'up', right: 'right', esc: 'esc', backspace: 'backspace', ctrlC: 'ctrl-c' };

/**
 * Builds the wizard's store on the fake host; keys go through the router to its owner, each acting
 * on the state the one before left, so no key waits for a render.
 */
function setup(guests: FakeGuest[], files: Record<string, 'file' | 'dir'>, opts: { holdCreate?: boolean; holdStat?: boolean; quit?: () => void } = {}) {
  const { host, fake } = wizardHost(guests, files, opts);
  const onClose = vi.fn();
  const store = createNewGuestWizard({ host, onClose, jobScreen: opts.quit ? { quit: opts.quit } : undefined });
  store.getState().load();
  const press = (name: string) => pressKey(store.getState().owner, { name, input: [...name].length === 1 ? name : '' });
  const type = (text: string) => {
    for (const ch of text) press(ch);
  };
  const erase = (count: number) => {
    for (let i = 0; i < count; i++) press(KEY.backspace);
  };
  const frame = () => draw(store);
  const state = () => store.getState();
  /** Waits for the step (a host check or the load runs first); `step` counts from 1 as on screen. */
  const onStep = (step: number) => vi.waitFor(() => expect([state().phase, state().stepIndex + 1, state().checking]).toEqual(['form', step, false]), { timeout: 5000, interval: 5 });
  /** Waits for a host check to have refused the step. */
  const refused = (sentence: string) => vi.waitFor(() => expect(state().problems[0]?.sentence).toBe(sentence), { timeout: 5000, interval: 5 });
  /** Name, Linux, defaults and an ISO: up to the install step's Enter. */
  const toInstallCheck = async (name: string) => {
    await onStep(1);
    type(name);
    press(KEY.enter);
    press(KEY.enter);
    press(KEY.enter);
    await onStep(4);
    press(KEY.down);
    type('/iso/debian.iso');
    press(KEY.enter);
  };
  return { store, state, fake, onClose, press, type, erase, frame, onStep, refused, toInstallCheck };
}

afterEach(() => vi.restoreAllMocks());

// The job journals in stateDir(); keep it away from the real one.
let home = '';
const savedHome = process.env.VIRTDECK_HOME;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'vdtest-wizard-'));
  process.env.VIRTDECK_HOME = home;
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

const FILES = { '/iso/debian.iso': 'file', '/var/lib/libvirt/images': 'dir', '/images': 'dir', '/images/old.qcow2': 'file', '/images/taken.qcow2': 'file' } as const;
const GUESTS: FakeGuest[] = [
  { name: 'db1', state: 'running', vcpus: 1, memoryMiB: 512 },
  { name: 'files1', state: 'shut off', vcpus: 1, memoryMiB: 512, disks: [{ source: '/images/taken.qcow2', format: 'qcow2' }] },
];

describe('NewGuestWizard', () => {
  it('ISO path: refuses a name in use, then reaches the review and defines and starts the guest', async () => {
    const { state, fake, onClose, press, type, erase, frame, onStep, refused } = setup(structuredClone(GUESTS), { ...FILES });
    await onStep(1);
    expect(frame()).toContain('step 1 of 8');
    type('db1');
    press(KEY.enter);
    await refused('A guest called db1 already exists on this host.');
    expect(state().problems[0]?.fix).toMatch(/^Choose another name/);
    expect(state().form.error?.field).toBe('name');
    expect(frame()).toContain('A guest called db1 already exists on this host.');
    expect(frame()).toContain('Fix: Choose another name');
    erase(3);
    type('web1');
    press(KEY.enter);
    await onStep(2);
    expect(frame()).toContain('step 2 of 8 · operating system');
    press(KEY.enter); // Linux
    await onStep(3);
    expect(state().facts?.hostMemoryMiB).toBe(4096);
    expect(frame()).toContain('4096 MiB of RAM');
    // With a unit the review says MiB once: "1024 MiB", not "1G MiB".
    erase(state().values.memory.length);
    type('1G');
    press(KEY.enter);
    await onStep(4);
    expect(frame()).toContain('step 4 of 8 · install source');
    press(KEY.down);
    type('/iso/missing.iso');
    press(KEY.enter);
    await refused('The ISO image /iso/missing.iso does not exist on this host.');
    expect(state().form.fields[state().form.focus]?.id).toBe('isoPath');
    expect(frame()).toContain('The ISO image /iso/missing.iso does not exist on this host.');
    erase('missing.iso'.length);
    type('debian.iso');
    expect(state().values.isoPath).toBe('/iso/debian.iso');
    press(KEY.enter);
    await onStep(5);
    expect(state().values.diskPath).toBe('/var/lib/libvirt/images/web1.qcow2');
    const storage = frame();
    expect(storage).toContain('step 5 of 8 · storage');
    expect(storage).toMatch(/Location\s+\[\/var\/lib\/libvirt\/images\/web1\.qcow2/);
    press(KEY.enter);
    await onStep(6);
    expect(state().values).toMatchObject({ netKind: 'bridge', netSource: 'br0' });
    const network = frame();
    expect(network).toContain('step 6 of 8 · network');
    expect(network).toMatch(/Bridge\s+br0/);
    expect(network).toMatch(/MAC\s+\[52:54:00:/);
    // The step's explanation is longer than the row: it wraps, it is not cut (issue 12 item 11).
    expect(network).not.toContain('…');
    expect(network.replace(/[│\s]+/g, ' ')).toContain("Keep a moved guest's old MAC, or Windows sets up a new NIC and loses its address.");
    press(KEY.enter);
    await onStep(7);
    press(KEY.enter);
    await onStep(8);
    expect(state().review?.steps.map((s) => s.id)).toEqual(['create-disk', 'define', 'start']);
    expect(state().review?.xml).toContain(`<domain type='qemu'>`);
    const review = frame();
    expect(review).toContain('step 8 of 8 · review');
    expect(review).toContain('· 1024 MiB ·');
    expect(review).not.toContain('1G MiB');
    expect(review).toContain('1 qemu-img create -q -f qcow2 /var/lib/libvirt/images/web1.qcow2 20G');
    expect(review).toMatch(/2 virsh -c qemu:\/\/\/system define --file \S+web1/);
    expect(review).toContain('3 virsh -c qemu:///system start --domain web1');
    expect(review).toContain(`<domain type='qemu'>`);
    expect(review.split('\n').length).toBeLessThanOrEqual(24);
    for (const line of review.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    press(KEY.enter);
    await vi.waitFor(() => expect(onClose).toHaveBeenCalledWith('web1', { openConsole: false }));
    expect(fake.calls.some((c) => c[0] === 'qemu-img' && c[1] === 'create')).toBe(true);
    expect(fake.guests.find((g) => g.name === 'web1')?.state).toBe('running');
    // Run by the shared runner: one journal, finished.
    const journals = readdirSync(join(home, 'state', 'jobs'));
    expect(journals).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(home, 'state', 'jobs', journals[0] as string), 'utf8')).state).toBe('done');
  });

  it('asks before cancelling a running create: n keeps it going, y cancels', async () => {
    const { state, fake, onClose, press, type, frame, onStep } = setup(structuredClone(GUESTS), { ...FILES }, { holdCreate: true });
    await onStep(1);
    type('web2');
    press(KEY.enter);
    await onStep(2);
    press(KEY.enter);
    await onStep(3);
    press(KEY.enter);
    await onStep(4);
    press(KEY.down);
    type('/iso/debian.iso');
    press(KEY.enter);
    await onStep(5);
    press(KEY.enter);
    await onStep(6);
    press(KEY.enter);
    await onStep(7);
    press(KEY.enter);
    await onStep(8);
    press(KEY.enter);
    // The create step runs (and holds) before a cancel is asked for.
    await vi.waitFor(() => expect(state().run?.rows[0]?.state).toBe('running'));
    expect(state().phase).toBe('running');
    expect(frame()).toContain('Esc/Ctrl-C cancel');
    press(KEY.ctrlC);
    expect(state().run?.asking).toBe(true);
    const asked = frame().replace(/\s+/g, ' ');
    expect(asked).toContain('Cancel creating web2? Finished steps are undone (the new disk removed, the');
    expect(asked).toContain('guest undefined); existing disks and ISOs are not touched. (y/n)');
    // The hint line comes from the key table: the answers of the one cancel question.
    expect(asked).toContain('y cancel creating web2 n keep going');
    press('n');
    expect(state().run?.asking).toBe(false);
    expect(frame()).not.toContain('Cancel creating');
    expect(frame()).toContain('Esc/Ctrl-C cancel');
    expect(frame()).toContain('creating web2');
    press(KEY.esc);
    expect(frame()).toContain('Cancel creating web2?');
    press('y');
    await vi.waitFor(() => expect(state().phase).toBe('failed'));
    expect(frame()).toContain('Could not create web2');
    expect(onClose).not.toHaveBeenCalled();
    expect(fake.guests.map((g) => g.name)).toEqual(['db1', 'files1']);
  });

  it('issue 13 item 4: q during the create asks wait or cancel (it cannot go to the background); c cancels, then the console quits', async () => {
    const quit = vi.fn();
    const { state, fake, press, type, frame, onStep } = setup(structuredClone(GUESTS), { ...FILES }, { holdCreate: true, quit });
    await onStep(1);
    type('web2');
    press(KEY.enter);
    await onStep(2);
    press(KEY.enter);
    await onStep(3);
    press(KEY.enter);
    await onStep(4);
    press(KEY.down);
    type('/iso/debian.iso');
    for (const step of [5, 6, 7, 8]) {
      press(KEY.enter);
      await onStep(step);
    }
    press(KEY.enter);
    await vi.waitFor(() => expect(state().run?.rows[0]?.state).toBe('running'));
    expect(frame()).toContain('q quit');
    press('q');
    expect(state().run?.quitting).toBe(true);
    const asked = frame().replace(/\s+/g, ' ');
    expect(asked).toContain('Quit while creating web2 runs? Wait for it to end, or cancel it');
    expect(asked).toContain('w wait, then quit c cancel creating web2, quit Esc stay');
    expect(press('b')).toBe(false);
    press('c');
    await vi.waitFor(() => expect(state().phase).toBe('failed'));
    await vi.waitFor(() => expect(quit).toHaveBeenCalledTimes(1));
    expect(fake.guests.map((g) => g.name)).toEqual(['db1', 'files1']);
  });

  it('existing-disk path: refuses an image another guest uses, shows the format, review scrolls; q cancels', async () => {
    const { state, fake, onClose, press, type, erase, frame, onStep, refused } = setup(structuredClone(GUESTS), { ...FILES });
    await onStep(1);
    type('old1');
    press(KEY.enter);
    await onStep(2);
    expect(frame()).toContain('operating system');
    for (let i = 0; i < 7; i++) press(KEY.down); // Windows Server 2003
    expect(state().osIndex).toBe(7);
    expect(frame()).toContain('Brings: i440fx · ide disk · rtl8139 NIC · localtime clock');
    press(KEY.enter);
    await onStep(3);
    expect(state().values).toMatchObject({ os: 'win2k3', memory: '512' });
    expect(frame()).toMatch(/Memory\s+\[512/);
    press(KEY.enter);
    await onStep(4);
    press(KEY.right);
    expect(state().values).toMatchObject({ installKind: 'existing', newDisk: 'no' });
    expect(frame()).toContain('I have a disk image with an installed system');
    press(KEY.down);
    type('/images/taken.qcow2');
    press(KEY.enter);
    await refused('The disk image /images/taken.qcow2 is already used by the guest files1.');
    expect(frame()).toContain('The disk image /images/taken.qcow2 is already used by the guest files1.');
    erase('taken.qcow2'.length);
    type('old.qcow2');
    press(KEY.enter);
    await onStep(5);
    expect(state().formats).toEqual({ '/images/old.qcow2': 'qcow2' });
    const storage = frame();
    expect(storage).toContain('step 5 of 8 · storage');
    expect(storage).toContain('/images/old.qcow2 (qcow2)');
    expect(storage).toMatch(/New disk\s+.*no/);
    press(KEY.enter);
    await onStep(6);
    press(KEY.enter);
    await onStep(7);
    press(KEY.enter);
    await onStep(8);
    const review = frame();
    expect(review).toContain('step 8 of 8 · review');
    expect(review).not.toContain('qemu-img create');
    expect(review).toContain('1 virsh -c qemu:///system define --file');
    for (let i = 0; i < 6; i++) press(KEY.down);
    expect(state().scroll).toBe(6);
    expect(frame()).toContain(`machine='pc'`);
    press('s');
    expect(state().values.start).toBe(false);
    expect(frame()).toContain('[ ] s start now');
    expect(frame()).not.toContain('start --domain old1');
    press(KEY.esc);
    expect(state().stepIndex + 1).toBe(7);
    expect(frame()).toContain('step 7 of 8');
    press('q'); // a step's fields have focus: q is no key to leave
    expect(onClose).not.toHaveBeenCalled();
    press(KEY.ctrlC);
    expect(onClose).toHaveBeenCalledWith(null);
    expect(fake.guests.map((g) => g.name)).toEqual(['db1', 'files1']);
  });
});

describe('NewGuestWizard: busy and ending', () => {
  it('while a step is checked on the host only Esc (stop) and Ctrl-C act; Esc stops the check and stays on the step', async () => {
    const { state, press, frame, toInstallCheck } = setup(structuredClone(GUESTS), { ...FILES }, { holdStat: true });
    await toInstallCheck('web4');
    expect(state().checking).toBe(true);
    expect(frame()).toContain('Checking on fakehost');
    expect(frame()).toContain('Ctrl-C cancel   Esc stop looking');
    press('x'); // no field takes keys while the host is asked
    expect(state().values.isoPath).toBe('/iso/debian.iso');
    press(KEY.esc);
    await vi.waitFor(() => expect(state().checking).toBe(false));
    expect([state().phase, state().stepIndex + 1, state().problems]).toEqual(['form', 4, []]);
  });

  it('the console ending with the create running stops the job without asking; the wizard does not report', async () => {
    const { store, state, fake, onClose, press, onStep, toInstallCheck } = setup(structuredClone(GUESTS), { ...FILES }, { holdCreate: true });
    await toInstallCheck('web5');
    await onStep(5);
    press(KEY.enter); // storage is checked on the host too
    await onStep(6);
    press(KEY.enter);
    press(KEY.enter);
    await onStep(8);
    press(KEY.enter);
    await vi.waitFor(() => expect(state().run?.rows[0]?.state).toBe('running'));
    store.getState().dispose();
    await vi.waitFor(() => expect(state().run).toBeNull());
    expect(onClose).not.toHaveBeenCalled();
    expect(fake.guests.map((g) => g.name)).toEqual(['db1', 'files1']);
  });
});

describe('NewGuestWizard: the OS list, review options and a refusal at run time', () => {
  it('j/k move on the OS list, a digit picks and goes on; back on the list the choice is highlighted', async () => {
    const { state, press, type, onStep } = setup(structuredClone(GUESTS), { ...FILES });
    await onStep(1);
    type('win1');
    press(KEY.enter);
    await onStep(2);
    press('j');
    press('j');
    press('k');
    expect(state().osIndex).toBe(1);
    press('4'); // Windows 11 / Server 2022
    await onStep(3);
    expect(state().values).toMatchObject({ os: 'win11', memory: '2048', vcpus: '2', diskSize: '60G', serial: 'no' });
    press(KEY.esc);
    await onStep(2);
    expect(state().osIndex).toBe(3);
  });

  it('the Windows 11 preset brings UEFI + Secure Boot + TPM 2.0 on SATA; the firmware is a choice on step 3; XP refuses UEFI', async () => {
    const { state, press, type, frame, onStep, refused } = setup(structuredClone(GUESTS), { ...FILES });
    await onStep(1);
    type('win11a');
    press(KEY.enter);
    await onStep(2);
    for (let i = 0; i < 3; i++) press('j');
    expect(frame()).toContain('UEFI + Secure Boot, TPM 2.0');
    press(KEY.enter);
    await onStep(3);
    expect(state().values).toMatchObject({ os: 'win11', firmware: 'uefi-secure', tpm: 'yes' });
    const resources = frame();
    expect(resources).toContain('step 3 of 8 · memory, CPUs, firmware');
    expect(resources).toMatch(/Firmware\s+UEFI \+ Secure Boot \(Microsoft keys\)/);
    expect(resources).toMatch(/TPM\s+TPM 2\.0 \(swtpm\)/);
    press(KEY.enter);
    await onStep(4);
    press(KEY.down);
    type('/iso/debian.iso');
    press(KEY.enter);
    await onStep(5);
    press(KEY.enter);
    await onStep(6);
    press(KEY.enter);
    await onStep(7);
    press(KEY.enter);
    await onStep(8);
    const xml = state().review?.xml ?? '';
    expect(xml).toContain("<feature enabled='yes' name='secure-boot'/>");
    expect(xml).toContain("<smm state='on'/>");
    expect(xml).toContain("<tpm model='tpm-crb'>");
    expect(xml).toContain("<target dev='sda' bus='sata'/>");
    expect(state().review?.steps.find((st) => st.id === 'define')?.undo?.command?.argv.at(-1)).toBe('--nvram');
    expect(frame()).toContain('win11a · Windows 11 / Server 2022 · UEFI+SB+TPM · 2048 MiB');
    // Back to step 3: ← on Firmware makes it plain UEFI.
    for (let i = 0; i < 5; i++) press(KEY.esc);
    await onStep(3);
    press(KEY.down);
    press(KEY.down);
    press('left');
    expect(state().values.firmware).toBe('uefi');
    // Windows XP on the list, then UEFI: refused on this step, with the fix.
    press(KEY.esc);
    await onStep(2);
    press('7');
    await onStep(3);
    expect(state().values).toMatchObject({ os: 'winxp', firmware: 'bios', tpm: 'no' });
    press(KEY.down);
    press(KEY.down);
    press('right');
    press(KEY.enter);
    await refused('Windows 2000, XP and Server 2003 start only from a BIOS, not from UEFI.');
    expect(state().stepIndex).toBe(2);
  });

  it('c toggles the console only while the guest is to start; a name taken since the check sends the admin back to it', async () => {
    const { state, fake, onClose, press, onStep, toInstallCheck } = setup(structuredClone(GUESTS), { ...FILES });
    await toInstallCheck('web6');
    await onStep(5);
    press(KEY.enter);
    await onStep(6);
    press(KEY.enter);
    press(KEY.enter);
    await onStep(8);
    press('c');
    expect(state().values).toMatchObject({ start: true, openConsole: true });
    press('s');
    press('c');
    expect(state().values).toMatchObject({ start: false, openConsole: true });
    expect(state().review?.steps.map((s) => s.id)).toEqual(['create-disk', 'define']);
    // Someone defines web6 while the review is on screen.
    fake.guests.push({ name: 'web6', uuid: '00000000-0000-4000-8000-0000000000e6', state: 'shut off', vcpus: 1, memoryMiB: 256 });
    press(KEY.enter);
    await onStep(1);
    expect(state().problems.map((p) => p.sentence)).toEqual(['A guest called web6 already exists on this host.']);
    expect(state().form.error).toMatchObject({ field: 'name', sentence: 'A guest called web6 already exists on this host.' });
    expect(state().run).toBeNull();
    expect(onClose).not.toHaveBeenCalled();
  });
});

describe('NewGuestWizard drawn, keys from stdin', () => {
  it('a burst of keys in one write after ↓ or Tab lands in the fields the ↓ and Tab moved to', async () => {
    const { host } = wizardHost(structuredClone(GUESTS), { ...FILES });
    const onClose = vi.fn();
    const store = createNewGuestWizard({ host, onClose });
    store.getState().load();
    const ui = render(
      <KeyRoot onKey={(k) => pressKey(store.getState().owner, k)}>
        <NewGuestWizardView store={store} theme={theme} />
      </KeyRoot>,
    );
    asciiTwin(<NewGuestWizardView store={store} theme={theme} />);
    const frame = () => ui.lastFrame() ?? '';
    await until(frame, 'step 1 of 8');
    const state = () => store.getState();
    // Name, Enter, Enter (Linux): three steps in one read, as a fast typist over SSH sends them.
    ui.stdin.write('web3\r\r');
    await vi.waitFor(() => expect(state().stepIndex).toBe(2));
    expect(state().values).toMatchObject({ name: 'web3', os: 'linux', memory: '1024', vcpus: '1' });
    // ↓ to vCPUs and 4, Tab past Firmware and TPM back to Memory and 8: one write; each key acts on
    // the form the one before left.
    ui.stdin.write('\u001B[B4\t\t\t8');
    await vi.waitFor(() => expect(state().values.memory).toBe('10248'));
    expect(state().values.vcpus).toBe('14');
    expect(state().form.fields[state().form.focus]?.id).toBe('memory');
    await until(frame, /Memory\s+\[10248/);
    // Fix both and go on; on the install step ↓ then the path and Enter, all in one write.
    ui.stdin.write('\u007F\t\u007F\r');
    await vi.waitFor(() => expect(state().stepIndex).toBe(3));
    expect(state().values).toMatchObject({ memory: '1024', vcpus: '1' });
    ui.stdin.write('\u001B[B/iso/debian.iso\r');
    await vi.waitFor(() => expect([state().stepIndex, state().checking]).toEqual([4, false]));
    expect(state().values.isoPath).toBe('/iso/debian.iso');
    expect(state().problems).toEqual([]);
    await until(frame, 'step 5 of 8 · storage');
    expect(frame()).toContain('Enter next');
    ui.stdin.write('\u0003');
    await vi.waitFor(() => expect(onClose).toHaveBeenCalledWith(null));
    ui.unmount();
  });
});

describe('NewGuestWizard in the console', () => {
  it('n opens it on the Guests pane with its own keys; Ctrl-C leaves it and the pane has its keys again', async () => {
    const app = await renderApp();
    // The wizard probes KVM itself; this fake host has no /proc/cpuinfo, so answer as a TCG host.
    const sys = app.fake.host.sysExec;
    const noKvm: Executor = { ...sys, run: async (argv, o) => (argv[0] === 'grep' || argv[0] === 'test' ? { argv, exitCode: 1, stdout: '', stderr: '' } : sys.run(argv, o)) };
    Object.assign(app.fake.host, { sysExec: noKvm });
    await app.press('n');
    await app.waitFor('New guest · step 1 of 8 · name');
    const top = app.store.getState().dialogs.at(-1);
    expect(top).toMatchObject({ kind: 'wizard', which: 'newGuest', wizard: { which: 'newGuest' } });
    expect(app.store.getState().keyOwner()).toBe(top?.kind === 'wizard' ? top.owner : undefined);
    // q is typed into the name, not a quit of the console.
    await app.type('qa');
    await app.waitFor(/Name\s+\[qa/);
    expect(app.store.getState().quitRequested).toBe(false);
    await app.press(KEYS.ctrlC);
    await app.waitFor('demo-web');
    expect(app.store.getState().dialogs).toEqual([]);
    expect(app.store.getState().quitRequested).toBe(false);
    await app.press('2');
    await app.waitFor('VIRTUAL');
    expect(app.store.getState().pane).toBe('disks');
    app.unmount();
  });
});

describe('NewGuestWizard when the host cannot be read', () => {
  it('shows why with r to retry and Esc/q to close; r reads the host again', async () => {
    const { host } = wizardHost(structuredClone(GUESTS), { ...FILES });
    let fail = true;
    const flaky: HostContext = { ...host, sysExec: { ...host.sysExec, run: (argv, o) => (fail && argv[0] === 'grep' ? Promise.reject(new HostError({ sentence: 'grep failed.', fix: 'Look at the host.', command: argv, stderr: '' })) : host.sysExec.run(argv, o)) } };
    const onClose = vi.fn();
    const store = createNewGuestWizard({ host: flaky, onClose });
    store.getState().load();
    await vi.waitFor(() => expect(store.getState().phase).toBe('load-failed'));
    const f = draw(store);
    expect(f).toContain('New guest · could not read the host');
    expect(f).toContain('grep failed.');
    expect(f).toContain('r retry   Esc/q close');
    fail = false;
    pressKey(store.getState().owner, { name: 'r', input: 'r' });
    await vi.waitFor(() => expect(store.getState().phase).toBe('form'));
    expect(draw(store)).toContain('step 1 of 8');
    pressKey(store.getState().owner, { name: 'esc', input: '' });
    expect(onClose).toHaveBeenCalledWith(null);
  });
});
