import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { ExpandOutcome } from '../../src/jobs/expand.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ExpandWizard } from '../../src/ui/wizards/ExpandWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';

const IMG = '/srv/vm/web.raw';
const MiB = 1024 * 1024;

const INSPECTION = `@@virtdeck@@ parttype
msdos
@@virtdeck@@ parts
[0] = {
  part_num: 1
  part_start: 65536
  part_end: 67043839
  part_size: 66978304
}
@@virtdeck@@ fs
/dev/sda1: ext4
@@virtdeck@@ pvs
@@virtdeck@@ vgs
@@virtdeck@@ lvs
@@virtdeck@@ size
67108864
@@virtdeck@@ roots
@@virtdeck@@ end
`;

const GROW = `@@virtdeck-before
bsize: 1024
frsize: 1024
blocks: 60000
@@virtdeck-disk
1140850688
@@virtdeck-part-before
67043328
@@virtdeck-part
1140785152
@@virtdeck-after
bsize: 1024
frsize: 1024
blocks: 1037481
`;

/** The fake libvirt host for virsh, plus the file-side answers the expansion reads and runs. */
function expandHost(opts: { holdResize?: boolean } = {}) {
  const fake = createFakeHost([
    { name: 'web', state: 'shut off', vcpus: 1, memoryMiB: 512, disks: [{ target: 'vda', device: 'disk', bus: 'virtio', source: IMG, format: 'raw' }] },
  ]);
  const inner = fake.host.virshExec;
  let size = 64 * MiB;
  const ran: string[][] = [];
  const ok = (argv: string[], stdout: string, exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
  const exec: Executor = {
    label: 'fake',
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      const [prog, ...args] = argv;
      if (prog === 'virsh') return inner.run(argv, o);
      ran.push(argv);
      if (prog === 'sh' && args[0] === '-c') return ok(argv, argv.includes(IMG) ? `${IMG}\0` : '');
      if (prog === 'grep' || prog === 'test') return ok(argv, '', 1);
      // Which file each path is (jobs/diskUsers.ts): none is known to this fake, so names are compared.
      if (prog === 'stat') return ok(argv, '', 1);
      if (prog === 'df') return ok(argv, 'Avail\n100000000000\n');
      if (prog === 'qemu-img' && args[0] === 'info') return ok(argv, JSON.stringify({ filename: IMG, format: 'raw', 'virtual-size': size }));
      if (prog === 'qemu-img' && args[0] === 'resize') {
        if (opts.holdResize) {
          // Runs until the job is cancelled, as a real executor ends a killed process.
          await new Promise((resolve) => o.signal?.addEventListener('abort', resolve));
          throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Start it again when ready.', command: argv, stderr: '', code: 'cancelled' });
        }
        size = Number(argv[argv.length - 1]);
        return ok(argv, '');
      }
      if (prog === 'guestfish') return ok(argv, INSPECTION);
      if (prog === 'env' && argv.includes('guestfish')) return ok(argv, GROW);
      throw new Error(`unexpected command ${argv.join(' ')}`);
    },
    interactive: async () => 0,
  };
  const gated = withImageHeads(exec, { [IMG]: { format: 'raw', size: 64 * MiB } });
  const host: HostContext = { ...fake.host, virshExec: gated, sysExec: gated };
  return { host, ran };
}

const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color' });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ENTER = '\r';
const ESC = '\u001B';
const RIGHT = '\u001B[C';

let state: string;
afterEach(() => rmSync(state, { recursive: true, force: true }));

