import { describe, expect, it } from 'vitest';
import { formatError } from '../../src/cli/output.js';
import { HostError } from '../../src/host/errors.js';
import { createAppStore } from '../../src/store/appStore.js';
import { vncTunnelCommand } from '../../src/store/sshTarget.js';
import { headerTitle } from '../../src/ui/components/Header.js';
import { chooseTheme } from '../../src/ui/theme.js';
import { createFakeHost } from '../helpers/fakeHost.js';

/** Issue 13 item 8: what the console and the CLI say about a remote host. */
const KEYED = 'qemu+ssh://root@host2:2222/system?keyfile=/root/.ssh/host2_ed25519&no_verify=1';

describe('hints for a remote host', () => {
  it('the VNC tunnel keeps the ssh port and key of the URI', async () => {
    const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }], { uri: KEYED, hostname: 'host2' });
    const store = createAppStore(fake.host, { size: { columns: 80, rows: 24 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }) });
    await store.getState().refresh();
    store.getState().pressKey({ name: 'v', input: 'v' });
    for (let i = 0; i < 50 && !store.getState().dialogs.length; i++) await new Promise((r) => setTimeout(r, 10));
    const d = store.getState().dialogs.at(-1);
    expect(d?.kind).toBe('text');
    const lines = d?.kind === 'text' ? d.lines : [];
    expect(lines).toContain('  ssh -L 5901:127.0.0.1:5901 -p 2222 -i /root/.ssh/host2_ed25519 root@host2');
    // This machine's own URI has nothing to add.
    expect(vncTunnelCommand('qemu:///system', 'vm1', 5900, '127.0.0.1')).toBe('ssh -L 5900:127.0.0.1:5900 root@vm1');
  });

  it('at 80 columns a long URI gives way and libvirt, QEMU and the accelerator stay in the header', () => {
    const theme = chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' });
    const versions = { libvirt: '9.0.0', hypervisor: 'QEMU 7.2.0', hostname: 'host2' };
    const host = { ...createFakeHost([]).host, name: 'host2', uri: KEYED };
    const title = headerTitle(theme, host, versions, { accel: 'tcg', reason: '' }, 80);
    expect(title.length).toBeLessThanOrEqual(76);
    expect(title).toBe('virtdeck · host2 · root@host2 · libvirt 9.0 · QEMU 7.2 · TCG (no KVM)');
    expect(title).not.toContain('keyfile');
    // Wide enough, the URI (without its query) is there.
    expect(headerTitle(theme, host, versions, { accel: 'tcg', reason: '' }, 120)).toBe('virtdeck · host2 · qemu+ssh://root@host2:2222/system · libvirt 9.0 · QEMU 7.2 · TCG (no KVM)');
    // This machine's header is as it was.
    const local = { ...host, name: 'vm', uri: 'qemu:///system' };
    expect(headerTitle(theme, local, { ...versions, hostname: 'vm' }, { accel: 'tcg', reason: '' }, 80)).toBe('virtdeck · vm · qemu:///system · libvirt 9.0 · QEMU 7.2 · TCG (no KVM)');
  });

  it('ran: lines are shell-quoted and say when the command ran over ssh', () => {
    const e = new HostError({ sentence: 'qemu-img failed.', fix: 'Look.', command: ['qemu-img', 'info', '--', '/srv/vm/my disk.qcow2'], stderr: 'x', ranOn: 'root@host2' });
    expect(formatError(e).split('\n')[2]).toBe("  ran: qemu-img info -- '/srv/vm/my disk.qcow2'   (over ssh on root@host2)");
    const here = new HostError({ sentence: 'virsh failed.', fix: 'Look.', command: ['virsh', 'start', '--domain', "it's"], stderr: 'x' });
    expect(formatError(here).split('\n')[2]).toBe("  ran: virsh start --domain 'it'\\''s'");
  });
});
