import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal, listJournals } from '../../src/jobs/journal.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { finishJob, rollbackJob } from '../../src/jobs/runner.js';
import { cliArgv } from '../helpers/cli.js';
import { killProcessGroup } from '../helpers/planFault.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * kill -9 of `virtdeck disk expand` (a vmdk, the route with a temporary copy and a swap) during
 * each step, then a later virtdeck rolls the journal back (the original's sha256 is unchanged and
 * nothing is left behind) or finishes it (the new vmdk has the new size and the same data).
 *
 * To catch each step reliably, the child's PATH has shims for the programs the steps run: each
 * runs the real program, then, when the journal shows the chosen step running, marks that it is
 * done and hangs, so the kill lands after the step's effect but before the journal records it done
 * (the hardest moment to recover from). Only the outermost shim hangs: the swap step's script runs
 * mkdir through the shim too, and must finish its moves first.
 */

const host = localHost();
const scratch = scratchDir('vdtest-ex-faults-');
const MiB = 1024 * 1024;
const STEPS = ['workdir', 'to-raw', 'resize', 'to-vmdk', 'compare', 'swap', 'cleanup'];
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const shimDir = join(scratch.dir, 'shims');
mkdirSync(shimDir);
/** Exits 0 when a journal in jobs dir argv[1] has step argv[2] running (a job has one journal and its .progress.json). */
const STEP_RUNNING = join(scratch.dir, 'step-running.cjs');
writeFileSync(
  STEP_RUNNING,
  `const { readdirSync, readFileSync } = require('node:fs');
const [dir, step] = process.argv.slice(2);
let files = [];
try { files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.progress.json')); } catch {}
const running = files.some((f) => { try { return JSON.parse(readFileSync(dir + '/' + f, 'utf8')).steps[Number(step)].state === 'running'; } catch { return false; } });
process.exit(running ? 0 : 1);
`,
);
for (const prog of ['qemu-img', 'mkdir', 'sh', 'rm']) {
  const real = sh('/bin/sh', ['-c', `command -v ${prog}`]).trim();
  const f = join(shimDir, prog);
  const hang = `if [ -z "$VD_IN_SHIM" ] && "${process.execPath}" "${STEP_RUNNING}" "$VD_JOBS" "$VD_KILL_STEP"; then : > "$VD_CAUGHT"; sleep 900; fi`;
  writeFileSync(f, `#!/bin/sh\nVD_IN_SHIM=1 "${real}" "$@"\nrc=$?\n${hang}\nexit $rc\n`);
  chmodSync(f, 0o755);
}

let child: ChildProcess | null = null;
afterAll(() => {
  scratch.remove();
});

function makeVmdk(dir: string): string {
  const p = join(dir, 'vdtest-ex-f.vmdk');
  sh('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse,adapter_type=lsilogic,compat6', p, '4M']);
  sh('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0xab 0 1M', '-c', 'write -P 0xcd 3M 1M', p]);
  return p;
}

/** Starts the CLI on the vmdk and SIGKILLs its whole process group while `step` is running. */
async function killDuring(home: string, image: string, step: number): Promise<Journal> {
  const state = join(home, 'state');
  const caught = join(home, 'caught');
  child = spawn(...cliArgv('disk', 'expand', image, '--size', '+4M', '--no-grow-fs'), {
    env: { ...process.env, VIRTDECK_HOME: home, PATH: `${shimDir}:${process.env.PATH}`, VD_JOBS: join(state, 'jobs'), VD_KILL_STEP: String(step), VD_CAUGHT: caught },
    detached: true,
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  // The shim hangs once the step's program has done its work; the journal still says running.
  while (!existsSync(caught)) {
    const j = listJournals(state)[0];
    if (j && j.record.state !== 'running') throw new Error(`job ended ${j.record.state} before step ${step} was caught`);
    if (Date.now() > deadline) throw new Error(`step ${step} never ran`);
    await sleep(20);
  }
  await killProcessGroup(child.pid as number);
  const j = Journal.load((listJournals(state)[0] as Journal).path);
  expect(j.record.state).toBe('running');
  expect(j.record.steps[step]?.state).toBe('running');
  return j;
}

describe('expansion killed at each step', () => {
  for (const [i, id] of STEPS.entries()) {
    it(`step ${i + 1} (${id}): rollback restores the original; finish completes it`, { timeout: 120_000 }, async () => {
      const base = join(scratch.dir, `s${i}`);
      for (const mode of ['rollback', 'finish'] as const) {
        const dir = join(base, mode);
        mkdirSync(dir, { recursive: true });
        chmodSync(dir, 0o755);
        const image = makeVmdk(dir);
        const before = sha(image);
        const home = join(dir, 'home');
        const journal = await killDuring(home, image, i);
        const opts = { host, stateDir: join(home, 'state'), actions: actionsFor('expand', host) };
        if (mode === 'rollback') {
          const r = await rollbackJob(journal, opts);
          expect(r.state).toBe('rolled-back');
          expect(sha(image)).toBe(before);
          expect(readdirSync(dir).sort()).toEqual(['home', 'vdtest-ex-f.vmdk']);
        } else {
          const r = await finishJob(journal, opts);
          expect(r.state).toBe('done');
          const info = JSON.parse(sh('qemu-img', ['info', '--output=json', image])) as { 'virtual-size': number };
          expect(info['virtual-size']).toBe(8 * MiB);
          expect(sh('qemu-io', ['-f', 'vmdk', '-c', 'read -P 0xab 0 1M', '-c', 'read -P 0xcd 3M 1M', '-c', 'read -P 0 4M 4M', image])).not.toMatch(/verification failed/);
          expect(sha(join(dir, 'vdtest-ex-f.virtdeck-orig', 'vdtest-ex-f.vmdk'))).toBe(before);
          expect(existsSync(join(dir, '.vdtest-ex-f.virtdeck-expand'))).toBe(false);
        }
      }
      rmSync(base, { recursive: true, force: true });
    });
  }
});
