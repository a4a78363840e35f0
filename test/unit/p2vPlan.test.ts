import { describe, expect, it } from 'vitest';
import { completeRequest } from '../../src/jobs/p2v.js';
import {
  buildP2vDomainXml,
  checkP2v,
  guessOs,
  type P2vHostFacts,
  type P2vRequest,
  type P2vSourceFacts,
  p2vPaths,
  parseIpLink,
  parseLsblk,
  parseMeminfo,
  parseRemoteFacts,
  parseSfdisk,
  planP2v,
  remoteFactsArgv,
  sshArgv,
} from '../../src/model/p2vPlan.js';
import { describePlan } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';

const SRC: P2vSourceFacts = { sizeBytes: 8 * 1024 ** 3, model: 'WDC', partitionTable: 'dos', partitions: [{ name: 'sda1', sizeBytes: 8 * 1024 ** 3, fstype: 'ntfs', mountpoint: null }], mounted: [], memoryKiB: 2097152, vcpus: 2, nics: [{ name: 'eth0', mac: '00:1a:2b:3c:4d:5e' }] };
const HOST: P2vHostFacts = { domainType: 'qemu', guestExists: false, destDirExists: true, existing: [], freeBytes: 100 * 1024 ** 3, sourceReadable: true };
const SSH = { kind: 'ssh' as const, destination: 'root@old-server', device: '/dev/sda', port: 2222, identityFile: '/root/.ssh/id', sshOptions: ['-o', 'StrictHostKeyChecking=no'] };

function req(over: Partial<P2vRequest> = {}): P2vRequest {
  return { source: { kind: 'device', path: '/dev/sdb' }, name: 'oldsrv', destDir: '/srv/vm', format: 'qcow2', macs: ['00:1a:2b:3c:4d:5e'], memoryMiB: 2048, vcpus: 2, bus: 'ide', network: { kind: 'user' }, osType: 'windows', verifyRemote: true, ...over };
}
const OPTS = { uri: 'qemu:///system', xmlFile: '/tmp/p2v.xml', domainType: 'qemu' as const };

