import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listJournals } from '../../src/jobs/journal.js';
import { processAlive } from '../../src/jobs/processes.js';
import { killTmuxServer, TmuxSession } from '../helpers/tmux.js';

/**
 * The "SSH drop": the built CLI in tmux starts a long conversion from the Disks pane's convert
 * wizard in the background (b on the review screen), then the whole tmux server is killed — the
 * terminal, the shell and virtdeck with it, as when an SSH session dies. A new virtdeck in a new
 * tmux session finds the job in its Jobs pane, still running with its progress, and then done.
 */

const SOCKET_OLD = 'vdtest-jb-e2e-old';
const SOCKET_NEW = 'vdtest-jb-e2e-new';
const root = path.resolve(import.meta.dirname, '../..');
const bundle = path.join(root, 'dist', 'virtdeck.js');
let dir = '';
let home = '';
let image = '';

beforeAll(async () => {
  await execa('npm', ['run', 'build'], { cwd: root });
  dir = await mkdtemp(path.join(tmpdir(), 'vdtest-jb-e2e-'));
  await chmod(dir, 0o755);
  home = path.join(dir, 'home');
  await mkdir(path.join(home, 'config'), { recursive: true });
  // Only this test's directory in the Disks pane.
  await writeFile(path.join(home, 'config', 'config.json'), JSON.stringify({ imageDirs: [dir] }));
  image = path.join(dir, 'vdtest-jb-e2e.raw');
  await execa('qemu-img', ['create', '-q', '-f', 'raw', image, '1536M']);
  for (const at of [0, 600, 1200]) {
    await execa('dd', ['if=/dev/urandom', `of=${image}`, 'bs=1M', 'count=150', `seek=${at}`, 'conv=notrunc', 'status=none']);
  }
});

afterAll(async () => {
  await killTmuxServer(SOCKET_OLD);
  await killTmuxServer(SOCKET_NEW);
  for (const j of home ? listJournals(path.join(home, 'state')) : []) {
    if (j.record.state === 'running' && processAlive(j.record.pid)) {
      try {
        process.kill(-j.record.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = () => ({ VIRTDECK_HOME: home, TERM: 'xterm-256color', LANG: 'C.UTF-8', NO_COLOR: '1' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a detached job survives the terminal', () => {
  it('keeps converting after the tmux server is killed, and a new virtdeck shows it', async () => {
    const t = await TmuxSession.start({ socket: SOCKET_OLD, session: 'old', width: 80, height: 24, cwd: root, argv: [process.execPath, bundle], env: env() });
    await t.waitFor(/Guests/, 30_000, 'the console');
    await t.keys('2');
    await t.waitFor(/vdtest-jb-e2e\.raw\s+raw/, 30_000, 'the image in the Disks pane');
    // Other images of the host are listed too: filter down to this test's own before converting.
    await t.keys('/');
    await t.type('vdtest-jb-e2e');
    await t.keys('Enter');
    await t.waitFor((s) => s.includes(`── ${image} `) && !/Enter keep filter/.test(s), 10_000, 'this image selected');
    await t.keys('C');
    const first = await t.waitFor(/step 1 of 5/, 15_000, 'the convert wizard');
    expect(first).toContain(image);
    await t.keys('Enter');
    await t.waitFor(/step 2 of 5/, 15_000, 'the target step');
    // A compressed vmdk: the custom target with -o subformat=streamOptimized, slow enough to outlive the drop.
    for (let i = 0; i < 4; i++) {
      await t.keys('Right');
      await sleep(100);
    }
    await t.waitFor(/custom: a format/, 5_000, 'the custom target');
    await t.keys('Down');
    await sleep(100);
    await t.keys('Down');
    await sleep(100);
    await t.type('subformat=streamOptimized');
    await t.waitFor(/subformat=streamOptimized/, 5_000, 'the options typed');
    await t.keys('Enter');
    await t.waitFor(/step 3 of 5/, 15_000, 'the destination step');
    await t.keys('Enter');
    await t.waitFor(/step 4 of 5/, 15_000, 'the options step');
    await t.keys('Enter');
    await t.waitFor(/step 5 of 5 · review/, 15_000, 'the review');
    await t.keys('b');
    const started = await t.waitFor(/Started job (\S+) in a worker/, 30_000, 'the background start');
    const id = started.match(/Started job (\S+) in a worker/)?.[1] as string;
    // Enter closes the dialog and 5 opens the Jobs pane, even when both arrive in one read.
    await t.keysAtOnce('Enter', '5');
    const pane = await t.waitFor(/running\s+2\/5[\s\S]*\d+%/, 30_000, 'the running job with progress');
    expect(pane).toContain('5 Jobs (1 running)');

    // The SSH drop: the terminal and everything in it are gone at once.
    await killTmuxServer(SOCKET_OLD);
    await sleep(500);
    const journal = listJournals(path.join(home, 'state')).find((j) => j.record.id === id);
    expect(journal?.record.state).toBe('running');
    expect(processAlive(journal?.record.pid ?? -1)).toBe(true);

    const n = await TmuxSession.start({ socket: SOCKET_NEW, session: 'new', width: 80, height: 24, cwd: root, argv: [process.execPath, bundle], env: env() });
    await n.waitFor(/Guests/, 30_000, 'the new console');
    await n.keys('5');
    const again = await n.waitFor((s) => /convert\s+(running|done)\s+\d\/5/.test(s), 30_000, 'the job in the new Jobs pane');
    if (/convert\s+running/.test(again)) expect(again).toMatch(/\d+%|compare|place|remove/);
    const done = await n.waitFor(/convert\s+done\s+5\/5/, 120_000, 'the job done');
    expect(done).toContain(id.slice(0, 20));
    expect(existsSync(path.join(dir, 'vdtest-jb-e2e.vmdk'))).toBe(true);
    expect(readFileSync(path.join(home, 'state', 'jobs', `${id}.log`), 'utf8')).toMatch(/job done/);
    await n.keys('q');
    await n.waitForExit(10_000);
  });
});
