import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliDeps, runCli } from '../../src/cli/commands/program.js';
import type { Output } from '../../src/cli/output.js';
import { createHostContext } from '../../src/config/connect.js';
import * as virsh from '../../src/host/virsh.js';
import { createAppStore } from '../../src/store/appStore.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * The all-hosts view on the real stack: this machine's qemu:///system, libvirt's test driver
 * (test:///default, no daemon: its guest "test" runs) and a host whose ssh port refuses
 * (qemu+ssh://root@127.0.0.1:1/system). The first two list their guests; the third is one
 * unreachable row with ssh's sentence, well within the per-host deadline.
 */
const guest = `vdtest-allh-${process.pid}`;
const TIMEOUT_MS = 8_000;
const hosts = [
  { name: 'testdrv', uri: 'test:///default' },
  { name: 'nowhere', uri: 'qemu+ssh://root@127.0.0.1:1/system' },
];

beforeAll(async () => {
  await virsh.defineXml(localHost(), tinyGuestXml(guest));
});

afterAll(async () => {
  await removeGuest(localHost(), guest);
  rmSync(virsh.qemuLogPath(guest), { force: true });
});

describe('all hosts in one view (real libvirt)', () => {
  it("the console's table shows both answering hosts' guests and the refusing one's sentence, within the deadline", async () => {
    const here = createHostContext({ uri: 'qemu:///system', name: 'here', fromConfig: true });
    const store = createAppStore(here, { live: false, hosts, allHosts: true, hostTimeoutMs: TIMEOUT_MS });
    try {
      const started = Date.now();
      await store.getState().refresh();
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
      const s = store.getState();
      expect(s.allGuests.find((g) => g.name === guest)).toMatchObject({ host: 'here', state: 'shut off' });
      expect(s.allGuests.find((g) => g.host === 'testdrv')).toMatchObject({ name: 'test', state: 'running' });
      expect(s.hostStates.map((h) => [h.name, h.answered])).toEqual([
        ['here', true],
        ['testdrv', true],
        ['nowhere', false],
      ]);
      expect(s.hostStates[2]?.error?.sentence).toMatch(/Could not reach 127\.0\.0\.1 over SSH \(Connection refused\)/);
      // An action on the test driver's row goes to the test driver (its "test" pauses there; the
      // test driver forgets it with the connection, so nothing is left behind).
      store.getState().select('test', 'testdrv');
      expect(store.getState().hostOfGuest('test')?.uri).toBe('test:///default');
      await (store.getState().panes.guests as unknown as { pauseResume(n: string): Promise<void> }).pauseResume('test');
      expect(store.getState().message?.text).toMatch(/^test is paused/);
    } finally {
      store.getState().quit();
      await store.getState().whenStopped();
    }
  });

  it('virtdeck guest list --all-hosts --json: both hosts listed, the refusing one reported, exit 1', async () => {
    let out = '';
    let err = '';
    const output = (json: boolean): Output => ({
      json,
      out: (t) => {
        out += `${t}\n`;
      },
      err: (t) => {
        err += `${t}\n`;
      },
    });
    const deps: CliDeps = {
      version: 'test',
      createHost: () => createHostContext({ uri: 'qemu:///system', name: 'here', fromConfig: true }),
      runTui: async () => {},
      ensureDemo: async () => {},
      resetDemo: async () => [],
      output,
      configHosts: () => hosts,
    };
    const code = await runCli(['guest', 'list', '--all-hosts', '--json'], deps);
    expect(code).toBe(1);
    const j = JSON.parse(out) as { hosts: { name: string; ok: boolean; error?: { sentence: string } }[]; guests: { host: string; name: string }[] };
    expect(j.hosts.map((h) => [h.name, h.ok])).toEqual([
      ['here', true],
      ['testdrv', true],
      ['nowhere', false],
    ]);
    expect(j.hosts[2]?.error?.sentence).toMatch(/Connection refused/);
    expect(j.guests.some((g) => g.host === 'here' && g.name === guest)).toBe(true);
    expect(j.guests.some((g) => g.host === 'testdrv' && g.name === 'test')).toBe(true);
    expect(err).toBe('');
  });
});
