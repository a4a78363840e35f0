import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { Executor } from '../../src/host/exec.js';
import { hostSession } from '../../src/host/session.js';
import { createAppStore } from '../../src/store/appStore.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * Issue 13 item 6 against a real remote (a throwaway sshd on 127.0.0.1): quitting stops the
 * commands the console has in flight on the host — the remote process group too — at once, and
 * nothing logs in after.
 */

let scratch: { dir: string; remove: () => void };
let sshd: ThrowawaySshd | null = null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The remote command itself (its argv[0] is the mark), not the local ssh whose argv names it. */
const running = (mark: string) => spawnSync('pgrep', ['-af', `^${mark}`], { encoding: 'utf8' }).stdout.trim();

beforeAll(async () => {
  scratch = scratchDir('vdtest-qr-');
  sshd = await startThrowawaySshd(scratch.dir);
});

afterAll(() => {
  sshd?.stop();
  scratch?.remove();
});

describe('quit on a remote host', () => {
  it('a remote command in flight is stopped (its process group gone) within a second or two, and none starts after', async () => {
    const s = sshd as ThrowawaySshd;
    const session = hostSession(s.host);
    // A long remote read, as a refresh of a big image directory is: a sleep with a word of its own.
    const mark = `vdtest-qr-${randomBytes(4).toString('hex')}`;
    const read = session.host.sysExec.run(['bash', '-c', `exec -a ${mark} sleep 60`], { timeoutMs: 0 }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && !running(mark); i++) await sleep(50);
    expect(running(mark)).not.toBe('');
    const logins = s.logins();
    const t0 = Date.now();
    await session.close();
    const took = Date.now() - t0;
    expect(took).toBeLessThan(5_000);
    const e = await read;
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).code).toBe('cancelled');
    expect(running(mark)).toBe('');
    // One login to stop the group; then nothing reaches the host.
    const after = s.logins();
    expect(after - logins).toBeLessThanOrEqual(1);
    const refused = await session.host.sysExec.run(['true']).catch((x: unknown) => x);
    expect((refused as HostError).sentence).toMatch(/virtdeck has quit, so true was not started on root@127\.0\.0\.1/);
    await sleep(300);
    expect(s.logins()).toBe(after);
    process.stderr.write(`remote stop on quit took ${took} ms\n`);
  }, 60_000);

  it('the console quits during its first refresh over qemu+ssh: every command it started has ended within seconds, the slow one stopped on the host', async () => {
    const s = sshd as ThrowawaySshd;
    // Every command the store starts, so the test sees when the last one has ended.
    const inFlight = new Set<Promise<unknown>>();
    const tracked = (e: Executor): Executor => ({
      label: e.label,
      local: e.local,
      interactive: (argv, o) => e.interactive(argv, o),
      run(argv, o) {
        const p = e.run(argv, o);
        inFlight.add(p);
        const done = () => inFlight.delete(p);
        p.then(done, done);
        return p;
      },
    });
    const host = { ...s.host, virshExec: tracked(s.host.virshExec), sysExec: tracked(s.host.sysExec) };
    // The header's accelerator probe stands in for a slow remote read (a big image directory).
    const mark = `vdtest-qr-${randomBytes(4).toString('hex')}`;
    const slowProbe = async (exec: Executor) => {
      await exec.run(['bash', '-c', `exec -a ${mark} sleep 60`], { timeoutMs: 0 });
      return { accel: 'tcg' as const, reason: 'probe' };
    };
    const store = createAppStore(host, { pollMs: 50, detectAccel: slowProbe });
    store.getState().init();
    for (let i = 0; i < 200 && !running(mark); i++) await sleep(50);
    expect(running(mark)).not.toBe('');
    const t0 = Date.now();
    store.getState().quit();
    while (inFlight.size > 0 && Date.now() - t0 < 30_000) await Promise.race([...inFlight].map((p) => p.catch(() => undefined)));
    const took = Date.now() - t0;
    expect(running(mark)).toBe('');
    expect(took).toBeLessThan(5_000);
    const after = s.logins();
    await sleep(1_000);
    expect(s.logins()).toBe(after);
    expect(inFlight.size).toBe(0);
    process.stderr.write(`quit during the first refresh: every command ended ${took} ms after q\n`);
  }, 60_000);
});
