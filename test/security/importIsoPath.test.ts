import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareImport } from '../../src/jobs/importVmware.js';
import type { ImportRequest } from '../../src/model/importVmwarePlan.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';
import { tinyVmx } from '../helpers/tinyVmx.js';

/**
 * A .vmx is outside input; virtdeck builds the guest's XML itself, but the CD-ROM's ISO path comes
 * from the .vmx. `ide1:0.deviceType = "cdrom-image"` with `fileName = "/etc/shadow"` (or an ISO in
 * the VM directory that is a symlink to it) would put a host file in the new guest's definition:
 * libvirt hands it to QEMU (relabelled for it) at every start, and the guest reads it. Only a
 * regular file inside the VM's own directory is attached; the drive starts empty otherwise.
 */

const host = localHost();
const scratch = scratchDir('vdsec-rx-vmx-');
const outside = join(scratch.dir, 'outside-secret');
const vmDir = join(scratch.dir, 'vm');
const req: ImportRequest = { convert: 'none', bus: 'keep', name: 'vdsec-rx-vmx', start: false };

function vmx(iso: string): string {
  return tinyVmx({ name: 'vdsec-rx-vmx', disk: 'disk.vmdk', extra: ['ide1:0.present = "TRUE"', 'ide1:0.deviceType = "cdrom-image"', `ide1:0.fileName = "${iso}"`] });
}

beforeAll(() => {
  mkdirSync(vmDir);
  writeFileSync(outside, 'host secret\n', { mode: 0o600 });
  execFileSync('qemu-img', ['create', '-q', '-f', 'vmdk', join(vmDir, 'disk.vmdk'), '8M']);
  writeFileSync(join(vmDir, 'good.iso'), Buffer.alloc(2048));
  symlinkSync(outside, join(vmDir, 'link.iso'));
  writeFileSync(join(vmDir, 'abs.vmx'), vmx('/etc/shadow'));
  writeFileSync(join(vmDir, 'up.vmx'), vmx(`../outside-secret`));
  writeFileSync(join(vmDir, 'link.vmx'), vmx('link.iso'));
  writeFileSync(join(vmDir, 'good.vmx'), vmx('good.iso'));
});
afterAll(() => scratch.remove());

const defined = async (file: string) => {
  const p = await prepareImport(host, join(vmDir, file), req);
  const define = p.plan?.steps.find((s) => s.id === 'define');
  return { xml: define?.writesFile?.content ?? '', warnings: p.facts.guest.warnings };
};

describe('import of a .vmx whose CD-ROM names a host file', () => {
  for (const [file, named] of [['abs.vmx', '/etc/shadow'], ['up.vmx', 'outside-secret'], ['link.vmx', 'link.iso']] as const) {
    it(`${file}: the guest's XML holds no host file, the drive starts empty and the review says so`, async () => {
      const { xml, warnings } = await defined(file);
      expect(xml).toContain("device='cdrom'");
      expect(xml).not.toMatch(/shadow|outside-secret|link\.iso/);
      expect(warnings.join(' ')).toMatch(new RegExp(`${named.replace(/[./]/g, '\\$&')}.*starts empty`));
    }, 60_000);
  }

  it('an ISO inside the VM directory is still attached', async () => {
    const { xml } = await defined('good.vmx');
    expect(xml).toContain(`<source file='${join(vmDir, 'good.iso')}'/>`);
  }, 60_000);
});