describe('P2V source parsers', () => {
  it('reads lsblk with partitions and mountpoints', () => {
    const json = JSON.stringify({ blockdevices: [{ name: 'sdb', size: 1000204886016, type: 'disk', fstype: null, mountpoint: null, model: 'WDC WD10 ', children: [{ name: 'sdb1', size: 104857600, type: 'part', fstype: 'ntfs', mountpoint: null }, { name: 'sdb2', size: 999, type: 'part', fstype: 'ntfs', mountpoint: '/mnt/c' }] }] });
    const r = parseLsblk(json);
    expect(r.sizeBytes).toBe(1000204886016);
    expect(r.model).toBe('WDC WD10');
    expect(r.partitions.map((p) => p.name)).toEqual(['sdb1', 'sdb2']);
    expect(r.mounted).toEqual(['/mnt/c']);
    expect(() => parseLsblk('{"blockdevices":[]}')).toThrow(/no such block device/);
  });

  it('reads sfdisk, meminfo and ip link (physical NICs only)', () => {
    const t = parseSfdisk(JSON.stringify({ partitiontable: { label: 'gpt', sectorsize: 512, partitions: [{ node: '/dev/sda1', start: 2048, size: 204800, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B' }] } }));
    expect(t?.label).toBe('gpt');
    expect(parseSfdisk('sfdisk: no table')).toBeNull();
    expect(parseMeminfo('MemTotal:        4028776 kB\nMemFree: 1 kB')).toBe(4028776);
    const links = [
      { ifname: 'lo', link_type: 'loopback', address: '00:00:00:00:00:00' },
      { ifname: 'eth0', link_type: 'ether', address: '00:1A:2B:3C:4D:5E' },
      { ifname: 'virbr0', link_type: 'ether', address: '52:54:00:00:00:01' },
      { ifname: 'ifb0', link_type: 'ether', address: 'de:31:b1:92:74:e7' },
      { ifname: 'enp3s0', link_type: 'ether', address: '00:1a:2b:3c:4d:5f' },
    ];
    expect(parseIpLink(JSON.stringify(links))).toEqual([{ name: 'eth0', mac: '00:1a:2b:3c:4d:5e' }, { name: 'enp3s0', mac: '00:1a:2b:3c:4d:5f' }]);
    expect(parseIpLink('garbage')).toEqual([]);
  });

  it('reads the one-connection remote report, for a device and for a regular file', () => {
    const out = ['@@size', '8589934592', '@@lsblk', '@@sfdisk', JSON.stringify({ partitiontable: { label: 'dos', sectorsize: 512, partitions: [{ node: '/srv/x1', start: 2048, size: 4096, type: '7' }] } }), '@@meminfo', 'MemTotal: 2048 kB', '@@nproc', '4', '@@iplink', '[]', '@@end'].join('\n');
    const f = parseRemoteFacts(out, '/srv/x');
    expect(f).toMatchObject({ sizeBytes: 8589934592, partitionTable: 'dos', memoryKiB: 2048, vcpus: 4 });
    expect(f.partitions).toEqual([{ name: 'x1', sizeBytes: 4096 * 512, fstype: null, mountpoint: null, type: '7' }]);
    expect(() => parseRemoteFacts('@@size\n\n@@end', '/dev/sdz')).toThrow(/did not report a size/);
  });

  it('guesses the OS from the partitions', () => {
    expect(guessOs([{ name: 'a', sizeBytes: 1, fstype: 'ntfs', mountpoint: null }])).toBe('windows');
    expect(guessOs([{ name: 'a', sizeBytes: 1, fstype: null, mountpoint: null, type: '7' }])).toBe('windows');
    expect(guessOs([{ name: 'a', sizeBytes: 1, fstype: 'LVM2_member', mountpoint: null }])).toBe('linux');
    expect(guessOs([])).toBe('other');
  });

  it('quotes the ssh command for the remote shell and passes the device as an argument', () => {
    const argv = remoteFactsArgv({ ...SSH, device: "/dev/disk/by-id/it's" });
    expect(argv.slice(0, 13)).toEqual(['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-p', '2222', '-i', '/root/.ssh/id', '-o', 'StrictHostKeyChecking=no', '--', 'root@old-server']);
    expect(argv.at(-1)).toMatch(/^sh -c '.*' sh '\/dev\/disk\/by-id\/it'\\''s'$/s);
    expect(sshArgv(SSH, ['dd', 'if=/dev/sda']).at(-1)).toBe('dd if=/dev/sda');
  });
});

describe('P2V plans per source', () => {
  it('local device: convert to a temp name, compare, place, define, clean up', () => {
    const plan = planP2v(req(), SRC, OPTS);
    expect(plan.steps.map((s) => s.id)).toEqual(['copy', 'compare', 'place', 'define', 'cleanup']);
    const lines = describePlan(plan);
    expect(lines[0]).toBe('1 qemu-img convert -p -f raw -O qcow2 -o compat=1.1 /dev/sdb /srv/vm/.oldsrv.qcow2.virtdeck-part');
    expect(lines[1]).toBe('2 qemu-img compare -p -f raw -F qcow2 /dev/sdb /srv/vm/.oldsrv.qcow2.virtdeck-part');
    expect(lines[2]).toBe('3 ln -- /srv/vm/.oldsrv.qcow2.virtdeck-part /srv/vm/oldsrv.qcow2');
    expect(plan.steps[0]?.undo?.partial).toBe(true);
    expect(plan.steps[0]?.progress).toEqual({ kind: 'qemu-img', totalBytes: SRC.sizeBytes });
    expect(plan.targets).toEqual({ guests: ['oldsrv'], images: ['/srv/vm/oldsrv.qcow2'] });
  });

  it('raw dump file to raw: same shape, raw output', () => {
    const plan = planP2v(req({ source: { kind: 'file', path: '/dumps/a.img' }, format: 'raw' }), SRC, OPTS);
    expect(describePlan(plan)[0]).toBe('1 qemu-img convert -p -f raw -O raw /dumps/a.img /srv/vm/.oldsrv.raw.virtdeck-part');
  });

  it('ssh to qcow2: stream, local and remote sha256, convert, compare, then the common tail', () => {
    const r = req({ source: SSH });
    const plan = planP2v(r, SRC, OPTS);
    expect(plan.steps.map((s) => s.id)).toEqual(['stream', 'check-stream', 'verify-remote', 'convert', 'compare', 'place', 'define', 'cleanup']);
    const stream = plan.steps[0];
    expect(stream?.action?.name).toBe('p2v.stream');
    expect((stream?.action?.args as { ssh: string[] } | undefined)?.ssh.at(-1)).toBe('dd if=/dev/sda bs=4M status=none');
    expect(stream?.title).toMatch(/\| dd of=\/srv\/vm\/\.oldsrv\.raw\.virtdeck-part conv=sparse/);
    const paths = p2vPaths(r);
    expect(plan.steps.at(-1)?.command?.argv).toEqual(['rm', '-f', '--', paths.tmp, paths.rawTmp, paths.hashFile]);
    const noVerify = planP2v(req({ source: SSH, format: 'raw', verifyRemote: false }), SRC, OPTS);
    expect(noVerify.steps.map((s) => s.id)).toEqual(['stream', 'check-stream', 'place', 'define', 'cleanup']);
  });

  it('defines a pc guest on IDE or SATA with e1000 NICs and the MACs kept', () => {
    const xml = buildP2vDomainXml(req({ macs: ['00:1A:2B:3C:4D:5E', '00:1a:2b:3c:4d:5f'], network: { kind: 'bridge', source: 'br0' } }), 'qemu');
    expect(xml).toMatch(/<domain type='qemu'>/);
    expect(xml).toMatch(/machine='pc'/);
    expect(xml).toMatch(/<target dev='hda' bus='ide'\/>/);
    expect(xml.match(/<model type='e1000'\/>/g)).toHaveLength(2);
    expect(xml).toContain("<mac address='00:1a:2b:3c:4d:5e'/>");
    expect(xml).toContain("<source bridge='br0'/>");
    expect(xml).toContain("<clock offset='localtime'/>");
    expect(buildP2vDomainXml(req({ bus: 'sata', osType: 'linux' }), 'kvm')).toMatch(/<target dev='sda' bus='sata'\/>[\s\S]*<clock|<clock offset='utc'\/>/);
  });

  it('refuses bad input and warns about a busy source', () => {
    const { refusals, warnings } = checkP2v(req({ name: 'bad name', macs: ['ff:ff:ff:ff:ff:ff'] }), { ...SRC, mounted: ['/'] }, { ...HOST, existing: ['/srv/vm/oldsrv.qcow2'], guestExists: true });
    expect(refusals.map((e) => e.sentence)).toEqual(expect.arrayContaining([expect.stringMatching(/cannot be a guest name/), expect.stringMatching(/already exists/), expect.stringMatching(/not a unicast MAC/), expect.stringMatching(/never overwrites/)]));
    expect(warnings.join(' ')).toMatch(/runs from this disk \(\/\)[\s\S]*crash-inconsistent/);
    const ok = checkP2v(req({ source: SSH, verifyRemote: false }), SRC, HOST);
    expect(ok.refusals).toEqual([]);
    expect(ok.warnings.join(' ')).toMatch(/remote checksum is skipped/);
  });

  it('prefills from the source: MACs, memory, CPUs, OS; verify only for disks up to the limit', () => {
    const r = completeRequest({ source: SSH, name: 'x', destDir: '/srv' }, SRC);
    expect(r).toMatchObject({ macs: ['00:1a:2b:3c:4d:5e'], memoryMiB: 2048, vcpus: 2, osType: 'windows', bus: 'ide', format: 'qcow2', verifyRemote: true });
    expect(completeRequest({ source: SSH, name: 'x', destDir: '/srv' }, { ...SRC, sizeBytes: 2 * 1024 ** 4 }).verifyRemote).toBe(false);
    const fresh = completeRequest({ source: { kind: 'file', path: '/a' }, name: 'x', destDir: '/srv' }, { ...SRC, nics: [], memoryKiB: null, vcpus: null });
    expect(fresh.macs[0]).toMatch(/^52:54:00:/);
    expect(fresh.memoryMiB).toBe(1024);
  });
});

describe('P2V source parsers on output of the wrong shape (found by test/security/fuzzSourceFacts.test.ts)', () => {
  it('lsblk: a mountpoint that is not a string, JSON null, children that are not a list, nesting without end', () => {
    const bad = [
      '{"blockdevices":[{"children":[{"children":[{"mountpoint":{}}]}]}]}',
      'null',
      '{"blockdevices":"sda"}',
      '{"blockdevices":[{"children":5}]}',
      '{"blockdevices":[{"model":5}]}',
      `{"blockdevices":[${'{"children":['.repeat(5000)}${']}'.repeat(5000)}]}`,
    ];
    for (const json of bad) expect(() => parseLsblk(json), json.slice(0, 60)).toThrow(UserError);
    // Older util-linux writes sizes as strings.
    expect(parseLsblk('{"blockdevices":[{"name":"sda","size":"1024","children":[{"name":"sda1","size":"512","fstype":"ext4"}]}]}')).toMatchObject({ sizeBytes: 1024, partitions: [{ name: 'sda1', sizeBytes: 512 }] });
  });
});

describe('sfdisk output of the wrong shape (found by test/security/fuzzSourceFacts.test.ts)', () => {
  it('a partition without a node, partitions that are not a list, a string sector size: no table, not a TypeError later', () => {
    for (const json of ['{"partitiontable":{"partitions":[{}]}}', '{"partitiontable":{"partitions":{}}}', '{"partitiontable":{"sectorsize":"512"}}', 'null', '[]']) {
      expect(parseSfdisk(json), json).toBeNull();
    }
    const out = ['@@size', '1', '@@end', '', '@@sfdisk', '{"partitiontable":{"partitions":{}}}'].join('\n');
    expect(parseRemoteFacts(out, '/dev/sda').partitionTable).toBeNull();
  });
});

describe('ip -j link output of the wrong shape (found by test/security/fuzzSourceFacts.test.ts)', () => {
  it('an ifname that is not a string is skipped, not returned as a NIC name', () => {
    expect(parseIpLink('[{"ifname":[],"link_type":"ether","address":"52:54:00:01:02:03"}]')).toEqual([]);
    expect(parseIpLink('[{"ifname":"eth0","link_type":"ether","address":5},{"ifname":"eth1","link_type":"ether","address":"00:1a:2b:3c:4d:5f"}]')).toEqual([{ name: 'eth1', mac: '00:1a:2b:3c:4d:5f' }]);
    expect(parseIpLink('{"ifname":"eth0"}')).toEqual([]);
  });
});
