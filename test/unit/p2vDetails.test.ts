import { describe, expect, it } from 'vitest';
import { completeRequest } from '../../src/jobs/p2v.js';
import { checkP2v, nameFromSource, type P2vHostFacts, type P2vRequest, type P2vSourceFacts, p2vMac } from '../../src/model/p2vPlan.js';
import { initialP2vForm, prefill } from '../../src/store/wizards/p2v/p2vForm.js';

/** Issue 13 item 7: the P2V details an admin hit trying it end to end. */
const SRC: P2vSourceFacts = { sizeBytes: 8 * 1024 ** 3, model: null, partitionTable: 'dos', partitions: [], mounted: [], memoryKiB: null, vcpus: null, nics: [] };
const HOST: P2vHostFacts = { domainType: 'qemu', guestExists: false, destDirExists: true, existing: [], freeBytes: 100 * 1024 ** 3, sourceReadable: true };
const FILE = { kind: 'file' as const, path: '/srv/dumps/old.img' };

function req(over: Partial<P2vRequest> = {}): P2vRequest {
  return { source: FILE, name: 'oldsrv', destDir: '/srv/vm', format: 'qcow2', macs: ['00:1a:2b:3c:4d:5e'], memoryMiB: 2048, vcpus: 2, bus: 'ide', network: { kind: 'user' }, osType: 'windows', verifyRemote: true, ...over };
}

describe('P2V details', () => {
  it('a source with no NIC gets one new MAC that the dry-run and the run agree on', () => {
    const input = { source: FILE, name: 'old', destDir: '/srv/vm' };
    const a = completeRequest(input, SRC).macs;
    const b = completeRequest(input, SRC).macs;
    expect(a).toEqual(b);
    expect(a[0]).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(a[0]).toBe(p2vMac(FILE, 'old'));
    // Another guest from the same dump is another NIC.
    expect(completeRequest({ ...input, name: 'old2' }, SRC).macs[0]).not.toBe(a[0]);
  });

  it('a name prefilled from an address is not its first three numbers', () => {
    const ssh = (destination: string) => ({ kind: 'ssh' as const, destination, device: '/dev/sda' });
    expect(nameFromSource(ssh('root@127.0.0.1'))).toBe('p2v-127-0-0-1');
    expect(nameFromSource(ssh('root@fe80::1'))).toBe('p2v-fe80-1');
    expect(nameFromSource(ssh('root@oldsrv.example.com'))).toBe('oldsrv');
    expect(nameFromSource(FILE)).toBe('old');
    expect(prefill({ ...initialP2vForm(), sshTarget: 'root@127.0.0.1' }, SRC).name).toBe('p2v-127-0-0-1');
    expect(prefill({ ...initialP2vForm(), sshTarget: 'root@10.0.0.5', name: 'files' }, SRC).name).toBe('files');
  });

  it('refuses a bridge or libvirt network that does not exist, before the copy', () => {
    const bridge = checkP2v(req({ network: { kind: 'bridge', source: 'br9' } }), SRC, { ...HOST, bridges: ['br0', 'virbr0'] });
    expect(bridge.refusals.map((r) => [r.sentence, r.fix])).toEqual([['There is no bridge br9 on this host.', 'Use one of: br0, virbr0.']]);
    expect(checkP2v(req({ network: { kind: 'bridge', source: 'br0' } }), SRC, { ...HOST, bridges: ['br0'] }).refusals).toEqual([]);
    const net = checkP2v(req({ network: { kind: 'network', source: 'lan' } }), SRC, { ...HOST, networks: [{ name: 'default', active: true }] });
    expect(net.refusals.map((r) => r.sentence)).toEqual(['There is no libvirt network lan on this host.']);
    const inactive = checkP2v(req({ network: { kind: 'network', source: 'default' } }), SRC, { ...HOST, networks: [{ name: 'default', active: false }] });
    expect(inactive.refusals).toEqual([]);
    expect(inactive.warnings.join(' ')).toContain('virsh net-start default');
  });

  it('warns when the guest would get as much memory as the host has', () => {
    const same = checkP2v(req({ memoryMiB: 4096 }), SRC, { ...HOST, hostMemoryMiB: 4096 });
    expect(same.refusals).toEqual([]);
    expect(same.warnings).toEqual(['The guest gets 4096 MiB of memory and this host has 4096 MiB in all: it would leave nothing for the host and other guests (give it less, e.g. 2048 MiB).']);
    expect(checkP2v(req({ memoryMiB: 4095 }), SRC, { ...HOST, hostMemoryMiB: 4096 }).warnings).toEqual([]);
  });
});
