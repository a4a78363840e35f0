import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { Launched } from '../../src/jobs/detached.js';
import type { ExpandOutcome } from '../../src/jobs/expand.js';
import { type Journal, listJournals } from '../../src/jobs/journal.js';
import { fieldValue } from '../../src/store/form.js';
import type { JobControllerOptions } from '../../src/store/jobs/jobController.js';
import { createExpandWizard, expandUndo } from '../../src/store/wizards/expand/expandWizard.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { ExpandWizardView } from '../../src/ui/wizards/ExpandWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { withImageHeads } from '../helpers/imageHeads.js';
import { wizardDriver } from './diskWizardDriver.js';

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

interface HostOptions {
  holdResize?: boolean;
  running?: boolean;
  holdInspect?: Promise<void>;
  /** Paths beside the image that exist already (a copy an earlier expansion kept). */
  leftovers?: string[];
}

/** The fake libvirt host for virsh, plus the file-side answers the expansion reads and runs. */
function expandHost(opts: HostOptions = {}) {
  const fake = createFakeHost([
    { name: 'web', state: opts.running ? 'running' : 'shut off', vcpus: 1, memoryMiB: 512, disks: [{ target: 'vda', device: 'disk', bus: 'virtio', source: IMG, format: 'raw' }] },
  ]);
  const inner = fake.host.virshExec;
  let size = 64 * MiB;
  const ran: string[][] = [];
  /** What the grow launch read on stdin: growGuest sends the plan's commands there, in rounds. */
  const scripts: string[] = [];
  const ok = (argv: string[], stdout: string, exitCode = 0): ExecResult => ({ argv, exitCode, stdout, stderr: '' });
  const exec: Executor = {
    label: 'fake',
    async run(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
      const [prog, ...args] = argv;
      if (prog === 'virsh') return inner.run(argv, o);
      ran.push(argv);
      if (prog === 'sh' && args[0] === '-c') return ok(argv, [IMG, ...(opts.leftovers ?? [])].filter((p) => argv.includes(p)).map((p) => `${p}\0`).join(''));
      if (prog === 'grep' || prog === 'test') return ok(argv, '', 1);
      // Which file each path is (jobs/diskUsers.ts): none is known to this fake, so names are compared.
      if (prog === 'stat') return ok(argv, '', 1);
      if (prog === 'df') return ok(argv, 'Avail\n100000000000\n');
      if (prog === 'qemu-img' && args[0] === 'info') return ok(argv, JSON.stringify({ filename: IMG, format: 'raw', 'virtual-size': size }));
      // The kept copy of the original: written, compared, placed (the sh above), or removed by a cancel.
      if (prog === 'qemu-img' && args[0] === 'convert') return ok(argv, '');
      if (prog === 'qemu-img' && args[0] === 'compare') return ok(argv, 'Images are identical.\n');
      if (prog === 'rm') return ok(argv, '');
      if (prog === 'qemu-img' && args[0] === 'resize') {
        if (opts.holdResize) {
          // Runs until the job is cancelled, as a real executor ends a killed process.
          await new Promise((resolve) => o.signal?.addEventListener('abort', resolve));
          throw new HostError({ sentence: 'The operation was cancelled.', fix: 'Start it again when ready.', command: argv, stderr: '', code: 'cancelled' });
        }
        size = Number(argv[argv.length - 1]);
        return ok(argv, '');
      }
      if (prog === 'guestfish') {
        await opts.holdInspect;
        return ok(argv, INSPECTION);
      }
      if (prog === 'env' && argv.includes('guestfish')) {
        // Like guestfish, print each round's end marker when its echo is read, so the next round comes.
        let script = '';
        for await (const chunk of o.inputStream as AsyncIterable<Buffer | string>) {
          script += String(chunk);
          for (const m of String(chunk).matchAll(/^echo "(@@virtdeck-round-[^"]+)" "(\d+)"$/gm)) o.onStdout?.(`${m[1]} ${m[2]}\n`);
        }
        scripts.push(script);
        return ok(argv, GROW);
      }
      throw new Error(`unexpected command ${argv.join(' ')}`);
    },
    interactive: async () => 0,
  };
  const gated = withImageHeads(exec, { [IMG]: { format: 'raw', size: 64 * MiB } });
  const host: HostContext = { ...fake.host, virshExec: gated, sysExec: gated };
  return { host, ran, scripts };
}

const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color' });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

let state: string;
afterEach(() => {
  cleanup();
  rmSync(state, { recursive: true, force: true });
});

function open(opts: HostOptions = {}, jobScreen?: JobControllerOptions) {
  state = mkdtempSync(join(tmpdir(), 'vdtest-ex-ui-'));
  const { host, ran, scripts } = expandHost(opts);
  const closed: (ExpandOutcome | null | 'open')[] = ['open'];
  const wizard = createExpandWizard({ host, path: IMG, onClose: (x) => closed.push(x), stateDir: state, jobScreen });
  const d = wizardDriver(wizard, <ExpandWizardView store={wizard} theme={theme} />);
  return { ...d, wizard, ran, scripts, closed };
}

