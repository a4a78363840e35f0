import { describe, expect, it } from 'vitest';
import { hashOutcome, lastFigure } from '../../src/jobs/runCheck.js';
import { copiesStraight, copyCommands, mirrorPath } from '../../src/jobs/verifiedCopy.js';
import { mergeEntries, type VerifiedEntry, vouches } from '../../src/jobs/verifiedRuns.js';

const sha = 'c'.repeat(64);
const entry = (over: Partial<VerifiedEntry> = {}): VerifiedEntry => ({ uri: 'qemu:///system', path: '/b/web/R1/vda.qcow2', identity: '64768:12:1048576:1796593517.948194046:1796593517.948194046', sha256: sha, at: '2026-12-07T00:00:00Z', ...over });

describe('the verification record (pure)', () => {
  it('vouches only for the same host, file, identity and checksum', () => {
    const e = [entry()];
    expect(vouches(e, 'qemu:///system', entry().path, entry().identity, sha)).toBe(true);
    expect(vouches(e, 'qemu+ssh://other/system', entry().path, entry().identity, sha)).toBe(false);
    // Any change stat sees: here only the ctime moved (content rewritten, mtime put back).
    expect(vouches(e, 'qemu:///system', entry().path, '64768:12:1048576:1796593517.948194046:1796593999.000000001', sha)).toBe(false);
    // A manifest edited to another checksum is not vouched for by the old record.
    expect(vouches(e, 'qemu:///system', entry().path, entry().identity, 'd'.repeat(64))).toBe(false);
    expect(vouches(e, 'qemu:///system', entry().path, '', sha)).toBe(false);
    expect(vouches(e, 'qemu:///system', entry().path, entry().identity, null)).toBe(false);
  });

  it('merging replaces the entry of the same file and keeps the newest last', () => {
    const merged = mergeEntries([entry(), entry({ path: '/b/web/R0/vda.qcow2' })], [entry({ identity: '1:2:3:4:5' })]);
    expect(merged.map((e) => [e.path, e.identity])).toEqual([
      ['/b/web/R0/vda.qcow2', entry().identity],
      ['/b/web/R1/vda.qcow2', '1:2:3:4:5'],
    ]);
  });
});

describe('the copy and hash scripts (pure parts)', () => {
  it('reads progress figures and the checksum; a failed read is an error, never a checksum', () => {
    expect(lastFigure('virtdeck-copied 10\nvirtdeck-copied 20\nvirtdeck-hashed 5\n', 'copied')).toBe(20);
    expect(lastFigure('virtdeck-copied 10\n', 'hashed')).toBeNull();
    expect(hashOutcome({ exitCode: 0, stdout: `${sha} *stdin\n`, stderr: 'virtdeck-hashed 7\n' })).toEqual({ sha256: sha, error: null });
    expect(hashOutcome({ exitCode: 4, stdout: '', stderr: 'sh: 1: cannot open /x: No such file\nvirtdeck-hash-exit 2\n' }).error).toMatch(/cannot open/);
    expect(hashOutcome({ exitCode: 0, stdout: '', stderr: '' }).sha256).toBeNull();
  });

  it('copies a full in the disk format straight; a chain or another format is rebuilt from copies in RUN/FILE layout', () => {
    const full = { run: 'R1', file: 'vda.qcow2', path: '/b/web/R1/vda.qcow2', sha256: sha, format: 'qcow2', backing: null };
    const inc = { run: 'R2', file: 'vda.qcow2', path: '/b/web/R2/vda.qcow2', sha256: sha, format: 'qcow2', backing: '../R1/vda.qcow2' };
    expect(copiesStraight([full], 'qcow2')).toBe(true);
    expect(copiesStraight([full], 'raw')).toBe(false);
    expect(copiesStraight([full, inc], 'qcow2')).toBe(false);
    expect(mirrorPath('/srv/d.tmp.chain', inc)).toBe('/srv/d.tmp.chain/R2/vda.qcow2');
    const cmds = copyCommands({ files: [full, inc], temp: '/srv/d.tmp', mirror: '/srv/d.tmp.chain', convert: { sourceFormat: 'qcow2', destFormat: 'raw', virtualSize: 1 } });
    expect(cmds.map((c) => c.argv[0])).toEqual(['mkdir', 'sh', 'sh', 'qemu-img', 'rm']);
    expect(cmds[0]?.argv).toEqual(['mkdir', '-m', '0700', '--', '/srv/d.tmp.chain', '/srv/d.tmp.chain/R1', '/srv/d.tmp.chain/R2']);
    expect(cmds[3]?.argv.slice(-2)).toEqual(['/srv/d.tmp.chain/R2/vda.qcow2', '/srv/d.tmp']);
  });
});
