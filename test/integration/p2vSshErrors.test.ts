import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostError } from '../../src/host/errors.js';
import { gatherSourceFacts } from '../../src/jobs/p2v.js';
import { type P2vSource, parseSshSource } from '../../src/model/p2vPlan.js';
import { pressKey } from '../../src/store/keys/owners.js';
import { createP2vWizard } from '../../src/store/wizards/p2v/p2vWizard.js';
import { runCli } from '../helpers/hostileCli.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * A P2V source that ssh cannot log in to, for each reason an admin meets (a host key this machine
 * has not recorded, a key the source refuses, a port where no sshd listens): the wizard and the CLI
 * show ssh's own line and the fix for that reason, and the fix works.
 */
const scratch = scratchDir('vdt13p2vssh-');
const dir = scratch.dir;
const DISK = join(dir, 'disk.raw');
const OUT = join(dir, 'out');
const OTHER_KEY = join(dir, 'other_key');
/** The test's known_hosts: root's own is never touched. */
const KNOWN = join(dir, 'known_hosts');
let sshd: ThrowawaySshd;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  mkdirSync(join(dir, 'sshd'));
  mkdirSync(OUT);
  writeFileSync(DISK, Buffer.alloc(1024 * 1024));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', OTHER_KEY]);
  sshd = await startThrowawaySshd(join(dir, 'sshd'));
}, 60_000);

afterAll(() => {
  sshd?.stop();
  scratch.remove();
});

const source = (o: { port?: number; key?: string; known?: string } = {}): P2vSource =>
  parseSshSource(`root@127.0.0.1:${DISK}`, { sshPort: String(o.port ?? sshd.port), identity: o.key ?? sshd.keyFile, sshOption: [`UserKnownHostsFile=${o.known ?? KNOWN}`] });

async function loginError(s: P2vSource): Promise<HostError> {
  const e = await gatherSourceFacts(localHost(), s).then(
    () => null,
    (err: unknown) => err,
  );
  if (!e) throw new Error('ssh logged in');
  return e as HostError;
}

const cli = (s: { port?: number; key?: string; known?: string } = {}) =>
  runCli(
    ['p2v', '--from-ssh', `root@127.0.0.1:${DISK}`, '--ssh-port', String(s.port ?? sshd.port), '--identity', s.key ?? sshd.keyFile, '--ssh-option', `UserKnownHostsFile=${s.known ?? KNOWN}`, '--name', 'vdt13p2vssh', '--dest', OUT, '--dry-run'],
    { cwd: dir },
  );

/** The wizard's step 1 with the fields filled (the SSH -o field too), Enter, and what it shows. */
async function wizardProblem(s: { port?: number; key?: string; known?: string } = {}) {
  const store = createP2vWizard({
    host: localHost(),
    stateDir: join(dir, 'state'),
    onClose: () => {},
    initial: { kind: 'ssh', sshTarget: 'root@127.0.0.1', sshDevice: DISK, sshPort: String(s.port ?? sshd.port), identity: s.key ?? sshd.keyFile, sshOptions: `UserKnownHostsFile=${s.known ?? KNOWN}` },
  });
  pressKey(store.getState().owner, { name: 'enter', input: '' });
  const deadline = Date.now() + 30_000;
  while (store.getState().busy !== null || (store.getState().problems.length === 0 && store.getState().step === 'source')) {
    if (Date.now() > deadline) throw new Error('the wizard did not answer');
    await new Promise((r) => setTimeout(r, 50));
  }
  return store.getState();
}

describe('P2V: why ssh could not log in, in its own words', () => {
  it('a host key this machine has not recorded: check the fingerprint, then ssh-keyscan; the fix works', async () => {
    const e = await loginError(source());
    expect(e.code).toBe('unknown-host-key');
    expect(e.sentence).toBe(`ssh refused to log in to root@127.0.0.1 (port ${sshd.port}): this machine does not know its host key (ssh said: "Host key verification failed.").`);
    const scan = `ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${KNOWN}`;
    expect(e.fix).toContain(`ssh-keyscan -p ${sshd.port} 127.0.0.1 | ssh-keygen -lf -`);
    expect(e.fix.endsWith(`then record it: ${scan}`)).toBe(true);

    const w = await wizardProblem();
    expect(w.step).toBe('source');
    expect(w.problems[0]).toMatchObject({ sentence: e.sentence, fix: e.fix });

    const r = await cli();
    expect(r.exitCode).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe(`virtdeck: ${e.sentence}`);
    expect(lines[1]).toBe(`  fix: ${e.fix}`);

    // The fix as printed, then the same source logs in.
    execFileSync('sh', ['-c', `${scan} 2>/dev/null`]);
    const facts = await gatherSourceFacts(localHost(), source());
    expect(facts.sizeBytes).toBe(1024 * 1024);
  }, 60_000);

  it('a key the source refuses', async () => {
    const e = await loginError(source({ key: OTHER_KEY }));
    expect(e.code).toBe('key-refused');
    expect(e.sentence).toBe(`root@127.0.0.1 (port ${sshd.port}) refused the login (ssh said: "root@127.0.0.1: Permission denied (publickey).").`);
    expect(e.fix).toContain(`ssh-copy-id -p ${sshd.port} -i ${OTHER_KEY} root@127.0.0.1`);
    const w = await wizardProblem({ key: OTHER_KEY });
    expect(w.problems[0]?.sentence).toBe(e.sentence);
    const r = await cli({ key: OTHER_KEY });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`virtdeck: ${e.sentence}`);
  }, 60_000);

  it('a port where no sshd listens', async () => {
    const port = await freePort();
    const e = await loginError(source({ port }));
    expect(e.code).toBe('connection-refused');
    expect(e.sentence).toBe(`Nothing accepts ssh connections on port ${port} of 127.0.0.1 (ssh said: "ssh: connect to host 127.0.0.1 port ${port}: Connection refused").`);
    expect(e.fix).toMatch(/^Start sshd on the source .* or give the port sshd listens on there/);
    const w = await wizardProblem({ port });
    expect(w.problems[0]?.sentence).toBe(e.sentence);
    const r = await cli({ port });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`virtdeck: ${e.sentence}`);
    expect(readdirSync(OUT)).toEqual([]);
  }, 60_000);

  it('the wizard refuses an SSH -o word that is not Key=value on its field', async () => {
    const store = createP2vWizard({ host: localHost(), stateDir: join(dir, 'state'), onClose: () => {}, initial: { kind: 'ssh', sshTarget: 'root@127.0.0.1', sshOptions: 'StrictHostKeyChecking' } });
    pressKey(store.getState().owner, { name: 'enter', input: '' });
    await new Promise((r) => setTimeout(r, 50));
    expect(store.getState().source.error).toMatchObject({ field: 'sshOptions', sentence: '"StrictHostKeyChecking" is not an ssh option.' });
  });
});
