import { describe, expect, it } from 'vitest';
import type { Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { pressKey } from '../../src/store/keys/owners.js';
import { createP2vWizard } from '../../src/store/wizards/p2v/p2vWizard.js';
import { createFakeHost } from '../helpers/fakeHost.js';

/**
 * Issue 13 item 7: on a remote host the SSH source is refused at step 1, as the CLI refuses it,
 * before any ssh to the source — not at step 3 after the source was read.
 */
describe('P2V wizard on a remote host', () => {
  it('refuses an SSH source on the source step, without reading it', async () => {
    const fake = createFakeHost([], { uri: 'qemu+ssh://root@host2/system', hostname: 'host2' });
    const calls: string[][] = [];
    const remote: Executor = {
      label: 'root@host2',
      interactive: async () => 0,
      run: async (argv, o) => {
        calls.push(argv);
        return fake.host.sysExec.run(argv, o);
      },
    };
    const host: HostContext = { ...fake.host, sysExec: remote };
    const store = createP2vWizard({ host, onClose: () => {}, initial: { kind: 'ssh', sshTarget: 'root@192.0.2.7' } });
    pressKey(store.getState().owner, { name: 'enter', input: '' });
    await new Promise((r) => setTimeout(r, 100));
    const s = store.getState();
    expect(s.step).toBe('source');
    expect(s.busy).toBeNull();
    expect(s.problems.map((p) => p.sentence)).toEqual(['P2V over SSH writes the image on the machine virtdeck runs on, not on host2.']);
    expect(s.facts).toBeNull();
    expect(calls).toEqual([]);
  });
});
