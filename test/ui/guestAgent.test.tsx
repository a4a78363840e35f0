/**
 * The guest agent path against a fake host executor that answers with virsh's own output. A real
 * fake agent (a unix socket speaking the guest-agent protocol) cannot stand in here: libvirt
 * connects to the agent only after the guest side opens its virtio-serial port (QEMU's
 * VSERPORT_CHANGE), which takes an OS with a virtio-console driver inside the guest, and the TCG
 * test guests boot no OS. test/integration/guestAgent.test.ts covers the real host's answers for a
 * guest with the channel and no agent, and for one without the channel.
 */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import type { FakeGuest } from '../helpers/fakeHost.js';
import { KEYS, renderApp } from './helpers.js';

afterEach(() => cleanup());

const ASCII = { LANG: 'C.UTF-8', TERM: 'linux', NO_COLOR: '1' };

const DOMIFADDR = ` lo         00:00:00:00:00:00    ipv4         127.0.0.1/8
 eth0       52:54:00:00:00:00    ipv4         192.168.122.10/24
 -          -                    ipv6         fe80::5054:ff:fe00:0/64
`;
const GUESTINFO = `os.pretty-name      : Debian GNU/Linux 12 (bookworm)
hostname            : web1\u001b]2;pwned\u0007
fs.count            : 1
fs.0.mountpoint     : /
fs.0.fstype         : ext4
fs.0.total-bytes    : 10737418240
fs.0.used-bytes     : 3221225472
`;

function guests(extra: Partial<FakeGuest>): FakeGuest[] {
  return [{ name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, ...extra }];
}

const agentCalls = (calls: string[][]) => calls.filter((c) => /domifaddr|guestinfo/.test(c.join(' ')));

