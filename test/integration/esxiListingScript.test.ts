/**
 * The listing script as a real POSIX sh runs it (dash here, busybox ash on ESXi), with a stand-in
 * `vim-cmd` first on PATH answering as ESXi 7 does: registered VMs with their power state, a VM
 * vim-cmd does not know (its .lck decides), and the datastore seen through its name link and its
 * UUID directory. No ssh: the script and its parser are what is under test.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LISTING_SCRIPT, parseEsxiListing } from '../../src/model/esxiListing.js';
import { makeDatastoreRoot } from '../helpers/esxiStandIn.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-esxils-');
afterAll(() => scratch.remove());

function vimCmd(bin: string): void {
  mkdirSync(bin);
  const script = [
    '#!/bin/sh',
    'case "$1" in',
    'vmsvc/getallvms)',
    "  printf '%s\\n' 'Vmid      Name                 File                   Guest OS      Version   Annotation'",
    "  printf '%s\\n' '1      web01          [datastore1] web01/web01.vmx   debian10_64Guest   vmx-13   '",
    "  printf '%s\\n' '2      Win 11         [datastore1] win11/win11.vmx   windows9_64Guest   vmx-19   payroll'",
    '  ;;',
    'vmsvc/power.getstate)',
    "  echo 'Retrieved runtime info'",
    '  case "$2" in 1) echo "Powered off";; 2) echo "Powered on";; *) echo "(vim.fault.NotFound)"; exit 1;; esac',
    '  ;;',
    'esac',
    '',
  ].join('\n');
  writeFileSync(join(bin, 'vim-cmd'), script);
  chmodSync(join(bin, 'vim-cmd'), 0o755);
}

describe('the ESXi listing script under a real sh', () => {
  const root = join(scratch.dir, 'vmfs', 'volumes');
  const store = makeDatastoreRoot(root);
  for (const d of ['web01', 'win11', 'copied', 'spare']) {
    mkdirSync(join(store, d));
    writeFileSync(join(store, d, `${d}.vmx`), 'displayName = "x"\n');
  }
  // ESXi's own lock beside a VM it runs; a copied-in VM still open elsewhere.
  mkdirSync(join(store, 'win11', 'win11.vmx.lck'));
  writeFileSync(join(store, 'copied', '.lck-0a1b2c3d00000000'), '');
  // Names a hostile datastore may hold: neither reaches the answer as a VM.
  mkdirSync(join(store, 'evil\nname'));
  writeFileSync(join(store, 'evil\nname', 'x.vmx'), '');

  const run = (path: string) => execFileSync('dash', ['-c', LISTING_SCRIPT, 'sh', root], { encoding: 'utf8', env: { PATH: path } });

  it('with vim-cmd: names and power state from it, the lock for a VM it does not know, each VM once', () => {
    const bin = join(scratch.dir, 'bin');
    vimCmd(bin);
    const l = parseEsxiListing(run(`${bin}:/usr/bin:/bin`), root);
    expect(l.vimCmd).toBe(true);
    expect(l.vms.map((v) => [v.name, v.power, v.powerFrom, v.vmid, v.datastore])).toEqual([
      ['copied', 'on', 'lock', null, 'datastore1'],
      ['spare', 'off', 'lock', null, 'datastore1'],
      ['web01', 'off', 'vim-cmd', 1, 'datastore1'],
      ['Win 11', 'on', 'vim-cmd', 2, 'datastore1'],
    ]);
  });

  it('without vim-cmd: every VM by its .lck alone', () => {
    const l = parseEsxiListing(run('/usr/bin:/bin'), root);
    expect(l.vimCmd).toBe(false);
    expect(l.vms.map((v) => [v.name, v.power])).toEqual([
      ['copied', 'on'],
      ['spare', 'off'],
      ['web01', 'off'],
      ['win11', 'on'],
    ]);
  });
});
