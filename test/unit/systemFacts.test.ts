import { describe, expect, it } from 'vitest';
import { parseBridges, parseImageFiles, parseMount } from '../../src/host/system.js';

describe('host facts: findmnt JSON of the wrong shape (found by test/security/fuzzSystemFacts.test.ts)', () => {
  it('options that are not a string, JSON null, filesystems that are not a list: no mount, not a TypeError', () => {
    for (const json of ['{"filesystems":[{"target":"/var/lib/libvirt/images","options":{}}]}', 'null', '{"filesystems":5}', '{"filesystems":[{"target":7}]}']) {
      expect(parseMount(json), json).toBeNull();
    }
  });

  it('still reads what findmnt prints, sizes as numbers or strings', () => {
    const json = '{"filesystems":[{"target":"/var/lib/libvirt/images","source":"/dev/sda2","fstype":"ext4","options":"rw,relatime","size":"1000","avail":500}]}';
    expect(parseMount(json)).toEqual({ target: '/var/lib/libvirt/images', source: '/dev/sda2', fstype: 'ext4', options: ['rw', 'relatime'], sizeBytes: 1000, availBytes: 500 });
  });
});

describe('host facts: ip -j link of the wrong shape (found by test/security/fuzzSystemFacts.test.ts)', () => {
  it('an ifname that is not a string is skipped, not listed as a bridge', () => {
    expect(parseBridges('[{"ifname":{}},{"ifname":"br0"},{"ifname":7},null]')).toEqual(['br0']);
    expect(parseBridges('{"ifname":"br0"}')).toEqual([]);
  });
});

describe('host facts: image file heads (found by test/security/fuzzSystemFacts.test.ts)', () => {
  it('a qcow2 magic followed by something other than hex keeps the apparent size instead of a SyntaxError from BigInt', () => {
    expect(parseImageFiles('1024 2 514649fb000000000000000000000000000000000000000000z0000000000000 /img/a.qcow2')).toEqual([{ path: '/img/a.qcow2', virtualBytes: 1024, allocatedBytes: 1024 }]);
    // magic, version 3, no backing file (offset 8 bytes, size 4), cluster bits 16, size 64 MiB.
    const head = `514649fb00000003${'0'.repeat(16)}${'0'.repeat(8)}00000010${'4000000'.padStart(16, '0')}`;
    expect(parseImageFiles(`1024 2 ${head} /img/b.qcow2`)[0]?.virtualBytes).toBe(0x4000000);
  });
});
