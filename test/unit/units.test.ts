import { describe, expect, it } from 'vitest';
import { formatBytes, formatBytesLong, kibToHuman, libvirtScaledToBytes, parseSize } from '../../src/model/units.js';
import { UserError } from '../../src/model/userError.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

describe('parseSize', () => {
  it.each([
    ['20G', 20 * GiB, false],
    ['+15G', 15 * GiB, true],
    ['512M', 512 * MiB, false],
    ['1.5T', 1.5 * TiB, false],
    ['1048576B', 1048576, false],
    ['4k', 4 * KiB, false],
    ['10GiB', 10 * GiB, false],
    ['10GB', 10 * GiB, false],
    [' 2g ', 2 * GiB, false],
    ['+0.5G', 512 * MiB, true],
    ['100B', 100, false],
    ['0', 0, false],
  ])('%s → %d bytes (relative %s)', (text, bytes, relative) => {
    expect(parseSize(text)).toEqual({ bytes, relative });
  });

  it.each(['1048576', '+100', '512', '', 'abc', '20X', '1.2.3G', 'G', '--5G', '20 G B', '-5G', '1e3', '99999999999P'])('rejects %j', (text) => {
    expect(() => parseSize(text)).toThrow(UserError);
  });

  it('says how to write a size', () => {
    try {
      parseSize('twenty gigs');
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).fix).toMatch(/20G/);
    }
  });
});

describe('formatBytes (compact, for tables)', () => {
  it.each([
    [0, '0B'],
    [512, '512B'],
    [1023, '1023B'],
    [1024, '1.0K'],
    [GiB, '1.0G'],
    [1.5 * GiB, '1.5G'],
    [9.96 * GiB, '10G'],
    [20 * GiB, '20G'],
    [512 * MiB, '512M'],
    [1023.9 * MiB, '1.0G'],
    [12.4 * GiB, '12G'],
    [2 * TiB, '2.0T'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatBytesLong', () => {
  it.each([
    [300, '300 B'],
    [12.4 * GiB, '12.4 GiB'],
    [512 * MiB, '512.0 MiB'],
    [1023.99 * MiB, '1.0 GiB'],
    [3 * TiB, '3.0 TiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytesLong(bytes)).toBe(text);
  });
});

describe('kibToHuman and libvirt scaled integers', () => {
  it('formats KiB as reported by libvirt', () => {
    expect(kibToHuman(524288)).toBe('512M');
    expect(kibToHuman(4194304)).toBe('4.0G');
  });
  it.each([
    ['524288', undefined, 512 * MiB],
    ['524288', 'KiB', 512 * MiB],
    ['512', 'MiB', 512 * MiB],
    ['1', 'GiB', GiB],
    ['1', 'G', GiB],
    ['1', 'GB', 1e9],
    ['1000', 'KB', 1e6],
    ['2048', 'b', 2048],
    ['2048', 'bytes', 2048],
  ])('%s %s → %d bytes', (value, unit, bytes) => {
    expect(libvirtScaledToBytes(value, unit)).toBe(bytes);
  });
  it('rejects unknown units and fractions', () => {
    expect(() => libvirtScaledToBytes('1', 'parsecs')).toThrow(UserError);
    expect(() => libvirtScaledToBytes('1.5', 'GiB')).toThrow(UserError);
  });
});
