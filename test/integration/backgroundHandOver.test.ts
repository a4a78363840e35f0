import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import { listJournals } from '../../src/jobs/journal.js';
import { processAlive } from '../../src/jobs/processes.js';
import { pressKey } from '../../src/store/keys/owners.js';
import { createConvertWizard } from '../../src/store/wizards/convert/convertWizard.js';
import { initialConvertValues } from '../../src/store/wizards/convert/convertForm.js';

/**
 * Issue 13 item 4 on the real host: a conversion started in the console's convert wizard (Enter:
 * it runs in this process), sent to the background with b during the copy, is finished by a real
 * detached worker after the wizard's store is torn down (dispose: what quitting the console does).
 * The copy is slowed by writing a compressed vmdk of 200 MiB of random data.
 */

let dir = '';
let home = '';
let state = '';
let src = '';
const homeBefore = process.env.VIRTDECK_HOME;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, test: () => T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = test();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vdtest-bgh-'));
  home = path.join(dir, 'home');
  state = path.join(home, 'state');
  await mkdir(home);
  // The worker finds its journal through VIRTDECK_HOME, which startWorker passes on.
  process.env.VIRTDECK_HOME = home;
  src = path.join(dir, 'vdtest-bgh-src.raw');
  await execa('qemu-img', ['create', '-f', 'raw', src, '512M']);
  for (const at of [0, 300]) await execa('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', 'count=100', `seek=${at}`, 'conv=notrunc', 'status=none']);
});

afterAll(async () => {
  for (const j of listJournals(state)) {
    if (j.record.state === 'running' && j.record.pid !== process.pid && processAlive(j.record.pid)) {
      try {
        process.kill(-j.record.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  if (homeBefore === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = homeBefore;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a console job sent to the background', () => {
  it('b during the copy: a real worker takes the journal over and finishes it after the store is gone', async () => {
    const host = createHostContext({ uri: 'qemu:///system' });
    const dest = path.join(dir, 'vdtest-bgh-out.vmdk');
    const closed: (string | null)[] = [];
    const wizard = createConvertWizard({ host, imagePath: src, stateDir: state, onClose: (c) => closed.push(c) });
    wizard.setState({ values: { ...initialConvertValues(src), preset: 'custom', customFormat: 'vmdk', customOptions: 'subformat=streamOptimized', dest, destEdited: true } });
    for (let i = 0; i < 4; i++) await wizard.getState().next();
    expect(wizard.getState().step).toBe('review');
    const key = (name: string) => pressKey(wizard.getState().owner, { name, input: name.length === 1 ? name : '' });
    key('enter');
    // The copy runs here (step 2 of the plan) with progress.
    await until('the copy to run here', () => wizard.getState().run?.rows[1]?.progress);
    const [journal] = listJournals(state);
    expect(journal?.record.pid).toBe(process.pid);
    expect(key('b')).toBe(true);
    await until('the hand-over', () => wizard.getState().run?.state === 'detached', 60_000);
    const worker = listJournals(state)[0]?.record;
    expect(worker?.state).toBe('running');
    expect(worker?.pid).not.toBe(process.pid);
    expect(processAlive(worker?.pid ?? 0)).toBe(true);
    // The console goes away: its store is torn down; the worker is not its to stop.
    wizard.getState().dispose();
    const ended = await until('the worker to finish', () => {
      const r = listJournals(state)[0]?.record;
      return r && r.state !== 'running' ? r : null;
    }, 180_000);
    expect(ended.state).toBe('done');
    expect(existsSync(dest)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes('virtdeck-tmp'))).toEqual([]);
    const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'vmdk', src, dest], { reject: false });
    expect(cmp.exitCode).toBe(0);
  }, 240_000);
});
