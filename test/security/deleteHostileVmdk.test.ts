/**
 * `virtdeck disk delete` removes the extent files a vmdk descriptor names. The descriptor is
 * written by whoever made the image, so one naming "../marker", an absolute path, or a symlink in
 * the image's directory that leads out of it must refuse the delete (exit 2) and remove nothing:
 * not the marker, not the descriptor. A normal monolithicFlat vmdk is still removed whole.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/hostileCli.js';

const scratch = mkdtempSync(join(tmpdir(), 'vdsec-fu-del-'));
chmodSync(scratch, 0o755);
const imgDir = join(scratch, 'images');
mkdirSync(imgDir);
// A second configured image directory: the inventory's gate lets an image name files there.
const otherDir = join(scratch, 'other-images');
mkdirSync(otherDir);
mkdirSync(join(scratch, 'home/config'), { recursive: true, mode: 0o700 });
chmodSync(join(scratch, 'home'), 0o700);
writeFileSync(join(scratch, 'home/config/config.json'), JSON.stringify({ imageDirs: [imgDir, otherDir] }), { mode: 0o600 });
writeFileSync(join(otherDir, 'vdsec-fu-victim.raw'), 'another image\n');

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function descriptor(extent: string): string {
  return [
    '# Disk DescriptorFile',
    'version=1',
    'CID=fffffffe',
    'parentCID=ffffffff',
    'createType="monolithicFlat"',
    '',
    '# Extent description',
    `RW 2048 FLAT "${extent}" 0`,
    '',
    '# The Disk Data Base',
    '#DDB',
    'ddb.virtualHWVersion = "4"',
    'ddb.adapterType = "ide"',
    '',
  ].join('\n');
}

function marker(name: string): string {
  const p = join(scratch, name);
  writeFileSync(p, 'VDSEC-FU host file that delete must not remove\n');
  return p;
}

const cli = (...args: string[]) => runCli(['--connect', 'qemu:///system', ...args], { cwd: scratch });

describe('disk delete of a vmdk whose descriptor names files outside its directory', () => {
  const cases: [string, (m: string) => string][] = [
    ['a ../ extent', () => '../vdsec-fu-m1'],
    ['an absolute extent', (m) => m],
    ['an extent in another configured image directory', () => '../other-images/vdsec-fu-victim.raw'],
    ['a symlink leading out', (m) => {
      symlinkSync(m, join(imgDir, 'vdsec-fu-link-flat.vmdk'));
      return 'vdsec-fu-link-flat.vmdk';
    }],
  ];
  cases.forEach(([what, extentFor], i) => {
    it(`refuses ${what}: exit 2, the marker and the descriptor are still there`, async () => {
      const m = marker(`vdsec-fu-m${i + 1}`);
      const desc = join(imgDir, `vdsec-fu-evil${i + 1}.vmdk`);
      writeFileSync(desc, descriptor(extentFor(m)));
      const r = await cli('disk', 'delete', desc, '--yes');
      expect(r.exitCode, r.stdout + r.stderr).toBe(2);
      expect(r.stderr + r.stdout).toMatch(/extent/);
      expect(existsSync(m)).toBe(true);
      expect(existsSync(join(otherDir, 'vdsec-fu-victim.raw'))).toBe(true);
      expect(existsSync(desc)).toBe(true);
    }, 120_000);
  });

  it('still deletes a normal monolithicFlat vmdk (descriptor and -flat extent)', async () => {
    const desc = join(imgDir, 'vdsec-fu-good.vmdk');
    execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', desc, '1M']);
    const flat = join(imgDir, 'vdsec-fu-good-flat.vmdk');
    expect(existsSync(flat)).toBe(true);
    const r = await cli('disk', 'delete', desc, '--yes');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(flat);
    expect(existsSync(desc)).toBe(false);
    expect(existsSync(flat)).toBe(false);
  }, 120_000);
});
