/**
 * P2V reads what the source machine says about itself (lsblk and sfdisk JSON, /proc/meminfo,
 * ip -j link), locally or from a remote root shell that may lie. Whatever it prints: facts of the
 * promised types (so nothing later calls .trim() on a number) or a UserError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { guessOs, type P2vSourceFacts, parseIpLink, parseLsblk, parseMeminfo, parseRemoteFacts, parseSfdisk, partitionsFromSfdisk, type SourcePartition, splitSections } from '../../src/model/p2vPlan.js';
import { anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

/** Any JSON value, and values of the wrong type where a field is expected. */
const anyJson = fc.jsonValue({ maxDepth: 3 });
const wrongish = fc.oneof(anyJson, hostileWord, fc.constant(null), fc.integer(), fc.double(), fc.boolean(), fc.constant([]), fc.constant({}));

const { device } = fc.letrec<{ device: Record<string, unknown> }>((tie) => ({
  device: fc.record(
    {
      name: fc.oneof(fc.constantFrom('sda', 'sda1', 'nvme0n1p2'), wrongish),
      size: fc.oneof(fc.nat(), fc.constantFrom('1024', '1e400', '-1', 'x'), wrongish),
      type: fc.oneof(fc.constantFrom('disk', 'part', 'lvm'), wrongish),
      fstype: fc.oneof(fc.constantFrom('ntfs', 'ext4', 'xfs', 'swap', 'LVM2_member'), wrongish),
      mountpoint: fc.oneof(fc.constantFrom('/', '/boot', null), wrongish),
      model: fc.oneof(fc.constantFrom('  QEMU HARDDISK  ', null), wrongish),
      children: fc.oneof({ maxDepth: 3, depthSize: 'small' }, wrongish, fc.array(tie('device'), { maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
}));

const lsblkJson = fc.oneof(
  { weight: 4, arbitrary: fc.record({ blockdevices: fc.oneof(fc.array(device, { maxLength: 2 }), wrongish) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: anyText(200) },
);

const sfdiskJson = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          partitiontable: fc.oneof(
            fc.record(
              {
                label: fc.oneof(fc.constantFrom('dos', 'gpt'), wrongish),
                sectorsize: fc.oneof(fc.constantFrom(512, 4096), wrongish),
                partitions: fc.oneof(
                  fc.array(fc.record({ node: fc.oneof(fc.constantFrom('/dev/sda1', 'x'), wrongish), start: fc.oneof(fc.nat(), wrongish), size: fc.oneof(fc.nat(), wrongish), type: fc.oneof(fc.constantFrom('7', 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7', '83'), wrongish) }, { requiredKeys: [] }), { maxLength: 4 }),
                  wrongish,
                ),
              },
              { requiredKeys: [] },
            ),
            wrongish,
          ),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: anyText(200) },
);

const ipLinkJson = fc.oneof(
  fc.array(fc.record({ ifname: fc.oneof(fc.constantFrom('eth0', 'lo', 'virbr0'), wrongish), link_type: fc.oneof(fc.constant('ether'), wrongish), address: fc.oneof(fc.constantFrom('52:54:00:01:02:03', 'ff:ff:ff:ff:ff:ff'), wrongish) }, { requiredKeys: [] }), { maxLength: 4 }).map((a) => JSON.stringify(a)),
  anyJson.map((v) => JSON.stringify(v)),
  anyText(100),
);

function expectPartitions(parts: SourcePartition[]): void {
  expect(Array.isArray(parts)).toBe(true);
  for (const p of parts) {
    expect(typeof p.name).toBe('string');
    expect(typeof p.sizeBytes).toBe('number');
    expect(p.fstype === null || typeof p.fstype === 'string').toBe(true);
    expect(p.mountpoint === null || typeof p.mountpoint === 'string').toBe(true);
    expect(p.type === undefined || typeof p.type === 'string').toBe(true);
  }
  guessOs(parts);
}

function expectFacts(f: Partial<P2vSourceFacts>): void {
  if (f.sizeBytes !== undefined) expect(typeof f.sizeBytes).toBe('number');
  if (f.model !== undefined) expect(f.model === null || typeof f.model === 'string').toBe(true);
  if (f.partitions) expectPartitions(f.partitions);
  if (f.mounted) for (const m of f.mounted) expect(typeof m).toBe('string');
  if (f.partitionTable !== undefined) expect(f.partitionTable === null || typeof f.partitionTable === 'string').toBe(true);
  if (f.nics) for (const n of f.nics) expect(typeof n.mac).toBe('string');
}

describe('fuzz: lsblk, sfdisk, meminfo and ip link output of a P2V source', () => {
  it('parseLsblk: facts of the promised types or a UserError', () => {
    fc.assert(
      fc.property(lsblkJson, (json) => {
        const f = onlyTyped(() => parseLsblk(json));
        if (f) expectFacts(f);
      }),
      runs(1000),
    );
  });

  it('parseSfdisk and partitionsFromSfdisk: a table of the promised types, null, or a UserError', () => {
    fc.assert(
      fc.property(sfdiskJson, (json) => {
        const t = onlyTyped(() => parseSfdisk(json));
        if (!t) return;
        expect(typeof t.label).toBe('string');
        expect(typeof t.sectorSize).toBe('number');
        expectPartitions(partitionsFromSfdisk(t));
      }),
      runs(1000),
    );
  });

  it('parseIpLink and parseMeminfo on anything', () => {
    fc.assert(
      fc.property(ipLinkJson, anyText(300), (json, meminfo) => {
        for (const n of parseIpLink(json)) expect(typeof n.name === 'string' && typeof n.mac === 'string').toBe(true);
        const m = parseMeminfo(meminfo);
        expect(m === null || typeof m === 'number').toBe(true);
      }),
      runs(500),
    );
  });

  it('parseRemoteFacts: what a remote root shell prints, sections in any order or missing', () => {
    const section = fc.oneof(
      fc.tuple(fc.constant('size'), fc.oneof(fc.nat().map(String), hostileWord)),
      fc.tuple(fc.constant('lsblk'), lsblkJson),
      fc.tuple(fc.constant('sfdisk'), sfdiskJson),
      fc.tuple(fc.constant('meminfo'), fc.oneof(fc.nat().map((n) => `MemTotal: ${n} kB`), anyText(50))),
      fc.tuple(fc.constant('nproc'), fc.oneof(fc.nat().map(String), hostileWord)),
      fc.tuple(fc.constant('iplink'), ipLinkJson),
      fc.tuple(fc.constantFrom('end', 'x', '__proto__', 'constructor'), anyText(20)),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(section, { maxLength: 9 }).map((s) => s.map(([k, v]) => `@@${k}\n${v}`).join('\n')), anyText(500)), (stdout) => {
        splitSections(stdout);
        const f = onlyTyped(() => parseRemoteFacts(stdout, '/dev/sda'));
        if (f) expectFacts(f);
      }),
      runs(800),
    );
  });
});