function open(opts: { holdResize?: boolean } = {}) {
  state = mkdtempSync(join(tmpdir(), 'vdtest-ex-ui-'));
  const { host, ran } = expandHost(opts);
  const closed: (ExpandOutcome | null | 'open')[] = ['open'];
  const r = render(<ExpandWizard host={host} path={IMG} onClose={(x) => closed.push(x)} theme={theme} stateDir={state} />);
  const frame = () => r.lastFrame() ?? '';
  const until = async (text: string | RegExp | ((f: string) => boolean), timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = frame();
      if (typeof text === 'string' ? f.includes(text) : typeof text === 'function' ? text(f) : text.test(f)) {
        await wait(50);
        return f;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(text)}:\n${f}`);
      await wait(10);
    }
  };
  const press = async (k: string) => {
    r.stdin.write(k);
    await wait(k === ESC ? 60 : 30);
  };
  return { r, frame, until, press, ran, closed };
}

describe('expand wizard', () => {
  it('walks disk → size (with checks) → guest side → review, back and forth, runs and verifies', async () => {
    const w = open();
    await w.until('step 1 of 4 · disk');
    expect(w.frame()).toContain('web (vda), shut off');
    await w.press(ENTER);
    await w.until('step 2 of 4 · new size');
    for (const ch of '+1G') await w.press(ch);
    await w.until('grow partition 1 and its ext4');
    const sizeStep = w.frame();
    expect(sizeStep).toContain('✓ web is shut off');
    expect(sizeStep).toContain('✓ grown in place');
    expect(sizeStep.split('\n').every((l) => l.length <= 80)).toBe(true);
    await w.press(ESC);
    await w.until('step 1 of 4');
    await w.press(ENTER);
    await w.until('step 2 of 4');
    await w.press(ENTER);
    await w.until('step 3 of 4 · guest side');
    expect(w.frame()).toContain('(*) grow offline now');
    await w.press(RIGHT);
    await w.until('(*) instructions only');
    await w.press(RIGHT);
    await w.until('(*) grow offline now');
    await w.press(ENTER);
    const review = await w.until('step 4 of 4 · review');
    expect(review).toContain(`1 qemu-img resize -f raw ${IMG} ${64 * MiB + 1024 ** 3}`);
    expect(review).toContain('3 guestfish: grow partition 1 and its ext4 to the end of the disk');
    await w.press('w');
    // The shared review-screen save (jobs/planScriptFile.ts): STATE/plans/expand-TIME.sh.
    const saved = (await w.until('Saved as')).match(/Saved as (\S+)/)?.[1] ?? '';
    expect(saved.startsWith(join(state, 'plans', 'expand-'))).toBe(true);
    expect(readFileSync(saved, 'utf8')).toContain('qemu-img');
    await w.press(ENTER);
    const done = await w.until('Expand disk · done');
    expect(done).toContain('disk 64.0 MiB → 1.1 GiB (verified)');
    expect(done).toContain('filesystem 58.6 MiB → 1013.2 MiB (verified)');
    expect(w.ran.some((a) => a[0] === 'env' && a.includes('resize2fs'))).toBe(true);
    await w.press(ENTER);
    expect((w.closed.at(-1) as ExpandOutcome).state).toBe('done');
    w.r.unmount();
  });

  it('asks before cancelling a running expansion: n keeps it going, y cancels', async () => {
    const w = open({ holdResize: true });
    await w.until('step 1 of 4');
    await w.press(ENTER);
    await w.until('step 2 of 4');
    for (const ch of '+1G') await w.press(ch);
    await w.until('grow partition 1 and its ext4');
    await w.press(ENTER);
    await w.until('step 3 of 4');
    await w.press(ENTER);
    await w.until('step 4 of 4');
    await w.press(ENTER);
    await w.until('Esc/Ctrl-C cancel');
    await w.press('\u0003');
    const asked = (await w.until('Cancel the expansion?')).replace(/\s+/g, ' ');
    // The raw route grows in place and has no undo: the question says so.
    expect(asked).toContain('Cancel the expansion? What is already grown stays grown (a grow is not');
    expect(asked).toContain('undone); the rest is skipped. (y/n)');
    expect(asked).toContain('y cancel the expansion n keep going');
    await w.press('n');
    const going = await w.until((f: string) => !f.includes('Cancel the expansion?'));
    expect(going).toContain('growing web.raw');
    expect(going).toContain('Esc/Ctrl-C cancel');
    await w.press(ESC);
    await w.until('Cancel the expansion?');
    await w.press('y');
    const stopped = (await w.until('Could not grow web.raw')).replace(/\s+/g, ' ');
    expect(stopped).toContain('The operation was cancelled.');
    expect(w.closed).toEqual(['open']);
    w.r.unmount();
  });

  it('refuses a smaller size and 12QB on the size step; Esc on step 1 cancels with null', async () => {
    const w = open();
    await w.until('step 1 of 4');
    await w.press(ENTER);
    await w.until('step 2 of 4');
    for (const ch of '12QB') await w.press(ch);
    await w.until('"12QB" is not a size.');
    await w.press(ENTER);
    expect(w.frame()).toContain('step 2 of 4');
    for (let i = 0; i < 4; i++) await w.press('\u007F');
    for (const ch of '10M') await w.press(ch);
    await w.until('shrinking is out of scope');
    await w.press(ESC);
    await w.until('step 1 of 4');
    await w.press(ESC);
    expect(w.closed.at(-1)).toBeNull();
    expect(w.ran.some((a) => a[1] === 'resize')).toBe(false);
    w.r.unmount();
  });

  it('instructions only: the review says so and the summary shows and saves them', async () => {
    const w = open();
    await w.until('step 1 of 4');
    await w.press(ENTER);
    await w.until('step 2 of 4');
    for (const ch of '+1G') await w.press(ch);
    await w.until('no OS found: grow partition 1');
    await w.press(ENTER);
    await w.until('step 3 of 4');
    await w.press(RIGHT);
    await w.press(ENTER);
    const review = await w.until('step 4 of 4');
    expect(review).toContain('then: instructions for inside the guest');
    expect(review).not.toContain('guestfish');
    await w.press(ENTER);
    const done = await w.until('saved to');
    expect(done).toContain('growpart /dev/vda 1');
    const file = readFileSync(join(state, 'instructions', (await import('node:fs')).readdirSync(join(state, 'instructions'))[0] as string), 'utf8');
    expect(file).toContain('resize2fs /dev/vda1');
    w.r.unmount();
  });
});