describe('inside the guest, via the guest agent', () => {
  test('80x24 TERM=linux: an answering agent gives the address, hostname and OS under the usage line; its file systems with a taller strip', async () => {
    const app = await renderApp(guests({ agentChannel: 'connected', agent: { domifaddr: DOMIFADDR, guestinfo: GUESTINFO } }), { env: ASCII, store: { agentSettleMs: 0 } });
    const f = await app.waitFor(/ip +192\.168\.122\.10/);
    // The hostname's escape sequence is written out, never sent; the line is cut at the edge.
    expect(f).toContain('| ip   192.168.122.10 (agent) - host web1\\x1b]2;pwned\\x07 - Debian GNU/Linu... |');
    expect(f).toContain('| fs   / 30% of 10G ');
    expect(f).not.toMatch(/[^\x00-\x7f]/);
    expect(f).not.toContain('\u001b]2;');
    // One batch asked the agent, by UUID (a name never goes into a `;` command string); nothing else was needed.
    const asked = agentCalls(app.fake.calls);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.at(-1)).toMatch(/^domifaddr --domain [0-9a-f-]{36} --source agent; echo \S+; guestinfo --domain [0-9a-f-]{36} --os --hostname --filesystem; echo \S+$/);
    // A refresh asks no agent: the answer is cached.
    await app.store.getState().refresh();
    await app.store.getState().refresh();
    expect(agentCalls(app.fake.calls)).toHaveLength(1);
    expect(app.store.getState().guestAgent.get('alpha')?.filesystems).toEqual([{ mountpoint: '/', fstype: 'ext4', totalBytes: 10737418240, usedBytes: 3221225472 }]);
  });

  test('no channel in the XML: one line says how to add it and install the agent; the agent is not asked, only the DHCP leases', async () => {
    const app = await renderApp(guests({ leases: ' vnet0      52:54:00:00:00:00    ipv4         192.168.122.77/24\n' }), { env: ASCII, store: { agentSettleMs: 0 } });
    const f = await app.waitFor(/agent none/);
    expect(f).toMatch(/\| agent none: e > Guest agent yes; in the guest: apt install qemu-guest-agent +\|/);
    expect(f).toContain('ip   192.168.122.77 (DHCP lease)');
    const asked = agentCalls(app.fake.calls);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.at(-1)).not.toContain('--source agent');
    expect(asked[0]?.at(-1)).toContain('--source lease');
  });

  test('a channel nobody answers on: "agent silent" and how to start it', async () => {
    const app = await renderApp(guests({ agentChannel: 'disconnected' }), { env: ASCII, store: { agentSettleMs: 0 } });
    expect(await app.waitFor(/agent silent/)).toContain('agent silent: in the guest: apt install qemu-guest-agent, then start it');
  });

  test('a hung agent never stalls the refresh; it is given up at its timeout and shown as silent', async () => {
    const app = await renderApp(guests({ agentChannel: 'connected', agent: { hang: true } }), { store: { agentSettleMs: 0 } });
    // The agent's batch is in flight (the fake holds it until the 2 s kill), and refreshes go on.
    expect(agentCalls(app.fake.calls)).toHaveLength(1);
    const t0 = Date.now();
    await app.store.getState().refresh();
    expect(Date.now() - t0).toBeLessThan(500);
    const f = await app.waitFor(/agent silent/);
    expect(Date.now() - t0).toBeLessThan(2_600);
    expect(app.store.getState().guestAgent.get('alpha')?.reason).toBe('no answer within 2 s');
    expect(f).toContain('agent silent');
  });

  test('only the selected running guest is asked; moving away aborts nothing finished and asks the next one once', async () => {
    const app = await renderApp(
      [
        { name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512 },
        { name: 'bravo', state: 'shut off', vcpus: 1, memoryMiB: 512, agentChannel: 'connected' },
        { name: 'charlie', state: 'running', vcpus: 1, memoryMiB: 512, agentChannel: 'connected', agent: { guestinfo: 'hostname            : c1\n' } },
      ],
      { store: { agentSettleMs: 0 } },
    );
    await app.waitFor(/agent none/);
    await app.press('j'); // bravo: shut off, nothing to ask
    expect(agentCalls(app.fake.calls)).toHaveLength(1);
    expect(app.frame()).not.toContain('agent');
    await app.press('j'); // charlie
    expect(await app.waitFor(/os +host c1/)).toBeTruthy();
    // The agent answered without addresses, so the host's leases were asked too: two batches for charlie.
    await app.waitFor(() => agentCalls(app.fake.calls).length === 3);
    await app.press('k');
    await app.press('k'); // back to alpha: its answer is still fresh
    await app.waitFor(/agent none/);
    expect(agentCalls(app.fake.calls)).toHaveLength(3);
  });

  test('the settings form adds the channel: e, Guest agent yes, save, and the defined XML has org.qemu.guest_agent.0', async () => {
    const app = await renderApp([{ name: 'alpha', state: 'shut off', vcpus: 1, memoryMiB: 512 }], { store: { agentSettleMs: 0 } });
    await app.press('e');
    await app.waitFor(/Guest agent/);
    for (let i = 0; i < 20 && app.store.getState().dialogs.at(-1)?.kind === 'settings'; i++) {
      const d = app.store.getState().dialogs.at(-1);
      if (d?.kind === 'settings' && d.form.fields[d.form.focus]?.id === 'guestAgent') break;
      await app.press(KEYS.down);
    }
    await app.press(' ');
    const d = app.store.getState().dialogs.at(-1);
    expect(d?.kind === 'settings' && d.form.fields.find((x) => x.id === 'guestAgent')?.value).toBe('yes');
    app.store.getState().saveSettings();
    expect(await app.waitFor(/guest agent channel added/)).toContain('org.qemu.guest_agent.0');
    const diff = app.store.getState().dialogs.at(-1);
    if (diff?.kind !== 'diff') throw new Error('no diff');
    await diff.onApply();
    await app.waitFor(/Saved the settings of alpha/);
    const defined = app.fake.calls.findIndex((c) => c.includes('define'));
    expect(defined).toBeGreaterThan(0);
    // The refresh after the save reads the channel back from the defined XML.
    await app.waitFor(() => app.store.getState().guests.find((g) => g.name === 'alpha')?.agentChannel === 'present');
  });

  test('Enter shows everything the agent said (every address with its interface, every file system), or the whole recipe', async () => {
    const app = await renderApp(guests({ agentChannel: 'connected', agent: { domifaddr: DOMIFADDR, guestinfo: GUESTINFO } }), { env: ASCII, store: { agentSettleMs: 0 } });
    await app.waitFor(/ip +192\.168\.122\.10/);
    await app.press(KEYS.enter);
    const d = app.store.getState().dialogs.at(-1);
    if (d?.kind !== 'text') throw new Error('no details');
    expect(d.lines).toContain('Agent      answered; hostname web1\\x1b]2;pwned\\x07');
    expect(d.lines).toContain('Guest OS   Debian GNU/Linux 12 (bookworm)');
    expect(d.lines).toContain('Addresses  from the guest agent:');
    expect(d.lines.filter((l) => /^ {2}(lo|eth0) /.test(l))).toEqual([
      '  lo               00:00:00:00:00:00 127.0.0.1/8',
      '  eth0             52:54:00:00:00:00 192.168.122.10/24',
      '  eth0             52:54:00:00:00:00 fe80::5054:ff:fe00:0/64',
    ]);
    expect(d.lines.some((l) => /^ {2}\/ +ext4 +30% used of 10G$/.test(l))).toBe(true);
    cleanup();
    const none = await renderApp(guests({}), { env: ASCII, store: { agentSettleMs: 0 } });
    await none.waitFor(/agent none/);
    await none.press(KEYS.enter);
    const n = none.store.getState().dialogs.at(-1);
    if (n?.kind !== 'text') throw new Error('no details');
    expect(n.lines).toContain('  Add it: e, Guest agent yes, save; it takes effect when the guest is next started.');
    expect(n.lines.some((l) => l.includes('systemctl enable --now qemu-guest-agent'))).toBe(true);
  });
});
