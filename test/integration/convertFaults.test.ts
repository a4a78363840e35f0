import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { Journal, listJournals } from '../../src/jobs/journal.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { finishJob, rollbackJob } from '../../src/jobs/runner.js';
import { targetFrom } from '../../src/model/convertPlan.js';
import { removeGuest, scratchDir } from '../helpers/tinyGuest.js';

/**
 * kill -9 at every step of a conversion (with repoint), then recovery the way a restarted virtdeck
 * does it: the original is intact, rollback leaves no temp file and the old definition, finish
 * leaves a verified copy the guest uses.
 */
const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
const GUEST = 'vdtest-cv-fault';
const scratch = scratchDir('vdtest-cv-f-');
const dir = scratch.dir;
const SRC = join(dir, 'big.raw');
const DEST = join(dir, 'big.vmdk');
const home = join(dir, 'home');
const children = new Set<ChildProcess>();
let srcSum = '';

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const virsh = (...args: string[]) => sh('virsh', '-c', host.uri, ...args);
function sha(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

function guestXml(): string {
  return `<domain type='qemu'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${SRC}'/><target dev='hda' bus='ide'/></disk></devices></domain>`;
}

beforeAll(async () => {
  // Big enough (256 MiB of data) that the convert and compare steps are caught midway.
  sh('qemu-img', 'create', '-q', '-f', 'raw', SRC, '512M');
  sh('qemu-io', '-f', 'raw', '-c', 'write -P 0xab 0 128M', '-c', 'write -P 0xcd 300M 128M', '-c', 'write -P 0x11 511M 64k', SRC);
  srcSum = await sha(SRC);
  execFileSync('sh', ['-c', `cat > '${join(dir, 'g.xml')}'`], { input: guestXml() });
  virsh('define', '--file', join(dir, 'g.xml'));
  // Redefining by name needs the UUID libvirt gave it: keep libvirt's own text for resets.
  execFileSync('sh', ['-c', `cat > '${join(dir, 'g.xml')}'`], { input: virsh('dumpxml', '--inactive', GUEST) });
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await removeGuest(host, GUEST);
  scratch.remove();
});

/** Starts the job in a child; resolves when `ready(line)` says the moment to kill has come. */
function startChild(hangAt: string | undefined, ready: (line: string) => boolean): Promise<ChildProcess> {
  const input = { source: SRC, target: targetFrom('vmdk'), dest: DEST, repoint: { guest: GUEST } };
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'helpers', 'convertFaultChild.ts')], {
    env: { ...process.env, VIRTDECK_HOME: home, VD_CONVERT_INPUT: JSON.stringify(input), VD_HANG_AT: hangAt ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      if (lines.some(ready)) resolve(child);
    });
    child.on('exit', () => reject(new Error(`the job ended before the kill point; stdout:\n${out}\nstderr:\n${err}`)));
  });
}

async function kill(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  children.delete(child);
}

function runningJournal(): Journal {
  const js = listJournals(join(home, 'state')).filter((j) => j.record.state === 'running');
  expect(js).toHaveLength(1);
  return js[0] as Journal;
}

function guestDisk(): string {
  return /<source file='([^']+)'/.exec(virsh('dumpxml', '--inactive', GUEST))?.[1] ?? '';
}

async function reset(): Promise<void> {
  for (const f of readdirSync(dir)) if (f.startsWith('.big.vmdk') || f === 'big.vmdk') rmSync(join(dir, f), { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  if (guestDisk() !== SRC) virsh('define', '--file', join(dir, 'g.xml'));
}

const STEPS: { id: string; index: number; hang: boolean }[] = [
  { id: 'tempdir', index: 0, hang: true },
  { id: 'convert', index: 1, hang: false },
  { id: 'compare', index: 2, hang: false },
  { id: 'place', index: 3, hang: true },
  { id: 'repoint', index: 4, hang: true },
  { id: 'droptemp', index: 5, hang: true },
];

describe('SIGKILL at each step, then recovery', () => {
  for (const step of STEPS) {
    for (const recovery of ['rollback', 'finish'] as const) {
      it(`killed during ${step.id}, then ${recovery}`, async () => {
        await reset();
        // Long steps are killed once qemu-img has made progress; short ones at their start.
        const child = await startChild(step.hang ? step.id : undefined, (l) =>
          step.hang ? l.startsWith(`start ${step.index} `) : /^progress (\d+) (\S+)/.test(l) && l.startsWith(`progress ${step.index} `) && Number(l.split(' ')[2]) > 5,
        );
        await kill(child);
        const journal = Journal.load(runningJournal().path);
        expect(journal.record.steps[step.index]?.state).toBe('running');
        const opts = { host, stateDir: join(home, 'state'), actions: actionsFor('convert', host) };
        const r = recovery === 'rollback' ? await rollbackJob(journal, opts) : await finishJob(journal, opts);
        expect(await sha(SRC)).toBe(srcSum);
        const left = readdirSync(dir).filter((f) => f.includes('virtdeck-tmp'));
        if (recovery === 'rollback') {
          expect(r.state).toBe('rolled-back');
          expect(left).toEqual([]);
          expect(existsSync(DEST)).toBe(false);
          expect(guestDisk()).toBe(SRC);
        } else {
          expect(r.state).toBe('done');
          expect(left).toEqual([]);
          sh('qemu-img', 'compare', '-f', 'raw', '-F', 'vmdk', SRC, DEST);
          expect(guestDisk()).toBe(DEST);
        }
      });
    }
  }
});