type W = ReturnType<typeof open>;
const atStep = (w: W, step: number) => w.until((s) => s.phase === 'form' && s.step === step);
/** Disk → +1G (once the disk is inspected) → grow offline → the review. */
async function toReview(w: W): Promise<void> {
  await atStep(w, 0);
  w.press('enter');
  await atStep(w, 1);
  w.type('+1G');
  await w.waitFrame('grow partition 1 and its ext4');
  await w.until((s) => !s.inspecting);
  w.press('enter');
  await atStep(w, 2);
  w.press('enter');
  await atStep(w, 3);
}

describe('expand wizard', () => {
  it('walks disk → size (with checks) → guest side → review, back and forth, runs and verifies', async () => {
    const w = open();
    await atStep(w, 0);
    expect(await w.waitFrame('step 1 of 4 · disk')).toContain('web (vda), shut off');
    w.press('enter');
    await atStep(w, 1);
    w.type('+1G');
    expect(fieldValue(w.state().form, 'size')).toBe('+1G');
    const sizeStep = await w.waitFrame('grow partition 1 and its ext4');
    expect(sizeStep).toContain('step 2 of 4 · new size');
    expect(sizeStep).toContain('✓ web is shut off');
    // A grow in place keeps a copy of the original by default: its room is checked with the size.
    expect(sizeStep).toContain('✓ /srv/vm has 93.1 GiB free; the copy of the original needs up to 65.0 MiB');
    expect(sizeStep.split('\n').every((l) => l.length <= 80)).toBe(true);
    w.press('esc');
    await atStep(w, 0);
    w.press('enter');
    await atStep(w, 1);
    w.press('enter');
    await atStep(w, 2);
    expect(await w.waitFrame('step 3 of 4 · guest side')).toContain('(*) grow offline now');
    w.press('right');
    expect(w.state().offline).toBe(false);
    await w.waitFrame('(*) instructions only');
    w.press('right');
    expect(w.state().offline).toBe(true);
    await w.waitFrame('(*) grow offline now');
    w.press('enter');
    await atStep(w, 3);
    // By default a copy of the original comes first (issue 12 item 4: the review offers it; c turns it off).
    const keptFrame = await w.waitFrame('step 4 of 4 · review');
    expect(keptFrame.split('\n').every((l) => l.length <= 80)).toBe(true);
    const kept = keptFrame.replace(/[│\s]+/g, ' ');
    expect(kept).toContain('A copy of the original is made first and compared with it; it stays as web.raw.virtdeck-orig beside the image until you remove it.');
    expect(kept).toContain(`1 qemu-img convert -p -f raw -O raw ${IMG} /srv/vm/.web.raw.virtdeck-orig.part`);
    expect(kept).toContain('c copy first');
    w.press('c');
    expect(w.state().assessment?.decision?.keepCopy).toBeNull();
    const review = await w.waitFrame(`1 qemu-img resize -f raw ${IMG} ${64 * MiB + 1024 ** 3}`);
    expect(review).toContain('3 guestfish: grow partition 1 and its ext4 to the end of the disk');
    // Without it the raw disk grows in place: the review says no copy is kept, and how to keep one.
    const flat = review.replace(/[│\s]+/g, ' ');
    expect(flat).not.toContain('the original stays');
    expect(flat).toContain('The disk is grown in place, and so are its partition and filesystem: no copy of the original is kept, and a grow is not undone.');
    expect(flat).toContain('To keep one, c keeps a verified copy beside it, or back web up first (b in the Backups pane, or virtdeck backup run web).');
    w.press('w');
    // The shared review-screen save (jobs/planScriptFile.ts): STATE/plans/expand-TIME.sh.
    const saved = (await w.waitFrame('Saved as')).match(/Saved as (\S+)/)?.[1] ?? '';
    expect(w.state().note).toBe(`Saved as ${saved}`);
    expect(saved.startsWith(join(state, 'plans', 'expand-'))).toBe(true);
    expect(readFileSync(saved, 'utf8')).toContain('qemu-img');
    w.press('enter');
    await w.until((s) => s.phase === 'done');
    const done = await w.waitFrame('Expand disk · done');
    expect(done).toContain('disk 64.0 MiB → 1.1 GiB (verified)');
    expect(done).toContain('filesystem 58.6 MiB → 1013.2 MiB (verified)');
    expect(w.ran.some((a) => a[0] === 'env' && a.includes('guestfish'))).toBe(true);
    expect(w.scripts.join('')).toContain('resize2fs "/dev/sda1"');
    expect(w.ran.some((a) => a[1] === 'convert')).toBe(false);
    w.press('enter');
    expect((w.closed.at(-1) as ExpandOutcome).state).toBe('done');
  });

  it('keeps a copy of the original by default: written under a hidden name, compared, placed, then the grow', async () => {
    const w = open();
    await toReview(w);
    w.press('c');
    w.press('c');
    expect(w.state().assessment?.decision?.keepCopy?.keep).toBe('/srv/vm/web.raw.virtdeck-orig');
    w.press('enter');
    await w.until((s) => s.phase === 'done');
    const done = (await w.waitFrame('Expand disk · done')).replace(/[│\s]+/g, ' ');
    expect(done).toContain('original kept as /srv/vm/web.raw.virtdeck-orig');
    const order = w.ran.filter((a) => ['convert', 'compare', 'resize'].includes(a[1] as string) || (a[0] === 'sh' && String(a[2]).includes('ln --'))).map((a) => (a[0] === 'sh' ? 'place' : a[1]));
    expect(order).toEqual(['convert', 'compare', 'place', 'resize']);
    expect(w.ran.find((a) => a[1] === 'compare')).toEqual(['qemu-img', 'compare', '-f', 'raw', '-F', 'raw', IMG, '/srv/vm/.web.raw.virtdeck-orig.part']);
  });

  it('says why no copy can be kept when one was kept already, and grows without one', async () => {
    const w = open({ leftovers: ['/srv/vm/web.raw.virtdeck-orig'] });
    await toReview(w);
    const review = (await w.waitFrame('No copy can be kept')).replace(/[│\s]+/g, ' ');
    expect(review).toContain('No copy can be kept: /srv/vm/web.raw.virtdeck-orig holds the original an earlier expansion kept, and a new copy would go there.');
    expect(review).not.toContain('c copy first');
    expect(w.state().assessment?.decision?.keepCopy).toBeNull();
  });

  it('asks before cancelling a running expansion: n keeps it going, y cancels', async () => {
    const w = open({ holdResize: true });
    await toReview(w);
    // Without the copy of the original (c), so the held resize is the first step.
    w.press('c');
    w.press('enter');
    await w.waitFrame('Esc/Ctrl-C cancel');
    // The resize is running (held by the fake until the job is cancelled).
    await w.until((s) => s.run?.rows[0]?.state === 'running');
    await wait(50);
    // The question is the job controller's, with the undo of this route.
    expect(w.state().run?.spec.undo).toBe(expandUndo('resize'));
    w.press('ctrl-c');
    expect(w.state().run?.asking).toBe(true);
    const asked = (await w.waitFrame('Cancel the expansion?')).replace(/\s+/g, ' ');
    // The raw route grows in place and has no undo: the question says so.
    expect(asked).toContain('Cancel the expansion? What is already grown stays grown (a grow is not');
    expect(asked).toContain('undone); the rest is skipped. (y/n)');
    expect(asked).toContain('y cancel the expansion n keep going');
    w.press('n');
    expect(w.state().run?.asking).toBe(false);
    const going = await w.waitFrame((f: string) => !f.includes('Cancel the expansion?'));
    expect(going).toContain('growing web.raw');
    expect(going).toContain('Esc/Ctrl-C cancel');
    w.press('esc');
    await w.waitFrame('Cancel the expansion?');
    w.press('y');
    await w.until((s) => s.phase === 'failed');
    const stopped = (await w.waitFrame('Could not grow web.raw')).replace(/\s+/g, ' ');
    expect(stopped).toContain('The operation was cancelled.');
    expect(stopped).toContain('Esc back to the review q close');
    expect(w.closed).toEqual(['open']);
    // Esc goes back to the review, q closes.
    w.press('esc');
    expect(w.state()).toMatchObject({ phase: 'form', step: 3 });
    w.press('q');
    expect(w.closed).toEqual(['open', null]);
  });

  it('refuses a smaller size and 12QB on the size step; Esc on step 1 cancels with null', async () => {
    const w = open();
    await atStep(w, 0);
    w.press('enter');
    await atStep(w, 1);
    w.type('12QB');
    expect(w.state().assessment?.refusal?.sentence).toContain('"12QB" is not a size.');
    await w.waitFrame('"12QB" is not a size.');
    w.press('enter');
    expect(w.state().step).toBe(1);
    expect(w.frame()).toContain('step 2 of 4');
    for (let i = 0; i < 4; i++) w.press('backspace');
    w.type('10M');
    await w.waitFrame('shrinking is out of scope');
    w.press('esc');
    await atStep(w, 0);
    await w.waitFrame('step 1 of 4');
    w.press('esc');
    expect(w.closed.at(-1)).toBeNull();
    expect(w.ran.some((a) => a[1] === 'resize')).toBe(false);
  });

  it('instructions only: the review says so and the summary shows and saves them', async () => {
    const w = open();
    await atStep(w, 0);
    w.press('enter');
    await atStep(w, 1);
    w.type('+1G');
    await w.waitFrame('no OS found: grow partition 1');
    await w.until((s) => !s.inspecting);
    w.press('enter');
    await atStep(w, 2);
    w.press('right');
    w.press('enter');
    await atStep(w, 3);
    const review = await w.waitFrame('step 4 of 4');
    expect(review).toContain('then: instructions for inside the guest');
    expect(review).not.toContain('guestfish');
    w.press('enter');
    // The summary is longer than the screen: it wraps, and ↓ scrolls to the file it was saved to (issue 12 item 11).
    const top = await w.waitFrame('growpart /dev/vda 1');
    expect(top).not.toContain('…');
    expect(top.split('\n').every((l) => l.length <= 80)).toBe(true);
    w.press('pagedown');
    const done = await w.waitFrame('saved to');
    expect(done.replace(/[│\s]+/g, ' ')).toContain('If the kernel does not see the new size yet: echo 1 >');
    const file = readFileSync(join(state, 'instructions', (await import('node:fs')).readdirSync(join(state, 'instructions'))[0] as string), 'utf8');
    expect(file).toContain('resize2fs /dev/vda1');
  });

  it('an image it cannot read: r reads it again, Esc or q closes', async () => {
    state = mkdtempSync(join(tmpdir(), 'vdtest-ex-ui-'));
    const { host } = expandHost();
    const closed: (ExpandOutcome | null)[] = [];
    const wizard = createExpandWizard({ host, path: 'web.raw', onClose: (x) => closed.push(x), stateDir: state });
    const w = wizardDriver(wizard, <ExpandWizardView store={wizard} theme={theme} />);
    await w.until((s) => s.phase === 'load-failed');
    const f = await w.waitFrame('could not read the image');
    expect(f).toContain('web.raw is not an absolute path.');
    expect(f).toContain('r retry   Esc/q close');
    expect(w.press('r')).toBe(true);
    await w.until((s) => s.phase === 'load-failed');
    w.press('q');
    expect(closed).toEqual([null]);
  });

  // Issue 12 item 25: "you chose to grow it from inside the guest" only when the admin chose it.
  it('while the disk is still inspected, the guest side says so, not that the admin chose', async () => {
    let release = () => {};
    const w = open({ holdInspect: new Promise<void>((r) => (release = r)) });
    await atStep(w, 0);
    w.press('enter');
    await atStep(w, 1);
    w.type('+1G');
    await w.until((s) => s.inspecting);
    const checks = w.state().assessment?.checks.map((c) => c.text) ?? [];
    expect(checks).toContain('guest side not decided yet: the disk is still being inspected');
    expect(checks.join(' ')).not.toContain('you chose');
    expect(await w.waitFrame('still being inspected')).not.toContain('you chose');
    release();
    await w.until((s) => !s.inspecting);
    expect(await w.waitFrame('grow partition 1 and its ext4')).not.toContain('still being inspected');
  });

  it('a running guest: the guest side is by hand because it runs, as the CLI says', async () => {
    const w = open({ running: true });
    await atStep(w, 0);
    w.press('enter');
    await atStep(w, 1);
    w.type('+1G');
    const checks = w.state().assessment?.checks.map((c) => c.text) ?? [];
    expect(checks).toContain('guest side by hand: web is running: the partition is grown from inside the guest');
    expect(checks.join(' ')).not.toContain('you chose');
    w.press('enter');
    await atStep(w, 2);
    w.press('enter');
    await atStep(w, 3);
    const review = (await w.waitFrame('step 4 of 4')).replace(/[│\s]+/g, ' ');
    expect(review).toContain('then: instructions for inside the guest (web is running');
    expect(review).not.toContain('you chose');
  });

  it('issue 13 item 4: b hands the running resize to a worker; the journal is left running for it, nothing undone', async () => {
    const handed: Journal[] = [];
    const handOver = async (j: Journal): Promise<Launched> => {
      handed.push(j);
      return { id: j.record.id, pid: 4244, journalPath: j.path, logPath: '/x', via: 'setsid' };
    };
    const w = open({ holdResize: true }, { handOver });
    await toReview(w);
    w.press('c');
    w.press('enter');
    await w.until((s) => s.run?.rows[0]?.state === 'running');
    await w.waitFrame('Esc/Ctrl-C cancel   b background');
    w.press('b');
    await w.waitFrame('goes on in a worker (pid 4244)');
    expect(handed).toHaveLength(1);
    const rec = listJournals(state)[0]?.record;
    expect(rec?.state).toBe('running');
    expect(rec?.steps[0]?.state).toBe('running');
    expect(w.state().phase).toBe('running');
    w.press('enter');
    expect(w.closed.at(-1)).toBeNull();
  });
});
