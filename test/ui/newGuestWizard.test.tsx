import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { NewGuestWizard } from '../../src/ui/wizards/NewGuestWizard.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';

/**
 * The fake libvirt host answers virsh; this adds the file-side commands the wizard's job runs on
 * sysExec (stat, qemu-img info, the KVM probe) and feeds `define --file` its file like virsh would.
 */
function wizardHost(guests: FakeGuest[], files: Record<string, 'file' | 'dir'>, opts: { holdCreate?: boolean } = {}) {
  const fake = createFakeHost(guests, { bridges: ['br0'], networks: [], nodeMemoryKiB: 4 * 1024 * 1024 });
  const inner = fake.host.virshExec;
  const ok = (argv: string[], stdout: string, exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
  const exec: Executor = {
    label: 'fake',
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      const [prog, ...args] = argv;
      if (prog === 'grep' && args.includes('/proc/cpuinfo')) return ok(argv, '', 1);
      if (prog === 'test' && args.includes('/dev/kvm')) return ok(argv, '', 1);
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

/**
 * Waits for text in the frame, then a little more: Ink subscribes a new screen's key handlers in
 * an effect after drawing it, and on a loaded machine a key sent at once would reach the old one.
 */
async function until(frame: () => string | undefined, text: string | RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = frame() ?? '';
    if (typeof text === 'string' ? f.includes(text) : text.test(f)) {
      await wait(50);
      return f;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)} in:\n${f}`);
    await wait(15);
  }
}

const KEY = { enter: '\r', down: '\u001B[B', up: '\u001B[A', right: '\u001B[C', esc: '\u001B', backspace: '\u007F' };

function setup(guests: FakeGuest[], files: Record<string, 'file' | 'dir'>, opts: { holdCreate?: boolean } = {}) {
  const { host, fake } = wizardHost(guests, files, opts);
  const onClose = vi.fn();
  const ui = render(<NewGuestWizard host={host} onClose={onClose} theme={theme} />);
  const press = async (key: string) => {
    ui.stdin.write(key);
    await wait(key === KEY.esc ? 60 : 40);
  };
  const frame = () => ui.lastFrame();
  /** Types into the focused field and waits until it shows, so no key races the first effects. */
  const type = async (text: string) => {
    ui.stdin.write(text);
    await until(frame, text);
  };
  /** Backspaces one at a time, each waiting for its frame: a busy machine must not merge keys. */
  const erase = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const before = frame();
      ui.stdin.write(KEY.backspace);
      await vi.waitFor(() => expect(frame()).not.toBe(before), { timeout: 3000, interval: 10 });
      await wait(25);
    }
  };
  return { ui, fake, onClose, press, type, erase, frame };
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
    const { ui, fake, onClose, press, type, erase, frame } = setup(structuredClone(GUESTS), { ...FILES });
    await until(frame, 'step 1 of 8');
    await wait(100); // the text field subscribes to keys in an effect after the first frame
    await type('db1');
    await press(KEY.enter);
    await until(frame, 'A guest called db1 already exists on this host.');
    expect(frame()).toContain('Fix: Choose another name');
    await erase(3);
    await type('web1');
    await press(KEY.enter);
    await until(frame, 'step 2 of 8 · operating system');
    await press(KEY.enter); // Linux
    await until(frame, 'step 3 of 8');
    expect(frame()).toContain('4096 MiB of RAM');
    await press(KEY.enter);
    await until(frame, 'step 4 of 8 · install source');
    await press(KEY.down);
    await type('/iso/missing.iso');
    await press(KEY.enter);
    await until(frame, 'The ISO image /iso/missing.iso does not exist on this host.');
    await erase('missing.iso'.length);
    await type('debian.iso');
    await press(KEY.enter);
    await until(frame, 'step 5 of 8 · storage');
    await until(frame, /Location\s+\[\/var\/lib\/libvirt\/images\/web1\.qcow2/);
    await press(KEY.enter);
    await until(frame, 'step 6 of 8 · network');
    expect(frame()).toMatch(/Bridge\s+br0/);
    expect(frame()).toMatch(/MAC\s+\[52:54:00:/);
    await press(KEY.enter);
    await until(frame, 'step 7 of 8');
    await press(KEY.enter);
    const review = await until(frame, 'step 8 of 8 · review');
    expect(review).toContain('1 qemu-img create -q -f qcow2 /var/lib/libvirt/images/web1.qcow2 20G');
    expect(review).toMatch(/2 virsh -c qemu:\/\/\/system define --file \S+web1/);
    expect(review).toContain('3 virsh -c qemu:///system start --domain web1');
    expect(review).toContain(`<domain type='qemu'>`);
    expect(review.split('\n').length).toBeLessThanOrEqual(24);
    for (const line of review.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    await press(KEY.enter);
    await vi.waitFor(() => expect(onClose).toHaveBeenCalledWith('web1', { openConsole: false }));
    expect(fake.calls.some((c) => c[0] === 'qemu-img' && c[1] === 'create')).toBe(true);
    expect(fake.guests.find((g) => g.name === 'web1')?.state).toBe('running');
    // Run by the shared runner: one journal, finished.
    const journals = readdirSync(join(home, 'state', 'jobs'));
    expect(journals).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(home, 'state', 'jobs', journals[0] as string), 'utf8')).state).toBe('done');
    ui.unmount();
  });

  it('asks before cancelling a running create: n keeps it going, y cancels', async () => {
    const { ui, fake, onClose, press, type, frame } = setup(structuredClone(GUESTS), { ...FILES }, { holdCreate: true });
    await until(frame, 'step 1 of 8');
    await wait(100); // the text field subscribes to keys in an effect after the first frame
    await type('web2');
    await press(KEY.enter);
    await until(frame, 'step 2 of 8');
    await press(KEY.enter);
    await until(frame, 'step 3 of 8');
    await press(KEY.enter);
    await until(frame, 'step 4 of 8');
    await press(KEY.down);
    await type('/iso/debian.iso');
    await press(KEY.enter);
    await until(frame, 'step 5 of 8');
    await press(KEY.enter);
    await until(frame, 'step 6 of 8');
    await press(KEY.enter);
    await until(frame, 'step 7 of 8');
    await press(KEY.enter);
    await until(frame, 'step 8 of 8');
    await press(KEY.enter);
    await until(frame, 'Esc/Ctrl-C cancel');
    await press('\u0003');
    const asked = (await until(frame, 'Cancel creating web2?')).replace(/\s+/g, ' ');
    expect(asked).toContain('Cancel creating web2? Finished steps are undone (the new disk removed, the');
    expect(asked).toContain('guest undefined); existing disks and ISOs are not touched. (y/n)');
    expect(asked).toContain('y cancel creating web2 n keep going');
    await press('n');
    await until(frame, /^(?![\s\S]*Cancel creating)[\s\S]*Esc\/Ctrl-C cancel/);
    expect(frame()).toContain('creating web2');
    await press(KEY.esc);
    await until(frame, 'Cancel creating web2?');
    await press('y');
    await until(frame, 'Could not create web2');
    expect(onClose).not.toHaveBeenCalled();
    expect(fake.guests.map((g) => g.name)).toEqual(['db1', 'files1']);
    ui.unmount();
  });

  it('existing-disk path: refuses an image another guest uses, shows the format, review scrolls; q cancels', async () => {
    const { ui, fake, onClose, press, type, erase, frame } = setup(structuredClone(GUESTS), { ...FILES });
    await until(frame, 'step 1 of 8');
    await wait(100); // the text field subscribes to keys in an effect after the first frame
    await type('old1');
    await press(KEY.enter);
    await until(frame, 'operating system');
    for (let i = 0; i < 7; i++) await press(KEY.down); // Windows Server 2003
    await until(frame, 'Brings: i440fx · ide disk · rtl8139 NIC · localtime clock');
    await press(KEY.enter);
    await until(frame, 'step 3 of 8');
    expect(frame()).toMatch(/Memory\s+\[512/);
    await press(KEY.enter);
    await until(frame, 'install source');
    await press(KEY.right);
    await until(frame, 'I have a disk image with an installed system');
    await press(KEY.down);
    await type('/images/taken.qcow2');
    await press(KEY.enter);
    await until(frame, 'The disk image /images/taken.qcow2 is already used by the guest files1.');
    await erase('taken.qcow2'.length);
    await type('old.qcow2');
    await press(KEY.enter);
    const storage = await until(frame, 'step 5 of 8 · storage');
    expect(storage).toContain('/images/old.qcow2 (qcow2)');
    expect(storage).toMatch(/New disk\s+.*no/);
    await press(KEY.enter);
    await until(frame, 'network');
    await press(KEY.enter);
    await until(frame, 'step 7 of 8');
    await press(KEY.enter);
    const review = await until(frame, 'step 8 of 8 · review');
    expect(review).not.toContain('qemu-img create');
    expect(review).toContain('1 virsh -c qemu:///system define --file');
    for (let i = 0; i < 6; i++) await press(KEY.down);
    await until(frame, `machine='pc'`);
    await press('s');
    await until(frame, '[ ] s start now');
    expect(frame()).not.toContain('start --domain old1');
    await press(KEY.esc);
    await until(frame, 'step 7 of 8');
    await press('q'); // a text field has focus: q is typed, not a cancel
    expect(onClose).not.toHaveBeenCalled();
    await press('\u0003');
    expect(onClose).toHaveBeenCalledWith(null);
    expect(fake.guests.map((g) => g.name)).toEqual(['db1', 'files1']);
    ui.unmount();
  });
});
